//! Volumes: directories of the store that outlive containers, by name.
//! `create`, lookups, who uses one, removal and pruning live here; what a
//! container's start and stop do with its volumes is in [`mounts`], moving
//! a volume's files in and out as tar in [`archive`].

pub mod archive;
pub mod mounts;
pub mod text;

use std::collections::BTreeMap;

use chrono::Utc;

use crate::engine::container::remove::RemoveOptions;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::{ContainerRecord, MountSpec};
use crate::state::volume::{valid_name, VolumeMountOptions, VolumeRecord, VolumeStore};
use crate::state::StateError;

pub use crate::state::volume::LOCAL_DRIVER;

/// Typed options of `volume create` (and of the volumes a container or,
/// later, a kube claim asks for).
#[derive(Debug, Clone, Default)]
pub struct VolumeCreateOptions {
    /// None: a random name (64 hex digits).
    pub name: Option<String>,
    /// None: `local`.
    pub driver: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// `--opt KEY=VALUE`: `type`, `device`, `o`.
    pub options: BTreeMap<String, String>,
    /// `--ignore`: an existing volume of that name is the answer.
    pub ignore: bool,
    pub anonymous: bool,
}

/// A volume in use, refused by `volume rm` without `--force` (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("volume {name} is being used by the following container(s): {}: volume is being used", containers.join(", "))]
pub struct VolumeInUse {
    pub name: String,
    pub containers: Vec<String>,
}

/// `volume rm` and `volume prune` options.
#[derive(Debug, Clone, Copy, Default)]
pub struct VolumeRemoveOptions {
    /// Remove the containers using it first.
    pub force: bool,
    /// Seconds to wait for those containers to stop.
    pub timeout: Option<u64>,
}

/// The mount options of `--opt`, checked: what the local driver can mount
/// on the volume's directory, and the owner `o=uid=N,gid=N` asks for.
type CheckedOptions = (Option<VolumeMountOptions>, Option<u32>, Option<u32>);

fn check_options(opts: &BTreeMap<String, String>) -> Result<CheckedOptions, ContainerError> {
    let invalid = |m: String| ContainerError::Invalid(m);
    for key in opts.keys() {
        if !matches!(key.as_str(), "type" | "device" | "o") {
            return Err(invalid(format!(
                "invalid volume option {key:?} for the local driver: give type, device or o"
            )));
        }
    }
    let (mut uid, mut gid) = (None, None);
    let mut mount_opts = Vec::new();
    for o in opts
        .get("o")
        .map(String::as_str)
        .unwrap_or("")
        .split(',')
        .filter(|o| !o.is_empty())
    {
        let id = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| invalid(format!("invalid volume option o={o}: not a number")))
        };
        match o.split_once('=') {
            Some(("uid", v)) => uid = Some(id(v)?),
            Some(("gid", v)) => gid = Some(id(v)?),
            _ => mount_opts.push(o.to_string()),
        }
    }
    let typ = opts.get("type").cloned().unwrap_or_default();
    let device = opts.get("device").cloned().unwrap_or_default();
    if typ.is_empty() && device.is_empty() {
        if !mount_opts.is_empty() {
            return Err(invalid(format!(
                "volume option o={} needs type= and device= (only uid= and gid= stand alone)",
                mount_opts.join(",")
            )));
        }
        return Ok((None, uid, gid));
    }
    if typ.is_empty() || device.is_empty() {
        return Err(invalid(
            "volume options type= and device= go together (e.g. type=tmpfs,device=tmpfs, or type=none,device=/path,o=bind)".into(),
        ));
    }
    let bind = mount_opts.iter().any(|o| o == "bind" || o == "rbind");
    if matches!(typ.as_str(), "none" | "bind") || bind {
        if !bind {
            mount_opts.push("rbind".into());
        }
        if !device.starts_with('/') {
            return Err(invalid(format!(
                "volume option device={device}: a bind device must be an absolute host path"
            )));
        }
        if let Err(e) = std::fs::metadata(&device) {
            return Err(invalid(format!("volume option device={device}: {e}")));
        }
    }
    Ok((
        Some(VolumeMountOptions {
            typ,
            device,
            options: mount_opts.join(","),
        }),
        uid,
        gid,
    ))
}

