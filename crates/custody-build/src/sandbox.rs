//! The sandbox's settings and the bubblewrap command line they become (pure; running it is
//! [`crate::host::run_sandboxed`]).
//!
//! The step runs in new user, mount, pid, network, ipc, uts and cgroup namespaces with every
//! capability dropped. Its file system is built from nothing: `/usr` and the merged-usr links
//! read-only, a short list of `/etc` files (no secrets: no shadow, no ssh keys), a fresh `/proc`
//! and minimal `/dev`, the source checkout read-only at [`SANDBOX_SOURCE`], a fresh writable
//! output directory at [`SANDBOX_OUT`], a private tmpfs at [`SANDBOX_TMP`], and any extra
//! read-only paths the invoker names. Nothing else of the host is mounted, so custody's data
//! directory and the signing key are not reachable whatever path the step knows.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Where the source checkout appears inside the sandbox (read-only; the working directory).
pub const SANDBOX_SOURCE: &str = "/src";
/// Where the output directory appears inside the sandbox (`$CUSTODY_OUT`).
pub const SANDBOX_OUT: &str = "/out";
/// The private temporary directory (a fresh tmpfs; also `HOME` and `TMPDIR`).
pub const SANDBOX_TMP: &str = "/tmp";

/// The `/etc` entries a toolchain needs: the loader cache, the alternatives links (`cc` is one),
/// user and group names. No credentials.
pub const ETC_ALLOW: &[&str] = &[
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
];

/// Added when the host network is shared: name resolution and CA certificates.
pub const ETC_NETWORK: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/ssl",
    "/etc/ca-certificates",
];

/// Whether the step may use the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Network {
    /// A new network namespace with only a loopback device: no network.
    #[default]
    None,
    /// The host's network (for builds that must fetch; the provenance records it).
    Host,
}

impl Network {
    /// The name used on the command line and in the provenance.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Host => "host",
        }
    }
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "host" => Ok(Self::Host),
            other => Err(format!("unknown network mode '{other}' (none or host)")),
        }
    }
}

/// Resource limits (rlimits) of the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU time in seconds (`RLIMIT_CPU`).
    pub cpu_seconds: u64,
    /// The largest file the step may write, in bytes (`RLIMIT_FSIZE`).
    pub file_size: u64,
    /// Processes of the invoking user (`RLIMIT_NPROC`).
    pub processes: u64,
    /// Open files per process (`RLIMIT_NOFILE`).
    pub open_files: u64,
    /// Wall-clock time in seconds; custody kills the sandbox (and with it every process in its
    /// pid namespace) when it is exceeded.
    pub wall_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            cpu_seconds: 3600,
            file_size: 8 * 1024 * 1024 * 1024,
            processes: 4096,
            open_files: 4096,
            wall_seconds: 3600,
        }
    }
}

/// A top-level entry of the host's root that the sandbox reproduces (`/bin`, `/lib`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootEntry {
    /// A symbolic link (merged /usr: `/bin -> usr/bin`).
    Symlink {
        /// The link's path, e.g. `/bin`.
        path: PathBuf,
        /// Its target, e.g. `usr/bin`.
        target: PathBuf,
    },
    /// A directory bound read-only.
    Directory(PathBuf),
}

/// Everything that defines the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    /// The host directory holding the source checkout.
    pub source: PathBuf,
    /// Where the source checkout appears inside the sandbox (the working directory):
    /// [`SANDBOX_SOURCE`], except in a varied rebuild ([`crate::vary`]).
    pub source_mount: PathBuf,
    /// The host directory that becomes `$CUSTODY_OUT`.
    pub out: PathBuf,
    /// Network mode.
    pub network: Network,
    /// The root entries besides `/usr` (from [`crate::host::root_entries`]).
    pub root_entries: Vec<RootEntry>,
    /// Extra host paths bound read-only at the same place (toolchains outside `/usr`).
    pub read_only: Vec<PathBuf>,
    /// The complete environment of the step.
    pub env: BTreeMap<String, String>,
    /// Resource limits.
    pub limits: Limits,
}

