//! A disk's files and directories: the object index, held in the disk's
//! state under the one lock, with POSIX rules. Directories are real
//! entries (keyed with a trailing `/`, which also gives S3's byte order for
//! listings); parents are made as needed; a file never sits where a
//! directory is, or under a file. Pure functions: no I/O, no bytes copied.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use md5::{Digest, Md5};

use super::error::S3Error;
use super::multipart::Upload;
use super::route::ListParams;
use crate::store::Blob;

/// An MD5, and for a multipart object the number of parts (`"…-N"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Etag {
    /// The digest (of the bytes, or of the parts' digests).
    pub md5: [u8; 16],
    /// 0 for a single-part object.
    pub parts: u16,
}

impl Etag {
    /// The ETag of these bytes.
    pub fn of(bytes: &[u8]) -> Etag {
        Etag {
            md5: Md5::digest(bytes).into(),
            parts: 0,
        }
    }

    /// The multipart ETag: MD5 of the parts' binary MD5s, and their count.
    pub fn of_parts(parts: &[[u8; 16]]) -> Etag {
        let mut h = Md5::new();
        for p in parts {
            h.update(p);
        }
        Etag {
            md5: h.finalize().into(),
            parts: parts.len() as u16,
        }
    }

    /// Parses a quoted or bare ETag.
    pub fn parse(text: &str) -> Option<Etag> {
        let text = text.trim().trim_matches('"');
        let (hex, parts) = match text.split_once('-') {
            Some((hex, n)) => (hex, n.parse().ok()?),
            None => (text, 0),
        };
        let mut md5 = [0u8; 16];
        hex::decode_to_slice(hex, &mut md5).ok()?;
        Some(Etag { md5, parts })
    }
}

impl std::fmt::Display for Etag {
    /// Quoted, as S3 sends it: `"<hex>"` or `"<hex>-N"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"")?;
        f.write_str(&hex::encode(self.md5))?;
        if self.parts > 0 {
            write!(f, "-{}", self.parts)?;
        }
        f.write_str("\"")
    }
}

/// POSIX owner and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attrs {
    /// Permission bits, ≤ 0o7777.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// The defaults: files `root:root 0644`, directories `0755`.
pub const FILE_MODE: u32 = 0o644;
/// The default directory mode, also of implicit parents.
pub const DIR_MODE: u32 = 0o755;

/// The shared `Arc` for a content type. Clients send a handful of types,
/// so one allocation per type serves every object that has it, instead of one
/// per object (about 48 bytes each at a million objects). At most
/// `INTERNED_TYPES` distinct types are kept; any beyond get their own `Arc`.
pub fn content_type(text: &str) -> Arc<str> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    const INTERNED_TYPES: usize = 256;
    static TYPES: OnceLock<parking_lot::Mutex<HashMap<Box<str>, Arc<str>>>> = OnceLock::new();
    let mut types = TYPES.get_or_init(Default::default).lock();
    if let Some(shared) = types.get(text) {
        return shared.clone();
    }
    let shared: Arc<str> = text.into();
    if types.len() < INTERNED_TYPES {
        types.insert(text.into(), shared.clone());
    }
    shared
}

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// Bytes.
    pub size: u64,
    /// Computed when written, never again.
    pub etag: Etag,
    /// As given, or `application/octet-stream`.
    pub content_type: Arc<str>,
    /// Epoch ms.
    pub modified_ms: i64,
    /// Owner and mode.
    pub attrs: Attrs,
    /// Where the bytes are.
    pub blob: Blob,
    /// Bumped on every write of this key, so an append can tell it raced.
    pub generation: u64,
}

/// A directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirMeta {
    /// Owner and mode.
    pub attrs: Attrs,
    /// Epoch ms.
    pub modified_ms: i64,
}

/// One entry of a disk's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A file, keyed by its key.
    File(FileMeta),
    /// A directory, keyed with a trailing `/`.
    Dir(DirMeta),
}

