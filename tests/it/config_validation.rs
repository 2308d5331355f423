//! Config validation: every rule reports its key path, all problems come at once, and
//! the shipped example config is valid.

use std::path::Path;

use lane_agent::config::{
    self, Config, ConfigError, MemorySource, TerminalTransport, UnknownCardPolicy,
};
use rust_decimal::Decimal;

const EXAMPLE: &str = include_str!("../../config/lane-agent.toml");
const CONFIG_PATH: &str = "/etc/lane-agent/lane-agent.toml";
const SECRET: &str = "/run/credentials/lane-agent.service/pos-client-secret";
const TOKEN: &str = "/run/credentials/lane-agent.service/api-token";
const ZVT: &str = "/run/credentials/lane-agent.service/zvt-password";
const ZVT_LINE: &str = "password_file = \"/run/credentials/lane-agent.service/zvt-password\"";

fn source(text: &str) -> MemorySource {
    MemorySource::new()
        .with_file(CONFIG_PATH, text)
        .with_file(SECRET, "SENTINEL-client\n")
        .with_file(TOKEN, "0123456789abcdef0123\n")
        .with_file(ZVT, "024680\n")
}

fn problems(text: &str) -> Vec<(String, String)> {
    match config::load(&source(text), Path::new(CONFIG_PATH)) {
        Ok(_) => Vec::new(),
        Err(ConfigError::Invalid { problems, .. }) => {
            problems.into_iter().map(|p| (p.path, p.message)).collect()
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn paths(text: &str) -> Vec<String> {
    problems(text).into_iter().map(|(p, _)| p).collect()
}

/// Replaces `from` (which must occur) in the example config.
fn edit(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "example config lacks {from:?}");
    EXAMPLE.replacen(from, to, 1)
}

#[test]
fn the_example_config_is_valid_and_typed() {
    let loaded = config::load(&source(EXAMPLE), Path::new(CONFIG_PATH)).expect("valid");
    let c = &loaded.config;
    assert_eq!(c.lane.register_code, "LANE01");
    assert_eq!(c.lane.warehouse_code, "MAIN");
    assert_eq!(c.pos.issuer_url, "https://pos.example.com/");
    assert_eq!(c.pos.request_timeout.as_millis(), 10_000);
    assert_eq!(c.api.listen.to_string(), "127.0.0.1:7311");
    assert!(c.api.permissions.giftcard_edit);
    assert!(!c.api.permissions.giftcard_replace_code, "off by default");
    assert_eq!(
        c.terminal.transport,
        TerminalTransport::Tcp {
            address: "127.0.0.1:20007".into()
        }
    );
    assert_eq!(c.terminal.t4.as_secs(), 180);
    assert_eq!(c.readers.len(), 1);
    assert_eq!(c.readers[0].kind.as_str(), "serial-msr");
    assert_eq!(c.offline.max_transaction_amount, Decimal::new(5000, 2));
    assert_eq!(c.offline.max_age.as_secs(), 24 * 3600);
    assert_eq!(c.offline.unknown_card, UnknownCardPolicy::Refuse);
    assert_eq!(c.giftcard.extract("6036281111"), Some("6036281111"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    // The pure stage alone accepts it too.
    Config::validate(config::parse(EXAMPLE).unwrap()).expect("valid without files");
}

#[test]
fn each_broken_value_is_reported_at_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "store_code = \"DALLAS\"",
            "store_code = \"\"",
            "lane.store_code",
        ),
        (
            "register_code = \"LANE01\"",
            "register_code = \"LANE 01\"",
            "lane.register_code",
        ),
        (
            "warehouse_code = \"MAIN\"",
            "warehouse_code = \"MAIN STORE\"",
            "lane.warehouse_code",
        ),
        (
            "warehouse_code = \"MAIN\"",
            "warehouse_code = \"\"",
            "lane.warehouse_code",
        ),
        (
            "graphql_url = \"https://pos.example.com/api/graphql\"",
            "graphql_url = \"not a url\"",
            "pos.graphql_url",
        ),
        (
            "graphql_url = \"https://pos.example.com/api/graphql\"",
            "graphql_url = \"http://pos.example.com/api\"",
            "pos.graphql_url",
        ),
        (
            "graphql_url = \"https://pos.example.com/api/graphql\"",
            "graphql_url = \"ftp://pos.example.com/\"",
            "pos.graphql_url",
        ),
        (
            "issuer_url = \"https://pos.example.com/\"",
            "issuer_url = \"https://pos.example.com/?a=b\"",
            "pos.issuer_url",
        ),
        (
            "client_id = \"lane-agent\"",
            "client_id = \" \"",
            "pos.client_id",
        ),
        (
            "client_secret_file = \"/run/credentials/lane-agent.service/pos-client-secret\"",
            "client_secret_file = \"secret.txt\"",
            "pos.client_secret_file",
        ),
        (
            "request_timeout_ms = 10000",
            "request_timeout_ms = 0",
            "pos.request_timeout_ms",
        ),
        (
            "request_timeout_ms = 10000",
            "request_timeout_ms = \"10000\"",
            "pos.request_timeout_ms",
        ),
        (
            "listen = \"127.0.0.1:7311\"",
            "listen = \"0.0.0.0:7311\"",
            "api.listen",
        ),
        (
            "listen = \"127.0.0.1:7311\"",
            "listen = \"localhost\"",
            "api.listen",
        ),
        (
            "token_file = \"/run/credentials/lane-agent.service/api-token\"",
            "token_file = \"api-token\"",
            "api.token_file",
        ),
        (
            "# max_body_bytes = 65536",
            "max_body_bytes = 10",
            "api.max_body_bytes",
        ),
        (
            "path = \"/var/lib/lane-agent/agent.db\"",
            "path = \"agent.db\"",
            "store.path",
        ),
        (
            "protocol = \"zvt\"",
            "protocol = \"opi\"",
            "terminal.protocol",
        ),
        (
            "transport = \"tcp\" ",
            "transport = \"usb\" ",
            "terminal.transport",
        ),
        (
            "address = \"127.0.0.1:20007\"",
            "address = \"127.0.0.1\"",
            "terminal.address",
        ),
        ("# baud = 9600", "baud = 9600", "terminal.baud"),
        (ZVT_LINE, "password = \"12345\"", "terminal.password"),
        (ZVT_LINE, "password = \"12345a\"", "terminal.password"),
        ("t4_ms = 180000", "t4_ms = 4000", "terminal.t4_ms"),
        (
            "kind = \"serial-msr\"",
            "kind = \"usb-msr\"",
            "reader[0].kind",
        ),
        (
            "device = \"/dev/lane/msr\"",
            "device = \"dev/lane/msr\"",
            "reader[0].device",
        ),
        (
            "max_transaction_amount = \"50.00\"",
            "max_transaction_amount = \"-5\"",
            "offline.max_transaction_amount",
        ),
        (
            "max_transaction_amount = \"50.00\"",
            "max_transaction_amount = \"5.001\"",
            "offline.max_transaction_amount",
        ),
        (
            "max_transaction_amount = \"50.00\"",
            "max_transaction_amount = \"fifty\"",
            "offline.max_transaction_amount",
        ),
        (
            "max_transaction_amount = \"50.00\"",
            "max_transaction_amount = 50.0",
            "offline.max_transaction_amount",
        ),
        (
            "max_transaction_amount = \"50.00\"",
            "max_transaction_amount = \"600.00\"",
            "offline.max_transaction_amount",
        ),
        ("max_count = 100", "max_count = 0", "offline.max_count"),
        (
            "max_age_hours = 24",
            "max_age_hours = 0",
            "offline.max_age_hours",
        ),
        (
            "max_age_hours = 24",
            "max_age_hours = 100",
            "offline.max_age_hours",
        ),
        (
            "unknown_card = \"refuse\"",
            "unknown_card = \"maybe\"",
            "offline.unknown_card",
        ),
        (
            "unknown_card = \"refuse\"",
            "unknown_card = \"limit\"",
            "offline.unknown_card_max_amount",
        ),
        (
            "unknown_card = \"refuse\"",
            "unknown_card = \"limit\"\nunknown_card_max_amount = \"60.00\"",
            "offline.unknown_card_max_amount",
        ),
        (
            "unknown_card = \"refuse\"",
            "unknown_card = \"refuse\"\nunknown_card_max_amount = \"5.00\"",
            "offline.unknown_card_max_amount",
        ),
        (
            "prefixes = [\"603628\"]",
            "prefixes = [\"60-36\"]",
            "giftcard.prefixes[0]",
        ),
        (
            "# pattern = '^;?(?<code>\\d{16,19})'",
            "pattern = '^;?(\\d{16,19})'",
            "giftcard.pattern",
        ),
        (
            "# pattern = '^;?(?<code>\\d{16,19})'",
            "pattern = '(?<code>['",
            "giftcard.pattern",
        ),
        (
            "giftcard_edit = true",
            "giftcard_edit = \"yes\"",
            "api.permissions.giftcard_edit",
        ),
        (
            "# giftcard_replace_code = false",
            "giftcard_replace_code = 1",
            "api.permissions.giftcard_replace_code",
        ),
        ("[store]", "[stores]", "stores"),
        (
            "max_count = 100",
            "max_count = 100\nmax_cnt = 3",
            "offline.max_cnt",
        ),
    ];
    for (from, to, path) in cases {
        let found = paths(&edit(from, to));
        assert!(
            found.iter().any(|p| p == path),
            "{from:?} -> {to:?}: expected a problem at {path}, got {found:?}"
        );
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = EXAMPLE
        .replacen("register_code = \"LANE01\"", "register_code = \"\"", 1)
        .replacen("request_timeout_ms = 10000", "request_timeout_ms = 0", 1)
        .replacen(
            "listen = \"127.0.0.1:7311\"",
            "listen = \"10.0.0.5:7311\"",
            1,
        )
        .replacen(ZVT_LINE, "password = \"1\"", 1)
        .replacen(
            "max_total_amount = \"500.00\"",
            "max_total_amount = \"0\"",
            1,
        )
        .replacen("kind = \"serial-msr\"", "kind = \"magic\"", 1)
        + "\n[[reader]]\nname = \"msr\"\nkind = \"hid-wedge\"\ndevice = \"/dev/input/event3\"\nbaud = 9600\n";
    let found = paths(&text);
    for expected in [
        "lane.register_code",
        "pos.request_timeout_ms",
        "api.listen",
        "terminal.password",
        "reader[0].kind",
        "offline.max_total_amount",
        "reader[1].name",
        "reader[1].baud",
    ] {
        assert!(
            found.iter().any(|p| p == expected),
            "missing {expected} in {found:?}"
        );
    }
}

#[test]
fn a_key_of_the_wrong_type_does_not_hide_the_other_keys_of_its_section() {
    let text = EXAMPLE
        .replacen("request_timeout_ms = 10000", "request_timeout_ms = -5", 1)
        .replacen(
            "graphql_url = \"https://pos.example.com/api/graphql\"",
            "graphql_url = \"not a url\"",
            1,
        )
        .replacen(
            SECRET,
            "/run/credentials/lane-agent.service/missing-secret",
            1,
        );
    let found = paths(&text);
    for expected in [
        "pos.request_timeout_ms",
        "pos.graphql_url",
        "pos.client_secret_file",
    ] {
        assert!(
            found.iter().any(|p| p == expected),
            "missing {expected} in {found:?}"
        );
    }
    assert_eq!(found.len(), 3, "nothing else, once each: {found:?}");
}

#[test]
fn shape_problems_in_several_sections_are_all_reported_with_lines() {
    let text = EXAMPLE
        .replacen("store_code = \"DALLAS\"", "store_code = 7", 1)
        .replacen("max_count = 100", "max_count = \"many\"", 1)
        .replacen("[giftcard]", "[giftcard]\ncolour = \"red\"", 1);
    let err = config::load(&source(&text), Path::new(CONFIG_PATH)).unwrap_err();
    let problems = err.problems();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        ["lane.store_code", "offline.max_count", "giftcard.colour"]
    );
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(
        problems[0].location.unwrap().line,
        line_of("store_code = 7")
    );
    assert_eq!(problems[2].location.unwrap().line, line_of("colour"));
}

#[test]
fn missing_sections_and_keys_are_named() {
    let found = paths("[lane]\nstore_code = \"X\"\n");
    for expected in ["lane.register_code", "pos", "api", "store", "terminal"] {
        assert!(
            found.iter().any(|p| p == expected),
            "missing {expected} in {found:?}"
        );
    }
}

#[test]
fn syntax_errors_carry_line_column_and_key() {
    let text = edit("max_count = 100", "max_count = = 100");
    let err = config::load(&source(&text), Path::new(CONFIG_PATH)).unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(p.path, "offline.max_count");
    let line = text.lines().position(|l| l.contains("= = 100")).unwrap() + 1;
    assert_eq!(p.location.unwrap().line, line);
    assert!(
        p.to_string().contains(&format!("line {line}, column ")),
        "{p}"
    );
}

#[test]
fn remote_listen_is_allowed_only_explicitly_and_then_warned_about() {
    let text = edit(
        "listen = \"127.0.0.1:7311\"",
        "listen = \"0.0.0.0:7311\"\nallow_remote = true",
    );
    let loaded = config::load(&source(&text), Path::new(CONFIG_PATH)).expect("allowed");
    assert!(loaded.warnings.iter().any(|w| w.path == "api.listen"));
}

#[test]
fn plain_http_is_accepted_only_for_loopback_simulators() {
    let text = edit(
        "graphql_url = \"https://pos.example.com/api/graphql\"",
        "graphql_url = \"http://127.0.0.1:8080/graphql\"",
    )
    .replacen(
        "issuer_url = \"https://pos.example.com/\"",
        "issuer_url = \"http://localhost:8080\"",
        1,
    );
    let loaded = config::load(&source(&text), Path::new(CONFIG_PATH)).expect("valid");
    // Kept verbatim: no trailing slash is added.
    assert_eq!(loaded.config.pos.issuer_url, "http://localhost:8080");
    assert_eq!(
        loaded.config.pos.discovery_url(),
        "http://localhost:8080/.well-known/openid-configuration"
    );
}

#[test]
fn serial_terminal_and_limit_policy_are_typed() {
    let text = edit("transport = \"tcp\" ", "transport = \"serial\" ")
        .replacen(
            "address = \"127.0.0.1:20007\"",
            "device = \"/dev/lane/terminal\"\nbaud = 115200",
            1,
        )
        .replacen(
            "unknown_card = \"refuse\"",
            "unknown_card = \"limit\"\nunknown_card_max_amount = \"20\"",
            1,
        );
    let loaded = config::load(&source(&text), Path::new(CONFIG_PATH)).expect("valid");
    assert_eq!(
        loaded.config.terminal.transport,
        TerminalTransport::Serial {
            device: "/dev/lane/terminal".into(),
            baud: 115_200
        }
    );
    assert_eq!(
        loaded.config.offline.unknown_card,
        UnknownCardPolicy::Limit {
            max_amount: Decimal::new(20, 0)
        }
    );
    // Serial transport without a device is a problem at terminal.device.
    let no_device = edit("transport = \"tcp\" ", "transport = \"serial\" ").replacen(
        "address = \"127.0.0.1:20007\"",
        "",
        1,
    );
    assert_eq!(paths(&no_device), ["terminal.device"]);
}

#[test]
fn offline_disabled_needs_no_caps() {
    let start = EXAMPLE.find("[offline]").unwrap();
    let end = EXAMPLE.find("[giftcard]").unwrap();
    let text = format!(
        "{}[offline]\nenabled = false\n\n{}",
        &EXAMPLE[..start],
        &EXAMPLE[end..]
    );
    let loaded = config::load(&source(&text), Path::new(CONFIG_PATH)).expect("valid");
    assert!(!loaded.config.offline.enabled);
    assert_eq!(loaded.config.offline.max_total_amount, Decimal::ZERO);
}

#[test]
fn secret_files_must_be_private_present_and_non_empty() {
    let src = MemorySource::new()
        .with_file(CONFIG_PATH, EXAMPLE)
        .with_mode(SECRET, "SENTINEL-client", 0o644)
        .with_file(TOKEN, "shrt-TOKEN");
    let err = config::load(&src, Path::new(CONFIG_PATH)).unwrap_err();
    let problems = err.problems();
    let secret = problems
        .iter()
        .find(|p| p.path == "pos.client_secret_file")
        .expect("secret problem");
    assert!(secret.message.contains("0644"), "{}", secret.message);
    let token = problems
        .iter()
        .find(|p| p.path == "api.token_file")
        .expect("token problem");
    assert!(token.message.contains("at least 16"), "{}", token.message);
    for p in &problems {
        assert!(
            !p.message.contains("SENTINEL") && !p.message.contains("shrt-TOKEN"),
            "leaked: {p}"
        );
    }

    let missing = MemorySource::new()
        .with_file(CONFIG_PATH, EXAMPLE)
        .with_file(TOKEN, "0123456789abcdef");
    let err = config::load(&missing, Path::new(CONFIG_PATH)).unwrap_err();
    assert_eq!(err.problems()[0].path, "pos.client_secret_file");

    let empty = source(EXAMPLE).with_file(SECRET, "\n");
    let err = config::load(&empty, Path::new(CONFIG_PATH)).unwrap_err();
    assert!(err.problems()[0].message.contains("must not be empty"));
}

#[test]
fn secret_problems_are_reported_together_with_other_problems() {
    let text = edit("request_timeout_ms = 10000", "request_timeout_ms = 0");
    let src = source(&text).with_mode(TOKEN, "0123456789abcdef0123", 0o640);
    let err = config::load(&src, Path::new(CONFIG_PATH)).unwrap_err();
    let paths: Vec<String> = err.problems().into_iter().map(|p| p.path).collect();
    assert!(
        paths.contains(&"pos.request_timeout_ms".to_owned()),
        "{paths:?}"
    );
    assert!(paths.contains(&"api.token_file".to_owned()), "{paths:?}");
}

#[test]
fn secrets_are_trimmed_and_redacted_in_debug() {
    use secrecy::ExposeSecret;
    let loaded = config::load(&source(EXAMPLE), Path::new(CONFIG_PATH)).unwrap();
    assert_eq!(
        loaded.secrets.pos_client_secret.expose_secret(),
        "SENTINEL-client"
    );
    let debug = format!("{loaded:?}");
    assert!(
        !debug.contains("SENTINEL") && !debug.contains("0123456789abcdef"),
        "{debug}"
    );
}

#[test]
fn shape_and_value_problems_in_different_sections_come_together() {
    let text = edit("max_count = 100", "max_count = 100\nmax_cnt = 3").replacen(
        "request_timeout_ms = 10000",
        "request_timeout_ms = 0",
        1,
    );
    // The broken [offline] section adds no misleading "is required" problems.
    assert_eq!(paths(&text), ["pos.request_timeout_ms", "offline.max_cnt"]);
}

#[test]
fn warehouse_code_defaults_to_main_and_is_kept_as_written() {
    let without = edit(
        "warehouse_code = \"MAIN\"          # POS warehouse for item price/stock (default MAIN)\n",
        "",
    );
    let c = Config::validate(config::parse(&without).unwrap()).expect("valid");
    assert_eq!(c.lane.warehouse_code, "MAIN");
    let other = edit("warehouse_code = \"MAIN\"", "warehouse_code = \"WH-2\"");
    let c = Config::validate(config::parse(&other).unwrap()).expect("valid");
    assert_eq!(c.lane.warehouse_code, "WH-2");
    assert_eq!(c.lane.store_code, "DALLAS");
}

#[test]
fn giftcard_code_replacement_is_granted_only_explicitly() {
    let text = edit(
        "# giftcard_replace_code = false",
        "giftcard_replace_code = true",
    );
    let loaded = config::load(&source(&text), Path::new(CONFIG_PATH)).expect("valid");
    assert!(loaded.config.api.permissions.giftcard_replace_code);
    assert!(loaded.config.api.permissions.giftcard_edit);
}

/// Issue 13 item 7: the ZVT password comes from a private file (or credential); the inline
/// key still works with a warning; both at once, neither, or a bad file are named.
#[test]
fn the_terminal_password_comes_from_a_private_file() {
    let loaded = config::load(&source(EXAMPLE), Path::new(CONFIG_PATH)).expect("valid");
    assert_eq!(loaded.config.terminal.password.bcd(), [0x02, 0x46, 0x80]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert!(!format!("{loaded:?}").contains("024680"));

    let inline = edit(ZVT_LINE, "password = \"135790\"");
    let loaded = config::load(&source(&inline), Path::new(CONFIG_PATH)).expect("valid");
    assert_eq!(loaded.config.terminal.password.bcd(), [0x13, 0x57, 0x90]);
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.path == "terminal.password"),
        "{:?}",
        loaded.warnings
    );

    let both = edit(ZVT_LINE, &format!("{ZVT_LINE}\npassword = \"135790\""));
    assert!(paths(&both).contains(&"terminal.password_file".to_owned()));
    let neither = edit(ZVT_LINE, "");
    assert!(paths(&neither).contains(&"terminal.password_file".to_owned()));

    let bad = MemorySource::new()
        .with_file(CONFIG_PATH, EXAMPLE)
        .with_file(SECRET, "SENTINEL-client\n")
        .with_file(TOKEN, "0123456789abcdef0123\n")
        .with_file(ZVT, "12ab56\n");
    match config::load(&bad, Path::new(CONFIG_PATH)) {
        Err(ConfigError::Invalid { problems, .. }) => {
            assert!(problems.iter().any(|p| p.path == "terminal.password_file"));
            assert!(problems.iter().all(|p| !p.message.contains("12ab56")));
        }
        other => panic!("accepted a bad password file: {:?}", other.map(|_| ())),
    }
    let missing = MemorySource::new()
        .with_file(CONFIG_PATH, EXAMPLE)
        .with_file(SECRET, "SENTINEL-client\n")
        .with_file(TOKEN, "0123456789abcdef0123\n");
    assert!(config::load(&missing, Path::new(CONFIG_PATH)).is_err());
}

