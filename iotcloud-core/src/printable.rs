//! Text from the network, made safe to print on a terminal or in a log.

use core::fmt;

/// Displays text that came from the network (a topic, a payload, a client id, a field of a
/// server's answer) so that it cannot act on a terminal or forge log lines: control
/// characters (C0, DEL, C1: escape sequences, bells, carriage returns, line feeds) and the
/// bidirectional formatting characters that reorder what is shown are written as
/// `\u{…}`, and a backslash as `\\`, so that every escape is unambiguous. Everything else
/// is written as is.
///
/// ```
/// use iotcloud_core::Printable;
/// assert_eq!(
///     format!("{}", Printable("a\u{1b}[2Jb\r\nc\\")),
///     "a\\u{1b}[2Jb\\u{d}\\u{a}c\\\\"
/// );
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Printable<'a>(
    /// The text as received.
    pub &'a str,
);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(needs_escape) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            if c == '\\' {
                f.write_str("\\\\")?;
            } else {
                write!(f, "\\u{{{:x}}}", u32::from(c))?;
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Whether `c` is written escaped.
fn needs_escape(c: char) -> bool {
    c == '\\'
        || c.is_control()
        || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;

    #[test]
    fn controls_and_reordering_are_escaped_and_the_rest_kept() {
        let shown = |s: &str| format!("{}", Printable(s));
        assert_eq!(shown("plain/topic 温度"), "plain/topic 温度");
        assert_eq!(shown("\u{7}\u{7f}\u{9b}"), "\\u{7}\\u{7f}\\u{9b}");
        assert_eq!(shown("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(shown("\\u{7}"), "\\\\u{7}");
        assert_eq!(shown(""), "");
    }

    proptest::proptest! {
        #[test]
        fn nothing_printed_is_a_control_character(s in ".*") {
            let out = format!("{}", Printable(&s));
            proptest::prop_assert!(!out.chars().any(needs_escape_but_backslash));
        }
    }

    fn needs_escape_but_backslash(c: char) -> bool {
        c != '\\' && needs_escape(c)
    }
}
