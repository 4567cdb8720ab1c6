//! The build's environment: an allow-list, never the invoker's environment.
//!
//! The step sees exactly `PATH`, `HOME` and `TMPDIR` (its private temporary directory), `LANG`,
//! `TZ`, `SOURCE_DATE_EPOCH` (the source commit's time), `CUSTODY_OUT` and `PWD`, plus the variables the
//! invoker names with `--env NAME`, whose values are taken from the invoker's environment.
//! Names starting with `CUSTODY_` (passphrases and tokens live there) and the fixed names above
//! other than `PATH` cannot be opted in.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind};
use crate::sandbox::{SANDBOX_OUT, SANDBOX_SOURCE, SANDBOX_TMP};

/// `PATH` inside the sandbox unless the invoker opts in their own.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Names the sandbox sets itself; they cannot be opted in.
const FIXED: &[&str] = &[
    "HOME",
    "PWD",
    "TMPDIR",
    "LANG",
    "TZ",
    "SOURCE_DATE_EPOCH",
    "CUSTODY_OUT",
];

/// True for a portable environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The environment of the build step.
///
/// `opt_in` are the names given with `--env`; `lookup` reads the invoker's environment. A name
/// that is malformed, reserved, or not set in the invoker's environment is refused: a build
/// that silently ran without a variable it asked for would be recorded wrongly.
pub fn sandbox_env(
    opt_in: &[String],
    source_date_epoch: i64,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, Error> {
    let mut env = BTreeMap::new();
    env.insert("PATH".to_owned(), DEFAULT_PATH.to_owned());
    env.insert("HOME".to_owned(), SANDBOX_TMP.to_owned());
    env.insert("TMPDIR".to_owned(), SANDBOX_TMP.to_owned());
    env.insert("LANG".to_owned(), "C.UTF-8".to_owned());
    env.insert("TZ".to_owned(), "UTC".to_owned());
    env.insert(
        "SOURCE_DATE_EPOCH".to_owned(),
        source_date_epoch.to_string(),
    );
    env.insert("CUSTODY_OUT".to_owned(), SANDBOX_OUT.to_owned());
    env.insert("PWD".to_owned(), SANDBOX_SOURCE.to_owned());
    for name in opt_in {
        if !valid_name(name) {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("'{name}' is not an environment variable name"),
            ));
        }
        if FIXED.contains(&name.as_str()) || name.starts_with("CUSTODY_") {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "{name} is set by the sandbox (or holds custody's secrets) and cannot be passed in"
                ),
            ));
        }
        let Some(value) = lookup(name) else {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("--env {name}: the variable is not set"),
            ));
        };
        env.insert(name.clone(), value);
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "CC" => Some("clang".to_owned()),
            "PATH" => Some("/opt/bin:/usr/bin".to_owned()),
            "CUSTODY_PASSPHRASE" => Some("secret".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn only_the_allow_list_by_default() {
        let env = sandbox_env(&[], 1_700_000_000, &lookup).unwrap();
        let names: Vec<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "CUSTODY_OUT",
                "HOME",
                "LANG",
                "PATH",
                "PWD",
                "SOURCE_DATE_EPOCH",
                "TMPDIR",
                "TZ"
            ]
        );
        assert_eq!(env["SOURCE_DATE_EPOCH"], "1700000000");
        assert_eq!(env["HOME"], "/tmp");
        assert_eq!(env["PATH"], DEFAULT_PATH);
    }

    #[test]
    fn opt_ins_take_the_invokers_value() {
        let env = sandbox_env(&["CC".into(), "PATH".into()], 0, &lookup).unwrap();
        assert_eq!(env["CC"], "clang");
        assert_eq!(env["PATH"], "/opt/bin:/usr/bin");
    }

    #[test]
    fn reserved_unset_and_malformed_names_are_refused() {
        for name in [
            "CUSTODY_PASSPHRASE",
            "HOME",
            "SOURCE_DATE_EPOCH",
            "UNSET",
            "A=B",
            "1X",
            "",
        ] {
            let err = sandbox_env(&[name.to_owned()], 0, &lookup).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Usage, "{name}");
        }
    }
}
