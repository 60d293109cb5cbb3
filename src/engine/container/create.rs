//! `create`: resolve the image (pulling it when the policy says so), claim
//! a name, and write the container's record. Nothing runs yet.

use chrono::Utc;

use crate::engine::container::ContainerError;
use crate::engine::pull::{PullObserver, PullOptions};
use crate::engine::Engine;
use crate::image::config::ImageConfig;
use crate::state::container::{
    ContainerConfig, ContainerRecord, ContainerState, ImageRef, ImageVolumeMode, MountSpec,
    NamespaceMode, NetworkMode,
};
use crate::state::names;
use crate::storage::images::ImageRecord;

/// `--pull`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    #[default]
    Missing,
    Never,
    Newer,
}

impl std::str::FromStr for PullPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" => Ok(PullPolicy::Always),
            "missing" | "ifmissing" | "ifnotpresent" => Ok(PullPolicy::Missing),
            "never" => Ok(PullPolicy::Never),
            "newer" | "ifnewer" => Ok(PullPolicy::Newer),
            other => Err(format!(
                "invalid pull policy {other:?}: use always, missing, never or newer"
            )),
        }
    }
}

/// Typed options of `create` (and of `run`, before it starts).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub image: String,
    pub name: Option<String>,
    pub pull: PullPolicy,
    pub pull_options: PullOptions,
    /// `--replace`: remove a container holding the name first.
    pub replace: bool,
    /// `--runtime`, else the default choice.
    pub runtime: Option<String>,
    pub config: ContainerConfig,
    /// `--pod new:NAME`: make the pod first, with this container's
    /// network options.
    pub new_pod: Option<String>,
}

/// The process a container runs: the entrypoint and command the user gave,
/// else the image's (Docker's rules: `--entrypoint` drops the image's CMD).
pub fn resolve_args(config: &ContainerConfig, image: &ImageConfig) -> Vec<String> {
    let run = image.config.clone().unwrap_or_default();
    let entrypoint = config
        .entrypoint
        .clone()
        .unwrap_or_else(|| run.entrypoint.clone().unwrap_or_default());
    let command = if !config.command.is_empty() {
        config.command.clone()
    } else if config.entrypoint.is_some() {
        Vec::new()
    } else {
        run.cmd.clone().unwrap_or_default()
    };
    entrypoint.into_iter().chain(command).collect()
}

impl Engine {
    /// The runtime for a new container: `--runtime`, else containers.conf's
    /// `runtime`, else the probe; a name listed in `[engine.runtimes]`
    /// means the paths listed there.
    pub fn runtime_for_new(
        &self,
        requested: Option<&str>,
    ) -> Result<crate::runtime::external::ExternalRuntime, ContainerError> {
        use crate::runtime::select;
        let conf = self.containers_conf()?;
        let invalid = |e: select::SelectError| ContainerError::Invalid(e.to_string());
        let requested = requested
            .or(conf.runtime.as_deref())
            .map(|r| select::through_table(r, &conf.runtimes))
            .transpose()
            .map_err(invalid)?;
        select::select(requested.as_deref(), &self.paths().runroot.join("runtime")).map_err(invalid)
    }

