//! Storage drivers: how a container's root is assembled from layers. `overlay`
//! stacks the layers' diff directories with overlayfs; `fuse-overlayfs`
//! stacks the same directories with the FUSE program of that name (for a
//! user namespace whose kernel cannot mount overlayfs in it); `vfs` keeps a
//! full copy per layer and works everywhere.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    Overlay,
    #[serde(rename = "fuse-overlayfs")]
    FuseOverlay,
    Vfs,
}

impl Driver {
    /// Whether each layer directory holds only its own changes, stacked at
    /// mount time (overlay and fuse-overlayfs share that layout).
    pub fn stacks_layers(self) -> bool {
        matches!(self, Driver::Overlay | Driver::FuseOverlay)
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Driver::Overlay => "overlay",
            Driver::FuseOverlay => "fuse-overlayfs",
            Driver::Vfs => "vfs",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown storage driver {0:?}: use overlay, fuse-overlayfs or vfs")]
pub struct UnknownDriver(String);

impl FromStr for Driver {
    type Err = UnknownDriver;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "overlay" | "overlay2" => Ok(Driver::Overlay),
            "fuse-overlayfs" => Ok(Driver::FuseOverlay),
            "vfs" => Ok(Driver::Vfs),
            other => Err(UnknownDriver(other.to_string())),
        }
    }
}

/// Why fuse-overlayfs cannot be used here, if it cannot: the program is
/// missing, or /dev/fuse cannot be opened.
pub fn fuse_overlayfs_unusable() -> Option<String> {
    if crate::runtime::select::find_executable("fuse-overlayfs").is_none() {
        return Some(
            "fuse-overlayfs is not installed (Debian: apt-get install fuse-overlayfs)".into(),
        );
    }
    match std::fs::OpenOptions::new().read(true).write(true).open("/dev/fuse") {
        Ok(_) => None,
        Err(e) => Some(format!(
            "/dev/fuse cannot be opened ({e}): it must be readable and writable by the user (chmod 0666 /dev/fuse as root)"
        )),
    }
}

/// Pick the driver for a new store: overlay when the kernel has overlayfs
/// and the caller may mount it (root; in a user namespace, when a trial
/// mount in `scratch` works: kernel 5.11 or later), else fuse-overlayfs
/// when it is usable, otherwise vfs.
pub fn probe(scratch: &Path) -> Driver {
    if crate::sys::euid() != 0 {
        tracing::info!("not running as root or in a user namespace: using the vfs storage driver");
        return Driver::Vfs;
    }
    if crate::sys::is_in_user_namespace() {
        if overlay_mounts_here(scratch) {
            return Driver::Overlay;
        }
        return match fuse_overlayfs_unusable() {
            None => {
                tracing::info!(
                    "overlayfs cannot be mounted in this user namespace: using fuse-overlayfs"
                );
                Driver::FuseOverlay
            }
            Some(why) => {
                tracing::warn!(
                    "overlayfs cannot be mounted in this user namespace and {why}: using the vfs storage driver (slower, uses more disk)"
                );
                Driver::Vfs
            }
        };
    }
    let has_overlay = std::fs::read_to_string("/proc/filesystems")
        .map(|s| {
            s.lines()
                .any(|l| l.split_whitespace().last() == Some("overlay"))
        })
        .unwrap_or(false);
    if has_overlay || Path::new("/sys/module/overlay").exists() {
        Driver::Overlay
    } else {
        tracing::warn!(
            "overlayfs is not available; using the vfs storage driver (slower, uses more disk)"
        );
        Driver::Vfs
    }
}

/// Whether an overlay mount (as a user namespace allows it: `userxattr`)
/// works, tried in a directory below `scratch` that is removed after.
fn overlay_mounts_here(scratch: &Path) -> bool {
    let Ok(dir) = tempfile::Builder::new()
        .prefix("overlay-probe")
        .tempdir_in(scratch)
    else {
        return false;
    };
    let d = dir.path();
    for sub in ["lower", "upper", "work", "merged"] {
        if std::fs::create_dir(d.join(sub)).is_err() {
            return false;
        }
    }
    let opts = format!(
        "lowerdir={},upperdir={},workdir={},userxattr",
        d.join("lower").display(),
        d.join("upper").display(),
        d.join("work").display()
    );
    let merged = d.join("merged");
    let mounted = nix::mount::mount(
        Some("overlay"),
        &merged,
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(opts.as_str()),
    )
    .is_ok();
    if mounted {
        let _ = nix::mount::umount2(&merged, nix::mount::MntFlags::MNT_DETACH);
    }
    mounted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_layouts_are_told_apart() {
        for d in [Driver::Overlay, Driver::FuseOverlay, Driver::Vfs] {
            assert_eq!(d.to_string().parse::<Driver>().expect("parses"), d);
            let json = serde_json::to_string(&d).expect("json");
            assert_eq!(json, format!("\"{d}\""));
        }
        assert_eq!(
            "overlay2".parse::<Driver>().expect("alias"),
            Driver::Overlay
        );
        assert!("btrfs".parse::<Driver>().is_err());
        assert!(Driver::FuseOverlay.stacks_layers() && !Driver::Vfs.stacks_layers());
    }
}
