//! The monitor's command line: conmon's flags, parsed by hand into [`Options`].
//!
//! Accepted forms follow GLib's option parser, which conmon uses: `--long
//! VALUE`, `--long=VALUE`, `-s VALUE`, `-sVALUE`, grouped short flags (`-ti`)
//! and `--` to end the options. `--api-version` is a bare flag in conmon that
//! podman nevertheless follows with a number, so a number after it is taken.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::diag::Level;

/// Where the container's output goes (`-l`/`--log-path`, repeatable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogDriver {
    /// `k8s-file:PATH`, or a bare PATH.
    K8sFile(PathBuf),
    /// `passthrough`: the container inherits the monitor's stdio.
    Passthrough,
    /// `none`, `off`, `null`: output goes to attached clients only.
    None,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<Options>),
    Version,
    Help,
}

/// Validated options for one monitor run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub api_version: u32,
    pub cid: OsString,
    pub cuuid: Option<OsString>,
    pub name: Option<OsString>,
    pub runtime: PathBuf,
    /// Unset only for a legacy exec session.
    pub bundle: Option<PathBuf>,
    pub container_pidfile: PathBuf,
    pub conmon_pidfile: Option<PathBuf>,
    pub log_drivers: Vec<LogDriver>,
    /// Rotate (truncate, or shift with `--log-rotate`) past this many bytes.
    pub log_size_max: Option<u64>,
    /// Stop logging once this many bytes were written in total.
    pub log_global_size_max: Option<u64>,
    pub log_rotate: bool,
    pub log_max_files: u32,
    pub log_tag: Option<OsString>,
    pub terminal: bool,
    pub stdin: bool,
    pub leave_stdin_open: bool,
    pub exit_dir: Option<PathBuf>,
    pub exit_command: Option<PathBuf>,
    pub exit_args: Vec<OsString>,
    pub exit_delay: u32,
    /// `--socket-dir-path`; without it the attach socket is bound in the
    /// bundle directly, as `--full-attach` does.
    pub socket_dir: Option<PathBuf>,
    pub persist_dir: Option<PathBuf>,
    pub runtime_args: Vec<OsString>,
    pub runtime_opts: Vec<OsString>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub full_attach: bool,
    pub exec: bool,
    pub exec_process_spec: Option<PathBuf>,
    pub exec_attach: bool,
    pub restore: Option<PathBuf>,
    pub log_level: Level,
    pub sync: bool,
    pub no_sync_log: bool,
    pub syslog: bool,
    pub systemd_cgroup: bool,
    /// Kill the container after this many seconds (0: never).
    pub timeout: u32,
}

impl Options {
    pub fn k8s_log_path(&self) -> Option<&Path> {
        self.log_drivers.iter().find_map(|d| match d {
            LogDriver::K8sFile(p) => Some(p.as_path()),
            _ => None,
        })
    }

    pub fn passthrough(&self) -> bool {
        self.log_drivers.contains(&LogDriver::Passthrough)
    }
}

