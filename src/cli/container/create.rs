//! `skiff create` (and the options `run` shares): turn podman's flags into the
//! engine's typed container options.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::parse;
use crate::cli::image::pull::{apply_authfile, tls_verify};
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::container::create::{CreateOptions, PullPolicy};
use crate::engine::pull::{PullOptions, Silent};
use crate::idmap::{IdMap, IdMappings};
use crate::state::container::{
    ContainerConfig, DnsConfig, LogDriver, NamespaceModes, NetworkMode, Resources, UserNsMode,
};

/// Flags common to `create` and `run`.
#[derive(Debug, Args, Clone)]
pub struct CreateArgs {
    /// Name of the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set an environment variable (NAME=VALUE, or NAME to copy skiff's own)
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read environment variables from a file
    #[arg(long)]
    pub env_file: Vec<std::path::PathBuf>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// User (and group) to run as: NAME|UID[:GROUP|GID]
    #[arg(short, long)]
    pub user: Option<String>,
    /// Override the image's entrypoint (a string, or a JSON array)
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(long, short = 'h')]
    pub hostname: Option<String>,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Keep stdin open
    #[arg(short, long)]
    pub interactive: bool,
    /// Mount the root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// Give the container all capabilities and devices, no seccomp, no masked paths
    #[arg(long)]
    pub privileged: bool,
    /// Add a capability (or ALL)
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop a capability (or ALL)
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// no-new-privileges, seccomp=unconfined|PATH, mask=PATHS, unmask=PATHS
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// Resource limit: NAME=SOFT[:HARD]
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Memory limit (e.g. 64m)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Number of CPUs (e.g. 1.5)
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Process limit
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Path to the init binary used with --init
    #[arg(long, requires = "init")]
    pub init_path: Option<std::path::PathBuf>,
    /// Restart policy: no, on-failure[:N], always, unless-stopped
    #[arg(long, default_value = "no")]
    pub restart: String,
    /// Signal sent by stop
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Seconds stop waits before killing
    #[arg(long)]
    pub stop_timeout: Option<u64>,
    /// Set a label (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Set an annotation (KEY=VALUE)
    #[arg(long)]
    pub annotation: Vec<String>,
    /// k8s-file, none or passthrough
    #[arg(long, value_parser = ["k8s-file", "none", "passthrough"])]
    pub log_driver: Option<String>,
    /// Log driver options (max-size=SIZE)
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Containers to start before this one (comma-separated names or ids)
    #[arg(long, value_delimiter = ',')]
    pub requires: Vec<String>,
    /// Remove a container with the same name first
    #[arg(long)]
    pub replace: bool,
    /// When to pull the image: always, missing, never, newer
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// OCI runtime (name or path)
    #[arg(long)]
    pub runtime: Option<String>,
    /// User namespace: host (skiff's own: the host's ids as root, the
    /// rootless namespace for a normal user), keep-id[:uid=N,gid=N], nomap,
    /// auto[:size=N]
    #[arg(long)]
    pub userns: Option<String>,
    /// Map container ids to outside ids in a new user namespace:
    /// CONTAINER:HOST:SIZE (outside ids are the rootless namespace's when
    /// rootless)
    #[arg(long)]
    pub uidmap: Vec<String>,
    /// Group id map, as --uidmap (default: the same as --uidmap)
    #[arg(long)]
    pub gidmap: Vec<String>,
    /// Add a supplementary group (name or id), or keep-groups to keep the
    /// caller's groups (crun)
    #[arg(long)]
    pub group_add: Vec<String>,
    /// Bind mount a host path: SOURCE:DESTINATION[:OPTIONS]
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Attach a mount: type=bind|volume|tmpfs|image|devpts,target=PATH,...
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount a tmpfs at PATH[:OPTIONS]
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Mount the volumes and bind mounts of a container, CONTAINER[:ro|rw]
    #[arg(long)]
    pub volumes_from: Vec<String>,
    /// What the image's VOLUMEs become: anonymous (or bind), tmpfs, ignore
    #[arg(long)]
    pub image_volume: Option<String>,
    /// With --read-only, writable tmpfs on /tmp, /var/tmp and /run
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub read_only_tmpfs: Option<bool>,
    #[command(flatten)]
    pub net: NetworkArgs,
    /// Publish every port the image exposes on a free host port
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// IPC namespace: private, shareable, host, container:NAME, ns:PATH
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace (host name): private, host, container:NAME, ns:PATH
    #[arg(long)]
    pub uts: Option<String>,
    /// PID namespace: private, host, container:NAME, ns:PATH
    #[arg(long)]
    pub pid: Option<String>,
    /// Cgroup namespace: private, host, container:NAME, ns:PATH
    #[arg(long)]
    pub cgroupns: Option<String>,
    /// Run in this pod (name or id), or in a new one: new:NAME
    #[arg(long)]
    pub pod: Option<String>,
    /// Require HTTPS for a pull (default: as registries.conf says)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Credentials file for a pull
    #[arg(long)]
    pub authfile: Option<std::path::PathBuf>,
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Image
    pub image: String,
    /// Command and arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// The network flags of `create`, `run` and `pod create`.
