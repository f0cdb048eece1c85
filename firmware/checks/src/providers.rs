//! Each provider's `sign` with a fixed `SignContext`, against the credentials its own
//! tests expect (LuatOS's and the clouds' published vectors).

use iotcloud_core::plain::PlainMqtt;
use iotcloud_core::provider::{EndpointOverrides, TlsChoice};
use iotcloud_core::scratch::Scratch;
use iotcloud_core::sign::TimestampPolicy;
use iotcloud_core::{Credentials, Provider, ProviderError, SignContext};

use crate::check::{Check, Outcome};

pub const CHECKS: &[(&str, Check)] = &[
    ("aliyun: luatos vectors, three methods", aliyun_luatos),
    (
        "aliyun: fixed timestamp, tls makes securemode 2",
        aliyun_fixed_and_tls,
    ),
    (
        "aliyun: a small scratch buffer is an error",
        aliyun_small_scratch,
    ),
    ("tencent: luatos vectors, sha256 and sha1", tencent_luatos),
    (
        "tencent: the random value picks the connection id",
        tencent_random_conn_id,
    ),
    ("onenet: luatos tokens, three methods", onenet_luatos),
    ("onenet: token version 2022-05-01", onenet_version_2022),
    ("huawei: luatos vector on a utc+8 module", huawei_luatos),
    ("huawei: the clock's hour in utc", huawei_clock),
    ("tuya: luatos vector and a given time", tuya_vectors),
    (
        "baidu: md5 and sha256, without and with time",
        baidu_vectors,
    ),
    (
        "tlink: serial, account and password as given",
        tlink_credentials,
    ),
    (
        "plain mqtt: client id and login as given",
        plain_credentials,
    ),
];

fn at(unix_ms: Option<u64>, random: u64) -> SignContext<'static> {
    SignContext {
        unix_time_ms: unix_ms,
        random,
        registered: None,
    }
}

const PLAIN_TCP: EndpointOverrides<'static> = EndpointOverrides {
    host: None,
    port: None,
    tls: TlsChoice::Off,
    client: None,
};

/// Signs and checks the three strings.
fn expect<P: Provider>(
    provider: &P,
    ctx: SignContext<'_>,
    client_id: &str,
    username: Option<&str>,
    password: Option<&str>,
) -> Outcome {
    let mut buf = [0u8; 512];
    let got: Credentials<'_> = get!(provider.sign(&ctx, &mut Scratch::new(&mut buf)));
    ensure_eq!(got.client_id, client_id);
    ensure_eq!(got.username, username);
    ensure_eq!(got.password, password);
    Ok(())
}

mod aliyun {
    pub use iotcloud_aliyun::{Aliyun, SignMethod};
    pub const PK: &str = "123456789";
    pub const DN: &str = "abcdefg";
    pub const DS: &str = "Y877Bgo8X5owd3lcB5wWDjryNPoB";
}

fn aliyun_device() -> Result<aliyun::Aliyun<'static>, ProviderError> {
    use aliyun::*;
    Aliyun::with_secret(PK, DN, DS)
}

fn aliyun_luatos() -> Outcome {
    use aliyun::*;
    for (method, password) in [
        ("hmacmd5", "16CB9B20009795D576E9172CDC820646"),
        ("hmacsha1", "4E5358D2C33CA163BDA58EC994B9E312712230C7"),
        (
            "hmacsha256",
            "2842DC9F2FBA19C671DD3F4D24590D41F91C25FD9BC4E5101951BEA88B7DEACD",
        ),
    ] {
        let a = get!(aliyun_device())
            .with_overrides(PLAIN_TCP)
            .with_sign_method(get!(SignMethod::from_name(method)))
            .with_timestamp(TimestampPolicy::LuatosDefault);
        let mut client_id = heapless::String::<128>::new();
        get!(core::fmt::write(
            &mut client_id,
            format_args!(
                "123456789.abcdefg|securemode=3,signmethod={method},timestamp=32472115200|"
            )
        ));
        expect(
            &a,
            at(None, 7),
            &client_id,
            Some("abcdefg&123456789"),
            Some(password),
        )?;
    }
    Ok(())
}

