//! From a container record to the runtime's spec options: the image's
//! defaults (environment, working directory, user) under the user's options.

use std::path::{Path, PathBuf};

use oci_spec::runtime::PosixRlimitType;

use crate::engine::container::binaries::INIT_IN_CONTAINER;
use crate::engine::container::netfiles;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::image::config::ImageConfig;
use crate::runtime::spec::{
    self, Caller, ExtraMount, Host, LimitValue, MountKind, Namespace, PidsLimit, Seccomp,
    SpecOptions, Unmask,
};
use crate::state::container::{
    ContainerRecord, MountSpec, NamespaceMode, NetworkMode, SeccompChoice, Ulimit, UserNsMode,
};

/// `--ulimit` names to rlimit kinds.
fn rlimit_kind(name: &str) -> Option<PosixRlimitType> {
    use PosixRlimitType::*;
    Some(match name {
        "as" => RlimitAs,
        "core" => RlimitCore,
        "cpu" => RlimitCpu,
        "data" => RlimitData,
        "fsize" => RlimitFsize,
        "locks" => RlimitLocks,
        "memlock" => RlimitMemlock,
        "msgqueue" => RlimitMsgqueue,
        "nice" => RlimitNice,
        "nofile" => RlimitNofile,
        "nproc" => RlimitNproc,
        "rss" => RlimitRss,
        "rtprio" => RlimitRtprio,
        "rttime" => RlimitRttime,
        "sigpending" => RlimitSigpending,
        "stack" => RlimitStack,
        _ => return None,
    })
}

fn limit_value(v: u64) -> LimitValue {
    if v == u64::MAX {
        LimitValue::Unlimited
    } else {
        LimitValue::Value(v)
    }
}

fn ulimit(u: &Ulimit) -> Result<spec::Ulimit, ContainerError> {
    Ok(spec::Ulimit {
        kind: rlimit_kind(&u.name)
            .ok_or_else(|| ContainerError::Invalid(format!("unknown ulimit {:?}", u.name)))?,
        soft: limit_value(u.soft),
        hard: limit_value(u.hard),
    })
}

/// The cgroup under which root's containers live in every hierarchy, as
/// podman's cgroupfs manager keeps its own (`/libpod_parent`).
pub const CGROUP_PARENT: &str = "/skiff";

/// The cgroup of container `id`. Left without one, the runtime nests the
/// container under the cgroup of whatever process runs it (the monitor, so
/// the shell or unit that ran skiff): on a cgroup v2 host that cgroup holds
/// processes, so controllers cannot be enabled below it and limits fail.
pub fn cgroups_path(id: &str) -> PathBuf {
    PathBuf::from(format!("{CGROUP_PARENT}/{id}"))
}

/// The image's environment with the user's entries on top (same name:
/// the user's wins).
pub fn merge_env(image: &[String], user: &[String]) -> Vec<String> {
    let key = |e: &str| e.split('=').next().unwrap_or(e).to_string();
    let mut out: Vec<String> = image.to_vec();
    for e in user {
        let k = key(e);
        out.retain(|x| key(x) != k);
        out.push(e.clone());
    }
    out
}

/// Run the process under the init mounted at [`INIT_IN_CONTAINER`], as
/// podman does with catatonit: PID 1 reaps orphans and forwards signals.
fn with_init(opts: &mut SpecOptions, init: PathBuf) {
    opts.mounts.push(ExtraMount {
        destination: INIT_IN_CONTAINER.to_string(),
        kind: MountKind::Bind { source: init },
        options: vec!["bind".into(), "ro".into()],
    });
    let args = std::mem::take(&mut opts.process.args);
    opts.process.args = [INIT_IN_CONTAINER.to_string(), "--".to_string()]
        .into_iter()
        .chain(args)
        .collect();
}

