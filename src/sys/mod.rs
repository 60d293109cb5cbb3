//! The low-level layer: thin, safe wrappers over the Linux system calls the
//! rest of skiff needs and neither `std` nor `nix` offers in the shape wanted
//! (file descriptors as `OwnedFd`/`BorrowedFd`, errors as `io::Error`).
//!
//! This is the only place where `unsafe` and raw `libc` are allowed; each
//! submodule that needs them opts in on its own.

pub mod acl;
pub mod bpf;
pub mod cgroup;
pub mod cgroup_usage;
pub mod clone;
pub mod fs;
pub mod inroot;
pub mod netns;
pub mod process;
pub mod procfs;
pub mod tty;
pub mod user;
pub mod userns;
pub mod xattr;

pub use fs::syncfs;
pub use user::{egid, euid, is_in_user_namespace};

/// Whether SELinux is enabled on this host (selinuxfs is mounted).
pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}
