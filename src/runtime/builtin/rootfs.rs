//! The container's file system view, built by its init in its new mount
//! namespace: the root bind-mounted onto itself, the spec's mounts inside it
//! (targets resolved within the root, never outside it), devices, then
//! pivot_root; afterwards masked and read-only paths. Without a mount
//! namespace of its own, the same on the root's bind in the runtime's
//! namespace, then chroot. Every mount targets a
//! descriptor opened beneath the root (`/proc/self/fd/N`), so a symlink
//! swapped in by the image or the container cannot redirect it.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::mount::{MntFlags, MsFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::{Mount, Spec};

use super::SetupError;

pub(super) fn fail(step: impl Into<String>, e: impl Into<io::Error>) -> SetupError {
    SetupError::new(step, e.into())
}

/// `/proc/self/fd/N`: the path through which a descriptor is mounted on.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Open `path` resolved inside the tree at `root` as if it were `/`
/// (`..` and absolute symlinks stay inside), as an `O_PATH` descriptor.
fn open_in_root(root: BorrowedFd<'_>, path: &OsStr, extra: OFlag) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | extra)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let rel = path
        .as_bytes()
        .strip_prefix(b"/")
        .unwrap_or(path.as_bytes());
    let rel = if rel.is_empty() { b"." as &[u8] } else { rel };
    crate::sys::fs::openat2(Some(root), OsStr::from_bytes(rel), how)
}

/// The mount point `dest` inside `root`, created when missing (directories,
/// and an empty file as the last component when `file`): an `O_PATH`
/// descriptor to it. Symlinks on the way are followed as the container
/// will see them (from its root), dangling ones by creating their target,
/// so nothing is ever made outside the root.
pub fn ensure_target(root: BorrowedFd<'_>, dest: &str, file: bool) -> io::Result<OwnedFd> {
    match open_in_root(root, OsStr::new(dest), OFlag::empty()) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e.into()),
    }
    // The path walked so far, symlink-free, and what is left to walk.
    let mut done: Vec<String> = Vec::new();
    let mut todo: std::collections::VecDeque<String> = dest
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect();
    let mut links = 0;
    while let Some(comp) = todo.pop_front() {
        if comp == ".." {
            done.pop();
            continue;
        }
        let parent_path = if done.is_empty() {
            ".".to_string()
        } else {
            done.join("/")
        };
        let parent = open_in_root(root, OsStr::new(&parent_path), OFlag::O_DIRECTORY)?;
        match nix::fcntl::readlinkat(Some(parent.as_raw_fd()), comp.as_str()) {
            Ok(target) => {
                links += 1;
                if links > 40 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    done.clear();
                }
                for (i, c) in target
                    .split('/')
                    .filter(|c| !c.is_empty() && *c != ".")
                    .enumerate()
                {
                    todo.insert(i, c.to_string());
                }
                continue;
            }
            // Not a symlink (EINVAL), or missing: create it.
            Err(Errno::EINVAL) => {}
            Err(Errno::ENOENT) => {
                let res = if todo.is_empty() && file {
                    nix::fcntl::openat(
                        Some(parent.as_raw_fd()),
                        comp.as_str(),
                        OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
                        Mode::from_bits_truncate(0o755),
                    )
                    .map(|fd| {
                        let _ = nix::unistd::close(fd);
                    })
                } else {
                    nix::sys::stat::mkdirat(
                        Some(parent.as_raw_fd()),
                        comp.as_str(),
                        Mode::from_bits_truncate(0o755),
                    )
                };
                match res {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
        done.push(comp);
    }
    Ok(open_in_root(
        root,
        OsStr::new(&done.join("/")),
        OFlag::empty(),
    )?)
}

/// mount(8) options as flags, propagation flags and file system data.
#[derive(Debug, PartialEq, Eq)]
pub struct MountOptions {
    pub flags: MsFlags,
    /// Flags the options clear (a remount must not carry them over).
    pub cleared: MsFlags,
    pub propagation: MsFlags,
    pub data: Vec<String>,
    pub bind: bool,
    pub tmpcopyup: bool,
}

pub fn parse_options(options: &[String]) -> Result<MountOptions, String> {
    let mut out = MountOptions {
        flags: MsFlags::empty(),
        cleared: MsFlags::empty(),
        propagation: MsFlags::empty(),
        data: Vec::new(),
        bind: false,
        tmpcopyup: false,
    };
    for o in options {
        let (set, clear): (MsFlags, MsFlags) = match o.as_str() {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => {
                out.bind = true;
                continue;
            }
            "rbind" => {
                out.bind = true;
                out.flags |= MsFlags::MS_REC;
                continue;
            }
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "unbindable"
            | "runbindable" => {
                let base = match o.trim_start_matches('r') {
                    "private" => MsFlags::MS_PRIVATE,
                    "shared" => MsFlags::MS_SHARED,
                    "slave" => MsFlags::MS_SLAVE,
                    _ => MsFlags::MS_UNBINDABLE,
                };
                out.propagation = base
                    | if o.starts_with('r') {
                        MsFlags::MS_REC
                    } else {
                        MsFlags::empty()
                    };
                continue;
            }
            "tmpcopyup" => {
                out.tmpcopyup = true;
                continue;
            }
            "idmap" | "ridmap" => return Err(format!("the mount option {o} is not supported")),
            "z" | "Z" | "U" | "copy" | "nocopy" | "notmpcopyup" => continue,
            _ => {
                out.data.push(o.clone());
                continue;
            }
        };
        out.flags = (out.flags | set) - clear;
        out.cleared = (out.cleared | clear) - set;
    }
    Ok(out)
}

/// The flags a mount already has that a remount inside a user namespace
/// must keep (the kernel refuses to clear locked ones).
fn locked_flags(target: &Path) -> MsFlags {
    use nix::sys::statvfs::FsFlags;
    let Ok(st) = nix::sys::statvfs::statvfs(target) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (have, flag) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(have) {
            out |= flag;
        }
    }
    out
}

