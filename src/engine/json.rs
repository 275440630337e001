//! The one place an answer becomes text: JSON, ASCII only, never a panic.

use serde::Serialize;

/// Our result types always serialize; the fallback only guards against a future type that
/// could not, so a bug becomes a coded error instead of a panic. The text is ASCII (see
/// `AsciiJson`).
pub fn to_json<T: Serialize>(value: &T) -> String {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, AsciiJson);
    match value.serialize(&mut ser) {
        // Only ASCII was written, so the bytes are UTF-8.
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => serde_json::json!({
            "error": "PIPEDREAM_BAD_RESPONSE",
            "message": format!("internal serialization error: {e}"),
        })
        .to_string(),
    }
}

/// Writes characters beyond ASCII as `\uXXXX` escapes. JS can then take the text as a
/// one-byte (Latin-1) string, a plain copy, where UTF-8 text is decoded into a two-byte string
/// that `JSON.parse` also reads more slowly.
struct AsciiJson;

impl serde_json::ser::Formatter for AsciiJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if fragment.is_ascii() {
            return writer.write_all(fragment.as_bytes());
        }
        let mut utf16 = [0u16; 2];
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut utf16) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::to_json;
    use serde_json::{Value, json};

    #[test]
    fn json_text_is_ascii_and_reads_back_the_same() {
        let value = json!({ "name": "Zoë — 日本 😀", "plain": "a\"b\\c\n", "n": 1 });
        let text = to_json(&value);
        assert!(text.is_ascii(), "{text}");
        assert!(
            text.contains("\\u00eb") && text.contains("\\ud83d\\ude00"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    }
}
