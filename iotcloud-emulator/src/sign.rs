//! The clouds' registration signatures and the Tencent payload cipher, as pure functions.
//!
//! The emulator checks requests by recomputing these; tests (here and in device-side crates)
//! use the same functions to build requests that are valid, stale or subtly wrong on purpose.

use aes::Aes128;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cbc::cipher::block_padding::ZeroPadding;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Digest as _;

use crate::encoding::{hex, url_encode};

/// A digest the clouds combine with HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5 (Aliyun `hmacmd5`, OneNET `md5`).
    Md5,
    /// SHA-1 (`hmacsha1`, `sha1`).
    Sha1,
    /// SHA-256 (`hmacsha256`, `sha256`).
    Sha256,
}

impl Algorithm {
    /// Parses an HMAC name as Tencent and Aliyun write it (`hmacsha256`), ignoring case.
    pub fn from_hmac_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        Self::from_digest_name(lower.strip_prefix("hmac")?)
    }

    /// Parses a digest name as OneNET writes it (`sha256`), ignoring case.
    pub fn from_digest_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "md5" => Some(Self::Md5),
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            _ => None,
        }
    }

    /// The raw digest of `msg`.
    pub fn digest(self, msg: &[u8]) -> Vec<u8> {
        match self {
            Self::Md5 => md5::Md5::digest(msg).to_vec(),
            Self::Sha1 => sha1::Sha1::digest(msg).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(msg).to_vec(),
        }
    }

    /// The raw HMAC of `msg` under `key` (any key length is valid for HMAC).
    pub fn hmac(self, key: &[u8], msg: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
            match <M as KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(msg);
                    mac.finalize().into_bytes().to_vec()
                }
                // HMAC accepts keys of every length; this arm is unreachable in practice.
                Err(_) => Vec::new(),
            }
        }
        match self {
            Self::Md5 => run::<Hmac<md5::Md5>>(key, msg),
            Self::Sha1 => run::<Hmac<sha1::Sha1>>(key, msg),
            Self::Sha256 => run::<Hmac<sha2::Sha256>>(key, msg),
        }
    }
}

