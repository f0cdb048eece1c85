//! The data model on the connected device: reports, events, answers, desired values and
//! the cloud's time, worded by the provider's [`DataFormat`], and the cloud's data messages
//! turned into events.

use super::driver::{Core, DeviceError, Topics, Wire};
use super::event::Event;
use super::{Connected, Device, State, Supervisor, Unregistered};
use crate::clock::Clock;
use crate::data::{
    DataContext, DataError, DataFormat as _, DataParts, Down, Field, Outcome, Request, TimeSynced,
    Up,
};
use crate::error::Error;
use crate::mqtt::TopicName;
use crate::platform::{Platform, TransportError};
use crate::provider::{Provider, Publication};
use crate::scratch::Scratch;

/// When the device asks the cloud for the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeSync {
    /// After a connect, when the device knows no wall-clock time (default): the clock has
    /// none and none was learned from the cloud.
    #[default]
    WhenUnknown,
    /// After every connect.
    EveryConnect,
    /// Only when the application calls `sync_time`.
    OnRequest,
}

/// How the device uses the data model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataOptions {
    /// Fetch the desired values after every connect, where the cloud keeps them (default).
    pub desired_on_connect: bool,
    /// When to ask the cloud for the time.
    pub time_sync: TimeSync,
}

impl Default for DataOptions {
    fn default() -> Self {
        DataOptions {
            desired_on_connect: true,
            time_sync: TimeSync::WhenUnknown,
        }
    }
}

/// A time request on its way.
#[derive(Debug, Clone, Copy)]
struct TimeRequest {
    /// The device's monotonic clock when it went out.
    sent_at: u64,
    /// The send time it carried.
    device_ms: u64,
}

/// The device's data-model state.
pub(super) struct DataState {
    options: Option<DataOptions>,
    /// Id of the next message the device sends (decimal in the envelope); never 0.
    message_id: u32,
    time_request: Option<TimeRequest>,
    /// Wall-clock time learned from the cloud: (Unix ms, monotonic ms) at one moment.
    learned: Option<(u64, u64)>,
}

impl DataState {
    pub fn new() -> Self {
        DataState {
            options: None,
            message_id: 1,
            time_request: None,
            learned: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.options.is_some()
    }

    fn next_id(&mut self) -> u32 {
        let id = self.message_id;
        self.message_id = self.message_id.wrapping_add(1).max(1);
        id
    }

    /// The wall-clock time learned from the cloud, carried forward to `now` (monotonic).
    pub fn learned_unix_ms(&self, now: u64) -> Option<u64> {
        self.learned
            .map(|(unix, at)| unix.saturating_add(now.saturating_sub(at)))
    }
}

impl<'b, P: Provider, Pf: Platform> Core<'b, P, Pf> {
    /// The wall-clock time: the clock's, or else the one learned from the cloud.
    pub fn unix_time_ms(&mut self) -> Option<u64> {
        let clock = self.platform.clock();
        let now = clock.now_ms();
        clock
            .unix_time_ms()
            .or_else(|| self.data.learned_unix_ms(now))
    }

    /// After CONNACK: the data subscriptions, the desired-values fetch and the time
    /// request, as the options say.
    pub async fn data_on_connect(&mut self) -> Result<(), DeviceError<Pf>> {
        let Some(options) = self.data.options else {
            return Ok(());
        };
        let Ok(format) = self.provider.data() else {
            return Ok(());
        };
        let parts = format.parts();
        self.data.time_request = None;
        self.subscribe_all(Topics::Data).await?;
        if options.desired_on_connect && parts.desired {
            self.send_data(&Up::GetDesired).await?;
        }
        let wanted = match options.time_sync {
            TimeSync::WhenUnknown => self.unix_time_ms().is_none(),
            TimeSync::EveryConnect => true,
            TimeSync::OnRequest => false,
        };
        if wanted && parts.time {
            self.request_time().await?;
        }
        Ok(())
    }

