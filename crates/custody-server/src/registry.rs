//! The OCI distribution-spec v1.1 API under `/v2/`, over `custody_app::registry::service`.
//!
//! Paths carry repository names with slashes, so one catch-all route parses them: the last
//! `/blobs/uploads/`, `/blobs/`, `/manifests/`, `/tags/list` or `/referrers/` splits the name
//! from the operation. Blob bodies are streamed both ways through bounded channels to blocking
//! threads (hashing and file I/O happen there), so memory does not grow with blob size.
//!
//! Authentication: `Authorization: Basic` (any user name, the custody token as password) or
//! `Bearer <token>`. A 401 carries a Bearer challenge whose realm, `/auth/token`, answers a
//! Basic-authenticated request with the very token presented (never a more powerful one), and
//! an anonymous request with the placeholder `anonymous`, which counts as no token.

use std::collections::HashMap;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use base64::Engine as _;
use custody_app::Code;
use custody_app::registry::service::oci::manifest::MAX_MANIFEST_BYTES;
use custody_app::registry::service::oci::name::parse_digest;
use custody_app::registry::service::oci::range::{RangeError, parse_content_range, parse_range};
use custody_app::registry::service::oci::tags::tag_list_body;
use custody_app::registry::service::oci::{OciCode, error_body};
use custody_app::registry::service::{Registry, RegistryError, RegistryResult};
use tokio::sync::mpsc;

const API_VERSION: (&str, &str) = ("docker-distribution-api-version", "registry/2.0");
/// Request-body frames are forwarded to the blocking writer in batches of about this size.
const BATCH: usize = 256 * 1024;
/// Placeholder token handed to anonymous clients by the token endpoint; it means "no token".
const ANONYMOUS: &str = "anonymous";

/// The registry's routes: `/v2/`, `/v2/<name>/...` and the token endpoint `/auth/token`.
pub(crate) fn routes(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/v2/", get(ping))
        .route("/v2", get(ping))
        .route("/v2/{*path}", any(dispatch))
        .route("/auth/token", get(token_endpoint))
        .with_state(registry)
}

/// A registry error as the spec's JSON body.
struct SpecError(RegistryError);

impl From<RegistryError> for SpecError {
    fn from(e: RegistryError) -> Self {
        Self(e)
    }
}

fn spec_error(spec: OciCode, status: u16, code: Code, message: impl Into<String>) -> SpecError {
    SpecError(RegistryError::new(spec, status, code, message))
}

impl IntoResponse for SpecError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = e.error.code();
        // Internal details stay in the server; clients get the code and its stable hint.
        let message = if status.is_server_error() {
            code.title().to_owned()
        } else {
            e.error.message().to_owned()
        };
        let detail = serde_json::json!({
            "custody_code": code.to_string(),
            "hint": e.error.hint(),
        });
        let spec = if status.is_server_error() {
            OciCode::Unsupported
        } else {
            e.spec
        };
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            error_body(spec, &message, Some(detail)),
        )
            .into_response();
        response
            .headers_mut()
            .insert(API_VERSION.0, HeaderValue::from_static(API_VERSION.1));
        response
    }
}

/// The presented token: Basic password or Bearer token.
fn credential(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let token = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        text.split_once(':')?.1.to_owned()
    } else {
        return None;
    };
    (!token.is_empty() && token != ANONYMOUS).then_some(token)
}

fn challenge(headers: &HeaderMap, scope: Option<&str>) -> HeaderValue {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".:-[]".contains(&b))
        })
        .unwrap_or("localhost");
    let mut value = format!("Bearer realm=\"http://{host}/auth/token\",service=\"custody\"");
    if let Some(scope) = scope {
        value.push_str(&format!(",scope=\"{scope}\""));
    }
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("Bearer realm=\"custody\""))
}

fn with_challenge(mut response: Response, headers: &HeaderMap, scope: Option<&str>) -> Response {
    if response.status() == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge(headers, scope));
    }
    response
}

/// Runs a short metadata call (a few indexed SQLite reads from cached pages, tens of
/// microseconds) on the async worker itself: any hand-off (`spawn_blocking`, or
/// `block_in_place`, which moves the worker's core to another thread) costs more than the call
/// (measured: `block_in_place` spent a third of a manifest GET's CPU in futex waits).
async fn quick<T: Send + 'static>(
    f: impl FnOnce() -> RegistryResult<T> + Send + 'static,
) -> Result<T, SpecError> {
    f().map_err(SpecError)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> RegistryResult<T> + Send + 'static,
) -> Result<T, SpecError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| {
            spec_error(
                OciCode::Unsupported,
                500,
                Code::Internal,
                "a registry task failed",
            )
        })?
        .map_err(SpecError)
}

