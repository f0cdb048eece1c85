//! Building blocks for cloud credentials: MACs and hashes over several parts, hex, base64,
//! percent-encoding, secrets that never print, and the timestamp policy.
//!
//! Every function writes into a caller's buffer or a [`fmt::Write`]; nothing allocates.

use core::fmt::{self, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::provider::{ProviderError, SignContext};

/// A digest or MAC value (up to 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    bytes: [u8; 32],
    len: usize,
}

impl Digest {
    #[cfg(any(feature = "md5", feature = "sha1"))]
    fn from_slice(s: &[u8]) -> Digest {
        let mut bytes = [0u8; 32];
        let len = s.len().min(32);
        bytes[..len].copy_from_slice(&s[..len]);
        Digest { bytes, len }
    }

    /// The raw bytes: 16 for MD5, 20 for SHA-1, 32 for SHA-256. Always the full length,
    /// zero bytes included (a `strlen` on this is the bug LuatOS fixed several times).
    pub fn as_bytes(&self) -> &[u8] {
        // `len` is at most 32.
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }

    /// Lower-case hex.
    pub fn hex(&self) -> Hex<'_> {
        Hex(self.as_bytes(), false)
    }

    /// Upper-case hex.
    pub fn hex_upper(&self) -> Hex<'_> {
        Hex(self.as_bytes(), true)
    }

    /// Standard base64 with padding.
    pub fn base64(&self) -> Base64<'_> {
        Base64(self.as_bytes())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.hex())
    }
}

/// A hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Algorithm {
    /// MD5 (16 bytes).
    Md5,
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
}

impl Algorithm {
    /// Output length in bytes.
    pub fn len(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
        }
    }

    /// Never true: every algorithm has output.
    pub fn is_empty(self) -> bool {
        false
    }
}

impl Algorithm {
    /// Whether this build of the core has the algorithm (cargo features `md5`, `sha1`,
    /// `sha256`).
    pub const fn is_enabled(self) -> bool {
        match self {
            Algorithm::Md5 => cfg!(feature = "md5"),
            Algorithm::Sha1 => cfg!(feature = "sha1"),
            Algorithm::Sha256 => cfg!(feature = "sha256"),
        }
    }

    /// The algorithm, if this build has it; otherwise [`ProviderError::Unsupported`] naming
    /// the cargo feature that brings it. Providers call this when a configuration chooses
    /// its signing method, so that the refusal comes before any connection attempt.
    pub const fn enabled(self) -> Result<Algorithm, ProviderError> {
        if self.is_enabled() {
            Ok(self)
        } else {
            Err(self.unavailable())
        }
    }

    /// The refusal for an algorithm this build does not have.
    const fn unavailable(self) -> ProviderError {
        ProviderError::Unsupported(match self {
            Algorithm::Md5 => "MD5 (iotcloud-core built without its `md5` feature)",
            Algorithm::Sha1 => "SHA-1 (iotcloud-core built without its `sha1` feature)",
            Algorithm::Sha256 => "SHA-256 (iotcloud-core built without its `sha256` feature)",
        })
    }
}

/// The block size of MD5, SHA-1 and SHA-256, which HMAC pads its key to.
#[cfg(any(feature = "md5", feature = "sha1", feature = "sha256"))]
const MAC_BLOCK: usize = 64;

/// HMAC (RFC 2104) of the concatenation of `parts`: `H((K ^ opad) || H((K ^ ipad) || m))`,
/// with a key longer than a block hashed first.
///
/// Written over the hash rather than with the `hmac` crate, which keeps the inner and
/// outer states side by side: this runs one hash at a time and reuses the padded key, which
/// takes less flash and stack on a small device (the README's footprint steps). The tests
/// check it against the `hmac` crate for random keys and messages.
#[cfg(any(feature = "md5", feature = "sha1", feature = "sha256"))]
fn mac_parts<H: Hasher>(key: &[u8], parts: &[&[u8]]) -> Digest {
    let hashed;
    let key = if key.len() > MAC_BLOCK {
        hashed = H::digest(&[key]);
        hashed.as_bytes()
    } else {
        key
    };
    // The key, at most a block, padded with zeros.
    let mut block = [0u8; MAC_BLOCK];
    for (b, k) in block.iter_mut().zip(key) {
        *b = *k;
    }
    block.iter_mut().for_each(|b| *b ^= 0x36);
    let mut hasher = H::start();
    hasher.feed(&block);
    for p in parts {
        hasher.feed(p);
    }
    let inner = hasher.finish();
    block.iter_mut().for_each(|b| *b ^= 0x36 ^ 0x5c);
    let mut hasher = H::start();
    hasher.feed(&block);
    hasher.feed(inner.as_bytes());
    hasher.finish()
}

