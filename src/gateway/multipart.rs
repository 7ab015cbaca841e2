//! Multipart uploads, as index entries of a disk: create, record a part,
//! check a Complete request (order, ETags, the 5 MiB rule) before anything
//! changes, list parts and uploads. Joining the parts' bytes happens outside
//! the lock, in the gateway's edge; pure functions here.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use rand::Rng;

use super::error::S3Error;
use super::objects::{Attrs, Etag, Objects};
use super::route::UploadListParams;
use crate::store::Blob;

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// MD5 of its bytes.
    pub md5: [u8; 16],
    /// Bytes.
    pub size: u64,
    /// Epoch ms.
    pub modified_ms: i64,
    /// Where the bytes are.
    pub blob: Blob,
}

/// An upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The key it will write.
    pub key: String,
    /// Epoch ms.
    pub initiated_ms: i64,
    /// For the completed object.
    pub content_type: Arc<str>,
    /// For the completed object.
    pub attrs: Attrs,
    /// By part number; a part sent again replaces the first.
    pub parts: BTreeMap<u32, Part>,
    /// A Complete is joining the parts; further parts are refused.
    pub completing: bool,
}

/// What a checked Complete joins, in order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The parts' blobs, in order.
    pub blobs: Vec<Blob>,
    /// The object's ETag.
    pub etag: Etag,
    /// The object's size.
    pub size: u64,
}

fn missing(upload_id: &str) -> S3Error {
    S3Error::no_such_upload(format!(
        "upload {upload_id} does not exist (it was completed or aborted, or never made)"
    ))
}

/// A new upload id: 32 hex characters from the CSPRNG, never reused.
pub fn new_upload_id() -> String {
    hex::encode(rand::rng().random::<[u8; 16]>())
}

impl Objects {
    /// The upload `upload_id` of `key`.
    pub fn upload(&self, key: &str, upload_id: &str) -> Result<&Upload, S3Error> {
        self.uploads
            .get(upload_id)
            .filter(|u| u.key == key)
            .ok_or_else(|| missing(upload_id))
    }

    /// `CreateMultipartUpload`.
    pub fn create_upload(
        &mut self,
        key: &str,
        content_type: Arc<str>,
        attrs: Attrs,
        now_ms: i64,
    ) -> Result<String, S3Error> {
        if key.ends_with('/') {
            return Err(S3Error::invalid_argument(
                "a directory key cannot be uploaded",
            ));
        }
        self.check_file(key)?;
        let id = new_upload_id();
        self.uploads.insert(
            id.clone(),
            Upload {
                key: key.to_owned(),
                initiated_ms: now_ms,
                content_type,
                attrs,
                parts: BTreeMap::new(),
                completing: false,
            },
        );
        Ok(id)
    }

    /// `UploadPart`: records the part; returns the blob it replaced.
    pub fn add_part(
        &mut self,
        key: &str,
        upload_id: &str,
        number: u32,
        part: Part,
    ) -> Result<Option<Blob>, S3Error> {
        let upload = self
            .uploads
            .get_mut(upload_id)
            .filter(|u| u.key == key && !u.completing)
            .ok_or_else(|| missing(upload_id))?;
        Ok(upload.parts.insert(number, part).map(|old| old.blob))
    }