/// Remount the bind mount at `target` with `flags` (bind mounts ignore
/// them on the first mount), keeping what is locked.
pub(super) fn remount_bind(target: &Path, flags: MsFlags) -> nix::Result<()> {
    let flags = flags | locked_flags(target) | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    nix::mount::mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
}

pub(super) fn mount_at(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: &str,
) -> nix::Result<()> {
    nix::mount::mount(
        source,
        target,
        fstype,
        flags,
        (!data.is_empty()).then_some(data),
    )
}

/// What the init needs to set up the tree.
pub struct Plan<'a> {
    pub spec: &'a Spec,
    /// Absolute path of the root file system.
    pub rootfs: &'a Path,
    /// Devices are bind-mounted from the host instead of created (a user
    /// namespace cannot create device nodes).
    pub bind_devices: bool,
    /// The container has a mount namespace of its own (new or joined).
    /// Without one, its mounts are made in the runtime's namespace, and
    /// nothing of that namespace's but the root's own bind changes.
    pub mount_ns: bool,
}

/// `linux.rootfsPropagation` as flags (`None`: not given).
fn root_propagation(spec: &Spec) -> Result<Option<MsFlags>, SetupError> {
    let linux = spec.linux().clone().unwrap_or_default();
    let Some(p) = linux
        .rootfs_propagation()
        .as_deref()
        .filter(|p| !p.is_empty())
    else {
        return Ok(None);
    };
    let flags = parse_options(&[p.to_string()])
        .map_err(|e| SetupError::msg("rootfsPropagation", e))?
        .propagation;
    if flags.is_empty() {
        return Err(SetupError::msg(
            "rootfsPropagation",
            format!("{p:?} is not a propagation mode"),
        ));
    }
    Ok(Some(flags))
}

