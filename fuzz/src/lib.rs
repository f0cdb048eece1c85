//! What the fuzz targets share: a reader for their input layout, and in-memory stand-ins
//! for the network, the clock, the store and the firmware sink, so that the SDK's parsers
//! that sit behind I/O run exactly as on a device.
//!
//! Input layout of the targets that talk to a peer:
//!
//! ```text
//! flags  n  fragment sizes (n % 8 bytes)  section 0xFF section 0xFF section …
//! ```
//!
//! Each section is what the peer sends on one connection, in order. A fragment size `k`
//! makes a read return at most `k` bytes (0: as many as fit); the sizes repeat.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::cell::Cell;
use std::collections::HashMap;

use iotcloud_core::clock::Clock;
use iotcloud_core::kv::{KvStore, StoreError};
use iotcloud_core::ota::FirmwareSink;
use iotcloud_core::transport::{Endpoint, Transport};

/// Separates the sections of an input.
pub const SEPARATOR: u8 = 0xFF;

/// An input split into its flags, its read fragment sizes and its sections.
#[derive(Debug)]
pub struct Layout<'a> {
    /// The first byte (0 for an empty input).
    pub flags: u8,
    /// Read sizes, repeated.
    pub fragments: &'a [u8],
    /// What the peer sends, one section per connection.
    pub sections: Vec<&'a [u8]>,
}

impl<'a> Layout<'a> {
    /// Reads the layout of `data`.
    pub fn read(data: &'a [u8]) -> Self {
        let flags = data.first().copied().unwrap_or(0);
        let n = usize::from(data.get(1).copied().unwrap_or(0) % 8);
        let rest = data.get(2..).unwrap_or(&[]);
        let (fragments, rest) = rest.split_at(n.min(rest.len()));
        Layout {
            flags,
            fragments,
            sections: rest.split(|&b| b == SEPARATOR).collect(),
        }
    }
}

/// Runs a future to completion by polling it; `None` if it stops making progress (no
/// stand-in here ever waits, so that would be a hang in the SDK).
pub fn block_on<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
    }
    None
}

/// Why the in-memory network failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// No more sections: the peer refuses the connection.
    Refused,
    /// Reading or writing without a connection.
    NotConnected,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

impl core::error::Error for WireError {}

impl embedded_io::Error for WireError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            WireError::Refused => embedded_io::ErrorKind::ConnectionRefused,
            WireError::NotConnected => embedded_io::ErrorKind::NotConnected,
        }
    }
}

/// A peer that answers connection `i` with section `i`, delivered in fragments, and then
/// closes. It accepts everything written. Every call completes at once.
#[derive(Debug)]
pub struct Wire<'a> {
    sections: Vec<&'a [u8]>,
    fragments: &'a [u8],
    next_section: usize,
    next_fragment: usize,
    current: Option<&'a [u8]>,
    /// Connections made.
    pub connects: usize,
    /// Bytes written, over all connections.
    pub written: usize,
}

impl<'a> Wire<'a> {
    /// A peer serving `sections` in reads of `fragments` sizes (all at once when empty).
    pub fn new(sections: &[&'a [u8]], fragments: &'a [u8]) -> Self {
        Wire {
            sections: sections.to_vec(),
            fragments,
            next_section: 0,
            next_fragment: 0,
            current: None,
            connects: 0,
            written: 0,
        }
    }

    fn fragment(&mut self) -> usize {
        if self.fragments.is_empty() {
            return usize::MAX;
        }
        let k = self.fragments[self.next_fragment % self.fragments.len()];
        self.next_fragment += 1;
        if k == 0 { usize::MAX } else { usize::from(k) }
    }
}

impl embedded_io::ErrorType for Wire<'_> {
    type Error = WireError;
}

impl embedded_io_async::Read for Wire<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, WireError> {
        let limit = self.fragment();
        let rest = self.current.as_mut().ok_or(WireError::NotConnected)?;
        let n = rest.len().min(buf.len()).min(limit);
        buf[..n].copy_from_slice(&rest[..n]);
        *rest = &rest[n..];
        Ok(n)
    }
}

