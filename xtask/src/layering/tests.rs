use super::{ALLOWED_EDGES, DEV_ONLY_CRATES, check, check_against, check_table};

/// A package's internal dependencies as `(name, kind)`; kind `None` is a normal dependency.
type Edges<'a> = &'a [(&'a str, Option<&'a str>)];
/// Fabricated workspace packages with their dependencies.
type Tree<'a> = Vec<(&'a str, Edges<'a>)>;

/// Builds `cargo metadata --no-deps` output for packages given as `(name, [(dependency, kind)])`,
/// where kind is `None` (normal), `Some("dev")` or `Some("build")`. Besides the workspace
/// crates, every package also depends on `serde` from crates.io, which the check must ignore.
fn metadata(packages: &[(&str, Edges<'_>)]) -> String {
    let packages: Vec<serde_json::Value> = packages
        .iter()
        .map(|(name, dependencies)| {
            let mut dependencies: Vec<serde_json::Value> = dependencies
                .iter()
                .map(|(dependency, kind)| {
                    serde_json::json!({
                        "name": dependency,
                        "source": null,
                        "req": "*",
                        "kind": kind,
                        "rename": null,
                        "optional": false,
                        "uses_default_features": true,
                        "features": [],
                        "target": null,
                        "path": format!("/work/crates/{dependency}"),
                    })
                })
                .collect();
            dependencies.push(serde_json::json!({
                "name": "serde",
                "source": "registry+https://github.com/rust-lang/crates.io-index",
                "req": "^1",
                "kind": null,
                "rename": null,
                "optional": false,
                "uses_default_features": true,
                "features": ["derive"],
                "target": null,
            }));
            serde_json::json!({
                "name": name,
                "version": "0.1.0",
                "id": format!("path+file:///work/crates/{name}#0.1.0"),
                "source": null,
                "dependencies": dependencies,
                "manifest_path": format!("/work/crates/{name}/Cargo.toml"),
            })
        })
        .collect();
    let members: Vec<&serde_json::Value> = packages.iter().map(|package| &package["id"]).collect();
    serde_json::json!({
        "packages": packages,
        "workspace_members": members,
        "workspace_default_members": members,
        "resolve": null,
        "target_directory": "/work/target",
        "version": 1,
        "workspace_root": "/work",
        "metadata": null,
    })
    .to_string()
}

/// The crates and edges that exist today; they must pass.
fn current_tree() -> Tree<'static> {
    vec![
        ("custody-crypto", &[]),
        ("custody-formats", &[("custody-crypto", None)]),
        ("custody-log", &[("custody-crypto", None)]),
        (
            "custody-app",
            &[
                ("custody-crypto", None),
                ("custody-formats", None),
                ("custody-log", None),
            ],
        ),
        (
            "custody-cli",
            &[
                ("custody-app", None),
                ("custody-crypto", None),
                ("custody-formats", None),
                ("custody-log", None),
            ],
        ),
        ("xtask", &[]),
    ]
}

#[test]
fn declared_edges_pass() {
    assert_eq!(check(&metadata(&current_tree())), Ok(()));
}

#[test]
fn reversed_edge_is_detected() {
    let mut tree = current_tree();
    tree[0] = ("custody-crypto", &[("custody-formats", None)]);
    let violations = check(&metadata(&tree)).unwrap_err();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0].starts_with("`custody-crypto` -> `custody-formats` (dependency)"),
        "{violations:#?}"
    );
    assert!(
        violations[0].contains("may depend on no internal crate"),
        "{violations:#?}"
    );
}

#[test]
fn sibling_edge_is_detected() {
    let mut tree = current_tree();
    tree[2] = (
        "custody-log",
        &[("custody-crypto", None), ("custody-formats", None)],
    );
    let violations = check(&metadata(&tree)).unwrap_err();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0].starts_with("`custody-log` -> `custody-formats`"),
        "{violations:#?}"
    );
}

