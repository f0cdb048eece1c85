//! A firmware download server on loopback: serves images with `Range` support, and
//! misbehaves on request the ways real download servers and weak links do.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::acceptor::Acceptor;
use crate::http::{ReadError, Recorded, Response, read_request};

/// What a cloud's HTTP OTA API, served beside the images, made of a request.
pub(crate) enum ApiAnswer {
    /// Its answer.
    Reply(Response),
    /// Serve the image at this path (with `Range` and the queued faults).
    Image(String),
}

/// A cloud's HTTP OTA API: `None` for requests that are not its own.
pub(crate) type ApiHook = Arc<dyn Fn(&Recorded) -> Option<ApiAnswer> + Send + Sync>;

/// How one download request is mishandled (faults are used up one request each, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadFault {
    /// Sends the head and this many body bytes, then resets the connection.
    DropAfter(usize),
    /// Answers `200` with the whole image, whatever `Range` asked for.
    IgnoreRange,
    /// Answers with this status and no image.
    Status(u16),
    /// Answers `302` to the same URL (followed forever, it is a loop).
    RedirectToSelf,
    /// Serves the image with one byte flipped at this offset.
    Corrupt(usize),
    /// Announces this `Content-Length` instead of the image's.
    WrongLength(u64),
    /// Sends the head and stops sending, keeping the connection open.
    Stall,
    /// Sends the body one byte at a time, this many milliseconds apart.
    Trickle(u64),
    /// Announces no length: the body ends when the connection does.
    NoLength,
}

struct Image {
    bytes: Vec<u8>,
    token: Option<String>,
}

#[derive(Default)]
struct State {
    api: Option<ApiHook>,
    images: HashMap<String, Image>,
    faults: VecDeque<DownloadFault>,
    requests: Vec<Recorded>,
    /// Body bytes sent, all requests together.
    sent: u64,
}

struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running firmware server on `127.0.0.1`, stopped when dropped.
pub struct FirmwareServer {
    acceptor: Acceptor,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FirmwareServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirmwareServer")
            .field("addr", &self.acceptor.addr())
            .finish_non_exhaustive()
    }
}

impl FirmwareServer {
    /// Binds `127.0.0.1:0` and starts serving (no images yet).
    ///
    /// # Errors
    /// The I/O error of binding the listener or spawning its thread.
    pub fn start() -> io::Result<FirmwareServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
        });
        let acceptor = Acceptor::start(
            listener,
            format!("firmware-server:{port}"),
            "firmware-conn".into(),
            {
                let shared = Arc::clone(&shared);
                move |stream| serve(stream, &shared)
            },
        )?;
        Ok(FirmwareServer { acceptor, shared })
    }

    /// Serves `bytes` at `path` (e.g. `/fw/2.0.bin`) and returns its URL.
    pub fn add(&self, path: &str, bytes: Vec<u8>) -> String {
        self.add_image(path, bytes, None)
    }

    /// Serves `bytes` at `path` only to requests with `Authorization: Bearer {token}`.
    pub fn add_with_token(&self, path: &str, bytes: Vec<u8>, token: &str) -> String {
        self.add_image(path, bytes, Some(token.to_owned()))
    }

    fn add_image(&self, path: &str, bytes: Vec<u8>, token: Option<String>) -> String {
        self.shared
            .lock()
            .images
            .insert(path.to_owned(), Image { bytes, token });
        format!("http://{}{path}", self.acceptor.addr())
    }

    /// Serves a cloud's HTTP OTA API beside the images (OneNET's `fuse-ota`).
    pub(crate) fn set_api(&self, api: ApiHook) {
        self.shared.lock().api = Some(api);
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.acceptor.addr()
    }

    /// Mishandles the next request with `fault`; faults queue up in order.
    pub fn fail_next(&self, fault: DownloadFault) {
        self.shared.lock().faults.push_back(fault);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().requests.clone()
    }

    /// Body bytes sent so far, over all requests.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.lock().sent
    }
}

/// `bytes=N-` or `bytes=N-M` (or OneNET's `N-`): the first offset (the end is ignored;
/// the rest is sent).
fn range_start(req: &Recorded) -> Option<usize> {
    let spec = req.header("range")?.trim();
    let spec = spec.strip_prefix("bytes=").unwrap_or(spec);
    let (first, _) = spec.split_once('-')?;
    first.trim().parse().ok()
}