/// Before pivot_root: propagation, the root's own mount, the spec's
/// mounts, devices. Without a mount namespace of the container's, the id
/// of the root's own mount, made in the runtime's namespace (the
/// container's mounts are on it: detaching it removes them all).
pub fn prepare(plan: &Plan<'_>) -> Result<Option<crate::sys::fs::MountId>, SetupError> {
    let linux = plan.spec.linux().clone().unwrap_or_default();
    let propagation = root_propagation(plan.spec)?;
    let slave = propagation.is_some_and(|p| p.contains(MsFlags::MS_SLAVE));
    let bind_root = || {
        mount_at(
            Some(plan.rootfs),
            plan.rootfs,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            "",
        )
        .map_err(|e| {
            fail(
                format!(
                    "bind-mounting the root file system {}",
                    plan.rootfs.display()
                ),
                e,
            )
        })
    };
    let host_mount = if plan.mount_ns {
        // A private or slave mode as asked, as runc; else rslave: nothing
        // mounted here reaches the host's mounts. Shared and unbindable
        // are for the container's root alone, given once it is `/`
        // (`finish_root_propagation`).
        let first = propagation
            .filter(|p| p.intersects(MsFlags::MS_PRIVATE | MsFlags::MS_SLAVE))
            .unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
        mount_at(None, Path::new("/"), None, first, "")
            .map_err(|e| fail("setting the propagation of /", e))?;
        // pivot_root refuses a root whose parent mount is shared, and a
        // bind on a shared mount would show on the host: private, or a
        // slave when the root is to receive the host's mounts.
        make_parent(
            plan.rootfs,
            if slave {
                MsFlags::MS_SLAVE
            } else {
                MsFlags::MS_PRIVATE
            },
        )?;
        bind_root()?;
        None
    } else {
        // The runtime's (the host's) mount namespace: its / and the mount
        // holding the root file system keep their propagation. The root's
        // own bind, at once private (a slave when asked: it receives, never
        // sends), keeps the container's mounts from spreading to the
        // host's other mounts.
        bind_root()?;
        let own = if slave {
            MsFlags::MS_SLAVE
        } else {
            MsFlags::MS_PRIVATE
        };
        let made = crate::sys::fs::mount_id(plan.rootfs)
            .map_err(|e| fail("identifying the root file system's mount", e));
        let res = mount_at(None, plan.rootfs, None, own | MsFlags::MS_REC, "")
            .map_err(|e| fail("setting the propagation of the root file system", e))
            .and(made);
        match res {
            Ok(id) => Some(id),
            Err(e) => {
                let _ = nix::mount::umount2(plan.rootfs, MntFlags::MNT_DETACH);
                return Err(e);
            }
        }
    };
    let res = mounts(plan, &linux);
    if res.is_err() && host_mount.is_some() {
        // A half-built tree in the runtime's namespace goes with the
        // root's bind it is on.
        let _ = nix::mount::umount2(plan.rootfs, MntFlags::MNT_DETACH);
    }
    res.map(|()| host_mount)
}

/// The spec's mounts and the devices, on the root's own bind.
fn mounts(plan: &Plan<'_>, linux: &oci_spec::runtime::Linux) -> Result<(), SetupError> {
    let root = crate::sys::fs::open(plan.rootfs, OFlag::O_PATH | OFlag::O_DIRECTORY, 0)
        .map_err(|e| fail(format!("opening {}", plan.rootfs.display()), e))?;
    // File systems mounted read-only take their mounts and device nodes
    // below them first (a read-only /dev with /dev/pts), then are made so.
    let mut read_only = Vec::new();
    for m in plan.spec.mounts().iter().flatten() {
        if let Some(dest) = mount_one(root.as_fd(), m)? {
            read_only.push(dest);
        }
    }
    super::devices::create(
        root.as_fd(),
        &linux.devices().clone().unwrap_or_default(),
        plan.bind_devices,
    )?;
    for dest in read_only.iter().rev() {
        let fd = ensure_target(root.as_fd(), dest, false)
            .map_err(|e| fail(format!("reopening {dest}"), e))?;
        remount_bind(&fd_path(fd.as_fd()), MsFlags::MS_RDONLY)
            .map_err(|e| fail(format!("making {dest} read-only"), e))?;
    }
    Ok(())
}

/// Give the mount holding `path` the propagation `flags` (pivot_root's
/// rule).
fn make_parent(path: &Path, flags: MsFlags) -> Result<(), SetupError> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| fail("reading /proc/self/mountinfo", e))?;
    let mut best: Option<&str> = None;
    for line in info.lines() {
        let Some(mp) = line.split(' ').nth(4) else {
            continue;
        };
        if path.starts_with(mp) && best.is_none_or(|b| mp.len() > b.len()) {
            best = Some(mp);
        }
    }
    if let Some(mp) = best {
        // Already so is fine; EINVAL only when it is not a mount.
        let _ = mount_at(None, Path::new(mp), None, flags, "");
    }
    Ok(())
}