/// A command line the monitor cannot run with.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgsError {
    #[error("unknown option {0} (see --help)")]
    Unknown(String),
    #[error("option {0} needs a value")]
    MissingValue(String),
    #[error("option {0} takes no value")]
    UnexpectedValue(String),
    #[error("invalid value {value:?} for {option}: {why}")]
    BadValue {
        option: String,
        value: String,
        why: &'static str,
    },
    #[error("unexpected argument {0:?}: the monitor takes options only")]
    Positional(String),
    #[error("{0}")]
    Invalid(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Arity {
    Flag,
    Value,
    /// `--api-version`: a flag that may be followed by a number.
    OptionalNumber,
}

/// (long name, short name, arity). The long name identifies the option.
const OPTIONS: &[(&str, Option<char>, Arity)] = &[
    ("api-version", None, Arity::OptionalNumber),
    ("bundle", Some('b'), Arity::Value),
    ("cid", Some('c'), Arity::Value),
    ("conmon-pidfile", Some('P'), Arity::Value),
    ("container-pidfile", Some('p'), Arity::Value),
    ("pidfile", None, Arity::Value),
    ("cuuid", Some('u'), Arity::Value),
    ("exec", Some('e'), Arity::Flag),
    ("exec-attach", None, Arity::Flag),
    ("exec-process-spec", None, Arity::Value),
    ("exit-command", None, Arity::Value),
    ("exit-command-arg", None, Arity::Value),
    ("exit-delay", None, Arity::Value),
    ("exit-dir", None, Arity::Value),
    ("full-attach", None, Arity::Flag),
    ("help", Some('h'), Arity::Flag),
    ("leave-stdin-open", None, Arity::Flag),
    ("log-global-size-max", None, Arity::Value),
    ("log-level", None, Arity::Value),
    ("log-max-files", None, Arity::Value),
    ("log-path", Some('l'), Arity::Value),
    ("log-rotate", None, Arity::Flag),
    ("log-size-max", None, Arity::Value),
    ("log-tag", None, Arity::Value),
    ("name", Some('n'), Arity::Value),
    ("no-new-keyring", None, Arity::Flag),
    ("no-pivot", None, Arity::Flag),
    ("no-sync-log", None, Arity::Flag),
    ("persist-dir", Some('0'), Arity::Value),
    ("restore", None, Arity::Value),
    ("restore-arg", None, Arity::Value),
    ("runtime", Some('r'), Arity::Value),
    ("runtime-arg", None, Arity::Value),
    ("runtime-opt", None, Arity::Value),
    ("socket-dir-path", None, Arity::Value),
    ("stdin", Some('i'), Arity::Flag),
    ("sync", None, Arity::Flag),
    ("syslog", None, Arity::Flag),
    ("systemd-cgroup", Some('s'), Arity::Flag),
    ("terminal", Some('t'), Arity::Flag),
    ("timeout", Some('T'), Arity::Value),
    ("version", None, Arity::Flag),
];

/// Options conmon has that the monitor refuses rather than ignores, with why.
const REFUSED: &[(&str, &str)] = &[
    ("sdnotify-socket", "sd-notify relaying is not supported"),
    (
        "seccomp-notify-socket",
        "seccomp notification is not supported",
    ),
    (
        "seccomp-notify-plugins",
        "seccomp notification is not supported",
    ),
    (
        "log-label",
        "log labels need the journald log driver, which is not supported",
    ),
    (
        "replace-listen-pid",
        "socket activation (LISTEN_PID) is not supported",
    ),
    (
        "log-allowlist-dir",
        "log directory allowlists are not supported",
    ),
];

/// Parse `args` (without the program name). `cwd` fills in conmon's defaults
/// (bundle and container pid file).
pub fn parse<I>(args: I, cwd: &Path) -> Result<Command, ArgsError>
where
    I: IntoIterator<Item = OsString>,
{
    let mut raw = Raw::default();
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            if let Some(extra) = args.next() {
                return Err(ArgsError::Positional(lossy(&extra)));
            }
            break;
        }
        if let Some(long) = bytes.strip_prefix(b"--") {
            let (name, inline) = match long.iter().position(|&b| b == b'=') {
                Some(eq) => (&long[..eq], Some(OsStr::from_bytes(&long[eq + 1..]))),
                None => (long, None),
            };
            let name = String::from_utf8_lossy(name).into_owned();
            let arity = lookup_long(&name)?;
            let value = match (arity, inline) {
                (Arity::Flag, Some(_)) => {
                    return Err(ArgsError::UnexpectedValue(format!("--{name}")))
                }
                (Arity::Flag, None) => None,
                (Arity::Value, Some(v)) => Some(v.to_os_string()),
                (Arity::Value, None) => Some(
                    args.next()
                        .ok_or_else(|| ArgsError::MissingValue(format!("--{name}")))?,
                ),
                (Arity::OptionalNumber, Some(v)) => Some(v.to_os_string()),
                (Arity::OptionalNumber, None) => {
                    if args.peek().is_some_and(|n| is_number(n)) {
                        args.next()
                    } else {
                        None
                    }
                }
            };
            raw.set(&name, value)?;
        } else if bytes.len() > 1 && bytes[0] == b'-' {
            // One or more short options; a value-taking one ends the group.
            let mut rest = &bytes[1..];
            while let Some((&c, tail)) = rest.split_first() {
                let (name, arity) = lookup_short(c as char)?;
                if arity == Arity::Value {
                    let value = if tail.is_empty() {
                        args.next()
                            .ok_or_else(|| ArgsError::MissingValue(format!("-{}", c as char)))?
                    } else {
                        OsStr::from_bytes(tail).to_os_string()
                    };
                    raw.set(name, Some(value))?;
                    break;
                }
                raw.set(name, None)?;
                rest = tail;
            }
        } else {
            return Err(ArgsError::Positional(lossy(&arg)));
        }
    }
    if raw.help {
        return Ok(Command::Help);
    }
    if raw.version {
        return Ok(Command::Version);
    }
    raw.validate(cwd).map(|o| Command::Run(Box::new(o)))
}

