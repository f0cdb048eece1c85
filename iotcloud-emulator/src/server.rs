//! The loopback server: an accept thread, a thread per connection, one request each.

use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::acceptor::Acceptor;
use crate::accounts::Accounts;
use crate::fault::Fault;
use crate::http::{ReadError, Recorded, Response, read_request};
use crate::state::State;
use crate::{aliyun, huawei, onenet, tencent};

/// How long a connection may take to send its request or to accept the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    // A handler that panicked cannot leave the state half-written in a way that matters to
    // a test double, so a poisoned lock is simply taken over.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running cloud emulator on `127.0.0.1`, stopped when dropped.
pub struct Emulator {
    acceptor: Acceptor,
    shared: Arc<Shared>,
}

impl Emulator {
    /// Binds `127.0.0.1:0` and starts serving `accounts`.
    ///
    /// # Panics
    /// If the loopback listener cannot be bound; use [`Emulator::try_start`] to handle that.
    #[allow(clippy::expect_used)]
    pub fn start(accounts: Accounts) -> Emulator {
        Self::try_start(accounts).expect("bind a loopback listener for the cloud emulator")
    }

    /// Binds `127.0.0.1:0` and starts serving `accounts`.
    ///
    /// # Errors
    /// The I/O error of binding the listener or spawning the accept thread.
    pub fn try_start(accounts: Accounts) -> io::Result<Emulator> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(accounts)),
        });
        let acceptor = Acceptor::start(
            listener,
            format!("iotcloud-emulator:{port}"),
            "iotcloud-emulator-conn".into(),
            {
                let shared = Arc::clone(&shared);
                move |stream| serve(stream, &shared)
            },
        )?;
        Ok(Emulator { acceptor, shared })
    }

    /// The state shared with the MQTT side of the emulator.
    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// The port the emulator listens on.
    pub fn port(&self) -> u16 {
        self.acceptor.addr().port()
    }

    /// The listening address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.acceptor.addr()
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.acceptor.addr())
    }

    /// Every request received so far, oldest first (malformed ones excluded).
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().recorded.clone()
    }

    /// A snapshot of the clouds' state: devices created, registrations counted, and so on.
    pub fn accounts(&self) -> Accounts {
        self.shared.lock().accounts.clone()
    }

    /// Runs `change` on the live state, e.g. to activate a device or move the clock.
    pub fn with_accounts<R>(&self, change: impl FnOnce(&mut Accounts) -> R) -> R {
        change(&mut self.shared.lock().accounts)
    }

    /// Sets the server clock to `now` unix seconds (`None`: the system clock).
    pub fn set_now(&self, now: Option<u64>) {
        self.with_accounts(|a| a.now = now);
    }

    /// Answers the next request, whatever its path, with `fault`. Faults queue up in order.
    pub fn fail_next(&self, fault: Fault) {
        self.shared.lock().faults.push_back((None, fault));
    }

    /// Answers the next request whose path starts with `path_prefix` with `fault`.
    pub fn fail_next_on(&self, path_prefix: &str, fault: Fault) {
        self.shared
            .lock()
            .faults
            .push_back((Some(path_prefix.to_owned()), fault));
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.acceptor.addr())
            .finish_non_exhaustive()
    }
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let req = match read_request(&mut stream) {
        Ok(req) => req,
        Err(ReadError::Gone) => return,
        Err(ReadError::Bad(status, why)) => {
            let _ = Response::text(status, why).write_to(&mut stream);
            let _ = stream.shutdown(Shutdown::Write);
            return;
        }
    };
    let (fault, response) = {
        let mut state = shared.lock();
        state.recorded.push(req.clone());
        match state.take_fault(req.path_only()) {
            Some(fault) => (Some(fault), None),
            None => (None, Some(route(&mut state, &req))),
        }
    };
    if let Some(fault) = fault {
        fault.play(&req, &mut stream);
    } else if let Some(response) = response {
        let _ = response.write_to(&mut stream);
        let _ = stream.shutdown(Shutdown::Write);
    }
}

fn route(state: &mut State, req: &Recorded) -> Response {
    let path = req.path_only();
    let segments: Vec<&str> = path.split('/').collect();
    let known = match (path, segments.as_slice()) {
        ("/device/register", _) => Some(tencent::register as fn(&mut State, &Recorded) -> Response),
        ("/register/dev", _) => Some(tencent::register_legacy as _),
        ("/auth/register/device", _) => Some(aliyun::register as _),
        ("/device/create", _) => Some(onenet::create as _),
        ("/v3/auth/tokens", _) => Some(huawei::issue_token as _),
        (_, ["", "v5", "iot", project, "devices"]) if !project.is_empty() => {
            if req.method != "POST" {
                return Response::text(405, "method not allowed");
            }
            return huawei::create_device(state, req, project);
        }
        _ => None,
    };
    match known {
        Some(_) if req.method != "POST" => Response::text(405, "method not allowed"),
        Some(handler) => handler(state, req),
        None => Response::text(404, "no such endpoint in the emulator"),
    }
}
