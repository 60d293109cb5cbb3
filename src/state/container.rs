//! What skiff records of a container: the typed options it was created with
//! (the form the CLI, kube YAML and unit files are all translated into) and
//! its lifecycle state.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::image::digest::Digest;

/// How a container's output is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogDriver {
    /// `<RFC3339Nano> stdout|stderr F|P text` lines in a file.
    #[default]
    K8sFile,
    /// Nothing is kept.
    None,
    /// The container writes to the terminal of the process that started it.
    Passthrough,
}

/// `--restart`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "policy")]
pub enum RestartPolicy {
    #[default]
    No,
    OnFailure {
        /// 0: no limit.
        max_retries: u32,
    },
    Always,
    UnlessStopped,
}

/// `--ulimit NAME=SOFT[:HARD]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// Resource limits (`--memory`, `--cpus`, `--pids-limit`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    /// CPUs as a fraction (1.5 = one and a half).
    pub cpus: Option<f64>,
    pub cpu_shares: Option<u64>,
    pub pids_limit: Option<i64>,
}

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// A published port range (`-p [IP:]HOST:CONTAINER[/PROTO]`): `range`
/// consecutive ports from `host_port` forwarded to those from
/// `container_port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// Empty: every address of the host.
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
    pub range: u16,
}

impl PortMapping {
    /// (container port, host port) for each port of the range.
    pub fn pairs(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        (0..self.range.max(1)).map(move |i| {
            (
                self.container_port.saturating_add(i),
                self.host_port.saturating_add(i),
            )
        })
    }
}

/// `--security-opt seccomp=...`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "path")]
pub enum SeccompChoice {
    #[default]
    Default,
    Unconfined,
    Profile(std::path::PathBuf),
}

/// `--userns`: which user namespace the container runs in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum UserNsMode {
    /// skiff's own: the host's ids as root, the rootless namespace's for a
    /// normal user.
    #[default]
    Host,
    /// Rootless: the user's own ids inside (as `uid`/`gid` when given),
    /// with a passwd entry for them.
    KeepId { uid: Option<u32>, gid: Option<u32> },
    /// Rootless: every id of the rootless namespace but the user's own.
    NoMap,
    /// A range of `size` ids (default: what the image's files need) that no
    /// other container uses.
    Auto { size: Option<u32> },
    /// `--uidmap`/`--gidmap` as given.
    Custom,
}

impl UserNsMode {
    /// As podman's inspect shows it (`HostConfig.UsernsMode`).
    pub fn as_podman(&self) -> String {
        match self {
            UserNsMode::Host => String::new(),
            UserNsMode::KeepId { .. } => "keep-id".into(),
            UserNsMode::NoMap => "nomap".into(),
            UserNsMode::Auto { .. } => "auto".into(),
            UserNsMode::Custom => "private".into(),
        }
    }
}

/// A mount the user asked for (`-v`, `--mount`, `--tmpfs`,
/// `--volumes-from`, an image's VOLUME).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum MountSpec {
    /// A host file or directory.
    Bind {
        source: std::path::PathBuf,
        destination: String,
        /// mount(8) options (`ro`, `nosuid`, `rslave`, ...).
        options: Vec<String>,
        /// `:U`: the source is chowned to the container's user at start.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        chown: bool,
    },
    /// A volume of the store, by name.
    Volume {
        name: String,
        destination: String,
        options: Vec<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        chown: bool,
        /// `nocopy`: an empty volume is not filled from the image.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        no_copy: bool,
        /// Only this path of the volume (`subpath=`; kube's subPath).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subpath: Option<String>,
    },
    /// A tmpfs of its own (`--tmpfs`, `type=tmpfs`).
    Tmpfs {
        destination: String,
        /// `size=`, `mode=`, `ro`, `noexec`, ...
        options: Vec<String>,
    },
    /// An image's files, read-only unless `rw` (`type=image`).
    Image {
        /// The image's id.
        image: String,
        destination: String,
        options: Vec<String>,
        /// Only this path of the image (`subpath=`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subpath: Option<String>,
    },
    /// A devpts instance (`type=devpts`).
    Devpts {
        destination: String,
        options: Vec<String>,
    },
}

