//! How failures become exit codes and the one `Error: ` line users see.
//!
//! 125: the engine failed; 126/127: a container command could not be run or
//! found; 1: `exists`-style "not there" answers and `rmi` of an unknown image;
//! otherwise a container's own code.

use std::io::Write;
use std::process::ExitCode;

/// An error carrying the exit code it should end the process with.
#[derive(Debug, thiserror::Error)]
#[error("{source:#}")]
pub struct Failure {
    pub code: u8,
    #[source]
    pub source: anyhow::Error,
}

/// Attach an exit code other than 125 to an error.
pub fn with_code(code: u8, source: impl Into<anyhow::Error>) -> anyhow::Error {
    Failure {
        code,
        source: source.into(),
    }
    .into()
}

/// Print `err` as one line and pick the exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    let code = err
        .chain()
        .find_map(|e| e.downcast_ref::<Failure>())
        .map(|f| f.code)
        .unwrap_or(125);
    let line = one_line(err);
    let _ = writeln!(std::io::stderr(), "Error: {line}");
    ExitCode::from(code)
}

/// The error and its causes joined on one line, without repeating a cause
/// that its parent already quoted.
fn one_line(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        if cause.downcast_ref::<Failure>().is_some() {
            continue;
        }
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out.replace('\n', " ")
}

/// A closed stdout (`skiff images | head -1`) is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn one_line_skips_repeats() {
        let e: anyhow::Error = Err::<(), _>(std::io::Error::other("disk full"))
            .context("pull x: disk full")
            .expect_err("err");
        assert_eq!(one_line(&e), "pull x: disk full");
        let e = with_code(1, anyhow::anyhow!("gone"));
        assert_eq!(one_line(&e), "gone");
    }
}
