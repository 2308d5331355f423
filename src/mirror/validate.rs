//! SKU checks for a sale against the item mirror: an unknown SKU is an error once the item
//! mirror is complete, and only a warning while its first load is still running.

use std::collections::BTreeSet;

use serde::Serialize;

use super::Mirror;
use super::sync::{Entity, read_state};

/// Why a sale was accepted with reservations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkuWarning {
    /// The SKU is not in the mirror, but the mirror's first load has not finished.
    MirrorLoading {
        /// The SKU.
        sku: String,
    },
    /// The mirror could not be read; SKUs were not checked. A broken mirror must not stop a
    /// lane from selling: validation catches typos, it is not a control.
    MirrorUnavailable {
        /// Why.
        reason: String,
    },
}

/// SKUs that the complete item mirror does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("unknown SKU: {}", skus.join(", "))]
pub struct UnknownSku {
    /// The unknown SKUs, sorted, each once.
    pub skus: Vec<String>,
}

/// The rule: unknown SKUs are an error when the mirror is complete, warnings while it loads.
pub fn decide(unknown: Vec<String>, complete: bool) -> Result<Vec<SkuWarning>, UnknownSku> {
    if unknown.is_empty() {
        Ok(Vec::new())
    } else if complete {
        Err(UnknownSku { skus: unknown })
    } else {
        Ok(unknown
            .into_iter()
            .map(|sku| SkuWarning::MirrorLoading { sku })
            .collect())
    }
}

impl Mirror {
    /// Checks a sale's SKUs against the item mirror (see [`decide`]).
    pub async fn check_skus<S: AsRef<str>>(
        &self,
        skus: &[S],
    ) -> Result<Vec<SkuWarning>, UnknownSku> {
        let wanted: BTreeSet<String> = skus.iter().map(|s| s.as_ref().to_owned()).collect();
        let looked_up = self
            .read(move |c| {
                let complete = read_state(c, Entity::Item)?.complete;
                let mut st = c.prepare_cached("SELECT 1 FROM item WHERE sku = ?1")?;
                let mut unknown = Vec::new();
                for sku in wanted {
                    if !st.exists([&sku])? {
                        unknown.push(sku);
                    }
                }
                Ok((unknown, complete))
            })
            .await;
        match looked_up {
            Ok((unknown, complete)) => decide(unknown, complete),
            Err(e) => {
                tracing::warn!(error = %e, "SKU check skipped: mirror unreadable.");
                Ok(vec![SkuWarning::MirrorUnavailable {
                    reason: e.to_string(),
                }])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_an_error_only_when_complete() {
        assert_eq!(decide(vec![], true), Ok(vec![]));
        assert_eq!(
            decide(vec!["X".into()], true),
            Err(UnknownSku {
                skus: vec!["X".into()]
            })
        );
        assert_eq!(
            decide(vec!["X".into()], false),
            Ok(vec![SkuWarning::MirrorLoading { sku: "X".into() }])
        );
    }
}
