//! The HTTP/1.1 client reading arbitrary responses (status line, header fields, bodies
//! framed by `Content-Length`, chunked or by the end of the connection, interim answers,
//! redirects), delivered in fuzzer-chosen fragments, plus the chunked decoder and URL
//! parser on their own.
//!
//! - Nothing panics or hangs.
//! - Fragmentation and the size of the reads into the body change nothing: the status,
//!   the body and how the exchange ends are those of the same bytes read at once (the
//!   part of a bad body before its error aside: a failed read returns no bytes).
//! - `read_to_end` returns exactly that body into a buffer of its size, and refuses a
//!   buffer one byte smaller with `BodyTooLarge`.
//! - A `Content-Length` body that reads to its end has that length.
//! - The chunked decoder gives the same body whatever the split of its input and size of
//!   its output; a URL that parses prints as a URL that parses to the same thing.
#![no_main]

use iotcloud_core::fuzzing::{ChunkedDecoder, Exchange, Redirects, Request};
use iotcloud_core::http::{HttpError, Method, Url};
use iotcloud_core::transport::ServerAuth;
use iotcloud_fuzz::{Layout, VirtualClock, Wire, WireError, block_on};
use libfuzzer_sys::fuzz_target;

/// Head and read-ahead buffer sizes tried.
const BUFFERS: [usize; 4] = [96, 256, 1024, 8192];

/// How one exchange went: the status and body, and how it ended.
#[derive(Debug, PartialEq)]
struct Outcome {
    status: Option<u16>,
    content_length: Option<u64>,
    chunked: bool,
    body: Vec<u8>,
    end: Result<(), String>,
}

fn describe(e: &HttpError<WireError>) -> String {
    format!("{e:?}")
}

/// Runs `request` against `layout`'s sections, reading the body `piece` bytes at a time.
fn exchange(
    layout: &Layout<'_>,
    fragments: &[u8],
    request: &Request<'_>,
    redirects: Redirects,
    buf_len: usize,
    piece: usize,
) -> Outcome {
    let mut wire = Wire::new(&layout.sections, fragments);
    let clock = VirtualClock::new();
    let mut buf = vec![0u8; buf_len];
    let mut outcome = Outcome {
        status: None,
        content_length: None,
        chunked: false,
        body: Vec::new(),
        end: Ok(()),
    };
    block_on(async {
        let mut ex = match Exchange::start(&mut wire, &clock, request, redirects, &mut buf).await {
            Ok(ex) => ex,
            Err(e) => {
                outcome.end = Err(describe(&e));
                return;
            }
        };
        outcome.status = Some(ex.status());
        outcome.content_length = ex.content_length();
        outcome.chunked = ex.header("transfer-encoding").is_some_and(|v| {
            v.rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
        });
        let mut out = vec![0u8; piece];
        loop {
            match ex.read(&mut out).await {
                Ok(0) => break,
                Ok(n) => {
                    assert!(n <= piece, "read more than asked for");
                    outcome.body.extend_from_slice(&out[..n]);
                    assert_eq!(ex.received(), outcome.body.len() as u64);
                }
                Err(e) => {
                    outcome.end = Err(describe(&e));
                    break;
                }
            }
        }
        ex.close().await;
    })
    .expect("the exchange never waits on the in-memory network");
    outcome
}

/// `read_to_end` into exactly `capacity` bytes.
fn read_to_end(
    layout: &Layout<'_>,
    request: &Request<'_>,
    redirects: Redirects,
    buf_len: usize,
    capacity: usize,
) -> Result<Vec<u8>, String> {
    let mut wire = Wire::new(&layout.sections, &[]);
    let clock = VirtualClock::new();
    let mut buf = vec![0u8; buf_len];
    block_on(async {
        let mut ex = Exchange::start(&mut wire, &clock, request, redirects, &mut buf)
            .await
            .map_err(|e| describe(&e))?;
        let mut out = vec![0u8; capacity];
        let body = ex.read_to_end(&mut out).await.map_err(|e| describe(&e))?;
        Ok(body.to_vec())
    })
    .expect("the exchange never waits on the in-memory network")
}

