//! The OCI bundle spec (`config.json`) of a container: a pure function from
//! typed [`SpecOptions`] to an `oci_spec::runtime::Spec`, with podman's
//! defaults (capabilities, masked paths, mounts, seccomp profile, limits)
//! and podman's rootless variations. Facts about the host come in as
//! [`Host`], probed once by the engine; resolving `--user` against the
//! image's files is [`user::resolve`].

mod capabilities;
pub mod defaults;
mod host;
mod masks;
mod mounts;
mod options;
mod resources;
pub mod seccomp;
pub mod user;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;

use oci_spec::runtime::{
    Linux, LinuxBuilder, LinuxDevice, LinuxDeviceType, LinuxIdMapping, LinuxIdMappingBuilder,
    LinuxNamespace, LinuxNamespaceType, PosixRlimitType, Process, ProcessBuilder, RootBuilder,
    Spec, SpecBuilder, UserBuilder,
};
use oci_spec::OciSpecError;

pub use capabilities::CapSet;
pub use host::{Host, Limit, RLIM_INFINITY};
pub use options::{
    Caller, Device, DeviceKind, ExtraMount, IdMap, IdMappings, LimitValue, MountKind, Namespace,
    Namespaces, PidsLimit, ProcessOptions, Resources, Rootfs, Seccomp, SecurityOptions, Shm,
    SpecOptions, Swap, Ulimit, UlimitMode, Ulimits, Unmask,
};
pub use seccomp::{Profile as SeccompProfile, SeccompError};
pub use user::{ProcessUser, UserError};

use crate::sys::cgroup::CgroupMode;

/// The runtime spec version written: what runc 1.1 and crun 1.8 accept.
pub const OCI_VERSION: &str = "1.0.2-dev";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no command to run: the image has no entrypoint or command, give one")]
    EmptyCommand,
    #[error("the working directory {cwd:?} is not an absolute path")]
    RelativeCwd { cwd: String },
    #[error("unknown capability {name:?}")]
    UnknownCapability { name: String },
    #[error("capability {name} cannot be both added and dropped")]
    CapabilityAddedAndDropped { name: String },
    #[error("adding all capabilities and dropping all capabilities is not allowed")]
    CapabilitiesAllAddedAndDropped,
    #[error("mask path {path:?} is not absolute")]
    RelativeMaskPath { path: String },
    #[error("mount destination {destination:?} must be an absolute path without \"..\"")]
    BadMountDestination { destination: String },
    #[error("{kind} namespace path {path:?} is not absolute")]
    RelativeNamespacePath { kind: &'static str, path: PathBuf },
    #[error("a new user namespace needs uid and gid mappings")]
    MissingIdMappings,
    #[error("minimum memory limit allowed is 6MB (asked for {bytes} bytes)")]
    MemoryTooLow { bytes: i64 },
    #[error("memory-swap limit {swap} must be at least the memory limit {memory}")]
    SwapBelowMemory { memory: i64, swap: i64 },
    #[error("memory swappiness {value} is out of range 0-100")]
    SwappinessOutOfRange { value: u64 },
    #[error("invalid --cpus value {value}: give a positive number of CPUs")]
    InvalidCpus { value: f64 },
    #[error("--cpus cannot be combined with --cpu-period or --cpu-quota")]
    CpusWithPeriodOrQuota,
    #[error("ulimit {kind}: soft limit {soft} is above the hard limit {hard}")]
    UlimitSoftAboveHard {
        kind: PosixRlimitType,
        soft: u64,
        hard: u64,
    },
    #[error(
        "ulimit {kind}: {requested} is above this process's own hard limit {limit}, which it \
         cannot raise without CAP_SYS_RESOURCE; ask for at most {limit}, or use --ulimit host"
    )]
    UlimitAboveCallerLimit {
        kind: PosixRlimitType,
        requested: u64,
        limit: u64,
    },
    #[error("oom-score-adj {value} is out of range -1000 to 1000")]
    OomScoreAdjOutOfRange { value: i32 },
    #[error("sysctl {key:?} is not namespaced, so a container cannot set it")]
    SysctlNotNamespaced { key: String },
    #[error("sysctl {key:?} cannot be set: the container shares the host's {namespace} namespace")]
    SysctlNeedsNamespace {
        key: String,
        namespace: &'static str,
    },
    #[error("building the seccomp filter: {0}")]
    Seccomp(#[from] SeccompError),
    #[error("assembling the {part} of the runtime spec: {source}")]
    Assemble {
        part: &'static str,
        #[source]
        source: OciSpecError,
    },
}