fn head(status: u16, reason: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let req = match read_request(&mut stream) {
        Ok(req) => req,
        Err(ReadError::Gone) => return,
        Err(ReadError::Bad(status, _)) => {
            let _ = stream.write_all(&head(status, "Bad Request", &[]));
            return;
        }
    };
    let api = shared.lock().api.clone();
    let path = match api.and_then(|api| api(&req)) {
        Some(ApiAnswer::Reply(answer)) => {
            shared.lock().requests.push(req);
            let _ = answer.write_to(&mut stream);
            let _ = stream.shutdown(Shutdown::Write);
            return;
        }
        Some(ApiAnswer::Image(path)) => path,
        None => req.path_only().to_owned(),
    };
    let (fault, image) = {
        let mut state = shared.lock();
        state.requests.push(req.clone());
        let fault = state.faults.pop_front();
        let image = state
            .images
            .get(&path)
            .map(|i| (i.bytes.clone(), i.token.clone()));
        (fault, image)
    };
    let text = |status: u16, reason: &str| head(status, reason, &[("Content-Length", "0".into())]);
    let Some((mut bytes, token)) = image else {
        let _ = stream.write_all(&text(404, "Not Found"));
        return;
    };
    if let Some(token) = token {
        let expected = format!("Bearer {token}");
        if req.header("authorization") != Some(expected.as_str()) {
            let _ = stream.write_all(&text(401, "Unauthorized"));
            return;
        }
    }
    let mut start = range_start(&req).unwrap_or(0);
    let mut drop_after = None;
    let mut announced = None;
    let mut trickle = None;
    let mut no_length = false;
    match fault {
        Some(DownloadFault::Status(s)) => {
            let _ = stream.write_all(&text(s, "Fault"));
            return;
        }
        Some(DownloadFault::RedirectToSelf) => {
            let location = req.path.clone();
            let _ = stream.write_all(&head(
                302,
                "Found",
                &[("Location", location), ("Content-Length", "0".into())],
            ));
            return;
        }
        Some(DownloadFault::IgnoreRange) => start = 0,
        Some(DownloadFault::Corrupt(at)) => {
            if let Some(b) = bytes.get_mut(at) {
                *b ^= 0x5a;
            }
        }
        Some(DownloadFault::DropAfter(n)) => drop_after = Some(n),
        Some(DownloadFault::WrongLength(n)) => announced = Some(n),
        Some(DownloadFault::Trickle(ms)) => trickle = Some(Duration::from_millis(ms)),
        Some(DownloadFault::NoLength) => no_length = true,
        Some(DownloadFault::Stall) => {
            let _ = stream.write_all(&head(
                200,
                "OK",
                &[("Content-Length", bytes.len().to_string())],
            ));
            std::thread::sleep(Duration::from_secs(10));
            return;
        }
        None => {}
    }
    let ranged = start > 0 && range_start(&req).is_some();
    if start > bytes.len() {
        let _ = stream.write_all(&text(416, "Range Not Satisfiable"));
        return;
    }
    let body = &bytes[start..];
    let length = announced.unwrap_or(body.len() as u64);
    let mut headers = Vec::new();
    if !no_length {
        headers.push(("Content-Length", length.to_string()));
    }
    if ranged {
        headers.push((
            "Content-Range",
            format!(
                "bytes {start}-{}/{}",
                bytes.len().saturating_sub(1),
                bytes.len()
            ),
        ));
    }
    let (status, reason) = if ranged {
        (206, "Partial Content")
    } else {
        (200, "OK")
    };
    if stream.write_all(&head(status, reason, &headers)).is_err() {
        return;
    }
    let send = drop_after.map_or(body.len(), |n| n.min(body.len()));
    // In pieces, as a network delivers them (one byte at a time when trickling).
    let piece_len = if trickle.is_some() { 1 } else { 1400 };
    for piece in body[..send].chunks(piece_len) {
        if let Some(gap) = trickle {
            std::thread::sleep(gap);
        }
        if stream.write_all(piece).is_err() {
            return;
        }
        shared.lock().sent += piece.len() as u64;
    }
    if drop_after.is_some() {
        // The connection ends inside the body: the client must see it cut short.
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}
