//! The signing helpers every provider builds on: HMAC and hashes against the RFC vectors,
//! hex, base64, percent-encoding, decimals, secrets, timestamps.

use iotcloud_core::SignContext;
use iotcloud_core::sign::{
    Algorithm, Base64, Decimal, EncodeSet, PercentEncoded, Secret, TimeUnit, TimestampPolicy,
    base64_decode, hash, hmac,
};

use crate::check::{Check, Outcome, text};

pub const CHECKS: &[(&str, Check)] = &[
    ("hmac-md5, rfc 2202 case 2", hmac_md5),
    ("hmac-sha1, rfc 2202 case 2", hmac_sha1),
    ("hmac-sha256, rfc 4231 case 2", hmac_sha256),
    ("hmac over a key longer than a block", hmac_long_key),
    ("md5 and sha-256 of abc", hashes),
    ("aliyun's and huawei's documented macs", documented_macs),
    ("base64 round-trips and refuses garbage", base64_rules),
    ("percent-encoding sets", percent_encoding),
    ("decimals without leading zeros", decimals),
    ("secrets print as <redacted>", secrets),
    ("timestamp policies resolve in the cloud's unit", timestamps),
];

const JEFE: &[&[u8]] = &[b"what do ya want ", b"for nothing?"];

fn hmac_md5() -> Outcome {
    ensure_eq!(
        text(hmac(Algorithm::Md5, b"Jefe", JEFE).hex()).as_str(),
        "750c783e6ab0b503eaa86e310a5db738"
    );
    Ok(())
}

fn hmac_sha1() -> Outcome {
    ensure_eq!(
        text(hmac(Algorithm::Sha1, b"Jefe", JEFE).hex()).as_str(),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    );
    Ok(())
}

fn hmac_sha256() -> Outcome {
    let digest = hmac(Algorithm::Sha256, b"Jefe", JEFE);
    ensure_eq!(digest.as_bytes().len(), 32);
    ensure_eq!(
        text(digest.hex()).as_str(),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    Ok(())
}

fn hmac_long_key() -> Outcome {
    // RFC 4231 test case 6: a 131-byte key of 0xaa, hashed first.
    let key = [0xaau8; 131];
    let digest = hmac(
        Algorithm::Sha256,
        &key,
        &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
    );
    ensure_eq!(
        text(digest.hex()).as_str(),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
    Ok(())
}

fn hashes() -> Outcome {
    ensure_eq!(
        text(hash(Algorithm::Md5, &[b"a", b"bc"]).hex()).as_str(),
        "900150983cd24fb0d6963f7d28e17f72"
    );
    ensure_eq!(
        text(hash(Algorithm::Sha256, &[b"abc"]).hex_upper()).as_str(),
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
    );
    Ok(())
}

fn documented_macs() -> Outcome {
    let aliyun = hmac(
        Algorithm::Sha1,
        b"secret",
        &[b"clientId12345deviceNamedeviceproductKeypktimestamp789"],
    );
    ensure_eq!(
        text(aliyun.hex_upper()).as_str(),
        "FAFD82A3D602B37FB0FA8B7892F24A477F851A14"
    );
    let huawei = hmac(Algorithm::Sha256, b"2025041401", &[b"12345678"]);
    ensure_eq!(
        text(huawei.hex()).as_str(),
        "c75150e6cb841417396819e4d2ee4358a416344a03a083e3a8567074ddec820a"
    );
    Ok(())
}

fn base64_rules() -> Outcome {
    let mut out = [0u8; 64];
    let n = some!(base64_decode("acyv3QDJrRa0fW5UE58KnQ==", &mut out));
    ensure_eq!(n, 16);
    ensure_eq!(text(Base64(&out[..n])).as_str(), "acyv3QDJrRa0fW5UE58KnQ==");
    ensure_eq!(base64_decode("not base64!", &mut out), None);
    ensure_eq!(base64_decode("AAAA", &mut [0u8; 2]), None);
    Ok(())
}

fn percent_encoding() -> Outcome {
    ensure_eq!(
        text(PercentEncoded(
            "products/a b+c=d&e?f#g%",
            EncodeSet::OneNetToken
        ))
        .as_str(),
        "products%2Fa%20b%2Bc%3Dd%26e%3Ff%23g%25"
    );
    ensure_eq!(
        text(PercentEncoded("a-b_c.d~e*f", EncodeSet::Unreserved)).as_str(),
        "a-b_c.d~e%2Af"
    );
    Ok(())
}

fn decimals() -> Outcome {
    ensure_eq!(Decimal::new(0).as_str(), "0");
    ensure_eq!(Decimal::new(32_472_115_200).as_str(), "32472115200");
    ensure_eq!(Decimal::new(u64::MAX).as_str(), "18446744073709551615");
    Ok(())
}

fn secrets() -> Outcome {
    let secret = Secret::new("hunter2");
    ensure_eq!(
        text(format_args!("{secret} {secret:?}")).as_str(),
        "<redacted> <redacted>"
    );
    ensure_eq!(secret.expose(), "hunter2");
    Ok(())
}

fn timestamps() -> Outcome {
    let known = SignContext {
        unix_time_ms: Some(1_700_000_000_123),
        random: 0,
        registered: None,
    };
    let unknown = SignContext::default();
    let now = TimestampPolicy::Now;
    ensure_eq!(
        now.resolve(&known, TimeUnit::Seconds, 0, 1),
        Ok(1_700_000_000)
    );
    ensure_eq!(
        now.resolve(&known, TimeUnit::Millis, 0, 1),
        Ok(1_700_000_000_123)
    );
    ensure_eq!(
        now.resolve(&known, TimeUnit::Seconds, 3600, 1),
        Ok(1_700_003_600)
    );
    ensure!(now.resolve(&unknown, TimeUnit::Seconds, 0, 1).is_err());
    ensure_eq!(
        TimestampPolicy::LuatosDefault.resolve(&unknown, TimeUnit::Seconds, 0, 32_472_115_200),
        Ok(32_472_115_200)
    );
    ensure_eq!(
        TimestampPolicy::Fixed(789).resolve(&unknown, TimeUnit::Millis, 0, 1),
        Ok(789)
    );
    Ok(())
}
