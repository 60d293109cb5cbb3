//! The engine: typed options in, work on the store and registries out. The CLI
//! (and later kube play and unit files) translate their input into these
//! options; nothing here knows about clap.

pub mod archive;
pub mod commit;
pub mod container;
pub mod copy;
pub mod image_mount;
pub mod images;
pub mod layer_fill;
pub mod login;
pub mod lookup;
pub mod network;
pub mod pipe;
pub mod pod;
pub mod pull;
pub mod push;
pub mod remote;
pub mod rootless;
pub mod volume;
pub(crate) mod workers;

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::config::containers_conf::ContainersConf;
use crate::config::paths::{Paths, Privilege};
use crate::config::registries::{Registries, RegistriesError};
use crate::config::skiff_conf::SkiffConf;
use crate::config::ConfigFileError;
use crate::image::auth::{AuthFile, AuthFileError};
use crate::storage::driver::{Driver, UnknownDriver};
use crate::storage::{Store, StoreError};

/// Options that apply to every engine operation (global flags).
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub root: Option<PathBuf>,
    pub runroot: Option<PathBuf>,
    pub storage_driver: Option<Driver>,
    /// What a store made with another id mapping does.
    pub id_map: crate::storage::IdMapPolicy,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigFileError),
    #[error("storage driver in configuration: {0}")]
    Driver(#[from] UnknownDriver),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registries(#[from] RegistriesError),
    #[error(transparent)]
    Auth(#[from] AuthFileError),
}

/// An engine bound to one store.
pub struct Engine {
    paths: Paths,
    privilege: Privilege,
    store: Store,
    registries: OnceLock<Registries>,
    containers: OnceLock<crate::state::ContainerStore>,
    auth_file: OnceLock<AuthFile>,
    containers_conf: OnceLock<ContainersConf>,
}

impl Engine {
    /// The paths an engine opened with `opts` uses (flags over skiff.conf
    /// over the defaults), and the configuration read for them.
    pub fn resolve_paths(opts: &EngineOptions) -> Result<(Paths, SkiffConf), EngineError> {
        let mut paths = Paths::defaults(Privilege::current());
        let conf = SkiffConf::load(&paths.config_file)?;
        if let Some(r) = opts.root.clone().or(conf.storage.root.clone()) {
            paths.root = r;
        }
        if let Some(r) = opts.runroot.clone().or(conf.storage.runroot.clone()) {
            paths.runroot = r;
        }
        Ok((paths, conf))
    }

    pub fn open(opts: &EngineOptions) -> Result<Self, EngineError> {
        let (paths, conf) = Self::resolve_paths(opts)?;
        Self::open_resolved(opts, paths, &conf)
    }

    /// [`Engine::open`] with the paths and configuration
    /// [`Engine::resolve_paths`] gave (read once by a caller that needed
    /// them first).
    pub fn open_resolved(
        opts: &EngineOptions,
        paths: Paths,
        conf: &SkiffConf,
    ) -> Result<Self, EngineError> {
        let privilege = Privilege::current();
        let driver = match opts.storage_driver {
            Some(d) => Some(d),
            None => conf.storage.driver.as_deref().map(str::parse).transpose()?,
        };
        let store = Store::open_with(&paths.root, driver, opts.id_map)?;
        Ok(Engine {
            paths,
            privilege,
            store,
            registries: OnceLock::new(),
            containers: OnceLock::new(),
            auth_file: OnceLock::new(),
            containers_conf: OnceLock::new(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn privilege(&self) -> Privilege {
        self.privilege
    }

    /// registries.conf, loaded on first use.
    pub fn registries(&self) -> Result<&Registries, EngineError> {
        if let Some(r) = self.registries.get() {
            return Ok(r);
        }
        let loaded = Registries::load()?;
        Ok(self.registries.get_or_init(|| loaded))
    }

    /// The credentials files (auth.json and docker's config.json), loaded
    /// on first use.
    pub fn auth_file(&self) -> Result<&AuthFile, EngineError> {
        if let Some(a) = self.auth_file.get() {
            return Ok(a);
        }
        let loaded = AuthFile::load()?;
        Ok(self.auth_file.get_or_init(|| loaded))
    }

    /// containers.conf, loaded on first use.
    pub fn containers_conf(&self) -> Result<&ContainersConf, EngineError> {
        if let Some(c) = self.containers_conf.get() {
            return Ok(c);
        }
        let loaded = ContainersConf::load(self.privilege)?;
        Ok(self.containers_conf.get_or_init(|| loaded))
    }
}
