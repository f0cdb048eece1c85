//! `cargo xtask footprint`: flash, static RAM and peak stack of the minimal device firmware
//! (`firmware/device`: core + one provider, key authentication, connect / subscribe /
//! publish / receive) for each cloud, built with the firmware workspace's size profile
//! (`opt-level = "z"`, LTO, one codegen unit, panic abort) for `thumbv7m-none-eabi`, next
//! to a baseline firmware (`firmware/baseline`) with the same board support and no SDK,
//! and an anchor (`firmware/minimq`): the same exchange with the minimq MQTT 5 client.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSymbol, SectionKind};

use crate::firmware::{self, Broker};

thread_local! {
    /// Everything the report printed, saved to `target/footprint.txt` at the end.
    static OUT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Prints a line of the report and keeps it for `target/footprint.txt`.
macro_rules! say {
    ($($t:tt)*) => {{
        let line = format!($($t)*);
        println!("{line}");
        OUT.with(|o| {
            let mut o = o.borrow_mut();
            o.push_str(&line);
            o.push('\n');
        });
    }};
}

/// The clouds, as `fw-device` features; `plain` is iotcloud-core's own provider.
const CLOUDS: &[&str] = &[
    "aliyun", "tencent", "onenet", "huawei", "tuya", "baidu", "tlink", "plain",
];

/// The `fw-device` feature that replaces the typestate device by the application's own I/O
/// loop over the session engine.
const SESSION_LOOP: &str = "session-loop";

/// The `fw-device` feature that adds the data model: a property reported with
/// `Device::report` after the echo.
const DATA: &str = "data";

/// The firmware with the device's board support and no SDK.
const BASELINE: &str = "fw-baseline";

/// The same exchange as `fw-device` with minimq instead of the SDK: a reference point.
const ANCHOR: &str = "fw-minimq";

/// The anchor's row in the table.
const ANCHOR_ROW: &str = "minimq 0.13 (anchor: plain MQTT 5, same exchange)";

/// Symbol holding the caller's message buffers in `fw-device` and `fw-minimq`.
const BUFFERS_SYMBOL: &str = "MESSAGE_MEMORY";

/// Start of RAM on the board: sections below it are in flash.
const RAM_START: u64 = 0x2000_0000;

/// Sizes read from one ELF.
#[derive(Debug, Default, Clone, Copy)]
struct Sizes {
    /// `.vector_table` + `.text`: code.
    text: u64,
    /// `.rodata`: constants.
    rodata: u64,
    /// `.data`: initialised statics (in RAM, and their image in flash).
    data: u64,
    /// `.bss` and `.uninit`: zeroed and uninitialised statics.
    bss: u64,
    /// Of the RAM, the caller's message buffers.
    buffers: u64,
}

impl Sizes {
    fn flash(&self) -> u64 {
        self.text + self.rodata + self.data
    }

    fn ram_without_buffers(&self) -> u64 {
        self.data + self.bss - self.buffers
    }
}

fn read_sizes(elf: &Path) -> Result<Sizes, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    let mut sizes = Sizes::default();
    for section in file.sections() {
        let name = section.name().unwrap_or("");
        match (name, section.address() < RAM_START) {
            (".vector_table" | ".text", true) => sizes.text += section.size(),
            (".rodata", true) => sizes.rodata += section.size(),
            (".data", _) => sizes.data += section.size(),
            (".bss" | ".uninit", _) => sizes.bss += section.size(),
            _ => {}
        }
    }
    sizes.buffers = file
        .symbols()
        .filter(|s| s.name().is_ok_and(|n| n.contains(BUFFERS_SYMBOL)))
        .map(|s| s.size())
        .sum();
    Ok(sizes)
}

/// Names with their sizes in bytes, largest first.
type SizeList = Vec<(String, u64)>;

