//! `restart`: stop a container (if it runs) and start it again. As in
//! podman, the restart count only counts restarts made by a restart
//! policy, so a user's restart leaves it alone.

use crate::engine::container::cleanup::RESTARTING_MARKER;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::{ContainerRecord, Status};

impl Engine {
    /// Stop `input` within `timeout` seconds (its own stop timeout when
    /// `None`), then start it. Returns the running record.
    pub fn restart_container(
        &self,
        input: &str,
        timeout: Option<u64>,
    ) -> Result<ContainerRecord, ContainerError> {
        let rec = self.find_container(input)?;
        if rec.state.status == Status::Paused {
            return Err(ContainerError::Invalid(
                "unable to restart a container in a paused or unknown state: container state improper"
                    .into(),
            ));
        }
        let store = self.containers()?;
        // While the marker names this process, the cleanup run for the
        // stop neither removes a `--rm` container nor applies its policy.
        let rundir = store.rundir(&rec.id);
        crate::config::paths::ensure_private_dir(&rundir)
            .map_err(|e| ContainerError::Invalid(format!("creating {}: {e}", rundir.display())))?;
        let marker = rundir.join(RESTARTING_MARKER);
        std::fs::write(&marker, std::process::id().to_string())
            .map_err(|e| ContainerError::Invalid(format!("writing {}: {e}", marker.display())))?;
        let result = (|| {
            if rec.state.status.is_live() {
                self.stop_container(&rec.id, timeout)?;
            }
            self.start_container(&rec.id)
        })();
        let _ = std::fs::remove_file(&marker);
        result
    }
}
