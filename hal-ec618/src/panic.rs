//! The panic handler of the static library: log the message on the SDK's debug output, then
//! reboot the module (a stuck device task cannot recover on its own).

use core::fmt::Write;
use core::panic::PanicInfo;

use crate::sys;

struct Line {
    buf: [u8; 160],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let mut line = Line {
        buf: [0; 160],
        len: 0,
    };
    let _ = write!(line, "rust panic: {}", info.message());
    if let Some(loc) = info.location() {
        let _ = write!(line, " at {}:{}", loc.file(), loc.line());
    }
    // SAFETY: `line.buf` holds `line.len` initialised bytes; soc_debug_out only reads them.
    unsafe {
        sys::soc_debug_out(line.buf.as_mut_ptr().cast(), line.len as u32);
        sys::luat_pm_reboot();
    }
    loop {
        core::hint::spin_loop();
    }
}
