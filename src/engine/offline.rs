//! Offline acceptance policy (`[offline]`) and the budget shown in `/v1/status`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Money;
use crate::store::exceptions::OfflineUsage;

/// What to do with a card the lane has never seen a balance for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownCard {
    /// Refuse offline.
    Refuse,
    /// Accept up to this much per card (minus what was already taken offline from it).
    Limit(Money),
}

/// The `[offline]` policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflinePolicy {
    /// Offline acceptance on at all.
    pub enabled: bool,
    /// Per-transaction cap.
    pub max_transaction_amount: Money,
    /// Cap on the sum of offline redemptions not yet forwarded.
    pub max_total_amount: Money,
    /// Cap on their number.
    pub max_count: u64,
    /// The oldest one may be at most this old.
    pub max_age_hours: u64,
    /// Cards without a known balance.
    pub unknown_card: UnknownCard,
}

impl OfflinePolicy {
    /// Offline acceptance off.
    pub fn disabled() -> OfflinePolicy {
        OfflinePolicy {
            enabled: false,
            max_transaction_amount: Money::ZERO,
            max_total_amount: Money::ZERO,
            max_count: 0,
            max_age_hours: 0,
            unknown_card: UnknownCard::Refuse,
        }
    }
}

/// Why an offline tender was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum OfflineRefusal {
    /// Offline acceptance is off.
    #[error("offline_disabled")]
    Disabled,
    /// Above the per-transaction cap.
    #[error("offline_transaction_cap")]
    TransactionCap,
    /// The total cap would be exceeded.
    #[error("offline_total_cap")]
    TotalCap,
    /// The count cap is reached.
    #[error("offline_count_cap")]
    CountCap,
    /// The oldest offline item is too old: forward first.
    #[error("offline_age_cap")]
    AgeCap,
    /// The card's known balance (minus offline takings) is used up.
    #[error("insufficient_balance")]
    InsufficientBalance,
    /// Unknown card, refused by policy.
    #[error("unknown_card")]
    UnknownCard,
    /// Unknown card, its limit is used up.
    #[error("unknown_card_limit")]
    UnknownCardLimit,
}

/// Decides an offline tender: the approved amount (possibly partial on the card's balance)
/// or why not. `known_balance` is the last online balance, `taken` what this lane took from
/// the card offline since.
pub fn decide(
    policy: &OfflinePolicy,
    usage: &OfflineUsage,
    amount: Money,
    known_balance: Option<Money>,
    taken: Money,
    now: DateTime<Utc>,
) -> Result<Money, OfflineRefusal> {
    if !policy.enabled {
        return Err(OfflineRefusal::Disabled);
    }
    if amount > policy.max_transaction_amount {
        return Err(OfflineRefusal::TransactionCap);
    }
    if usage.count >= policy.max_count {
        return Err(OfflineRefusal::CountCap);
    }
    if let Some(age) = oldest_age_secs(usage, now)
        && age >= policy.max_age_hours as i64 * 3600
    {
        return Err(OfflineRefusal::AgeCap);
    }
    if usage.total + amount > policy.max_total_amount {
        return Err(OfflineRefusal::TotalCap);
    }
    let (available, refusal) = match (known_balance, policy.unknown_card) {
        (Some(b), _) => (b - taken, OfflineRefusal::InsufficientBalance),
        (None, UnknownCard::Refuse) => return Err(OfflineRefusal::UnknownCard),
        (None, UnknownCard::Limit(l)) => (l - taken, OfflineRefusal::UnknownCardLimit),
    };
    let approved = amount.min(available);
    if approved.is_positive() {
        Ok(approved)
    } else {
        Err(refusal)
    }
}

fn oldest_age_secs(usage: &OfflineUsage, now: DateTime<Utc>) -> Option<i64> {
    let oldest = usage.oldest.as_deref()?;
    let t = DateTime::parse_from_rfc3339(oldest).ok()?;
    Some((now - t.with_timezone(&Utc)).num_seconds())
}

/// The offline budget for `/v1/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineBudget {
    /// Offline acceptance on.
    pub enabled: bool,
    /// Offline redemptions not yet forwarded.
    pub used_count: u64,
    /// Their sum.
    pub used_amount: Money,
    /// Count left.
    pub remaining_count: u64,
    /// Amount left.
    pub remaining_amount: Money,
    /// Per-transaction cap.
    pub max_transaction_amount: Money,
    /// Age of the oldest, seconds.
    pub oldest_age_secs: Option<i64>,
    /// Seconds until the age cap stops offline acceptance.
    pub expires_in_secs: Option<i64>,
}

