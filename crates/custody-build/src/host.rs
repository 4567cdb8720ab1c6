//! Everything that touches the host: git, the sandbox processes, tool probes.
//!
//! The sandbox is bubblewrap (`bwrap`) started under util-linux `prlimit`, both found on the
//! invoker's `PATH` and recorded (with digests) as the builder's own dependencies. No code runs
//! between fork and exec in this process: the namespaces, mounts and rlimits are set up by
//! those two programs.

use std::fs::File;
use std::io::Read as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};
use crate::sandbox::{RootEntry, Sandbox};

/// How long a tool probe (`TOOL --version`) may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// The helper programs that build the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programs {
    /// bubblewrap.
    pub bwrap: PathBuf,
    /// util-linux prlimit.
    pub prlimit: PathBuf,
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .and_then(|p| p.canonicalize().ok())
}

/// Finds `bwrap` and `prlimit` on the invoker's `PATH`.
pub fn find_programs() -> Result<Programs, Error> {
    let find = |name: &str, package: &str| {
        which(name).ok_or_else(|| {
            Error::new(
                ErrorKind::Environment,
                format!("'{name}' is not installed (Debian package {package}); custody build needs it for the sandbox"),
            )
        })
    };
    Ok(Programs {
        bwrap: find("bwrap", "bubblewrap")?,
        prlimit: find("prlimit", "util-linux")?,
    })
}

/// The top-level directories and merged-usr links the sandbox reproduces.
pub fn root_entries() -> Vec<RootEntry> {
    ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
        .iter()
        .filter_map(|p| {
            let path = PathBuf::from(p);
            match std::fs::read_link(&path) {
                Ok(target) => Some(RootEntry::Symlink { path, target }),
                Err(_) if path.is_dir() => Some(RootEntry::Directory(path)),
                Err(_) => None,
            }
        })
        .collect()
}

/// The state of the source repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// The work tree's top-level directory.
    pub toplevel: PathBuf,
    /// The commit checked out (`HEAD`).
    pub commit: String,
    /// The commit's time (seconds since the epoch): `SOURCE_DATE_EPOCH`.
    pub commit_time: i64,
    /// The `origin` remote's URL, if there is one.
    pub remote: Option<String>,
    /// The full name of the branch checked out (`git symbolic-ref -q HEAD`, e.g.
    /// `refs/heads/main`); `None` on a detached HEAD, and for [`source_at`] (a commit, not a
    /// branch).
    pub ref_name: Option<String>,
}

/// Runs `git -C dir ARGS` without a terminal prompt; returns its output whatever its status.
fn run_git(dir: &Path, args: &[&str]) -> Result<std::process::Output, Error> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::new(
                ErrorKind::Environment,
                format!("cannot run git: {e} (install git)"),
            )
        })
}

/// A failed git command as an error naming the command, the directory and git's message.
fn git_failed(dir: &Path, args: &[&str], out: &std::process::Output) -> Error {
    let stderr = String::from_utf8_lossy(&out.stderr);
    Error::new(
        ErrorKind::Source,
        format!(
            "git {} in '{}' failed: {}",
            args.first().copied().unwrap_or_default(),
            dir.display(),
            stderr.lines().next().unwrap_or("no message")
        ),
    )
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, Error> {
    let out = run_git(dir, args)?;
    if !out.status.success() {
        return Err(git_failed(dir, args, &out));
    }
    Ok(out.stdout)
}

fn git_line(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let out = git(dir, args)?;
    Ok(String::from_utf8_lossy(&out).trim().to_owned())
}

/// Reads the repository containing `dir`, refusing a work tree with uncommitted changes to
/// tracked files: the build runs on the commit, and provenance naming a commit must describe
/// exactly that commit.
pub fn inspect_source(dir: &Path) -> Result<SourceInfo, Error> {
    let toplevel = PathBuf::from(git_line(dir, &["rev-parse", "--show-toplevel"])?);
    let mut info = commit_info(&toplevel, "HEAD")?;
    info.ref_name = head_ref(&toplevel)?;
    let dirty = git(
        &toplevel,
        &[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--ignore-submodules=none",
        ],
    )?;
    if !dirty.is_empty() {
        return Err(Error::new(
            ErrorKind::Source,
            format!(
                "the work tree '{}' has uncommitted changes; the build runs on a commit",
                toplevel.display()
            ),
        ));
    }
    Ok(info)
}

/// Reads the commit `revision` (a full hexadecimal commit id) of the repository containing
/// `dir`, whatever is checked out there: a rebuild runs on the recorded commit.
pub fn source_at(dir: &Path, revision: &str) -> Result<SourceInfo, Error> {
    let is_commit_id = matches!(revision.len(), 40 | 64)
        && revision
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !is_commit_id {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("'{revision}' is not a full git commit id"),
        ));
    }
    let toplevel = PathBuf::from(git_line(dir, &["rev-parse", "--show-toplevel"])?);
    commit_info(&toplevel, revision)
}

