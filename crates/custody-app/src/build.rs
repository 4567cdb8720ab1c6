//! `custody build`: run a command in the sandbox and sign SLSA provenance for its outputs.
//!
//! The order is the point: the source commit is checked out into a private staging directory,
//! the command runs in the sandbox ([`custody_build::sandbox`]) with a fresh output directory,
//! and only after the sandbox (and every process in its pid namespace) has exited does this
//! process digest the outputs, load the signing key and sign. A failing command signs nothing.
//!
//! Layout of `--out DIR`: `DIR/out/...` copies of the output files (the subjects, by their path
//! relative to `$CUSTODY_OUT`), `DIR/build.log` the step's stdout and stderr, and
//! `DIR/provenance.sigstore.json` the signed provenance (a Sigstore bundle with a DSSE envelope).

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use custody_build::host::{self, Programs};
use custody_build::lockfile::{LOCKFILE_LIMIT, parse_cargo_lock};
pub use custody_build::provenance::DEFAULT_BUILDER_ID;
use custody_build::provenance::{
    BuildRecord, FileDigest, Source, Tool, is_absolute_uri, repository_uri, statement,
};
pub use custody_build::sandbox::Network;
use custody_build::sandbox::{SANDBOX_SOURCE, Sandbox};
pub use custody_build::vary::Variations;
use custody_build::{env, sandbox};
use custody_crypto::{Digest, DigestAlgorithm, Signer};
use time::OffsetDateTime;

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::fs::{Overwrite, Visibility, digest_file, read_text, write_atomic, write_atomic_with};
use crate::sign::{Logger, Signed, sign_statement};

/// Tools recorded (with digest and version) whenever they are on the sandbox's `PATH`.
pub const WELL_KNOWN_TOOLS: &[&str] = &[
    "sh", "bash", "cc", "c++", "gcc", "clang", "ld", "as", "make", "cmake", "rustc", "cargo", "go",
    "python3",
];

/// The provenance bundle's file name under `--out`.
pub const PROVENANCE_FILE: &str = "provenance.sigstore.json";
/// The build log's file name under `--out`.
pub const LOG_FILE: &str = "build.log";
/// The directory under `--out` holding copies of the outputs.
pub const OUTPUTS_DIR: &str = "out";

/// What to build and how.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// A directory inside the git work tree to build.
    pub source_dir: PathBuf,
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Where the outputs, the log and the provenance are written (created; must be empty).
    pub out_dir: PathBuf,
    /// The signing key's path; checked to be out of the sandbox's reach, read only after the
    /// build.
    pub key_path: PathBuf,
    /// Network mode.
    pub network: Network,
    /// Environment variables passed in by name.
    pub env: Vec<String>,
    /// Extra host paths mounted read-only (toolchains outside `/usr`).
    pub read_only: Vec<PathBuf>,
    /// `runDetails.builder.id`.
    pub builder_id: String,
    /// Wall-clock limit of the build in seconds.
    pub timeout_seconds: u64,
    /// Also write a legacy in-toto v0.9 link for the step with this name
    /// (`DIR/<step>.<keyid8>.link`, signed with the build key).
    pub in_toto_link: Option<String>,
}

/// The result of a successful build.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The source commit built.
    pub commit: String,
    /// The output files (subjects) with their digests.
    pub outputs: Vec<FileDigest>,
    /// The signed provenance bundle's path.
    pub provenance_path: PathBuf,
    /// The build log's path.
    pub log_path: PathBuf,
    /// The signature.
    pub signed: Signed,
    /// The in-toto link's path, when one was asked for.
    pub link_path: Option<PathBuf>,
}

/// A private staging directory, removed when dropped.
struct Staging(PathBuf);

impl Staging {
    fn new() -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt as _;
        let random = custody_crypto::random_bytes::<8>()
            .map_err(|e| Error::new(Code::Internal, format!("no randomness: {e}")))?;
        let path = std::env::temp_dir().join(format!("custody-build.{}", hex::encode(random)));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::write(&path, &e))?;
        Ok(Self(path))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(Code::BuildRequestInvalid, message)
}

