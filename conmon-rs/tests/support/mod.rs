//! What the monitor's and the init's integration tests share.

use std::io::Write;

/// Report a skipped test on stderr and, when the suite runner asks for it
/// (`SKIFF_TEST_SKIP_LOG`), in its skip log: `SKIP FILE::TEST: REASON`.
pub fn skip(file: &str, reason: &str) {
    let thread = std::thread::current();
    let line = format!("SKIP {file}::{}: {reason}\n", thread.name().unwrap_or("?"));
    eprint!("{line}");
    if let Some(log) = std::env::var_os("SKIFF_TEST_SKIP_LOG") {
        // One append-mode write per line keeps lines whole across processes.
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }
}
