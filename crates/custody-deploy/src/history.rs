//! Environment histories: recorded events, the storage trait, and the rules for the next event.

use std::collections::HashSet;

use custody_crypto::Digest;
use thiserror::Error;
use time::OffsetDateTime;

use crate::{DeployError, EventKind, Promotion};

/// One recorded event of an environment's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentEvent {
    /// The environment.
    pub environment: String,
    /// The event's 1-based position in the history.
    pub sequence: u64,
    /// Promote or roll back.
    pub kind: EventKind,
    /// The registry repository of the artifact.
    pub repository: String,
    /// The artifact (manifest) that is current from this event on.
    pub digest: Digest,
    /// The digest that was current before (`None` for the first event).
    pub previous: Option<Digest>,
    /// The key id of the release key that signed the event.
    pub signer: String,
    /// The event's transparency-log entry.
    pub log_index: u64,
    /// The signed, logged promotion bundle (Sigstore bundle JSON).
    pub bundle: Vec<u8>,
    /// When the event was recorded.
    pub recorded_at: OffsetDateTime,
}

/// A storage failure of an [`EnvironmentStore`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The history does not have `expected - 1` events: the environment moved since the
    /// caller read it (another promotion won), or the event is out of sequence.
    #[error(
        "environment '{environment}' moved: the next event must have sequence {expected}, this one has {found}"
    )]
    Conflict {
        /// The environment.
        environment: String,
        /// The sequence the next event must carry (the stored history's length + 1).
        expected: u64,
        /// The sequence the refused event carries.
        found: u64,
    },
    /// The store could not be read or written, or holds data custody did not write.
    #[error("environment store: {0}")]
    Storage(String),
}

impl From<StoreError> for DeployError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict {
                environment,
                expected,
                found,
            } => Self::Conflict {
                environment,
                expected,
                found,
            },
            StoreError::Storage(m) => Self::Storage(m),
        }
    }
}

/// Where environment histories live. Histories are append-only: there is no way to change or
/// remove an event. Implemented by `custody-store`.
pub trait EnvironmentStore: Send + Sync {
    /// Appends `event` durably (acknowledged only after it is durable) iff the environment's
    /// history currently has exactly `event.sequence - 1` events; otherwise
    /// [`StoreError::Conflict`]. Two appends of the same sequence never both succeed.
    fn append(&self, event: &EnvironmentEvent) -> Result<(), StoreError>;

    /// The environment's events, oldest first (empty for an unknown environment).
    fn history(&self, environment: &str) -> Result<Vec<EnvironmentEvent>, StoreError>;

    /// Names of environments with at least one event, sorted.
    fn environments(&self) -> Result<Vec<String>, StoreError>;

    /// Every event (any environment) whose digest is `digest`, for incident response: ordered
    /// by environment, then sequence.
    fn events_for_digest(&self, digest: &Digest) -> Result<Vec<EnvironmentEvent>, StoreError>;
}

/// The current event (whose digest is the environment's current artifact): the last one.
pub fn current(history: &[EnvironmentEvent]) -> Option<&EnvironmentEvent> {
    history.last()
}

/// Rollback candidates, newest first: the digests that were current before the current one,
/// each once and never the current digest, with the repository they were promoted from.
pub fn rollback_candidates(history: &[EnvironmentEvent]) -> Vec<(Digest, String)> {
    let Some((last, earlier)) = history.split_last() else {
        return Vec::new();
    };
    let mut seen = HashSet::from([last.digest]);
    earlier
        .iter()
        .rev()
        .filter(|event| seen.insert(event.digest))
        .map(|event| (event.digest, event.repository.clone()))
        .collect()
}

/// Checks that `promotion` may be appended to `history` (the history of its environment):
/// same environment, `sequence` is the history's length + 1 ([`DeployError::Conflict`]
/// otherwise), and `previous` is the current digest ([`DeployError::PreviousMismatch`]).
pub fn check_next(history: &[EnvironmentEvent], promotion: &Promotion) -> Result<(), DeployError> {
    if let Some(other) = history
        .iter()
        .find(|event| event.environment != promotion.environment)
    {
        return Err(DeployError::EnvironmentMismatch {
            expected: other.environment.clone(),
            found: promotion.environment.clone(),
        });
    }
    let expected = history.len() as u64 + 1;
    if promotion.sequence != expected {
        return Err(DeployError::Conflict {
            environment: promotion.environment.clone(),
            expected,
            found: promotion.sequence,
        });
    }
    let current = current(history).map(|event| event.digest);
    if promotion.previous != current {
        return Err(DeployError::PreviousMismatch {
            environment: promotion.environment.clone(),
            expected: current.map(|d| d.to_string()),
            found: promotion.previous.map(|d| d.to_string()),
        });
    }
    Ok(())
}

/// Checks that a rollback to `digest` goes back to an artifact that was current before the
/// current one (one of [`rollback_candidates`]).
pub fn check_rollback_target(
    history: &[EnvironmentEvent],
    environment: &str,
    digest: &Digest,
) -> Result<(), DeployError> {
    if rollback_candidates(history)
        .iter()
        .any(|(candidate, _)| candidate == digest)
    {
        Ok(())
    } else {
        Err(DeployError::NotARollbackCandidate {
            environment: environment.to_owned(),
            digest: *digest,
        })
    }
}

#[cfg(test)]
mod tests;
