//! TOML text to [`RawConfig`], reporting every structural problem rather than the first.
//!
//! A plain `toml::from_str::<RawConfig>` stops at the first unknown key or wrong type.
//! To report them all, the document is parsed once into a spanned tree and each
//! section (and each `[[reader]]`) is deserialized on its own; the spans give line and
//! column, `serde_path_to_error` gives the key path inside a section.

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::problem::ConfigProblem;
use super::raw::RawConfig;

const SECTIONS: &[&str] = &[
    "lane", "pos", "api", "store", "terminal", "reader", "offline", "giftcard", "member",
];

/// Parses the text of a config file, collecting every syntax and shape problem.
pub fn parse(text: &str) -> Result<RawConfig, Vec<ConfigProblem>> {
    let parsed = parse_lenient(text)?;
    if parsed.problems.is_empty() {
        Ok(parsed.raw)
    } else {
        Err(parsed.problems)
    }
}

/// A parse that got past the syntax: the sections that had the right shape, and the
/// problems of the ones that did not.
pub(super) struct Lenient {
    pub raw: RawConfig,
    pub problems: Vec<ConfigProblem>,
    /// What was left out of `raw` because of its problems: key paths (`pos.request_timeout_ms`)
    /// or whole sections (`reader`).
    pub failed: Vec<String>,
}

/// Like [`parse`], but keeps the well-formed sections so they can still be validated;
/// `Err` only for syntax errors.
pub(super) fn parse_lenient(text: &str) -> Result<Lenient, Vec<ConfigProblem>> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        // After a syntax error the recovered tree is a guess; its shape problems would
        // only add noise, so report the syntax errors alone.
        return Err(errors
            .iter()
            .map(|e| {
                let offset = e.span().map_or(0, |s| s.start);
                ConfigProblem::new(
                    enclosing_key_path(text, offset),
                    format!("TOML syntax error: {}", e.message()),
                )
                .at_offset(text, offset)
            })
            .collect());
    }

    let mut raw = RawConfig::default();
    let mut problems = Vec::new();
    let mut failed = Vec::new();
    for (key, value) in doc.get_ref().iter() {
        let name: &str = key.get_ref();
        // A section keeps its good keys when some are wrong; `failed` names what was left
        // out (a key path, or a whole section) so that validation does not also call it
        // missing.
        macro_rules! take {
            ($field:ident) => {
                match section(text, name, value) {
                    Ok(v) => {
                        raw.$field = Some(v);
                        Ok(())
                    }
                    Err(k) => {
                        raw.$field = k.rest;
                        Err((k.problems, k.bad_keys))
                    }
                }
            };
        }
        let result = match name {
            "lane" => take!(lane),
            "pos" => take!(pos),
            "api" => take!(api),
            "store" => take!(store),
            "terminal" => take!(terminal),
            "offline" => take!(offline),
            "giftcard" => take!(giftcard),
            "member" => take!(member),
            "reader" => readers(text, value)
                .map(|v| raw.reader = v)
                .map_err(|p| (p, vec![name.to_owned()])),
            other => Err((
                vec![
                    ConfigProblem::new(
                        other,
                        format!(
                            "unknown section `{other}`; expected one of: {}",
                            SECTIONS.join(", ")
                        ),
                    )
                    .at_offset(text, key.span().start),
                ],
                vec![other.to_owned()],
            )),
        };
        if let Err((mut found, mut left_out)) = result {
            problems.append(&mut found);
            failed.append(&mut left_out);
        }
    }
    problems.sort_by_key(|p| p.location.map(|l| (l.line, l.column)));
    Ok(Lenient {
        raw,
        problems,
        failed,
    })
}

/// A section that did not deserialize as a whole: the problem of each bad key, and the
/// section built from its good keys (so their own rules are still checked).
struct KeyProblems<T> {
    problems: Vec<ConfigProblem>,
    bad_keys: Vec<String>,
    rest: Option<T>,
}

