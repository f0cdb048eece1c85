//! The client itself: a request out, a response head parsed, the body read in pieces.
//! Crate-private; the fuzz targets reach it through `crate::fuzzing`. Registration uses some
//! of it and OTA downloads the rest, so a build with one of the two leaves parts unused.
#![cfg_attr(not(all(feature = "registration", feature = "ota")), allow(dead_code))]

use core::fmt::Write as _;

use super::chunked::ChunkedDecoder;
use super::{HttpError, Method, Scheme, Url};
use crate::clock::Clock;
use crate::scratch::TextWriter;
use crate::transport::{ClientIdentity, Endpoint, ServerAuth, Tls, Transport};

/// Most response header fields read.
const MAX_HEADERS: usize = 48;

/// Longest `Location` followed, in bytes.
pub const MAX_LOCATION_LEN: usize = 512;

/// What to do with a 301, 302, 303, 307 or 308 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redirects {
    /// Return [`HttpError::RedirectRefused`] (default: a registration endpoint that redirects
    /// is a misconfiguration).
    #[default]
    Refuse,
    /// Follow up to this many redirects for GET and HEAD (never from HTTPS to HTTP).
    Follow(u8),
}

/// One request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Method.
    pub method: Method,
    /// Where.
    pub url: Url<'a>,
    /// Extra header fields. `Host`, `Connection: close` and, with a body,
    /// `Content-Length` are added.
    pub headers: &'a [(&'a str, &'a str)],
    /// Body (empty for none).
    pub body: &'a [u8],
    /// How to check the server for `https` URLs.
    pub server: ServerAuth<'a>,
    /// Client certificate for `https`, if the server wants one.
    pub client: Option<ClientIdentity<'a>>,
    /// Longest wait for connecting, and then for each read.
    pub timeout_ms: u64,
}

impl<'a> Request<'a> {
    /// A GET of `url` checked against `server`, with a 30 s timeout.
    pub fn get(url: Url<'a>, server: ServerAuth<'a>) -> Self {
        Request {
            method: Method::Get,
            url,
            headers: &[],
            body: &[],
            server,
            client: None,
            timeout_ms: 30_000,
        }
    }

