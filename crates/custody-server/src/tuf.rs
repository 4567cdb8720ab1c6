//! The TUF repository, read-only: `GET /tuf/metadata/<file>` and `GET /tuf/targets/<path>`,
//! the layout TUF clients (python-tuf's ngclient, `custody fetch --from URL/tuf`) expect.
//! Which files exist is decided by `custody_app::tuf::open_published`; this module streams
//! them and sets their caching headers.

use std::io::{self, Read as _};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use custody_app::tuf::{Freshness, PublishedFile, open_published};
use custody_app::{Code, Error};
use http_body::Body as HttpBody;
use tokio::sync::mpsc;

use crate::error::ApiError;

const CHUNK: usize = 256 * 1024;
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
        mut file,
        length,
        freshness,
        metadata,
    } = published;
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
    if length > 0 {
        tokio::task::spawn_blocking(move || {
            let mut left = length;
            while left > 0 {
                let want = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
                let mut buf = vec![0u8; want];
                match file.read(&mut buf) {
                    Ok(0) => {
                        // Shorter than when opened: end the body early, so the client
                        // sees a truncated response rather than a wrong one.
                        let _ = tx.blocking_send(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file shrank while served",
                        )));
                        return;
                    }
                    Ok(n) => {
                        buf.truncate(n);
                        left -= n as u64;
                        if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
    }
    let mut response = Response::new(Body::new(FileBody {
        rx,
        remaining: length,
    }));
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

/// A file's bytes, read on the blocking pool and handed over through a bounded channel.
struct FileBody {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    remaining: u64,
}

impl HttpBody for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, io::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(b))) => {
                self.remaining = self.remaining.saturating_sub(b.len() as u64);
                Poll::Ready(Some(Ok(http_body::Frame::data(b))))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file reader stopped",
            )))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}
