//! Gateway request decoding: the path into a disk and a key (each segment
//! percent-decoded once), the query into flags and parameters (form
//! decoding, flags by presence, a repeated parameter refused), and the
//! method and flags into one [`S3Op`], in the contract's precedence order.
//! Nothing here reads the body, the state or the store.

use std::collections::HashMap;

use hyper::Method;

use super::error::S3Error;

/// The longest key S3 allows, in bytes.
pub const KEY_MAX: usize = 1024;
/// The page size of every listing, and the most `max-*` may ask for.
pub const PAGE_MAX: usize = 1000;
/// The highest part number.
pub const PART_MAX: u32 = 10_000;

/// A decoded gateway request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Request {
    /// The first path segment, e.g. `dsk-0123456789abcdef` (not yet checked).
    pub disk: String,
    /// The operation, with its key and parameters.
    pub op: S3Op,
}

/// `ListObjectsV2`'s parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListParams {
    /// Only keys starting with this.
    pub prefix: String,
    /// Group keys by this (only `/` groups directories).
    pub delimiter: Option<String>,
    /// Where a previous page stopped.
    pub continuation_token: Option<String>,
    /// List keys after this one.
    pub start_after: Option<String>,
    /// The page size, 1..=1000.
    pub max_keys: usize,
}

/// `ListMultipartUploads`'s parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadListParams {
    /// Only keys starting with this.
    pub prefix: String,
    /// Group keys by this.
    pub delimiter: Option<String>,
    /// Uploads of keys after this (or of this key after `upload_id_marker`).
    pub key_marker: String,
    /// With `key_marker`.
    pub upload_id_marker: String,
    /// The page size, 1..=1000.
    pub max_uploads: usize,
}

/// The thirteen operations the SDKs send, plus HeadBucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Op {
    /// `GET /{disk}?list-type=2`.
    ListObjects(ListParams),
    /// `GET /{disk}?uploads`.
    ListUploads(UploadListParams),
    /// `POST /{disk}?delete`.
    DeleteObjects,
    /// `HEAD /{disk}`.
    HeadBucket,
    /// `GET /{disk}/{key}`.
    GetObject {
        /// The key.
        key: String,
    },
    /// `HEAD /{disk}/{key}`.
    HeadObject {
        /// The key.
        key: String,
    },
    /// `PUT /{disk}/{key}`.
    PutObject {
        /// The key.
        key: String,
    },
    /// `PUT /{disk}/{key}?append=true`.
    AppendObject {
        /// The key.
        key: String,
    },
    /// `DELETE /{disk}/{key}`.
    DeleteObject {
        /// The key.
        key: String,
    },
    /// `POST /{disk}/{key}?uploads`.
    CreateUpload {
        /// The key.
        key: String,
    },
    /// `PUT /{disk}/{key}?uploadId=U&partNumber=N`.
    UploadPart {
        /// The key.
        key: String,
        /// The upload.
        upload_id: String,
        /// 1..=10000.
        part_number: u32,
    },
    /// `POST /{disk}/{key}?uploadId=U`.
    CompleteUpload {
        /// The key.
        key: String,
        /// The upload.
        upload_id: String,
    },
    /// `DELETE /{disk}/{key}?uploadId=U`.
    AbortUpload {
        /// The key.
        key: String,
        /// The upload.
        upload_id: String,
    },
    /// `GET /{disk}/{key}?uploadId=U`.
    ListParts {
        /// The key.
        key: String,
        /// The upload.
        upload_id: String,
        /// Parts after this number.
        marker: u32,
        /// The page size, 1..=1000.
        max_parts: usize,
    },
}

/// Whether a path belongs to the gateway: its first segment is a disk id's
/// prefix. Disk ids start `dsk-`, so they never collide with `/api` or `/_mock`.
pub fn is_gateway_path(path: &str) -> bool {
    path.strip_prefix('/')
        .is_some_and(|p| p.starts_with("dsk-"))
}

