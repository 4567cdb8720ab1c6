use super::{FORBIDDEN, scan_source, scan_workspace};

/// The forbidden texts found in `source`, with their line numbers.
fn check(source: &str) -> Vec<(usize, &'static str)> {
    scan_source(source)
        .into_iter()
        .map(|(line, pattern)| (line, pattern.text))
        .collect()
}

#[test]
fn every_pattern_is_found() {
    for pattern in FORBIDDEN {
        let source = format!("fn f() {{}}\n    {}\n", pattern.text);
        assert_eq!(check(&source), [(2, pattern.text)], "{source}");
    }
}

#[test]
fn attribute_forms_are_found() {
    let ignore_with_reason = concat!("#[", "ignore = \"slow\"]\nfn t() {}");
    assert_eq!(check(ignore_with_reason).len(), 1);
    let expected_panic = concat!("#[test]\n#[", "should_panic(expected = \"boom\")]");
    assert_eq!(check(expected_panic), [(2, concat!("#[", "should_panic"))]);
}

#[test]
fn macros_must_start_a_word() {
    let source = concat!(
        "my_to",
        "do!(x);\nnot_db",
        "g!(y);\nlet v = ",
        "db",
        "g!(z);"
    );
    assert_eq!(check(source), [(3, concat!("db", "g!("))]);
}

#[test]
fn clean_source_passes() {
    let source = "#[test]\nfn ignores_nothing() {\n    assert_eq!(todo_count(), 0);\n}\n";
    assert!(check(source).is_empty());
}

#[test]
fn this_crate_is_clean() {
    // The patterns are spelled with `concat!`, so xtask itself passes its own check.
    let root = crate::workspace_root();
    let findings = scan_workspace(&root).unwrap();
    let own: Vec<_> = findings
        .iter()
        .filter(|finding| finding.path.starts_with("xtask"))
        .collect();
    assert!(own.is_empty(), "{own:#?}");
}
