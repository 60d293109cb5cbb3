//! Where skiff's helper programs are found: the monitor (`skiff-conmon`),
//! run beside every container, and the init (`skiff-init`), bind-mounted
//! into containers run with `--init`. Both are installed with skiff.

use std::path::{Path, PathBuf};

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::runtime::select::LIBEXEC;

/// Where the init is mounted inside a container.
pub const INIT_IN_CONTAINER: &str = "/run/skiff-init";

fn helper(name: &str, env_override: &str) -> Result<PathBuf, ContainerError> {
    crate::runtime::select::helper_program(name, env_override).ok_or_else(|| {
        ContainerError::Invalid(format!(
            "{name} was not found beside skiff, in {LIBEXEC} or on PATH: install it with skiff"
        ))
    })
}

/// The monitor.
pub fn monitor_binary() -> Result<PathBuf, ContainerError> {
    helper("skiff-conmon", "SKIFF_CONMON")
}

/// skiff's own init (and pause program).
pub fn init_program() -> Result<PathBuf, ContainerError> {
    helper("skiff-init", "SKIFF_INIT")
}

impl Engine {
    /// The init for `--init`: `--init-path`, else containers.conf's
    /// `init_path`, else skiff's own.
    pub fn init_binary(&self, requested: Option<&Path>) -> Result<PathBuf, ContainerError> {
        let configured = match requested {
            Some(p) => Some(p.to_owned()),
            None => self.containers_conf()?.init_path.clone(),
        };
        match configured {
            Some(p) if p.is_file() => Ok(p),
            Some(p) => Err(ContainerError::Invalid(format!(
                "the init binary {} does not exist: fix --init-path or containers.conf's init_path",
                p.display()
            ))),
            None => init_program(),
        }
    }
}
