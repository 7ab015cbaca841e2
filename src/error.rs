//! The API's one error type, and the one place an error becomes the
//! `{"success": false, "error": …}` envelope. Startup and configuration errors
//! are [`crate::config::ConfigError`]; they never become HTTP responses.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde::Serialize;

/// Everything a request to the emulated API can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: the request is malformed; the message names the field and the rule.
    Validation(String),
    /// 401: the `Authorization` header is missing, unknown or revoked.
    Unauthorized(String),
    /// 403: the admin token is missing or wrong.
    Forbidden(String),
    /// 404: no such route or no such resource in the caller's account.
    NotFound(String),
    /// 405: the path exists but not with this method; `allow` lists the methods it has.
    MethodNotAllowed {
        /// The value of the `Allow` header.
        allow: &'static str,
    },
    /// 409: the request conflicts with the server's state or configuration.
    Conflict(String),
    /// 408: the request body did not arrive in time.
    RequestTimeout,
    /// 413: the body is larger than the limit.
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Any 4xx/5xx injected by a fault rule or a shortcut header.
    Injected {
        /// The HTTP status, 400..=599.
        status: u16,
        /// The envelope's `error` message.
        message: String,
        /// The envelope's `code`.
        code: String,
    },
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    success: bool,
    error: &'a str,
    code: &'a str,
}

impl ApiError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Injected { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    /// The machine-readable `code` (the SDK surfaces it as `ArchilApiError.code`).
    pub fn code(&self) -> &str {
        match self {
            ApiError::Validation(_) => "validation_error",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Injected { code, .. } => code,
        }
    }

    /// The human-readable `error` message.
    pub fn message(&self) -> String {
        match self {
            ApiError::Validation(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m) => m.clone(),
            ApiError::MethodNotAllowed { allow } => {
                format!("method not allowed; this path accepts {allow}")
            }
            ApiError::RequestTimeout => "the request body did not arrive in time".into(),
            ApiError::PayloadTooLarge { limit } => {
                format!("request body is larger than the limit of {limit} bytes")
            }
            ApiError::Injected { message, .. } => message.clone(),
        }
    }

    /// The default envelope `code` for an injected status, so a scripted 503
    /// looks like the real thing to clients that branch on it.
    pub fn default_code(status: u16) -> &'static str {
        match status {
            400 => "validation_error",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            409 => "conflict",
            429 => "rate_limited",
            500 => "internal_error",
            502 => "bad_gateway",
            503 => "service_unavailable",
            504 => "gateway_timeout",
            s if s < 500 => "client_error",
            _ => "server_error",
        }
    }

    /// The default envelope message for an injected status.
    pub fn default_message(status: u16) -> &'static str {
        match status {
            400 => "Invalid request parameters",
            401 => "Invalid or missing API key",
            403 => "Forbidden",
            404 => "Resource not found",
            409 => "Conflict",
            429 => "Too many requests",
            500 => "Internal server error",
            502 => "Bad gateway",
            503 => "Service unavailable",
            504 => "Gateway timeout",
            s if s < 500 => "Request failed",
            _ => "Server error",
        }
    }

    /// Renders the error envelope. This is the only place an error body is built.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let message = self.message();
        let body = serde_json::to_vec(&ErrorEnvelope {
            success: false,
            error: &message,
            code: self.code(),
        })
        .expect("an error envelope always serialises");
        let mut response = json_response(self.status(), body);
        if let ApiError::MethodNotAllowed { allow } = self {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.message())
    }
}

impl std::error::Error for ApiError {}

/// A response with a JSON body; every API answer goes through here.
pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
