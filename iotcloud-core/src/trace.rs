//! The device's trace: its exchanges with the broker (connecting, the CONNACK, subscriptions,
//! publish ids and acknowledgements, losses and reconnects, OTA steps), through `log`
//! (feature `log`, for hosts) and `defmt` (feature `defmt`, for devices; filtered by
//! `DEFMT_LOG` as usual), or nowhere. Off, it costs nothing.
//!
//! Never traced: passwords, secrets, tokens, signatures, keys, user names (a broker may use
//! one as a token), payloads. Topics, client ids, hosts and packet ids are traced.
//! Everything is written with `{}` and `{:?}` placeholders, which both back ends read the
//! same way.

/// Traces at `$level` (`info` or `debug`) to whichever back ends are enabled.
macro_rules! trace_at {
    ($level:ident, $fmt:literal $(, $arg:expr)* $(,)?) => {{
        #[cfg(feature = "log")]
        ::log::$level!(target: "iotcloud", $fmt $(, $arg)*);
        #[cfg(feature = "defmt")]
        ::defmt::$level!($fmt $(, $arg)*);
        // Without a back end nothing at all: even naming the arguments in a dead branch
        // changed how the device's futures were laid out and cost 1.6 KB of flash. A value
        // computed only for the trace is computed inside the call.
        #[cfg(not(any(feature = "log", feature = "defmt")))]
        {}
    }};
}

/// A step of the connection's life: connecting, connected, lost, reconnecting, OTA.
macro_rules! info {
    ($($t:tt)*) => { trace_at!(info, $($t)*) };
}

/// A packet: subscriptions, publishes and their acknowledgements.
macro_rules! debug {
    ($($t:tt)*) => { trace_at!(debug, $($t)*) };
}
