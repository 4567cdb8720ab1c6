//! `custody quickstart`: the whole flow this version supports, on real files, with the
//! attacks it stops. Every step calls the same code as the command it names.

use std::path::{Path, PathBuf};

use custody_app::keys::{NewKeyProtection, generate_key_files, load_public_key};
use custody_app::sign::{attest_file, sign_file};
use custody_app::trust::{
    NewKey, NewTrustRoot, build_trust_root, load_trust_root, write_trust_root,
};
use custody_app::verify::{Trust, verify_file};
use custody_app::{Code, Error, Result};
use custody_crypto::{KeyAlgorithm, SigningKey};
use custody_formats::trust_root::Role;
use secrecy::SecretString;
use serde_json::json;
use time::Duration;

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Work in this directory (created; must not exist) instead of a new temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
}

struct Walkthrough<'a> {
    out: &'a Output,
    step: usize,
    steps: Vec<serde_json::Value>,
}

impl Walkthrough<'_> {
    fn step(&mut self, title: &str, command: &str) {
        self.step += 1;
        self.out
            .info(&format!("\n{:>2}. {title}\n    $ {command}", self.step));
    }

    fn ok(&mut self, detail: &str) {
        self.out.info(&format!("    ✓ {detail}"));
        self.steps
            .push(json!({ "step": self.step, "ok": true, "detail": detail }));
    }

    /// An attack step: the operation must fail with `expected`, or the quickstart fails.
    fn refused(&mut self, result: Result<impl Sized>, expected: Code) -> Result<()> {
        match result {
            Err(e) if e.code() == expected => {
                self.out.info(&format!(
                    "    ✗ refused as expected: {} {}\n      {}",
                    e.code(),
                    e.code().title(),
                    e.message()
                ));
                self.steps
                    .push(json!({ "step": self.step, "refused": e.code().to_string() }));
                Ok(())
            }
            Err(e) => Err(Error::new(
                Code::Internal,
                format!(
                    "quickstart step {}: expected {expected}, got {}: {}",
                    self.step,
                    e.code(),
                    e.message()
                ),
            )),
            Ok(_) => Err(Error::new(
                Code::Internal,
                format!(
                    "quickstart step {}: the attack was NOT refused (expected {expected})",
                    self.step
                ),
            )),
        }
    }
}

fn unique_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("custody-quickstart-{}-{nanos}", std::process::id()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::write(path, &e))
}

pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let dir = args.dir.unwrap_or_else(unique_dir);
    std::fs::create_dir(&dir).map_err(|e| Error::write(&dir, &e))?;
    let p = |name: &str| dir.join(name);
    let now = super::now();
    let mut w = Walkthrough {
        out,
        step: 0,
        steps: Vec::new(),
    };
    out.info(&format!("custody quickstart: working in {}", dir.display()));

    // Keys are encrypted as they are by default; the walkthrough holds the passphrase in memory.
    let pass = SecretString::from(format!("quickstart-{}", std::process::id()));
    let protection = NewKeyProtection::Passphrase(pass.clone());
    let unlock = |path: &Path| custody_app::keys::load_signing_key(path, &mut || Ok(pass.clone()));

    w.step("Generate a root key and a release key (private keys encrypted at rest)",
        "custody key generate --out root --algorithm ed25519 && custody key generate --out release --algorithm ecdsa-p256");
    let root_key = generate_key_files(&p("root"), KeyAlgorithm::Ed25519, &protection)?;
    let release_key = generate_key_files(&p("release"), KeyAlgorithm::EcdsaP256, &protection)?;
    w.ok(&format!(
        "root {} (ed25519), release {} (ecdsa-p256)",
        root_key.key_id, release_key.key_id
    ));

    w.step("Create trust root v1 naming each key's single role, and sign it with the root key",
        "custody trust-root init --out trust-root.json --root root.pub --key release=release.pub && custody trust-root sign trust-root.json --key root.key");
    let root_path = p("trust-root.json");
    let settings = NewTrustRoot {
        keys: vec![
            NewKey {
                key: load_public_key(&root_key.public_path)?,
                role: Role::Root,
                valid_until: None,
                name: None,
            },
            NewKey {
                key: load_public_key(&release_key.public_path)?,
                role: Role::Release,
                valid_until: None,
                name: None,
            },
        ],
        root_threshold: Some(1),
        valid_for: Duration::days(365),
        witness_threshold: None,
    };
    let mut root_doc = build_trust_root(None, settings, &[], &[], now)?;
    let root_signer = unlock(&root_key.private_path)?;
    root_doc
        .sign(&root_signer)
        .map_err(|e| Error::new(Code::Internal, e.to_string()))?;
    write_trust_root(&root_path, &root_doc, custody_app::fs::Overwrite::Refuse)?;
    let trust_root = load_trust_root(&root_path, now)?;
    w.ok(&format!(
        "trust root version {} verifies against its own root key",
        trust_root.version()
    ));

    w.step(
        "Build an artifact and sign it with the release key",
        "custody sign app-1.0.tar --key release.key",
    );
    let artifact = p("app-1.0.tar");
    write(&artifact, b"app 1.0: the bytes your pipeline built\n")?;
    let release_signer = unlock(&release_key.private_path)?;
    let bundle = p("app-1.0.tar.sigstore.json");
    let signed = sign_file(&artifact, &release_signer, &bundle, None)?;
    w.ok(&format!(
        "{} signed; Sigstore bundle v0.3 written to {}",
        signed.digest,
        bundle.display()
    ));

    let trust = Trust::TrustRoot {
        root: &trust_root,
        role: Role::Release,
    };
    w.step("Verify offline: artifact + bundle + trust root, signer must hold the release role",
        "custody verify app-1.0.tar --bundle app-1.0.tar.sigstore.json --trust-root trust-root.json --role release");
    let v = verify_file(&artifact, &bundle, &trust, now)?;
    w.ok(&format!("verified: key {} holds role release", v.key_id));

    w.step("Attest: a signed in-toto statement about the artifact (DSSE)",
        "custody attest app-1.0.tar --key release.key --predicate-type https://custody.dev/attestation/review/v1 --predicate review.json");
    let predicate = p("review.json");
    write(
        &predicate,
        br#"{"reviewer":"quickstart","result":"approved"}"#,
    )?;
    let att = p("app-1.0.tar.intoto.sigstore.json");
    attest_file(
        &artifact,
        &release_signer,
        "https://custody.dev/attestation/review/v1",
        &predicate,
        &att,
        None,
    )?;
    let v = verify_file(&artifact, &att, &trust, now)?;
    w.ok(&format!(
        "attestation {} verified",
        v.predicate_type.unwrap_or_default()
    ));

    w.step("Attack: flip one byte of the artifact after signing", "custody verify app-1.0-tampered.tar --bundle app-1.0.tar.sigstore.json --trust-root trust-root.json");
    let tampered = p("app-1.0-tampered.tar");
    write(&tampered, b"app 1.0: the bytes your pipeline buil7\n")?;
    w.refused(
        verify_file(&tampered, &bundle, &trust, now),
        Code::ArtifactDigestMismatch,
    )?;

    w.step("Attack: move the attestation to another artifact", "custody verify app-1.0-tampered.tar --bundle app-1.0.tar.intoto.sigstore.json --trust-root trust-root.json");
    w.refused(
        verify_file(&tampered, &att, &trust, now),
        Code::SubjectMismatch,
    )?;

    w.step("Attack: sign with a key the trust root does not list", "custody sign app-1.0.tar --key rogue.key --bundle rogue.sigstore.json && custody verify app-1.0.tar --bundle rogue.sigstore.json --trust-root trust-root.json");
    let rogue =
        SigningKey::generate(KeyAlgorithm::Ed25519).map_err(|e| Error::key(&p("rogue.key"), &e))?;
    let rogue_bundle = p("rogue.sigstore.json");
    sign_file(&artifact, &rogue, &rogue_bundle, None)?;
    w.refused(
        verify_file(&artifact, &rogue_bundle, &trust, now),
        Code::UnknownKey,
    )?;

    w.step("Attack: sign a release with the root key (a key used outside its role)", "custody sign app-1.0.tar --key root.key --bundle root-signed.sigstore.json && custody verify ... --role release");
    let wrong_role = p("root-signed.sigstore.json");
    sign_file(&artifact, &root_signer, &wrong_role, None)?;
    w.refused(
        verify_file(&artifact, &wrong_role, &trust, now),
        Code::WrongRole,
    )?;

    w.step("Attack: alter the signature inside the bundle", "(change one character of the signature in app-1.0.tar.sigstore.json) && custody verify ...");
    let forged = p("forged.sigstore.json");
    let text = std::fs::read_to_string(&bundle).map_err(|e| Error::read(&bundle, &e))?;
    write(&forged, forge_signature(&text).as_bytes())?;
    w.refused(
        verify_file(&artifact, &forged, &trust, now),
        Code::SignatureInvalid,
    )?;

    out.info(&format!(
        "\nAll {} steps behaved as expected. Files are in {}\nNext: custody verify --help, custody explain --list",
        w.step,
        dir.display()
    ));
    out.success("", json!({ "dir": dir, "steps": w.steps }));
    Ok(())
}

/// Changes one base64 character of the bundle's `signature` value (kept valid base64).
fn forge_signature(bundle: &str) -> String {
    let Some(start) = bundle
        .find("\"signature\": \"")
        .map(|i| i + "\"signature\": \"".len())
    else {
        return bundle.to_owned();
    };
    let mut bytes = bundle.as_bytes().to_vec();
    // Change a character in the middle of the signature, keeping it in the base64 alphabet.
    let i = start + 20;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap_or_else(|_| bundle.to_owned())
}
