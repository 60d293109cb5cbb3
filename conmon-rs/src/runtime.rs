//! The OCI runtime: its command line (create, restore or exec, as conmon
//! builds it), the container's stdio (pipes, or a console socket on which
//! the runtime sends the pty master) and the fork that runs it.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, UnixAddr};
use nix::sys::stat::Mode;
use nix::sys::termios::{self, OutputFlags, SetArg};

use crate::args::Options;
use crate::sys::{self, ChildPlan};

pub fn set_nonblocking(fd: &impl AsFd) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd.as_fd().as_raw_fd(), FcntlArg::F_GETFL)?);
    fcntl(
        fd.as_fd().as_raw_fd(),
        FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK),
    )?;
    Ok(())
}

/// /dev/null, open for reading and for writing (close-on-exec).
pub struct DevNull {
    pub read: OwnedFd,
    pub write: OwnedFd,
}

impl DevNull {
    pub fn open() -> io::Result<DevNull> {
        Ok(DevNull {
            read: std::fs::File::open("/dev/null")?.into(),
            write: std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")?
                .into(),
        })
    }
}

/// The unix socket a runtime connects to (`--console-socket`) to hand over
/// the master side of the container's pty.
pub struct ConsoleSocket {
    listener: OwnedFd,
    path: PathBuf,
}

impl ConsoleSocket {
    /// Listen on a fresh path in the temporary directory.
    pub fn bind() -> io::Result<ConsoleSocket> {
        let dir = std::env::var_os("TMPDIR")
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        let listener = socket::socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        // Set before bind: the socket file takes this mode.
        nix::sys::stat::fchmod(listener.as_raw_fd(), Mode::from_bits_truncate(0o700))?;
        let mut seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            ^ (u64::from(std::process::id()) << 32);
        for _ in 0..64 {
            // xorshift: enough to avoid another monitor's names.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let path = dir.join(format!(
                "skiff-conmon-term.{:012x}",
                seed & 0xffff_ffff_ffff
            ));
            match socket::bind(listener.as_raw_fd(), &UnixAddr::new(&path)?) {
                Ok(()) => {
                    socket::listen(&listener, socket::Backlog::new(1).map_err(io::Error::from)?)?;
                    return Ok(ConsoleSocket { listener, path });
                }
                Err(nix::errno::Errno::EADDRINUSE) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free console socket name",
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn listener(&self) -> &OwnedFd {
        &self.listener
    }

    /// Accept the runtime's connection and take the pty master from it.
    pub fn receive(self) -> io::Result<OwnedFd> {
        let conn = sys::accept(self.listener.as_fd(), false)?;
        let pty = sys::recv_fd(conn.as_fd())?;
        prepare_pty(&pty)?;
        Ok(pty)
    }
}

/// The pty master as the monitor uses it: non-blocking, and with ONLCR
/// output post-processing, as conmon sets it, so the log holds what a
/// terminal shows (`\r\n` line ends).
pub fn prepare_pty(pty: &OwnedFd) -> io::Result<()> {
    match termios::tcgetattr(pty) {
        Ok(mut t) => {
            t.output_flags |= OutputFlags::ONLCR;
            if let Err(e) = termios::tcsetattr(pty, SetArg::TCSANOW, &t) {
                crate::diag::warning!("cannot set the console's terminal settings: {e}");
            }
        }
        Err(e) => crate::diag::warning!("cannot read the console's terminal settings: {e}"),
    }
    set_nonblocking(pty)
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The container's stdio: the monitor's ends and the ends given to the runtime.
#[derive(Default)]
pub struct Stdio {
    /// Write end of the container's stdin pipe (`-i` without `-t`).
    pub stdin: Option<OwnedFd>,
    /// Read end of the stdout pipe (without `-t`).
    pub stdout: Option<OwnedFd>,
    /// Read end of the stderr pipe: always there, so the runtime's own error
    /// messages can be read even with a terminal.
    pub stderr: Option<OwnedFd>,
    /// The runtime's ends, closed in the monitor once it runs.
    worker: [Option<OwnedFd>; 3],
    pub console: Option<ConsoleSocket>,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC)?)
}

impl Stdio {
    pub fn new(terminal: bool, stdin: bool) -> io::Result<Stdio> {
        let mut s = Stdio::default();
        if terminal {
            s.console = Some(ConsoleSocket::bind()?);
        } else {
            if stdin {
                let (r, w) = pipe()?;
                set_nonblocking(&w)?;
                s.worker[0] = Some(r);
                s.stdin = Some(w);
            }
            let (r, w) = pipe()?;
            set_nonblocking(&r)?;
            s.stdout = Some(r);
            s.worker[1] = Some(w);
        }
        let (r, w) = pipe()?;
        set_nonblocking(&r)?;
        s.stderr = Some(r);
        s.worker[2] = Some(w);
        Ok(s)
    }

    /// The descriptors the runtime gets as 0, 1 and 2, and which are pipes.
    fn child_fds(&self, null: &DevNull) -> ([i32; 3], [bool; 3]) {
        let pick = |i: usize, default: &OwnedFd| match &self.worker[i] {
            Some(fd) => (fd.as_raw_fd(), true),
            None => (default.as_raw_fd(), false),
        };
        let (a, pa) = pick(0, &null.read);
        let (b, pb) = pick(1, &null.write);
        let (c, pc) = pick(2, &null.write);
        ([a, b, c], [pa, pb, pc])
    }

    /// Drop the runtime's ends once it has them.
    pub fn close_worker_ends(&mut self) {
        self.worker = [None, None, None];
    }
}

