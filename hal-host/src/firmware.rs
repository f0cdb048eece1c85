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
}

impl FileSink {
    /// A sink that will write the image to `path`.
    pub fn new(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        let mut part = path.clone().into_os_string();
        part.push(".part");
        FileSink {
            path,
            part: PathBuf::from(part),
            file: None,
        }
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
