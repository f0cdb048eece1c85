//! [`KvStore`] as one file per key in a directory, written atomically.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use iotcloud_core::kv::{KvStore, StoreError};

/// Longest key accepted, in bytes (the EC618 store's limit, so keys stay portable).
pub const MAX_KEY_LEN: usize = 64;

/// Values under keys, one file each in a directory.
///
/// `set` writes a temporary file, syncs it, renames it over the old one and syncs the
/// directory: after a crash the key holds the old value or the new one, never a mix.
///
/// Values include device secrets, so the store is its owner's alone: the directory is
/// created `0700` and every file `0600`, files another version left readable by others
/// are narrowed when the store opens, and a directory that others can write to is refused.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir`, created (`0700`) if missing.
    ///
    /// An error of kind [`io::ErrorKind::PermissionDenied`] if group or others may write to
    /// the directory: they could replace the credentials the device signs in with.
    pub fn open(dir: impl AsRef<Path>) -> io::Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        let mode = fs::metadata(&dir)?.permissions().mode();
        if mode & 0o022 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "store directory {} is writable by group or others (mode {:o}); \
                     `chmod go-w` it or choose another",
                    dir.display(),
                    mode & 0o777
                ),
            ));
        }
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "kv")
                && entry.metadata()?.permissions().mode() & 0o077 != 0
            {
                fs::set_permissions(&path, Permissions::from_mode(0o600))?;
            }
        }
        Ok(FileStore { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// File name of `key`: letters, digits, `-`, `_` and `.` as they are, anything else as
    /// `%XX`, so any key maps to one file and no key escapes the directory.
    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(StoreError::InvalidKey);
        }
        let mut name = String::with_capacity(key.len() + 4);
        for b in key.bytes() {
            if b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'_')
                || (b == b'.' && !name.is_empty())
            {
                name.push(char::from(b));
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
        name.push_str(".kv");
        Ok(self.dir.join(name))
    }

    fn set_sync(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let tmp = path.with_extension("kv.tmp");
        let write = || -> io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(value)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_error(&e)
        })
    }

    fn get_sync(&self, key: &str, buf: &mut [u8]) -> Result<Option<usize>, StoreError> {
        let path = self.path(key)?;
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&e)),
        };
        let len = f.metadata().map_err(|e| io_error(&e))?.len();
        let len = usize::try_from(len).map_err(|_| StoreError::Corrupt)?;
        if len > buf.len() {
            return Err(StoreError::ValueTooLarge {
                len,
                capacity: buf.len(),
            });
        }
        f.read_exact(&mut buf[..len]).map_err(|e| io_error(&e))?;
        Ok(Some(len))
    }
}

fn io_error(e: &io::Error) -> StoreError {
    if e.raw_os_error() == Some(28) {
        StoreError::Full // ENOSPC
    } else {
        StoreError::Io
    }
}

impl KvStore for FileStore {
    async fn get(&mut self, key: &str, buf: &mut [u8]) -> Result<Option<usize>, StoreError> {
        self.get_sync(key, buf)
    }

    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.set_sync(key, value)
    }

    async fn remove(&mut self, key: &str) -> Result<(), StoreError> {
        match fs::remove_file(self.path(key)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn values_round_trip_are_replaced_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStore::open(dir.path()).unwrap();
        let mut buf = [0u8; 16];
        run(async {
            assert_eq!(s.get("k", &mut buf).await, Ok(None));
            s.set("k", b"first").await.unwrap();
            s.set("k", b"second").await.unwrap();
            assert_eq!(s.get("k", &mut buf).await, Ok(Some(6)));
            assert_eq!(&buf[..6], b"second");
            s.remove("k").await.unwrap();
            s.remove("k").await.unwrap();
            assert_eq!(s.get("k", &mut buf).await, Ok(None));
        });
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_value_larger_than_the_buffer_is_an_error_not_a_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStore::open(dir.path()).unwrap();
        let mut small = [0u8; 4];
        run(async {
            s.set("big", b"0123456789").await.unwrap();
            assert_eq!(
                s.get("big", &mut small).await,
                Err(StoreError::ValueTooLarge {
                    len: 10,
                    capacity: 4
                })
            );
        });
    }

    #[test]
    fn keys_cannot_escape_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStore::open(dir.path().join("inner")).unwrap();
        run(async {
            s.set("../../etc/x", b"v").await.unwrap();
            s.set("a/b c", b"v").await.unwrap();
            assert_eq!(s.set("", b"v").await, Err(StoreError::InvalidKey));
            let long = "k".repeat(MAX_KEY_LEN + 1);
            assert_eq!(s.set(&long, b"v").await, Err(StoreError::InvalidKey));
        });
        let mut names: Vec<String> = fs::read_dir(dir.path().join("inner"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["%2E.%2F..%2Fetc%2Fx.kv", "a%2Fb%20c.kv"]);
    }

    #[test]
    fn the_store_is_its_owners_alone() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("nested").join("store");
        let mut store = FileStore::open(&dir).unwrap();
        run(store.set("secret", b"psk")).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("secret.kv")), 0o600);

        // A value another version left readable is narrowed when the store opens.
        fs::set_permissions(dir.join("secret.kv"), Permissions::from_mode(0o644)).unwrap();
        FileStore::open(&dir).unwrap();
        assert_eq!(mode(&dir.join("secret.kv")), 0o600);

        // A directory others may write to is refused, by name.
        fs::set_permissions(&dir, Permissions::from_mode(0o777)).unwrap();
        let err = FileStore::open(&dir).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            err.to_string().contains("writable by group or others"),
            "{err}"
        );
    }
}