fn commit_info(toplevel: &Path, revision: &str) -> Result<SourceInfo, Error> {
    let toplevel = toplevel.to_path_buf();
    let commit = git_line(
        &toplevel,
        &[
            "rev-parse",
            "--verify",
            "--end-of-options",
            &format!("{revision}^{{commit}}"),
        ],
    )?;
    let time_text = git_line(&toplevel, &["log", "-1", "--format=%ct", &commit])?;
    let commit_time = time_text.parse::<i64>().map_err(|_| {
        Error::new(
            ErrorKind::Source,
            format!("git printed '{time_text}' as the commit time"),
        )
    })?;
    let remote = git(&toplevel, &["remote", "get-url", "origin"])
        .ok()
        .map(|r| String::from_utf8_lossy(&r).trim().to_owned())
        .filter(|r| !r.is_empty());
    Ok(SourceInfo {
        toplevel,
        commit,
        commit_time,
        remote,
        ref_name: None,
    })
}

/// The full ref name HEAD points to (`refs/heads/main`), or `None` when HEAD is detached.
fn head_ref(toplevel: &Path) -> Result<Option<String>, Error> {
    let args = ["symbolic-ref", "-q", "HEAD"];
    let out = run_git(toplevel, &args)?;
    // Exit status 1 with -q: HEAD is detached (not a symbolic ref).
    if out.status.code() == Some(1) {
        return Ok(None);
    }
    if !out.status.success() {
        return Err(git_failed(toplevel, &args, &out));
    }
    let name = String::from_utf8(out.stdout)
        .map_err(|_| Error::new(ErrorKind::Source, "the name of HEAD's branch is not UTF-8"))?;
    let name = name.trim();
    Ok((!name.is_empty()).then(|| name.to_owned()))
}