/// A hash function, as HMAC and [`hash`] use it.
#[cfg(any(feature = "md5", feature = "sha1", feature = "sha256"))]
trait Hasher: Sized {
    fn start() -> Self;
    fn feed(&mut self, data: &[u8]);
    /// The hash of what was fed. By reference: a hasher's state is not copied to end it.
    fn finish(&mut self) -> Digest;

    /// The hash of the concatenation of `parts`.
    fn digest(parts: &[&[u8]]) -> Digest {
        let mut h = Self::start();
        for p in parts {
            h.feed(p);
        }
        h.finish()
    }
}

/// MD5 and SHA-1: the RustCrypto hashers.
#[cfg(any(feature = "md5", feature = "sha1"))]
macro_rules! rustcrypto_hasher {
    ($t:ty) => {
        impl Hasher for $t {
            fn start() -> Self {
                <Self as sha2::Digest>::new()
            }
            fn feed(&mut self, data: &[u8]) {
                sha2::Digest::update(self, data);
            }
            fn finish(&mut self) -> Digest {
                Digest::from_slice(&sha2::Digest::finalize_reset(self))
            }
        }
    };
}
#[cfg(feature = "md5")]
rustcrypto_hasher!(md5::Md5);
#[cfg(feature = "sha1")]
rustcrypto_hasher!(sha1::Sha1);

/// SHA-256 (FIPS 180-4) over the `sha2` crate's compression function. Its `Sha256` pads
/// through a generic block buffer that links three `memset` variants and more than
/// half a kilobyte of code besides the compression; signing needs only this. The tests
/// check it against `sha2::Sha256`.
// Aligned to 4 rather than to the `u64`'s 8: the block is then cleared with the
// `memclr` a device already links, not an 8-aligned variant of it.
#[cfg(feature = "sha256")]
#[repr(C, packed(4))]
struct Sha256 {
    state: [u32; 8],
    /// The bytes of the block not compressed yet: `len % 64` of them.
    block: [u8; 64],
    /// Bytes fed so far.
    len: u64,
}

#[cfg(feature = "sha256")]
impl Hasher for Sha256 {
    // Not inlined: HMAC starts three hashes.
    #[inline(never)]
    fn start() -> Self {
        Sha256 {
            state: [
                0x6a09_e667,
                0xbb67_ae85,
                0x3c6e_f372,
                0xa54f_f53a,
                0x510e_527f,
                0x9b05_688c,
                0x1f83_d9ab,
                0x5be0_cd19,
            ],
            block: [0; 64],
            len: 0,
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let used = self.len as usize % 64;
            let n = (64 - used).min(data.len());
            let (now, rest) = data.split_at(n);
            self.block[used..used + n].copy_from_slice(now);
            self.len += n as u64;
            data = rest;
            if used + n == 64 {
                let block = core::slice::from_ref(&self.block);
                sha2::block_api::compress256(&mut self.state, block);
            }
        }
    }

    fn finish(&mut self) -> Digest {
        let bits = self.len << 3;
        // 0x80, zeros up to 8 bytes short of a block's end, the length in bits.
        let used = self.len as usize % 64;
        let zeros = (64 + 56 - 1 - used) % 64;
        self.feed(&[0x80]);
        self.feed(&[0; 64][..zeros]);
        self.feed(&bits.to_be_bytes());
        let mut bytes = [0u8; 32];
        for (out, word) in bytes.chunks_exact_mut(4).zip(self.state) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        Digest { bytes, len: 32 }
    }
}

/// HMAC of the concatenation of `parts` under `key`.
///
/// Fails only for an algorithm this build does not have (see [`Algorithm::enabled`]).
pub fn hmac(alg: Algorithm, key: &[u8], parts: &[&[u8]]) -> Result<Digest, ProviderError> {
    match alg {
        #[cfg(feature = "md5")]
        Algorithm::Md5 => Ok(mac_parts::<md5::Md5>(key, parts)),
        #[cfg(feature = "sha1")]
        Algorithm::Sha1 => Ok(mac_parts::<sha1::Sha1>(key, parts)),
        #[cfg(feature = "sha256")]
        Algorithm::Sha256 => Ok(mac_parts::<Sha256>(key, parts)),
        #[allow(unreachable_patterns)]
        _ => {
            let _ = (key, parts);
            Err(alg.unavailable())
        }
    }
}

