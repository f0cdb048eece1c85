//! `cargo xtask ec618-check`: `hal-ec618` held to the vendor's C SDK (luatos-soc-2022).
//!
//! 1. The toolchain: Debian's `arm-none-eabi-gcc` with newlib, installed with apt-get when
//!    missing.
//! 2. The binding check: `hal-ec618/check/bindings.c`, with static assertions generated from
//!    `hal-ec618/src/sys.rs`, compiled for the Cortex-M3 against the vendor's headers; the
//!    crate's C shim compiled the same way.
//! 3. The symbol check: the firmware library (`hal-ec618/examples/firmware.rs`) built for the
//!    module; every C symbol it leaves undefined must be declared by the vendor's headers (or
//!    be the crate's shim, or the C toolchain's runtime), and the list must be the one in the
//!    crate README.
//!
//! The vendor's headers are looked for in `$LUATOS_SOC_2022_HEADERS`, else in
//! `../shared/vendor/luatos-soc-2022` next to the repository.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::firmware::{TARGET, root};

/// The C compiler and binary tools of the check.
const GCC: &str = "arm-none-eabi-gcc";
const READELF: &str = "arm-none-eabi-readelf";

/// The Debian packages that provide them (binutils comes with gcc; newlib for the C library
/// headers the vendor's headers include).
const PACKAGES: &[&str] = &[
    "gcc-arm-none-eabi",
    "binutils-arm-none-eabi",
    "libnewlib-arm-none-eabi",
];

/// Flags of the vendor's build that matter for types and layouts.
const CPU_FLAGS: &[&str] = &["-mcpu=cortex-m3", "-mthumb", "-std=gnu11"];

/// Where the README keeps the symbol list.
const README_START: &str = "<!-- ec618-symbols:start -->";
const README_END: &str = "<!-- ec618-symbols:end -->";

/// The whole check.
pub fn check() -> Result<(), String> {
    toolchain()?;
    let sdk = sdk_dir()?;
    let crate_dir = root().join("hal-ec618");
    let out = out_dir();
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let flags = gcc_flags(&sdk, &crate_dir, &out)?;

    // 2. The binding check.
    let sys_path = crate_dir.join("src/sys.rs");
    let source = std::fs::read_to_string(&sys_path)
        .map_err(|e| format!("reading {}: {e}", sys_path.display()))?;
    let sys = parse::sys(&source).map_err(|e| format!("hal-ec618/src/sys.rs: {e}"))?;
    let expected = generate::expected(&sys)?;
    let header = out.join("sys_expected.h");
    std::fs::write(&header, expected).map_err(|e| format!("writing {}: {e}", header.display()))?;
    println!(
        "sys.rs: {} functions, {} aliases, {} structs, {} constants, {} statics",
        sys.funcs.len(),
        sys.aliases.len(),
        sys.structs.len(),
        sys.consts.len(),
        sys.statics.len()
    );
    let bindings = out.join("bindings.o");
    compile(&flags, &crate_dir.join("check/bindings.c"), &bindings).map_err(|e| {
        format!("the binding check failed (a declaration in sys.rs is not the vendor's):\n{e}")
    })?;
    small_enums(&bindings)?;
    compile(
        &flags,
        &crate_dir.join("c/hal_ec618_shim.c"),
        &out.join("shim.o"),
    )
    .map_err(|e| {
        format!("c/hal_ec618_shim.c does not compile against the vendor's headers:\n{e}")
    })?;
    println!("binding check: every item of sys.rs matches the vendor's headers (Cortex-M3)");

    // 3. The symbol check.
    let library = firmware_library()?;
    let report = symbols(&flags, &sdk, &out, &library)?;
    print!("{report}");
    readme_in_step(&crate_dir.join("README.md"), &report)
}

// ---------------------------------------------------------------------------------------------
// Toolchain and paths
// ---------------------------------------------------------------------------------------------

/// Installs the toolchain with apt-get when it is missing.
fn toolchain() -> Result<(), String> {
    if crate::setup::arm_gcc_present() {
        return Ok(());
    }
    crate::setup::apt_install(PACKAGES)?;
    if crate::setup::arm_gcc_present() {
        Ok(())
    } else {
        Err(format!(
            "{} installed, but {GCC} (with newlib for the Cortex-M3) or {READELF} is still not usable from PATH",
            PACKAGES.join(" ")
        ))
    }
}

/// The vendored headers.
fn sdk_dir() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("LUATOS_SOC_2022_HEADERS") {
        Some(dir) => PathBuf::from(dir),
        None => root().join("../shared/vendor/luatos-soc-2022"),
    };
    if dir.join("defines.txt").is_file() && dir.join("include-dirs.txt").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "the luatos-soc-2022 headers (with defines.txt and include-dirs.txt) are not in {}; set LUATOS_SOC_2022_HEADERS",
            dir.display()
        ))
    }
}

fn out_dir() -> PathBuf {
    crate::firmware::workspace_target_dir().join("ec618-check")
}

