//! Key files: generating a key pair on disk and loading keys back.

use std::path::{Path, PathBuf};

use custody_crypto::{KeyAlgorithm, KeyId, KeyProtection, PublicKey, SigningKey};
use secrecy::SecretString;

use crate::error::{Error, Result};
use crate::fs::{Overwrite, Visibility, read_text, write_atomic};

/// Key files are small; anything larger is not a key.
const KEY_FILE_LIMIT: u64 = 64 * 1024;

/// How a newly generated private key is written.
#[non_exhaustive]
pub enum NewKeyProtection {
    /// Encrypted with this passphrase (the default).
    Passphrase(SecretString),
    /// Written in plaintext: the user asked for it by name (`--no-passphrase`).
    Unencrypted,
}

/// The files written by [`generate_key_files`].
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The new key's id.
    pub key_id: KeyId,
    /// The key's algorithm.
    pub algorithm: KeyAlgorithm,
    /// `PREFIX.key`, mode 0600.
    pub private_path: PathBuf,
    /// `PREFIX.pub`.
    pub public_path: PathBuf,
}

/// `PREFIX.key` and `PREFIX.pub` for a prefix.
pub fn key_paths(prefix: &Path) -> (PathBuf, PathBuf) {
    let with = |ext: &str| {
        let mut s = prefix.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    (with(".key"), with(".pub"))
}

/// Generates a key pair and writes `PREFIX.key` (PKCS#8 PEM, 0600) and `PREFIX.pub` (SPKI PEM).
///
/// Existing files are never overwritten: losing a private key is unrecoverable.
pub fn generate_key_files(
    prefix: &Path,
    algorithm: KeyAlgorithm,
    protection: &NewKeyProtection,
) -> Result<GeneratedKey> {
    let (private_path, public_path) = key_paths(prefix);
    for path in [&private_path, &public_path] {
        if path.symlink_metadata().is_ok() {
            return Err(Error::new(
                crate::Code::OutputExists,
                format!("'{}' already exists", path.display()),
            ));
        }
    }
    let key = SigningKey::generate(algorithm).map_err(|e| Error::key(&private_path, &e))?;
    let pem = match protection {
        NewKeyProtection::Passphrase(p) => key.to_pkcs8_pem(KeyProtection::Passphrase(p)),
        NewKeyProtection::Unencrypted => key.to_pkcs8_pem(KeyProtection::Unencrypted),
    }
    .map_err(|e| Error::key(&private_path, &e))?;
    write_atomic(
        &private_path,
        pem.as_bytes(),
        Overwrite::Refuse,
        Visibility::OwnerOnly,
    )?;
    if let Err(e) = write_atomic(
        &public_path,
        key.public_key().to_pem().as_bytes(),
        Overwrite::Refuse,
        Visibility::Public,
    ) {
        // Do not leave a private key without its public half; it was created just now by us.
        let _ = std::fs::remove_file(&private_path);
        return Err(e);
    }
    Ok(GeneratedKey {
        key_id: key.public_key().key_id(),
        algorithm,
        private_path,
        public_path,
    })
}

/// Whether the PEM text is an encrypted private key (so a passphrase is needed).
pub fn is_encrypted_pem(pem: &str) -> bool {
    pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
}

/// Loads a private key; `passphrase` is asked only when the file is encrypted.
pub fn load_signing_key(
    path: &Path,
    passphrase: &mut dyn FnMut() -> Result<SecretString>,
) -> Result<SigningKey> {
    let pem = read_text(path, KEY_FILE_LIMIT)?;
    let secret = if is_encrypted_pem(&pem) {
        Some(passphrase()?)
    } else {
        None
    };
    SigningKey::from_pkcs8_pem(&pem, secret.as_ref()).map_err(|e| Error::key(path, &e))
}

/// Loads a public key (SPKI PEM).
pub fn load_public_key(path: &Path) -> Result<PublicKey> {
    let pem = read_text(path, KEY_FILE_LIMIT)?;
    PublicKey::from_pem(&pem).map_err(|e| Error::key(path, &e))
}
