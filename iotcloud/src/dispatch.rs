//! [`AnyProvider`] as a provider: every call goes to the provider of the cloud it holds, its
//! registration and its OTA formats included.

use iotcloud_core::data::{DataContext, DataError, DataFormat, DataParts, Down, Up};
use iotcloud_core::mqtt::{SubscribeTopic, Will};
#[cfg(not(feature = "ota"))]
use iotcloud_core::ota::NoOta;
#[cfg(feature = "ota")]
use iotcloud_core::ota::{BlockReply, Notice, OtaContext, OtaFormat, OtaJob, OtaStatus};
use iotcloud_core::provider::Publication;
#[cfg(not(feature = "registration"))]
use iotcloud_core::register::NoRegistration;
#[cfg(feature = "registration")]
use iotcloud_core::register::{
    AnswerError, Answered, RegisterAnswer, RegisterContext, RegisterError, RegisterRequest,
    Registration, RegistrationId,
};
use iotcloud_core::scratch::Scratch;
#[cfg(feature = "registration")]
use iotcloud_core::transport::ClientIdentity;
use iotcloud_core::transport::TransportCaps;

use crate::{
    AnyProvider, Credentials, Endpoint, Limits, MqttOptions, Provider, ProviderError, SignContext,
};

/// The arms of a match on an [`AnyProvider`]: `$body` with `$p` bound to the provider
/// inside, whatever its cloud.
macro_rules! arms {
    (($self:expr, $p:ident, $body:expr) $(
        $(#[$doc:meta])*
        $variant:ident $name:literal [$($alias:literal)*] $module:ident $krate:ident :: $ty:ident
        [$($key:ident)*];
    )*) => {
        match $self {
            $( #[cfg(feature = $name)] AnyProvider::$variant($p) => $body, )*
            AnyProvider::_Never(never, _) => match *never {},
        }
    };
}

/// `$body` with `$p` bound to the provider inside `$self`, whatever its cloud.
macro_rules! each {
    ($self:expr, $p:ident => $body:expr) => {
        crate::clouds!(arms!(($self, $p, $body)))
    };
}

impl Provider for AnyProvider<'_> {
    #[cfg(feature = "registration")]
    type Registration = Self;
    #[cfg(not(feature = "registration"))]
    type Registration = NoRegistration;
    #[cfg(feature = "ota")]
    type Ota = Self;
    #[cfg(not(feature = "ota"))]
    type Ota = NoOta;
    type Data = Self;

    fn cloud(&self) -> &'static str {
        each!(self, p => p.cloud())
    }

    fn endpoint<'a>(&'a self, scratch: &mut Scratch<'a>) -> Result<Endpoint<'a>, ProviderError> {
        each!(self, p => p.endpoint(scratch))
    }

    fn endpoint_for<'a>(
        &'a self,
        scratch: &mut Scratch<'a>,
        caps: TransportCaps,
    ) -> Result<Endpoint<'a>, ProviderError> {
        each!(self, p => p.endpoint_for(scratch, caps))
    }

    fn mqtt_options(&self) -> MqttOptions {
        each!(self, p => p.mqtt_options())
    }

    fn will(&self) -> Option<Will<'_>> {
        each!(self, p => p.will())
    }

    fn limits(&self) -> Limits {
        each!(self, p => p.limits())
    }

    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        each!(self, p => p.sign(ctx, scratch))
    }

    fn system_subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        each!(self, p => p.system_subscription(index, scratch))
    }

    #[cfg(feature = "registration")]
    fn registration(&self) -> Option<&Self> {
        each!(self, p => p.registration().is_some()).then_some(self)
    }

    #[cfg(feature = "ota")]
    fn ota(&self) -> Result<&Self, &'static str> {
        each!(self, p => p.ota().map(|_| self))
    }

    fn data(&self) -> Result<&Self, &'static str> {
        each!(self, p => Provider::data(p).map(|_| self))
    }
}

/// Only reached through [`Provider::data`], which is `Ok` only when the cloud's provider has
/// data formats.
impl DataFormat for AnyProvider<'_> {
    fn parts(&self) -> DataParts {
        each!(self, p => Provider::data(p).map(|d| d.parts()).unwrap_or_default())
    }

    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        each!(self, p => match Provider::data(p) {
            Ok(d) => DataFormat::subscription(d, index, scratch),
            Err(_) => Ok(None),
        })
    }

    fn write<'s>(
        &self,
        up: &Up<'_>,
        ctx: &DataContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Publication<'s>, DataError> {
        each!(self, p => match Provider::data(p) {
            Ok(d) => d.write(up, ctx, scratch),
            Err(why) => Err(DataError::Unsupported(why)),
        })
    }

    fn read<'t>(&self, topic: &'t str, payload: &'t [u8]) -> Down<'t> {
        each!(self, p => match Provider::data(p) {
            Ok(d) => d.read(topic, payload),
            Err(_) => Down::NotData,
        })
    }
}

