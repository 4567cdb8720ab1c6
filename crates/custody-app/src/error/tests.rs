use custody_crypto::sha256;
use custody_deploy::{DeployError, StoreError};

use super::{from_deploy, from_store};
use crate::codes::Code;

#[test]
fn deploy_errors_map_to_their_codes() {
    let cases = [
        (
            DeployError::InvalidEnvironment("Prod".into()),
            Code::EnvironmentNameInvalid,
        ),
        (
            DeployError::InvalidRepository("App".into()),
            Code::RegistryNameInvalid,
        ),
        (
            DeployError::MalformedJson("duplicate key".into()),
            Code::DeployRecordInvalid,
        ),
        (
            DeployError::InvalidPredicate {
                field: "sequence".into(),
                reason: "0".into(),
            },
            Code::DeployRecordInvalid,
        ),
        (
            DeployError::EnvironmentMismatch {
                expected: "prod".into(),
                found: "dev".into(),
            },
            Code::DeployRecordInvalid,
        ),
        (
            DeployError::Conflict {
                environment: "prod".into(),
                expected: 3,
                found: 2,
            },
            Code::PromotionConflict,
        ),
        (
            DeployError::PreviousMismatch {
                environment: "prod".into(),
                expected: None,
                found: Some(sha256(b"a").to_string()),
            },
            Code::PromotionConflict,
        ),
        (
            DeployError::NotARollbackCandidate {
                environment: "prod".into(),
                digest: sha256(b"a"),
            },
            Code::RollbackTargetInvalid,
        ),
        (
            DeployError::Storage("disk full".into()),
            Code::EnvironmentStoreFailed,
        ),
    ];
    for (err, code) in cases {
        let mapped = from_deploy(&err);
        assert_eq!(mapped.code(), code, "{err}");
        assert_eq!(mapped.message(), err.to_string());
    }
}

#[test]
fn store_errors_map_to_their_codes() {
    let conflict = StoreError::Conflict {
        environment: "prod".into(),
        expected: 4,
        found: 3,
    };
    assert_eq!(from_store(&conflict).code(), Code::PromotionConflict);
    assert_eq!(
        crate::Error::from(conflict).exit_status(),
        1,
        "a lost race is a refusal, not an I/O failure"
    );
    let storage = StoreError::Storage("database is locked".into());
    assert_eq!(
        crate::Error::from(storage).code(),
        Code::EnvironmentStoreFailed
    );
}

#[test]
fn deployment_codes_use_their_reserved_numbers() {
    for code in [
        Code::PromotionConflict,
        Code::DeployRecordInvalid,
        Code::RollbackTargetInvalid,
        Code::EnvironmentNameInvalid,
        Code::EnvironmentStoreFailed,
    ] {
        let n = code.number();
        assert!(
            (1095..=1099).contains(&n) || (2075..=2079).contains(&n) || (3060..=3064).contains(&n),
            "{code}"
        );
    }
}
