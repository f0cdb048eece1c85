//! "Did you mean …?" for a mistyped command or key.

/// The edit distance between `a` and `b` (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The candidate closest to `typed`, if it is close enough to be what was meant (at most
/// two edits, and fewer than half of `typed`'s length).
pub(crate) fn closest<'c>(
    typed: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let limit = 2.min(typed.chars().count().saturating_sub(1) / 2 + 1);
    candidates
        .into_iter()
        .map(|c| (distance(typed, c), c))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `; did you mean `…`?` for `typed` among `candidates`, or nothing.
pub(crate) fn hint<'c>(typed: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    closest(typed, candidates).map_or(String::new(), |c| format!("; did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let keys = ["device_name", "device_secret", "product_id", "port"];
        assert_eq!(closest("devce_name", keys), Some("device_name"));
        assert_eq!(closest("device_secrte", keys), Some("device_secret"));
        assert_eq!(closest("prot", keys), Some("port"));
        assert_eq!(closest("signn", ["sign", "sub"]), Some("sign"));
        assert_eq!(closest("zzz", keys), None);
        assert_eq!(
            closest("device_name", keys),
            None,
            "an exact name is not a typo"
        );
        assert_eq!(hint("x", keys), "");
    }
}
