//! Typed errors and their JSON body `{field, value, reason}` (docs/api.md).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ecmo_store::StoreError;
use serde::Serialize;

/// One problem with one input field (or with the request as a whole when `field` is null).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

/// An error answered to an API client. The body is the first problem's
/// `{field, value, reason}`, plus `errors` listing all of them.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<FieldError>,
}

#[derive(Serialize)]
struct Body<'a> {
    field: Option<&'a str>,
    value: Option<&'a str>,
    reason: &'a str,
    errors: &'a [FieldError],
}

impl ApiError {
    pub fn new(status: StatusCode, field: Option<&str>, value: Option<&str>, reason: impl Into<String>) -> Self {
        ApiError {
            status,
            errors: vec![FieldError {
                field: field.map(str::to_string),
                value: value.map(str::to_string),
                reason: reason.into(),
            }],
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, None, "log in first (POST /api/login)")
    }

    pub fn forbidden(what: &str, role: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, None, None, format!("the {role} role may not see or change {what}"))
    }

    pub fn not_found(field: &str, value: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, Some(field), Some(value), reason)
    }

    pub fn bad_request(field: &str, value: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(field), Some(value), reason)
    }

    pub fn unprocessable(errors: Vec<FieldError>) -> Self {
        ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, errors }
    }

    pub fn internal(reason: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, None, format!("internal error: {reason}"))
    }

    pub fn reason(&self) -> &str {
        self.errors.first().map(|e| e.reason.as_str()).unwrap_or("error")
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchRun(id) => {
                ApiError::not_found("run_id", &id, format!("there is no run '{id}' in the registry"))
            }
            StoreError::Duplicate(what) => {
                ApiError::new(StatusCode::CONFLICT, Some("name"), None, format!("{what} already exists"))
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let first = self.errors.first();
        let body = Body {
            field: first.and_then(|e| e.field.as_deref()),
            value: first.and_then(|e| e.value.as_deref()),
            reason: self.reason(),
            errors: &self.errors,
        };
        (self.status, axum::Json(&body)).into_response()
    }
}
