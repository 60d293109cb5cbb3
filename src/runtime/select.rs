//! Choosing the OCI runtime: `--runtime NAME|PATH`, containers.conf, or
//! skiff's own. A runtime known not to work on this host (crun refuses
//! hybrid cgroup layouts) is refused with the reason.

use std::path::{Path, PathBuf};

use crate::runtime::external::ExternalRuntime;
use crate::sys::cgroup::{self, CgroupMode};

/// Where runtime binaries are looked for besides `$PATH`.
const EXTRA_DIRS: &[&str] = &[
    "/usr/local/bin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/sbin",
    "/sbin",
    "/bin",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    #[error("OCI runtime {0:?} not found: install it or pass --runtime PATH")]
    NotFound(String),
    #[error("OCI runtime {name} cannot run containers on this host: {why}")]
    Unusable { name: String, why: String },
}

/// Find an executable by name in `$PATH` and the usual system directories.
pub fn find_executable(name: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// Where packages install helpers that are not meant to be on PATH.
pub const LIBEXEC: &str = "/usr/libexec/skiff";

/// One of skiff's helper programs (`skiff-conmon`, `skiff-init`): the
/// environment override, else beside skiff's own binary, else the libexec
/// directory, else PATH.
pub fn helper_program(name: &str, env_override: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_override).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let beside = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(name));
    beside
        .into_iter()
        .chain(std::iter::once(Path::new(LIBEXEC).join(name)))
        .find(|p| p.is_file())
        .or_else(|| find_executable(name))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Why a runtime cannot work here, if it cannot.
fn unusable_reason(name: &str, mode: CgroupMode) -> Option<String> {
    (name == "crun" && mode == CgroupMode::Hybrid).then(|| {
        "crun does not support hybrid cgroup layouts (v1 controllers beside a v2 mount)".to_string()
    })
}

/// `requested` as a path when containers.conf's `[engine.runtimes]` lists
/// candidate paths for that name (the first executable one wins); else as
/// given.
pub fn through_table(
    requested: &str,
    table: &std::collections::BTreeMap<String, Vec<PathBuf>>,
) -> Result<String, SelectError> {
    match table.get(requested) {
        None => Ok(requested.to_string()),
        Some(paths) => paths
            .iter()
            .find(|p| is_executable(p))
            .map(|p| p.display().to_string())
            .ok_or_else(|| SelectError::NotFound(requested.to_string())),
    }
}

/// The runtime to use. `requested` is `--runtime` or containers.conf's
/// `runtime`: a name (`runc`) or a path; none means skiff's own.
/// `state_base` holds one state directory per runtime name.
pub fn select(requested: Option<&str>, state_base: &Path) -> Result<ExternalRuntime, SelectError> {
    let req = requested.unwrap_or(crate::runtime::external::BUILTIN);
    if req == crate::runtime::external::BUILTIN {
        return ExternalRuntime::builtin(state_base.join(req))
            .map_err(|_| SelectError::NotFound(req.to_string()));
    }
    let (name, path) = if req.contains('/') {
        let p = PathBuf::from(req);
        if !is_executable(&p) {
            return Err(SelectError::NotFound(req.to_string()));
        }
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| req.to_string());
        (name, p)
    } else {
        let p = find_executable(req).ok_or_else(|| SelectError::NotFound(req.to_string()))?;
        (req.to_string(), p)
    };
    if let Some(why) = unusable_reason(&name, cgroup::mode()) {
        return Err(SelectError::Unusable { name, why });
    }
    Ok(ExternalRuntime::new(&name, path, state_base.join(&name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crun_is_skipped_on_hybrid_hosts_only() {
        assert!(unusable_reason("crun", CgroupMode::Hybrid).is_some());
        assert!(unusable_reason("crun", CgroupMode::V2).is_none());
        assert!(unusable_reason("runc", CgroupMode::Hybrid).is_none());
    }

    #[test]
    fn configured_names_resolve_to_their_first_executable_path() {
        let mut table = std::collections::BTreeMap::new();
        table.insert(
            "mine".to_string(),
            vec![PathBuf::from("/nonexistent/mine"), PathBuf::from("/bin/sh")],
        );
        assert_eq!(through_table("mine", &table), Ok("/bin/sh".to_string()));
        assert_eq!(through_table("runc", &table), Ok("runc".to_string()));
        table.insert("gone".to_string(), vec![PathBuf::from("/nonexistent/x")]);
        assert_eq!(
            through_table("gone", &table),
            Err(SelectError::NotFound("gone".into()))
        );
    }

    #[test]
    fn unknown_runtimes_are_named() {
        let err =
            select(Some("no-such-runtime-xyz"), Path::new("/nonexistent")).expect_err("absent");
        assert_eq!(err, SelectError::NotFound("no-such-runtime-xyz".into()));
        let err = select(Some("/nonexistent/runc"), Path::new("/nonexistent")).expect_err("absent");
        assert!(err.to_string().contains("/nonexistent/runc"));
    }

    #[test]
    fn skiffs_own_runtime_is_the_default() {
        let rt = select(None, Path::new("/nonexistent")).expect("default");
        assert_eq!(rt.record_name(), "skiff");
        assert!(rt.in_process().is_some());
        assert_eq!(
            rt.global_args(),
            ["runtime", "--root", "/nonexistent/skiff"]
        );
    }
}
