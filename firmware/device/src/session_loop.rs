//! The same exchange without the typestate device: the application drives the session
//! engine ([`iotcloud_core::session`]) and the codec with an I/O loop of its own, as a
//! device with very little flash could. Built with the `session-loop` feature; the
//! footprint report measures it to show what the device layer costs on top of the layers
//! under it.
//!
//! What the device does and this loop does not: registration, the provider's system
//! subscriptions, reconnecting, oversized packets, write-interruption tracking, events
//! kept for later, OTA. The session's offline queue and replay are still linked (they live
//! in the session, and the loop drains the replay after CONNACK as the session requires).

use embedded_io_async::{Read, Write};
use iotcloud_core::clock::with_deadline;
use iotcloud_core::mqtt::{
    Connect, FrameStatus, Packet, SubscribeTopic, TopicFilter, TopicName, frame_status,
};
use iotcloud_core::provider::SignContext;
use iotcloud_core::scratch::Scratch;
use iotcloud_core::session::{Outgoing, Poll, Replay, Session, SessionEvent};
use iotcloud_core::{Clock, Error, Provider, QoS, Transport};
use mps2_board::{SysTickClock, UartError, UartTransport, println};

use crate::{EXCHANGE_TIMEOUT_MS, Failure, MESSAGE_MEMORY, PAYLOAD, cloud};

/// The receive side: bytes read so far, and the packet at their start.
struct Inbox<'b> {
    buf: &'b mut [u8],
    len: usize,
    /// Length of the packet at the start of `buf` handed out last; dropped on the next read.
    used: usize,
}

impl Inbox<'_> {
    /// Waits for the next whole packet (until `deadline`, pinging on the session's
    /// schedule) and returns its length.
    async fn next(
        &mut self,
        transport: &mut UartTransport,
        clock: &SysTickClock,
        session: &mut Session<'_>,
        tx: &mut [u8],
        deadline: u64,
    ) -> Result<usize, Failure> {
        // Drop the packet handed out last: move what follows it to the start, in
        // non-overlapping steps through a small buffer (a plain overlapping copy would
        // link `memmove`, 1.6 KB on this target).
        let used = core::mem::take(&mut self.used);
        let rest = self.len - used;
        let mut moved = 0;
        let mut step = [0u8; 64];
        while moved < rest {
            let k = (rest - moved).min(step.len());
            step[..k].copy_from_slice(&self.buf[used + moved..used + moved + k]);
            self.buf[moved..moved + k].copy_from_slice(&step[..k]);
            moved += k;
        }
        self.len = rest;
        loop {
            match frame_status(&self.buf[..self.len]) {
                Ok(FrameStatus::Header {
                    header_len,
                    body_len,
                }) => {
                    let total = header_len + body_len;
                    if total <= self.len {
                        self.used = total;
                        return Ok(total);
                    }
                    if total > self.buf.len() {
                        return Err(Failure::Unexpected("a packet larger than the buffer"));
                    }
                }
                Ok(FrameStatus::NeedHeader) => {}
                Err(e) => return Err(Error::from(e).into()),
            }
            let wake = session.poll_at().map_or(deadline, |at| at.min(deadline));
            match with_deadline(clock, wake, transport.read(&mut self.buf[self.len..])).await {
                Some(Ok(0)) => return Err(Failure::Unexpected("connection closed")),
                Some(Ok(n)) => self.len += n,
                Some(Err(e)) => return Err(Error::Transport(e).into()),
                None if clock.now_ms() >= deadline => {
                    return Err(Failure::Timeout("SUBACK, PUBACK and the message"));
                }
                None => {
                    let now = clock.now_ms();
                    match session.poll(now, tx) {
                        Ok(Poll::Idle) => {}
                        Ok(Poll::Ping(n)) => {
                            send(transport, &tx[..n]).await?;
                            session.sent(now);
                        }
                        Ok(Poll::Dead) => return Err(Failure::Unexpected("keep-alive timeout")),
                        Err(e) => return Err(Failure::Device(e.into())),
                    }
                }
            }
        }
    }
}

/// Writes one whole frame.
async fn send(transport: &mut UartTransport, frame: &[u8]) -> Result<(), Failure> {
    transport
        .write_all(frame)
        .await
        .map_err(Error::<UartError>::Transport)?;
    transport.flush().await.map_err(Error::Transport)?;
    Ok(())
}

