//! `config=FILE`: a device's keys in a TOML file of `key = "value"` lines, so that secrets
//! need not be given on the command line (where every user of the machine sees them).

use std::path::Path;

use iotcloud::Key;

/// The keys of the file at `path`, in the file's order. A key the configuration does not
/// know, a value that is not a string, number or boolean, or a file that is not such a
/// table is an error naming the key or the line, never showing a value. A file holding a
/// secret that others may read gets a warning on stderr.
pub(crate) fn read(path: &Path) -> Result<Vec<(Key, String)>, String> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read config {shown}: {e}"))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        // The parser's own message quotes the line, which may hold a secret.
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        match line {
            Some(line) => format!("config {shown}: line {line} is not `key = \"value\"`"),
            None => format!("config {shown} is not a TOML table of `key = \"value\"` lines"),
        }
    })?;
    let mut out = Vec::with_capacity(table.len());
    for (name, value) in &table {
        let key = Key::from_name(name).ok_or_else(|| {
            format!(
                "config {shown}: unknown key `{}`{}",
                crate::output::escaped_lines(name),
                crate::suggest::hint(name, Key::ALL.map(Key::name))
            )
        })?;
        let value = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => {
                return Err(format!(
                    "config {shown}: `{name}` is not a string, number or boolean"
                ));
            }
        };
        out.push((key, value));
    }
    if out.iter().any(|(k, _)| k.is_secret()) && readable_by_others(path) {
        eprintln!("warning: config {shown} holds a secret and others may read it: chmod 600 it");
    }
    Ok(out)
}

/// Whether the file's group or others may read it.
fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}
