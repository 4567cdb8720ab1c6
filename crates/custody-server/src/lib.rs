//! custody's HTTP server: the axum adapter over `custody-app`.
//!
//! This is the only crate that knows HTTP. It serves the transparency log with Rekor v2's paths:
//! `POST /api/v2/log/entries` (scoped token required), `GET /api/v2/checkpoint`, and the C2SP
//! tlog-tiles read API under `GET /api/v2/tile/...`. Every error is a JSON body with a stable
//! custody code, mapped to an HTTP status in exactly one place ([`ApiError`]).
//!
//! [`router_with_registry`] adds the OCI registry (`/v2/...`), whose errors use the
//! distribution spec's JSON body with the custody code in `detail`.
//!
//! [`with_tuf`] adds a TUF repository, read-only under `/tuf/metadata/` and `/tuf/targets/`
//! (only the files the TUF layout defines; no-cache for `timestamp.json` and the roots,
//! immutable caching for versioned metadata and hash-prefixed targets).
//!
//! [`witness_router`] is a separate server, `custody witness serve`: the C2SP tlog-witness
//! `POST /add-checkpoint`, whose refusals carry the spec's statuses ([`WitnessError`]).

mod deploy;
mod error;
mod log;
mod registry;
mod stream;
mod tuf;
mod witness;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use custody_app::log::Log;
use custody_app::tokens::TokenChecker;
use custody_app::witness::Witness;

pub use crate::error::{ApiError, WitnessError};

/// What the handlers share.
pub struct ServerState {
    /// The transparency log.
    pub log: Arc<Log>,
    /// Token checks for writes.
    pub tokens: TokenChecker,
    /// The log id that goes into every `TransparencyLogEntry` (SHA-256 of the log key's SPKI).
    pub log_id: Vec<u8>,
}

/// The router for all of custody's HTTP API.
pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/api/v2/log/entries", post(log::create_entry))
        .route("/api/v2/checkpoint", get(log::checkpoint))
        .route("/api/v2/tile/{*path}", get(log::tile))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(
            custody_formats::rekor::MAX_DSSE_REQUEST_BYTES,
        ))
        .with_state(state)
}

/// [`router`] plus the OCI distribution-spec v1.1 registry under `/v2/` (and its token
/// endpoint `/auth/token`), on the same listener.
pub fn router_with_registry(
    state: Arc<ServerState>,
    registry: Arc<custody_app::registry::service::Registry>,
) -> Router {
    router(state).merge(registry::routes(registry))
}

/// `router` plus the deployment API: environment histories
/// (`GET /api/v1/environments/{env}`), promotion records
/// (`POST /api/v1/environments/{env}/records`) and the gate (`POST /api/v1/gate`).
pub fn with_deployments(
    router: Router,
    deployments: Arc<custody_app::deploy::service::Deployments>,
) -> Router {
    router.merge(deploy::routes(deployments))
}

/// `router` plus the TUF repository at `repo` (canonical, from
/// `custody_app::tuf::published_repo`), served read-only under `/tuf/metadata/` and
/// `/tuf/targets/`: a client's base URL is `http://HOST/tuf`.
pub fn with_tuf(router: Router, repo: std::path::PathBuf) -> Router {
    router.merge(tuf::routes(repo))
}

/// The router of a C2SP tlog-witness (`custody witness serve`): `POST /add-checkpoint` and
/// `GET /healthz`. It shares nothing with the log's router.
pub fn witness_router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(witness::add_checkpoint))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(witness::body_limit()))
        .with_state(witness)
}

/// Runs `router` on `listen` in a new multi-threaded runtime until ctrl-c or SIGTERM:
/// binds, calls `ready` with the bound address (port 0 picks a free one), then serves.
/// A bind or serve failure is returned as the I/O error it was.
pub fn run(
    listen: &str,
    router: Router,
    ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        ready(listener.local_addr()?);
        serve(listener, router).await
    })
}

/// Serves `router` on `listener` until ctrl-c or SIGTERM, then drains in-flight requests.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    // No Nagle delay: a response written in parts (headers, then a streamed body) must not wait
    // for the client's delayed ACK, which costs a client making sequential requests on one
    // connection 40 ms per request (measured with bench/gate).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
