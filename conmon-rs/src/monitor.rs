//! The event loop: one thread, poll(2) over the signalfd, the console
//! socket, the container's output (pty master or pipes), its stdin, the
//! attach socket and clients, and the ctl FIFO.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::args::Options;
use crate::attach::{Attach, CLIENT_BUF};
use crate::ctl::{Ctl, CtlEvent};
use crate::diag::{debug, info, warning};
use crate::logs::{K8sFile, Stream};
use crate::runtime::ConsoleSocket;

/// What the loop waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The runtime is creating the container: take the pty, do not read output yet.
    Create,
    /// The container runs: move its output, serve clients.
    Run,
}

/// The outcome of one read of the container's output.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    Data,
    Empty,
    End,
}

#[derive(Clone, Copy)]
enum Source {
    Signals,
    Console,
    Output(Stream),
    Stdin,
    Listener,
    Client(usize),
    Ctl,
}

/// How long to stop polling a pty master that reports hang-up (no slave
/// open, yet): it would report it continuously.
const TTY_HUP_BACKOFF: Duration = Duration::from_millis(100);
/// Bytes read from the container in one go (conmon's STDIO_BUF_SIZE; an
/// attach client's buffer holds this plus the stream byte).
const STDIO_BUF: usize = 8192;

pub struct Monitor<'a> {
    opts: &'a Options,
    pub log: Option<K8sFile>,
    pub attach: Option<Attach>,
    pub ctl: Option<Ctl>,
    pub console: Option<ConsoleSocket>,
    signals: SignalFd,
    /// The container's stdin: pipe write end, or the pty master.
    pub stdin: Option<OwnedFd>,
    /// stdout pipe read end, or a second descriptor of the pty master.
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    pub tty: bool,
    pub runtime_pid: Option<Pid>,
    pub runtime_status: Option<WaitStatus>,
    pub container_pid: Option<Pid>,
    pub container_status: Option<WaitStatus>,
    /// Children reaped before the container's pid was known.
    early: Vec<(Pid, WaitStatus)>,
    pending_resize: Option<(u16, u16)>,
    tty_hup_until: Option<Instant>,
    close_stdin_when_flushed: bool,
    /// The container's process is alive but not our child (no SIGCHLD will
    /// tell of its end): look every second.
    orphan_watch: bool,
    pub deadline: Option<Instant>,
    pub timed_out: bool,
    buf: Vec<u8>,
}

