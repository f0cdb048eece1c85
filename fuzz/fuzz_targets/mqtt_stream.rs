//! A byte stream delivered in fuzzer-chosen fragments decodes to the same frames as the
//! whole stream at once.
#![no_main]

use arbitrary::Arbitrary;
use iotcloud_core::mqtt::Packet;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    stream: Vec<u8>,
    cuts: Vec<u16>,
}

/// Frames decoded from `stream` in one go, up to the first error or incomplete frame.
fn whole(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = stream;
    while let Ok(Some((_, n))) = Packet::decode(rest) {
        out.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    out
}

fuzz_target!(|input: Input| {
    let expected = whole(&input.stream);
    let mut points: Vec<usize> = input
        .cuts
        .iter()
        .map(|&c| usize::from(c) % (input.stream.len() + 1))
        .collect();
    points.push(0);
    points.push(input.stream.len());
    points.sort_unstable();
    points.dedup();
    let mut buf = Vec::new();
    let mut got = Vec::new();
    'feed: for w in points.windows(2) {
        buf.extend_from_slice(&input.stream[w[0]..w[1]]);
        loop {
            match Packet::decode(&buf) {
                Ok(Some((_, n))) => got.push(buf.drain(..n).collect::<Vec<_>>()),
                Ok(None) => break,
                Err(_) => break 'feed,
            }
        }
    }
    assert_eq!(got, expected);
});
