//! Helpers shared by the integration tests: test data, keys, and a minimal DER walker.

use std::path::PathBuf;

use custody_crypto::{Digest, DigestAlgorithm, Hasher, KeyAlgorithm, PublicKey, SigningKey};

/// The repository's `testdata/` directory.
pub(crate) fn testdata(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(relative)
}

/// The bytes of a file under `testdata/`.
pub(crate) fn read(relative: &str) -> Vec<u8> {
    let path = testdata(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub(crate) fn generate(algorithm: KeyAlgorithm) -> SigningKey {
    SigningKey::generate(algorithm).unwrap()
}

pub(crate) fn digest(algorithm: DigestAlgorithm, data: &[u8]) -> Digest {
    let mut hasher = Hasher::new(algorithm);
    hasher.update(data);
    hasher.finalize()
}

pub(crate) fn sha256(data: &[u8]) -> Digest {
    digest(DigestAlgorithm::Sha256, data)
}

pub(crate) fn sha512(data: &[u8]) -> Digest {
    digest(DigestAlgorithm::Sha512, data)
}

/// One DER TLV: its tag, and the slices of the whole element and of its contents.
fn tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (length, header) = match input[1] {
        short @ 0..=0x7f => (usize::from(short), 2),
        long => {
            let count = usize::from(long & 0x7f);
            let length = input[2..2 + count]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (length, 2 + count)
        }
    };
    (
        tag,
        &input[..header + length],
        &input[header..header + length],
    )
}

/// The SubjectPublicKeyInfo of an X.509 certificate (RFC 5280 §4.1), as DER.
pub(crate) fn spki_of_certificate(certificate: &[u8]) -> &[u8] {
    let (_, _, certificate) = tlv(certificate);
    let (_, _, mut tbs) = tlv(certificate);
    // [0] version (optional), serialNumber, signature, issuer, validity, subject, then the SPKI.
    if tbs[0] == 0xa0 {
        tbs = &tbs[tlv(tbs).1.len()..];
    }
    for _ in 0..5 {
        tbs = &tbs[tlv(tbs).1.len()..];
    }
    let (tag, spki, _) = tlv(tbs);
    assert_eq!(tag, 0x30, "SubjectPublicKeyInfo is a SEQUENCE");
    spki
}

/// The public key of an X.509 certificate.
pub(crate) fn key_of_certificate(certificate: &[u8]) -> PublicKey {
    PublicKey::from_spki_der(spki_of_certificate(certificate)).unwrap()
}

/// A decimal number as 32 big-endian bytes.
pub(crate) fn decimal_to_be32(decimal: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for digit in decimal.trim().bytes() {
        let mut carry = u32::from(digit - b'0');
        for byte in out.iter_mut().rev() {
            let value = u32::from(*byte) * 10 + carry;
            *byte = (value & 0xff) as u8;
            carry = value >> 8;
        }
        assert_eq!(carry, 0, "number does not fit in 32 bytes");
    }
    out
}

/// An ECDSA signature given as raw `r || s` re-encoded as ASN.1 DER (RFC 3279 §2.2.3).
pub(crate) fn ecdsa_raw_to_der(raw: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let start = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        let mut value = bytes[start..].to_vec();
        if value[0] & 0x80 != 0 {
            value.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(value.len()).unwrap()];
        out.extend(value);
        out
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [integer(r), integer(s)].concat();
    let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
    out.extend(body);
    out
}

/// The SPKI DER of an uncompressed P-256 point (RFC 5480).
pub(crate) fn p256_spki(x: &[u8; 32], y: &[u8; 32]) -> Vec<u8> {
    let prefix = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    [prefix, vec![0x04], x.to_vec(), y.to_vec()].concat()
}