    /// Sends a time request, remembering when.
    async fn request_time(&mut self) -> Result<u32, DeviceError<Pf>> {
        let now = self.platform.clock().now_ms();
        let device_ms = self.unix_time_ms().unwrap_or(now);
        let id = self.send_data(&Up::TimeRequest { device_ms }).await?;
        self.data.time_request = Some(TimeRequest {
            sent_at: now,
            device_ms,
        });
        Ok(id)
    }

    /// Queues the message the provider words for `up`; returns the message id it carries.
    /// A QoS 0 message lost with the link is reported as the disconnection; QoS 1 messages
    /// wait in the session.
    pub async fn send_data(&mut self, up: &Up<'_>) -> Result<u32, DeviceError<Pf>> {
        if self.data.options.is_none() {
            return Err(DataError::NotEnabled.into());
        }
        let unix_time_ms = self.unix_time_ms();
        let format = self
            .provider
            .data()
            .map_err(|why| Error::Data(DataError::Unsupported(why)))?;
        let Core {
            platform,
            session,
            inbox,
            outbox,
            pending,
            data,
            ..
        } = self;
        let ctx = DataContext {
            message_id: data.next_id(),
            unix_time_ms,
        };
        let parts = platform.parts();
        let mut scratch = Scratch::new(inbox.free());
        let Publication {
            topic,
            payload,
            qos,
        } = format.write(up, &ctx, &mut scratch)?;
        let topic = TopicName::new(topic)?;
        let mut wire = Wire {
            session,
            outbox,
            pending,
            transport: parts.transport,
            clock: parts.clock,
        };
        match wire.publish(topic, payload, qos, false, false).await {
            Err(Error::Transport(_)) => {}
            other => {
                other?;
            }
        }
        Ok(ctx.message_id)
    }

    /// Sends a data message now: queued, then written out with what waits. (A time request
    /// needs the link and its send time recorded: `sync_time`.)
    async fn data_now(&mut self, up: &Up<'_>) -> Result<u32, DeviceError<Pf>> {
        self.check_interrupted().await;
        let id = self.send_data(up).await?;
        if self.session.is_connected() {
            let _ = self.write_out(&[]).await;
        }
        Ok(id)
    }
}

/// The data-model event for the message on `topic`, if it is one. A time answer also
/// sets the learned wall clock and tells the clock.
pub(super) fn data_event<'f, P: Provider, C: Clock>(
    data: &mut DataState,
    provider: &P,
    clock: &C,
    topic: &'f str,
    payload: &'f [u8],
) -> Option<Event<'f>> {
    data.options?;
    let format = provider.data().ok()?;
    Some(match format.read(topic, payload) {
        Down::NotData => return None,
        Down::Properties(props) => Event::Properties(props),
        Down::Command(command) => Event::Command(command),
        Down::Reply(reply) => Event::Reply(reply),
        Down::Invalid(e) => Event::DataRejected(e),
        Down::Time(answer) => {
            let now = clock.now_ms();
            let own = clock.unix_time_ms();
            match data.time_request {
                Some(request)
                    if answer
                        .device_sent
                        .is_none_or(|sent| sent == request.device_ms) =>
                {
                    data.time_request = None;
                    let round_trip_ms = now.saturating_sub(request.sent_at);
                    let unix_time_ms = answer.unix_ms_at_arrival(round_trip_ms);
                    data.learned = Some((unix_time_ms, now));
                    clock.set_unix_time_ms(unix_time_ms);
                    let offset_ms = own.map(|mine| {
                        let diff = i128::from(unix_time_ms) - i128::from(mine);
                        diff.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
                    });
                    Event::TimeSynced(TimeSynced {
                        unix_time_ms,
                        offset_ms,
                        round_trip_ms,
                    })
                }
                _ => Event::DataRejected(DataError::UnexpectedTime),
            }
        }
    })
}

