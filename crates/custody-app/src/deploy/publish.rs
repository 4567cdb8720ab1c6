//! Publishing promoted artifacts to the server's TUF repository (`custody serve --tuf-repo DIR
//! --tuf-publish ENV`, docs/tuf.md).
//!
//! After a promotion or rollback to a published environment is recorded, the artifact's file
//! (the manifest's single layer, streamed from the registry's blob store and checked against
//! the layer's digest) becomes target `ENV/REPOSITORY/<layer title>`, with the manifest as
//! `<target>.manifest.json` and, as bundles, the release signatures and build provenance that
//! verify against the server's trust root now, and the promotion record itself. Everything is
//! one commit of the repository ([`crate::tuf::add`]) under the repository's lock, so it never
//! interleaves with the re-signing of the online roles.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use custody_crypto::{Digest, Hasher, Signer, SigningKey};
use custody_deploy::EnvironmentEvent;
use custody_formats::trust_root::Role;
use serde_json::Value;

use super::Artifact;
use super::facts::release_evidence;
use super::service::{PromotionListener, Published};
use crate::codes::Code;
use crate::error::{Error, Result};
use crate::registry::client::TITLE;
use crate::registry::enforce::{Clock, TrustRootSource};
use crate::registry::service::Registry;
use crate::tuf::{NewBundle, NewTarget, TargetSource};

/// Publishes promotions of some environments to a TUF repository.
pub struct TufPublisher {
    /// The repository (from `custody tuf init`).
    pub repo: PathBuf,
    /// The environments whose promotions are published.
    pub environments: Vec<String>,
    /// Where artifacts and their evidence are read.
    pub registry: Arc<Registry>,
    /// What evidence is verified against.
    pub trust_root: Arc<TrustRootSource>,
    /// The repository's online keys (bins, snapshot, timestamp).
    pub signers: Arc<Vec<SigningKey>>,
    /// The clock.
    pub clock: Clock,
}

impl PromotionListener for TufPublisher {
    fn promoted(&self, event: &EnvironmentEvent) -> Option<Result<Published>> {
        self.environments
            .contains(&event.environment)
            .then(|| self.publish(event))
    }
}

fn refused(msg: impl Into<String>) -> Error {
    Error::new(Code::TufRequestInvalid, msg)
}

/// The single layer of an OCI image manifest: its digest and title.
fn single_layer(manifest: &[u8], digest: &Digest) -> Result<(Digest, String)> {
    let v: Value = serde_json::from_slice(manifest).unwrap_or(Value::Null);
    let layers = v.get("layers").and_then(Value::as_array);
    let [layer] = layers.map(Vec::as_slice).unwrap_or_default() else {
        return Err(refused(format!(
            "manifest {digest} does not have exactly one layer, so it names no single file to publish"
        )));
    };
    let layer_digest = layer
        .get("digest")
        .and_then(Value::as_str)
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| {
            refused(format!(
                "the layer of manifest {digest} has no valid digest"
            ))
        })?;
    let title = layer
        .get("annotations")
        .and_then(|a| a.get(TITLE))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            refused(format!(
                "the layer of manifest {digest} has no {TITLE} annotation to name the file"
            ))
        })?;
    Ok((layer_digest, title.to_owned()))
}

/// Reads a blob, failing at its end if the bytes do not hash to the digest.
struct CheckedBlob {
    inner: Box<dyn Read + Send>,
    hasher: Option<Hasher>,
    expected: Digest,
}

impl Read for CheckedBlob {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some(h) = &mut self.hasher {
                h.update(&buf[..n]);
            }
        } else if let Some(h) = self.hasher.take()
            && h.finalize() != self.expected
        {
            return Err(std::io::Error::other(format!(
                "the stored blob does not hash to {}",
                self.expected
            )));
        }
        Ok(n)
    }
}

impl TufPublisher {
    /// Publishes the artifact `event` made current (see the module documentation).
    pub fn publish(&self, event: &EnvironmentEvent) -> Result<Published> {
        let now = (self.clock)();
        let root = self.trust_root.current(now)?;
        let repository = &event.repository;
        let (manifest, evidence) = self
            .registry
            .manifest_with_evidence(repository, &event.digest)?
            .ok_or_else(|| {
                Error::new(
                    Code::NotFound,
                    format!("{repository}@{} is not in the registry", event.digest),
                )
            })?;
        let artifact = Artifact::new(repository, event.digest, manifest)?;
        let (layer, title) = single_layer(&artifact.manifest, &event.digest)?;
        let name = format!("{}/{repository}/{title}", event.environment);
        custody_tuf::writer::check_target_path(&name).map_err(|e| {
            refused(format!(
                "'{name}' (from the layer title) is not a TUF target path: {e}"
            ))
        })?;
        let (reader, _) = self
            .registry
            .stored_blob(repository, &layer)?
            .ok_or_else(|| {
                Error::new(
                    Code::NotFound,
                    format!("blob {layer} of {repository} is not stored"),
                )
            })?;
        let mut bundles: Vec<NewBundle> = release_evidence(&artifact, &evidence, &root, now)
            .into_iter()
            .map(|(bytes, role)| NewBundle {
                bytes,
                role: Some(role),
            })
            .collect();
        // The promotion record, verified when it was recorded.
        bundles.push(NewBundle {
            bytes: event.bundle.clone(),
            role: Some(Role::Release),
        });
        let target = NewTarget {
            source: TargetSource::Reader {
                label: format!("{repository}@{layer}"),
                reader: Box::new(CheckedBlob {
                    inner: Box::new(reader),
                    hasher: Some(Hasher::new(layer.algorithm())),
                    expected: layer,
                }),
            },
            name: name.clone(),
            bundles,
            oci_digest: Some(event.digest.to_string()),
            manifest: Some(artifact.manifest),
        };
        let signers: Vec<&dyn Signer> = self.signers.iter().map(|k| k as &dyn Signer).collect();
        crate::tuf::add(&self.repo, vec![target], &signers, now)?;
        Ok(Published { target: name })
    }
}
