use std::fmt;

/// A credential (client secret, access token). Its `Debug` and `Display` never print the value,
/// so a secret cannot leak through `{:?}` in an error, a log line or a panic message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the one place that needs it: an HTTP header or token request body.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of this secret in `text`, so server-provided error bodies
    /// that echo a credential cannot carry it into our messages.
    pub fn redact_in(&self, text: &str) -> String {
        if self.0.len() < 4 || !text.contains(&self.0) {
            return text.to_owned();
        }
        text.replace(&self.0, "[redacted]")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("sk_live_abcdef");
        assert!(!format!("{s:?}").contains("abcdef"));
        assert!(!format!("{s}").contains("abcdef"));
        assert_eq!(s.expose(), "sk_live_abcdef");
    }

    #[test]
    fn redact_in_replaces_every_occurrence() {
        let s = Secret::new("tok_123456");
        assert_eq!(
            s.redact_in("bad token tok_123456 (tok_123456)"),
            "bad token [redacted] ([redacted])"
        );
        assert_eq!(s.redact_in("nothing here"), "nothing here");
    }
}