    /// Limits need a cgroup: refused when containers get none (rootless
    /// without delegation), where skiff says once that they run without.
    fn check_cgroups_for(
        &self,
        r: &crate::state::container::Resources,
    ) -> Result<(), ContainerError> {
        if self.cgroups_usable() {
            return Ok(());
        }
        let asked = r.memory.is_some()
            || r.memory_swap.is_some()
            || r.cpus.is_some()
            || r.cpu_shares.is_some()
            || r.pids_limit.is_some();
        if asked {
            return Err(ContainerError::Invalid(format!(
                "resource limits (--memory, --cpus, --pids-limit) need a cgroup, and rootless containers have none here: {}",
                crate::engine::container::NO_CGROUP_REASON
            )));
        }
        // Said once per run directory (per boot, for a rootless user).
        let marker = self.paths().runroot.join("no-cgroups-warned");
        if std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker)
            .is_ok()
        {
            tracing::warn!(
                "rootless containers run without resource limits here: {}",
                crate::engine::container::NO_CGROUP_REASON
            );
        }
        Ok(())
    }

    /// The image a container will use, pulled if the policy asks for it.
    pub fn image_for_container(
        &self,
        name: &str,
        policy: PullPolicy,
        pull: &PullOptions,
        observer: &dyn PullObserver,
    ) -> Result<ImageRecord, ContainerError> {
        let local = self.lookup_image(name);
        match (policy, local) {
            (PullPolicy::Never, Ok((rec, _))) | (PullPolicy::Missing, Ok((rec, _))) => Ok(rec),
            (PullPolicy::Never, Err(e)) => Err(e.into()),
            (PullPolicy::Missing, Err(e)) if !e.is_not_known() => Err(e.into()),
            _ => Ok(self.pull(name, pull, observer)?),
        }
    }

    /// The parsed config of a stored image.
    pub fn image_config(&self, image: &ImageRecord) -> Result<ImageConfig, ContainerError> {
        let err = |message: String| ContainerError::ImageConfig {
            image: image.id.hex()[..12].to_string(),
            message,
        };
        let bytes = self
            .store()
            .blobs()
            .read(&image.id)
            .map_err(|e| err(e.to_string()))?;
        ImageConfig::parse(&bytes, image.layers.len()).map_err(|e| err(e.to_string()))
    }

    /// Create a container; returns its record.
    pub fn create_container(
        &self,
        opts: &CreateOptions,
        observer: &dyn PullObserver,
    ) -> Result<ContainerRecord, ContainerError> {
        if let Some(pod) = &opts.new_pod {
            return self.create_in_new_pod(opts, pod, observer);
        }
        // Everything that can be checked without the image first, so bad
        // input does not pull anything.
        if let Some(n) = &opts.name {
            names::validate(n).map_err(crate::state::StateError::from)?;
        }
        let runtime = self.runtime_for_new(opts.runtime.as_deref())?;
        self.check_cgroups_for(&opts.config.resources)?;
        let mut config = opts.config.clone();
        config.init |= self.containers_conf()?.init;
        config.requires = self.resolve_requirements(&config.requires)?;
        if !config.infra {
            self.join_pod(&mut config)?;
        }
        self.check_runtime_joins(&config, runtime.name())?;
        self.resolve_namespace_containers(&mut config)?;
        if config.network == NetworkMode::Default {
            config.network = crate::engine::network::mode::default_mode(
                self.containers_conf()?.netns.as_deref(),
                self.privilege() == crate::config::paths::Privilege::Rootless,
            )
            .map_err(ContainerError::Invalid)?;
        }
        if let NetworkMode::Bridge(attached) = &mut config.network {
            for a in attached.iter_mut() {
                let n = self.find_network(&a.network)?;
                a.network = n.name;
                if let Some(m) = &a.mac {
                    crate::engine::network::attach::parse_mac(m)
                        .map_err(ContainerError::Invalid)?;
                }
                for alias in &a.aliases {
                    names::validate(alias).map_err(|_| {
                        ContainerError::Invalid(format!("invalid network alias {alias:?}"))
                    })?;
                }
            }
        }
        check_network(&config)?;
        match &config.network {
            // Started first, and kept while this one exists.
            NetworkMode::Container(other) => {
                let id = self
                    .resolve_requirements(std::slice::from_ref(other))?
                    .remove(0);
                if !config.requires.contains(&id) {
                    config.requires.push(id.clone());
                }
                config.network = NetworkMode::Container(id);
            }
            NetworkMode::Ns(path) if !path.exists() => {
                return Err(ContainerError::Invalid(format!(
                    "--network ns:{}: no such namespace file",
                    path.display()
                )));
            }
            _ => {}
        }
        if config.init {
            // Found now, so that a missing init fails the create, not a start.
            self.init_binary(config.init_path.as_deref())?;
        }
        if config.keep_groups
            && !matches!(runtime.name(), "crun" | crate::runtime::external::BUILTIN)
        {
            return Err(ContainerError::Invalid(format!(
                "--group-add keep-groups needs the crun or skiff runtime (this container would use {}, which always sets the supplementary groups): add --runtime crun or --runtime skiff",
                runtime.name()
            )));
        }
        self.copy_volumes_from(&mut config)?;
        self.add_configured_mounts(&mut config)?;
        // The same mount given twice is one (podman).
        let mut seen = Vec::new();
        config.mounts.retain(|m| {
            let first = !seen.contains(m);
            seen.push(m.clone());
            first
        });
        check_mounts(&config)?;
        self.resolve_image_mounts(&mut config, opts, observer)?;
        let image =
            self.image_for_container(&opts.image, opts.pull, &opts.pull_options, observer)?;
        let image_config = self.image_config(&image)?;
        add_image_volumes(&mut config, &image_config);
        if config.publish_all {
            let exposed = image_config
                .config
                .as_ref()
                .and_then(|c| c.exposed_ports.as_ref())
                .map(|e| e.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            let mut more = crate::engine::container::ports::exposed(exposed)
                .map_err(ContainerError::Invalid)?;
            // What -p publishes already stays as given.
            more.retain(|m| {
                !config.ports.iter().any(|p| {
                    p.protocol == m.protocol && p.pairs().any(|(c, _)| c == m.container_port)
                })
            });
            config.ports.extend(more);
        }
        crate::engine::container::ports::assign_host_ports(&mut config.ports)
            .map_err(ContainerError::Invalid)?;
        let args = resolve_args(&opts.config, &image_config);
        if args.is_empty() {
            return Err(ContainerError::Invalid(format!(
                "no command or entrypoint provided, and no CMD or ENTRYPOINT from image {}",
                opts.image
            )));
        }
        let _auto_userns = self.lock_auto_userns(&config)?;
        let layer_dirs: Vec<_> = image
            .layers
            .iter()
            .map(|l| self.store().layers().diff_dir(&l.chain_id))
            .collect();
        self.resolve_user_namespace(&mut config, &layer_dirs)?;
        let store = self.containers()?;
        let id = names::new_id().map_err(|e| ContainerError::Invalid(e.to_string()))?;
        if let (Some(name), true) = (&opts.name, opts.replace) {
            if let Some(holder) = store.names().holder(name) {
                self.remove_container(
                    &holder,
                    crate::engine::container::remove::RemoveOptions {
                        force: true,
                        ..Default::default()
                    },
                )?;
            }
        }
        let name = match &opts.name {
            Some(n) => {
                store
                    .names()
                    .claim(n, &id)
                    .map_err(crate::state::StateError::from)?;
                n.clone()
            }
            None => store
                .names()
                .claim_generated(&id)
                .map_err(crate::state::StateError::from)?,
        };
        let made_volumes = match self.provide_volumes(&mut config.mounts) {
            Ok(m) => m,
            Err(e) => {
                let _ = store.names().release(&name, &id);
                return Err(e);
            }
        };
        let rec = ContainerRecord {
            id: id.clone(),
            name: name.clone(),
            image: ImageRef {
                id: image.id.clone(),
                name: image
                    .names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| opts.image.clone()),
                top_layer: image.top_layer().cloned(),
            },
            created: Utc::now(),
            config,
            args,
            runtime: runtime.record_name(),
            state: ContainerState::default(),
        };
        // Held while the record is written, so `volume rm` either sees
        // this container or removes the volume before it is named.
        let written = self.with_volume_locks(&rec.config.mounts, || Ok(store.put(&rec)?));
        if let Err(e) = written {
            let _ = store.names().release(&name, &id);
            self.forget_volumes(&made_volumes);
            return Err(e);
        }
        Ok(rec)
    }

    /// Run `f` holding the locks of the volumes `mounts` name, each checked
    /// to exist.
    fn with_volume_locks(
        &self,
        mounts: &[MountSpec],
        f: impl FnOnce() -> Result<(), ContainerError>,
    ) -> Result<(), ContainerError> {
        let volumes = self.volumes()?;
        let mut names: Vec<&str> = mounts.iter().filter_map(|m| m.volume()).collect();
        names.sort();
        names.dedup();
        let mut locks = Vec::with_capacity(names.len());
        for n in names {
            locks.push(volumes.lock(n)?);
            if volumes.get(n)?.is_none() {
                return Err(crate::state::StateError::NoSuchVolume(n.to_string()).into());
            }
        }
        f()
    }

    /// `--volumes-from`: the volume and bind mounts of other containers,
    /// except where this one mounts something itself; `:ro`/`:rw` override
    /// their access.
    fn copy_volumes_from(&self, config: &mut ContainerConfig) -> Result<(), ContainerError> {
        for spec in config.volumes_from.clone() {
            let (who, opts) = spec.split_once(':').unwrap_or((&spec, ""));
            let mut access = None;
            for o in opts.split(',').filter(|o| !o.is_empty()) {
                match o {
                    "ro" | "rw" => access = Some(o),
                    "z" | "Z" => {}
                    _ => {
                        return Err(ContainerError::Invalid(format!(
                            "invalid --volumes-from {spec}: the options are ro, rw, z and Z"
                        )))
                    }
                }
            }
            let other = self.find_container(who)?;
            for m in &other.config.mounts {
                let mut m = m.clone();
                let options = match &mut m {
                    MountSpec::Bind { options, .. } | MountSpec::Volume { options, .. } => options,
                    _ => continue,
                };
                if let Some(a) = access {
                    options.retain(|o| o != "ro" && o != "rw");
                    options.push(a.to_string());
                }
                let taken = config
                    .mounts
                    .iter()
                    .any(|x| same_destination(x.destination(), m.destination()));
                if !taken {
                    config.mounts.push(m);
                }
            }
        }
        Ok(())
    }

    /// containers.conf's `[containers] mounts`, where the container mounts
    /// nothing itself; and its `image_volume_mode` where `--image-volume`
    /// said nothing.
    fn add_configured_mounts(&self, config: &mut ContainerConfig) -> Result<(), ContainerError> {
        let conf = self.containers_conf()?;
        for text in &conf.mounts {
            let m = crate::engine::volume::text::mount(text).map_err(|e| {
                ContainerError::Invalid(format!("parsing containers.conf mounts: {e}"))
            })?;
            if !config
                .mounts
                .iter()
                .any(|x| same_destination(x.destination(), m.destination()))
            {
                config.mounts.push(m);
            }
        }
        if config.image_volume.is_none() {
            config.image_volume = conf
                .image_volume_mode
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| ContainerError::Invalid(format!("containers.conf: {e}")))?;
        }
        Ok(())
    }

    /// `type=image` mounts name the image by id (pulled if the policy says
    /// so).
    fn resolve_image_mounts(
        &self,
        config: &mut ContainerConfig,
        opts: &CreateOptions,
        observer: &dyn PullObserver,
    ) -> Result<(), ContainerError> {
        for m in config.mounts.iter_mut() {
            if let MountSpec::Image { image, .. } = m {
                let rec =
                    self.image_for_container(image, opts.pull, &opts.pull_options, observer)?;
                *image = rec.id.hex().to_string();
            }
        }
        Ok(())
    }
}