/// Runs the build and, if it succeeds, signs its provenance with the key `load_signer`
/// returns. `load_signer` is called only after the sandbox has exited.
pub fn build<S: Signer>(
    request: &BuildRequest,
    load_signer: impl FnOnce(&Path) -> Result<S>,
    logger: Logger<'_>,
) -> Result<BuildOutcome> {
    if request.command.is_empty() || request.command[0].is_empty() {
        return Err(invalid("no command given (custody build -- CMD ARGS...)"));
    }
    if !is_absolute_uri(&request.builder_id) {
        return Err(invalid(format!(
            "the builder id '{}' is not an absolute URI",
            request.builder_id
        )));
    }
    if let Some(step) = &request.in_toto_link
        && !custody_build::link::valid_step_name(step)
    {
        return Err(invalid(format!(
            "the in-toto step name '{step}' is not usable (letters, digits, '-', '_', '.')"
        )));
    }
    let source = host::inspect_source(&request.source_dir).map_err(|e| Error::build(&e))?;
    let executed = execute(request, &source, false)?;
    let statement = statement(&executed.record).map_err(|e| Error::build(&e))?;
    let first = first_digest(&executed.record.outputs)?;

    // Only now, with the build finished, is the key read.
    let signer = load_signer(&request.key_path)?;
    let provenance_path = request.out_dir.join(PROVENANCE_FILE);
    let signed = sign_statement(&statement, &signer, first, &provenance_path, logger)?;
    let link_path = match &request.in_toto_link {
        Some(step) => Some(write_link(
            step,
            &executed.record,
            &signer,
            &request.out_dir,
        )?),
        None => None,
    };
    Ok(BuildOutcome {
        commit: source.commit,
        outputs: executed.record.outputs,
        provenance_path,
        log_path: executed.log_path,
        signed,
        link_path,
    })
}

/// Signs and writes the legacy in-toto link of the build step: materials are the source
/// commit's files, products the outputs (paths relative to `$CUSTODY_OUT`).
fn write_link(
    step: &str,
    record: &BuildRecord,
    signer: &dyn Signer,
    out_dir: &Path,
) -> Result<PathBuf> {
    use custody_build::link::{
        Step, link, link_file_name, metablock, olpc_canonical, securesystemslib_keyid,
    };
    use custody_crypto::Verifier as _;

    let log_sha256 = record
        .log_digests
        .iter()
        .find(|d| d.algorithm() == DigestAlgorithm::Sha256)
        .map(Digest::hex)
        .unwrap_or_default();
    let signed = link(&Step {
        name: step,
        command: &record.command,
        materials: &record.inputs,
        products: &record.outputs,
        exit_code: record.exit_code,
        byproducts: BTreeMap::from([("build-log-sha256".to_owned(), log_sha256)]),
        environment: BTreeMap::from([
            (
                "source-repository".to_owned(),
                record.source.repository.clone(),
            ),
            ("source-commit".to_owned(), record.source.commit.clone()),
            ("workdir".to_owned(), SANDBOX_SOURCE.to_owned()),
            ("builder-id".to_owned(), record.builder_id.clone()),
        ]),
    });
    let bytes = olpc_canonical(&signed).map_err(|e| Error::build(&e))?;
    let signature = signer.sign(&bytes).map_err(|e| Error::signing(&e))?;
    signer
        .public_key()
        .verify(&bytes, &signature)
        .map_err(|e| {
            Error::new(
                Code::Internal,
                format!("the new link signature does not verify: {e}"),
            )
        })?;
    let keyid = securesystemslib_keyid(signer.public_key());
    let block = metablock(signed, &keyid, &signature);
    let path = out_dir.join(link_file_name(step, &keyid));
    let mut text = serde_json::to_vec_pretty(&block)
        .map_err(|e| Error::new(Code::Internal, format!("cannot serialise the link: {e}")))?;
    text.push(b'\n');
    write_atomic(&path, &text, Overwrite::Refuse, Visibility::Public)?;
    Ok(path)
}

fn first_digest(outputs: &[FileDigest]) -> Result<Digest> {
    outputs
        .first()
        .and_then(|o| o.digests.first().copied())
        .ok_or_else(|| Error::new(Code::Internal, "no subject digest"))
}

/// A finished, successful sandboxed run: what was observed, and where the log is.
struct Executed {
    record: BuildRecord,
    log_path: PathBuf,
    variations: Option<Variations>,
}

