//! Cursor paging shared by every list endpoint.
//!
//! A cursor names a position in the (filtered, sorted) result list. It is
//! base64 so clients treat it as opaque, and carries a tag so arbitrary strings
//! are rejected with 400 rather than silently read as position 0.
//! As in the real API's documented examples, every non-empty page carries an
//! `end_cursor`, the last one included; the page after the last item is empty
//! (`data: []`, both cursors null). The official SDK (and any client that
//! follows cursors) therefore fetches one extra, empty page before it stops.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::error::ApiError;
use crate::query::Query;

const CURSOR_TAG: &str = "pdemu:";

pub const DEFAULT_LIMIT: usize = 20;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: usize,
    pub after: Option<usize>,
    pub before: Option<usize>,
}

impl PageRequest {
    /// Reads `limit`, `after` and `before`; `limit` is clamped to `max_page_size`.
    pub fn from_query(q: &Query, max_page_size: usize) -> Result<Self, ApiError> {
        let limit = match q.get("limit") {
            None | Some("") => DEFAULT_LIMIT,
            Some(s) => match s.trim().parse::<i64>() {
                Ok(n) if n >= 1 => n as usize,
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "limit must be an integer >= 1, got {s:?}"
                    )));
                }
            },
        };
        let cursor = |name: &str| -> Result<Option<usize>, ApiError> {
            match q.get(name) {
                None | Some("") => Ok(None),
                Some(s) => decode_cursor(s)
                    .map(Some)
                    .ok_or_else(|| ApiError::bad_request(format!("invalid {name} cursor"))),
            }
        };
        Ok(Self {
            limit: limit.min(max_page_size.max(1)),
            after: cursor("after")?,
            before: cursor("before")?,
        })
    }
}

pub fn encode_cursor(pos: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_TAG}{pos}"))
}

fn decode_cursor(s: &str) -> Option<usize> {
    // Accept padded/standard alphabets too: some clients re-encode what they got.
    let trimmed = s.trim_end_matches('=').replace('+', "-").replace('/', "_");
    let bytes = URL_SAFE_NO_PAD.decode(trimmed.as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(CURSOR_TAG)?.parse().ok()
}

/// One page of a list, as every list endpoint answers it: `{data, page_info}`.
/// Fields in the order a `json!` object writes them (sorted), so the bytes are the same.
#[derive(Serialize)]
pub struct Page<R> {
    data: Vec<R>,
    page_info: PageInfo,
}

#[derive(Serialize)]
struct PageInfo {
    count: usize,
    end_cursor: Option<String>,
    start_cursor: Option<String>,
    total_count: usize,
}

/// Cut one page out of `items`; `render` turns each selected item into its wire JSON.
pub fn page<T, R: Serialize>(items: &[T], req: PageRequest, render: impl Fn(&T) -> R) -> Page<R> {
    let total = items.len();
    let lo = req
        .after
        .map(|a| a.saturating_add(1))
        .unwrap_or(0)
        .min(total);
    let hi = req.before.unwrap_or(total).min(total).max(lo);
    // With only `before`, the page is the `limit` items just before it.
    let (start, end) = if req.before.is_some() && req.after.is_none() {
        (hi.saturating_sub(req.limit).max(lo), hi)
    } else {
        (lo, (lo + req.limit).min(hi))
    };
    let data: Vec<R> = items[start..end].iter().map(render).collect();
    let count = data.len();
    Page {
        data,
        page_info: PageInfo {
            count,
            end_cursor: (count > 0).then(|| encode_cursor(end - 1)),
            start_cursor: (count > 0).then(|| encode_cursor(start)),
            total_count: total,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn paged(items: &[u32], req: PageRequest) -> Value {
        serde_json::to_value(page(items, req, |i| *i)).unwrap()
    }

    fn req(limit: usize, after: Option<usize>, before: Option<usize>) -> PageRequest {
        PageRequest {
            limit,
            after,
            before,
        }
    }

    #[test]
    fn walks_forward_and_ends_with_an_empty_page() {
        let items: Vec<u32> = (0..5).collect();
        let p1 = paged(&items, req(2, None, None));
        assert_eq!(p1["data"], json!([0, 1]));
        let c = p1["page_info"]["end_cursor"].as_str().unwrap();
        let p2 = paged(&items, req(2, decode_cursor(c), None));
        assert_eq!(p2["data"], json!([2, 3]));
        let c = p2["page_info"]["end_cursor"].as_str().unwrap();
        let p3 = paged(&items, req(2, decode_cursor(c), None));
        assert_eq!(p3["data"], json!([4]));
        assert_eq!(p3["page_info"]["total_count"], json!(5));
        // The last page still has a cursor; the page after it is empty.
        let c = p3["page_info"]["end_cursor"].as_str().unwrap();
        let p4 = paged(&items, req(2, decode_cursor(c), None));
        assert_eq!(p4["data"], json!([]));
        assert!(p4["page_info"]["start_cursor"].is_null());
        assert!(p4["page_info"]["end_cursor"].is_null());
        assert_eq!(p4["page_info"]["count"], json!(0));
    }

    #[test]
    fn before_takes_preceding_items() {
        let items: Vec<u32> = (0..5).collect();
        let p = paged(&items, req(2, None, Some(4)));
        assert_eq!(p["data"], json!([2, 3]));
        let empty = paged(&items, req(2, Some(4), None));
        assert!(empty["page_info"]["start_cursor"].is_null());
        assert!(empty["page_info"]["end_cursor"].is_null());
    }

    #[test]
    fn rejects_foreign_cursors() {
        assert_eq!(decode_cursor("bm9wZQ"), None);
        assert_eq!(decode_cursor("!!"), None);
        assert_eq!(decode_cursor(&encode_cursor(7)), Some(7));
    }
}