/// Two mount destinations that name the same place.
fn same_destination(a: &str, b: &str) -> bool {
    let clean = |d: &str| {
        let t = d.trim_end_matches('/');
        if t.is_empty() {
            "/".to_string()
        } else {
            t.to_string()
        }
    };
    clean(a) == clean(b)
}

/// For each VOLUME of the image the user mounts nothing at: an anonymous
/// volume (podman's default, `image_volume_mode = "anonymous"`), a tmpfs,
/// or nothing, as `--image-volume` says.
fn add_image_volumes(config: &mut ContainerConfig, image: &ImageConfig) {
    let Some(volumes) = image.config.as_ref().and_then(|c| c.volumes.as_ref()) else {
        return;
    };
    let mode = config.image_volume.unwrap_or_default();
    for dest in volumes.keys() {
        if !dest.starts_with('/')
            || config
                .mounts
                .iter()
                .any(|m| same_destination(m.destination(), dest))
        {
            continue;
        }
        config.mounts.push(match mode {
            ImageVolumeMode::Anonymous => MountSpec::Volume {
                name: String::new(),
                destination: dest.clone(),
                options: Vec::new(),
                chown: false,
                no_copy: false,
                subpath: None,
            },
            ImageVolumeMode::Tmpfs => MountSpec::Tmpfs {
                destination: dest.clone(),
                options: Vec::new(),
            },
            ImageVolumeMode::Ignore => return,
        });
    }
}

