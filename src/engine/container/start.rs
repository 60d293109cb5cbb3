//! `start`: mount the root filesystem, write the bundle, hand the container
//! to a monitor (which runs the runtime's `create` and stays with it), then
//! `runtime start`. Nothing of skiff stays running but the monitor.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::Utc;

use crate::engine::container::reconcile::process_start_time;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::{ContainerRecord, LogDriver, Status};

/// The container's own process could not be started: podman's 126 (cannot
/// be invoked) and 127 (not found).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExecFailure {
    pub code: u8,
    pub message: String,
}

/// How a start failure maps to podman's exit codes.
pub fn classify_runtime_error(message: &str) -> Option<u8> {
    let m = message.to_ascii_lowercase();
    if m.contains("no such file or directory")
        || m.contains("executable file not found")
        || m.contains("not found in $path")
    {
        Some(127)
    } else if m.contains("permission denied")
        // crun, for a directory: "open executable: Operation not permitted"
        || m.contains("operation not permitted")
        || m.contains("is a directory")
        || m.contains("exec format error")
    {
        Some(126)
    } else {
        None
    }
}

/// Release the monitor (it creates the container now) and read what it
/// reports.
fn release_and_read(
    start: std::os::fd::OwnedFd,
    sync: std::os::fd::OwnedFd,
) -> Result<i32, String> {
    let mut start = std::fs::File::from(start);
    let _ = start.write_all(b"0");
    drop(start);
    read_sync(std::fs::File::from(sync))
}

/// What the monitor reported on the sync pipe.
fn read_sync(pipe: std::fs::File) -> Result<i32, String> {
    let mut line = String::new();
    let mut reader = BufReader::new(pipe);
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => return Err("the monitor exited without reporting the container's pid".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("reading from the monitor: {e}")),
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim()) else {
            continue;
        };
        let data = v.get("data").and_then(|d| d.as_i64()).unwrap_or(-1);
        if data > 0 {
            return Ok(data as i32);
        }
        let msg = v
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("the runtime failed to create the container");
        return Err(msg.trim().to_string());
    }
}