/// The query's parameters, form-decoded (`+` is a space); a parameter given
/// twice is refused, as the value would be ambiguous.
struct Query(HashMap<String, String>);

impl Query {
    fn parse(query: Option<&str>) -> Result<Query, S3Error> {
        let mut map = HashMap::new();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if map.insert(k.clone().into_owned(), v.into_owned()).is_some() {
                return Err(S3Error::invalid_argument(format!(
                    "query parameter {} is given more than once",
                    crate::api::shorten(&k)
                )));
            }
        }
        Ok(Query(map))
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn string(&self, name: &str) -> String {
        self.get(name).unwrap_or("").to_owned()
    }

    fn upload_id(&self) -> Result<String, S3Error> {
        match self.get("uploadId") {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => Err(S3Error::invalid_argument("uploadId must not be empty")),
        }
    }

    /// A page size: absent means 1000; integers are clamped into 1..=1000.
    fn page(&self, name: &str) -> Result<usize, S3Error> {
        match self.get(name) {
            None => Ok(PAGE_MAX),
            Some(text) => text
                .parse::<i64>()
                .map(|n| n.clamp(1, PAGE_MAX as i64) as usize)
                .map_err(|_| S3Error::invalid_argument(format!("{name} must be an integer"))),
        }
    }

    fn number(&self, name: &str, min: u32, max: u32) -> Result<u32, S3Error> {
        match self.get(name) {
            None | Some("") if min == 0 => Ok(0),
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(S3Error::invalid_argument(format!(
                    "{name} must be an integer from {min} to {max}"
                ))),
            },
            None => Err(S3Error::invalid_argument(format!("{name} is required"))),
        }
    }
}

/// Decodes a gateway request, in the contract's dispatch order.
pub fn decode(method: &Method, path: &str, query: Option<&str>) -> Result<S3Request, S3Error> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (disk, key) = match rest.split_once('/') {
        None => (rest, None),
        Some((disk, "")) => (disk, None),
        Some((disk, raw)) => (disk, Some(decode_key(raw)?)),
    };
    let q = Query::parse(query)?;
    let op = match key {
        None => match *method {
            Method::POST if q.has("delete") => S3Op::DeleteObjects,
            Method::GET if q.has("uploads") => S3Op::ListUploads(UploadListParams {
                prefix: q.string("prefix"),
                delimiter: q
                    .get("delimiter")
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned),
                key_marker: q.string("key-marker"),
                upload_id_marker: q.string("upload-id-marker"),
                max_uploads: q.page("max-uploads")?,
            }),
            Method::GET => match q.get("list-type") {
                Some("2") => S3Op::ListObjects(ListParams {
                    prefix: q.string("prefix"),
                    delimiter: q
                        .get("delimiter")
                        .filter(|d| !d.is_empty())
                        .map(str::to_owned),
                    continuation_token: match q.get("continuation-token") {
                        None | Some("") => None,
                        Some(t) if super::objects::decode_token(t).is_some() => Some(t.to_owned()),
                        Some(_) => {
                            return Err(S3Error::invalid_argument(
                                "continuation-token is not one this server issued",
                            ))
                        }
                    },
                    start_after: q
                        .get("start-after")
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                    max_keys: q.page("max-keys")?,
                }),
                _ => {
                    return Err(S3Error::invalid_request(
                        "only ListObjectsV2 is emulated: send list-type=2",
                    ))
                }
            },
            Method::HEAD => S3Op::HeadBucket,
            Method::PUT => {
                return Err(S3Error::invalid_request(
                    "a disk is created through POST /api/disks, not PUT on its path",
                ))
            }
            _ => {
                return Err(S3Error::method_not_allowed(format!(
                    "{method} is not allowed on a disk's path"
                )))
            }
        },
        Some(key) => match *method {
            Method::PUT if q.has("uploadId") && q.has("partNumber") => S3Op::UploadPart {
                upload_id: q.upload_id()?,
                part_number: q.number("partNumber", 1, PART_MAX)?,
                key,
            },
            Method::PUT if q.has("append") => S3Op::AppendObject { key },
            Method::PUT => S3Op::PutObject { key },
            Method::POST if q.has("uploads") => S3Op::CreateUpload { key },
            Method::POST if q.has("uploadId") => S3Op::CompleteUpload {
                upload_id: q.upload_id()?,
                key,
            },
            Method::DELETE if q.has("uploadId") => S3Op::AbortUpload {
                upload_id: q.upload_id()?,
                key,
            },
            Method::DELETE => S3Op::DeleteObject { key },
            Method::GET if q.has("uploadId") => S3Op::ListParts {
                upload_id: q.upload_id()?,
                marker: q.number("part-number-marker", 0, PART_MAX)?,
                max_parts: q.page("max-parts")?,
                key,
            },
            Method::GET => S3Op::GetObject { key },
            Method::HEAD => S3Op::HeadObject { key },
            _ => {
                return Err(S3Error::method_not_allowed(format!(
                    "{method} is not allowed on an object"
                )))
            }
        },
    };
    Ok(S3Request {
        disk: disk.to_owned(),
        op,
    })
}