#[derive(Debug, Args, Clone, Default)]
pub struct NetworkArgs {
    /// Network: a bridge network's NAME[:ip=IP,mac=MAC,alias=NAME,
    /// interface_name=NAME] (repeatable; bridge is the default network),
    /// pasta[:OPTIONS], slirp4netns[:OPTION=VALUE,...], none, host,
    /// container:NAME, ns:PATH, private (default: bridge for root, pasta
    /// for other users)
    #[arg(long, visible_alias = "net")]
    pub network: Vec<String>,
    /// The container's IPv4 address on its (single) bridge network
    #[arg(long)]
    pub ip: Vec<String>,
    /// The container's IPv6 address on its (single) bridge network
    #[arg(long)]
    pub ip6: Vec<String>,
    /// The container's MAC address on its (single) bridge network
    #[arg(long)]
    pub mac_address: Option<String>,
    /// Another name the container answers to on its bridge network
    #[arg(long)]
    pub network_alias: Vec<String>,
    /// Publish a container's port(s) on the host:
    /// [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTOCOL] (ports may be ranges A-B)
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// Add a line to /etc/hosts: NAME[;NAME...]:IP
    #[arg(long)]
    pub add_host: Vec<String>,
    /// A DNS server for /etc/resolv.conf (instead of the host's)
    #[arg(long)]
    pub dns: Vec<String>,
    /// A DNS search domain ("." for none)
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// A resolv.conf option (ndots:N, ...)
    #[arg(long)]
    pub dns_option: Vec<String>,
    /// Leave the image's /etc/hosts alone
    #[arg(long)]
    pub no_hosts: bool,
}

impl NetworkArgs {
    /// `--network` (repeatable) with `--ip`, `--mac-address` and
    /// `--network-alias`.
    fn network_mode(&self) -> anyhow::Result<NetworkMode> {
        let flags = crate::engine::network::mode::AttachmentFlags {
            ips: self
                .ip
                .iter()
                .chain(&self.ip6)
                .map(|i| {
                    i.parse()
                        .map_err(|_| anyhow::anyhow!("invalid --ip {i:?}: not an IP address"))
                })
                .collect::<anyhow::Result<_>>()?,
            mac: self.mac_address.clone(),
            aliases: self.network_alias.clone(),
        };
        crate::engine::network::mode::parse(&self.network, &flags).map_err(anyhow::Error::msg)
    }

