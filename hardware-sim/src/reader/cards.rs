//! What the simulated reader can swipe or scan, as the bytes a real reader sends.

/// The only bank-card number the simulator offers: the public Visa test PAN.
pub const TEST_PAN: &str = "4111111111111111";

/// Tracks 1 and 2 of a bank card with [`TEST_PAN`] (expiry 12/30, service code 101), as a
/// one-line serial MSR sends them.
#[must_use]
pub fn bank_card_tracks() -> String {
    format!("%B{TEST_PAN}^TEST/CARD^30121010000000000?;{TEST_PAN}=30121010000000000?")
}

/// Tracks 1 and 2 of a store gift card numbered `code` (digits), as a one-line MSR sends them.
#[must_use]
pub fn gift_card_tracks(code: &str) -> String {
    format!("%B{code}^GIFT/CARD^4912?;{code}=4912?")
}

/// The first half of `tracks`, cut inside a track: what a swipe that was too fast or too
/// slow leaves behind.
#[must_use]
pub fn half_swipe(tracks: &str) -> String {
    let cut = tracks.len() / 2;
    tracks.chars().take(cut.max(1)).collect()
}

/// `len` pseudo-random bytes from `seed`, without CR, LF, STX or ETX, so that they form one
/// unterminated run of garbage (a flood).
#[must_use]
pub fn garbage(len: usize, seed: u64) -> Vec<u8> {
    // xorshift64*: reproducible without pulling an RNG into scripts.
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let byte = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
            match byte {
                b'\r' | b'\n' | 0x02 | 0x03 => b'#',
                other => other,
            }
        })
        .collect()
}