fn chunked(input: &[u8], cuts: &[u8], out_len: usize) -> (Vec<u8>, Result<bool, String>) {
    let mut d = ChunkedDecoder::new();
    let mut body = Vec::new();
    let mut out = vec![0u8; out_len.max(1)];
    let mut rest = input;
    let mut cut = cuts.iter().cycle();
    while !rest.is_empty() && !d.is_done() {
        let take = match cut.next() {
            Some(&k) if k > 0 => usize::from(k).min(rest.len()),
            _ => rest.len(),
        };
        let mut piece = &rest[..take];
        while !piece.is_empty() && !d.is_done() {
            match d.decode(piece, &mut out) {
                Ok((used, made)) => {
                    assert!(used <= piece.len() && made <= out.len());
                    if used == 0 && made == 0 {
                        // Stuck only with no room, which cannot be: out is never empty.
                        panic!("decoder made no progress");
                    }
                    body.extend_from_slice(&out[..made]);
                    piece = &piece[used..];
                }
                Err(e) => return (body, Err(format!("{e:?}"))),
            }
        }
        rest = &rest[take - piece.len()..];
    }
    (body, Ok(d.is_done()))
}

fn urls(text: &str) {
    let Ok(url) = Url::parse(text) else { return };
    assert!(url.port > 0);
    let printed = url.to_string();
    assert_eq!(
        Url::parse(&printed),
        Ok(url),
        "a parsed URL prints as itself"
    );
    for location in ["/a?b", "//h/x", "https://other:8443/p", text] {
        if let Ok(next) = url.join(location) {
            assert!(next.port > 0);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let layout = Layout::read(data);
    let method = match layout.flags & 3 {
        0 | 3 => Method::Get,
        1 => Method::Head,
        _ => Method::Post,
    };
    let redirects = if layout.flags & 4 != 0 {
        Redirects::Follow(2)
    } else {
        Redirects::Refuse
    };
    let buf_len = BUFFERS[usize::from(layout.flags >> 3) % BUFFERS.len()];
    let piece = 1 + usize::from(layout.flags >> 5) * 9;
    let url = Url::parse("http://fuzz.example/fw.bin").expect("a valid URL");
    let request = Request {
        method,
        ..Request::post(url, ServerAuth::DefaultRoots, b"{}")
    };

    let mut fragmented = exchange(
        &layout,
        layout.fragments,
        &request,
        redirects,
        buf_len,
        piece,
    );
    let mut whole = exchange(&layout, &[], &request, redirects, buf_len, 1 << 16);
    if whole.end.is_err() {
        // A failed read returns no bytes, so how much of a bad body came before the
        // error depends on the reads; it is thrown away.
        fragmented.body.clear();
        whole.body.clear();
    }
    assert_eq!(fragmented, whole, "fragmentation changed the outcome");

    if whole.end.is_ok() {
        let body = &whole.body;
        if let Some(len) = whole.content_length
            && !whole.chunked
            && method != Method::Head
            && !matches!(whole.status, Some(100..=199 | 204 | 304))
        {
            assert_eq!(body.len() as u64, len, "a sized body has its size");
        }
        assert_eq!(
            read_to_end(&layout, &request, redirects, buf_len, body.len()).as_ref(),
            Ok(body),
            "read_to_end into a buffer of the body's size"
        );
        if !body.is_empty() {
            let smaller = read_to_end(&layout, &request, redirects, buf_len, body.len() - 1);
            assert!(
                smaller
                    .as_ref()
                    .is_err_and(|e| e.starts_with("BodyTooLarge")),
                "read_to_end into a smaller buffer: {smaller:?}"
            );
        }
    }

    // The chunked decoder on the first section, in the layout's fragments.
    let input = layout.sections[0];
    let (whole_body, whole_end) = chunked(input, &[], 1 << 16);
    let (body, end) = chunked(input, layout.fragments, piece);
    assert_eq!(end, whole_end, "chunked decoding split");
    if end.is_ok() {
        assert_eq!(body, whole_body, "chunked decoding split");
    }

    if let Ok(text) = core::str::from_utf8(input) {
        urls(text);
    }
});
