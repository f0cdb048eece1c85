//! Sealed records: what the device keeps in its store (registration results, download
//! checkpoints) framed with a magic, a version, a length and a truncated SHA-256, so that a
//! record from another version or a damaged flash page is refused rather than misread.
//! Crate-private; the fuzz targets reach it through `crate::fuzzing`.

use sha2::{Digest as _, Sha256};

/// Bytes a sealed record adds around the provider's record.
pub const SEAL_OVERHEAD: usize = HEADER_LEN + CHECK_LEN;
const MAGIC: [u8; 3] = *b"ICR";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 6;
const CHECK_LEN: usize = 8;

/// Where the provider writes its record inside a credentials buffer of `capacity` bytes,
/// before [`seal`]: `buf[HEADER..capacity - CHECK]`.
pub(crate) fn payload_area(capacity: usize) -> core::ops::Range<usize> {
    let start = HEADER_LEN.min(capacity);
    start..capacity.saturating_sub(CHECK_LEN).max(start)
}

/// Seals the `len`-byte record already at `payload_area` of `buf`, returning the sealed
/// length. Records are at most 65,535 bytes.
pub fn seal(buf: &mut [u8], len: usize) -> Option<usize> {
    let total = HEADER_LEN + len + CHECK_LEN;
    let len16 = u16::try_from(len).ok()?;
    if total > buf.len() {
        return None;
    }
    buf[..3].copy_from_slice(&MAGIC);
    buf[3] = VERSION;
    buf[4..6].copy_from_slice(&len16.to_le_bytes());
    let check = checksum(&buf[..HEADER_LEN + len]);
    buf[HEADER_LEN + len..total].copy_from_slice(&check);
    Some(total)
}

/// Checks a sealed record and returns the range of the provider's record inside it.
/// Anything else — another magic, version or length, a failed checksum — is `None`.
pub fn open(sealed: &[u8]) -> Option<core::ops::Range<usize>> {
    if sealed.len() < SEAL_OVERHEAD || sealed[..3] != MAGIC || sealed[3] != VERSION {
        return None;
    }
    let len = usize::from(u16::from_le_bytes([sealed[4], sealed[5]]));
    if sealed.len() != HEADER_LEN + len + CHECK_LEN {
        return None;
    }
    let check = checksum(&sealed[..HEADER_LEN + len]);
    (sealed[HEADER_LEN + len..] == check).then_some(HEADER_LEN..HEADER_LEN + len)
}

fn checksum(data: &[u8]) -> [u8; CHECK_LEN] {
    let digest = Sha256::digest(data);
    let mut out = [0u8; CHECK_LEN];
    out.copy_from_slice(&digest[..CHECK_LEN]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_records_open_and_any_damage_is_detected() {
        for capacity in 0..=SEAL_OVERHEAD + 1 {
            let area = payload_area(capacity);
            assert!(area.start <= area.end && area.end <= capacity, "{capacity}");
        }
        let mut buf = [0u8; 64];
        let area = payload_area(buf.len());
        buf[area.start..area.start + 5].copy_from_slice(b"hello");
        let n = seal(&mut buf, 5).unwrap();
        assert_eq!(n, 5 + SEAL_OVERHEAD);
        let range = open(&buf[..n]).unwrap();
        assert_eq!(&buf[range], b"hello");
        for i in 0..n {
            let mut damaged = buf;
            damaged[i] ^= 0x01;
            assert_eq!(open(&damaged[..n]), None, "byte {i}");
        }
        assert_eq!(open(&buf[..n - 1]), None);
        assert_eq!(open(b""), None);
        assert_eq!(seal(&mut [0u8; 10], 5), None);
    }
}