fn lookup_long(name: &str) -> Result<Arity, ArgsError> {
    if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == name) {
        return Err(ArgsError::Invalid(format!("--{name}: {why}")));
    }
    OPTIONS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, _, a)| a)
        .ok_or_else(|| ArgsError::Unknown(format!("--{name}")))
}

fn lookup_short(c: char) -> Result<(&'static str, Arity), ArgsError> {
    OPTIONS
        .iter()
        .find(|(_, s, _)| *s == Some(c))
        .map(|&(n, _, a)| (n, a))
        .ok_or_else(|| ArgsError::Unknown(format!("-{c}")))
}

fn is_number(s: &OsStr) -> bool {
    !s.is_empty() && s.as_bytes().iter().all(u8::is_ascii_digit)
}

fn lossy(s: &OsStr) -> String {
    s.to_string_lossy().into_owned()
}

mod raw;

#[cfg(test)]
use raw::parse_log_path;
use raw::Raw;

pub const USAGE: &str = "\
Usage: skiff-conmon [OPTION...]
Monitor one OCI container (or exec session), speaking conmon's protocol.

  -c, --cid ID                  container ID (required)
  -u, --cuuid UUID              container UUID, names the attach socket directory
  -n, --name NAME               container name
  -r, --runtime PATH            OCI runtime to run (required)
  -b, --bundle DIR              OCI bundle (default: the working directory)
  -p, --container-pidfile PATH  where the runtime writes the container's pid
  -P, --conmon-pidfile PATH     where to write the monitor's pid
  -l, --log-path DRIVER:PATH    k8s-file:PATH (or PATH), passthrough, none
      --log-size-max BYTES      rotate the log past this size
      --log-global-size-max N   stop logging after N bytes in total
      --log-rotate              keep old logs as PATH.1.. instead of truncating
      --log-max-files N         number of old logs kept with --log-rotate
  -t, --terminal                give the container a pseudo-terminal
  -i, --stdin                   keep a pipe open to the container's stdin
      --leave-stdin-open        keep stdin open when an attach client leaves
      --socket-dir-path DIR     where the attach socket directory is linked
      --full-attach             bind the attach socket in the bundle directly
      --exit-dir DIR            write the exit code to DIR/ID
  -0, --persist-dir DIR         write the exit code to DIR/exit (and DIR/oom)
      --exit-command PATH       run PATH when the container has exited
      --exit-command-arg ARG    argument for the exit command (repeatable)
      --exit-delay SECONDS      wait before running the exit command
      --runtime-arg ARG         global argument for the runtime (repeatable)
      --runtime-opt ARG         argument for the runtime's command (repeatable)
      --no-pivot, --no-new-keyring, -s/--systemd-cgroup
                                passed on to the runtime
  -e, --exec                    run an exec session (runtime exec --detach)
      --exec-process-spec PATH  process.json of the exec session
      --exec-attach             wait for an attach client before starting
      --restore DIR             restore from a checkpoint instead of create
  -T, --timeout SECONDS         kill the container after this long
      --api-version N           protocol version (1: {\"data\": N} messages)
      --sync                    do not fork into the background
      --no-sync-log             do not fsync the log at exit
      --log-level LEVEL         error, warn, info, debug or trace
      --syslog                  accepted; diagnostics go to stderr
      --version                 print the version
";

#[cfg(test)]
mod tests;
