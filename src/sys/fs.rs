//! File-system calls relative to directory descriptors (`*at(2)`), with
//! `OwnedFd`/`BorrowedFd` in and `io::Error` out. Nothing here follows a
//! symlink in the last component unless its name says so; `open_beneath`
//! follows none at all.
#![allow(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::dir::{Dir, Type};
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags};

/// A point in time as the kernel stores file times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    fn spec(self) -> TimeSpec {
        TimeSpec::new(self.secs, i64::from(self.nanos.min(999_999_999)))
    }
}

/// What `unlinkat` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remove {
    /// Anything but a directory.
    NonDir,
    /// An empty directory.
    Dir,
}

/// The type of a directory entry as `readdir(3)` reports it (`None` when the
/// file system does not say; ask `fstatat`).
pub type EntryType = Option<Type>;

/// The errno behind an `io::Error` from a system call, for matching.
pub fn errno(e: &io::Error) -> Option<Errno> {
    e.raw_os_error().map(Errno::from_raw)
}

fn owned(raw: RawFd) -> OwnedFd {
    // SAFETY: `raw` was just returned by a successful open call of this
    // module, so it is a valid descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// `open(2)` with `O_CLOEXEC` added.
pub fn open(path: &std::path::Path, flags: OFlag, mode: u32) -> nix::Result<OwnedFd> {
    let raw = nix::fcntl::open(
        path,
        flags | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(mode),
    )?;
    Ok(owned(raw))
}

/// `openat2(2)` with `O_CLOEXEC` added; `dir` `None` is the working
/// directory.
pub fn openat2(
    dir: Option<BorrowedFd<'_>>,
    path: &OsStr,
    how: nix::fcntl::OpenHow,
) -> nix::Result<OwnedFd> {
    let at = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    let raw = nix::fcntl::openat2(at, path, how)?;
    Ok(owned(raw))
}

/// `openat(2)` with `O_CLOEXEC` added.
pub fn openat(dir: BorrowedFd<'_>, name: &OsStr, flags: OFlag, mode: u32) -> io::Result<OwnedFd> {
    let raw = nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        name,
        flags | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(mode),
    )?;
    Ok(owned(raw))
}

/// Open the directory `name` in `dir` for reading, refusing a symlink.
pub fn open_dir_nofollow(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
        0,
    )
}

/// Open a directory by path (following symlinks, as a user-given path may).
pub fn open_dir(path: &std::path::Path) -> io::Result<OwnedFd> {
    let raw = nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    Ok(owned(raw))
}

/// Set once `openat2(2)` turned out to be missing (old kernel) or filtered
/// (seccomp), so later calls go straight to the component walk.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Open `path` (relative, `/`-separated) below `dir` without following any
/// symlink and without leaving `dir`: `openat2(2)` with `RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS`, or, where that is unavailable, one `openat(2)` with
/// `O_NOFOLLOW` per component. A symlink anywhere fails with `ELOOP`, a `..`
/// or absolute path with `EXDEV`. `flags` apply to the last component.
pub fn open_beneath(dir: BorrowedFd<'_>, path: &OsStr, flags: OFlag) -> io::Result<OwnedFd> {
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        use nix::fcntl::{OpenHow, ResolveFlag};
        let how = OpenHow::new()
            // RESOLVE_NO_SYMLINKS covers the last component too, with ELOOP;
            // O_NOFOLLOW would open a final symlink itself instead.
            .flags((flags | OFlag::O_CLOEXEC) - OFlag::O_NOFOLLOW)
            .resolve(
                ResolveFlag::RESOLVE_BENEATH
                    | ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_NO_MAGICLINKS,
            );
        match nix::fcntl::openat2(dir.as_raw_fd(), path, how) {
            Ok(raw) => return Ok(owned(raw)),
            Err(nix::errno::Errno::ENOSYS | nix::errno::Errno::EPERM) => {
                NO_OPENAT2.store(true, Ordering::Relaxed);
            }
            // EAGAIN: a concurrent rename raced the lookup; the walk below
            // does not care.
            Err(nix::errno::Errno::EAGAIN) => {}
            Err(e) => return Err(e.into()),
        }
    }
    walk_beneath(dir, path.as_bytes(), flags)
}

