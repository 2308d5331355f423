//! Secrets at rest: a key file beside the database, an AEAD for gift-card codes that must
//! outlive a request (offline forwards, re-authorizations) and a keyed hash for lookups.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::StoreError;

const KEY_LEN: usize = 64;

/// The lane's local secret key: 32 bytes for XChaCha20-Poly1305, 32 for HMAC-SHA256.
///
/// `Debug` never prints key material.
pub struct Secrets {
    // Raw key bytes, wiped on drop; the cipher is built per call (cheap) because the
    // chacha20poly1305 build here has no zeroize feature for a long-lived cipher state.
    aead_key: [u8; 32],
    mac_key: [u8; 32],
}

impl Drop for Secrets {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.aead_key);
        zeroize::Zeroize::zeroize(&mut self.mac_key);
    }
}

impl zeroize::ZeroizeOnDrop for Secrets {}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

impl Secrets {
    /// The key file used for a database path: `<db>.key`.
    pub fn key_path(db: &Path) -> PathBuf {
        let mut p = db.as_os_str().to_owned();
        p.push(".key");
        PathBuf::from(p)
    }

    /// Loads the key file, creating it (mode 0600) when absent.
    ///
    /// A key file with group/other permission bits or the wrong length is refused, because a
    /// leaked or truncated key silently breaks the confidentiality of stored codes.
    pub fn load_or_create(path: &Path) -> Result<Secrets, StoreError> {
        match Self::load(path)? {
            Some(s) => Ok(s),
            None => Self::create(path),
        }
    }

    /// Loads the key file; `None` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Secrets>, StoreError> {
        match fs::read(path) {
            Ok(bytes) => {
                let bytes = zeroize::Zeroizing::new(bytes);
                let mode = fs::metadata(path)?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(StoreError::KeyFile(format!(
                        "{} is readable by others (mode {:o})",
                        path.display(),
                        mode & 0o777
                    )));
                }
                Self::from_bytes(&bytes).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates a new key file atomically: written to a private temporary file in the same
    /// directory, fsynced, renamed into place, and the directory fsynced, so a crash leaves
    /// either no key or the whole key, never a truncated one.
    pub fn create(path: &Path) -> Result<Secrets, StoreError> {
        let mut key = zeroize::Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(&mut key[..]);
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let written = (|| -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&key[..])?;
            f.sync_all()?;
            fs::rename(&tmp, path)?;
            fs::File::open(dir)?.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e.into());
        }
        Self::from_bytes(&key[..])
    }

    /// Key material from bytes (a systemd credential, tests); must be 64 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Secrets, StoreError> {
        if bytes.len() != KEY_LEN {
            return Err(StoreError::KeyFile(format!(
                "key file must hold {KEY_LEN} bytes"
            )));
        }
        let mut aead_key = [0u8; 32];
        aead_key.copy_from_slice(&bytes[..32]);
        let mut mac_key = [0u8; 32];
        mac_key.copy_from_slice(&bytes[32..]);
        Ok(Secrets { aead_key, mac_key })
    }

    fn aead(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.aead_key.into())
    }

    /// A keyed hash (HMAC-SHA256, hex) of a secret: stable per lane, useless without the key.
    pub fn keyed_hash(&self, secret: &str) -> String {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.mac_key)
            .expect("HMAC accepts any key length");
        mac.update(secret.as_bytes());
        // Hex by table: a `format!` per byte was most of the cost, and a gift-card payment
        // hashes several times inside its commit.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for b in mac.finalize().into_bytes() {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        hex
    }

    /// Encrypts `secret`, bound to `context` (e.g. the payment id) as associated data.
    pub fn seal(&self, context: &str, secret: &str) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .aead()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Crypto)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts what [`Secrets::seal`] produced for the same `context`. The plaintext (a
    /// gift-card code) is wiped from memory when the answer is dropped.
    pub fn open(
        &self,
        context: &str,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<String>, StoreError> {
        if sealed.len() < 24 {
            return Err(StoreError::Crypto);
        }
        let mut nonce = [0u8; 24];
        nonce.copy_from_slice(&sealed[..24]);
        let pt = self
            .aead()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &sealed[24..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Crypto)?;
        match String::from_utf8(pt) {
            Ok(text) => Ok(zeroize::Zeroizing::new(text)),
            Err(e) => {
                zeroize::Zeroize::zeroize(&mut e.into_bytes());
                Err(StoreError::Crypto)
            }
        }
    }
}

/// Masks a code to its last four characters (`****1234`); below eight characters `****`
/// only. The agent's one masking rule, [`cardreader::mask_last4`].
pub fn mask(code: &str) -> String {
    cardreader::mask_last4(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored hashes (the balance cache, offline usage per card) must keep matching: the
    /// keyed hash is lowercase hex HMAC-SHA256 under the key's last 32 bytes.
    #[test]
    fn the_keyed_hash_is_hex_hmac_sha256_of_the_mac_key() {
        let s = Secrets::from_bytes(&[7u8; 64]).unwrap();
        assert_eq!(
            s.keyed_hash("6006491234"),
            "a055203f20f25fa7b943f27a070a6f31b1bf9ac7281637b72fed593cff74920b"
        );
    }

    #[test]
    fn key_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.db.key");
        let s1 = Secrets::load_or_create(&p).unwrap();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let s2 = Secrets::load_or_create(&p).unwrap();
        assert_eq!(s1.keyed_hash("x"), s2.keyed_hash("x"));
        let sealed = s1.seal("pay-1", "6001234567890").unwrap();
        assert_eq!(s2.open("pay-1", &sealed).unwrap().as_str(), "6001234567890");
        assert!(s2.open("pay-2", &sealed).is_err(), "context is bound");
        assert!(!String::from_utf8_lossy(&sealed).contains("6001234567890"));
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Secrets::load_or_create(&p).is_err());
    }

    proptest::proptest! {
        // Issue 13 item 3: one masking rule everywhere (store, API types, cashier display,
        // reader driver, POS client): below 8 characters `****`, else `****` + the last 4.
        #[test]
        fn every_mask_in_the_agent_is_the_same_rule(code in "\\PC{0,24}") {
            let m = mask(&code);
            proptest::prop_assert_eq!(&m, &cardreader::mask_last4(&code));
            proptest::prop_assert_eq!(&m, &pos_client::mask_last4(&code));
            proptest::prop_assert_eq!(&m, &crate::api::types::mask_last4(&code));
            proptest::prop_assert_eq!(&m, &crate::agent::cashier::masked(&code));
            let typed = crate::api::types::MaskedCode::from_full(&code);
            proptest::prop_assert_eq!(m.as_str(), typed.as_str());
            let n = code.chars().count();
            if n < 8 {
                proptest::prop_assert_eq!(m.as_str(), "****");
            } else {
                let tail: String = code.chars().skip(n - 4).collect();
                proptest::prop_assert_eq!(m, format!("****{tail}"));
            }
        }

        #[test]
        fn a_mask_never_shows_a_whole_code(code in "[A-Za-z0-9-]{1,24}") {
            let m = mask(&code);
            proptest::prop_assert!(!m.contains(code.as_str()));
            proptest::prop_assert_eq!(m.chars().count(), if code.len() < 8 { 4 } else { 8 });
        }
    }

    #[test]
    fn masks_to_last_four() {
        assert_eq!(mask("6001234567890"), "****7890");
        assert_eq!(mask("12"), "****");
        assert_eq!(mask("AB12"), "****");
        assert_eq!(
            format!("{:?}", Secrets::from_bytes(&[1u8; 64]).unwrap()),
            "Secrets([redacted])"
        );
    }
}