/// `GET /v2/`: 200 with a valid token (or the anonymous placeholder), else 401 with the
/// challenge.
async fn ping(State(registry): State<Arc<Registry>>, headers: HeaderMap) -> Response {
    let token = credential(&headers);
    // A client holding the anonymous placeholder from the token endpoint is as authenticated
    // as it will get: answer 200 so that it goes on (each repository decides on pulls).
    let anonymous = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == format!("Bearer {ANONYMOUS}"));
    let result = if anonymous {
        Ok(())
    } else {
        quick(move || registry.check_token(token.as_deref())).await
    };
    let response = match result {
        Ok(()) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::HeaderName::from_static(API_VERSION.0),
                    API_VERSION.1,
                ),
            ],
            "{}",
        )
            .into_response(),
        Err(e) => e.into_response(),
    };
    with_challenge(response, &headers, None)
}

/// The Docker token endpoint: returns the presented token itself (or `anonymous`).
async fn token_endpoint(State(registry): State<Arc<Registry>>, headers: HeaderMap) -> Response {
    let token = credential(&headers);
    let Some(token) = token else {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "token": ANONYMOUS, "access_token": ANONYMOUS }).to_string(),
        )
            .into_response();
    };
    let checked = token.clone();
    match blocking(move || registry.check_token(Some(&checked))).await {
        Ok(()) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "token": token, "access_token": token }).to_string(),
        )
            .into_response(),
        Err(e) => with_challenge(e.into_response(), &headers, None),
    }
}

/// What a `/v2/...` path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    UploadStart(String),
    Upload(String, String),
    Blob(String, String),
    Manifest(String, String),
    Tags(String),
    Referrers(String, String),
}

fn parse_path(path: &str) -> Option<Target> {
    if let Some(name) = path.strip_suffix("/tags/list") {
        return Some(Target::Tags(name.to_owned()));
    }
    if let Some(name) = path
        .strip_suffix("/blobs/uploads/")
        .or_else(|| path.strip_suffix("/blobs/uploads"))
    {
        return Some(Target::UploadStart(name.to_owned()));
    }
    let (head, last) = path.rsplit_once('/')?;
    let (name, kind) = head.rsplit_once('/')?;
    if kind == "uploads" {
        let name = name.strip_suffix("/blobs")?;
        return Some(Target::Upload(name.to_owned(), last.to_owned()));
    }
    let (name, last) = (name.to_owned(), last.to_owned());
    match kind {
        "blobs" => Some(Target::Blob(name, last)),
        "manifests" => Some(Target::Manifest(name, last)),
        "referrers" => Some(Target::Referrers(name, last)),
        _ => None,
    }
}

fn scope_of(target: &Target, method: &Method) -> String {
    let name = match target {
        Target::UploadStart(n)
        | Target::Upload(n, _)
        | Target::Blob(n, _)
        | Target::Manifest(n, _)
        | Target::Tags(n)
        | Target::Referrers(n, _) => n,
    };
    let actions = match *method {
        Method::GET | Method::HEAD => "pull",
        Method::DELETE => "delete",
        _ => "pull,push",
    };
    format!("repository:{name}:{actions}")
}

async fn dispatch(
    State(registry): State<Arc<Registry>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let path = uri
        .path()
        .strip_prefix("/v2/")
        .unwrap_or_default()
        .to_owned();
    let Some(target) = parse_path(&path) else {
        return spec_error(
            OciCode::NameInvalid,
            404,
            Code::RegistryNameInvalid,
            "not a registry path",
        )
        .into_response();
    };
    let scope = scope_of(&target, &method);
    let query: HashMap<String, String> =
        Query::try_from_uri(&uri).map_or_else(|_| HashMap::new(), |q| q.0);
    let token = credential(&headers);
    let request = Request {
        method,
        query,
        headers: headers.clone(),
        token,
        body,
    };
    let result = route(registry, target, request).await;
    let response = match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    with_challenge(response, &headers, Some(&scope))
}

/// The parts of a request a route needs.
struct Request {
    method: Method,
    query: HashMap<String, String>,
    headers: HeaderMap,
    token: Option<String>,
    body: Body,
}

