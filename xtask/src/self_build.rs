//! `cargo xtask self-build`: custody builds its own release binary with `custody build`.
//!
//! The steps, each of which must succeed:
//!
//! 1. The source work tree must be clean (`git status --porcelain` prints nothing): `custody
//!    build` builds the `HEAD` commit, so uncommitted changes would not be in the binary.
//! 2. The debug `custody` binary is built (`cargo build -p custody-cli --locked`; under `cargo
//!    xtask test` the one nextest just built); it runs the build.
//! 3. The crates of `Cargo.lock` are vendored (`cargo vendor --locked`, offline from Cargo's cache
//!    when it holds them all, else from the network) into `<work>/vendor`, which the sandbox
//!    mounts read-only: the sandboxed build has no network.
//! 4. A fresh Ed25519 build key is generated in a private temporary directory outside the source
//!    tree (custody refuses a key inside it, and `target/` is inside it); the public key is
//!    kept as `<work>/build.pub`, the private key deleted afterwards.
//! 5. `custody build` runs `cargo build --release --locked --offline -p custody-cli` in the
//!    sandbox: the toolchain directory (`rustc --print sysroot`) is mounted read-only and its
//!    `bin` put first on `PATH` (no rustup proxy inside), a Cargo config in the sandbox's private
//!    `HOME` replaces crates.io with the vendored directory, the target directory is the
//!    sandbox's private `/tmp`. The binary is copied to `$CUSTODY_OUT` and runs there once.
//! 6. `custody verify` accepts the binary with the provenance and the build key; the binary's
//!    SHA-256 is the provenance's subject, the provenance names the `HEAD` commit, and the binary
//!    runs outside the sandbox too.
//! 7. securesystemslib verifies the DSSE signature and the in-toto-attestation bindings parse the
//!    payload as Statement v1 + SLSA Provenance v1 (the interop venv, [`crate::interop`]).
//!
//! Outputs stay in `<work>/dist` (`out/custody`, `build.log`, `provenance.sigstore.json`) and
//! `<work>/build.pub`; `<work>` is `<target>/self-build` unless `--work-dir` says otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::interop;

/// The line printed when `cargo xtask test` skips the self-build on a dirty work tree.
pub const SKIPPED_DIRTY: &str =
    "self-build skipped: uncommitted changes (CI runs it on a clean clone)";

/// Wall-clock limit of the sandboxed build (`custody build --timeout`), in seconds.
pub const BUILD_TIMEOUT_SECONDS: u64 = 1800;

/// The script run in the sandbox (`sh -c SCRIPT self-build VENDOR_DIR`). It is recorded
/// verbatim in the provenance's `externalParameters.command`.
const SANDBOX_SCRIPT: &str = r#"set -eu
vendor=$1
mkdir -p "$HOME/.cargo"
printf '[source.crates-io]\nreplace-with = "vendored-sources"\n\n[source.vendored-sources]\ndirectory = "%s"\n\n[net]\noffline = true\n' "$vendor" >"$HOME/.cargo/config.toml"
export CARGO_HOME="$HOME/.cargo"
cargo build --release --locked --offline -p custody-cli --target-dir /tmp/target
cp /tmp/target/release/custody "$CUSTODY_OUT/custody"
"$CUSTODY_OUT/custody" --version
"#;

/// Paths the sandbox owns: a host directory below one of them is hidden inside the sandbox
/// (`/tmp` is a private tmpfs, `/dev` and `/proc` fresh, `/src` and `/out` the checkout and
/// the outputs), so it cannot be handed in with `--ro-path`.
const SANDBOX_OWNED: &[&str] = &["/tmp", "/dev", "/proc", "/src", "/out"];

/// What to build and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace whose `custody` binary runs the build (and whose interop scripts check it).
    pub root: PathBuf,
    /// The git work tree to build (its `HEAD` commit); normally `root`.
    pub source: PathBuf,
    /// Where the vendored crates, the outputs and the public key go.
    pub work_dir: PathBuf,
    /// The interop venv's Python interpreter.
    pub python: PathBuf,
    /// Build the debug `custody` that runs the build (`cargo build -p custody-cli`); false when
    /// the caller has just built it (`cargo xtask test`: nextest built `target/debug/custody`
    /// with the test build's features, which a plain build would relink).
    pub build_custody: bool,
}

