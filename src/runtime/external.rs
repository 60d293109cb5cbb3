//! External OCI runtimes (runc, crun, youki, or a path) driven through the
//! standard runtime command line: `start`, `state`, `kill`, `delete`,
//! `pause`, `resume`. `create` and `exec` run under the monitor, which passes
//! the same global arguments.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::runtime::builtin;

/// What the runtime says of a container (`runtime state ID`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RuntimeState {
    pub id: String,
    /// `creating`, `created`, `running`, `paused`, `stopped`.
    pub status: String,
    #[serde(default)]
    pub pid: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("running {runtime} {verb}: {source}")]
    Spawn {
        runtime: String,
        verb: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{runtime} {verb} {id}: {message}")]
    Failed {
        runtime: String,
        verb: &'static str,
        id: String,
        message: String,
    },
    #[error("{runtime} state {id}: unreadable answer: {source}")]
    State {
        runtime: String,
        id: String,
        #[source]
        source: serde_json::Error,
    },
}

impl RuntimeError {
    /// The runtime does not know the container (already deleted).
    pub fn is_not_found(&self) -> bool {
        matches!(self, RuntimeError::Failed { message, .. }
            if message.contains("does not exist") || message.contains("not found") || message.contains("No such file"))
    }
}

/// An OCI runtime binary plus the state directory skiff gives it.
#[derive(Debug, Clone)]
pub struct ExternalRuntime {
    name: String,
    path: PathBuf,
    state_root: PathBuf,
    /// Arguments before the global ones: `runtime` for skiff's own.
    prefix: Vec<String>,
}

/// The name of skiff's built-in runtime (`--runtime skiff`), run as
/// `skiff runtime ...` by the monitor.
pub const BUILTIN: &str = "skiff";

impl ExternalRuntime {
    pub fn new(name: &str, path: PathBuf, state_root: PathBuf) -> Self {
        Self {
            name: name.to_string(),
            path,
            state_root,
            prefix: Vec::new(),
        }
    }

    /// skiff's own runtime, through this very binary.
    pub fn builtin(state_root: PathBuf) -> std::io::Result<Self> {
        Ok(Self {
            name: BUILTIN.to_string(),
            path: std::env::current_exe()?,
            state_root,
            prefix: vec!["runtime".to_string()],
        })
    }

    /// What a container record keeps to find this runtime again: the
    /// path, or the built-in runtime's name (the binary may move).
    pub fn record_name(&self) -> String {
        if self.name == BUILTIN && !self.prefix.is_empty() {
            BUILTIN.to_string()
        } else {
            self.path.display().to_string()
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Global arguments every invocation gets (also passed to the monitor).
    pub fn global_args(&self) -> Vec<String> {
        let mut out = self.prefix.clone();
        out.extend(["--root".to_string(), self.state_root.display().to_string()]);
        out
    }

    /// skiff's own runtime, called in this process rather than through its
    /// command line (the monitor still runs `exec`).
    pub fn in_process(&self) -> Option<builtin::Runtime> {
        (self.name == BUILTIN && !self.prefix.is_empty())
            .then(|| builtin::Runtime::new(self.state_root.clone()))
    }

    /// A built-in runtime's error, worded as its command line would say it.
    fn failed(&self, verb: &'static str, id: &str, e: builtin::RuntimeError) -> RuntimeError {
        RuntimeError::Failed {
            runtime: self.name.clone(),
            verb,
            id: id.to_string(),
            message: e.to_string(),
        }
    }

    fn run<I, S>(&self, verb: &'static str, id: &str, args: I) -> Result<Vec<u8>, RuntimeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = Command::new(&self.path)
            .args(self.global_args())
            .arg(verb)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| RuntimeError::Spawn {
                runtime: self.name.clone(),
                verb,
                source,
            })?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        Err(RuntimeError::Failed {
            runtime: self.name.clone(),
            verb,
            id: id.to_string(),
            message: runtime_message(&out.stderr),
        })
    }

    pub fn start(&self, id: &str) -> Result<(), RuntimeError> {
        if let Some(rt) = self.in_process() {
            return rt.start(id).map_err(|e| self.failed("start", id, e));
        }
        self.run("start", id, [id]).map(drop)
    }

    pub fn state(&self, id: &str) -> Result<RuntimeState, RuntimeError> {
        if let Some(rt) = self.in_process() {
            return rt
                .status(id)
                .map(|(status, pid)| RuntimeState {
                    id: id.to_string(),
                    status: status.to_string(),
                    pid: i64::from(pid),
                })
                .map_err(|e| self.failed("state", id, e));
        }
        let out = self.run("state", id, [id])?;
        serde_json::from_slice(&out).map_err(|source| RuntimeError::State {
            runtime: self.name.clone(),
            id: id.to_string(),
            source,
        })
    }

    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<(), RuntimeError> {
        if let Some(rt) = self.in_process() {
            let sig =
                nix::sys::signal::Signal::try_from(signal).map_err(|_| RuntimeError::Failed {
                    runtime: self.name.clone(),
                    verb: "kill",
                    id: id.to_string(),
                    message: format!("invalid signal {signal}"),
                })?;
            return rt
                .kill(id, sig, all)
                .map_err(|e| self.failed("kill", id, e));
        }
        let sig = signal.to_string();
        if all {
            self.run("kill", id, ["--all", id, &sig]).map(drop)
        } else {
            self.run("kill", id, [id, &sig]).map(drop)
        }
    }

    pub fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        if let Some(rt) = self.in_process() {
            return match rt.delete(id, force) {
                Err(builtin::RuntimeError::NotFound(_)) => Ok(()),
                other => other.map_err(|e| self.failed("delete", id, e)),
            };
        }
        let r = if force {
            self.run("delete", id, ["--force", id])
        } else {
            self.run("delete", id, [id])
        };
        match r {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(drop),
        }
    }

    pub fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        if let Some(rt) = self.in_process() {
            return rt.freeze(id, true).map_err(|e| self.failed("pause", id, e));
        }
        self.run("pause", id, [id]).map(drop)
    }

    pub fn resume(&self, id: &str) -> Result<(), RuntimeError> {
        if let Some(rt) = self.in_process() {
            return rt
                .freeze(id, false)
                .map_err(|e| self.failed("resume", id, e));
        }
        self.run("resume", id, [id]).map(drop)
    }
}

/// The last meaningful line a runtime printed on stderr (runc logs JSON or
/// `level=error msg="..."` lines).
pub fn runtime_message(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("failed without a message")
        .trim();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
        if let Some(m) = v.get("msg").and_then(|m| m.as_str()) {
            return m.to_string();
        }
    }
    match line.find("msg=\"") {
        Some(i) => line[i + 5..].trim_end_matches('"').replace("\\\"", "\""),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_extracted() {
        assert_eq!(
            runtime_message(b"time=\"x\" level=error msg=\"container \\\"a\\\" does not exist\"\n"),
            "container \"a\" does not exist"
        );
        assert_eq!(
            runtime_message(br#"{"level":"error","msg":"boom","time":"t"}"#),
            "boom"
        );
        assert_eq!(runtime_message(b"plain failure\n\n"), "plain failure");
    }
}
