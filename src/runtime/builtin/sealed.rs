//! The container's command is not executed by skiff's own binary but by a
//! sealed, in-memory copy of `skiff-init` (CVE-2019-5736).
//!
//! The init runs skiff's code until its last step. If the container's
//! command resolves to /proc/self/exe (directly, through a `#!` line or an
//! ELF interpreter), the kernel would execute whatever /proc/self/exe is at
//! that moment, inside the container, and a process of the container could
//! then reopen that file for writing and replace the host's binary. So the
//! last step is an exec of a memfd holding a copy of `skiff-init`, sealed
//! against writes, growing and shrinking, which then executes the command
//! (`skiff-init --exec FD PATH ARGV...`). Whatever the container reaches
//! through /proc/self/exe from then on is that sealed copy. Until that
//! exec the setup processes are not dumpable, so nothing in the container
//! can open their /proc/PID/exe.
//!
//! `skiff-init` is small (a static binary of some 70 KiB), so the copy costs
//! tens of microseconds.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction};

use super::RuntimeError;

/// The environment variable that names `skiff-init` (as for the engine).
const ENV_OVERRIDE: &str = "SKIFF_INIT";

/// A sealed copy of `skiff-init`, ready to exec.
#[derive(Debug)]
pub struct Trampoline {
    fd: OwnedFd,
}

impl Trampoline {
    /// The copy, made from `skiff-init` found beside skiff (or where the
    /// engine finds it).
    pub fn new() -> Result<Trampoline, RuntimeError> {
        let path = crate::runtime::select::helper_program("skiff-init", ENV_OVERRIDE).ok_or_else(
            || {
                RuntimeError::Config(
                    "skiff-init was not found beside skiff, in /usr/libexec/skiff or on PATH: \
                     the container's command is started through it (install it with skiff)"
                        .into(),
                )
            },
        )?;
        Trampoline::from_file(&path).map_err(|e| RuntimeError::Io {
            step: format!("making a sealed copy of {}", path.display()),
            source: e,
        })
    }

    fn from_file(path: &Path) -> io::Result<Trampoline> {
        let mut src = std::fs::File::open(path)?;
        let fd = memfd_create(
            c"skiff-init",
            MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
        )?;
        let mut dst = std::fs::File::from(fd);
        io::copy(&mut src, &mut dst)?;
        let fd = OwnedFd::from(dst);
        fcntl(
            fd.as_raw_fd(),
            FcntlArg::F_ADD_SEALS(
                SealFlag::F_SEAL_SEAL
                    | SealFlag::F_SEAL_SHRINK
                    | SealFlag::F_SEAL_GROW
                    | SealFlag::F_SEAL_WRITE,
            ),
        )?;
        Ok(Trampoline { fd })
    }

    /// Executes `path` with `args` and `env` through the copy; `hold`, a
    /// descriptor without close-on-exec, stays open until `path` runs.
    /// Returns only if the copy itself could not be executed (then the
    /// caller executes `path` directly).
    pub fn exec(
        &self,
        hold: Option<std::os::fd::RawFd>,
        path: &CStr,
        args: &[CString],
        env: &[CString],
    ) -> nix::Error {
        let hold = match hold {
            Some(fd) => CString::new(fd.to_string()).unwrap_or_default(),
            None => c"-".to_owned(),
        };
        let mut argv: Vec<&CStr> = Vec::with_capacity(args.len() + 4);
        argv.extend([c"skiff-init", c"--exec", hold.as_c_str(), path]);
        argv.extend(args.iter().map(CString::as_c_str));
        nix::unistd::fexecve(self.fd.as_raw_fd(), &argv, env).unwrap_err()
    }
}

/// Whether a container with this seccomp profile may still call execveat
/// (the exec of the copy) after the filter is loaded. A profile that
/// restricts execveat in any way gets the direct exec instead.
pub fn seccomp_allows_execveat(profile: Option<&LinuxSeccomp>) -> bool {
    let Some(profile) = profile else {
        return true;
    };
    let allowing = |a: LinuxSeccompAction| {
        matches!(
            a,
            LinuxSeccompAction::ScmpActAllow | LinuxSeccompAction::ScmpActLog
        )
    };
    let mut named = profile
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names().iter().any(|n| n == "execveat"))
        .peekable();
    if named.peek().is_none() {
        return allowing(profile.default_action());
    }
    named.all(|s| allowing(s.action()) && s.args().as_ref().is_none_or(|a| a.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(json).expect("profile")
    }

    #[test]
    fn execveat_must_stay_allowed_for_the_copy() {
        assert!(seccomp_allows_execveat(None));
        let default_allow = profile(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        assert!(seccomp_allows_execveat(Some(&default_allow)));
        let default_deny = profile(serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO"}));
        assert!(!seccomp_allows_execveat(Some(&default_deny)));
        let listed = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["execve", "execveat"], "action": "SCMP_ACT_ALLOW"}]
        }));
        assert!(seccomp_allows_execveat(Some(&listed)));
        let denied = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]
        }));
        assert!(!seccomp_allows_execveat(Some(&denied)));
        let conditional = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 4, "value": 0, "op": "SCMP_CMP_EQ"}]}]
        }));
        assert!(!seccomp_allows_execveat(Some(&conditional)));
    }

    #[test]
    fn the_copy_is_sealed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("prog");
        std::fs::write(&src, b"\x7fELF not really").expect("write");
        let t = Trampoline::from_file(&src).expect("copy");
        let seals = fcntl(t.fd.as_raw_fd(), FcntlArg::F_GET_SEALS).expect("seals");
        let want = SealFlag::F_SEAL_SEAL
            | SealFlag::F_SEAL_SHRINK
            | SealFlag::F_SEAL_GROW
            | SealFlag::F_SEAL_WRITE;
        assert_eq!(SealFlag::from_bits_truncate(seals), want);
        let proc_path = format!("/proc/self/fd/{}", t.fd.as_raw_fd());
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&proc_path)
            .expect("reopen");
        let e = io::Write::write_all(&mut f, b"x").expect_err("sealed");
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        assert_eq!(
            std::fs::read(&proc_path).expect("read"),
            b"\x7fELF not really"
        );
    }
}
