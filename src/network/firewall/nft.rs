//! Running the `nft` command: a batch on its standard input, its
//! complaints condensed into one line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::FirewallError;

/// Where nft is looked for after `$PATH` (root's PATH has the sbin
/// directories, a sudo or service environment may not).
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin"];

pub(super) fn program() -> Result<PathBuf, FirewallError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join("nft"))
        .find(|p| is_executable(p))
        .ok_or(FirewallError::NftMissing)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Apply `batch` as one transaction; `step` names it in the error.
pub(super) fn run(step: &str, batch: &str) -> Result<(), FirewallError> {
    let path = program()?;
    let spawn_error = |source| FirewallError::Spawn {
        path: path.clone(),
        source,
    };
    let mut child = Command::new(&path)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    // Written from a second thread so that a large batch cannot block on
    // a full pipe while nft waits for its stderr to be read.
    let output = std::thread::scope(|s| {
        let writer = s.spawn(move || stdin.write_all(batch.as_bytes()));
        let output = child.wait_with_output();
        // nft reads all of its input before it says anything; a write
        // error means it is gone, and its status tells why.
        let _ = writer.join();
        output
    })
    .map_err(spawn_error)?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut message = condense(&stderr);
    if message.is_empty() {
        message = format!("nft failed ({})", output.status);
    }
    Err(FirewallError::Nft {
        step: step.to_string(),
        message,
    })
}

/// Whether skiff's table exists.
pub(super) fn table_exists() -> Result<bool, FirewallError> {
    let path = program()?;
    let output = Command::new(&path)
        .args(["list", "tables"])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| FirewallError::Spawn {
            path: path.clone(),
            source,
        })?;
    if !output.status.success() {
        return Err(FirewallError::Nft {
            step: "list tables".into(),
            message: condense(&String::from_utf8_lossy(&output.stderr)),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .any(|l| l.trim() == "table inet skiff"))
}

/// Whether a failed removal failed because the key it adds back before
/// deleting is held, with another value, by someone else.
pub(super) fn held_elsewhere(message: &str) -> bool {
    message.contains("File exists") || message.contains("interval overlaps")
}

/// nft's errors come as `FILE:LINE:COL: Error: WHAT`, the command, and a
/// line of carets under the culprit: keep `WHAT (command)` for each, at
/// most three, on one line.
pub(super) fn condense(stderr: &str) -> String {
    const SHOWN: usize = 3;
    let mut errors: Vec<String> = Vec::new();
    let mut with_command = false;
    for line in stderr.lines() {
        let t = line.trim();
        if t.is_empty() || t.chars().all(|c| c == '^' || c == '~' || c == ' ') {
            continue;
        }
        if let Some((_, what)) = t.split_once("Error: ") {
            errors.push(what.to_string());
            with_command = false;
        } else if let (Some(last), false) = (errors.last_mut(), with_command) {
            last.push_str(&format!(" ({t})"));
            with_command = true;
        } else {
            errors.push(t.to_string());
        }
    }
    let more = errors.len().saturating_sub(SHOWN);
    errors.truncate(SHOWN);
    let mut out = errors.join("; ");
    if more > 0 {
        out.push_str(&format!("; and {more} more"));
    }
    out
}