    /// Checks a Complete request and marks the upload as completing. Fails,
    /// changing nothing, on an empty or unordered list, an unknown part or
    /// ETag, or a part under `min_part` bytes that is not the last.
    pub fn begin_complete(
        &mut self,
        key: &str,
        upload_id: &str,
        requested: &[(u32, String)],
        min_part: u64,
    ) -> Result<Plan, S3Error> {
        let upload = self
            .uploads
            .get_mut(upload_id)
            .filter(|u| u.key == key && !u.completing)
            .ok_or_else(|| missing(upload_id))?;
        if requested.is_empty() {
            return Err(S3Error::malformed_xml("the request names no parts"));
        }
        let mut blobs = Vec::with_capacity(requested.len());
        let mut md5s = Vec::with_capacity(requested.len());
        let mut size = 0;
        // The order of the whole list first, then each part: the first
        // error a client can fix is reported, whatever the part sizes.
        let mut previous = 0;
        for (number, _) in requested {
            if *number <= previous {
                return Err(S3Error::invalid_part_order(format!(
                    "part {number} follows part {previous}: parts must be listed in ascending order"
                )));
            }
            previous = *number;
        }
        for (i, (number, etag)) in requested.iter().enumerate() {
            let part = upload
                .parts
                .get(number)
                .ok_or_else(|| S3Error::invalid_part(format!("part {number} was not uploaded")))?;
            if Etag::parse(etag).map(|e| e.md5) != Some(part.md5) {
                return Err(S3Error::invalid_part(format!(
                    "part {number}'s ETag {etag} is not the one it was uploaded with"
                )));
            }
            if part.size < min_part && i + 1 < requested.len() {
                return Err(S3Error::entity_too_small(format!(
                    "part {number} is {} bytes; every part but the last must be at least {min_part}",
                    part.size
                )));
            }
            blobs.push(part.blob.clone());
            md5s.push(part.md5);
            size += part.size;
        }
        upload.completing = true;
        Ok(Plan {
            blobs,
            etag: Etag::of_parts(&md5s),
            size,
        })
    }

    /// Undoes [`Objects::begin_complete`] after a failure joining the parts.
    pub fn cancel_complete(&mut self, upload_id: &str) {
        if let Some(u) = self.uploads.get_mut(upload_id) {
            u.completing = false;
        }
    }

    /// Removes an upload (after Complete, or on Abort); returns its parts' blobs.
    pub fn remove_upload(&mut self, key: &str, upload_id: &str) -> Result<Vec<Blob>, S3Error> {
        self.upload(key, upload_id)?;
        let upload = self.uploads.remove(upload_id).expect("checked above");
        Ok(upload.parts.into_values().map(|p| p.blob).collect())
    }

    /// One page of uploads in progress, by key then id.
    pub fn list_uploads(&self, params: &UploadListParams) -> UploadPage<'_> {
        let delimiter = params.delimiter.as_deref();
        // A marker that is a common prefix (the previous page ended on it)
        // skips every key under it.
        let marker_prefix = delimiter
            .filter(|d| params.upload_id_marker.is_empty() && params.key_marker.ends_with(*d));
        let mut sorted: Vec<(&String, &Upload)> = self
            .uploads
            .iter()
            .filter(|(_, u)| u.key.starts_with(&params.prefix))
            .filter(|(_, u)| marker_prefix.is_none() || !u.key.starts_with(&params.key_marker))
            .filter(|(id, u)| {
                params.key_marker.is_empty()
                    || u.key.as_str() > params.key_marker.as_str()
                    || (u.key == params.key_marker
                        && !params.upload_id_marker.is_empty()
                        && id.as_str() > params.upload_id_marker.as_str())
            })
            .collect();
        sorted.sort_by(|a, b| (&a.1.key, a.0).cmp(&(&b.1.key, b.0)));
        let mut page = UploadPage::default();
        for (id, u) in sorted {
            let rest = &u.key[params.prefix.len()..];
            let common = delimiter.and_then(|d| {
                rest.find(d)
                    .map(|i| format!("{}{}", params.prefix, &rest[..i + d.len()]))
            });
            if common.is_some() && page.prefixes.last() == common.as_ref() {
                continue;
            }
            if page.uploads.len() + page.prefixes.len() == params.max_uploads {
                page.truncated = true;
                break;
            }
            match common {
                Some(common) => {
                    page.next = Some((common.clone(), String::new()));
                    page.prefixes.push(common);
                }
                None => {
                    page.next = Some((u.key.clone(), id.clone()));
                    page.uploads.push((id, u));
                }
            }
        }
        if !page.truncated {
            page.next = None;
        }
        page
    }
}

