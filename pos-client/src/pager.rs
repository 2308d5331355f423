//! Since & Until paging (`pos-api.md` §4), for any endpoint that supports it.
//!
//! The first call sends `since: ""`; each answer's opaque `until` becomes the next `since`.
//! Persist the `until` of a page only after its items are stored: a crash then repeats at
//! most one page, and [`SincePager::new`] resumes from the stored value.

use std::future::Future;
use std::pin::Pin;

use crate::error::PosError;
use crate::types::Page;

type Fetch<T> = Box<
    dyn FnMut(String) -> Pin<Box<dyn Future<Output = Result<Page<T>, PosError>> + Send>> + Send,
>;

/// One page of a since-paged walk.
#[derive(Debug, Clone, PartialEq)]
pub struct SincePage<T> {
    /// Items changed since the previous page, ordered by modification date.
    pub items: Vec<T>,
    /// The value to persist and pass as the next `since` (opaque: never parse it).
    pub until: String,
    /// False when this page caught up (for now).
    pub has_more: bool,
}

/// Walks a since-paged query page by page. `next_page` returns `Ok(None)` once a page said
/// `hasMoreResults: false`; after an error the same page can be asked for again.
pub struct SincePager<T> {
    fetch: Fetch<T>,
    since: String,
    done: bool,
}

impl<T> std::fmt::Debug for SincePager<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SincePager")
            .field("since", &self.since)
            .field("done", &self.done)
            .finish()
    }
}

impl<T: Send + 'static> SincePager<T> {
    /// A pager starting at `since` (a stored `until`), or at the beginning (`""`) for `None`.
    /// `fetch` runs the query with the given `since`; [`crate::PosClient`] has ready-made
    /// pagers (`items_since`, `products_since`, …).
    pub fn new<F, Fut>(since: Option<String>, mut fetch: F) -> Self
    where
        F: FnMut(String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Page<T>, PosError>> + Send + 'static,
    {
        SincePager {
            fetch: Box::new(move |s| Box::pin(fetch(s))),
            since: since.unwrap_or_default(),
            done: false,
        }
    }

    /// The `since` the next call will send.
    pub fn since(&self) -> &str {
        &self.since
    }

    /// Fetches the next page, or `None` when the walk has caught up.
    pub async fn next_page(&mut self) -> Result<Option<SincePage<T>>, PosError> {
        if self.done {
            return Ok(None);
        }
        let page = (self.fetch)(self.since.clone()).await?;
        let until = match page.until {
            Some(u) => u,
            // Nothing changed and nothing more: stay where we are.
            None if !page.has_more_results && page.results.is_empty() => self.since.clone(),
            None => {
                return Err(PosError::BadResponse {
                    operation: "since-paging",
                    mutation: false,
                    reason: "a since-paged answer without `until`".to_owned(),
                });
            }
        };
        if page.has_more_results && until == self.since && page.results.is_empty() {
            // A server that promises more but does not move would loop us forever.
            return Err(PosError::BadResponse {
                operation: "since-paging",
                mutation: false,
                reason: "`until` did not advance".to_owned(),
            });
        }
        self.since = until.clone();
        self.done = !page.has_more_results;
        Ok(Some(SincePage {
            items: page.results,
            until,
            has_more: page.has_more_results,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn page(items: Vec<u32>, until: Option<&str>, more: bool) -> Page<u32> {
        Page {
            results: items,
            has_more_results: more,
            limited_by_permission: false,
            until: until.map(str::to_owned),
        }
    }

    fn scripted(
        answers: Vec<Result<Page<u32>, PosError>>,
        since: Option<String>,
    ) -> (SincePager<u32>, Arc<Mutex<Vec<String>>>) {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let answers = Arc::new(Mutex::new(answers.into_iter()));
        let s2 = seen.clone();
        let pager = SincePager::new(since, move |s| {
            s2.lock().unwrap().push(s);
            let next = answers.lock().unwrap().next().expect("no more answers");
            async move { next }
        });
        (pager, seen)
    }

    #[tokio::test]
    async fn walks_pages_passing_until_back_as_since() {
        let (mut p, seen) = scripted(
            vec![
                Ok(page(vec![1, 2], Some("u1"), true)),
                Ok(page(vec![3], Some("u2"), false)),
            ],
            None,
        );
        let a = p.next_page().await.unwrap().unwrap();
        assert_eq!(
            (a.items, a.until.as_str(), a.has_more),
            (vec![1, 2], "u1", true)
        );
        let b = p.next_page().await.unwrap().unwrap();
        assert_eq!(
            (b.items, b.until.as_str(), b.has_more),
            (vec![3], "u2", false)
        );
        assert!(p.next_page().await.unwrap().is_none());
        assert_eq!(*seen.lock().unwrap(), vec!["".to_owned(), "u1".to_owned()]);
    }

    #[tokio::test]
    async fn resumes_from_stored_until_and_retries_after_error() {
        let (mut p, seen) = scripted(
            vec![
                Err(PosError::NotSent {
                    operation: "item",
                    reason: "refused".into(),
                }),
                Ok(page(vec![7], Some("u8"), false)),
            ],
            Some("u7".into()),
        );
        assert!(p.next_page().await.is_err());
        assert_eq!(p.since(), "u7", "an error does not move the cursor");
        let pg = p.next_page().await.unwrap().unwrap();
        assert_eq!(pg.until, "u8");
        assert_eq!(
            *seen.lock().unwrap(),
            vec!["u7".to_owned(), "u7".to_owned()]
        );
    }

    #[tokio::test]
    async fn missing_or_stuck_until_is_a_bad_response() {
        let (mut p, _) = scripted(vec![Ok(page(vec![1], None, true))], None);
        assert!(matches!(
            p.next_page().await,
            Err(PosError::BadResponse { .. })
        ));
        let (mut p, _) = scripted(vec![Ok(page(vec![], Some("u1"), true))], Some("u1".into()));
        assert!(matches!(
            p.next_page().await,
            Err(PosError::BadResponse { .. })
        ));
        let (mut p, _) = scripted(vec![Ok(page(vec![], None, false))], Some("u3".into()));
        let pg = p.next_page().await.unwrap().unwrap();
        assert_eq!(pg.until, "u3");
    }
}