async fn route(
    registry: Arc<Registry>,
    target: Target,
    req: Request,
) -> Result<Response, SpecError> {
    let Request {
        method,
        query,
        headers,
        token,
        body,
    } = req;
    let headers = &headers;
    let unsupported = || {
        spec_error(
            OciCode::Unsupported,
            405,
            Code::RegistryUnsupported,
            "method not allowed here",
        )
    };
    match target {
        Target::UploadStart(name) => {
            if method != Method::POST {
                return Err(unsupported());
            }
            start_upload(registry, name, query, token, body).await
        }
        Target::Upload(name, id) => match method {
            Method::PATCH => patch_upload(registry, name, id, headers, token, body).await,
            Method::PUT => {
                let offset = content_range_start(headers)?;
                put_upload(registry, (name, id), offset, query, token, body).await
            }
            Method::GET => {
                let (n, i) = (name.clone(), id.clone());
                let len =
                    blocking(move || registry.upload_status(token.as_deref(), &n, &i)).await?;
                Ok(upload_response(StatusCode::NO_CONTENT, &name, &id, len))
            }
            Method::DELETE => {
                blocking(move || registry.cancel_upload(token.as_deref(), &name, &id)).await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            _ => Err(unsupported()),
        },
        Target::Blob(name, digest) => {
            let digest = parse_digest(&digest).map_err(|e| SpecError(e.into()))?;
            match method {
                Method::GET | Method::HEAD => {
                    get_blob(
                        registry,
                        name,
                        digest,
                        headers,
                        token,
                        method == Method::HEAD,
                    )
                    .await
                }
                Method::DELETE => {
                    blocking(move || registry.delete_blob(token.as_deref(), &name, &digest))
                        .await?;
                    Ok(StatusCode::ACCEPTED.into_response())
                }
                _ => Err(unsupported()),
            }
        }
        Target::Manifest(name, reference) => match method {
            Method::GET | Method::HEAD => {
                let head = method == Method::HEAD;
                let m = quick(move || registry.get_manifest(token.as_deref(), &name, &reference))
                    .await?;
                let mut response = Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, m.media_type.as_str())
                    .header(header::CONTENT_LENGTH, m.bytes.len())
                    .header("docker-content-digest", m.digest.to_string())
                    .header(header::ETAG, format!("\"{}\"", m.digest))
                    .body(if head {
                        Body::empty()
                    } else {
                        Body::from(m.bytes)
                    })
                    .map_err(|_| {
                        spec_error(OciCode::Unsupported, 500, Code::Internal, "response")
                    })?;
                response
                    .headers_mut()
                    .insert(API_VERSION.0, HeaderValue::from_static(API_VERSION.1));
                Ok(response)
            }
            Method::PUT => put_manifest(registry, name, reference, headers, token, body).await,
            Method::DELETE => {
                blocking(move || registry.delete_manifest(token.as_deref(), &name, &reference))
                    .await?;
                Ok(StatusCode::ACCEPTED.into_response())
            }
            _ => Err(unsupported()),
        },
        Target::Tags(name) => {
            if method != Method::GET && method != Method::HEAD {
                return Err(unsupported());
            }
            let n = name.clone();
            let (tags, link) = quick(move || {
                registry.tags(
                    token.as_deref(),
                    &n,
                    query.get("n").map(String::as_str),
                    query.get("last").map(String::as_str),
                )
            })
            .await?;
            let mut response = (
                [(header::CONTENT_TYPE, "application/json")],
                tag_list_body(&name, &tags),
            )
                .into_response();
            if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
                response.headers_mut().insert(header::LINK, link);
            }
            Ok(response)
        }
        Target::Referrers(name, digest) => {
            if method != Method::GET {
                return Err(unsupported());
            }
            let digest = parse_digest(&digest).map_err(|e| SpecError(e.into()))?;
            let filter = query.get("artifactType").cloned();
            let (index, filtered) = quick(move || {
                registry.referrers(token.as_deref(), &name, &digest, filter.as_deref())
            })
            .await?;
            let mut response = (
                [(
                    header::CONTENT_TYPE,
                    "application/vnd.oci.image.index.v1+json",
                )],
                index,
            )
                .into_response();
            if filtered {
                response.headers_mut().insert(
                    "oci-filters-applied",
                    HeaderValue::from_static("artifactType"),
                );
            }
            Ok(response)
        }
    }
}