/// Something the spec leaves out or changes from what was asked, for the
/// user to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecWarning {
    /// Rootless without a delegated cgroup: limits cannot be applied.
    ResourceLimitsIgnored,
    /// Rootless: the oom score cannot go below the caller's own.
    OomScoreAdjRaised { requested: i32, used: i32 },
}

impl fmt::Display for SpecWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecWarning::ResourceLimitsIgnored => f.write_str(
                "resource limits are ignored: a rootless container can have them only with a \
                 cgroup v2 subtree delegated by systemd",
            ),
            SpecWarning::OomScoreAdjRaised { requested, used } => write!(
                f,
                "oom-score-adj {requested} is lower than this process's own, using {used}"
            ),
        }
    }
}

/// A terminal size as the spec's `consoleSize`.
pub fn console_size(size: crate::sys::tty::WindowSize) -> oci_spec::runtime::Box {
    oci_spec::runtime::BoxBuilder::default()
        .height(u64::from(size.rows))
        .width(u64::from(size.cols))
        .build()
        .unwrap_or_default()
}

/// The spec of a container, with podman's defaults; warnings are logged.
pub fn build(opts: &SpecOptions) -> Result<Spec, SpecError> {
    let (spec, warnings) = build_with_warnings(opts)?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(spec)
}

pub(crate) fn assemble(part: &'static str) -> impl FnOnce(OciSpecError) -> SpecError {
    move |source| SpecError::Assemble { part, source }
}

/// The spec of a container and what the caller should warn about.
pub fn build_with_warnings(opts: &SpecOptions) -> Result<(Spec, Vec<SpecWarning>), SpecError> {
    let mut warnings = Vec::new();
    let sec = &opts.security;
    let bounding = if sec.privileged {
        opts.host.bounding
    } else {
        let base: CapSet = defaults::CAPABILITIES
            .iter()
            .filter_map(|c| capabilities::number(c))
            .collect();
        capabilities::merge(base, &sec.cap_add, &sec.cap_drop, opts.host.bounding)?
    };
    let process = process(opts, bounding, &mut warnings)?;
    let linux = linux(opts, bounding, &mut warnings)?;
    let root = RootBuilder::default()
        .path(opts.rootfs.path.clone())
        .readonly(opts.rootfs.readonly)
        .build()
        .map_err(assemble("root"))?;
    let mut spec = SpecBuilder::default()
        .version(OCI_VERSION)
        .root(root)
        .mounts(mounts::mounts(opts)?)
        .process(process)
        .linux(linux)
        .build()
        .map_err(assemble("spec"))?;
    // Runtimes refuse a hostname without a UTS namespace of the container's
    // own (and a joined one already has its name).
    let own_uts = opts.namespaces.uts == Namespace::Private;
    spec.set_hostname(opts.hostname.clone().filter(|_| own_uts));
    spec.set_annotations((!opts.annotations.is_empty()).then(|| {
        opts.annotations
            .clone()
            .into_iter()
            .collect::<HashMap<_, _>>()
    }));
    Ok((spec, warnings))
}

/// `process`: command, environment, identity, capabilities, limits.
fn process(
    opts: &SpecOptions,
    bounding: CapSet,
    warnings: &mut Vec<SpecWarning>,
) -> Result<Process, SpecError> {
    let p = &opts.process;
    if p.args.is_empty() {
        return Err(SpecError::EmptyCommand);
    }
    if !p.cwd.starts_with('/') {
        return Err(SpecError::RelativeCwd { cwd: p.cwd.clone() });
    }
    let added = capabilities::added(&opts.security.cap_add, opts.host.bounding)?;
    let mut user = UserBuilder::default()
        .uid(p.user.uid)
        .gid(p.user.gid)
        .umask(p.umask);
    if !p.user.additional_gids.is_empty() {
        user = user.additional_gids(p.user.additional_gids.clone());
    }
    let user = user.build().map_err(assemble("process user"))?;
    let mut process = ProcessBuilder::default()
        .terminal(p.terminal)
        .user(user)
        .args(p.args.clone())
        .env(environment(opts))
        .cwd(p.cwd.clone())
        .capabilities(capabilities::process_sets(bounding, p.user.uid, added))
        .rlimits(resources::rlimits(opts)?)
        .no_new_privileges(p.no_new_privileges)
        .build()
        .map_err(assemble("process"))?;
    process.set_oom_score_adj(resources::oom_score_adj(opts, warnings)?);
    Ok(process)
}

