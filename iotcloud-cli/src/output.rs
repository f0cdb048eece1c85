//! Standard output of the commands. `println!` panics when standard output is gone (a
//! closed pipe: `iotcloud sub … | head -1`); these end the program quietly instead.

use std::io::Write;

use iotcloud::iotcloud_core::Printable;

/// The exit status when standard output is gone: what a shell reports for a program ended
/// by SIGPIPE (128 + 13), which is how such a program usually ends.
const OUTPUT_CLOSED: i32 = 141;

/// Writes `text` and a newline to standard output and flushes it.
pub(crate) fn line(text: &str) {
    write(text, "\n");
}

/// Writes `text` to standard output without a newline (a progress bar redrawn with `\r`)
/// and flushes it.
pub(crate) fn partial(text: &str) {
    write(text, "");
}

fn write(text: &str, end: &str) {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(end.as_bytes()))
        .and_then(|()| out.flush());
    if written.is_err() {
        std::process::exit(OUTPUT_CLOSED);
    }
}

/// `text` with everything that could act on a terminal escaped ([`Printable`]), except the
/// line breaks between its lines: for multi-line text of the tool's own that quotes what
/// came from the network.
pub(crate) fn escaped_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| Printable(line).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `value` as one line of JSON that is safe on a terminal. serde_json escapes the C0
/// controls; this also escapes DEL, the C1 controls and the bidirectional controls that
/// [`Printable`] escapes, as `\uXXXX`, which a JSON reader turns back into the same text.
/// An object's `"event"` comes first, so that a person (or `grep`) reading the line sees
/// its kind at once.
pub(crate) fn json_line(value: &serde_json::Value) -> String {
    let text = match value.as_object() {
        Some(object) if object.contains_key("event") => {
            let first = object.get_key_value("event").into_iter();
            let rest = object.iter().filter(|(k, _)| *k != "event");
            let members: Vec<String> = first
                .chain(rest)
                .map(|(k, v)| format!("{}:{v}", serde_json::Value::from(k.as_str())))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        _ => value.to_string(),
    };
    let mut out = String::new();
    for c in text.chars() {
        if c.is_control()
            || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            // Outside the BMP there is nothing to escape: one `\u` unit is enough.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Adds a message's payload to the JSON object `object`: as `payload`, its text, or as
/// `payload_hex` when it is not UTF-8.
pub(crate) fn put_payload(object: &mut serde_json::Value, payload: &[u8]) {
    match std::str::from_utf8(payload) {
        Ok(text) => object["payload"] = text.into(),
        Err(_) => {
            let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
            object["payload_hex"] = hex.into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_escape_what_acts_on_a_terminal_and_read_back_the_same() {
        let text = "a\u{1b}[2J\u{7f}\u{85}\u{202e}b\n温度";
        let line = json_line(&serde_json::json!({ "t": text }));
        assert!(
            !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{line:?}"
        );
        let back: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(back["t"], text);
        assert!(line.contains("温度"), "{line}");
    }

    #[test]
    fn an_event_s_kind_comes_first() {
        let line =
            json_line(&serde_json::json!({"attempt": 1, "event": "connecting", "z": "\u{7}"}));
        assert_eq!(line, r#"{"event":"connecting","attempt":1,"z":"\u0007"}"#);
    }

    #[test]
    fn a_payload_is_text_or_hex() {
        let mut v = serde_json::json!({});
        put_payload(&mut v, b"hi");
        assert_eq!(v, serde_json::json!({ "payload": "hi" }));
        let mut v = serde_json::json!({});
        put_payload(&mut v, &[0xff, 0x00]);
        assert_eq!(v, serde_json::json!({ "payload_hex": "ff00" }));
    }
}
