//! Text encodings the clouds put around their signatures: hex, percent-encoding, forms.

use std::fmt::Write as _;

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing into a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Percent-encodes everything except RFC 3986 unreserved characters, which is
/// what OneNET expects for `res` and `sign` (`/`→`%2F`, `+`→`%2B`, `=`→`%3D`).
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, as in forms).
///
/// Returns `None` for a broken escape or a result that is not UTF-8.
pub(crate) fn url_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = hex_digit(*bytes.get(i + 1)?)?;
                let lo = hex_digit(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits `a=1&b=2` into decoded pairs; `None` if any part fails to decode.
pub(crate) fn parse_pairs(text: &str, plus_is_space: bool) -> Option<Vec<(String, String)>> {
    text.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            Some((url_decode(k, plus_is_space)?, url_decode(v, plus_is_space)?))
        })
        .collect()
}

/// The first value of `key` in decoded pairs.
pub(crate) fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `YYYY-MM-DDTHH:MM:SS.000000Z` for unix seconds, the form IAM uses for `expires_at`.
pub(crate) fn iso8601(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `YYYYMMDDHH` in UTC for unix seconds: Huawei's hour stamp.
pub(crate) fn hour_stamp(unix: u64) -> String {
    let (y, m, d) = civil_from_days(unix / 86_400);
    format!("{y:04}{m:02}{d:02}{:02}", unix % 86_400 / 3600)
}

/// `yyyyMMdd'T'HHmmss'Z'` in UTC: Huawei's `event_time`.
pub(crate) fn event_time(unix: u64) -> String {
    let (y, m, d) = civil_from_days(unix / 86_400);
    let secs = unix % 86_400;
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

// Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01 (no negatives needed).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_round_trips_onenet_characters() {
        let text = "userid/226691 a+b=c";
        assert_eq!(url_encode(text), "userid%2F226691%20a%2Bb%3Dc");
        assert_eq!(url_decode(&url_encode(text), false).as_deref(), Some(text));
    }

    #[test]
    fn form_decoding_treats_plus_as_space_and_rejects_broken_escapes() {
        let pairs = parse_pairs("a=x+y&b=%2F&c", true).unwrap();
        assert_eq!(pair(&pairs, "a"), Some("x y"));
        assert_eq!(pair(&pairs, "b"), Some("/"));
        assert_eq!(pair(&pairs, "c"), Some(""));
        assert!(parse_pairs("a=%4", true).is_none());
        assert!(parse_pairs("a=%zz", true).is_none());
    }

    #[test]
    fn iso8601_formats_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20.000000Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00.000000Z");
    }
}
