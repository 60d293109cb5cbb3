//! Container names: generated when the user gives none (`adjective_noun`, as
//! podman and docker do), and claimed atomically so that two containers can
//! never share one.

use std::io;
use std::path::{Path, PathBuf};

const ADJECTIVES: &[&str] = &[
    "amber", "bold", "brave", "brisk", "calm", "clever", "cosy", "crisp", "daring", "eager",
    "fair", "fond", "gentle", "glad", "grand", "happy", "hardy", "jolly", "keen", "kind", "lively",
    "lucid", "merry", "mellow", "nimble", "noble", "patient", "placid", "plucky", "proud", "quick",
    "quiet", "rapid", "ready", "serene", "sharp", "shy", "silent", "sleepy", "snug", "spry",
    "steady", "sunny", "swift", "tidy", "upbeat", "vivid", "warm", "witty", "zesty",
];

const NOUNS: &[&str] = &[
    "anchor", "beacon", "breeze", "buoy", "canal", "cove", "current", "delta", "dinghy", "dock",
    "estuary", "ferry", "fjord", "galley", "gull", "harbor", "heron", "inlet", "island", "jetty",
    "keel", "lagoon", "lantern", "mast", "marina", "mooring", "oar", "otter", "paddle", "pier",
    "puffin", "quay", "reef", "rudder", "sail", "schooner", "shoal", "skipper", "sloop", "spray",
    "stern", "tern", "tide", "tiller", "voyage", "wake", "wave", "wharf", "yawl", "yacht",
];

/// Random bytes from the kernel.
pub fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    use std::io::Read;
    let mut buf = [0u8; N];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf)
}

/// A new 64-hex-digit container id.
pub fn new_id() -> io::Result<String> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// A generated name such as `brisk_heron`.
pub fn generate() -> io::Result<String> {
    let r = random_bytes::<4>()?;
    let a = u16::from_le_bytes([r[0], r[1]]) as usize % ADJECTIVES.len();
    let n = u16::from_le_bytes([r[2], r[3]]) as usize % NOUNS.len();
    Ok(format!("{}_{}", ADJECTIVES[a], NOUNS[n]))
}

#[derive(Debug, thiserror::Error)]
pub enum NameError {
    #[error("the container name {name:?} is already in use by {holder}. You have to remove that container to be able to reuse that name: that name is already in use")]
    InUse { name: String, holder: String },
    #[error("invalid container name {0:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    Invalid(String),
    #[error("recording the name {name:?}: {source}")]
    Io {
        name: String,
        #[source]
        source: io::Error,
    },
}

/// Check a user-given name (podman's rule).
pub fn validate(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 253;
    if ok {
        Ok(())
    } else {
        Err(NameError::Invalid(name.to_string()))
    }
}

/// The names directory: one symlink per name, pointing at the id that holds
/// it. `symlink(2)` fails if the name exists, which makes a claim atomic.
#[derive(Debug, Clone)]
pub struct Names {
    dir: PathBuf,
}

impl Names {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Claim `name` for `id`.
    pub fn claim(&self, name: &str, id: &str) -> Result<(), NameError> {
        validate(name)?;
        match std::os::unix::fs::symlink(id, self.path(name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(NameError::InUse {
                name: name.to_string(),
                holder: self.holder(name).unwrap_or_default(),
            }),
            Err(source) => Err(NameError::Io {
                name: name.to_string(),
                source,
            }),
        }
    }

    /// Claim a generated name, retrying on collisions.
    pub fn claim_generated(&self, id: &str) -> Result<String, NameError> {
        let mut last = None;
        for _ in 0..32 {
            let name = generate().map_err(|source| NameError::Io {
                name: String::new(),
                source,
            })?;
            match self.claim(&name, id) {
                Ok(()) => return Ok(name),
                Err(e @ NameError::InUse { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| NameError::Invalid(String::new())))
    }

    /// The id holding `name`.
    pub fn holder(&self, name: &str) -> Option<String> {
        std::fs::read_link(self.path(name))
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }

    /// Release `name` if `id` holds it.
    pub fn release(&self, name: &str, id: &str) -> io::Result<()> {
        if self.holder(name).as_deref() == Some(id) {
            match std::fs::remove_file(self.path(name)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Move `id`'s name from `old` to `new` (claim first, then release).
    pub fn rename(&self, old: &str, new: &str, id: &str) -> Result<(), NameError> {
        self.claim(new, id)?;
        self.release(old, id).map_err(|source| NameError::Io {
            name: old.to_string(),
            source,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_exclusive() {
        let d = tempfile::tempdir().expect("tempdir");
        let n = Names::new(d.path().to_owned());
        n.claim("web", "a").expect("first claim");
        let err = n.claim("web", "b").expect_err("taken");
        assert!(err.to_string().contains("already in use"), "{err}");
        assert_eq!(n.holder("web").as_deref(), Some("a"));
        n.release("web", "b").expect("not b's: no-op");
        assert_eq!(n.holder("web").as_deref(), Some("a"));
        n.rename("web", "web2", "a").expect("rename");
        assert_eq!(n.holder("web"), None);
        let g = n.claim_generated("c").expect("generated");
        assert!(g.contains('_'));
    }

    #[test]
    fn names_are_validated() {
        for bad in ["", "-x", "a b", "a/b", "ä"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "web-1", "x.y_z", "9lives"] {
            assert!(validate(good).is_ok(), "{good:?}");
        }
    }
}
