//! The TUF repository, read-only: `GET /tuf/metadata/<file>` and `GET /tuf/targets/<path>`,
//! the layout TUF clients (python-tuf's ngclient, `custody fetch --from URL/tuf`) expect.
//! Which files exist is decided by `custody_app::tuf::open_published`; this module streams
//! them and sets their caching headers.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use custody_app::tuf::{Freshness, PublishedFile, open_published};
use custody_app::{Code, Error};

use crate::error::ApiError;

const NO_CACHE: &str = "no-cache";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The routes, over the repository at `repo` (canonical, from `custody_app::tuf::published_repo`).
pub(crate) fn routes(repo: PathBuf) -> Router {
    Router::new()
        .route("/tuf/metadata/{file}", get(metadata))
        .route("/tuf/targets/{*path}", get(targets))
        .with_state(Arc::new(repo))
}

async fn metadata(
    State(repo): State<Arc<PathBuf>>,
    file: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    serve(repo, format!("metadata/{}", decoded(file)?)).await
}

async fn targets(
    State(repo): State<Arc<PathBuf>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    serve(repo, format!("targets/{}", decoded(path)?)).await
}

/// The percent-decoded path; one that does not decode (not UTF-8) names no file: 404.
fn decoded(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(p)| p).map_err(|_| {
        ApiError(Error::new(
            Code::NotFound,
            "the path is not a file of the TUF repository",
        ))
    })
}

async fn serve(repo: Arc<PathBuf>, path: String) -> Result<Response, ApiError> {
    let published = tokio::task::spawn_blocking(move || open_published(&repo, &path))
        .await
        .map_err(|_| ApiError(Error::new(Code::Internal, "a read task failed")))??;
    Ok(stream(published))
}

fn stream(published: PublishedFile) -> Response {
    let PublishedFile {
        file,
        length,
        freshness,
        metadata,
    } = published;
    let mut response = Response::new(crate::stream::body(file, 0, length));
    *response.status_mut() = StatusCode::OK;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if metadata {
            "application/json"
        } else {
            "application/octet-stream"
        }),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(match freshness {
            Freshness::Mutable => NO_CACHE,
            Freshness::Immutable => IMMUTABLE,
        }),
    );
    response
}
