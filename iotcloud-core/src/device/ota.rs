//! OTA on the connected device: the job the cloud announced, the messages the device sends
//! about it, and the download that runs beside the MQTT connection, which keeps being
//! serviced between pieces of the image while progress goes to the cloud. An image the
//! cloud delivers over MQTT comes in blocks over the device's own connection
//! (`blocks.rs`).

use embassy_futures::select::{Either, select};

use super::driver::{Core, DeviceError, Topics, Wire};
use super::event::Event;
use super::{Connected, Device, State, Supervisor, Unregistered};
use crate::clock::Clock;
use crate::error::Error;
use crate::mqtt::{Packet, TopicName};
use crate::ota::{
    self, DownloadHost, DownloadIo, DownloadSettings, Firmware, FirmwareSink, MIN_DOWNLOAD_BUFFER,
    Notice, OtaContext, OtaError, OtaFormat as _, OtaJob, OtaNoticeError, OtaStatus, OtaSupport,
    Progress,
};
use crate::platform::{Platform, TransportError};
use crate::provider::{Provider, Publication};
use crate::scratch::Scratch;
use crate::transport::Transport;

/// What [`Device::download_ota`](super::Device::download_ota) reports while it runs.
#[derive(Debug)]
#[non_exhaustive]
pub enum OtaEvent<'a, E> {
    /// The download advanced (throttled; see [`DownloadSettings`]). The same progress has
    /// been published to the cloud, when it is connected.
    Progress(Progress),
    /// A connection dropped; the download resumes after `delay_ms`.
    Retrying {
        /// Where it stands.
        progress: Progress,
        /// Wait before the next attempt.
        delay_ms: u64,
    },
    /// Something happened on the MQTT connection meanwhile (a message, an acknowledgement,
    /// a disconnection), exactly as `next_event` would have returned it.
    Event(Event<'a>),
    /// The MQTT connection reported an error meanwhile (the download goes on).
    Error(Error<E>),
}

/// What the frame being handed to the application turned out to be for OTA.
#[derive(Debug, Clone, Copy)]
enum Found {
    /// An upgrade job, now in the job memory.
    Job,
    /// An upgrade notice that was not taken.
    Rejected(OtaNoticeError),
}

/// A message the device sends on its own behalf.
#[derive(Debug, Clone, Copy)]
pub(super) enum SystemMessage {
    VersionReport,
    JobRequest,
    Report(OtaStatus),
    /// A request for `len` bytes at `offset` of the job's image, delivered over MQTT.
    Block {
        offset: u64,
        len: usize,
    },
}

/// The device's OTA state: the running firmware once OTA is enabled, and the current job.
pub(super) struct OtaState<'b> {
    firmware: Option<Firmware<'b>>,
    /// The current upgrade job, encoded (`job[..job_len]`; `job_len == 0`: none).
    job: &'b mut [u8],
    job_len: usize,
    /// A download is running: new jobs are refused.
    busy: bool,
    /// What the frame handed out last is, for OTA.
    found: Option<Found>,
    /// Id of the next message the device sends on its own behalf.
    message_id: u32,
}

impl<'b> OtaState<'b> {
    pub fn new(job: &'b mut [u8]) -> Self {
        OtaState {
            firmware: None,
            job,
            job_len: 0,
            busy: false,
            found: None,
            message_id: 1,
        }
    }

    /// Whether OTA is enabled.
    pub fn enabled(&self) -> bool {
        self.firmware.is_some()
    }

    /// Enables OTA for `firmware`.
    pub fn enable(&mut self, firmware: Firmware<'b>) {
        self.firmware = Some(firmware);
        self.job_len = 0;
    }