impl<'b, P: Provider, Pf: Platform> Device<'b, P, Pf, Unregistered> {
    /// Enables the data model: after every connect the device subscribes to the cloud's
    /// data topics (property sets, commands, replies, time answers — some clouds deliver
    /// them only to subscribers), fetches the desired values and asks for the time, as
    /// `options` say; the cloud's data messages then come as [`Event::Properties`],
    /// [`Event::Command`], [`Event::Reply`] and [`Event::TimeSynced`] instead of
    /// [`Event::Message`].
    ///
    /// A cloud without a data model (plain MQTT) is refused only when a data call is made,
    /// with [`DataError::Unsupported`] saying why.
    pub fn with_data(mut self, options: DataOptions) -> Self {
        self.core.data.options = Some(options);
        // The data model's subscriptions join the others in the session memory's reserve.
        self.core.reserve_subscriptions();
        self
    }
}

impl<'b, P: Provider, Pf: Platform, St: State> Device<'b, P, Pf, St> {
    /// Which parts of the data model the provider's cloud has; `Err` says why it has none.
    pub fn data_parts(&self) -> Result<DataParts, &'static str> {
        self.core.provider.data().map(|f| f.parts())
    }

    /// The wall-clock time in Unix milliseconds: the clock's, or else the one learned from
    /// the cloud ([`Event::TimeSynced`]); `None` while neither is known.
    pub fn unix_time_ms(&mut self) -> Option<u64> {
        self.core.unix_time_ms()
    }
}

/// The data-model calls, for the connected device and the supervisor alike.
macro_rules! data_calls {
    ($core:ident) => {
        /// Reports property values (`&[("temperature", &21.5), ("on", &true)]`) in the
        /// cloud's envelope, with an id the device generates, which it returns; where the
        /// cloud replies, [`Event::Reply`] carries that id and the cloud's code. QoS 1: while
        /// the link is down the report waits in the session.
        pub async fn report(
            &mut self,
            values: &[Field<'_>],
        ) -> Result<u32, Error<TransportError<Pf>>> {
            self.$core().data_now(&Up::Report(values)).await
        }

        /// Posts event `name` with `params`; returns its id, as [`Self::report`] does.
        pub async fn event(
            &mut self,
            name: &str,
            params: &[Field<'_>],
        ) -> Result<u32, Error<TransportError<Pf>>> {
            self.$core().data_now(&Up::Event { name, params }).await
        }

        /// Answers a property set or a command ([`Properties::request`] or
        /// [`Command::request`]) in the cloud's reply format and topic.
        ///
        /// [`Properties::request`]: crate::data::Properties::request
        /// [`Command::request`]: crate::data::Command::request
        pub async fn answer(
            &mut self,
            request: &Request,
            outcome: Outcome<'_>,
        ) -> Result<(), Error<TransportError<Pf>>> {
            self.$core()
                .data_now(&Up::Answer { request, outcome })
                .await
                .map(|_| ())
        }

        /// Asks for the desired values the cloud keeps; they come as
        /// [`Event::Properties`] with [`PropertyOrigin::Desired`](crate::data::PropertyOrigin::Desired).
        pub async fn get_desired(&mut self) -> Result<u32, Error<TransportError<Pf>>> {
            self.$core().data_now(&Up::GetDesired).await
        }

        /// Asks the cloud for the time; the answer comes as [`Event::TimeSynced`], after
        /// which the device signs with that time when its clock has none, and the clock is
        /// told it ([`Clock::set_unix_time_ms`]). Needs a live link
        /// ([`Error::NotConnected`]).
        pub async fn sync_time(&mut self) -> Result<(), Error<TransportError<Pf>>> {
            let core = self.$core();
            core.check_interrupted().await;
            if !core.session.is_connected() {
                return Err(Error::NotConnected);
            }
            core.request_time().await?;
            let _ = core.write_out(&[]).await;
            Ok(())
        }
    };
}

impl<'b, P: Provider, Pf: Platform> Device<'b, P, Pf, Connected> {
    fn data_core(&mut self) -> &mut Core<'b, P, Pf> {
        &mut self.core
    }

    data_calls!(data_core);
}

impl<'b, P: Provider, Pf: Platform> Supervisor<'b, P, Pf> {
    fn data_core(&mut self) -> &mut Core<'b, P, Pf> {
        self.core_mut()
    }

    data_calls!(data_core);
}
