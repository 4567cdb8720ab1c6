//! `custody tuf` and `custody fetch` end to end: a repository served over loopback HTTP (by
//! the interop venv's `python -m http.server`), a root rotation, and refused downloads.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::Duration;

use crate::support::Scratch;

struct HttpDir(Child);

impl Drop for HttpDir {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &std::path::Path) -> (HttpDir, String) {
    let python = std::env::var_os("CUSTODY_INTEROP_PYTHON").expect(
        "CUSTODY_INTEROP_PYTHON is not set: run the test suite with `cargo xtask test`, which creates the interop venv",
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(python)
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = HttpDir(child);
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("http.server did not start");
}

#[test]
fn tuf_repository_publish_rotate_and_fetch() {
    let s = Scratch::new();
    for k in ["root", "root2", "targets", "snapshot"] {
        s.key(k, "ed25519");
    }
    s.key("timestamp", "ecdsa-p256");
    s.fails(
        &[
            "tuf",
            "init",
            "--repo",
            "repo",
            "--root-key",
            "root.key",
            "--targets-key",
            "targets.key",
            "--snapshot-key",
            "snapshot.key",
            "--timestamp-key",
            "timestamp.key",
            "--bins",
            "100",
        ],
        "CUSTODY-E2050",
    );
    s.ok(&[
        "tuf",
        "init",
        "--repo",
        "repo",
        "--root-key",
        "root.key",
        "--targets-key",
        "targets.key",
        "--snapshot-key",
        "snapshot.key",
        "--timestamp-key",
        "timestamp.key",
        "--bins",
        "32",
    ]);
    s.write("app.txt", b"the release\n");
    s.ok(&[
        "tuf",
        "add",
        "--repo",
        "repo",
        "app.txt",
        "--name",
        "apps/app.txt",
    ]);
    let (_server, url) = serve(&s.path("repo"));
    let fetch = |out: &str| {
        vec![
            "fetch".to_owned(),
            "apps/app.txt".to_owned(),
            "--tuf-root".to_owned(),
            "repo/metadata/1.root.json".to_owned(),
            "--from".to_owned(),
            url.clone(),
            "--out".to_owned(),
            out.to_owned(),
            "--cache".to_owned(),
            "cache".to_owned(),
        ]
    };
    let args = fetch("got.txt");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let v = s.ok(&args);
    assert_eq!(v["rootVersion"], 1);
    assert_eq!(s.read("got.txt"), b"the release\n");

    s.ok(&[
        "tuf",
        "rotate-root",
        "--repo",
        "repo",
        "--new-root-key",
        "root2.key",
        "--root-key",
        "root.key",
    ]);
    let v = s.ok(&args);
    assert_eq!(v["rootVersion"], 2);

    // A tampered target of the same length is refused and nothing is written.
    let sha = custody_crypto::sha256(b"the release\n").hex();
    s.write(&format!("repo/targets/apps/{sha}.app.txt"), b"the evil one");
    let args = fetch("bad.txt");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.fails(&args, "CUSTODY-E1073");
    assert!(!s.path("bad.txt").exists());

    // Offline roles: a new targets version, another root signature; not the online roles.
    std::fs::write(
        s.path(&format!("repo/targets/apps/{sha}.app.txt")),
        b"the release\n",
    )
    .unwrap();
    let v = s.ok(&[
        "tuf",
        "sign",
        "--repo",
        "repo",
        "targets",
        "--key",
        "targets.key",
    ]);
    assert_eq!(v["version"], 2);
    let v = s.ok(&[
        "tuf",
        "sign",
        "--repo",
        "repo",
        "root",
        "--key",
        "root2.key",
    ]);
    assert_eq!(v["version"], 2);
    s.fails(
        &[
            "tuf",
            "sign",
            "--repo",
            "repo",
            "snapshot",
            "--key",
            "snapshot.key",
        ],
        "CUSTODY-E2050",
    );
    // A root rotation that the current root key does not sign is refused.
    s.fails(
        &[
            "tuf",
            "rotate-root",
            "--repo",
            "repo",
            "--new-root-key",
            "root.key",
            "--root-key",
            "root.key",
        ],
        "CUSTODY-E2050",
    );
    let v = s.ok(&["tuf", "resign", "--repo", "repo"]);
    assert!(v["version"].as_u64().unwrap() > 2, "{v}");
    let good = fetch("again.txt");
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let v = s.ok(&good);
    assert_eq!(v["rootVersion"], 2);
    assert_eq!(s.read("again.txt"), b"the release\n");

    let mut missing = args.clone();
    missing[1] = "apps/none.txt";
    s.fails(&missing, "CUSTODY-E1074");
}