    /// The last job the cloud announced.
    pub fn job(&self) -> Option<OtaJob<'_>> {
        OtaJob::decode(&self.job[..self.job_len])
    }

    /// Makes `job` the current job (copied into the job memory), unless a download runs.
    pub fn set_job(&mut self, job: &OtaJob<'_>) -> Result<(), OtaNoticeError> {
        if self.busy {
            return Err(OtaNoticeError::Busy);
        }
        let kept = job.copy_into(self.job);
        self.job_len = match kept {
            Ok(kept) => kept.encoded().len(),
            Err(_) => 0,
        };
        kept.map(|_| ())
    }

    /// The OTA event for the frame being handed out, if it is one.
    pub fn take_event(&mut self) -> Option<Event<'_>> {
        match self.found.take()? {
            Found::Job => OtaJob::decode(&self.job[..self.job_len]).map(Event::Ota),
            Found::Rejected(e) => Some(Event::OtaRejected(e)),
        }
    }
}

impl<'b, P: Provider, Pf: Platform> Core<'b, P, Pf> {
    /// After CONNACK: the version report and the job request, where the cloud has them.
    pub async fn ota_on_connect(&mut self) -> Result<(), DeviceError<Pf>> {
        if self.ota.firmware.is_some() && self.provider.ota().is_ok() {
            self.subscribe_all(Topics::Ota).await?;
            self.send_system(SystemMessage::VersionReport, None).await?;
            self.send_system(SystemMessage::JobRequest, None).await?;
        }
        Ok(())
    }