fn aliyun_fixed_and_tls() -> Outcome {
    use aliyun::*;
    let md5 = get!(aliyun_device())
        .with_overrides(PLAIN_TCP)
        .with_sign_method(SignMethod::HmacMd5)
        .with_timestamp(TimestampPolicy::Fixed(1_700_000_000));
    expect(
        &md5,
        at(None, 7),
        "123456789.abcdefg|securemode=3,signmethod=hmacmd5,timestamp=1700000000|",
        Some("abcdefg&123456789"),
        Some("21FAD88809E6E674A0BC8D43D6FD1889"),
    )?;
    let tls = get!(aliyun_device())
        .with_sign_method(SignMethod::HmacSha1)
        .with_timestamp(TimestampPolicy::Fixed(1_700_000_000));
    ensure!(
        get!(tls.endpoint(&mut Scratch::new(&mut [0u8; 256])))
            .tls
            .is_some()
    );
    expect(
        &tls,
        at(None, 7),
        "123456789.abcdefg|securemode=2,signmethod=hmacsha1,timestamp=1700000000|",
        Some("abcdefg&123456789"),
        Some("501B3E054A929A0158D8E34826A224C1B9E967E3"),
    )
}

fn aliyun_small_scratch() -> Outcome {
    let a = get!(aliyun_device()).with_timestamp(TimestampPolicy::LuatosDefault);
    for size in [0, 16, 64] {
        let mut buf = [0u8; 64];
        let result = a.sign(&at(None, 7), &mut Scratch::new(&mut buf[..size]));
        ensure!(matches!(result, Err(ProviderError::ScratchFull(_))));
    }
    Ok(())
}

fn tencent_luatos() -> Outcome {
    use iotcloud_tencent::{LUATOS_APP_ID, SignMethod, Tencent};
    let t = get!(
        get!(
            get!(Tencent::with_secret(
                "LD8S5J1L07",
                "test",
                "acyv3QDJrRa0fW5UE58KnQ=="
            ))
            .with_app_id(LUATOS_APP_ID)
        )
        .with_conn_id("abcde")
    )
    .with_timestamp(TimestampPolicy::LuatosDefault);
    expect(
        &t,
        at(None, 0),
        "LD8S5J1L07test",
        Some("LD8S5J1L07test;12010126;abcde;32472115200"),
        Some("330d31dbd0758c2429e92b586981346962759a5c8742b5af18fb81a1ecf4e318;hmacsha256"),
    )?;
    let sha1 = t.with_sign_method(get!(SignMethod::from_name("sha1")));
    expect(
        &sha1,
        at(None, 0),
        "LD8S5J1L07test",
        Some("LD8S5J1L07test;12010126;abcde;32472115200"),
        Some("3dc0d946301a04219b1c5ff4446109ad24982539;hmacsha1"),
    )
}

fn tencent_random_conn_id() -> Outcome {
    use iotcloud_tencent::{LUATOS_APP_ID, Tencent};
    // Base-62 digits of the random value, least significant first, spell `abcde`.
    let abcde: u64 = 62 + 2 * 62 * 62 + 3 * 62 * 62 * 62 + 4 * 62 * 62 * 62 * 62;
    let t = get!(
        get!(Tencent::with_secret(
            "LD8S5J1L07",
            "test",
            "acyv3QDJrRa0fW5UE58KnQ=="
        ))
        .with_app_id(LUATOS_APP_ID)
    )
    .with_timestamp(TimestampPolicy::LuatosDefault);
    expect(
        &t,
        at(None, abcde),
        "LD8S5J1L07test",
        Some("LD8S5J1L07test;12010126;abcde;32472115200"),
        Some("330d31dbd0758c2429e92b586981346962759a5c8742b5af18fb81a1ecf4e318;hmacsha256"),
    )
}

