//! A client for theupdateframework/tuf-conformance, speaking its three-command CLI protocol
//! (`init`, `refresh`, `download`) over custody-tuf's client.
//!
//! Build: `cargo build -p custody-tuf --example conformance-client`; then run the suite with
//! `--entrypoint target/debug/examples/conformance-client`. The suite's repository simulator
//! serves plain HTTP on loopback, so a minimal HTTP/1.0 GET is enough here; custody's own
//! HTTP client lives in custody-app.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use custody_tuf::client::{
    Client, ClientLimits, FetchError, Fetcher, MetadataCache, TargetInfo, quote_role,
};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance-client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut opts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if let Some(name) = a.strip_prefix("--") {
            let value = args.next().ok_or(format!("--{name} needs a value"))?;
            opts.entry(name.to_owned()).or_default().push(value);
        } else {
            positional.push(a);
        }
    }
    let one = |k: &str| -> Result<String, String> {
        opts.get(k)
            .and_then(|v| v.last().cloned())
            .ok_or(format!("--{k} is required"))
    };
    let metadata_dir = PathBuf::from(one("metadata-dir")?);
    match positional.first().map(String::as_str) {
        Some("init") => {
            let root = positional.get(1).ok_or("init needs TRUSTED_ROOT")?;
            let bytes = std::fs::read(root).map_err(|e| e.to_string())?;
            write_file(&metadata_dir.join("root.json"), &bytes)
        }
        Some("refresh") => {
            let mut client = client(&metadata_dir, &one("metadata-url")?)?;
            client.refresh().map_err(|e| e.to_string())
        }
        Some("download") => {
            let mut client = client(&metadata_dir, &one("metadata-url")?)?;
            client.refresh().map_err(|e| e.to_string())?;
            let base = one("target-base-url")?;
            let dir = PathBuf::from(one("target-dir")?);
            for name in opts.get("target-name").ok_or("--target-name is required")? {
                let info = client.target_info(name).map_err(|e| e.to_string())?;
                let consistent = client.root().consistent_snapshot;
                download(&info, consistent, &base, &dir)?;
            }
            Ok(())
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

fn client(dir: &Path, url: &str) -> Result<Client<Http, Dir>, String> {
    let root = std::fs::read(dir.join("root.json")).map_err(|e| e.to_string())?;
    Client::new(
        &root,
        Http(url.trim_end_matches('/').to_owned()),
        Dir(dir.to_path_buf()),
        time::OffsetDateTime::now_utc(),
        ClientLimits::default(),
    )
    .map_err(|e| e.to_string())
}

fn download(info: &TargetInfo, consistent: bool, base: &str, dir: &Path) -> Result<(), String> {
    let local = dir.join(quote_role(&info.path));
    if let Ok(existing) = std::fs::read(&local) {
        let mut v = info.verifier();
        if v.update(&existing).is_ok() && v.finish().is_ok() {
            return Ok(());
        }
    }
    let path: Vec<String> = info
        .download_path(consistent)
        .split('/')
        .map(quote_role)
        .collect();
    let url = format!("{}/{}", base.trim_end_matches('/'), path.join("/"));
    let body = get(&url, info.file.length).map_err(|e| match e {
        FetchError::NotFound => format!("{url}: not found"),
        FetchError::Failed(r) => r,
    })?;
    let mut v = info.verifier();
    v.update(&body).map_err(|e| e.to_string())?;
    v.finish().map_err(|e| e.to_string())?;
    write_file(&local, &body)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp-conformance");
    std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

struct Dir(PathBuf);

impl MetadataCache for Dir {
    fn load(&self, file_name: &str) -> Option<Vec<u8>> {
        std::fs::read(self.0.join(file_name)).ok()
    }

    fn store(&mut self, file_name: &str, bytes: &[u8]) -> Result<(), String> {
        write_file(&self.0.join(file_name), bytes)
    }
}

struct Http(String);

impl Fetcher for Http {
    fn fetch_metadata(&mut self, file_name: &str, max_length: u64) -> Result<Vec<u8>, FetchError> {
        get(&format!("{}/{file_name}", self.0), max_length)
    }
}

/// GET over HTTP/1.0 on a plain TCP connection; reads at most `max + 1` body bytes.
fn get(url: &str, max: u64) -> Result<Vec<u8>, FetchError> {
    let fail = |m: String| FetchError::Failed(m);
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| fail(format!("{url}: only http:// is supported")))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = TcpStream::connect(host).map_err(|e| fail(format!("{url}: {e}")))?;
    write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n")
        .map_err(|e| fail(format!("{url}: {e}")))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream
            .read(&mut byte)
            .map_err(|e| fail(format!("{url}: {e}")))?;
        if n == 0 || head.len() > 64 * 1024 {
            return Err(fail(format!("{url}: bad response head")));
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| fail(format!("{url}: bad status line")))?;
    if status == 404 || status == 403 {
        return Err(FetchError::NotFound);
    }
    if !(200..300).contains(&status) {
        return Err(fail(format!("{url}: HTTP {status}")));
    }
    let mut body = Vec::new();
    stream
        .take(max.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| fail(format!("{url}: {e}")))?;
    Ok(body)
}
