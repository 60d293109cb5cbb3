//! Options as given on the command line, and conmon's defaults and
//! consistency rules that turn them into [`Options`].

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{lossy, ArgsError, LogDriver, Options};
use crate::diag::Level;

/// Options as given, before conmon's defaults and consistency rules.
#[derive(Default)]
pub(super) struct Raw {
    api_version: u32,
    cid: Option<OsString>,
    cuuid: Option<OsString>,
    name: Option<OsString>,
    runtime: Option<PathBuf>,
    bundle: Option<PathBuf>,
    container_pidfile: Option<PathBuf>,
    conmon_pidfile: Option<PathBuf>,
    log_paths: Vec<OsString>,
    log_size_max: i64,
    log_global_size_max: i64,
    log_rotate: bool,
    log_max_files: Option<i64>,
    log_tag: Option<OsString>,
    terminal: bool,
    stdin: bool,
    leave_stdin_open: bool,
    exit_dir: Option<PathBuf>,
    exit_command: Option<PathBuf>,
    exit_args: Vec<OsString>,
    exit_delay: i64,
    socket_dir: Option<PathBuf>,
    persist_dir: Option<PathBuf>,
    runtime_args: Vec<OsString>,
    runtime_opts: Vec<OsString>,
    no_pivot: bool,
    no_new_keyring: bool,
    full_attach: bool,
    exec: bool,
    exec_process_spec: Option<PathBuf>,
    exec_attach: bool,
    restore: Option<PathBuf>,
    log_level: Option<OsString>,
    sync: bool,
    no_sync_log: bool,
    syslog: bool,
    systemd_cgroup: bool,
    timeout: i64,
    pub(super) help: bool,
    pub(super) version: bool,
}

fn number(option: &str, value: &OsStr) -> Result<i64, ArgsError> {
    value
        .to_str()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| ArgsError::BadValue {
            option: format!("--{option}"),
            value: lossy(value),
            why: "not an integer",
        })
}

impl Raw {
    pub(super) fn set(&mut self, name: &str, value: Option<OsString>) -> Result<(), ArgsError> {
        let text = || value.clone().unwrap_or_default();
        let path = || PathBuf::from(value.clone().unwrap_or_default());
        match name {
            "api-version" => {
                self.api_version = match &value {
                    Some(v) => {
                        let n = number(name, v)?;
                        u32::try_from(n).map_err(|_| ArgsError::BadValue {
                            option: "--api-version".into(),
                            value: lossy(v),
                            why: "out of range",
                        })?
                    }
                    None => 1,
                }
            }
            "bundle" => self.bundle = Some(path()),
            "cid" => self.cid = Some(text()),
            "conmon-pidfile" => self.conmon_pidfile = Some(path()),
            "container-pidfile" | "pidfile" => self.container_pidfile = Some(path()),
            "cuuid" => self.cuuid = Some(text()),
            "exec" => self.exec = true,
            "exec-attach" => self.exec_attach = true,
            "exec-process-spec" => self.exec_process_spec = Some(path()),
            "exit-command" => self.exit_command = Some(path()),
            "exit-command-arg" => self.exit_args.push(text()),
            "exit-delay" => self.exit_delay = number(name, &text())?,
            "exit-dir" => self.exit_dir = Some(path()),
            "full-attach" => self.full_attach = true,
            "help" => self.help = true,
            "leave-stdin-open" => self.leave_stdin_open = true,
            "log-global-size-max" => self.log_global_size_max = number(name, &text())?,
            "log-level" => self.log_level = Some(text()),
            "log-max-files" => self.log_max_files = Some(number(name, &text())?),
            "log-path" => self.log_paths.push(text()),
            "log-rotate" => self.log_rotate = true,
            "log-size-max" => self.log_size_max = number(name, &text())?,
            "log-tag" => self.log_tag = Some(text()),
            "name" => self.name = Some(text()),
            "no-new-keyring" => self.no_new_keyring = true,
            "no-pivot" => self.no_pivot = true,
            "no-sync-log" => self.no_sync_log = true,
            "persist-dir" => self.persist_dir = Some(path()),
            "restore" => self.restore = Some(path()),
            "restore-arg" | "runtime-opt" => self.runtime_opts.push(text()),
            "runtime" => self.runtime = Some(path()),
            "runtime-arg" => self.runtime_args.push(text()),
            "socket-dir-path" => self.socket_dir = Some(path()),
            "stdin" => self.stdin = true,
            "sync" => self.sync = true,
            "syslog" => self.syslog = true,
            "systemd-cgroup" => self.systemd_cgroup = true,
            "terminal" => self.terminal = true,
            "timeout" => self.timeout = number(name, &text())?,
            "version" => self.version = true,
            other => return Err(ArgsError::Unknown(format!("--{other}"))),
        }
        Ok(())
    }

