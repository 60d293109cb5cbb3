//! Why a monitor run failed: each variant names the step, and what the
//! caller is told on the sync pipe.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("the runtime {} cannot be executed", path.display())]
    Runtime {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("open the log file {}", path.display())]
    OpenLog {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("take the pipe named in {name}")]
    EnvPipe {
        name: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("--exec-attach was given but _OCI_ATTACHPIPE was not")]
    NoAttachPipe,
    #[error("wait on the start pipe")]
    StartPipe(#[source] io::Error),
    #[error("{step}")]
    Setup {
        step: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("create the attach socket for {}", bundle.display())]
    Attach {
        bundle: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("create the control FIFO in {}", bundle.display())]
    Ctl {
        bundle: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("start the runtime {}", path.display())]
    Spawn {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the runtime failed to create the container (exit status {code}): {message}")]
    RuntimeFailed { code: i32, message: String },
    #[error("the runtime did not set up the terminal")]
    NoTerminal,
    #[error("read the container's pid file {}{}", path.display(), runtime_says(message))]
    PidFile {
        path: PathBuf,
        message: String,
        #[source]
        source: io::Error,
    },
    #[error("wait for events")]
    Loop(#[source] io::Error),
    #[error("write the exit file {}", path.display())]
    ExitFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn runtime_says(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(" (the runtime says: {message})")
    }
}

impl MonitorError {
    /// The message for the caller on the sync pipe: what the runtime said
    /// when it failed (as conmon sends it), else the whole error.
    pub fn sync_message(&self) -> String {
        match self {
            MonitorError::RuntimeFailed { message, .. } | MonitorError::PidFile { message, .. }
                if !message.is_empty() =>
            {
                message.clone()
            }
            MonitorError::NoTerminal => "Runtime did not set up terminal".into(),
            other => chain(other),
        }
    }
}

/// The error and its causes on one line.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        s.push_str(": ");
        s.push_str(&e.to_string());
        cur = e.source();
    }
    s
}

pub fn setup(step: &'static str) -> impl FnOnce(io::Error) -> MonitorError {
    move |source| MonitorError::Setup { step, source }
}
