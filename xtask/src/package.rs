//! The crates as they would be published: `cargo package --workspace` (which builds each
//! package from its own files), then every published package unpacked into a workspace of
//! its own, outside this one, and its tests run there. A test that reads a file the package
//! does not carry, or a dependency that only exists in the repository, fails here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::firmware::{root, workspace_target_dir};

/// The workspace's packages that are published (no `publish = false`): directory and
/// package name.
pub fn published() -> Result<Vec<(String, String)>, String> {
    let mut names = Vec::new();
    let entries = fs::read_dir(root()).map_err(|e| format!("reading the repository: {e}"))?;
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        if !text.contains("[package]") || text.contains("publish = false") {
            continue;
        }
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .ok_or_else(|| format!("{}: no package name", manifest.display()))?;
        let dir = entry.file_name().to_string_lossy().into_owned();
        names.push((dir, name.to_string()));
    }
    names.sort();
    Ok(names)
}

/// The `.crate` file `cargo package` wrote for `name` (the only version in the workspace).
fn crate_file(packages: &Path, name: &str) -> Result<PathBuf, String> {
    let prefix = format!("{name}-");
    let mut found: Vec<PathBuf> = fs::read_dir(packages)
        .map_err(|e| format!("reading {}: {e}", packages.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "crate")
                && p.file_name()
                    .and_then(|f| f.to_str())
                    .and_then(|f| f.strip_prefix(&prefix))
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    found.sort_by_key(|p| fs::metadata(p).and_then(|m| m.modified()).ok());
    found
        .pop()
        .ok_or_else(|| format!("cargo package wrote no {name}-*.crate"))
}

/// Removes what an earlier `cargo package --workspace` left extracted in cargo's registry
/// sources. The packages reach each other through a local registry that cargo names by a
/// hash (`$CARGO_HOME/registry/src/-<hash>/`), and cargo does not extract a package again
/// when a directory of that name and version is already there: after a change, the packages
/// would be built against the previous run's sources of each other.
pub fn clear_extracted() -> Result<(), String> {
    let home = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home),
        None => match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".cargo"),
            None => return Ok(()),
        },
    };
    let names: Vec<String> = published()?.into_iter().map(|(_, name)| name).collect();
    let Ok(sources) = fs::read_dir(home.join("registry/src")) else {
        return Ok(());
    };
    for source in sources.flatten() {
        // Only the unnamed local registries; crates.io's sources are never touched.
        if !source.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        let Ok(entries) = fs::read_dir(source.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let ours = names.iter().any(|name| {
                file.strip_prefix(name.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            });
            if ours {
                fs::remove_dir_all(entry.path())
                    .map_err(|e| format!("removing {}: {e}", entry.path().display()))?;
            }
        }
    }
    Ok(())
}

/// The target directory `cargo package` verifies the packages in (and writes them to, under
/// `package/`): one of its own, where every build of the workspace's packages is of their
/// packaged sources.
pub fn verify_dir() -> PathBuf {
    workspace_target_dir().join("package-verify")
}

/// Removes what verification built in [`verify_dir`] (the packages stay). cargo takes a
/// registry's sources as never changing, so a build of a package kept from an earlier run
/// would count as up to date whatever the sources now say, and the packages would be
/// verified against an old build of each other (a stale `iotcloud-core` once failed
/// `iotcloud-aliyun`'s verification). Removed after a run too, for the disk (about 1 GB).
pub fn clear_verify_builds() -> Result<(), String> {
    let debug = verify_dir().join("debug");
    if debug.exists() {
        fs::remove_dir_all(&debug).map_err(|e| format!("removing {}: {e}", debug.display()))?;
    }
    Ok(())
}

/// Unpacks every published package into `target/package-test/` as one workspace whose
/// crates find each other through `[patch.crates-io]`, as they would on crates.io.
pub fn unpack() -> Result<PathBuf, String> {
    let target = workspace_target_dir();
    let packages = verify_dir().join("package");
    let dir = target.join("package-test");
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| format!("clearing {}: {e}", dir.display()))?;
    }
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut members = String::new();
    let mut patches = String::new();
    for (_, name) in published()? {
        let file = crate_file(&packages, &name)?;
        // `-m`: the files get the time of unpacking, not the times they were packaged with,
        // so that cargo sees them as newer than an earlier run's build of the same paths
        // (it judges path dependencies by modification time).
        let status = Command::new("tar")
            .arg("-xzmf")
            .arg(&file)
            .arg("-C")
            .arg(&dir)
            .status()
            .map_err(|e| format!("could not run tar: {e}"))?;
        if !status.success() {
            return Err(format!("tar could not unpack {}", file.display()));
        }
        let unpacked = file
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("a package file without a name")?
            .to_string();
        members.push_str(&format!("    \"{unpacked}\",\n"));
        patches.push_str(&format!("{name} = {{ path = \"{unpacked}\" }}\n"));
    }
    let manifest = format!(
        "# Written by `cargo xtask test`: the published packages, unpacked.\n\
         [workspace]\nresolver = \"3\"\nmembers = [\n{members}]\n\n[patch.crates-io]\n{patches}"
    );
    fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| format!("writing manifest: {e}"))?;
    // The repository's lock file, so the packages are tested with the dependency versions
    // the repository is; cargo drops what does not apply.
    fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| format!("copying Cargo.lock: {e}"))?;
    Ok(dir)
}

/// A crate of a user who pins the oldest Rust the `no_std` crates declare: it depends on
/// each of `crates` (by path, default features) and states that Rust as its own
/// `rust-version`, so that cargo resolves the dependencies a user of that Rust would get
/// (newer releases that need a newer Rust are passed over). Returns its directory, under
/// `target/msrv-check/`, with a fresh lock file yet to be made.
pub fn msrv_user(rust_version: &str, crates: &[&str]) -> Result<PathBuf, String> {
    let dir = workspace_target_dir().join("msrv-check");
    fs::create_dir_all(dir.join("src")).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut deps = String::new();
    for krate in crates {
        let path = root().join(krate);
        deps.push_str(&format!("{krate} = {{ path = \"{}\" }}\n", path.display()));
    }
    let manifest = format!(
        "# Written by `cargo xtask test`: a user of the no_std crates on their oldest Rust.\n\
         [package]\nname = \"msrv-user\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         rust-version = \"{rust_version}\"\npublish = false\n\n[workspace]\n\n\
         [dependencies]\n{deps}"
    );
    fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| format!("writing manifest: {e}"))?;
    fs::write(dir.join("src/lib.rs"), "#![no_std]\n").map_err(|e| format!("writing lib: {e}"))?;
    let lock = dir.join("Cargo.lock");
    if lock.exists() {
        fs::remove_file(&lock).map_err(|e| format!("removing {}: {e}", lock.display()))?;
    }
    Ok(dir)
}