/// Checks out `source`, runs the request's command in the sandbox and records everything
/// about the run. The key is never read here (only its path is checked to be out of reach).
/// With `vary`, the run is perturbed ([`custody_build::vary`]): the checkout's files are
/// re-created in reverse order, and the command runs at another path, locale, umask and clock.
fn execute(request: &BuildRequest, source: &host::SourceInfo, vary: bool) -> Result<Executed> {
    let key_path = request
        .key_path
        .canonicalize()
        .map_err(|e| Error::read(&request.key_path, &e))?;
    if key_path.starts_with(&source.toplevel) {
        return Err(Error::new(
            Code::BuildSourceInvalid,
            format!(
                "the signing key '{}' is inside the source tree '{}'",
                request.key_path.display(),
                source.toplevel.display()
            ),
        ));
    }
    let environment = env::sandbox_env(&request.env, source.commit_time, &|name| {
        std::env::var(name).ok()
    })
    .map_err(|e| Error::build(&e))?;
    let read_only = request
        .read_only
        .iter()
        .map(|p| p.canonicalize().map_err(|e| Error::read(p, &e)))
        .collect::<Result<Vec<_>>>()?;
    prepare_out_dir(&request.out_dir)?;
    let programs = host::find_programs().map_err(|e| Error::build(&e))?;

    let staging = Staging::new()?;
    let src = staging.0.join("src");
    let out = staging.0.join("out");
    let probe_out = staging.0.join("probe");
    for dir in [&out, &probe_out] {
        std::fs::create_dir(dir).map_err(|e| Error::write(dir, &e))?;
    }
    let files =
        host::checkout(&source.toplevel, &source.commit, &src).map_err(|e| Error::build(&e))?;
    let variations = if vary {
        host::recreate_reversed(&src, &files, &staging.0.join("hold"))
            .map_err(|e| Error::build(&e))?;
        let suffix = custody_crypto::random_bytes::<4>()
            .map_err(|e| Error::new(Code::Internal, format!("no randomness: {e}")))?;
        let locale = environment.get("LANG").cloned().unwrap_or_default();
        Some(custody_build::vary::plan(
            &request.command,
            &locale,
            &hex::encode(suffix),
            host::faketime_program().as_deref(),
        ))
    } else {
        None
    };
    let sandbox = Sandbox {
        source: src.clone(),
        source_mount: SANDBOX_SOURCE.into(),
        out: out.clone(),
        network: request.network,
        root_entries: host::root_entries(),
        read_only,
        env: environment,
        limits: sandbox::Limits {
            wall_seconds: request.timeout_seconds,
            ..sandbox::Limits::default()
        },
    };
    if sandbox.exposes(&key_path) {
        return Err(invalid(format!(
            "the signing key '{}' is under a path the sandbox mounts",
            request.key_path.display()
        )));
    }
    // Probes (the sandbox check, tool versions) get their own output directory.
    let probe_sandbox = Sandbox {
        out: probe_out,
        ..sandbox.clone()
    };
    host::check_sandbox(&programs, &probe_sandbox).map_err(|e| Error::build(&e))?;

    let inputs = digest_inputs(&src, &files)?;
    let tools = toolchain(&programs, &probe_sandbox, &request.command)?;
    let packages = match src.join("Cargo.lock") {
        lock if lock.is_file() => {
            parse_cargo_lock(&read_text(&lock, LOCKFILE_LIMIT)?).map_err(|e| Error::build(&e))?
        }
        _ => Vec::new(),
    };

    let log_path = staging.0.join(LOG_FILE);
    let log = File::create(&log_path).map_err(|e| Error::write(&log_path, &e))?;
    // A varied run gets its own sandbox settings and a wrapped command; probes stay unvaried.
    let mut run_sandbox = sandbox.clone();
    let argv = match &variations {
        Some(v) => v.apply(&mut run_sandbox, &request.command),
        None => request.command.clone(),
    };
    let started_on = now();
    let end =
        host::run_sandboxed(&programs, &run_sandbox, &argv, &log).map_err(|e| Error::build(&e))?;
    let finished_on = now();
    drop(log);

    let final_log = request.out_dir.join(LOG_FILE);
    copy_file(&log_path, &final_log)?;
    let exit_code = match end {
        host::RunEnd::Exited(0) => 0,
        host::RunEnd::Exited(code) => {
            return Err(Error::new(
                Code::BuildFailed,
                format!(
                    "the build exited with status {code}; nothing was signed (log: {})",
                    final_log.display()
                ),
            ));
        }
        _ => {
            return Err(Error::new(
                Code::BuildFailed,
                format!(
                    "the build timed out after {} s and was killed; nothing was signed (log: {})",
                    request.timeout_seconds,
                    final_log.display()
                ),
            ));
        }
    };
    let log_digests = digest_file(&final_log, &[DigestAlgorithm::Sha256])?;

    // The sandbox has exited, and with its pid namespace every process in it: the outputs are
    // final. They are copied first and the copies digested, so the subjects are exactly the
    // files handed to the invoker.
    let produced = list_outputs(&out)?;
    let outputs_dir = request.out_dir.join(OUTPUTS_DIR);
    let mut outputs = Vec::with_capacity(produced.len());
    for name in &produced {
        let dest = outputs_dir.join(name);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, &e))?;
        }
        copy_file(&out.join(name), &dest)?;
        keep_executable(&out.join(name), &dest)?;
        outputs.push(FileDigest {
            path: name.clone(),
            digests: digest_file(&dest, &[DigestAlgorithm::Sha256, DigestAlgorithm::Sha512])?,
        });
    }

    let mut builder_version =
        BTreeMap::from([("custody".to_owned(), env!("CARGO_PKG_VERSION").to_owned())]);
    let bwrap_version = host::bwrap_version(&programs);
    if let Some(v) = &bwrap_version {
        builder_version.insert("bubblewrap".to_owned(), v.clone());
    }
    let builder_dependencies = vec![
        platform_tool("bwrap", &programs.bwrap, bwrap_version)?,
        platform_tool("prlimit", &programs.prlimit, None)?,
    ];
    let env_opt_in = request
        .env
        .iter()
        .filter_map(|name| {
            sandbox
                .env
                .get(name)
                .map(|v| (name.clone(), custody_crypto::sha256(v.as_bytes())))
        })
        .collect();
    let invocation = custody_crypto::random_bytes::<16>()
        .map_err(|e| Error::new(Code::Internal, format!("no randomness: {e}")))?;
    let toplevel = source.toplevel.display().to_string();
    let record = BuildRecord {
        builder_id: request.builder_id.clone(),
        builder_version,
        builder_dependencies,
        command: request.command.clone(),
        source: Source {
            repository: repository_uri(source.remote.as_deref(), &toplevel),
            commit: source.commit.clone(),
            ref_name: source.ref_name.clone(),
        },
        env_opt_in,
        sandbox: run_sandbox.describe(),
        network: request.network.as_str().to_owned(),
        inputs,
        tools,
        packages,
        outputs,
        exit_code,
        log_digests,
        started_on,
        finished_on,
        invocation_id: hex::encode(invocation),
    };
    drop(staging);
    Ok(Executed {
        record,
        log_path: final_log,
        variations,
    })
}

