//! One error type for the whole API. Every variant has a stable snake_case
//! `code` and a Chinese `message`; the body is `application/problem+json`.
//! Unexpected errors answer 500 without internal details, which go to the log.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::calendar::CalendarError;
use crate::workflow::EngineError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub status: u16,
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub details: Option<Value>,
    /// The request's id (also in `X-Request-Id` and in the server's log):
    /// quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("输入数据校验未通过")]
    Validation(Vec<FieldError>),
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("无权执行此操作")]
    Forbidden,
    #[error("{what}不存在或无权访问")]
    NotFound { what: &'static str },
    #[error("{message}")]
    Conflict { code: &'static str, message: String, details: Option<Value> },
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String, details: Option<Value> },
    /// Sign-in locked for this account from this address (423).
    #[error("{message}")]
    Locked { message: String, retry_after_secs: u64 },
    /// Too many attempts: wait `retry_after_secs` (429, `Retry-After`).
    #[error("{message}")]
    TooManyRequests { code: &'static str, message: String, retry_after_secs: u64 },
    #[error("请求内容过大")]
    PayloadTooLarge,
    #[error("不支持的内容类型")]
    UnsupportedMediaType,
    #[error("服务器内部错误，请稍后再试")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into() }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict { code, message: message.into(), details: None }
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unprocessable { code, message: message.into(), details: None }
    }
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }
    pub fn not_found(what: &'static str) -> Self {
        ApiError::NotFound { what }
    }
    pub fn with_details(self, value: Value) -> Self {
        match self {
            ApiError::Conflict { code, message, .. } => ApiError::Conflict { code, message, details: Some(value) },
            ApiError::Unprocessable { code, message, .. } => {
                ApiError::Unprocessable { code, message, details: Some(value) }
            }
            other => other,
        }
    }

    /// Seconds a client should wait before trying again (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Locked { retry_after_secs, .. } | ApiError::TooManyRequests { retry_after_secs, .. } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::TooManyRequests { code, .. } => code,
            ApiError::Validation(_) => "validation_failed",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Locked { .. } => "account_locked",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Locked { .. } => StatusCode::LOCKED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        let (fields, details) = match self {
            ApiError::Validation(f) => (f.clone(), None),
            ApiError::Conflict { details, .. } | ApiError::Unprocessable { details, .. } => {
                (Vec::new(), details.clone())
            }
            _ => (Vec::new(), None),
        };
        let status = self.status_code();
        let mut res = HttpResponse::build(status);
        if let Some(secs) = self.retry_after() {
            res.insert_header((actix_web::http::header::RETRY_AFTER, secs.to_string()));
        }
        res.content_type("application/problem+json").json(ErrorBody {
            status: status.as_u16(),
            code: self.code().to_string(),
            message: self.to_string(),
            fields,
            details,
            request_id: crate::middleware::current_request_id(),
        })
    }
}

impl ApiError {
    /// The body of every 500: a fixed Chinese message, the stable code and the
    /// request's id (to quote to support), never the error itself, which goes
    /// to the log.
    pub fn internal_response(request_id: Option<String>) -> HttpResponse {
        let status = StatusCode::INTERNAL_SERVER_ERROR;
        let generic = ApiError::Internal(anyhow::anyhow!("generic"));
        HttpResponse::build(status).content_type("application/problem+json").json(ErrorBody {
            status: status.as_u16(),
            code: generic.code().to_string(),
            message: generic.to_string(),
            fields: Vec::new(),
            details: None,
            request_id,
        })
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::Internal(anyhow::Error::new(e))
    }
}

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        ApiError::unprocessable(e.code(), e.to_string())
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let code = e.code();
        let msg = e.to_string();
        match e {
            EngineError::UnknownAction(_) => ApiError::NotFound { what: "操作" },
            EngineError::UnknownState(_) => ApiError::Internal(anyhow::anyhow!("case in unknown state: {msg}")),
            EngineError::NotAllowedInState { .. } => ApiError::conflict(code, msg),
            EngineError::RoleNotAllowed { .. } => ApiError::Forbidden,
            EngineError::MissingComment => ApiError::field("comment", code, msg),
            EngineError::MissingOutcome | EngineError::InvalidOutcome(_) => ApiError::field("outcome", code, msg),
            EngineError::MissingAttachments(_) => ApiError::unprocessable(code, msg),
            EngineError::GuardFailed { missing, .. } => {
                let labels: Vec<&str> =
                    missing.iter().map(|k| crate::workflow::attachment_kind_title(k).unwrap_or(k.as_str())).collect();
                ApiError::conflict(code, msg)
                    .with_details(serde_json::json!({"missing_materials": missing, "missing_titles": labels}))
            }
        }
    }
}

/// True when a database error is a unique-constraint violation.
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

pub type ApiResult<T> = Result<T, ApiError>;