fn walk_beneath(dir: BorrowedFd<'_>, path: &[u8], flags: OFlag) -> io::Result<OwnedFd> {
    if path.first() == Some(&b'/') {
        return Err(io::Error::from_raw_os_error(libc::EXDEV));
    }
    let comps: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .collect();
    if comps.iter().any(|c| *c == b"..") {
        return Err(io::Error::from_raw_os_error(libc::EXDEV));
    }
    let Some((last, parents)) = comps.split_last() else {
        return openat(dir, OsStr::new("."), flags, 0);
    };
    let mut cur: Option<OwnedFd> = None;
    for comp in parents {
        let at = cur.as_ref().map_or(dir, |fd| fd.as_fd());
        // O_PATH needs only search permission on the way down.
        let next = open_component(
            at,
            OsStr::from_bytes(comp),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW,
        )?;
        cur = Some(next);
    }
    let at = cur.as_ref().map_or(dir, |fd| fd.as_fd());
    open_component(at, OsStr::from_bytes(last), flags | OFlag::O_NOFOLLOW)
}

/// One step of the walk. With `O_DIRECTORY | O_NOFOLLOW` the kernel reports
/// a symlink as `ENOTDIR`; report it as `ELOOP`, as `openat2` does.
fn open_component(at: BorrowedFd<'_>, name: &OsStr, flags: OFlag) -> io::Result<OwnedFd> {
    match openat(at, name, flags, 0) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => match fstatat_nofollow(at, name) {
            Ok(st) if is_symlink(&st) => Err(io::Error::from_raw_os_error(libc::ELOOP)),
            _ => Err(e),
        },
        r => r,
    }
}

pub fn mkdirat(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    nix::sys::stat::mkdirat(Some(dir.as_raw_fd()), name, Mode::from_bits_truncate(mode))?;
    Ok(())
}

/// `mknodat(2)`: `kind` is `S_IFCHR`, `S_IFBLK` or `S_IFIFO`; `dev` as made
/// by [`makedev`].
pub fn mknodat(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    kind: SFlag,
    mode: u32,
    dev: u64,
) -> io::Result<()> {
    nix::sys::stat::mknodat(
        Some(dir.as_raw_fd()),
        name,
        kind,
        Mode::from_bits_truncate(mode),
        dev,
    )?;
    Ok(())
}

pub fn makedev(major: u32, minor: u32) -> u64 {
    nix::sys::stat::makedev(u64::from(major), u64::from(minor))
}

/// Which mount a path is on (the topmost at a mount point): the kernel's
/// unique id, never reused, where it has one (Linux 6.8), else the mount id
/// /proc/self/mountinfo shows, which a later mount may get again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountId {
    pub id: u64,
    pub unique: bool,
}

/// The [`MountId`] of `path`, not following a symlink in its last
/// component.
pub fn mount_id(path: &std::path::Path) -> io::Result<MountId> {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: statx only writes into the buffer it is given; a zeroed
    // `struct statx` is a valid value.
    let mut buf: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `buf` lives across the call.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT,
            libc::STATX_MNT_ID | libc::STATX_MNT_ID_UNIQUE,
            &mut buf,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if buf.stx_mask & libc::STATX_MNT_ID_UNIQUE != 0 {
        Ok(MountId {
            id: buf.stx_mnt_id,
            unique: true,
        })
    } else if buf.stx_mask & libc::STATX_MNT_ID != 0 {
        Ok(MountId {
            id: buf.stx_mnt_id,
            unique: false,
        })
    } else {
        Err(io::Error::from_raw_os_error(libc::ENOSYS))
    }
}

/// Create the symlink `name` in `dir` pointing at `target` (not checked).
pub fn symlinkat(target: &OsStr, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    nix::unistd::symlinkat(target, Some(dir.as_raw_fd()), name)?;
    Ok(())
}

/// Hard-link `old_name` (not followed if it is a symlink) as `new_name`.
pub fn linkat(
    old_dir: BorrowedFd<'_>,
    old_name: &OsStr,
    new_dir: BorrowedFd<'_>,
    new_name: &OsStr,
) -> io::Result<()> {
    nix::unistd::linkat(
        Some(old_dir.as_raw_fd()),
        old_name,
        Some(new_dir.as_raw_fd()),
        new_name,
        AtFlags::empty(),
    )?;
    Ok(())
}

pub fn unlinkat(dir: BorrowedFd<'_>, name: &OsStr, what: Remove) -> io::Result<()> {
    let flag = match what {
        Remove::NonDir => UnlinkatFlags::NoRemoveDir,
        Remove::Dir => UnlinkatFlags::RemoveDir,
    };
    nix::unistd::unlinkat(Some(dir.as_raw_fd()), name, flag)?;
    Ok(())
}