/// Creates the output directory, refusing one that already holds files: stale files next to
/// fresh provenance would be mistaken for outputs of this build.
fn prepare_out_dir(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::new(
                    Code::OutputExists,
                    format!("the output directory '{}' is not empty", dir.display()),
                ));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, &e))
        }
        Err(e) => Err(Error::write(dir, &e)),
    }
}

/// Streams `from` into a new file `to` (atomically).
fn copy_file(from: &Path, to: &Path) -> Result<()> {
    let mut input = File::open(from).map_err(|e| Error::read(from, &e))?;
    write_atomic_with(to, Overwrite::Refuse, Visibility::Public, &mut |w| {
        io::copy(&mut input, w)
            .map(|_| ())
            .map_err(|e| Error::read(from, &e))
    })
}

/// Gives `to` mode 0755 when `from` is executable (build outputs are often programs).
fn keep_executable(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = from
        .metadata()
        .map_err(|e| Error::read(from, &e))?
        .permissions()
        .mode();
    if mode & 0o111 != 0 {
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::write(to, &e))?;
    }
    Ok(())
}

/// SHA-256 of every tracked file of the checkout (a symbolic link: of its target text).
fn digest_inputs(root: &Path, files: &[String]) -> Result<Vec<FileDigest>> {
    let mut out = Vec::with_capacity(files.len());
    for name in files {
        let path = root.join(name);
        let meta = path
            .symlink_metadata()
            .map_err(|e| Error::read(&path, &e))?;
        let digests = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| Error::read(&path, &e))?;
            vec![custody_crypto::sha256(
                target.as_os_str().as_encoded_bytes(),
            )]
        } else if meta.is_file() {
            digest_file(&path, &[DigestAlgorithm::Sha256])?
        } else {
            // Submodules (gitlinks) check out as empty directories; they are not inputs here.
            continue;
        };
        out.push(FileDigest {
            path: name.clone(),
            digests,
        });
    }
    Ok(out)
}

