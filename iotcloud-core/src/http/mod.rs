//! The HTTP types the API shows: [`Url`], [`Method`] and [`HttpError`]. The device's own
//! HTTP/1.1 client (for dynamic registration and firmware downloads) is internal. What it
//! promises:
//!
//! - No allocation: one caller buffer holds the request head going out and then the
//!   response head and body coming in.
//! - `Content-Length`, `Transfer-Encoding: chunked`, and bodies that end with the
//!   connection are all read; a body cut short is [`HttpError::Truncated`].
//! - A body larger than the buffer it must fit is [`HttpError::BodyTooLarge`], never a
//!   silent truncation; firmware images are streamed at any size.
//! - Redirects are refused (registration) or followed up to a limit (downloads); following
//!   never goes from `https` to `http`, and credentials (`Authorization`, `Cookie`, the
//!   client certificate) are not sent on to another origin (scheme, host or port).

pub(crate) mod chunked;
pub(crate) mod client;
mod url;

pub use chunked::ChunkError;
pub(crate) use client::header_in;
pub use url::{Scheme, Url, UrlError};

/// Why an HTTP exchange failed. Texts never contain header values or bodies (which may hold
/// tokens).
#[derive(Debug, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HttpError<E> {
    /// The URL cannot be fetched.
    #[error("URL: {0}")]
    Url(#[from] UrlError),
    /// A request header name or value contains CR, LF or a colon in its name.
    #[error("invalid request header")]
    InvalidHeader,
    /// The request head does not fit the buffer.
    #[error("request head does not fit the {capacity}-byte buffer")]
    RequestTooLarge {
        /// Buffer size.
        capacity: usize,
    },
    /// Connecting, TLS, reading or writing failed.
    #[error("transport: {0}")]
    Transport(E),
    /// The server did not answer in time.
    #[error("timed out")]
    Timeout,
    /// The server closed the connection before the response head was complete.
    #[error("connection closed before the response head")]
    Closed,
    /// The response is not HTTP/1.x.
    #[error("malformed response: {0}")]
    Malformed(&'static str),
    /// The response head does not fit the buffer.
    #[error("response head does not fit the {capacity}-byte buffer")]
    HeadTooLarge {
        /// Buffer size.
        capacity: usize,
    },
    /// The body is larger than the buffer given to `read_to_end`.
    #[error("response body larger than the {capacity}-byte buffer")]
    BodyTooLarge {
        /// Buffer size.
        capacity: usize,
    },
    /// The connection ended before the body was complete.
    #[error("body cut short: {received} of {expected:?} bytes")]
    Truncated {
        /// Announced length, if any.
        expected: Option<u64>,
        /// Bytes received.
        received: u64,
    },
    /// A redirect came and the policy refuses redirects (or the method may not be redirected).
    #[error("redirect ({status}) refused")]
    RedirectRefused {
        /// The 3xx status.
        status: u16,
    },
    /// More redirects than the policy allows (a loop, most likely).
    #[error("too many redirects")]
    TooManyRedirects,
    /// A redirect from `https` to `http`, or a `Location` too long to follow.
    #[error("redirect not followed: it leaves HTTPS or its location is too long")]
    BadRedirect,
}

impl<E> HttpError<E> {
    /// Replaces the transport error type, keeping everything else.
    pub fn map_transport<F>(self, f: impl FnOnce(E) -> F) -> HttpError<F> {
        match self {
            HttpError::Url(e) => HttpError::Url(e),
            HttpError::InvalidHeader => HttpError::InvalidHeader,
            HttpError::RequestTooLarge { capacity } => HttpError::RequestTooLarge { capacity },
            HttpError::Transport(e) => HttpError::Transport(f(e)),
            HttpError::Timeout => HttpError::Timeout,
            HttpError::Closed => HttpError::Closed,
            HttpError::Malformed(w) => HttpError::Malformed(w),
            HttpError::HeadTooLarge { capacity } => HttpError::HeadTooLarge { capacity },
            HttpError::BodyTooLarge { capacity } => HttpError::BodyTooLarge { capacity },
            HttpError::Truncated { expected, received } => {
                HttpError::Truncated { expected, received }
            }
            HttpError::RedirectRefused { status } => HttpError::RedirectRefused { status },
            HttpError::TooManyRedirects => HttpError::TooManyRedirects,
            HttpError::BadRedirect => HttpError::BadRedirect,
        }
    }
}

impl<E> From<ChunkError> for HttpError<E> {
    fn from(_: ChunkError) -> Self {
        HttpError::Malformed("bad chunked encoding")
    }
}

/// Request method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// HEAD.
    Head,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Head => "HEAD",
        }
    }
}