impl Engine {
    /// The volume records, under the storage root.
    pub fn volumes(&self) -> Result<VolumeStore, ContainerError> {
        let p = self.paths();
        Ok(VolumeStore::open(&p.root, &p.runroot)?)
    }

    pub fn find_volume(&self, name: &str) -> Result<VolumeRecord, ContainerError> {
        self.volumes()?
            .get(name)?
            .ok_or_else(|| StateError::NoSuchVolume(name.to_string()).into())
    }

    /// Create a volume; returns its record.
    pub fn create_volume(
        &self,
        opts: &VolumeCreateOptions,
    ) -> Result<VolumeRecord, ContainerError> {
        self.make_volume(opts).map(|(rec, _)| rec)
    }

    /// Create a volume; returns its record and whether this call made it
    /// (not: `ignore` found it).
    fn make_volume(
        &self,
        opts: &VolumeCreateOptions,
    ) -> Result<(VolumeRecord, bool), ContainerError> {
        let driver = opts.driver.as_deref().unwrap_or(LOCAL_DRIVER);
        if driver != LOCAL_DRIVER {
            return Err(ContainerError::Invalid(format!(
                "volume driver {driver:?} is not supported: skiff has the local driver only"
            )));
        }
        let name = match &opts.name {
            Some(n) if valid_name(n) => n.clone(),
            Some(n) => {
                return Err(ContainerError::Invalid(format!(
                    "invalid volume name {n:?}: names are [a-zA-Z0-9][a-zA-Z0-9_.-]*"
                )))
            }
            None => {
                crate::state::names::new_id().map_err(|e| ContainerError::Invalid(e.to_string()))?
            }
        };
        let (mount, uid, gid) = check_options(&opts.options)?;
        for k in opts.labels.keys() {
            if k.is_empty() {
                return Err(ContainerError::Invalid(
                    "a volume label needs a name".into(),
                ));
            }
        }
        let store = self.volumes()?;
        let rec = VolumeRecord {
            name: name.clone(),
            driver: driver.to_string(),
            created: Utc::now(),
            labels: opts.labels.clone(),
            options: opts.options.clone(),
            mount,
            uid,
            gid,
            anonymous: opts.anonymous,
            needs_copy_up: true,
            needs_chown: true,
        };
        let owner = (uid.is_some() || gid.is_some()).then(|| (uid.unwrap_or(0), gid.unwrap_or(0)));
        let _lock = store.lock(&name)?;
        if store.create(&rec, owner)? {
            return Ok((rec, true));
        }
        match store.get(&name)? {
            Some(existing) if opts.ignore => Ok((existing, false)),
            _ => Err(ContainerError::Invalid(format!(
                "volume with name {name} already exists: volume already exists"
            ))),
        }
    }

    /// The containers whose mounts name volume `name`.
    pub fn volume_users(&self, name: &str) -> Result<Vec<ContainerRecord>, ContainerError> {
        Ok(self
            .containers()?
            .list()?
            .into_iter()
            .filter(|c| c.uses_volume(name))
            .collect())
    }

    /// Remove a volume; in use, only with `force`, which removes the
    /// containers using it first.
    pub fn remove_volume(
        &self,
        name: &str,
        opts: VolumeRemoveOptions,
    ) -> Result<VolumeRecord, ContainerError> {
        let rec = self.find_volume(name)?;
        let in_use = |users: &[ContainerRecord]| {
            ContainerError::VolumeInUse(VolumeInUse {
                name: rec.name.clone(),
                containers: users.iter().map(|c| c.id.clone()).collect(),
            })
        };
        let users = self.volume_users(&rec.name)?;
        if !users.is_empty() {
            if !opts.force {
                return Err(in_use(&users));
            }
            for c in &users {
                self.remove_container(
                    &c.id,
                    RemoveOptions {
                        force: true,
                        timeout: opts.timeout,
                        depend: true,
                        ..Default::default()
                    },
                )?;
            }
        }
        let store = self.volumes()?;
        let _lock = store.lock(&rec.name)?;
        // A container created meanwhile holds it now.
        let users = self.volume_users(&rec.name)?;
        if !users.is_empty() {
            return Err(in_use(&users));
        }
        self.unmount_volume_dir(&store, &rec)?;
        store.remove(&rec.name)?;
        Ok(rec)
    }

