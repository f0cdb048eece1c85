//! The little JSON a device needs without allocation: a string escaper for what it sends,
//! a bounded text type for `serde-json-core`, and [`Value`], a validated zero-copy view for
//! reading cloud messages whose shape varies (OTA notices, commands).

use core::fmt::{self, Write as _};

use serde::de::{self, Deserialize, Deserializer, Visitor};

mod value;

pub use value::{JsonError, Kind, Value};

/// `s` as a JSON string literal, quotes included, escaped per RFC 8259 §7: `"`, `\` and
/// control characters. Anything else (including non-ASCII) is written as is.
#[derive(Clone, Copy)]
pub struct JsonStr<'a>(
    /// The text.
    pub &'a str,
);

impl fmt::Display for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

/// A JSON string of at most `N` bytes, unescaped. A longer one is kept cut (at a character
/// boundary) with [`Text::overflowed`] set, so that one over-long message never makes a whole
/// answer unreadable; fields that must be exact check the flag.
#[derive(Default)]
pub struct Text<const N: usize> {
    text: heapless::String<N>,
    overflowed: bool,
}

impl<const N: usize> Text<N> {
    /// The text kept (all of it, unless [`Text::overflowed`]).
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// Whether the string was longer than `N` bytes and was cut.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The text, if it was kept whole and is not empty.
    pub fn exact(&self) -> Option<&str> {
        (!self.overflowed && !self.text.is_empty()).then_some(self.text.as_str())
    }
}

impl<'de, const N: usize> Deserialize<'de> for Text<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<const N: usize>;

        impl<const N: usize> Visitor<'_> for TextVisitor<N> {
            type Value = Text<N>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<N>, E> {
                let mut out = Text::<N>::default();
                for c in v.chars() {
                    if out.text.push(c).is_err() {
                        out.overflowed = true;
                        break;
                    }
                }
                Ok(out)
            }
        }

        deserializer.deserialize_str(TextVisitor::<N>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn strings_are_escaped_and_texts_cut_with_a_flag() {
        assert_eq!(
            format!("{}", JsonStr("a\"b\\c\n\u{1}é")),
            "\"a\\\"b\\\\c\\n\\u0001é\""
        );
        let (t, _) = serde_json_core::from_str::<Text<4>>("\"abcdef\"").unwrap();
        assert_eq!(
            (t.as_str(), t.overflowed(), t.exact()),
            ("abcd", true, None)
        );
        let (t, _) = serde_json_core::from_str::<Text<8>>("\"abc\"").unwrap();
        assert_eq!(t.exact(), Some("abc"));
    }
}
