//! Running a program the way a user would, with a deadline, and asserting on
//! what the user sees: exit code, stdout, stderr.

use std::ffi::OsStr;
use std::fmt;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Default deadline per command; `SKIFF_TEST_TIMEOUT` (seconds) overrides it.
fn default_timeout() -> Duration {
    std::env::var("SKIFF_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(120), Duration::from_secs)
}

/// A command to run once: a [`Command`] plus stdin data and a deadline.
pub struct Cmd {
    cmd: Command,
    display: String,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

impl Cmd {
    /// `program` with an inherited environment; see [`crate::Skiff`] for an
    /// isolated one.
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        let program = program.as_ref();
        Cmd {
            cmd: Command::new(program),
            display: program.to_string_lossy().into_owned(),
            stdin: None,
            timeout: default_timeout(),
        }
    }

    /// Wrap a prepared command (environment, working directory already set).
    pub fn from_command(cmd: Command) -> Cmd {
        let mut display = cmd.get_program().to_string_lossy().into_owned();
        for a in cmd.get_args() {
            display.push(' ');
            display.push_str(&a.to_string_lossy());
        }
        Cmd {
            cmd,
            display,
            stdin: None,
            timeout: default_timeout(),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.display.push(' ');
        self.display.push_str(&arg.as_ref().to_string_lossy());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Cmd {
        self.cmd.env_remove(key);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.cmd.current_dir(dir);
        self
    }

    /// Data for stdin (default: /dev/null).
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(data.into());
        self
    }

    /// Kill the program and fail the test if it runs longer than this.
    pub fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = timeout;
        self
    }

    /// The command line, for messages.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The prepared command, for a caller that wires its stdio itself (a
    /// pseudo-terminal, say).
    pub fn into_command(self) -> Command {
        self.cmd
    }

    /// Start in the background with piped stdout/stderr (for tests that kill
    /// it or run several at once); the caller waits for it.
    pub fn spawn(mut self) -> std::io::Result<std::process::Child> {
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }

    /// Run to completion; panics if the program cannot start or times out.
    #[track_caller]
    pub fn run(self) -> Output {
        let timeout = self.timeout;
        match self.try_run() {
            Ok(out) => out,
            Err(RunError::Spawn(cmd, e)) => panic!("cannot start `{cmd}`: {e}"),
            Err(RunError::TimedOut(out)) => panic!("timed out after {timeout:?}, killed:\n{out}"),
        }
    }

    /// Run to completion without panicking (for teardown code). Output goes
    /// to anonymous files rather than pipes, so a daemon that inherits them
    /// cannot make the run hang.
    pub fn try_run(mut self) -> Result<Output, RunError> {
        let mut out = tempfile::tempfile().expect("create a file for stdout");
        let mut err = tempfile::tempfile().expect("create a file for stderr");
        self.cmd
            .stdout(out.try_clone().expect("dup stdout file"))
            .stderr(err.try_clone().expect("dup stderr file"))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = match self.cmd.spawn() {
            Ok(c) => c,
            Err(e) => return Err(RunError::Spawn(self.display, e)),
        };
        let writer = self.stdin.take().map(|data| {
            let mut pipe = child.stdin.take().expect("stdin was piped");
            // A program may exit without reading its input: ignore EPIPE.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            })
        });
        let started = Instant::now();
        let mut nap = Duration::from_millis(1);
        let (status, timed_out) = loop {
            match child.try_wait().expect("wait for the child") {
                Some(status) => break (status, false),
                None if started.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    break (child.wait().expect("wait for the killed child"), true);
                }
                None => {
                    std::thread::sleep(nap);
                    nap = (nap * 2).min(Duration::from_millis(20));
                }
            }
        };
        if let Some(w) = writer {
            let _ = w.join();
        }
        let output = Output {
            command: self.display,
            status,
            stdout_bytes: read_all(&mut out),
            stderr_bytes: read_all(&mut err),
            elapsed: started.elapsed(),
        };
        if timed_out {
            return Err(RunError::TimedOut(output));
        }
        Ok(output)
    }
}

/// Why [`Cmd::try_run`] has no normal result.
#[derive(Debug)]
pub enum RunError {
    /// The program could not be started (command line, error).
    Spawn(String, std::io::Error),
    /// The deadline passed; the program was killed. What it printed so far.
    TimedOut(Output),
}

fn read_all(f: &mut std::fs::File) -> Vec<u8> {
    let mut buf = Vec::new();
    f.seek(SeekFrom::Start(0)).expect("rewind output file");
    f.read_to_end(&mut buf).expect("read output file");
    buf
}

/// What a finished command showed its user.
pub struct Output {
    pub command: String,
    pub status: ExitStatus,
    pub stdout_bytes: Vec<u8>,
    pub stderr_bytes: Vec<u8>,
    pub elapsed: Duration,
}

impl Output {
    /// The exit code, or `None` when a signal ended the program.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout_bytes).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr_bytes).into_owned()
    }

    /// Assert exit code 0; return stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        assert!(self.success(), "expected success:\n{self}");
        self.stdout()
    }

    /// Assert exit code `code`; return stderr.
    #[track_caller]
    pub fn fails(self, code: i32) -> String {
        assert_eq!(
            self.code(),
            Some(code),
            "expected exit code {code}:\n{self}"
        );
        self.stderr()
    }

    /// Assert exit code `code` and that stderr contains `needle`; return stderr.
    #[track_caller]
    pub fn fails_with(self, code: i32, needle: &str) -> String {
        let stderr = self.stderr();
        assert!(
            self.code() == Some(code) && stderr.contains(needle),
            "expected exit code {code} and {needle:?} on stderr:\n{self}"
        );
        stderr
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match (self.status.code(), self.status.signal()) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => format!("{:?}", self.status),
        };
        writeln!(f, "$ {}", self.command)?;
        writeln!(f, "=> {how} after {:.2?}", self.elapsed)?;
        writeln!(f, "--- stdout\n{}", self.stdout().trim_end())?;
        write!(f, "--- stderr\n{}", self.stderr().trim_end())
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
