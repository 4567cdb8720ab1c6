//! Repository names, tags and references, as the distribution spec defines them.

use std::fmt;

use custody_crypto::Digest;

use crate::error::{Invalid, OciCode};

/// The longest repository name accepted (the spec lets registries limit it; 255 is common).
pub const MAX_NAME_LEN: usize = 255;

/// The longest tag (the spec's grammar allows 128 characters).
pub const MAX_TAG_LEN: usize = 128;

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// One path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn component_ok(c: &[u8]) -> bool {
    let mut i = 0;
    let run = |i: &mut usize| {
        let start = *i;
        while *i < c.len() && is_alnum(c[*i]) {
            *i += 1;
        }
        *i > start
    };
    if !run(&mut i) {
        return false;
    }
    while i < c.len() {
        match c[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < c.len() && c[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < c.len() && c[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if !run(&mut i) {
            return false;
        }
    }
    true
}

/// Checks a repository name against the spec's grammar
/// (`[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`) and the length
/// limit. The grammar admits no empty component, no `.` or `..` component, and no leading or
/// trailing `/`, so a valid name can never escape a directory.
pub fn validate_repository(name: &str) -> Result<(), Invalid> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Invalid::new(
            OciCode::NameInvalid,
            format!("a repository name has 1 to {MAX_NAME_LEN} characters"),
        ));
    }
    if !name.split('/').all(|c| component_ok(c.as_bytes())) {
        return Err(Invalid::new(
            OciCode::NameInvalid,
            "a repository name is '/'-separated components of a-z 0-9 joined by '.', '_', '__' or '-'",
        ));
    }
    Ok(())
}

/// Checks a tag against `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), Invalid> {
    let b = tag.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= MAX_TAG_LEN
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"._-".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(Invalid::new(
            OciCode::ManifestInvalid,
            "a tag is 1 to 128 characters of A-Z a-z 0-9 _ . - and does not start with . or -",
        ))
    }
}

/// Parses a digest from a request (a path segment, a query parameter).
pub fn parse_digest(s: &str) -> Result<Digest, Invalid> {
    s.parse::<Digest>().map_err(|e| {
        Invalid::new(
            OciCode::DigestInvalid,
            format!("invalid digest (sha256 and sha512 are supported): {e}"),
        )
    })
}

/// A manifest reference: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag.
    Tag(String),
    /// A digest.
    Digest(Digest),
}

impl Reference {
    /// Parses `reference` (a digest if it contains `:`, else a tag).
    pub fn parse(reference: &str) -> Result<Self, Invalid> {
        if reference.contains(':') {
            parse_digest(reference).map(Self::Digest)
        } else {
            validate_tag(reference)?;
            Ok(Self::Tag(reference.to_owned()))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tag(t) => f.write_str(t),
            Self::Digest(d) => write!(f, "{d}"),
        }
    }
}