/// One page of `ListMultipartUploads`.
#[derive(Debug, Default)]
pub struct UploadPage<'a> {
    /// Uploads, by key then id.
    pub uploads: Vec<(&'a String, &'a Upload)>,
    /// Keys grouped by the delimiter (each counts toward the page).
    pub prefixes: Vec<String>,
    /// Whether more remain.
    pub truncated: bool,
    /// Where the next page starts (key marker, upload-id marker), when truncated.
    pub next: Option<(String, String)>,
}

/// Parts after `marker`, at most `max`, and whether more remain.
pub fn parts_page(upload: &Upload, marker: u32, max: usize) -> (Vec<(u32, &Part)>, bool) {
    let mut range = upload
        .parts
        .range((Bound::Excluded(marker), Bound::Unbounded))
        .map(|(n, p)| (*n, p));
    let page: Vec<_> = range.by_ref().take(max).collect();
    let more = range.next().is_some();
    (page, more)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    const ATTRS: Attrs = Attrs {
        mode: 0o644,
        uid: 0,
        gid: 0,
    };

    fn part(bytes: &'static [u8]) -> Part {
        Part {
            md5: Etag::of(bytes).md5,
            size: bytes.len() as u64,
            modified_ms: 0,
            blob: Blob::Memory(Bytes::from_static(bytes)),
        }
    }

    #[test]
    fn upload_pages_with_a_delimiter_resume_after_a_common_prefix() {
        let mut o = Objects::default();
        for key in ["a/1", "a/2", "b", "c/1", "c/2"] {
            o.create_upload(key, "x".into(), ATTRS, 0).unwrap();
        }
        let mut params = UploadListParams {
            delimiter: Some("/".into()),
            max_uploads: 1,
            ..UploadListParams::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = o.list_uploads(&params);
            seen.extend(page.prefixes.iter().cloned());
            seen.extend(page.uploads.iter().map(|(_, u)| u.key.clone()));
            match page.next {
                Some((key, id)) => {
                    params.key_marker = key;
                    params.upload_id_marker = id;
                }
                None => break,
            }
        }
        assert_eq!(seen, ["a/", "b", "c/"]);
    }

    #[test]
    fn complete_checks_everything_before_changing_anything() {
        let mut o = Objects::default();
        let id = o.create_upload("k", "text/plain".into(), ATTRS, 0).unwrap();
        o.add_part("k", &id, 1, part(b"aaaa")).unwrap();
        o.add_part("k", &id, 2, part(b"bb")).unwrap();
        let e1 = Etag::of(b"aaaa").to_string();
        let e2 = Etag::of(b"bb").to_string();
        let err = |o: &mut Objects, parts: &[(u32, String)], min| {
            o.begin_complete("k", &id, parts, min).unwrap_err().code
        };
        assert_eq!(err(&mut o, &[], 0), "MalformedXML");
        assert_eq!(
            err(&mut o, &[(2, e2.clone()), (1, e1.clone())], 0),
            "InvalidPartOrder"
        );
        assert_eq!(err(&mut o, &[(1, e2.clone())], 0), "InvalidPart");
        assert_eq!(
            err(&mut o, &[(1, e1.clone()), (3, e2.clone())], 0),
            "InvalidPart"
        );
        assert_eq!(
            err(&mut o, &[(1, e1.clone()), (2, e2.clone())], 5),
            "EntityTooSmall"
        );
        let plan = o.begin_complete("k", &id, &[(1, e1), (2, e2)], 4).unwrap();
        assert_eq!((plan.size, plan.etag.parts), (6, 2));
        assert_eq!(
            o.add_part("k", &id, 3, part(b"c")).unwrap_err().code,
            "NoSuchUpload"
        );
        assert_eq!(o.remove_upload("k", &id).unwrap().len(), 2);
        assert_eq!(o.remove_upload("k", &id).unwrap_err().code, "NoSuchUpload");
    }
}
