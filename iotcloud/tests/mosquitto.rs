//! One device code path for all seven clouds: only the configuration changes. Each cloud's
//! provider, chosen at run time from LuatOS-style keys, connects through the typestate
//! device to a local mosquitto (`host`, `port`, `tls=false`) and round-trips a message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use iotcloud::{AnyProvider, Cloud, Config, QoS};
use iotcloud_testkit::{Broker, connect, memory, round_trip, subscribe};

/// The credentials of each cloud (with no `device_name`: the IMEI stands in, except for
/// Tuya, whose device id is its own).
const CLOUDS: [(&str, &[(&str, &str)]); 7] = [
    (
        "aliyun",
        &[
            ("product_id", "a1B2c3D4e5F"),
            ("device_secret", "Y877Bgo8X5owd3lcB5wWDjryNPoB"),
        ],
    ),
    (
        "qcloud",
        &[
            ("produt_id", "LD8S5J1L07"),
            ("device_secret", "acyv3QDJrRa0fW5UE58KnQ=="),
        ],
    ),
    (
        "onenet",
        &[
            ("product_id", "Ck2AF9QD2K"),
            (
                "product_secret",
                "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=",
            ),
        ],
    ),
    (
        "huawei",
        &[
            ("product_id", "6203cc94c7fb24029b110408"),
            ("device_secret", "123456789"),
        ],
    ),
    (
        "tuya",
        &[
            ("device_name", "6c95875d0f5ba69607nzfl"),
            ("device_secret", "fb803786602df760"),
        ],
    ),
    (
        "baidu",
        &[
            ("product_id", "abcd123"),
            ("device_secret", "ImSeCrEt0I1M2jkl"),
        ],
    ),
    (
        "tlink",
        &[("product_id", "tlink_account"), ("product_secret", "pw")],
    ),
];

#[tokio::test]
async fn every_cloud_round_trips_through_the_same_device_code() {
    let broker = Broker::start();
    let port = broker.port.to_string();
    for (cloud, pairs) in CLOUDS {
        let mut config = Config::from_pairs(pairs.iter().copied()).unwrap();
        for (k, v) in [
            ("host", "127.0.0.1"),
            ("port", port.as_str()),
            ("tls", "false"),
        ] {
            config.set(k, v).unwrap();
        }
        let provider = AnyProvider::new(
            Cloud::from_name(cloud).unwrap(),
            &config,
            Some("869329069169988"),
        )
        .unwrap();
        let mut dev = connect(provider, memory(2048, 1024, 2048)).await;
        let topic = format!("iotcloud/facade/{cloud}");
        subscribe(&mut dev, &topic, QoS::AtLeastOnce).await;
        round_trip(&mut dev, &topic, cloud.as_bytes(), QoS::AtLeastOnce).await;
        let _registered = dev.disconnect().await;
    }
    let log = broker.log();
    // The IMEI became the device name where none was given.
    for client_id in [
        "a1B2c3D4e5F.869329069169988|",
        "LD8S5J1L07869329069169988",
        "6203cc94c7fb24029b110408_869329069169988_0_1_",
        "tuyalink_6c95875d0f5ba69607nzfl",
    ] {
        assert!(log.contains(client_id), "{client_id} not in {log}");
    }
}
