//! skiff-conmon: the per-container monitor. It follows the command line and
//! protocol of conmon, podman's C monitor (sync and start pipes, exit
//! files, attach socket, ctl FIFO, k8s-file logs), so the same binary can
//! stand in for conmon under podman. One process per container (or exec
//! session), one thread, no async runtime.

mod adopt;
mod args;
mod attach;
mod ctl;
mod daemon;
mod diag;
mod error;
mod exit;
mod logs;
mod monitor;
mod oom;
mod runtime;
mod sync;
mod sys;

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::sys::wait::WaitStatus;
use nix::unistd::{AccessFlags, Pid};

use crate::adopt::Adopted;
use crate::args::{Command, Options};
use crate::diag::warning;
use crate::error::{setup, MonitorError};
use crate::logs::{K8sFile, Rotation};
use crate::monitor::Monitor;
use crate::runtime::{DevNull, Launch, Stdio};
use crate::sync::ReportPipe;

/// The conmon release whose protocol this follows: podman reads the first
/// line of `--version` to decide whether a monitor is recent enough.
const CONMON_COMPAT_VERSION: &str = "2.1.6";

fn main() -> ExitCode {
    // Before opening anything: what the caller handed us.
    let inherited = sys::open_fds_from_3();
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let opts = match args::parse(std::env::args_os().skip(1), &cwd) {
        Ok(Command::Run(opts)) => opts,
        Ok(Command::Version) => {
            println!("conmon version {CONMON_COMPAT_VERSION}");
            println!("skiff-conmon version {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Command::Help) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    diag::set_level(opts.log_level);
    match run(&opts, inherited) {
        // The container's code is the monitor's, as with conmon (-1: 255).
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("Error: {}", error::chain(&e));
            ExitCode::FAILURE
        }
    }
}

/// Everything from the start pipe to the exit command.
fn run(opts: &Options, mut inherited: Vec<RawFd>) -> Result<i32, MonitorError> {
    let adopted = Adopted::from_env().map_err(|source| MonitorError::EnvPipe {
        name: "_SKIFF_ADOPT",
        source,
    })?;
    // Checked before detaching, so that the caller sees these errors.
    if adopted.is_none() {
        nix::unistd::access(&opts.runtime, AccessFlags::X_OK).map_err(|e| {
            MonitorError::Runtime {
                path: opts.runtime.clone(),
                source: e.into(),
            }
        })?;
    }
    let rotation = match opts.log_rotate {
        true => Rotation::Keep(opts.log_max_files),
        false => Rotation::Truncate,
    };
    let log = opts
        .k8s_log_path()
        .map(|p| {
            K8sFile::open(p, opts.log_size_max, opts.log_global_size_max, rotation).map_err(
                |source| MonitorError::OpenLog {
                    path: p.to_path_buf(),
                    source,
                },
            )
        })
        .transpose()?;
    let oom_score_adj = daemon::protect_from_oom();

    let env_pipe = |name: &'static str| {
        sys::take_env_fd(name).map_err(|source| MonitorError::EnvPipe { name, source })
    };
    let start = env_pipe("_OCI_STARTPIPE")?;
    let sync_fd_name = "_OCI_SYNCPIPE";
    let sync =
        ReportPipe::from_env(sync_fd_name, opts.api_version, opts.exec).map_err(|source| {
            MonitorError::EnvPipe {
                name: sync_fd_name,
                source,
            }
        })?;
    let attach_pipe = match opts.exec_attach {
        true => Some(
            Some(
                ReportPipe::from_env("_OCI_ATTACHPIPE", opts.api_version, opts.exec).map_err(
                    |source| MonitorError::EnvPipe {
                        name: "_OCI_ATTACHPIPE",
                        source,
                    },
                )?,
            )
            .filter(ReportPipe::is_open)
            .ok_or(MonitorError::NoAttachPipe)?,
        ),
        false => None,
    };
    // The pipes are ours now; what else the caller passed is released at exit.
    for fd in [
        start.as_ref().map(AsRawFd::as_raw_fd),
        sync.raw_fd(),
        attach_pipe.as_ref().and_then(ReportPipe::raw_fd),
    ]
    .into_iter()
    .flatten()
    .chain(adopted.iter().flat_map(Adopted::fds))
    {
        inherited.retain(|&f| f != fd);
    }
    // The caller moves us into the right cgroup before we start anything.
    if let Some(fd) = &start {
        sync::wait_start(fd).map_err(MonitorError::StartPipe)?;
    }
    let start = start.filter(|_| opts.exec_attach);
    let null = DevNull::open().map_err(setup("open /dev/null"))?;
    // An adopted container is already our child: no fork (the caller
    // started this process on its own and does not wait for it).
    daemon::detach(opts, adopted.is_some()).map_err(setup("fork into the background"))?;

    let mut session = Session {
        opts,
        sync,
        attach_pipe,
        reported: false,
        oom_score_adj,
        inherited,
    };
    let result = session.supervise(log, &null, start, adopted);
    if let Err(e) = &result {
        if !session.reported {
            session.sync.send(-1, Some(&e.sync_message()));
        }
    }
    result
}

struct Session<'a> {
    opts: &'a Options,
    sync: ReportPipe,
    attach_pipe: Option<ReportPipe>,
    /// The container's pid was sent: errors are no longer the caller's to hear.
    reported: bool,
    oom_score_adj: Option<Vec<u8>>,
    inherited: Vec<RawFd>,
}

