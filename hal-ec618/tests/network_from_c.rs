#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A firmware whose C code sets the adapter up itself (its own process: the crate's record of
//! the set-up is process-wide).

use hal_ec618::{fake, network};

#[test]
fn an_adapter_set_up_by_c_code_is_not_set_up_again() {
    let _g = fake::lock();
    // The C side ran net_lwip_init and registered the adapter before the device task.
    // SAFETY: the fake's function, called as the firmware's C code would.
    unsafe { fake::net_lwip_init() };
    network::mark_adapter_initialised();
    network::init().unwrap();
    network::init_adapter();
    fake::with(|s| {
        assert_eq!(s.net_lwip_inits, 1);
        assert_eq!(s.socket_lists_reset, 0);
        assert!(!s.calls.contains(&"net_lwip_register_adapter"));
        assert!(!s.calls.contains(&"luat_mobile_event_register_handler"));
    });
}
