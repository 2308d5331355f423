//! skip/first paging and Since & Until paging (pos-api.md §4).
//!
//! Every row of a since-capable table carries a modification sequence number from one
//! counter shared by all tables; a change gives the row a new, higher number. `until` is
//! the last returned number in an opaque wrapper, so a walk that passes each `until` back
//! as `since` sees every row changed after it started at least once, and none is skipped.

use std::collections::BTreeMap;

use super::error::PosError;

/// Page size when the client gives no `first`.
pub(crate) const DEFAULT_FIRST: usize = 100;
/// The largest page served.
pub(crate) const MAX_FIRST: usize = 1000;

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page<T> {
    pub results: Vec<T>,
    pub has_more: bool,
    pub until: Option<String>,
}

/// A table whose rows are ordered by key and by modification sequence.
#[derive(Debug, Clone)]
pub(crate) struct Versioned<K: Ord + Clone, V> {
    rows: BTreeMap<K, (u64, V)>,
    by_seq: BTreeMap<u64, K>,
}

impl<K: Ord + Clone, V> Default for Versioned<K, V> {
    fn default() -> Self {
        Self {
            rows: BTreeMap::new(),
            by_seq: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone, V> Versioned<K, V> {
    /// Inserts or replaces a row, giving it modification number `seq`.
    pub(crate) fn upsert(&mut self, key: K, value: V, seq: u64) {
        if let Some((old, _)) = self.rows.insert(key.clone(), (seq, value)) {
            self.by_seq.remove(&old);
        }
        self.by_seq.insert(seq, key);
    }

    pub(crate) fn remove(&mut self, key: &K) {
        if let Some((seq, _)) = self.rows.remove(key) {
            self.by_seq.remove(&seq);
        }
    }

    /// Rows in key order, starting at `from`.
    pub(crate) fn starting_at(&self, from: K) -> impl Iterator<Item = (&K, &V)> {
        self.rows.range(from..).map(|(k, (_, v))| (k, v))
    }

    /// Rows in key order.
    pub(crate) fn by_key(&self) -> impl Iterator<Item = (&K, &V)> {
        self.rows.iter().map(|(k, (_, v))| (k, v))
    }

    /// Rows in modification order, changed after `since`.
    pub(crate) fn changed_after(&self, since: u64) -> impl Iterator<Item = (u64, &K, &V)> {
        self.by_seq
            .range(since.saturating_add(1)..)
            .filter_map(|(seq, k)| self.rows.get(k).map(|(_, v)| (*seq, k, v)))
    }
}

fn page_size(first: Option<i32>) -> Result<usize, PosError> {
    match first {
        None => Ok(DEFAULT_FIRST),
        Some(n) if n < 0 => Err(PosError::validation(
            "GreaterThanOrEqualValidator",
            "First",
            "first must not be negative",
        )),
        Some(n) => Ok(usize::try_from(n).unwrap_or(MAX_FIRST).min(MAX_FIRST)),
    }
}

fn skip_count(skip: Option<i32>) -> Result<usize, PosError> {
    match skip {
        None => Ok(0),
        Some(n) if n < 0 => Err(PosError::validation(
            "GreaterThanOrEqualValidator",
            "Skip",
            "skip must not be negative",
        )),
        Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

/// skip/first over rows already in their order.
pub(crate) fn page<T>(
    rows: impl Iterator<Item = T>,
    skip: Option<i32>,
    first: Option<i32>,
) -> Result<Page<T>, PosError> {
    let size = page_size(first)?;
    let mut rows = rows.skip(skip_count(skip)?);
    let results: Vec<T> = rows.by_ref().take(size).collect();
    let has_more = rows.next().is_some();
    Ok(Page {
        results,
        has_more,
        until: None,
    })
}

/// Since & Until over `(seq, row)` pairs in modification order, already limited to rows
/// changed after [`decode_since`] of the same `since`.
pub(crate) fn page_since<T>(
    rows: impl Iterator<Item = (u64, T)>,
    since: u64,
    skip: Option<i32>,
    first: Option<i32>,
) -> Result<Page<T>, PosError> {
    let size = page_size(first)?;
    let mut rows = rows.skip(skip_count(skip)?);
    let mut last = since;
    let mut results = Vec::new();
    for (seq, row) in rows.by_ref().take(size) {
        last = seq;
        results.push(row);
    }
    let has_more = rows.next().is_some();
    Ok(Page {
        results,
        has_more,
        until: Some(encode_until(last)),
    })
}

const UNTIL_PREFIX: &str = "SU1";

/// Wraps a sequence number into an opaque `until` value.
pub(crate) fn encode_until(seq: u64) -> String {
    // Hex of a scrambled number: opaque enough that clients do not parse it.
    format!("{UNTIL_PREFIX}{:016x}", seq ^ 0x5a5a_a5a5_5a5a_a5a5)
}

/// Reads a `since` argument: `""` starts at the beginning.
pub(crate) fn decode_since(since: &str) -> Result<u64, PosError> {
    if since.is_empty() {
        return Ok(0);
    }
    since
        .strip_prefix(UNTIL_PREFIX)
        .filter(|hex| hex.len() == 16)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .map(|v| v ^ 0x5a5a_a5a5_5a5a_a5a5)
        .ok_or_else(|| {
            PosError::validation(
                "SinceValidator",
                "Since",
                "since is not a value returned as until",
            )
        })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn since_decoding_never_panics(text in ".{0,40}") {
            let _ = decode_since(&text);
        }
    }

    #[test]
    fn until_round_trips_and_garbage_is_rejected() {
        for seq in [0, 1, 42, u64::MAX] {
            assert_eq!(decode_since(&encode_until(seq)).unwrap(), seq);
        }
        assert_eq!(decode_since("").unwrap(), 0);
        for bad in ["x", "SU1zz", "SU10000", "42"] {
            assert!(decode_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn skip_first_and_has_more() {
        let p = page(0..10, Some(2), Some(3)).unwrap();
        assert_eq!(p.results, vec![2, 3, 4]);
        assert!(p.has_more);
        let p = page(0..10, Some(7), Some(3)).unwrap();
        assert_eq!(p.results, vec![7, 8, 9]);
        assert!(!p.has_more);
        assert!(page(0..10, Some(-1), None).is_err());
    }

    #[test]
    fn changed_rows_move_to_the_end() {
        let mut t = Versioned::default();
        t.upsert("a", 1, 1);
        t.upsert("b", 2, 2);
        t.upsert("a", 3, 3);
        let order: Vec<_> = t.changed_after(0).map(|(s, k, v)| (s, *k, *v)).collect();
        assert_eq!(order, vec![(2, "b", 2), (3, "a", 3)]);
        assert_eq!(t.changed_after(2).count(), 1);
    }
}
