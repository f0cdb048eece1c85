//! Keeping a device connected: [`Supervisor`] reconnects after every loss, with exponential
//! backoff and jitter, a sharper backoff when the credentials are refused, the cloud's
//! shortest reconnect interval, and fresh credentials on every attempt.

use core::fmt;

use super::driver::Core;
use super::{Device, DisconnectReason, Event, Registered};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind};
use crate::mqtt::{PacketId, QoS};
use crate::platform::{Platform, TransportError};
use crate::provider::Provider;
use crate::session::Session;
use crate::transport::Transport;

/// How a [`Supervisor`] paces its connection attempts.
///
/// After a failed attempt the base delay is multiplied by `growth` (by `refused_growth`
/// when the broker refused the credentials), up to `cap_ms`. The wait is the base delay
/// less a random share of at most `jitter_percent`, so that a fleet that lost its
/// connection together does not come back together; it is never shorter than `floor_ms`,
/// nor than the cloud's [`Limits::min_connect_interval_ms`](crate::provider::Limits)
/// after the previous attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// First delay after a lost connection, and the shortest wait between attempts.
    pub floor_ms: u32,
    /// Longest delay.
    pub cap_ms: u32,
    /// Factor the delay grows by after an attempt that failed (2 by default).
    pub growth: u32,
    /// Factor after the broker refused the credentials (8 by default): retrying soon will
    /// not help, and hammering a cloud with bad credentials can get a device blocked.
    pub refused_growth: u32,
    /// Largest share of a delay taken off at random, in percent (0 to 100; 50 by default).
    pub jitter_percent: u8,
    /// A connection that stays up this long starts the backoff afresh when it is lost;
    /// one lost sooner (a broker that accepts, then closes) keeps it growing.
    pub stable_after_ms: u32,
}

impl Default for ReconnectPolicy {
    /// 1 s floor, 5 min cap, ×2 (×8 after refused credentials), 50 % jitter, stable
    /// after 60 s.
    fn default() -> Self {
        ReconnectPolicy {
            floor_ms: 1_000,
            cap_ms: 300_000,
            growth: 2,
            refused_growth: 8,
            jitter_percent: 50,
            stable_after_ms: 60_000,
        }
    }
}

impl ReconnectPolicy {
    fn floor(&self) -> u64 {
        u64::from(self.floor_ms)
    }

    fn cap(&self) -> u64 {
        u64::from(self.cap_ms.max(self.floor_ms))
    }

    /// The base delay after `delay` (0: none yet) for an attempt that failed, or a
    /// connection that was lost: the floor first, then `growth` times the last.
    fn next(&self, delay: u64) -> u64 {
        if delay == 0 {
            self.floor()
        } else {
            self.grow(delay, self.growth)
        }
    }

    /// The base delay after `delay` when the credentials were refused: at least
    /// `refused_growth` times the floor, and that much more each time.
    fn refused(&self, delay: u64) -> u64 {
        self.grow(delay.max(self.floor()), self.refused_growth)
    }

    fn grow(&self, delay: u64, factor: u32) -> u64 {
        delay
            .saturating_mul(u64::from(factor.max(1)))
            .clamp(self.floor(), self.cap())
    }

    /// The wait for a base delay, with `random` choosing the jitter.
    fn wait(&self, delay: u64, random: u64) -> u64 {
        let delay = delay.max(self.floor());
        let span = delay / 100 * u64::from(self.jitter_percent.min(100))
            + delay % 100 * u64::from(self.jitter_percent.min(100)) / 100;
        let off = if span == 0 { 0 } else { random % (span + 1) };
        (delay - off).max(self.floor())
    }
}

