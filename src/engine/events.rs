//! Structured events for the caller's logger: discovery calls, executions and auth attempts,
//! with names, codes and timings only. Never a credential and never a param value: events
//! are built here from fields chosen one by one, not from the data a call carried.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// Where events go. The binding forwards them to a JS function without blocking.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Value);
}

pub type Sink = Option<Arc<dyn EventSink>>;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Longest name an event repeats.
const MAX_LABEL_CHARS: usize = 128;

/// A name taken from a caller's arguments (an app slug, a component id, a param name), as an
/// event may carry it: short and made of name characters, else `"(invalid)"`. Arguments may
/// be refused, huge, or a pasted credential; events carry names, never such values.
pub fn label(name: &str) -> Value {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_LABEL_CHARS
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '@'));
    match ok {
        true => json!(name),
        false => json!("(invalid)"),
    }
}

/// `outcome` is `"ok"` or a `PIPEDREAM_*` code.
pub fn emit(sink: &Sink, kind: &str, outcome: &str, duration: Duration, mut fields: Value) {
    let Some(sink) = sink else { return };
    if let Value::Object(m) = &mut fields {
        m.insert("type".into(), json!(kind));
        m.insert("outcome".into(), json!(outcome));
        m.insert("duration_ms".into(), json!(duration.as_millis() as u64));
        m.insert("ts".into(), json!(now_ms()));
    }
    sink.emit(fields);
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Collects events, for tests of the emitting code.
    #[derive(Default)]
    pub struct Collect(pub Mutex<Vec<Value>>);

    impl EventSink for Collect {
        fn emit(&self, event: Value) {
            self.0.lock().unwrap().push(event);
        }
    }

    #[test]
    fn events_carry_type_outcome_and_timing() {
        let c = Arc::new(Collect::default());
        let sink: Sink = Some(c.clone());
        emit(
            &sink,
            "execution",
            "ok",
            Duration::from_millis(12),
            json!({"component_id": "x"}),
        );
        emit(&None, "execution", "ok", Duration::ZERO, json!({}));
        let events = c.0.lock().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["type"], "execution");
        assert_eq!(events[0]["duration_ms"], 12);
        assert_eq!(events[0]["component_id"], "x");
    }

    #[test]
    fn labels_keep_names_and_drop_values() {
        assert_eq!(label("slack-send-message"), json!("slack-send-message"));
        assert_eq!(label("_2chat"), json!("_2chat"));
        for bad in ["Bearer sk_live_abc", "", "a\nb", &"x".repeat(129)] {
            assert_eq!(label(bad), json!("(invalid)"), "{bad}");
        }
    }
}
