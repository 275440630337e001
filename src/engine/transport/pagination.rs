//! Cursor pagination as the Connect API does it: `{ data, page_info }`, next page by passing
//! `page_info.end_cursor` as `after`, done when the cursor is null, absent or empty.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Mutex;

use serde::Deserialize;

use super::cache::Dated;
use crate::engine::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    #[serde(deserialize_with = "at_most_a_page")]
    pub data: Vec<T>,
    #[serde(default)]
    pub page_info: PageInfo,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageInfo {
    pub total_count: Option<u64>,
    pub end_cursor: Option<String>,
}

/// The most items one page may hold: the API serves at most 100. A page of millions of tiny
/// items (`[{}, {}, …]`, a few MB) became a gigabyte of typed items before it was refused.
const MAX_PAGE_ITEMS: usize = 1_000;

fn at_most_a_page<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Items<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Items<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_PAGE_ITEMS} items")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Vec<T>, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_PAGE_ITEMS));
            while let Some(item) = seq.next_element()? {
                if items.len() == MAX_PAGE_ITEMS {
                    return Err(serde::de::Error::custom(format!(
                        "a page of more than {MAX_PAGE_ITEMS} items (the API serves at most 100)"
                    )));
                }
                items.push(item);
            }
            Ok(items)
        }
    }
    d.deserialize_seq(Items(std::marker::PhantomData))
}

impl<T> Page<T> {
    pub fn next_cursor(&self) -> Option<&str> {
        self.page_info
            .end_cursor
            .as_deref()
            .filter(|c| !c.is_empty())
    }
}

