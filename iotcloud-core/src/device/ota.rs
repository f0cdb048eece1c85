//! OTA on the connected device: the download runs beside the MQTT connection, which keeps
//! being serviced between pieces of the image, and progress goes to the cloud.

use embassy_futures::select::{Either, select};

use super::link::{Core, SystemMessage};
use super::{Connected, Device, Event, Unregistered};
use crate::clock::Clock;
use crate::error::Error;
use crate::kv::KvStore;
use crate::ota::{
    self, DownloadHost, DownloadIo, DownloadSettings, Firmware, FirmwareSink, MIN_DOWNLOAD_BUFFER,
    OtaError, OtaJob, OtaStatus, OtaSupport, Progress,
};
use crate::provider::Provider;
use crate::transport::Transport;

/// What [`Device::download_ota`] reports while it runs.
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

impl<'b, P: Provider, T: Transport, C: Clock, S: KvStore> Device<'b, P, T, C, S, Unregistered> {
    /// Enables OTA: the device reports `firmware` after every connect (where the cloud has a
    /// version report), asks for pending jobs (where it can), answers the cloud's version
    /// queries, and turns upgrade notices into [`Event::Ota`], keeping the job in `job_buf`.
    ///
    /// Size `job_buf` for the job's URL and token plus about 100 bytes: 512 bytes for most
    /// clouds, more for long pre-signed URLs. A job that does not fit is reported as
    /// [`Event::OtaRejected`] with [`OtaNoticeError::TooLarge`](crate::ota::OtaNoticeError::TooLarge),
    /// never cut.
    pub fn with_ota(mut self, firmware: Firmware<'b>, job_buf: &'b mut [u8]) -> Self {
        self.core.firmware = Some(firmware);
        self.core.job_buf = job_buf;
        self.core.job_len = 0;
        self
    }
}

impl<'b, P: Provider, T: Transport, C: Clock, S: KvStore, St: super::State>
    Device<'b, P, T, C, S, St>
{
    /// Whether the provider's cloud does OTA over MQTT, and if not, why.
    pub fn ota_support(&self) -> OtaSupport {
        self.core.provider.ota_support()
    }

    /// The last upgrade job the cloud announced, if any.
    pub fn ota_job(&self) -> Option<OtaJob<'_>> {
        OtaJob::decode(&self.core.job_buf[..self.core.job_len])
    }
}

impl<'b, P: Provider, T: Transport, C: Clock + Clone, S: KvStore>
    Device<'b, P, T, C, S, Connected>
{
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
    pub async fn download_ota<H: Transport, F: FirmwareSink>(
        &mut self,
        http: &mut H,
        sink: &mut F,
        buf: &mut [u8],
        settings: &DownloadSettings<'_>,
        on_event: impl FnMut(OtaEvent<'_, T::Error>),
    ) -> Result<u64, OtaError<H::Error, F::Error>> {
        let core = &mut self.core;
        if core.ota_busy {
            return Err(OtaError::Busy);
        }
        let job_len = core.job_len;
        if job_len == 0 {
            return Err(OtaError::NoJob);
        }
        if buf.len() < job_len + MIN_DOWNLOAD_BUFFER {
            return Err(OtaError::BufferTooSmall(buf.len()));
        }
        let (job_mem, work) = buf.split_at_mut(job_len);
        job_mem.copy_from_slice(&core.job_buf[..job_len]);
        let job = OtaJob::decode(job_mem).ok_or(OtaError::NoJob)?;
        let clock = core.clock.clone();
        let mut host = Host {
            core: Busy::new(core),
            job: &job,
            on_event,
        };
        let io = DownloadIo {
            transport: http,
            clock: &clock,
            buf: work,
        };
        let result = ota::download(io, &job, sink, settings, &mut host).await;
        let status = match &result {
            Ok(_) => OtaStatus::Installing,
            Err(e) => OtaStatus::Failed(e.failure()),
        };
        host.report(status).await;
        result
    }

    /// Reports `status` of the current job (or, with none, of the running firmware) to the
    /// cloud, in its format. For what the device learns after the download: installed
    /// ([`OtaStatus::Done`]) or not ([`OtaStatus::Failed`]).
    pub async fn report_ota(&mut self, status: OtaStatus) -> Result<(), Error<T::Error>> {
        self.core.check_interrupted().await;
        self.core
            .send_system(SystemMessage::Report(status), None)
            .await
    }

    /// Publishes the firmware version report again (it is sent on every connect), for
    /// instance after an upgrade applied without a reboot.
    pub async fn report_version(&mut self) -> Result<(), Error<T::Error>> {
        self.core.check_interrupted().await;
        self.core
            .send_system(SystemMessage::VersionReport, None)
            .await
    }
}

/// Marks the device busy with a download for as long as it lives, even if the download's
/// future is dropped half-way.
struct Busy<'c, 'b, P, T, C, S>(&'c mut Core<'b, P, T, C, S>);

impl<'c, 'b, P, T, C, S> Busy<'c, 'b, P, T, C, S> {
    fn new(core: &'c mut Core<'b, P, T, C, S>) -> Self {
        core.ota_busy = true;
        Busy(core)
    }
}

impl<P, T, C, S> Drop for Busy<'_, '_, P, T, C, S> {
    fn drop(&mut self) {
        self.0.ota_busy = false;
    }
}

struct Host<'c, 'b, 'j, P, T, C, S, F> {
    core: Busy<'c, 'b, P, T, C, S>,
    job: &'j OtaJob<'j>,
    on_event: F,
}