fn lines(path: &Path) -> Result<Vec<String>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// The vendor build's flags, defines and include directories, then the check's own. The
/// vendor's directories are system ones, in the build's order: their headers' warnings are
/// the vendor's business, while the check's own C is held to `-Wall -Wextra -Werror` (a GCC
/// newer than the vendor's may warn in its headers where the vendor's did not).
fn gcc_flags(sdk: &Path, crate_dir: &Path, out: &Path) -> Result<Vec<String>, String> {
    let mut flags: Vec<String> = CPU_FLAGS.iter().map(|f| f.to_string()).collect();
    flags.extend(["-Wall", "-Wextra", "-Werror"].map(String::from));
    flags.extend(lines(&sdk.join("defines.txt"))?);
    for dir in [
        crate_dir.join("check"),
        crate_dir.join("c"),
        out.to_path_buf(),
    ] {
        flags.push(format!("-I{}", dir.display()));
    }
    for dir in lines(&sdk.join("include-dirs.txt"))? {
        flags.push("-isystem".into());
        flags.push(sdk.join(dir).display().to_string());
    }
    Ok(flags)
}

/// Compiles `source` into `object`; `Err` holds the compiler's messages.
fn compile(flags: &[String], source: &Path, object: &Path) -> Result<(), String> {
    let output = Command::new(GCC)
        .args(flags)
        .arg("-c")
        .arg(source)
        .arg("-o")
        .arg(object)
        .output()
        .map_err(|e| format!("could not run {GCC}: {e}"))?;
    println!("{GCC} -mcpu=cortex-m3 -mthumb ... -c {}", source.display());
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// The object must be tagged with small enums, as the vendor's are.
fn small_enums(object: &Path) -> Result<(), String> {
    let output = Command::new(READELF)
        .arg("-A")
        .arg(object)
        .output()
        .map_err(|e| format!("could not run {READELF}: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.lines().any(|l| l.trim() == "Tag_ABI_enum_size: small") {
        Ok(())
    } else {
        Err(format!(
            "{} is not tagged Tag_ABI_enum_size: small, unlike the vendor's objects",
            object.display()
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The symbol check
// ---------------------------------------------------------------------------------------------

/// Builds the firmware library for the module.
fn firmware_library() -> Result<PathBuf, String> {
    let args = [
        "build",
        "-p",
        "hal-ec618",
        "--example",
        "firmware",
        "--features",
        "sntp",
        "--target",
        TARGET,
        "--release",
    ];
    println!("cargo {}", args.join(" "));
    let status = Command::new("cargo")
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Err("building the firmware library failed".into());
    }
    Ok(crate::firmware::workspace_target_dir()
        .join(TARGET)
        .join("release/examples/libfirmware.a"))
}

/// Symbols `archive` (or object) refers to, and those it defines (global or weak).
fn symbol_table(path: &Path) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    // readelf, not nm: the Rust objects carry LLVM bitcode that binutils' plugin cannot read.
    let output = Command::new(READELF)
        .arg("-sW")
        .arg(path)
        .output()
        .map_err(|e| format!("could not run {READELF}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{READELF} -sW {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let (mut undefined, mut defined) = (BTreeSet::new(), BTreeSet::new());
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        // Num: Value Size Type Bind Vis Ndx Name
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 8 || !cols[0].ends_with(':') {
            continue;
        }
        let (bind, ndx, name) = (cols[4], cols[6], cols[7]);
        if ndx == "UND" {
            undefined.insert(name.to_string());
        } else if bind == "GLOBAL" || bind == "WEAK" {
            defined.insert(name.to_string());
        }
    }
    Ok((undefined, defined))
}

/// Which of `names` the declarations in `header` do not declare (a C file referring to each
/// is compiled; the compiler names what is undeclared).
fn undeclared(
    flags: &[String],
    out: &Path,
    header: &str,
    names: &BTreeSet<String>,
) -> Result<BTreeSet<String>, String> {
    let mut source = format!("#include \"{header}\"\n");
    for name in names {
        let _ = writeln!(
            source,
            "void *hal_ec618_ref_{name}(void) {{ return (void *)&{name}; }}"
        );
    }
    let file = out.join("symbols.c");
    std::fs::write(&file, source).map_err(|e| format!("writing {}: {e}", file.display()))?;
    let mut flags = flags.to_vec();
    // Undeclared names are what is measured here; other warnings are not.
    flags.retain(|f| f != "-Werror" && f != "-Wextra" && f != "-Wall");
    flags.push("-Werror=implicit-function-declaration".into());
    match compile(&flags, &file, &out.join("symbols.o")) {
        Ok(()) => Ok(BTreeSet::new()),
        Err(messages) => {
            let mut missing = BTreeSet::new();
            for line in messages.lines() {
                let Some(rest) = line.split("error: '").nth(1) else {
                    continue;
                };
                let Some((name, tail)) = rest.split_once('\'') else {
                    continue;
                };
                if tail.trim_start().starts_with("undeclared") && names.contains(name) {
                    missing.insert(name.to_string());
                }
            }
            if missing.is_empty() {
                Err(format!("checking declarations in {header}:\n{messages}"))
            } else {
                Ok(missing)
            }
        }
    }
}

/// The vendor header that declares `name`, relative to the SDK directory.
fn declaring_header(sdk: &Path, name: &str) -> Option<String> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "h") {
                found.push(path);
            }
        }
    }
    let mut headers = Vec::new();
    walk(sdk, &mut headers);
    headers.sort();
    headers.into_iter().find_map(|path| {
        let text = std::fs::read_to_string(&path).ok()?;
        let declares = text.lines().any(|line| {
            let line = line.trim_start();
            !line.starts_with('#')
                && !line.starts_with("//")
                && !line.starts_with('*')
                && line.match_indices(name).any(|(at, _)| {
                    let before = line[..at].chars().next_back();
                    let after = line[at + name.len()..].trim_start();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && after.starts_with('(')
                })
        });
        declares.then(|| {
            path.strip_prefix(sdk)
                .unwrap_or(&path)
                .display()
                .to_string()
        })
    })
}

/// Defined symbols of the C toolchain's runtime libraries for the Cortex-M3.
fn toolchain_runtime() -> Result<BTreeSet<String>, String> {
    let mut defined = BTreeSet::new();
    for query in ["-print-libgcc-file-name", "-print-file-name=libc_nano.a"] {
        let output = Command::new(GCC)
            .args(CPU_FLAGS)
            .arg(query)
            .output()
            .map_err(|e| format!("could not run {GCC}: {e}"))?;
        let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if path.is_absolute() {
            defined.extend(symbol_table(&path)?.1);
        }
    }
    Ok(defined)
}

/// The undefined symbols of `library`, each accounted for; the report, or what is not.
fn symbols(flags: &[String], sdk: &Path, out: &Path, library: &Path) -> Result<String, String> {
    let (undefined, defined) = symbol_table(library)?;
    let unresolved: BTreeSet<String> = undefined.difference(&defined).cloned().collect();
    let not_vendor = undeclared(flags, out, "sdk.h", &unresolved)?;
    let not_shim = undeclared(flags, out, "hal_ec618_shim.h", &not_vendor)?;
    let not_sntp = undeclared(flags, out, "sntp.h", &not_shim)?;
    let runtime = toolchain_runtime()?;
    let unknown: Vec<&String> = not_sntp.iter().filter(|s| !runtime.contains(*s)).collect();
    if !unknown.is_empty() {
        let list: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        return Err(format!(
            "the firmware library needs symbols no vendor header declares: {}",
            list.join(", ")
        ));
    }

    let mut report = String::new();
    let _ = writeln!(
        report,
        "libfirmware.a (hal-ec618/examples/firmware.rs, {TARGET}, release): {} undefined symbols",
        unresolved.len()
    );
    let vendor: Vec<&String> = unresolved
        .iter()
        .filter(|s| !not_vendor.contains(*s))
        .collect();
    let _ = writeln!(
        report,
        "declared by the vendor's headers ({}):",
        vendor.len()
    );
    for name in vendor {
        let header = declaring_header(sdk, name).unwrap_or_else(|| "(by inclusion)".into());
        let _ = writeln!(report, "  {name:<40} {header}");
    }
    let shim: Vec<&String> = not_vendor
        .iter()
        .filter(|s| !not_shim.contains(*s))
        .collect();
    let _ = writeln!(
        report,
        "declared by c/hal_ec618_shim.h, defined by c/hal_ec618_shim.c ({}):",
        shim.len()
    );
    for name in shim {
        let _ = writeln!(report, "  {name}");
    }
    let sntp: Vec<&String> = not_shim.iter().filter(|s| !not_sntp.contains(*s)).collect();
    let _ = writeln!(
        report,
        "declared by thirdparty/sntp/sntp.h, not vendored, restated in check/sntp.h ({}):",
        sntp.len()
    );
    for name in sntp {
        let _ = writeln!(report, "  {name}");
    }
    let _ = writeln!(
        report,
        "defined by the C toolchain's libgcc or newlib ({}):",
        not_sntp.len()
    );
    for name in &not_sntp {
        let _ = writeln!(report, "  {name}");
    }
    Ok(report)
}

/// The README's copy of the report must be this one.
fn readme_in_step(readme: &Path, report: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(readme)
        .map_err(|e| format!("reading {}: {e}", readme.display()))?;
    let block = text
        .split_once(README_START)
        .and_then(|(_, rest)| rest.split_once(README_END))
        .map(|(block, _)| block);
    let Some(block) = block else {
        return Err(format!(
            "{} has no {README_START} ... {README_END} block for the symbol list",
            readme.display()
        ));
    };
    let wanted = format!("\n```text\n{report}```\n");
    if block == wanted {
        println!("the README's symbol list is up to date");
        Ok(())
    } else {
        Err(format!(
            "the symbol list in {} is out of date; replace the block between {README_START} and {README_END} with:\n```text\n{report}```",
            readme.display()
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading sys.rs
// ---------------------------------------------------------------------------------------------

/// A type as sys.rs writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ty {
    /// A primitive, with its C spelling and its Rust one.
    Prim {
        c: &'static str,
        rust: String,
    },
    /// An alias or struct of sys.rs.
    Named(String),
    Ptr {
        mutable: bool,
        to: Box<Ty>,
    },
    Array(Box<Ty>, u64),
    /// `Option<unsafe extern "C" fn(..)>` or a bare `extern "C" fn(..)`.
    FnPtr {
        params: Vec<Ty>,
        ret: Option<Box<Ty>>,
    },
}

impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ty::Prim { rust, .. } => write!(f, "{rust}"),
            Ty::Named(n) => write!(f, "{n}"),
            Ty::Ptr { mutable, to } => {
                write!(f, "*{} {to}", if *mutable { "mut" } else { "const" })
            }
            Ty::Array(t, n) => write!(f, "[{t}; {n}]"),
            Ty::FnPtr { params, ret } => {
                let params: Vec<String> = params.iter().map(Ty::to_string).collect();
                // No quotes: this text goes into C string literals.
                write!(f, "Option<extern fn({})", params.join(", "))?;
                if let Some(r) = ret {
                    write!(f, " -> {r}")?;
                }
                write!(f, ">")
            }
        }
    }
}

#[derive(Debug)]
struct Func {
    name: String,
    params: Vec<(String, Ty)>,
    ret: Option<Ty>,
}

impl Func {
    fn rust(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(n, t)| format!("{n}: {t}"))
            .collect();
        let ret = self
            .ret
            .as_ref()
            .map(|r| format!(" -> {r}"))
            .unwrap_or_default();
        format!("fn {}({}){ret}", self.name, params.join(", "))
    }
}