/// Every regular file under the output directory, as `/`-separated relative paths, sorted.
fn list_outputs(root: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::read(dir, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(dir, &e))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|e| Error::read(&path, &e))?;
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let Some(name) = rel.to_str() else {
                return Err(Error::new(
                    Code::BuildOutputInvalid,
                    format!("the output name '{}' is not UTF-8", rel.display()),
                ));
            };
            if kind.is_dir() {
                walk(root, &path, out)?;
            } else if kind.is_file() {
                out.push(name.to_owned());
            } else {
                return Err(Error::new(
                    Code::BuildOutputInvalid,
                    format!(
                        "the output '{name}' is not a regular file (a symbolic link, device or socket)"
                    ),
                ));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort();
    if out.is_empty() {
        return Err(Error::new(
            Code::BuildOutputInvalid,
            "the build wrote no files to $CUSTODY_OUT; there is nothing to attest",
        ));
    }
    Ok(out)
}

/// A program of the build platform itself, with its digest.
fn platform_tool(name: &str, path: &Path, version: Option<String>) -> Result<Tool> {
    Ok(Tool {
        name: name.to_owned(),
        path: path.display().to_string(),
        digests: digest_file(path, &[DigestAlgorithm::Sha256])?,
        version,
        executed: true,
    })
}

/// The step's program (`argv[0]`) and the well-known tools on the sandbox's `PATH`, resolved
/// as the sandbox sees them, with digests and `--version` answers (asked inside the sandbox:
/// nothing from the source tree ever runs outside it).
fn toolchain(programs: &Programs, sandbox: &Sandbox, command: &[String]) -> Result<Vec<Tool>> {
    let path_var = sandbox.env.get("PATH").cloned().unwrap_or_default();
    let to_host = |p: &Path| -> Option<PathBuf> {
        match p.strip_prefix(SANDBOX_SOURCE) {
            Ok(rel) => Some(sandbox.source.join(rel)),
            Err(_) if sandbox.exposes(p) && !p.starts_with(&sandbox.out) => Some(p.to_path_buf()),
            Err(_) => None,
        }
    };
    let is_file = |p: &Path| to_host(p).is_some_and(|h| h.is_file());
    let mut tools: Vec<Tool> = Vec::new();
    let mut wanted: Vec<(&str, bool)> = vec![(command[0].as_str(), true)];
    wanted.extend(WELL_KNOWN_TOOLS.iter().map(|t| (*t, false)));
    for (name, executed) in wanted {
        if !executed && tools.iter().any(|t| t.name == name) {
            continue;
        }
        let Some(found) = sandbox::resolve_command(name, &path_var, &is_file) else {
            continue;
        };
        let Some(host_path) = to_host(&found).and_then(|h| h.canonicalize().ok()) else {
            continue;
        };
        let in_source = host_path.starts_with(&sandbox.source);
        if !in_source && !sandbox.exposes(&host_path) {
            continue;
        }
        // rustup's proxies run the toolchain's own binary: record that one.
        let host_path = if host_path.file_name().is_some_and(|f| f == "rustup") {
            rustup_target(programs, sandbox, name).unwrap_or(host_path)
        } else {
            host_path
        };
        let digests: Vec<Digest> = digest_file(&host_path, &[DigestAlgorithm::Sha256])?;
        // A script from the source tree is an input already; it is not asked for a version.
        let version = if in_source {
            None
        } else {
            host::tool_version(programs, sandbox, &found.display().to_string())
        };
        let shown = if in_source {
            Path::new(SANDBOX_SOURCE)
                .join(
                    host_path
                        .strip_prefix(&sandbox.source)
                        .unwrap_or(&host_path),
                )
                .display()
                .to_string()
        } else {
            host_path.display().to_string()
        };
        tools.push(Tool {
            name: name.to_owned(),
            path: shown,
            digests,
            version,
            executed,
        });
    }
    Ok(tools)
}