impl Engine {
    /// Spec options for starting `rec` with its root filesystem at `rootfs`.
    pub fn spec_options(
        &self,
        rec: &ContainerRecord,
        image: &ImageConfig,
        rootfs: &Path,
    ) -> Result<SpecOptions, ContainerError> {
        let run = image.config.clone().unwrap_or_default();
        let c = &rec.config;
        let caller = match self.privilege() {
            crate::config::paths::Privilege::Root => Caller::Root,
            crate::config::paths::Privilege::Rootless => Caller::Rootless {
                cgroups_delegated: self.cgroups_usable(),
            },
        };
        let mut opts = SpecOptions::new(rootfs.to_owned(), rec.args.clone(), caller, Host::probe());
        if caller == Caller::Root {
            if let Some(pod) = &rec.config.pod {
                self.ensure_pod_cgroup(pod)?;
            }
            opts.cgroups_path = Some(self.container_cgroup(rec));
        }
        let mut user = spec::user::resolve(
            rootfs,
            requested_user(c).as_deref().unwrap_or(""),
            run.user.as_deref().unwrap_or(""),
        )
        .map_err(|e| ContainerError::Invalid(e.to_string()))?;
        if !c.group_add.is_empty() {
            let (_, group) = spec::user::account_files(rootfs)
                .map_err(|e| ContainerError::Invalid(e.to_string()))?;
            for gid in spec::user::group_ids(group.as_deref(), &c.group_add)
                .map_err(|e| ContainerError::Invalid(format!("--group-add: {e}")))?
            {
                if !user.additional_gids.contains(&gid) {
                    user.additional_gids.push(gid);
                }
            }
        }
        if let Some(maps) = &c.id_mappings {
            opts.namespaces.user = Namespace::Private;
            opts.id_mappings = Some(maps.clone());
            let rundir = self.containers()?.rundir(&rec.id);
            let accounts = self.keep_id_accounts(rec, rootfs, &rundir, &mut user.home)?;
            opts.mounts.extend(accounts);
        }
        if let Some(other) = &c.namespaces.user {
            opts.namespaces.user = self.namespace_of(other, "user", "user")?;
        }
        opts.process.env = merge_env(&run.env.clone().unwrap_or_default(), &c.env);
        opts.process.cwd = c
            .workdir
            .clone()
            .or(run.working_dir.clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".to_string());
        if !opts.process.cwd.starts_with('/') {
            return Err(ContainerError::Invalid(format!(
                "the working directory {:?} is not an absolute path",
                opts.process.cwd
            )));
        }
        opts.process.terminal = c.tty;
        opts.process.user = user;
        opts.process.no_new_privileges = c.no_new_privileges;
        opts.rootfs.readonly = c.read_only;
        opts.rootfs.read_write_tmpfs = c.read_only_tmpfs.unwrap_or(true);
        opts.security.privileged = c.privileged;
        opts.security.cap_add = c.cap_add.clone();
        opts.security.cap_drop = c.cap_drop.clone();
        opts.security.seccomp = match &c.seccomp {
            SeccompChoice::Default => Seccomp::Default,
            SeccompChoice::Unconfined => Seccomp::Unconfined,
            SeccompChoice::Profile(p) => Seccomp::Profile(Box::new(
                spec::seccomp::Profile::from_file(p)
                    .map_err(|e| ContainerError::Invalid(e.to_string()))?,
            )),
        };
        opts.security.mask = c.mask.clone();
        opts.security.unmask = if c.unmask.iter().any(|u| u == "ALL") {
            Unmask::All
        } else if c.unmask.is_empty() {
            Unmask::None
        } else {
            Unmask::Paths(c.unmask.clone())
        };
        let hostname = match (&c.hostname, &c.network) {
            (Some(h), _) => h.clone(),
            // The name of the container whose UTS namespace it joins.
            (None, _) if matches!(c.namespaces.uts, NamespaceMode::Container(_)) => {
                let NamespaceMode::Container(id) = &c.namespaces.uts else {
                    unreachable!("matched above")
                };
                let other = self.containers()?.get(id)?;
                other
                    .map(|o| {
                        o.config
                            .hostname
                            .clone()
                            .unwrap_or_else(|| o.short_id().to_string())
                    })
                    .unwrap_or_default()
            }
            // podman: the host's name, in a UTS namespace of its own.
            (None, NetworkMode::Host) => nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| rec.short_id().to_string()),
            (None, _) => rec.short_id().to_string(),
        };
        self.network_options(rec, &mut opts, &hostname)?;
        self.namespace_options(rec, &mut opts)?;
        // A host name is set only in a UTS namespace of its own.
        if c.namespaces.uts == NamespaceMode::Private {
            opts.hostname = Some(hostname);
        }
        opts.annotations = c.annotations.clone();
        if c.keep_groups {
            // crun leaves the caller's supplementary groups alone.
            opts.annotations
                .insert("run.oci.keep_original_groups".into(), "1".into());
        }
        let owner = host_ids(rec, &opts.process.user);
        self.prepare_volumes(rec, rootfs, owner)?;
        let rundir = self.containers()?.rundir(&rec.id);
        self.hold_container_images(rec, &rundir)
            .map_err(|e| ContainerError::Invalid(format!("mounting an image: {e}")))?;
        let subpaths = self.bind_subpaths(rec, &rundir)?;
        for (i, (m, staged)) in c.mounts.iter().zip(subpaths).enumerate() {
            let mut extra = self.extra_mount(m)?;
            if let Some(source) = staged.or_else(|| self.image_mount_source(&rundir, i, m)) {
                extra.kind = MountKind::Bind { source };
            }
            opts.mounts.push(extra);
        }
        self.chown_mounts(rec, owner)?;
        opts.resources.memory = c.resources.memory;
        opts.resources.cpus = c.resources.cpus;
        opts.resources.cpu_shares = c.resources.cpu_shares;
        opts.resources.pids_limit = match c.resources.pids_limit {
            None => PidsLimit::Default,
            Some(n) if n <= 0 => PidsLimit::Unlimited,
            Some(n) => PidsLimit::Limit(n),
        };
        opts.ulimits.explicit = c.ulimits.iter().map(ulimit).collect::<Result<_, _>>()?;
        if c.init {
            let init = self.init_binary(c.init_path.as_deref())?;
            with_init(&mut opts, init);
        }
        Ok(opts)
    }
}