/// The key from the raw path after `/{disk}/`: each segment percent-decoded
/// exactly once (a literal `+` stays `+`), then checked by [`check_key`].
pub fn decode_key(raw: &str) -> Result<String, S3Error> {
    let mut key = String::with_capacity(raw.len());
    for (i, segment) in raw.split('/').enumerate() {
        if i > 0 {
            key.push('/');
        }
        let decoded = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| S3Error::invalid_uri("the key is not valid UTF-8 once percent-decoded"))?;
        key.push_str(&decoded);
    }
    check_key(&key)?;
    Ok(key)
}

/// A key's rules, as the disk is a POSIX filesystem: at most 1024 bytes; no
/// NUL; no empty segment (`a//b`, a leading `/`) except the trailing `/` of
/// a directory; no `.` or `..` segment (`%2e%2e` arrives here as `..`).
pub fn check_key(key: &str) -> Result<(), S3Error> {
    if key.is_empty() {
        return Err(S3Error::invalid_argument("the key must not be empty"));
    }
    if key.len() > KEY_MAX {
        return Err(S3Error::key_too_long(format!(
            "the key is {} bytes; at most {KEY_MAX} are allowed",
            key.len()
        )));
    }
    if key.contains('\0') {
        return Err(S3Error::invalid_argument("the key must not contain NUL"));
    }
    let body = key.strip_suffix('/').unwrap_or(key);
    for segment in body.split('/') {
        match segment {
            "" => {
                return Err(S3Error::invalid_argument(
                    "the key must not have an empty segment (a leading '/' or '//')",
                ))
            }
            "." | ".." => {
                return Err(S3Error::invalid_argument(
                    "the key must not have a '.' or '..' segment",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(method: Method, path: &str, query: Option<&str>) -> Result<S3Op, S3Error> {
        decode(&method, path, query).map(|r| r.op)
    }

    const D: &str = "/dsk-0123456789abcdef";

    #[test]
    fn each_precedence_row_resolves() {
        let k = || "a b/c+d".to_owned();
        let path = format!("{D}/a%20b/c+d");
        assert_eq!(
            op(Method::PUT, &path, Some("uploadId=u&partNumber=3")),
            Ok(S3Op::UploadPart {
                key: k(),
                upload_id: "u".into(),
                part_number: 3
            })
        );
        assert_eq!(
            op(Method::PUT, &path, Some("append=true")),
            Ok(S3Op::AppendObject { key: k() })
        );
        assert_eq!(
            op(Method::PUT, &path, None),
            Ok(S3Op::PutObject { key: k() })
        );
        assert_eq!(
            op(Method::POST, &path, Some("uploads=")),
            Ok(S3Op::CreateUpload { key: k() })
        );
        assert_eq!(
            op(Method::POST, &path, Some("uploadId=u")),
            Ok(S3Op::CompleteUpload {
                key: k(),
                upload_id: "u".into()
            })
        );
        assert_eq!(
            op(Method::DELETE, &path, Some("uploadId=u")),
            Ok(S3Op::AbortUpload {
                key: k(),
                upload_id: "u".into()
            })
        );
        assert_eq!(
            op(Method::DELETE, &path, None),
            Ok(S3Op::DeleteObject { key: k() })
        );
        assert!(matches!(
            op(Method::GET, &path, Some("uploadId=u")),
            Ok(S3Op::ListParts { .. })
        ));
        assert_eq!(
            op(Method::GET, &path, None),
            Ok(S3Op::GetObject { key: k() })
        );
        assert_eq!(
            op(Method::HEAD, &path, None),
            Ok(S3Op::HeadObject { key: k() })
        );
        assert_eq!(
            op(Method::POST, D, Some("delete=")),
            Ok(S3Op::DeleteObjects)
        );
        assert!(matches!(
            op(Method::GET, D, Some("uploads=")),
            Ok(S3Op::ListUploads(_))
        ));
        let Ok(S3Op::ListObjects(l)) = op(
            Method::GET,
            D,
            Some("list-type=2&prefix=p+q%2F%2Bx&delimiter=%2F"),
        ) else {
            panic!()
        };
        assert_eq!(
            (l.prefix.as_str(), l.delimiter.as_deref()),
            ("p q/+x", Some("/"))
        );
        assert_eq!(op(Method::HEAD, D, None), Ok(S3Op::HeadBucket));
    }

    #[test]
    fn bad_requests_are_400_or_405_with_s3_codes() {
        assert_eq!(op(Method::GET, D, None).unwrap_err().code, "InvalidRequest");
        assert_eq!(op(Method::PUT, D, None).unwrap_err().code, "InvalidRequest");
        assert_eq!(
            op(Method::PATCH, &format!("{D}/k"), None)
                .unwrap_err()
                .status,
            405
        );
        for q in [
            "partNumber=0&uploadId=u",
            "partNumber=10001&uploadId=u",
            "partNumber=x&uploadId=u",
            "uploadId=&partNumber=1",
        ] {
            assert_eq!(
                op(Method::PUT, &format!("{D}/k"), Some(q))
                    .unwrap_err()
                    .code,
                "InvalidArgument",
                "{q}"
            );
        }
        assert_eq!(
            op(Method::GET, D, Some("list-type=2&prefix=a&prefix=b"))
                .unwrap_err()
                .code,
            "InvalidArgument"
        );
    }

    #[test]
    fn keys_decode_once_and_refuse_what_a_filesystem_cannot_hold() {
        assert_eq!(decode_key("a%2520b").unwrap(), "a%20b");
        assert_eq!(decode_key("dir/").unwrap(), "dir/");
        assert_eq!(decode_key("%E2%9C%93!*'()").unwrap(), "✓!*'()");
        for bad in ["a//b", "%2Fa", "a/%2e%2e/b", "..", "a/./b", "a%00b", "%FF"] {
            assert!(decode_key(bad).is_err(), "{bad}");
        }
        assert_eq!(
            decode_key(&"k".repeat(1025)).unwrap_err().code,
            "KeyTooLongError"
        );
        assert!(decode_key(&"k".repeat(1024)).is_ok());
    }

    /// Found by the `gateway_decode` fuzz target's checks: the name of a
    /// repeated parameter was echoed whole, however long.
    #[test]
    fn a_repeated_parameter_is_named_but_not_echoed_whole() {
        let long = "p".repeat(5000);
        let e = op(Method::GET, D, Some(&format!("{long}=1&{long}=2"))).unwrap_err();
        assert_eq!(e.code, "InvalidArgument");
        assert!(e.message.contains(&"p".repeat(80)), "{}", e.message);
        assert!(e.message.len() < 200, "{} bytes", e.message.len());
    }
}
