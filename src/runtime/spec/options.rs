//! The typed options a container spec is built from. The engine fills them
//! from the command line (and later from kube YAML and unit files); nothing
//! here has parsed a flag, and every default is podman's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::runtime::PosixRlimitType;

use super::host::Host;
use super::seccomp::Profile;
use super::user::ProcessUser;

/// Everything [`build`](super::build) needs.
#[derive(Debug, Clone)]
pub struct SpecOptions {
    pub rootfs: Rootfs,
    pub process: ProcessOptions,
    pub security: SecurityOptions,
    /// The container's hostname; set in the spec when the UTS namespace is
    /// private, and as `HOSTNAME` in the environment either way.
    pub hostname: Option<String>,
    pub annotations: BTreeMap<String, String>,
    /// `--sysctl` entries; podman's default `net.ipv4.ping_group_range=0 0`
    /// is added for a private network namespace unless set here.
    pub sysctls: BTreeMap<String, String>,
    pub resources: Resources,
    pub ulimits: Ulimits,
    /// Relative to the cgroup root; `None` leaves the choice to the runtime.
    pub cgroups_path: Option<PathBuf>,
    pub namespaces: Namespaces,
    /// The id maps of a new user namespace (`Namespaces::user` private).
    pub id_mappings: Option<IdMappings>,
    /// Volumes, `--mount`, `--tmpfs`, the init binary, /etc/hosts and the
    /// like: they replace a default mount at the same destination.
    pub mounts: Vec<ExtraMount>,
    /// `--device` entries.
    pub devices: Vec<Device>,
    pub shm: Shm,
    pub caller: Caller,
    pub host: Host,
}

impl SpecOptions {
    /// Podman's defaults for a container that runs `args` in `rootfs`.
    pub fn new(rootfs: PathBuf, args: Vec<String>, caller: Caller, host: Host) -> SpecOptions {
        SpecOptions {
            rootfs: Rootfs {
                path: rootfs,
                readonly: false,
                read_write_tmpfs: true,
            },
            process: ProcessOptions {
                args,
                env: Vec::new(),
                cwd: "/".to_string(),
                terminal: false,
                user: ProcessUser::root(),
                umask: 0o022,
                no_new_privileges: false,
                oom_score_adj: None,
            },
            security: SecurityOptions::default(),
            hostname: None,
            annotations: BTreeMap::new(),
            sysctls: BTreeMap::new(),
            resources: Resources::default(),
            ulimits: Ulimits::default(),
            cgroups_path: None,
            namespaces: Namespaces::default(),
            id_mappings: None,
            mounts: Vec::new(),
            devices: Vec::new(),
            shm: Shm::default(),
            caller,
            host,
        }
    }
}

/// The container's root file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rootfs {
    pub path: PathBuf,
    /// `--read-only`.
    pub readonly: bool,
    /// `--read-only-tmpfs` (default true): with a read-only root, /tmp,
    /// /var/tmp and /run get writable tmpfs mounts and /dev stays writable.
    pub read_write_tmpfs: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessOptions {
    /// Entrypoint and command, already resolved against the image.
    pub args: Vec<String>,
    /// `KEY=value` entries: the image's environment with the user's on top.
    /// PATH, `container`, TERM, HOME and HOSTNAME are added when absent.
    pub env: Vec<String>,
    /// Absolute path of the working directory.
    pub cwd: String,
    pub terminal: bool,
    pub user: ProcessUser,
    pub umask: u32,
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
}

#[derive(Debug, Clone, Default)]
pub struct SecurityOptions {
    /// `--privileged`: every capability the caller has, no masked or
    /// read-only paths, no seccomp filter (unless a profile is named), sysfs
    /// and cgroupfs writable, no device cgroup.
    pub privileged: bool,
    /// `--cap-add`, names with or without `CAP_`, or `ALL`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`, likewise.
    pub cap_drop: Vec<String>,
    pub seccomp: Seccomp,
    /// `--security-opt mask=/a:/b`, split: absolute paths to mask as well.
    pub mask: Vec<String>,
    /// `--security-opt unmask=…`.
    pub unmask: Unmask,
}

/// The seccomp filter of the container.
#[derive(Debug, Clone, Default)]
pub enum Seccomp {
    /// Podman's default profile (none for a privileged container).
    #[default]
    Default,
    /// `--security-opt seccomp=unconfined`.
    Unconfined,
    /// `--security-opt seccomp=FILE`, parsed.
    Profile(Box<Profile>),
}

/// Default masked and read-only paths to leave alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Unmask {
    #[default]
    None,
    /// `unmask=ALL`: none of the defaults, and /sys/fs/cgroup writable.
    All,
    /// Glob patterns (`/proc/*`), matched against each default path.
    Paths(Vec<String>),
}