impl MountSpec {
    pub fn destination(&self) -> &str {
        match self {
            MountSpec::Bind { destination, .. }
            | MountSpec::Volume { destination, .. }
            | MountSpec::Tmpfs { destination, .. }
            | MountSpec::Image { destination, .. }
            | MountSpec::Devpts { destination, .. } => destination,
        }
    }

    pub fn options(&self) -> &[String] {
        match self {
            MountSpec::Bind { options, .. }
            | MountSpec::Volume { options, .. }
            | MountSpec::Tmpfs { options, .. }
            | MountSpec::Image { options, .. }
            | MountSpec::Devpts { options, .. } => options,
        }
    }

    /// The name of the volume it mounts.
    pub fn volume(&self) -> Option<&str> {
        match self {
            MountSpec::Volume { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The part of a volume or image it mounts (`subpath=`).
    pub fn subpath(&self) -> Option<&str> {
        match self {
            MountSpec::Volume { subpath, .. } | MountSpec::Image { subpath, .. } => {
                subpath.as_deref()
            }
            _ => None,
        }
    }

    /// Mounted read-only.
    pub fn read_only(&self) -> bool {
        let opts = self.options();
        match self {
            MountSpec::Image { .. } => !opts.iter().any(|o| o == "rw"),
            _ => opts.iter().any(|o| o == "ro"),
        }
    }
}

/// `--image-volume`: what the image's VOLUMEs become.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageVolumeMode {
    /// An anonymous volume each (podman's `bind` and `anonymous`).
    #[default]
    Anonymous,
    /// A tmpfs each.
    Tmpfs,
    /// Nothing: the image's files stay in the container's own layer.
    Ignore,
}

impl std::str::FromStr for ImageVolumeMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "anonymous" | "bind" => Ok(ImageVolumeMode::Anonymous),
            "tmpfs" => Ok(ImageVolumeMode::Tmpfs),
            "ignore" => Ok(ImageVolumeMode::Ignore),
            other => Err(format!(
                "invalid image volume mode {other:?}: use anonymous (or bind), tmpfs or ignore"
            )),
        }
    }
}

/// `--network`: which network namespace the container has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// A network namespace of its own with loopback only (`none`; also
    /// the default until bridge and user-mode networks exist).
    #[default]
    None,
    /// The host's (for a rootless user: the one skiff runs in).
    Host,
    /// Another container's, by id (`container:NAME`).
    Container(String),
    /// The namespace bind-mounted at this path (`ns:PATH`).
    Ns(std::path::PathBuf),
    /// A namespace of its own connected by pasta (user-mode networking),
    /// which also forwards the published ports; the user's extra pasta
    /// options (`pasta:OPT,OPT`).
    Pasta(Vec<String>),
    /// A namespace of its own connected by slirp4netns, which also
    /// forwards the published ports (`slirp4netns:OPT=VALUE,...`).
    Slirp4netns(SlirpOptions),
    /// Bridge networks, by name (the default network when none was
    /// named), with what the container asked for on each.
    Bridge(Vec<NetworkAttachment>),
    /// The engine's default (`[containers] netns` of containers.conf, else
    /// bridge for root and pasta for a rootless user); never stored, it is
    /// resolved at create.
    Default,
}

/// The options of `--network slirp4netns`, as checked at create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlirpOptions {
    /// The container may reach the host's loopback at the gateway.
    pub allow_host_loopback: bool,
    pub enable_ipv6: bool,
    /// The IPv4 network, `ADDRESS/PREFIX` (none: slirp4netns's 10.0.2.0/24).
    pub cidr: Option<String>,
    pub mtu: u32,
    /// The host address (or interface) outbound IPv4 traffic leaves from.
    pub outbound_addr: Option<String>,
    /// The same for IPv6.
    pub outbound_addr6: Option<String>,
}