/// `linux`: namespaces, id maps, sysctls, cgroup resources, devices,
/// seccomp, masked and read-only paths.
fn linux(
    opts: &SpecOptions,
    bounding: CapSet,
    warnings: &mut Vec<SpecWarning>,
) -> Result<Linux, SpecError> {
    let sec = &opts.security;
    let seccomp = match &sec.seccomp {
        Seccomp::Unconfined => None,
        Seccomp::Default if sec.privileged => None,
        Seccomp::Default => Some(seccomp::default_profile().to_oci(bounding, opts.host.kernel)?),
        Seccomp::Profile(profile) => Some(profile.to_oci(bounding, opts.host.kernel)?),
    };
    let (masked, readonly) = masks::paths(opts)?;
    let sysctl = sysctls(opts)?;
    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces(opts)?)
        .build()
        .map_err(assemble("linux section"))?;
    linux.set_sysctl((!sysctl.is_empty()).then_some(sysctl));
    linux.set_masked_paths((!masked.is_empty()).then_some(masked));
    linux.set_readonly_paths((!readonly.is_empty()).then_some(readonly));
    linux.set_rootfs_propagation(mounts::root_propagation(opts));
    linux.set_resources(resources::linux_resources(opts, warnings)?);
    let usable = opts.caller.cgroups_usable();
    linux.set_cgroups_path(opts.cgroups_path.clone().filter(|_| usable));
    linux.set_seccomp(seccomp);
    linux.set_devices(devices(opts));
    if opts.namespaces.user == Namespace::Private {
        let m = opts
            .id_mappings
            .as_ref()
            .filter(|m| !m.uids.is_empty() && !m.gids.is_empty())
            .ok_or(SpecError::MissingIdMappings)?;
        linux.set_uid_mappings(Some(id_mappings(&m.uids)?));
        linux.set_gid_mappings(Some(id_mappings(&m.gids)?));
    } else if let (Namespace::Join(_), Some(m)) = (&opts.namespaces.user, &opts.id_mappings) {
        // The joined namespace's own maps, which runc insists on seeing.
        linux.set_uid_mappings(Some(id_mappings(&m.uids)?));
        linux.set_gid_mappings(Some(id_mappings(&m.gids)?));
    }
    Ok(linux)
}

fn env_key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// The process environment: podman's defaults (PATH, `container`, TERM
/// with a terminal), the caller's entries over them, then HOME and HOSTNAME
/// where still unset.
fn environment(opts: &SpecOptions) -> Vec<String> {
    let p = &opts.process;
    let mut env: Vec<String> = vec![
        format!("PATH={}", defaults::PATH),
        format!("container={}", defaults::CONTAINER_ENV),
    ];
    if p.terminal {
        env.push("TERM=xterm".to_string());
    }
    for entry in &p.env {
        let key = env_key(entry);
        match env.iter_mut().find(|e| env_key(e) == key) {
            Some(slot) => *slot = entry.clone(),
            None => env.push(entry.clone()),
        }
    }
    if !env.iter().any(|e| env_key(e) == "HOME") {
        env.push(format!("HOME={}", p.user.home));
    }
    if let Some(h) = &opts.hostname {
        if !env.iter().any(|e| env_key(e) == "HOSTNAME") {
            env.push(format!("HOSTNAME={h}"));
        }
    }
    env
}

fn namespace(typ: LinuxNamespaceType, path: Option<PathBuf>) -> LinuxNamespace {
    let mut ns = LinuxNamespace::default();
    ns.set_typ(typ);
    ns.set_path(path);
    ns
}