/// Mount `m`; returns its destination when it is a file system (not a
/// bind) to be made read-only once everything below it is in place.
fn mount_one(root: BorrowedFd<'_>, m: &Mount) -> Result<Option<String>, SetupError> {
    let dest = m.destination().display().to_string();
    let step = |what: &str| format!("mounting {what} on {dest}");
    let opts = parse_options(m.options().as_deref().unwrap_or_default())
        .map_err(|e| SetupError::msg(step("it"), e))?;
    let typ = m.typ().as_deref().unwrap_or("");
    if typ == "cgroup" || typ == "cgroup2" {
        return super::cgroupfs::mount_cgroup(root, &dest, &opts, typ).map(|()| None);
    }
    let is_bind = opts.bind || typ == "bind";
    let source = m.source().clone().unwrap_or_default();
    // A bind of a file needs a file to mount on.
    let file = is_bind && std::fs::metadata(&source).is_ok_and(|md| !md.is_dir());
    if is_bind && !source.exists() {
        return Err(SetupError::msg(
            step(&source.display().to_string()),
            format!("the source {} does not exist", source.display()),
        ));
    }
    let target_fd = ensure_target(root, &dest, file).map_err(|e| fail(step("a mount point"), e))?;
    let target = fd_path(target_fd.as_fd());
    let data = opts.data.join(",");
    if is_bind {
        mount_at(
            Some(&source),
            &target,
            None,
            MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC),
            "",
        )
        .map_err(|e| fail(step(&source.display().to_string()), e))?;
        // The new mount is on top of the old target: reopen to reach it.
        let fd = ensure_target(root, &dest, file).map_err(|e| fail(step("it"), e))?;
        let flags = opts.flags - MsFlags::MS_REC;
        if !flags.is_empty() {
            remount_bind(&fd_path(fd.as_fd()), flags)
                .map_err(|e| fail(format!("remounting {dest} with its options"), e))?;
        }
        propagate(root, &dest, &opts)?;
        return Ok(None);
    }
    let later = opts.flags.contains(MsFlags::MS_RDONLY) && typ != "sysfs";
    let flags = if later {
        opts.flags - MsFlags::MS_RDONLY
    } else {
        opts.flags
    };
    let source_text = if source.as_os_str().is_empty() {
        typ.to_string()
    } else {
        source.display().to_string()
    };
    let res = if opts.tmpcopyup && typ == "tmpfs" {
        tmpfs_copy_up(&target, &source_text, flags, &data)
    } else {
        mount_at(
            Some(Path::new(&source_text)),
            &target,
            Some(typ),
            flags,
            &data,
        )
        .map_err(io::Error::from)
    };
    match res {
        Ok(()) => {}
        // A user namespace may not mount a sysfs (or mqueue) of a network
        // namespace it does not own: bind the host's instead, as runc does.
        Err(e)
            if (typ == "sysfs" || typ == "mqueue")
                && matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EBUSY)) =>
        {
            let host = PathBuf::from(&dest);
            mount_at(
                Some(&host),
                &target,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                "",
            )
            .map_err(|e| fail(step(&format!("the host's {typ}")), e))?;
            let fd = ensure_target(root, &dest, false).map_err(|e| fail(step("it"), e))?;
            remount_bind(&fd_path(fd.as_fd()), opts.flags)
                .map_err(|e| fail(format!("remounting {dest} with its options"), e))?;
        }
        Err(e) => return Err(fail(step(typ), e)),
    }
    propagate(root, &dest, &opts)?;
    Ok(later.then_some(dest))
}

fn propagate(root: BorrowedFd<'_>, dest: &str, opts: &MountOptions) -> Result<(), SetupError> {
    if opts.propagation.is_empty() {
        return Ok(());
    }
    let fd = ensure_target(root, dest, false).map_err(|e| fail(format!("reopening {dest}"), e))?;
    mount_at(None, &fd_path(fd.as_fd()), None, opts.propagation, "")
        .map_err(|e| fail(format!("setting the propagation of {dest}"), e))
}

