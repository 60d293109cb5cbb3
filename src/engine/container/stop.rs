//! `stop` and `kill`: signals through the OCI runtime, then waiting for the
//! monitor to record the exit. A paused container is thawed right after the
//! stop signal is sent, so it sees the signal (as docker does; podman 4
//! refuses to stop a paused container).

use std::time::{Duration, Instant};

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::runtime::external::ExternalRuntime;
use crate::state::container::{ContainerRecord, Status};

/// `stop`'s default grace period, in seconds.
pub const DEFAULT_STOP_TIMEOUT: u64 = 10;

impl Engine {
    /// The runtime a container was created with.
    pub fn runtime_for(&self, rec: &ContainerRecord) -> Result<ExternalRuntime, ContainerError> {
        crate::runtime::select::select(Some(&rec.runtime), &self.paths().runroot.join("runtime"))
            .map_err(|e| ContainerError::Invalid(e.to_string()))
    }

    /// Wait until the container is no longer live, up to `limit`.
    pub fn wait_exited(
        &self,
        id: &str,
        limit: Duration,
    ) -> Result<Option<ContainerRecord>, ContainerError> {
        let start = Instant::now();
        // The monitor writes the exit file about a millisecond after it
        // closes the attach connection (an attached `run` starts waiting
        // then): look often at first, then back off to 50 ms.
        let mut nap = Duration::from_micros(250);
        loop {
            let rec = self.find_container(id)?;
            if !rec.state.status.is_live() {
                return Ok(Some(rec));
            }
            if start.elapsed() >= limit {
                return Ok(None);
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(50));
        }
    }

    fn mark_stopped_by_user(&self, rec: &ContainerRecord) -> Result<(), ContainerError> {
        let store = self.containers()?;
        let _lock = store.lock(&rec.id)?;
        if let Some(mut current) = store.get(&rec.id)? {
            current.state.stopped_by_user = true;
            store.put(&current)?;
        }
        Ok(())
    }

    /// Send `signal`, wait up to `timeout` seconds, then SIGKILL every
    /// process of the container and wait for the monitor to see it.
    pub fn kill_and_wait(
        &self,
        rec: &ContainerRecord,
        timeout: u64,
    ) -> Result<ContainerRecord, ContainerError> {
        self.mark_stopped_by_user(rec)?;
        let rt = self.runtime_for(rec)?;
        let signal = rec.config.stop_signal.unwrap_or(libc::SIGTERM);
        if timeout > 0 {
            if let Err(e) = rt.kill(&rec.id, signal, false) {
                tracing::debug!("{e}");
            }
            if rec.state.status == Status::Paused {
                self.thaw_for_signal(rec)?;
            }
            if let Some(done) = self.wait_exited(&rec.id, Duration::from_secs(timeout))? {
                return Ok(done);
            }
            tracing::warn!(
                "StopSignal {signal} failed to stop container {} in {timeout} seconds, resorting to SIGKILL",
                rec.name
            );
        }
        if let Err(e) = rt.kill(&rec.id, libc::SIGKILL, true) {
            // Without a cgroup the runtime cannot find "all" processes:
            // killing the init of the container's pid namespace ends them.
            tracing::debug!("{e}");
            if let Err(e) = rt.kill(&rec.id, libc::SIGKILL, false) {
                tracing::debug!("{e}");
            }
        }
        if rec.state.status == Status::Paused {
            self.thaw_for_signal(rec)?;
        }
        match self.wait_exited(&rec.id, Duration::from_secs(30))? {
            Some(done) => Ok(done),
            None => Err(ContainerError::Invalid(format!(
                "container {} did not stop after SIGKILL",
                rec.name
            ))),
        }
    }

    /// `stop`: returns the stopped record (a container already stopped is
    /// returned as it is).
    pub fn stop_container(
        &self,
        input: &str,
        timeout: Option<u64>,
    ) -> Result<ContainerRecord, ContainerError> {
        let rec = self.find_container(input)?;
        if !rec.state.status.is_live() {
            return Ok(rec);
        }
        let t = timeout
            .or(rec.config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        self.kill_and_wait(&rec, t)
    }

    /// `kill -s SIGNAL`.
    pub fn kill_container(
        &self,
        input: &str,
        signal: i32,
    ) -> Result<ContainerRecord, ContainerError> {
        let rec = self.find_container(input)?;
        if !rec.state.status.is_live() {
            return Err(ContainerError::Invalid(format!(
                "can only kill running containers. {} is in state {}: container state improper",
                rec.short_id(),
                rec.state.status.as_str()
            )));
        }
        if matches!(signal, libc::SIGKILL | libc::SIGTERM | libc::SIGINT) {
            self.mark_stopped_by_user(&rec)?;
        }
        self.runtime_for(&rec)?
            .kill(&rec.id, signal, false)
            .map_err(|e| ContainerError::Invalid(e.to_string()))?;
        Ok(rec)
    }
}
