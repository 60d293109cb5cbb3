//! Podman's defaults, as tables: capabilities, masked and read-only paths,
//! device nodes, the standard mounts, environment, sysctls and limits.
//!
//! Sources (podman 5, containers/common `pkg/config/default.go` and
//! `containers.conf`, podman `pkg/specgen/generate/oci_linux.go`, and the
//! runtime-tools generator podman starts from); cross-checked against the
//! config.json podman writes. Where podman's behaviour depends on the host,
//! the caller passes the fact in [`Host`](super::Host).

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, Mount};

/// containers.conf `default_capabilities`: what a container gets unless
/// told otherwise. Podman dropped AUDIT_WRITE, MKNOD and NET_RAW from the
/// older docker-compatible list in 4.0.
pub const CAPABILITIES: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// Paths the runtime covers (with /dev/null, or an empty read-only tmpfs
/// for a directory) so that a container cannot read host information or
/// reach kernel interfaces through them. Podman also masks every
/// `/sys/devices/system/cpu/cpu*/thermal_throttle` it finds (see
/// `Host::extra_masked_paths`).
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/proc/interrupts",
];

/// Paths the runtime remounts read-only.
pub const READONLY_PATHS: [&str; 6] = [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// A device node every container has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultDevice {
    pub path: &'static str,
    pub major: i64,
    pub minor: i64,
    pub file_mode: u32,
}

/// The device nodes the runtime spec requires a runtime to provide
/// (config-linux.md, "Default Devices"), all character devices: podman
/// lists none of them in `linux.devices`, the runtime creates them (or binds
/// them from the host in a user namespace). /dev/console is bound to the
/// terminal when there is one; /dev/ptmx is a symlink to pts/ptmx, and
/// /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr are symlinks into
/// /proc/self/fd: both are the runtime's job as well.
pub const DEVICES: [DefaultDevice; 6] = [
    DefaultDevice {
        path: "/dev/null",
        major: 1,
        minor: 3,
        file_mode: 0o666,
    },
    DefaultDevice {
        path: "/dev/zero",
        major: 1,
        minor: 5,
        file_mode: 0o666,
    },
    DefaultDevice {
        path: "/dev/full",
        major: 1,
        minor: 7,
        file_mode: 0o666,
    },
    DefaultDevice {
        path: "/dev/random",
        major: 1,
        minor: 8,
        file_mode: 0o666,
    },
    DefaultDevice {
        path: "/dev/urandom",
        major: 1,
        minor: 9,
        file_mode: 0o666,
    },
    DefaultDevice {
        path: "/dev/tty",
        major: 5,
        minor: 0,
        file_mode: 0o666,
    },
];

/// The device cgroup of a container run by root: deny everything (podman's
/// only rule), then allow the default devices, /dev/console (5:1), the pty
/// multiplexer (5:2) and the pty slaves (136:*). runc and crun add the same
/// allowances on their own; listing them keeps the spec complete for a
/// runtime that does not.
pub fn device_rules() -> Vec<LinuxDeviceCgroup> {
    let mut rules = vec![device_rule(false, None, None, None)];
    for d in DEVICES {
        rules.push(device_rule(
            true,
            Some(LinuxDeviceType::C),
            Some(d.major),
            Some(d.minor),
        ));
    }
    rules.push(device_rule(
        true,
        Some(LinuxDeviceType::C),
        Some(5),
        Some(1),
    ));
    rules.push(device_rule(
        true,
        Some(LinuxDeviceType::C),
        Some(5),
        Some(2),
    ));
    rules.push(device_rule(true, Some(LinuxDeviceType::C), Some(136), None));
    rules
}

pub fn device_rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroup::default();
    r.set_allow(allow);
    r.set_typ(typ);
    r.set_major(major);
    r.set_minor(minor);
    r.set_access(Some("rwm".to_string()));
    r
}

/// podman's (containers.conf `shm_size`) /dev/shm size: 65536k.
pub const SHM_SIZE: u64 = 64 << 20;

/// containers.conf `pids_limit`.
pub const PIDS_LIMIT: i64 = 2048;

/// The RLIMIT_NOFILE and RLIMIT_NPROC podman gives a container
/// (libpod `define.RLimitDefaultValue`).
pub const RLIMIT: u64 = 1_048_576;

/// The CFS period `--cpus` is expressed over, in microseconds.
pub const CPU_PERIOD: u64 = 100_000;

/// containers.conf `env`.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The `container` variable podman sets, which systemd and other programs
/// read to learn they run in a container (systemd's "Container Interface").
/// skiff keeps podman's value: systemd recognises it (an unknown name would
/// read as "container-other"), and podman's own tests expect it.
pub const CONTAINER_ENV: &str = "podman";

