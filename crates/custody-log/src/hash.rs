//! RFC 9162 §2.1.1 Merkle tree hashing with SHA-256 (the RFC 6962 construction).
//!
//! - The hash of the empty tree is `SHA-256("")` ([`EMPTY_TREE_HASH`]).
//! - A leaf hash is `SHA-256(0x00 || data)` ([`leaf_hash`]).
//! - An interior node hash is `SHA-256(0x01 || left || right)` ([`node_hash`]).
//!
//! The distinct prefixes keep a leaf from being passed off as an interior node
//! (second-preimage resistance).

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, truncate};

/// A SHA-256 Merkle tree hash: a leaf hash, an interior node hash or a root hash.
///
/// Its text form ([`Display`](fmt::Display), [`FromStr`]) is 64 lowercase hex characters;
/// parsing also accepts uppercase.
/// Equality is not constant-time: tree hashes are public data.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash([u8; Self::LEN]);

impl Hash {
    /// The length of a hash in bytes.
    pub const LEN: usize = 32;

    /// Wraps 32 bytes as a hash.
    pub const fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }

    /// Returns the 32 bytes of the hash.
    pub const fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }

    /// Returns the 32 bytes of the hash by value.
    pub const fn to_bytes(self) -> [u8; Self::LEN] {
        self.0
    }
}

/// The root hash of the empty tree: `SHA-256("")` (RFC 9162 §2.1.1).
pub const EMPTY_TREE_HASH: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// Returns the leaf hash of an entry: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// Returns the hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 2 * Self::LEN];
        for (pair, byte) in text.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        // Every byte written above is an ASCII hex digit.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidHashHex {
            text: truncate(text, 80),
            expected: 2 * Self::LEN,
        };
        let digits = text.as_bytes();
        if digits.len() != 2 * Self::LEN {
            return Err(invalid());
        }
        let mut bytes = [0u8; Self::LEN];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let high = hex_value(pair[0]).ok_or_else(invalid)?;
            let low = hex_value(pair[1]).ok_or_else(invalid)?;
            *byte = (high << 4) | low;
        }
        Ok(Self(bytes))
    }
}

/// The value of one hex digit, if it is one.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl From<[u8; Self::LEN]> for Hash {
    fn from(bytes: [u8; Self::LEN]) -> Self {
        Self(bytes)
    }
}

impl From<Hash> for [u8; Hash::LEN] {
    fn from(hash: Hash) -> Self {
        hash.0
    }
}

impl TryFrom<&[u8]> for Hash {
    type Error = Error;

    fn try_from(bytes: &[u8]) -> Result<Self, Error> {
        <[u8; Self::LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::InvalidHashLength {
                expected: Self::LEN,
                actual: bytes.len(),
            })
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests;
