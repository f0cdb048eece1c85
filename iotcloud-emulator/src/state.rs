//! The server's shared, mutable state.

use std::collections::VecDeque;

use crate::accounts::Accounts;
use crate::fault::Fault;
use crate::http::Recorded;

/// A Huawei IAM token the emulator issued.
#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub token: String,
    pub project_id: String,
    pub expires_at: u64,
}

/// Everything behind the emulator's lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub accounts: Accounts,
    pub recorded: Vec<Recorded>,
    /// Faults to play instead of a normal answer, each for an optional path prefix.
    pub faults: VecDeque<(Option<String>, Fault)>,
    pub huawei_tokens: Vec<IssuedToken>,
    serial: u64,
}

impl State {
    pub fn new(accounts: Accounts) -> Self {
        Self {
            accounts,
            ..Self::default()
        }
    }

    /// The server clock.
    pub fn now(&self) -> u64 {
        self.accounts.current_time()
    }

    /// A number unique within this emulator, for request ids, device ids and tokens.
    pub fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// A request id shaped like the clouds' UUIDs.
    pub fn request_id(&mut self) -> String {
        format!("e0e0e0e0-0000-4000-8000-{:012x}", self.next_serial())
    }

    /// Removes and returns the first queued fault that applies to `path`.
    pub fn take_fault(&mut self, path: &str) -> Option<Fault> {
        let index = self
            .faults
            .iter()
            .position(|(prefix, _)| prefix.as_deref().is_none_or(|p| path.starts_with(p)))?;
        self.faults.remove(index).map(|(_, fault)| fault)
    }
}
