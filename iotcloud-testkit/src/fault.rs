//! A transport that injects faults into another: reads of a few bytes at a time, partial
//! writes, stalls, a reset after a number of bytes, bytes from a broken peer, refused
//! connections. The faults live behind a shared handle, so a test can change them while
//! the device owns the transport.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use iotcloud_core::transport::{Endpoint, Transport};

/// What to break. Every field is off by default.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Hand out at most this many bytes per read (1: one byte per read).
    pub max_read: Option<usize>,
    /// Accept at most this many bytes per write.
    pub max_write: Option<usize>,
    /// Sleep this long before every `n`-th read: `(n, pause)`.
    pub stall_every: Option<(u32, Duration)>,
    /// Fail with a connection reset once this many bytes have gone either way on the
    /// current connection; re-armed by every connect.
    pub reset_after: Option<u64>,
    /// Return these bytes from the next read instead of what the peer sent.
    pub garbage: Vec<u8>,
    /// Refuse this many of the next connects.
    pub refuse_connects: u32,
}

/// What happened, for the assertions.
#[derive(Debug, Default, Clone, Copy)]
pub struct FaultStats {
    /// Connects that went through.
    pub connects: u32,
    /// Resets injected.
    pub resets: u32,
    /// Reads served.
    pub reads: u64,
    /// Writes served.
    pub writes: u64,
}

#[derive(Debug, Default)]
struct Shared {
    faults: Faults,
    stats: FaultStats,
    /// Bytes on the current connection.
    moved: u64,
    /// The current connection was reset: every operation fails until the next connect.
    broken: bool,
}

/// The handle a test keeps.
#[derive(Debug, Clone, Default)]
pub struct FaultControl(Arc<Mutex<Shared>>);

impl FaultControl {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the faults.
    pub fn set(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.lock().faults);
    }

    /// What happened so far.
    pub fn stats(&self) -> FaultStats {
        self.lock().stats
    }
}

/// The error of a [`FaultTransport`]: the inner transport's, or an injected one.
#[derive(Debug)]
pub enum FaultError<E> {
    /// From the wrapped transport.
    Inner(E),
    /// Injected: the connection was reset.
    Reset,
    /// Injected: the connection was refused.
    Refused,
}

impl<E: core::fmt::Display> core::fmt::Display for FaultError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FaultError::Inner(e) => e.fmt(f),
            FaultError::Reset => f.write_str("connection reset (injected)"),
            FaultError::Refused => f.write_str("connection refused (injected)"),
        }
    }
}

impl<E: embedded_io::Error> embedded_io::Error for FaultError<E> {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            FaultError::Inner(e) => e.kind(),
            FaultError::Reset => embedded_io::ErrorKind::ConnectionReset,
            FaultError::Refused => embedded_io::ErrorKind::ConnectionRefused,
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for FaultError<E> {}

/// `T` with [`Faults`] injected.
pub struct FaultTransport<T> {
    inner: T,
    control: FaultControl,
}

impl<T> FaultTransport<T> {
    /// Wraps `inner`; the returned handle changes the faults.
    pub fn new(inner: T) -> (Self, FaultControl) {
        let control = FaultControl::default();
        (
            FaultTransport {
                inner,
                control: control.clone(),
            },
            control,
        )
    }

    /// Counts `n` bytes on the connection; `Err` if that reaches the reset point.
    fn account<E>(&self, n: usize) -> Result<(), FaultError<E>> {
        let mut s = self.control.lock();
        s.moved += n as u64;
        if let Some(limit) = s.faults.reset_after
            && s.moved >= limit
        {
            s.broken = true;
            s.stats.resets += 1;
            return Err(FaultError::Reset);
        }
        Ok(())
    }

    fn check<E>(&self) -> Result<(), FaultError<E>> {
        if self.control.lock().broken {
            Err(FaultError::Reset)
        } else {
            Ok(())
        }
    }
}

impl<T: Transport> embedded_io::ErrorType for FaultTransport<T> {
    type Error = FaultError<T::Error>;
}

impl<T: Transport> embedded_io_async::Read for FaultTransport<T> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.check()?;
        let (limit, stall, garbage) = {
            let mut s = self.control.lock();
            s.stats.reads += 1;
            let stall = s
                .faults
                .stall_every
                .filter(|(n, _)| *n > 0 && s.stats.reads.is_multiple_of(u64::from(*n)))
                .map(|(_, d)| d);
            let take = buf.len().min(s.faults.garbage.len());
            let garbage: Vec<u8> = s.faults.garbage.drain(..take).collect();
            (s.faults.max_read, stall, garbage)
        };
        if let Some(pause) = stall {
            tokio::time::sleep(pause).await;
        }
        if !garbage.is_empty() {
            buf[..garbage.len()].copy_from_slice(&garbage);
            return Ok(garbage.len());
        }
        let want = limit.map_or(buf.len(), |l| l.max(1)).min(buf.len());
        let n = self
            .inner
            .read(&mut buf[..want])
            .await
            .map_err(FaultError::Inner)?;
        self.account(n)?;
        Ok(n)
    }
}

impl<T: Transport> embedded_io_async::Write for FaultTransport<T> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.check()?;
        let limit = {
            let mut s = self.control.lock();
            s.stats.writes += 1;
            s.faults.max_write
        };
        let want = limit.map_or(buf.len(), |l| l.max(1)).min(buf.len());
        let n = self
            .inner
            .write(&buf[..want])
            .await
            .map_err(FaultError::Inner)?;
        self.account(n)?;
        Ok(n)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.check()?;
        self.inner.flush().await.map_err(FaultError::Inner)
    }
}

impl<T: Transport> Transport for FaultTransport<T> {
    async fn connect(&mut self, endpoint: &Endpoint<'_>) -> Result<(), Self::Error> {
        {
            let mut s = self.control.lock();
            if s.faults.refuse_connects > 0 {
                s.faults.refuse_connects -= 1;
                return Err(FaultError::Refused);
            }
        }
        self.inner
            .connect(endpoint)
            .await
            .map_err(FaultError::Inner)?;
        let mut s = self.control.lock();
        s.moved = 0;
        s.broken = false;
        s.stats.connects += 1;
        Ok(())
    }

    async fn close(&mut self) {
        self.inner.close().await;
    }
    fn supports_psk(&self) -> bool {
        self.inner.supports_psk()
    }
}
