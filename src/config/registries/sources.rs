//! Which registries.conf files are read, in which order: the main file, the
//! `registries.conf.d` drop-in directories, skiff's own drop-ins, and the
//! machine-written short-name alias cache (containers-registries.conf.d(5)).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::file::Format;
use super::RegistriesError;
use crate::config::paths::Privilege;

const SYSTEM_CONF: &str = "/etc/containers/registries.conf";
const SYSTEM_CONF_DIR: &str = "/etc/containers/registries.conf.d";
const SYSTEM_SKIFF_DIR: &str = "/etc/skiff/registries.conf.d";
const SYSTEM_ALIAS_CACHE: &str = "/var/cache/containers/short-name-aliases.conf";

/// The main registries.conf, and whether it has to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainFile {
    /// Named explicitly (`CONTAINERS_REGISTRIES_CONF`): missing is an error.
    Required(PathBuf),
    /// A default location: missing means an empty configuration.
    Optional(PathBuf),
}

impl MainFile {
    pub fn path(&self) -> &Path {
        match self {
            MainFile::Required(p) | MainFile::Optional(p) => p,
        }
    }
}

/// The files that make up the registries configuration, lowest precedence
/// first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSources {
    pub main: MainFile,
    /// Directories whose `*.conf` files are merged over the main file, each
    /// directory in file-name order.
    pub drop_in_dirs: Vec<PathBuf>,
    /// `short-name-aliases.conf`, written by tools that prompt for a short
    /// name's registry; its aliases win over all the others. skiff never
    /// prompts and so only reads it.
    pub alias_cache: Option<PathBuf>,
}

impl ConfigSources {
    /// The sources for this process, from its environment and privilege.
    pub fn detect() -> Self {
        Self::from_env(
            Privilege::current(),
            |name| std::env::var_os(name),
            |p| p.exists(),
        )
    }

