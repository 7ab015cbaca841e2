//! The default store: blobs are reference-counted [`Bytes`], so a GET clones
//! a pointer and a delete frees the memory once the last reader is done.
//! The total held is counted against `--max-memory-bytes`.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::BytesMut;

use super::{Blob, Reader, StageError, Staging, Store};

/// Blobs in memory, up to a limit.
#[derive(Debug)]
pub struct MemoryStore {
    used: Arc<AtomicU64>,
    limit: u64,
}

impl MemoryStore {
    /// A store holding at most `limit` bytes in all.
    pub fn new(limit: u64) -> Self {
        MemoryStore {
            used: Arc::new(AtomicU64::new(0)),
            limit,
        }
    }
}

struct MemoryStaging {
    buf: BytesMut,
    used: Arc<AtomicU64>,
    limit: u64,
}

impl Staging for MemoryStaging {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StageError> {
        let n = chunk.len() as u64;
        // Reserve before copying, so concurrent uploads cannot together pass
        // the limit; released on drop if the blob is abandoned.
        let before = self.used.fetch_add(n, Ordering::SeqCst);
        if before + n > self.limit {
            self.used.fetch_sub(n, Ordering::SeqCst);
            return Err(StageError::Full { limit: self.limit });
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    fn blocks(&self) -> bool {
        false
    }

    fn finish(mut self: Box<Self>) -> Result<Blob, StageError> {
        let bytes = std::mem::take(&mut self.buf).freeze();
        // From here the blob's bytes are counted until `remove`.
        std::mem::forget(self);
        Ok(Blob::Memory(bytes))
    }
}

impl Drop for MemoryStaging {
    fn drop(&mut self) {
        self.used.fetch_sub(self.buf.len() as u64, Ordering::SeqCst);
    }
}

impl Store for MemoryStore {
    fn stage(&self) -> Result<Box<dyn Staging>, StageError> {
        Ok(Box::new(MemoryStaging {
            buf: BytesMut::new(),
            used: self.used.clone(),
            limit: self.limit,
        }))
    }

    fn open(&self, blob: &Blob) -> io::Result<Reader> {
        match blob {
            Blob::Memory(b) => Ok(Reader::Bytes(b.clone())),
            Blob::File(_) => Err(io::Error::other("a file blob in the memory store")),
        }
    }

    fn remove(&self, blob: &Blob) {
        if let Blob::Memory(b) = blob {
            // Saturating: a fixture's files were never staged, so never counted.
            let n = b.len() as u64;
            let _ = self
                .used
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                    Some(u.saturating_sub(n))
                });
        }
    }

    fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob_of(store: &dyn Store, bytes: &[u8]) -> Result<Blob, StageError> {
        let mut staging = store.stage()?;
        staging.write(bytes)?;
        staging.finish()
    }

    #[test]
    fn the_limit_counts_live_blobs_and_abandoned_ones_are_released() {
        let store = MemoryStore::new(10);
        let a = blob_of(&store, b"12345678").unwrap();
        assert_eq!(store.used(), 8);
        assert!(matches!(
            blob_of(&store, b"123"),
            Err(StageError::Full { limit: 10 })
        ));
        assert_eq!(store.used(), 8, "the refused blob holds nothing");
        {
            let mut s = store.stage().unwrap();
            s.write(b"12").unwrap();
        }
        assert_eq!(store.used(), 8, "an abandoned blob is released");
        store.remove(&a);
        assert_eq!(store.used(), 0);
        let b = bytes::Bytes::from_static(b"x");
        assert_eq!(
            store
                .open(&Blob::Memory(b.clone()))
                .unwrap()
                .read_all()
                .unwrap(),
            b
        );
    }
}
