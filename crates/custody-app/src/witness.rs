//! A C2SP tlog-witness (<https://c2sp.org/tlog-witness>): a data directory with the witness's
//! cosigning key and its record of every log it witnesses, and the `add-checkpoint` use case.
//!
//! ```text
//! DIR/witness.json                  {"name": "..."}: the witness's key name
//! DIR/witness.key|.pub              the Ed25519 cosigning key (PKCS#8, encrypted by default)
//! DIR/state/<sha256(origin)>.json   {"origin", "size", "root"}: the latest cosigned tree head
//! ```
//!
//! [`Witness::add_checkpoint`] serializes the requests for one origin, and for each one loads
//! the record, runs [`custody_log::witness`]'s checks, writes the new record durably
//! ([`write_atomic`]) and only then cosigns. A witness therefore never cosigns two
//! inconsistent checkpoints of a log, also across restarts and crashes: a cosignature exists
//! only for a tree head that was on disk first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use custody_crypto::{KeyAlgorithm, SigningKey, sha256};
use custody_log::TreeSize;
use custody_log::checkpoint::TreeHead;
use custody_log::cosignature::{Cosigner, Timestamp};
use custody_log::note::{KeyName, NoteVerifier, SignatureType};
use custody_log::witness::{self, AddCheckpointRequest, Rejection};
use secrecy::SecretString;

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::fs::{Overwrite, Visibility, read_text, write_atomic};
use crate::keys::{NewKeyProtection, generate_key_files, load_public_key, load_signing_key};

/// State and configuration files are small; anything larger is not ours.
const FILE_LIMIT: u64 = 64 * 1024;

/// The paths inside a witness data directory.
#[derive(Debug, Clone)]
pub struct WitnessDir {
    root: PathBuf,
}

impl WitnessDir {
    /// The witness data directory at `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// `DIR/witness` (prefix of `.key` and `.pub`).
    pub fn key_prefix(&self) -> PathBuf {
        self.root.join("witness")
    }

    /// `DIR/witness.key`.
    pub fn private_key(&self) -> PathBuf {
        self.root.join("witness.key")
    }

    fn public_key(&self) -> PathBuf {
        self.root.join("witness.pub")
    }

    fn config(&self) -> PathBuf {
        self.root.join("witness.json")
    }

    fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }

    /// Whether the directory was initialised.
    pub fn exists(&self) -> bool {
        self.config().exists()
    }

    /// The witness's key name.
    pub fn name(&self) -> Result<KeyName> {
        let path = self.config();
        let text = read_text(&path, FILE_LIMIT)?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::new(
                Code::InvalidArgument,
                format!("'{}' is not valid JSON: {e}", path.display()),
            )
        })?;
        let name = value["name"].as_str().ok_or_else(|| {
            Error::new(
                Code::InvalidArgument,
                format!("'{}' has no name", path.display()),
            )
        })?;
        key_name(name)
    }

    /// The witness's cosignature verifier: its vkey is what clients configure.
    pub fn verifier(&self) -> Result<NoteVerifier> {
        let key = load_public_key(&self.public_key())?;
        NoteVerifier::new(self.name()?, SignatureType::CosignatureV1, key).map_err(|e| {
            Error::new(
                Code::KeyFileMalformed,
                format!("the witness key cannot cosign: {e}"),
            )
        })
    }

    /// Loads the witness's cosigner; `passphrase` is asked only if the key is encrypted.
    pub fn cosigner(
        &self,
        passphrase: &mut dyn FnMut() -> Result<SecretString>,
    ) -> Result<Cosigner<SigningKey>> {
        let key = load_signing_key(&self.private_key(), passphrase)?;
        Cosigner::new(self.name()?, key).map_err(|e| {
            Error::new(
                Code::KeyFileMalformed,
                format!("the witness key cannot cosign: {e}"),
            )
        })
    }

    fn state_file(&self, origin: &str) -> PathBuf {
        self.state_dir()
            .join(format!("{}.json", sha256(origin.as_bytes()).hex()))
    }
}

