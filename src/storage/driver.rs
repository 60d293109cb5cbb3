//! Storage drivers: how a container's root is assembled from layers. `overlay`
//! stacks the layers' diff directories with overlayfs; `vfs` keeps a full copy
//! per layer and works everywhere.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    Overlay,
    Vfs,
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Driver::Overlay => "overlay",
            Driver::Vfs => "vfs",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown storage driver {0:?}: use overlay or vfs")]
pub struct UnknownDriver(String);

impl FromStr for Driver {
    type Err = UnknownDriver;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "overlay" | "overlay2" => Ok(Driver::Overlay),
            "vfs" => Ok(Driver::Vfs),
            other => Err(UnknownDriver(other.to_string())),
        }
    }
}

/// Pick the driver for a new store: overlay when the kernel has overlayfs
/// and the caller may mount it (root, or root of a user namespace), otherwise
/// vfs.
pub fn probe() -> Driver {
    if crate::sys::euid() != 0 {
        tracing::info!("not running as root or in a user namespace: using the vfs storage driver");
        return Driver::Vfs;
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
