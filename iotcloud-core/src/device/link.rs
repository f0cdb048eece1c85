//! The link: the receive buffer cut into frames, the transmit buffer collecting what goes
//! out, and the moves of bytes between them and the transport.

use super::event::DisconnectReason;
use crate::clock::Clock;
use crate::error::Error;
use crate::mqtt::{DecodeError, FrameStatus, frame_status};
use crate::transport::Transport;

/// What a read brought.
pub(super) enum Read<E> {
    /// Bytes arrived.
    Bytes,
    /// The peer closed the stream.
    Closed,
    /// The transport failed.
    Failed(E),
    /// The deadline came first.
    Deadline,
}

/// A complete frame at the start of the receive buffer, or the lack of one.
pub(super) enum Framed {
    /// A frame of this many bytes (header included) is complete.
    Complete(usize),
    /// A frame of `total` bytes, larger than the buffer, whose header is `header_len` bytes.
    Oversized { header_len: usize, total: usize },
    /// More bytes are needed.
    Incomplete,
}

/// The receive side: bytes read from the transport, cut into frames.
pub(super) struct Inbox<'b> {
    rx: &'b mut [u8],
    /// Valid bytes at the start of `rx`.
    rx_len: usize,
    /// Bytes at the start of `rx` that belong to the event returned last; dropped on the
    /// next call.
    consume: usize,
    /// Bytes of an oversized incoming packet still to skip.
    discard: usize,
}

impl<'b> Inbox<'b> {
    pub fn new(rx: &'b mut [u8]) -> Self {
        Inbox {
            rx,
            rx_len: 0,
            consume: 0,
            discard: 0,
        }
    }

    /// Forgets everything of the previous connection.
    pub fn reset(&mut self) {
        self.rx_len = 0;
        self.consume = 0;
        self.discard = 0;
    }

    /// The whole receive buffer as work memory (signing, registration); only while
    /// nothing received is kept.
    pub fn all(&mut self) -> &mut [u8] {
        self.rx
    }

    // `rx_len <= rx.len()` always holds: the slices below are taken with `get`, whose
    // empty default is never used, instead of indexing with a panic path.

    /// The received bytes.
    pub fn received(&self) -> &[u8] {
        self.rx.get(..self.rx_len).unwrap_or_default()
    }

    /// The first `len` received bytes (a frame [`Inbox::frame`] found complete): all of
    /// them if fewer were received, which cannot happen.
    pub fn head(&self, len: usize) -> &[u8] {
        let received = self.received();
        received.get(..len).unwrap_or(received)
    }

    /// The received bytes from `from` on, if there are any.
    pub fn after(&self, from: usize) -> &[u8] {
        self.received().get(from..).unwrap_or_default()
    }

    /// The part of the receive buffer not holding received bytes.
    pub fn free(&mut self) -> &mut [u8] {
        self.rx.get_mut(self.rx_len..).unwrap_or_default()
    }

    pub fn capacity(&self) -> usize {
        self.rx.len()
    }

    /// Marks the first `len` received bytes as the event being handed out: they are
    /// dropped on the next call.
    pub fn hand_out(&mut self, len: usize) {
        self.consume = len;
    }

    /// Drops the frame behind the event returned last.
    pub fn consume(&mut self) {
        let n = core::mem::take(&mut self.consume);
        self.drop_front(n);
    }

    /// Removes `n` bytes from the front of the receive buffer.
    pub fn drop_front(&mut self, n: usize) {
        let n = n.min(self.rx_len);
        crate::bytes::shift_down(self.rx, n..self.rx_len, 0);
        self.rx_len -= n;
    }

    /// Skips what is left of an oversized packet; whether more remains to be skipped.
    pub fn skip_discarded(&mut self) -> bool {
        if self.discard == 0 {
            return false;
        }
        let n = self.discard.min(self.rx_len);
        self.drop_front(n);
        self.discard -= n;
        self.discard > 0
    }

    /// Starts skipping a packet of `total` bytes of which the buffer holds the beginning.
    pub fn discard_packet(&mut self, total: usize) {
        self.discard = total - self.rx_len;
        self.rx_len = 0;
    }

    /// Whether a complete frame is at the start of the receive buffer.
    pub fn frame(&self) -> Result<Framed, DecodeError> {
        self.frame_at(0)
    }

    /// Whether another complete frame follows the first `offset` bytes.
    pub fn frame_at(&self, offset: usize) -> Result<Framed, DecodeError> {
        let rest = self.received().get(offset..).unwrap_or_default();
        match frame_status(rest)? {
            FrameStatus::Header {
                header_len,
                body_len,
            } => {
                let total = header_len + body_len;
                Ok(if total > self.rx.len() {
                    Framed::Oversized { header_len, total }
                } else if total <= rest.len() {
                    Framed::Complete(total)
                } else {
                    Framed::Incomplete
                })
            }
            FrameStatus::NeedHeader => Ok(Framed::Incomplete),
        }
    }

    /// Reads more bytes, until `deadline` (if any).
    pub async fn read<T: Transport, C: Clock>(
        &mut self,
        transport: &mut T,
        clock: &C,
        deadline: Option<u64>,
    ) -> Read<T::Error> {
        let read = transport.read(self.free());
        let outcome = match deadline {
            Some(at) => within!(clock, at, read),
            None => Some(read.await),
        };
        match outcome {
            Some(Ok(0)) => Read::Closed,
            Some(Ok(n)) => {
                self.rx_len += n;
                Read::Bytes
            }
            Some(Err(e)) => Read::Failed(e),
            None => Read::Deadline,
        }
    }
}

