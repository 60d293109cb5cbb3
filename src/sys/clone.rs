//! Process creation for the built-in runtime: a fork whose child can be
//! made a sibling (CLONE_PARENT), and the descriptor and terminal calls the
//! container's init makes before exec.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use nix::unistd::Pid;

/// Fork; with `sibling`, the child's parent is this process's parent
/// (CLONE_PARENT), so that when this process exits the child is already
/// where it has to end up. Returns `None` in the child.
///
/// The caller must be single-threaded: the child gets a copy of this one
/// thread only, and runs without glibc's fork handlers.
pub fn fork(sibling: bool) -> io::Result<Option<Pid>> {
    let flags = libc::SIGCHLD as libc::c_ulong
        | if sibling {
            libc::CLONE_PARENT as libc::c_ulong
        } else {
            0
        };
    // SAFETY: clone with a null stack and no thread flags behaves as fork:
    // the child continues on a copy of the caller's address space. The
    // pointer arguments are null, which the kernel accepts for these flags.
    let res = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
            0usize,
        )
    };
    match res {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}

/// End this process at once, without running exit handlers or flushing
/// buffers (a forked child must not run its parent's cleanup).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes an integer and does not return.
    unsafe { libc::_exit(code) }
}

/// Mark every descriptor from `first` up close-on-exec.
pub fn cloexec_from(first: RawFd) -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range takes plain integers; with CLOSE_RANGE_CLOEXEC it
    // only sets a flag on descriptors, closing none.
    let res = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if res == 0 {
        return Ok(());
    }
    // Kernels before 5.11: one by one.
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Ok(fd) = entry?.file_name().to_string_lossy().parse::<RawFd>() else {
            continue;
        };
        if fd >= first {
            let _ = nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
        }
    }
    Ok(())
}

/// Make the terminal open as `fd` this process's controlling terminal
/// (the caller leads a new session).
pub fn set_controlling_terminal(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal).
    let res = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if res < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Give this process a new anonymous session keyring, so that it cannot
/// reach the keys of the session that started it.
pub fn join_new_session_keyring() -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a null name asks for a new anonymous keyring; no memory is
    // passed.
    let res = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    if res < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forked_child_runs_and_is_reaped() {
        match fork(false).expect("fork") {
            // The child only exits, without running any of the harness's
            // code (other threads' locks may be held).
            None => exit_now(7),
            Some(pid) => {
                let status = nix::sys::wait::waitpid(pid, None).expect("wait");
                assert_eq!(status, nix::sys::wait::WaitStatus::Exited(pid, 7));
            }
        }
    }
}
