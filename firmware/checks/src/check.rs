//! The little test harness: checks are functions returning [`Outcome`], and macros that
//! return a [`Failure`] naming the line, printing the values that differed.

use core::fmt::{self, Write};

/// A check's verdict.
pub type Outcome = Result<(), Failure>;

/// One check.
pub type Check = fn() -> Outcome;

/// Where a check failed and on what.
#[derive(Debug)]
pub struct Failure {
    pub file: &'static str,
    pub line: u32,
    pub what: &'static str,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// Fails the check unless `$cond` holds.
macro_rules! ensure {
    ($cond:expr) => {
        if !$cond {
            return Err($crate::check::Failure {
                file: file!(),
                line: line!(),
                what: stringify!($cond),
            });
        }
    };
}

/// Fails the check unless both sides are equal, printing both.
macro_rules! ensure_eq {
    ($left:expr, $right:expr) => {
        match (&$left, &$right) {
            (left, right) => {
                if left != right {
                    mps2_board::println!("     left:  {:?}", left);
                    mps2_board::println!("     right: {:?}", right);
                    return Err($crate::check::Failure {
                        file: file!(),
                        line: line!(),
                        what: concat!(stringify!($left), " == ", stringify!($right)),
                    });
                }
            }
        }
    };
}

/// The `Ok` value, or fails the check printing the error.
macro_rules! get {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(e) => {
                mps2_board::println!("     error: {:?}", e);
                return Err($crate::check::Failure {
                    file: file!(),
                    line: line!(),
                    what: concat!(stringify!($result), " is Ok"),
                });
            }
        }
    };
}

/// The `Some` value, or fails the check.
macro_rules! some {
    ($option:expr) => {
        match $option {
            Some(value) => value,
            None => {
                return Err($crate::check::Failure {
                    file: file!(),
                    line: line!(),
                    what: concat!(stringify!($option), " is Some"),
                });
            }
        }
    };
}

/// `value` formatted with `Display`; an overflow shows as a trailing `<overflow>`, which no
/// expected string contains.
pub fn text(value: impl fmt::Display) -> heapless::String<320> {
    let mut s = heapless::String::new();
    if write!(s, "{value}").is_err() {
        s.clear();
        let _ = s.push_str("<overflow>");
    }
    s
}
