//! Cursor pagination as the Connect API does it: `{ data, page_info }`, next page by passing
//! `page_info.end_cursor` as `after`, done when the cursor is null, absent or empty.

use std::collections::HashSet;
use std::future::Future;

use serde::Deserialize;

use super::error::{Error, Result};

#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub page_info: PageInfo,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageInfo {
    pub total_count: Option<u64>,
    pub end_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn next_cursor(&self) -> Option<&str> {
        self.page_info
            .end_cursor
            .as_deref()
            .filter(|c| !c.is_empty())
    }
}

/// Items gathered across pages, and the server's count of all matches.
pub struct Collected<T> {
    pub items: Vec<T>,
    pub total_count: u64,
}

/// Fetches pages until `max_items` are gathered or the server says there are no more.
/// `fetch(after, want)` requests one page. A cursor seen twice means a server bug; stop with an
/// error rather than loop forever.
pub async fn collect<T, F, Fut>(max_items: usize, mut fetch: F) -> Result<Collected<T>>
where
    F: FnMut(Option<String>, usize) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut total_count = None;
    let mut after: Option<String> = None;
    let mut seen = HashSet::new();
    loop {
        let want = max_items - items.len();
        let page = fetch(after.take(), want).await?;
        total_count.get_or_insert(page.page_info.total_count);
        let next = page.next_cursor().map(str::to_owned);
        let empty = page.data.is_empty();
        items.extend(page.data.into_iter().take(want));
        match next {
            Some(cursor) if items.len() < max_items && !empty => {
                if !seen.insert(cursor.clone()) {
                    return Err(Error::BadResponse(format!(
                        "the API returned the cursor {cursor:?} twice while paging"
                    )));
                }
                after = Some(cursor);
            }
            _ => break,
        }
    }
    let total_count = total_count.flatten().unwrap_or(items.len() as u64);
    Ok(Collected { items, total_count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(data: Vec<u32>, total: u64, end: Option<&str>) -> Page<u32> {
        Page {
            data,
            page_info: PageInfo {
                total_count: Some(total),
                end_cursor: end.map(str::to_owned),
            },
        }
    }

    #[tokio::test]
    async fn follows_cursors_until_enough_items() {
        let mut calls = vec![];
        let got = collect(5, |after, want| {
            calls.push((after.clone(), want));
            let p = match after.as_deref() {
                None => page(vec![1, 2, 3], 9, Some("c1")),
                Some("c1") => page(vec![4, 5, 6], 9, Some("c2")),
                _ => unreachable!(),
            };
            async move { Ok(p) }
        })
        .await
        .unwrap();
        assert_eq!(got.items, vec![1, 2, 3, 4, 5]);
        assert_eq!(got.total_count, 9);
        assert_eq!(calls, vec![(None, 5), (Some("c1".into()), 2)]);
    }

    #[tokio::test]
    async fn stops_on_null_or_empty_cursor() {
        let got = collect(50, |_, _| async { Ok(page(vec![1], 1, Some(""))) })
            .await
            .unwrap();
        assert_eq!(got.items, vec![1]);
        let got = collect(50, |_, _| async { Ok(page(vec![1], 1, None)) })
            .await
            .unwrap();
        assert_eq!(got.items, vec![1]);
    }

    #[tokio::test]
    async fn a_repeated_cursor_is_an_error_not_a_loop() {
        let err = collect(50, |_, _| async { Ok(page(vec![1], 99, Some("same"))) })
            .await
            .err()
            .unwrap();
        assert_eq!(err.code().as_str(), "PIPEDREAM_BAD_RESPONSE");
    }
}
