//! The runtime's errors: a failed setup step (which travels from the
//! setup processes back to the runtime as text) and everything else.

use std::io;
use std::path::PathBuf;

/// A step of container setup that failed, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    pub step: String,
    pub message: String,
}

impl SetupError {
    pub fn new(step: impl Into<String>, e: io::Error) -> SetupError {
        let message = match e.raw_os_error() {
            Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
            None => e.to_string(),
        };
        SetupError {
            step: step.into(),
            message,
        }
    }

    pub fn msg(step: impl Into<String>, message: impl Into<String>) -> SetupError {
        SetupError {
            step: step.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Messages that are already whole (exec's) stand alone.
        if self.message.starts_with("exec: ") {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.step, self.message)
        }
    }
}

impl std::error::Error for SetupError {}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("invalid container id {0:?}: use letters, digits, '_', '-', '.' and '+'")]
    BadId(String),
    #[error("container {0} already exists")]
    Exists(String),
    #[error("container {0} does not exist")]
    NotFound(String),
    #[error("reading the bundle's config.json: {0}")]
    Config(String),
    #[error("the root file system {0} does not exist or is not a directory")]
    NoRootfs(PathBuf),
    #[error("namespace path {path} of the {kind} namespace: {message}")]
    NamespacePath {
        kind: String,
        path: PathBuf,
        message: String,
    },
    #[error("container {id} is {status}, not {wanted}")]
    WrongState {
        id: String,
        status: &'static str,
        wanted: &'static str,
    },
    #[error("{0}")]
    Setup(#[from] SetupError),
    #[error("seccomp: {0}")]
    Seccomp(String),
    #[error("cgroup: {0}")]
    Cgroup(String),
    #[error("{step}: {source}")]
    Io {
        step: String,
        #[source]
        source: io::Error,
    },
}

impl RuntimeError {
    /// A setup error carried as text keeps its own wording.
    pub(super) fn flatten(self) -> RuntimeError {
        match self {
            RuntimeError::Setup(SetupError { step, message }) if step.is_empty() => {
                RuntimeError::Setup(
                    SetupError {
                        step: "container init".into(),
                        message,
                    }
                    .split(),
                )
            }
            other => other,
        }
    }
}

impl SetupError {
    /// "step: message" text back into its parts.
    fn split(self) -> SetupError {
        if self.message.starts_with("exec: ") {
            return self;
        }
        match self.message.split_once(": ") {
            Some((step, message)) => SetupError::msg(step, message),
            None => self,
        }
    }
}
