//! File locks (flock) that serialise store mutations between concurrent skiff
//! processes. A lock dies with its holder, so a killed process never leaves
//! the store locked.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

#[derive(Debug, thiserror::Error)]
#[error("locking {path}: {source}")]
pub struct LockError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// How a lock is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Many holders at once (e.g. concurrent pulls).
    Shared,
    /// One holder, excluding shared holders too.
    Exclusive,
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct LockGuard {
    _flock: Flock<File>,
}

fn open(path: &Path) -> Result<File, LockError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|source| LockError {
            path: path.to_owned(),
            source,
        })
}

fn arg(mode: LockMode, wait: bool) -> FlockArg {
    match (mode, wait) {
        (LockMode::Shared, true) => FlockArg::LockShared,
        (LockMode::Shared, false) => FlockArg::LockSharedNonblock,
        (LockMode::Exclusive, true) => FlockArg::LockExclusive,
        (LockMode::Exclusive, false) => FlockArg::LockExclusiveNonblock,
    }
}

/// Take the lock at `path`, waiting for it.
pub fn lock(path: &Path, mode: LockMode) -> Result<LockGuard, LockError> {
    let file = open(path)?;
    Flock::lock(file, arg(mode, true))
        .map(|f| LockGuard { _flock: f })
        .map_err(|(_, errno)| LockError {
            path: path.to_owned(),
            source: errno.into(),
        })
}

/// Take the lock at `path` if nobody holds it in a conflicting mode.
pub fn try_lock(path: &Path, mode: LockMode) -> Result<Option<LockGuard>, LockError> {
    let file = open(path)?;
    match Flock::lock(file, arg(mode, false)) {
        Ok(f) => Ok(Some(LockGuard { _flock: f })),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, errno)) => Err(LockError {
            path: path.to_owned(),
            source: errno.into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_excludes_shared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("l");
        let s1 = lock(&p, LockMode::Shared).expect("shared");
        let s2 = try_lock(&p, LockMode::Shared).expect("try");
        assert!(s2.is_some(), "two shared holders");
        assert!(try_lock(&p, LockMode::Exclusive).expect("try").is_none());
        drop((s1, s2));
        assert!(try_lock(&p, LockMode::Exclusive).expect("try").is_some());
    }
}