impl Engine {
    /// runc joins a user namespace before the others, so it cannot join
    /// a pod's user namespace and then the network namespace skiff made
    /// outside it (pasta, slirp4netns, bridges); crun and skiff's runtime
    /// join in the order that works.
    fn check_runtime_joins(
        &self,
        config: &ContainerConfig,
        runtime: &str,
    ) -> Result<(), ContainerError> {
        let (Some(infra), NetworkMode::Container(net)) = (&config.namespaces.user, &config.network)
        else {
            return Ok(());
        };
        if runtime != "runc" || net != infra {
            return Ok(());
        }
        let made_by_skiff = self.containers()?.get(infra)?.is_some_and(|i| {
            !matches!(
                i.config.network,
                NetworkMode::None | NetworkMode::Host | NetworkMode::Ns(_)
            )
        });
        if made_by_skiff {
            return Err(ContainerError::Invalid(
                "runc cannot join this pod: it enters the pod's user namespace before the network namespace skiff made outside it; use --runtime crun or --runtime skiff, or a pod without --userns".into(),
            ));
        }
        Ok(())
    }

    /// `container:NAME` namespace modes name the container by id, which
    /// starts first and stays while this one exists.
    fn resolve_namespace_containers(
        &self,
        config: &mut ContainerConfig,
    ) -> Result<(), ContainerError> {
        if let Some(id) = &config.namespaces.user {
            if !config.requires.contains(id) {
                config.requires.push(id.clone());
            }
        }
        let m = &mut config.namespaces;
        for mode in [
            Some(&mut m.ipc),
            Some(&mut m.uts),
            Some(&mut m.pid),
            m.cgroup.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if let NamespaceMode::Container(other) = mode {
                let id = self
                    .resolve_requirements(std::slice::from_ref(other))?
                    .remove(0);
                if !config.requires.contains(&id) {
                    config.requires.push(id.clone());
                }
                *other = id;
            }
        }
        Ok(())
    }
}

