//! Classification: gift, member, bank (discarded) and unknown reads; config validation.

use cardreader::track::{LrcMode, parse_swipe};
use cardreader::{
    BANK_CARD_NOTICE, ClassifiedRead, Classifier, ClassifierConfig, ClassifierConfigError, RawRead,
    ReadSource, ScannerFormat, parse_scan,
};

const TEST_PAN: &str = "4111111111111111";

fn classifier() -> Classifier {
    Classifier::new(ClassifierConfig {
        gift_prefixes: vec!["603600".into(), "GC-".into()],
        member_pattern: Some(r"^MEMBER (?P<id>\d{5})$".into()),
        ..ClassifierConfig::default()
    })
    .unwrap()
}

fn swipe(line: &str) -> RawRead {
    RawRead::Swipe(parse_swipe(line.as_bytes(), LrcMode::Auto).unwrap())
}

fn scan(line: &str) -> RawRead {
    RawRead::Scan(parse_scan(line.as_bytes(), &ScannerFormat::default()).unwrap())
}

#[test]
fn gift_cards_by_prefix() {
    match classifier().classify(swipe(";6036001234567890=4912?")) {
        ClassifiedRead::GiftCard { code, source } => {
            assert_eq!(code.expose_secret(), "6036001234567890");
            assert_eq!(source, ReadSource::Swipe);
        }
        other => panic!("{other:?}"),
    }
    match classifier().classify(scan("GC-0001-2345")) {
        ClassifiedRead::GiftCard { code, source } => {
            assert_eq!(code.expose_secret(), "GC-0001-2345");
            assert_eq!(source, ReadSource::Scan);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn gift_prefix_wins_over_an_overlapping_bin() {
    // 6036… lies in a default Maestro-ish range and may be Luhn-valid: the prefix decides.
    let luhn = (0..10)
        .map(|d| format!("603600123456789{d}"))
        .find(|c| cardreader::pan::luhn_valid(c))
        .unwrap();
    let read = classifier().classify(swipe(&format!(";{luhn}=4912?")));
    assert_eq!(read.kind(), "gift-card");
}

#[test]
fn gift_pattern_extracts_the_code_group() {
    let classifier = Classifier::new(ClassifierConfig {
        gift_pattern: Some(r"^GIFT\^?(?P<code>[0-9]{10})".into()),
        ..ClassifierConfig::default()
    })
    .unwrap();
    match classifier.classify(swipe("%GIFT^0123456789^X?")) {
        ClassifiedRead::GiftCard { code, .. } => assert_eq!(code.expose_secret(), "0123456789"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_pattern_without_prefix_never_captures_a_bank_card() {
    let classifier = Classifier::new(ClassifierConfig {
        gift_pattern: Some(r"(?P<code>\d{16})".into()),
        ..ClassifierConfig::default()
    })
    .unwrap();
    let read = classifier.classify(swipe(&format!(";{TEST_PAN}=30121010000000000?")));
    assert_eq!(
        read,
        ClassifiedRead::PaymentCard {
            source: ReadSource::Swipe
        }
    );
}

#[test]
fn bank_cards_are_discarded_with_a_notice() {
    for line in [
        format!("%B{TEST_PAN}^TEST/CARD^30121010000000000?;{TEST_PAN}=30121010000000000?"),
        format!(";{TEST_PAN}=30121010000000000?"),
        format!("%B{TEST_PAN}^TEST/CARD^3012?"),
    ] {
        let read = classifier().classify(swipe(&line));
        assert_eq!(
            read,
            ClassifiedRead::PaymentCard {
                source: ReadSource::Swipe
            }
        );
        assert_eq!(read.notice(), Some(BANK_CARD_NOTICE));
        assert!(!format!("{read:?}").contains("4111"));
    }
    assert_eq!(classifier().classify(scan(TEST_PAN)).kind(), "payment-card");
    assert_eq!(
        classifier().classify(scan("4111 1111 1111 1111")).kind(),
        "payment-card"
    );
    assert_eq!(
        classifier().classify(scan("4111-1111-1111-1111")).kind(),
        "payment-card"
    );
}

#[test]
fn member_cards_and_unknown_reads() {
    match classifier().classify(scan("MEMBER 00042")) {
        ClassifiedRead::MemberCard { id, .. } => assert_eq!(id.expose_secret(), "00042"),
        other => panic!("{other:?}"),
    }
    // Luhn-invalid 16 digits in a BIN range: not a payment card, and not passed on either.
    assert_eq!(
        classifier().classify(scan("4111111111111112")).kind(),
        "unknown"
    );
    // A swipe is never an item.
    assert_eq!(
        classifier().classify(swipe(";1234567=1?")),
        ClassifiedRead::Unknown {
            source: ReadSource::Swipe
        }
    );
    assert_eq!(
        classifier().classify(scan("HELLO WORLD")).kind(),
        "unknown",
        "a space is not a barcode character"
    );
}

#[test]
fn item_barcodes_from_a_scanner() {
    for code in [
        "ITEM-001",
        "4006381333931",
        "036000291452",
        "SKU.42",
        "96385074",
    ] {
        assert_eq!(
            classifier().classify(scan(code)),
            ClassifiedRead::ItemCode { code: code.into() },
            "{code}"
        );
    }
    // An EAN-13 in the Visa range with a wrong GS1 check digit is not an item.
    assert_eq!(
        classifier().classify(scan("4006381333934")).kind(),
        "unknown"
    );
    assert_eq!(
        classifier().classify(scan(&"A".repeat(49))).kind(),
        "unknown"
    );
}

#[test]
fn config_is_validated() {
    let bad = |config: ClassifierConfig| Classifier::new(config).unwrap_err();
    assert!(matches!(
        bad(ClassifierConfig {
            gift_pattern: Some("(".into()),
            ..ClassifierConfig::default()
        }),
        ClassifierConfigError::InvalidPattern {
            field: "gift_pattern",
            ..
        }
    ));
    assert!(matches!(
        bad(ClassifierConfig {
            gift_pattern: Some(r"\d+".into()),
            ..ClassifierConfig::default()
        }),
        ClassifierConfigError::MissingCodeGroup
    ));
    assert!(matches!(
        bad(ClassifierConfig {
            gift_prefixes: vec!["4".into()],
            ..ClassifierConfig::default()
        }),
        ClassifierConfigError::PrefixTooShort { .. }
    ));
    assert!(matches!(
        bad(ClassifierConfig {
            bin_ranges: vec![cardreader::pan::BinRange {
                low: "9".into(),
                high: "1".into()
            }],
            ..ClassifierConfig::default()
        }),
        ClassifierConfigError::BinRange(_)
    ));
}