#[derive(Debug)]
struct Struct {
    name: String,
    fields: Vec<(String, Ty)>,
    opaque: bool,
}

#[derive(Debug)]
enum Layout {
    Size(String, u64),
    Align(String, u64),
    Offset(String, String, u64),
}

#[derive(Debug, Default)]
struct Sys {
    aliases: Vec<(String, Ty)>,
    structs: Vec<Struct>,
    consts: Vec<(String, Ty, i128)>,
    funcs: Vec<Func>,
    statics: Vec<(String, Ty)>,
    layout: Vec<Layout>,
}

mod parse {
    //! A reader for the plain Rust sys.rs is written in; anything else is an error.

    use super::{Func, Layout, Struct, Sys, Ty};

    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Ident(String),
        Punct(char),
        Str(String),
        Int(i128),
    }

    struct Token {
        tok: Tok,
        line: usize,
    }

    /// Named parameters and the return type of a function.
    type Signature = (Vec<(String, Ty)>, Option<Ty>);

    fn lex(src: &str) -> Result<Vec<Token>, String> {
        let chars: Vec<char> = src.chars().collect();
        let (mut i, mut line, mut out) = (0, 1, Vec::new());
        while i < chars.len() {
            let c = chars[i];
            if c == '\n' {
                line += 1;
                i += 1;
            } else if c.is_whitespace() {
                i += 1;
            } else if c == '/' && chars.get(i + 1) == Some(&'/') {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            } else if c == '/' && chars.get(i + 1) == Some(&'*') {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 2;
            } else if c == '"' {
                let start = i + 1;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += 1;
                }
                let text: String = chars[start..i.min(chars.len())].iter().collect();
                out.push(Token {
                    tok: Tok::Str(text),
                    line,
                });
                i += 1;
            } else if c.is_ascii_digit() {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
                let value = if let Some(hex) = text.strip_prefix("0x") {
                    i128::from_str_radix(hex, 16)
                } else {
                    text.parse()
                }
                .map_err(|_| format!("line {line}: cannot read the number {text}"))?;
                out.push(Token {
                    tok: Tok::Int(value),
                    line,
                });
            } else if c.is_alphabetic() || c == '_' {
                let mut start = i;
                if c == 'r' && chars.get(i + 1) == Some(&'#') {
                    start += 2;
                    i += 2;
                }
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Ident(chars[start..i].iter().collect()),
                    line,
                });
            } else {
                out.push(Token {
                    tok: Tok::Punct(c),
                    line,
                });
                i += 1;
            }
        }
        Ok(out)
    }

    struct P {
        t: Vec<Token>,
        i: usize,
        /// Attributes seen since the last item, as text.
        attrs: Vec<String>,
    }

    impl P {
        fn peek(&self) -> Option<&Tok> {
            self.t.get(self.i).map(|t| &t.tok)
        }

        fn peek_at(&self, n: usize) -> Option<&Tok> {
            self.t.get(self.i + n).map(|t| &t.tok)
        }

        fn line(&self) -> usize {
            self.t.get(self.i).or(self.t.last()).map_or(0, |t| t.line)
        }

        fn err<T>(&self, what: &str) -> Result<T, String> {
            Err(format!("line {}: {what}", self.line()))
        }

        fn next(&mut self) -> Option<Tok> {
            let t = self.t.get(self.i).map(|t| t.tok.clone());
            self.i += 1;
            t
        }

        fn is_punct(&self, c: char) -> bool {
            self.peek() == Some(&Tok::Punct(c))
        }

        fn is_ident(&self, s: &str) -> bool {
            matches!(self.peek(), Some(Tok::Ident(i)) if i == s)
        }

        fn punct(&mut self, c: char) -> Result<(), String> {
            if self.is_punct(c) {
                self.i += 1;
                Ok(())
            } else {
                self.err(&format!("expected `{c}`"))
            }
        }

        fn keyword(&mut self, s: &str) -> Result<(), String> {
            if self.is_ident(s) {
                self.i += 1;
                Ok(())
            } else {
                self.err(&format!("expected `{s}`"))
            }
        }

        fn ident(&mut self) -> Result<String, String> {
            match self.next() {
                Some(Tok::Ident(s)) => Ok(s),
                _ => {
                    self.i -= 1;
                    self.err("expected a name")
                }
            }
        }

        fn int(&mut self) -> Result<i128, String> {
            let negative = self.is_punct('-');
            if negative {
                self.i += 1;
            }
            match self.next() {
                Some(Tok::Int(v)) => Ok(if negative { -v } else { v }),
                _ => {
                    self.i -= 1;
                    self.err("expected an integer literal")
                }
            }
        }

        /// `#[..]` or `#![..]`, kept as text in `attrs`.
        fn attribute(&mut self) -> Result<(), String> {
            self.punct('#')?;
            if self.is_punct('!') {
                self.i += 1;
            }
            self.punct('[')?;
            let mut depth = 1;
            let mut text = String::new();
            while depth > 0 {
                match self.next() {
                    Some(Tok::Punct('[')) => {
                        depth += 1;
                        text.push('[');
                    }
                    Some(Tok::Punct(']')) => {
                        depth -= 1;
                        if depth > 0 {
                            text.push(']');
                        }
                    }
                    Some(Tok::Ident(s)) => {
                        text.push(' ');
                        text.push_str(&s);
                    }
                    Some(Tok::Punct(c)) => text.push(c),
                    Some(Tok::Str(s)) => text.push_str(&s),
                    Some(Tok::Int(v)) => text.push_str(&v.to_string()),
                    None => return self.err("unterminated attribute"),
                }
            }
            self.attrs.push(text);
            Ok(())
        }

        fn skip_attributes(&mut self) -> Result<(), String> {
            while self.is_punct('#') {
                self.attribute()?;
            }
            Ok(())
        }

        /// Skips to the `;` that ends the current statement.
        fn skip_statement(&mut self) -> Result<(), String> {
            let mut depth = 0i32;
            loop {
                match self.next() {
                    Some(Tok::Punct('(' | '[' | '{')) => depth += 1,
                    Some(Tok::Punct(')' | ']' | '}')) => depth -= 1,
                    Some(Tok::Punct(';')) if depth == 0 => return Ok(()),
                    Some(_) => {}
                    None => return self.err("unterminated statement"),
                }
            }
        }

        fn path_sep(&self) -> bool {
            self.is_punct(':') && self.peek_at(1) == Some(&Tok::Punct(':'))
        }

        fn ty(&mut self) -> Result<Ty, String> {
            if self.is_punct('*') {
                self.i += 1;
                let mutable = match self.ident()?.as_str() {
                    "mut" => true,
                    "const" => false,
                    _ => return self.err("expected `const` or `mut` after `*`"),
                };
                return Ok(Ty::Ptr {
                    mutable,
                    to: Box::new(self.ty()?),
                });
            }
            if self.is_punct('[') {
                self.i += 1;
                let elem = self.ty()?;
                self.punct(';')?;
                let n = self.int()?;
                self.punct(']')?;
                let n =
                    u64::try_from(n).map_err(|_| format!("line {}: bad length", self.line()))?;
                return Ok(Ty::Array(Box::new(elem), n));
            }
            if self.is_ident("Option") {
                self.i += 1;
                self.punct('<')?;
                let f = self.fn_ty()?;
                self.punct('>')?;
                return Ok(f);
            }
            if self.is_ident("unsafe") || self.is_ident("extern") {
                return self.fn_ty();
            }
            let mut name = self.ident()?;
            while self.path_sep() {
                self.i += 2;
                name = self.ident()?;
            }
            if self.is_punct('<') {
                return self.err(&format!("generic type `{name}<..>` is not supported"));
            }
            let c = match name.as_str() {
                "u8" => "uint8_t",
                "i8" => "int8_t",
                "u16" => "uint16_t",
                "i16" => "int16_t",
                "u32" => "uint32_t",
                "i32" => "int32_t",
                "u64" => "uint64_t",
                "i64" => "int64_t",
                "usize" => "size_t",
                "isize" => "ptrdiff_t",
                "bool" => "_Bool",
                "c_char" => "char",
                "c_schar" => "signed char",
                "c_uchar" => "unsigned char",
                "c_short" => "short",
                "c_ushort" => "unsigned short",
                "c_int" => "int",
                "c_uint" => "unsigned int",
                "c_long" => "long",
                "c_ulong" => "unsigned long",
                "c_longlong" => "long long",
                "c_ulonglong" => "unsigned long long",
                "c_void" => "void",
                _ => return Ok(Ty::Named(name)),
            };
            Ok(Ty::Prim { c, rust: name })
        }

        fn fn_ty(&mut self) -> Result<Ty, String> {
            if self.is_ident("unsafe") {
                self.i += 1;
            }
            self.keyword("extern")?;
            match self.next() {
                Some(Tok::Str(abi)) if abi == "C" => {}
                _ => return self.err("expected extern \"C\""),
            }
            self.keyword("fn")?;
            let (params, ret) = self.signature()?;
            Ok(Ty::FnPtr {
                params: params.into_iter().map(|(_, t)| t).collect(),
                ret: ret.map(Box::new),
            })
        }

        /// `(name: Ty, ..) -> Ty`; names are optional in function pointer types.
        fn signature(&mut self) -> Result<Signature, String> {
            self.punct('(')?;
            let mut params = Vec::new();
            while !self.is_punct(')') {
                let named = matches!(self.peek(), Some(Tok::Ident(_)))
                    && self.peek_at(1) == Some(&Tok::Punct(':'))
                    && self.peek_at(2) != Some(&Tok::Punct(':'));
                let name = if named {
                    let n = self.ident()?;
                    self.punct(':')?;
                    n
                } else {
                    format!("_{}", params.len())
                };
                params.push((name, self.ty()?));
                if self.is_punct(',') {
                    self.i += 1;
                }
            }
            self.punct(')')?;
            let ret = if self.is_punct('-') && self.peek_at(1) == Some(&Tok::Punct('>')) {
                self.i += 2;
                Some(self.ty()?)
            } else {
                None
            };
            Ok((params, ret))
        }

        fn structure(&mut self) -> Result<Struct, String> {
            let repr_c = self
                .attrs
                .iter()
                .any(|a| a.replace(' ', "").starts_with("repr(C"));
            let name = self.ident()?;
            if !repr_c {
                return self.err(&format!("struct {name} is not #[repr(C)]"));
            }
            self.punct('{')?;
            let (mut fields, mut opaque) = (Vec::new(), false);
            while !self.is_punct('}') {
                self.skip_attributes()?;
                if self.is_ident("pub") {
                    self.i += 1;
                }
                let field = self.ident()?;
                self.punct(':')?;
                if field.starts_with('_') {
                    // The opaque pattern: `_opaque: [u8; 0], _pinned: PhantomData<..>`.
                    opaque = true;
                    let mut depth = 0i32;
                    loop {
                        match self.peek() {
                            Some(Tok::Punct('<' | '(' | '[')) => depth += 1,
                            Some(Tok::Punct('>' | ')' | ']')) => depth -= 1,
                            Some(Tok::Punct(',' | '}')) if depth == 0 => break,
                            None => return self.err("unterminated struct"),
                            _ => {}
                        }
                        self.i += 1;
                    }
                } else {
                    fields.push((field, self.ty()?));
                }
                if self.is_punct(',') {
                    self.i += 1;
                }
            }
            self.punct('}')?;
            if opaque && !fields.is_empty() {
                return self.err(&format!("struct {name} mixes opaque and public fields"));
            }
            Ok(Struct {
                name,
                fields,
                opaque,
            })
        }

        /// `const _: () = { assert!(..); .. };`
        fn layout(&mut self, sys: &mut Sys) -> Result<(), String> {
            self.punct(':')?;
            self.punct('(')?;
            self.punct(')')?;
            self.punct('=')?;
            self.punct('{')?;
            while !self.is_punct('}') {
                if self.is_ident("use") {
                    self.skip_statement()?;
                    continue;
                }
                self.keyword("assert")?;
                self.punct('!')?;
                self.punct('(')?;
                let what = self.ident()?;
                let entry = match what.as_str() {
                    "size_of" | "align_of" => {
                        self.punct(':')?;
                        self.punct(':')?;
                        self.punct('<')?;
                        let ty = self.ident()?;
                        self.punct('>')?;
                        self.punct('(')?;
                        self.punct(')')?;
                        (what, ty, String::new())
                    }
                    "offset_of" => {
                        self.punct('!')?;
                        self.punct('(')?;
                        let ty = self.ident()?;
                        self.punct(',')?;
                        let field = self.ident()?;
                        self.punct(')')?;
                        (what, ty, field)
                    }
                    _ => return self.err("expected size_of, align_of or offset_of!"),
                };
                self.punct('=')?;
                self.punct('=')?;
                let value = u64::try_from(self.int()?)
                    .map_err(|_| format!("line {}: negative layout", self.line()))?;
                self.punct(')')?;
                self.punct(';')?;
                sys.layout.push(match entry.0.as_str() {
                    "size_of" => Layout::Size(entry.1, value),
                    "align_of" => Layout::Align(entry.1, value),
                    _ => Layout::Offset(entry.1, entry.2, value),
                });
            }
            self.punct('}')?;
            self.punct(';')
        }

        fn extern_block(&mut self, sys: &mut Sys) -> Result<(), String> {
            self.keyword("extern")?;
            match self.next() {
                Some(Tok::Str(abi)) if abi == "C" => {}
                _ => return self.err("expected extern \"C\""),
            }
            self.punct('{')?;
            loop {
                self.skip_attributes()?;
                if self.is_punct('}') {
                    self.i += 1;
                    return Ok(());
                }
                self.keyword("pub")?;
                if self.is_ident("fn") {
                    self.i += 1;
                    let name = self.ident()?;
                    let (params, ret) = self.signature()?;
                    self.punct(';')?;
                    sys.funcs.push(Func { name, params, ret });
                } else if self.is_ident("static") {
                    self.i += 1;
                    if self.is_ident("mut") {
                        self.i += 1;
                    }
                    let name = self.ident()?;
                    self.punct(':')?;
                    let ty = self.ty()?;
                    self.punct(';')?;
                    sys.statics.push((name, ty));
                } else {
                    return self.err("expected `pub fn` or `pub static` in the extern block");
                }
            }
        }
    }

    /// Reads sys.rs.
    pub(super) fn sys(source: &str) -> Result<Sys, String> {
        let mut p = P {
            t: lex(source)?,
            i: 0,
            attrs: Vec::new(),
        };
        let mut sys = Sys::default();
        while let Some(tok) = p.peek().cloned() {
            match tok {
                Tok::Punct('#') => {
                    p.attribute()?;
                    continue;
                }
                Tok::Ident(word) if word == "use" => p.skip_statement()?,
                Tok::Ident(word) if word == "pub" => {
                    p.i += 1;
                    match p.ident()?.as_str() {
                        "type" => {
                            let name = p.ident()?;
                            p.punct('=')?;
                            let ty = p.ty()?;
                            p.punct(';')?;
                            sys.aliases.push((name, ty));
                        }
                        "struct" => {
                            let s = p.structure()?;
                            sys.structs.push(s);
                        }
                        "const" => {
                            let name = p.ident()?;
                            p.punct(':')?;
                            let ty = p.ty()?;
                            p.punct('=')?;
                            let value = p.int()?;
                            p.punct(';')?;
                            sys.consts.push((name, ty, value));
                        }
                        other => return p.err(&format!("cannot check `pub {other}` items")),
                    }
                }
                Tok::Ident(word) if word == "const" => {
                    p.i += 1;
                    if !p.is_ident("_") {
                        return p.err("private constants do not belong in sys.rs");
                    }
                    p.i += 1;
                    p.layout(&mut sys)?;
                }
                Tok::Ident(word) if word == "unsafe" => {
                    p.i += 1;
                    p.extern_block(&mut sys)?;
                }
                _ => return p.err("cannot read this item"),
            }
            p.attrs.clear();
        }
        Ok(sys)
    }
}

