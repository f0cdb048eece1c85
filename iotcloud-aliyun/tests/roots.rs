//! The bundled roots load into the host's TLS stack (rustls), both of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud_aliyun::CA_PEM;
use iotcloud_core::ServerAuth;

#[test]
fn the_bundle_is_accepted_as_trust_anchors() {
    assert!(hal_host::transport::client_config(ServerAuth::CaPem(CA_PEM), None).is_ok());
}