    /// A POST of `body` to `url`, with a 30 s timeout.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn post(url: Url<'a>, server: ServerAuth<'a>, body: &'a [u8]) -> Self {
        Request {
            method: Method::Post,
            body,
            ..Request::get(url, server)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    Length { left: u64 },
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// A response being read: the head is parsed, the body comes with [`Exchange::read`].
pub struct Exchange<'t, 'b, T: Transport, C: Clock> {
    transport: &'t mut T,
    clock: &'t C,
    buf: &'b mut [u8],
    head_len: usize,
    /// Body bytes already in `buf[pos..filled]`.
    pos: usize,
    filled: usize,
    status: u16,
    body: Body,
    announced: Option<u64>,
    received: u64,
    timeout_ms: u64,
}

impl<'t, 'b, T: Transport, C: Clock> Exchange<'t, 'b, T, C> {
    /// Connects, sends `request` and reads the response head into `buf`. Redirects are
    /// handled per `redirects`.
    pub async fn start(
        transport: &'t mut T,
        clock: &'t C,
        request: &Request<'_>,
        redirects: Redirects,
        buf: &'b mut [u8],
    ) -> Result<Self, HttpError<T::Error>> {
        let mut left = match redirects {
            Redirects::Refuse => 0,
            Redirects::Follow(n) => n,
        };
        let mut location = heapless::String::<MAX_LOCATION_LEN>::new();
        let mut redirected: Option<OwnedUrl> = None;
        // Whether every redirect so far stayed on the request's origin (scheme, host and
        // port): credentials go only there, as browsers and curl do.
        let mut same_origin = true;
        loop {
            let req = match &redirected {
                None => *request,
                Some(owned) => Request {
                    url: owned.as_url(),
                    body: &[],
                    client: request.client.filter(|_| same_origin),
                    ..*request
                },
            };
            let (status, head_len, filled) =
                exchange_head(transport, clock, &req, same_origin, buf).await?;
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                let mut ex = Exchange {
                    transport,
                    clock,
                    buf,
                    head_len,
                    pos: head_len,
                    filled,
                    status,
                    body: Body::None,
                    announced: None,
                    received: 0,
                    timeout_ms: req.timeout_ms,
                };
                if let Err(e) = ex.body_kind(req.method) {
                    ex.transport.close().await;
                    return Err(e);
                }
                return Ok(ex);
            }
            transport.close().await;
            if matches!(redirects, Redirects::Refuse)
                || !matches!(req.method, Method::Get | Method::Head)
            {
                return Err(HttpError::RedirectRefused { status });
            }
            if left == 0 {
                return Err(HttpError::TooManyRedirects);
            }
            left -= 1;
            location.clear();
            let loc = header_in(&buf[..head_len], "location")
                .ok_or(HttpError::Malformed("redirect without Location"))?;
            location
                .push_str(loc.trim())
                .map_err(|_| HttpError::BadRedirect)?;
            let next = req.url.join(&location)?;
            if req.url.scheme == Scheme::Https && next.scheme == Scheme::Http {
                return Err(HttpError::BadRedirect);
            }
            same_origin &= next.scheme == request.url.scheme
                && next.port == request.url.port
                && next.host.eq_ignore_ascii_case(request.url.host);
            let next = OwnedUrl::new(next).ok_or(HttpError::BadRedirect)?;
            redirected = Some(next);
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The length of the response head at the start of the buffer.
    pub(crate) fn head_len(&self) -> usize {
        self.head_len
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.buf[..self.head_len], name)
    }

    /// The announced body length (`Content-Length`), if any.
    pub fn content_length(&self) -> Option<u64> {
        self.announced
    }

    /// Body bytes received so far.
    #[cfg(feature = "fuzzing")]
    pub fn received(&self) -> u64 {
        self.received
    }

    fn body_kind(&mut self, method: Method) -> Result<(), HttpError<T::Error>> {
        let head = &self.buf[..self.head_len];
        let chunked = header_in(head, "transfer-encoding").is_some_and(|v| {
            v.rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
        });
        let mut length = None;
        for value in headers_in(head, "content-length") {
            let v: u64 = value
                .trim()
                .parse()
                .map_err(|_| HttpError::Malformed("bad Content-Length"))?;
            if length.is_some_and(|l| l != v) {
                return Err(HttpError::Malformed("conflicting Content-Length"));
            }
            length = Some(v);
        }
        self.announced = length;
        self.body = if method == Method::Head || matches!(self.status, 100..=199 | 204 | 304) {
            Body::None
        } else if chunked {
            Body::Chunked(ChunkedDecoder::new())
        } else if let Some(left) = length {
            Body::Length { left }
        } else {
            Body::UntilClose
        };
        Ok(())
    }

    /// Reads body bytes into `out`; `Ok(0)` at the end of the body.
    pub async fn read(&mut self, out: &mut [u8]) -> Result<usize, HttpError<T::Error>> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let buffered = self.filled - self.pos;
            match &mut self.body {
                Body::None => return Ok(0),
                Body::Length { left: 0 } => return Ok(0),
                Body::Length { left } if buffered > 0 => {
                    let n = buffered
                        .min(out.len())
                        .min(usize::try_from(*left).unwrap_or(usize::MAX));
                    out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                    self.pos += n;
                    *left -= n as u64;
                    self.received += n as u64;
                    return Ok(n);
                }
                Body::UntilClose if buffered > 0 => {
                    let n = buffered.min(out.len());
                    out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                    self.pos += n;
                    self.received += n as u64;
                    return Ok(n);
                }
                Body::Chunked(d) if d.is_done() => return Ok(0),
                Body::Chunked(d) if buffered > 0 => {
                    let (used, made) = d.decode(&self.buf[self.pos..self.filled], out)?;
                    self.pos += used;
                    self.received += made as u64;
                    if made > 0 {
                        return Ok(made);
                    }
                    if d.is_done() {
                        return Ok(0);
                    }
                    continue;
                }
                _ => {}
            }
            // Nothing buffered: refill after the head.
            self.pos = self.head_len;
            self.filled = self.head_len;
            let room = &mut self.buf[self.head_len..];
            if room.is_empty() {
                return Err(HttpError::HeadTooLarge {
                    capacity: self.buf.len(),
                });
            }
            let n = match within!(
                self.clock,
                self.clock.now_ms().saturating_add(self.timeout_ms),
                self.transport.read(room),
            ) {
                None => return Err(HttpError::Timeout),
                Some(Err(e)) => return Err(HttpError::Transport(e)),
                Some(Ok(n)) => n,
            };
            if n == 0 {
                return match self.body {
                    Body::UntilClose => {
                        self.body = Body::None;
                        Ok(0)
                    }
                    _ => Err(HttpError::Truncated {
                        expected: self.announced,
                        received: self.received,
                    }),
                };
            }
            self.filled += n;
        }
    }

    /// Reads the whole body into `out` and returns it; a body larger than `out` is
    /// [`HttpError::BodyTooLarge`].
    pub async fn read_to_end<'o>(
        &mut self,
        out: &'o mut [u8],
    ) -> Result<&'o [u8], HttpError<T::Error>> {
        let mut len = 0;
        loop {
            if len == out.len() {
                // Full: the body must end here.
                let mut probe = [0u8; 1];
                return match self.read(&mut probe).await? {
                    0 => Ok(&out[..len]),
                    _ => Err(HttpError::BodyTooLarge {
                        capacity: out.len(),
                    }),
                };
            }
            match self.read(&mut out[len..]).await? {
                0 => return Ok(&out[..len]),
                n => len += n,
            }
        }
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.transport.close().await;
    }
}

