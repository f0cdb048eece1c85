//! The Cargo features the crates document agree with their manifests: every feature a
//! README lists (a `- \`name\`…:` item in a paragraph or section about features) exists in
//! that crate's manifest, and every feature of a manifest is documented (a `##` comment
//! above it, or an item in its README). Building them all is a separate step.

use std::collections::BTreeSet;
use std::fs;

use crate::firmware::root;

/// The features of a manifest, and those with a `##` comment right above them.
fn manifest_features(manifest: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut all = BTreeSet::new();
    let mut documented = BTreeSet::new();
    let mut in_features = false;
    let mut commented = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_features = line == "[features]";
            commented = false;
            continue;
        }
        if !in_features {
            continue;
        }
        if line.starts_with("##") {
            commented = true;
            continue;
        }
        if let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') && !name.starts_with('"') {
                all.insert(name.to_string());
                if commented {
                    documented.insert(name.to_string());
                }
            }
        }
        if !line.starts_with('#') && !line.starts_with('"') && !line.starts_with(']') {
            commented = false;
        }
    }
    (all, documented)
}

/// The names a README lists as features: the backticked names before the first `:` of each
/// `- ` item that follows a line speaking of features, up to the next heading.
fn readme_features(readme: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_list = false;
    // Whether the previous line was paragraph text: a paragraph speaks of features if any
    // of its lines does.
    let mut in_paragraph = false;
    for line in readme.lines() {
        if line.starts_with('#') {
            in_list = line.to_lowercase().contains("feature");
            in_paragraph = false;
            continue;
        }
        if !line.starts_with("- ") && !line.starts_with("  ") && !line.trim().is_empty() {
            let speaks = line.to_lowercase().contains("feature");
            in_list = if in_paragraph {
                in_list || speaks
            } else {
                speaks
            };
            in_paragraph = true;
            continue;
        }
        in_paragraph = false;
        let Some(item) = line.strip_prefix("- ") else {
            continue;
        };
        if !in_list {
            continue;
        }
        let head = item.split_once(':').map_or("", |(h, _)| h);
        for (i, part) in head.split('`').enumerate() {
            // Odd parts are inside backticks; a feature name is one word of Cargo's alphabet.
            if i % 2 == 1
                && !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                names.insert(part.to_string());
            }
        }
    }
    names
}

/// Checks every published crate; `Err` lists every disagreement.
pub fn check(crates: &[String]) -> Result<(), String> {
    let mut problems = Vec::new();
    for dir in crates {
        let base = root().join(dir);
        let manifest = fs::read_to_string(base.join("Cargo.toml"))
            .map_err(|e| format!("{dir}/Cargo.toml: {e}"))?;
        let readme = fs::read_to_string(base.join("README.md")).unwrap_or_default();
        let (all, commented) = manifest_features(&manifest);
        let listed = readme_features(&readme);
        for name in listed.difference(&all) {
            problems.push(format!(
                "{dir}/README.md lists a feature `{name}` its manifest does not have"
            ));
        }
        for name in &all {
            if name != "default" && !commented.contains(name) && !listed.contains(name) {
                problems.push(format!(
                    "{dir}: feature `{name}` is documented neither in Cargo.toml (`##`) nor in README.md"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_feature_the_manifest_lacks_is_found() {
        let manifest = "[features]\n## Doc.\nota = []\ndata = []\n";
        let readme = "# x\n\n## Cargo features\n\n- `ota`: yes.\n- `fuzzing`: no such.\n";
        let (all, commented) = manifest_features(manifest);
        assert_eq!(all.iter().collect::<Vec<_>>(), ["data", "ota"]);
        assert_eq!(commented.iter().collect::<Vec<_>>(), ["ota"]);
        let listed = readme_features(readme);
        assert_eq!(listed.iter().collect::<Vec<_>>(), ["fuzzing", "ota"]);
    }

    #[test]
    fn lists_outside_feature_paragraphs_are_not_features() {
        let readme = "# x\n\nThe modules:\n\n- `mqtt`: packets.\n\nThe Cargo features\ndecide:\n\n- `md5`, `sha1`: hashes.\n";
        let listed = readme_features(readme);
        assert_eq!(listed.iter().collect::<Vec<_>>(), ["md5", "sha1"]);
    }
}
