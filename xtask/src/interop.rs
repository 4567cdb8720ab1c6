//! The Python venv holding the reference implementations for interop tests.
//!
//! `interop/requirements.txt` pins every package by version and hash. The venv lives at
//! `<target>/interop-venv` and is rebuilt from scratch whenever the SHA-256 of the requirements
//! file differs from the stamp written after the last successful install, or when the venv's
//! interpreter no longer works. Tests find the interpreter through [`PYTHON_ENV`].

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The environment variable through which tests find the venv's interpreter.
pub const PYTHON_ENV: &str = "CUSTODY_INTEROP_PYTHON";

/// The requirements file, relative to the workspace root.
pub const REQUIREMENTS: &str = "interop/requirements.txt";

/// The venv directory name inside the target directory.
pub const VENV_DIR: &str = "interop-venv";

/// Stamp file inside the venv holding the SHA-256 of the installed requirements file.
const STAMP: &str = "requirements.sha256";

/// Modules whose import proves the venv is usable.
const SMOKE_IMPORT: &str = "import securesystemslib.dsse, securesystemslib.signer";

/// Makes sure the interop venv is up to date, and returns the path of its interpreter.
pub fn ensure_venv(root: &Path, target_dir: &Path) -> Result<PathBuf, String> {
    let requirements = root.join(REQUIREMENTS);
    let contents = std::fs::read(&requirements)
        .map_err(|error| format!("cannot read {}: {error}", requirements.display()))?;
    let wanted = sha256_hex(&contents);

    let venv = target_dir.join(VENV_DIR);
    let python = venv.join("bin").join("python");
    let stamp = venv.join(STAMP);
    let installed = std::fs::read_to_string(&stamp).unwrap_or_default();
    if installed.trim() == wanted && python.exists() && smoke_test(&python).is_ok() {
        eprintln!("xtask: interop venv {} is up to date", venv.display());
        return Ok(python);
    }

    eprintln!(
        "xtask: creating interop venv {} from {REQUIREMENTS}",
        venv.display()
    );
    if venv.exists() {
        std::fs::remove_dir_all(&venv)
            .map_err(|error| format!("cannot remove stale venv {}: {error}", venv.display()))?;
    }
    std::fs::create_dir_all(target_dir)
        .map_err(|error| format!("cannot create {}: {error}", target_dir.display()))?;
    let system_python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    run(Command::new(&system_python).args(["-m", "venv"]).arg(&venv)).map_err(|error| {
        format!(
            "{error}\nxtask: the interop tests need Python 3.11 or newer with the `venv` module \
             (on Debian: apt-get install python3 python3-venv); set PYTHON to choose the interpreter"
        )
    })?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
        ])
        // Hash-checking mode, and wheels only: nothing is built from source at install time.
        .args(["--require-hashes", "--only-binary", ":all:", "-r"])
        .arg(&requirements))?;
    smoke_test(&python)?;
    std::fs::write(&stamp, format!("{wanted}\n"))
        .map_err(|error| format!("cannot write {}: {error}", stamp.display()))?;
    Ok(python)
}

fn smoke_test(python: &Path) -> Result<(), String> {
    run(Command::new(python).args(["-c", SMOKE_IMPORT]))
}

/// Runs `command`, failing with a message that names it unless it exits successfully.
pub fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .map_err(|error| format!("xtask: cannot run {shown}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("xtask: {shown} failed: {status}"))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