/// Fetches pages until `max_items` are gathered or the server says there are no more.
/// `fetch(after, want)` requests one page. A cursor seen twice means a server bug; stop with an
/// error rather than loop forever.
pub async fn collect<T, F, Fut>(max_items: usize, mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(Option<String>, usize) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    let mut seen = HashSet::new();
    loop {
        let want = max_items - items.len();
        let page = fetch(after.take(), want).await?;
        let next = page.next_cursor().map(str::to_owned);
        let empty = page.data.is_empty();
        let total = page.page_info.total_count;
        items.extend(page.data.into_iter().take(want));
        // The last page still carries a cursor (the docs' examples show one), so a walk
        // that trusted only the cursor would ask for one more, empty page: the server's
        // count of all items says when everything is here.
        let all_here = total.is_some_and(|t| items.len() as u64 >= t);
        match next {
            Some(cursor) if items.len() < max_items && !empty && !all_here => {
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
    Ok(items)
}

/// `collect` for a list its caller must get whole: more than `max_items` fails with `narrow()`
/// (an `InvalidArgs` saying how to ask for fewer) rather than passing the first `max_items` off
/// as all of them. A page's `total_count` above the cap fails at once (it counts what the
/// filters match: the docs' `apps?q=gitlab` answers a total equal to its count); without one,
/// the walk fails when it finds item `max_items + 1`.
pub async fn collect_whole<T, F, Fut>(
    max_items: usize,
    narrow: impl Fn() -> String,
    mut fetch: F,
) -> Result<Vec<T>>
where
    F: FnMut(Option<String>, usize) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let too_many = || Error::InvalidArgs(narrow());
    let items = collect(max_items + 1, |after, want| {
        let page = fetch(after, want);
        let too_many = &too_many;
        async move {
            let page = page.await?;
            match page.page_info.total_count {
                Some(total) if total > max_items as u64 => Err(too_many()),
                _ => Ok(page),
            }
        }
    })
    .await?;
    match items.len() > max_items {
        true => Err(too_many()),
        false => Ok(items),
    }
}

/// `collect` for pages that may come from the shared cache: the items, as old as the oldest page.
pub async fn collect_dated<T, F, Fut>(max_items: usize, mut fetch: F) -> Result<Dated<Vec<T>>>
where
    F: FnMut(Option<String>, usize) -> Fut,
    Fut: Future<Output = Result<Dated<Page<T>>>>,
{
    let oldest = Mutex::new(None);
    let items = collect(max_items, |after, want| {
        let page = fetch(after, want);
        let oldest = &oldest;
        async move {
            let page = page.await?;
            let mut o = oldest.lock().unwrap_or_else(|p| p.into_inner());
            *o = (*o).max(page.age);
            Ok(page.value)
        }
    })
    .await?;
    let age = *oldest.lock().unwrap_or_else(|p| p.into_inner());
    Ok(Dated { value: items, age })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(data: Vec<u32>, end: Option<&str>) -> Page<u32> {
        Page {
            data,
            page_info: PageInfo {
                total_count: None,
                end_cursor: end.map(str::to_owned),
            },
        }
    }

    /// Items 1–6 in two pages of three, each with a cursor (no total).
    fn six_in_two_pages(after: Option<&str>) -> Page<u32> {
        match after {
            None => page(vec![1, 2, 3], Some("c1")),
            Some("c1") => page(vec![4, 5, 6], Some("c2")),
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn follows_cursors_until_enough_items() {
        let mut calls = vec![];
        let got = collect(5, |after, want| {
            calls.push((after.clone(), want));
            let p = six_in_two_pages(after.as_deref());
            async move { Ok(p) }
        })
        .await
        .unwrap();
        assert_eq!(got, vec![1, 2, 3, 4, 5]);
        assert_eq!(calls, vec![(None, 5), (Some("c1".into()), 2)]);
    }

    #[tokio::test]
    async fn stops_when_the_total_is_reached_though_a_cursor_follows() {
        let mut calls = 0;
        let got = collect(100, |_, _| {
            calls += 1;
            let mut p = page(vec![1, 2], Some("more"));
            p.page_info.total_count = Some(2);
            async move { Ok(p) }
        })
        .await
        .unwrap();
        assert_eq!((got, calls), (vec![1, 2], 1));
    }

    #[tokio::test]
    async fn stops_on_null_or_empty_cursor() {
        let got = collect(50, |_, _| async { Ok(page(vec![1], Some(""))) })
            .await
            .unwrap();
        assert_eq!(got, vec![1]);
        let got = collect(50, |_, _| async { Ok(page(vec![1], None)) })
            .await
            .unwrap();
        assert_eq!(got, vec![1]);
    }

    #[tokio::test]
    async fn a_repeated_cursor_is_an_error_not_a_loop() {
        let err = collect(50, |_, _| async { Ok(page(vec![1], Some("same"))) })
            .await
            .err()
            .unwrap();
        assert_eq!(err.code().as_str(), "PIPEDREAM_BAD_RESPONSE");
    }

    #[tokio::test]
    async fn a_whole_list_over_the_cap_is_an_error_not_its_first_items() {
        // No total: the walk finds the item past the cap, on the page after it.
        let mut calls = 0;
        let err = collect_whole(
            4,
            || "ask for fewer".to_owned(),
            |after, _| {
                calls += 1;
                let p = six_in_two_pages(after.as_deref());
                async move { Ok(p) }
            },
        )
        .await
        .err()
        .unwrap();
        assert_eq!(err.code().as_str(), "PIPEDREAM_INVALID_ARGS");
        assert_eq!((err.to_string(), calls), ("ask for fewer".to_owned(), 2));

        // A total over the cap: the first page says so, and no second page is asked for.
        let mut calls = 0;
        let err = collect_whole(
            4,
            || "ask for fewer".to_owned(),
            |_, _| {
                calls += 1;
                let mut p = page(vec![1, 2], Some("more"));
                p.page_info.total_count = Some(5);
                async move { Ok(p) }
            },
        )
        .await
        .err()
        .unwrap();
        assert_eq!((err.code().as_str(), calls), ("PIPEDREAM_INVALID_ARGS", 1));
    }

    #[tokio::test]
    async fn a_whole_list_at_the_cap_is_all_of_it() {
        let got = collect_whole(
            4,
            || unreachable!(),
            |after, _| {
                let p = match after.as_deref() {
                    None => page(vec![1, 2], Some("c1")),
                    Some("c1") => page(vec![3, 4], None),
                    _ => unreachable!(),
                };
                async move { Ok(p) }
            },
        )
        .await
        .unwrap();
        assert_eq!(got, vec![1, 2, 3, 4]);
    }
}
