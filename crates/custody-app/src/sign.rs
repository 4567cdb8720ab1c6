//! Signing an artifact (a Sigstore message-signature bundle) and attesting about it (a DSSE
//! envelope carrying an in-toto Statement v1).

use std::path::Path;

use custody_crypto::{Digest, DigestAlgorithm, KeyId, Signer};
use custody_formats::bundle::{Bundle, Content, KeyMaterial};
use custody_formats::dsse::{Envelope, PAYLOAD_TYPE_IN_TOTO};
use custody_formats::intoto::{Statement, Subject};
use custody_formats::{Limits, json};

use crate::codes::Code;
use crate::error::{Document, Error, Result};
use crate::fs::{Overwrite, Visibility, digest_file, read_limited, write_atomic};

/// Predicates larger than this are refused (an SBOM of a large image fits comfortably).
pub const PREDICATE_LIMIT: u64 = 16 * 1024 * 1024;

/// Logs a record in a transparency log and returns the log's entry (see
/// [`crate::remote::LogClient::submit`]); `None` when the signature is not to be logged.
pub type Logger<'a> = Option<
    &'a mut dyn FnMut(
        &custody_formats::rekor::Record,
    ) -> Result<custody_formats::bundle::TlogEntry>,
>;

/// What a signing operation produced.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The artifact's digest that the signature or statement covers.
    pub digest: Digest,
    /// The signing key's id.
    pub key_id: KeyId,
    /// The bundle as written.
    pub bundle: Bundle,
}

/// The default bundle path for a signature: `FILE.sigstore.json`.
pub fn default_bundle_path(file: &Path) -> std::path::PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sigstore.json");
    s.into()
}

/// The default bundle path for an attestation: `FILE.intoto.sigstore.json`.
pub fn default_attestation_path(file: &Path) -> std::path::PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".intoto.sigstore.json");
    s.into()
}

/// Signs `file` by streaming it once and signing its digest (ECDSA P-256 over SHA-256, or
/// Ed25519ph over SHA-512), then writes a Sigstore bundle v0.3 to `bundle_path`.
///
/// The signature is checked with the public key before anything is written.
pub fn sign_file(
    file: &Path,
    signer: &dyn Signer,
    bundle_path: &Path,
    logger: Logger<'_>,
) -> Result<Signed> {
    let algorithm = signer.public_key().algorithm().prehash_algorithm();
    let digest = single_digest(file, algorithm)?;
    let signature = signer
        .sign_prehashed(&digest)
        .map_err(|e| Error::signing(&e))?;
    let bundle = Bundle::new(
        Content::MessageSignature { digest, signature },
        KeyMaterial::PublicKeyHint(signer.public_key().key_id().to_string()),
    );
    finish(bundle, signer, digest, bundle_path, logger)
}

/// Self-checks, logs (when asked) and writes the bundle.
fn finish(
    mut bundle: Bundle,
    signer: &dyn Signer,
    digest: Digest,
    bundle_path: &Path,
    logger: Logger<'_>,
) -> Result<Signed> {
    self_check(&bundle, signer, &[digest])?;
    if let Some(log) = logger {
        let record = crate::tlog::expected_record(&bundle, signer.public_key())?;
        let entry = log(&record)?;
        bundle.add_tlog_entry(entry);
    }
    write_atomic(
        bundle_path,
        &bundle.to_json(),
        Overwrite::Replace,
        Visibility::Public,
    )?;
    Ok(Signed {
        digest,
        key_id: signer.public_key().key_id(),
        bundle,
    })
}

/// Makes an in-toto Statement v1 about `file` with the given predicate, signs it as a DSSE
/// envelope and writes a Sigstore bundle v0.3 to `bundle_path`.
pub fn attest_file(
    file: &Path,
    signer: &dyn Signer,
    predicate_type: &str,
    predicate_path: &Path,
    bundle_path: &Path,
    logger: Logger<'_>,
) -> Result<Signed> {
    let raw = read_limited(predicate_path, PREDICATE_LIMIT).map_err(|e| {
        if e.code() == Code::InvalidArgument {
            Error::new(Code::PredicateMalformed, e.message().to_owned())
        } else {
            e
        }
    })?;
    let predicate = json::parse_strict(&raw, &Limits::default())
        .map_err(|e| Error::format(Document::Predicate, &e))?;
    let digest = single_digest(file, DigestAlgorithm::Sha256)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let statement = Statement::new(
        vec![Subject::new(&name, &[digest])],
        predicate_type,
        predicate,
    )
    .map_err(|e| Error::format(Document::Predicate, &e))?;
    sign_statement(&statement, signer, digest, bundle_path, logger)
}

/// Signs a prepared statement about an artifact with `digest` and writes the bundle.
pub fn sign_statement(
    statement: &Statement,
    signer: &dyn Signer,
    digest: Digest,
    bundle_path: &Path,
    logger: Logger<'_>,
) -> Result<Signed> {
    let envelope = Envelope::sign(PAYLOAD_TYPE_IN_TOTO, statement.to_json(), &[signer])
        .map_err(|e| Error::new(Code::Internal, format!("signing the envelope failed: {e}")))?;
    let bundle = Bundle::new(
        Content::Dsse(envelope),
        KeyMaterial::PublicKeyHint(signer.public_key().key_id().to_string()),
    );
    finish(bundle, signer, digest, bundle_path, logger)
}

fn single_digest(file: &Path, algorithm: DigestAlgorithm) -> Result<Digest> {
    digest_file(file, &[algorithm])?
        .into_iter()
        .next()
        .ok_or_else(|| Error::new(Code::Internal, "digest computation returned nothing"))
}

/// A signer that returned a bad signature (a faulty token, a bit flip in memory) must not
/// produce a bundle that fails later, far from the cause.
fn self_check(bundle: &Bundle, signer: &dyn Signer, digests: &[Digest]) -> Result<()> {
    bundle
        .verify(signer.public_key(), digests)
        .map(|_| ())
        .map_err(|e| {
            Error::new(
                Code::Internal,
                format!("the new signature does not verify: {e}"),
            )
        })
}
