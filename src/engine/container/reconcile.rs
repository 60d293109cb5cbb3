//! Bringing a record in line with the truth: the monitor's exit file, a
//! monitor that died without writing one, or a reboot that wiped the run
//! directory. Every command that reads containers goes through here, so a
//! container is never shown "running" after it stopped.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::{ContainerRecord, Status};

/// Exit code recorded when a container's end was not observed (its monitor
/// was killed, or the machine rebooted): what a SIGKILL gives.
pub const UNOBSERVED_EXIT: i32 = 137;

/// The start time of process `pid` (clock ticks since boot), to tell a
/// live process from a reused pid.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start
    // after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // Field 3 is the state; starttime is field 22, i.e. index 19 here.
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether the process recorded as (`pid`, `start`) still runs.
pub fn process_alive(pid: Option<i32>, start: Option<u64>) -> bool {
    match (pid, start) {
        (Some(pid), Some(start)) => process_start_time(pid) == Some(start),
        (Some(pid), None) => process_start_time(pid).is_some(),
        _ => false,
    }
}

/// Whether the runtime `name`, with its state under `state_base/name`, may
/// know container `id`. runc, crun, youki and skiff's own runtime keep a
/// container's state in `<state root>/<id>` from `create` until `delete`:
/// without that directory they know nothing of it, and asking them to
/// delete it (a process start, several milliseconds for runc) would only
/// say so. Other runtimes are always asked.
pub fn runtime_may_know(state_base: &Path, name: &str, id: &str) -> bool {
    if !matches!(
        name,
        "runc" | "crun" | "youki" | crate::runtime::external::BUILTIN
    ) || id.is_empty()
        || id.contains('/')
    {
        return true;
    }
    std::fs::symlink_metadata(state_base.join(name).join(id)).is_ok()
}

impl Engine {
    /// The exit code the monitor wrote for `id`, with the time it wrote it.
    fn exit_file(&self, id: &str) -> Option<(i32, DateTime<Utc>)> {
        let path = self.containers().ok()?.exits_dir().join(id);
        let text = std::fs::read_to_string(&path).ok()?;
        let code = text.trim().parse().ok()?;
        let when = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .map(DateTime::<Utc>::from)
            .unwrap_or_else(|_| Utc::now());
        Some((code, when))
    }

    /// Reconcile one record (see the module comment); writes the record back
    /// when it changed.
    pub fn reconcile(&self, rec: ContainerRecord) -> Result<ContainerRecord, ContainerError> {
        if !rec.state.status.is_live() {
            return Ok(rec);
        }
        let store = self.containers()?;
        let boot = store.boot_id()?;
        let exited = self.exit_file(&rec.id);
        let rebooted = rec.state.boot.as_deref().is_some_and(|b| b != boot);
        let monitor_gone = !process_alive(rec.state.monitor_pid, rec.state.monitor_start);
        if exited.is_none() && !rebooted && !monitor_gone {
            return Ok(rec);
        }
        let _lock = store.lock(&rec.id)?;
        let Some(mut current) = store.get(&rec.id)? else {
            return Ok(rec);
        };
        self.settle_locked(&mut current, rebooted)?;
        Ok(current)
    }

    /// With the container's lock held: if the live record's run is over
    /// (an exit file, a dead monitor, a reboot), record the exit, release
    /// what it held and write it back. Returns whether it is over. (A start
    /// removes the previous exit file before it launches a monitor, so an
    /// exit file is always the current run's.)
    pub(crate) fn settle_locked(
        &self,
        current: &mut ContainerRecord,
        rebooted: bool,
    ) -> Result<bool, ContainerError> {
        if !current.state.status.is_live() {
            return Ok(true);
        }
        let (code, when) = match self.exit_file(&current.id) {
            Some(x) => x,
            None if rebooted
                || !process_alive(current.state.monitor_pid, current.state.monitor_start) =>
            {
                (UNOBSERVED_EXIT, Utc::now())
            }
            None => return Ok(false),
        };
        current.state.status = Status::Exited;
        current.state.exit_code = Some(code);
        current.state.finished_at = Some(when);
        current.state.pid = None;
        current.state.monitor_pid = None;
        current.state.monitor_start = None;
        current.state.networks.clear();
        self.release_resources(current);
        self.containers()?.put(current)?;
        Ok(true)
    }