/// A tmpfs that starts with what the image had at the mount point.
fn tmpfs_copy_up(target: &Path, source: &str, flags: MsFlags, data: &str) -> io::Result<()> {
    let staging = tempfile::Builder::new()
        .prefix(".skiff-tmpcopyup-")
        .tempdir_in("/tmp")
        .or_else(|_| tempfile::tempdir())?;
    mount_at(
        Some(Path::new(source)),
        staging.path(),
        Some("tmpfs"),
        flags,
        data,
    )?;
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", target.display()))
        .arg(staging.path())
        .status();
    let moved = match copied {
        Ok(s) if s.success() => keep_tmpfs_root(staging.path(), data).and_then(|()| {
            mount_at(Some(staging.path()), target, None, MsFlags::MS_MOVE, "")
                .map_err(io::Error::from)
        }),
        Ok(_) => Err(io::Error::other(
            "copying the image's files into the tmpfs failed",
        )),
        Err(e) => Err(e),
    };
    if moved.is_err() {
        let _ = nix::mount::umount2(staging.path(), MntFlags::MNT_DETACH);
    }
    moved
}

/// `cp -a` gave the tmpfs's root the image directory's mode and owner:
/// the mode=, uid= and gid= the mount asked for win.
fn keep_tmpfs_root(root: &Path, data: &str) -> io::Result<()> {
    let value = |key: &str| {
        data.split(',')
            .find_map(|o| o.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
    };
    if let Some(mode) = value("mode").and_then(|m| u32::from_str_radix(m, 8).ok()) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(mode))?;
    }
    let uid = value("uid").and_then(|v| v.parse().ok());
    let gid = value("gid").and_then(|v| v.parse().ok());
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::chown(root, uid, gid)?;
    }
    Ok(())
}

/// Make the root file system `/` of this process: pivot_root, or, where
/// that is impossible (a root on the initial ramfs), move it over `/` and
/// chroot. Without a mount namespace of the container's, only chroot: the
/// runtime's namespace keeps its root.
pub fn enter(plan: &Plan<'_>, no_pivot: bool) -> Result<(), SetupError> {
    let rootfs = plan.rootfs;
    if !plan.mount_ns {
        nix::unistd::chdir(rootfs).map_err(|e| fail("entering the root file system", e))?;
        nix::unistd::chroot(".").map_err(|e| fail("chroot", e))?;
        return nix::unistd::chdir("/").map_err(|e| fail("chdir /", e));
    }
    if no_pivot {
        nix::unistd::chdir(rootfs).map_err(|e| fail("entering the root file system", e))?;
        mount_at(Some(rootfs), Path::new("/"), None, MsFlags::MS_MOVE, "")
            .map_err(|e| fail("moving the root file system to /", e))?;
        nix::unistd::chroot(".").map_err(|e| fail("chroot", e))?;
        return nix::unistd::chdir("/").map_err(|e| fail("chdir /", e));
    }
    let old = crate::sys::fs::open(Path::new("/"), OFlag::O_DIRECTORY | OFlag::O_RDONLY, 0)
        .map_err(|e| fail("opening /", e))?;
    nix::unistd::chdir(rootfs).map_err(|e| fail("entering the root file system", e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| fail("pivot_root", e))?;
    nix::unistd::fchdir(old.as_raw_fd()).map_err(|e| fail("reaching the old root", e))?;
    // The old root's unmount must not propagate to the host.
    mount_at(
        None,
        Path::new("."),
        None,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "",
    )
    .map_err(|e| fail("making the old root a slave", e))?;
    nix::mount::umount2(".", MntFlags::MNT_DETACH)
        .map_err(|e| fail("unmounting the old root", e))?;
    nix::unistd::chdir("/").map_err(|e| fail("chdir /", e))
}

/// Open `path` in the (new) root without following a symlink anywhere.
fn open_no_symlinks(path: &str) -> nix::Result<OwnedFd> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    crate::sys::fs::openat2(None, OsStr::new(path), how)
}