impl Session<'_> {
    fn supervise(
        &mut self,
        log: Option<K8sFile>,
        null: &DevNull,
        start: Option<OwnedFd>,
        adopted: Option<Adopted>,
    ) -> Result<i32, MonitorError> {
        let opts = self.opts;
        if !opts.passthrough() {
            daemon::redirect_stdio(null).map_err(setup("redirect stdio to /dev/null"))?;
        }
        daemon::become_session_and_subreaper().map_err(setup("become a subreaper"))?;
        let signals = daemon::signal_fd().map_err(setup("set up signal handling"))?;
        let mut mon = Monitor::new(opts, signals);
        mon.log = log;
        if let (Some(bundle), false) = (&opts.bundle, opts.passthrough()) {
            let err = |source| MonitorError::Attach {
                bundle: bundle.clone(),
                source,
            };
            let cuuid = opts.cuuid.as_deref().unwrap_or(&opts.cid);
            mon.attach = Some(
                attach::Attach::bind(bundle, opts.socket_dir.as_deref(), cuuid, opts.full_attach)
                    .map_err(err)?,
            );
            mon.ctl = Some(
                ctl::Ctl::create(bundle).map_err(|source| MonitorError::Ctl {
                    bundle: bundle.clone(),
                    source,
                })?,
            );
            if let Some(p) = &mut self.attach_pipe {
                p.send(0, None);
            }
        }

        let pid = match adopted {
            Some(a) => {
                if opts.passthrough() {
                    daemon::redirect_stdio(null).map_err(setup("redirect stdio to /dev/null"))?;
                }
                mon.adopt(a)
            }
            None => self.create(&mut mon, null, start)?,
        };
        // The legacy exec API sends one value only: the exit code, later.
        if opts.api_version >= 1 || !opts.exec {
            self.sync.send(i64::from(pid), None);
        }
        self.reported = true;

        let oom = oom::OomWatch::new(pid);
        if opts.timeout > 0 {
            mon.deadline = Some(Instant::now() + Duration::from_secs(u64::from(opts.timeout)));
        }
        mon.wait_container(Pid::from_raw(pid))
            .map_err(MonitorError::Loop)?;
        self.finish(mon, pid, oom)
    }

    /// Run the runtime's create (or exec) and wait for it; returns the
    /// container's pid from the runtime's pid file.
    fn create(
        &mut self,
        mon: &mut Monitor<'_>,
        null: &DevNull,
        start: Option<OwnedFd>,
    ) -> Result<i32, MonitorError> {
        let opts = self.opts;
        let mut stdio =
            Stdio::new(opts.terminal, opts.stdin).map_err(setup("create the container's stdio"))?;
        let launch = Launch {
            opts,
            stdio: &stdio,
            null,
            start_pipe: start.as_ref(),
            oom_score_adj: self.oom_score_adj.clone(),
        };
        let pid = runtime::spawn(launch).map_err(|source| MonitorError::Spawn {
            path: opts.runtime.clone(),
            source,
        })?;
        if opts.passthrough() {
            daemon::redirect_stdio(null).map_err(setup("redirect stdio to /dev/null"))?;
        }
        stdio.close_worker_ends();
        drop(start);
        mon.console = stdio.console.take();
        mon.stdin = stdio.stdin.take();
        mon.stdout = stdio.stdout.take();
        mon.stderr = stdio.stderr.take();
        mon.runtime_pid = Some(Pid::from_raw(pid));
        mon.wait_runtime().map_err(MonitorError::Loop)?;

        let runtime_status = mon.runtime_status.unwrap_or(WaitStatus::StillAlive);
        // For exec, the pid file (below) tells whether the runtime failed.
        if !opts.exec && !matches!(runtime_status, WaitStatus::Exited(_, 0)) {
            return Err(MonitorError::RuntimeFailed {
                code: exit::exit_code(runtime_status),
                message: runtime_stderr(mon),
            });
        }
        if opts.terminal && !mon.tty {
            return Err(MonitorError::NoTerminal);
        }
        let pid =
            read_pidfile(&opts.container_pidfile).map_err(|source| MonitorError::PidFile {
                path: opts.container_pidfile.clone(),
                message: runtime_stderr(mon),
                source,
            })?;
        Ok(pid)
    }

    /// The container has exited (or timed out): record it, clean up, run
    /// the exit command.
    fn finish(
        &mut self,
        mut mon: Monitor<'_>,
        pid: i32,
        oom: Option<oom::OomWatch>,
    ) -> Result<i32, MonitorError> {
        let opts = self.opts;
        if oom.is_some_and(|w| w.killed()) {
            oom::write_markers(opts);
        }
        let (code, message) = if mon.timed_out {
            // Its whole process group, unless that is init's (kill(-1) would
            // hit everything we may signal).
            let target = nix::unistd::getpgid(Some(Pid::from_raw(pid)))
                .ok()
                .filter(|g| g.as_raw() > 1)
                .map_or(Pid::from_raw(pid), |g| Pid::from_raw(-g.as_raw()));
            let _ = nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL);
            (-1, Some("command timed out"))
        } else {
            mon.drain();
            let status = mon.container_status.unwrap_or(WaitStatus::StillAlive);
            (exit::exit_code(status), None)
        };
        if let (Some(log), false) = (&mon.log, opts.no_sync_log) {
            if let Err(e) = log.sync() {
                warning!("cannot sync the log: {e}");
            }
        }
        // Ports the caller reserved through inherited sockets are free again
        // before anyone learns of the exit.
        sys::close_inherited(&self.inherited);
        self.inherited.clear();
        if let Some(a) = &mut mon.attach {
            a.close();
        }
        let written = exit::write_exit_files(opts, code);
        if opts.exec {
            self.sync.send(i64::from(code), message);
        }
        if let Some(a) = &mon.attach {
            a.remove_symlink();
        }
        drop(mon);
        if let Err(e) = exit::run_exit_command(opts, self.oom_score_adj.take()) {
            warning!("cannot run the exit command: {e}");
        }
        written.map_err(|(path, source)| MonitorError::ExitFile { path, source })?;
        Ok(code)
    }
}

/// What the runtime wrote to its stderr (it shares the container's pipe),
/// for the error report.
fn runtime_stderr(mon: &Monitor<'_>) -> String {
    let Some(fd) = &mon.stderr else {
        return String::new();
    };
    let mut buf = vec![0u8; 8191];
    match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).trim_end().to_owned(),
        Err(_) => String::new(),
    }
}

fn read_pidfile(path: &Path) -> std::io::Result<i32> {
    let text = std::fs::read_to_string(path)?;
    text.trim()
        .parse()
        .ok()
        .filter(|&p: &i32| p > 0)
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("no pid in {text:?}"),
            )
        })
}