const ONENET_KEY: &str = "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=";

fn onenet_luatos() -> Outcome {
    use iotcloud_onenet::{OneNet, SignMethod};
    let prefix = "version=2018-10-31&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200";
    for (method, sign) in [
        ("md5", "htDD26UhXtXayMFAWRmNiA%3D%3D"),
        ("sha1", "onzQlILHFFNqIY%2BdOXYM3lthLT8%3D"),
        ("sha256", "6Y4zbk3Sa89tRf9lMxCCE0jG74uEcEuu%2Fnly1pU9ADM%3D"),
    ] {
        let o = get!(OneNet::with_secret("Ck2AF9QD2K", "test", ONENET_KEY))
            .with_timestamp(TimestampPolicy::LuatosDefault)
            .with_sign_method(get!(SignMethod::from_name(method)));
        let mut token = heapless::String::<192>::new();
        get!(core::fmt::write(
            &mut token,
            format_args!("{prefix}&method={method}&sign={sign}")
        ));
        expect(&o, at(None, 3), "test", Some("Ck2AF9QD2K"), Some(&token))?;
    }
    Ok(())
}

fn onenet_version_2022() -> Outcome {
    use iotcloud_onenet::{OneNet, SignMethod, TokenVersion};
    let o = get!(OneNet::with_secret("Ck2AF9QD2K", "test", ONENET_KEY))
        .with_version(get!(TokenVersion::from_name("2022-05-01")))
        .with_timestamp(TimestampPolicy::LuatosDefault)
        .with_sign_method(get!(SignMethod::from_name("sha256")));
    expect(
        &o,
        at(None, 3),
        "test",
        Some("Ck2AF9QD2K"),
        Some(
            "version=2022-05-01&res=products%2FCk2AF9QD2K%2Fdevices%2Ftest&et=32472115200\
             &method=sha256&sign=N41Pmx3YpLyOoc9jtyCFPJX1etO8MxfcCr7xHYw40ws%3D",
        ),
    )
}

const HUAWEI_ID: &str = "6203cc94c7fb24029b110408_88888888";

fn huawei_luatos() -> Outcome {
    use iotcloud_huawei::{DeviceId, Huawei};
    let h = get!(Huawei::with_secret(
        get!(DeviceId::new(HUAWEI_ID)),
        "123456789"
    ))
    .with_timestamp(TimestampPolicy::LuatosDefault);
    expect(
        &h,
        at(None, 7),
        "6203cc94c7fb24029b110408_88888888_0_0_2999010100",
        Some(HUAWEI_ID),
        Some("5888ea6f4631ce76d621f452e8823507c36dd68a61f6e08518c8935e280c3c72"),
    )
}

fn huawei_clock() -> Outcome {
    use iotcloud_huawei::{DeviceId, Huawei};
    let h = get!(Huawei::with_secret(
        get!(DeviceId::new(HUAWEI_ID)),
        "123456789"
    ));
    // 1700000000 is 2023-11-14 22:13:20 UTC.
    let mut buf = [0u8; 512];
    let c = get!(h.sign(&at(Some(1_700_000_000_999), 7), &mut Scratch::new(&mut buf)));
    ensure_eq!(
        c.client_id,
        "6203cc94c7fb24029b110408_88888888_0_1_2023111422"
    );
    ensure_eq!(c.password.map(str::len), Some(64));
    // Without a clock the default policy signs LuatOS's hour with sign type 0.
    let mut buf = [0u8; 512];
    let c = get!(h.sign(&at(None, 7), &mut Scratch::new(&mut buf)));
    ensure_eq!(
        c.client_id,
        "6203cc94c7fb24029b110408_88888888_0_0_2999010100"
    );
    // The strict policy cannot sign without it.
    let strict = h.with_timestamp(TimestampPolicy::Now);
    let mut buf = [0u8; 512];
    ensure_eq!(
        strict.sign(&at(None, 7), &mut Scratch::new(&mut buf)).err(),
        Some(ProviderError::TimeUnknown)
    );
    Ok(())
}