impl<'a> Monitor<'a> {
    pub fn new(opts: &'a Options, signals: SignalFd) -> Monitor<'a> {
        Monitor {
            opts,
            log: None,
            attach: None,
            ctl: None,
            console: None,
            signals,
            stdin: None,
            stdout: None,
            stderr: None,
            tty: false,
            runtime_pid: None,
            runtime_status: None,
            container_pid: None,
            container_status: None,
            early: Vec::new(),
            pending_resize: None,
            tty_hup_until: None,
            close_stdin_when_flushed: false,
            orphan_watch: false,
            deadline: None,
            timed_out: false,
            buf: vec![0; STDIO_BUF.max(CLIENT_BUF)],
        }
    }

    /// Take over a container created before the monitor ran (see
    /// `adopt`); returns its pid.
    pub fn adopt(&mut self, a: crate::adopt::Adopted) -> i32 {
        self.stdin = a.stdin;
        self.stdout = a.stdout;
        self.stderr = a.stderr;
        if let Some(pty) = a.console {
            match pty.try_clone() {
                Ok(dup) => self.stdout = Some(dup),
                Err(e) => warning!("cannot duplicate the pty: {e}"),
            }
            self.stdin = Some(pty);
            self.tty = true;
        }
        a.pid
    }

    /// Run the loop until the runtime has exited.
    pub fn wait_runtime(&mut self) -> io::Result<()> {
        while self.runtime_status.is_none() {
            self.turn(Phase::Create)?;
        }
        Ok(())
    }

    /// Start watching the container's process; run until it has exited
    /// (or `--timeout` passed).
    pub fn wait_container(&mut self, pid: Pid) -> io::Result<()> {
        self.container_pid = Some(pid);
        if let Some(i) = self.early.iter().position(|(p, _)| *p == pid) {
            self.container_status = Some(self.early[i].1);
        }
        self.early = Vec::new();
        // It may have exited while we were not looking.
        self.reap();
        while self.container_status.is_none() && !self.timed_out {
            self.turn(Phase::Run)?;
        }
        Ok(())
    }

    /// One poll and the work it shows.
    fn turn(&mut self, phase: Phase) -> io::Result<()> {
        let now = Instant::now();
        if self.tty_hup_until.is_some_and(|t| t <= now) {
            self.tty_hup_until = None;
        }
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(8);
        let mut tags: Vec<Source> = Vec::with_capacity(8);
        let mut add = |fd: BorrowedFd<'_>, events: libc::c_short, tag: Source| {
            fds.push(libc::pollfd {
                fd: fd.as_raw_fd(),
                events,
                revents: 0,
            });
            tags.push(tag);
        };
        add(self.signals.as_fd(), libc::POLLIN, Source::Signals);
        if let Some(c) = &self.console {
            add(c.listener().as_fd(), libc::POLLIN, Source::Console);
        }
        if let Some(a) = &self.attach {
            if let Some(l) = a.listener() {
                add(l, libc::POLLIN, Source::Listener);
            }
        }
        if let Some(c) = &self.ctl {
            add(c.fd(), libc::POLLIN, Source::Ctl);
        }
        if phase == Phase::Run {
            if let (Some(fd), None) = (&self.stdout, self.tty_hup_until) {
                add(fd.as_fd(), libc::POLLIN, Source::Output(Stream::Stdout));
            }
            if let Some(fd) = &self.stderr {
                add(fd.as_fd(), libc::POLLIN, Source::Output(Stream::Stderr));
            }
            if let Some(a) = &self.attach {
                for (i, c) in a.clients.iter().enumerate() {
                    if c.readable && c.pending.is_empty() {
                        add(c.fd.as_fd(), libc::POLLIN, Source::Client(i));
                    }
                }
                if let (Some(fd), true) = (&self.stdin, a.has_pending()) {
                    add(fd.as_fd(), libc::POLLOUT, Source::Stdin);
                }
            }
        }
        let wake = [
            self.tty_hup_until,
            self.deadline.filter(|_| phase == Phase::Run),
        ]
        .into_iter()
        .flatten()
        .min();
        let timeout = wake.map_or(-1, |t| {
            t.saturating_duration_since(now).as_millis().min(60_000) as i32
        });
        crate::sys::poll(&mut fds, timeout)?;

        for (pfd, tag) in fds.iter().zip(tags) {
            let ready = pfd.revents;
            if ready == 0 {
                continue;
            }
            match tag {
                Source::Signals => self.on_signals(),
                Source::Console => self.on_console(),
                Source::Output(stream) => self.on_output(stream, ready),
                Source::Stdin => self.flush_stdin(),
                Source::Listener => self.attach.as_mut().map_or((), Attach::accept),
                Source::Client(i) => self.on_client(i),
                Source::Ctl => self.on_ctl(),
            }
        }
        if let Some(a) = &mut self.attach {
            a.prune();
        }
        if self.orphan_watch {
            self.reap();
        }
        if phase == Phase::Run && self.deadline.is_some_and(|d| Instant::now() >= d) {
            info!("timed out: killing the container");
            self.timed_out = true;
        }
        Ok(())
    }

    fn on_signals(&mut self) {
        while let Ok(Some(info)) = self.signals.read_signal() {
            let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            if sig == Signal::SIGCHLD {
                continue;
            }
            // Pass termination requests on to the container (or the runtime
            // while it is creating it), as conmon does.
            let target = self
                .container_pid
                .filter(|_| self.container_status.is_none())
                .or(self.runtime_pid.filter(|_| self.runtime_status.is_none()));
            debug!("got {sig}, passing it on to {target:?}");
            if let Some(pid) = target {
                let _ = nix::sys::signal::kill(pid, sig);
            }
        }
        self.reap();
    }

    /// Collect every child that has exited.
    pub fn reap(&mut self) {
        loop {
            match nix::sys::wait::waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => return,
                Ok(status) => {
                    let Some(pid) = status.pid() else { continue };
                    if Some(pid) == self.runtime_pid && self.runtime_status.is_none() {
                        debug!("runtime exited: {status:?}");
                        self.runtime_status = Some(status);
                    } else if Some(pid) == self.container_pid {
                        debug!("container process exited: {status:?}");
                        self.container_status = Some(status);
                    } else if self.container_pid.is_none() && self.early.len() < 64 {
                        self.early.push((pid, status));
                    }
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => {
                    // No child left: if the container's process is gone without
                    // having been ours to wait for, its status is unknown.
                    if let (Some(pid), None) = (self.container_pid, self.container_status) {
                        if nix::sys::signal::kill(pid, None) == Err(Errno::ESRCH) {
                            info!("container process {pid} is gone, exit status unknown");
                            self.container_status = Some(WaitStatus::Exited(pid, 0));
                        } else if !self.orphan_watch {
                            info!("container process {pid} is not our child: polling for its end");
                            self.orphan_watch = true;
                        }
                    }
                    return;
                }
                Err(e) => return warning!("waitpid: {e}"),
            }
        }
    }

