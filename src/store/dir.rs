//! The directory store (`--data-dir DIR`): each blob is a file
//! `DIR/blobs/<16 hex>`, written under `DIR/tmp/`, fsynced and renamed into
//! place (then the directory fsynced) before the index refers to it. The
//! index itself is kept by [`ObjectLog`]: one JSON line per change,
//! appended and fsynced before the change is acknowledged, and rewritten
//! compactly at startup. A SIGKILL at any moment leaves every acknowledged
//! object whole and nothing partial visible: an unfinished temp file or a
//! torn last log line was never acknowledged, and is swept at startup.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{Blob, Reader, StageError, Staging, Store};

/// Blob files under a data directory.
#[derive(Debug)]
pub struct DirStore {
    blobs: PathBuf,
    tmp: PathBuf,
    used: AtomicU64,
}

impl DirStore {
    /// Opens (creating) `root/blobs` and `root/tmp`, emptying `tmp`: a file
    /// there is an upload that was never acknowledged.
    pub fn open(root: &Path) -> io::Result<DirStore> {
        let blobs = root.join("blobs");
        let tmp = root.join("tmp");
        fs::create_dir_all(&blobs)?;
        fs::create_dir_all(&tmp)?;
        for entry in fs::read_dir(&tmp)? {
            let _ = fs::remove_file(entry?.path());
        }
        Ok(DirStore {
            blobs,
            tmp,
            used: AtomicU64::new(0),
        })
    }