fn tuya_vectors() -> Outcome {
    use iotcloud_tuya::Tuya;
    let t = get!(Tuya::with_secret(
        "6c95875d0f5ba69607nzfl",
        "fb803786602df760"
    ));
    expect(
        &get!(Tuya::with_secret(
            "6c95875d0f5ba69607nzfl",
            "fb803786602df760"
        ))
        .with_timestamp(TimestampPolicy::LuatosDefault),
        at(None, 7),
        "tuyalink_6c95875d0f5ba69607nzfl",
        Some(
            "6c95875d0f5ba69607nzfl|signMethod=hmacSha256,timestamp=7258089600,secureMode=1,accessType=1",
        ),
        Some("d4e2d498e4195db3ed213b33d662e3b7bf434dc3d5a1f2e63b602ac9248ba72c"),
    )?;
    expect(
        &t,
        at(Some(1_700_000_000_456), 7),
        "tuyalink_6c95875d0f5ba69607nzfl",
        Some(
            "6c95875d0f5ba69607nzfl|signMethod=hmacSha256,timestamp=1700000000,secureMode=1,accessType=1",
        ),
        Some("1560ae9a5d22067b47f6e98347c6e408fd9e9b63cd6c1f354fedbe452b0375db"),
    )
}

fn baidu_vectors() -> Outcome {
    use iotcloud_baidu::{Baidu, ClientId, SignMethod};
    let luatos = |method| -> Result<Baidu<'static>, ProviderError> {
        Ok(
            Baidu::with_secret("abcd123", "mydevice", "ImSeCrEt0I1M2jkl")?
                .with_sign_method(method)
                .with_client_id(ClientId::CoreId)?
                .with_timestamp(TimestampPolicy::LuatosDefault),
        )
    };
    expect(
        &get!(luatos(SignMethod::Md5)),
        at(None, 11),
        "abcd123",
        Some("thingidp@abcd123|mydevice|MD5"),
        Some("22bc75231495220c7a2202fe15f7d286"),
    )?;
    expect(
        &get!(luatos(SignMethod::Sha256)),
        at(None, 11),
        "abcd123",
        Some("thingidp@abcd123|mydevice|SHA256"),
        Some("8b84e00accf874b07c1ac586830d211386294df1d2303d40d19c007c0e937af5"),
    )?;
    let timed = get!(Baidu::with_secret(
        "abcd123",
        "mydevice",
        "ImSeCrEt0I1M2jkl"
    ));
    let mut buf = [0u8; 512];
    let c = get!(timed.sign(
        &at(Some(1_700_000_000_321), 11),
        &mut Scratch::new(&mut buf)
    ));
    ensure_eq!(c.username, Some("thingidp@abcd123|mydevice|1700000000|MD5"));
    ensure_eq!(c.password, Some("c7aa0f9bd88fb5ba4857abc4868921e0"));
    Ok(())
}

fn tlink_credentials() -> Outcome {
    use iotcloud_tlink::Tlink;
    let t = get!(Tlink::with_secret(
        "tlink_account",
        "23L698OJDS0Q1MG4",
        "account-password"
    ));
    for time in [None, Some(1_700_000_000_000)] {
        expect(
            &t,
            at(time, 7),
            "23L698OJDS0Q1MG4",
            Some("tlink_account"),
            Some("account-password"),
        )?;
    }
    Ok(())
}

fn plain_credentials() -> Outcome {
    let p = get!(PlainMqtt::new("broker.local", 1883, "sensor-1")).with_login("user", "secret");
    expect(&p, at(None, 0), "sensor-1", Some("user"), Some("secret"))?;
    let mut host = [0u8; 256];
    let e = get!(p.endpoint(&mut Scratch::new(&mut host)));
    ensure_eq!(
        (e.host, e.port, e.tls.is_none()),
        ("broker.local", 1883, true)
    );
    Ok(())
}