fn upload_location(name: &str, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

fn upload_response(status: StatusCode, name: &str, id: &str, len: u64) -> Response {
    let range = format!("0-{}", len.saturating_sub(1));
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&upload_location(name, id)) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&range) {
        h.insert(header::RANGE, v);
    }
    if let Ok(v) = HeaderValue::from_str(id) {
        h.insert("docker-upload-uuid", v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    r
}

fn blob_created(name: &str, digest: &str) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::CREATED;
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("/v2/{name}/blobs/{digest}")) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(digest) {
        h.insert("docker-content-digest", v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    r
}

/// Reads a request body on a blocking thread: the async side forwards frames through a bounded
/// channel, so at most a few frames are in memory whatever the body's size.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// Runs `f` on a blocking thread with the request body as a reader.
async fn with_body<T: Send + 'static>(
    body: Body,
    f: impl FnOnce(&mut dyn Read) -> RegistryResult<T> + Send + 'static,
) -> Result<T, SpecError> {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
    let task = tokio::task::spawn_blocking(move || {
        let mut reader = ChannelReader {
            rx,
            current: Bytes::new(),
        };
        f(&mut reader)
    });
    let mut body = body;
    // Small frames are coalesced into batches, so that the blocking side wakes once per
    // ~256 KiB rather than once per network read.
    let mut batch: Vec<u8> = Vec::new();
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            None => break,
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let out = if batch.is_empty() && data.len() >= BATCH {
                    data
                } else {
                    if batch.capacity() == 0 {
                        batch.reserve(BATCH + data.len());
                    }
                    batch.extend_from_slice(&data);
                    if batch.len() < BATCH {
                        continue;
                    }
                    Bytes::from(std::mem::take(&mut batch))
                };
                if tx.send(Ok(out)).await.is_err() {
                    break;
                }
            }
            Some(Err(e)) => {
                let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
                batch.clear();
                break;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Ok(Bytes::from(batch))).await;
    }
    drop(tx);
    task.await
        .map_err(|_| {
            spec_error(
                OciCode::Unsupported,
                500,
                Code::Internal,
                "a registry task failed",
            )
        })?
        .map_err(SpecError)
}

async fn start_upload(
    registry: Arc<Registry>,
    name: String,
    query: HashMap<String, String>,
    token: Option<String>,
    body: Body,
) -> Result<Response, SpecError> {
    if let (Some(mount), Some(from)) = (query.get("mount"), query.get("from")) {
        let digest = parse_digest(mount).map_err(|e| SpecError(e.into()))?;
        let (r, n, f, t) = (
            Arc::clone(&registry),
            name.clone(),
            from.clone(),
            token.clone(),
        );
        if blocking(move || r.mount(t.as_deref(), &n, &digest, &f)).await? {
            return Ok(blob_created(&name, &digest.to_string()));
        }
    }
    let digest = query
        .get("digest")
        .map(|d| parse_digest(d).map_err(|e| SpecError(e.into())))
        .transpose()?;
    let r = Arc::clone(&registry);
    let (n, t) = (name.clone(), token.clone());
    let id = blocking(move || r.create_upload(t.as_deref(), &n)).await?;
    if let Some(digest) = digest {
        // Monolithic: POST ?digest= with the whole blob as body.
        let (n, i) = (name.clone(), id.clone());
        with_body(body, move |reader| {
            registry.finish_upload(token.as_deref(), &n, &i, &digest, Some(reader))
        })
        .await?;
        return Ok(blob_created(&name, &digest.to_string()));
    }
    Ok(upload_response(StatusCode::ACCEPTED, &name, &id, 0))
}

