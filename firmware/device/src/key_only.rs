//! A provider that signs in with the key it was configured with and never registers.
//!
//! `Device::register` calls `Provider::register`, so a provider type that supports dynamic
//! registration brings its HTTP and JSON code into every firmware, even one whose
//! configuration holds a device secret. Wrapping the provider hides that path from the
//! device: the `key-only` build measures what key authentication alone costs.

use iotcloud_core::mqtt::{SubscribeTopic, Will};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::{
    Credentials, Endpoint, Limits, MqttOptions, Provider, ProviderError, SignContext,
};

/// `P` without dynamic registration.
pub struct KeyOnly<P>(pub P);

impl<P: Provider> Provider for KeyOnly<P> {
    fn cloud(&self) -> &'static str {
        self.0.cloud()
    }

    fn endpoint(&self) -> Result<Endpoint<'_>, ProviderError> {
        self.0.endpoint()
    }

    fn mqtt_options(&self) -> MqttOptions {
        self.0.mqtt_options()
    }

    fn will(&self) -> Option<Will<'_>> {
        self.0.will()
    }

    fn limits(&self) -> Limits {
        self.0.limits()
    }

    fn sign<'s>(
        &self,
        ctx: &SignContext,
        scratch: &mut Scratch<'s>,
    ) -> Result<Credentials<'s>, ProviderError> {
        self.0.sign(ctx, scratch)
    }

    fn system_subscription<'s>(
        &self,
        index: usize,
        scratch: &mut Scratch<'s>,
    ) -> Result<Option<SubscribeTopic<'s>>, ProviderError> {
        self.0.system_subscription(index, scratch)
    }
}