impl embedded_io_async::Write for Wire<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, WireError> {
        if self.current.is_none() {
            return Err(WireError::NotConnected);
        }
        self.written += buf.len();
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), WireError> {
        if self.current.is_none() {
            return Err(WireError::NotConnected);
        }
        Ok(())
    }
}

impl Transport for Wire<'_> {
    async fn connect(&mut self, _endpoint: &Endpoint<'_>) -> Result<(), WireError> {
        let section = self
            .sections
            .get(self.next_section)
            .ok_or(WireError::Refused)?;
        self.current = Some(section);
        self.next_section += 1;
        self.connects += 1;
        Ok(())
    }

    async fn close(&mut self) {
        self.current = None;
    }
}

/// Virtual time: sleeping jumps to the deadline once the other branch of a `select` has
/// had its turn.
#[derive(Debug, Default)]
pub struct VirtualClock {
    now: Cell<u64>,
}

impl VirtualClock {
    /// A clock at 0 ms.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }

    fn unix_time_ms(&self) -> Option<u64> {
        Some(1_700_000_000_000 + self.now.get())
    }

    async fn sleep_until(&self, deadline_ms: u64) {
        let mut first = true;
        core::future::poll_fn(|_| {
            if self.now.get() >= deadline_ms {
                return Poll::Ready(());
            }
            if first {
                first = false;
                return Poll::Pending;
            }
            self.now.set(deadline_ms);
            Poll::Ready(())
        })
        .await
    }
}

/// A store in a hash map.
#[derive(Debug, Default)]
pub struct MemStore {
    /// What is stored.
    pub map: HashMap<String, Vec<u8>>,
}

impl KvStore for MemStore {
    async fn get(&mut self, key: &str, buf: &mut [u8]) -> Result<Option<usize>, StoreError> {
        let Some(value) = self.map.get(key) else {
            return Ok(None);
        };
        let capacity = buf.len();
        let out = buf
            .get_mut(..value.len())
            .ok_or(StoreError::ValueTooLarge {
                len: value.len(),
                capacity,
            })?;
        out.copy_from_slice(value);
        Ok(Some(value.len()))
    }

    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.map.insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    async fn remove(&mut self, key: &str) -> Result<(), StoreError> {
        self.map.remove(key);
        Ok(())
    }
}

/// A firmware sink in memory that checks how the download uses it.
#[derive(Debug, Default)]
pub struct MemSink {
    /// The image written so far.
    pub image: Vec<u8>,
    /// Whether `begin` was called and neither `finish` nor `abort` since.
    pub open: bool,
    /// The length given to `finish`, once finished.
    pub finished: Option<u64>,
    /// Whether the download aborted the image (which discards it).
    pub aborted: bool,
}

/// A sink used against its contract.
#[derive(Debug)]
pub struct SinkMisuse(pub &'static str);

impl FirmwareSink for MemSink {
    type Error = SinkMisuse;

    async fn begin(&mut self, _size: Option<u64>, resume_at: u64) -> Result<u64, SinkMisuse> {
        let kept = resume_at.min(self.image.len() as u64);
        self.image.truncate(kept as usize);
        self.open = true;
        self.finished = None;
        Ok(kept)
    }

    async fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), SinkMisuse> {
        if !self.open {
            return Err(SinkMisuse("write before begin"));
        }
        // Pieces come in order, each where the previous one ended.
        if offset != self.image.len() as u64 {
            return Err(SinkMisuse("write not at the end of the image"));
        }
        self.image.extend_from_slice(data);
        Ok(())
    }

    async fn finish(&mut self, len: u64) -> Result<(), SinkMisuse> {
        if !self.open || len != self.image.len() as u64 {
            return Err(SinkMisuse("finish without begin or at another length"));
        }
        self.open = false;
        self.finished = Some(len);
        Ok(())
    }

    async fn abort(&mut self) {
        self.image.clear();
        self.open = false;
        self.aborted = true;
    }
}
