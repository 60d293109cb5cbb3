//! containers.conf: the container tools' shared defaults, read the way
//! containers.conf(5) describes (system files, drop-in directories, the
//! user's files, `CONTAINERS_CONF` and `CONTAINERS_CONF_OVERRIDE`), of which
//! skiff honours the keys listed in `ContainersConf`. Other keys belong to
//! other engines' features and are left alone, as those engines do with
//! keys they do not know.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::ConfigFileError;

use crate::config::paths::Privilege;

/// The keys skiff honours, after every file was applied in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainersConf {
    /// `[containers] init`: run an init process in every container.
    pub init: bool,
    /// `[containers] init_path`: that init binary.
    pub init_path: Option<PathBuf>,
    /// `[containers] netns`: the network mode of containers that name none
    /// (`bridge`, `pasta`, `none`, `host`, `private`, ...).
    pub netns: Option<String>,
    /// `[engine] runtime`: the OCI runtime's name or path.
    pub runtime: Option<String>,
    /// `[engine.runtimes]`: candidate paths per runtime name.
    pub runtimes: BTreeMap<String, Vec<PathBuf>>,
    /// `[containers] mounts`: `--mount` texts every container gets.
    pub mounts: Vec<String>,
    /// `[engine] image_volume_mode`: what an image's VOLUMEs become
    /// (`anonymous`/`bind`, `tmpfs`, `ignore`).
    pub image_volume_mode: Option<String>,
}

/// One file as written: every key optional, unknown keys ignored.
#[derive(Debug, Default, Deserialize)]
struct File {
    #[serde(default)]
    containers: ContainersSection,
    #[serde(default)]
    engine: EngineSection,
}

#[derive(Debug, Default, Deserialize)]
struct ContainersSection {
    init: Option<bool>,
    init_path: Option<PathBuf>,
    netns: Option<String>,
    mounts: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
struct EngineSection {
    runtime: Option<String>,
    image_volume_mode: Option<String>,
    #[serde(default)]
    runtimes: BTreeMap<String, Vec<PathBuf>>,
}

impl ContainersConf {
    /// The configuration for this user, from the standard locations.
    pub fn load(privilege: Privilege) -> Result<Self, ConfigFileError> {
        let mut conf = ContainersConf::default();
        for path in files(privilege) {
            conf.apply_file(&path)?;
        }
        Ok(conf)
    }

    fn apply_file(&mut self, path: &Path) -> Result<(), ConfigFileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(ConfigFileError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let file: File = toml::from_str(&text).map_err(|source| ConfigFileError::Parse {
            path: path.to_owned(),
            source,
        })?;
        self.apply(file);
        Ok(())
    }

    /// Later files override earlier ones key by key.
    fn apply(&mut self, file: File) {
        if let Some(v) = file.containers.init {
            self.init = v;
        }
        if let Some(v) = file.containers.init_path {
            self.init_path = Some(v);
        }
        if let Some(v) = file.containers.netns {
            self.netns = Some(v);
        }
        if let Some(v) = file.containers.mounts {
            self.mounts = v;
        }
        if let Some(v) = file.engine.runtime {
            self.runtime = Some(v);
        }
        if let Some(v) = file.engine.image_volume_mode {
            self.image_volume_mode = Some(v);
        }
        self.runtimes.extend(file.engine.runtimes);
    }

    #[cfg(test)]
    fn from_texts(texts: &[&str]) -> Result<Self, toml::de::Error> {
        let mut conf = ContainersConf::default();
        for t in texts {
            conf.apply(toml::from_str(t)?);
        }
        Ok(conf)
    }
}

/// The files read, in order. `CONTAINERS_CONF` replaces the whole list;
/// `CONTAINERS_CONF_OVERRIDE` comes last either way.
fn files(privilege: Privilege) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(only) = std::env::var_os("CONTAINERS_CONF").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(only));
    } else {
        out.push("/usr/share/containers/containers.conf".into());
        out.push("/etc/containers/containers.conf".into());
        out.extend(drop_ins(Path::new("/etc/containers/containers.conf.d")));
        if privilege == Privilege::Rootless {
            out.push("/etc/containers/containers.rootless.conf".into());
            out.extend(drop_ins(Path::new("/etc/containers/containers.rootless.d")));
            let uid = crate::config::paths::host_uid();
            out.extend(drop_ins(
                &Path::new("/etc/containers/containers.rootless.d").join(uid.to_string()),
            ));
        }
        if let Some(dir) = user_config_dir() {
            let dir = dir.join("containers");
            out.push(dir.join("containers.conf"));
            out.extend(drop_ins(&dir.join("containers.conf.d")));
        }
    }
    if let Some(last) = std::env::var_os("CONTAINERS_CONF_OVERRIDE").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(last));
    }
    out
}

fn user_config_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
}

/// `DIR/*.conf` in name order.
fn drop_ins(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_files_override_earlier_ones_key_by_key() {
        let c = ContainersConf::from_texts(&[
            "[containers]\ninit = true\ninit_path = \"/a\"\n[engine]\nruntime = \"crun\"\n",
            "[engine]\nruntime = \"runc\"\n[engine.runtimes]\nmine = [\"/opt/mine\"]\n",
        ])
        .expect("valid");
        assert!(c.init);
        assert_eq!(c.init_path.as_deref(), Some(Path::new("/a")));
        assert_eq!(c.runtime.as_deref(), Some("runc"));
        assert_eq!(c.runtimes["mine"], [PathBuf::from("/opt/mine")]);
    }

    #[test]
    fn keys_of_other_engines_are_ignored() {
        let c = ContainersConf::from_texts(&[
            "[containers]\ndefault_capabilities = [\"CHOWN\"]\n[secrets]\n[machine]\ncpus = 2\n",
        ])
        .expect("valid");
        assert_eq!(c, ContainersConf::default());
    }

    #[test]
    fn broken_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("containers.conf");
        std::fs::write(&p, "[engine\n").expect("write");
        let err = ContainersConf::default()
            .apply_file(&p)
            .expect_err("broken");
        assert!(err.to_string().contains("containers.conf"), "{err}");
        // A missing file is no error.
        ContainersConf::default()
            .apply_file(&dir.path().join("absent.conf"))
            .expect("missing is fine");
    }
}
