//! What a cloud's OTA messages look like: the upgrade notice a provider turns into a job,
//! and the version report, job request and progress reports it words.

use crate::mqtt::SubscribeTopic;
use crate::ota::{BlockReply, Notice, OtaContext, OtaJob, OtaStatus};
use crate::provider::{ProviderError, Publication};
use crate::scratch::Scratch;

/// A cloud's OTA message formats, offered by a provider whose cloud does OTA over MQTT
/// ([`Provider::ota`](crate::Provider::ota)). Every method is pure: the device sends and
/// receives.
pub trait OtaFormat {
    /// The `index`-th topic to subscribe for upgrade notices and job replies, built in
    /// `scratch`; `None` past the last. Subscribed on connect only by a device with OTA
    /// enabled, and kept by the session.
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        let _ = (index, scratch);
        Ok(None)
    }

    /// The message that reports the running firmware version, sent after every connect
    /// (`None`: the cloud has none).
    fn version_report<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError>;

    /// The message that asks the cloud for a pending upgrade, sent after the version report
    /// (`None`: the cloud has none, or the version report is the request).
    fn job_request<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        let _ = (ctx, scratch);
        Ok(None)
    }

    /// Looks at an incoming message: an upgrade notice is written into `job` as an encoded
    /// job (see [`JobFields::write`](crate::ota::JobFields::write)). Anything not OTA is
    /// [`Notice::NotOta`].
    fn notice(&self, topic: &str, payload: &[u8], job: &mut [u8]) -> Notice;

    /// The message that reports `status` of `job` (`None` for a status after a reboot,
    /// when the job is gone), in the cloud's format; `Ok(None)` when the cloud has no
    /// message for that status.
    fn report<'s>(
        &self,
        job: Option<&OtaJob<'_>>,
        status: OtaStatus,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError>;

    /// For a cloud that delivers images in blocks over MQTT ([`OtaJob::stream`]): the
    /// message asking for `len` bytes at `offset` of `job`'s image (`Ok(None)`: the cloud
    /// has no such delivery). The reply topic must be among the
    /// [`OtaFormat::subscription`]s.
    fn block_request<'s>(
        &self,
        job: &OtaJob<'_>,
        offset: u64,
        len: usize,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        let _ = (job, offset, len, ctx, scratch);
        Ok(None)
    }

    /// Reads an incoming message as a reply to a block request: its framing, code,
    /// length and checksum checked; anything else is [`BlockReply::NotBlock`].
    fn block_reply(&self, topic: &str, payload: &[u8]) -> BlockReply {
        let _ = (topic, payload);
        BlockReply::NotBlock
    }

    /// The receive memory a block download needs besides the block itself and the MQTT
    /// framing (fixed header, topic length, packet id): the reply's topic and the
    /// payload's header and trailer at most, plus room for a block request, which is
    /// built in the receive memory while a reply may be held there. The device asks for
    /// blocks small enough that both fit; 0 (the default): no downloads in blocks.
    fn block_overhead(&self) -> usize {
        0
    }
}

/// The OTA formats of a provider whose cloud has no OTA over MQTT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoOta {}

impl OtaFormat for NoOta {
    fn version_report<'s>(
        &self,
        _: &OtaContext<'_>,
        _: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        match *self {}
    }

    fn notice(&self, _: &str, _: &[u8], _: &mut [u8]) -> Notice {
        match *self {}
    }

    fn report<'s>(
        &self,
        _: Option<&OtaJob<'_>>,
        _: OtaStatus,
        _: &OtaContext<'_>,
        _: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        match *self {}
    }
}