/// The symbols in flash, with their sizes, largest first.
fn largest_symbols(elf: &Path) -> Result<SizeList, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    let flash_sections: Vec<usize> = file
        .sections()
        .filter(|s| {
            matches!(
                s.kind(),
                SectionKind::Text | SectionKind::ReadOnlyData | SectionKind::ReadOnlyString
            ) && s.address() < RAM_START
        })
        .map(|s| s.index().0)
        .collect();
    let mut symbols = Vec::new();
    for symbol in file.symbols() {
        let Some(section) = symbol.section_index() else {
            continue;
        };
        if symbol.size() == 0 || !flash_sections.contains(&section.0) {
            continue;
        }
        let raw = symbol.name().unwrap_or("");
        let name = if raw.starts_with(".L") {
            "(anonymous constants)".to_string()
        } else {
            format!("{:#}", rustc_demangle::demangle(raw))
        };
        symbols.push((name, symbol.size()));
    }
    symbols.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(symbols)
}

/// One measured build.
struct Measured {
    sizes: Sizes,
    stack: u64,
    elf: PathBuf,
}

/// Builds `package` (with `features`, if any, instead of its defaults), runs it against a
/// fresh mosquitto and reads its sizes and the peak stack it printed.
fn measure(package: &str, features: &[&str], name: &str) -> Result<Measured, String> {
    let built = firmware::build(package, features, features.is_empty())?;
    // Keep each build's ELF: the next build overwrites the output.
    let elf = built.with_file_name(format!("footprint-{name}"));
    std::fs::copy(&built, &elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let sizes = read_sizes(&elf)?;
    let broker = Broker::start()?;
    let run = firmware::run_qemu(&elf, Some(broker.port))?;
    if !run.status.success() {
        return Err(format!(
            "{name}: the firmware failed ({}):\n{}\nbroker log:\n{}",
            run.status,
            run.output,
            broker.log()
        ));
    }
    let stack = run
        .output
        .lines()
        .find_map(|line| line.strip_prefix("stack: peak "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{name}: no stack measurement in:\n{}", run.output))?;
    Ok(Measured { sizes, stack, elf })
}

/// Runs the report and prints it.
pub fn report() -> Result<(), String> {
    eprintln!("footprint: baseline");
    let baseline = measure(BASELINE, &[], "baseline")?;
    let mut rows = Vec::new();
    for cloud in CLOUDS {
        eprintln!("footprint: {cloud}");
        let measured = measure("fw-device", &[cloud], cloud)?;
        if measured.sizes.buffers == 0 {
            return Err(format!("{cloud}: no {BUFFERS_SYMBOL} symbol"));
        }
        rows.push((*cloud, measured));
    }
    eprintln!("footprint: aliyun, session loop");
    let session_loop = measure(
        "fw-device",
        &["aliyun", SESSION_LOOP],
        "aliyun-session-loop",
    )?;
    eprintln!("footprint: aliyun, data model");
    let data_model = measure("fw-device", &["aliyun", DATA], "aliyun-data")?;
    eprintln!("footprint: minimq (anchor)");
    let anchor = measure(ANCHOR, &[], "minimq")?;
    if anchor.sizes.buffers == 0 {
        return Err(format!("{ANCHOR}: no {BUFFERS_SYMBOL} symbol"));
    }
    let base = baseline.sizes;
    say!("");
    say!(
        "Minimal device firmware, thumbv7m-none-eabi, opt-level=\"z\", LTO, panic=abort; \
         bytes. Flash = code + constants + .data image; RAM = .data + .bss without the \
         message buffers; peak stack measured in QEMU (mps2-an385) over connect, subscribe, \
         publish, receive, disconnect against mosquitto. \"baseline\": the same board \
         support and executor with a hand-written CONNECT / CONNACK / DISCONNECT and no SDK; \
         \"SDK flash\" and \"SDK RAM\" = the firmware's minus the baseline's. \
         \"minimq 0.13\": an outside reference, the same exchange and message memory \
         (receive 1024, transmit and session 512 + 512) with the minimq MQTT 5 client \
         instead of the SDK, on the same board support and executor."
    );
    say!("");
    say!(
        "| firmware | flash | code | constants | SDK flash | RAM | SDK RAM \
         | message buffers | peak stack |"
    );
    say!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    say!(
        "| baseline (no SDK) | {} | {} | {} | – | {} | – | – | {} |",
        base.flash(),
        base.text,
        base.rodata,
        base.ram_without_buffers(),
        baseline.stack,
    );
    // The anchor comes right after `plain`, the device row it compares with.
    let device_rows = rows.iter().map(|(cloud, measured)| (*cloud, measured));
    let others = [
        (ANCHOR_ROW, &anchor),
        ("aliyun, session loop", &session_loop),
        ("aliyun + data model (one property report)", &data_model),
    ];
    for (name, measured) in device_rows.chain(others) {
        let s = measured.sizes;
        say!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            s.flash(),
            s.text,
            s.rodata,
            s.flash().saturating_sub(base.flash()),
            s.ram_without_buffers(),
            s.ram_without_buffers()
                .saturating_sub(base.ram_without_buffers()),
            s.buffers,
            measured.stack,
        );
    }
    if let Some((cloud, measured)) = rows.first() {
        let symbols = largest_symbols(&measured.elf)?;
        let device = code_by_source(&measured.elf)?;
        let board = code_by_source(&baseline.elf)?;
        let own_loop = code_by_source(&session_loop.elf)?;
        source_table(
            cloud,
            &device.per_crate,
            &board.per_crate,
            &own_loop.per_crate,
        );
        let mut files: Vec<(&String, &u64)> = device.per_file.iter().collect();
        files.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        say!("");
        say!(
            "Largest source files by code, {cloud} firmware (same reading), and the same \
             files in the session loop firmware:"
        );
        say!("");
        say!("| source file | {cloud} | session loop |");
        say!("|---|---:|---:|");
        for (file, size) in files.iter().take(16) {
            let other = own_loop.per_file.get(*file).copied().unwrap_or(0);
            say!("| `{file}` | {size} | {other} |");
        }
        say!("");
        say!("Largest symbols, {cloud}:");
        say!("");
        say!("| symbol | bytes |");
        say!("|---|---:|");
        for (name, size) in symbols.iter().take(12) {
            let mut short: String = name.chars().take(90).collect();
            if short.len() < name.len() {
                short.push('…');
            }
            say!("| `{}` | {size} |", short.replace('|', "\\|"));
        }
    }
    // Saved for `cargo xtask bench`, which shows it as its footprint row.
    let path = crate::firmware::root().join("target/footprint.txt");
    let text = OUT.with(|o| o.borrow().clone());
    std::fs::create_dir_all(path.parent().unwrap_or(&path))
        .and_then(|()| std::fs::write(&path, text))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("footprint: report saved to {}", path.display());
    Ok(())
}

/// The crate a source file belongs to, from its path: a workspace crate's directory, a
/// registry package's name without its version, or `core` and friends for the standard
/// library.
fn crate_of_path(path: &str) -> String {
    if let Some(rest) = path
        .split("/library/")
        .nth(1)
        .filter(|_| path.starts_with("/rustc/"))
    {
        let name = rest.split('/').next().unwrap_or(rest);
        return name.replace('-', "_");
    }
    // The repository is remapped to `/iotcloud` (see `firmware::remap_paths`): its crates
    // are the directories at its top, the firmware's under `firmware/`.
    if let Some(rest) = path.strip_prefix("/iotcloud/") {
        let mut dirs = rest.split('/');
        let dir = dirs.next().unwrap_or(rest);
        return match (dir, dirs.next()) {
            ("firmware", Some("device")) => "fw_device".into(),
            ("firmware", Some("baseline")) => "fw_baseline".into(),
            ("firmware", Some("board")) => "mps2_board".into(),
            (dir, _) => dir.replace('-', "_"),
        };
    }
    if let Some(rest) = path.split("/registry/src/").nth(1) {
        // `index.crates.io-…/name-1.2.3/src/…`
        let package = rest.split('/').nth(1).unwrap_or(rest);
        let name = match package.rfind('-') {
            Some(i) if package[i + 1..].starts_with(|c: char| c.is_ascii_digit()) => &package[..i],
            _ => package,
        };
        return name.replace('-', "_");
    }
    "(other source)".into()
}

/// Code bytes per crate of the source they were compiled from, read from the ELF's DWARF
/// line table: after inlining, a function's bytes are counted for the crate whose source
/// lines they come from, not for the symbol they ended up in. Code without line
/// information is counted as `(no line information)`. The vector table is not code.
fn code_by_source(elf: &Path) -> Result<SourceCode, String> {
    use gimli::{EndianSlice, RunTimeEndian};
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    let endian = if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let load = |id: gimli::SectionId| -> Result<EndianSlice<'_, RunTimeEndian>, String> {
        let data = file
            .section_by_name(id.name())
            .and_then(|s| s.data().ok())
            .unwrap_or(&[]);
        Ok(EndianSlice::new(data, endian))
    };
    let dwarf = gimli::Dwarf::load(load)?;
    let dwarf_err = |e: gimli::Error| format!("{}: DWARF: {e}", elf.display());
    // Code ranges of the flash sections, to count only what is in flash.
    let code: Vec<(u64, u64)> = file
        .sections()
        .filter(|s| s.name() == Ok(".text") && s.address() < RAM_START)
        .map(|s| (s.address(), s.address() + s.size()))
        .collect();
    let in_code = |a: u64| code.iter().any(|&(lo, hi)| a >= lo && a < hi);
    // (start, end, source path) of every line-table row in flash.
    let mut ranges: Vec<(u64, u64, String)> = Vec::new();
    let mut units = dwarf.units();
    while let Some(header) = units.next().map_err(dwarf_err)? {
        let unit = dwarf.unit(header).map_err(dwarf_err)?;
        let Some(program) = unit.line_program.clone() else {
            continue;
        };
        let mut rows = program.rows();
        let mut previous: Option<(u64, String)> = None;
        while let Some((header, row)) = rows.next_row().map_err(dwarf_err)? {
            if let Some((start, path)) = previous.take()
                && row.address() > start
                && in_code(start)
            {
                ranges.push((start, row.address(), path));
            }
            if row.end_sequence() {
                continue;
            }
            let path = match row.file(header) {
                Some(entry) => {
                    let mut path = String::new();
                    if let Some(dir) = entry.directory(header) {
                        let dir = dwarf.attr_string(&unit, dir).map_err(dwarf_err)?;
                        let dir = dir.to_string_lossy();
                        // A relative directory is relative to the unit's.
                        if !dir.starts_with('/')
                            && let Some(comp_dir) = &unit.comp_dir
                        {
                            path.push_str(&comp_dir.to_string_lossy());
                            path.push('/');
                        }
                        path.push_str(&dir);
                        path.push('/');
                    }
                    let name = dwarf
                        .attr_string(&unit, entry.path_name())
                        .map_err(dwarf_err)?;
                    path.push_str(&name.to_string_lossy());
                    path
                }
                None => String::new(),
            };
            previous = Some((row.address(), path));
        }
    }
    // Units may describe the same bytes twice (a function that several units emitted and
    // the linker kept once); each byte is counted once, for the first range that has it.
    ranges.sort();
    let mut found = SourceCode::default();
    let (mut counted, mut covered_to) = (0u64, 0u64);
    for (start, end, path) in ranges {
        let start = start.max(covered_to);
        if end > start {
            let krate = crate_of_path(&path);
            *found.per_file.entry(file_label(&krate, &path)).or_default() += end - start;
            *found.per_crate.entry(krate).or_default() += end - start;
            counted += end - start;
            covered_to = end;
        }
    }
    let total: u64 = code.iter().map(|(lo, hi)| hi - lo).sum();
    if total > counted {
        found
            .per_crate
            .insert("(no line information)".into(), total - counted);
    }
    Ok(found)
}

/// Code bytes by source, from [`code_by_source`].
#[derive(Default)]
struct SourceCode {
    /// Per crate.
    per_crate: BTreeMap<String, u64>,
    /// Per source file, labelled by [`file_label`].
    per_file: BTreeMap<String, u64>,
}

/// A source file's name in the report: its crate and its last two path components
/// (`iotcloud_core device/link.rs`, `core src/result.rs`).
fn file_label(krate: &str, path: &str) -> String {
    let mut tail: Vec<&str> = path.rsplit('/').take(2).collect();
    tail.reverse();
    format!("{krate} {}", tail.join("/"))
}

/// What a crate is to the device firmware.
fn role(krate: &str, in_baseline: bool) -> &'static str {
    match krate {
        k if k.starts_with("iotcloud") => "SDK",
        "fw_device" | "fw_baseline" => "application",
        "core" | "compiler_builtins" | "alloc" => "Rust library",
        k if k.starts_with('(') => "unattributed",
        _ if in_baseline => "board, executor",
        _ => "SDK dependency",
    }
}

