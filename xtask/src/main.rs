//! `cargo xtask`: project automation (see `USAGE`).

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use xtask::{interop, self_build};

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  test [-- ARGS...]  prepare the interop venv (target/interop-venv), then run every test:
                     `cargo nextest run --workspace --locked --no-fail-fast ARGS...`
                     and `cargo test --doc --workspace --locked`; narrow the nextest run with
                     a filterset, e.g. `cargo xtask test -- -E 'package(custody-log)'`;
                     then, on a clean work tree and without ARGS, `self-build` (on a dirty tree
                     it is skipped, and with CI=true a dirty tree fails)
  self-build [--source DIR] [--work-dir DIR]
                     build custody's release binary with `custody build` (sandboxed, offline,
                     vendored crates) from the HEAD commit of DIR (default: this workspace),
                     then check the provenance with `custody verify`, securesystemslib and
                     in-toto-attestation; outputs in DIR (default: target/self-build)
  tidy               check the crate layering (xtask/src/layering.rs) and forbidden patterns
                     (ignored or should-panic tests, placeholder and debugging macros)
  bench [ARGS...]    run bench/run: digest and signature throughput against openssl
  bench registry     run bench/registry: the OCI registry against docker-registry
  bench log          run bench/log: the transparency log under wrk, server in its own process
  bench gate         run bench/gate: the deploy gate's latency from the CLI
  help               print this message
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let root = xtask::workspace_root();
    let result = match command.as_str() {
        "test" => test(&root, rest),
        "tidy" => tidy(&root, rest),
        "self-build" => self_build(&root, rest),
        "bench" => bench(&root, rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("xtask: unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn test(root: &Path, args: &[String]) -> Result<(), String> {
    // `cargo xtask test -- ARGS` arrives as `test -- ARGS`; the separator is optional.
    let extra = match args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => args,
    };
    // A missing runner is a failed setup, never a silently skipped test run.
    interop::run(
        Command::new(xtask::cargo())
            .args(["nextest", "--version"])
            .stdout(Stdio::null()),
    )
    .map_err(|error| {
        format!("{error}\nxtask: cargo-nextest is required: cargo install --locked cargo-nextest")
    })?;
    let python = interop::ensure_venv(root, &xtask::target_dir(root))?;
    eprintln!("xtask: {}={}", interop::PYTHON_ENV, python.display());

    let mut failed = Vec::new();
    let nextest = interop::run(
        Command::new(xtask::cargo())
            .current_dir(root)
            .env(interop::PYTHON_ENV, &python)
            .args([
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--no-fail-fast",
            ])
            .args(extra),
    );
    if let Err(error) = nextest {
        eprintln!("{error}");
        failed.push("cargo nextest run");
    }
    // Doc tests run even when unit or integration tests failed, so one run shows everything.
    let doc = interop::run(
        Command::new(xtask::cargo())
            .current_dir(root)
            .env(interop::PYTHON_ENV, &python)
            .args(["test", "--doc", "--workspace", "--locked"]),
    );
    if let Err(error) = doc {
        eprintln!("{error}");
        failed.push("cargo test --doc");
    }
    // custody builds itself (docs/build.md). It builds the HEAD commit, so it runs only on a
    // clean work tree; CI always has one. A narrowed run (ARGS) is about some tests, not this.
    if !extra.is_empty() {
        eprintln!("self-build skipped: a test filter was given (run `cargo xtask self-build`)");
    } else if let Err(error) = self_build_if_clean(root, &python) {
        eprintln!("{error}");
        failed.push("self-build");
    }
    if failed.is_empty() {
        eprintln!("xtask: all tests passed");
        Ok(())
    } else {
        Err(format!("xtask: failed: {}", failed.join(", ")))
    }
}

/// Runs the self-build on a clean work tree. On a dirty one it prints why it is skipped, unless
/// this is CI, where a dirty tree is an error (CI works on a fresh clone).
fn self_build_if_clean(root: &Path, python: &Path) -> Result<(), String> {
    let changes = self_build::uncommitted_changes(root)?;
    if !changes.is_empty() {
        if self_build::in_ci() {
            return Err(format!(
                "xtask: self-build: CI=true but the work tree has uncommitted changes:\n{changes}"
            ));
        }
        eprintln!("{}", self_build::SKIPPED_DIRTY);
        return Ok(());
    }
    self_build::run(&self_build::Options {
        root: root.to_path_buf(),
        source: root.to_path_buf(),
        work_dir: xtask::target_dir(root).join("self-build"),
        python: python.to_path_buf(),
        build_custody: false,
    })
    .map(drop)
}

fn self_build(root: &Path, args: &[String]) -> Result<(), String> {
    let args = self_build::parse_args(args)?;
    let python = interop::ensure_venv(root, &xtask::target_dir(root))?;
    self_build::run(&self_build::Options {
        root: root.to_path_buf(),
        source: args.source.unwrap_or_else(|| root.to_path_buf()),
        work_dir: args
            .work_dir
            .unwrap_or_else(|| xtask::target_dir(root).join("self-build")),
        python,
        build_custody: true,
    })
    .map(drop)
}

fn tidy(root: &Path, args: &[String]) -> Result<(), String> {
    if let Some(arg) = args.first() {
        return Err(format!("xtask: `tidy` takes no arguments, got `{arg}`"));
    }
    match xtask::tidy_all(root) {
        Ok(()) => {
            eprintln!("xtask: tidy: crate layering and source patterns are fine");
            Ok(())
        }
        Err(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            Err(format!("xtask: tidy: {} problem(s)", problems.len()))
        }
    }
}

fn bench(root: &Path, args: &[String]) -> Result<(), String> {
    // `cargo xtask bench registry` runs the registry against docker-registry; `bench log` the
    // transparency log under wrk; anything else bench/run.
    let (script, rest) = match args.split_first() {
        Some((first, rest)) if first == "registry" => ("bench/registry", rest),
        Some((first, rest)) if first == "log" => ("bench/log", rest),
        Some((first, rest)) if first == "gate" => ("bench/gate", rest),
        _ => ("bench/run", args),
    };
    interop::run(
        Command::new("bash")
            .current_dir(root)
            .arg(root.join(script))
            .args(rest),
    )
}