    fn on_console(&mut self) {
        let Some(console) = self.console.take() else {
            return;
        };
        match console.receive() {
            Ok(pty) => {
                debug!("got the container's pty");
                match pty.try_clone() {
                    Ok(dup) => self.stdout = Some(dup),
                    Err(e) => warning!("cannot duplicate the pty: {e}"),
                }
                self.stdin = Some(pty);
                self.tty = true;
                if let Some((rows, cols)) = self.pending_resize.take() {
                    self.resize(rows, cols);
                }
            }
            Err(e) => warning!("cannot receive the container's pty: {e}"),
        }
    }

    fn stream_fd(&self, stream: Stream) -> Option<BorrowedFd<'_>> {
        match stream {
            Stream::Stdout => self.stdout.as_ref().map(AsFd::as_fd),
            Stream::Stderr => self.stderr.as_ref().map(AsFd::as_fd),
        }
    }

    fn on_output(&mut self, stream: Stream, revents: libc::c_short) {
        if revents & libc::POLLIN != 0 {
            if self.read_output(stream) == Read::End {
                self.close_output(stream);
            }
        } else if self.tty && stream == Stream::Stdout {
            // A pty master hangs up while no slave is open: look again later.
            self.tty_hup_until = Some(Instant::now() + TTY_HUP_BACKOFF);
        } else {
            self.close_output(stream);
        }
    }

    /// Read once from `stream`, log it and pass it to clients.
    fn read_output(&mut self, stream: Stream) -> Read {
        let Some(fd) = self.stream_fd(stream).map(|fd| fd.as_raw_fd()) else {
            return Read::End;
        };
        let n = loop {
            match nix::unistd::read(fd, &mut self.buf[..STDIO_BUF]) {
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return Read::Empty,
                // A pty master reads EIO once the last slave is closed.
                Err(Errno::EIO) if self.tty && stream == Stream::Stdout => return Read::End,
                Err(e) => {
                    warning!("cannot read the container's {}: {e}", stream.name());
                    return Read::End;
                }
                Ok(0) => return Read::End,
                Ok(n) => break n,
            }
        };
        let data = &self.buf[..n];
        if let Some(log) = &mut self.log {
            if let Err(e) = log.write(stream, data) {
                warning!("cannot write the container's log: {e}");
            }
        }
        if let Some(a) = &mut self.attach {
            a.broadcast(stream, data);
        }
        Read::Data
    }

    fn close_output(&mut self, stream: Stream) {
        debug!("end of the container's {}", stream.name());
        match stream {
            Stream::Stdout => self.stdout = None,
            Stream::Stderr => self.stderr = None,
        }
    }

    /// After the container's exit: read what is left in its output.
    pub fn drain(&mut self) {
        // A client that connected while the container was already ending
        // (never polled for) still gets the rest of the output, and is not
        // reset by the listener's close.
        if let Some(a) = &mut self.attach {
            a.accept();
        }
        for stream in [Stream::Stdout, Stream::Stderr] {
            loop {
                match self.read_output(stream) {
                    Read::Data => continue,
                    Read::Empty => break,
                    Read::End => {
                        self.close_output(stream);
                        break;
                    }
                }
            }
        }
    }

    fn on_client(&mut self, i: usize) {
        let Some(a) = &mut self.attach else { return };
        let more = a.read_client(i, &mut self.buf[..CLIENT_BUF]);
        if !more && self.opts.stdin && !self.opts.leave_stdin_open {
            // The client finished its input: so does the container's stdin,
            // once what it sent is written.
            self.close_stdin_when_flushed = true;
        }
        self.flush_stdin();
    }

    fn flush_stdin(&mut self) {
        let Some(a) = &mut self.attach else { return };
        match &self.stdin {
            None => a.discard_input(),
            Some(fd) => {
                if let Err(e) = a.flush_input(fd.as_fd()) {
                    warning!("cannot write to the container's stdin: {e}");
                }
            }
        }
        if self.close_stdin_when_flushed && !a.has_pending() {
            debug!("closing the container's stdin");
            self.stdin = None;
            self.close_stdin_when_flushed = false;
        }
    }

    fn on_ctl(&mut self) {
        let Some(ctl) = &mut self.ctl else { return };
        for ev in ctl.read_events() {
            match ev {
                CtlEvent::Resize { rows, cols } => self.resize(rows, cols),
                CtlEvent::ReopenLogs => {
                    if let Some(log) = &mut self.log {
                        if let Err(e) = log.reopen() {
                            warning!("cannot reopen the log: {e}");
                        }
                    }
                }
            }
        }
    }

    fn resize(&mut self, rows: u16, cols: u16) {
        let pty = if self.tty {
            self.stdout.as_ref().or(self.stdin.as_ref())
        } else {
            None
        };
        match pty {
            Some(fd) => {
                if let Err(e) = crate::sys::set_window_size(fd.as_fd(), rows, cols) {
                    warning!("cannot resize the container's terminal: {e}");
                }
            }
            // Not there yet: apply when the runtime hands it over.
            None if self.opts.terminal => self.pending_resize = Some((rows, cols)),
            None => {}
        }
    }
}