/// The transmit side: packets collected to be written together.
///
/// Writing out is resumable: the bytes the transport accepted are counted as each `write`
/// returns, so a write-out whose future is dropped between (or during, the transport's
/// `write` being cancel-safe) those calls goes on from where it stopped the next time. Only
/// a frame written from memory other than the buffer (a payload or a stored message larger
/// than it) cannot be resumed: dropping the future then leaves the stream unusable, which
/// [`Outbox::is_dirty`] reports.
pub(super) struct Outbox<'b> {
    tx: &'b mut [u8],
    /// Bytes at the start of `tx` waiting to be written.
    tx_len: usize,
    /// Of those, bytes the transport already accepted.
    sent: usize,
    /// A write from outside the buffer started and did not finish: the stream may hold half
    /// a packet.
    dirty: bool,
    /// Everything was written to the transport, and its flush has not completed yet.
    unflushed: bool,
}

impl<'b> Outbox<'b> {
    pub fn new(tx: &'b mut [u8]) -> Self {
        Outbox {
            tx,
            tx_len: 0,
            sent: 0,
            dirty: false,
            unflushed: false,
        }
    }

    /// Forgets what waited: the connection it was for is gone.
    pub fn reset(&mut self) {
        self.tx_len = 0;
        self.sent = 0;
        self.dirty = false;
        self.unflushed = false;
    }

    /// Whether a write was dropped half-way.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Bytes waiting in the transmit buffer.
    pub fn queued(&self) -> usize {
        self.tx_len
    }

    /// The free part of the transmit buffer, where the next packet is written.
    pub fn free(&mut self) -> &mut [u8] {
        // `tx_len <= tx.len()` always holds; `get` spares the panic path.
        self.tx.get_mut(self.tx_len..).unwrap_or_default()
    }

    /// The whole transmit buffer as work memory; only while nothing waits in it.
    pub fn all(&mut self) -> &mut [u8] {
        self.tx_len = 0;
        self.sent = 0;
        self.tx
    }

    /// The next `n` bytes of the free part hold a packet to send. Not inlined: called
    /// after every packet the device words.
    #[inline(never)]
    pub fn commit(&mut self, n: usize) {
        self.tx_len = (self.tx_len + n).min(self.tx.len());
    }

    /// Queues `frame` (kept elsewhere, in session memory) behind what waits, if it fits;
    /// whether it did.
    pub fn queue_copy(&mut self, frame: &[u8]) -> bool {
        match self.free().get_mut(..frame.len()) {
            Some(dst) => {
                dst.copy_from_slice(frame);
                self.tx_len += frame.len();
                true
            }
            None => false,
        }
    }

    /// Writes what waits in the transmit buffer, then `extra` (a payload or a frame too
    /// large for the buffer), and flushes. On failure what waited is gone: the connection is
    /// unusable anyway.
    pub async fn write_out<T: Transport>(
        &mut self,
        transport: &mut T,
        extra: &[u8],
    ) -> Result<(), WriteFailed<T::Error>> {
        if self.tx_len == 0 && extra.is_empty() && !self.unflushed {
            return Ok(());
        }
        // One loop, one `write` for both: the buffer's bytes first, then `extra`'s.
        let mut rest = extra;
        loop {
            let from_buffer = self.sent < self.tx_len;
            let chunk = if from_buffer {
                // In range: `sent < tx_len <= tx.len()`.
                self.tx.get(self.sent..self.tx_len).unwrap_or_default()
            } else if !rest.is_empty() {
                self.dirty = true;
                rest
            } else {
                break;
            };
            // `Ok(0)` for a non-empty buffer breaks the `embedded-io` contract and is taken
            // as the end of the stream.
            let n = match transport.write(chunk).await {
                Ok(0) => return Err(WriteFailed::Closed),
                Ok(n) => n,
                Err(e) => return Err(WriteFailed::Transport(e)),
            };
            if from_buffer {
                self.sent += n;
            } else {
                rest = &rest[n..];
            }
        }
        if !extra.is_empty() {
            self.dirty = false;
        }
        // Everything is the transport's now: a dropped flush is simply asked again.
        self.tx_len = 0;
        self.sent = 0;
        self.unflushed = true;
        transport.flush().await.map_err(WriteFailed::Transport)?;
        self.unflushed = false;
        Ok(())
    }

    /// Whether anything waits to be written or flushed.
    pub fn is_pending(&self) -> bool {
        self.tx_len > 0 || self.unflushed
    }

    /// Whether a packet of `n` bytes would fit the whole buffer but not its free part: then
    /// what waits should be written out first.
    pub fn must_write_for(&self, n: usize) -> bool {
        self.tx_len > 0 && n <= self.tx.len() && n > self.tx.len() - self.tx_len
    }
}

/// Why writing out failed.
#[derive(Debug)]
pub(super) enum WriteFailed<E> {
    /// The transport failed.
    Transport(E),
    /// The transport accepted nothing of a write (`Ok(0)`): it cannot take more.
    Closed,
}

impl<E: embedded_io::Error> WriteFailed<E> {
    /// Why the connection ends because of it.
    pub fn reason(&self) -> DisconnectReason {
        match self {
            WriteFailed::Transport(e) => DisconnectReason::Transport(e.kind()),
            WriteFailed::Closed => DisconnectReason::PeerClosed,
        }
    }

    /// The error a caller gets.
    pub fn into_error(self) -> Error<E> {
        match self {
            WriteFailed::Transport(e) => Error::Transport(e),
            WriteFailed::Closed => Error::PeerClosed,
        }
    }
}
