//! Raw system calls the rest of the monitor uses through safe wrappers:
//! fork and the code between fork and exec, poll(2), descriptor passing,
//! descriptors handed over by number, the pty window size and local time.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{self, ControlMessageOwned, MsgFlags, SockFlag};

/// Which side of a fork this is.
pub enum Forked {
    Parent(libc::pid_t),
    Child,
}

/// fork(2) for a process that goes on running ordinary code in the child.
pub fn fork_process() -> io::Result<Forked> {
    // SAFETY: the monitor never starts a thread, so the child is an exact copy
    // of a single-threaded process: no lock can be held by a thread that does
    // not exist in the child, and allocating there is sound.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid)),
    }
}

/// Everything a child needs between fork and exec, prepared beforehand so
/// that the child only makes system calls: it never allocates.
pub struct ChildPlan {
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    /// Descriptors to install as 0, 1 and 2 (None: keep the monitor's).
    pub stdio: Option<[RawFd; 3]>,
    /// Make the installed descriptor world-accessible (pipes only), so a
    /// container user other than ours can reopen /proc/self/fd/N.
    pub chmod_stdio: [bool; 3],
    /// Block on one read from this descriptor before exec.
    pub wait_fd: Option<RawFd>,
    /// Text to write to /proc/self/oom_score_adj before exec.
    pub oom_score_adj: Option<Vec<u8>>,
    /// Start a new session (the exit command is detached from ours).
    pub setsid: bool,
    /// Close every descriptor from 3 up.
    pub close_fds: bool,
    /// Sleep this long before exec.
    pub delay_secs: u32,
    /// Die with the monitor (PR_SET_PDEATHSIG).
    pub die_with_parent: bool,
}

const OOM_ADJ_PATH: &CStr = c"/proc/self/oom_score_adj";

impl ChildPlan {
    /// `argv[0]` is the program's path.
    pub fn new(argv: Vec<CString>) -> ChildPlan {
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        ChildPlan {
            _argv: argv,
            argv_ptrs,
            stdio: None,
            chmod_stdio: [false; 3],
            wait_fd: None,
            oom_score_adj: None,
            setsid: false,
            close_fds: false,
            delay_secs: 0,
            die_with_parent: false,
        }
    }

    /// Fork and exec the plan; returns the child's pid.
    pub fn spawn(&self) -> io::Result<libc::pid_t> {
        // SAFETY: see fork_process; the child runs only `exec_child`, which
        // makes async-signal-safe system calls on memory prepared before the
        // fork and never returns.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => self.exec_child(),
            pid => Ok(pid),
        }
    }

    fn exec_child(&self) -> ! {
        const EXEC_FAILED: &[u8] = b"skiff-conmon: cannot execute the command\n";
        // SAFETY: every call below is async-signal-safe, takes pointers to
        // memory owned by `self` (alive until exec or _exit) or to the stack,
        // and nothing allocates.
        unsafe {
            if self.die_with_parent {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            }
            // The monitor blocks the signals it reads through its signalfd
            // and ignores SIGPIPE (Rust's runtime does): neither is for the child.
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            if self.setsid {
                libc::setsid();
            }
            if let Some(stdio) = self.stdio {
                for (target, &fd) in stdio.iter().enumerate() {
                    let target = target as libc::c_int;
                    if libc::dup2(fd, target) < 0 {
                        libc::_exit(127);
                    }
                    if self.chmod_stdio[target as usize] {
                        // Best effort, as with conmon: not every kind of fd supports it.
                        libc::fchmod(target, 0o777);
                    }
                }
            }
            if let Some(fd) = self.wait_fd {
                let mut buf = [0u8; 256];
                while libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) < 0
                    && *libc::__errno_location() == libc::EINTR
                {}
            }
            if let Some(value) = &self.oom_score_adj {
                let fd = libc::open(OOM_ADJ_PATH.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd >= 0 {
                    libc::write(fd, value.as_ptr().cast(), value.len());
                    libc::close(fd);
                }
            }
            if self.close_fds && libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
                // Kernels before 5.9: close what the soft limit allows.
                let max = libc::sysconf(libc::_SC_OPEN_MAX).clamp(3, 1 << 20) as libc::c_int;
                for fd in 3..max {
                    libc::close(fd);
                }
            }
            if self.delay_secs > 0 {
                libc::sleep(self.delay_secs);
            }
            libc::execv(self.argv_ptrs[0], self.argv_ptrs.as_ptr());
            libc::write(2, EXEC_FAILED.as_ptr().cast(), EXEC_FAILED.len());
            libc::_exit(127)
        }
    }
}

