//! `custody rebuild --vary`: perturbing what should not matter to a build, like reprotest does
//! (pure; the host side is [`crate::host::recreate_reversed`] and
//! [`crate::host::faketime_program`]).
//!
//! Varied: the path of the source checkout inside the sandbox (unless the command names
//! [`SANDBOX_SOURCE`]), the clock (under `faketime`, when installed), the locale (`LANG`), the
//! umask, and the order in which the checkout's files are created. Not varied: anything the
//! provenance records as an input (`SOURCE_DATE_EPOCH`, the commit, the opted-in variables).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::sandbox::{SANDBOX_SOURCE, Sandbox};

/// The umask of a normal build (bwrap keeps the invoker's; this is the usual one).
pub const NORMAL_UMASK: u32 = 0o022;
/// The umask of a varied build.
pub const VARIED_UMASK: u32 = 0o002;
/// The clock offset of a varied build, in `faketime` syntax (a year and a month ahead).
pub const FAKETIME_OFFSET: &str = "+397d";

/// The variations of one varied rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variations {
    /// The source checkout's path inside the sandbox, when varied.
    pub build_path: Option<PathBuf>,
    /// `LANG` of the varied build.
    pub locale: String,
    /// The umask of the varied build.
    pub umask: u32,
    /// The `faketime` program (a path the sandbox sees) and offset, when the clock is varied.
    pub faketime: Option<(PathBuf, String)>,
    /// The checkout's files are created in reverse order.
    pub reverse_file_order: bool,
    /// Variations not applied, with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Plans the variations for `command` (the recorded argv) whose normal locale is `locale`.
/// `suffix` makes the build path unique (random hex); `faketime` tells whether `faketime` is
/// installed.
pub fn plan(command: &[String], locale: &str, suffix: &str, faketime: Option<&Path>) -> Variations {
    let mut skipped = Vec::new();
    let names_source = command.iter().any(|a| a.contains(SANDBOX_SOURCE));
    let build_path = if names_source {
        skipped.push((
            "buildPath".to_owned(),
            format!("the recorded command names {SANDBOX_SOURCE}"),
        ));
        None
    } else {
        Some(PathBuf::from(format!("/build/src-{suffix}")))
    };
    let faketime = match faketime {
        Some(program) => Some((program.to_path_buf(), FAKETIME_OFFSET.to_owned())),
        None => {
            skipped.push((
                "time".to_owned(),
                "faketime is not installed (Debian package faketime)".to_owned(),
            ));
            None
        }
    };
    let locale = if locale == "C" { "C.UTF-8" } else { "C" };
    Variations {
        build_path,
        locale: locale.to_owned(),
        umask: VARIED_UMASK,
        faketime,
        reverse_file_order: true,
        skipped,
    }
}

impl Variations {
    /// Applies the variations to the sandbox and returns the argv to run: the command wrapped
    /// in `faketime` (when the clock is varied) and a shell that sets the umask.
    pub fn apply(&self, sandbox: &mut Sandbox, command: &[String]) -> Vec<String> {
        if let Some(path) = &self.build_path {
            sandbox.source_mount = path.clone();
            sandbox
                .env
                .insert("PWD".to_owned(), path.display().to_string());
        }
        sandbox.env.insert("LANG".to_owned(), self.locale.clone());
        let mut argv = Vec::new();
        if let Some((program, offset)) = &self.faketime {
            argv.extend([
                program.display().to_string(),
                "-f".to_owned(),
                offset.clone(),
            ]);
        }
        argv.extend([
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            format!("umask {:04o} && exec \"$@\"", self.umask),
            "sh".to_owned(),
        ]);
        argv.extend(command.iter().cloned());
        argv
    }