/// Plain hash of the concatenation of `parts`.
///
/// Fails only for an algorithm this build does not have (see [`Algorithm::enabled`]).
pub fn hash(alg: Algorithm, parts: &[&[u8]]) -> Result<Digest, ProviderError> {
    match alg {
        #[cfg(feature = "md5")]
        Algorithm::Md5 => Ok(md5::Md5::digest(parts)),
        #[cfg(feature = "sha1")]
        Algorithm::Sha1 => Ok(sha1::Sha1::digest(parts)),
        #[cfg(feature = "sha256")]
        Algorithm::Sha256 => Ok(Sha256::digest(parts)),
        #[allow(unreachable_patterns)]
        _ => {
            let _ = parts;
            Err(alg.unavailable())
        }
    }
}

/// Bytes shown as hex when formatted.
#[derive(Clone, Copy)]
pub struct Hex<'a>(&'a [u8], bool);

impl<'a> Hex<'a> {
    /// Lower-case hex of `bytes`.
    pub fn lower(bytes: &'a [u8]) -> Self {
        Hex(bytes, false)
    }

    /// Upper-case hex of `bytes`.
    pub fn upper(bytes: &'a [u8]) -> Self {
        Hex(bytes, true)
    }
}

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits: &[u8; 16] = if self.1 {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        for b in self.0 {
            f.write_char(char::from(digits[usize::from(b >> 4)]))?;
            f.write_char(char::from(digits[usize::from(b & 0x0f)]))?;
        }
        Ok(())
    }
}

/// Bytes shown as standard base64 (with padding) when formatted.
#[derive(Clone, Copy)]
pub struct Base64<'a>(pub &'a [u8]);

impl fmt::Display for Base64<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; 64];
        // 48 input bytes make 64 output characters; go in such chunks.
        for chunk in self.0.chunks(48) {
            let n = STANDARD
                .encode_slice(chunk, &mut out)
                .map_err(|_| fmt::Error)?;
            f.write_str(core::str::from_utf8(&out[..n]).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

/// Decodes standard base64 (with padding) into `out`; `None` if `input` is not valid
/// base64 or does not fit.
pub fn base64_decode(input: &str, out: &mut [u8]) -> Option<usize> {
    STANDARD.decode_slice(input.as_bytes(), out).ok()
}

/// `n / D` and `n % D`, with 32-bit operations only: the Cortex-M3 divides 32-bit numbers
/// in hardware but 64-bit ones with a library routine of about 900 bytes of code. Long
/// division in 16-bit digits: each step divides a number below `D · 2^16`, which fits in 32
/// bits.
pub(crate) fn div_rem<const D: u16>(n: u64) -> (u64, u16) {
    // Non-zero, so the divisions need no check for zero.
    let d = const {
        match core::num::NonZeroU32::new(D as u32) {
            Some(d) => d,
            None => panic!("division by zero"),
        }
    };
    // The digits come from the two 32-bit halves, and the quotient's go back into them:
    // shifting a `u64` by a variable amount would call library routines too.
    let (high, low) = ((n >> 32) as u32, n as u32);
    let mut rest = 0u32;
    let mut step = |digit: u32| {
        let current = (rest << 16) | digit;
        rest = current % d;
        // Below 2^16: `current` is below `d · 2^16`.
        current / d
    };
    let q3 = step(high >> 16);
    let q2 = step(high & 0xffff);
    let q1 = step(low >> 16);
    let q0 = step(low & 0xffff);
    let quotient = (u64::from((q3 << 16) | q2) << 32) | u64::from((q1 << 16) | q0);
    // `rest` is below `D`, a `u16`.
    (quotient, rest as u16)
}

/// A `u64` in decimal, on the stack: for numbers (timestamps, expiries) that go into a signed
/// text as bytes. Twenty digits hold any `u64`, so making one cannot fail.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    /// `n` in decimal, without leading zeros.
    pub fn new(n: u64) -> Self {
        // Only the digits from `start` on are ever read.
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = n;
        // From the last digit back; twenty hold any `u64`, so the loop always breaks.
        for slot in digits.iter_mut().rev() {
            let (quotient, digit) = div_rem::<10>(rest);
            // `digit` is below 10.
            *slot = b'0' + digit as u8;
            start -= 1;
            rest = quotient;
            if rest == 0 {
                break;
            }
        }
        Decimal { digits, start }
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits were written, so this cannot fail.
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The digits as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        // `start` is at most 19.
        self.digits.get(self.start..).unwrap_or_default()
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which characters percent-encoding replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeSet {
    /// Only `+`, space, `/`, `?`, `%`, `#`, `&` and `=`: what OneNET's token format needs
    /// (and what LuatOS encodes).
    OneNetToken,
    /// Everything but `A–Z a–z 0–9 - . _ ~` (RFC 3986 unreserved).
    Unreserved,
}

/// `s` percent-encoded with upper-case hex digits when formatted.
#[derive(Clone, Copy)]
pub struct PercentEncoded<'a>(pub &'a str, pub EncodeSet);

impl fmt::Display for PercentEncoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.bytes() {
            let keep = match self.1 {
                EncodeSet::OneNetToken => !b" /?%#&=+".contains(&b),
                EncodeSet::Unreserved => b.is_ascii_alphanumeric() || b"-._~".contains(&b),
            };
            if keep {
                f.write_char(char::from(b))?;
            } else {
                write!(f, "%{b:02X}")?;
            }
        }
        Ok(())
    }
}

