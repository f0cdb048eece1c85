//! A JSON document checked once against RFC 8259 and then read in place: members are
//! found by walking the bytes, and strings are unescaped only when the caller writes them
//! out. Nothing is allocated and nothing is copied.

use core::fmt;

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 32;

/// Why a document is not acceptable JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum JsonError {
    /// The bytes are not JSON: the offset of the first byte that is wrong.
    #[error("not JSON (at byte {at})")]
    Syntax {
        /// Offset of the offending byte.
        at: usize,
    },
    /// Arrays and objects nest deeper than `MAX_DEPTH` (32).
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// What a [`Value`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{…}`
    Object,
    /// `[…]`
    Array,
    /// `"…"`
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

/// One JSON value inside a document that has been checked as a whole.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Value<'a> {
    /// The value's own bytes, from its first to its last character.
    raw: &'a [u8],
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may carry tokens; show the shape only.
        write!(f, "Value({:?}, {} bytes)", self.kind(), self.raw.len())
    }
}

impl<'a> Value<'a> {
    /// `{}`: an object with no members.
    pub const EMPTY_OBJECT: Value<'a> = Value { raw: b"{}" };

    /// Checks `doc` (one value, with optional whitespace around it) and returns it.
    pub fn parse(doc: &'a [u8]) -> Result<Value<'a>, JsonError> {
        let start = skip_ws(doc, 0);
        let end = scan(doc, start, 0)?;
        if skip_ws(doc, end) != doc.len() {
            return Err(JsonError::Syntax {
                at: skip_ws(doc, end),
            });
        }
        Ok(Value {
            raw: &doc[start..end],
        })
    }

    /// What this value is.
    pub fn kind(&self) -> Kind {
        match self.raw.first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }

    /// The value's JSON text, exactly as it appears in the document.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The member `key` of an object (the first, if the key repeats); `None` for a missing
    /// key or a value that is not an object.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.members().find(|(k, _)| k.eq_str(key)).map(|(_, v)| v)
    }

