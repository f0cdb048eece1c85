//! One exchange with a cloud's HTTP API: each HTTP step of a dynamic registration, and the
//! OTA API of clouds that run their jobs over HTTP (OneNET announces a job over MQTT, then
//! reports versions, checks for the task and reports its status over HTTP). The provider
//! writes the request and reads the answer; this sends one and receives the other, with the
//! client downloads use.

use crate::clock::Clock;
use crate::http::HttpError;
use crate::http::client::{Exchange, Redirects, Request};
use crate::register::{HttpAnswer, HttpRequest};
use crate::transport::Transport;

/// Sends `request` over `transport` (a connection of its own, closed afterwards) and reads
/// the answer into `work`: the response head in the first [`HttpRequest::head_room`] bytes
/// (at most half), the body in the rest. Redirects are refused. A body larger than its part
/// of `work` is [`HttpError::BodyTooLarge`], never cut.
///
/// The request carries a token and the answer may too: wipe `work` when done with it.
pub async fn call<'w, T: Transport, C: Clock>(
    transport: &mut T,
    clock: &C,
    request: &HttpRequest<'_>,
    work: &'w mut [u8],
) -> Result<HttpAnswer<'w>, HttpError<T::Error>> {
    let head_room = request.head_room.min(work.len() / 2);
    let (head_buf, body_buf) = work.split_at_mut(head_room);
    let req = Request {
        method: request.method,
        url: request.url,
        headers: &request.headers,
        body: request.body,
        server: request.server,
        client: None,
        timeout_ms: request.timeout_ms,
    };
    let (status, head_len, body_len) = {
        let mut exchange =
            Exchange::start(transport, clock, &req, Redirects::Refuse, head_buf).await?;
        let status = exchange.status();
        let read = exchange.read_to_end(body_buf).await.map(<[u8]>::len);
        let head_len = exchange.head_len();
        exchange.close().await;
        (status, head_len, read?)
    };
    Ok(HttpAnswer::new(
        status,
        &head_buf[..head_len],
        &mut body_buf[..body_len],
    ))
}
