//! A network namespace kept alive by a bind mount of its nsfs file, made
//! without moving the caller: a forked child unshares it and bind-mounts
//! its own `/proc/self/ns/net` on the target (in the caller's mount
//! namespace), then exits.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::sys::wait::{waitpid, WaitStatus};

/// Create a new network namespace (owned by the caller's user namespace)
/// and bind-mount it on `target`, an empty file that is created here.
pub fn create_bound(target: &Path) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(target)?;
    let src = CString::new("/proc/self/ns/net")?;
    let dst = CString::new(target.as_os_str().as_bytes())?;
    match crate::sys::clone::fork(false)? {
        None => {
            // The child only makes raw system calls on memory prepared
            // before the fork (safe even if the parent has threads).
            // SAFETY: unshare takes flags; mount gets NUL-terminated
            // strings that live until _exit, and null type and data.
            let code = unsafe {
                if libc::unshare(libc::CLONE_NEWNET) != 0
                    || libc::mount(
                        src.as_ptr(),
                        dst.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND,
                        std::ptr::null(),
                    ) != 0
                {
                    *libc::__errno_location()
                } else {
                    0
                }
            };
            crate::sys::clone::exit_now(code.clamp(0, 255))
        }
        Some(pid) => loop {
            match waitpid(pid, None) {
                Ok(WaitStatus::Exited(_, 0)) => return Ok(()),
                Ok(WaitStatus::Exited(_, code)) => {
                    let _ = std::fs::remove_file(target);
                    return Err(io::Error::from_raw_os_error(code));
                }
                Ok(WaitStatus::Signaled(_, sig, _)) => {
                    let _ = std::fs::remove_file(target);
                    return Err(io::Error::other(format!(
                        "the process making the namespace was killed by {sig}"
                    )));
                }
                Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        },
    }
}

/// Unmount (lazily) and remove a file made by [`create_bound`]; what is
/// already gone is fine.
pub fn remove_bound(target: &Path) -> io::Result<()> {
    match nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(e.into()),
    }
    match std::fs::remove_file(target) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
