//! A container's own user namespace: `--userns` and `--uidmap`/`--gidmap`
//! resolved into id mappings when the container is created (recorded, so
//! every start uses the same ones), and what keep-id adds at start: the
//! user, and passwd and group entries for it when the image has none.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::paths::Privilege;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::idmap::{self, IdMap, IdMappings};
use crate::runtime::spec::{user, ExtraMount, MountKind};
use crate::state::container::{ContainerConfig, ContainerRecord, UserNsMode};

/// podman's `auto_userns_min_size`: the least an auto namespace gets.
pub const AUTO_MIN_SIZE: u32 = 1024;

/// The user whose subordinate ids root's `--userns=auto` containers use,
/// as in podman.
pub const AUTO_USER: &str = "containers";

fn invalid(msg: impl Into<String>) -> ContainerError {
    ContainerError::Invalid(msg.into())
}

/// How many uids and gids this process's user namespace has, from 0.
fn namespace_size() -> (u32, u32) {
    let len = |f: &str| {
        std::fs::read_to_string(f)
            .map(|t| idmap::proc_map_len(&t))
            .unwrap_or(1)
    };
    (len("/proc/self/uid_map"), len("/proc/self/gid_map"))
}

/// The overflow id, "nobody": an auto namespace is not sized to cover it,
/// as in podman.
const NOBODY: u32 = 65534;

/// The largest uid and gid an image needs: owners of its files (in the
/// layer directories `dirs`, base first) and accounts in its passwd and
/// group files, "nobody" aside.
fn largest_ids(dirs: &[PathBuf]) -> (u32, u32) {
    let (mut uid, mut gid) = (0, 0);
    let mut stack: Vec<PathBuf> = dirs.to_vec();
    while let Some(p) = stack.pop() {
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if md.uid() != NOBODY {
            uid = uid.max(md.uid());
        }
        if md.gid() != NOBODY {
            gid = gid.max(md.gid());
        }
        if md.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
            }
        }
    }
    let newest = |file: &str| {
        dirs.iter()
            .rev()
            .find_map(|d| std::fs::read_to_string(d.join(file)).ok())
            .unwrap_or_default()
    };
    let (u, g) = user::largest_account_ids(&newest("etc/passwd"), &newest("etc/group"), NOBODY);
    (uid.max(u), gid.max(g))
}

/// Outside id ranges as (first id, count), uids and gids apart.
type Ranges = (Vec<(u32, u32)>, Vec<(u32, u32)>);

/// The outside id ranges of every recorded container's own namespace.
fn ranges_in_use(records: &[ContainerRecord]) -> Ranges {
    let ranges = |maps: &[IdMap]| maps.iter().map(|m| (m.host, m.size)).collect::<Vec<_>>();
    let mut uids = Vec::new();
    let mut gids = Vec::new();
    for m in records.iter().filter_map(|r| r.config.id_mappings.as_ref()) {
        uids.extend(ranges(&m.uids));
        gids.extend(ranges(&m.gids));
    }
    (uids, gids)
}

