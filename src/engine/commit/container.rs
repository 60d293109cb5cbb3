//! `commit`: a container's changes as a new layer on its image. The
//! container's own settings (command, entrypoint, environment, labels,
//! user, working directory, published ports) go into the new image's
//! config as podman records them, then the `--change` instructions.

use serde_json::{Map, Value};

use crate::engine::commit::image::{history_entry, now};
use crate::engine::commit::{CommitError, CommitOptions, Pause};
use crate::engine::Engine;
use crate::image::change::{self, Instruction};
use crate::state::container::{ContainerRecord, Status};
use crate::storage::changes::{self, Change, FsRoot, Lowers, Owners};
use crate::storage::driver::Driver;
use crate::storage::images::ImageRecord;

/// What a container changed, and where the changed files are.
pub struct ContainerChanges {
    pub changes: Vec<Change>,
    /// The tree holding the new content (none: the container never had a
    /// root file system, so it changed nothing).
    pub source: Option<FsRoot>,
    pub owners: Owners,
}

/// Thaws a container frozen for a commit when dropped (errors included).
struct Thaw<'e> {
    engine: &'e Engine,
    id: String,
}

impl Drop for Thaw<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.engine.unpause_container(&self.id) {
            tracing::warn!("unpausing container {} after the commit: {e}", self.id);
        }
    }
}

impl Engine {
    /// The image record a container was made from.
    pub(crate) fn image_of(&self, rec: &ContainerRecord) -> Result<ImageRecord, CommitError> {
        self.store()
            .images()
            .get(&rec.image.id)
            .map_err(crate::storage::StoreError::from)?
            .ok_or_else(|| CommitError::ImageGone {
                image: rec.image.name.clone(),
                container: rec.name.clone(),
            })
    }

    /// The changes of container `rec` against its image.
    pub fn container_changes(
        &self,
        rec: &ContainerRecord,
        image: &ImageRecord,
    ) -> Result<ContainerChanges, CommitError> {
        let err = |source| CommitError::Changes {
            what: format!("container {}", rec.name),
            source,
        };
        let userdata = self.containers()?.userdata(&rec.id);
        let owners = Owners::new(rec.config.id_mappings.clone());
        let layers = self.store().layers();
        let (changes, source) = if self.store().driver().stacks_layers() {
            let Some(upper) = FsRoot::open(&userdata.join("upper")).map_err(err)? else {
                return Ok(empty(owners));
            };
            let dirs: Vec<_> = image
                .layers
                .iter()
                .rev()
                .map(|l| layers.diff_dir(&l.chain_id))
                .collect();
            let lowers = Lowers::open(&dirs).map_err(err)?;
            let c = changes::overlay_changes(&upper, &lowers, &owners).map_err(err)?;
            (c, upper)
        } else {
            debug_assert_eq!(self.store().driver(), Driver::Vfs);
            let Some(copy) = FsRoot::open(&userdata.join("rootfs")).map_err(err)? else {
                return Ok(empty(owners));
            };
            let base = match image.top_layer() {
                Some(top) => FsRoot::open(&layers.diff_dir(top)).map_err(err)?,
                None => None,
            };
            let c = changes::tree_changes(&copy, base.as_ref(), &owners).map_err(err)?;
            (c, copy)
        };
        Ok(ContainerChanges {
            changes: changes::without_mount_points(changes),
            source: Some(source),
            owners,
        })
    }

    /// `commit`: store the container's changes as a new image; returns its
    /// record.
    pub fn commit_container(&self, opts: &CommitOptions) -> Result<ImageRecord, CommitError> {
        let names = new_names(opts.name.as_deref())?;
        let rec = self.find_container(&opts.container)?;
        let image = self.image_of(&rec)?;
        let base = self.base_image(&image)?;
        let content = self.store().hold_content()?;
        let result = self.commit_held(opts, &rec, &image, base, &names);
        if result.is_err() {
            drop(content);
            if let Err(e) = self.store().gc() {
                tracing::warn!("cleaning up after a failed commit: {e}");
            }
        }
        result
    }

    fn commit_held(
        &self,
        opts: &CommitOptions,
        rec: &ContainerRecord,
        image: &ImageRecord,
        base: super::image::BaseImage,
        names: &[String],
    ) -> Result<ImageRecord, CommitError> {
        let layer = {
            let _thaw = self.freeze_for_commit(rec, opts.pause)?;
            let found = self.container_changes(rec, image)?;
            let mut w = self.layer_writer()?;
            if let Some(source) = &found.source {
                let werr = |source| CommitError::WriteLayer { source };
                w = crate::storage::layer_tar::write_layer(
                    &found.changes,
                    source,
                    &found.owners,
                    w,
                )
                .map_err(werr)?;
            } else {
                w = tar::Builder::new(w)
                    .into_inner()
                    .map_err(|source| CommitError::WriteLayer { source })?;
            }
            w.finish()?
        };
        let created = now();
        let mut config = base.config.clone();
        config.insert("created".into(), Value::from(created.as_str()));
        if let Some(a) = &opts.author {
            config.insert("author".into(), Value::from(a.as_str()));
        }
        let run = config
            .entry("config")
            .or_insert_with(|| Value::Object(Map::new()));
        if !run.is_object() {
            *run = Value::Object(Map::new());
        }
        let run = run.as_object_mut().expect("made an object above");
        apply_container_settings(run, rec);
        change::apply(run, &opts.changes);
        let mut history: Vec<Value> = config
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        // Every layer has its history entry, so that tools pairing them
        // (history) give the new one to the new layer.
        let with_layers = history
            .iter()
            .filter(|h| h.get("empty_layer").and_then(Value::as_bool) != Some(true))
            .count();
        for _ in with_layers..base.layers.len() {
            history.push(Value::Object(Map::new()));
        }
        history.push(history_entry(
            &created,
            &rec.args.join(" "),
            opts.author.as_deref(),
            opts.message.as_deref(),
        ));
        config.insert("history".into(), Value::from(history));
        self.store_image(Some(&base), &layer, config, opts.format, names)
    }

