//! The gateway's one error type, and the one place it becomes S3 XML:
//! `<Error><Code/><Message/><RequestId/></Error>` with the right status,
//! never a 200 whose body is an `<Error>`, and no body at all on HEAD.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde::Serialize;

/// Everything a gateway request can fail with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    /// The S3 error code, e.g. `NoSuchKey`.
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, naming the parameter or key.
    pub message: String,
}

/// Whether an XML parser hands `c` back as it is: XML 1.0's characters
/// without CR (parsers turn it into LF).
fn carried(c: char) -> bool {
    c != '\r' && super::xml::xml_char(c)
}

/// The message with each character an XML parser would refuse or change
/// (control characters, U+FFFE, U+FFFF, CR) written as a `\u{…}` escape:
/// messages name keys, and a key may hold any of them, but the `<Error>`
/// document must stay parseable so the client still reads its `Code`.
fn xml_safe(message: String) -> String {
    if message.chars().all(carried) {
        return message;
    }
    message
        .chars()
        .map(|c| match carried(c) {
            true => c.to_string(),
            false => c.escape_unicode().to_string(),
        })
        .collect()
}

macro_rules! codes {
    ($($name:ident => ($code:literal, $status:literal)),* $(,)?) => {
        impl S3Error {
            $(
                #[doc = concat!("`", $code, "` (", stringify!($status), ").")]
                pub fn $name(message: impl Into<String>) -> S3Error {
                    S3Error { code: $code, status: $status, message: xml_safe(message.into()) }
                }
            )*
        }
    };
}

codes! {
    access_denied => ("AccessDenied", 403),
    no_such_bucket => ("NoSuchBucket", 404),
    no_such_key => ("NoSuchKey", 404),
    no_such_upload => ("NoSuchUpload", 404),
    invalid_argument => ("InvalidArgument", 400),
    invalid_request => ("InvalidRequest", 400),
    invalid_uri => ("InvalidURI", 400),
    key_too_long => ("KeyTooLongError", 400),
    malformed_xml => ("MalformedXML", 400),
    entity_too_large => ("EntityTooLarge", 400),
    entity_too_small => ("EntityTooSmall", 400),
    invalid_part => ("InvalidPart", 400),
    invalid_part_order => ("InvalidPartOrder", 400),
    invalid_range => ("InvalidRange", 416),
    method_not_allowed => ("MethodNotAllowed", 405),
    not_a_directory => ("NotADirectory", 409),
    is_a_directory => ("IsADirectory", 409),
    directory_not_empty => ("DirectoryNotEmpty", 409),
    request_timeout => ("RequestTimeout", 400),
    insufficient_storage => ("InsufficientStorage", 507),
    internal_error => ("InternalError", 500),
}

impl S3Error {
    /// The S3 code an injected status is answered with, so a scripted 503
    /// looks like the real thing to an S3 client.
    pub fn injected(status: u16, message: String) -> S3Error {
        let code = match status {
            400 => "InvalidRequest",
            401 | 403 => "AccessDenied",
            404 => "NoSuchKey",
            409 => "OperationAborted",
            429 => "SlowDown",
            500 => "InternalError",
            501 => "NotImplemented",
            503 => "ServiceUnavailable",
            s if s < 500 => "InvalidRequest",
            _ => "InternalError",
        };
        S3Error {
            code,
            status,
            message: xml_safe(message),
        }
    }

    /// The XML response; `head` leaves the body out, as HEAD must.
    pub fn into_response(self, request_id: u64, head: bool) -> Response<Full<Bytes>> {
        #[derive(Serialize)]
        #[serde(rename = "Error")]
        struct Body<'a> {
            #[serde(rename = "Code")]
            code: &'a str,
            #[serde(rename = "Message")]
            message: &'a str,
            #[serde(rename = "RequestId")]
            request_id: u64,
        }
        let body = if head {
            Bytes::new()
        } else {
            Bytes::from(super::xml::to_xml(&Body {
                code: self.code,
                message: &self.message,
                request_id,
            }))
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        response
    }
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for S3Error {}
