use std::string::String;
use std::vec::Vec;

use super::*;
use crate::test_support::{MockTransport, Step, TestClock, block_on};

fn serve(t: &MockTransport, responses: &[&[u8]]) {
    let mut s = t.state.borrow_mut();
    for r in responses {
        s.per_connection
            .push_back(std::vec![Step::Bytes(r.to_vec()), Step::Close]);
    }
}

fn get(url: &str) -> Request<'_> {
    Request::get(Url::parse(url).unwrap(), ServerAuth::DefaultRoots)
}

/// Runs a request and reads the whole body into a 64-byte buffer.
fn fetch(
    t: &mut MockTransport,
    req: &Request<'_>,
    redirects: Redirects,
) -> Result<(u16, Vec<u8>), HttpError<crate::test_support::MockError>> {
    let clock = TestClock::default();
    let mut buf = [0u8; 256];
    block_on(async {
        let mut ex = Exchange::start(t, &clock, req, redirects, &mut buf).await?;
        let mut out = [0u8; 64];
        let body = ex.read_to_end(&mut out).await?.to_vec();
        let status = ex.status();
        ex.close().await;
        Ok((status, body))
    })
}

fn requests(t: &MockTransport) -> String {
    String::from_utf8(t.state.borrow().written.clone()).unwrap()
}

#[test]
fn a_post_sends_a_complete_head_and_reads_a_sized_body() {
    let mut t = MockTransport::default();
    serve(&t, &[b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"code\":0}\nEXTRA"]);
    let url = Url::parse("https://iot.example:8443/register/dev").unwrap();
    let mut req = Request::post(url, ServerAuth::DefaultRoots, b"{\"a\":1}");
    req.headers = &[
        ("Content-Type", "application/json;charset=UTF-8"),
        ("X-Token", "t"),
    ];
    let (status, body) = fetch(&mut t, &req, Redirects::Refuse).unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"{\"code\":0}\n"[..]));
    assert_eq!(
        requests(&t),
        "POST /register/dev HTTP/1.1\r\nHost: iot.example:8443\r\nConnection: close\r\n\
         User-Agent: iotcloud-rs\r\nContent-Length: 7\r\nContent-Type: application/json;charset=UTF-8\r\n\
         X-Token: t\r\n\r\n{\"a\":1}"
    );
    assert_eq!(
        t.state.borrow().endpoints,
        [("iot.example".into(), 8443, true)]
    );
}

