//! Paths inside a root directory that is not ours to trust (a container's
//! root file system), resolved as the kernel would with that directory as
//! `/`: `..` stops at the root, an absolute symlink target starts from it,
//! and nothing outside is ever looked at (CVE-2018-15664 is the bug class
//! this guards against). The result is a symlink-free relative path, meant
//! to be opened with [`crate::sys::fs::open_beneath`], which follows no
//! symlink at all: a symlink swapped in after the resolution makes that open
//! fail instead of leading out.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::sys::fs::{fstatat_nofollow, is_dir, is_symlink};

/// Symlinks followed while resolving one path, as the kernel's MAXSYMLINKS.
const MAX_LINKS: usize = 40;

/// What a path names below the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InRoot {
    /// It exists: the symlink-free relative path (`.` for the root itself).
    Exists(OsString),
    /// Everything but the last component exists (and is a directory): the
    /// symlink-free path of that directory and the missing name. A last
    /// component that is a symlink to a missing file resolves to where the
    /// symlink points.
    Missing { parent: OsString, name: OsString },
}

/// Resolve `path` below `root`. A missing or non-directory component before
/// the last one is `ENOENT`/`ENOTDIR`; too many symlinks is `ELOOP`.
pub fn resolve(root: BorrowedFd<'_>, path: &OsStr) -> io::Result<InRoot> {
    let mut pending: Vec<OsString> = components(path.as_bytes()).rev().collect();
    let mut done: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(comp) = pending.pop() {
        match comp.as_bytes() {
            b"." => continue,
            b".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        done.push(comp);
        let here = join(&done);
        let st = match fstatat_nofollow(root, &here) {
            Ok(st) => st,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && only_dots(&pending) => {
                let name = done.pop().unwrap_or_default();
                return Ok(InRoot::Missing {
                    parent: join(&done),
                    name,
                });
            }
            Err(e) => return Err(e),
        };
        if is_symlink(&st) {
            links += 1;
            if links > MAX_LINKS {
                return Err(io::Error::from_raw_os_error(libc::ELOOP));
            }
            let target = nix::fcntl::readlinkat(Some(root.as_raw_fd()), here.as_os_str())?;
            done.pop();
            if target.as_bytes().first() == Some(&b'/') {
                done.clear();
            }
            pending.extend(components(target.as_bytes()).rev());
        } else if !pending.is_empty() && !is_dir(&st) {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
    }
    Ok(InRoot::Exists(join(&done)))
}

/// Resolve a path that must exist; `None` when some component does not.
pub fn resolve_existing(root: BorrowedFd<'_>, path: &OsStr) -> io::Result<Option<OsString>> {
    match resolve(root, path) {
        Ok(InRoot::Exists(p)) => Ok(Some(p)),
        Ok(InRoot::Missing { .. }) => Ok(None),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether what is left to resolve changes nothing (`a/.` is `a`); a `..`
/// after a missing name cannot be resolved.
fn only_dots(pending: &[OsString]) -> bool {
    pending.iter().all(|c| c.as_bytes() == b".")
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = OsString> + '_ {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(|c| OsString::from_vec(c.to_vec()))
}

fn join(parts: &[OsString]) -> OsString {
    if parts.is_empty() {
        return OsString::from(".");
    }
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(p.as_bytes());
    }
    OsString::from_vec(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fs::open_dir;
    use std::os::fd::AsFd;
    use std::os::unix::fs::symlink;

    fn s(p: &str) -> OsString {
        OsString::from(p)
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let r = tmp.path();
        std::fs::create_dir_all(r.join("etc/sub")).expect("mkdir");
        std::fs::create_dir_all(r.join("tmp")).expect("mkdir");
        std::fs::write(r.join("tmp/real"), b"x").expect("write");
        symlink("/", r.join("evil")).expect("symlink");
        symlink("../../../../tmp/real", r.join("etc/up")).expect("symlink");
        symlink("../../../../tmp/gone", r.join("etc/dangling")).expect("symlink");
        symlink("loop", r.join("loop")).expect("symlink");
        std::fs::write(r.join("file"), b"").expect("write");
        let root = open_dir(r).expect("open");
        let fd = root.as_fd();
        let res = |p: &str| resolve(fd, OsStr::new(p));

        assert_eq!(res("/").expect("root"), InRoot::Exists(s(".")));
        assert_eq!(res("/evil/etc").expect("evil"), InRoot::Exists(s("etc")));
        assert_eq!(
            res("evil/../../etc/sub/.").expect("dots"),
            InRoot::Exists(s("etc/sub"))
        );
        assert_eq!(res("/etc/up").expect("up"), InRoot::Exists(s("tmp/real")));
        assert_eq!(
            res("/etc/dangling").expect("dangling"),
            InRoot::Missing {
                parent: s("tmp"),
                name: s("gone")
            }
        );
        assert_eq!(
            res("/evil/new").expect("new"),
            InRoot::Missing {
                parent: s("."),
                name: s("new")
            }
        );
        assert_eq!(
            res("/nope/x").expect_err("missing parent").raw_os_error(),
            Some(libc::ENOENT)
        );
        assert_eq!(
            res("/file/x").expect_err("not a dir").raw_os_error(),
            Some(libc::ENOTDIR)
        );
        assert_eq!(
            res("/loop").expect_err("loop").raw_os_error(),
            Some(libc::ELOOP)
        );
        assert_eq!(
            resolve_existing(fd, OsStr::new("/nope/x")).expect("none"),
            None
        );
    }
}
