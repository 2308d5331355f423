//! Compile-time proof that every secret type wipes its memory when dropped (issue 13 item
//! 12): removing `ZeroizeOnDrop` from one of them stops the build here.

use zeroize::ZeroizeOnDrop;

const fn wipes_on_drop<T: ZeroizeOnDrop + ?Sized>() {}

const _: () = {
    // Register input: full gift-card codes and PINs.
    wipes_on_drop::<crate::api::types::GiftCardCode>();
    wipes_on_drop::<crate::api::types::Pin>();
    // The code key and HMAC key bytes.
    wipes_on_drop::<crate::store::Secrets>();
    // The ZVT password and the POS/API secrets.
    wipes_on_drop::<crate::config::TerminalPassword>();
    wipes_on_drop::<secrecy::SecretString>();
    // Codes on their way to the POS.
    wipes_on_drop::<pos_client::GiftCode>();
    // Reader data: tracks, scanned codes, member ids.
    wipes_on_drop::<cardreader::TrackData>();
    wipes_on_drop::<cardreader::GiftCardCode>();
    wipes_on_drop::<cardreader::MemberId>();
};

/// The codes on the engine's path stay in wiping containers: changing a field's type back
/// to a plain `String` stops the build here.
#[allow(dead_code)]
fn codes_on_the_money_path_wipe(
    p: &crate::store::payments::NewPayment,
    r: &crate::store::refunds::NewRefund,
    opened: Result<zeroize::Zeroizing<String>, crate::store::StoreError>,
) {
    let _: &Option<zeroize::Zeroizing<String>> = &p.code;
    let _: &Option<zeroize::Zeroizing<String>> = &r.code;
    wipes_on_drop::<zeroize::Zeroizing<String>>();
    drop(opened);
}