/// What a successful self-build produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Wall-clock time of `custody build` (checkout, sandboxed release build, signing).
    pub build_time: Duration,
    /// Wall-clock time of the whole step.
    pub total_time: Duration,
    /// SHA-256 of the built binary (hex).
    pub sha256: String,
    /// The provenance bundle.
    pub provenance: PathBuf,
}

/// The parsed command line of `cargo xtask self-build`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// `--source DIR`.
    pub source: Option<PathBuf>,
    /// `--work-dir DIR`.
    pub work_dir: Option<PathBuf>,
}

/// Parses `[--source DIR] [--work-dir DIR]`.
pub fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let slot = match arg.as_str() {
            "--source" => &mut parsed.source,
            "--work-dir" => &mut parsed.work_dir,
            other => {
                return Err(format!(
                    "xtask: self-build: unknown argument `{other}` (usage: cargo xtask self-build \
                     [--source DIR] [--work-dir DIR])"
                ));
            }
        };
        let value = rest
            .next()
            .ok_or_else(|| format!("xtask: self-build: `{arg}` needs a directory"))?;
        *slot = Some(PathBuf::from(value));
    }
    Ok(parsed)
}

/// True when `CI` says this is a CI run (`true` or `1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The output of `git status --porcelain` in `dir` (empty for a clean work tree).
pub fn uncommitted_changes(dir: &Path) -> Result<String, String> {
    let out = output(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["status", "--porcelain"]),
    )?;
    Ok(out.trim_end().to_owned())
}