/// A secret configuration value (device secret, product secret, password). `Debug` and
/// `Display` show `<redacted>`; [`Secret::expose`] gives the value to signing code.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Secret<'a>(&'a str);

impl<'a> Secret<'a> {
    /// Wraps a secret.
    pub const fn new(s: &'a str) -> Self {
        Secret(s)
    }

    /// The secret itself, for signing.
    pub fn expose(&self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Which timestamp a signature carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampPolicy {
    /// The clock's current time while the device knows it (exactly as [`Now`](Self::Now));
    /// while it does not, the form the cloud accepts without a clock, so that a module
    /// that never gets network time still logs in (default). Each provider documents its
    /// clockless form: no timestamp where the cloud makes it optional (Aliyun, Baidu), a
    /// far-future expiry where the cloud wants one (Tencent, OneNET), Huawei's unchecked
    /// sign type, and a far-future timestamp for Tuya. Flows that cannot do without real
    /// time (Tencent dynamic registration, OneNET's registration token) still fail with
    /// [`ProviderError::TimeUnknown`].
    #[default]
    Auto,
    /// The clock's current time, strictly: signing fails with
    /// [`ProviderError::TimeUnknown`] while the device does not know the time.
    Now,
    /// The far-future constant LuatOS signs with, for modules that never get network time:
    /// the credentials then never expire (and carry no freshness).
    LuatosDefault,
    /// This exact value, in the unit the cloud uses in that field.
    Fixed(u64),
}

/// The unit a cloud writes its timestamp in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Seconds since the Unix epoch.
    Seconds,
    /// Milliseconds since the Unix epoch.
    Millis,
}

impl TimestampPolicy {
    /// The timestamp to sign with: the clock's time plus `offset_secs` (for clouds that want
    /// an expiry time rather than the current time) in `unit`, LuatOS's constant `luatos`,
    /// or the fixed value.
    ///
    /// [`Auto`](Self::Auto) resolves as [`Now`](Self::Now) here, failing with
    /// [`ProviderError::TimeUnknown`] without a clock; providers that have a clockless
    /// form call [`resolve_or_clockless`](Self::resolve_or_clockless) instead.
    pub fn resolve(
        &self,
        ctx: &SignContext,
        unit: TimeUnit,
        offset_secs: u64,
        luatos: u64,
    ) -> Result<u64, ProviderError> {
        match *self {
            TimestampPolicy::Auto | TimestampPolicy::Now => {
                let ms = ctx.unix_time_ms.ok_or(ProviderError::TimeUnknown)?;
                let ms = ms.saturating_add(offset_secs.saturating_mul(1000));
                Ok(match unit {
                    TimeUnit::Seconds => div_rem::<1000>(ms).0,
                    TimeUnit::Millis => ms,
                })
            }
            TimestampPolicy::LuatosDefault => Ok(luatos),
            TimestampPolicy::Fixed(v) => Ok(v),
        }
    }