/// The toolchain binary a rustup proxy named `name` (rustc, cargo) runs in the sandbox:
/// `SYSROOT/bin/NAME`, with the sysroot asked from `rustc --print sysroot` inside the sandbox.
fn rustup_target(programs: &Programs, sandbox: &Sandbox, name: &str) -> Option<PathBuf> {
    let probe = host::probe(
        programs,
        sandbox,
        &[
            "rustc".to_owned(),
            "--print".to_owned(),
            "sysroot".to_owned(),
        ],
    )
    .ok()?;
    if probe.exit_code != Some(0) {
        return None;
    }
    let sysroot = String::from_utf8(probe.stdout).ok()?;
    let binary = Path::new(sysroot.trim()).join("bin").join(name);
    let binary = binary.canonicalize().ok()?;
    (sandbox.exposes(&binary) && binary.is_file()).then_some(binary)
}

/// The rebuild attestation's file name under `--out`.
pub const REBUILD_FILE: &str = "rebuild.sigstore.json";

/// Provenance bundles larger than this are refused.
pub const PROVENANCE_LIMIT: u64 = 64 * 1024 * 1024;

/// What the provenance's signature is verified with before anything of it is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvenanceTrust {
    /// A trust root (verified against its own root keys): the provenance must verify as
    /// `custody verify --trust-root R --role build` would (signature, key role and validity,
    /// log inclusion when the trust root names a log).
    TrustRoot(PathBuf),
    /// Exactly this public key (SPKI PEM), as `custody verify --key` would.
    Key(PathBuf),
    /// Not verified at all (`--unverified`: for debugging someone else's build). The
    /// attestation then names no verified key.
    Unverified,
}

/// What to rebuild and how.
#[derive(Debug, Clone)]
pub struct RebuildRequest {
    /// The provenance bundle (from `custody build`) of the build to reproduce.
    pub provenance: PathBuf,
    /// What the provenance's signature must verify with before the rebuild runs.
    pub provenance_trust: ProvenanceTrust,
    /// A directory inside a git work tree that holds the recorded commit.
    pub source_dir: PathBuf,
    /// Where the rebuilt outputs, the log and the rebuild attestation are written.
    pub out_dir: PathBuf,
    /// The rebuilder's signing key (read only after the rebuild, and only if it reproduced).
    pub key_path: PathBuf,
    /// Extra host paths mounted read-only.
    pub read_only: Vec<PathBuf>,
    /// The rebuilder's id (an absolute URI).
    pub rebuilder_id: String,
    /// Wall-clock limit of the rebuild in seconds.
    pub timeout_seconds: u64,
    /// Perturb what should not matter (build path, clock, locale, umask, file order).
    pub vary: bool,
}

/// The result of a reproduced build.
#[derive(Debug, Clone)]
pub struct RebuildOutcome {
    /// The commit rebuilt.
    pub commit: String,
    /// The rebuilt outputs (equal to the provenance's subjects).
    pub outputs: Vec<FileDigest>,
    /// The signed rebuild attestation's path.
    pub attestation_path: PathBuf,
    /// The rebuild's log.
    pub log_path: PathBuf,
    /// The signature.
    pub signed: Signed,
    /// The variations applied (`--vary`).
    pub variations: Option<Variations>,
    /// The key whose signature over the provenance was verified (`None`: `--unverified`).
    pub provenance_key: Option<custody_build::rebuild::ProvenanceKey>,
}