/// Only reached through [`Provider::registration`], which is `Some` only when the cloud's
/// provider registers: the provider without a registration answers as one that has none.
#[cfg(feature = "registration")]
impl Registration for AnyProvider<'_> {
    fn id(&self) -> RegistrationId<'_> {
        each!(self, p => match p.registration() {
            Some(r) => r.id(),
            None => RegistrationId { product: "", device: "" },
        })
    }

    fn request<'s>(
        &'s self,
        step: u8,
        carry: &'s [u8],
        ctx: &RegisterContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<RegisterRequest<'s>, ProviderError> {
        each!(self, p => match p.registration() {
            Some(r) => r.request(step, carry, ctx, scratch),
            None => Err(NO_REGISTRATION),
        })
    }

    fn answer(
        &self,
        step: u8,
        answer: RegisterAnswer<'_>,
        record: &mut [u8],
        carry: &mut [u8],
    ) -> Result<Answered, AnswerError> {
        each!(self, p => match p.registration() {
            Some(r) => r.answer(step, answer, record, carry),
            None => Err(RegisterError::Provider(NO_REGISTRATION)),
        })
    }

    fn identity<'r>(&self, record: &'r [u8]) -> Option<ClientIdentity<'r>> {
        each!(self, p => p.registration().and_then(|r| r.identity(record)))
    }

    fn registered_endpoint<'s>(
        &'s self,
        record: &'s [u8],
        caps: TransportCaps,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Endpoint<'s>>, ProviderError> {
        each!(self, p => match p.registration() {
            Some(r) => r.registered_endpoint(record, caps, scratch),
            None => Ok(None),
        })
    }
}

/// What a configuration that holds its credentials says when asked to register.
#[cfg(feature = "registration")]
const NO_REGISTRATION: ProviderError =
    ProviderError::Unsupported("registration: this configuration holds its credentials");

/// Only reached through [`Provider::ota`], which is `Ok` only when the cloud's provider has
/// OTA formats.
#[cfg(feature = "ota")]
impl OtaFormat for AnyProvider<'_> {
    fn subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        each!(self, p => match p.ota() {
            Ok(ota) => OtaFormat::subscription(ota, index, scratch),
            Err(_) => Ok(None),
        })
    }

    fn version_report<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        each!(self, p => match p.ota() {
            Ok(ota) => ota.version_report(ctx, scratch),
            Err(_) => Ok(None),
        })
    }

    fn job_request<'s>(
        &self,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        each!(self, p => match p.ota() {
            Ok(ota) => ota.job_request(ctx, scratch),
            Err(_) => Ok(None),
        })
    }

    fn notice(&self, topic: &str, payload: &[u8], job: &mut [u8]) -> Notice {
        each!(self, p => match p.ota() {
            Ok(ota) => ota.notice(topic, payload, job),
            Err(_) => Notice::NotOta,
        })
    }

    fn report<'s>(
        &self,
        job: Option<&OtaJob<'_>>,
        status: OtaStatus,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        each!(self, p => match p.ota() {
            Ok(ota) => ota.report(job, status, ctx, scratch),
            Err(why) => Err(ProviderError::Unsupported(why)),
        })
    }

    fn block_request<'s>(
        &self,
        job: &OtaJob<'_>,
        offset: u64,
        len: usize,
        ctx: &OtaContext<'_>,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<Publication<'s>>, ProviderError> {
        each!(self, p => match p.ota() {
            Ok(ota) => ota.block_request(job, offset, len, ctx, scratch),
            Err(_) => Ok(None),
        })
    }

    fn block_reply(&self, topic: &str, payload: &[u8]) -> BlockReply {
        each!(self, p => match p.ota() {
            Ok(ota) => ota.block_reply(topic, payload),
            Err(_) => BlockReply::NotBlock,
        })
    }

    fn block_overhead(&self) -> usize {
        each!(self, p => p.ota().map_or(0, OtaFormat::block_overhead))
    }
}