/// A change to the index, for `--data-dir`'s log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A file written.
    Put(String, FileMeta),
    /// A directory made.
    Dir(String, DirMeta),
    /// A key removed (a directory's ends in `/`).
    Del(String),
}

/// A disk's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Objects {
    entries: BTreeMap<String, Entry>,
    /// Bytes stored now.
    pub stored_bytes: u64,
    /// Bytes ever written (puts, appends, completes).
    pub written_bytes: u64,
    /// Multipart uploads in progress, by id.
    pub uploads: BTreeMap<String, Upload>,
    generations: u64,
}

/// What a write replaced, for the store to forget.
pub type Replaced = Option<Blob>;

impl Objects {
    /// The file at `key`; a directory, or nothing, is `NoSuchKey`.
    pub fn file(&self, key: &str) -> Result<&FileMeta, S3Error> {
        match self.entries.get(key) {
            Some(Entry::File(f)) => Ok(f),
            _ => Err(S3Error::no_such_key(format!("no object {key}"))),
        }
    }

    /// The entry at exactly this key, if any.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Every entry, in key order (for snapshots and the log's compaction).
    pub fn entries(&self) -> impl Iterator<Item = (&String, &Entry)> {
        self.entries.iter()
    }

    /// Every blob the index refers to, files and upload parts.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        self.entries
            .values()
            .filter_map(|e| match e {
                Entry::File(f) => Some(&f.blob),
                Entry::Dir(_) => None,
            })
            .chain(
                self.uploads
                    .values()
                    .flat_map(|u| u.parts.values().map(|p| &p.blob)),
            )
    }

    /// Every file, to move its blob (startup only).
    pub fn files_mut(&mut self) -> impl Iterator<Item = &mut FileMeta> {
        self.entries.values_mut().filter_map(|e| match e {
            Entry::File(f) => Some(f),
            Entry::Dir(_) => None,
        })
    }

    /// The files under a directory prefix (`""` or `dir/`): directly under
    /// it, or with `recursive` the whole subtree; in key order.
    pub fn files_under(&self, prefix: &str, recursive: bool) -> Vec<(String, Blob)> {
        self.entries
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter_map(|(k, e)| match e {
                Entry::File(f) if recursive || !k[prefix.len()..].contains('/') => {
                    Some((k.clone(), f.blob.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// How many files.
    pub fn file_count(&self) -> usize {
        self.entries
            .values()
            .filter(|e| matches!(e, Entry::File(_)))
            .count()
    }

    /// Makes the missing parents of `key` (each `a/`, `a/b/` before its last
    /// segment) as directories with `attrs`' owner and mode 0755. Refuses if
    /// a parent is a file. Checks everything before changing anything.
    fn parents(
        &mut self,
        key: &str,
        attrs: Attrs,
        now_ms: i64,
        changes: &mut Vec<Change>,
    ) -> Result<(), S3Error> {
        let body = key.strip_suffix('/').unwrap_or(key);
        let mut missing = Vec::new();
        for (i, _) in body.match_indices('/') {
            let dir = &body[..=i];
            match self.entries.get(dir) {
                Some(_) => {}
                None => {
                    if let Some(Entry::File(_)) = self.entries.get(&body[..i]) {
                        return Err(S3Error::not_a_directory(format!(
                            "{} is a file, so {key} cannot be under it",
                            &body[..i]
                        )));
                    }
                    missing.push(dir.to_owned());
                }
            }
        }
        for dir in missing {
            let meta = DirMeta {
                attrs: Attrs {
                    mode: DIR_MODE,
                    ..attrs
                },
                modified_ms: now_ms,
            };
            changes.push(Change::Dir(dir.clone(), meta));
            self.entries.insert(dir, Entry::Dir(meta));
        }
        Ok(())
    }

    /// Checks that a file can be written at `key`, without changing anything.
    pub fn check_file(&self, key: &str) -> Result<(), S3Error> {
        // A `dir/` key names a directory; only an append reaches here with
        // one, and it must not turn the directory into a file.
        if key.ends_with('/') {
            return Err(match self.entries.get(key) {
                Some(Entry::Dir(_)) => S3Error::is_a_directory(format!("{key} is a directory")),
                _ => S3Error::invalid_request(format!(
                    "{key} ends in '/', so it names a directory, not a file"
                )),
            });
        }
        if self.entries.contains_key(&format!("{key}/")) {
            return Err(S3Error::is_a_directory(format!("{key} is a directory")));
        }
        let mut at = 0;
        while let Some(i) = key[at..].find('/') {
            let parent = &key[..at + i];
            if let Some(Entry::File(_)) = self.entries.get(parent) {
                return Err(S3Error::not_a_directory(format!(
                    "{parent} is a file, so {key} cannot be under it"
                )));
            }
            at += i + 1;
        }
        Ok(())
    }

    /// Writes a file (a put, an append, a completed upload), making its
    /// parents. Returns the blob it replaced and the changes made.
    pub fn put_file(
        &mut self,
        key: &str,
        mut meta: FileMeta,
        now_ms: i64,
    ) -> Result<(Replaced, Vec<Change>), S3Error> {
        self.check_file(key)?;
        let mut changes = Vec::new();
        self.parents(key, meta.attrs, now_ms, &mut changes)?;
        self.generations += 1;
        meta.generation = self.generations;
        self.stored_bytes += meta.size;
        self.written_bytes += meta.size;
        changes.push(Change::Put(key.to_owned(), meta.clone()));
        let old = match self.entries.insert(key.to_owned(), Entry::File(meta)) {
            Some(Entry::File(old)) => {
                self.stored_bytes -= old.size;
                Some(old.blob)
            }
            _ => None,
        };
        Ok((old, changes))
    }

    /// `PUT dir/` with an empty body: makes the directory (and its parents)
    /// with `attrs`; an existing one is left as it is.
    pub fn mkdir(&mut self, key: &str, attrs: Attrs, now_ms: i64) -> Result<Vec<Change>, S3Error> {
        let name = key.trim_end_matches('/');
        if let Some(Entry::File(_)) = self.entries.get(name) {
            return Err(S3Error::not_a_directory(format!("{name} is a file")));
        }
        let mut changes = Vec::new();
        self.parents(key, attrs, now_ms, &mut changes)?;
        if !self.entries.contains_key(key) {
            let meta = DirMeta {
                attrs,
                modified_ms: now_ms,
            };
            changes.push(Change::Dir(key.to_owned(), meta));
            self.entries.insert(key.to_owned(), Entry::Dir(meta));
        }
        Ok(changes)
    }

    /// `DELETE`: a file goes; an empty directory (named with or without its
    /// `/`) goes; a non-empty one is `DirectoryNotEmpty`; nothing is fine.
    pub fn delete(&mut self, key: &str) -> Result<(Replaced, Vec<Change>), S3Error> {
        let dir = if key.ends_with('/') {
            key.to_owned()
        } else {
            match self.entries.get(key) {
                Some(Entry::File(_)) => {
                    let Some(Entry::File(old)) = self.entries.remove(key) else {
                        unreachable!()
                    };
                    self.stored_bytes -= old.size;
                    return Ok((Some(old.blob), vec![Change::Del(key.to_owned())]));
                }
                _ => format!("{key}/"),
            }
        };
        if !self.entries.contains_key(&dir) {
            return Ok((None, Vec::new()));
        }
        let has_children = self
            .entries
            .range::<str, _>((Bound::Excluded(dir.as_str()), Bound::Unbounded))
            .next()
            .is_some_and(|(k, _)| k.starts_with(&dir));
        if has_children {
            return Err(S3Error::directory_not_empty(format!(
                "{dir} is a directory that is not empty"
            )));
        }
        self.entries.remove(&dir);
        Ok((None, vec![Change::Del(dir)]))
    }

    /// Applies a logged change on replay. Its checks held against the index
    /// it was made on, but that index may have held changes whose records
    /// never reached the log: records are appended outside the lock, so a
    /// killed request's records can be missing before a later, acknowledged
    /// one. So the namespace is first made as the change needs it, as the
    /// lost changes must have made it: its parents are directories, no file
    /// is where a directory is, and a removed directory takes what is still
    /// under it.
    pub fn replay(&mut self, change: Change) -> Replaced {
        match change {
            Change::Put(key, meta) => {
                self.make_room(&key, meta.modified_ms);
                self.stored_bytes += meta.size;
                self.written_bytes += meta.size;
                self.generations += 1;
                match self.entries.insert(key, Entry::File(meta)) {
                    Some(Entry::File(old)) => {
                        self.stored_bytes -= old.size;
                        Some(old.blob)
                    }
                    _ => None,
                }
            }
            Change::Dir(key, meta) => {
                self.make_room(&key, meta.modified_ms);
                self.entries.entry(key).or_insert(Entry::Dir(meta));
                None
            }
            Change::Del(key) if key.ends_with('/') => {
                self.remove_tree(&key);
                None
            }
            Change::Del(key) => match self.entries.remove(&key) {
                Some(Entry::File(old)) => {
                    self.stored_bytes -= old.size;
                    Some(old.blob)
                }
                _ => None,
            },
        }
    }

    /// For replay: makes `key`'s parents directories (a file in the way
    /// goes; a missing one is made `root:root 0755`), and removes a
    /// directory where `key` names a file.
    fn make_room(&mut self, key: &str, now_ms: i64) {
        let body = key.strip_suffix('/').unwrap_or(key);
        let mut remove_file = |entries: &mut BTreeMap<String, Entry>, name: &str| {
            if let Some(Entry::File(_)) = entries.get(name) {
                if let Some(Entry::File(old)) = entries.remove(name) {
                    self.stored_bytes -= old.size;
                }
            }
        };
        for (i, _) in body.match_indices('/') {
            remove_file(&mut self.entries, &body[..i]);
            self.entries
                .entry(body[..=i].to_owned())
                .or_insert(Entry::Dir(DirMeta {
                    attrs: Attrs {
                        mode: DIR_MODE,
                        uid: 0,
                        gid: 0,
                    },
                    modified_ms: now_ms,
                }));
        }
        if key.ends_with('/') {
            remove_file(&mut self.entries, body);
        } else {
            self.remove_tree(&format!("{key}/"));
        }
    }

    /// For replay: removes the directory `dir` and everything under it.
    fn remove_tree(&mut self, dir: &str) {
        let under: Vec<String> = self
            .entries
            .range::<str, _>((Bound::Included(dir), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(dir))
            .map(|(k, _)| k.clone())
            .collect();
        for k in under {
            if let Some(Entry::File(old)) = self.entries.remove(&k) {
                self.stored_bytes -= old.size;
            }
        }
    }

    /// One `ListObjectsV2` page: files as contents; with the `/` delimiter,
    /// each directory one level down as a common prefix (explicit or
    /// implicit, empty or not). The prefix's own directory is never listed.
    pub fn list(&self, params: &ListParams) -> Page<'_> {
        let prefix = params.prefix.as_str();
        let grouping = params.delimiter.as_deref().filter(|d| !d.is_empty());
        let resume = params
            .continuation_token
            .as_deref()
            .and_then(decode_token)
            .or_else(|| params.start_after.clone());
        let mut start = match &resume {
            Some(after) if after.as_str() >= prefix => Bound::Excluded(after.clone()),
            _ => Bound::Included(prefix.to_owned()),
        };
        // Resuming after a common prefix skips everything under it.
        if let (Some(d), Bound::Excluded(after)) = (grouping, &start) {
            if after.ends_with(d) && params.continuation_token.is_some() {
                start = Bound::Included(skip_past(after));
            }
        }
        let mut page = Page::default();
        let mut cursor = start;
        'scan: loop {
            let mut range = self
                .entries
                .range::<String, _>((cursor.clone(), Bound::Unbounded));
            for (key, entry) in range.by_ref() {
                if !key.starts_with(prefix) {
                    break 'scan;
                }
                let rest = &key[prefix.len()..];
                let item = match grouping.and_then(|d| rest.find(d).map(|i| (d, i))) {
                    Some((d, i)) => {
                        let common = format!("{prefix}{}", &rest[..i + d.len()]);
                        if common == prefix {
                            continue;
                        }
                        Item::Prefix(common)
                    }
                    None => match entry {
                        Entry::File(meta) => Item::File(key.as_str(), meta),
                        // Without grouping, directories are not listed.
                        Entry::Dir(_) => continue,
                    },
                };
                if page.items.len() == params.max_keys {
                    page.truncated = true;
                    break 'scan;
                }
                if let Item::Prefix(common) = &item {
                    // Jump over everything under this prefix.
                    let next = skip_past(common);
                    page.items.push(item);
                    cursor = Bound::Included(next);
                    continue 'scan;
                }
                page.items.push(item);
            }
            break;
        }
        if page.truncated {
            page.next_token = page.items.last().map(|i| encode_token(i.key()));
        }
        page
    }
}

/// One listing page.
#[derive(Debug, Default)]
pub struct Page<'a> {
    /// Files and common prefixes, in key order.
    pub items: Vec<Item<'a>>,
    /// Whether more remain.
    pub truncated: bool,
    /// Where the next page starts.
    pub next_token: Option<String>,
}

/// A listed file or directory.
#[derive(Debug)]
pub enum Item<'a> {
    /// A file.
    File(&'a str, &'a FileMeta),
    /// A common prefix.
    Prefix(String),
}

impl Item<'_> {
    fn key(&self) -> &str {
        match self {
            Item::File(k, _) => k,
            Item::Prefix(p) => p,
        }
    }
}

/// The least key greater than every key starting with `prefix` (its last
/// byte, `/`, bumped by one).
fn skip_past(prefix: &str) -> String {
    let mut s = prefix.to_owned();
    match s.pop() {
        Some(c) => {
            s.push(char::from_u32(c as u32 + 1).unwrap_or(char::MAX));
            s
        }
        None => s,
    }
}

/// Continuation tokens are the last key of the page, hex-encoded: opaque,
/// URL-safe, and unique per page.
fn encode_token(key: &str) -> String {
    hex::encode(key)
}

/// The key a continuation token names, if it is one this server issued.
pub fn decode_token(token: &str) -> Option<String> {
    hex::decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_content_type_is_one_allocation_however_many_objects_have_it() {
        let a = content_type("text/x-interned");
        let b = content_type(&String::from("text/x-interned"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*a, "text/x-interned");
        assert!(!Arc::ptr_eq(&a, &content_type("text/x-other")));
    }

    fn meta(size: u64) -> FileMeta {
        FileMeta {
            size,
            etag: Etag::of(b""),
            content_type: "application/octet-stream".into(),
            modified_ms: 0,
            attrs: Attrs {
                mode: FILE_MODE,
                uid: 0,
                gid: 0,
            },
            blob: Blob::Memory(Bytes::new()),
            generation: 0,
        }
    }

    fn put(o: &mut Objects, key: &str) {
        o.put_file(key, meta(1), 0).unwrap();
    }

    fn listed(o: &Objects, prefix: &str, delimiter: Option<&str>, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = o.list(&ListParams {
                prefix: prefix.into(),
                delimiter: delimiter.map(Into::into),
                continuation_token: token.clone(),
                start_after: None,
                max_keys: max,
            });
            out.extend(page.items.iter().map(|i| i.key().to_owned()));
            match page.next_token {
                Some(t) => token = Some(t),
                None => return out,
            }
        }
    }

    #[test]
    fn etags_are_quoted_md5s_and_parts_count() {
        assert_eq!(
            Etag::of(b"").to_string(),
            "\"d41d8cd98f00b204e9800998ecf8427e\""
        );
        let e = Etag::of_parts(&[Etag::of(b"a").md5, Etag::of(b"b").md5]);
        assert!(e.to_string().ends_with("-2\""));
        assert_eq!(Etag::parse(&e.to_string()), Some(e));
    }

    #[test]
    fn files_and_directories_never_collide() {
        let mut o = Objects::default();
        put(&mut o, "a/b/c.txt");
        assert!(matches!(o.entry("a/"), Some(Entry::Dir(_))));
        assert_eq!(
            o.put_file("a/b", meta(1), 0).unwrap_err().code,
            "IsADirectory"
        );
        assert_eq!(
            o.put_file("a/b/c.txt/d", meta(1), 0).unwrap_err().code,
            "NotADirectory"
        );
        assert_eq!(
            o.mkdir(
                "a/b/c.txt/",
                Attrs {
                    mode: 0o700,
                    uid: 1,
                    gid: 1
                },
                0
            )
            .unwrap_err()
            .code,
            "NotADirectory"
        );
        assert_eq!(o.delete("a/b/").unwrap_err().code, "DirectoryNotEmpty");
        o.delete("a/b/c.txt").unwrap();
        assert!(
            matches!(o.entry("a/b/"), Some(Entry::Dir(_))),
            "empty dirs persist"
        );
        o.delete("a/b").unwrap();
        assert!(o.entry("a/b/").is_none());
        assert_eq!(o.file("a/").unwrap_err().code, "NoSuchKey");
    }

    #[test]
    fn replay_keeps_a_valid_tree_when_earlier_records_are_missing() {
        let dir = |key: &str| {
            Change::Dir(
                key.into(),
                DirMeta {
                    attrs: Attrs {
                        mode: DIR_MODE,
                        uid: 0,
                        gid: 0,
                    },
                    modified_ms: 0,
                },
            )
        };
        let mut o = Objects::default();
        // `d/`'s record (made by a put that was killed) is missing.
        o.replay(Change::Put("d/b".into(), meta(3)));
        assert!(matches!(o.entry("d/"), Some(Entry::Dir(_))));
        assert_eq!(o.check_file("d").unwrap_err().code, "IsADirectory");
        // The delete of `f` is missing before a put under `f/`.
        o.replay(Change::Put("f".into(), meta(2)));
        o.replay(dir("f/"));
        assert!(o.file("f").is_err());
        // The deletes of `d/b` and `d/` are missing before a put of `d`.
        o.replay(Change::Put("d".into(), meta(1)));
        assert!(o.entry("d/").is_none() && o.entry("d/b").is_none());
        // The delete of `e/x` is missing before the delete of `e/`.
        o.replay(Change::Put("e/x".into(), meta(4)));
        o.replay(Change::Del("e/".into()));
        assert!(o.entry("e/x").is_none() && o.entry("e/").is_none());
        assert_eq!(o.stored_bytes, 1);
        assert_eq!(o.file_count(), 1);
    }

    #[test]
    fn listing_groups_directories_and_pages_without_repeats() {
        let mut o = Objects::default();
        for k in ["a.txt", "b/1", "b/2", "b/c/3", "b.txt", "c/", "d"] {
            if k.ends_with('/') {
                o.mkdir(
                    k,
                    Attrs {
                        mode: DIR_MODE,
                        uid: 0,
                        gid: 0,
                    },
                    0,
                )
                .unwrap();
            } else {
                put(&mut o, k);
            }
        }
        assert_eq!(
            listed(&o, "", Some("/"), 1000),
            ["a.txt", "b.txt", "b/", "c/", "d"]
        );
        for max in 1..=4 {
            assert_eq!(
                listed(&o, "", Some("/"), max),
                ["a.txt", "b.txt", "b/", "c/", "d"],
                "{max}"
            );
            assert_eq!(
                listed(&o, "", None, max),
                ["a.txt", "b.txt", "b/1", "b/2", "b/c/3", "d"],
                "{max}"
            );
        }
        assert_eq!(listed(&o, "b/", Some("/"), 1000), ["b/1", "b/2", "b/c/"]);
        assert_eq!(listed(&o, "c/", Some("/"), 1000), Vec::<String>::new());
        assert_eq!(listed(&o, "b", None, 2), ["b.txt", "b/1", "b/2", "b/c/3"]);
    }
}