    /// Freeze a running container (when asked and possible) until the
    /// returned guard is dropped.
    fn freeze_for_commit(
        &self,
        rec: &ContainerRecord,
        pause: Pause,
    ) -> Result<Option<Thaw<'_>>, CommitError> {
        if pause == Pause::No || rec.state.status != Status::Running {
            return Ok(None);
        }
        if !self.cgroups_usable() {
            tracing::info!(
                "container {} is committed without pausing it: {}",
                rec.name,
                crate::engine::container::NO_CGROUP_REASON
            );
            return Ok(None);
        }
        self.pause_container(&rec.id)?;
        Ok(Some(Thaw {
            engine: self,
            id: rec.id.clone(),
        }))
    }
}

fn empty(owners: Owners) -> ContainerChanges {
    ContainerChanges {
        changes: Vec::new(),
        source: None,
        owners,
    }
}

/// Normalise the name a new image gets (`NAME` is `localhost/NAME:latest`).
pub(crate) fn new_names(name: Option<&str>) -> Result<Vec<String>, CommitError> {
    match name {
        None => Ok(Vec::new()),
        Some(n) => crate::engine::images::normalize_new_name(n)
            .map(|full| vec![full])
            .map_err(|source| CommitError::Name {
                name: n.to_string(),
                source,
            }),
    }
}

/// What the user set on the container, recorded in the image as podman's
/// commit does.
fn apply_container_settings(run: &mut Map<String, Value>, rec: &ContainerRecord) {
    let c = &rec.config;
    let mut settings = Vec::new();
    if let Some(e) = &c.entrypoint {
        settings.push(Instruction::Entrypoint(e.clone()));
        if c.command.is_empty() {
            // An entrypoint given drops the image's command (Docker's rule).
            run.remove("Cmd");
        }
    }
    if !c.command.is_empty() {
        settings.push(Instruction::Cmd(c.command.clone()));
    }
    let env: Vec<(String, String)> = c
        .env
        .iter()
        .filter_map(|e| {
            e.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    if !env.is_empty() {
        settings.push(Instruction::Env(env));
    }
    if !c.labels.is_empty() {
        settings.push(Instruction::Label(
            c.labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ));
    }
    if let Some(u) = &c.user {
        settings.push(Instruction::User(u.clone()));
    }
    if let Some(w) = &c.workdir {
        settings.push(Instruction::Workdir(w.clone()));
    }
    let ports: Vec<String> = c
        .ports
        .iter()
        .flat_map(|p| {
            p.pairs()
                .map(move |(ctr, _host)| format!("{ctr}/{}", p.protocol.as_str()))
        })
        .collect();
    if !ports.is_empty() {
        settings.push(Instruction::Expose(ports));
    }
    change::apply(run, &settings);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::container::{
        ContainerConfig, ContainerState, ImageRef, PortMapping, Protocol,
    };

    #[test]
    fn the_containers_settings_go_into_the_config() {
        let rec = ContainerRecord {
            id: "0".repeat(64),
            name: "c".into(),
            image: ImageRef {
                id: crate::image::digest::Digest::from_hex(&"1".repeat(64)).expect("digest"),
                name: "img".into(),
                top_layer: None,
            },
            created: chrono::Utc::now(),
            config: ContainerConfig {
                entrypoint: Some(vec!["/ep".into()]),
                env: vec!["A=1".into()],
                user: Some("1000".into()),
                ports: vec![PortMapping {
                    host_ip: String::new(),
                    host_port: 18080,
                    container_port: 80,
                    protocol: Protocol::Tcp,
                    range: 2,
                }],
                ..Default::default()
            },
            args: vec!["/ep".into()],
            runtime: "skiff".into(),
            state: ContainerState::default(),
        };
        let mut run = Map::new();
        run.insert("Cmd".into(), serde_json::json!(["sh"]));
        apply_container_settings(&mut run, &rec);
        assert_eq!(run["Entrypoint"], serde_json::json!(["/ep"]));
        assert!(
            run.get("Cmd").is_none(),
            "an entrypoint drops the image's command"
        );
        assert_eq!(run["User"], "1000");
        let exposed: Vec<&String> = run["ExposedPorts"]
            .as_object()
            .expect("ports")
            .keys()
            .collect();
        assert_eq!(
            exposed,
            ["80/tcp", "81/tcp"],
            "the container's ports, not the host's"
        );
        assert!(run["Env"].to_string().contains("A=1"));
    }
}
