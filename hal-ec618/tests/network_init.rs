#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `net_lwip_init` runs once (its own process: the crate's record of it is process-wide).

use embedded_io_async::Read;
use hal_ec618::fake;
use hal_ec618::{AdapterTransport, block_on, network};
use iotcloud_core::transport::{Endpoint, Transport};

#[test]
fn the_adapter_is_set_up_once_and_open_sockets_survive_later_inits() {
    let _g = fake::lock();
    network::init().unwrap();
    let mut t = AdapterTransport::new().unwrap();
    block_on(async {
        t.connect(&Endpoint::tcp("h", 1883)).await.unwrap();
        fake::push_rx(b"queued");
        // The device task (or a supervisor) runs its set-up again.
        network::init().unwrap();
        network::init_adapter();
        let mut buf = [0u8; 8];
        let n = t.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"queued");
    })
    .unwrap();
    fake::with(|s| {
        assert_eq!(s.net_lwip_inits, 1);
        assert_eq!(s.socket_lists_reset, 0);
        let handlers = s
            .calls
            .iter()
            .filter(|c| **c == "luat_mobile_event_register_handler");
        assert_eq!(handlers.count(), 1);
    });

    // What the guard prevents: the SDK's own function has none, and a second call (from C
    // code, say) throws away what open sockets had queued.
    fake::push_rx(b"lost");
    // SAFETY: the fake's function, called as the firmware's C code would.
    unsafe { fake::net_lwip_init() };
    fake::with(|s| {
        assert_eq!(s.socket_lists_reset, 1);
        assert!(s.rx.is_empty());
    });
}
