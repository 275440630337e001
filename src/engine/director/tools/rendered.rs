//! Cache hits kept as the text they were answered with. A fresh hit renders the same answer
//! from the same cached entry every time, so the text is kept beside the entry it came from:
//! the next identical call skips parsing its arguments, ranking, rendering and serializing
//! (most of a hit's cost) and only checks, by the entry's `Ticket`, that the cache still holds
//! it, fresh: no look-up of the entry, no key to build.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Op, Request};
use crate::engine::transport::cache::Ticket;

/// Most text kept, and most answers: a bound on memory, not a cache policy (full, it starts
/// over).
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
    ticket: Ticket,
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
    /// The text kept for `op` with `args_json`, if `current` says the entry it was rendered
    /// from (named by its ticket) is still the cache's, fresh.
    pub fn get(
        &self,
        op: Op,
        args_json: &str,
        current: impl FnOnce(&Request, &Ticket) -> bool,
    ) -> Option<Arc<str>> {
        let answers = self.answers.lock().ok()?;
        let answer = answers.by_args[slot(op)?].get(args_json)?;
        current(&answer.request, &answer.ticket).then(|| answer.text.clone())
    }

    pub fn put(&self, op: Op, args_json: &str, request: Request, ticket: Ticket, text: Arc<str>) {
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
            ticket,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::director::tools::search::SearchServicesArgs;
    use crate::engine::transport::cache::ResponseCache;
    use serde_json::json;
    use std::time::Duration;

    fn request() -> Request {
        Request::SearchServices(SearchServicesArgs::parse(&json!({ "query": "x" })).unwrap())
    }

    /// A ticket from a real cache holding one entry, and that cache.
    fn ticket() -> (ResponseCache<&'static str, u32>, Ticket) {
        let cache = ResponseCache::new(Duration::from_secs(60), Duration::ZERO, 10);
        futures::executor::block_on(cache.get_or_fetch("k", async { Ok(1) })).unwrap();
        let (_, ticket) = cache.probe_ticket(&"k").unwrap();
        (cache, ticket)
    }

    #[test]
    fn kept_text_is_answered_only_while_its_entry_is_current() {
        let rendered = Rendered::default();
        let (cache, ticket) = ticket();
        let op = Op::SearchServices;
        rendered.put(op, r#"{"query":"x"}"#, request(), ticket, "answer".into());
        let current = |_: &Request, t: &Ticket| cache.redeem(t);
        assert_eq!(
            rendered.get(op, r#"{"query":"x"}"#, current).as_deref(),
            Some("answer")
        );
        // Other arguments, another operation: not answered.
        assert!(rendered.get(op, r#"{"query":"y"}"#, current).is_none());
        assert!(
            rendered
                .get(Op::GetComponents, r#"{"query":"x"}"#, current)
                .is_none()
        );
        // The entry gone from the cache: not answered.
        cache.clear();
        assert!(rendered.get(op, r#"{"query":"x"}"#, current).is_none());
        rendered.put(op, r#"{"query":"x"}"#, request(), ticket, "answer".into());
        rendered.clear();
        assert!(rendered.get(op, r#"{"query":"x"}"#, |_, _| true).is_none());
    }

    #[test]
    fn memory_is_bounded() {
        let rendered = Rendered::default();
        let (_cache, ticket) = ticket();
        let op = Op::SearchServices;
        for i in 0..(MAX_ANSWERS * 3) {
            let args = format!(r#"{{"query":"{i}"}}"#);
            rendered.put(op, &args, request(), ticket, "a".repeat(1000).into());
        }
        let answers = rendered.answers.lock().unwrap();
        assert!(answers.count <= MAX_ANSWERS && answers.bytes <= MAX_BYTES);
        let held: usize = answers.by_args.iter().map(HashMap::len).sum();
        assert_eq!(held, answers.count);
        drop(answers);
        // Too large to keep at all.
        let huge: Arc<str> = "a".repeat(MAX_BYTES / 8).into();
        rendered.put(op, "{}", request(), ticket, huge);
        assert!(rendered.get(op, "{}", |_, _| true).is_none());
    }
}
