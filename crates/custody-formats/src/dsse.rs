//! DSSE, the Dead Simple Signing Envelope (secure-systems-lab/dsse, protocol.md and
//! envelope.md, v1.0.2).
//!
//! Signatures are over the pre-authentication encoding [`pae`] of the payload type and the
//! payload bytes, never over the JSON envelope, so the payload that is verified is exactly the
//! payload handed back by [`Envelope::payload`].

use std::collections::BTreeSet;

use custody_crypto::{KeyId, PublicKey, Signer, Verifier as _};
use serde_json::{Map, Value};

use crate::fields::{Nulls, Obj};
use crate::{Error, Limits, Verified, b64, json};

/// The payload type of an in-toto statement (in-toto attestation spec v1, envelope.md).
pub const PAYLOAD_TYPE_IN_TOTO: &str = "application/vnd.in-toto+json";

/// The pre-authentication encoding (protocol.md):
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where LEN is the decimal byte length
/// without leading zeros.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvelopeSignature {
    /// The signer's key id hint, possibly empty. It is not authenticated: verification never
    /// trusts it, it only decides which key to try first.
    pub keyid: String,
    /// The signature over [`pae`] of the envelope's payload type and payload.
    pub sig: Vec<u8>,
}

impl EnvelopeSignature {
    /// A signature with a key id hint (which may be empty).
    pub fn new(keyid: impl Into<String>, sig: Vec<u8>) -> Self {
        Self {
            keyid: keyid.into(),
            sig,
        }
    }
}

/// A DSSE JSON envelope: a payload, its type, and signatures over both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    payload_type: String,
    payload: Vec<u8>,
    signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// Signs `payload` with every signer; each signature's key id hint is the signer's
    /// [`KeyId`] in hex.
    pub fn sign(
        payload_type: &str,
        payload: Vec<u8>,
        signers: &[&dyn Signer],
    ) -> Result<Self, Error> {
        if signers.is_empty() {
            return Err(Error::ApiMisuse {
                reason: "an envelope needs at least one signer",
            });
        }
        let message = pae(payload_type, &payload);
        let signatures = signers
            .iter()
            .map(|signer| {
                let sig = signer.sign(&message).map_err(|e| Error::SigningFailed {
                    reason: e.to_string(),
                })?;
                Ok(EnvelopeSignature::new(
                    signer.public_key().key_id().to_string(),
                    sig,
                ))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            payload_type: payload_type.to_owned(),
            payload,
            signatures,
        })
    }

    /// Reads a JSON envelope, strictly (see [`json::parse_strict`]).
    ///
    /// Base64 fields may be standard or URL-safe, padded or not (envelope.md). Unrecognized
    /// fields are ignored, as envelope.md requires; repeated fields are rejected.
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        Self::read(&json::parse_strict(bytes, limits)?, "", limits)
    }

    /// Reads an envelope from an already parsed JSON value, with the default [`Limits`] on the
    /// number of signatures.
    pub fn from_value(value: &Value) -> Result<Self, Error> {
        Self::read(value, "", &Limits::default())
    }

    /// Reads an envelope found at `path` in a larger document.
    pub(crate) fn read(value: &Value, path: &str, limits: &Limits) -> Result<Self, Error> {
        let obj = Obj::new(value, path, Nulls::Reject)?;
        let payload = b64::decode_lenient(obj.req_str("payload")?, &obj.path("payload"))?;
        let payload_type = obj.req_str("payloadType")?.to_owned();
        let items = obj.req_array("signatures")?;
        if items.len() > limits.max_signatures {
            return Err(Error::TooManySignatures {
                limit: limits.max_signatures,
                found: items.len(),
            });
        }
        let signatures = obj
            .objects_in("signatures", items)?
            .iter()
            .map(|s| {
                Ok(EnvelopeSignature {
                    keyid: s.opt_str("keyid")?.unwrap_or_default().to_owned(),
                    sig: s.req_bytes_lenient("sig")?,
                })
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            payload_type,
            payload,
            signatures,
        })
    }

    /// The envelope as a JSON value: `payload`, `payloadType`, `signatures[{keyid, sig}]`,
    /// with standard padded base64 (which securesystemslib requires) and `keyid` always present.
    pub fn to_value(&self) -> Value {
        let signatures = self
            .signatures
            .iter()
            .map(|s| {
                let mut entry = Map::new();
                entry.insert("keyid".to_owned(), Value::String(s.keyid.clone()));
                entry.insert("sig".to_owned(), Value::String(b64::encode(&s.sig)));
                Value::Object(entry)
            })
            .collect();
        let mut out = Map::new();
        out.insert(
            "payload".to_owned(),
            Value::String(b64::encode(&self.payload)),
        );
        out.insert(
            "payloadType".to_owned(),
            Value::String(self.payload_type.clone()),
        );
        out.insert("signatures".to_owned(), Value::Array(signatures));
        Value::Object(out)
    }

    /// The envelope as compact JSON (see [`Envelope::to_value`]).
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing a `Value` cannot fail: its keys are strings and its numbers finite.
        serde_json::to_vec(&self.to_value()).unwrap_or_default()
    }

    /// The payload type.
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The payload bytes, exactly as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signatures, in document order.
    pub fn signatures(&self) -> &[EnvelopeSignature] {
        &self.signatures
    }

    /// Checks that at least `threshold` distinct keys among `keys` signed this envelope.
    ///
    /// Keys are told apart by [`KeyId`]: a key listed twice, or a signature repeated under
    /// several key id hints, counts once. Hints are not trusted: every key is tried against
    /// every signature, the hinted key first.
    ///
    /// Errors: [`Error::ApiMisuse`] for a threshold of zero; [`Error::NoValidSignature`] when
    /// no key signed; [`Error::ThresholdNotMet`] when some but too few did.
    pub fn verify(&self, keys: &[PublicKey], threshold: usize) -> Result<Verified<Self>, Error> {
        if threshold == 0 {
            return Err(Error::ApiMisuse {
                reason: "a signature threshold of zero accepts anything",
            });
        }
        let message = pae(&self.payload_type, &self.payload);
        let mut signed_by: BTreeSet<KeyId> = BTreeSet::new();
        for signature in &self.signatures {
            // The hinted key first, then the others: the hint only orders the search.
            let hinted = keys
                .iter()
                .filter(|k| k.key_id().to_string() == signature.keyid);
            let others = keys
                .iter()
                .filter(|k| k.key_id().to_string() != signature.keyid);
            for key in hinted.chain(others) {
                if signed_by.contains(&key.key_id()) {
                    continue;
                }
                if key.verify(&message, &signature.sig).is_ok() {
                    signed_by.insert(key.key_id());
                    break;
                }
            }
        }
        match signed_by.len() {
            0 => Err(Error::NoValidSignature),
            found if found < threshold => Err(Error::ThresholdNotMet {
                needed: threshold,
                found,
            }),
            _ => Ok(Verified::new(self.clone())),
        }
    }
}

#[cfg(test)]
mod tests;