#[test]
fn chunked_bodies_arriving_one_byte_at_a_time_are_reassembled() {
    let mut t = MockTransport::default();
    t.state.borrow_mut().read_chunk = 1;
    serve(&t, &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n"]);
    let (_, body) = fetch(&mut t, &get("http://h/x"), Redirects::Refuse).unwrap();
    assert_eq!(body, b"hello world");
    assert!(!t.state.borrow().endpoints[0].2, "http:// is plain TCP");
}

#[test]
fn a_body_without_length_ends_with_the_connection() {
    let mut t = MockTransport::default();
    serve(&t, &[b"HTTP/1.0 200 OK\r\n\r\nuntil close"]);
    assert_eq!(
        fetch(&mut t, &get("http://h/"), Redirects::Refuse)
            .unwrap()
            .1,
        b"until close"
    );
}

#[test]
fn too_large_truncated_and_malformed_answers_are_named() {
    let mut t = MockTransport::default();
    let big = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".as_slice(),
        &[b'x'; 100],
    ]
    .concat();
    serve(&t, &[&big]);
    assert!(matches!(
        fetch(&mut t, &get("http://h/"), Redirects::Refuse),
        Err(HttpError::BodyTooLarge { capacity: 64 })
    ));

    serve(&t, &[b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"]);
    assert!(matches!(
        fetch(&mut t, &get("http://h/"), Redirects::Refuse),
        Err(HttpError::Truncated {
            expected: Some(10),
            received: 5
        })
    ));

    serve(&t, &[b"SSH-2.0-OpenSSH\r\n\r\n"]);
    assert!(matches!(
        fetch(&mut t, &get("http://h/"), Redirects::Refuse),
        Err(HttpError::Malformed(_))
    ));

    serve(
        &t,
        &[b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"],
    );
    assert!(matches!(
        fetch(&mut t, &get("http://h/"), Redirects::Refuse),
        Err(HttpError::Malformed(_))
    ));

    serve(
        &t,
        &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"],
    );
    assert!(matches!(
        fetch(&mut t, &get("http://h/"), Redirects::Refuse),
        Err(HttpError::Malformed(_))
    ));

    let long_head = [
        b"HTTP/1.1 200 OK\r\nX-Pad: ".as_slice(),
        &[b'p'; 400],
        b"\r\n\r\n",
    ]
    .concat();
    serve(&t, &[&long_head]);
    assert!(matches!(
        fetch(&mut t, &get("http://h/"), Redirects::Refuse),
        Err(HttpError::HeadTooLarge { capacity: 256 })
    ));

    serve(&t, &[b"HTTP/1.1 200"]);
    assert!(matches!(
        fetch(&mut t, &get("http://h/"), Redirects::Refuse),
        Err(HttpError::Closed)
    ));
}

#[test]
fn redirects_are_refused_or_followed_deliberately() {
    let mut t = MockTransport::default();
    let redirect: &[u8] = b"HTTP/1.1 302 Found\r\nLocation: /moved\r\nContent-Length: 0\r\n\r\n";
    serve(&t, &[redirect]);
    assert!(matches!(
        fetch(&mut t, &get("http://h/"), Redirects::Refuse),
        Err(HttpError::RedirectRefused { status: 302 })
    ));

    serve(
        &t,
        &[redirect, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"],
    );
    t.state.borrow_mut().written.clear();
    assert_eq!(
        fetch(&mut t, &get("http://h/"), Redirects::Follow(3))
            .unwrap()
            .1,
        b"ok"
    );
    assert!(
        requests(&t).contains("GET /moved HTTP/1.1\r\nHost: h\r\n"),
        "{}",
        requests(&t)
    );

    // A loop ends.
    serve(&t, &[redirect; 5]);
    assert!(matches!(
        fetch(&mut t, &get("http://h/"), Redirects::Follow(3)),
        Err(HttpError::TooManyRedirects)
    ));
    t.state.borrow_mut().per_connection.clear();

    // HTTPS never becomes HTTP.
    serve(
        &t,
        &[b"HTTP/1.1 301 Moved\r\nLocation: http://h/plain\r\n\r\n"],
    );
    assert!(matches!(
        fetch(&mut t, &get("https://h/"), Redirects::Follow(3)),
        Err(HttpError::BadRedirect)
    ));

    // A POST is not redirected.
    serve(&t, &[redirect]);
    let req = Request::post(
        Url::parse("http://h/").unwrap(),
        ServerAuth::DefaultRoots,
        b"x",
    );
    assert!(matches!(
        fetch(&mut t, &req, Redirects::Follow(3)),
        Err(HttpError::RedirectRefused { .. })
    ));
}

#[test]
fn headers_are_read_case_insensitively_and_interim_answers_skipped() {
    let mut t = MockTransport::default();
    serve(&t, &[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nx-subject-token: tok-123\r\nContent-Length: 0\r\n\r\n"]);
    let clock = TestClock::default();
    let mut buf = [0u8; 256];
    let req = get("http://iam/v3/auth/tokens");
    block_on(async {
        let ex = Exchange::start(&mut t, &clock, &req, Redirects::Refuse, &mut buf)
            .await
            .unwrap();
        assert_eq!(ex.status(), 201);
        assert_eq!(ex.header("X-Subject-Token"), Some("tok-123"));
        assert_eq!(ex.content_length(), Some(0));
    });
}

#[test]
fn header_injection_is_refused_before_connecting() {
    let mut t = MockTransport::default();
    let mut req = get("http://h/");
    req.headers = &[("X-A", "v\r\nInjected: 1")];
    assert!(matches!(
        fetch(&mut t, &req, Redirects::Refuse),
        Err(HttpError::InvalidHeader)
    ));
    assert_eq!(t.state.borrow().connects, 0);
}

#[test]
fn a_silent_server_times_out() {
    let mut t = MockTransport::default();
    t.state.borrow_mut().per_connection.push_back(std::vec![]);
    assert!(matches!(
        fetch(&mut t, &get("http://h/"), Redirects::Refuse),
        Err(HttpError::Timeout)
    ));
}

#[test]
fn credentials_follow_a_redirect_only_on_the_same_origin() {
    let headers = [("Authorization", "Bearer t0ken"), ("Range", "bytes=10-")];
    let run = |location: &str| {
        let mut t = MockTransport::default();
        let redirect = std::format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\n\r\n");
        serve(
            &t,
            &[
                redirect.as_bytes(),
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            ],
        );
        let req = Request {
            headers: &headers,
            ..get("https://files.example/fw.bin")
        };
        assert_eq!(fetch(&mut t, &req, Redirects::Follow(3)).unwrap().1, b"ok");
        let all = requests(&t);
        let second = String::from(all.split("GET ").nth(2).unwrap());
        (all.matches("Bearer t0ken").count(), second)
    };
    // Same scheme, host (in any case) and port: the token goes along.
    let (tokens, second) = run("https://FILES.example/moved.bin");
    assert_eq!(tokens, 2, "{second}");
    // Another host, another port: the token stays behind; the range still goes.
    for elsewhere in [
        "https://cdn.example/fw.bin",
        "https://files.example:8443/fw.bin",
    ] {
        let (tokens, second) = run(elsewhere);
        assert_eq!(tokens, 1, "{elsewhere}: {second}");
        assert!(
            !second.to_ascii_lowercase().contains("authorization"),
            "{second}"
        );
        assert!(second.contains("Range: bytes=10-\r\n"), "{second}");
    }
}