/// `linux.namespaces`: pid, network, ipc, uts, mount, then cgroup and user
/// where the container gets or joins one.
fn namespaces(opts: &SpecOptions) -> Result<Vec<LinuxNamespace>, SpecError> {
    let n = &opts.namespaces;
    let cgroup = n.cgroup.clone().unwrap_or(match opts.host.cgroup {
        CgroupMode::V2 => Namespace::Private,
        CgroupMode::V1 | CgroupMode::Hybrid => Namespace::Host,
    });
    let kinds = [
        ("pid", LinuxNamespaceType::Pid, &n.pid),
        ("network", LinuxNamespaceType::Network, &n.net),
        ("ipc", LinuxNamespaceType::Ipc, &n.ipc),
        ("uts", LinuxNamespaceType::Uts, &n.uts),
        ("mount", LinuxNamespaceType::Mount, &Namespace::Private),
        ("cgroup", LinuxNamespaceType::Cgroup, &cgroup),
        ("user", LinuxNamespaceType::User, &n.user),
    ];
    let mut out = Vec::new();
    for (kind, typ, mode) in kinds {
        match mode {
            Namespace::Host => {}
            Namespace::Private => out.push(namespace(typ, None)),
            Namespace::Join(path) if path.is_absolute() => {
                out.push(namespace(typ, Some(path.clone())))
            }
            Namespace::Join(path) => {
                return Err(SpecError::RelativeNamespacePath {
                    kind,
                    path: path.clone(),
                })
            }
        }
    }
    Ok(out)
}

fn id_mappings(maps: &[IdMap]) -> Result<Vec<LinuxIdMapping>, SpecError> {
    maps.iter()
        .map(|m| {
            LinuxIdMappingBuilder::default()
                .container_id(m.container)
                .host_id(m.host)
                .size(m.size)
                .build()
                .map_err(assemble("id mappings"))
        })
        .collect()
}

/// Sysctls in the IPC namespace (sysctl(8), namespaces(7)).
const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The namespace that confines sysctl `key`, if one does.
pub fn sysctl_namespace(key: &str) -> Option<oci_spec::runtime::LinuxNamespaceType> {
    use oci_spec::runtime::LinuxNamespaceType as T;
    if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(T::Ipc)
    } else if key.starts_with("net.") {
        Some(T::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(T::Uts)
    } else {
        None
    }
}

/// `linux.sysctl`: the caller's, each checked to belong to a namespace the
/// container has of its own, over podman's defaults.
fn sysctls(opts: &SpecOptions) -> Result<HashMap<String, String>, SpecError> {
    let n = &opts.namespaces;
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    if n.net == Namespace::Private {
        for (k, v) in defaults::SYSCTLS {
            out.insert(k.to_string(), v.to_string());
        }
    }
    for (key, value) in &opts.sysctls {
        use oci_spec::runtime::LinuxNamespaceType as T;
        let needs = sysctl_namespace(key).map(|t| match t {
            T::Ipc => ("ipc", &n.ipc),
            T::Network => ("network", &n.net),
            _ => ("uts", &n.uts),
        });
        match needs {
            None => return Err(SpecError::SysctlNotNamespaced { key: key.clone() }),
            Some((namespace, Namespace::Host)) => {
                return Err(SpecError::SysctlNeedsNamespace {
                    key: key.clone(),
                    namespace,
                })
            }
            Some(_) => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// `linux.devices`: the `--device` nodes the runtime creates. Rootless
/// callers cannot create device nodes; they bind them (see the mounts).
fn devices(opts: &SpecOptions) -> Option<Vec<LinuxDevice>> {
    if opts.caller.is_rootless() || opts.devices.is_empty() {
        return None;
    }
    Some(
        opts.devices
            .iter()
            .map(|d| {
                let mut o = LinuxDevice::default();
                o.set_path(d.container_path.clone());
                o.set_typ(match d.kind {
                    DeviceKind::Char => LinuxDeviceType::C,
                    DeviceKind::Block => LinuxDeviceType::B,
                });
                o.set_major(d.major);
                o.set_minor(d.minor);
                o.set_file_mode(Some(d.file_mode));
                o.set_uid(Some(d.uid));
                o.set_gid(Some(d.gid));
                o
            })
            .collect(),
    )
}