/// Computes the budget.
pub fn budget(policy: &OfflinePolicy, usage: &OfflineUsage, now: DateTime<Utc>) -> OfflineBudget {
    let age = oldest_age_secs(usage, now);
    let remaining_amount = policy.max_total_amount - usage.total;
    OfflineBudget {
        enabled: policy.enabled,
        used_count: usage.count,
        used_amount: usage.total,
        remaining_count: policy.max_count.saturating_sub(usage.count),
        remaining_amount: if remaining_amount.0.is_sign_negative() {
            Money::ZERO
        } else {
            remaining_amount
        },
        max_transaction_amount: policy.max_transaction_amount,
        oldest_age_secs: age,
        expires_in_secs: age.map(|a| (policy.max_age_hours as i64 * 3600 - a).max(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn policy() -> OfflinePolicy {
        OfflinePolicy {
            enabled: true,
            max_transaction_amount: Money(dec!(50)),
            max_total_amount: Money(dec!(100)),
            max_count: 3,
            max_age_hours: 24,
            unknown_card: UnknownCard::Limit(Money(dec!(20))),
        }
    }

    fn usage(count: u64, total: Money, oldest: Option<DateTime<Utc>>) -> OfflineUsage {
        OfflineUsage {
            count,
            total,
            oldest: oldest.map(|t| t.to_rfc3339()),
        }
    }

    #[test]
    fn each_cap_is_hit() {
        let now = Utc::now();
        let p = policy();
        let m = |d| Money(d);
        let none = usage(0, Money::ZERO, None);
        assert_eq!(
            decide(
                &p,
                &none,
                m(dec!(50.01)),
                Some(m(dec!(100))),
                Money::ZERO,
                now
            ),
            Err(OfflineRefusal::TransactionCap)
        );
        assert_eq!(
            decide(&p, &none, m(dec!(50)), Some(m(dec!(100))), Money::ZERO, now),
            Ok(m(dec!(50)))
        );
        let three = usage(3, m(dec!(10)), Some(now));
        assert_eq!(
            decide(&p, &three, m(dec!(1)), Some(m(dec!(100))), Money::ZERO, now),
            Err(OfflineRefusal::CountCap)
        );
        let old = usage(1, m(dec!(10)), Some(now - chrono::Duration::hours(24)));
        assert_eq!(
            decide(&p, &old, m(dec!(1)), Some(m(dec!(100))), Money::ZERO, now),
            Err(OfflineRefusal::AgeCap)
        );
        let young = usage(1, m(dec!(10)), Some(now - chrono::Duration::hours(23)));
        assert!(decide(&p, &young, m(dec!(1)), Some(m(dec!(100))), Money::ZERO, now).is_ok());
        let ninety = usage(2, m(dec!(90)), Some(now));
        assert_eq!(
            decide(
                &p,
                &ninety,
                m(dec!(10.01)),
                Some(m(dec!(100))),
                Money::ZERO,
                now
            ),
            Err(OfflineRefusal::TotalCap)
        );
        assert_eq!(
            decide(
                &p,
                &ninety,
                m(dec!(10)),
                Some(m(dec!(100))),
                Money::ZERO,
                now
            ),
            Ok(m(dec!(10)))
        );
    }

    #[test]
    fn card_balance_minus_offline_takings_bounds_the_approval() {
        let now = Utc::now();
        let p = policy();
        let none = usage(0, Money::ZERO, None);
        let m = |d| Money(d);
        assert_eq!(
            decide(&p, &none, m(dec!(30)), Some(m(dec!(25))), m(dec!(5)), now),
            Ok(m(dec!(20)))
        );
        assert_eq!(
            decide(&p, &none, m(dec!(30)), Some(m(dec!(25))), m(dec!(25)), now),
            Err(OfflineRefusal::InsufficientBalance)
        );
        assert_eq!(
            decide(&p, &none, m(dec!(30)), None, m(dec!(5)), now),
            Ok(m(dec!(15)))
        );
        assert_eq!(
            decide(&p, &none, m(dec!(30)), None, m(dec!(20)), now),
            Err(OfflineRefusal::UnknownCardLimit)
        );
        let refuse = OfflinePolicy {
            unknown_card: UnknownCard::Refuse,
            ..p.clone()
        };
        assert_eq!(
            decide(&refuse, &none, m(dec!(1)), None, Money::ZERO, now),
            Err(OfflineRefusal::UnknownCard)
        );
        let off = OfflinePolicy {
            enabled: false,
            ..p
        };
        assert_eq!(
            decide(&off, &none, m(dec!(1)), Some(m(dec!(9))), Money::ZERO, now),
            Err(OfflineRefusal::Disabled)
        );
    }

    #[test]
    fn budget_reports_what_is_left() {
        let now = Utc::now();
        let b = budget(
            &policy(),
            &usage(1, Money(dec!(30)), Some(now - chrono::Duration::hours(1))),
            now,
        );
        assert_eq!(b.remaining_count, 2);
        assert_eq!(b.remaining_amount, Money(dec!(70)));
        assert_eq!(b.expires_in_secs, Some(23 * 3600));
    }
}
