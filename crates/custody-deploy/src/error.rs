use custody_crypto::Digest;
use thiserror::Error;

/// Why a predicate, a name or a history step was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DeployError {
    /// An environment name outside `[a-z][a-z0-9_]{0,62}`.
    #[error(
        "invalid environment name '{0}': use 1 to 63 of a-z, 0-9 and _, starting with a letter"
    )]
    InvalidEnvironment(String),
    /// A repository name outside the OCI distribution grammar.
    #[error("invalid repository name '{0}'")]
    InvalidRepository(String),
    /// A predicate that is not JSON, or not strict JSON (duplicate keys, too large, too deep).
    #[error("predicate is not valid JSON: {0}")]
    MalformedJson(String),
    /// A predicate field is missing, unknown, of the wrong type or out of range.
    #[error("invalid predicate field '{field}': {reason}")]
    InvalidPredicate {
        /// The field (or `(predicate)` for the value as a whole).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The event's sequence is not the next position of the environment's history: the
    /// environment moved since the event was made (or the event is replayed).
    #[error(
        "environment '{environment}' moved: the next event must have sequence {expected}, this one has {found}"
    )]
    Conflict {
        /// The environment.
        environment: String,
        /// The sequence the next event must carry (the history's length + 1).
        expected: u64,
        /// The sequence the event carries.
        found: u64,
    },
    /// The event's `previous` is not the environment's current digest.
    #[error(
        "environment '{environment}': the event follows {}, but the current artifact is {}",
        show(.found), show(.expected)
    )]
    PreviousMismatch {
        /// The environment.
        environment: String,
        /// The current digest of the environment, `algorithm:hex` (`None` for an empty history).
        expected: Option<String>,
        /// The `previous` digest the event names, `algorithm:hex`.
        found: Option<String>,
    },
    /// The event belongs to another environment than the history it is checked against.
    #[error("the event is for environment '{found}', not '{expected}'")]
    EnvironmentMismatch {
        /// The history's environment.
        expected: String,
        /// The event's environment.
        found: String,
    },
    /// A rollback to a digest that was never current before the current one.
    #[error(
        "environment '{environment}': {digest} was never deployed before the current artifact, so it cannot be rolled back to"
    )]
    NotARollbackCandidate {
        /// The environment.
        environment: String,
        /// The rollback's target.
        digest: Digest,
    },
    /// The environment store failed (see [`crate::StoreError::Storage`]).
    #[error("environment store: {0}")]
    Storage(String),
}

fn show(digest: &Option<String>) -> String {
    digest
        .clone()
        .unwrap_or_else(|| "nothing (an empty history)".to_owned())
}
