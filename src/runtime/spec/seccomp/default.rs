//! Podman's default seccomp profile, as tables of our own: an allowlist,
//! known calls refused with EPERM, personas, architecture-specific calls,
//! capability-gated calls and socket(2) families. Each system call is named
//! once per container, whatever its capabilities, so that no rule depends on
//! which of two the runtime's seccomp library keeps.

use oci_spec::runtime::{LinuxSeccompAction, LinuxSeccompOperator};

use super::{ArchMap, Arg, Filter, Profile, Rule};

/// Errno values of the default profile.
const ENOSYS: u32 = 38;
const EPERM: u32 = 1;
const EINVAL: u32 = 22;

/// socket(2) constants the default profile compares with.
const AF_NETLINK: u64 = 16;
const AF_VSOCK: u64 = 40;
const NETLINK_AUDIT: u64 = 9;

/// Native architecture to the architectures a filter also covers (32-bit
/// and x32 binaries run on a 64-bit kernel).
const ARCH_MAP: [(&str, &[&str]); 7] = [
    ("SCMP_ARCH_X86_64", &["SCMP_ARCH_X86", "SCMP_ARCH_X32"]),
    ("SCMP_ARCH_AARCH64", &["SCMP_ARCH_ARM"]),
    (
        "SCMP_ARCH_MIPS64",
        &["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
    ),
    (
        "SCMP_ARCH_MIPS64N32",
        &["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
    ),
    (
        "SCMP_ARCH_MIPSEL64",
        &["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
    ),
    (
        "SCMP_ARCH_MIPSEL64N32",
        &["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
    ),
    ("SCMP_ARCH_S390X", &["SCMP_ARCH_S390"]),
];

/// System calls every container may make, in byte order. Some deserve a
/// word: `mount`, `umount2`, `pivot_root`, `unshare`, `setns`, `clone` and
/// `clone3` (with any flags) are allowed because the kernel checks
/// CAP_SYS_ADMIN in the user namespace that owns the target, which lets a
/// container start a rootless container of its own; `ptrace` is safe
/// against seccomp bypass since Linux 4.8; `reboot` in a pid namespace only
/// ends that namespace; `keyctl` works on the session keyring the runtime
/// creates for the container.
#[rustfmt::skip]
const ALLOWED: &[&str] = &[
    "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk",
    "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
    "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "clone", "clone3", "close",
    "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
    "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_init",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
    "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
    "fremovexattr", "fsconfig", "fsetxattr", "fsmount", "fsopen", "fspick", "fstat", "fstat64",
    "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
    "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
    "get_mempolicy", "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents",
    "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
    "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
    "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
    "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid",
    "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init",
    "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_setup",
    "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc", "keyctl", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr",
    "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "mbind", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "mount", "mount_setattr", "move_mount", "mprotect",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv",
    "msgsnd", "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep",
    "newfstatat", "open", "open_tree", "openat", "openat2", "pause", "pidfd_getfd",
    "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pivot_root", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "process_vm_readv", "process_vm_writev", "pselect6",
    "pselect6_time64", "ptrace", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
    "readlink", "readlinkat", "readv", "reboot", "recv", "recvfrom", "recvmmsg",
    "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat",
    "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_mempolicy",
    "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setns", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
    "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt",
    "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
    "sigaltstack", "signal", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
    "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
    "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "syslog", "tee", "tgkill",
    "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
    "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "ugetrlimit", "umask", "umount", "umount2", "uname", "unlink", "unlinkat",
    "unshare", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "wait4", "waitid",
    "waitpid", "write", "writev",
];

/// Known system calls refused with EPERM instead of the default ENOSYS:
/// obsolete ones, ones that reach the whole machine (swap, kexec, NUMA page
/// migration), and ones behind past container escapes (`userfaultfd`,
/// `vmsplice`).
#[rustfmt::skip]
const REFUSED: &[&str] = &[
    "bdflush", "cachestat", "io_pgetevents", "io_pgetevents_time64", "kexec_file_load",
    "kexec_load", "map_shadow_stack", "migrate_pages", "move_pages", "nfsservctl", "nice",
    "oldfstat", "oldlstat", "oldolduname", "oldstat", "olduname", "pciconfig_iobase",
    "pciconfig_read", "pciconfig_write", "sgetmask", "ssetmask", "swapoff", "swapon", "syscall",
    "sysfs", "uselib", "userfaultfd", "ustat", "vm86", "vm86old", "vmsplice",
];

/// personality(2) personas allowed: PER_LINUX, UNAME26, PER_LINUX32,
/// PER_LINUX32|UNAME26, and 0xffffffff (query the current persona).
const PERSONAS: [u64; 5] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// System calls that exist only on some architectures (Go names).
const BY_ARCH: [(&[&str], &[&str]); 6] = [
    (&["ppc64le"], &["sync_file_range2", "swapcontext"]),
    (
        &["arm", "arm64"],
        &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "breakpoint",
            "cacheflush",
            "set_tls",
            "sync_file_range2",
        ],
    ),
    (&["amd64", "x32"], &["arch_prctl"]),
    (&["amd64", "x32", "x86"], &["modify_ldt"]),
    (
        &["s390", "s390x"],
        &[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ],
    ),
    (&["riscv64"], &["riscv_flush_icache"]),
];

/// System calls allowed with any one of the capabilities listed and refused
/// with EPERM without: the kernel would refuse them without it anyway, the
/// filter keeps the attack surface closed.
const BY_CAPABILITY: [(&[&str], &[&str]); 11] = [
    (&["CAP_DAC_READ_SEARCH"], &["open_by_handle_at"]),
    (
        &["CAP_SYS_ADMIN"],
        &[
            "lookup_dcookie",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
        ],
    ),
    (&["CAP_SYS_ADMIN", "CAP_BPF"], &["bpf"]),
    (&["CAP_SYS_ADMIN", "CAP_PERFMON"], &["perf_event_open"]),
    (&["CAP_SYS_CHROOT"], &["chroot"]),
    (
        &["CAP_SYS_MODULE"],
        &[
            "delete_module",
            "finit_module",
            "init_module",
            "query_module",
        ],
    ),
    (&["CAP_SYS_PACCT"], &["acct"]),
    (&["CAP_SYS_PTRACE"], &["kcmp", "process_madvise"]),
    (&["CAP_SYS_RAWIO"], &["ioperm", "iopl"]),
    (
        &["CAP_SYS_TIME"],
        &["clock_settime", "clock_settime64", "settimeofday", "stime"],
    ),
    (&["CAP_SYS_TTY_CONFIG"], &["vhangup"]),
];

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

fn rule(list: &[&str], action: LinuxSeccompAction) -> Rule {
    Rule {
        name: None,
        names: strings(list),
        action,
        args: None,
        errno_ret: None,
        errno: None,
        includes: Filter::default(),
        excludes: Filter::default(),
    }
}

fn refuse(list: &[&str], errno: u32) -> Rule {
    Rule {
        errno_ret: Some(errno),
        ..rule(list, LinuxSeccompAction::ScmpActErrno)
    }
}

fn arg(index: usize, op: LinuxSeccompOperator, value: u64) -> Arg {
    Arg {
        index,
        value,
        value_two: 0,
        op,
    }
}

fn caps_filter(caps: &[&str]) -> Filter {
    Filter {
        caps: strings(caps),
        ..Filter::default()
    }
}

/// socket(2): AF_VSOCK is refused (it reaches the host's hypervisor
/// sockets); netlink audit sockets need CAP_AUDIT_WRITE and fail with
/// EINVAL without it, as on a kernel without audit; everything else is
/// allowed.
fn socket_rules() -> Vec<Rule> {
    use LinuxSeccompOperator::{ScmpCmpEq as Eq, ScmpCmpNe as Ne};
    let audit = &["CAP_AUDIT_WRITE"];
    let socket = |args: Vec<Arg>, action, errno_ret, includes, excludes| Rule {
        args: Some(args),
        errno_ret,
        includes,
        excludes,
        ..rule(&["socket"], action)
    };
    vec![
        socket(
            vec![arg(0, Eq, AF_VSOCK)],
            LinuxSeccompAction::ScmpActErrno,
            Some(EPERM),
            Filter::default(),
            Filter::default(),
        ),
        socket(
            vec![arg(0, Eq, AF_NETLINK), arg(2, Eq, NETLINK_AUDIT)],
            LinuxSeccompAction::ScmpActErrno,
            Some(EINVAL),
            Filter::default(),
            caps_filter(audit),
        ),
        socket(
            vec![arg(0, Eq, AF_NETLINK), arg(2, Ne, NETLINK_AUDIT)],
            LinuxSeccompAction::ScmpActAllow,
            None,
            Filter::default(),
            caps_filter(audit),
        ),
        socket(
            vec![arg(0, Ne, AF_NETLINK)],
            LinuxSeccompAction::ScmpActAllow,
            None,
            Filter::default(),
            caps_filter(audit),
        ),
        socket(
            vec![arg(0, Ne, AF_VSOCK)],
            LinuxSeccompAction::ScmpActAllow,
            None,
            caps_filter(audit),
            Filter::default(),
        ),
    ]
}

/// Podman's default seccomp profile.
pub fn default_profile() -> Profile {
    use LinuxSeccompAction::ScmpActAllow as Allow;
    let mut rules = vec![refuse(REFUSED, EPERM), rule(ALLOWED, Allow)];
    for persona in PERSONAS {
        rules.push(Rule {
            args: Some(vec![arg(0, LinuxSeccompOperator::ScmpCmpEq, persona)]),
            ..rule(&["personality"], Allow)
        });
    }
    for (arches, calls) in BY_ARCH {
        rules.push(Rule {
            includes: Filter {
                arches: strings(arches),
                ..Filter::default()
            },
            ..rule(calls, Allow)
        });
    }
    for (caps, calls) in BY_CAPABILITY {
        // One allowing rule per capability, each excluding the ones
        // before it, so that a container with several still gets one rule.
        for (i, cap) in caps.iter().enumerate() {
            rules.push(Rule {
                includes: caps_filter(&[cap]),
                excludes: caps_filter(&caps[..i]),
                ..rule(calls, Allow)
            });
        }
        rules.push(Rule {
            excludes: caps_filter(caps),
            ..refuse(calls, EPERM)
        });
    }
    rules.extend(socket_rules());
    Profile {
        default_action: LinuxSeccompAction::ScmpActErrno,
        default_errno_ret: Some(ENOSYS),
        default_errno: None,
        architectures: Vec::new(),
        arch_map: ARCH_MAP
            .iter()
            .map(|(arch, sub)| ArchMap {
                arch: arch.to_string(),
                sub: strings(sub),
            })
            .collect(),
        syscalls: rules,
        flags: Vec::new(),
        listener_path: None,
        listener_metadata: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::runtime::spec::capabilities::{self, CapSet};
    use oci_spec::runtime::{Arch, LinuxSeccomp};
    use std::collections::HashMap;

    /// Action and errno of every unconditional rule by system call name.
    fn plain(filter: &LinuxSeccomp) -> HashMap<String, Vec<(LinuxSeccompAction, Option<u32>)>> {
        let mut out: HashMap<String, Vec<_>> = HashMap::new();
        for call in filter.syscalls().as_ref().expect("syscalls") {
            if call.args().is_some() {
                continue;
            }
            for n in call.names() {
                out.entry(n.clone())
                    .or_default()
                    .push((call.action(), call.errno_ret()));
            }
        }
        out
    }

    #[test]
    fn default_profile_on_amd64() {
        let f = default_profile()
            .to_oci_for(AMD64, default_caps(), (6, 1))
            .expect("filter");
        assert_eq!(f.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(f.default_errno_ret(), Some(ENOSYS));
        assert_eq!(
            f.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        let p = plain(&f);
        let allow = (LinuxSeccompAction::ScmpActAllow, None);
        let eperm = (LinuxSeccompAction::ScmpActErrno, Some(EPERM));
        for call in [
            "read",
            "write",
            "execve",
            "clone3",
            "mount",
            "setns",
            "arch_prctl",
            "chroot",
        ] {
            assert_eq!(p.get(call), Some(&vec![allow]), "{call}");
        }
        for call in [
            "bpf",
            "sethostname",
            "kexec_load",
            "init_module",
            "open_by_handle_at",
        ] {
            assert_eq!(p.get(call), Some(&vec![eperm]), "{call}");
        }
        // Not for this architecture.
        assert_eq!(p.get("cacheflush"), None);
        // personality: only the listed personas.
        let personas: Vec<u64> = f
            .syscalls()
            .as_ref()
            .expect("syscalls")
            .iter()
            .filter(|c| c.names() == &["personality"])
            .map(|c| c.args().as_ref().expect("args")[0].value())
            .collect();
        assert_eq!(personas, PERSONAS);
    }

    #[test]
    fn no_call_has_two_unconditional_rules() {
        for caps in [CapSet::EMPTY, default_caps(), CapSet::all()] {
            for native in [AMD64, ARM64] {
                let f = default_profile()
                    .to_oci_for(native, caps, (6, 1))
                    .expect("filter");
                for (name, rules) in plain(&f) {
                    assert_eq!(rules.len(), 1, "{name} with caps {:x}", caps.mask());
                }
            }
        }
    }

    #[test]
    fn capabilities_open_gated_calls() {
        let mut caps = default_caps();
        caps.insert(capabilities::number("CAP_SYS_ADMIN").expect("cap"));
        let f = default_profile()
            .to_oci_for(ARM64, caps, (6, 1))
            .expect("filter");
        let p = plain(&f);
        let allow = (LinuxSeccompAction::ScmpActAllow, None);
        for call in [
            "bpf",
            "perf_event_open",
            "sethostname",
            "quotactl",
            "cacheflush",
        ] {
            assert_eq!(p.get(call), Some(&vec![allow]), "{call}");
        }
        assert_eq!(p.get("arch_prctl"), None);
        assert_eq!(
            f.architectures().as_deref(),
            Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..])
        );
    }

    #[test]
    fn socket_rules_depend_on_audit_write() {
        let count = |caps: CapSet| {
            default_profile()
                .to_oci_for(AMD64, caps, (6, 1))
                .expect("filter")
                .syscalls()
                .as_ref()
                .expect("syscalls")
                .iter()
                .filter(|c| c.names() == &["socket"])
                .count()
        };
        assert_eq!(count(default_caps()), 4);
        assert_eq!(count(CapSet::all()), 2);
    }
}