/// Checks `commit` of the repository at `repo` out into `dest` (which must not exist) and
/// returns the tracked files' paths. The checkout's `.git` is removed: the build sees exactly
/// the commit's files, not the invoker's untracked files or repository metadata.
pub fn checkout(repo: &Path, commit: &str, dest: &Path) -> Result<Vec<String>, Error> {
    let dest_text = dest
        .to_str()
        .ok_or_else(|| Error::new(ErrorKind::Environment, "the staging path is not UTF-8"))?;
    let repo_text = repo
        .to_str()
        .ok_or_else(|| Error::new(ErrorKind::Source, "the repository path is not UTF-8"))?;
    git(
        repo,
        &[
            "clone",
            "--quiet",
            "--shared",
            "--no-checkout",
            repo_text,
            dest_text,
        ],
    )?;
    git(
        dest,
        &[
            "-c",
            "advice.detachedHead=false",
            "checkout",
            "--quiet",
            "--detach",
            commit,
        ],
    )?;
    let listing = git(dest, &["ls-files", "-z"])?;
    let files = listing
        .split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| {
            String::from_utf8(f.to_vec())
                .map_err(|_| Error::new(ErrorKind::Source, "a tracked file name is not UTF-8"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::remove_dir_all(dest.join(".git")).map_err(|e| {
        Error::new(
            ErrorKind::Environment,
            format!("cannot remove the checkout's .git: {e}"),
        )
    })?;
    Ok(files)
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

fn sandbox_command(programs: &Programs, sandbox: &Sandbox, argv: &[String]) -> Command {
    let mut cmd = Command::new(&programs.prlimit);
    cmd.args(sandbox.prlimit_args())
        .arg(&programs.bwrap)
        .args(sandbox.bwrap_args(argv))
        .env_clear()
        .stdin(Stdio::null());
    cmd
}

/// How a sandboxed run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunEnd {
    /// The command exited with this code (128 + signal number when killed by a signal).
    Exited(i32),
    /// The wall-clock limit passed; the sandbox was killed.
    TimedOut,
}

/// Runs `argv` in the sandbox with stdout and stderr going to `log`, killing it when the
/// sandbox's wall-clock limit passes.
pub fn run_sandboxed(
    programs: &Programs,
    sandbox: &Sandbox,
    argv: &[String],
    log: &File,
) -> Result<RunEnd, Error> {
    let io = |e: std::io::Error| {
        Error::new(
            ErrorKind::Environment,
            format!("cannot start the sandbox: {e}"),
        )
    };
    let mut child = sandbox_command(programs, sandbox, argv)
        .stdout(log.try_clone().map_err(io)?)
        .stderr(log.try_clone().map_err(io)?)
        .spawn()
        .map_err(io)?;
    let deadline = Instant::now() + Duration::from_secs(sandbox.limits.wall_seconds);
    loop {
        if let Some(status) = child.try_wait().map_err(io)? {
            return Ok(RunEnd::Exited(exit_code(status)));
        }
        if Instant::now() >= deadline {
            // bwrap is the child (prlimit execs it); its death ends the pid namespace.
            let _ = child.kill();
            let _ = child.wait();
            return Ok(RunEnd::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a short sandboxed probe printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The exit code (`None` when it timed out and was killed).
    pub exit_code: Option<i32>,
    /// Its standard output (at most 64 KiB).
    pub stdout: Vec<u8>,
    /// Its standard error (at most 64 KiB).
    pub stderr: Vec<u8>,
}

/// Runs `argv` in the sandbox, capturing its output, killed after [`PROBE_TIMEOUT`].
pub fn probe(programs: &Programs, sandbox: &Sandbox, argv: &[String]) -> Result<Probe, Error> {
    let mut child = sandbox_command(programs, sandbox, argv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::new(
                ErrorKind::Environment,
                format!("cannot start the sandbox: {e}"),
            )
        })?;
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(64 * 1024).read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = read(child.stdout.take().map(|p| Box::new(p) as _));
    let err = read(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(exit_code(status)),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    Ok(Probe {
        exit_code: exit,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Checks that the sandbox can be created here (user namespaces allowed, bwrap working), so
/// that a sandbox failure is not mistaken for a failing build.
pub fn check_sandbox(programs: &Programs, sandbox: &Sandbox) -> Result<(), Error> {
    let p = probe(programs, sandbox, &["true".to_owned()])?;
    if p.exit_code == Some(0) {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&p.stderr);
    Err(Error::new(
        ErrorKind::Environment,
        format!(
            "the sandbox cannot be created: {}",
            stderr
                .lines()
                .next()
                .unwrap_or("bwrap failed without a message")
        ),
    ))
}

/// The first line of `PROGRAM --version` run inside the sandbox, if it answers with status 0.
pub fn tool_version(programs: &Programs, sandbox: &Sandbox, program: &str) -> Option<String> {
    let p = probe(
        programs,
        sandbox,
        &[program.to_owned(), "--version".to_owned()],
    )
    .ok()?;
    if p.exit_code != Some(0) {
        return None;
    }
    let text = if p.stdout.is_empty() {
        p.stderr
    } else {
        p.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
}

/// The version line of bubblewrap itself.
pub fn bwrap_version(programs: &Programs) -> Option<String> {
    let out = Command::new(&programs.bwrap)
        .arg("--version")
        .env_clear()
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1).map(str::to_owned)
}

/// `faketime` (Debian package faketime) when it is on the invoker's `PATH` under `/usr`, which
/// the sandbox mounts at the same place; a varied rebuild then runs under it.
pub fn faketime_program() -> Option<PathBuf> {
    which("faketime").filter(|p| p.starts_with("/usr"))
}

/// Re-creates the directory entries of the checkout's `files` (paths relative to `root`) in
/// reverse order: each is moved into `holding` (created, then removed) and moved back, last
/// file first. Contents and modes are unchanged; only the order of the entries in their
/// directories differs (on file systems that keep creation order, such as tmpfs).
pub fn recreate_reversed(root: &Path, files: &[String], holding: &Path) -> Result<(), Error> {
    let io = |what: &Path, e: std::io::Error| {
        Error::new(
            ErrorKind::Environment,
            format!("cannot reorder '{}': {e}", what.display()),
        )
    };
    std::fs::create_dir(holding).map_err(|e| io(holding, e))?;
    let mut moved = Vec::new();
    for (i, name) in files.iter().enumerate() {
        let path = root.join(name);
        let Ok(meta) = path.symlink_metadata() else {
            continue;
        };
        if meta.is_dir() {
            continue;
        }
        let held = holding.join(i.to_string());
        std::fs::rename(&path, &held).map_err(|e| io(&path, e))?;
        moved.push((held, path));
    }
    for (held, path) in moved.iter().rev() {
        std::fs::rename(held, path).map_err(|e| io(path, e))?;
    }
    std::fs::remove_dir(holding).map_err(|e| io(holding, e))
}

/// How long diffoscope may compare two files.
pub const DIFFOSCOPE_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of diffoscope's report read (it is also asked to keep its report this small).
pub const DIFFOSCOPE_REPORT_LIMIT: u64 = 64 * 1024;

/// What diffoscope said about two files.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Diffoscope {
    /// `diffoscope` is not on the `PATH` searched.
    NotInstalled,
    /// Its text report (at most [`DIFFOSCOPE_REPORT_LIMIT`] bytes).
    Report(String),
    /// It could not compare them (did not start, timed out, failed).
    Failed(String),
}

/// Runs Debian's `diffoscope --text -` on two files (outside the sandbox: both are plain
/// files custody wrote, and diffoscope only reads them), looked up on `path_var` (the
/// invoker's `PATH`), killed after `timeout`.
pub fn diffoscope(
    path_var: Option<&std::ffi::OsStr>,
    recorded: &Path,
    rebuilt: &Path,
    timeout: Duration,
) -> Diffoscope {
    let Some(program) = path_var.and_then(|paths| {
        std::env::split_paths(paths)
            .map(|dir| dir.join("diffoscope"))
            .find(|p| p.is_file())
    }) else {
        return Diffoscope::NotInstalled;
    };
    let mut cmd = Command::new(&program);
    cmd.args(["--text", "-", "--no-progress", "--max-report-size"])
        .arg(DIFFOSCOPE_REPORT_LIMIT.to_string())
        .arg(recorded)
        .arg(rebuilt)
        .env_clear()
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(paths) = path_var {
        cmd.env("PATH", paths);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Diffoscope::Failed(format!("cannot start diffoscope: {e}")),
    };
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = stdout {
            let mut p = p.take(DIFFOSCOPE_REPORT_LIMIT);
            let _ = p.read_to_end(&mut buf);
            // Drain the rest so diffoscope is not blocked on a full pipe.
            let _ = std::io::copy(&mut p.into_inner(), &mut std::io::sink());
        }
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let Some(status) = status else {
        // Not joined: a process diffoscope started may still hold the pipe open.
        return Diffoscope::Failed(format!(
            "diffoscope did not finish within {} s",
            timeout.as_secs_f32()
        ));
    };
    let report = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    match exit_code(status) {
        // 1: the files differ (the report says how); 0: diffoscope sees no difference.
        0 | 1 => Diffoscope::Report(report),
        code => Diffoscope::Failed(format!("diffoscope exited with status {code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("custody-build-host-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn diffoscope_missing_from_the_path_is_reported_as_not_installed() {
        let dir = scratch("nodiffoscope");
        std::fs::write(dir.join("a"), b"a").unwrap();
        std::fs::write(dir.join("b"), b"b").unwrap();
        let empty = dir.join("bin");
        std::fs::create_dir(&empty).unwrap();
        let got = diffoscope(
            Some(empty.as_os_str()),
            &dir.join("a"),
            &dir.join("b"),
            DIFFOSCOPE_TIMEOUT,
        );
        assert_eq!(got, Diffoscope::NotInstalled);
        assert_eq!(
            diffoscope(None, &dir.join("a"), &dir.join("b"), DIFFOSCOPE_TIMEOUT),
            Diffoscope::NotInstalled
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn diffoscope_reports_differences_failures_and_timeouts() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = scratch("fakediffoscope");
        let bin = dir.join("bin");
        std::fs::create_dir(&bin).unwrap();
        let fake = bin.join("diffoscope");
        let run = |script: &str, timeout: Duration| {
            std::fs::write(&fake, format!("#!/bin/sh\n{script}\n")).unwrap();
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
            diffoscope(
                Some(bin.as_os_str()),
                &dir.join("a"),
                &dir.join("b"),
                timeout,
            )
        };
        assert_eq!(
            run("echo \"--- $6\"; exit 1", DIFFOSCOPE_TIMEOUT),
            Diffoscope::Report(format!("--- {}\n", dir.join("a").display()))
        );
        assert_eq!(
            run("exit 2", DIFFOSCOPE_TIMEOUT),
            Diffoscope::Failed("diffoscope exited with status 2".into())
        );
        assert!(matches!(
            run("exec /bin/sleep 30", Duration::from_millis(300)),
            Diffoscope::Failed(m) if m.contains("did not finish")
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn inspect_source_records_the_branch_and_nothing_on_a_detached_head() {
        let dir = scratch("headref");
        let run = |args: &[&str]| {
            let status = Command::new("git")
                .arg("-C")
                .arg(&dir)
                .args([
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@example.com",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args)
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        };
        run(&["init", "-q"]);
        run(&["checkout", "-q", "-b", "release/1.x"]);
        std::fs::write(dir.join("a.txt"), b"a").unwrap();
        run(&["add", "a.txt"]);
        run(&["commit", "-q", "-m", "one"]);
        let on_branch = inspect_source(&dir).unwrap();
        assert_eq!(
            on_branch.ref_name.as_deref(),
            Some("refs/heads/release/1.x")
        );

        run(&["checkout", "-q", "--detach"]);
        let detached = inspect_source(&dir).unwrap();
        assert_eq!(detached.ref_name, None);
        assert_eq!(detached.commit, on_branch.commit);
        // A rebuild reads a commit, not a branch.
        assert_eq!(source_at(&dir, &on_branch.commit).unwrap().ref_name, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reversed_files_keep_their_contents_and_modes() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = scratch("reverse");
        let root = dir.join("src");
        std::fs::create_dir_all(root.join("d")).unwrap();
        std::fs::write(root.join("a.txt"), b"a").unwrap();
        std::fs::write(root.join("d/b.sh"), b"b").unwrap();
        std::fs::set_permissions(root.join("d/b.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let files = vec!["a.txt".to_owned(), "d/b.sh".to_owned()];
        recreate_reversed(&root, &files, &dir.join("hold")).unwrap();
        assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"a");
        assert_eq!(std::fs::read(root.join("d/b.sh")).unwrap(), b"b");
        let mode = root.join("d/b.sh").metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(!dir.join("hold").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