impl Engine {
    /// Fill `config.id_mappings` from `config.userns` (and check given
    /// ones). `layers` are the image's layer directories (auto sizes the
    /// namespace by their owners). An auto namespace must be recorded
    /// before the lock [`Engine::lock_auto_userns`] returns is dropped.
    pub(crate) fn resolve_user_namespace(
        &self,
        config: &mut ContainerConfig,
        layers: &[PathBuf],
    ) -> Result<(), ContainerError> {
        // Joining another container's: its mappings were copied.
        if config.namespaces.user.is_some() {
            return Ok(());
        }
        let rootless = self.privilege() == Privilege::Rootless;
        let (uids, gids) = namespace_size();
        let rootless_only = |mode: &str| {
            invalid(format!(
                "--userns={mode} maps the ids of an unprivileged user and is for rootless containers: as root, give --uidmap/--gidmap or --userns=auto"
            ))
        };
        match config.userns.clone() {
            UserNsMode::Host => config.id_mappings = None,
            UserNsMode::KeepId { uid, gid } => {
                if !rootless {
                    return Err(rootless_only("keep-id"));
                }
                let uid = uid.unwrap_or(crate::config::paths::host_uid().as_raw());
                let gid = gid.unwrap_or(crate::config::paths::host_gid().as_raw());
                config.userns = UserNsMode::KeepId {
                    uid: Some(uid),
                    gid: Some(gid),
                };
                config.id_mappings = Some(IdMappings {
                    uids: idmap::keep_id(uid, uids),
                    gids: idmap::keep_id(gid, gids),
                });
            }
            UserNsMode::NoMap => {
                if !rootless {
                    return Err(rootless_only("nomap"));
                }
                if uids <= 1 || gids <= 1 {
                    return Err(invalid(
                        "--userns=nomap needs subordinate ids: this user has none in /etc/subuid and /etc/subgid",
                    ));
                }
                config.id_mappings = Some(IdMappings {
                    uids: idmap::no_map(uids),
                    gids: idmap::no_map(gids),
                });
            }
            UserNsMode::Auto { size } => {
                let (uid_pool, gid_pool) = if rootless {
                    let pool = |n: u32| vec![(1, n.saturating_sub(1))];
                    (pool(uids), pool(gids))
                } else {
                    auto_pools()?
                };
                let size = match size {
                    Some(n) => n,
                    None => {
                        let (u, g) = largest_ids(layers);
                        u.max(g).saturating_add(1).max(AUTO_MIN_SIZE)
                    }
                };
                let (used_uids, used_gids) = ranges_in_use(&self.containers()?.list()?);
                let none_left = || {
                    invalid(format!(
                        "--userns=auto: no free range of {size} ids is left{}",
                        if rootless {
                            " in your subordinate ids".to_string()
                        } else {
                            format!(" in the subordinate ids of the user {AUTO_USER:?}")
                        }
                    ))
                };
                let uid = idmap::first_free(&uid_pool, &used_uids, size).ok_or_else(none_left)?;
                let gid = idmap::first_free(&gid_pool, &used_gids, size).ok_or_else(none_left)?;
                config.userns = UserNsMode::Auto { size: Some(size) };
                config.id_mappings = Some(IdMappings {
                    uids: vec![IdMap {
                        container: 0,
                        host: uid,
                        size,
                    }],
                    gids: vec![IdMap {
                        container: 0,
                        host: gid,
                        size,
                    }],
                });
            }
            UserNsMode::Custom => {
                let m = config
                    .id_mappings
                    .as_ref()
                    .ok_or_else(|| invalid("--uidmap/--gidmap: no mapping given"))?;
                idmap::check(&m.uids, "uid").map_err(|e| invalid(format!("--uidmap: {e}")))?;
                idmap::check(&m.gids, "gid").map_err(|e| invalid(format!("--gidmap: {e}")))?;
                if rootless {
                    for (maps, n, flag) in
                        [(&m.uids, uids, "--uidmap"), (&m.gids, gids, "--gidmap")]
                    {
                        if let Some(bad) = maps
                            .iter()
                            .find(|r| u64::from(r.host) + u64::from(r.size) > u64::from(n))
                        {
                            return Err(invalid(format!(
                                "{flag} {bad}: a rootless container's outside ids are those of skiff's user namespace, 0 (you) to {} (your subordinate ids)",
                                n.saturating_sub(1)
                            )));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Held from choosing an auto namespace's range until the container is
    /// recorded, so that two creates cannot choose the same.
    pub(crate) fn lock_auto_userns(
        &self,
        config: &ContainerConfig,
    ) -> Result<Option<crate::storage::lock::LockGuard>, ContainerError> {
        if !matches!(config.userns, UserNsMode::Auto { .. }) {
            return Ok(None);
        }
        Ok(Some(self.containers()?.lock("userns-auto")?))
    }

    /// The runtime prepares a container with a user namespace of its own
    /// from inside that namespace, so the container's root must be able to
    /// reach the bundle (the root file system's mount point, the files
    /// mounted from it). The bundle becomes the container root's; skiff's
    /// directories above it get search permission for others (not
    /// listing); a directory of the caller's above those (the rootless
    /// XDG_RUNTIME_DIR, 0700 by its rules) lets that one user search it,
    /// by an ACL entry.
    pub(crate) fn open_way_to_bundle(
        &self,
        bundle: &Path,
        maps: &IdMappings,
    ) -> Result<(), ContainerError> {
        let Some((uid, gid)) = maps.root() else {
            return Ok(());
        };
        std::os::unix::fs::lchown(bundle, Some(uid), Some(gid)).map_err(|e| {
            invalid(format!(
                "giving the bundle {} to the container's root (uid {uid} outside it): {e}",
                bundle.display()
            ))
        })?;
        self.open_way_to(bundle, "bundle", maps)
    }

    /// Search permission for the container's root on every directory
    /// above `target` (its `what`), as [`Self::open_way_to_bundle`] gives.
    pub(crate) fn open_way_to(
        &self,
        target: &Path,
        what: &str,
        maps: &IdMappings,
    ) -> Result<(), ContainerError> {
        let Some((uid, gid)) = maps.root() else {
            return Ok(());
        };
        let fail = |dir: &Path, why: String| {
            invalid(format!(
                "the container's root (uid {uid} outside it) cannot reach its {what} {}: {}: {why}",
                target.display(),
                dir.display()
            ))
        };
        let me = nix::unistd::geteuid().as_raw();
        let runroot = &self.paths().runroot;
        for dir in target.ancestors().skip(1) {
            if dir.parent().is_none() {
                break;
            }
            let md = std::fs::metadata(dir).map_err(|e| fail(dir, e.to_string()))?;
            if searchable_by(&md, maps, uid, gid) {
                continue;
            }
            if md.uid() != me {
                return Err(fail(
                    dir,
                    "others may not search it, and it is not yours to change: give it o+x (chmod o+x), or use another run directory".into(),
                ));
            }
            let done = if dir.starts_with(runroot) {
                std::fs::set_permissions(
                    dir,
                    std::os::unix::fs::PermissionsExt::from_mode(md.mode() & 0o7777 | 0o001),
                )
            } else {
                crate::sys::acl::grant_search(dir, uid, md.mode())
            };
            done.map_err(|e| fail(dir, e.to_string()))?;
        }
        Ok(())
    }

    /// keep-id: the passwd and group files with entries for the user added
    /// where the image has none, written into `rundir` and mounted over the
    /// image's. Also makes the user's home the process's HOME.
    pub(crate) fn keep_id_accounts(
        &self,
        rec: &ContainerRecord,
        rootfs: &Path,
        rundir: &Path,
        home: &mut String,
    ) -> Result<Vec<ExtraMount>, ContainerError> {
        let (
            UserNsMode::KeepId {
                uid: Some(uid),
                gid: Some(gid),
            },
            Some(maps),
        ) = (&rec.config.userns, &rec.config.id_mappings)
        else {
            return Ok(Vec::new());
        };
        let (passwd, group) = user::account_files(rootfs).map_err(|e| invalid(e.to_string()))?;
        let me = nix::unistd::User::from_uid(crate::config::paths::host_uid())
            .ok()
            .flatten();
        let name = me
            .as_ref()
            .map(|u| u.name.clone())
            .unwrap_or_else(|| format!("user{uid}"));
        let user_home = me
            .as_ref()
            .map(|u| u.dir.display().to_string())
            .unwrap_or_else(|| "/".into());
        let owner = maps.root();
        let mut mounts = Vec::new();
        let mut add = |file: &str, text: Option<&String>, line: String| {
            let mut content = text.cloned().unwrap_or_default();
            if !content.is_empty() && !content.ends_with('\n') {
                content.push('\n');
            }
            content.push_str(&line);
            let path = rundir.join(file);
            write_container_file(&path, content.as_bytes(), owner)
                .map_err(|e| invalid(format!("writing {}: {e}", path.display())))?;
            mounts.push(ExtraMount {
                destination: format!("/etc/{file}"),
                kind: MountKind::Bind { source: path },
                options: vec!["bind".into()],
            });
            Ok::<(), ContainerError>(())
        };
        if !passwd
            .as_deref()
            .is_some_and(|p| user::passwd_has_uid(p, *uid))
        {
            add(
                "passwd",
                passwd.as_ref(),
                format!("{name}:*:{uid}:{gid}:{name}:{user_home}:/bin/sh\n"),
            )?;
            if rec.config.user.is_none() {
                *home = user_home;
            }
        }
        if !group
            .as_deref()
            .is_some_and(|g| user::group_has_gid(g, *gid))
        {
            let group_name = nix::unistd::Group::from_gid(crate::config::paths::host_gid())
                .ok()
                .flatten()
                .map(|g| g.name)
                .unwrap_or_else(|| name.clone());
            add("group", group.as_ref(), format!("{group_name}:x:{gid}:\n"))?;
        }
        Ok(mounts)
    }
}

/// Whether the root of a container with `maps` (outside `uid`:`gid`) may
/// search a directory with these attributes: as others, as its owner or
/// group, or with the capabilities it has over files whose owner and group
/// its namespace maps.
/// In a user namespace, an owner it does not map reads as the overflow id,
/// which may also be a real id: it counts as unmapped.
fn searchable_by(md: &std::fs::Metadata, maps: &IdMappings, uid: u32, gid: u32) -> bool {
    const OVERFLOW_ID: u32 = 65534;
    let mode = md.mode();
    let mapped =
        |maps: &[IdMap], id: u32| id != OVERFLOW_ID && idmap::to_container(maps, id).is_some();
    mode & 0o001 != 0
        || (md.uid() == uid && mode & 0o100 != 0)
        || (md.gid() == gid && mode & 0o010 != 0)
        || (mapped(&maps.uids, md.uid()) && mapped(&maps.gids, md.gid()))
}

/// Root's pools for auto namespaces: the subordinate ids of [`AUTO_USER`].
fn auto_pools() -> Result<Ranges, ContainerError> {
    let read = |file: &str| {
        crate::engine::rootless::subid::read(Path::new(file), AUTO_USER, u32::MAX)
            .map(|s| {
                s.ranges
                    .iter()
                    .map(|r| (r.start, r.count))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let (uids, gids) = (read("/etc/subuid"), read("/etc/subgid"));
    if uids.is_empty() || gids.is_empty() {
        return Err(invalid(format!(
            "--userns=auto needs subordinate ids for the user {AUTO_USER:?} in /etc/subuid and /etc/subgid (for example the line {AUTO_USER}:2147483647:2147483648 in both)"
        )));
    }
    Ok((uids, gids))
}

/// A file bind-mounted into a container (/etc/passwd, /etc/hosts, ...),
/// rewritten at each start: replaced atomically, readable by all, owned by the container's root
/// (`owner`, with a user namespace of its own).
pub(crate) fn write_container_file(
    path: &Path,
    bytes: &[u8],
    owner: Option<(u32, u32)>,
) -> std::io::Result<()> {
    crate::storage::record::replace_volatile(path, bytes)?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    match owner {
        Some((u, g)) => std::os::unix::fs::lchown(path, Some(u), Some(g)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_ids_walk_every_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(tmp.path().join("d")).expect("mkdir");
        std::fs::write(tmp.path().join("d/f"), b"x").expect("write");
        let own = nix::unistd::geteuid().as_raw();
        let (u, _) = largest_ids(&[tmp.path().to_path_buf()]);
        assert_eq!(u, own);
    }
}