/// Sends the request head and body, then reads until the response head is complete.
/// Returns the status, the head length and the bytes in `buf`.
async fn exchange_head<T: Transport, C: Clock>(
    transport: &mut T,
    clock: &C,
    req: &Request<'_>,
    credentials: bool,
    buf: &mut [u8],
) -> Result<(u16, usize, usize), HttpError<T::Error>> {
    let head_len = write_head(req, credentials, buf)?;
    let tls = (req.url.scheme == Scheme::Https).then_some(Tls {
        server: req.server,
        server_name: None,
        client: req.client,
    });
    let endpoint = Endpoint {
        host: req.url.host,
        port: req.url.port,
        tls,
    };
    let deadline = || clock.now_ms().saturating_add(req.timeout_ms);
    match within!(clock, deadline(), transport.connect(&endpoint)) {
        None => return Err(HttpError::Timeout),
        Some(Err(e)) => return Err(HttpError::Transport(e)),
        Some(Ok(())) => {}
    }
    let sent = async {
        transport.write_all(&buf[..head_len]).await?;
        if !req.body.is_empty() {
            transport.write_all(req.body).await?;
        }
        transport.flush().await
    };
    match within!(clock, deadline(), sent) {
        None => {
            transport.close().await;
            return Err(HttpError::Timeout);
        }
        Some(Err(e)) => {
            transport.close().await;
            return Err(HttpError::Transport(e));
        }
        Some(Ok(())) => {}
    }
    let mut filled = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf[..filled]) {
            Ok(httparse::Status::Complete(len)) => {
                let status = resp.code.ok_or(HttpError::Malformed("no status"))?;
                if status == 100 {
                    // An interim answer: drop it and read on.
                    crate::bytes::shift_down(buf, len..filled, 0);
                    filled -= len;
                    continue;
                }
                return Ok((status, len, filled));
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                transport.close().await;
                return Err(HttpError::Malformed("too many header fields"));
            }
            Err(_) => {
                transport.close().await;
                return Err(HttpError::Malformed("not an HTTP/1.x response"));
            }
        }
        if filled == buf.len() {
            transport.close().await;
            return Err(HttpError::HeadTooLarge {
                capacity: buf.len(),
            });
        }
        match within!(clock, deadline(), transport.read(&mut buf[filled..])) {
            None => {
                transport.close().await;
                return Err(HttpError::Timeout);
            }
            Some(Err(e)) => {
                transport.close().await;
                return Err(HttpError::Transport(e));
            }
            Some(Ok(0)) => return Err(HttpError::Closed),
            Some(Ok(n)) => filled += n,
        }
    }
}

/// Header fields that carry credentials: sent only to the request's own origin.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Formats the request head into `buf`; without `credentials`, the request's
/// [`CREDENTIAL_HEADERS`] are left out.
fn write_head<E>(
    req: &Request<'_>,
    credentials: bool,
    buf: &mut [u8],
) -> Result<usize, HttpError<E>> {
    let bad = |s: &str| s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
    for (name, value) in req.headers {
        if name.is_empty() || bad(name) || name.contains(':') || bad(value) {
            return Err(HttpError::InvalidHeader);
        }
    }
    let capacity = buf.len();
    let mut w = TextWriter::new(buf);
    let url = req.url;
    let result = (|| {
        write!(
            w,
            "{} {} HTTP/1.1\r\nHost: {}",
            req.method.as_str(),
            url.path,
            url.host
        )?;
        if url.port != url.scheme.default_port() {
            write!(w, ":{}", url.port)?;
        }
        w.write_str("\r\nConnection: close\r\nUser-Agent: iotcloud-rs\r\n")?;
        if !req.body.is_empty() || req.method == Method::Post || req.method == Method::Put {
            write!(w, "Content-Length: {}\r\n", req.body.len())?;
        }
        for (name, value) in req.headers {
            if !credentials
                && CREDENTIAL_HEADERS
                    .iter()
                    .any(|c| name.eq_ignore_ascii_case(c))
            {
                continue;
            }
            write!(w, "{name}: {value}\r\n")?;
        }
        w.write_str("\r\n")
    })();
    result.map_err(|_| HttpError::RequestTooLarge { capacity })?;
    Ok(w.len())
}

fn headers_in<'h>(head: &'h [u8], name: &str) -> heapless::Vec<&'h str, 4> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let mut found: heapless::Vec<&'h str, 4> = heapless::Vec::new();
    if let Ok(httparse::Status::Complete(_)) = resp.parse(head) {
        for h in resp.headers.iter() {
            if h.name.eq_ignore_ascii_case(name)
                && let Ok(v) = core::str::from_utf8(h.value)
            {
                let _ = found.push(v);
            }
        }
    }
    found
}

pub(crate) fn header_in<'h>(head: &'h [u8], name: &str) -> Option<&'h str> {
    headers_in(head, name).first().copied()
}

/// The URL a redirect leads to, copied out of the response that named it.
struct OwnedUrl {
    scheme: Scheme,
    host: heapless::String<253>,
    port: u16,
    path: heapless::String<MAX_LOCATION_LEN>,
}

impl OwnedUrl {
    fn new(url: Url<'_>) -> Option<Self> {
        Some(OwnedUrl {
            scheme: url.scheme,
            host: heapless::String::try_from(url.host).ok()?,
            port: url.port,
            path: heapless::String::try_from(url.path).ok()?,
        })
    }

    fn as_url(&self) -> Url<'_> {
        Url {
            scheme: self.scheme,
            host: &self.host,
            port: self.port,
            path: &self.path,
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
