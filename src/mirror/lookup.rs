//! Item and product views for the register, from the mirror or from an online answer, and the
//! "online first, mirror as fallback" decision.

use std::str::FromStr;

use pos_client::{Item, Product};
use rusqlite::{Connection, OptionalExtension};
use rust_decimal::Decimal;
use serde::Serialize;

use super::db::now_secs;
use super::sync::{Entity, read_state};
use super::{Mirror, MirrorError};

/// Where an answer came from (the API's `source` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    /// The POS answered just now.
    Online,
    /// The local mirror answered (the POS was unavailable).
    Mirror,
}

/// A view plus where it came from; serialises flat, as the API answers
/// (`{..view, "source", "mirror_age_secs"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer<T> {
    /// The view.
    #[serde(flatten)]
    pub value: T,
    /// Online or mirror.
    pub source: AnswerSource,
    /// Seconds since the mirrored entity last caught up (`None` when it never has, or for an
    /// online answer of an entity that was never mirrored).
    pub mirror_age_secs: Option<u64>,
}

/// What the online lookup gave, as input to [`online_or_mirror`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnlineOutcome<T> {
    /// The POS has it.
    Found(T),
    /// The POS answered that it does not exist: authoritative, the mirror is not asked.
    NotFound,
    /// The POS could not answer (link down, timeout, error): the mirror may.
    Unavailable,
}

/// Online first; the mirror only when the POS could not answer. `None` is a 404.
pub fn online_or_mirror<T>(
    online: OnlineOutcome<T>,
    mirror: Option<Answer<T>>,
    mirror_age_secs: Option<u64>,
) -> Option<Answer<T>> {
    match online {
        OnlineOutcome::Found(value) => Some(Answer {
            value,
            source: AnswerSource::Online,
            mirror_age_secs,
        }),
        OnlineOutcome::NotFound => None,
        OnlineOutcome::Unavailable => mirror,
    }
}

/// An item as the register sees it in one warehouse (`GET /v1/items/{sku}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemView {
    /// SKU.
    pub sku: String,
    /// Short name.
    pub name: Option<String>,
    /// Sale unit of measure.
    pub uom: Option<String>,
    /// Price in the lane's warehouse.
    pub base_price: Option<Decimal>,
    /// Quantity available in the lane's warehouse.
    pub quantity_available: Option<Decimal>,
}

impl ItemView {
    /// The view of an online `item` answer in `warehouse`.
    pub fn from_online(item: &Item, warehouse: &str) -> ItemView {
        let w = item
            .warehouses
            .iter()
            .find(|w| w.warehouse_code == warehouse);
        ItemView {
            sku: item.sku.clone(),
            name: item.name.clone(),
            uom: item.sale_uom.clone(),
            base_price: w.and_then(|w| w.base_price),
            quantity_available: w.and_then(|w| w.quantity_available),
        }
    }
}

/// A product group as shown with a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductGroupView {
    /// Code.
    pub code: String,
    /// Name (`None` when the group is not in the mirror).
    pub name: Option<String>,
    /// Display order.
    pub display_order: Option<i64>,
    /// Banner code.
    pub banner_code: Option<String>,
}

/// A notice as shown with a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeView {
    /// Code.
    pub code: String,
    /// Text (`None` when the notice is not in the mirror).
    pub text: Option<String>,
}

/// A product with its groups and notices (`GET /v1/products/{sku}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductView {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: Option<String>,
    /// Long name.
    pub long_name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Base price.
    pub base_price: Option<Decimal>,
    /// Groups, in the product's order.
    pub groups: Vec<ProductGroupView>,
    /// Notices, in the product's order.
    pub notices: Vec<NoticeView>,
}

fn parse_dec(s: Option<String>) -> Result<Option<Decimal>, MirrorError> {
    s.map(|s| Decimal::from_str(&s).map_err(|e| MirrorError::Data(format!("decimal {s:?}: {e}"))))
        .transpose()
}

fn parse_list(s: &str) -> Result<Vec<String>, MirrorError> {
    serde_json::from_str(s).map_err(|e| MirrorError::Data(format!("code list: {e}")))
}

fn age(c: &Connection, entity: Entity) -> Result<Option<u64>, MirrorError> {
    Ok(read_state(c, entity)?
        .caught_up_at
        .map(|at| u64::try_from(now_secs() - at).unwrap_or(0)))
}