impl Sandbox {
    /// Host paths visible inside the sandbox at the same path (read-only). The source and
    /// output directories are not among them: they appear at fixed paths.
    pub fn visible_host_paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![PathBuf::from("/usr")];
        for entry in &self.root_entries {
            if let RootEntry::Directory(path) = entry {
                paths.push(path.clone());
            }
        }
        paths.extend(ETC_ALLOW.iter().map(PathBuf::from));
        if self.network == Network::Host {
            paths.extend(ETC_NETWORK.iter().map(PathBuf::from));
        }
        paths.extend(self.read_only.iter().cloned());
        paths
    }

    /// True when the host path `path` (absolute, without `..`) can be reached from inside.
    pub fn exposes(&self, path: &Path) -> bool {
        path.starts_with(&self.source)
            || path.starts_with(&self.out)
            || self
                .visible_host_paths()
                .iter()
                .any(|p| path.starts_with(p))
    }

    /// The `prlimit` arguments that set the limits (before `bwrap`).
    pub fn prlimit_args(&self) -> Vec<OsString> {
        let l = &self.limits;
        vec![
            format!("--cpu={}", l.cpu_seconds).into(),
            format!("--fsize={}", l.file_size).into(),
            format!("--nproc={}", l.processes).into(),
            format!("--nofile={}", l.open_files).into(),
            "--core=0".into(),
            "--".into(),
        ]
    }

    /// The `bwrap` arguments that run `argv` in the sandbox.
    pub fn bwrap_args(&self, argv: &[String]) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| {
            a.extend(items.iter().map(|i| i.as_ref().to_owned()));
        };
        push(&[&"--unshare-all", &"--die-with-parent", &"--new-session"]);
        push(&[&"--cap-drop", &"ALL", &"--hostname", &"custody-build"]);
        if self.network == Network::Host {
            push(&[&"--share-net"]);
        }
        push(&[&"--ro-bind", &"/usr", &"/usr"]);
        for entry in &self.root_entries {
            match entry {
                RootEntry::Symlink { path, target } => push(&[&"--symlink", target, path]),
                RootEntry::Directory(path) => push(&[&"--ro-bind", path, path]),
            }
        }
        let mut etc: Vec<&str> = ETC_ALLOW.to_vec();
        if self.network == Network::Host {
            etc.extend_from_slice(ETC_NETWORK);
        }
        for path in etc {
            push(&[&"--ro-bind-try", &path, &path]);
        }
        for path in &self.read_only {
            push(&[&"--ro-bind", path, path]);
        }
        push(&[&"--proc", &"/proc", &"--dev", &"/dev"]);
        push(&[&"--tmpfs", &SANDBOX_TMP]);
        push(&[&"--ro-bind", &self.source, &self.source_mount]);
        push(&[&"--bind", &self.out, &SANDBOX_OUT]);
        // The root is bwrap's own tmpfs (where /etc's few files are mounted): read-only too.
        push(&[&"--remount-ro", &"/"]);
        push(&[&"--chdir", &self.source_mount, &"--clearenv"]);
        for (name, value) in &self.env {
            push(&[&"--setenv", name, value]);
        }
        push(&[&"--"]);
        a.extend(argv.iter().map(OsString::from));
        a
    }

    /// The sandbox settings for the provenance's `internalParameters`. Values of opted-in
    /// environment variables are not recorded (they may be secrets); their names are, in the
    /// external parameters.
    pub fn describe(&self) -> Value {
        json!({
            "backend": "bubblewrap",
            "namespaces": ["user", "mount", "pid", "network", "ipc", "uts", "cgroup"],
            "capabilities": "none",
            "network": self.network.as_str(),
            "source": {"path": self.source_mount.display().to_string(), "access": "read-only"},
            "output": {"path": SANDBOX_OUT, "access": "read-write"},
            "tmp": {"path": SANDBOX_TMP, "kind": "tmpfs"},
            "readOnlyHostPaths": self
                .visible_host_paths()
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>(),
            "environment": self.env.keys().collect::<Vec<_>>(),
            "rlimits": {
                "cpuSeconds": self.limits.cpu_seconds,
                "fileSizeBytes": self.limits.file_size,
                "processes": self.limits.processes,
                "openFiles": self.limits.open_files,
            },
            "timeoutSeconds": self.limits.wall_seconds,
        })
    }
}

