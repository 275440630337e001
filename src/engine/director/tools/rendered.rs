//! Cache hits kept as the text they were answered with. A fresh hit renders the same answer
//! from the same cached entry every time, so the text is kept beside the entry it came from:
//! the next identical call skips parsing its arguments, ranking, rendering and serializing
//! (most of a hit's cost) and only checks that the cache still holds that entry, fresh.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Op, Request};

/// The cached entry an answer was rendered from, whatever its type: only its identity is used.
pub type Source = Arc<dyn Any + Send + Sync>;

/// Most text kept, and most answers: a bound on memory, not a cache policy (full, it starts
/// over). An entry also keeps its source alive until it is replaced.
const MAX_BYTES: usize = 4 * 1024 * 1024;
const MAX_ANSWERS: usize = 1024;

#[derive(Default)]
pub struct Rendered {
    answers: Mutex<Answers>,
}

#[derive(Default)]
struct Answers {
    /// Per operation, by the arguments' JSON text exactly as the caller sent it.
    by_args: [HashMap<Box<str>, Answer>; 3],
    bytes: usize,
    count: usize,
}

struct Answer {
    request: Request,
    source: Source,
    text: Arc<str>,
}

fn slot(op: Op) -> Option<usize> {
    match op {
        Op::SearchServices => Some(0),
        Op::GetComponents => Some(1),
        Op::GetComponent => Some(2),
        Op::ConfigureProp | Op::ReloadProps | Op::ProxyRequest => None,
    }
}

impl Rendered {
    /// The text kept for `op` with `args_json`, if `current` (the entry the cache answers for
    /// that request now, fresh) is still the one it was rendered from.
    pub fn get(
        &self,
        op: Op,
        args_json: &str,
        current: impl FnOnce(&Request) -> Option<Source>,
    ) -> Option<Arc<str>> {
        let answers = self.answers.lock().ok()?;
        let answer = answers.by_args[slot(op)?].get(args_json)?;
        let now = current(&answer.request)?;
        same(&now, &answer.source).then(|| answer.text.clone())
    }

    pub fn put(&self, op: Op, args_json: &str, request: Request, source: Source, text: Arc<str>) {
        let Some(i) = slot(op) else { return };
        let size = args_json.len() + text.len();
        if size > MAX_BYTES / 16 {
            return;
        }
        let Ok(mut answers) = self.answers.lock() else {
            return;
        };
        if answers.bytes + size > MAX_BYTES || answers.count >= MAX_ANSWERS {
            *answers = Answers::default();
        }
        let answer = Answer {
            request,
            source,
            text,
        };
        match answers.by_args[i].insert(args_json.into(), answer) {
            Some(old) => answers.bytes -= args_json.len() + old.text.len(),
            None => answers.count += 1,
        }
        answers.bytes += size;
    }

    pub fn clear(&self) {
        if let Ok(mut answers) = self.answers.lock() {
            *answers = Answers::default();
        }
    }
}

/// The same allocation: compared by address, since two `dyn` pointers to one value may carry
/// different vtable pointers. The kept `Source` holds its entry alive, so an address cannot be
/// reused by a newer entry while it is compared.
fn same(a: &Source, b: &Source) -> bool {
    std::ptr::eq(Arc::as_ptr(a) as *const (), Arc::as_ptr(b) as *const ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::director::tools::search::SearchServicesArgs;
    use serde_json::json;

    fn request() -> Request {
        Request::SearchServices(SearchServicesArgs::parse(&json!({ "query": "x" })).unwrap())
    }

    fn source(n: u32) -> Source {
        Arc::new(n)
    }

    #[test]
    fn kept_text_is_answered_only_while_its_entry_is_current() {
        let rendered = Rendered::default();
        let entry = source(1);
        let op = Op::SearchServices;
        rendered.put(
            op,
            r#"{"query":"x"}"#,
            request(),
            entry.clone(),
            "answer".into(),
        );
        let current = |s: &Source| {
            let s = s.clone();
            move |_: &Request| Some(s)
        };
        assert_eq!(
            rendered
                .get(op, r#"{"query":"x"}"#, current(&entry))
                .as_deref(),
            Some("answer")
        );
        // Another entry for the same request (refreshed), none (expired), other arguments,
        // another operation: not answered.
        assert!(
            rendered
                .get(op, r#"{"query":"x"}"#, current(&source(1)))
                .is_none()
        );
        assert!(rendered.get(op, r#"{"query":"x"}"#, |_| None).is_none());
        assert!(
            rendered
                .get(op, r#"{"query":"y"}"#, current(&entry))
                .is_none()
        );
        assert!(
            rendered
                .get(Op::GetComponents, r#"{"query":"x"}"#, current(&entry))
                .is_none()
        );
        rendered.clear();
        assert!(
            rendered
                .get(op, r#"{"query":"x"}"#, current(&entry))
                .is_none()
        );
    }

    #[test]
    fn memory_is_bounded() {
        let rendered = Rendered::default();
        let entry = source(1);
        let op = Op::SearchServices;
        for i in 0..(MAX_ANSWERS * 3) {
            let args = format!(r#"{{"query":"{i}"}}"#);
            rendered.put(op, &args, request(), entry.clone(), "a".repeat(1000).into());
        }
        let answers = rendered.answers.lock().unwrap();
        assert!(answers.count <= MAX_ANSWERS && answers.bytes <= MAX_BYTES);
        let held: usize = answers.by_args.iter().map(HashMap::len).sum();
        assert_eq!(held, answers.count);
        drop(answers);
        // Too large to keep at all.
        let huge: Arc<str> = "a".repeat(MAX_BYTES / 8).into();
        rendered.put(op, "{}", request(), entry.clone(), huge);
        assert!(rendered.get(op, "{}", |_| Some(entry.clone())).is_none());
    }
}
