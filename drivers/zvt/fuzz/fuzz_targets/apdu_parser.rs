//! APDU and message decoding never panics, and whatever decodes re-encodes to something
//! that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zvt::Apdu;
use zvt::command::{EcrMessage, PtMessage};

fuzz_target!(|data: &[u8]| {
    let Ok(apdu) = Apdu::decode(data) else { return };
    assert_eq!(apdu.to_vec(), data);
    if let Ok(m) = PtMessage::from_apdu(&apdu) {
        let again = m.to_apdu().expect("a decoded message encodes");
        assert_eq!(
            PtMessage::from_apdu(&again).expect("re-encoded message decodes"),
            m
        );
    }
    if let Ok(m) = EcrMessage::from_apdu(&apdu) {
        let again = m.to_apdu().expect("a decoded message encodes");
        assert_eq!(
            EcrMessage::from_apdu(&again).expect("re-encoded message decodes"),
            m
        );
    }
});