    /// conmon's defaults and consistency rules.
    pub(super) fn validate(self, cwd: &Path) -> Result<Options, ArgsError> {
        let bad = |s: &str| ArgsError::Invalid(s.to_owned());
        let invalid = |s: &str| Err(bad(s));
        let Some(cid) = self.cid.filter(|c| !c.is_empty()) else {
            return invalid("container ID not provided: use --cid");
        };
        if self.restore.is_some() && self.exec {
            return invalid("--restore and --exec cannot be used together");
        }
        if self.exec_attach && !self.exec {
            return invalid("--exec-attach can only be used with --exec");
        }
        if self.exec_attach && self.api_version < 1 {
            return invalid("--exec-attach needs --api-version 1 or later");
        }
        // The legacy exec API did not need a UUID.
        if self.cuuid.is_none() && (!self.exec || self.api_version >= 1) {
            return invalid("container UUID not provided: use --cuuid");
        }
        let Some(runtime) = self.runtime else {
            return invalid("runtime path not provided: use --runtime");
        };
        if self.exec && self.exec_process_spec.is_none() {
            return invalid("exec process spec not provided: use --exec-process-spec");
        }
        let bundle = match self.bundle {
            Some(b) => Some(b),
            None if !self.exec => Some(cwd.to_path_buf()),
            None => None,
        };
        let exit_delay = u32::try_from(self.exit_delay)
            .map_err(|_| bad("--exit-delay must be a number of seconds, 0 or more"))?;
        let timeout = u32::try_from(self.timeout)
            .map_err(|_| bad("--timeout must be a number of seconds, 0 or more"))?;
        let log_max_files = match self.log_max_files {
            None => 1,
            Some(n) => u32::try_from(n).map_err(|_| bad("--log-max-files must be 0 or more"))?,
        };
        if self.log_rotate && log_max_files == 0 {
            return invalid("--log-max-files must be at least 1 with --log-rotate");
        }
        let container_pidfile = self.container_pidfile.unwrap_or_else(|| {
            let mut name = OsString::from("pidfile-");
            name.push(&cid);
            cwd.join(name)
        });
        if self.log_paths.is_empty() {
            return invalid("log driver not provided: use --log-path");
        }
        let log_drivers = self
            .log_paths
            .iter()
            .map(|p| parse_log_path(p))
            .collect::<Result<Vec<_>, _>>()?;
        let has_k8s = log_drivers
            .iter()
            .any(|d| matches!(d, LogDriver::K8sFile(_)));
        if has_k8s && self.log_tag.is_some() {
            return invalid("the k8s-file log driver does not support --log-tag");
        }
        let log_level = match &self.log_level {
            None => Level::Warn,
            Some(l) => Level::parse(&l.to_string_lossy()).ok_or_else(|| ArgsError::BadValue {
                option: "--log-level".into(),
                value: lossy(l),
                why: "expected error, warn, info, debug or trace",
            })?,
        };
        let positive = |n: i64| u64::try_from(n).ok().filter(|&n| n > 0);
        Ok(Options {
            api_version: self.api_version,
            cid,
            cuuid: self.cuuid,
            name: self.name,
            runtime,
            bundle,
            container_pidfile,
            conmon_pidfile: self.conmon_pidfile,
            log_drivers,
            log_size_max: positive(self.log_size_max),
            log_global_size_max: positive(self.log_global_size_max),
            log_rotate: self.log_rotate,
            log_max_files,
            log_tag: self.log_tag,
            terminal: self.terminal,
            stdin: self.stdin,
            leave_stdin_open: self.leave_stdin_open,
            exit_dir: self.exit_dir,
            exit_command: self.exit_command,
            exit_args: self.exit_args,
            exit_delay,
            socket_dir: self.socket_dir,
            persist_dir: self.persist_dir,
            runtime_args: self.runtime_args,
            runtime_opts: self.runtime_opts,
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            full_attach: self.full_attach,
            exec: self.exec,
            exec_process_spec: self.exec_process_spec,
            exec_attach: self.exec_attach,
            restore: self.restore,
            log_level,
            sync: self.sync,
            no_sync_log: self.no_sync_log,
            syslog: self.syslog,
            systemd_cgroup: self.systemd_cgroup,
            timeout,
        })
    }
}

/// `DRIVER:PATH`, a bare driver name, or a bare PATH (k8s-file).
pub fn parse_log_path(spec: &OsStr) -> Result<LogDriver, ArgsError> {
    let bytes = spec.as_bytes();
    let (driver, path) = match bytes.iter().position(|&b| b == b':') {
        Some(colon) => (&bytes[..colon], Some(&bytes[colon + 1..])),
        None => (bytes, None),
    };
    let path = path
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(OsStr::from_bytes(p)));
    match (driver, path) {
        (b"", None) => Err(ArgsError::Invalid("--log-path must not be empty".into())),
        (b"", Some(p)) | (b"k8s-file", Some(p)) => Ok(LogDriver::K8sFile(p)),
        (b"k8s-file", None) => Err(ArgsError::Invalid("the k8s-file log driver needs a file name".into())),
        (b"none" | b"off" | b"null", _) => Ok(LogDriver::None),
        (b"passthrough", _) => Ok(LogDriver::Passthrough),
        (b"journald", _) => Err(ArgsError::Invalid(
            "the journald log driver is not supported by skiff-conmon: use k8s-file, passthrough or none".into(),
        )),
        (other, None) => Ok(LogDriver::K8sFile(PathBuf::from(OsStr::from_bytes(other)))),
        (other, Some(_)) => Err(ArgsError::Invalid(format!(
            "no such log driver {}",
            String::from_utf8_lossy(other)
        ))),
    }
}