    /// Removes every blob file the index does not refer to (a blob whose
    /// put was not acknowledged, or whose object was replaced before a
    /// crash), and counts the rest.
    pub fn sweep(&self, referenced: &HashSet<u64>) -> io::Result<()> {
        let mut used = 0;
        for entry in fs::read_dir(&self.blobs)? {
            let entry = entry?;
            let id = entry
                .file_name()
                .to_str()
                .and_then(|n| u64::from_str_radix(n, 16).ok());
            match id {
                Some(id) if referenced.contains(&id) => used += entry.metadata()?.len(),
                _ => {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        self.used.store(used, Ordering::SeqCst);
        Ok(())
    }

    fn path(&self, id: u64) -> PathBuf {
        self.blobs.join(format!("{id:016x}"))
    }
}

struct FileStaging {
    id: u64,
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
    dir: PathBuf,
    written: u64,
}

impl Staging for FileStaging {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StageError> {
        self.file
            .as_mut()
            .expect("open until finished")
            .write_all(chunk)?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Blob, StageError> {
        let file = self.file.take().expect("finished once");
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp, &self.dest)?;
        File::open(&self.dir)?.sync_all()?;
        Ok(Blob::File(self.id))
    }
}

impl Drop for FileStaging {
    fn drop(&mut self) {
        // Abandoned (the client went away, a limit was passed): no trace.
        if self.file.is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl Store for DirStore {
    fn stage(&self) -> Result<Box<dyn Staging>, StageError> {
        let id: u64 = rand::rng().random();
        let tmp = self.tmp.join(format!("{id:016x}"));
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        Ok(Box::new(FileStaging {
            id,
            file: Some(file),
            tmp,
            dest: self.path(id),
            dir: self.blobs.clone(),
            written: 0,
        }))
    }

    fn open(&self, blob: &Blob) -> io::Result<Reader> {
        match blob {
            Blob::File(id) => {
                let file = File::open(self.path(*id))?;
                let len = file.metadata()?.len();
                Ok(Reader::File(file, len))
            }
            Blob::Memory(b) => Ok(Reader::Bytes(b.clone())),
        }
    }

    fn remove(&self, blob: &Blob) {
        if let Blob::File(id) = blob {
            if let Ok(meta) = fs::metadata(self.path(*id)) {
                self.used.fetch_sub(meta.len(), Ordering::SeqCst);
            }
            let _ = fs::remove_file(self.path(*id));
        }
    }

    fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }
}

/// One change to the object index, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum LogRecord {
    /// A file was written (put, append, complete).
    Put {
        /// Order of the change under the state lock.
        seq: u64,
        /// `dsk-…`.
        disk: String,
        /// The object key.
        key: String,
        /// The blob file's number.
        blob: u64,
        /// Bytes.
        size: u64,
        /// The quoted ETag.
        etag: String,
        /// The stored Content-Type.
        content_type: String,
        /// Epoch ms.
        modified_ms: i64,
        /// POSIX mode bits.
        mode: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// A directory was made (explicitly, or as a missing parent).
    Dir {
        /// Order.
        seq: u64,
        /// `dsk-…`.
        disk: String,
        /// The directory key, ending in `/`.
        key: String,
        /// Epoch ms.
        modified_ms: i64,
        /// POSIX mode bits.
        mode: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// A file or an empty directory was removed.
    Del {
        /// Order.
        seq: u64,
        /// `dsk-…`.
        disk: String,
        /// The key (a directory's ends in `/`).
        key: String,
    },
}

impl LogRecord {
    /// The record's order.
    pub fn seq(&self) -> u64 {
        match self {
            LogRecord::Put { seq, .. }
            | LogRecord::Dir { seq, .. }
            | LogRecord::Del { seq, .. } => *seq,
        }
    }
}

/// The append-only object index log, `DIR/objects.log`. Records are
/// written under the state lock, so the file holds them in the order the
/// changes were made, and fsynced outside it: a record is durable only
/// with every record before it.
#[derive(Debug)]
pub struct ObjectLog {
    path: PathBuf,
    file: Mutex<File>,
    /// A write failed: the file may lack records, so no later sync reports
    /// success (every write is then answered 500 until a restart).
    failed: Mutex<Option<String>>,
}

impl ObjectLog {
    /// Reads every whole record in order of `seq` (a torn last line, never
    /// acknowledged, is dropped) and opens the log for appending.
    pub fn open(root: &Path) -> io::Result<(ObjectLog, Vec<LogRecord>)> {
        let path = root.join("objects.log");
        let mut records = Vec::new();
        let mut whole = 0u64;
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).split(b'\n') {
                let line = line?;
                match serde_json::from_slice::<LogRecord>(&line) {
                    Ok(record) => {
                        records.push(record);
                        whole += line.len() as u64 + 1;
                    }
                    // Only the last line can be torn (appends are whole
                    // lines, fsynced in order); nothing after it counts.
                    Err(_) => break,
                }
            }
        }
        // Appends happen outside the state lock, so the file order may
        // differ from the order the changes were made in.
        records.sort_by_key(LogRecord::seq);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        // Cut a torn tail, so the next append starts a line of its own.
        if file.metadata()?.len() > whole {
            file.set_len(whole)?;
            file.sync_all()?;
        }
        Ok((
            ObjectLog {
                path,
                file: Mutex::new(file),
                failed: Mutex::new(None),
            },
            records,
        ))
    }

    /// Appends records without waiting for the disk (a write to the page
    /// cache, cheap enough under the state lock); [`ObjectLog::sync`] makes
    /// them durable.
    pub fn write(&self, records: &[LogRecord]) {
        if records.is_empty() {
            return;
        }
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r).expect("log records serialise");
            buf.push(b'\n');
        }
        if let Err(e) = self.file.lock().write_all(&buf) {
            self.failed.lock().get_or_insert(e.to_string());
        }
    }

    /// Makes every record written so far durable; blocking.
    pub fn sync(&self) -> io::Result<()> {
        if let Some(e) = &*self.failed.lock() {
            return Err(io::Error::other(format!(
                "an earlier log write failed: {e}"
            )));
        }
        self.file.lock().sync_data()
    }

    /// Appends records and fsyncs them; blocking.
    pub fn append(&self, records: &[LogRecord]) -> io::Result<()> {
        self.write(records);
        self.sync()
    }

    /// Replaces the log with exactly these records (temp, fsync, rename,
    /// fsync of the directory); blocking.
    pub fn rewrite(&self, records: &[LogRecord]) -> io::Result<()> {
        let mut file = self.file.lock();
        let tmp = self.path.with_extension("log.tmp");
        {
            let mut out = io::BufWriter::new(File::create(&tmp)?);
            for r in records {
                serde_json::to_writer(&mut out, r).map_err(io::Error::other)?;
                out.write_all(b"\n")?;
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        *file = OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("archil-mock-dir-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_finished_blob_reads_back_and_unfinished_ones_leave_nothing() {
        let root = temp("blobs");
        let store = DirStore::open(&root).unwrap();
        let mut s = store.stage().unwrap();
        s.write(b"hello ").unwrap();
        s.write(b"world").unwrap();
        let blob = s.finish().unwrap();
        assert_eq!(
            &store.open(&blob).unwrap().read_all().unwrap()[..],
            b"hello world"
        );
        {
            let mut abandoned = store.stage().unwrap();
            abandoned.write(b"partial").unwrap();
        }
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        let Blob::File(id) = blob else { unreachable!() };
        store.sweep(&HashSet::from([id])).unwrap();
        assert_eq!(store.used(), 11);
        store.sweep(&HashSet::new()).unwrap();
        assert!(store.open(&blob).is_err(), "unreferenced blobs are swept");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn the_log_replays_in_seq_order_and_drops_a_torn_line() {
        let root = temp("log");
        let del = |seq| LogRecord::Del {
            seq,
            disk: "dsk-0000000000000001".into(),
            key: format!("k{seq}"),
        };
        {
            let (log, old) = ObjectLog::open(&root).unwrap();
            assert!(old.is_empty());
            log.append(&[del(2), del(1)]).unwrap();
        }
        let mut f = OpenOptions::new()
            .append(true)
            .open(root.join("objects.log"))
            .unwrap();
        f.write_all(br#"{"op":"del","seq":3,"di"#).unwrap();
        let (log, records) = ObjectLog::open(&root).unwrap();
        assert_eq!(records, [del(1), del(2)]);
        log.rewrite(&[del(5)]).unwrap();
        log.append(&[del(6)]).unwrap();
        let (_, records) = ObjectLog::open(&root).unwrap();
        assert_eq!(records, [del(5), del(6)]);
        fs::remove_dir_all(root).unwrap();
    }
}