    /// The variations as recorded in the rebuild attestation's predicate.
    pub fn describe(&self) -> Value {
        json!({
            "buildPath": self.build_path.as_ref().map(|p| p.display().to_string()),
            "locale": {"LANG": self.locale},
            "umask": format!("{:04o}", self.umask),
            "time": self.faketime.as_ref().map(|(_, o)| json!({"faketime": o})),
            "fileOrder": if self.reverse_file_order { "reverse creation order" } else { "unchanged" },
            "skipped": self.skipped.iter().map(|(k, v)| json!({"variation": k, "reason": v})).collect::<Vec<_>>(),
        })
    }

    /// One line for people.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.build_path {
            parts.push(format!("build path {}", p.display()));
        }
        if let Some((_, o)) = &self.faketime {
            parts.push(format!("clock {o} (faketime)"));
        }
        parts.push(format!("LANG={}", self.locale));
        parts.push(format!("umask {:04o}", self.umask));
        if self.reverse_file_order {
            parts.push("files created in reverse order".to_owned());
        }
        let mut text = parts.join(", ");
        for (what, why) in &self.skipped {
            text.push_str(&format!("; not varied: {what} ({why})"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sandbox::{Limits, Network};

    fn sandbox() -> Sandbox {
        Sandbox {
            source: "/stage/src".into(),
            source_mount: SANDBOX_SOURCE.into(),
            out: "/stage/out".into(),
            network: Network::None,
            root_entries: Vec::new(),
            read_only: Vec::new(),
            env: BTreeMap::from([
                ("LANG".to_owned(), "C.UTF-8".to_owned()),
                ("PWD".to_owned(), SANDBOX_SOURCE.to_owned()),
                ("SOURCE_DATE_EPOCH".to_owned(), "1700000000".to_owned()),
            ]),
            limits: Limits::default(),
        }
    }

    #[test]
    fn everything_varies_when_it_can() {
        let command = vec!["make".to_owned(), "all".to_owned()];
        let v = plan(
            &command,
            "C.UTF-8",
            "abcd",
            Some(Path::new("/usr/bin/faketime")),
        );
        assert!(v.skipped.is_empty());
        let mut s = sandbox();
        let argv = v.apply(&mut s, &command);
        assert_eq!(s.source_mount, PathBuf::from("/build/src-abcd"));
        assert_eq!(s.env["PWD"], "/build/src-abcd");
        assert_eq!(s.env["LANG"], "C");
        assert_eq!(s.env["SOURCE_DATE_EPOCH"], "1700000000");
        assert_eq!(&argv[..3], &["/usr/bin/faketime", "-f", FAKETIME_OFFSET]);
        assert_eq!(argv[5], "umask 0002 && exec \"$@\"");
        assert!(argv.ends_with(&command));
        let args: Vec<String> = s
            .bwrap_args(&argv)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert!(
            args.windows(3)
                .any(|w| w == ["--ro-bind", "/stage/src", "/build/src-abcd"])
        );
        assert!(args.windows(2).any(|w| w == ["--chdir", "/build/src-abcd"]));
        let d = v.describe();
        assert_eq!(d["umask"], "0002");
        assert_eq!(d["time"]["faketime"], FAKETIME_OFFSET);
        assert_eq!(d["buildPath"], "/build/src-abcd");
    }

    #[test]
    fn what_cannot_vary_is_skipped_and_said() {
        let command = vec!["sh".to_owned(), "/src/build.sh".to_owned()];
        let v = plan(&command, "C", "abcd", None);
        assert_eq!(v.build_path, None);
        assert_eq!(v.faketime, None);
        assert_eq!(v.locale, "C.UTF-8");
        assert_eq!(v.skipped.len(), 2);
        let mut s = sandbox();
        let argv = v.apply(&mut s, &command);
        assert_eq!(s.source_mount, PathBuf::from(SANDBOX_SOURCE));
        assert_eq!(argv[0], "/bin/sh");
        assert!(
            v.summary()
                .contains("not varied: time (faketime is not installed")
        );
        assert_eq!(v.describe()["skipped"][0]["variation"], "buildPath");
    }
}