/// After pivot_root: masked paths (an empty read-only tmpfs on a
/// directory, `dev_null` on a file) and read-only paths.
pub fn restrict(spec: &Spec, dev_null: BorrowedFd<'_>) -> Result<(), SetupError> {
    let linux = spec.linux().clone().unwrap_or_default();
    for p in linux.masked_paths().iter().flatten() {
        let fd = match open_no_symlinks(p) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(fail(format!("masking {p}"), e)),
        };
        let is_dir = nix::sys::stat::fstat(fd.as_raw_fd())
            .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
            .unwrap_or(false);
        let target = fd_path(fd.as_fd());
        let res = if is_dir {
            mount_at(
                Some(Path::new("tmpfs")),
                &target,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                "",
            )
        } else {
            mount_at(
                Some(&fd_path(dev_null)),
                &target,
                None,
                MsFlags::MS_BIND,
                "",
            )
        };
        res.map_err(|e| fail(format!("masking {p}"), e))?;
    }
    for p in linux.readonly_paths().iter().flatten() {
        let fd = match open_no_symlinks(p) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(fail(format!("making {p} read-only"), e)),
        };
        let target = fd_path(fd.as_fd());
        mount_at(
            Some(&target),
            &target,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            "",
        )
        .map_err(|e| fail(format!("making {p} read-only"), e))?;
        let fd = open_no_symlinks(p).map_err(|e| fail(format!("making {p} read-only"), e))?;
        remount_bind(&fd_path(fd.as_fd()), MsFlags::MS_RDONLY | MsFlags::MS_REC)
            .map_err(|e| fail(format!("making {p} read-only"), e))?;
    }
    Ok(())
}

/// The root read-only (after everything was mounted in it).
pub fn root_read_only() -> Result<(), SetupError> {
    remount_bind(Path::new("/"), MsFlags::MS_RDONLY).map_err(|e| fail("making / read-only", e))
}

/// A shared or unbindable `linux.rootfsPropagation` for the container's
/// root, once it is `/` and everything is mounted in it, as runc and crun
/// give it: set before pivot_root, it would reach the host's mounts (and
/// an unbindable tree could not be bound from). Private and slave were
/// settled before (the parent of the root's own bind).
pub fn finish_root_propagation(spec: &Spec) -> Result<(), SetupError> {
    match root_propagation(spec)? {
        Some(p) if !p.intersects(MsFlags::MS_PRIVATE | MsFlags::MS_SLAVE) => {
            mount_at(None, Path::new("/"), None, p, "")
                .map_err(|e| fail("setting the propagation of the root", e))
        }
        _ => Ok(()),
    }
}

/// /dev/null, checked to be the null device and not a link to anything
/// else (an image may ship its own /dev/null), for masking.
pub fn open_dev_null() -> Result<OwnedFd, SetupError> {
    let fd = crate::sys::fs::open(Path::new("/dev/null"), OFlag::O_PATH | OFlag::O_NOFOLLOW, 0)
        .map_err(|e| fail("opening /dev/null", e))?;
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|e| fail("checking /dev/null", e))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != crate::sys::fs::makedev(1, 3) {
        return Err(SetupError::msg(
            "checking /dev/null",
            "it is not the null device",
        ));
    }
    Ok(fd)
}

/// sysctls, written under /proc/sys.
pub fn sysctls(spec: &Spec) -> Result<(), SetupError> {
    let linux = spec.linux().clone().unwrap_or_default();
    for (key, value) in linux.sysctl().iter().flatten() {
        if key.contains("..") || key.starts_with(['/', '.']) {
            return Err(SetupError::msg(
                format!("sysctl {key}"),
                "not a sysctl name",
            ));
        }
        let path = PathBuf::from("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value).map_err(|e| fail(format!("setting sysctl {key}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_flags_and_data() {
        let o = parse_options(&[
            "nosuid".into(),
            "noexec".into(),
            "ro".into(),
            "rbind".into(),
            "rslave".into(),
            "mode=755".into(),
            "size=65536k".into(),
        ])
        .expect("valid");
        assert!(o.bind);
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY | MsFlags::MS_REC
        );
        assert_eq!(o.propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
        assert_eq!(o.data, ["mode=755", "size=65536k"]);
        let o = parse_options(&["ro".into(), "rw".into()]).expect("valid");
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
        assert!(parse_options(&["idmap".into()]).is_err());
    }

    #[test]
    fn targets_are_created_inside_the_root() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        // A link that points out of the root stays inside it.
        std::os::unix::fs::symlink("/tmp-outside", root.join("escape")).expect("symlink");
        let fd = crate::sys::fs::open(&root, OFlag::O_PATH | OFlag::O_DIRECTORY, 0).expect("open");
        ensure_target(fd.as_fd(), "/escape/sub", false).expect("created");
        assert!(root.join("tmp-outside/sub").is_dir());
        assert!(!Path::new("/tmp-outside").exists());
        ensure_target(fd.as_fd(), "/etc/resolv.conf", true).expect("file");
        assert!(root.join("etc/resolv.conf").is_file());
    }
}