#[test]
fn dev_and_build_dependencies_follow_the_same_rule() {
    for (kind, label) in [("dev", "dev-dependency"), ("build", "build-dependency")] {
        let edges = [("custody-crypto", None), ("custody-app", Some(kind))];
        let mut tree: Tree<'_> = current_tree();
        tree[1] = ("custody-formats", &edges);
        let violations = check(&metadata(&tree)).unwrap_err();
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let expected = format!("`custody-formats` -> `custody-app` ({label})");
        assert!(violations[0].starts_with(&expected), "{violations:#?}");
    }
}

#[test]
fn test_support_is_allowed_only_as_a_dev_dependency() {
    let mut tree = current_tree();
    tree.push(("custody-test-support", &[("custody-crypto", None)]));
    tree[1] = (
        "custody-formats",
        &[
            ("custody-crypto", None),
            ("custody-test-support", Some("dev")),
        ],
    );
    assert_eq!(check(&metadata(&tree)), Ok(()));

    tree[1] = (
        "custody-formats",
        &[("custody-crypto", None), ("custody-test-support", None)],
    );
    let violations = check(&metadata(&tree)).unwrap_err();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(violations[0].starts_with("`custody-formats` -> `custody-test-support` (dependency)"));
}

#[test]
fn undeclared_crate_must_be_declared() {
    let mut tree = current_tree();
    tree.push(("custody-gadget", &[("custody-crypto", None)]));
    let violations = check(&metadata(&tree)).unwrap_err();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0].contains("`custody-gadget` is not declared"),
        "{violations:#?}"
    );
    assert!(
        violations[0].contains("declare it in xtask/src/layering.rs"),
        "{violations:#?}"
    );
}

#[test]
fn every_violation_is_reported() {
    let tree: Tree<'_> = vec![
        (
            "custody-crypto",
            &[("custody-formats", None), ("custody-log", None)],
        ),
        ("custody-formats", &[("custody-crypto", None)]),
        (
            "custody-log",
            &[("custody-crypto", None), ("custody-app", Some("dev"))],
        ),
        ("custody-app", &[]),
    ];
    let violations = check(&metadata(&tree)).unwrap_err();
    assert_eq!(violations.len(), 3, "{violations:#?}");
}

#[test]
fn external_crates_are_ignored() {
    // `serde` is in every fabricated package; a crate that is not a workspace member never counts.
    let tree: Tree<'_> = vec![("custody-crypto", &[("custody-formats", None)])];
    assert_eq!(check(&metadata(&tree)), Ok(()));
}

#[test]
fn malformed_metadata_is_an_error() {
    assert!(check("not json").unwrap_err()[0].contains("not JSON"));
    assert!(check("{}").unwrap_err()[0].contains("workspace_members"));
}

#[test]
fn check_against_uses_the_given_table() {
    let tree: Tree<'_> = vec![("a", &[]), ("b", &[("a", None)])];
    assert_eq!(
        check_against(&metadata(&tree), &[("a", &[]), ("b", &["a"])], &[]),
        Ok(())
    );
    assert!(check_against(&metadata(&tree), &[("a", &[]), ("b", &[])], &[]).is_err());
}

#[test]
fn table_is_acyclic_and_closed() {
    assert_eq!(check_table(ALLOWED_EDGES), Ok(()));
    for dev_only in DEV_ONLY_CRATES {
        assert!(
            ALLOWED_EDGES.iter().any(|(name, _)| name == dev_only),
            "{dev_only} is not declared"
        );
        assert!(
            ALLOWED_EDGES
                .iter()
                .all(|(_, targets)| !targets.contains(dev_only)),
            "{dev_only} may only be a dev-dependency"
        );
    }
}

#[test]
fn table_checker_finds_cycles_and_undeclared_targets() {
    let cycle = check_table(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]).unwrap_err();
    assert!(
        cycle.starts_with("cycle in the layering table: a -> b -> c -> a"),
        "{cycle}"
    );
    let undeclared = check_table(&[("a", &["z"])]).unwrap_err();
    assert!(undeclared.contains("`z` is not declared"), "{undeclared}");
    let twice = check_table(&[("a", &[]), ("a", &[])]).unwrap_err();
    assert!(twice.contains("declared twice"), "{twice}");
}
