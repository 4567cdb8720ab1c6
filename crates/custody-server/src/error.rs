//! The one place where custody errors become HTTP responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use custody_app::witness::AddCheckpointError;
use custody_app::{Code, Error};

/// An error answered to an HTTP client: status from the code, body `{"code","message","hint"}`.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

fn status(code: Code) -> StatusCode {
    match code {
        Code::TokenInvalid => StatusCode::UNAUTHORIZED,
        Code::TokenScopeMissing => StatusCode::FORBIDDEN,
        Code::NotFound | Code::WitnessUnknownLog => StatusCode::NOT_FOUND,
        Code::WitnessSignatureRejected => StatusCode::FORBIDDEN,
        Code::WitnessConflict | Code::PromotionConflict => StatusCode::CONFLICT,
        Code::DeployDenied | Code::PromotionDenied | Code::PromotionInvalid => {
            StatusCode::FORBIDDEN
        }
        Code::WitnessProofInvalid => StatusCode::UNPROCESSABLE_ENTITY,
        Code::LogBusy | Code::LogUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::LogStorage
        | Code::Internal
        | Code::ReadFailed
        | Code::WriteFailed
        | Code::WitnessStateInvalid
        | Code::EnvironmentStoreFailed => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        // Internal details stay in the server; clients get the code and its stable hint.
        let message = if status(code).is_server_error() {
            code.title().to_owned()
        } else {
            self.0.message().to_owned()
        };
        let body = serde_json::json!({
            "code": code.to_string(),
            "message": message,
            "hint": self.0.hint(),
        });
        let mut response = (
            status(code),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if code == Code::TokenInvalid {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"custody\""),
            );
        }
        response
    }
}

/// A refused `add-checkpoint` request. A conflict is answered as C2SP tlog-witness requires:
/// 409, `Content-Type: text/x.tlog.size`, and the latest cosigned size in decimal and a
/// newline. Everything else is an [`ApiError`] (the spec does not define those bodies).
#[derive(Debug)]
pub struct WitnessError(pub AddCheckpointError);

impl From<AddCheckpointError> for WitnessError {
    fn from(e: AddCheckpointError) -> Self {
        Self(e)
    }
}

impl IntoResponse for WitnessError {
    fn into_response(self) -> Response {
        match self.0.conflict_size() {
            Some(size) => (
                StatusCode::CONFLICT,
                [(
                    axum::http::header::CONTENT_TYPE,
                    custody_log::witness::CONFLICT_CONTENT_TYPE,
                )],
                format!("{size}\n"),
            )
                .into_response(),
            None => ApiError(self.0.into_error()).into_response(),
        }
    }
}