/// Bind sources must exist, and no two mounts may share a destination.
fn check_mounts(config: &ContainerConfig) -> Result<(), ContainerError> {
    let mut seen = std::collections::HashSet::new();
    for m in &config.mounts {
        if let MountSpec::Bind { source, .. } = m {
            if let Err(e) = std::fs::metadata(source) {
                let why = match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                    _ => e.to_string(),
                };
                return Err(ContainerError::Invalid(format!(
                    "statfs {}: {why}",
                    source.display()
                )));
            }
        }
        let destination = m.destination();
        let clean = destination.trim_end_matches('/');
        if !seen.insert(if clean.is_empty() { "/" } else { clean }) {
            return Err(ContainerError::Invalid(format!(
                "{destination}: duplicate mount destination"
            )));
        }
    }
    if config.read_only_tmpfs == Some(true) && !config.read_only {
        return Err(ContainerError::Invalid(
            "--read-only-tmpfs applies only with --read-only".into(),
        ));
    }
    Ok(())
}

/// Network options that contradict each other, refused as podman does.
fn check_network(c: &ContainerConfig) -> Result<(), ContainerError> {
    let bail = |m: String| Err(ContainerError::Invalid(m));
    if c.no_hosts && !c.add_hosts.is_empty() {
        return bail("--no-hosts and --add-host cannot be set together".into());
    }
    if (!c.ports.is_empty() || c.publish_all) && !c.network.can_publish() {
        return bail(format!(
            "invalid config provided: port publishing (-p/-P) is not possible with the network mode {}: publish with a bridge network, pasta or slirp4netns",
            match &c.network {
                NetworkMode::Container(_) => "container".to_string(),
                NetworkMode::Ns(_) => "ns".to_string(),
                other => other.display(),
            }
        ));
    }
    let user_mode = matches!(
        c.network,
        NetworkMode::Pasta(_) | NetworkMode::Slirp4netns(_)
    );
    if user_mode
        && c.ports
            .iter()
            .any(|p| p.protocol == crate::state::container::Protocol::Sctp)
    {
        return bail(format!(
            "{} cannot forward sctp ports: publish tcp or udp",
            c.network.display()
        ));
    }
    if let Some(p) = c
        .ports
        .iter()
        .find(|p| matches!(c.network, NetworkMode::Slirp4netns(_)) && p.host_ip.contains(':'))
    {
        return bail(format!(
            "slirp4netns publishes on IPv4 host addresses only, not on [{}]",
            p.host_ip
        ));
    }
    crate::engine::container::ports::check_conflicts(&c.ports).map_err(ContainerError::Invalid)?;
    let mode = match &c.network {
        NetworkMode::None => "none",
        NetworkMode::Container(_) => "container",
        _ => return Ok(()),
    };
    if !c.dns.is_empty() {
        return bail(format!(
            "conflicting options: dns and the network mode: {mode}"
        ));
    }
    if mode == "container" && !c.add_hosts.is_empty() {
        return bail("conflicting options: --add-host and the network mode: container".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::config::RunConfig;

    fn image(entrypoint: Option<&[&str]>, cmd: Option<&[&str]>) -> ImageConfig {
        let v = |x: Option<&[&str]>| x.map(|s| s.iter().map(|a| a.to_string()).collect());
        ImageConfig {
            config: Some(RunConfig {
                entrypoint: v(entrypoint),
                cmd: v(cmd),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn args_follow_docker_rules() {
        let img = image(Some(&["/ep"]), Some(&["a"]));
        let mut c = ContainerConfig::default();
        assert_eq!(resolve_args(&c, &img), ["/ep", "a"]);
        c.command = vec!["b".into()];
        assert_eq!(resolve_args(&c, &img), ["/ep", "b"]);
        c.entrypoint = Some(vec!["/x".into()]);
        assert_eq!(resolve_args(&c, &img), ["/x", "b"]);
        c.command.clear();
        assert_eq!(
            resolve_args(&c, &img),
            ["/x"],
            "--entrypoint drops the image CMD"
        );
        c.entrypoint = Some(vec![]);
        assert!(resolve_args(&c, &img).is_empty());
    }

    #[test]
    fn pull_policies_parse() {
        assert_eq!("always".parse(), Ok(PullPolicy::Always));
        assert_eq!("missing".parse(), Ok(PullPolicy::Missing));
        assert!("sometimes".parse::<PullPolicy>().is_err());
    }
}
