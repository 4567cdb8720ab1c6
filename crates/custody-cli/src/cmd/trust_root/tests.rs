use std::path::Path;

use custody_app::Code;
use custody_formats::trust_root::Role;

use super::{KeySpec, parse_key_spec};

#[test]
fn key_spec_takes_a_role_a_path_and_an_optional_owner() {
    assert_eq!(
        parse_key_spec("build=build.pub").unwrap(),
        KeySpec {
            role: Role::Build,
            path: Path::new("build.pub"),
            owner: None
        }
    );
    assert_eq!(
        parse_key_spec("approver=keys/bob.pub,owner=bob@example.com").unwrap(),
        KeySpec {
            role: Role::Approver,
            path: Path::new("keys/bob.pub"),
            owner: Some("bob@example.com")
        }
    );
    // The owner is everything after ",owner=", commas and '=' included.
    assert_eq!(
        parse_key_spec("release=r.pub,owner=CI, team=release").unwrap(),
        KeySpec {
            role: Role::Release,
            path: Path::new("r.pub"),
            owner: Some("CI, team=release")
        }
    );
    // An empty owner is passed on, and refused when the key is built.
    assert_eq!(
        parse_key_spec("build=b.pub,owner=").unwrap().owner,
        Some("")
    );
    for bad in ["build", "janitor=x.pub", "build=", "build=,owner=bob"] {
        assert_eq!(
            parse_key_spec(bad).unwrap_err().code(),
            Code::InvalidArgument,
            "{bad}"
        );
    }
}
