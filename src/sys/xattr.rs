//! Extended attributes on open descriptors and on names relative to a
//! directory descriptor, never following a symlink in the last component.
#![allow(unsafe_code)]

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;

use nix::NixPath;

/// `fsetxattr(2)`: set `name` to `value` on the file open as `fd` (which must
/// not be an `O_PATH` descriptor).
pub fn fsetxattr(fd: BorrowedFd<'_>, name: &OsStr, value: &[u8]) -> io::Result<()> {
    let res = name.with_nix_path(|cname| {
        // SAFETY: `cname` is a NUL-terminated string and `value` a live slice
        // whose pointer and length are passed together; the kernel only reads
        // them during the call. `fd` is borrowed, so it stays open.
        unsafe {
            libc::fsetxattr(
                fd.as_raw_fd(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        }
    })?;
    if res == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `fgetxattr(2)`: the value of `name` on `fd`, `None` when it is not set.
pub fn fgetxattr(fd: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<Vec<u8>>> {
    // Values skiff reads (overlay markers) are tiny; a larger one is read in
    // a second call sized by the kernel's answer.
    let mut buf = vec![0u8; 256];
    loop {
        let res = name.with_nix_path(|cname| {
            // SAFETY: `cname` is NUL-terminated; `buf` is a live, writable
            // buffer of `buf.len()` bytes, which is the size passed.
            unsafe {
                libc::fgetxattr(
                    fd.as_raw_fd(),
                    cname.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            }
        })?;
        if let Ok(len) = usize::try_from(res) {
            buf.truncate(len);
            return Ok(Some(buf));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENODATA) => return Ok(None),
            Some(libc::ERANGE) => {
                let new_len = buf.len().saturating_mul(16);
                if new_len > 1 << 20 {
                    return Err(err);
                }
                buf.resize(new_len, 0);
            }
            _ => return Err(err),
        }
    }
}

/// Set an attribute on `name` in `dir` without following it if it is a
/// symlink (`lsetxattr(2)`), for files that cannot be opened safely
/// (symlinks, devices, FIFOs). Goes through /proc/self/fd, where only the
/// directory's own magic link is followed.
pub fn lsetxattr_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    key: &OsStr,
    value: &[u8],
) -> io::Result<()> {
    let mut path = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    path.push(name);
    ::xattr::set(&path, key, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn user_xattr_roundtrip_on_fd_and_name() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = std::fs::File::create(tmp.path().join("f")).expect("create");
        let key = OsStr::new("user.skiff.test");
        match fsetxattr(file.as_fd(), key, b"v1") {
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                println!("skipped: the temporary file system has no user xattrs");
                return;
            }
            r => r.expect("fsetxattr"),
        }
        assert_eq!(
            fgetxattr(file.as_fd(), key).expect("get"),
            Some(b"v1".to_vec())
        );
        assert_eq!(
            fgetxattr(file.as_fd(), OsStr::new("user.none")).expect("get"),
            None
        );

        let dir = crate::sys::fs::open_dir(tmp.path()).expect("open dir");
        lsetxattr_at(dir.as_fd(), OsStr::new("f"), key, b"v2").expect("lsetxattr");
        assert_eq!(
            fgetxattr(file.as_fd(), key).expect("get"),
            Some(b"v2".to_vec())
        );

        let big = vec![b'x'; 1000];
        fsetxattr(file.as_fd(), key, &big).expect("set big");
        assert_eq!(fgetxattr(file.as_fd(), key).expect("get big"), Some(big));
    }
}