/// Why a [`Supervisor`] is connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Cause {
    /// The first connection.
    Start,
    /// The connection was lost.
    Lost(DisconnectReason),
    /// The previous attempt failed, for a reason of this kind.
    Failed(ErrorKind),
    /// The link was found down, its loss reported to whoever called the device's own
    /// `next_event`.
    Down,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Start => f.write_str("first connection"),
            Cause::Lost(reason) => write!(f, "connection lost: {reason}"),
            Cause::Failed(kind) => write!(f, "previous attempt failed ({kind:?})"),
            Cause::Down => f.write_str("connection found down"),
        }
    }
}

/// What [`Supervisor::next_event`] reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum Supervised<'a, E> {
    /// An event of the device: messages, acknowledgements, `Connected` after each
    /// successful attempt, `Disconnected` when a connection is lost.
    Event(Event<'a>),
    /// An attempt to connect begins.
    Connecting {
        /// Attempts since the connection was last stable, this one included.
        attempt: u32,
        /// Why.
        cause: Cause,
    },
    /// Something the broker sent could not be taken and was skipped; the connection stays
    /// up. A message larger than the receive buffer ([`Error::IncomingTooLarge`]: it was
    /// acknowledged and dropped), an acknowledgement for a packet identifier not in flight
    /// ([`Error::Protocol`]), an incoming QoS 2 message the full session memory could not
    /// record ([`Error::SessionFull`]: not acknowledged, so the broker sends it again after
    /// the next connection).
    Skipped(Error<E>),
    /// The attempt failed; the next one comes in `retry_in_ms`.
    ConnectFailed {
        /// The attempt's number.
        attempt: u32,
        /// What went wrong. [`Error::kind`] is [`ErrorKind::Auth`] when the credentials
        /// were refused.
        error: Error<E>,
        /// Time until the next attempt.
        retry_in_ms: u64,
    },
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Connected, or a loss not yet reported.
    Up,
    /// The loss was reported: the next attempt is to be scheduled.
    Lost(Cause),
    /// Waiting until `at` before the next attempt.
    Waiting { at: u64, cause: Cause },
    /// `Connecting` was reported: the attempt is to be made.
    Attempt,
}

/// A device kept connected. Create it with [`Device::supervise`]; it owns the device, and
/// [`Supervisor::into_device`] gives it back.
///
/// Publishing goes on while the link is down: QoS 1 and 2 messages wait in the session
/// (the offline queue, bounded by the caller's session memory; see
/// [`WhenFull`](crate::session::WhenFull)) and are sent, in order, after the next
/// connection; QoS 0 needs a live link. Subscriptions made once are restored on every
/// connection.
///
/// Every future here can be dropped at an `.await` and the supervisor used again: a
/// dropped wait is resumed, a dropped attempt is made again.
pub struct Supervisor<'b, P, Pf> {
    core: Core<'b, P, Pf>,
    policy: ReconnectPolicy,
    phase: Phase,
    /// Attempts since the last stable connection.
    attempt: u32,
    /// The current base delay (0: none yet).
    delay: u64,
    last_attempt_ms: Option<u64>,
    connected_at_ms: Option<u64>,
}

impl<'b, P: Provider, Pf: Platform> Supervisor<'b, P, Pf> {
    pub(super) fn new(core: Core<'b, P, Pf>, policy: ReconnectPolicy) -> Self {
        let now = core.platform.clock().now_ms();
        Supervisor {
            core,
            policy,
            phase: Phase::Waiting {
                at: now,
                cause: Cause::Start,
            },
            attempt: 0,
            delay: 0,
            last_attempt_ms: None,
            connected_at_ms: None,
        }
    }