mod generate {
    //! The C assertions that sys.rs means.

    use std::fmt::Write as _;

    use super::{Layout, Sys, Ty};

    struct Gen<'s> {
        sys: &'s Sys,
        typedefs: String,
        /// Each typedef made, by its declaration with `@` for the name.
        made: Vec<(String, String)>,
    }

    impl Gen<'_> {
        /// A typedef name for the declaration `declare` makes of a name (one per type).
        fn typedef(&mut self, declare: impl Fn(&str) -> String) -> String {
            let key = declare("@");
            if let Some((_, name)) = self.made.iter().find(|(k, _)| *k == key) {
                return name.clone();
            }
            let name = format!("hal_ec618_t{}", self.made.len() + 1);
            let _ = writeln!(self.typedefs, "typedef {};", declare(&name));
            self.made.push((key, name.clone()));
            name
        }

        /// A C type name for what `ty` means in Rust.
        fn c(&mut self, ty: &Ty) -> Result<String, String> {
            Ok(match ty {
                Ty::Prim { c, .. } => (*c).to_string(),
                Ty::Named(name) => {
                    if let Some((_, target)) = self.sys.aliases.iter().find(|(n, _)| n == name) {
                        let target = target.clone();
                        return self.c(&target);
                    }
                    if !self.sys.structs.iter().any(|s| &s.name == name) {
                        return Err(format!("sys.rs: unknown type {name}"));
                    }
                    name.clone()
                }
                Ty::Ptr { mutable, to } => {
                    let mut inner = self.c(to)?;
                    if matches!(**to, Ty::Ptr { .. }) || inner.contains('*') {
                        let pointee = inner.clone();
                        inner = self.typedef(|n| format!("{pointee} {n}"));
                    }
                    if *mutable {
                        format!("{inner} *")
                    } else {
                        format!("const {inner} *")
                    }
                }
                Ty::Array(elem, n) => {
                    let elem = self.c(elem)?;
                    let n = *n;
                    self.typedef(|name| format!("{elem} {name}[{n}]"))
                }
                Ty::FnPtr { params, ret } => {
                    let (params, ret) = self.prototype(params, ret.as_deref())?;
                    self.typedef(|name| format!("{ret} (*{name})({params})"))
                }
            })
        }

        fn prototype(
            &mut self,
            params: &[Ty],
            ret: Option<&Ty>,
        ) -> Result<(String, String), String> {
            let mut list = Vec::new();
            for p in params {
                list.push(self.c(p)?);
            }
            let params = if list.is_empty() {
                "void".to_string()
            } else {
                list.join(", ")
            };
            let ret = match ret {
                Some(r) => self.c(r)?,
                None => "void".into(),
            };
            Ok((params, ret))
        }
    }

    /// The contents of `sys_expected.h`.
    pub(super) fn expected(sys: &Sys) -> Result<String, String> {
        let mut g = Gen {
            sys,
            typedefs: String::new(),
            made: Vec::new(),
        };
        let mut body = String::new();

        body.push_str("\n/* Aliases: the C type of the same name is the one the alias means. */\n");
        for (name, ty) in &sys.aliases {
            let c = g.c(ty)?;
            let _ = writeln!(
                body,
                "_Static_assert(sizeof({name}) == sizeof({c}) && __builtin_types_compatible_p({name}, {c}), \"sys.rs: type {name} = {ty} is not the C type {name}\");"
            );
        }

        body.push_str("\n/* Structs: fields, sizes, alignments and offsets. */\n");
        for s in &sys.structs {
            let name = &s.name;
            if s.opaque {
                let _ = writeln!(
                    body,
                    "_Static_assert(sizeof({name} *) == sizeof(void *), \"sys.rs: opaque {name} names no C type\");"
                );
                continue;
            }
            let (mut size, mut align) = (false, false);
            for l in &sys.layout {
                match l {
                    Layout::Size(t, v) if t == name => {
                        size = true;
                        let _ = writeln!(
                            body,
                            "_Static_assert(sizeof({name}) == {v}, \"sys.rs: size_of::<{name}>() == {v}, but the C struct differs\");"
                        );
                    }
                    Layout::Align(t, v) if t == name => {
                        align = true;
                        let _ = writeln!(
                            body,
                            "_Static_assert(_Alignof({name}) == {v}, \"sys.rs: align_of::<{name}>() == {v}, but the C struct differs\");"
                        );
                    }
                    _ => {}
                }
            }
            if !size || !align {
                return Err(format!(
                    "sys.rs: struct {name} needs size_of and align_of assertions in the layout block"
                ));
            }
            for (field, ty) in &s.fields {
                let c = g.c(ty)?;
                let member = format!("(({name} *)0)->{field}");
                let _ = writeln!(
                    body,
                    "_Static_assert(sizeof({member}) == sizeof({c}), \"sys.rs: {name}.{field}: {ty} is not the size of the C field\");"
                );
                if !matches!(ty, Ty::Array(..)) {
                    let _ = writeln!(
                        body,
                        "_Static_assert(__builtin_types_compatible_p(__typeof__({member}), {c}), \"sys.rs: {name}.{field}: {ty} is not the type of the C field\");"
                    );
                }
                let offset = sys.layout.iter().find_map(|l| match l {
                    Layout::Offset(t, f, v) if t == name && f == field => Some(*v),
                    _ => None,
                });
                let Some(v) = offset else {
                    return Err(format!(
                        "sys.rs: field {name}.{field} needs an offset_of! assertion in the layout block"
                    ));
                };
                let _ = writeln!(
                    body,
                    "_Static_assert(__builtin_offsetof({name}, {field}) == {v}, \"sys.rs: offset_of!({name}, {field}) == {v}, but the C field is elsewhere\");"
                );
            }
        }
        for l in &sys.layout {
            let (t, f) = match l {
                Layout::Size(t, _) | Layout::Align(t, _) => (t, None),
                Layout::Offset(t, f, _) => (t, Some(f)),
            };
            let known = sys
                .structs
                .iter()
                .find(|s| &s.name == t && !s.opaque)
                .is_some_and(|s| f.is_none_or(|f| s.fields.iter().any(|(n, _)| n == f)));
            if !known {
                return Err(format!(
                    "sys.rs: a layout assertion names {t}{}, which sys.rs does not declare",
                    f.map(|f| format!(".{f}")).unwrap_or_default()
                ));
            }
        }

        body.push_str("\n/* Constants. */\n");
        for (name, ty, value) in &sys.consts {
            let _ = writeln!(
                body,
                "_Static_assert((long long)({name}) == {value}LL, \"sys.rs: const {name}: {ty} = {value}, but C says otherwise\");"
            );
        }

        body.push_str("\n/* Functions: the C prototype is the function type sys.rs declares. */\n");
        for f in &sys.funcs {
            let params: Vec<Ty> = f.params.iter().map(|(_, t)| t.clone()).collect();
            let (params, ret) = g.prototype(&params, f.ret.as_ref())?;
            let name = &f.name;
            let _ = writeln!(body, "typedef {ret} hal_ec618_fn_{name}({params});");
            let _ = writeln!(
                body,
                "_Static_assert(__builtin_types_compatible_p(__typeof__({name}), hal_ec618_fn_{name}), \"sys.rs declares {}, that is {ret} ({params}) in C, which is not the C prototype of {name}\");",
                f.rust()
            );
        }

        body.push_str("\n/* Statics. */\n");
        for (name, ty) in &sys.statics {
            let c = g.c(ty)?;
            let _ = writeln!(
                body,
                "_Static_assert(__builtin_types_compatible_p(__typeof__({name}), {c}), \"sys.rs: static {name}: {ty} is not the C object\");"
            );
        }

        Ok(format!(
            "/* Generated by `cargo xtask ec618-check` from hal-ec618/src/sys.rs: do not edit. */\n#ifndef HAL_EC618_SYS_EXPECTED_H\n#define HAL_EC618_SYS_EXPECTED_H\n\n{}{body}\n#endif\n",
            g.typedefs
        ))
    }
}
