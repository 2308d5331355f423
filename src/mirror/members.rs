//! Loyalty members: every online lookup is cached (member id → customer id, masked name) so
//! that a swiped member card still identifies the member while the link is down, and the sale's
//! `memberId` still earns points when its purchase is forwarded later.

use pos_client::Customer;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::db::now_secs;
use super::lookup::{Answer, AnswerSource, OnlineOutcome};
use super::{Mirror, MirrorError};

/// A member as the register sees it (`GET /v1/members/{member_id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberView {
    /// Member id.
    pub member_id: String,
    /// The POS customer id.
    pub customer_id: String,
    /// Masked full name (first letter of each word), never the full name.
    pub name: Option<String>,
}

/// Masks a name to the first letter of each word: "Dana Example" → "D*** E******".
pub fn mask_name(full: &str) -> String {
    full.split_whitespace()
        .map(|w| {
            let mut cs = w.chars();
            let first = cs.next().map(String::from).unwrap_or_default();
            first + &"*".repeat(cs.count())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl MemberView {
    /// The view of an online customer answer; `None` when the customer is not a member.
    pub fn from_customer(c: &Customer) -> Option<MemberView> {
        Some(MemberView {
            member_id: c.member_id.clone()?,
            customer_id: c.id.clone(),
            name: c.full_name.as_deref().map(mask_name),
        })
    }
}

impl Mirror {
    /// Caches a member (only the masked name is stored).
    pub async fn remember_member(&self, m: &MemberView) -> Result<(), MirrorError> {
        let m = m.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO member (member_id, customer_id, name_masked, fetched_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (member_id) DO UPDATE SET customer_id = excluded.customer_id,
                   name_masked = excluded.name_masked, fetched_at = excluded.fetched_at",
                params![m.member_id, m.customer_id, m.name, now_secs()],
            )?;
            Ok(())
        })
        .await
    }

    /// The cached member and the age of the cache entry in seconds.
    pub async fn cached_member(
        &self,
        member_id: &str,
    ) -> Result<Option<(MemberView, u64)>, MirrorError> {
        let id = member_id.to_owned();
        self.read(move |c| {
            let row = c
                .query_row(
                    "SELECT member_id, customer_id, name_masked, fetched_at FROM member
                     WHERE member_id = ?1",
                    [&id],
                    |r| {
                        Ok((
                            MemberView {
                                member_id: r.get(0)?,
                                customer_id: r.get(1)?,
                                name: r.get(2)?,
                            },
                            r.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()?;
            Ok(row.map(|(m, at)| (m, u64::try_from(now_secs() - at).unwrap_or(0))))
        })
        .await
    }

    /// `GET /v1/members/{member_id}`: an online answer is cached and returned; "no such
    /// member" drops the cache entry; while the POS is unavailable the cache answers.
    /// `online` is the `customer(memberId:)` result; a customer without that member id counts
    /// as not found.
    pub async fn member_online_first(
        &self,
        member_id: &str,
        online: OnlineOutcome<Customer>,
    ) -> Result<Option<Answer<MemberView>>, MirrorError> {
        match online {
            OnlineOutcome::Found(c) => {
                match MemberView::from_customer(&c).filter(|m| m.member_id == member_id) {
                    Some(view) => {
                        self.remember_member(&view).await?;
                        Ok(Some(Answer {
                            value: view,
                            source: AnswerSource::Online,
                            mirror_age_secs: None,
                        }))
                    }
                    None => self.forget_member(member_id).await.map(|_| None),
                }
            }
            OnlineOutcome::NotFound => self.forget_member(member_id).await.map(|_| None),
            OnlineOutcome::Unavailable => {
                Ok(self.cached_member(member_id).await?.map(|(m, age)| Answer {
                    value: m,
                    source: AnswerSource::Mirror,
                    mirror_age_secs: Some(age),
                }))
            }
        }
    }

    async fn forget_member(&self, member_id: &str) -> Result<(), MirrorError> {
        let id = member_id.to_owned();
        self.write(move |c| {
            c.execute("DELETE FROM member WHERE member_id = ?1", [&id])?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_per_word() {
        assert_eq!(mask_name("Dana Example"), "D*** E******");
        assert_eq!(mask_name("  Ö  "), "Ö");
        assert_eq!(mask_name(""), "");
    }
}
