//! Property test of a disk's object index against a plain model: random
//! sequences of puts, directory markers and deletes over a small set of
//! overlapping keys, checked after every step. The model keeps files and
//! directories as two sets and applies the POSIX rules the README states
//! (parents made on write, no file where a directory is or under a file,
//! a non-empty directory cannot be deleted); listings, walked page by page
//! with every page size, must equal what the model says, recursive and
//! with the `/` delimiter, under every prefix.

use std::collections::BTreeSet;

use archil_mock::gateway::objects::{Attrs, Etag, FileMeta, Item, Objects, DIR_MODE, FILE_MODE};
use archil_mock::gateway::route::ListParams;
use archil_mock::store::Blob;
use proptest::prelude::*;

const KEYS: [&str; 10] = [
    "a", "b", "a/x", "a/y", "a/x/z", "b/c/d", "ab", "a-b", "c/", "a/",
];

#[derive(Debug, Clone)]
enum Op {
    Put(&'static str),
    Mkdir(&'static str),
    Delete(&'static str),
}

fn op() -> impl Strategy<Value = Op> {
    let key = prop::sample::select(&KEYS[..]);
    prop_oneof![
        key.clone().prop_map(Op::Put),
        key.clone().prop_map(Op::Mkdir),
        key.prop_map(Op::Delete),
    ]
}

/// Files (keys) and directories (keys ending in `/`), and the rules.
#[derive(Debug, Default)]
struct Model {
    files: BTreeSet<String>,
    dirs: BTreeSet<String>,
}

impl Model {
    fn parents(key: &str) -> Vec<String> {
        let body = key.strip_suffix('/').unwrap_or(key);
        body.match_indices('/')
            .map(|(i, _)| body[..=i].to_owned())
            .collect()
    }

    fn blocked(&self, key: &str) -> bool {
        Self::parents(key)
            .iter()
            .any(|p| self.files.contains(p.trim_end_matches('/')))
    }

    fn put(&mut self, key: &str) -> bool {
        if key.ends_with('/') || self.dirs.contains(&format!("{key}/")) || self.blocked(key) {
            return false;
        }
        self.dirs.extend(Self::parents(key));
        self.files.insert(key.to_owned());
        true
    }

    fn mkdir(&mut self, key: &str) -> bool {
        let dir = if key.ends_with('/') {
            key.to_owned()
        } else {
            format!("{key}/")
        };
        if self.files.contains(dir.trim_end_matches('/')) || self.blocked(&dir) {
            return false;
        }
        self.dirs.extend(Self::parents(&dir));
        self.dirs.insert(dir);
        true
    }

    fn delete(&mut self, key: &str) -> bool {
        if !key.ends_with('/') && self.files.remove(key) {
            return true;
        }
        let dir = if key.ends_with('/') {
            key.to_owned()
        } else {
            format!("{key}/")
        };
        if !self.dirs.contains(&dir) {
            return true;
        }
        let busy = self
            .files
            .iter()
            .chain(&self.dirs)
            .any(|k| k != &dir && k.starts_with(&dir));
        if busy {
            return false;
        }
        self.dirs.remove(&dir);
        true
    }

    /// What a listing must show: files (and, grouped, directories one level down).
    fn list(&self, prefix: &str, grouped: bool) -> Vec<String> {
        let mut out = BTreeSet::new();
        for k in self.files.iter().chain(&self.dirs) {
            let Some(rest) = k.strip_prefix(prefix) else {
                continue;
            };
            match (grouped, rest.find('/')) {
                (true, Some(i)) => {
                    out.insert(format!("{prefix}{}", &rest[..=i]));
                }
                _ if self.files.contains(k) => {
                    out.insert(k.clone());
                }
                _ => {}
            }
        }
        out.into_iter().collect()
    }
}

fn meta() -> FileMeta {
    FileMeta {
        size: 1,
        etag: Etag::of(b"x"),
        content_type: "application/octet-stream".into(),
        modified_ms: 0,
        attrs: Attrs {
            mode: FILE_MODE,
            uid: 0,
            gid: 0,
        },
        blob: Blob::Memory(bytes::Bytes::from_static(b"x")),
        generation: 0,
    }
}

fn walk(objects: &Objects, prefix: &str, grouped: bool, page: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let p = objects.list(&ListParams {
            prefix: prefix.into(),
            delimiter: grouped.then(|| "/".to_owned()),
            continuation_token: token.clone(),
            start_after: None,
            max_keys: page,
        });
        assert!(p.items.len() <= page);
        out.extend(p.items.iter().map(|i| match i {
            Item::File(k, _) => (*k).to_owned(),
            Item::Prefix(p) => p.clone(),
        }));
        match p.next_token {
            Some(t) => token = Some(t),
            None => return out,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn listings_equal_the_model_under_random_puts_mkdirs_and_deletes(ops in prop::collection::vec(op(), 1..40)) {
        let mut objects = Objects::default();
        let mut model = Model::default();
        let dir_attrs = Attrs { mode: DIR_MODE, uid: 0, gid: 0 };
        for op in &ops {
            let (got, want) = match op {
                Op::Put(k) => (objects.put_file(k, meta(), 0).is_ok(), model.put(k)),
                Op::Mkdir(k) => {
                    let dir = if k.ends_with('/') { (*k).to_owned() } else { format!("{k}/") };
                    (objects.mkdir(&dir, dir_attrs, 0).is_ok(), model.mkdir(k))
                }
                Op::Delete(k) => (objects.delete(k).is_ok(), model.delete(k)),
            };
            prop_assert_eq!(got, want, "{:?} after {:?}", op, ops);
            for prefix in ["", "a", "a/", "a/x/", "b/"] {
                for grouped in [false, true] {
                    let expected = model.list(prefix, grouped);
                    for page in [1, 2, 3, 1000] {
                        prop_assert_eq!(
                            walk(&objects, prefix, grouped, page),
                            expected.clone(),
                            "prefix {:?} grouped {} page {} after {:?}", prefix, grouped, page, ops
                        );
                    }
                }
            }
        }
    }
}