/// A container's place on one bridge network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkAttachment {
    pub network: String,
    /// `--ip`, `ip=`: fixed addresses.
    pub ips: Vec<std::net::IpAddr>,
    /// `--mac-address`, `mac=`.
    pub mac: Option<String>,
    /// `--network-alias`, `alias=`: more names it answers to.
    pub aliases: Vec<String>,
    /// `interface_name=`: the interface inside (default eth0, eth1, ...).
    pub interface: Option<String>,
}

/// The state of a running container on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkStatus {
    pub interface: String,
    pub mac: String,
    /// Addresses with their prefix lengths.
    pub addresses: Vec<(std::net::IpAddr, u8)>,
    pub gateways: Vec<std::net::IpAddr>,
}

impl NetworkMode {
    /// As podman prints it (`inspect`'s HostConfig.NetworkMode).
    pub fn display(&self) -> String {
        match self {
            NetworkMode::None => "none".into(),
            NetworkMode::Host => "host".into(),
            NetworkMode::Container(id) => format!("container:{id}"),
            NetworkMode::Ns(p) => format!("ns:{}", p.display()),
            NetworkMode::Pasta(_) => "pasta".into(),
            NetworkMode::Slirp4netns(_) => "slirp4netns".into(),
            NetworkMode::Bridge(_) | NetworkMode::Default => "bridge".into(),
        }
    }

    /// Whether ports can be published into this mode's namespace.
    pub fn can_publish(&self) -> bool {
        matches!(
            self,
            NetworkMode::Pasta(_)
                | NetworkMode::Slirp4netns(_)
                | NetworkMode::Bridge(_)
                | NetworkMode::Default
        )
    }
}

/// `--ipc`, `--uts`, `--pid`, `--cgroupns`: where a container gets one of
/// these namespaces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "mode", content = "target")]
pub enum NamespaceMode {
    /// A new one of its own.
    #[default]
    Private,
    /// The host's (for a rootless user: the one skiff runs in).
    Host,
    /// Another container's, by id (`container:NAME`; a pod's containers
    /// join their infra container's).
    Container(String),
    /// The namespace bind-mounted at this path (`ns:PATH`).
    Ns(std::path::PathBuf),
}

impl NamespaceMode {
    /// As podman's inspect shows it (`HostConfig.IpcMode` and the like).
    pub fn display(&self) -> String {
        match self {
            NamespaceMode::Private => "private".into(),
            NamespaceMode::Host => "host".into(),
            NamespaceMode::Container(id) => format!("container:{id}"),
            NamespaceMode::Ns(p) => format!("ns:{}", p.display()),
        }
    }
}

/// The namespaces besides the network one that a container may share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NamespaceModes {
    pub ipc: NamespaceMode,
    pub uts: NamespaceMode,
    pub pid: NamespaceMode,
    /// `None`: podman's default (private on a cgroup v2 host).
    pub cgroup: Option<NamespaceMode>,
    /// The container (a pod's infra container) whose user namespace it
    /// joins, with that container's `userns` and id mappings copied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// `--add-host NAME[;NAME...]:IP`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostEntry {
    pub names: Vec<String>,
    pub ip: std::net::IpAddr,
}

/// `--dns`, `--dns-search`, `--dns-option`: the container's resolv.conf
/// (empty lists: the host's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DnsConfig {
    pub servers: Vec<std::net::IpAddr>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl DnsConfig {
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.search.is_empty() && self.options.is_empty()
    }
}

