//! The accept thread behind each of the emulator's loopback servers (control and HTTP
//! APIs, MQTT brokers, firmware downloads): one thread per connection, stopped and joined
//! when dropped.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Most connections one listener serves at once. Beyond it a new connection is closed at
/// once: a flood of half-open connections cannot take a thread each without end.
pub const MAX_CONNECTIONS: usize = 256;

/// A listener served by an accept thread.
pub(crate) struct Acceptor {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Acceptor {
    /// Accepts connections on `listener` in a thread named `name`, and runs `serve` for
    /// each in a thread of its own named `conn_name`.
    ///
    /// # Errors
    /// The I/O error of reading the listener's address or spawning the accept thread.
    pub(crate) fn start(
        listener: TcpListener,
        name: String,
        conn_name: String,
        serve: impl Fn(TcpStream) + Send + Sync + 'static,
    ) -> io::Result<Acceptor> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let serve = Arc::new(serve);
        let live = Arc::new(AtomicUsize::new(0));
        let thread = std::thread::Builder::new().name(name).spawn({
            let stop = Arc::clone(&stop);
            move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    if live.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                        live.fetch_sub(1, Ordering::SeqCst);
                        continue;
                    }
                    let serve = Arc::clone(&serve);
                    let done = Counted(Arc::clone(&live));
                    // A connection that cannot get a thread is dropped, which the client
                    // sees as a reset.
                    let _ = std::thread::Builder::new()
                        .name(conn_name.clone())
                        .spawn(move || {
                            let _done = done;
                            serve(stream);
                        });
                }
            }
        })?;
        Ok(Acceptor {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits for the accept thread (not for the connections' threads).
    /// Done on drop; calling it again does nothing.
    pub(crate) fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // accept() blocks; a connection of our own wakes it to see the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let _ = thread.join();
    }
}

/// One live connection, counted until its thread ends (or fails to start).
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop();
    }
}
