//! The container process's own settings, applied by the init (or an exec'd
//! process) last, in runc's order: limits, then the user with capabilities
//! kept across the id change, then the capability sets, no_new_privs and
//! seccomp, and finally exec of a command found before anything waits.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use caps::{CapSet, Capability, CapsHashSet};
use nix::sys::resource::Resource;
use oci_spec::runtime::{LinuxCapabilities, PosixRlimitType, Process};

use super::SetupError;

fn fail(step: impl Into<String>, e: impl Into<std::io::Error>) -> SetupError {
    SetupError::new(step, e.into())
}

fn resource(kind: PosixRlimitType) -> Resource {
    use PosixRlimitType::*;
    match kind {
        RlimitAs => Resource::RLIMIT_AS,
        RlimitCore => Resource::RLIMIT_CORE,
        RlimitCpu => Resource::RLIMIT_CPU,
        RlimitData => Resource::RLIMIT_DATA,
        RlimitFsize => Resource::RLIMIT_FSIZE,
        RlimitLocks => Resource::RLIMIT_LOCKS,
        RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        RlimitNice => Resource::RLIMIT_NICE,
        RlimitNofile => Resource::RLIMIT_NOFILE,
        RlimitNproc => Resource::RLIMIT_NPROC,
        RlimitRss => Resource::RLIMIT_RSS,
        RlimitRtprio => Resource::RLIMIT_RTPRIO,
        RlimitRttime => Resource::RLIMIT_RTTIME,
        RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        RlimitStack => Resource::RLIMIT_STACK,
    }
}

/// The spec's rlimits.
pub fn rlimits(process: &Process) -> Result<(), SetupError> {
    for r in process.rlimits().iter().flatten() {
        nix::sys::resource::setrlimit(resource(r.typ()), r.soft(), r.hard())
            .map_err(|e| fail(format!("setting rlimit {:?}", r.typ()), e))?;
    }
    Ok(())
}

/// The spec's capability names as a set (unknown names are an error).
fn cap_set(names: Option<&Vec<oci_spec::runtime::Capability>>) -> Result<CapsHashSet, SetupError> {
    let mut out = CapsHashSet::new();
    for c in names.into_iter().flatten() {
        let name = c.to_string();
        let name = if name.starts_with("CAP_") {
            name
        } else {
            format!("CAP_{name}")
        };
        let cap: Capability = name
            .parse()
            .map_err(|_| SetupError::msg("capabilities", format!("unknown capability {name}")))?;
        out.insert(cap);
    }
    Ok(out)
}

/// The capability sets to end with, resolved before anything changes.
pub struct Caps {
    bounding: CapsHashSet,
    effective: CapsHashSet,
    permitted: CapsHashSet,
    inheritable: CapsHashSet,
    ambient: CapsHashSet,
}

impl Caps {
    pub fn from_spec(c: Option<&LinuxCapabilities>) -> Result<Caps, SetupError> {
        let Some(c) = c else {
            return Ok(Caps {
                bounding: CapsHashSet::new(),
                effective: CapsHashSet::new(),
                permitted: CapsHashSet::new(),
                inheritable: CapsHashSet::new(),
                ambient: CapsHashSet::new(),
            });
        };
        let set = |s: &Option<oci_spec::runtime::Capabilities>| -> Result<CapsHashSet, SetupError> {
            let v: Option<Vec<oci_spec::runtime::Capability>> =
                s.as_ref().map(|h| h.iter().cloned().collect());
            cap_set(v.as_ref())
        };
        Ok(Caps {
            bounding: set(c.bounding())?,
            effective: set(c.effective())?,
            permitted: set(c.permitted())?,
            inheritable: set(c.inheritable())?,
            ambient: set(c.ambient())?,
        })
    }