/// How the container gets a namespace of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// A new one.
    Private,
    /// The caller's.
    Host,
    /// Join the one at this path (`/proc/PID/ns/net`, a bind-mounted
    /// namespace file).
    Join(PathBuf),
}

/// The container's namespaces. A mount namespace is always new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    pub pid: Namespace,
    pub net: Namespace,
    pub ipc: Namespace,
    pub uts: Namespace,
    /// `None` is podman's default: private on a cgroup v2 host, the host's
    /// otherwise.
    pub cgroup: Option<Namespace>,
    /// A new user namespace needs `SpecOptions::id_mappings`.
    pub user: Namespace,
}

impl Default for Namespaces {
    fn default() -> Namespaces {
        Namespaces {
            pid: Namespace::Private,
            net: Namespace::Private,
            ipc: Namespace::Private,
            uts: Namespace::Private,
            cgroup: None,
            user: Namespace::Host,
        }
    }
}

pub use crate::idmap::{IdMap, IdMappings};

/// A mount added to the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraMount {
    /// Absolute path in the container.
    pub destination: String,
    pub kind: MountKind,
    /// mount(8) options as given; podman's defaults are added when absent
    /// (`rbind` and `rprivate` for a bind, `rprivate,noexec,nosuid,nodev`
    /// and `tmpcopyup` for a tmpfs).
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    Bind {
        source: PathBuf,
    },
    Tmpfs,
    /// Anything else, passed through: type and source.
    Other {
        typ: String,
        source: String,
    },
}

/// A host device made available in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub host_path: PathBuf,
    pub container_path: PathBuf,
    pub kind: DeviceKind,
    pub major: i64,
    pub minor: i64,
    pub file_mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Cgroup access, a combination of `r`, `w`, `m`.
    pub access: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Char,
    Block,
}

/// What /dev/shm is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shm {
    /// A tmpfs of this many bytes (`--shm-size`, podman's default 64 MiB).
    Tmpfs { size: u64 },
    /// A bind of an existing shm mount (one a pod or another container
    /// shares, or the host's for `--ipc host`).
    Bind(PathBuf),
    /// `--ipc none`: no /dev/shm at all.
    None,
}

impl Default for Shm {
    fn default() -> Shm {
        Shm::Tmpfs {
            size: super::defaults::SHM_SIZE,
        }
    }
}

/// Who builds the spec: root, or a user in skiff's rootless user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Root,
    Rootless {
        /// Whether a cgroup subtree is delegated to the user (systemd on a
        /// v2 host); without one, resource limits cannot be applied.
        cgroups_delegated: bool,
    },
}

impl Caller {
    pub fn is_rootless(self) -> bool {
        matches!(self, Caller::Rootless { .. })
    }

    /// Whether cgroup limits can be applied for this caller.
    pub fn cgroups_usable(self) -> bool {
        match self {
            Caller::Root => true,
            Caller::Rootless { cgroups_delegated } => cgroups_delegated,
        }
    }
}

/// Cgroup resource limits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// `--memory`, bytes.
    pub memory: Option<i64>,
    /// `--memory-reservation`, bytes.
    pub memory_reservation: Option<i64>,
    pub memory_swap: Swap,
    /// `--memory-swappiness`, 0 to 100.
    pub memory_swappiness: Option<u64>,
    pub oom_kill_disable: bool,
    /// `--cpus`: quota over podman's period of 100000 µs.
    pub cpus: Option<f64>,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: PidsLimit,
}

/// `--memory-swap`: the limit of memory plus swap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Swap {
    /// Twice `--memory` when that is set (podman), else nothing.
    #[default]
    Default,
    /// `-1`: no swap limit.
    Unlimited,
    Limit(i64),
}

/// `--pids-limit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PidsLimit {
    /// Podman's 2048 where the caller can set cgroup limits.
    #[default]
    Default,
    /// `-1` or `0`.
    Unlimited,
    Limit(i64),
}

/// Resource limits of the container process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ulimits {
    pub mode: UlimitMode,
    /// `--ulimit` entries, over whatever the mode gives.
    pub explicit: Vec<Ulimit>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UlimitMode {
    /// Podman's RLIMIT_NOFILE and RLIMIT_NPROC of 1048576, clamped to the
    /// caller's own limits when it cannot raise them.
    #[default]
    Default,
    /// `--ulimit host`: every limit of the caller, as it is.
    Host,
}

/// One `--ulimit` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ulimit {
    pub kind: PosixRlimitType,
    pub soft: LimitValue,
    pub hard: LimitValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitValue {
    /// `-1`: as much as the caller may give.
    Unlimited,
    Value(u64),
}