    /// The sources for `privilege`, with environment variables read through
    /// `env` and file existence through `exists`:
    ///
    /// - `CONTAINERS_REGISTRIES_CONF` names the only file read. Unlike
    ///   containers/image, which still merges the drop-in directories, skiff
    ///   reads nothing else, so that tests and scripts get exactly the file
    ///   they point at.
    /// - rootless: `$XDG_CONFIG_HOME/containers/registries.conf` (default
    ///   `~/.config`) with only its own `.d` directory when it exists,
    ///   otherwise `/etc/containers/registries.conf` with the system and the
    ///   user `.d` directories;
    /// - root: `/etc/containers/registries.conf` and its `.d` directory;
    /// - then skiff's own drop-ins, `skiff/registries.conf.d` in the
    ///   configuration directory (`/etc` or `$XDG_CONFIG_HOME`).
    pub fn from_env(
        privilege: Privilege,
        env: impl Fn(&str) -> Option<OsString>,
        exists: impl Fn(&Path) -> bool,
    ) -> Self {
        let env_path = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
        if let Some(path) = env_path("CONTAINERS_REGISTRIES_CONF") {
            return ConfigSources {
                main: MainFile::Required(path),
                drop_in_dirs: Vec::new(),
                alias_cache: None,
            };
        }
        let home = env_path("HOME");
        let config_home =
            env_path("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
        let cache_home =
            env_path("XDG_CACHE_HOME").or_else(|| home.as_ref().map(|h| h.join(".cache")));
        match (privilege, config_home) {
            (Privilege::Rootless, Some(config_home)) => {
                let user_conf = config_home.join("containers/registries.conf");
                let user_dir = config_home.join("containers/registries.conf.d");
                let skiff_dir = config_home.join("skiff/registries.conf.d");
                let (main, drop_in_dirs) = if exists(&user_conf) {
                    (user_conf, vec![user_dir, skiff_dir])
                } else {
                    (
                        PathBuf::from(SYSTEM_CONF),
                        vec![PathBuf::from(SYSTEM_CONF_DIR), user_dir, skiff_dir],
                    )
                };
                ConfigSources {
                    main: MainFile::Optional(main),
                    drop_in_dirs,
                    alias_cache: cache_home.map(|c| c.join("containers/short-name-aliases.conf")),
                }
            }
            (Privilege::Rootless, None) => ConfigSources {
                main: MainFile::Optional(PathBuf::from(SYSTEM_CONF)),
                drop_in_dirs: vec![PathBuf::from(SYSTEM_CONF_DIR)],
                alias_cache: None,
            },
            (Privilege::Root, _) => ConfigSources {
                main: MainFile::Optional(PathBuf::from(SYSTEM_CONF)),
                drop_in_dirs: vec![
                    PathBuf::from(SYSTEM_CONF_DIR),
                    PathBuf::from(SYSTEM_SKIFF_DIR),
                ],
                alias_cache: Some(PathBuf::from(SYSTEM_ALIAS_CACHE)),
            },
        }
    }

    /// The main file and the drop-in directories, comma separated, for
    /// messages such as "no unqualified-search-registries are defined in ...".
    pub fn describe(&self) -> String {
        std::iter::once(self.main.path())
            .chain(self.drop_in_dirs.iter().map(PathBuf::as_path))
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The drop-in files to read, in order: each directory's `*.conf` files
    /// sorted by name. Missing directories are skipped; subdirectories and
    /// other files are ignored.
    pub(super) fn drop_in_files(&self) -> Result<Vec<(PathBuf, Format)>, RegistriesError> {
        let mut files = Vec::new();
        for dir in &self.drop_in_dirs {
            let entries = match fs::read_dir(dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(RegistriesError::ReadDir {
                        path: dir.clone(),
                        source,
                    })
                }
            };
            let mut in_dir = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|source| RegistriesError::ReadDir {
                    path: dir.clone(),
                    source,
                })?;
                let path = entry.path();
                let is_conf = path.extension().is_some_and(|e| e == "conf");
                if is_conf && !path.is_dir() {
                    in_dir.push(path);
                }
            }
            in_dir.sort();
            files.extend(in_dir.into_iter().map(|p| (p, Format::V2Only)));
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sources(privilege: Privilege, vars: &[(&str, &str)], existing: &[&str]) -> ConfigSources {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        ConfigSources::from_env(
            privilege,
            |k| vars.get(k).cloned(),
            |p| existing.iter().any(|e| Path::new(e) == p),
        )
    }

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn env_file_is_exclusive() {
        let s = sources(
            Privilege::Rootless,
            &[
                ("CONTAINERS_REGISTRIES_CONF", "/tmp/r.conf"),
                ("HOME", "/home/u"),
            ],
            &["/home/u/.config/containers/registries.conf"],
        );
        assert_eq!(
            s,
            ConfigSources {
                main: MainFile::Required(PathBuf::from("/tmp/r.conf")),
                drop_in_dirs: vec![],
                alias_cache: None,
            }
        );
        // Empty or relative values are ignored.
        let s = sources(Privilege::Root, &[("CONTAINERS_REGISTRIES_CONF", "")], &[]);
        assert_eq!(s.main, MainFile::Optional(PathBuf::from(SYSTEM_CONF)));
    }

    #[test]
    fn rootless_without_user_file() {
        let s = sources(Privilege::Rootless, &[("HOME", "/home/u")], &[]);
        assert_eq!(
            s.main,
            MainFile::Optional(PathBuf::from("/etc/containers/registries.conf"))
        );
        assert_eq!(
            s.drop_in_dirs,
            paths(&[
                "/etc/containers/registries.conf.d",
                "/home/u/.config/containers/registries.conf.d",
                "/home/u/.config/skiff/registries.conf.d",
            ])
        );
        assert_eq!(
            s.alias_cache,
            Some(PathBuf::from(
                "/home/u/.cache/containers/short-name-aliases.conf"
            ))
        );
    }

    #[test]
    fn rootless_with_user_file() {
        let s = sources(
            Privilege::Rootless,
            &[
                ("HOME", "/home/u"),
                ("XDG_CONFIG_HOME", "/cfg"),
                ("XDG_CACHE_HOME", "/cache"),
            ],
            &["/cfg/containers/registries.conf"],
        );
        assert_eq!(
            s.main,
            MainFile::Optional(PathBuf::from("/cfg/containers/registries.conf"))
        );
        assert_eq!(
            s.drop_in_dirs,
            paths(&[
                "/cfg/containers/registries.conf.d",
                "/cfg/skiff/registries.conf.d"
            ])
        );
        assert_eq!(
            s.alias_cache,
            Some(PathBuf::from("/cache/containers/short-name-aliases.conf"))
        );
        assert_eq!(
            s.describe(),
            "/cfg/containers/registries.conf, /cfg/containers/registries.conf.d, /cfg/skiff/registries.conf.d"
        );
    }

    #[test]
    fn root_uses_system_files_only() {
        let s = sources(
            Privilege::Root,
            &[("HOME", "/root")],
            &["/root/.config/containers/registries.conf"],
        );
        assert_eq!(s.main, MainFile::Optional(PathBuf::from(SYSTEM_CONF)));
        assert_eq!(
            s.drop_in_dirs,
            paths(&[
                "/etc/containers/registries.conf.d",
                "/etc/skiff/registries.conf.d"
            ])
        );
        assert_eq!(s.alias_cache, Some(PathBuf::from(SYSTEM_ALIAS_CACHE)));
    }

    #[test]
    fn rootless_without_home() {
        let s = sources(Privilege::Rootless, &[("HOME", "relative")], &[]);
        assert_eq!(
            s.drop_in_dirs,
            paths(&["/etc/containers/registries.conf.d"])
        );
        assert_eq!(s.alias_cache, None);
    }

    #[test]
    fn drop_in_files_sorted_and_filtered() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        for name in ["20-b.conf", "10-a.conf", "30.conf.bak", "README"] {
            fs::write(a.path().join(name), "").expect("write");
        }
        fs::create_dir(a.path().join("sub.conf")).expect("mkdir");
        fs::write(b.path().join("00.conf"), "").expect("write");
        let s = ConfigSources {
            main: MainFile::Optional(a.path().join("none")),
            drop_in_dirs: vec![
                a.path().to_path_buf(),
                a.path().join("missing"),
                b.path().to_path_buf(),
            ],
            alias_cache: None,
        };
        let files: Vec<PathBuf> = s
            .drop_in_files()
            .expect("list")
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            files,
            vec![
                a.path().join("10-a.conf"),
                a.path().join("20-b.conf"),
                b.path().join("00.conf")
            ]
        );
    }
}