    /// Drop what is not in the bounding set (needs CAP_SETPCAP: before the
    /// user changes).
    pub fn apply_bounding(&self) -> Result<(), SetupError> {
        for cap in caps::all() {
            if !self.bounding.contains(&cap)
                && caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false)
            {
                // Capabilities this kernel does not know are skipped.
                if let Err(e) = caps::drop(None, CapSet::Bounding, cap) {
                    if caps::runtime::thread_all_supported().contains(&cap) {
                        return Err(SetupError::msg(
                            "dropping bounding capabilities",
                            e.to_string(),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The final sets, after the user changed (with keep-caps).
    pub fn apply(&self) -> Result<(), SetupError> {
        let known = caps::runtime::thread_all_supported();
        let only = |s: &CapsHashSet| s.intersection(&known).copied().collect::<CapsHashSet>();
        let err = |what: &str, e: caps::errors::CapsError| {
            SetupError::msg(format!("setting {what} capabilities"), e.to_string())
        };
        // Inheritable while the permitted set is still whole, effective
        // before permitted (it must stay within it), permitted last.
        caps::set(None, CapSet::Inheritable, &only(&self.inheritable))
            .map_err(|e| err("inheritable", e))?;
        caps::set(None, CapSet::Effective, &only(&self.effective))
            .map_err(|e| err("effective", e))?;
        caps::set(None, CapSet::Permitted, &only(&self.permitted))
            .map_err(|e| err("permitted", e))?;
        caps::clear(None, CapSet::Ambient).map_err(|e| err("ambient", e))?;
        for cap in only(&self.ambient) {
            caps::raise(None, CapSet::Ambient, cap).map_err(|e| err("ambient", e))?;
        }
        Ok(())
    }
}

/// setgroups, setgid, setuid, keeping capabilities across the change so
/// that [`Caps::apply`] can set the final ones. `setgroups_allowed`: false
/// in a user namespace whose setgroups is "deny"; `keep_groups`: leave the
/// supplementary groups as they are.
pub fn set_user(
    process: &Process,
    setgroups_allowed: bool,
    keep_groups: bool,
) -> Result<(), SetupError> {
    let user = process.user();
    nix::sys::prctl::set_keepcaps(true).map_err(|e| fail("keeping capabilities", e))?;
    let groups: Vec<nix::unistd::Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| nix::unistd::Gid::from_raw(*g))
        .collect();
    if keep_groups {
    } else if setgroups_allowed {
        nix::unistd::setgroups(&groups).map_err(|e| fail("setting the supplementary groups", e))?;
    } else if !groups.is_empty() {
        return Err(SetupError::msg(
            "setting the supplementary groups",
            "the user namespace does not allow setgroups",
        ));
    }
    let gid = nix::unistd::Gid::from_raw(user.gid());
    let uid = nix::unistd::Uid::from_raw(user.uid());
    nix::unistd::setresgid(gid, gid, gid).map_err(|e| fail(format!("setting gid {gid}"), e))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(|e| fail(format!("setting uid {uid}"), e))?;
    nix::sys::prctl::set_keepcaps(false).map_err(|e| fail("keeping capabilities", e))?;
    if let Some(mask) = user.umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    Ok(())
}

/// The last settings before the command, in runc's order: the bounding
/// set; no_new_privs, or else the seccomp filter now (loading it needs
/// CAP_SYS_ADMIN, which is about to go); every signal to its default
/// action, none blocked; the user and groups; the
/// capability sets; the working directory; every descriptor past the
/// preserved ones closed on exec. Returns the filter still to load: with
/// no_new_privs it goes last, just before exec.
pub fn finish<'a>(
    process: &Process,
    caps: &Caps,
    seccomp: Option<&'a super::seccomp::Program>,
    keep_groups: bool,
    preserve_fds: u32,
) -> Result<Option<&'a super::seccomp::Program>, SetupError> {
    crate::sys::process::reset_signals().map_err(|e| fail("resetting the signal actions", e))?;
    caps.apply_bounding()?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    if nnp {
        nix::sys::prctl::set_no_new_privs().map_err(|e| fail("setting no_new_privs", e))?;
    } else if let Some(prog) = seccomp {
        prog.load()
            .map_err(|e| fail("loading the seccomp filter", e))?;
    }
    set_user(process, !keep_groups && setgroups_allowed(), keep_groups)?;
    caps.apply()?;
    let cwd = process.cwd();
    nix::unistd::chdir(cwd).map_err(|e| fail(format!("chdir to {}", cwd.display()), e))?;
    crate::sys::clone::cloexec_from(3 + preserve_fds as i32)
        .map_err(|e| fail("closing descriptors", e))?;
    Ok(if nnp { seccomp } else { None })
}

/// Whether this process may call setgroups (its user namespace's
/// /proc/self/setgroups is not "deny").
pub fn setgroups_allowed() -> bool {
    std::fs::read_to_string("/proc/self/setgroups")
        .map(|s| s.trim() != "deny")
        .unwrap_or(true)
}

/// The environment as C strings.
pub fn environment(process: &Process) -> Result<Vec<CString>, SetupError> {
    process
        .env()
        .iter()
        .flatten()
        .map(|e| {
            CString::new(e.as_bytes())
                .map_err(|_| SetupError::msg("environment", format!("{e:?} contains a NUL byte")))
        })
        .collect()
}

/// The arguments as C strings (at least one).
pub fn arguments(process: &Process) -> Result<Vec<CString>, SetupError> {
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(SetupError::msg("process", "args must not be empty"));
    }
    args.iter()
        .map(|a| {
            CString::new(a.as_bytes())
                .map_err(|_| SetupError::msg("args", format!("{a:?} contains a NUL byte")))
        })
        .collect()
}

/// Find `command` as exec would, with PATH from the process's environment
/// (in the container's file system: call after pivot_root). runc's
/// messages, which the engine reads to tell "not found" (127) from "cannot
/// run" (126).
pub fn find_executable(command: &str, env: &[String]) -> Result<PathBuf, SetupError> {
    let step = "exec";
    let runnable = |p: &Path| -> Result<(), SetupError> {
        let md = std::fs::metadata(p).map_err(|e| {
            SetupError::msg(
                step,
                format!(
                    "exec: \"{}\": stat {}: {}",
                    command,
                    p.display(),
                    io_text(&e)
                ),
            )
        })?;
        use std::os::unix::fs::PermissionsExt;
        if md.is_dir() || md.permissions().mode() & 0o111 == 0 {
            return Err(SetupError::msg(
                step,
                format!("exec: \"{}\": permission denied", command),
            ));
        }
        Ok(())
    };
    if command.contains('/') {
        let p = PathBuf::from(command);
        runnable(&p)?;
        return Ok(p);
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(command);
        if candidate.is_file() && runnable(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(SetupError::msg(
        step,
        format!("exec: \"{command}\": executable file not found in $PATH"),
    ))
}

fn io_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_found_on_path_with_runcs_messages() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(find_executable("sh", &env).expect("sh").ends_with("sh"));
        let e = find_executable("no-such-command", &env).expect_err("missing");
        assert!(
            e.to_string().contains("executable file not found in $PATH"),
            "{e}"
        );
        let e = find_executable("/etc", &env).expect_err("a directory");
        assert!(e.to_string().contains("permission denied"), "{e}");
        let e = find_executable("/nope", &env).expect_err("missing");
        assert!(e.to_string().contains("no such file or directory"), "{e}");
    }

    #[test]
    fn capability_names_with_and_without_prefix() {
        let names: Vec<oci_spec::runtime::Capability> = vec![
            oci_spec::runtime::Capability::Chown,
            oci_spec::runtime::Capability::NetBindService,
        ];
        let set = cap_set(Some(&names)).expect("known");
        assert!(set.contains(&Capability::CAP_CHOWN));
        assert!(set.contains(&Capability::CAP_NET_BIND_SERVICE));
    }
}
