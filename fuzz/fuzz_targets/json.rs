//! The zero-copy JSON view on arbitrary bytes, checked against `serde_json` and walked
//! through every accessor.
//!
//! - `Value::parse` accepts exactly what `serde_json` accepts, save documents nested deeper
//!   than `MAX_DEPTH` (refused as `TooDeep`) and numbers too large for an `f64` (which
//!   `serde_json` refuses and JSON allows).
//! - Every value found inside parses on its own to itself; strings unescape to what
//!   `serde_json` reads, with consistent `str_len`, `eq_str` and `as_plain_str`; `get`
//!   finds the first member of a key, `at(i)` the i-th element; integers read as Rust
//!   reads the same digits.
#![no_main]

use iotcloud_core::json::{JsonError, Kind, Value};
use libfuzzer_sys::fuzz_target;

/// Walks `v` (from the document) beside `reference` (serde_json's reading of the same text).
fn walk(v: Value<'_>, reference: &serde_json::Value) {
    assert_eq!(Value::parse(v.raw()), Ok(v), "a value parses on its own");
    match (v.kind(), reference) {
        (Kind::Object, serde_json::Value::Object(map)) => {
            let members: Vec<_> = v.members().collect();
            let mut keys = Vec::new();
            for (k, value) in &members {
                assert_eq!(k.kind(), Kind::String);
                let key = text(*k);
                // serde_json keeps the last of a repeated key; `get` finds the first.
                let first = members
                    .iter()
                    .find(|(k2, _)| k2.eq_str(&key))
                    .map(|(_, v)| *v);
                assert_eq!(v.get(&key), first);
                if members.iter().filter(|(k2, _)| k2.eq_str(&key)).count() == 1 {
                    walk(*value, &map[&key]);
                }
                keys.push(key);
            }
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), map.len(), "distinct keys");
            assert_eq!(v.path(&[]), Some(v));
            assert!(v.elements().next().is_none());
        }
        (Kind::Array, serde_json::Value::Array(items)) => {
            let elements: Vec<_> = v.elements().collect();
            assert_eq!(elements.len(), items.len());
            for (i, (e, r)) in elements.iter().zip(items).enumerate() {
                assert_eq!(v.at(i), Some(*e));
                walk(*e, r);
            }
            assert_eq!(v.at(elements.len()), None);
            assert!(v.members().next().is_none());
        }
        (Kind::String, serde_json::Value::String(s)) => {
            assert_eq!(&text(v), s);
            assert_eq!(v.str_len(), s.len());
            assert!(v.eq_str(s));
            if let Some(plain) = v.as_plain_str() {
                assert_eq!(plain, s);
            }
            let digits = s.trim();
            if let Some(n) = v.as_u64_lenient() {
                assert_eq!(digits.parse::<u64>().ok(), Some(n));
            }
        }
        (Kind::Number, serde_json::Value::Number(_)) => {
            // Integers are what Rust reads from the same digits.
            let raw = core::str::from_utf8(v.raw()).expect("numbers are ASCII");
            assert_eq!(v.as_u64(), raw.parse::<u64>().ok());
            assert_eq!(v.as_i64(), raw.parse::<i64>().ok());
            assert_eq!(v.as_u64_lenient(), v.as_u64());
        }
        (Kind::Bool, serde_json::Value::Bool(b)) => assert_eq!(v.as_bool(), Some(*b)),
        (Kind::Null, serde_json::Value::Null) => {}
        (kind, r) => panic!("{kind:?} read as {r:?} by serde_json"),
    }
    if v.kind() != Kind::String {
        assert_eq!(v.str_len(), 0);
        assert!(v.write_str_to(&mut String::new()).is_err());
        assert_eq!(v.as_plain_str(), None);
    }
}

fn text(v: Value<'_>) -> String {
    let mut s = String::new();
    v.write_str_to(&mut s).expect("a string writes out");
    s
}

/// Whether `doc` has a number that does not fit an `f64` (serde_json refuses those).
fn has_huge_number(doc: &[u8]) -> bool {
    let text = String::from_utf8_lossy(doc);
    text.split(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .filter(|t| !t.is_empty())
        .any(|t| t.parse::<f64>().is_ok_and(f64::is_infinite))
}

fuzz_target!(|data: &[u8]| {
    let ours = Value::parse(data);
    let reference = serde_json::from_slice::<serde_json::Value>(data);
    match (ours, reference) {
        (Ok(v), Ok(r)) => {
            let trimmed = data.trim_ascii();
            assert_eq!(v.raw(), trimmed, "the document is the trimmed input");
            walk(v, &r);
        }
        (Err(JsonError::TooDeep), _) => {}
        (Err(e), Ok(_)) => panic!("refused ({e:?}) JSON serde_json accepts"),
        (Ok(_), Err(e)) => assert!(
            has_huge_number(data),
            "accepted what serde_json refuses: {e}"
        ),
        (Err(_), Err(_)) => {}
    }
});
