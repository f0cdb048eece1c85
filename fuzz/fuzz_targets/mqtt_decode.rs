//! One frame from arbitrary bytes: decoding returns (never panics), and whatever decodes
//! encodes back to exactly the bytes it came from.
#![no_main]

use iotcloud_core::mqtt::{Packet, frame_status};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = frame_status(data);
    if let Ok(Some((packet, used))) = Packet::decode(data) {
        let mut out = vec![0u8; used];
        let n = packet.emit(&mut out).expect("a decoded packet re-encodes");
        assert_eq!(n, used);
        assert_eq!(&out[..], &data[..used], "canonical encoding");
    }
});