/// Re-runs the build a provenance records (same command, commit, network mode and opted-in
/// variable names, in a fresh sandbox) and compares every output with the recorded subjects.
/// Reproduced: signs a rebuild attestation ([`custody_build::rebuild::REBUILD_PREDICATE_TYPE`]).
/// Not reproduced: `CUSTODY-E1060` listing every differing file, and nothing is signed.
///
/// Fails closed: before anything runs (no checkout, no sandbox, no output directory), the
/// provenance's signature must verify with `request.provenance_trust` (see
/// [`verify_provenance`]); a failure is the verification's own error. Only
/// [`ProvenanceTrust::Unverified`] skips this. The attestation binds the provenance by digest
/// and names the key that verified it.
pub fn rebuild<S: Signer>(
    request: &RebuildRequest,
    load_signer: impl FnOnce(&Path) -> Result<S>,
    logger: Logger<'_>,
) -> Result<RebuildOutcome> {
    use custody_build::rebuild::{compare, rebuild_statement, recorded_build};
    use custody_formats::bundle::{Bundle, Content};

    if !is_absolute_uri(&request.rebuilder_id) {
        return Err(invalid(format!(
            "the rebuilder id '{}' is not an absolute URI",
            request.rebuilder_id
        )));
    }
    let bytes = crate::fs::read_limited(&request.provenance, PROVENANCE_LIMIT)?;
    let provenance_digest = custody_crypto::sha256(&bytes);
    let limits = custody_formats::Limits::default();
    let bundle = Bundle::from_json(&bytes, &limits)
        .map_err(|e| Error::format(crate::Document::Bundle, &e))?;
    let Content::Dsse(envelope) = bundle.content() else {
        return Err(invalid(format!(
            "'{}' holds a message signature, not build provenance",
            request.provenance.display()
        )));
    };
    let unverified = custody_formats::intoto::Statement::from_json(envelope.payload(), &limits)
        .map_err(|e| Error::format(crate::Document::Bundle, &e))?;
    let (statement, provenance_key) =
        verify_provenance(&bundle, unverified, &request.provenance_trust, now())?;
    let recorded = recorded_build(&statement).map_err(|e| Error::build(&e))?;
    let source =
        host::source_at(&request.source_dir, &recorded.revision).map_err(|e| Error::build(&e))?;
    let build_request = BuildRequest {
        source_dir: request.source_dir.clone(),
        command: recorded.command.clone(),
        out_dir: request.out_dir.clone(),
        key_path: request.key_path.clone(),
        network: recorded.network,
        env: recorded.env.clone(),
        read_only: request.read_only.clone(),
        builder_id: request.rebuilder_id.clone(),
        timeout_seconds: request.timeout_seconds,
        in_toto_link: None,
    };
    let executed = execute(&build_request, &source, request.vary)?;
    let variations = executed.variations;
    let outputs = executed.record.outputs;
    let differences = compare(&recorded, &outputs);
    if !differences.is_empty() {
        let list: Vec<String> = differences.iter().map(ToString::to_string).collect();
        let varied = variations
            .as_ref()
            .map(|v| format!(" under --vary ({})", v.summary()))
            .unwrap_or_default();
        let reports = diffoscope_reports(&request.provenance, &request.out_dir, &differences);
        return Err(Error::new(
            Code::RebuildMismatch,
            format!(
                "commit {} did not rebuild to the recorded outputs{varied}: {}{reports}",
                source.commit,
                list.join("; ")
            ),
        ));
    }
    let attestation = rebuild_statement(
        &recorded,
        &provenance_digest,
        provenance_key.as_ref(),
        &request.rebuilder_id,
        &outputs,
        now(),
        variations.as_ref().map(Variations::describe),
    )
    .map_err(|e| Error::build(&e))?;
    let first = first_digest(&outputs)?;
    let signer = load_signer(&request.key_path)?;
    let attestation_path = request.out_dir.join(REBUILD_FILE);
    let signed = sign_statement(&attestation, &signer, first, &attestation_path, logger)?;
    Ok(RebuildOutcome {
        commit: source.commit,
        outputs,
        attestation_path,
        log_path: executed.log_path,
        signed,
        variations,
        provenance_key,
    })
}