/// Runs the whole self-build (see the module documentation).
pub fn run(options: &Options) -> Result<Outcome, String> {
    let started = Instant::now();
    let source = std::path::absolute(&options.source)
        .map_err(|e| format!("xtask: self-build: {}: {e}", options.source.display()))?;
    let changes = uncommitted_changes(&source)?;
    if !changes.is_empty() {
        return Err(format!(
            "xtask: self-build: {} has uncommitted changes; custody builds the HEAD commit, so \
             commit them (or build a clean clone with --source DIR):\n{changes}",
            source.display()
        ));
    }
    let head = output(
        Command::new("git")
            .arg("-C")
            .arg(&source)
            .args(["rev-parse", "HEAD"]),
    )?
    .trim()
    .to_owned();

    let work = std::path::absolute(&options.work_dir)
        .map_err(|e| format!("xtask: self-build: {}: {e}", options.work_dir.display()))?;
    let vendor = work.join("vendor");
    let dist = work.join("dist");
    let public_key = work.join("build.pub");
    check_mountable(&vendor, "--work-dir")?;
    let sysroot = toolchain_sysroot(&source)?;
    check_mountable(&sysroot, "the Rust toolchain (rustc --print sysroot)")?;

    let custody = crate::target_dir(&options.root).join("debug/custody");
    if options.build_custody || !custody.is_file() {
        step("building the custody debug binary (cargo build -p custody-cli)");
        interop::run(
            Command::new(crate::cargo())
                .current_dir(&options.root)
                .args(["build", "--quiet", "--locked", "-p", "custody-cli"]),
        )?;
    }

    for stale in [&vendor, &dist] {
        if stale.exists() {
            std::fs::remove_dir_all(stale)
                .map_err(|e| format!("xtask: cannot remove {}: {e}", stale.display()))?;
        }
    }
    if public_key.exists() {
        std::fs::remove_file(&public_key)
            .map_err(|e| format!("xtask: cannot remove {}: {e}", public_key.display()))?;
    }
    std::fs::create_dir_all(&work)
        .map_err(|e| format!("xtask: cannot create {}: {e}", work.display()))?;
    // The vendored crates are re-created in seconds from Cargo's cache; they are removed
    // afterwards whatever happens (several hundred MB).
    let vendored = RemoveOnDrop(vendor.clone());
    vendor_crates(&source, &vendor)?;

    step("generating a fresh Ed25519 build key");
    let key_dir = PrivateDir::new()?;
    let prefix = key_dir.0.join("build");
    let generated = json(
        Command::new(&custody)
            .args(["key", "generate", "--no-passphrase", "--json", "--out"])
            .arg(&prefix),
    )?;
    let key_id = string(&generated, "keyId")?;
    let private_key = prefix.with_extension("key");
    std::fs::copy(prefix.with_extension("pub"), &public_key)
        .map_err(|e| format!("xtask: cannot write {}: {e}", public_key.display()))?;

    step(&format!(
        "custody build: cargo build --release -p custody-cli in the sandbox (no network; toolchain {})",
        sysroot.display()
    ));
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        sysroot.join("bin").display()
    );
    let build_started = Instant::now();
    let built = json(
        Command::new(&custody)
            .env("PATH", &path)
            .args(["build", "--json", "--source"])
            .arg(&source)
            .arg("--key")
            .arg(&private_key)
            .arg("--out")
            .arg(&dist)
            .arg("--ro-path")
            .arg(&sysroot)
            .arg("--ro-path")
            .arg(&vendor)
            .args(["--env", "PATH", "--timeout"])
            .arg(BUILD_TIMEOUT_SECONDS.to_string())
            .args(["--", "sh", "-c", SANDBOX_SCRIPT, "self-build"])
            .arg(&vendor),
    )
    .map_err(|e| {
        format!(
            "{e}\nxtask: self-build: the build log is {}",
            dist.join("build.log").display()
        )
    })?;
    let build_time = build_started.elapsed();
    // The private key has signed; nothing else may use it.
    drop(key_dir);
    drop(vendored);

    let binary = dist.join("out/custody");
    let provenance = dist.join("provenance.sigstore.json");
    let commit = string(&built, "commit")?;
    if commit != head {
        return Err(format!(
            "xtask: self-build: the provenance names commit {commit}, HEAD is {head}"
        ));
    }
    let sha256 = sha256_file(&binary)?;
    let subjects = built
        .get("subjects")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("xtask: self-build: no subjects in {built}"))?;
    let [subject] = subjects.as_slice() else {
        return Err(format!(
            "xtask: self-build: expected one subject (custody), got {subjects:?}"
        ));
    };
    let subject_sha256 = subject["digests"]
        .as_array()
        .and_then(|d| d.iter().find_map(|d| d.as_str()?.strip_prefix("sha256:")))
        .unwrap_or_default();
    if subject["name"] != "custody" || subject_sha256 != sha256 {
        return Err(format!(
            "xtask: self-build: the provenance's subject {subject} is not custody with SHA-256 \
             {sha256}"
        ));
    }

    step("custody verify: the binary against the provenance and the build key");
    interop::run(
        Command::new(&custody)
            .arg("verify")
            .arg(&binary)
            .arg("--bundle")
            .arg(&provenance)
            .arg("--key")
            .arg(&public_key),
    )?;
    let version = output(Command::new(&binary).arg("--version"))?;
    eprintln!("xtask: the self-built binary runs: {}", version.trim());

    step("securesystemslib (DSSE) and in-toto-attestation (Statement v1 + SLSA Provenance v1)");
    let scripts = options.root.join("crates/custody-cli/tests/it");
    interop::run(
        Command::new(&options.python)
            .arg(scripts.join("dsse_interop.py"))
            .arg("verify")
            .arg(&provenance)
            .arg(&public_key)
            .arg(&key_id),
    )?;
    interop::run(
        Command::new(&options.python)
            .arg(scripts.join("slsa_interop.py"))
            .arg("check")
            .arg(&provenance),
    )?;

    let outcome = Outcome {
        build_time,
        total_time: started.elapsed(),
        sha256,
        provenance,
    };
    eprintln!(
        "xtask: self-build: sandboxed build (custody build) took {}",
        minutes(outcome.build_time)
    );
    eprintln!(
        "xtask: self-build: binary {} sha256:{}",
        binary.display(),
        outcome.sha256
    );
    eprintln!(
        "xtask: self-build: provenance {} (commit {commit}), subject: {subject}",
        outcome.provenance.display()
    );
    eprintln!(
        "xtask: self-build: passed in {} (build key {})",
        minutes(outcome.total_time),
        public_key.display()
    );
    Ok(outcome)
}

/// Formats a duration as `Mm SSs (N s)`.
pub fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m {:02}s ({s} s)", s / 60, s % 60)
}

fn step(what: &str) {
    eprintln!("xtask: self-build: {what}");
}

