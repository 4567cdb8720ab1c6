//! Deployment handlers: environment histories, promotion records and the gate (for deploy
//! scripts and admission webhooks). The work happens in `custody_app::deploy::service` on
//! blocking threads (it verifies signatures and evaluates policy).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use custody_app::deploy::Action;
use custody_app::deploy::client::event_to_json;
use custody_app::deploy::service::Deployments;
use custody_app::{Code, Error};
use custody_crypto::Digest;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::log::bearer;

/// The largest promotion record or gate request accepted.
const MAX_REQUEST: usize = 1024 * 1024;

/// The deployment routes under `/api/v1/`.
pub(crate) fn routes(deployments: Arc<Deployments>) -> axum::Router {
    axum::Router::new()
        .route("/api/v1/environments/{environment}", get(history))
        .route("/api/v1/environments/{environment}/records", post(record))
        .route("/api/v1/gate", post(gate))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(deployments)
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> custody_app::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError(Error::new(Code::Internal, format!("worker failed: {e}"))))?
        .map_err(ApiError)
}

/// `GET /api/v1/environments/{environment}`: every record, oldest first.
async fn history(
    State(deployments): State<Arc<Deployments>>,
    Path(environment): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = bearer(&headers).map(str::to_owned);
    let env = environment.clone();
    let events = blocking(move || deployments.history(token.as_deref(), &env)).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "environment": environment,
            "events": events.iter().map(event_to_json).collect::<Vec<_>>(),
        }),
    ))
}

/// `POST /api/v1/environments/{environment}/records`: a signed, logged promotion or rollback
/// record (a Sigstore bundle); 201 with the recorded event, and with `tuf` when the server
/// publishes the environment's promotions to its TUF repository.
async fn record(
    State(deployments): State<Arc<Deployments>>,
    Path(environment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let token = bearer(&headers).map(str::to_owned);
    let recorded =
        blocking(move || deployments.promote(token.as_deref(), &environment, &body)).await?;
    let mut answer = event_to_json(&recorded.event);
    match &recorded.published {
        None => {}
        Some(Ok(p)) => answer["tuf"] = json!({"published": true, "target": p.target}),
        Some(Err(e)) => {
            // The record stands; the publication can be redone with `custody tuf add`.
            eprintln!(
                "custody serve: '{}' record {} was not published to the TUF repository: {}: {}",
                recorded.event.environment,
                recorded.event.sequence,
                e.code(),
                e.message()
            );
            answer["tuf"] = json!({
                "published": false,
                "error": {"code": e.code().to_string(), "message": e.message()},
            });
        }
    }
    Ok(json_response(StatusCode::CREATED, &answer))
}

/// `POST /api/v1/gate` with `{"environment", "repository", "digest", "action"?}`: the decision,
/// 200 whether allowed or denied (`allowed`, `reasons`); an error status means no decision.
async fn gate(
    State(deployments): State<Arc<Deployments>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let bad = |why: &str| {
        ApiError(Error::new(
            Code::InvalidArgument,
            format!("gate request: {why}"),
        ))
    };
    let request: Value = serde_json::from_slice(&body).map_err(|_| bad("not JSON"))?;
    let field = |name: &str| {
        request
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad(&format!("'{name}' is missing")))
    };
    let environment = field("environment")?;
    let repository = field("repository")?;
    let digest: Digest = field("digest")?
        .parse()
        .map_err(|_| bad("'digest' is not a digest"))?;
    let action = match request.get("action").and_then(Value::as_str) {
        None | Some("deploy") => Action::Deploy,
        Some("promote") => Action::Promote,
        Some(_) => return Err(bad("'action' is deploy or promote")),
    };
    let token = bearer(&headers).map(str::to_owned);
    let decision = blocking(move || {
        deployments.decide(token.as_deref(), &environment, &repository, &digest, action)
    })
    .await?;
    Ok(json_response(StatusCode::OK, &decision.to_json()))
}
