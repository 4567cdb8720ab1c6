//! The C2SP tlog-witness HTTP interface (<https://c2sp.org/tlog-witness>): `POST /add-checkpoint`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use custody_app::witness::{AddCheckpointError, Witness};
use custody_app::{Code, Error};
use custody_log::cosignature::Timestamp;

use crate::error::WitnessError;

/// The largest `add-checkpoint` body: a note of the default size limit, the old size line and
/// 63 proof lines, rounded up. [`AddCheckpointRequest`](custody_log::witness::AddCheckpointRequest)
/// enforces the exact limit; this one stops the server from buffering more.
pub(crate) fn body_limit() -> usize {
    custody_log::note::Limits::default().max_note_size + 64 * 1024
}

/// `POST /add-checkpoint`: verifies, records and cosigns a checkpoint.
pub(crate) async fn add_checkpoint(
    State(witness): State<Arc<Witness>>,
    body: Bytes,
) -> Result<Response, WitnessError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| Timestamp::from_unix_seconds(d.as_secs()).ok())
        .ok_or_else(|| {
            AddCheckpointError::from(Error::new(Code::Internal, "the clock is before 1970"))
        })?;
    // Loading and writing the record fsyncs: keep it off the async workers.
    let cosignatures = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now))
        .await
        .map_err(|_| {
            AddCheckpointError::from(Error::new(Code::Internal, "a witness task failed"))
        })??;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        cosignatures,
    )
        .into_response())
}
