//! UART0 as the device's byte stream.

use core::future::poll_fn;
use core::task::Poll;

use iotcloud_core::{Endpoint, Transport};

use crate::hal::Uart0;

/// Why the UART transport failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UartError {
    /// Read or write before `connect`, or after `close`.
    NotConnected,
}

impl core::fmt::Display for UartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            UartError::NotConnected => f.write_str("the UART link is closed"),
        }
    }
}

impl core::error::Error for UartError {}

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::NotConnected
    }
}

/// UART0, which QEMU connects to a TCP port: `connect` only enables the UART, since the
/// TCP connection is QEMU's. Reads and writes poll the UART's status bits, so the futures
/// are cancel-safe: a byte leaves the UART only inside a completed `read`.
#[derive(Debug)]
pub struct UartTransport {
    uart: Uart0,
    open: bool,
}

impl UartTransport {
    /// The transport over UART0, closed.
    pub fn new(uart: Uart0) -> Self {
        UartTransport { uart, open: false }
    }
}

impl embedded_io::ErrorType for UartTransport {
    type Error = UartError;
}

impl embedded_io_async::Read for UartTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, UartError> {
        if !self.open {
            return Err(UartError::NotConnected);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let mut n = 0;
            while n < buf.len() {
                match self.uart.try_read() {
                    Some(byte) => {
                        buf[n] = byte;
                        n += 1;
                    }
                    None => break,
                }
            }
            if n > 0 {
                Poll::Ready(Ok(n))
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }
}

impl embedded_io_async::Write for UartTransport {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, UartError> {
        if !self.open {
            return Err(UartError::NotConnected);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            let sent = buf
                .iter()
                .take_while(|&&byte| self.uart.try_write(byte))
                .count();
            if sent > 0 {
                Poll::Ready(Ok(sent))
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }

    async fn flush(&mut self) -> Result<(), UartError> {
        if !self.open {
            return Err(UartError::NotConnected);
        }
        poll_fn(|cx| {
            if self.uart.tx_idle() {
                Poll::Ready(Ok(()))
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await
    }
}

impl Transport for UartTransport {
    async fn connect(&mut self, _endpoint: &Endpoint<'_>) -> Result<(), UartError> {
        self.uart.enable();
        self.open = true;
        Ok(())
    }

    async fn close(&mut self) {
        self.open = false;
        self.uart.disable();
    }
}
