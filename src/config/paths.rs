//! Where skiff keeps its store, run state and configuration, for root and for
//! rootless users (see the paths table in the design notes).

use std::path::{Path, PathBuf};

/// Whether skiff runs as root or as an unprivileged user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    Root,
    Rootless,
}

/// Set by skiff once it joined the rootless user namespace (and inherited by
/// the monitors and cleanups it starts): the user's id outside of it.
pub const ROOTLESS_UID_ENV: &str = "_SKIFF_ROOTLESS_UID";
/// The user's group id outside of it.
pub const ROOTLESS_GID_ENV: &str = "_SKIFF_ROOTLESS_GID";

impl Privilege {
    /// Decided by the real user id of the caller: a rootless user re-entering
    /// its own user namespace is still rootless.
    pub fn current() -> Self {
        if nix::unistd::getuid().is_root() && std::env::var_os(ROOTLESS_UID_ENV).is_none() {
            Privilege::Root
        } else {
            Privilege::Rootless
        }
    }
}

/// The caller's user id on the host: the same inside skiff's rootless user
/// namespace (where `getuid` says 0).
pub fn host_uid() -> nix::unistd::Uid {
    std::env::var(ROOTLESS_UID_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(nix::unistd::Uid::from_raw)
        .unwrap_or_else(nix::unistd::getuid)
}

/// The caller's group id on the host.
pub fn host_gid() -> nix::unistd::Gid {
    std::env::var(ROOTLESS_GID_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .map(nix::unistd::Gid::from_raw)
        .unwrap_or_else(nix::unistd::getgid)
}

/// The directories skiff uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Persistent storage: blobs, layers, image records.
    pub root: PathBuf,
    /// Run state: locks of running things, mounts; cleared on reboot.
    pub runroot: PathBuf,
    /// skiff.conf location (may not exist).
    pub config_file: PathBuf,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

fn home() -> PathBuf {
    env_path("HOME").unwrap_or_else(|| {
        nix::unistd::User::from_uid(host_uid())
            .ok()
            .flatten()
            .map(|u| u.dir)
            .unwrap_or_else(|| PathBuf::from("/"))
    })
}

/// `$XDG_CONFIG_HOME` or `~/.config`.
pub fn user_config_dir() -> PathBuf {
    env_path("XDG_CONFIG_HOME").unwrap_or_else(|| home().join(".config"))
}

/// `$XDG_DATA_HOME` or `~/.local/share`.
pub fn user_data_dir() -> PathBuf {
    env_path("XDG_DATA_HOME").unwrap_or_else(|| home().join(".local/share"))
}

/// The rootless run directory base: `$XDG_RUNTIME_DIR`, or a private
/// `/tmp/skiff-run-UID` when it is unset.
pub fn user_runtime_dir() -> PathBuf {
    env_path("XDG_RUNTIME_DIR")
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/skiff-run-{}", host_uid())))
}

impl Paths {
    pub fn defaults(privilege: Privilege) -> Self {
        match privilege {
            Privilege::Root => Paths {
                root: PathBuf::from("/var/lib/skiff"),
                runroot: PathBuf::from("/run/skiff"),
                config_file: PathBuf::from("/etc/skiff/skiff.conf"),
            },
            Privilege::Rootless => Paths {
                root: user_data_dir().join("skiff"),
                runroot: user_runtime_dir().join("skiff"),
                config_file: user_config_dir().join("skiff/skiff.conf"),
            },
        }
    }
}

/// Create `dir` (and parents) with mode 0700 for the parts skiff creates.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
