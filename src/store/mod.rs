//! Object bytes, behind one small trait: the memory back end (the default)
//! and the directory back end (`--data-dir`). The object *index* (names,
//! sizes, ETags, POSIX attributes) lives in [`crate::state::State`] under the
//! state lock; a [`Store`] only holds bytes, and every byte is written and
//! hashed before the lock is taken, so a large upload never stalls others.
//!
//! A blob is written once ([`Store::stage`] → [`Staging::finish`], durable
//! on return for the directory store), then referenced by the index, read
//! ([`Store::open`], a cheap handle taken under the lock) and finally removed
//! ([`Store::remove`]) once nothing refers to it.

pub mod dir;
pub mod memory;

use std::fmt::Debug;
use std::io;
use std::sync::Arc;

use bytes::Bytes;

/// A finished blob, as the index refers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blob {
    /// The bytes themselves (memory store).
    Memory(Bytes),
    /// A file of the directory store, by its number.
    File(u64),
}

/// What reading a blob gives: the bytes, or an open file (which pins the
/// data even if the object is deleted or replaced meanwhile).
#[derive(Debug)]
pub enum Reader {
    /// Already in memory.
    Bytes(Bytes),
    /// An open file and its length.
    File(std::fs::File, u64),
}

impl Reader {
    /// The bytes in `start..end` (blocking for a file; call it off the async workers).
    /// Whether reading does I/O (and so belongs off the async workers).
    pub fn blocks(&self) -> bool {
        matches!(self, Reader::File(..))
    }

    pub fn read_range(self, start: u64, end: u64) -> io::Result<Bytes> {
        match self {
            Reader::Bytes(b) => Ok(b.slice(start as usize..end as usize)),
            Reader::File(file, _) => {
                use std::os::unix::fs::FileExt;
                let mut buf = vec![0u8; (end - start) as usize];
                file.read_exact_at(&mut buf, start)?;
                Ok(Bytes::from(buf))
            }
        }
    }

    /// The whole blob.
    pub fn read_all(self) -> io::Result<Bytes> {
        let len = match &self {
            Reader::Bytes(b) => b.len() as u64,
            Reader::File(_, len) => *len,
        };
        self.read_range(0, len)
    }
}

/// Why a blob could not be staged.
#[derive(Debug)]
pub enum StageError {
    /// The store's total size limit (`--max-memory-bytes`) would be passed.
    Full {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The disk or the OS failed.
    Io(io::Error),
}

impl From<io::Error> for StageError {
    fn from(e: io::Error) -> Self {
        StageError::Io(e)
    }
}

/// A blob being written.
pub trait Staging: Send {
    /// Appends bytes.
    fn write(&mut self, chunk: &[u8]) -> Result<(), StageError>;
    /// Makes the blob whole (and, for the directory store, durable).
    fn finish(self: Box<Self>) -> Result<Blob, StageError>;
    /// Whether `finish` does I/O (and so belongs off the async workers).
    fn blocks(&self) -> bool {
        true
    }
}

/// Where object bytes live.
pub trait Store: Send + Sync + Debug {
    /// Starts a new blob.
    fn stage(&self) -> Result<Box<dyn Staging>, StageError>;
    /// Opens a blob for reading; cheap, so callers may hold the state lock.
    fn open(&self, blob: &Blob) -> io::Result<Reader>;
    /// Forgets a blob that nothing refers to any more.
    fn remove(&self, blob: &Blob);
    /// Bytes held now, for the memory limit.
    fn used(&self) -> u64;
}

/// The store a server runs with.
pub type SharedStore = Arc<dyn Store>;