impl Engine {
    /// A mount the user asked for, as the runtime gets it.
    fn extra_mount(&self, m: &MountSpec) -> Result<ExtraMount, ContainerError> {
        let destination = m.destination().to_string();
        let mut options = m.options().to_vec();
        let kind = match m {
            MountSpec::Bind { source, .. } => MountKind::Bind {
                source: source.clone(),
            },
            MountSpec::Volume { name, .. } => {
                // podman's defaults for a volume.
                for o in ["nosuid", "nodev"] {
                    if !options.iter().any(|x| x == o || x == &o[2..]) {
                        options.push(o.to_string());
                    }
                }
                let volumes = self.volumes()?;
                // A bind of a read-only mount is writable unless it says
                // otherwise: the volume's own `o=ro` holds in here too.
                let volume_ro = volumes
                    .get(name)?
                    .and_then(|v| v.mount)
                    .is_some_and(|m| m.options.split(',').any(|o| o == "ro"));
                if volume_ro && !options.iter().any(|o| o == "ro") {
                    options.retain(|o| o != "rw");
                    options.push("ro".into());
                }
                MountKind::Bind {
                    source: volumes.data_dir(name),
                }
            }
            MountSpec::Tmpfs { .. } => MountKind::Tmpfs,
            MountSpec::Devpts { .. } => {
                for o in ["nosuid", "noexec", "newinstance"] {
                    if !options.iter().any(|x| x == o) {
                        options.push(o.to_string());
                    }
                }
                MountKind::Other {
                    typ: "devpts".into(),
                    source: "devpts".into(),
                }
            }
            MountSpec::Image { image, .. } => {
                let id = crate::image::digest::Digest::from_hex(image)
                    .map_err(|e| ContainerError::Invalid(format!("image mount {image}: {e}")))?;
                if m.read_only() && !options.iter().any(|o| o == "ro") {
                    options.push("ro".into());
                }
                // Where its files are comes with the container's run
                // directory (`image_mount_source`).
                MountKind::Bind {
                    source: self.image_view(&id),
                }
            }
        };
        Ok(ExtraMount {
            destination,
            kind,
            options,
        })
    }

    /// `:U`: the sources of such mounts, recursively, given to the
    /// container's user (as the host sees it through the container's id
    /// mappings).
    fn chown_mounts(
        &self,
        rec: &ContainerRecord,
        (uid, gid): (u32, u32),
    ) -> Result<(), ContainerError> {
        let c = &rec.config;
        for m in &c.mounts {
            let source = match m {
                MountSpec::Bind {
                    source,
                    chown: true,
                    ..
                } => source.clone(),
                MountSpec::Volume {
                    name, chown: true, ..
                } => self.volumes()?.data_dir(name),
                _ => continue,
            };
            chown_tree(&source, uid, gid).map_err(|e| {
                ContainerError::Invalid(format!("chown of {} for :U: {e}", source.display()))
            })?;
        }
        Ok(())
    }

