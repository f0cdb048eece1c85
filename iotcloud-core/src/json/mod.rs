//! The little JSON a device needs without allocation: [`JsonStr`], a string escaper for
//! what it sends, and [`Value`], a validated zero-copy view for reading what clouds send
//! (registration answers, OTA notices, commands).

use core::fmt::{self, Write as _};

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(
            format!("{}", JsonStr("a\"b\\c\n\u{1}é")),
            "\"a\\\"b\\\\c\\n\\u0001é\""
        );
    }
}
