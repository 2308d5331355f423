//! The terminal's own receipt lines (ZVT 06 D1 print line / 06 D3 text block) kept per
//! payment, in the order the terminal printed them, so the customer receipt can show them.
//!
//! The terminal masks the card number itself; every line is still masked again here before
//! it is stored: a run of 13 or more digits (spaces and dashes allowed between them) keeps
//! its last 4 digits only, so a terminal that prints a full PAN never puts it in the journal.

use rusqlite::{Connection, params};

use super::{StoreError, now_utc};

/// Shortest digit run treated as a card number (ISO/IEC 7812: 13–19 digits).
const PAN_MIN_DIGITS: usize = 13;

/// `line` with every PAN-like digit run masked to its last 4 digits.
pub fn mask_digit_runs(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run: digits, with single spaces or dashes between digits.
        let mut end = i;
        let mut j = i;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                end = j + 1;
                j += 1;
            } else if (chars[j] == ' ' || chars[j] == '-')
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            {
                j += 1;
            } else {
                break;
            }
        }
        let run = &chars[i..end];
        let digits = run.iter().filter(|c| c.is_ascii_digit()).count();
        if digits >= PAN_MIN_DIGITS {
            let mut seen = 0;
            for &c in run {
                if c.is_ascii_digit() {
                    seen += 1;
                    out.push(if seen > digits - 4 { c } else { '*' });
                } else {
                    out.push(c);
                }
            }
        } else {
            out.extend(run);
        }
        i = end;
    }
    out
}

/// Appends `lines` (masked) to the payment's receipt lines.
pub fn append(c: &Connection, payment_id: &str, lines: &[String]) -> Result<(), StoreError> {
    if lines.is_empty() {
        return Ok(());
    }
    let next: i64 = c
        .prepare_cached(
            "SELECT COALESCE(MAX(seq), 0) FROM payment_receipt_lines WHERE payment_id = ?1",
        )?
        .query_row(params![payment_id], |r| r.get(0))?;
    let at = now_utc();
    let mut stmt = c.prepare_cached(
        "INSERT INTO payment_receipt_lines (payment_id, seq, line, created_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, line) in lines.iter().enumerate() {
        stmt.execute(params![
            payment_id,
            next + 1 + i as i64,
            mask_digit_runs(line),
            at
        ])?;
    }
    Ok(())
}

/// The terminal's receipt lines of a payment, in print order; empty when it printed none.
pub fn receipt_lines(c: &Connection, payment_id: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT line FROM payment_receipt_lines WHERE payment_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![payment_id], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_like_runs_keep_their_last_four() {
        assert_eq!(
            mask_digit_runs("Card VISA 4111111111111111"),
            "Card VISA ************1111"
        );
        assert_eq!(
            mask_digit_runs("PAN 4111 1111 1111 1111 ok"),
            "PAN **** **** **** 1111 ok"
        );
        // What the terminal already masked, and short numbers, stay as they are.
        assert_eq!(
            mask_digit_runs("Card girocard ***************0019"),
            "Card girocard ***************0019"
        );
        assert_eq!(
            mask_digit_runs("Receipt 0001 Trace 000001 USD 12.34"),
            "Receipt 0001 Trace 000001 USD 12.34"
        );
        assert!(!cardreader::pan::contains_luhn_run(&mask_digit_runs(
            "x 6799998900000000019 y"
        )));
    }
}
