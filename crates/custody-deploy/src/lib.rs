//! Deployments for custody: environments, their promotion histories, approvals, and drift.
//!
//! The domain:
//! - An *environment* is a named place an artifact runs in, conventionally `dev` → `staging`
//!   → `prod`. Names follow `[a-z][a-z0-9_]{0,62}` ([`validate_environment`]) so that they are
//!   Rego identifiers (the policy of environment `ENV` is package `custody.env.ENV`).
//! - An *artifact* is an OCI manifest in custody's registry, named by its digest.
//! - A *promotion event* makes an artifact the current one of an environment. Its signed
//!   predicate ([`Promotion`], type [`PROMOTION_PREDICATE_TYPE`], subject = the manifest digest)
//!   carries the environment, whether it promotes or rolls back ([`EventKind`]), the
//!   repository, its 1-based `sequence` in the environment's history and the `previous`
//!   current digest. Events form an append-only history per environment
//!   ([`EnvironmentEvent`], stored through [`EnvironmentStore`]): an event is valid only at its
//!   own position ([`check_next`]), so a signed event cannot be replayed later, and two
//!   concurrent promotions cannot both be appended. The current artifact is the last event's
//!   ([`current`]); a rollback goes back to one that was current before
//!   ([`rollback_candidates`]).
//! - An *approval* ([`Approval`], type [`APPROVAL_PREDICATE_TYPE`]) is signed by an approver
//!   key over a statement whose subject is the manifest digest and whose predicate names the
//!   environment, so an approval binds one digest to one environment and cannot be moved to
//!   another artifact or environment.
//! - *Drift* ([`drift`]) compares the files found on a deployed machine with the files the
//!   current artifact says should be there.
//!
//! What it is not: storage, signing or verification. This crate does no I/O and reads no
//! clock; predicates are checked here, signatures and log inclusion by `custody-app`, and the
//! histories are stored by `custody-store`.
//!
//! ```
//! use custody_deploy::{Approval, EventKind, Promotion};
//!
//! let approval = Approval { environment: "prod".into(), comment: None };
//! let value = approval.to_predicate();
//! assert_eq!(value, serde_json::json!({"environment": "prod"}));
//! assert_eq!(Approval::from_predicate(&value).unwrap(), approval);
//!
//! let first = Promotion {
//!     environment: "staging".into(),
//!     kind: EventKind::Promote,
//!     repository: "app".into(),
//!     sequence: 1,
//!     previous: None,
//!     reason: None,
//! };
//! assert_eq!(Promotion::from_predicate(&first.to_predicate()).unwrap(), first);
//! ```

pub mod drift;
mod error;
mod history;
mod names;
mod predicate;

pub use crate::error::DeployError;
pub use crate::history::{
    EnvironmentEvent, EnvironmentStore, StoreError, check_next, check_rollback_target, current,
    rollback_candidates,
};
pub use crate::names::{validate_environment, validate_repository};
pub use crate::predicate::{
    APPROVAL_PREDICATE_TYPE, Approval, EventKind, MAX_SEQUENCE, MAX_TEXT_CHARS,
    PROMOTION_PREDICATE_TYPE, Promotion, parse_predicate,
};