    /// Follows a path of object keys: `v.path(&["data", "url"])`.
    pub fn path(&self, keys: &[&str]) -> Option<Value<'a>> {
        keys.iter().try_fold(*self, |v, k| v.get(k))
    }

    /// The members of an object, in document order (none for other values).
    pub fn members(&self) -> impl Iterator<Item = (Value<'a>, Value<'a>)> + 'a {
        let raw = if self.kind() == Kind::Object {
            self.raw
        } else {
            &[]
        };
        let mut at = 1;
        core::iter::from_fn(move || {
            at = skip_ws(raw, at);
            if at >= raw.len() || raw[at] == b'}' {
                return None;
            }
            let key_end = scan(raw, at, 0).ok()?;
            let key = Value {
                raw: &raw[at..key_end],
            };
            let colon = skip_ws(raw, key_end);
            let start = skip_ws(raw, colon + 1);
            let end = scan(raw, start, 0).ok()?;
            at = skip_ws(raw, end);
            if raw.get(at) == Some(&b',') {
                at += 1;
            }
            Some((
                key,
                Value {
                    raw: &raw[start..end],
                },
            ))
        })
    }

    /// The elements of an array, in order (none for other values).
    pub fn elements(&self) -> impl Iterator<Item = Value<'a>> + 'a {
        let raw = if self.kind() == Kind::Array {
            self.raw
        } else {
            &[]
        };
        let mut at = 1;
        core::iter::from_fn(move || {
            at = skip_ws(raw, at);
            if at >= raw.len() || raw[at] == b']' {
                return None;
            }
            let start = at;
            let end = scan(raw, start, 0).ok()?;
            at = skip_ws(raw, end);
            if raw.get(at) == Some(&b',') {
                at += 1;
            }
            Some(Value {
                raw: &raw[start..end],
            })
        })
    }

    /// Element `index` of an array.
    pub fn at(&self, index: usize) -> Option<Value<'a>> {
        self.elements().nth(index)
    }

    /// A string's text when it has no escapes, borrowed from the document.
    pub fn as_plain_str(&self) -> Option<&'a str> {
        if self.kind() != Kind::String {
            return None;
        }
        let inner = &self.raw[1..self.raw.len() - 1];
        if inner.contains(&b'\\') {
            return None;
        }
        core::str::from_utf8(inner).ok()
    }

    /// Writes a string's text, unescaped; `Err` for other values (or when `w` fails).
    pub fn write_str_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        if self.kind() != Kind::String {
            return Err(fmt::Error);
        }
        self.chars().try_for_each(|c| w.write_char(c))
    }

    /// A string's text, unescaped into `buf`: borrowed from the document when it has no
    /// escapes, else written into `buf`. `None` for other values, or when `buf` is too small.
    pub fn unescaped<'b>(&self, buf: &'b mut [u8]) -> Option<&'b str>
    where
        'a: 'b,
    {
        if let Some(plain) = self.as_plain_str() {
            return Some(plain);
        }
        if self.kind() != Kind::String {
            return None;
        }
        let mut at = 0;
        for c in self.chars() {
            let mut utf8 = [0u8; 4];
            let bytes = c.encode_utf8(&mut utf8).as_bytes();
            buf.get_mut(at..at + bytes.len())?.copy_from_slice(bytes);
            at += bytes.len();
        }
        core::str::from_utf8(&buf[..at]).ok()
    }

    /// The unescaped length of a string in bytes (0 for other values).
    pub fn str_len(&self) -> usize {
        if self.kind() != Kind::String {
            return 0;
        }
        self.chars().map(char::len_utf8).sum()
    }

    /// Whether this is a string whose unescaped text is `s`.
    pub fn eq_str(&self, s: &str) -> bool {
        self.kind() == Kind::String && self.chars().eq(s.chars())
    }

    /// `true` or `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self.raw {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        }
    }

    /// A number that is a non-negative integer (`12`, not `12.0` or `1e3`).
    pub fn as_u64(&self) -> Option<u64> {
        parse_u64(self.raw)
    }

    /// A number that is an integer, possibly negative.
    pub fn as_i64(&self) -> Option<i64> {
        match self.raw.split_first() {
            Some((b'-', digits)) => {
                let n = parse_u64(digits)?;
                0i64.checked_sub_unsigned(n)
            }
            _ => i64::try_from(parse_u64(self.raw)?).ok(),
        }
    }

    /// A number as the nearest `f64` (any JSON number, integer or not).
    pub fn as_f64(&self) -> Option<f64> {
        if self.kind() != Kind::Number {
            return None;
        }
        core::str::from_utf8(self.raw).ok()?.parse().ok()
    }

    /// A non-negative integer given either as a number or as a string of digits, as
    /// clouds variously send sizes and codes.
    pub fn as_u64_lenient(&self) -> Option<u64> {
        match self.kind() {
            Kind::Number => self.as_u64(),
            Kind::String => parse_u64(self.as_plain_str()?.trim().as_bytes()),
            _ => None,
        }
    }

    /// The characters of a string, unescaped (empty for other values).
    fn chars(&self) -> Chars<'a> {
        let inner = if self.kind() == Kind::String && self.raw.len() >= 2 {
            &self.raw[1..self.raw.len() - 1]
        } else {
            &[]
        };
        Chars { rest: inner }
    }
}

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Unescaping iterator over the inside of a checked string.
struct Chars<'a> {
    rest: &'a [u8],
}