fn section<T: DeserializeOwned>(
    text: &str,
    name: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<T, KeyProblems<T>> {
    let whole = match deserialize(text, name, value) {
        Ok(v) => return Ok(v),
        Err(p) => p,
    };
    let DeValue::Table(table) = value.get_ref() else {
        return Err(KeyProblems {
            problems: vec![whole],
            bad_keys: vec![name.to_owned()],
            rest: None,
        });
    };
    // One wrong key must not hide the problems of the others: try each key alone.
    let mut good = DeTable::new();
    let mut problems = Vec::new();
    let mut bad_keys = Vec::new();
    for (key, item) in table.iter() {
        let mut alone = DeTable::new();
        alone.insert(key.clone(), item.clone());
        let alone = Spanned::new(value.span(), DeValue::Table(alone));
        match deserialize::<T>(text, name, &alone) {
            Ok(_) => {
                good.insert(key.clone(), item.clone());
            }
            Err(p) => {
                bad_keys.push(format!("{name}.{}", key.get_ref()));
                problems.push(p);
            }
        }
    }
    let rest = deserialize(
        text,
        name,
        &Spanned::new(value.span(), DeValue::Table(good)),
    )
    .ok();
    if problems.is_empty() {
        // Only the combination failed: report it as the section's problem.
        problems.push(whole);
        bad_keys.push(name.to_owned());
    }
    Err(KeyProblems {
        problems,
        bad_keys,
        rest,
    })
}

fn readers(
    text: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<Vec<super::raw::RawReader>, Vec<ConfigProblem>> {
    let DeValue::Array(items) = value.get_ref() else {
        return Err(vec![
            ConfigProblem::new(
                "reader",
                "expected an array of tables written as [[reader]]",
            )
            .at_offset(text, value.span().start),
        ]);
    };
    let mut readers = Vec::new();
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match deserialize(text, &format!("reader[{i}]"), item) {
            Ok(r) => readers.push(r),
            Err(p) => problems.push(p),
        }
    }
    if problems.is_empty() {
        Ok(readers)
    } else {
        Err(problems)
    }
}

fn deserialize<T: DeserializeOwned>(
    text: &str,
    prefix: &str,
    value: &Spanned<DeValue<'_>>,
) -> Result<T, ConfigProblem> {
    let de = ValueDeserializer::from(value.clone());
    serde_path_to_error::deserialize(de).map_err(|err| {
        let inner_path = err.path().to_string();
        let inner = err.inner();
        let message = friendlier(inner.message());
        let mut path = prefix.to_owned();
        if inner_path != "." {
            path.push('.');
            path.push_str(&inner_path);
        }
        // Name an unknown field itself, not only its table.
        if let Some(field) = unknown_field(inner.message())
            && !path.ends_with(&format!(".{field}"))
        {
            path.push('.');
            path.push_str(field);
        }
        let offset = inner.span().map_or(value.span().start, |s| s.start);
        ConfigProblem::new(path, message).at_offset(text, offset)
    })
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn friendlier(message: &str) -> String {
    let message = message.trim_end();
    if message.starts_with("invalid type") && message.ends_with("expected a string") {
        return format!("{message} (quote it, e.g. \"50.00\")");
    }
    message.to_owned()
}

/// Best-effort key path for a syntax error: the last `[table]` header above the error
/// and the key on the error's line.
fn enclosing_key_path(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let mut table = String::new();
    let mut line_start = 0;
    for (start, line) in line_starts(text) {
        if start > offset {
            break;
        }
        line_start = start;
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            table = trimmed
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_owned();
        }
    }
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or("");
    match (table.is_empty(), key.is_empty()) {
        (_, true) => table,
        (true, false) => key.to_owned(),
        (false, false) => format!("{table}.{key}"),
    }
}

/// Byte offset of the line that sets `path` (e.g. `pos.client_id`, `reader[1].kind`),
/// or of its table header when the key is absent; used to give validation problems a
/// line number.
pub fn locate(text: &str, path: &str) -> Option<usize> {
    let (table, key) = match path.split_once('.') {
        Some((t, k)) => (t, Some(k.split(['.', '[']).next().unwrap_or(k))),
        None => (path, None),
    };
    let (name, index) = match table.split_once('[') {
        Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
        None => (table, None),
    };
    let mut in_table = false;
    let mut seen = 0usize;
    let mut header = None;
    for (start, line) in line_starts(text) {
        let t = line.trim();
        if t.starts_with('[') {
            if in_table {
                break;
            }
            let inner = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            if inner == name {
                if index.is_none_or(|i| i == seen) {
                    in_table = true;
                    header = Some(start);
                }
                seen += 1;
            }
            continue;
        }
        if in_table
            && let Some(key) = key
            && t.split_once('=').is_some_and(|(k, _)| k.trim() == key)
        {
            return Some(start + (line.len() - line.trim_start().len()));
        }
    }
    header
}

fn line_starts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    text.split_inclusive('\n').map(move |line| {
        let this = start;
        start += line.len();
        (this, line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_the_table_and_key() {
        let text = "[pos]\nclient_id = \"a\"\nrequest_timeout_ms = = 3\n";
        let problems = parse(text).unwrap_err();
        assert_eq!(problems[0].path, "pos.request_timeout_ms");
        assert_eq!(problems[0].location.unwrap().line, 3);
    }

    #[test]
    fn every_section_reports_its_own_shape_problem() {
        let text = "[lane]\nstore_kode = \"X\"\n[pos]\nrequest_timeout_ms = \"10\"\n\
                    [[reader]]\nname = \"a\"\n[[reader]]\nkind = 3\n[extra]\n";
        let problems = parse(text).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "lane.store_kode",
                "pos.request_timeout_ms",
                "reader[1].kind",
                "extra"
            ]
        );
        assert_eq!(problems[0].location.unwrap().line, 2);
    }

    #[test]
    fn locate_finds_keys_and_reader_tables() {
        let text =
            "[pos]\nclient_id = \"a\"\n[[reader]]\nname = \"x\"\n[[reader]]\n  kind = \"y\"\n";
        assert_eq!(locate(text, "pos.client_id"), Some(6));
        let off = locate(text, "reader[1].kind").unwrap();
        assert!(text[off..].starts_with("kind"));
        assert_eq!(
            locate(text, "reader[1].device"),
            text.find("[[reader]]\n  kind")
        );
        assert_eq!(locate(text, "store.path"), None);
    }
}
