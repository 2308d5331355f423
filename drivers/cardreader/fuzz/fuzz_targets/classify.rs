#![no_main]
//! Lines through parse + classify as the agent does it: never a panic.

use std::sync::OnceLock;

use cardreader::track::{LrcMode, parse_swipe};
use cardreader::{Classifier, ClassifierConfig, RawRead, ScannerFormat, parse_scan};
use libfuzzer_sys::fuzz_target;

fn classifier() -> &'static Classifier {
    static CLASSIFIER: OnceLock<Classifier> = OnceLock::new();
    CLASSIFIER.get_or_init(|| {
        Classifier::new(ClassifierConfig {
            gift_prefixes: vec!["603600".into()],
            member_pattern: Some(r"^M(?P<id>\d{5,10})$".into()),
            ..ClassifierConfig::default()
        })
        .expect("valid fuzz config")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(swipe) = parse_swipe(data, LrcMode::Auto) {
        let _ = classifier().classify(RawRead::Swipe(swipe));
    }
    if let Ok(code) = parse_scan(data, &ScannerFormat::default()) {
        let _ = classifier().classify(RawRead::Scan(code));
    }
});
