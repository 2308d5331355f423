//! Persisting the domain's states: their TEXT spelling in SQLite, and the transition check
//! every stored state change goes through (an illegal transition changes nothing).

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rust_decimal::Decimal;

use crate::domain::Money;
pub use crate::domain::state::{OutboxKind, OutboxState, PaymentState, SaleState};

use super::StoreError;

macro_rules! text_state {
    ($($name:ident),+) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = value.as_str()?;
                $name::parse(s).ok_or_else(|| FromSqlError::Other(format!("unknown {} {s:?}", stringify!($name)).into()))
            }
        }
    )+};
}

text_state!(SaleState, PaymentState, OutboxState, OutboxKind);

impl ToSql for Money {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.to_string()))
    }
}

impl FromSql for Money {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = value.as_str()?;
        Decimal::from_str_exact(s)
            .map(Money)
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// Checks a transition, naming the entity in the error.
pub(crate) fn check<S: Copy + std::fmt::Display>(
    entity: &'static str,
    id: &str,
    from: S,
    to: S,
    ok: bool,
) -> Result<(), StoreError> {
    if ok {
        Ok(())
    } else {
        Err(StoreError::IllegalTransition {
            entity,
            id: id.to_owned(),
            from: from.to_string(),
            to: to.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn round_trips_through_sqlite_text() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let m = Money(dec!(0.10));
        let back: Money = c.query_row("SELECT ?1", [m], |r| r.get(0)).unwrap();
        assert_eq!(back, m);
        let kind: String = c.query_row("SELECT typeof(?1)", [m], |r| r.get(0)).unwrap();
        assert_eq!(kind, "text");
    }
}