/// Verifies the provenance bundle's signature as `custody verify` does (with role `build` for
/// a trust root), without an artifact file: the statement's subjects are the built files, so
/// the digests to verify against are taken from the (not yet verified) statement only to name
/// them; the verification then proves that the signed statement carries them. Returns the
/// verified statement (the unverified one for [`ProvenanceTrust::Unverified`]) and the key
/// that verified it.
pub fn verify_provenance(
    bundle: &custody_formats::bundle::Bundle,
    unverified: custody_formats::intoto::Statement,
    trust: &ProvenanceTrust,
    now: OffsetDateTime,
) -> Result<(
    custody_formats::intoto::Statement,
    Option<custody_build::rebuild::ProvenanceKey>,
)> {
    use crate::verify::{Trust, verify_bundle_digests};
    use custody_formats::trust_root::Role;

    let digests: Vec<Digest> = unverified
        .subjects()
        .iter()
        .flat_map(|s| {
            [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512]
                .into_iter()
                .filter_map(|a| s.digest(a))
        })
        .collect();
    let verification = match trust {
        ProvenanceTrust::Unverified => return Ok((unverified, None)),
        ProvenanceTrust::Key(path) => {
            let key = crate::keys::load_public_key(path)?;
            verify_bundle_digests(bundle, &digests, &Trust::Key(&key), now)?
        }
        ProvenanceTrust::TrustRoot(path) => {
            let root = crate::trust::load_trust_root(path, now)?;
            let trust = Trust::TrustRoot {
                root: &root,
                role: Role::Build,
            };
            verify_bundle_digests(bundle, &digests, &trust, now)?
        }
    };
    let statement = verification.statement.ok_or_else(|| {
        invalid("the provenance bundle holds a message signature, not build provenance")
    })?;
    let key = custody_build::rebuild::ProvenanceKey {
        key_id: verification.key_id,
        role: verification.role,
    };
    Ok((statement, Some(key)))
}

/// At most this many differing files are compared with diffoscope.
const DIFFOSCOPE_FILES: usize = 3;

/// diffoscope's summaries of the differing files, for the mismatch message: each recorded file
/// is looked for next to the provenance (`PROVENANCE_DIR/out/NAME`, where `custody build`
/// put it) and used only if its SHA-256 is the recorded one. When diffoscope is not installed
/// the text says so (that is not an error).
fn diffoscope_reports(
    provenance: &Path,
    out_dir: &Path,
    differences: &[custody_build::rebuild::Difference],
) -> String {
    use custody_build::host::{DIFFOSCOPE_TIMEOUT, Diffoscope, diffoscope};
    use custody_build::rebuild::{Difference, REPORT_EXCERPT_LIMIT, report_excerpt};

    let differing: Vec<(&str, &str)> = differences
        .iter()
        .filter_map(|d| match d {
            Difference::Differs { name, recorded, .. } => Some((name.as_str(), recorded.as_str())),
            _ => None,
        })
        .collect();
    if differing.is_empty() {
        return String::new();
    }
    let path_var = std::env::var_os("PATH");
    let recorded_dir = provenance
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(OUTPUTS_DIR);
    let mut text = String::new();
    for (name, recorded_sha256) in differing.iter().take(DIFFOSCOPE_FILES) {
        let recorded = recorded_dir.join(name);
        let rebuilt = out_dir.join(OUTPUTS_DIR).join(name);
        let matches = digest_file(&recorded, &[DigestAlgorithm::Sha256])
            .ok()
            .and_then(|d| d.first().map(Digest::hex))
            .is_some_and(|hex| hex == *recorded_sha256);
        if !matches {
            text.push_str(&format!(
                "\ndiffoscope: {name}: the recorded file is not at '{}' with the recorded digest; not compared",
                recorded.display()
            ));
            continue;
        }
        match diffoscope(path_var.as_deref(), &recorded, &rebuilt, DIFFOSCOPE_TIMEOUT) {
            Diffoscope::NotInstalled => {
                text.push_str(
                    "\ndiffoscope is not installed (Debian package diffoscope); no summary of the differences",
                );
                return text;
            }
            Diffoscope::Report(report) => text.push_str(&format!(
                "\ndiffoscope {name}:\n{}",
                report_excerpt(&report, REPORT_EXCERPT_LIMIT)
            )),
            Diffoscope::Failed(why) => text.push_str(&format!("\ndiffoscope {name}: {why}")),
            _ => {}
        }
    }
    if differing.len() > DIFFOSCOPE_FILES {
        text.push_str(&format!(
            "\ndiffoscope: only the first {DIFFOSCOPE_FILES} differing files were compared"
        ));
    }
    text
}