/// Connect, subscribe, publish, receive, disconnect.
pub async fn exchange(
    cloud: &cloud::Cloud,
    mut transport: UartTransport,
    clock: SysTickClock,
    topic: &str,
) -> Result<(), Failure> {
    let memory = MESSAGE_MEMORY.take().memory();
    let (rx, tx) = (memory.rx, memory.tx);
    let mut session = Session::new(memory.session);
    let deadline = clock.now_ms() + EXCHANGE_TIMEOUT_MS;

    // Sign in, with the credentials written into the receive buffer.
    let options = cloud.mqtt_options();
    let ctx = SignContext {
        unix_time_ms: clock.unix_time_ms(),
        random: clock.now_ms(),
        registered: None,
    };
    let n = {
        let mut scratch = Scratch::new(rx);
        let creds = cloud.sign(&ctx, &mut scratch)?;
        let connect = Connect {
            client_id: creds.client_id,
            keep_alive: options.keep_alive_secs,
            clean_session: options.clean_session,
            will: None,
            username: creds.username,
            password: creds.password.map(str::as_bytes),
        };
        session
            .connect(&connect, clock.now_ms(), tx)
            .map_err(Error::from)?
    };
    {
        let mut scratch = Scratch::new(rx);
        let endpoint = cloud.endpoint(&mut scratch)?;
        transport
            .connect(&endpoint)
            .await
            .map_err(Error::Transport)?;
    }
    send(&mut transport, &tx[..n]).await?;
    let mut inbox = Inbox {
        buf: rx,
        len: 0,
        used: 0,
    };
    let len = inbox
        .next(&mut transport, &clock, &mut session, tx, deadline)
        .await?;
    match Packet::decode_from_broker(&inbox.buf[..len]).map_err(Error::from)? {
        Some((Packet::Connack(connack), _)) => session
            .on_connack(&connack, clock.now_ms())
            .map_err(Error::from)?,
        _ => return Err(Failure::Unexpected("not a CONNACK")),
    }
    // What the session holds from earlier connections (nothing, on a first connect); new
    // messages are written at once only after it.
    while let Some(replay) = session.next_replay(tx).map_err(Error::from)? {
        match replay {
            Replay::Frame(n) => send(&mut transport, &tx[..n]).await?,
            Replay::Stored(frame) => send(&mut transport, frame).await?,
        }
    }
    println!("connected to {}", cloud.cloud());

    let filter = TopicFilter::new(topic).map_err(Error::from)?;
    let (subscription, n) = session
        .subscribe(
            &[SubscribeTopic {
                filter,
                qos: QoS::AtLeastOnce,
            }],
            tx,
        )
        .map_err(Error::from)?;
    send(&mut transport, &tx[..n]).await?;
    session.sent(clock.now_ms());
    let name = TopicName::new(topic).map_err(Error::from)?;
    let publication = match session
        .publish(name, PAYLOAD, QoS::AtLeastOnce, false, tx)
        .map_err(Error::from)?
    {
        Outgoing::Stored { packet_id, frame } => {
            send(&mut transport, frame).await?;
            packet_id
        }
        _ => return Err(Failure::Unexpected("no packet id for a QoS 1 message")),
    };
    session.sent(clock.now_ms());

    let (mut subscribed, mut acknowledged, mut received) = (false, false, false);
    while !(subscribed && acknowledged && received) {
        let len = inbox
            .next(&mut transport, &clock, &mut session, tx, deadline)
            .await?;
        let now = clock.now_ms();
        let Some((packet, _)) =
            Packet::decode_from_broker(&inbox.buf[..len]).map_err(Error::from)?
        else {
            continue;
        };
        let reaction = session.handle(&packet, now, tx).map_err(Error::from)?;
        if reaction.reply > 0 {
            send(&mut transport, &tx[..reaction.reply]).await?;
            session.sent(now);
        }
        match (reaction.event, packet) {
            (SessionEvent::Subscribed(id), Packet::Suback(s)) if id == subscription => {
                if s.codes.iter().any(|c| c.as_u8() & 0x80 != 0) {
                    return Err(Failure::Unexpected("subscription refused"));
                }
                subscribed = true;
            }
            (SessionEvent::Published(id), _) if id == publication => acknowledged = true,
            (SessionEvent::Deliver, Packet::Publish(p))
                if p.topic.as_str() == topic && p.payload == PAYLOAD =>
            {
                received = true
            }
            _ => {}
        }
    }
    println!(
        "subscribed, published (acknowledged) and received on {}",
        topic
    );
    let n = session.disconnect(tx).map_err(Error::from)?;
    send(&mut transport, &tx[..n]).await?;
    session.link_down();
    transport.close().await;
    Ok(())
}