impl Engine {
    /// The command line that cleans up after a container exits (run by the
    /// monitor).
    pub(crate) fn exit_command(&self, id: &str) -> Vec<String> {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "skiff".to_string());
        vec![
            exe,
            "--root".into(),
            self.paths().root.display().to_string(),
            "--runroot".into(),
            self.paths().runroot.display().to_string(),
            "--storage-driver".into(),
            self.store().driver().to_string(),
            "container".into(),
            "cleanup".into(),
            id.to_string(),
        ]
    }

    /// Write the bundle of `rec` into `bundle`, with the root filesystem
    /// mounted; returns the spec written as its config.json.
    fn prepare_bundle(
        &self,
        rec: &ContainerRecord,
        bundle: &Path,
        console_size: Option<crate::sys::tty::WindowSize>,
    ) -> Result<oci_spec::runtime::Spec, ContainerError> {
        let target = bundle.join("rootfs");
        let (image, rootfs) = self.mount_rootfs_of(rec, bundle)?;
        let result = (|| {
            let image_config = self.image_config(&image)?;
            let opts = self.spec_options(rec, &image_config, &rootfs)?;
            let mut spec = crate::runtime::spec::build(&opts)
                .map_err(|e| ContainerError::Invalid(e.to_string()))?;
            // A terminal starts with the size of the one that attaches.
            if let (Some(size), true) = (console_size, rec.config.tty) {
                if let Some(p) = spec.process_mut() {
                    p.set_console_size(Some(crate::runtime::spec::console_size(size)));
                }
            }
            let json = serde_json::to_vec(&spec)
                .map_err(|e| ContainerError::Invalid(format!("writing config.json: {e}")))?;
            crate::storage::record::write_atomic(&bundle.join("config.json"), &json)
                .map_err(|e| ContainerError::Invalid(e.to_string()))?;
            Ok(spec)
        })();
        if result.is_err() {
            self.release_volumes(rec);
            crate::engine::volume::mounts::release_subpaths(bundle);
            self.release_container_images(bundle);
            let _ = self.store().unmount_rootfs(&target);
        }
        result
    }

    /// Start a created or exited container. Returns the running record.
    pub fn start_container(&self, input: &str) -> Result<ContainerRecord, ContainerError> {
        self.start_container_with(input, None, &mut |_| Ok(()))
    }

    /// Start a container, calling `created` with the bundle directory after
    /// the runtime created it and before its process runs (to attach without
    /// missing any output).
    pub fn start_container_with(
        &self,
        input: &str,
        console_size: Option<crate::sys::tty::WindowSize>,
        created: &mut dyn FnMut(&Path) -> Result<(), ContainerError>,
    ) -> Result<ContainerRecord, ContainerError> {
        let rec = self.find_container(input)?;
        if !rec.state.status.is_live() {
            self.start_requirements(&rec)?;
        }
        let store = self.containers()?;
        let _lock = store.lock(&rec.id)?;
        let Some(mut rec) = store.get(&rec.id)? else {
            return Err(crate::state::StateError::NoSuchContainer(input.to_string()).into());
        };
        if rec.state.status.is_live() {
            return Ok(rec);
        }
        if self.privilege() == crate::config::paths::Privilege::Rootless
            && !crate::sys::is_in_user_namespace()
        {
            return Err(ContainerError::Invalid(
                "running containers as an unprivileged user needs skiff's rootless user namespace, which this version does not set up yet: run as root".into(),
            ));
        }
        let bundle = store.rundir(&rec.id);
        crate::config::paths::ensure_private_dir(&bundle)
            .map_err(|e| ContainerError::Invalid(format!("creating {}: {e}", bundle.display())))?;
        let _ = std::fs::remove_file(store.exits_dir().join(&rec.id));
        let runtime = self.runtime_for(&rec)?;
        // Whatever the runtime remembers of an earlier run goes first (a
        // new container has nothing: skip the runtime's start-up cost).
        if crate::engine::container::reconcile::runtime_may_know(
            &self.paths().runroot.join("runtime"),
            runtime.name(),
            &rec.id,
        ) {
            let _ = runtime.delete(&rec.id, true);
        }
        // pasta or slirp4netns comes up while the bundle is prepared.
        let usernet = crate::engine::container::usernet::spawn(
            &store.usernet_dir(&rec.id),
            &rec.config,
            self.privilege() == crate::config::paths::Privilege::Root,
        )
        .map_err(ContainerError::Invalid)?;
        if let crate::state::container::NetworkMode::Bridge(_) = &rec.config.network {
            match self.attach_networks(&rec, &bundle) {
                Ok(status) => rec.state.networks = status,
                Err(e) => {
                    if let Some(n) = usernet {
                        n.abort();
                    }
                    return Err(e);
                }
            }
        }
        let spec = match self.prepare_bundle(&rec, &bundle, console_size) {
            Ok(spec) => spec,
            Err(e) => {
                if let Some(n) = usernet {
                    n.abort();
                }
                self.release_resources(&rec);
                return Err(e);
            }
        };
        // What the monitor holds while the container runs (slirp4netns's
        // exit pipe).
        let hold = match usernet.map(|n| n.wait()).transpose() {
            Ok(fd) => fd.flatten(),
            Err(e) => {
                self.release_resources(&rec);
                return Err(ContainerError::Invalid(e));
            }
        };
        let started = self.launch_monitor(&rec, &bundle, &runtime, spec, hold);
        let (pid, monitor_pid) = match started {
            Ok(x) => x,
            Err(e) => {
                self.release_resources(&rec);
                return Err(e);
            }
        };
        if let Err(e) = created(&bundle) {
            let _ = runtime.delete(&rec.id, true);
            self.release_resources(&rec);
            return Err(e);
        }
        if let Err(e) = runtime.start(&rec.id) {
            let message = e.to_string();
            let _ = runtime.delete(&rec.id, true);
            self.release_resources(&rec);
            return Err(match classify_runtime_error(&message) {
                Some(code) => ContainerError::Exec(ExecFailure { code, message }),
                None => ContainerError::Invalid(message),
            });
        }
        rec.state.status = Status::Running;
        rec.state.pid = Some(pid);
        rec.state.monitor_pid = Some(monitor_pid);
        rec.state.monitor_start = process_start_time(monitor_pid);
        rec.state.started_at = Some(Utc::now());
        rec.state.finished_at = None;
        rec.state.exit_code = None;
        rec.state.stopped_by_user = false;
        rec.state.boot = Some(store.boot_id()?);
        store.put(&rec)?;
        Ok(rec)
    }

    /// Run the monitor for `rec`; returns (container pid, monitor pid) once
    /// the runtime created the container. The monitor keeps `hold` open
    /// until the container exits (as every descriptor it inherits).
    fn launch_monitor(
        &self,
        rec: &ContainerRecord,
        bundle: &Path,
        runtime: &crate::runtime::external::ExternalRuntime,
        spec: oci_spec::runtime::Spec,
        hold: Option<std::os::fd::OwnedFd>,
    ) -> Result<(i32, i32), ContainerError> {
        let store = self.containers()?;
        let userdata = store.userdata(&rec.id);
        let socket_dir = self.paths().runroot.join("socket");
        crate::config::paths::ensure_private_dir(&socket_dir).map_err(|e| {
            ContainerError::Invalid(format!("creating {}: {e}", socket_dir.display()))
        })?;
        let persist = userdata.join("persist");
        let _ = std::fs::create_dir_all(&persist);
        let mut cmd = Command::new(crate::engine::container::binaries::monitor_binary()?);
        cmd.args([
            "--api-version",
            "1",
            "-c",
            &rec.id,
            "-u",
            &rec.id,
            "-n",
            &rec.name,
        ]);
        cmd.arg("-r").arg(runtime.path());
        for a in runtime.global_args() {
            cmd.arg("--runtime-arg").arg(a);
        }
        cmd.arg("-b").arg(bundle);
        cmd.arg("-p").arg(bundle.join("pidfile"));
        cmd.arg("--conmon-pidfile").arg(bundle.join("conmon.pid"));
        cmd.arg("--exit-dir").arg(store.exits_dir());
        cmd.arg("--persist-dir").arg(&persist);
        cmd.arg("--socket-dir-path").arg(&socket_dir);
        match rec.config.log_driver {
            LogDriver::K8sFile => {
                cmd.arg("-l")
                    .arg(format!("k8s-file:{}", userdata.join("ctr.log").display()));
            }
            LogDriver::None => {
                cmd.args(["-l", "none"]);
            }
            LogDriver::Passthrough => {
                cmd.args(["-l", "passthrough"]);
            }
        }
        if let Some(max) = rec.config.log_max_size {
            cmd.arg("--log-size-max").arg(max.to_string());
        }
        if rec.config.tty {
            // A pty has no end of input: a client that detaches must not
            // take the keyboard away from the next one.
            cmd.args(["-t", "--leave-stdin-open"]);
        }
        if rec.config.interactive {
            cmd.arg("-i");
        }
        let exit = self.exit_command(&rec.id);
        cmd.arg("--exit-command").arg(&exit[0]);
        for a in &exit[1..] {
            cmd.arg("--exit-command-arg").arg(a);
        }
        let (sync_r, sync_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| ContainerError::Invalid(format!("creating the sync pipe: {e}")))?;
        let (start_r, start_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| ContainerError::Invalid(format!("creating the start pipe: {e}")))?;
        cmd.env("_OCI_SYNCPIPE", "3").env("_OCI_STARTPIPE", "4");
        if rec.config.log_driver != LogDriver::Passthrough {
            cmd.stdin(Stdio::null()).stdout(Stdio::null());
        }
        let mut stderr = String::new();
        let reported = match runtime.in_process() {
            // skiff's own runtime creates the container in the process
            // that becomes the monitor.
            Some(builtin) if super::adopt::single_threaded() => {
                let plan = super::adopt::Plan {
                    runtime: builtin,
                    id: &rec.id,
                    bundle,
                    spec,
                    stdio: super::adopt::StdioPlan {
                        terminal: rec.config.tty,
                        stdin: rec.config.interactive,
                        passthrough: rec.config.log_driver == LogDriver::Passthrough,
                    },
                    monitor: &cmd,
                    hold,
                };
                super::adopt::launch(plan, sync_w, start_r)
                    .map_err(|e| ContainerError::Invalid(format!("starting the monitor: {e}")))?;
                release_and_read(start_w, sync_r)
            }
            _ => {
                cmd.stderr(Stdio::piped());
                let mut fds = vec![(sync_w.as_fd(), 3), (start_r.as_fd(), 4)];
                fds.extend(hold.as_ref().map(|h| (h.as_fd(), super::adopt::HOLD_FD)));
                let mut child = crate::sys::process::spawn_with_fds(cmd, &fds)
                    .map_err(|e| ContainerError::Invalid(format!("starting the monitor: {e}")))?;
                drop(fds);
                drop(sync_w);
                drop(start_r);
                drop(hold);
                let reported = release_and_read(start_w, sync_r);
                // The monitor's first process exits once it has daemonized.
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut stderr);
                }
                let _ = child.wait();
                reported
            }
        };
        let pid = reported.map_err(|m| {
            let m = if m.is_empty() {
                stderr.trim().to_string()
            } else {
                m
            };
            match classify_runtime_error(&m) {
                Some(code) => ContainerError::Exec(ExecFailure { code, message: m }),
                None => ContainerError::Invalid(format!("creating container {}: {m}", rec.name)),
            }
        })?;
        let monitor_pid = std::fs::read_to_string(bundle.join("conmon.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| {
                ContainerError::Invalid("the monitor did not write its pid file".into())
            })?;
        Ok((pid, monitor_pid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_errors_map_to_exit_codes() {
        assert_eq!(
            classify_runtime_error("exec: \"nope\": executable file not found in $PATH"),
            Some(127)
        );
        assert_eq!(
            classify_runtime_error("exec /etc: permission denied"),
            Some(126)
        );
        assert_eq!(
            classify_runtime_error("open executable: Operation not permitted"),
            Some(126)
        );
        assert_eq!(classify_runtime_error("cgroup trouble"), None);
    }
}
