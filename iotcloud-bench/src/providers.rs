//! The seven clouds' providers and the plain MQTT one, each configured with made-up
//! credentials of the right shape and pointed at a local plain-TCP broker.

use iotcloud_core::plain::PlainMqtt;
use iotcloud_core::{EndpointOverrides, Provider, TlsChoice};

use crate::error::{Context, Result};

/// Work to do with each provider in turn.
pub trait EachProvider {
    /// Called once per provider, with its display name.
    fn visit<P: Provider>(&mut self, name: &'static str, provider: P) -> Result<()>;
}

/// Calls `work` with plain MQTT and then each cloud's provider, all aimed at
/// `127.0.0.1:port` without TLS.
pub fn for_each(port: u16, work: &mut impl EachProvider) -> Result<()> {
    let local = EndpointOverrides {
        host: Some("127.0.0.1"),
        port: Some(port),
        tls: TlsChoice::Off,
        client: None,
    };
    work.visit(
        "plain MQTT",
        PlainMqtt::new("127.0.0.1", port, "bench-plain-7").ctx("plain MQTT configuration")?,
    )?;
    let aliyun = iotcloud_aliyun::Aliyun::with_secret(
        "a1BenchPk01",
        "bench-dev-7",
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    )
    .ctx("Aliyun configuration")?;
    work.visit("Aliyun", aliyun.with_overrides(local))?;
    work.visit(
        "Tencent",
        iotcloud_tencent::Tencent::with_secret(
            "BENCH7PRD1",
            "bench-dev-7",
            "YmVuY2gtZGV2aWNlLXNlY3JldA==",
        )
        .ctx("Tencent configuration")?
        .with_overrides(local),
    )?;
    work.visit(
        "OneNET",
        iotcloud_onenet::OneNet::with_secret(
            "BenchPrd07",
            "bench-dev-7",
            "YmVuY2gtb25lbmV0LWRldmljZS1rZXktMzItYnl0ZXM=",
        )
        .ctx("OneNET configuration")?
        .with_overrides(local),
    )?;
    let id = iotcloud_huawei::DeviceId::new("65a0bench0000000000000007_bench7")
        .ctx("Huawei device id")?;
    work.visit(
        "Huawei",
        iotcloud_huawei::Huawei::with_secret(id, "bench-secret-7")
            .ctx("Huawei configuration")?
            .with_overrides(local),
    )?;
    work.visit(
        "Tuya",
        iotcloud_tuya::Tuya::with_secret("6cbench0000000000007abc", "0123456789abcdef")
            .ctx("Tuya configuration")?
            .with_overrides(local),
    )?;
    work.visit(
        "Baidu",
        iotcloud_baidu::Baidu::with_secret("bench07", "bench-dev-7", "BenchSecret0123")
            .ctx("Baidu configuration")?
            .with_overrides(local),
    )?;
    work.visit(
        "Tlink",
        iotcloud_tlink::Tlink::with_secret("bench_account", "BENCH0000SERIAL7", "bench-password")
            .ctx("Tlink configuration")?
            .with_overrides(local),
    )?;
    Ok(())
}
