//! The monitor's own diagnostics: leveled one-line messages on stderr.
//!
//! Once detached, stderr is /dev/null (as with conmon), so these reach a
//! person only with `--sync`, `passthrough`, or before the fork.

use std::sync::atomic::{AtomicU8, Ordering};

/// conmon's `--log-level` values, least to most verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
    Trace = 4,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s.to_ascii_lowercase().as_str() {
            "error" | "fatal" | "panic" => Some(Level::Error),
            "warn" | "warning" => Some(Level::Warn),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            "trace" => Some(Level::Trace),
            _ => None,
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);

pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Print one diagnostic line if `level` is enabled.
pub fn emit(level: Level, args: std::fmt::Arguments<'_>) {
    if enabled(level) {
        let tag = match level {
            Level::Error => "Error",
            Level::Warn => "Warning",
            Level::Info => "Info",
            Level::Debug | Level::Trace => "Debug",
        };
        eprintln!("{tag}: {args}");
    }
}

macro_rules! warning {
    ($($t:tt)*) => { $crate::diag::emit($crate::diag::Level::Warn, format_args!($($t)*)) };
}
macro_rules! info {
    ($($t:tt)*) => { $crate::diag::emit($crate::diag::Level::Info, format_args!($($t)*)) };
}
macro_rules! debug {
    ($($t:tt)*) => { $crate::diag::emit($crate::diag::Level::Debug, format_args!($($t)*)) };
}
pub(crate) use {debug, info, warning};