/// `fstatat(2)` with `AT_SYMLINK_NOFOLLOW`.
pub fn fstatat_nofollow(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<FileStat> {
    Ok(nix::sys::stat::fstatat(
        Some(dir.as_raw_fd()),
        name,
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?)
}

/// Whether `st` describes a directory.
pub fn is_dir(st: &FileStat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// Whether `st` describes a symlink.
pub fn is_symlink(st: &FileStat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFLNK
}

pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    nix::unistd::fchown(
        fd.as_raw_fd(),
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
    )?;
    Ok(())
}

/// `fchownat(2)` with `AT_SYMLINK_NOFOLLOW` (an `lchown` relative to `dir`).
pub fn fchownat_nofollow(dir: BorrowedFd<'_>, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
    nix::unistd::fchownat(
        Some(dir.as_raw_fd()),
        name,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    nix::sys::stat::fchmod(fd.as_raw_fd(), Mode::from_bits_truncate(mode))?;
    Ok(())
}

/// `fchmodat(2)`. Linux cannot change the mode of a symlink, so this follows
/// one: call it only on a name just created as something else.
pub fn fchmodat(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    nix::sys::stat::fchmodat(
        Some(dir.as_raw_fd()),
        name,
        Mode::from_bits_truncate(mode),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )?;
    Ok(())
}

pub fn futimens(fd: BorrowedFd<'_>, atime: Timestamp, mtime: Timestamp) -> io::Result<()> {
    nix::sys::stat::futimens(fd.as_raw_fd(), &atime.spec(), &mtime.spec())?;
    Ok(())
}

/// `utimensat(2)` with `AT_SYMLINK_NOFOLLOW`: sets a symlink's own times.
pub fn utimensat_nofollow(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    atime: Timestamp,
    mtime: Timestamp,
) -> io::Result<()> {
    nix::sys::stat::utimensat(
        Some(dir.as_raw_fd()),
        name,
        &atime.spec(),
        &mtime.spec(),
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )?;
    Ok(())
}

/// Names (without `.` and `..`) and types of the entries of the directory
/// `fd`. The descriptor is consumed.
pub fn read_dir(fd: OwnedFd) -> io::Result<Vec<(OsString, EntryType)>> {
    let mut dir = Dir::from(fd)?;
    let mut out = Vec::new();
    for entry in dir.iter() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        out.push((OsStr::from_bytes(name).to_owned(), entry.file_type()));
    }
    Ok(out)
}

/// `syncfs(2)`: flush the whole file system holding `fd` to disk, one call
/// instead of an fsync per file.
pub fn syncfs(fd: BorrowedFd<'_>) -> io::Result<()> {
    nix::unistd::syncfs(fd.as_raw_fd())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_beneath_refuses_symlinks_and_dotdot() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(tmp.path().join("a/b")).expect("mkdir");
        std::os::unix::fs::symlink("/etc", tmp.path().join("a/link")).expect("symlink");
        let root = open_dir(tmp.path()).expect("open root");
        let dirflags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
        assert!(open_beneath(root.as_fd(), OsStr::new("a/b"), dirflags).is_ok());
        let e = open_beneath(root.as_fd(), OsStr::new("a/link"), dirflags).expect_err("symlink");
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
        let e = open_beneath(root.as_fd(), OsStr::new("a/../.."), dirflags).expect_err("dotdot");
        assert_eq!(e.raw_os_error(), Some(libc::EXDEV));
        // The fallback walk behaves the same.
        assert!(walk_beneath(root.as_fd(), b"a/b", dirflags).is_ok());
        let e = walk_beneath(root.as_fd(), b"a/link", dirflags).expect_err("symlink");
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
        let e = walk_beneath(root.as_fd(), b"a/link/x", dirflags).expect_err("symlink");
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
        let e = walk_beneath(root.as_fd(), b"../x", dirflags).expect_err("dotdot");
        assert_eq!(e.raw_os_error(), Some(libc::EXDEV));
    }

    #[test]
    fn read_dir_lists_names() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("f"), b"x").expect("write");
        std::fs::create_dir(tmp.path().join("d")).expect("mkdir");
        let mut names: Vec<_> = read_dir(open_dir(tmp.path()).expect("open"))
            .expect("read_dir")
            .into_iter()
            .map(|(n, t)| (n.into_string().expect("utf8"), t))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(names[0].0, "d");
        assert_eq!(names[1].0, "f");
    }
}