    /// The volumes no container uses and `keep` does not keep.
    pub fn prunable_volumes(
        &self,
        keep: &dyn Fn(&VolumeRecord) -> bool,
    ) -> Result<Vec<VolumeRecord>, ContainerError> {
        let containers = self.containers()?.list()?;
        Ok(self
            .volumes()?
            .list()?
            .into_iter()
            .filter(|v| !keep(v) && !containers.iter().any(|c| c.uses_volume(&v.name)))
            .collect())
    }

    /// Remove every volume no container uses and `keep` does not keep;
    /// returns the names removed.
    pub fn prune_volumes(
        &self,
        keep: &dyn Fn(&VolumeRecord) -> bool,
    ) -> Result<Vec<String>, ContainerError> {
        self.volumes()?.sweep();
        let mut removed = Vec::new();
        for v in self.prunable_volumes(keep)? {
            match self.remove_volume(&v.name, VolumeRemoveOptions::default()) {
                Ok(_) => removed.push(v.name),
                // Taken by a container created meanwhile.
                Err(ContainerError::VolumeInUse(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// After `rm -v` or `run --rm`: the anonymous volumes of `rec` that no
    /// other container uses.
    pub fn remove_anonymous_volumes(&self, rec: &ContainerRecord) {
        let Ok(store) = self.volumes() else { return };
        for m in &rec.config.mounts {
            let Some(name) = m.volume() else { continue };
            match store.get(name) {
                Ok(Some(v)) if v.anonymous => {}
                _ => continue,
            }
            match self.remove_volume(name, VolumeRemoveOptions::default()) {
                Ok(_) | Err(ContainerError::VolumeInUse(_)) => {}
                Err(e) => tracing::warn!("removing volume {name}: {e}"),
            }
        }
    }

    /// Resolve the volumes of a new container's mounts: anonymous ones
    /// (empty names) are made, named ones that do not exist are created.
    /// Returns the names this call created, for the caller to remove if
    /// the container is not made after all.
    pub fn provide_volumes(&self, mounts: &mut [MountSpec]) -> Result<Vec<String>, ContainerError> {
        let mut made = Vec::new();
        let result = (|| {
            for m in mounts.iter_mut() {
                let MountSpec::Volume { name, .. } = m else {
                    continue;
                };
                if !name.is_empty() && self.volumes()?.get(name)?.is_some() {
                    continue;
                }
                let (rec, new) = self.make_volume(&VolumeCreateOptions {
                    name: (!name.is_empty()).then(|| name.clone()),
                    anonymous: name.is_empty(),
                    ignore: true,
                    ..Default::default()
                })?;
                if new {
                    made.push(rec.name.clone());
                }
                *name = rec.name;
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(made),
            Err(e) => {
                self.forget_volumes(&made);
                Err(e)
            }
        }
    }

    /// Remove volumes `provide_volumes` made for a container that failed.
    pub fn forget_volumes(&self, names: &[String]) {
        let Ok(store) = self.volumes() else { return };
        for n in names {
            let _lock = store.lock(n);
            if self.volume_users(n).is_ok_and(|u| u.is_empty()) {
                let _ = store.remove(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn local_driver_options() {
        let (m, uid, gid) = check_options(&opts(&[])).expect("none");
        assert!(m.is_none() && uid.is_none() && gid.is_none());
        let (m, ..) = check_options(&opts(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=2m,uid=5"),
        ]))
        .expect("tmpfs");
        let m = m.expect("mount");
        assert_eq!((m.typ.as_str(), m.options.as_str()), ("tmpfs", "size=2m"));
        let (m, ..) = check_options(&opts(&[("type", "none"), ("device", "/"), ("o", "bind")]))
            .expect("bind");
        assert_eq!(m.expect("mount").options, "bind");
        let (_, uid, gid) = check_options(&opts(&[("o", "uid=10,gid=20")])).expect("owner");
        assert_eq!((uid, gid), (Some(10), Some(20)));
        assert!(check_options(&opts(&[("size", "1")])).is_err());
        assert!(check_options(&opts(&[("type", "tmpfs")])).is_err());
        assert!(check_options(&opts(&[("o", "size=1m")])).is_err());
        assert!(check_options(&opts(&[("o", "uid=x")])).is_err());
        assert!(check_options(&opts(&[
            ("type", "none"),
            ("device", "/no/such/dir"),
            ("o", "bind")
        ]))
        .is_err());
    }
}