    /// The network namespace of `rec` and its /etc/hosts, /etc/resolv.conf
    /// and /etc/hostname (see `netfiles`); a file the user mounts stays
    /// theirs.
    fn network_options(
        &self,
        rec: &ContainerRecord,
        opts: &mut SpecOptions,
        hostname: &str,
    ) -> Result<(), ContainerError> {
        let c = &rec.config;
        let rundir = self.containers()?.rundir(&rec.id);
        let netdir = self.containers()?.usernet_dir(&rec.id);
        let mut facts = netfiles::NetFacts::plain();
        let files = match &c.network {
            NetworkMode::None => None,
            NetworkMode::Host => {
                opts.namespaces.net = Namespace::Host;
                None
            }
            NetworkMode::Ns(path) => {
                opts.namespaces.net = Namespace::Join(path.clone());
                None
            }
            // Made and connected by pasta or slirp4netns before the runtime runs.
            NetworkMode::Pasta(_) => {
                opts.namespaces.net =
                    Namespace::Join(netdir.join(crate::engine::container::usernet::NETNS));
                facts = netfiles::NetFacts::pasta();
                None
            }
            NetworkMode::Slirp4netns(o) => {
                opts.namespaces.net =
                    Namespace::Join(netdir.join(crate::engine::container::usernet::NETNS));
                facts = netfiles::NetFacts::slirp(o);
                None
            }
            // Made and attached to the bridges before the runtime runs.
            NetworkMode::Bridge(_) => {
                opts.namespaces.net =
                    Namespace::Join(rundir.join(crate::engine::network::attach::NETNS));
                facts = self.bridge_facts(rec)?;
                None
            }
            NetworkMode::Default => {
                return Err(ContainerError::Invalid(format!(
                    "container {} has no network mode: recreate it",
                    rec.name
                )))
            }
            NetworkMode::Container(id) => {
                opts.namespaces.net = self.namespace_of(id, "net", "network")?;
                // Its files, as they are (and its host name with its UTS
                // namespace).
                let theirs = self.containers()?.rundir(id);
                let same_uts = c.namespaces.uts == NamespaceMode::Container(id.clone());
                Some(
                    [
                        (netfiles::HOSTS, "/etc/hosts"),
                        (netfiles::RESOLV_CONF, "/etc/resolv.conf"),
                    ]
                    .into_iter()
                    .chain(same_uts.then_some((netfiles::HOSTNAME, "/etc/hostname")))
                    .map(|(f, d)| (theirs.join(f), d))
                    .filter(|(p, _)| p.exists())
                    .collect::<Vec<_>>(),
                )
            }
        };
        let mut files = match files {
            Some(f) => f,
            None => {
                let owner = c.id_mappings.as_ref().and_then(|m| m.root());
                netfiles::write(&rundir, c, hostname, &rec.name, owner, &facts).map_err(|e| {
                    ContainerError::Invalid(format!(
                        "writing the network files of {} in {}: {e}",
                        rec.name,
                        rundir.display()
                    ))
                })?
            }
        };
        files.retain(|(_, dest)| !c.mounts.iter().any(|m| m.destination() == *dest));
        for (source, destination) in files {
            opts.mounts.push(ExtraMount {
                destination: destination.to_string(),
                kind: MountKind::Bind { source },
                options: vec!["bind".into()],
            });
        }
        Ok(())
    }
}

impl Engine {
    /// `/proc/PID/ns/KIND` of running container `id`, whose `what`
    /// namespace a container joins.
    fn namespace_of(&self, id: &str, kind: &str, what: &str) -> Result<Namespace, ContainerError> {
        let other = self.containers()?.get(id)?.ok_or_else(|| {
            ContainerError::Invalid(format!(
                "the container {id} whose {what} namespace this one shares is gone"
            ))
        })?;
        let pid = other
            .state
            .pid
            .filter(|_| other.state.status.is_live())
            .ok_or_else(|| {
                ContainerError::Invalid(format!(
                    "the container {} whose {what} namespace this one shares is not running",
                    other.name
                ))
            })?;
        Ok(Namespace::Join(format!("/proc/{pid}/ns/{kind}").into()))
    }

    /// The IPC, UTS, PID and cgroup namespaces of `rec`.
    fn namespace_options(
        &self,
        rec: &ContainerRecord,
        opts: &mut SpecOptions,
    ) -> Result<(), ContainerError> {
        let m = &rec.config.namespaces;
        let resolve = |mode: &NamespaceMode, kind: &str, what: &str| match mode {
            NamespaceMode::Private => Ok(Namespace::Private),
            NamespaceMode::Host => Ok(Namespace::Host),
            NamespaceMode::Ns(p) => Ok(Namespace::Join(p.clone())),
            NamespaceMode::Container(id) => self.namespace_of(id, kind, what),
        };
        opts.namespaces.ipc = resolve(&m.ipc, "ipc", "IPC")?;
        // Sharing IPC shares /dev/shm too, when the other container has
        // one to share (a pod's infra container does).
        let store = self.containers()?;
        if rec.config.infra && m.ipc == NamespaceMode::Private {
            let dir = crate::engine::container::shm::mount(&store.rundir(&rec.id))
                .map_err(ContainerError::Invalid)?;
            opts.shm = spec::Shm::Bind(dir);
        }
        if let NamespaceMode::Container(other) = &m.ipc {
            if let Some(dir) = crate::engine::container::shm::shared(&store.rundir(other)) {
                opts.shm = spec::Shm::Bind(dir);
            }
        }
        opts.namespaces.uts = resolve(&m.uts, "uts", "UTS")?;
        opts.namespaces.pid = resolve(&m.pid, "pid", "PID")?;
        if let Some(cg) = &m.cgroup {
            opts.namespaces.cgroup = Some(resolve(cg, "cgroup", "cgroup")?);
        }
        Ok(())
    }

