//! Helpers: a scratch directory and a `custody` command running in it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

pub(crate) const PASS: &str = "test passphrase";

pub(crate) struct Scratch {
    pub(crate) dir: tempfile::TempDir,
}

impl Scratch {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `custody ARGS` in the scratch directory, with CUSTODY_PASSPHRASE set and no terminal.
    pub(crate) fn custody(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("custody").unwrap();
        cmd.current_dir(self.dir.path())
            .env("CUSTODY_PASSPHRASE", PASS)
            .args(args);
        cmd
    }

    /// Runs with `--json` and returns (exit status, parsed stdout).
    pub(crate) fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let output = self.custody(&all).output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let value: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}): {stdout:?}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.code().unwrap_or(-1), value)
    }

    /// Runs and asserts success; returns the JSON result.
    pub(crate) fn ok(&self, args: &[&str]) -> Value {
        let (status, value) = self.json(args);
        assert_eq!(status, 0, "custody {args:?} failed: {value}");
        assert_eq!(value["ok"], true);
        value
    }

    /// Runs and asserts failure with `code` and the code's exit status.
    pub(crate) fn fails(&self, args: &[&str], code: &str) -> Value {
        let (status, value) = self.json(args);
        assert_eq!(
            value["ok"], false,
            "custody {args:?} unexpectedly succeeded: {value}"
        );
        assert_eq!(value["error"]["code"], code, "custody {args:?}: {value}");
        let expected_status = i32::from(code.as_bytes()["CUSTODY-E".len()] - b'0');
        assert_eq!(status, expected_status, "exit status for {code}");
        assert!(!value["error"]["message"].as_str().unwrap().is_empty());
        assert!(!value["error"]["hint"].as_str().unwrap().is_empty());
        value
    }

    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub(crate) fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Generates PREFIX.key / PREFIX.pub and returns the key id.
    pub(crate) fn key(&self, prefix: &str, algorithm: &str) -> String {
        let v = self.ok(&["key", "generate", "--out", prefix, "--algorithm", algorithm]);
        v["keyId"].as_str().unwrap().to_owned()
    }

    /// A trust root with `root` as root key and the given ROLE=PUB keys, signed by root.key.
    pub(crate) fn trust_root(&self, name: &str, keys: &[&str]) {
        let mut args = vec!["trust-root", "init", "--out", name, "--root", "root.pub"];
        for k in keys {
            args.push("--key");
            args.push(k);
        }
        self.ok(&args);
        self.ok(&["trust-root", "sign", name, "--key", "root.key"]);
    }
}

pub(crate) fn flip_bit(path: &Path, byte: usize, bit: u8) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[byte] ^= 1 << bit;
    std::fs::write(path, bytes).unwrap();
}

/// A `custody serve` child process on a free loopback port, killed when dropped.
pub(crate) struct Server {
    pub(crate) child: std::process::Child,
    pub(crate) url: String,
}

impl Server {
    /// Starts (or restarts) the server on data directory `data`.
    pub(crate) fn start(data: &Path) -> Self {
        Self::start_with(data, &[])
    }

    /// [`Self::start`] with extra `custody serve` arguments.
    pub(crate) fn start_with(data: &Path, extra: &[&str]) -> Self {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("custody"))
            .args(["--json", "serve", "--data"])
            .arg(data)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--origin",
                "log.custody.test/e2e",
            ])
            .args(extra)
            .env("CUSTODY_PASSPHRASE", PASS)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("serve printed {line:?}: {e}"));
        let url = format!("http://{}", v["listening"].as_str().unwrap());
        Self { child, url }
    }

    /// SIGKILL, no shutdown.
    pub(crate) fn kill_now(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `custody witness serve` child process on a free loopback port, killed when dropped.
pub(crate) struct WitnessServer {
    pub(crate) child: std::process::Child,
    pub(crate) url: String,
    /// The witness's cosignature vkey, as it printed it.
    pub(crate) vkey: String,
}

impl WitnessServer {
    /// Starts (or restarts) a witness on data directory `data`, witnessing the log `log_vkey`.
    pub(crate) fn start(data: &Path, log_vkey: &str) -> Self {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("custody"))
            .args(["--json", "witness", "serve", "--data"])
            .arg(data)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--log",
                log_vkey,
                "--name",
                "witness.custody.test/e2e",
            ])
            .env("CUSTODY_PASSPHRASE", PASS)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("witness serve printed {line:?}: {e}"));
        let url = format!("http://{}", v["listening"].as_str().unwrap());
        let vkey = v["vkey"].as_str().unwrap().to_owned();
        Self { child, url, vkey }
    }
}

impl Drop for WitnessServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
