//! Tidy checks over the real workspace: the crate layering and forbidden source patterns.

use xtask::{layering, tidy, workspace_root};

#[test]
fn workspace_crates_follow_the_declared_layering() {
    let metadata = layering::cargo_metadata(&workspace_root()).unwrap();
    if let Err(violations) = layering::check(&metadata) {
        panic!("crate layering violated:\n{}", violations.join("\n"));
    }
}

#[test]
fn layering_table_is_acyclic() {
    layering::check_table(layering::ALLOWED_EDGES).unwrap();
}

#[test]
fn sources_have_no_forbidden_patterns() {
    let findings = tidy::scan_workspace(&workspace_root()).unwrap();
    let report: Vec<String> = findings.iter().map(ToString::to_string).collect();
    assert!(
        report.is_empty(),
        "forbidden patterns found:\n{}",
        report.join("\n")
    );
}
