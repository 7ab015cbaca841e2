//! `--state-file`: the state kept across restarts, written atomically (temp
//! file, fsync, rename, fsync of the directory) before a write is acknowledged.
//! The file is a fixture (see [`crate::fixture`]) and never holds a secret.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

/// A state file and the generation last written to it.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    // Serialises writers and remembers the newest generation on disk, so an
    // older snapshot that lost a race never overwrites a newer one.
    written: Mutex<u64>,
}

impl StateFile {
    /// A state file at `path`; nothing is read or written yet.
    pub fn new(path: PathBuf) -> Self {
        StateFile {
            path,
            written: Mutex::new(0),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's bytes, or `None` if it does not exist.
    pub fn read(&self) -> std::io::Result<Option<Vec<u8>>> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes snapshot `generation` unless a newer one is already on disk.
    /// Blocking; call it off the async runtime's worker threads.
    pub fn write(&self, generation: u64, bytes: &[u8]) -> std::io::Result<()> {
        let mut written = self.written.lock();
        if *written >= generation {
            return Ok(());
        }
        let tmp = self
            .path
            .with_extension(format!("tmp-{}", std::process::id()));
        {
            let mut file = File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
        *written = generation;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_generations_win() {
        let dir = std::env::temp_dir().join(format!("archil-mock-persist-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = StateFile::new(dir.join("state.json"));
        assert_eq!(file.read().unwrap(), None);
        file.write(2, b"two").unwrap();
        file.write(1, b"one").unwrap();
        assert_eq!(file.read().unwrap().as_deref(), Some(&b"two"[..]));
        fs::remove_dir_all(&dir).unwrap();
    }
}
