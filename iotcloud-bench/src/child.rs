//! Each measured client runs in a process of its own, so that its peak memory (`ru_maxrss`
//! from `wait4`) is its own and nothing else's. The Rust clients are this binary started
//! again with a hidden subcommand; they say `ready` once connected and start on `go`.
//!
//! Linux carries a process's peak RSS over `exec`, and a child started with `vfork` (what
//! `posix_spawn` does) or `fork` from the benchmark would start its count at the
//! benchmark's own peak. So every client is started by a small launcher (this binary with
//! `__rss`), which forks and execs it, waits for it with `wait4`, and prints its
//! `ru_maxrss`; the launcher's own memory is a few hundred KiB of copied pages at most.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use crate::error::{Context, Result, fail};

/// How a client process ended.
#[derive(Debug, Clone)]
pub struct Exit {
    /// When the launcher (and so the client) had exited.
    pub at: Instant,
    /// Peak resident set size, KiB.
    pub max_rss_kib: u64,
    /// User and system CPU time of the client process over its whole life, µs.
    pub cpu_us: u64,
    /// Everything it printed after `ready`.
    pub output: String,
}

/// A client process being measured.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    reaped: bool,
    name: String,
}

/// This binary's path.
pub fn this_binary() -> Result<OsString> {
    std::env::current_exe()
        .map(Into::into)
        .ctx("finding the benchmark's own executable")
}

impl Client {
    /// Starts `program` with `args` through the launcher, with piped stdin and stdout.
    pub fn spawn(program: impl Into<OsString>, args: &[&str], name: &str) -> Result<Client> {
        let mut cmd = Command::new(this_binary()?);
        cmd.arg("__rss").arg(program.into()).args(args);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .ctx(&format!("starting {name}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ctx("child without stdout")?;
        Ok(Client {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            reaped: false,
            name: name.to_string(),
        })
    }

    /// Waits for the line `ready`.
    pub fn wait_ready(&mut self) -> Result<()> {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .ctx(&format!("reading from {}", self.name))?;
        if line.trim() != "ready" {
            return fail(format!(
                "{} did not get ready (it said {:?})",
                self.name,
                line.trim()
            ));
        }
        Ok(())
    }

    /// Its standard input.
    pub fn stdin(&mut self) -> Result<&mut ChildStdin> {
        self.stdin.as_mut().ctx("child's stdin already closed")
    }

    /// Takes its standard input, to feed it from another thread or close it.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }

    /// Sends `go` (one line).
    pub fn go(&mut self) -> Result<()> {
        let stdin = self.stdin()?;
        stdin.write_all(b"go\n").ctx("starting the client")?;
        stdin.flush().ctx("starting the client")
    }

    /// Waits for the process to end and reads its peak memory. A non-zero exit is an error
    /// that carries what it printed.
    pub fn wait(mut self) -> Result<Exit> {
        drop(self.stdin.take());
        let status = self
            .child
            .wait()
            .ctx(&format!("waiting for {}", self.name))?;
        self.reaped = true;
        let at = Instant::now();
        let mut output = String::new();
        let _ = self.stdout.read_to_string(&mut output);
        if !status.success() {
            return fail(format!(
                "{} failed ({status}); it printed: {}",
                self.name,
                output.trim()
            ));
        }
        Ok(Exit {
            at,
            max_rss_kib: value(&output, "max_rss_kib")? as u64,
            cpu_us: value(&output, "cpu_us")? as u64,
            output,
        })
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if !self.reaped {
            // An error path: do not leave the process behind.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Hidden `__rss <program> <args…>`: runs the program with this process's standard
/// streams, waits for it, and prints `max_rss_kib=` with its peak RSS. Fails if it failed.
pub fn launch(args: &[String]) -> Result<()> {
    let (program, rest) = args.split_first().ctx("__rss: missing program")?;
    let mut cmd = Command::new(program);
    cmd.args(rest);
    // SAFETY: the closure does nothing, so it is trivially async-signal-safe. Having one
    // makes std start the program with fork and exec rather than posix_spawn's vfork,
    // whose shared address space would hand this process's peak RSS on to the program.
    unsafe {
        cmd.pre_exec(|| Ok(()));
    }
    let child = cmd.spawn().ctx(&format!("starting {program}"))?;
    let (status, usage) = wait4(child.id())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "max_rss_kib={}", usage.ru_maxrss).ctx("writing to the parent")?;
    // Both fields are `i64` on the 64-bit Linux the benchmark runs on.
    let micros = |t: libc::timeval| t.tv_sec * 1_000_000 + t.tv_usec;
    let cpu_us = micros(usage.ru_utime) + micros(usage.ru_stime);
    writeln!(out, "cpu_us={cpu_us}").ctx("writing to the parent")?;
    out.flush().ctx("writing to the parent")?;
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return fail(format!("{program} failed (wait status {status})"));
    }
    Ok(())
}

/// `wait4` on `pid`: its wait status and resource usage.
fn wait4(pid: u32) -> Result<(i32, libc::rusage)> {
    let pid = libc::pid_t::try_from(pid).ctx("process id out of range")?;
    let mut status = 0;
    // SAFETY: `rusage` is plain data for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the types `wait4` expects.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return fail(format!("wait4 on process {pid}: {err}"));
        }
    }
}

/// Parses `key=value` lines printed by a client.
pub fn value(output: &str, key: &str) -> Result<f64> {
    output
        .lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .and_then(|(_, v)| v.trim().parse().ok())
        .ctx(&format!(
            "the client did not report {key}; it printed: {output}"
        ))
}