impl Iterator for Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let (&first, tail) = self.rest.split_first()?;
        if first != b'\\' {
            // The string was checked as UTF-8: decode one character.
            let len = utf8_len(first);
            let (c, rest) = self.rest.split_at_checked(len)?;
            self.rest = rest;
            return core::str::from_utf8(c).ok()?.chars().next();
        }
        let (&esc, tail) = tail.split_first()?;
        self.rest = tail;
        Some(match esc {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            _ => {
                let hi = hex4(tail)?;
                self.rest = &tail[4..];
                if (0xD800..0xDC00).contains(&hi) {
                    let lo = self.rest.strip_prefix(b"\\u").and_then(hex4)?;
                    self.rest = &self.rest[6..];
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi)?
                }
            }
        })
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    let digits = b.get(..4)?;
    digits
        .iter()
        .try_fold(0u32, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
}

fn skip_ws(b: &[u8], mut at: usize) -> usize {
    while matches!(b.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// Checks the value starting at `at` and returns the offset just past it.
fn scan(b: &[u8], at: usize, depth: usize) -> Result<usize, JsonError> {
    let bad = |at| JsonError::Syntax { at };
    match b.get(at).copied() {
        Some(b'{') => scan_container(b, at, depth, b'}', true),
        Some(b'[') => scan_container(b, at, depth, b']', false),
        Some(b'"') => scan_string(b, at),
        Some(b't') => literal(b, at, b"true"),
        Some(b'f') => literal(b, at, b"false"),
        Some(b'n') => literal(b, at, b"null"),
        Some(b'-' | b'0'..=b'9') => scan_number(b, at),
        _ => Err(bad(at)),
    }
}

fn literal(b: &[u8], at: usize, word: &[u8]) -> Result<usize, JsonError> {
    if b.get(at..at + word.len()) == Some(word) {
        Ok(at + word.len())
    } else {
        Err(JsonError::Syntax { at })
    }
}

fn scan_container(
    b: &[u8],
    at: usize,
    depth: usize,
    close: u8,
    object: bool,
) -> Result<usize, JsonError> {
    if depth >= MAX_DEPTH {
        return Err(JsonError::TooDeep);
    }
    let bad = |at| JsonError::Syntax { at };
    let mut i = skip_ws(b, at + 1);
    if b.get(i) == Some(&close) {
        return Ok(i + 1);
    }
    loop {
        if object {
            if b.get(i) != Some(&b'"') {
                return Err(bad(i));
            }
            i = skip_ws(b, scan_string(b, i)?);
            if b.get(i) != Some(&b':') {
                return Err(bad(i));
            }
            i = skip_ws(b, i + 1);
        }
        i = skip_ws(b, scan(b, i, depth + 1)?);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(&c) if c == close => return Ok(i + 1),
            _ => return Err(bad(i)),
        }
    }
}

fn scan_string(b: &[u8], at: usize) -> Result<usize, JsonError> {
    let bad = |at| JsonError::Syntax { at };
    let mut i = at + 1;
    loop {
        match b.get(i).copied() {
            None => return Err(bad(i)),
            Some(b'"') => break,
            Some(b'\\') => match b.get(i + 1).copied() {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let hi = hex4(b.get(i + 2..).unwrap_or(&[])).ok_or(bad(i))?;
                    i += 6;
                    if (0xD800..0xDC00).contains(&hi) {
                        // A high surrogate must be followed by a low one.
                        let lo = b
                            .get(i..)
                            .and_then(|r| r.strip_prefix(b"\\u"))
                            .and_then(hex4)
                            .ok_or(bad(i))?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return Err(bad(i));
                        }
                        i += 6;
                    } else if (0xDC00..0xE000).contains(&hi) {
                        return Err(bad(i - 6));
                    }
                }
                _ => return Err(bad(i)),
            },
            Some(c) if c < 0x20 => return Err(bad(i)),
            Some(_) => i += 1,
        }
    }
    core::str::from_utf8(&b[at + 1..i]).map_err(|e| bad(at + 1 + e.valid_up_to()))?;
    Ok(i + 1)
}

