//! TUF public keys: the `{"keytype","scheme","keyval"}` objects and their key ids.

use custody_crypto::{KeyAlgorithm, KeyId, PublicKey, Verifier};
use serde_json::{Map, Value, json};

use crate::cjson;

/// A key as listed in root or in a delegation.
///
/// The key id is SHA-256 of the canonical JSON of the key object exactly as listed. Keys of a
/// type or scheme this crate does not support are kept (so that documents round-trip), and no
/// signature verifies under them.
#[derive(Clone, Debug)]
pub struct TufKey {
    value: Value,
    public: Option<PublicKey>,
}

impl TufKey {
    /// The TUF key object for a custody public key: `ed25519` (hex public) or
    /// `ecdsa`/`ecdsa-sha2-nistp256` (SPKI PEM).
    pub fn from_public_key(key: &PublicKey) -> Self {
        let value = match key.ed25519_bytes() {
            Some(raw) => json!({
                "keytype": "ed25519",
                "scheme": "ed25519",
                "keyval": {"public": hex::encode(raw)},
            }),
            None => json!({
                "keytype": "ecdsa",
                "scheme": "ecdsa-sha2-nistp256",
                "keyval": {"public": key.to_pem()},
            }),
        };
        Self {
            value,
            public: Some(key.clone()),
        }
    }

    /// Reads a key object; `Err` names what is malformed. Unsupported types are accepted.
    pub(crate) fn from_value(value: &Value) -> Result<Self, String> {
        let obj = value.as_object().ok_or("key is not an object")?;
        let keytype = str_field(obj, "keytype")?;
        let scheme = str_field(obj, "scheme")?;
        let keyval = obj
            .get("keyval")
            .and_then(Value::as_object)
            .ok_or("key has no 'keyval' object")?;
        let public = keyval.get("public").and_then(Value::as_str);
        let public = match (keytype, scheme, public) {
            ("ed25519", "ed25519", Some(hex_key)) => {
                let raw = hex::decode(hex_key).map_err(|_| "ed25519 public key is not hex")?;
                Some(
                    PublicKey::from_ed25519_bytes(&raw)
                        .map_err(|e| format!("bad ed25519 key: {e}"))?,
                )
            }
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", Some(pem)) => {
                let key =
                    PublicKey::from_pem(pem).map_err(|e| format!("bad ecdsa public key: {e}"))?;
                if key.algorithm() != KeyAlgorithm::EcdsaP256 {
                    return Err("ecdsa key is not on P-256".into());
                }
                Some(key)
            }
            _ => None,
        };
        if cjson::encode(value).is_none() {
            return Err("key holds a non-integer number".into());
        }
        Ok(Self {
            value: value.clone(),
            public,
        })
    }

    /// The key id: lowercase hex SHA-256 of the canonical key object.
    pub fn key_id(&self) -> String {
        // `from_value` checked that the object encodes; `from_public_key` builds only strings.
        let bytes = cjson::encode(&self.value).unwrap_or_default();
        custody_crypto::sha256(&bytes).hex()
    }

    /// The key object as JSON.
    pub fn to_value(&self) -> Value {
        self.value.clone()
    }

    /// The key's identity (SHA-256 of its SPKI) if `sig` is a valid signature by it over
    /// `message`.
    pub(crate) fn verifying_key_id(&self, message: &[u8], sig: &[u8]) -> Option<KeyId> {
        self.public
            .as_ref()
            .filter(|k| k.verify(message, sig).is_ok())
            .map(PublicKey::key_id)
    }
}

fn str_field<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    obj.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("key has no string '{name}'"))
}

#[cfg(test)]
mod tests {
    use custody_crypto::PublicKey;

    use super::TufKey;

    #[test]
    fn ed25519_keyid_is_sha256_of_canonical_key_object() {
        // RFC 8032 test 1 public key.
        let raw = hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
            .unwrap();
        let key = TufKey::from_public_key(&PublicKey::from_ed25519_bytes(&raw).unwrap());
        let canonical = r#"{"keytype":"ed25519","keyval":{"public":"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"},"scheme":"ed25519"}"#;
        assert_eq!(
            key.key_id(),
            custody_crypto::sha256(canonical.as_bytes()).hex()
        );
        let back = TufKey::from_value(&key.to_value()).unwrap();
        assert_eq!(back.key_id(), key.key_id());
    }
}