    /// Queues a message the provider words (version report, job request, OTA report).
    /// `job` overrides the stored job (a download works on its own copy). Nothing is sent
    /// when the provider has no such message. A lost link is reported as an event; QoS 1
    /// messages then wait in the session for the next connection.
    pub async fn send_system(
        &mut self,
        which: SystemMessage,
        job: Option<&OtaJob<'_>>,
    ) -> Result<(), DeviceError<Pf>> {
        let Some(firmware) = self.ota.firmware else {
            return Ok(());
        };
        let Ok(format) = self.provider.ota() else {
            return Ok(());
        };
        let Core {
            platform,
            session,
            inbox,
            outbox,
            pending,
            ota,
            ..
        } = self;
        let parts = platform.parts();
        let ctx = OtaContext {
            firmware,
            message_id: ota.message_id,
            unix_time_ms: parts.clock.unix_time_ms(),
        };
        ota.message_id = ota.message_id.wrapping_add(1).max(1);
        let stored = (ota.job_len > 0)
            .then(|| OtaJob::decode(&ota.job[..ota.job_len]))
            .flatten();
        let job = job.or(stored.as_ref());
        let mut scratch = Scratch::new(inbox.free());
        let publication = match which {
            SystemMessage::VersionReport => format.version_report(&ctx, &mut scratch),
            SystemMessage::JobRequest => format.job_request(&ctx, &mut scratch),
            SystemMessage::Report(status) => format.report(job, status, &ctx, &mut scratch),
            SystemMessage::Block { offset, len } => match job {
                Some(job) => format.block_request(job, offset, len, &ctx, &mut scratch),
                None => Ok(None),
            },
        }?;
        let Some(Publication {
            topic,
            payload,
            qos,
        }) = publication
        else {
            return Ok(());
        };
        let topic = TopicName::new(topic)?;
        let mut wire = Wire {
            session,
            outbox,
            pending,
            transport: parts.transport,
            clock: parts.clock,
        };
        match wire.publish(topic, payload, qos, false, false).await {
            // A QoS 0 report lost with the link: the loss is reported as an event.
            Err(Error::Transport(_)) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Lets the provider look at the message in the first `total` bytes of the receive
    /// buffer. Returns whether it is for the application (`true`), or was consumed here.
    pub async fn inspect_ota(&mut self, total: usize) -> Result<bool, DeviceError<Pf>> {
        if self.ota.firmware.is_none() {
            return Ok(true);
        }
        let Ok(format) = self.provider.ota() else {
            return Ok(true);
        };
        let ota = &mut self.ota;
        let notice = match Packet::decode_from_broker(self.inbox.head(total)) {
            Ok(Some((Packet::Publish(p), _))) => {
                // While a download runs, a new job has nowhere to go.
                let job: &mut [u8] = if ota.busy { &mut [] } else { &mut *ota.job };
                format.notice(p.topic.as_str(), p.payload, job)
            }
            _ => Notice::NotOta,
        };
        match notice {
            Notice::NotOta | Notice::Other => {}
            Notice::Job(len) => {
                ota.job_len = len;
                ota.found = Some(Found::Job);
                #[cfg(any(feature = "log", feature = "defmt"))]
                if let Some(job) = OtaJob::decode(&ota.job[..len]) {
                    info!("OTA job: version {}, {:?} bytes", job.version(), job.size());
                }
            }
            Notice::Invalid(OtaNoticeError::TooLarge { .. }) if ota.busy => {
                ota.found = Some(Found::Rejected(OtaNoticeError::Busy));
            }
            Notice::Invalid(e) => {
                info!("OTA notice refused: {:?}", e);
                // The provider may have written part of it over the previous job.
                if !ota.busy {
                    ota.job_len = 0;
                }
                ota.found = Some(Found::Rejected(e));
            }
            Notice::VersionQuery => {
                self.inbox.drop_front(total);
                self.send_system(SystemMessage::VersionReport, None).await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Downloads the current job; see [`Device::download_ota`](super::Device::download_ota).
    pub async fn download_ota<H: Transport, F: FirmwareSink>(
        &mut self,
        http: &mut H,
        sink: &mut F,
        buf: &mut [u8],
        settings: &DownloadSettings<'_>,
        on_event: impl FnMut(OtaEvent<'_, TransportError<Pf>>),
    ) -> Result<u64, OtaError<H::Error, F::Error>>
    where
        Pf::Clock: Clone,
    {
        if self.ota.busy {
            return Err(OtaError::Busy);
        }
        let job_len = self.ota.job_len;
        if job_len == 0 {
            return Err(OtaError::NoJob);
        }
        let streamed =
            OtaJob::decode(&self.ota.job[..job_len]).is_some_and(|j| j.stream().is_some());
        let needed = if streamed {
            job_len
        } else {
            job_len + MIN_DOWNLOAD_BUFFER
        };
        if buf.len() < needed {
            return Err(OtaError::BufferTooSmall(buf.len()));
        }
        let (job_mem, work) = buf.split_at_mut(job_len);
        job_mem.copy_from_slice(&self.ota.job[..job_len]);
        let job = OtaJob::decode(job_mem).ok_or(OtaError::NoJob)?;
        let block = if streamed {
            Some(self.block_size(settings)?)
        } else {
            None
        };
        let clock = self.platform.clock().clone();
        let mut host = Host {
            core: Busy::new(self),
            job: &job,
            on_event,
        };
        info!("OTA download of version {} begins", job.version());
        let result = match block {
            Some(block) => {
                ota::download_blocks(&clock, &job, sink, settings, block, &mut host).await
            }
            None => {
                let io = DownloadIo {
                    transport: http,
                    clock: &clock,
                    buf: work,
                };
                ota::download(io, &job, sink, settings, &mut host).await
            }
        };
        let status = match &result {
            Ok(_) => OtaStatus::Installing,
            // The connection the blocks came over is gone: nothing can be reported now, and
            // a failure queued for the next connection would be wrong, since the download
            // resumes after it.
            Err(OtaError::LinkLost) => {
                info!("OTA download interrupted: connection lost");
                return result;
            }
            Err(e) => OtaStatus::Failed(e.failure()),
        };
        info!("OTA download ended: {:?}", status);
        host.report(status).await;
        result
    }

    /// Reports `status` of the current job to the cloud and writes it out.
    pub async fn report_ota(&mut self, status: OtaStatus) -> Result<(), DeviceError<Pf>> {
        self.check_interrupted().await;
        self.send_system(SystemMessage::Report(status), None)
            .await?;
        self.write_out_reported().await;
        Ok(())
    }

    /// Publishes the firmware version report again and writes it out.
    pub async fn report_version(&mut self) -> Result<(), DeviceError<Pf>> {
        self.check_interrupted().await;
        self.send_system(SystemMessage::VersionReport, None).await?;
        self.write_out_reported().await;
        Ok(())
    }

    /// Writes out a report just queued; a failure is reported as an event.
    async fn write_out_reported(&mut self) {
        if self.session.is_connected() {
            let _ = self.write_out(&[]).await;
        }
    }
}

impl<'b, P: Provider, Pf: Platform> Device<'b, P, Pf, Unregistered> {
    /// Enables OTA: the device reports `firmware` after every connect (where the cloud has a
    /// version report), asks for pending jobs (where it can), answers the cloud's version
    /// queries, and turns upgrade notices into [`Event::Ota`], keeping the job in
    /// [`Memory::ota_job`](super::Memory::ota_job).
    ///
    /// A job that does not fit that memory is reported as [`Event::OtaRejected`] with
    /// [`OtaNoticeError::TooLarge`], never cut.
    pub fn with_ota(mut self, firmware: Firmware<'b>) -> Self {
        self.core.ota.enable(firmware);
        // The OTA subscriptions join the others in the session memory's reserve.
        self.core.reserve_subscriptions();
        self
    }
}

impl<'b, P: Provider, Pf: Platform, St: State> Device<'b, P, Pf, St> {
    /// Whether the provider's cloud does OTA over MQTT, and if not, why.
    pub fn ota_support(&self) -> OtaSupport {
        self.core.provider.ota_support()
    }

    /// The last upgrade job the cloud announced, if any.
    pub fn ota_job(&self) -> Option<OtaJob<'_>> {
        self.core.ota.job()
    }

    /// Makes `job` the current job, as if the cloud had announced it over MQTT: for clouds
    /// whose jobs come some other way (OneNET's HTTP task check), so that
    /// [`Device::download_ota`] runs them. Copied into
    /// [`Memory::ota_job`](super::Memory::ota_job); refused while a download runs
    /// ([`OtaNoticeError::Busy`]) or when it does not fit ([`OtaNoticeError::TooLarge`],
    /// which also clears the previous job).
    pub fn set_ota_job(&mut self, job: &OtaJob<'_>) -> Result<(), OtaNoticeError> {
        self.core.ota.set_job(job)
    }
}

impl<'b, P: Provider, Pf: Platform> Device<'b, P, Pf, Connected> {
    /// Downloads the current job ([`Device::ota_job`]) over `http` (a transport of its own,
    /// not the MQTT connection's) into `sink`, verifying it, and reports to the cloud:
    /// progress while it runs, "installing" when the image is whole and verified, the
    /// failure otherwise. Returns the image's length; applying it is the caller's move
    /// (then [`Device::report_ota`] with [`OtaStatus::Done`] or a failure, where the cloud
    /// wants one; most confirm by the version reported after the reboot).
    ///
    /// The MQTT connection is serviced between pieces of the image: what it delivers comes
    /// to `on_event`. New jobs announced meanwhile are refused ([`Event::OtaRejected`]
    /// with `Busy`). A checkpoint in the store lets a later call — after a reboot, or with a
    /// re-announced job for the same image — resume where this one stopped.
    ///
    /// `buf` holds a copy of the job and the download's work memory: at least the job's
    /// encoded length plus [`MIN_DOWNLOAD_BUFFER`].
    ///
    /// A job the cloud delivers over MQTT ([`OtaJob::stream`], Aliyun's `dProtocol:
    /// mqtt`) is downloaded in blocks over the device's own connection instead, `http`
    /// unused and `buf` holding only the job: each block is asked for and its reply
    /// checked ([`ota::download_blocks`]), other messages meanwhile going to `on_event`.
    /// Blocks are as large as [`DownloadSettings::block_size`] and the receive memory
    /// allow (a memory that cannot hold a reply with [`ota::MIN_BLOCK`] bytes is
    /// [`OtaError::ReceiveMemoryTooSmall`]). A lost connection ends the download with
    /// [`OtaError::LinkLost`], reporting nothing: once the device is connected again, a
    /// new call resumes from the checkpoint.
    pub async fn download_ota<H: Transport, F: FirmwareSink>(
        &mut self,
        http: &mut H,
        sink: &mut F,
        buf: &mut [u8],
        settings: &DownloadSettings<'_>,
        on_event: impl FnMut(OtaEvent<'_, TransportError<Pf>>),
    ) -> Result<u64, OtaError<H::Error, F::Error>>
    where
        Pf::Clock: Clone,
    {
        self.core
            .download_ota(http, sink, buf, settings, on_event)
            .await
    }

    /// Reports `status` of the current job (or, with none, of the running firmware) to the
    /// cloud, in its format. For what the device learns after the download: installed
    /// ([`OtaStatus::Done`]) or not ([`OtaStatus::Failed`]).
    pub async fn report_ota(&mut self, status: OtaStatus) -> Result<(), Error<TransportError<Pf>>> {
        self.core.report_ota(status).await
    }

    /// Publishes the firmware version report again (it is sent on every connect), for
    /// instance after an upgrade applied without a reboot.
    pub async fn report_version(&mut self) -> Result<(), Error<TransportError<Pf>>> {
        self.core.report_version().await
    }
}

impl<'b, P: Provider, Pf: Platform> Supervisor<'b, P, Pf> {
    /// The last upgrade job the cloud announced, if any.
    pub fn ota_job(&self) -> Option<OtaJob<'_>> {
        self.core().ota.job()
    }

    /// Makes `job` the current job; see [`Device::set_ota_job`].
    pub fn set_ota_job(&mut self, job: &OtaJob<'_>) -> Result<(), OtaNoticeError> {
        self.core_mut().ota.set_job(job)
    }

    /// Downloads the current job; see [`Device::download_ota`].
    pub async fn download_ota<H: Transport, F: FirmwareSink>(
        &mut self,
        http: &mut H,
        sink: &mut F,
        buf: &mut [u8],
        settings: &DownloadSettings<'_>,
        on_event: impl FnMut(OtaEvent<'_, TransportError<Pf>>),
    ) -> Result<u64, OtaError<H::Error, F::Error>>
    where
        Pf::Clock: Clone,
    {
        self.core_mut()
            .download_ota(http, sink, buf, settings, on_event)
            .await
    }

    /// Reports `status` of the current job; see [`Device::report_ota`].
    pub async fn report_ota(&mut self, status: OtaStatus) -> Result<(), Error<TransportError<Pf>>> {
        self.core_mut().report_ota(status).await
    }

    /// Publishes the firmware version report again; see [`Device::report_version`].
    pub async fn report_version(&mut self) -> Result<(), Error<TransportError<Pf>>> {
        self.core_mut().report_version().await
    }
}

/// Marks the device busy with a download for as long as it lives, even if the download's
/// future is dropped half-way.
pub(super) struct Busy<'c, 'b, P, Pf>(pub &'c mut Core<'b, P, Pf>);

impl<'c, 'b, P, Pf> Busy<'c, 'b, P, Pf> {
    fn new(core: &'c mut Core<'b, P, Pf>) -> Self {
        core.ota.busy = true;
        Busy(core)
    }
}

impl<P, Pf> Drop for Busy<'_, '_, P, Pf> {
    fn drop(&mut self) {
        self.0.ota.busy = false;
    }
}

pub(super) struct Host<'c, 'b, 'j, P, Pf, F> {
    pub core: Busy<'c, 'b, P, Pf>,
    pub job: &'j OtaJob<'j>,
    pub on_event: F,
}

impl<P, Pf, F> Host<'_, '_, '_, P, Pf, F>
where
    P: Provider,
    Pf: Platform,
    F: FnMut(OtaEvent<'_, TransportError<Pf>>),
{
    /// Publishes a report if the connection is up; an error goes to the callback.
    async fn report(&mut self, status: OtaStatus) {
        let core = &mut *self.core.0;
        core.check_interrupted().await;
        if !core.session.is_connected() && matches!(status, OtaStatus::Downloading { .. }) {
            return;
        }
        debug!("OTA status report: {:?}", status);
        if let Err(e) = core
            .send_system(SystemMessage::Report(status), Some(self.job))
            .await
        {
            (self.on_event)(OtaEvent::Error(e));
        }
        core.write_out_reported().await;
    }
}

impl<P, Pf, F> DownloadHost for Host<'_, '_, '_, P, Pf, F>
where
    P: Provider,
    Pf: Platform,
    Pf::Clock: Clone,
    F: FnMut(OtaEvent<'_, TransportError<Pf>>),
{
    type Store = Pf::Store;

    fn store(&mut self) -> &mut Pf::Store {
        self.core.0.platform.parts().store
    }

    async fn progress(&mut self, progress: Progress) {
        (self.on_event)(OtaEvent::Progress(progress));
        // 100 % is reported to the cloud as "installing", once the image verified.
        if let Some(percent) = progress.percent.filter(|p| *p < 100) {
            self.report(OtaStatus::Downloading { percent }).await;
        }
    }

    async fn retrying(&mut self, progress: Progress, delay_ms: u64) {
        info!(
            "OTA download interrupted at {} bytes; resuming in {} ms",
            progress.received, delay_ms
        );
        (self.on_event)(OtaEvent::Retrying { progress, delay_ms });
    }

    /// Handles whatever the MQTT connection has ready, without waiting for more.
    async fn idle(&mut self) {
        let clock = self.core.0.platform.clock().clone();
        loop {
            match self.before_read().await {
                None => continue,
                Some(false) => return,
                Some(true) => {}
            }
            let core = &mut *self.core.0;
            // Written out in full first, so that only the read below races the clock.
            if core.write_out(&[]).await.is_err() {
                continue;
            }
            // Whatever is ready now; a read that would wait loses the race to the clock.
            let now = clock.now_ms();
            match select(core.step(), clock.sleep_until(now)).await {
                Either::First(Ok(Some(len))) => self.hand_on(len),
                Either::First(Ok(None)) => {}
                Either::First(Err(e)) => (self.on_event)(OtaEvent::Error(e)),
                Either::Second(()) => return,
            }
        }
    }
}

impl<P, Pf, F> Host<'_, '_, '_, P, Pf, F>
where
    P: Provider,
    Pf: Platform,
    F: FnMut(OtaEvent<'_, TransportError<Pf>>),
{
    /// Before reading on: drops the frame handed out last, notes a link that dropped, and
    /// hands on an event the device held back (`None`: go round again). Whether the link
    /// is up.
    pub(super) async fn before_read(&mut self) -> Option<bool> {
        let core = &mut *self.core.0;
        core.inbox.consume();
        core.check_interrupted().await;
        if let Some(pending) = core.pending.take() {
            (self.on_event)(OtaEvent::Event(pending.into_event()));
            return None;
        }
        Some(core.session.is_connected())
    }

    /// Hands the frame of `len` bytes the connection delivered to the callback, as
    /// `next_event` would have returned it.
    pub(super) fn hand_on(&mut self, len: usize) {
        match self.core.0.expose(len) {
            Ok(event) => (self.on_event)(OtaEvent::Event(event)),
            Err(e) => (self.on_event)(OtaEvent::Error(e)),
        }
    }
}