/// The runtime's command line, as conmon builds it.
pub fn runtime_argv(o: &Options, console: Option<&Path>) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec![o.runtime.clone().into()];
    let mut push = |s: &OsStr| v.push(s.to_os_string());
    if !o.exec && o.systemd_cgroup {
        push("--systemd-cgroup".as_ref());
    }
    for a in &o.runtime_args {
        push(a);
    }
    if o.exec {
        push("exec".as_ref());
        push("--pid-file".as_ref());
        push(o.container_pidfile.as_os_str());
        push("--process".as_ref());
        push(
            o.exec_process_spec
                .as_deref()
                .unwrap_or(Path::new(""))
                .as_os_str(),
        );
        push("--detach".as_ref());
    } else {
        let bundle = o.bundle.as_deref().unwrap_or(Path::new(".")).as_os_str();
        push(
            if o.restore.is_some() {
                "restore"
            } else {
                "create"
            }
            .as_ref(),
        );
        push("--bundle".as_ref());
        push(bundle);
        push("--pid-file".as_ref());
        push(o.container_pidfile.as_os_str());
        if o.no_pivot {
            push("--no-pivot".as_ref());
        }
        if o.no_new_keyring {
            push("--no-new-keyring".as_ref());
        }
        if let Some(image) = &o.restore {
            // The restored container runs at once: the runtime must detach.
            for a in [
                "--detach".as_ref(),
                "--image-path".as_ref(),
                image.as_os_str(),
            ] {
                push(a);
            }
            push("--work-path".as_ref());
            push(bundle);
        }
    }
    for a in &o.runtime_opts {
        push(a);
    }
    if let Some(path) = console {
        push("--console-socket".as_ref());
        push(path.as_os_str());
    }
    push(&o.cid);
    v
}

pub fn to_cstrings(argv: Vec<OsString>) -> io::Result<Vec<CString>> {
    argv.into_iter()
        .map(|a| {
            CString::new(a.into_vec())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in an argument"))
        })
        .collect()
}

/// How the runtime is started.
pub struct Launch<'a> {
    pub opts: &'a Options,
    pub stdio: &'a Stdio,
    pub null: &'a DevNull,
    /// `--exec-attach`: the runtime waits for a second start message.
    pub start_pipe: Option<&'a OwnedFd>,
    /// The monitor's original oom_score_adj, restored for the runtime.
    pub oom_score_adj: Option<Vec<u8>>,
}

/// Fork and exec the runtime; returns its pid.
pub fn spawn(l: Launch<'_>) -> io::Result<i32> {
    let console = l.stdio.console.as_ref().map(ConsoleSocket::path);
    let argv = runtime_argv(l.opts, console);
    crate::diag::debug!(
        "running {}",
        argv.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut plan = ChildPlan::new(to_cstrings(argv)?);
    plan.die_with_parent = true;
    plan.oom_score_adj = l.oom_score_adj;
    if !l.opts.passthrough() {
        let (fds, pipes) = l.stdio.child_fds(l.null);
        plan.stdio = Some(fds);
        plan.chmod_stdio = pipes;
    }
    if l.opts.exec_attach {
        plan.wait_fd = l.start_pipe.map(|p| p.as_raw_fd());
    }
    plan.spawn()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse, Command};

    fn argv(args: &[&str]) -> Vec<String> {
        let Ok(Command::Run(o)) = parse(args.iter().map(OsString::from), Path::new("/cwd")) else {
            panic!("bad test arguments");
        };
        runtime_argv(&o, Some(Path::new("/tmp/cs")))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    const BASE: &[&str] = &[
        "-c",
        "ctr",
        "-u",
        "u",
        "-r",
        "/bin/runc",
        "-b",
        "/b",
        "-p",
        "/b/pid",
        "-l",
        "none",
    ];

    #[test]
    fn create_command_line() {
        let mut a = BASE.to_vec();
        a.extend([
            "-s",
            "--runtime-arg",
            "--root",
            "--runtime-arg",
            "/r",
            "--no-pivot",
            "--runtime-opt",
            "--x",
        ]);
        assert_eq!(
            argv(&a),
            [
                "/bin/runc",
                "--systemd-cgroup",
                "--root",
                "/r",
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/b/pid",
                "--no-pivot",
                "--x",
                "--console-socket",
                "/tmp/cs",
                "ctr"
            ]
        );
    }

    #[test]
    fn exec_command_line() {
        let mut a = BASE.to_vec();
        a.extend([
            "-e",
            "--exec-process-spec",
            "/b/p.json",
            "-s",
            "--runtime-arg",
            "--root=/r",
        ]);
        assert_eq!(
            argv(&a),
            [
                "/bin/runc",
                "--root=/r",
                "exec",
                "--pid-file",
                "/b/pid",
                "--process",
                "/b/p.json",
                "--detach",
                "--console-socket",
                "/tmp/cs",
                "ctr"
            ],
            "no --systemd-cgroup for exec, as conmon"
        );
    }

    #[test]
    fn restore_command_line() {
        let mut a = BASE.to_vec();
        a.extend(["--restore", "/ck"]);
        assert_eq!(
            argv(&a),
            [
                "/bin/runc",
                "restore",
                "--bundle",
                "/b",
                "--pid-file",
                "/b/pid",
                "--detach",
                "--image-path",
                "/ck",
                "--work-path",
                "/b",
                "--console-socket",
                "/tmp/cs",
                "ctr"
            ]
        );
    }
}
