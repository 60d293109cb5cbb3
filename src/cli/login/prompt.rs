//! Asking the user for a user name and a password on the terminal, the
//! password without echo.
//!
//! As podman does, the user name is read as a line from standard input
//! whatever it is, but the password only from a terminal: a password is
//! never read from a pipe by accident (`--password-stdin` is for that).

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use anyhow::Context;
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};

use crate::cli::exit::with_code;

/// The exit code of a prompt interrupted with Ctrl-C, as a shell reports
/// death by SIGINT.
const INTERRUPTED: u8 = 130;

/// Prompt for a user name on `out`; an empty answer takes `default`.
pub fn username(out: &mut impl Write, default: Option<&str>) -> anyhow::Result<String> {
    match default {
        Some(d) => write!(out, "Username ({d}): ")?,
        None => write!(out, "Username: ")?,
    }
    out.flush()?;
    let mut line = String::new();
    let n = io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading username")?;
    if n == 0 {
        anyhow::bail!("reading username: end of input");
    }
    let answer = line.trim();
    match (answer.is_empty(), default) {
        (false, _) => Ok(answer.to_string()),
        (true, Some(d)) => Ok(d.to_string()),
        (true, None) => anyhow::bail!("no username given"),
    }
}

/// Prompt for a password on `out` and read it from the terminal on
/// standard input without echo.
pub fn password(out: &mut impl Write) -> anyhow::Result<String> {
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        anyhow::bail!(
            "reading password: standard input is not a terminal (use --password or --password-stdin)"
        );
    }
    // Echo goes off before the prompt shows, so nothing typed after it
    // can appear.
    let quiet = Quiet::enter(stdin.as_fd()).context("reading password")?;
    write!(out, "Password: ")?;
    out.flush()?;
    let read = read_hidden_line(&mut stdin.lock());
    drop(quiet);
    // The user's Enter was not echoed either.
    writeln!(out)?;
    match read.context("reading password")? {
        Line::Entered(bytes) => String::from_utf8(bytes).context("the password is not UTF-8"),
        Line::Interrupted => Err(with_code(INTERRUPTED, anyhow::anyhow!("interrupted"))),
    }
}

/// The terminal with echo, line editing and signal keys off; the saved
/// settings come back on drop, on every path out of the prompt.
struct Quiet<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> Quiet<'a> {
    fn enter(fd: BorrowedFd<'a>) -> nix::Result<Self> {
        let saved = termios::tcgetattr(fd)?;
        let mut quiet = saved.clone();
        // Without ISIG, Ctrl-C arrives as a byte and the settings are
        // restored before exiting, instead of a signal leaving the
        // terminal silent.
        quiet
            .local_flags
            .remove(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG);
        quiet.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        quiet.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(fd, SetArg::TCSADRAIN, &quiet)?;
        Ok(Quiet { fd, saved })
    }
}

impl Drop for Quiet<'_> {
    fn drop(&mut self) {
        if let Err(e) = termios::tcsetattr(self.fd, SetArg::TCSADRAIN, &self.saved) {
            tracing::warn!("restoring the terminal settings: {e}");
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Line {
    Entered(Vec<u8>),
    Interrupted,
}

const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const CTRL_U: u8 = 0x15;
const DELETE: u8 = 0x7f;

/// One line typed with the terminal in non-canonical mode: the few
/// editing keys a password prompt needs are handled here.
fn read_hidden_line(input: &mut impl Read) -> io::Result<Line> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match input.read(&mut byte) {
            Ok(0) if line.is_empty() => {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "end of input"))
            }
            Ok(0) => return Ok(Line::Entered(line)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        match byte[0] {
            b'\n' | b'\r' => return Ok(Line::Entered(line)),
            CTRL_C => return Ok(Line::Interrupted),
            CTRL_D if line.is_empty() => {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "end of input"))
            }
            CTRL_D => return Ok(Line::Entered(line)),
            DELETE | BACKSPACE => erase_char(&mut line),
            CTRL_U => line.clear(),
            b => line.push(b),
        }
    }
}

/// Remove the last UTF-8 character (its continuation bytes, then its
/// first byte).
fn erase_char(line: &mut Vec<u8>) {
    while line.last().is_some_and(|b| b & 0xc0 == 0x80) {
        line.pop();
    }
    line.pop();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(keys: &[u8]) -> io::Result<Line> {
        read_hidden_line(&mut &keys[..])
    }

    fn entered(s: &str) -> Line {
        Line::Entered(s.as_bytes().to_vec())
    }

    #[test]
    fn a_line_ends_at_enter() {
        assert_eq!(typed(b"s3cret\rrest").expect("line"), entered("s3cret"));
        assert_eq!(typed(b"s3cret\n").expect("line"), entered("s3cret"));
        assert_eq!(typed(b"\n").expect("line"), entered(""));
    }

    #[test]
    fn editing_keys_apply() {
        assert_eq!(typed(b"ab\x7fc\n").expect("line"), entered("ac"));
        assert_eq!(typed(b"ab\x08\x08\x08c\n").expect("line"), entered("c"));
        assert_eq!(typed(b"wrong\x15right\n").expect("line"), entered("right"));
        assert_eq!(
            typed("pä\x7f\x7fx\n".as_bytes()).expect("line"),
            entered("x")
        );
    }

    #[test]
    fn ctrl_c_interrupts_and_ctrl_d_ends() {
        assert_eq!(typed(b"abc\x03def\n").expect("line"), Line::Interrupted);
        assert_eq!(typed(b"abc\x04").expect("line"), entered("abc"));
        assert!(typed(b"\x04").is_err());
        assert!(typed(b"").is_err());
        assert_eq!(typed(b"abc").expect("line"), entered("abc"));
    }
}
