//! The test kit's brokers themselves: tests start them side by side, so each must end up
//! on a port of its own, reached by its own process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use iotcloud_testkit::Broker;

#[test]
fn brokers_started_at_once_each_listen_on_a_port_of_their_own() {
    let brokers: Vec<Broker> = std::thread::scope(|s| {
        let started: Vec<_> = (0..8).map(|_| s.spawn(Broker::start)).collect();
        started.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ports: Vec<u16> = brokers.iter().map(|b| b.port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(
        ports.len(),
        brokers.len(),
        "two brokers were given one port"
    );
    for broker in &brokers {
        // A connection to the port is logged by this broker, not by another one.
        let mut stream = TcpStream::connect(("127.0.0.1", broker.port)).unwrap();
        stream.write_all(&[0xC0, 0x00]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let wanted = format!(
            "New connection from 127.0.0.1:{}",
            stream.local_addr().unwrap().port()
        );
        while !broker.log().contains(&wanted) {
            assert!(
                Instant::now() < deadline,
                "the broker on port {} did not see the connection: {}",
                broker.port,
                broker.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