/// poll(2) over `fds`; `timeout_ms` < 0 waits forever. EINTR counts as no events.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: the pointer and length describe a valid, exclusively borrowed slice.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let err = io::Error::last_os_error();
        return if err.kind() == io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(err)
        };
    }
    Ok(n as usize)
}

/// accept4(2) with SOCK_CLOEXEC (and SOCK_NONBLOCK when asked).
pub fn accept(listener: BorrowedFd<'_>, nonblocking: bool) -> io::Result<OwnedFd> {
    let mut flags = SockFlag::SOCK_CLOEXEC;
    if nonblocking {
        flags |= SockFlag::SOCK_NONBLOCK;
    }
    let fd = socket::accept4(listener.as_raw_fd(), flags)?;
    // SAFETY: accept4 just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Receive one descriptor sent with SCM_RIGHTS (the runtime's pty master),
/// close-on-exec on arrival.
pub fn recv_fd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut name = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let msg = socket::recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let mut received: Vec<RawFd> = Vec::new();
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            received.extend(fds);
        }
    }
    // SAFETY: the kernel installed these descriptors for us just now; each
    // is wrapped exactly once, so extra ones are closed when dropped.
    let owned: Vec<OwnedFd> = received
        .into_iter()
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    owned
        .into_iter()
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no descriptor in the message"))
}

/// TIOCSWINSZ on a pty master.
pub fn set_window_size(pty: BorrowedFd<'_>, rows: u16, cols: u16) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, valid for the call.
    if unsafe { libc::ioctl(pty.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Broken-down local time, as localtime_r(3) gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Offset from UTC in seconds, east positive.
    pub utc_offset: i32,
}

pub fn local_time(secs: i64) -> LocalTime {
    let t: libc::time_t = secs;
    // SAFETY: `tm` is plain integers (and a pointer that may be null):
    // all-zero is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r reads `t` and writes `tm`, both valid for the call.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        tm.tm_year = 70;
        tm.tm_mday = 1;
    }
    LocalTime {
        year: tm.tm_year + 1900,
        month: (tm.tm_mon + 1) as u32,
        day: tm.tm_mday as u32,
        hour: tm.tm_hour as u32,
        minute: tm.tm_min as u32,
        second: tm.tm_sec as u32,
        utc_offset: tm.tm_gmtoff as i32,
    }
}

/// Take ownership of the descriptor whose number the parent put in the
/// environment variable `name` (`_OCI_SYNCPIPE`, `_OCI_STARTPIPE`, ...), and
/// make it close-on-exec.
pub fn take_env_fd(name: &str) -> io::Result<Option<OwnedFd>> {
    let Some(value) = std::env::var_os(name) else {
        return Ok(None);
    };
    let fd: RawFd = value
        .to_str()
        .and_then(|v| v.parse().ok())
        .filter(|&fd| fd >= 0)
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("cannot parse {name}"))
        })?;
    take_fd(fd).map(Some)
}

/// Take ownership of descriptor `fd`, handed over by the parent for the
/// monitor's sole use, and make it close-on-exec.
pub fn take_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_SETFD on any number is harmless; it fails on a closed one.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: by the protocol (conmon's, or skiff's `_SKIFF_ADOPT`) the
    // parent handed this open descriptor to the monitor for its sole use;
    // it is wrapped once, here.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Descriptors from 3 up that are open now (those inherited from the caller,
/// when called first thing).
pub fn open_fds_from_3() -> Vec<RawFd> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let mut fds: Vec<RawFd> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= 3)
        .collect();
    // The directory's own descriptor is closed by now.
    // SAFETY: F_GETFD only queries the descriptor table.
    fds.retain(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0);
    fds
}

/// Close descriptors the monitor inherited but never wrapped (podman hands
/// conmon sockets that hold published ports; they are released at exit).
pub fn close_inherited(fds: &[RawFd]) {
    for &fd in fds {
        // SAFETY: these numbers were recorded before the monitor opened
        // anything and are owned by no OwnedFd (the pipes taken from the
        // environment are removed from the list first).
        unsafe { libc::close(fd) };
    }
}