impl<P, T, C, S, F> Host<'_, '_, '_, P, T, C, S, F>
where
    P: Provider,
    T: Transport,
    C: Clock + Clone,
    S: KvStore,
    F: FnMut(OtaEvent<'_, T::Error>),
{
    /// Publishes a report if the connection is up; an error goes to the callback.
    async fn report(&mut self, status: OtaStatus) {
        let core = &mut *self.core.0;
        core.check_interrupted().await;
        if !core.session.is_connected() && matches!(status, OtaStatus::Downloading { .. }) {
            return;
        }
        if let Err(e) = core
            .send_system(SystemMessage::Report(status), Some(self.job))
            .await
        {
            (self.on_event)(OtaEvent::Error(e));
        }
    }
}

impl<P, T, C, S, F> DownloadHost for Host<'_, '_, '_, P, T, C, S, F>
where
    P: Provider,
    T: Transport,
    C: Clock + Clone,
    S: KvStore,
    F: FnMut(OtaEvent<'_, T::Error>),
{
    type Store = S;

    fn store(&mut self) -> &mut S {
        &mut self.core.0.store
    }

    async fn progress(&mut self, progress: Progress) {
        (self.on_event)(OtaEvent::Progress(progress));
        // 100 % is reported to the cloud as "installing", once the image verified.
        if let Some(percent) = progress.percent.filter(|p| *p < 100) {
            self.report(OtaStatus::Downloading { percent }).await;
        }
    }

    async fn retrying(&mut self, progress: Progress, delay_ms: u64) {
        (self.on_event)(OtaEvent::Retrying { progress, delay_ms });
    }

    /// Handles whatever the MQTT connection has ready, without waiting for more.
    async fn idle(&mut self) {
        let core = &mut *self.core.0;
        let clock = core.clock.clone();
        loop {
            core.consume();
            core.check_interrupted().await;
            if let Some(pending) = core.pending.take() {
                (self.on_event)(OtaEvent::Event(pending.into_event()));
                continue;
            }
            if !core.session.is_connected() {
                return;
            }
            // Whatever is ready now; a read that would wait loses the race to the clock.
            let now = clock.now_ms();
            match select(core.step(), clock.sleep_until(now)).await {
                Either::First(Ok(Some(len))) => match core.expose(len) {
                    Ok(event) => (self.on_event)(OtaEvent::Event(event)),
                    Err(e) => (self.on_event)(OtaEvent::Error(e)),
                },
                Either::First(Ok(None)) => {}
                Either::First(Err(e)) => (self.on_event)(OtaEvent::Error(e)),
                Either::Second(()) => return,
            }
        }
    }
}
