//! Starting a helper process with chosen file descriptors at chosen numbers
//! (the monitor's sync and start pipes sit at fixed numbers, named in its
//! environment, as conmon's protocol has them).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};

/// The session a spawned helper belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// The caller's (the helper dies with the caller's terminal).
    Inherit,
    /// A new one it leads: detached from the caller's terminal and its
    /// signals, so that it outlives the caller (setsid(2)).
    New,
}

/// Spawn `cmd` with each `(fd, target)` duplicated onto `target` in the
/// child. Every other descriptor skiff holds is close-on-exec, so only stdio
/// and these reach the child.
pub fn spawn_with_fds(cmd: Command, fds: &[(BorrowedFd<'_>, RawFd)]) -> io::Result<Child> {
    spawn_in_session(cmd, fds, Session::Inherit)
}

/// [`spawn_with_fds`], in the session chosen.
pub fn spawn_in_session(
    mut cmd: Command,
    fds: &[(BorrowedFd<'_>, RawFd)],
    session: Session,
) -> io::Result<Child> {
    // Prepared before fork: the closure below must not allocate.
    let pairs: Vec<(RawFd, RawFd)> = fds.iter().map(|(fd, t)| (fd.as_raw_fd(), *t)).collect();
    if pairs.iter().any(|(_, t)| *t <= 2) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "descriptors 0 to 2 are the child's stdio",
        ));
    }
    let above = pairs.iter().map(|(_, t)| *t).max().unwrap_or(2) + 1;
    let mut moved: Vec<RawFd> = vec![-1; pairs.len()];
    // SAFETY: the closure runs in the child between fork and exec. It only
    // calls setsid/fcntl/dup2 (async-signal-safe) on descriptors that stay open in
    // the parent for the duration of spawn, and writes into a vector
    // allocated before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if session == Session::New && libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            // Every source out of the way of every target first: a source
            // may sit on another pair's target.
            for (slot, &(src, _)) in moved.iter_mut().zip(&pairs) {
                *slot = libc::fcntl(src, libc::F_DUPFD_CLOEXEC, above);
                if *slot < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            // dup2 clears close-on-exec on the target.
            for (&high, &(_, target)) in moved.iter().zip(&pairs) {
                if libc::dup2(high, target) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd.spawn()
}

/// Every signal back to its default action and none blocked, as a freshly
/// booted process has them: what a container's process starts with (a
/// Rust program ignores SIGPIPE, and exec keeps ignored signals ignored).
/// The raw system call also reaches the signals the C library keeps for
/// itself (32 and 33), which an ignoring caller would otherwise pass on.
pub fn reset_signals() -> io::Result<()> {
    /// The kernel's `struct sigaction` (x86_64 and aarch64 alike).
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: libc::c_ulong,
        restorer: usize,
        mask: u64,
    }
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: `default` is a valid kernel sigaction that installs no
        // handler; the old action is not asked for.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                &default as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                std::mem::size_of::<u64>(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    )?;
    Ok(())
}

/// Close every descriptor from `first` up.
pub fn close_from(first: RawFd) -> nix::Result<()> {
    // SAFETY: close_range takes plain integers; the caller owns nothing
    // from `first` up that it will use again.
    let res = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            0 as libc::c_uint,
        )
    };
    if res == 0 {
        return Ok(());
    }
    // Kernels before 5.9: one by one.
    let open: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= first)
        .collect();
    for fd in open {
        let _ = nix::unistd::close(fd);
    }
    Ok(())
}

/// A descriptor this process holds at a known number (placed with dup2),
/// borrowed for the length of a call.
pub fn borrow_fd<'a>(fd: RawFd) -> BorrowedFd<'a> {
    // SAFETY: callers pass numbers they have just placed and keep open.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Receive one descriptor sent with SCM_RIGHTS on `sock`.
pub fn recv_fd(sock: &std::os::unix::net::UnixStream) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let mut buf = [0u8; 64];
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = nix::sys::socket::recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    for c in msg.cmsgs()? {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this descriptor for us.
                return Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "no descriptor in the message",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsFd;

    #[test]
    fn child_sees_the_descriptor_at_its_number() {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo hello >&5"]);
        let mut child = spawn_with_fds(cmd, &[(w.as_fd(), 5)]).expect("spawn");
        drop(w);
        let mut out = String::new();
        std::fs::File::from(r)
            .read_to_string(&mut out)
            .expect("read");
        assert_eq!(out, "hello\n");
        assert!(child.wait().expect("wait").success());
        let err = spawn_with_fds(Command::new("true"), &[(std::io::stdin().as_fd(), 1)]);
        assert!(err.is_err());
    }

    #[test]
    fn descriptors_may_trade_numbers() {
        // Each source sits on the other's target.
        let (r1, w1) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let (r2, w2) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let (a, b) = (w1.as_raw_fd(), w2.as_raw_fd());
        let mut cmd = Command::new("sh");
        // (Through /proc: the shell's `>&N` takes one digit only.)
        cmd.args([
            "-c",
            &format!("echo one >/proc/self/fd/{b}; echo two >/proc/self/fd/{a}"),
        ]);
        let mut child = spawn_with_fds(cmd, &[(w1.as_fd(), b), (w2.as_fd(), a)]).expect("spawn");
        drop((w1, w2));
        let read = |r: std::os::fd::OwnedFd| {
            let mut out = String::new();
            std::fs::File::from(r)
                .read_to_string(&mut out)
                .expect("read");
            out
        };
        assert!(child.wait().expect("wait").success());
        assert_eq!(read(r1), "one\n");
        assert_eq!(read(r2), "two\n");
    }
}
