//! Transparency-log handlers (Rekor v2 paths, C2SP tlog-tiles read API).

use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use custody_app::tokens::Scope;
use custody_app::{Code, Document, Error};
use custody_formats::Limits;
use custody_formats::bundle::{InclusionProof, TlogEntry};
use custody_formats::rekor::{API_VERSION, Record};
use custody_log::tile::{EntryBundle, Tile};

use crate::ServerState;
use crate::error::ApiError;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const PARTIAL: &str = "public, max-age=60";
const CHECKPOINT: &str = "public, max-age=1, no-transform";

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// `POST /api/v2/log/entries`: a `CreateEntryRequest` with `hashedRekordRequestV002` or
/// `dsseRequestV002`.
pub(crate) async fn create_entry(
    State(state): State<Arc<ServerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    state.tokens.authorize(bearer(&headers), &Scope::LogWrite)?;
    let record = Record::from_request_json(&body, &Limits::default()).map_err(|e| reject(&e))?;
    let record = record.verify().map_err(|e| reject(&e))?;
    let entry = record.canonical_entry().map_err(|e| reject(&e))?;
    let receipt = state.log.submit(entry.clone()).await?;
    let tlog = TlogEntry {
        log_index: receipt.index.get(),
        log_id: state.log_id.clone(),
        kind: record.kind().to_owned(),
        version: API_VERSION.to_owned(),
        integrated_time: None,
        inclusion_promise: None,
        inclusion_proof: Some(InclusionProof {
            log_index: receipt.index.get(),
            root_hash: receipt.root.as_bytes().to_vec(),
            tree_size: receipt.tree_size.get(),
            hashes: receipt
                .proof
                .iter()
                .map(|h| h.as_bytes().to_vec())
                .collect(),
            checkpoint: receipt.checkpoint.to_string(),
        }),
        canonicalized_body: entry,
    };
    let status = if receipt.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        [(header::CONTENT_TYPE, "application/json")],
        tlog.to_json(),
    )
        .into_response())
}

fn reject(e: &custody_formats::Error) -> ApiError {
    let mapped = Error::format(Document::Bundle, e);
    ApiError(Error::new(
        Code::LogEntryRejected,
        mapped.message().to_owned(),
    ))
}

/// `GET /api/v2/checkpoint`: the latest signed checkpoint.
pub(crate) async fn checkpoint(State(state): State<Arc<ServerState>>) -> Response {
    let note = state.log.published().note;
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, CHECKPOINT),
        ],
        note.to_string(),
    )
        .into_response()
}

/// `GET /api/v2/tile/<L>/<N>[.p/<W>]` and `GET /api/v2/tile/entries/<N>[.p/<W>]`.
pub(crate) async fn tile(
    State(state): State<Arc<ServerState>>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let full_path = format!("tile/{path}");
    let (data, partial) = if path.starts_with("entries/") {
        let bundle = EntryBundle::from_str(&full_path).map_err(|e| not_found(&e.to_string()))?;
        // Cached (immutable) data is answered here; only a miss goes to the blocking pool.
        let data = match state.log.cached_bundle(bundle.index(), bundle.width()) {
            Some(data) => data,
            None => {
                let log = Arc::clone(&state.log);
                blocking(move || log.bundle(bundle.index(), bundle.width())).await?
            }
        };
        (data, bundle.is_partial())
    } else {
        let tile = Tile::from_str(&full_path).map_err(|e| not_found(&e.to_string()))?;
        let data = match state
            .log
            .cached_tile(tile.level(), tile.index(), tile.width())
        {
            Some(data) => data,
            None => {
                let log = Arc::clone(&state.log);
                blocking(move || log.tile(tile.level(), tile.index(), tile.width())).await?
            }
        };
        (data, tile.is_partial())
    };
    let data = data.ok_or_else(|| not_found("not in the published tree"))?;
    let mut response = ([(header::CONTENT_TYPE, "application/octet-stream")], data).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if partial { PARTIAL } else { IMMUTABLE }),
    );
    Ok(response)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> custody_app::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError(Error::new(Code::Internal, "a read task failed")))?
        .map_err(ApiError)
}

fn not_found(why: &str) -> ApiError {
    ApiError(Error::new(Code::NotFound, format!("no such tile: {why}")))
}