fn scan_number(b: &[u8], at: usize) -> Result<usize, JsonError> {
    let bad = |at| JsonError::Syntax { at };
    let digits = |mut i: usize| {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    let mut i = at;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    if b.get(i) == Some(&b'0') {
        i += 1;
    } else {
        i = digits(i).ok_or(bad(i))?;
    }
    if b.get(i) == Some(&b'.') {
        i = digits(i + 1).ok_or(bad(i + 1))?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i).ok_or(bad(i))?;
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn text(v: Value<'_>) -> String {
        let mut s = String::new();
        v.write_str_to(&mut s).unwrap();
        s
    }

    #[test]
    fn members_are_found_by_path_and_strings_unescaped() {
        let doc = br#" {"code":"1000","data":{"size":42,"url":"https:\/\/x\/a?b=1","md5":"AB"},
            "list":[1, {"k":null}, "\u00e9\ud83d\ude00"], "ok":true, "n":-7} "#;
        let v = Value::parse(doc).unwrap();
        assert_eq!(v.kind(), Kind::Object);
        assert_eq!(v.path(&["data", "size"]).unwrap().as_u64(), Some(42));
        let url = v.path(&["data", "url"]).unwrap();
        assert_eq!(url.as_plain_str(), None);
        assert_eq!(text(url), "https://x/a?b=1");
        assert_eq!(url.str_len(), 15);
        let mut buf = [0u8; 15];
        assert_eq!(url.unescaped(&mut buf), Some("https://x/a?b=1"));
        assert_eq!(url.unescaped(&mut [0u8; 14]), None, "one byte short");
        let md5 = v.path(&["data", "md5"]).unwrap();
        assert_eq!(md5.unescaped(&mut []), Some("AB"), "plain text is borrowed");
        assert_eq!(v.get("code").unwrap().unescaped(&mut buf), Some("1000"));
        assert_eq!(v.path(&["data", "size"]).unwrap().unescaped(&mut buf), None);
        assert_eq!(v.get("code").unwrap().as_u64_lenient(), Some(1000));
        assert_eq!(v.get("code").unwrap().as_u64(), None);
        let list = v.get("list").unwrap();
        assert_eq!(list.elements().count(), 3);
        assert_eq!(list.at(1).unwrap().get("k").unwrap().kind(), Kind::Null);
        assert_eq!(text(list.at(2).unwrap()), "é😀");
        assert_eq!(v.get("ok").unwrap().as_bool(), Some(true));
        assert_eq!(v.get("n").unwrap().as_i64(), Some(-7));
        assert_eq!(v.get("missing"), None);
        assert_eq!(list.get("k"), None);
    }

    #[test]
    fn anything_that_is_not_json_is_refused_with_where() {
        for (doc, at) in [
            (&b"{\"a\":1,}"[..], 7),
            (b"{\"a\" 1}", 5),
            (b"[1 2]", 3),
            (b"\"abc", 4),
            (b"01", 1),
            (b"1.", 2),
            (b"tru", 0),
            (b"{} x", 3),
            (b"\"\\x\"", 1),
            (b"\"\\ud800\"", 7),
            (b"\"\x01\"", 1),
            (b"", 0),
        ] {
            assert_eq!(Value::parse(doc), Err(JsonError::Syntax { at }), "{doc:?}");
        }
        assert_eq!(Value::parse(b"\"\xff\""), Err(JsonError::Syntax { at: 1 }));
        let deep = [b'['; MAX_DEPTH + 1];
        assert_eq!(Value::parse(&deep), Err(JsonError::TooDeep));
    }

    #[test]
    fn numbers_outside_u64_are_not_integers() {
        let v = Value::parse(b"[18446744073709551615, 18446744073709551616, 1.5, -0]").unwrap();
        assert_eq!(v.at(0).unwrap().as_u64(), Some(u64::MAX));
        assert_eq!(v.at(1).unwrap().as_u64(), None);
        assert_eq!(v.at(2).unwrap().as_u64(), None);
        assert_eq!(v.at(3).unwrap().as_i64(), Some(0));
    }
}