/// Refuses host paths the sandbox cannot show at their own place.
fn check_mountable(path: &Path, what: &str) -> Result<(), String> {
    match SANDBOX_OWNED.iter().find(|owned| path.starts_with(owned)) {
        Some(owned) => Err(format!(
            "xtask: self-build: {what} {} lies under {owned}, which the sandbox replaces with \
             its own; choose another place (e.g. --work-dir DIR outside {owned})",
            path.display()
        )),
        None => Ok(()),
    }
}

/// The toolchain directory `rustc` resolves to in `source` (honouring rust-toolchain files).
fn toolchain_sysroot(source: &Path) -> Result<PathBuf, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let sysroot = PathBuf::from(
        output(
            Command::new(rustc)
                .current_dir(source)
                .args(["--print", "sysroot"]),
        )?
        .trim(),
    );
    for tool in ["cargo", "rustc"] {
        if !sysroot.join("bin").join(tool).is_file() {
            return Err(format!(
                "xtask: self-build: the toolchain {} has no bin/{tool}",
                sysroot.display()
            ));
        }
    }
    Ok(sysroot)
}

/// Vendors the crates of `source`'s Cargo.lock into `vendor`: offline from Cargo's cache when it
/// holds them all (normally, after the workspace was built), else from the network.
fn vendor_crates(source: &Path, vendor: &Path) -> Result<(), String> {
    let vendor_cmd = |offline: bool| {
        let mut command = Command::new(crate::cargo());
        command
            .current_dir(source)
            .args(["vendor", "--quiet", "--locked", "--versioned-dirs"])
            .stdout(Stdio::null());
        if offline {
            command.arg("--offline").env("CARGO_NET_OFFLINE", "true");
        }
        command.arg(vendor);
        command
    };
    step(&format!(
        "vendoring Cargo.lock's crates into {}",
        vendor.display()
    ));
    if interop::run(&mut vendor_cmd(true)).is_ok() {
        return Ok(());
    }
    step("Cargo's cache lacks some crates; vendoring from the network");
    interop::run(&mut vendor_cmd(false))
}

/// A fresh directory only the invoker can read, outside any source tree; removed when dropped.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn new() -> Result<Self, String> {
        use std::os::unix::fs::DirBuilderExt as _;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "custody-self-build-key.{}.{nanos}",
            std::process::id()
        ));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| format!("xtask: cannot create {}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A directory removed when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `command` and returns its stdout; stderr passes through.
fn output(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let out = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("xtask: cannot run {shown}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("xtask: {shown} failed: {}\n{stdout}", out.status))
    }
}

/// Runs a `custody ... --json` command and returns its document, which must say `"ok": true`.
fn json(command: &mut Command) -> Result<Value, String> {
    let shown = format!("{:?}", command.get_program());
    let text = output(command)?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| format!("xtask: {shown} printed no JSON ({e}): {text}"))?;
    if value["ok"] != true {
        return Err(format!("xtask: {shown} failed: {value}"));
    }
    Ok(value)
}

fn string(value: &Value, name: &str) -> Result<String, String> {
    value[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("xtask: no `{name}` in {value}"))
}

fn sha256_file(path: &Path) -> Result<String, String> {
    use std::fmt::Write as _;
    let bytes =
        std::fs::read(path).map_err(|e| format!("xtask: cannot read {}: {e}", path.display()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_parsed() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(args(&[]), Ok(Args::default()));
        assert_eq!(
            args(&["--source", "/a", "--work-dir", "/b"]),
            Ok(Args {
                source: Some("/a".into()),
                work_dir: Some("/b".into()),
            })
        );
        assert!(args(&["--source"]).is_err());
        assert!(args(&["--bogus"]).is_err());
    }

    #[test]
    fn paths_the_sandbox_owns_cannot_be_mounted() {
        assert!(check_mountable(Path::new("/tmp/x/target/self-build/vendor"), "w").is_err());
        assert!(check_mountable(Path::new("/dev/shm/vendor"), "w").is_err());
        assert!(check_mountable(Path::new("/work/main/target/self-build/vendor"), "w").is_ok());
        assert!(check_mountable(Path::new("/tmpx/vendor"), "w").is_ok());
    }
}