    /// Everything a stopped container no longer needs: its root filesystem
    /// mount, its user-mode network helper and namespace, and the runtime's state. Errors are logged: what is already gone
    /// is fine.
    pub fn release_resources(&self, rec: &ContainerRecord) {
        let Ok(store) = self.containers() else { return };
        let rootfs = store.rundir(&rec.id).join("rootfs");
        // A user's `mount` outlives the run (see `mount.rs`).
        if !self.rootfs_held(rec) {
            if let Err(e) = self.store().unmount_rootfs(&rootfs) {
                tracing::warn!("{e}");
            }
        }
        // Bridges first (they remove the namespace file themselves), then
        // pasta's or slirp4netns's namespace and the helper with it.
        let rundir = store.rundir(&rec.id);
        if let crate::state::container::NetworkMode::Bridge(_) = rec.config.network {
            self.detach_networks(rec, &rundir);
        }
        crate::engine::container::usernet::release(&store.usernet_dir(&rec.id));
        crate::engine::container::shm::unmount(&rundir);
        self.release_volumes(rec);
        crate::engine::volume::mounts::release_subpaths(&rundir);
        self.release_container_images(&rundir);
        let state_base = self.paths().runroot.join("runtime");
        if let Ok(rt) = crate::runtime::select::select(Some(&rec.runtime), &state_base) {
            if runtime_may_know(&state_base, rt.name(), &rec.id) {
                if let Err(e) = rt.delete(&rec.id, true) {
                    tracing::debug!("{e}");
                }
            }
        }
        // The runtime removes the cgroup it made, unless its state is gone
        // (a wiped run directory): then it falls to us.
        if self.privilege() == crate::config::paths::Privilege::Root {
            let cgroup = self.container_cgroup(rec);
            for d in crate::sys::cgroup::remove_container_cgroup(&cgroup) {
                tracing::warn!("cannot remove the cgroup {}", d.display());
            }
        }
    }

    /// All containers, reconciled, newest first.
    pub fn list_containers(&self) -> Result<Vec<ContainerRecord>, ContainerError> {
        self.containers()?
            .list()?
            .into_iter()
            .map(|r| self.reconcile(r))
            .collect()
    }

    /// One container by name or id, reconciled.
    pub fn find_container(&self, input: &str) -> Result<ContainerRecord, ContainerError> {
        let rec = self.containers()?.lookup(input)?;
        self.reconcile(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_pid_reuse_is_detected() {
        let me = std::process::id() as i32;
        let start = process_start_time(me).expect("own stat");
        assert!(process_alive(Some(me), Some(start)));
        assert!(!process_alive(Some(me), Some(start + 1)));
        assert!(!process_alive(None, None));
    }

    #[test]
    fn runtimes_without_state_for_a_container_are_not_asked() {
        let d = tempfile::tempdir().expect("tempdir");
        let base = d.path();
        for name in ["runc", "crun", "youki"] {
            assert!(!runtime_may_know(base, name, "abc"), "{name}");
            std::fs::create_dir_all(base.join(name).join("abc")).expect("mkdir");
            assert!(runtime_may_know(base, name, "abc"), "{name}");
            assert!(!runtime_may_know(base, name, "abd"), "{name}");
        }
        // Runtimes whose layout is not known are always asked.
        assert!(runtime_may_know(base, "runsc", "abc"));
        assert!(runtime_may_know(base, "runc", ""));
        assert!(runtime_may_know(base, "runc", "../x"));
    }
}
