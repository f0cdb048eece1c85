//! Validated topic names and topic filters (MQTT 3.1.1 §4.7).

use core::fmt;

use super::wire::MAX_FIELD_LENGTH;

/// Why a string is not a valid topic name or filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TopicError {
    /// Topic names and filters are at least one character long ([MQTT-4.7.3-1]).
    #[error("empty topic")]
    Empty,
    /// Longer than the 65,535 bytes an MQTT string can hold ([MQTT-4.7.3-3]).
    #[error("topic longer than 65,535 bytes")]
    TooLong,
    /// Contains U+0000 ([MQTT-4.7.3-2]).
    #[error("topic contains U+0000")]
    Nul,
    /// A topic name (what PUBLISH carries) contains `+` or `#` ([MQTT-3.3.2-2]).
    #[error("wildcard `+` or `#` in a topic name")]
    WildcardInName,
    /// `#` that is not a whole level or not the last level ([MQTT-4.7.1-2]), or `+` that does
    /// not fill its level ([MQTT-4.7.1-3]).
    #[error("misplaced wildcard in a topic filter")]
    MisplacedWildcard,
    /// Longer than the connected cloud accepts.
    #[error("topic longer than the cloud's limit of {0} bytes")]
    OverCloudLimit(usize),
}

fn check_common(s: &str) -> Result<(), TopicError> {
    if s.is_empty() {
        return Err(TopicError::Empty);
    }
    if s.len() > MAX_FIELD_LENGTH {
        return Err(TopicError::TooLong);
    }
    if s.as_bytes().contains(&0) {
        return Err(TopicError::Nul);
    }
    Ok(())
}

/// A topic name: where a PUBLISH goes. Never empty, never contains wildcards.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicName<'a>(&'a str);

impl<'a> TopicName<'a> {
    /// Checks `s` against [MQTT-4.7.3-1], [MQTT-4.7.3-2], [MQTT-4.7.3-3] and [MQTT-3.3.2-2].
    pub fn new(s: &'a str) -> Result<Self, TopicError> {
        check_common(s)?;
        if s.bytes().any(|b| b == b'+' || b == b'#') {
            return Err(TopicError::WildcardInName);
        }
        Ok(TopicName(s))
    }

    /// The topic as text.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for TopicName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for TopicName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A topic filter: what a SUBSCRIBE asks for. May contain `+` and `#` wildcards where the
/// spec allows them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicFilter<'a>(&'a str);

impl<'a> TopicFilter<'a> {
    /// Checks `s` against [MQTT-4.7.1-2], [MQTT-4.7.1-3] and [MQTT-4.7.3-1..3].
    pub fn new(s: &'a str) -> Result<Self, TopicError> {
        check_common(s)?;
        // One pass over the bytes: a wildcard must be a whole level (its neighbours are
        // `/` or the ends), and `#` the last level.
        // The byte before the first counts as `/`.
        let mut before = b'/';
        let mut rest = s.as_bytes();
        while let Some((&b, after)) = rest.split_first() {
            if b == b'+' || b == b'#' {
                let next = after.first().copied();
                let alone_after = match b {
                    b'#' => next.is_none(),
                    _ => next.is_none_or(|n| n == b'/'),
                };
                if !(before == b'/' && alone_after) {
                    return Err(TopicError::MisplacedWildcard);
                }
            }
            before = b;
            rest = after;
        }
        Ok(TopicFilter(s))
    }

    /// The filter as text.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Whether a PUBLISH to `topic` is delivered to a subscription with this filter.
    ///
    /// Wildcards at the first level do not match topics beginning with `$` ([MQTT-4.7.2-1]).
    pub fn matches(&self, topic: TopicName<'_>) -> bool {
        let topic = topic.as_str();
        if topic.starts_with('$') && (self.0.starts_with('+') || self.0.starts_with('#')) {
            return false;
        }
        let mut filter_levels = self.0.split('/');
        let mut topic_levels = topic.split('/');
        loop {
            match (filter_levels.next(), topic_levels.next()) {
                (Some("#"), _) => return true,
                (Some("+"), Some(_)) => {}
                (Some(f), Some(t)) if f == t => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}

impl fmt::Debug for TopicFilter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for TopicFilter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_refuse_wildcards_empty_and_nul() {
        assert!(TopicName::new("a/b/c").is_ok());
        assert!(TopicName::new("/").is_ok());
        assert!(TopicName::new("$SYS/x").is_ok());
        assert_eq!(TopicName::new(""), Err(TopicError::Empty));
        assert_eq!(TopicName::new("a/+/c"), Err(TopicError::WildcardInName));
        assert_eq!(TopicName::new("a/#"), Err(TopicError::WildcardInName));
        assert_eq!(TopicName::new("a\0b"), Err(TopicError::Nul));
    }

    #[test]
    fn filters_follow_the_wildcard_placement_rules() {
        for ok in [
            "#",
            "+",
            "a/#",
            "a/+/c",
            "+/+",
            "/+",
            "sport/tennis/#",
            "+/tennis/#",
        ] {
            assert!(TopicFilter::new(ok).is_ok(), "{ok}");
        }
        for bad in ["a#", "a/#/b", "a/b#", "a+", "a/+b/c", "##"] {
            assert_eq!(
                TopicFilter::new(bad),
                Err(TopicError::MisplacedWildcard),
                "{bad}"
            );
        }
        assert_eq!(TopicFilter::new(""), Err(TopicError::Empty));
    }

    /// The placement rule written the way the specification states it, level by level.
    fn placement_by_levels(s: &str) -> bool {
        let mut levels = s.split('/').peekable();
        while let Some(level) = levels.next() {
            let last = levels.peek().is_none();
            if level.contains('#') && (level != "#" || !last) {
                return false;
            }
            if level.contains('+') && level != "+" {
                return false;
            }
        }
        true
    }

    proptest::proptest! {
        #[test]
        fn the_byte_scan_agrees_with_the_level_rule(s in "[a+#/]{1,12}") {
            let expected = placement_by_levels(&s);
            let got = TopicFilter::new(&s);
            proptest::prop_assert_eq!(got.is_ok(), expected, "{:?} -> {:?}", s, got);
            if !expected {
                proptest::prop_assert_eq!(got, Err(TopicError::MisplacedWildcard));
            }
        }
    }

    #[test]
    fn matching_follows_the_spec_examples() {
        let m = |f: &str, t: &str| {
            TopicFilter::new(f)
                .unwrap()
                .matches(TopicName::new(t).unwrap())
        };
        // §4.7.1.2 and §4.7.1.3 non-normative examples.
        assert!(m("sport/tennis/player1/#", "sport/tennis/player1"));
        assert!(m("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
        assert!(m("sport/#", "sport"));
        assert!(m("sport/tennis/+", "sport/tennis/player1"));
        assert!(!m("sport/tennis/+", "sport/tennis/player1/ranking"));
        assert!(!m("sport/+", "sport"));
        assert!(m("sport/+", "sport/"));
        assert!(m("+/+", "/finance"));
        assert!(m("/+", "/finance"));
        assert!(!m("+", "/finance"));
        // [MQTT-4.7.2-1]
        assert!(!m("#", "$SYS/uptime"));
        assert!(!m("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(m("$SYS/#", "$SYS/monitor/Clients"));
    }
}