    /// Set the network part of `config` from these flags.
    pub fn apply(&self, config: &mut ContainerConfig) -> anyhow::Result<()> {
        config.network = self.network_mode()?;
        config.add_hosts = self
            .add_host
            .iter()
            .map(|h| crate::engine::container::netfiles::parse_add_host(h))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
        config.dns = DnsConfig {
            servers: self
                .dns
                .iter()
                .map(|d| {
                    d.parse()
                        .map_err(|_| anyhow::anyhow!("invalid --dns {d:?}: not an IP address"))
                })
                .collect::<anyhow::Result<_>>()?,
            search: self.dns_search.clone(),
            options: self.dns_option.clone(),
        };
        config.no_hosts = self.no_hosts;
        config.ports = self
            .publish
            .iter()
            .map(|p| crate::engine::container::ports::parse_publish(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?
            .into_iter()
            .flatten()
            .collect();
        Ok(())
    }
}

fn entrypoint(s: &str) -> anyhow::Result<Vec<String>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    if s.trim_start().starts_with('[') {
        return serde_json::from_str(s)
            .map_err(|e| anyhow::anyhow!("invalid --entrypoint JSON array {s:?}: {e}"));
    }
    Ok(vec![s.to_string()])
}

impl CreateArgs {
    /// The engine's options; `auto_remove` comes from `run --rm`.
    pub fn to_options(&self, auto_remove: bool) -> anyhow::Result<CreateOptions> {
        apply_authfile(self.authfile.as_deref())?;
        let sec = parse::security_opts(&self.security_opt)?;
        let mut userns = parse::userns(self.userns.as_deref().unwrap_or(""))?;
        let mut id_mappings = None;
        if !self.uidmap.is_empty() || !self.gidmap.is_empty() {
            if userns != UserNsMode::Host {
                anyhow::bail!("--userns and --uidmap/--gidmap cannot be combined");
            }
            let parse_all = |items: &[String]| {
                items
                    .iter()
                    .map(|m| IdMap::parse(m))
                    .collect::<Result<Vec<_>, _>>()
            };
            let uids = parse_all(&self.uidmap)?;
            let gids = parse_all(&self.gidmap)?;
            id_mappings = Some(IdMappings {
                gids: if gids.is_empty() { uids.clone() } else { gids },
                uids: if uids.is_empty() {
                    anyhow::bail!("--gidmap needs --uidmap too")
                } else {
                    uids
                },
            });
            userns = UserNsMode::Custom;
        }
        let keep_groups = self.group_add.iter().any(|g| g == "keep-groups");
        if keep_groups && self.group_add.len() > 1 {
            anyhow::bail!(
                "the --group-add keep-groups option cannot be combined with other groups"
            );
        }
        let mut env = Vec::new();
        for f in &self.env_file {
            env.extend(parse::env_file(f)?);
        }
        env.extend(self.env.iter().filter_map(|e| parse::env_entry(e)));
        let mut log_max_size = None;
        for o in &self.log_opt {
            match o.split_once('=') {
                Some(("max-size", v)) => log_max_size = Some(parse::size(v)? as u64),
                _ => anyhow::bail!("unsupported --log-opt {o:?}: skiff supports max-size=SIZE"),
            }
        }
        let mut config = ContainerConfig {
            command: self.command.clone(),
            entrypoint: self.entrypoint.as_deref().map(entrypoint).transpose()?,
            env,
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            tty: self.tty,
            interactive: self.interactive,
            read_only: self.read_only,
            privileged: self.privileged,
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            no_new_privileges: sec.no_new_privileges,
            seccomp: sec.seccomp,
            mask: sec.mask,
            unmask: sec.unmask,
            ulimits: self
                .ulimit
                .iter()
                .map(|u| parse::ulimit(u))
                .collect::<anyhow::Result<_>>()?,
            resources: Resources {
                memory: self.memory.as_deref().map(parse::size).transpose()?,
                cpus: self.cpus,
                pids_limit: self.pids_limit,
                ..Default::default()
            },
            init: self.init,
            init_path: self.init_path.clone(),
            restart: parse::restart(&self.restart)?,
            stop_signal: self.stop_signal.as_deref().map(parse::signal).transpose()?,
            stop_timeout: self.stop_timeout,
            labels: parse::key_values(&self.label, "label")?,
            annotations: parse::key_values(&self.annotation, "annotation")?,
            log_driver: match self.log_driver.as_deref() {
                Some("none") => LogDriver::None,
                Some("passthrough") => LogDriver::Passthrough,
                _ => LogDriver::K8sFile,
            },
            log_max_size,
            auto_remove,
            requires: self.requires.clone(),
            userns,
            id_mappings,
            group_add: if keep_groups {
                Vec::new()
            } else {
                self.group_add.clone()
            },
            keep_groups,
            mounts: self
                .volume
                .iter()
                .map(|v| parse::volume(v))
                .chain(self.mount.iter().map(|m| parse::mount(m)))
                .chain(self.tmpfs.iter().map(|t| parse::tmpfs(t)))
                .collect::<Result<_, _>>()?,
            volumes_from: self.volumes_from.clone(),
            image_volume: self
                .image_volume
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?,
            read_only_tmpfs: self.read_only_tmpfs,
            publish_all: self.publish_all,
            namespaces: NamespaceModes {
                ipc: parse::namespace_mode("ipc", self.ipc.as_deref().unwrap_or(""))?,
                uts: parse::namespace_mode("uts", self.uts.as_deref().unwrap_or(""))?,
                pid: parse::namespace_mode("pid", self.pid.as_deref().unwrap_or(""))?,
                cgroup: self
                    .cgroupns
                    .as_deref()
                    .map(|m| parse::namespace_mode("cgroupns", m))
                    .transpose()?,
                user: None,
            },
            pod: self
                .pod
                .as_deref()
                .filter(|p| !p.starts_with("new:"))
                .map(str::to_string),
            infra: false,
            ..Default::default()
        };
        self.net.apply(&mut config)?;
        if config.auto_remove && config.restart != crate::state::container::RestartPolicy::No {
            anyhow::bail!(
                "the --rm option conflicts with --restart, when the restart policy is not \"no\""
            );
        }
        if let Some(c) = self.cpus {
            if c <= 0.0 {
                anyhow::bail!("invalid --cpus {c}: must be greater than 0");
            }
        }
        Ok(CreateOptions {
            image: self.image.clone(),
            name: self.name.clone(),
            pull: self
                .pull
                .parse::<PullPolicy>()
                .map_err(anyhow::Error::msg)?,
            pull_options: PullOptions {
                tls_verify: tls_verify(self.tls_verify),
                ..PullOptions::default()
            },
            replace: self.replace,
            runtime: self.runtime.clone(),
            config,
            new_pod: self
                .pod
                .as_deref()
                .and_then(|p| p.strip_prefix("new:"))
                .map(str::to_string),
        })
    }
}

pub fn run(ctx: &CliContext, args: CreateArgs) -> anyhow::Result<ExitCode> {
    let opts = args.to_options(false)?;
    let engine = ctx.engine()?;
    let rec = engine.create_container(&opts, &Silent)?;
    print_lines([&rec.id])?;
    Ok(ExitCode::SUCCESS)
}