    #[cfg(feature = "ota")]
    pub(super) fn core(&self) -> &Core<'b, P, Pf> {
        &self.core
    }

    #[cfg(any(feature = "ota", feature = "data"))]
    pub(super) fn core_mut(&mut self) -> &mut Core<'b, P, Pf> {
        &mut self.core
    }

    /// The policy.
    pub fn policy(&self) -> &ReconnectPolicy {
        &self.policy
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.core.provider
    }

    /// The MQTT session: in-flight messages and subscriptions.
    pub fn session(&self) -> &Session<'b> {
        &self.core.session
    }

    /// Whether the link is up.
    pub fn is_connected(&self) -> bool {
        self.core.session.is_connected()
    }

    /// Publishes, connected or not, and writes the message out if the link is up. See
    /// [`Device::publish`]: QoS 1 and 2 messages are queued while the link is down.
    pub async fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
    ) -> Result<Option<PacketId>, Error<TransportError<Pf>>> {
        self.core.publish(topic, payload, qos, false, true).await
    }

    /// Publishes into the transmit buffer without writing it out; see [`Device::enqueue`].
    pub async fn enqueue(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
    ) -> Result<Option<PacketId>, Error<TransportError<Pf>>> {
        self.core.publish(topic, payload, qos, false, false).await
    }

    /// Writes out what waits; see [`Device::flush`].
    pub async fn flush(&mut self) -> Result<(), Error<TransportError<Pf>>> {
        self.core.flush().await
    }

    /// Subscribes; see [`Device::subscribe`]. Needs a live link; the subscription is then
    /// restored on every later connection.
    pub async fn subscribe(
        &mut self,
        topics: &[(&str, QoS)],
    ) -> Result<PacketId, Error<TransportError<Pf>>> {
        self.core.subscribe(topics).await
    }

    /// Unsubscribes; see [`Device::unsubscribe`].
    pub async fn unsubscribe(
        &mut self,
        filters: &[&str],
    ) -> Result<PacketId, Error<TransportError<Pf>>> {
        self.core.unsubscribe(filters).await
    }

    /// Waits for the next thing to report: a device event, or the start or failure of a
    /// connection attempt. Between attempts it sleeps; while connected it services the
    /// link (keep-alive, acknowledgements).
    ///
    /// An error that retrying cannot mend (the provider's configuration, a buffer too
    /// small for the credentials) is returned as such; calling again retries after the
    /// cap. What goes wrong with one packet while connected is [`Supervised::Skipped`].
    pub async fn next_event(
        &mut self,
    ) -> Result<Supervised<'_, TransportError<Pf>>, Error<TransportError<Pf>>> {
        let core = &self.core;
        if core.session.is_connected() || core.pending.is_some() || core.session.has_dropped() {
            // The device's errors here concern one packet; the connection goes on (a loss
            // comes as `Disconnected`).
            let ev = match self.core.next_event().await {
                Ok(ev) => ev,
                Err(error) => return Ok(Supervised::Skipped(error)),
            };
            if let Event::Disconnected(reason) = ev {
                self.phase = Phase::Lost(Cause::Lost(reason));
            }
            return Ok(Supervised::Event(ev));
        }
        if matches!(self.phase, Phase::Up) {
            self.phase = Phase::Lost(Cause::Down);
        }
        if let Phase::Lost(cause) = self.phase {
            let now = self.core.platform.clock().now_ms();
            let stable = self
                .connected_at_ms
                .take()
                .is_some_and(|at| now.saturating_sub(at) >= u64::from(self.policy.stable_after_ms));
            if stable {
                self.attempt = 0;
                self.delay = 0;
            }
            self.delay = self.policy.next(self.delay);
            let at = self.next_attempt_at(now);
            self.phase = Phase::Waiting { at, cause };
        }
        match self.phase {
            Phase::Waiting { at, cause } => {
                self.core.platform.clock().sleep_until(at).await;
                self.phase = Phase::Attempt;
                self.attempt = self.attempt.saturating_add(1);
                info!("connection attempt {} ({:?})", self.attempt, cause);
                Ok(Supervised::Connecting {
                    attempt: self.attempt,
                    cause,
                })
            }
            _ => self.attempt().await,
        }
    }

    /// Makes the attempt `Connecting` announced.
    async fn attempt(
        &mut self,
    ) -> Result<Supervised<'_, TransportError<Pf>>, Error<TransportError<Pf>>> {
        self.last_attempt_ms = Some(self.core.platform.clock().now_ms());
        // A dropped earlier attempt may have left the transport open.
        self.core.platform.parts().transport.close().await;
        match self.core.connect().await {
            Ok(()) => {
                self.phase = Phase::Up;
                self.connected_at_ms = Some(self.core.platform.clock().now_ms());
                // The `Connected` event the device holds.
                let ev = self.core.next_event().await?;
                Ok(Supervised::Event(ev))
            }
            Err(error) => {
                let kind = error.kind();
                self.delay = if kind == ErrorKind::Auth {
                    self.policy.refused(self.delay)
                } else {
                    self.policy.next(self.delay)
                };
                let now = self.core.platform.clock().now_ms();
                let cause = Cause::Failed(kind);
                if !error.is_retryable() && kind != ErrorKind::Auth {
                    self.delay = self.policy.cap();
                    self.phase = Phase::Waiting {
                        at: now.saturating_add(self.delay),
                        cause,
                    };
                    return Err(error);
                }
                let at = self.next_attempt_at(now);
                self.phase = Phase::Waiting { at, cause };
                info!(
                    "attempt {} failed ({:?}); the next in {} ms",
                    self.attempt,
                    kind,
                    at.saturating_sub(now)
                );
                Ok(Supervised::ConnectFailed {
                    attempt: self.attempt,
                    error,
                    retry_in_ms: at.saturating_sub(now),
                })
            }
        }
    }

    /// When the next attempt may start: the jittered delay from now, and not before the
    /// cloud's shortest interval after the previous attempt.
    fn next_attempt_at(&mut self, now: u64) -> u64 {
        let random = self.core.rng.next();
        let wait = self.policy.wait(self.delay, random);
        let mut at = now.saturating_add(wait);
        let min = u64::from(self.core.provider.limits().min_connect_interval_ms);
        if let Some(last) = self.last_attempt_ms {
            at = at.max(last.saturating_add(min));
        }
        at
    }

    /// Ends the connection politely, if up, and gives the device back.
    pub async fn into_device(mut self) -> Device<'b, P, Pf, Registered> {
        self.core.disconnect().await;
        Device {
            core: self.core,
            _state: core::marker::PhantomData,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{Device, MemoryArrays, Rx, SessionBytes, Tx};
    use crate::platform::Composed;
    use crate::provider::{Credentials, Limits, ProviderError, SignContext};
    use crate::scratch::Scratch;
    use crate::test_support::{MockTransport, TestClock, block_on, friendly_broker};
    use crate::transport::Endpoint;

    /// A cloud that accepts one CONNECT every 5 s, as Tencent does.
    struct Paced;

    impl Provider for Paced {
        type Registration = crate::register::NoRegistration;
        type Ota = crate::ota::NoOta;
        type Data = crate::data::NoData;

        fn cloud(&self) -> &'static str {
            "paced"
        }
        fn endpoint<'a>(&'a self, _: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
            Ok(Endpoint::tcp("paced.test", 1883))
        }
        fn limits(&self) -> Limits {
            Limits {
                min_connect_interval_ms: 5_000,
                ..Limits::MQTT
            }
        }
        fn sign<'s>(
            &self,
            _: &SignContext,
            s: &mut Scratch<'s>,
        ) -> Result<Credentials<'s>, ProviderError> {
            Ok(Credentials {
                client_id: s.copy("paced")?,
                username: None,
                password: None,
            })
        }
    }

    #[test]
    fn reconnects_keep_the_clouds_interval_and_the_backoff_in_virtual_time() {
        let transport = MockTransport::with_responder(friendly_broker);
        let clock = TestClock::default();
        clock.now.set(1_000);
        let mut mem = MemoryArrays::<Rx<512>, Tx<256>, SessionBytes<512>>::new();
        let device = Device::new(
            Paced,
            Composed::new(transport.clone(), clock.clone()),
            mem.memory(),
        );
        let device = block_on(device.register()).ok().unwrap();
        let policy = ReconnectPolicy {
            floor_ms: 1_000,
            cap_ms: 60_000,
            jitter_percent: 0,
            ..ReconnectPolicy::default()
        };
        let mut sup = device.supervise(policy);
        let mut attempts_at = std::vec::Vec::new();
        // The first attempt at once; the first connection is up.
        assert!(matches!(
            block_on(sup.next_event()).unwrap(),
            Supervised::Connecting {
                attempt: 1,
                cause: Cause::Start
            }
        ));
        attempts_at.push(clock.now.get());
        assert!(matches!(
            block_on(sup.next_event()).unwrap(),
            Supervised::Event(Event::Connected { .. })
        ));
        // The broker goes away and refuses every connection from now on.
        transport.push_step(crate::test_support::Step::Close);
        transport.state.borrow_mut().refuse_connect = true;
        assert!(matches!(
            block_on(sup.next_event()).unwrap(),
            Supervised::Event(Event::Disconnected(DisconnectReason::PeerClosed))
        ));
        let mut waits = std::vec::Vec::new();
        while attempts_at.len() < 6 {
            match block_on(sup.next_event()).unwrap() {
                Supervised::Connecting { attempt, cause } => {
                    // Counted since the last stable connection: the first one was not.
                    assert_eq!(attempt as usize, attempts_at.len() + 1);
                    assert!(matches!(
                        cause,
                        Cause::Lost(_) | Cause::Failed(ErrorKind::Transport)
                    ));
                    attempts_at.push(clock.now.get());
                }
                Supervised::ConnectFailed { retry_in_ms, .. } => waits.push(retry_in_ms),
                other => panic!("unexpected {other:?}"),
            }
        }
        let gaps: std::vec::Vec<u64> = attempts_at.windows(2).map(|w| w[1] - w[0]).collect();
        // 5 s apart at least (the cloud's rule wins over the 1, 2 and 4 s backoff), then
        // the backoff once it is longer: 8 s, 16 s.
        assert_eq!(gaps, [5_000, 5_000, 5_000, 8_000, 16_000]);
        assert_eq!(waits, [5_000, 5_000, 8_000, 16_000]);
        assert_eq!(transport.state.borrow().connects, 1);
    }

    #[test]
    fn delays_grow_to_the_cap_and_jitter_never_goes_under_the_floor() {
        let p = ReconnectPolicy {
            floor_ms: 100,
            cap_ms: 1_000,
            ..ReconnectPolicy::default()
        };
        let mut d = 0;
        let mut seen = std::vec::Vec::new();
        for _ in 0..7 {
            d = p.next(d);
            seen.push(d);
        }
        assert_eq!(seen, [100, 200, 400, 800, 1_000, 1_000, 1_000]);
        // Refused credentials: ×8 from the floor at once.
        assert_eq!(p.refused(0), 800);
        assert_eq!(p.refused(200), 1_000);
        for r in [0, 1, 99, 250, 499, 500, 501, u64::MAX] {
            let w = p.wait(1_000, r);
            assert!((500..=1_000).contains(&w), "{w}");
            assert_eq!(p.wait(100, r), 100);
            assert!(p.wait(150, r) >= 100);
            assert!(p.wait(0, r) >= 100);
        }
        let none = ReconnectPolicy {
            jitter_percent: 0,
            ..p
        };
        assert_eq!(none.wait(700, 12345), 700);
        let huge = ReconnectPolicy {
            cap_ms: u32::MAX,
            jitter_percent: 100,
            ..p
        };
        assert!(huge.wait(u64::from(u32::MAX), u64::MAX) >= 100);
    }

    #[test]
    fn a_cap_below_the_floor_is_the_floor() {
        let p = ReconnectPolicy {
            floor_ms: 500,
            cap_ms: 100,
            ..ReconnectPolicy::default()
        };
        assert_eq!(p.next(0), 500);
        assert_eq!(p.next(500), 500);
        assert_eq!(p.refused(500), 500);
    }
}