    /// As [`resolve`](Self::resolve), but `Ok(None)` when the policy is
    /// [`Auto`](Self::Auto) and the device does not know the time: the caller then signs
    /// its cloud's clockless form. Every other case gives what `resolve` gives.
    pub fn resolve_or_clockless(
        &self,
        ctx: &SignContext,
        unit: TimeUnit,
        offset_secs: u64,
        luatos: u64,
    ) -> Result<Option<u64>, ProviderError> {
        if self.is_clockless(ctx) {
            return Ok(None);
        }
        self.resolve(ctx, unit, offset_secs, luatos).map(Some)
    }

    /// Whether signing under this policy takes the cloud's clockless form: the policy is
    /// [`Auto`](Self::Auto) and `ctx` has no time.
    pub fn is_clockless(&self, ctx: &SignContext) -> bool {
        *self == TimestampPolicy::Auto && ctx.unix_time_ms.is_none()
    }
}

/// A `fmt::Write` that only counts, to size buffers before writing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counter(pub usize);

impl Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Checks an identifier a cloud builds topics and client ids from: not empty, at most
/// `max` bytes, and none of `/`, `+`, `#`, NUL (which would change a topic's meaning).
pub fn check_identifier(key: &'static str, value: &str, max: usize) -> Result<(), ProviderError> {
    if value.is_empty() {
        return Err(ProviderError::MissingKey(key));
    }
    if value.len() > max {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "longer than the cloud allows",
        });
    }
    if value.bytes().any(|b| matches!(b, b'/' | b'+' | b'#' | 0)) {
        return Err(ProviderError::InvalidValue {
            key,
            reason: "contains `/`, `+`, `#` or NUL",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::{String, ToString};

    fn s(x: impl fmt::Display) -> String {
        x.to_string()
    }

    #[test]
    fn decimals_hold_every_u64_without_leading_zeros() {
        for n in [0, 7, 10, 1_700_000_000, 32_472_115_200, u64::MAX] {
            let d = Decimal::new(n);
            assert_eq!(d.as_str(), n.to_string());
            assert_eq!(d.as_bytes(), n.to_string().as_bytes());
            assert_eq!(s(d), n.to_string());
        }
    }

    #[test]
    fn division_in_16_bit_digits_matches_u64_division() {
        let mut n: u64 = 0x9e37_79b9_7f4a_7c15;
        let samples = [
            0,
            1,
            9,
            10,
            65_535,
            65_536,
            999_999,
            u64::from(u32::MAX),
            u64::MAX,
        ];
        for _ in 0..1000 {
            n = n.rotate_left(7).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            assert_eq!(div_rem::<10>(n), (n / 10, (n % 10) as u16));
            assert_eq!(div_rem::<1000>(n), (n / 1000, (n % 1000) as u16));
            assert_eq!(div_rem::<65_535>(n), (n / 65_535, (n % 65_535) as u16));
        }
        for n in samples {
            assert_eq!(div_rem::<10>(n), (n / 10, (n % 10) as u16));
            assert_eq!(div_rem::<1000>(n), (n / 1000, (n % 1000) as u16));
            assert_eq!(div_rem::<1>(n), (n, 0));
        }
    }

    #[test]
    fn rfc_2202_and_4231_vectors() {
        // RFC 2202 test case 2 (HMAC-MD5, HMAC-SHA1) and RFC 4231 test case 2 (SHA-256).
        let msg: &[&[u8]] = &[b"what do ya want ", b"for nothing?"];
        assert_eq!(
            s(hmac(Algorithm::Md5, b"Jefe", msg).unwrap().hex()),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        assert_eq!(
            s(hmac(Algorithm::Sha1, b"Jefe", msg).unwrap().hex()),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            s(hmac(Algorithm::Sha256, b"Jefe", msg).unwrap().hex()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            s(hash(Algorithm::Md5, &[b"a", b"bc"]).unwrap().hex()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            s(hash(Algorithm::Sha256, &[b"abc"]).unwrap().hex_upper()),
            "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
        );
    }

    #[test]
    fn keys_longer_than_a_block_are_hashed_first() {
        // RFC 2202 test case 6 (80-byte key) and RFC 4231 test case 6 (131-byte key).
        let msg: &[&[u8]] = &[b"Test Using Larger Than Block-Size Key - Hash Key First"];
        assert_eq!(
            s(hmac(Algorithm::Md5, &[0xaa; 80], msg).unwrap().hex()),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
        assert_eq!(
            s(hmac(Algorithm::Sha1, &[0xaa; 80], msg).unwrap().hex()),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
        assert_eq!(
            s(hmac(Algorithm::Sha256, &[0xaa; 131], msg).unwrap().hex()),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    proptest::proptest! {
        /// The same MAC as the `hmac` crate, for keys shorter than, as long as and longer
        /// than a block, and messages in any number of parts.
        #[test]
        fn agrees_with_the_hmac_crate(
            key in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            msg in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            cut in 0usize..300,
        ) {
            use hmac::{Hmac, KeyInit, Mac};
            fn reference<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> std::vec::Vec<u8> {
                let mut mac = <M as KeyInit>::new_from_slice(key).unwrap();
                mac.update(msg);
                mac.finalize().into_bytes().to_vec()
            }
            let (a, b) = msg.split_at(cut.min(msg.len()));
            let parts: &[&[u8]] = &[a, b];
            let ours = hmac(Algorithm::Md5, &key, parts).unwrap();
            proptest::prop_assert_eq!(ours.as_bytes(), &reference::<Hmac<md5::Md5>>(&key, &msg)[..]);
            let ours = hmac(Algorithm::Sha1, &key, parts).unwrap();
            proptest::prop_assert_eq!(ours.as_bytes(), &reference::<Hmac<sha1::Sha1>>(&key, &msg)[..]);
            let ours = hmac(Algorithm::Sha256, &key, parts).unwrap();
            proptest::prop_assert_eq!(ours.as_bytes(), &reference::<Hmac<sha2::Sha256>>(&key, &msg)[..]);
        }

        /// Our SHA-256 gives the `sha2` crate's hash for every length around the padding
        /// boundaries (55, 56, 63, 64 bytes and their multiples), fed in three parts.
        #[test]
        fn sha256_agrees_with_the_sha2_crate(
            msg in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            cut1 in 0usize..300,
            cut2 in 0usize..300,
        ) {
            use sha2::Digest as _;
            let (a, rest) = msg.split_at(cut1.min(msg.len()));
            let (b, c) = rest.split_at(cut2.min(rest.len()));
            let ours = hash(Algorithm::Sha256, &[a, b, c]).unwrap();
            proptest::prop_assert_eq!(ours.as_bytes(), &sha2::Sha256::digest(&msg)[..]);
        }
    }

    #[test]
    fn sha256_agrees_with_the_sha2_crate_at_every_length_up_to_three_blocks() {
        use sha2::Digest as _;
        let msg: std::vec::Vec<u8> = (0..200u8).collect();
        for len in 0..=msg.len() {
            let ours = hash(Algorithm::Sha256, &[&msg[..len]]).unwrap();
            assert_eq!(
                ours.as_bytes(),
                &sha2::Sha256::digest(&msg[..len])[..],
                "{len}"
            );
        }
    }

    #[test]
    fn the_documented_aliyun_and_huawei_examples() {
        // clouds-official.md §0.2: documented examples of each cloud's MAC.
        let aliyun = hmac(
            Algorithm::Sha1,
            b"secret",
            &[b"clientId12345deviceNamedeviceproductKeypktimestamp789"],
        )
        .unwrap();
        assert_eq!(
            s(aliyun.hex_upper()),
            "FAFD82A3D602B37FB0FA8B7892F24A477F851A14"
        );
        let huawei = hmac(Algorithm::Sha256, b"2025041401", &[b"12345678"]).unwrap();
        assert_eq!(
            s(huawei.hex()),
            "c75150e6cb841417396819e4d2ee4358a416344a03a083e3a8567074ddec820a"
        );
    }

    #[test]
    fn base64_round_trips_and_refuses_garbage() {
        let mut out = [0u8; 64];
        let n = base64_decode("acyv3QDJrRa0fW5UE58KnQ==", &mut out).unwrap();
        assert_eq!(n, 16);
        assert_eq!(s(Base64(&out[..n])), "acyv3QDJrRa0fW5UE58KnQ==");
        assert_eq!(base64_decode("not base64!", &mut out), None);
        assert_eq!(base64_decode("AAAA", &mut [0u8; 2]), None);
        let long = [7u8; 100];
        let mut back = [0u8; 100];
        assert_eq!(base64_decode(&s(Base64(&long)), &mut back), Some(100));
        assert_eq!(back, long);
    }

    #[test]
    fn percent_encoding_sets() {
        assert_eq!(
            s(PercentEncoded(
                "products/a b+c=d&e?f#g%",
                EncodeSet::OneNetToken
            )),
            "products%2Fa%20b%2Bc%3Dd%26e%3Ff%23g%25"
        );
        assert_eq!(
            s(PercentEncoded("a-b_c.d~e*f", EncodeSet::Unreserved)),
            "a-b_c.d~e%2Af"
        );
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(std::format!("{secret} {secret:?}"), "<redacted> <redacted>");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn timestamp_policies() {
        let known = SignContext {
            unix_time_ms: Some(1_700_000_000_123),
            random: 0,
            registered: None,
        };
        let unknown = SignContext {
            unix_time_ms: None,
            random: 0,
            registered: None,
        };
        let p = TimestampPolicy::Now;
        assert_eq!(
            p.resolve(&known, TimeUnit::Seconds, 0, 9),
            Ok(1_700_000_000)
        );
        assert_eq!(
            p.resolve(&known, TimeUnit::Millis, 0, 9),
            Ok(1_700_000_000_123)
        );
        assert_eq!(
            p.resolve(&known, TimeUnit::Seconds, 3600, 9),
            Ok(1_700_003_600)
        );
        assert_eq!(
            p.resolve(&unknown, TimeUnit::Seconds, 0, 9),
            Err(ProviderError::TimeUnknown)
        );
        assert_eq!(
            TimestampPolicy::LuatosDefault.resolve(&unknown, TimeUnit::Seconds, 0, 32_472_115_200),
            Ok(32_472_115_200)
        );
        assert_eq!(
            TimestampPolicy::Fixed(5).resolve(&unknown, TimeUnit::Millis, 0, 9),
            Ok(5)
        );
    }

    #[test]
    fn auto_is_the_default_and_signs_like_now_while_the_time_is_known() {
        let known = SignContext {
            unix_time_ms: Some(1_700_000_000_123),
            random: 0,
            registered: None,
        };
        let unknown = SignContext {
            unix_time_ms: None,
            ..known
        };
        let auto = TimestampPolicy::default();
        assert_eq!(auto, TimestampPolicy::Auto);
        for (unit, offset) in [
            (TimeUnit::Seconds, 0),
            (TimeUnit::Millis, 0),
            (TimeUnit::Seconds, 3600),
        ] {
            let now = TimestampPolicy::Now.resolve(&known, unit, offset, 9);
            assert!(now.is_ok());
            assert_eq!(auto.resolve(&known, unit, offset, 9), now);
            assert_eq!(
                auto.resolve_or_clockless(&known, unit, offset, 9),
                now.map(Some)
            );
        }
        assert!(!auto.is_clockless(&known));
        // Without a clock: the clockless form through `resolve_or_clockless`, the strict
        // refusal through `resolve`.
        assert!(auto.is_clockless(&unknown));
        assert_eq!(
            auto.resolve_or_clockless(&unknown, TimeUnit::Seconds, 0, 9),
            Ok(None)
        );
        assert_eq!(
            auto.resolve(&unknown, TimeUnit::Seconds, 0, 9),
            Err(ProviderError::TimeUnknown)
        );
        // The other policies are never clockless.
        assert_eq!(
            TimestampPolicy::Now.resolve_or_clockless(&unknown, TimeUnit::Seconds, 0, 9),
            Err(ProviderError::TimeUnknown)
        );
        assert_eq!(
            TimestampPolicy::LuatosDefault.resolve_or_clockless(&unknown, TimeUnit::Seconds, 0, 9),
            Ok(Some(9))
        );
        assert_eq!(
            TimestampPolicy::Fixed(5).resolve_or_clockless(&unknown, TimeUnit::Millis, 0, 9),
            Ok(Some(5))
        );
    }

    #[test]
    fn identifiers_that_would_change_a_topic_are_refused() {
        assert!(check_identifier("device_name", "dev-01", 32).is_ok());
        for bad in ["a/b", "a+b", "a#", "a\0"] {
            assert!(matches!(
                check_identifier("device_name", bad, 32),
                Err(ProviderError::InvalidValue {
                    key: "device_name",
                    ..
                })
            ));
        }
        assert_eq!(
            check_identifier("device_name", "", 32),
            Err(ProviderError::MissingKey("device_name"))
        );
        assert!(check_identifier("device_name", "abcd", 3).is_err());
    }
}