/// The start of a chunk's `Content-Range`, if it has one (416 if it is malformed).
fn content_range_start(headers: &HeaderMap) -> Result<Option<u64>, SpecError> {
    let Some(v) = headers.get(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let bad = |message: &str| {
        spec_error(
            OciCode::BlobUploadInvalid,
            416,
            Code::RegistryUploadInvalid,
            message.to_owned(),
        )
    };
    let v = v.to_str().map_err(|_| bad("bad Content-Range"))?;
    let (start, _end) = parse_content_range(v).map_err(|e| bad(&e.message))?;
    Ok(Some(start))
}

async fn patch_upload(
    registry: Arc<Registry>,
    name: String,
    id: String,
    headers: &HeaderMap,
    token: Option<String>,
    body: Body,
) -> Result<Response, SpecError> {
    let offset = content_range_start(headers)?;
    let (n, i) = (name.clone(), id.clone());
    let len = with_body(body, move |reader| {
        registry.append(token.as_deref(), &n, &i, offset, reader)
    })
    .await?;
    Ok(upload_response(StatusCode::ACCEPTED, &name, &id, len))
}

async fn put_upload(
    registry: Arc<Registry>,
    (name, id): (String, String),
    offset: Option<u64>,
    query: HashMap<String, String>,
    token: Option<String>,
    body: Body,
) -> Result<Response, SpecError> {
    let digest = query.get("digest").ok_or_else(|| {
        spec_error(
            OciCode::DigestInvalid,
            400,
            Code::RegistryDigestInvalid,
            "PUT needs ?digest=",
        )
    })?;
    let digest = parse_digest(digest).map_err(|e| SpecError(e.into()))?;
    let n = name.clone();
    with_body(body, move |reader| {
        // A final chunk with a Content-Range must start where the upload ends.
        let body = if offset.is_some() {
            registry.append(token.as_deref(), &n, &id, offset, reader)?;
            None
        } else {
            Some(reader)
        };
        registry.finish_upload(token.as_deref(), &n, &id, &digest, body)
    })
    .await?;
    Ok(blob_created(&name, &digest.to_string()))
}

async fn put_manifest(
    registry: Arc<Registry>,
    name: String,
    reference: String,
    headers: &HeaderMap,
    token: Option<String>,
    body: Body,
) -> Result<Response, SpecError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(body, MAX_MANIFEST_BYTES)
        .await
        .map_err(|_| {
            spec_error(
                OciCode::SizeInvalid,
                413,
                Code::RegistryTooLarge,
                format!("a manifest is at most {MAX_MANIFEST_BYTES} bytes"),
            )
        })?;
    let n = name.clone();
    let pushed = blocking(move || {
        registry.put_manifest(
            token.as_deref(),
            &n,
            &reference,
            content_type.as_deref(),
            &bytes,
        )
    })
    .await?;
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::CREATED;
    let h = r.headers_mut();
    let digest = pushed.digest.to_string();
    if let Ok(v) = HeaderValue::from_str(&format!("/v2/{name}/manifests/{digest}")) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&digest) {
        h.insert("docker-content-digest", v);
    }
    if let Some(subject) = pushed.subject
        && let Ok(v) = HeaderValue::from_str(&subject.to_string())
    {
        h.insert("oci-subject", v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    Ok(r)
}

async fn get_blob(
    registry: Arc<Registry>,
    name: String,
    digest: custody_crypto::Digest,
    headers: &HeaderMap,
    token: Option<String>,
    head: bool,
) -> Result<Response, SpecError> {
    let range_header = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (reader, size) =
        quick(move || registry.open_blob(token.as_deref(), &name, &digest)).await?;
    let range = match range_header.as_deref().map(|r| parse_range(r, size)) {
        None | Some(Err(RangeError::Ignore)) => None,
        Some(Ok(r)) => Some(r),
        Some(Err(RangeError::Unsatisfiable)) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    let (start, len, status) = match range {
        Some(r) => (r.start, r.len(), StatusCode::PARTIAL_CONTENT),
        None => (0, size, StatusCode::OK),
    };
    let body = if head || len == 0 {
        Body::empty()
    } else {
        crate::stream::body(reader, start, len)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&digest.to_string()) {
        h.insert("docker-content-digest", v.clone());
        h.insert(header::ETAG, v);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", start, start + len - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::{Target, parse_path};

    #[test]
    fn paths_split_names_from_operations() {
        let t = |s: &str| parse_path(s);
        assert_eq!(
            t("a/b/blobs/uploads/"),
            Some(Target::UploadStart("a/b".into()))
        );
        assert_eq!(t("a/blobs/uploads"), Some(Target::UploadStart("a".into())));
        assert_eq!(
            t("a/b/blobs/uploads/123"),
            Some(Target::Upload("a/b".into(), "123".into()))
        );
        assert_eq!(
            t("blobs/blobs/sha256:00"),
            Some(Target::Blob("blobs".into(), "sha256:00".into()))
        );
        assert_eq!(
            t("x/manifests/latest"),
            Some(Target::Manifest("x".into(), "latest".into()))
        );
        assert_eq!(t("x/y/tags/list"), Some(Target::Tags("x/y".into())));
        assert_eq!(
            t("x/referrers/sha256:00"),
            Some(Target::Referrers("x".into(), "sha256:00".into()))
        );
        assert_eq!(t("x/other/thing"), None);
        assert_eq!(t("nothing"), None);
    }
}
