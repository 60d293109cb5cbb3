//! Exec sessions: another process in a running container, under a monitor
//! of its own in exec mode (the runtime's `exec --detach`), as podman runs
//! them. Each session has a directory in the container's run directory
//! holding its process.json, pid file, attach socket, ctl FIFO and exit
//! file; the monitor's exit command removes it when the process is gone.

pub mod process;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::engine::container::binaries::monitor_binary;
use crate::engine::container::start::{classify_runtime_error, ExecFailure};
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::Status;

/// Whether the caller stays with the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecMode {
    /// Attach to its output (and input) before it starts, wait for its end.
    Attached,
    /// Start it and leave it running (`exec -d`).
    Detached,
}

/// What `exec` runs, and how.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub command: Vec<String>,
    /// `NAME=VALUE` entries over the container's environment.
    pub env: Vec<String>,
    /// `-u`: resolved in the container's root file system.
    pub user: Option<String>,
    /// `-w`: an absolute path in the container.
    pub workdir: Option<String>,
    pub terminal: bool,
    /// The caller's terminal size, which a terminal starts with.
    pub console_size: Option<crate::sys::tty::WindowSize>,
    pub stdin: bool,
    /// `--privileged`: the caller's whole bounding set.
    pub privileged: bool,
    pub mode: ExecMode,
}

/// A session whose process runs.
pub struct ExecSession {
    pub id: String,
    pub dir: PathBuf,
    pub pid: i32,
    sync: BufReader<std::fs::File>,
}

fn invalid(what: &str, e: impl std::fmt::Display) -> ContainerError {
    ContainerError::Invalid(format!("{what}: {e}"))
}

/// The next `{"data": N, "message": "..."}` line from the monitor; None at
/// the end of the pipe.
fn next_report(r: &mut impl BufRead) -> Result<Option<(i64, String)>, ContainerError> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)
            .map_err(|e| invalid("reading from the exec session's monitor", e))?
            == 0
        {
            return Ok(None);
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim()) else {
            continue;
        };
        let data = v.get("data").and_then(|d| d.as_i64()).unwrap_or(-1);
        let message = v.get("message").and_then(|m| m.as_str()).unwrap_or("");
        return Ok(Some((data, message.trim().to_string())));
    }
}

/// A failure the monitor reported: the runtime's words, as 126/127 when
/// the command could not be run.
fn exec_error(message: String) -> ContainerError {
    let message = if message.is_empty() {
        "the exec session's monitor exited without starting the process".to_string()
    } else {
        crate::runtime::external::runtime_message(message.as_bytes())
    };
    match classify_runtime_error(&message) {
        Some(code) => ContainerError::Exec(ExecFailure { code, message }),
        None => ContainerError::Invalid(message),
    }
}