/// Tencent `/device/register` seven-line StringToSign (clouds-official §2.3.1).
///
/// `algorithm`, `timestamp` and `nonce` are the header values verbatim; the last line hashes
/// `body` with the digest the algorithm names. `None` if `algorithm` is neither `hmacsha1`
/// nor `hmacsha256`.
pub fn tencent_string_to_sign(
    host: &str,
    path: &str,
    algorithm: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Option<String> {
    let alg = tencent_algorithm(algorithm)?;
    let body_hash = hex(&alg.digest(body));
    Some(format!(
        "POST\n{host}\n{path}\n\n{algorithm}\n{timestamp}\n{nonce}\n{body_hash}"
    ))
}

/// Tencent `/device/register` `X-TC-Signature`: base64 of the raw HMAC of the StringToSign.
///
/// `None` if `algorithm` is neither `hmacsha1` nor `hmacsha256`.
pub fn tencent_register_signature(
    product_secret: &str,
    host: &str,
    algorithm: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> Option<String> {
    let alg = tencent_algorithm(algorithm)?;
    let sts = tencent_string_to_sign(host, "/device/register", algorithm, timestamp, nonce, body)?;
    Some(B64.encode(alg.hmac(product_secret.as_bytes(), sts.as_bytes())))
}

fn tencent_algorithm(name: &str) -> Option<Algorithm> {
    match Algorithm::from_hmac_name(name)? {
        Algorithm::Md5 => None,
        alg => Some(alg),
    }
}

/// Tencent legacy `/register/dev` signature: base64 of the lower-case **hex** HMAC-SHA1 of
/// `deviceName=…&nonce=…&productId=…&timestamp=…` (luatos-iotcloud §3.1).
pub fn tencent_legacy_signature(
    product_secret: &str,
    device_name: &str,
    nonce: &str,
    product_id: &str,
    timestamp: &str,
) -> String {
    let msg = format!(
        "deviceName={device_name}&nonce={nonce}&productId={product_id}&timestamp={timestamp}"
    );
    let mac = Algorithm::Sha1.hmac(product_secret.as_bytes(), msg.as_bytes());
    B64.encode(hex(&mac))
}

/// Tencent payload key: the first 16 bytes of the product secret, zero-filled if shorter
/// (as Tencent's SDKs do).
fn tencent_key(product_secret: &str) -> [u8; 16] {
    let mut key = [0u8; 16];
    let bytes = product_secret.as_bytes();
    let n = bytes.len().min(16);
    key[..n].copy_from_slice(&bytes[..n]);
    key
}

/// The IV of Tencent's payload cipher: sixteen ASCII `'0'` (0x30), not zero bytes.
const TENCENT_IV: [u8; 16] = [b'0'; 16];

/// Encrypts a registration answer as Tencent does: AES-128-CBC, zero padding, base64.
pub fn tencent_encrypt_payload(product_secret: &str, plaintext: &[u8]) -> String {
    let key = tencent_key(product_secret);
    let ct = cbc::Encryptor::<Aes128>::new(&key.into(), &TENCENT_IV.into())
        .encrypt_padded_vec::<ZeroPadding>(plaintext);
    B64.encode(ct)
}

/// Why a Tencent payload could not be decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadError {
    /// The payload is not valid base64.
    Base64,
    /// The ciphertext is empty or not a multiple of the 16-byte block.
    BlockLength,
}

/// Decrypts a Tencent registration payload and strips the zero padding.
///
/// # Errors
/// [`PayloadError`] when the payload is not base64 or not whole AES blocks.
pub fn tencent_decrypt_payload(
    product_secret: &str,
    payload: &str,
) -> Result<Vec<u8>, PayloadError> {
    let ct = B64.decode(payload).map_err(|_| PayloadError::Base64)?;
    if ct.is_empty() || ct.len() % 16 != 0 {
        return Err(PayloadError::BlockLength);
    }
    let key = tencent_key(product_secret);
    cbc::Decryptor::<Aes128>::new(&key.into(), &TENCENT_IV.into())
        .decrypt_padded_vec::<ZeroPadding>(&ct)
        .map_err(|_| PayloadError::BlockLength)
}

/// Aliyun registration `sign`: lower-case hex HMAC of
/// `"deviceName" ‖ dn ‖ "productKey" ‖ pk ‖ "random" ‖ random` (clouds-official §1.5).
pub fn aliyun_register_sign(
    alg: Algorithm,
    product_secret: &str,
    product_key: &str,
    device_name: &str,
    random: &str,
) -> String {
    let msg = format!("deviceName{device_name}productKey{product_key}random{random}");
    hex(&alg.hmac(product_secret.as_bytes(), msg.as_bytes()))
}

/// OneNET token `sign` (unencoded): base64 of the raw HMAC, keyed with the base64-decoded
/// access key, of `et ‖ "\n" ‖ method ‖ "\n" ‖ res ‖ "\n" ‖ version` (clouds-official §3.2).
///
/// `method` is used verbatim in the message, so its case matters. `None` if the key is not
/// base64 or the method is not md5, sha1 or sha256.
pub fn onenet_sign(
    access_key: &str,
    version: &str,
    res: &str,
    et: &str,
    method: &str,
) -> Option<String> {
    let alg = Algorithm::from_digest_name(method)?;
    let key = B64.decode(access_key).ok()?;
    let msg = format!("{et}\n{method}\n{res}\n{version}");
    Some(B64.encode(alg.hmac(&key, msg.as_bytes())))
}

/// A complete OneNET `authorization` token with `res` and `sign` percent-encoded.
///
/// `None` under the same conditions as [`onenet_sign`].
pub fn onenet_token(
    access_key: &str,
    version: &str,
    res: &str,
    et: &str,
    method: &str,
) -> Option<String> {
    let sign = onenet_sign(access_key, version, res, et, method)?;
    Some(format!(
        "version={version}&res={}&et={et}&method={method}&sign={}",
        url_encode(res),
        url_encode(&sign)
    ))
}

/// Deterministic stand-in for a secret the cloud generates: `len` bytes derived from `parts`.
pub(crate) fn derive_bytes(parts: &[&str], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut counter = 0u32;
    while out.len() < len {
        let msg = format!("{}#{counter}", parts.join("/"));
        out.extend(Algorithm::Sha256.hmac(b"iotcloud-emulator", msg.as_bytes()));
        counter += 1;
    }
    out.truncate(len);
    out
}

/// Base64 of [`derive_bytes`].
pub(crate) fn derive_base64(parts: &[&str], len: usize) -> String {
    B64.encode(derive_bytes(parts, len))
}

/// Hex of [`derive_bytes`].
pub(crate) fn derive_hex(parts: &[&str], len: usize) -> String {
    hex(&derive_bytes(parts, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    // luatos-iotcloud.md §6 "Tencent registration signature".
    #[test]
    fn tencent_legacy_signature_matches_the_luatos_vector() {
        let sig = tencent_legacy_signature(
            "vGGwnSkyM4eD5ddbNrQoGJox",
            "869329069169988",
            "42",
            "ZAJCHA24SH",
            "1700000000",
        );
        assert_eq!(
            sig,
            "YjNiZjg5Y2E1NjU5NTA2YjlkYTlkOWM0NjNhMTUyNWFiMGE5ZmNkNQ=="
        );
        let hex_text = B64.decode(&sig).unwrap();
        assert_eq!(hex_text, b"b3bf89ca5659506b9da9d9c463a1525ab0a9fcd5");
    }

    // luatos-iotcloud.md §6 "Tencent registration payload decryption".
    #[test]
    fn tencent_payload_decrypts_the_luatos_vector() {
        let payload = "Iz78oEUYqS/KeCpEONRHLnMNimI12TmctcvQdPwKARalfznUB8bABRPgZw7MXto2U4AwnXeR2fR8JSJnj9a+kg==";
        let plain = tencent_decrypt_payload("vGGwnSkyM4eD5ddbNrQoGJox", payload).unwrap();
        assert_eq!(
            plain,
            br#"{"encryptionType":2,"psk":"xNWcxDX0qzSM74oFteehvw=="}"#
        );
    }

    #[test]
    fn tencent_payload_round_trips_and_encrypts_the_luatos_vector() {
        let plain = br#"{"encryptionType":2,"psk":"xNWcxDX0qzSM74oFteehvw=="}"#;
        let payload = tencent_encrypt_payload("vGGwnSkyM4eD5ddbNrQoGJox", plain);
        assert_eq!(
            payload,
            "Iz78oEUYqS/KeCpEONRHLnMNimI12TmctcvQdPwKARalfznUB8bABRPgZw7MXto2U4AwnXeR2fR8JSJnj9a+kg=="
        );
        assert_eq!(
            tencent_decrypt_payload("vGGwnSkyM4eD5ddbNrQoGJox", &payload).unwrap(),
            plain
        );
    }

    #[test]
    fn tencent_payload_rejects_partial_blocks_and_bad_base64() {
        assert_eq!(
            tencent_decrypt_payload("k", "AAAA"),
            Err(PayloadError::BlockLength)
        );
        assert_eq!(
            tencent_decrypt_payload("k", "!!"),
            Err(PayloadError::Base64)
        );
    }

    #[test]
    fn tencent_short_secret_is_zero_filled_to_sixteen_bytes() {
        let payload = tencent_encrypt_payload("short", b"{}");
        let mut key = [0u8; 16];
        key[..5].copy_from_slice(b"short");
        assert_eq!(tencent_key("short"), key);
        assert_eq!(tencent_decrypt_payload("short", &payload).unwrap(), b"{}");
    }

    #[test]
    fn tencent_string_to_sign_has_seven_lines_and_hashes_the_body() {
        let sts =
            tencent_string_to_sign("h", "/device/register", "hmacsha1", "1", "2", b"").unwrap();
        assert_eq!(
            sts,
            "POST\nh\n/device/register\n\nhmacsha1\n1\n2\nda39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert!(tencent_string_to_sign("h", "/", "hmacmd5", "1", "2", b"").is_none());
    }

    // luatos-iotcloud.md §6 "Aliyun registration password" (same HMAC as the HTTPS sign).
    #[test]
    fn aliyun_sign_matches_the_luatos_vector() {
        let sign = aliyun_register_sign(
            Algorithm::Sha1,
            "AbCdEfGhIjKlMnOp",
            "a1B2c3D4e5f",
            "869329069169988",
            "123",
        );
        assert_eq!(sign, "b0dda928277474ce8dc1e79579c407d8863881e6");
    }

    // luatos-iotcloud.md §6 "OneNET registration token".
    #[test]
    fn onenet_token_matches_the_luatos_vector() {
        let key = "pk1M3FKXBvvmjF8If/xDfSFFmr96NZCEg00sxlLBMjjh9vOD5hpIs42rmAYnMh5b3m9B1+0rmYdqzUyoQVrxow==";
        let token =
            onenet_token(key, "2022-05-01", "userid/226691", "2051193600", "SHA256").unwrap();
        assert_eq!(
            token,
            "version=2022-05-01&res=userid%2F226691&et=2051193600&method=SHA256&sign=B9kBGKNvGydawltWLW8wfF9PNKdU2Ygzxt6foq7AI9Q%3D"
        );
    }

    // luatos-iotcloud.md §6 OneNET `iotauth.onenet` md5 row (same token algorithm).
    #[test]
    fn onenet_sign_matches_the_device_token_vector() {
        let sign = onenet_sign(
            "KuF3NT/jUBJ62LNBB/A8XZA9CqS3Cu79B/ABmfA1UCw=",
            "2018-10-31",
            "products/Ck2AF9QD2K/devices/test",
            "32472115200",
            "md5",
        );
        assert_eq!(sign.as_deref(), Some("htDD26UhXtXayMFAWRmNiA=="));
    }

    #[test]
    fn algorithm_names_parse_case_insensitively() {
        assert_eq!(
            Algorithm::from_hmac_name("HmacSha256"),
            Some(Algorithm::Sha256)
        );
        assert_eq!(Algorithm::from_hmac_name("hmacmd5"), Some(Algorithm::Md5));
        assert_eq!(Algorithm::from_hmac_name("sha1"), None);
        assert_eq!(Algorithm::from_digest_name("SHA1"), Some(Algorithm::Sha1));
        assert_eq!(Algorithm::from_digest_name("sha512"), None);
    }
}
