//! A server's data directory: its database, its keys and the trust root it hands to clients.
//!
//! ```text
//! DIR/custody.db          SQLite (WAL): log tiles, entries, checkpoint, tokens, registry
//!                         metadata, audit log, environment histories
//! DIR/server.json         {"origin": "..."}: the log's checkpoint origin and key name
//! DIR/keys/log.key|.pub   the log's Ed25519 checkpoint-signing key (PKCS#8, encrypted)
//! DIR/keys/root.key|.pub  the root key that signed DIR/trust-root.json (move it offline)
//! DIR/keys/audit.key|.pub the registry audit log's ECDSA P-256 chain-head key (made on first serve)
//! DIR/trust-root.json     version 1: the root key (role root), the log key (role log, named)
//! ```

use std::path::{Path, PathBuf};

use custody_crypto::{KeyAlgorithm, PublicKey, SigningKey};
use custody_formats::trust_root::{Role, SignedTrustRoot, TrustRootBody, TrustedKey};
use custody_log::note::{KeyName, NoteSigner, NoteVerifier};
use secrecy::SecretString;
use time::{Duration, OffsetDateTime};

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::fs::{Overwrite, Visibility, read_text, write_atomic};
use crate::keys::{NewKeyProtection, generate_key_files, load_public_key, load_signing_key};

/// The paths inside a data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// `DIR/custody.db`.
    pub fn database(&self) -> PathBuf {
        self.root.join("custody.db")
    }

    /// `DIR/trust-root.json`.
    pub fn trust_root(&self) -> PathBuf {
        self.root.join("trust-root.json")
    }

    /// `DIR/keys/log` (prefix of `.key` and `.pub`).
    pub fn log_key_prefix(&self) -> PathBuf {
        self.root.join("keys").join("log")
    }

    /// `DIR/keys/log.key` and `DIR/keys/log.pub`.
    pub fn log_key_paths(&self) -> (PathBuf, PathBuf) {
        crate::keys::key_paths(&self.log_key_prefix())
    }

    /// `DIR/keys/root` (prefix of `.key` and `.pub`).
    pub fn root_key_prefix(&self) -> PathBuf {
        self.root.join("keys").join("root")
    }

    fn config(&self) -> PathBuf {
        self.root.join("server.json")
    }

    /// Whether the directory was initialised.
    pub fn exists(&self) -> bool {
        self.config().exists()
    }

    /// The log's origin (its checkpoint key name).
    pub fn origin(&self) -> Result<String> {
        let text = read_text(&self.config(), 64 * 1024)?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::new(
                Code::InvalidArgument,
                format!("'{}' is not valid JSON: {e}", self.config().display()),
            )
        })?;
        value["origin"].as_str().map(str::to_owned).ok_or_else(|| {
            Error::new(
                Code::InvalidArgument,
                format!("'{}' has no origin", self.config().display()),
            )
        })
    }

    /// The log's note verifier (its C2SP vkey).
    pub fn log_verifier(&self) -> Result<NoteVerifier> {
        let key = load_public_key(&self.log_key_paths().1)?;
        NoteVerifier::ed25519(key_name(&self.origin()?)?, key).map_err(|e| {
            Error::new(
                Code::KeyFileMalformed,
                format!("the log key cannot sign notes: {e}"),
            )
        })
    }

    /// Loads the log's checkpoint signer; `passphrase` is asked only if the key is encrypted.
    pub fn log_signer(
        &self,
        passphrase: &mut dyn FnMut() -> Result<SecretString>,
    ) -> Result<NoteSigner<SigningKey>> {
        let key = load_signing_key(&self.log_key_paths().0, passphrase)?;
        NoteSigner::new(key_name(&self.origin()?)?, key).map_err(|e| {
            Error::new(
                Code::KeyFileMalformed,
                format!("the log key cannot sign notes: {e}"),
            )
        })
    }
}

/// Opens (creating its table if needed) the environments' promotion histories in the data
/// directory's database, for the server's deployment service.
pub fn open_environment_store(
    dir: &DataDir,
) -> Result<std::sync::Arc<dyn custody_deploy::EnvironmentStore>> {
    let store = custody_store::SqliteEnvironmentStore::open(&dir.database())
        .map_err(|e| crate::error::from_store(&e))?;
    Ok(std::sync::Arc::new(store))
}

fn key_name(origin: &str) -> Result<KeyName> {
    KeyName::new(origin)
        .map_err(|e| Error::new(Code::InvalidArgument, format!("origin '{origin}': {e}")))
}

/// What [`initialize`] created.
#[derive(Debug, Clone)]
pub struct Initialized {
    /// The log's origin.
    pub origin: String,
    /// The trust root file for clients.
    pub trust_root: PathBuf,
    /// The root private key (to be moved offline).
    pub root_key: PathBuf,
    /// The log's verifier key (vkey line).
    pub log_vkey: String,
}

/// Creates a data directory: keys, configuration and a signed trust root. Refuses to touch a
/// directory that is already initialised.
pub fn initialize(
    dir: &DataDir,
    origin: &str,
    protection: &NewKeyProtection,
    now: OffsetDateTime,
) -> Result<Initialized> {
    if dir.exists() {
        return Err(Error::new(
            Code::OutputExists,
            format!(
                "'{}' is already a custody data directory",
                dir.root.display()
            ),
        ));
    }
    let name = key_name(origin)?;
    let keys = dir.root.join("keys");
    create_private_dir(&dir.root)?;
    create_private_dir(&keys)?;
    let root = generate_key_files(&dir.root_key_prefix(), KeyAlgorithm::Ed25519, protection)?;
    let log = generate_key_files(&dir.log_key_prefix(), KeyAlgorithm::Ed25519, protection)?;
    let root_public = load_public_key(&root.public_path)?;
    let log_public: PublicKey = load_public_key(&log.public_path)?;

    let now = now.replace_nanosecond(0).unwrap_or(now);
    let invalid = |e: custody_formats::Error| Error::new(Code::Internal, e.to_string());
    let body = TrustRootBody::new(
        1,
        now + Duration::days(365),
        1,
        vec![
            TrustedKey::new(root_public, Role::Root, now, None, None).map_err(invalid)?,
            TrustedKey::new(log_public.clone(), Role::Log, now, None, None)
                .and_then(|k| k.with_name(origin))
                .map_err(invalid)?,
        ],
    )
    .map_err(invalid)?;
    let mut trust_root = SignedTrustRoot::new(body);
    let passphrase = match protection {
        NewKeyProtection::Passphrase(p) => Some(p.clone()),
        _ => None,
    };
    let root_signer = load_signing_key(&root.private_path, &mut || {
        passphrase
            .clone()
            .ok_or_else(|| Error::new(Code::PassphraseRequired, "no passphrase"))
    })?;
    trust_root.sign(&root_signer).map_err(invalid)?;
    write_atomic(
        &dir.trust_root(),
        &trust_root.to_json(),
        Overwrite::Refuse,
        Visibility::Public,
    )?;
    let config = serde_json::json!({ "origin": origin });
    // Written last: its presence marks the directory as complete.
    write_atomic(
        &dir.config(),
        format!("{config:#}\n").as_bytes(),
        Overwrite::Refuse,
        Visibility::Public,
    )?;
    let vkey = NoteVerifier::ed25519(name, log_public)
        .map_err(|e| Error::new(Code::Internal, e.to_string()))?
        .to_string();
    Ok(Initialized {
        origin: origin.to_owned(),
        trust_root: dir.trust_root(),
        root_key: root.private_path,
        log_vkey: vkey,
    })
}

fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).map_err(|e| Error::write(path, &e))
}