/// Resolves a command name as `execvp` would inside the sandbox, returning the sandbox path.
///
/// `is_file` answers for sandbox paths. A name with a slash is taken relative to the working
/// directory ([`SANDBOX_SOURCE`]).
pub fn resolve_command(
    name: &str,
    path_var: &str,
    is_file: &dyn Fn(&Path) -> bool,
) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    if name.contains('/') {
        let path = Path::new(SANDBOX_SOURCE).join(name);
        return is_file(&path).then_some(path);
    }
    path_var
        .split(':')
        .filter(|dir| dir.starts_with('/'))
        .map(|dir| Path::new(dir).join(name))
        .find(|p| is_file(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(network: Network) -> Sandbox {
        Sandbox {
            source: "/work/stage/src".into(),
            source_mount: SANDBOX_SOURCE.into(),
            out: "/work/stage/out".into(),
            network,
            root_entries: vec![
                RootEntry::Symlink {
                    path: "/bin".into(),
                    target: "usr/bin".into(),
                },
                RootEntry::Directory("/lib64".into()),
            ],
            read_only: vec!["/opt/toolchain".into()],
            env: BTreeMap::from([("PATH".into(), "/usr/bin".into())]),
            limits: Limits::default(),
        }
    }

    fn args(s: &Sandbox) -> Vec<String> {
        s.bwrap_args(&["make".into(), "all".into()])
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    fn has_seq(args: &[String], seq: &[&str]) -> bool {
        args.windows(seq.len()).any(|w| w == seq)
    }

    #[test]
    fn default_sandbox_has_no_network_and_a_read_only_source() {
        let a = args(&sandbox(Network::None));
        assert!(a.contains(&"--unshare-all".to_owned()));
        assert!(!a.contains(&"--share-net".to_owned()));
        assert!(has_seq(&a, &["--cap-drop", "ALL"]));
        assert!(has_seq(&a, &["--ro-bind", "/work/stage/src", "/src"]));
        assert!(has_seq(&a, &["--bind", "/work/stage/out", "/out"]));
        assert!(has_seq(&a, &["--tmpfs", "/tmp"]));
        assert!(has_seq(&a, &["--symlink", "usr/bin", "/bin"]));
        assert!(has_seq(
            &a,
            &["--ro-bind", "/opt/toolchain", "/opt/toolchain"]
        ));
        assert!(has_seq(
            &a,
            &["--clearenv", "--setenv", "PATH", "/usr/bin", "--"]
        ));
        assert!(a.ends_with(&["--".to_owned(), "make".to_owned(), "all".to_owned()]));
        // The only writable bind is the output directory.
        assert_eq!(a.iter().filter(|x| *x == "--bind").count(), 1);
        assert!(!a.iter().any(|x| x == "/etc/shadow" || x == "/etc"));
    }

    #[test]
    fn host_network_is_explicit() {
        let a = args(&sandbox(Network::Host));
        assert!(a.contains(&"--share-net".to_owned()));
        assert!(has_seq(
            &a,
            &["--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"]
        ));
        assert_eq!(sandbox(Network::Host).describe()["network"], "host");
        assert_eq!("none".parse::<Network>().unwrap(), Network::None);
        assert!("bridge".parse::<Network>().is_err());
    }

    #[test]
    fn exposure_is_decided_by_the_mounts() {
        let s = sandbox(Network::None);
        assert!(s.exposes(Path::new("/usr/bin/cc")));
        assert!(s.exposes(Path::new("/work/stage/src/main.c")));
        assert!(s.exposes(Path::new("/opt/toolchain/bin/rustc")));
        assert!(!s.exposes(Path::new("/root/keys/build.key")));
        assert!(!s.exposes(Path::new("/etc/shadow")));
        assert!(!s.exposes(Path::new("/usrx/key")));
        assert_eq!(
            s.prlimit_args()
                .last()
                .map(|a| a.to_str().unwrap().to_owned()),
            Some("--".to_owned())
        );
    }

    #[test]
    fn commands_resolve_like_execvp() {
        let files = ["/usr/bin/cc", "/src/build.sh", "/usr/local/bin/cc"];
        let is_file = |p: &Path| files.iter().any(|f| Path::new(f) == p);
        assert_eq!(
            resolve_command("cc", "/usr/local/bin:/usr/bin", &is_file),
            Some("/usr/local/bin/cc".into())
        );
        assert_eq!(
            resolve_command("cc", "relative:/usr/bin", &is_file),
            Some("/usr/bin/cc".into())
        );
        assert_eq!(
            resolve_command("./build.sh", "/usr/bin", &is_file),
            Some("/src/./build.sh".into())
        );
        assert_eq!(resolve_command("make", "/usr/bin", &is_file), None);
        assert_eq!(resolve_command("", "/usr/bin", &is_file), None);
    }
}
