//! A firmware image written to a file: `{path}.part` while it downloads, renamed to
//! `{path}` once it is whole and verified.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use iotcloud_core::ota::FirmwareSink;

/// A [`FirmwareSink`] over a file. The partial image lives in `{path}.part`, so a crash
/// never leaves something that looks finished, and a restarted download can keep it.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    part: PathBuf,
    file: Option<File>,
    capacity: u64,
}

/// The largest image a [`FileSink`] takes unless told otherwise: 64 MiB.
pub const DEFAULT_IMAGE_LIMIT: u64 = 64 * 1024 * 1024;

impl FileSink {
    /// A sink that will write the image to `path`, refusing images larger than
    /// [`DEFAULT_IMAGE_LIMIT`].
    pub fn new(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        let mut part = path.clone().into_os_string();
        part.push(".part");
        FileSink {
            path,
            part: PathBuf::from(part),
            file: None,
            capacity: DEFAULT_IMAGE_LIMIT,
        }
    }

    /// The same sink with another limit on the image's size ([`FirmwareSink::capacity`]):
    /// a download announced larger is refused before a byte is written.
    pub fn with_capacity(mut self, bytes: u64) -> Self {
        self.capacity = bytes;
        self
    }

    /// Where the finished image goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("write before begin"))
    }
}

impl FirmwareSink for FileSink {
    type Error = io::Error;

    fn capacity(&self) -> Option<u64> {
        Some(self.capacity)
    }

    /// Keeps the first `resume_at` bytes of an existing `.part` file when it has them;
    /// otherwise starts an empty one.
    async fn begin(&mut self, _size: Option<u64>, resume_at: u64) -> io::Result<u64> {
        let existing = fs::metadata(&self.part).map(|m| m.len()).unwrap_or(0);
        let keep = if resume_at > 0 && existing >= resume_at {
            resume_at
        } else {
            0
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.part)?;
        file.set_len(keep)?;
        self.file = Some(file);
        Ok(keep)
    }

    async fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        let file = self.file()?;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(data)
    }

    async fn finish(&mut self, len: u64) -> io::Result<()> {
        let file = self.file()?;
        file.set_len(len)?;
        file.sync_all()?;
        self.file = None;
        fs::rename(&self.part, &self.path)
    }

    async fn abort(&mut self) {
        self.file = None;
        let _ = fs::remove_file(&self.part);
    }
}