/// Code added to the baseline, by the role of its source crate.
fn by_role<'a>(
    device: &'a BTreeMap<String, u64>,
    baseline: &'a BTreeMap<String, u64>,
) -> BTreeMap<&'static str, i64> {
    let get = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0) as i64;
    let mut roles = BTreeMap::new();
    let mut crates: Vec<&String> = device.keys().chain(baseline.keys()).collect();
    crates.sort();
    crates.dedup();
    for krate in crates {
        let b = get(baseline, krate);
        *roles.entry(role(krate, b > 0)).or_default() += get(device, krate) - b;
    }
    roles
}

/// Prints the device's code by source crate next to the baseline's, and the totals by role
/// for it and for the session loop firmware (`own_loop`).
fn source_table(
    cloud: &str,
    device: &BTreeMap<String, u64>,
    baseline: &BTreeMap<String, u64>,
    own_loop: &BTreeMap<String, u64>,
) {
    say!("");
    say!(
        "Code by the crate of its source, {cloud} firmware against the baseline. Read from \
         the DWARF line table: code inlined into another crate's function counts for the \
         crate whose source it is, so `core` collects the inlined `Option`, `Result`, slice \
         and integer helpers of every caller (the SDK's among them). Constants are not \
         included:"
    );
    say!("");
    say!("| crate | role | {cloud} | baseline | difference |");
    say!("|---|---|---:|---:|---:|");
    let mut crates: Vec<&String> = device.keys().chain(baseline.keys()).collect();
    crates.sort();
    crates.dedup();
    let get = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    crates.sort_by_key(|k| std::cmp::Reverse(get(device, k)));
    for krate in crates {
        let (d, b) = (get(device, krate), get(baseline, krate));
        let r = role(krate, b > 0);
        let diff = d as i64 - b as i64;
        say!("| {krate} | {r} | {d} | {b} | {diff:+} |");
    }
    let (roles, loop_roles) = (by_role(device, baseline), by_role(own_loop, baseline));
    say!("");
    say!("Code added to the baseline, by role, {cloud} and {cloud} session loop:");
    say!("");
    say!("| role | {cloud} | session loop |");
    say!("|---|---:|---:|");
    for role in [
        "SDK",
        "SDK dependency",
        "Rust library",
        "board, executor",
        "application",
        "unattributed",
    ] {
        let (a, b) = (roles.get(role), loop_roles.get(role));
        if a.is_some() || b.is_some() {
            let (a, b) = (a.copied().unwrap_or(0), b.copied().unwrap_or(0));
            say!("| {role} | {a:+} | {b:+} |");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::crate_of_path;

    #[test]
    fn source_paths_name_their_crates() {
        let cases = [
            (
                "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/result.rs",
                "core",
            ),
            (
                "/rustc/5980/library/compiler-builtins/compiler-builtins/src/mem/mod.rs",
                "compiler_builtins",
            ),
            (
                "/iotcloud/iotcloud-core/src/device/link.rs",
                "iotcloud_core",
            ),
            ("/iotcloud/iotcloud-aliyun/src/lib.rs", "iotcloud_aliyun"),
            ("/iotcloud/firmware/device/src/main.rs", "fw_device"),
            ("/iotcloud/firmware/board/src/hal.rs", "mps2_board"),
            (
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/embedded-io-async-0.7.0/src/lib.rs",
                "embedded_io_async",
            ),
            (
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/sha2-0.11.1/src/sha256/soft.rs",
                "sha2",
            ),
            ("src/lib.rs", "(other source)"),
        ];
        for (path, expected) in cases {
            assert_eq!(crate_of_path(path), expected, "{path}");
        }
        assert_eq!(
            super::file_label(
                "iotcloud_core",
                "/iotcloud/iotcloud-core/src/device/link.rs"
            ),
            "iotcloud_core device/link.rs"
        );
    }
}
