//! Drift: the files found on a deployed machine compared with the files expected there.
//!
//! Paths are `/`-separated paths relative to the deployment's root. The caller computes each
//! found file's digest in the algorithm of the expected digest for the same path; digests of
//! different algorithms never match.

use std::collections::BTreeMap;

use custody_crypto::Digest;

/// A file the deployed artifact says should be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The relative, `/`-separated path.
    pub path: String,
    /// Its digest.
    pub digest: Digest,
}

/// A file found on the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The relative, `/`-separated path.
    pub path: String,
    /// Its digest, in the algorithm of the expected digest for the same path.
    pub digest: Digest,
}

/// The outcome of [`compare`]; every list is sorted by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftReport {
    /// Expected files found with the expected digest.
    pub matched: Vec<String>,
    /// Expected files found with another digest: (path, expected, found).
    pub modified: Vec<(String, Digest, Digest)>,
    /// Expected files not found.
    pub missing: Vec<String>,
    /// Files found that were not expected (reported; not drift by themselves).
    pub unexpected: Vec<String>,
}

impl DriftReport {
    /// Whether the machine drifted: an expected file is modified or missing.
    pub fn drifted(&self) -> bool {
        !self.modified.is_empty() || !self.missing.is_empty()
    }
}

/// Compares `found` with `expected`. A path listed twice counts once, with its first digest.
pub fn compare(expected: &[Expected], found: &[Found]) -> DriftReport {
    let mut wanted: BTreeMap<&str, &Digest> = BTreeMap::new();
    for file in expected {
        wanted.entry(&file.path).or_insert(&file.digest);
    }
    let mut present: BTreeMap<&str, &Digest> = BTreeMap::new();
    for file in found {
        present.entry(&file.path).or_insert(&file.digest);
    }
    let mut report = DriftReport::default();
    for (path, want) in &wanted {
        match present.get(path) {
            None => report.missing.push((*path).to_owned()),
            Some(have) if have == want => report.matched.push((*path).to_owned()),
            Some(have) => report.modified.push(((*path).to_owned(), **want, **have)),
        }
    }
    report.unexpected = present
        .keys()
        .filter(|path| !wanted.contains_key(*path))
        .map(|path| (*path).to_owned())
        .collect();
    report
}

#[cfg(test)]
mod tests;