fn item_row(c: &Connection, sku: &str, warehouse: &str) -> Result<Option<ItemView>, MirrorError> {
    let row = c
        .prepare_cached(
            "SELECT i.sku, i.name, i.sale_uom, w.base_price, w.quantity_available
             FROM item i LEFT JOIN item_warehouse w
               ON w.sku = i.sku AND w.warehouse_code = ?2
             WHERE i.sku = ?1",
        )?
        .query_row([sku, warehouse], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()?;
    row.map(|(sku, name, uom, price, qty)| {
        Ok(ItemView {
            sku,
            name,
            uom,
            base_price: parse_dec(price)?,
            quantity_available: parse_dec(qty)?,
        })
    })
    .transpose()
}

fn groups_and_notices(
    c: &Connection,
    group_codes: &[String],
    notice_codes: &[String],
) -> Result<(Vec<ProductGroupView>, Vec<NoticeView>), MirrorError> {
    let mut groups = Vec::with_capacity(group_codes.len());
    let mut st = c.prepare_cached(
        "SELECT name, display_order, banner_code FROM product_group WHERE code = ?1",
    )?;
    for code in group_codes {
        let found = st
            .query_row([code], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let (name, display_order, banner_code) = found.unwrap_or((None, None, None));
        groups.push(ProductGroupView {
            code: code.clone(),
            name,
            display_order,
            banner_code,
        });
    }
    let mut notices = Vec::with_capacity(notice_codes.len());
    let mut st = c.prepare_cached("SELECT text FROM product_notice WHERE code = ?1")?;
    for code in notice_codes {
        let text = st.query_row([code], |r| r.get(0)).optional()?.flatten();
        notices.push(NoticeView {
            code: code.clone(),
            text,
        });
    }
    Ok((groups, notices))
}

fn product_row(c: &Connection, sku: &str) -> Result<Option<ProductView>, MirrorError> {
    let row = c
        .prepare_cached(
            "SELECT sku, name, long_name, description, base_price, group_codes, notice_codes
             FROM product WHERE sku = ?1",
        )?
        .query_row([sku], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })
        .optional()?;
    let Some((sku, name, long_name, description, price, gcodes, ncodes)) = row else {
        return Ok(None);
    };
    let (groups, notices) = groups_and_notices(c, &parse_list(&gcodes)?, &parse_list(&ncodes)?)?;
    Ok(Some(ProductView {
        sku,
        name,
        long_name,
        description,
        base_price: parse_dec(price)?,
        groups,
        notices,
    }))
}

impl Mirror {
    /// The item in `warehouse` from the mirror, with the item mirror's age.
    pub async fn item_by_sku(
        &self,
        sku: &str,
        warehouse: &str,
    ) -> Result<Option<Answer<ItemView>>, MirrorError> {
        let (sku, warehouse) = (sku.to_owned(), warehouse.to_owned());
        self.read(move |c| {
            let Some(value) = item_row(c, &sku, &warehouse)? else {
                return Ok(None);
            };
            Ok(Some(Answer {
                value,
                source: AnswerSource::Mirror,
                mirror_age_secs: age(c, Entity::Item)?,
            }))
        })
        .await
    }

    /// The product with its groups and notices from the mirror, with the product mirror's age.
    pub async fn product_by_sku(
        &self,
        sku: &str,
    ) -> Result<Option<Answer<ProductView>>, MirrorError> {
        let sku = sku.to_owned();
        self.read(move |c| {
            let Some(value) = product_row(c, &sku)? else {
                return Ok(None);
            };
            Ok(Some(Answer {
                value,
                source: AnswerSource::Mirror,
                mirror_age_secs: age(c, Entity::Product)?,
            }))
        })
        .await
    }

    /// `GET /v1/items/{sku}`: the online answer when there is one, else the mirror's.
    pub async fn item_online_first(
        &self,
        sku: &str,
        warehouse: &str,
        online: OnlineOutcome<Item>,
    ) -> Result<Option<Answer<ItemView>>, MirrorError> {
        let mirror = match online {
            OnlineOutcome::Unavailable => self.item_by_sku(sku, warehouse).await?,
            _ => None,
        };
        let age = self.read(|c| age(c, Entity::Item)).await?;
        let online = match online {
            OnlineOutcome::Found(item) => {
                OnlineOutcome::Found(ItemView::from_online(&item, warehouse))
            }
            OnlineOutcome::NotFound => OnlineOutcome::NotFound,
            OnlineOutcome::Unavailable => OnlineOutcome::Unavailable,
        };
        Ok(online_or_mirror(online, mirror, age))
    }

    /// `GET /v1/products/{sku}`: the online answer (its groups and notices resolved from the
    /// mirror) when there is one, else the mirror's.
    pub async fn product_online_first(
        &self,
        sku: &str,
        online: OnlineOutcome<Product>,
    ) -> Result<Option<Answer<ProductView>>, MirrorError> {
        match online {
            OnlineOutcome::Unavailable => self.product_by_sku(sku).await,
            OnlineOutcome::NotFound => Ok(None),
            OnlineOutcome::Found(p) => {
                self.read(move |c| {
                    let (groups, notices) = groups_and_notices(c, &p.group_codes, &p.notice_codes)?;
                    Ok(Some(Answer {
                        value: ProductView {
                            sku: p.sku,
                            name: p.name,
                            long_name: p.long_name,
                            description: p.description,
                            base_price: p.base_price,
                            groups,
                            notices,
                        },
                        source: AnswerSource::Online,
                        mirror_age_secs: age(c, Entity::Product)?,
                    }))
                })
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mirrored(v: u32) -> Option<Answer<u32>> {
        Some(Answer {
            value: v,
            source: AnswerSource::Mirror,
            mirror_age_secs: Some(7),
        })
    }

    #[test]
    fn online_answer_wins_and_not_found_is_authoritative() {
        let a = online_or_mirror(OnlineOutcome::Found(1), mirrored(2), Some(7)).unwrap();
        assert_eq!((a.value, a.source), (1, AnswerSource::Online));
        assert_eq!(
            online_or_mirror(OnlineOutcome::NotFound, mirrored(2), None),
            None
        );
        let m = online_or_mirror(OnlineOutcome::Unavailable, mirrored(2), None).unwrap();
        assert_eq!(
            (m.value, m.source, m.mirror_age_secs),
            (2, AnswerSource::Mirror, Some(7))
        );
        assert_eq!(
            online_or_mirror::<u32>(OnlineOutcome::Unavailable, None, None),
            None
        );
    }

    #[test]
    fn answer_serialises_flat_with_decimal_strings() {
        let a = Answer {
            value: ItemView {
                sku: "1".into(),
                name: Some("Mug".into()),
                uom: Some("EA".into()),
                base_price: Some(Decimal::new(999, 2)),
                quantity_available: None,
            },
            source: AnswerSource::Mirror,
            mirror_age_secs: Some(3),
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"sku":"1","name":"Mug","uom":"EA","base_price":"9.99",
                "quantity_available":null,"source":"mirror","mirror_age_secs":3})
        );
    }
}