/// The typed options of a container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerConfig {
    /// The command; empty means the image's.
    pub command: Vec<String>,
    /// `--entrypoint`; `None` means the image's, `Some(vec![])` none.
    pub entrypoint: Option<Vec<String>>,
    /// `NAME=VALUE` pairs added to the image's environment.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub tty: bool,
    pub interactive: bool,
    pub read_only: bool,
    /// `--read-only-tmpfs`: with `--read-only`, tmpfs on /tmp, /var/tmp,
    /// /run and the like (`None`: podman's default, yes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only_tmpfs: Option<bool>,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub no_new_privileges: bool,
    pub seccomp: SeccompChoice,
    pub mask: Vec<String>,
    pub unmask: Vec<String>,
    pub ulimits: Vec<Ulimit>,
    pub resources: Resources,
    /// `--init`: skiff's init (or `init_path`) runs as PID 1 and starts
    /// the command.
    pub init: bool,
    pub init_path: Option<std::path::PathBuf>,
    pub restart: RestartPolicy,
    /// Signal number sent by `stop`.
    pub stop_signal: Option<i32>,
    /// Seconds `stop` waits before SIGKILL.
    pub stop_timeout: Option<u64>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub log_driver: LogDriver,
    pub log_max_size: Option<u64>,
    /// `--rm`: remove after exit.
    pub auto_remove: bool,
    /// `--requires`: ids of containers started before this one, and not
    /// removed while it exists.
    pub requires: Vec<String>,
    /// Ports published on the host (`-p`, and `-P`'s exposed ports), with
    /// the free host ports chosen at create.
    pub ports: Vec<PortMapping>,
    /// `-P`: the image's exposed ports were published.
    pub publish_all: bool,
    pub userns: UserNsMode,
    /// The container's own user namespace mappings, resolved at create
    /// (`None`: it shares skiff's).
    pub id_mappings: Option<crate::idmap::IdMappings>,
    /// `--group-add`: group names or ids added to the process's groups.
    pub group_add: Vec<String>,
    /// `--group-add keep-groups`: the caller's supplementary groups stay
    /// (crun only).
    pub keep_groups: bool,
    pub mounts: Vec<MountSpec>,
    /// `--volumes-from CONTAINER[:ro|rw]` as given; create copies those
    /// containers' volume and bind mounts into `mounts`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
    /// `--image-volume` (`None`: containers.conf's, else anonymous);
    /// resolved at create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_volume: Option<ImageVolumeMode>,
    pub network: NetworkMode,
    /// `--add-host` entries, first in /etc/hosts.
    pub add_hosts: Vec<HostEntry>,
    pub dns: DnsConfig,
    /// `--no-hosts`: the image's /etc/hosts stays.
    pub no_hosts: bool,
    /// `--ipc`, `--uts`, `--pid`, `--cgroupns`.
    pub namespaces: NamespaceModes,
    /// The pod it belongs to, by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// It is its pod's infra container.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub infra: bool,
}

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Created,
    Running,
    Paused,
    Exited,
    Stopping,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Exited => "exited",
            Status::Stopping => "stopping",
        }
    }

    /// A monitor and a container process exist.
    pub fn is_live(self) -> bool {
        matches!(self, Status::Running | Status::Paused | Status::Stopping)
    }
}

/// The lifecycle part of a record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    pub status: Status,
    /// The container's init process, while live.
    pub pid: Option<i32>,
    /// The monitor process and its start time (to tell a reused pid apart).
    pub monitor_pid: Option<i32>,
    pub monitor_start: Option<u64>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub oom_killed: bool,
    pub restart_count: u32,
    /// Set by `stop`/`kill` so restart policies do not bring it back.
    pub stopped_by_user: bool,
    /// The run directory's boot id when the state was written: a different
    /// one means the machine rebooted (or the run directory was wiped).
    pub boot: Option<String>,
    /// Its addresses on each bridge network, while it runs.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub networks: std::collections::BTreeMap<String, NetworkStatus>,
}

/// The image a container was created from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub id: Digest,
    /// The name the user gave (`busybox`), as podman shows it.
    pub name: String,
    pub top_layer: Option<Digest>,
}

/// A container record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub image: ImageRef,
    pub created: DateTime<Utc>,
    pub config: ContainerConfig,
    /// The resolved process args (entrypoint + command).
    pub args: Vec<String>,
    pub runtime: String,
    pub state: ContainerState,
}

impl ContainerRecord {
    /// One of its mounts is volume `name`.
    pub fn uses_volume(&self, name: &str) -> bool {
        self.config.mounts.iter().any(|m| m.volume() == Some(name))
    }

    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }
}