/// SIGKILL the session's monitor (its pid file is in `dir`).
fn kill_monitor(dir: &Path) {
    let pid = std::fs::read_to_string(dir.join("conmon.pid"))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|&p| p > 0);
    if let Some(pid) = pid {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn hex_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl ExecSession {
    /// The control FIFO (window size) of the session.
    pub fn ctl(&self) -> PathBuf {
        self.dir.join("ctl")
    }

    /// Wait for the process to end; returns its exit code and removes the
    /// session's directory.
    pub fn wait(mut self) -> Result<i32, ContainerError> {
        let report = next_report(&mut self.sync);
        let _ = std::fs::remove_dir_all(&self.dir);
        match report? {
            Some((code, _)) => Ok(code as i32),
            None => Err(ContainerError::Invalid(format!(
                "the monitor of exec session {} exited without reporting the exit code",
                self.id
            ))),
        }
    }
}

impl Engine {
    /// Start an exec session in the running container `input`. In attached
    /// mode `attach` is called with the session's directory once its attach
    /// socket exists and before the process starts, so no output is missed.
    pub fn exec_container(
        &self,
        input: &str,
        opts: &ExecOptions,
        attach: &mut dyn FnMut(&Path) -> Result<(), ContainerError>,
    ) -> Result<ExecSession, ContainerError> {
        let rec = self.find_container(input)?;
        if rec.state.status != Status::Running {
            return Err(ContainerError::Invalid(
                "can only create exec sessions on running containers: container state improper"
                    .into(),
            ));
        }
        if let Some(w) = opts.workdir.as_deref().filter(|w| !w.starts_with('/')) {
            return Err(ContainerError::Invalid(format!(
                "the working directory {w:?} is not an absolute path"
            )));
        }
        let rundir = self.containers()?.rundir(&rec.id);
        let config = std::fs::read(rundir.join("config.json"))
            .map_err(|e| invalid("reading the container's config.json", e))?;
        let spec: oci_spec::runtime::Spec = serde_json::from_slice(&config)
            .map_err(|e| invalid("parsing the container's config.json", e))?;
        let base = spec.process().clone().ok_or_else(|| {
            ContainerError::Invalid("the container's config.json has no process".into())
        })?;
        let user = opts
            .user
            .as_deref()
            .map(|u| crate::runtime::spec::user::resolve(&rundir.join("rootfs"), u, ""))
            .transpose()
            .map_err(|e| ContainerError::Invalid(e.to_string()))?;
        let privileged = opts
            .privileged
            .then(|| crate::runtime::spec::Host::probe().bounding.to_oci());
        let process = process::build(&base, opts, user.as_ref(), privileged);
        let json = serde_json::to_vec(&process).map_err(|e| invalid("writing process.json", e))?;

        let id = crate::state::names::new_id().map_err(|e| invalid("making a session id", e))?;
        let dir = rundir.join("exec").join(&id);
        crate::config::paths::ensure_private_dir(&dir)
            .map_err(|e| invalid(&format!("creating {}", dir.display()), e))?;
        let started = std::fs::write(dir.join("process.json"), json)
            .map_err(|e| invalid("writing process.json", e))
            .and_then(|()| self.launch_exec_monitor(&rec, &id, &dir, opts, attach));
        match started {
            Ok((pid, sync)) => Ok(ExecSession { id, dir, pid, sync }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// Run the session's monitor and start the process; returns its pid
    /// and the sync pipe that will carry its exit code.
    fn launch_exec_monitor(
        &self,
        rec: &crate::state::container::ContainerRecord,
        id: &str,
        dir: &Path,
        opts: &ExecOptions,
        attach: &mut dyn FnMut(&Path) -> Result<(), ContainerError>,
    ) -> Result<(i32, BufReader<std::fs::File>), ContainerError> {
        let runtime = self.runtime_for(rec)?;
        let attached = opts.mode == ExecMode::Attached;
        let mut cmd = Command::new(monitor_binary()?);
        cmd.args([
            "--api-version",
            "1",
            "-c",
            &rec.id,
            "-u",
            id,
            "-n",
            &rec.name,
        ]);
        cmd.arg("-r").arg(runtime.path());
        for a in runtime.global_args() {
            cmd.arg("--runtime-arg").arg(a);
        }
        cmd.arg("-b").arg(dir);
        cmd.arg("-p").arg(dir.join("pidfile"));
        cmd.arg("--conmon-pidfile").arg(dir.join("conmon.pid"));
        cmd.arg("--exit-dir").arg(dir);
        cmd.args(["-l", "none", "-e"]);
        cmd.arg("--exec-process-spec").arg(dir.join("process.json"));
        if attached {
            cmd.arg("--exec-attach");
        }
        if opts.terminal {
            // A pty has no end of input: a client leaving must not take the
            // next one's keyboard away.
            cmd.args(["-t", "--leave-stdin-open"]);
        }
        if opts.stdin && attached {
            cmd.arg("-i");
        }
        let mut exit = self.exit_command(&rec.id);
        exit.extend(["--exec".to_string(), id.to_string()]);
        cmd.arg("--exit-command").arg(&exit[0]);
        for a in &exit[1..] {
            cmd.arg("--exit-command-arg").arg(a);
        }
        let pipe = || {
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .map_err(|e| invalid("creating a pipe to the monitor", e))
        };
        let (sync_r, sync_w) = pipe()?;
        let (start_r, start_w) = pipe()?;
        let (attach_r, attach_w) = pipe()?;
        cmd.env("_OCI_SYNCPIPE", "3").env("_OCI_STARTPIPE", "4");
        let mut fds = vec![(sync_w.as_fd(), 3), (start_r.as_fd(), 4)];
        if attached {
            cmd.env("_OCI_ATTACHPIPE", "5");
            fds.push((attach_w.as_fd(), 5));
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = crate::sys::process::spawn_with_fds(cmd, &fds)
            .map_err(|e| invalid("starting the monitor", e))?;
        drop(fds);
        drop((sync_w, start_r, attach_w));
        let mut sync = BufReader::new(std::fs::File::from(sync_r));
        let mut start = std::fs::File::from(start_w);
        // Release the monitor; it daemonizes and (attached) binds its socket.
        let _ = start.write_all(b"0");
        let ready = if attached {
            let mut attach_pipe = BufReader::new(std::fs::File::from(attach_r));
            next_report(&mut attach_pipe)?.is_some_and(|(data, _)| data == 0)
        } else {
            true
        };
        // The first process ends once the monitor is in the background.
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let _ = child.wait();
        if ready && attached {
            if let Err(e) = attach(dir) {
                // Nothing runs unattached: the runtime, still waiting for
                // the start message, dies with its monitor.
                kill_monitor(dir);
                return Err(e);
            }
        }
        if attached {
            // Now the runtime may run the process.
            let _ = start.write_all(b"1");
        }
        drop(start);
        match next_report(&mut sync)? {
            Some((pid, _)) if pid > 0 && ready => Ok((pid as i32, sync)),
            Some((_, message)) => Err(exec_error(message)),
            None => Err(exec_error(stderr.trim().to_string())),
        }
    }

    /// Remove what is left of exec session `session` of container `id` (the
    /// monitor's exit command does this once the process is gone).
    pub fn remove_exec_session(&self, id: &str, session: &str) -> Result<(), ContainerError> {
        if !hex_id(id) || !hex_id(session) {
            return Err(ContainerError::Invalid(format!(
                "invalid exec session {session:?} of container {id:?}"
            )));
        }
        let dir = self.containers()?.rundir(id).join("exec").join(session);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(invalid(&format!("removing {}", dir.display()), e))
            }
            _ => Ok(()),
        }
    }
}