/// Issue 12: `[lane] currency` (ISO 4217 letters, default EUR) and `[terminal] end_of_day_at`.
#[test]
fn currency_and_end_of_day_time_are_checked_up_front() {
    let load = |text: &str| {
        config::load(&source(text), Path::new(CONFIG_PATH))
            .expect("valid")
            .config
    };
    // The example says USD; the terminal is registered in its number.
    let c = load(EXAMPLE);
    assert_eq!(
        (c.lane.currency.alpha, c.lane.currency.numeric),
        ("USD", 840)
    );
    assert_eq!(c.terminal.currency, 840);
    assert_eq!(c.terminal.end_of_day_at, None);
    // A config without the key keeps EUR.
    let c = load(&edit("currency = \"USD\"", ""));
    assert_eq!((c.lane.currency.alpha, c.terminal.currency), ("EUR", 978));
    let c = load(&edit("currency = \"USD\"", "currency = \"gbp\""));
    assert_eq!(c.terminal.currency, 826);
    let c = load(&edit("currency = \"USD\"", "currency = \"CHF\""));
    assert_eq!(c.terminal.currency, 756);
    // JPY has no minor unit (its amounts reach BMP 04 as yen); unknown codes are refused.
    let c = load(&edit("currency = \"USD\"", "currency = \"JPY\""));
    assert_eq!((c.lane.currency.minor_units, c.terminal.currency), (0, 392));
    let p = problems(&edit("currency = \"USD\"", "currency = \"XYZ\""));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "lane.currency");
    assert!(
        p[0].1.contains("unknown ISO 4217 currency code \"XYZ\""),
        "{p:?}"
    );
    assert!(p[0].1.contains("USD"), "the known codes are listed: {p:?}");
    // The daily end of day: "HH:MM" (or with seconds), else a problem with its key path.
    let c = load(&edit(
        "t3_ms = 5000",
        "t3_ms = 5000\nend_of_day_at = \"22:30\"",
    ));
    assert_eq!(
        c.terminal.end_of_day_at,
        chrono::NaiveTime::from_hms_opt(22, 30, 0)
    );
    let p = problems(&edit(
        "t3_ms = 5000",
        "t3_ms = 5000\nend_of_day_at = \"25:00\"",
    ));
    assert_eq!(paths_of(&p), ["terminal.end_of_day_at"]);
    let p = problems(&edit(
        "t3_ms = 5000",
        "t3_ms = 5000\nend_of_day_at = \"10pm\"",
    ));
    assert_eq!(paths_of(&p), ["terminal.end_of_day_at"]);
}

fn paths_of(p: &[(String, String)]) -> Vec<&str> {
    p.iter().map(|(k, _)| k.as_str()).collect()
}