fn key_name(name: &str) -> Result<KeyName> {
    KeyName::new(name)
        .map_err(|e| Error::new(Code::InvalidArgument, format!("witness name '{name}': {e}")))
}

/// Creates a witness data directory: an Ed25519 cosigning key and `witness.json`. Refuses to
/// touch a directory that is already initialised. Returns the witness's vkey.
pub fn initialize(
    dir: &WitnessDir,
    name: &str,
    protection: &NewKeyProtection,
) -> Result<NoteVerifier> {
    if dir.exists() {
        return Err(Error::new(
            Code::OutputExists,
            format!(
                "'{}' is already a witness data directory",
                dir.root.display()
            ),
        ));
    }
    key_name(name)?;
    create_private_dir(&dir.root)?;
    create_private_dir(&dir.state_dir())?;
    generate_key_files(&dir.key_prefix(), KeyAlgorithm::Ed25519, protection)?;
    let config = serde_json::json!({ "name": name });
    // Written last: its presence marks the directory as complete.
    write_atomic(
        &dir.config(),
        format!("{config:#}\n").as_bytes(),
        Overwrite::Refuse,
        Visibility::Public,
    )?;
    dir.verifier()
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

/// Why an `add-checkpoint` request was not cosigned: an [`Error`] with its code, and for
/// [`Code::WitnessConflict`] the size of the latest checkpoint the witness cosigned, which
/// the protocol returns to the log.
#[derive(Debug, Clone)]
pub struct AddCheckpointError {
    error: Error,
    latest_size: Option<TreeSize>,
}

impl AddCheckpointError {
    /// The error.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// For a conflict, the latest cosigned size for the origin (0 if none).
    pub fn conflict_size(&self) -> Option<TreeSize> {
        self.latest_size
    }

    /// The error, by value.
    pub fn into_error(self) -> Error {
        self.error
    }
}

impl From<Error> for AddCheckpointError {
    fn from(error: Error) -> Self {
        Self {
            error,
            latest_size: None,
        }
    }
}

impl std::fmt::Display for AddCheckpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for AddCheckpointError {}

/// Maps the protocol's refusals to codes; the codes carry the spec's HTTP statuses.
fn rejection(rejection: &Rejection) -> AddCheckpointError {
    let code = match rejection {
        Rejection::MalformedRequest(_) | Rejection::RollbackRefused { .. } => {
            Code::WitnessRequestMalformed
        }
        Rejection::SignatureRejected(_) => Code::WitnessSignatureRejected,
        Rejection::UnknownOrigin { .. } => Code::WitnessUnknownLog,
        Rejection::Conflict { latest_size } => {
            return AddCheckpointError {
                error: Error::new(Code::WitnessConflict, rejection.to_string()),
                latest_size: Some(*latest_size),
            };
        }
        // A fork at the cosigned size: 409 with that size, so the log sees its own size
        // and knows the witness holds a different root.
        Rejection::RootMismatch { size, .. } => {
            return AddCheckpointError {
                error: Error::new(Code::WitnessConflict, rejection.to_string()),
                latest_size: Some(*size),
            };
        }
        _ => Code::WitnessProofInvalid,
    };
    let mut message = rejection.to_string();
    let mut source = std::error::Error::source(rejection);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    AddCheckpointError::from(Error::new(code, message))
}

/// A running witness: its cosigner, the logs it witnesses, and one lock per log origin.
pub struct Witness {
    dir: WitnessDir,
    cosigner: Cosigner<SigningKey>,
    logs: Vec<NoteVerifier>,
    /// Held from loading an origin's record to writing the new one.
    locks: HashMap<String, Mutex<()>>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("name", self.cosigner.verifier().name())
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// A witness over an initialised directory, cosigning with `cosigner` for the logs whose
    /// checkpoint keys are `logs` (each named after its origin; several keys may share one).
    pub fn open(
        dir: &WitnessDir,
        cosigner: Cosigner<SigningKey>,
        logs: Vec<NoteVerifier>,
    ) -> Result<Self> {
        if logs.is_empty() {
            return Err(Error::new(
                Code::InvalidArgument,
                "a witness needs at least one log key (--log VKEY)",
            ));
        }
        for key in &logs {
            if key.signature_type() != SignatureType::Ed25519 {
                return Err(Error::new(
                    Code::InvalidArgument,
                    format!(
                        "log key {key} has signature type {}, not an Ed25519 checkpoint key",
                        key.signature_type()
                    ),
                ));
            }
        }
        create_private_dir(&dir.state_dir())?;
        let locks = logs
            .iter()
            .map(|key| (key.name().as_str().to_owned(), Mutex::new(())))
            .collect();
        Ok(Self {
            dir: dir.clone(),
            cosigner,
            logs,
            locks,
        })
    }

    /// The witness's cosignature verifier (its vkey).
    pub fn verifier(&self) -> &NoteVerifier {
        self.cosigner.verifier()
    }

    /// The latest tree head the witness cosigned for `origin`, if any.
    pub fn latest(&self, origin: &str) -> Result<Option<TreeHead>> {
        let path = self.dir.state_file(origin);
        if !path.exists() {
            return Ok(None);
        }
        let text = read_text(&path, FILE_LIMIT)?;
        parse_state(&text, origin).map(Some).ok_or_else(|| {
            Error::new(
                Code::WitnessStateInvalid,
                format!("'{}' is not a valid record for '{origin}'", path.display()),
            )
        })
    }

    fn store(&self, origin: &str, head: TreeHead) -> Result<()> {
        let state = serde_json::json!({
            "origin": origin,
            "size": head.size().get(),
            "root": head.root().to_string(),
        });
        write_atomic(
            &self.dir.state_file(origin),
            format!("{state:#}\n").as_bytes(),
            Overwrite::Replace,
            Visibility::Public,
        )
    }

    /// Handles an `add-checkpoint` request body: on success, the 200 response body (one
    /// cosignature line dated `now`).
    ///
    /// Blocking (it writes and fsyncs the record): call it off the async executor.
    pub fn add_checkpoint(
        &self,
        body: &[u8],
        now: Timestamp,
    ) -> Result<String, AddCheckpointError> {
        // Parse first, to find which origin's lock to take; unknown origins take none.
        let request = AddCheckpointRequest::parse(body)
            .map_err(|e| rejection(&Rejection::MalformedRequest(e)))?;
        let origin = request.checkpoint().origin();
        let Some(lock) = self.locks.get(origin) else {
            let origin = origin.chars().take(200).collect();
            return Err(rejection(&Rejection::UnknownOrigin { origin }));
        };
        // The lock guards no data, only the file: a panic elsewhere cannot leave it torn.
        let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let latest = self.latest(origin)?;
        let accepted = witness::process_add_checkpoint(body, &self.logs, |_| latest)
            .map_err(|r| rejection(&r))?;
        // The record first, durably: a crash after this point forgets only a cosignature.
        if latest != Some(accepted.tree_head()) {
            self.store(origin, accepted.tree_head())?;
        }
        let cosignature = self
            .cosigner
            .cosign(accepted.checkpoint(), now)
            .map_err(|e| Error::new(Code::Internal, format!("cosigning failed: {e}")))?;
        Ok(witness::response_body(&[cosignature]))
    }
}

fn parse_state(text: &str, origin: &str) -> Option<TreeHead> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    if value["origin"].as_str()? != origin {
        return None;
    }
    let size = TreeSize::new(value["size"].as_u64()?);
    let root = value["root"].as_str()?.parse().ok()?;
    Some(TreeHead::new(size, root))
}

#[cfg(test)]
mod tests;