    /// What a container on bridge networks puts in its files: the
    /// resolvers of its networks with DNS and their domain, its first
    /// address for its names, and its first network's gateway for
    /// host.containers.internal (podman's choices).
    fn bridge_facts(&self, rec: &ContainerRecord) -> Result<netfiles::NetFacts, ContainerError> {
        let NetworkMode::Bridge(attached) = &rec.config.network else {
            return Ok(netfiles::NetFacts::plain());
        };
        let store = self.networks()?;
        let mut facts = netfiles::NetFacts::default();
        for (i, a) in attached.iter().enumerate() {
            let Some(status) = rec.state.networks.get(&a.network) else {
                continue;
            };
            let dns = store.get(&a.network)?.is_some_and(|n| n.dns_enabled);
            if dns {
                facts
                    .servers
                    .extend(status.gateways.iter().map(|g| g.to_string()));
                if facts.search.is_empty() {
                    facts
                        .search
                        .push(crate::engine::network::attach::DNS_DOMAIN.into());
                }
            }
            if i == 0 {
                facts.own_address = status.addresses.first().map(|(a, _)| *a);
                facts.host_address = status.gateways.iter().find(|g| g.is_ipv4()).copied();
            }
        }
        Ok(facts)
    }
}

/// The container process's user and group as the host (skiff's own user
/// namespace) sees them, through the container's id mappings.
fn host_ids(rec: &ContainerRecord, user: &spec::user::ProcessUser) -> (u32, u32) {
    let map = |id: u32, uids: bool| match &rec.config.id_mappings {
        Some(m) => crate::idmap::to_host(if uids { &m.uids } else { &m.gids }, id).unwrap_or(id),
        None => id,
    };
    (map(user.uid, true), map(user.gid, false))
}

/// The user a container asked to run as: `--user`, else, with keep-id,
/// the user's own ids; none means the image's.
pub fn requested_user(c: &crate::state::container::ContainerConfig) -> Option<String> {
    match (&c.userns, &c.user) {
        (_, Some(u)) => Some(u.clone()),
        (
            UserNsMode::KeepId {
                uid: Some(u),
                gid: Some(g),
            },
            None,
        ) => Some(format!("{u}:{g}")),
        _ => None,
    }
}

/// `chown -R` without following symlinks.
fn chown_tree(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        for e in std::fs::read_dir(path)? {
            chown_tree(&e?.path(), uid, gid)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_env_overrides_image_env() {
        let merged = merge_env(
            &["PATH=/bin".into(), "A=1".into()],
            &["A=2".into(), "B=3".into()],
        );
        assert_eq!(merged, ["PATH=/bin", "A=2", "B=3"]);
    }

    #[test]
    fn containers_get_a_cgroup_of_their_own() {
        assert_eq!(cgroups_path("abc"), Path::new("/skiff/abc"));
    }

    #[test]
    fn init_runs_the_command_from_a_read_only_mount() {
        let mut opts = SpecOptions::new(
            "/r".into(),
            vec!["sh".into(), "-c".into(), "x".into()],
            Caller::Root,
            Host::probe(),
        );
        with_init(&mut opts, "/usr/libexec/skiff/skiff-init".into());
        assert_eq!(
            opts.process.args,
            ["/run/skiff-init", "--", "sh", "-c", "x"]
        );
        let m = opts.mounts.last().expect("init mount");
        assert_eq!(m.destination, "/run/skiff-init");
        assert!(m.options.iter().any(|o| o == "ro"));
    }

    #[test]
    fn ulimit_names_map() {
        assert_eq!(rlimit_kind("nofile"), Some(PosixRlimitType::RlimitNofile));
        assert_eq!(rlimit_kind("bogus"), None);
    }
}