/// containers.conf `default_sysctls`, applied with a private network
/// namespace: lets every group use ICMP echo sockets, so that `ping` works
/// without CAP_NET_RAW.
pub const SYSCTLS: [(&str, &str); 1] = [("net.ipv4.ping_group_range", "0 0")];

pub fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut m = Mount::default();
    m.set_destination(destination.into());
    m.set_typ(Some(typ.to_string()));
    m.set_source(Some(source.into()));
    m.set_options(Some(options.iter().map(|o| o.to_string()).collect()));
    m
}

pub fn proc_mount() -> Mount {
    mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])
}

/// /proc of the host, for a user namespace that shares the host's pid
/// namespace (a new procfs would need a pid namespace of its own).
pub fn proc_bind() -> Mount {
    mount(
        "/proc",
        "bind",
        "/proc",
        &["rbind", "nosuid", "noexec", "nodev"],
    )
}

/// Whether a default mount may be written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

impl Access {
    fn option(self) -> &'static str {
        match self {
            Access::ReadOnly => "ro",
            Access::ReadWrite => "rw",
        }
    }
}

/// /dev: read-only only for a read-only root without `--read-only-tmpfs`.
pub fn dev_mount(access: Access) -> Mount {
    let mut opts = vec!["nosuid", "strictatime", "mode=755", "size=65536k"];
    if access == Access::ReadOnly {
        opts.push("ro");
    }
    mount("/dev", "tmpfs", "tmpfs", &opts)
}

/// /dev/pts, a new instance, its pty slaves owned by gid 5 (tty).
pub fn devpts_mount() -> Mount {
    mount(
        "/dev/pts",
        "devpts",
        "devpts",
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ],
    )
}

/// /dev/pts where gid 5 is not mapped (`gid=5` would fail the mount).
pub fn devpts_mount_unmapped_tty() -> Mount {
    mount(
        "/dev/pts",
        "devpts",
        "devpts",
        &[
            "rprivate",
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
        ],
    )
}

pub fn shm_tmpfs(size: u64) -> Mount {
    let size = format!("size={}k", size.div_ceil(1024));
    mount(
        "/dev/shm",
        "tmpfs",
        "shm",
        &["nosuid", "noexec", "nodev", "mode=1777", &size],
    )
}

pub fn shm_bind(source: &str) -> Mount {
    mount(
        "/dev/shm",
        "bind",
        source,
        &["bind", "rprivate", "nosuid", "noexec", "nodev"],
    )
}

pub fn mqueue_mount() -> Mount {
    mount(
        "/dev/mqueue",
        "mqueue",
        "mqueue",
        &["nosuid", "noexec", "nodev"],
    )
}

/// The host's /dev/mqueue, for a user namespace that shares the host's IPC
/// namespace (mqueue can only be mounted from the IPC namespace's owner).
pub fn mqueue_bind() -> Mount {
    mount(
        "/dev/mqueue",
        "bind",
        "/dev/mqueue",
        &["bind", "nosuid", "noexec", "nodev"],
    )
}

/// A new sysfs: read-only, or writable for a privileged container.
pub fn sysfs_mount(access: Access) -> Mount {
    match access {
        Access::ReadOnly => mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        Access::ReadWrite => mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["rprivate", "nosuid", "noexec", "nodev", "rw"],
        ),
    }
}

/// The host's /sys, recursively bound: a new sysfs can only be mounted by
/// the owner of the network namespace, so a user namespace that shares
/// someone else's network namespace gets this instead.
pub fn sysfs_bind(access: Access) -> Mount {
    mount(
        "/sys",
        "bind",
        "/sys",
        &[
            "rprivate",
            "nosuid",
            "noexec",
            "nodev",
            access.option(),
            "rbind",
        ],
    )
}

/// A new /sys/fs/cgroup (the runtime mounts the container's cgroup there).
pub fn cgroup_mount(access: Access) -> Mount {
    mount(
        "/sys/fs/cgroup",
        "cgroup",
        "cgroup",
        &[
            "rprivate",
            "nosuid",
            "noexec",
            "nodev",
            "relatime",
            access.option(),
        ],
    )
}

/// /sys/fs/cgroup beside a bound /sys: the host's tree, as podman writes it.
pub fn cgroup_host_tree(access: Access) -> Mount {
    mount(
        "/sys/fs/cgroup",
        "cgroup",
        "/sys/fs/cgroup",
        &["rprivate", "nosuid", "noexec", "nodev", access.option()],
    )
}

/// The writable tmpfs mounts a read-only container gets (`--read-only-tmpfs`).
pub const READ_ONLY_TMPFS: [&str; 3] = ["/tmp", "/var/tmp", "/run"];

pub fn read_only_tmpfs(destination: &str) -> Mount {
    mount(
        destination,
        "tmpfs",
        "tmpfs",
        &["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"],
    )
}
