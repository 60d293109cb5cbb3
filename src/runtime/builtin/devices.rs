//! The container's /dev: the spec's devices and the standard ones, made
//! with mknod (or, inside a user namespace, bound from the host), each
//! target opened beneath the root, then the standard links.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::MsFlags;
use nix::sys::stat::SFlag;
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::rootfs::{ensure_target, fail, fd_path, mount_at};
use super::SetupError;

/// The devices every container gets, whatever the spec says.
const DEFAULT_DEVICES: &[(&str, u32, u32)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

pub(super) fn create(
    root: BorrowedFd<'_>,
    spec_devices: &[LinuxDevice],
    bind: bool,
) -> Result<(), SetupError> {
    let mut all: Vec<LinuxDevice> = spec_devices.to_vec();
    for (path, major, minor) in DEFAULT_DEVICES {
        if !all.iter().any(|d| d.path() == Path::new(path)) {
            let mut d = LinuxDevice::default();
            d.set_path(PathBuf::from(path));
            d.set_typ(LinuxDeviceType::C);
            d.set_major(i64::from(*major));
            d.set_minor(i64::from(*minor));
            d.set_file_mode(Some(0o666));
            d.set_uid(Some(0));
            d.set_gid(Some(0));
            all.push(d);
        }
    }
    for d in &all {
        let dest = d.path().display().to_string();
        if bind {
            let fd = ensure_target(root, &dest, true)
                .map_err(|e| fail(format!("creating {dest}"), e))?;
            mount_at(
                Some(d.path()),
                &fd_path(fd.as_fd()),
                None,
                MsFlags::MS_BIND,
                "",
            )
            .map_err(|e| fail(format!("binding the device {dest}"), e))?;
            continue;
        }
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(SetupError::msg(
                    format!("creating {dest}"),
                    "device type \"a\" is not a node",
                ))
            }
        };
        let parent_dir = Path::new(&dest)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/".into());
        let name = Path::new(&dest)
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        let parent = ensure_target(root, &parent_dir, false)
            .map_err(|e| fail(format!("creating {parent_dir}"), e))?;
        let dir = crate::sys::fs::openat(parent.as_fd(), OsStr::new("."), OFlag::O_DIRECTORY, 0)
            .map_err(|e| fail(format!("opening {parent_dir}"), e))?;
        let _ = nix::unistd::unlinkat(
            Some(dir.as_raw_fd()),
            name.as_os_str(),
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
        let dev = crate::sys::fs::makedev(d.major() as u32, d.minor() as u32);
        let mode = d.file_mode().unwrap_or(0o666);
        crate::sys::fs::mknodat(dir.as_fd(), &name, kind, mode, dev)
            .map_err(|e| fail(format!("creating the device {dest}"), e))?;
        // The mode as given, not as the umask left it.
        crate::sys::fs::fchmodat(dir.as_fd(), &name, mode & 0o7777)
            .map_err(|e| fail(format!("setting the mode of {dest}"), e))?;
        nix::unistd::fchownat(
            Some(dir.as_raw_fd()),
            name.as_os_str(),
            d.uid().map(nix::unistd::Uid::from_raw),
            d.gid().map(nix::unistd::Gid::from_raw),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| fail(format!("setting the owner of {dest}"), e))?;
    }
    // The standard links.
    let dev = ensure_target(root, "/dev", false).map_err(|e| fail("opening /dev", e))?;
    let dir = crate::sys::fs::openat(dev.as_fd(), OsStr::new("."), OFlag::O_DIRECTORY, 0)
        .map_err(|e| fail("opening /dev", e))?;
    let mut links: Vec<(&str, &str)> = vec![
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("core", "/proc/kcore"));
    }
    for (name, target) in links {
        match nix::unistd::symlinkat(target, Some(dir.as_raw_fd()), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(fail(format!("linking /dev/{name}"), e)),
        }
    }
    Ok(())
}
