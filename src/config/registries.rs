//! registries.conf (containers-registries.conf(5), v2 format): short-name
//! resolution, and where an image is really pulled from or pushed to.
//!
//! Short names resolve through `[aliases]` or `unqualified-search-registries`.
//! A fully qualified reference is matched against the `[[registry]]` tables
//! by longest prefix; the chosen table may block it, mark it insecure,
//! rewrite it to another `location`, and list mirrors tried before it.
//!
//! `short-name-mode`: skiff never prompts (it has no interactive chooser),
//! so `enforcing` behaves like `permissive` when there is more than one
//! search registry: every candidate is tried in order. The mode is kept for
//! display and for callers that want to warn.

mod file;
mod prefix;
mod sources;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

pub use file::InvalidConfig;
pub use sources::{ConfigSources, MainFile};

use self::file::{ConfigFile, Format, ParseFailure};
use crate::image::reference::{ImageName, Reference, ReferenceError, DOCKER_HUB};
use crate::image::registry::Endpoint;

/// Where Docker Hub's registry API is served; `docker.io` is only its name.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// How ambiguous short names are handled (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ShortNameMode {
    Enforcing,
    #[default]
    Permissive,
    Disabled,
}

/// Which pulls a mirror serves (`pull-from-mirror`, or
/// `mirror-by-digest-only = true` on the registry for all its mirrors).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullFromMirror {
    #[default]
    All,
    DigestOnly,
    TagOnly,
}

impl PullFromMirror {
    fn serves(self, reference: &Reference) -> bool {
        match self {
            PullFromMirror::All => true,
            PullFromMirror::DigestOnly => reference.is_digested(),
            PullFromMirror::TagOnly => !reference.is_digested(),
        }
    }
}

/// One `[[registry.mirror]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// `host[:port][/path]` that replaces the registry's prefix.
    pub location: String,
    pub insecure: bool,
    pub pull_from_mirror: PullFromMirror,
}

/// One `[[registry]]` table, after normalisation: `prefix` defaults to
/// `location`; `location` is empty only for `*.example.com` prefixes, which
/// apply settings without rewriting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    pub prefix: String,
    pub location: String,
    pub insecure: bool,
    pub blocked: bool,
    pub mirrors: Vec<Mirror>,
}

impl RegistryEntry {
    /// Tables backed by the same server must agree on `insecure`/`blocked`.
    fn conflict_key(&self) -> &str {
        if self.location.is_empty() {
            &self.prefix
        } else {
            &self.location
        }
    }
}

/// A short-name alias and the file that set it (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// Fully qualified, without tag or digest.
    pub target: Reference,
    pub origin: PathBuf,
}

/// Where an image is reached on a registry: one place to try when pulling
/// (a mirror or the primary location), or where a push goes (the `location`
/// rewrite applies there, mirrors do not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteImage {
    /// The server to contact (`registry-1.docker.io` for docker.io).
    pub endpoint: Endpoint,
    /// The repository path on that server.
    pub repository: String,
    /// The reference after the `location` rewrite (registry is the name,
    /// `docker.io`, not the API host).
    pub reference: Reference,
}

/// Loading registries.conf failed, or the configuration refuses a reference.
#[derive(Debug, thiserror::Error)]
pub enum RegistriesError {
    #[error("reading registries configuration {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("listing registries configuration directory {path}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("parsing registries configuration {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("invalid registries configuration {path}")]
    Invalid {
        path: PathBuf,
        #[source]
        source: InvalidConfig,
    },
    #[error("registry {prefix} is blocked in registries.conf: refusing to access {reference}")]
    Blocked { reference: String, prefix: String },
    #[error("rewriting {reference} with registries.conf location {location:?} gives an invalid reference")]
    Rewrite {
        reference: String,
        location: String,
        #[source]
        source: ReferenceError,
    },
}

/// The merged registries configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registries {
    search: Vec<String>,
    search_origin: Option<PathBuf>,
    short_name_mode: ShortNameMode,
    /// Keyed by prefix: a later file's table replaces an earlier one.
    registries: BTreeMap<String, RegistryEntry>,
    /// `None` when a later file erased the alias with `""`.
    aliases: BTreeMap<String, Option<Alias>>,
    loaded: Vec<PathBuf>,
}

impl Registries {
    /// Load the configuration for this process (see
    /// [`ConfigSources::from_env`] for the files and their order).
    pub fn load() -> Result<Self, RegistriesError> {
        Self::load_from(&ConfigSources::detect())
    }

    /// Load `sources`: the main file (v1 or v2 format), then each drop-in
    /// (v2 only), each overriding what it sets, then the alias cache.
    pub fn load_from(sources: &ConfigSources) -> Result<Self, RegistriesError> {
        let mut config = Self::default();
        let main = sources.main.path();
        match std::fs::read_to_string(main) {
            Ok(text) => config.apply(parse_at(&text, Format::V1OrV2, main)?, main),
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    && matches!(sources.main, MainFile::Optional(_)) => {}
            Err(source) => {
                return Err(RegistriesError::Read {
                    path: main.to_path_buf(),
                    source,
                })
            }
        }
        for (path, format) in sources.drop_in_files()? {
            match std::fs::read_to_string(&path) {
                Ok(text) => config.apply(parse_at(&text, format, &path)?, &path),
                // Removed between listing and reading: as if never there.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(RegistriesError::Read { path, source }),
            }
        }
        if let Some(path) = &sources.alias_cache {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    let file = parse_at(&text, Format::V2Only, path)?;
                    let aliases_only = ConfigFile {
                        aliases: file.aliases,
                        ..ConfigFile::default()
                    };
                    config.apply(aliases_only, path);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(RegistriesError::Read {
                        path: path.clone(),
                        source,
                    })
                }
            }
        }
        Ok(config)
    }

    /// Parse one registries.conf text (v1 or v2), as if it were the only
    /// file. Errors name the path `registries.conf`.
    pub fn from_toml_str(text: &str) -> Result<Self, RegistriesError> {
        let origin = Path::new("registries.conf");
        let mut config = Self::default();
        config.apply(parse_at(text, Format::V1OrV2, origin)?, origin);
        Ok(config)
    }

    fn apply(&mut self, file: ConfigFile, origin: &Path) {
        if let Some(search) = file.search {
            self.search = search;
            self.search_origin = Some(origin.to_path_buf());
        }
        if let Some(mode) = file.short_name_mode {
            self.short_name_mode = mode;
        }
        for entry in file.registries {
            self.registries.insert(entry.prefix.clone(), entry);
        }
        for (name, target) in file.aliases {
            let alias = target.map(|target| Alias {
                target,
                origin: origin.to_path_buf(),
            });
            self.aliases.insert(name, alias);
        }
        self.loaded.push(origin.to_path_buf());
    }

    /// Registries tried, in order, for short names without an alias.
    pub fn unqualified_search_registries(&self) -> &[String] {
        &self.search
    }

    /// The file that set `unqualified-search-registries`, if any did.
    pub fn search_origin(&self) -> Option<&Path> {
        self.search_origin.as_deref()
    }

    pub fn short_name_mode(&self) -> ShortNameMode {
        self.short_name_mode
    }

    /// The `[[registry]]` tables, ordered by prefix.
    pub fn registries(&self) -> impl Iterator<Item = &RegistryEntry> {
        self.registries.values()
    }

    /// The alias for a short name without tag or digest (`fedora`).
    pub fn alias(&self, name: &str) -> Option<&Alias> {
        self.aliases.get(name).and_then(Option::as_ref)
    }

    /// The files that were read, in the order they were merged.
    pub fn loaded_files(&self) -> &[PathBuf] {
        &self.loaded
    }

    /// The candidates for `name`, to try in order, each with the default
    /// tag applied when it has neither tag nor digest:
    ///
    /// - a qualified name: just itself;
    /// - a short name with an alias (looked up without tag/digest): only
    ///   the alias, carrying the name's tag and digest;
    /// - otherwise one per unqualified-search registry, in order.
    ///
    /// Empty when nothing is configured: the caller reports that the short
    /// name cannot be resolved (naming [`ConfigSources::describe`]).
    pub fn resolve_short(&self, name: &ImageName) -> Vec<Reference> {
        if let Some(reference) = name.to_reference() {
            return vec![reference.with_default_tag()];
        }
        if let Some(alias) = self.alias(name.path()) {
            let reference = Reference {
                tag: name.tag().map(str::to_string),
                digest: name.digest().cloned(),
                ..alias.target.clone()
            };
            return vec![reference.with_default_tag()];
        }
        self.search
            .iter()
            .map(|registry| name.qualify(registry).with_default_tag())
            .collect()
    }

    /// The `[[registry]]` table whose prefix is the longest match for
    /// `reference` (`host[/path][:tag][@digest]` or a bare host), and the
    /// matched length. On equal lengths a plain prefix beats a wildcard.
    pub fn find(&self, reference: &str) -> Option<&RegistryEntry> {
        self.find_match(reference).map(|(entry, _)| entry)
    }

    fn find_match(&self, reference: &str) -> Option<(&RegistryEntry, usize)> {
        self.registries
            .values()
            .filter_map(|e| prefix::match_len(reference, &e.prefix).map(|n| (e, n)))
            .max_by_key(|(e, _)| (e.prefix.len(), !e.prefix.starts_with('*')))
    }

    /// Whether `host` (`host[:port]`) is marked insecure by the table that
    /// matches it as a whole registry.
    pub fn is_insecure(&self, host: &str) -> bool {
        self.find(host).is_some_and(|e| e.insecure)
    }

    /// Where to pull `reference` from, in order: the mirrors that serve it
    /// (by `pull-from-mirror`), then the primary location. The default tag
    /// is applied first. Mirrors on a blocked registry are skipped; a
    /// blocked reference or primary location is an error.
    pub fn pull_sources(&self, reference: &Reference) -> Result<Vec<RemoteImage>, RegistriesError> {
        let reference = reference.clone().with_default_tag();
        let full = reference.to_string();
        let Some((entry, matched)) = self.find_match(&full) else {
            return Ok(vec![self.remote(reference, false)]);
        };
        self.check_blocked(entry, &full)?;
        let mut sources = Vec::new();
        for mirror in entry
            .mirrors
            .iter()
            .filter(|m| m.pull_from_mirror.serves(&reference))
        {
            let rewritten = rewrite(&full, matched, &mirror.location)?;
            if self.find(&rewritten.to_string()).is_some_and(|e| e.blocked) {
                continue;
            }
            sources.push(self.remote(rewritten, mirror.insecure));
        }
        sources.push(self.primary(entry, &full, matched)?);
        Ok(sources)
    }

    /// Where to push `reference`: its primary location, after the
    /// `location` rewrite; mirrors are never pushed to. The default tag is
    /// applied first.
    pub fn endpoint_for_push(&self, reference: &Reference) -> Result<RemoteImage, RegistriesError> {
        let reference = reference.clone().with_default_tag();
        let full = reference.to_string();
        let Some((entry, matched)) = self.find_match(&full) else {
            return Ok(self.remote(reference, false));
        };
        self.check_blocked(entry, &full)?;
        self.primary(entry, &full, matched)
    }

    fn check_blocked(&self, entry: &RegistryEntry, full: &str) -> Result<(), RegistriesError> {
        if entry.blocked {
            return Err(RegistriesError::Blocked {
                reference: full.to_string(),
                prefix: entry.prefix.clone(),
            });
        }
        Ok(())
    }

    /// The primary location of `entry` for `full`; refused when that
    /// location is itself blocked by another table.
    fn primary(
        &self,
        entry: &RegistryEntry,
        full: &str,
        matched: usize,
    ) -> Result<RemoteImage, RegistriesError> {
        let rewritten = rewrite(full, matched, &entry.location)?;
        let rewritten_full = rewritten.to_string();
        if let Some(blocking) = self.find(&rewritten_full).filter(|e| e.blocked) {
            return Err(RegistriesError::Blocked {
                reference: rewritten_full,
                prefix: blocking.prefix.clone(),
            });
        }
        Ok(self.remote(rewritten, entry.insecure))
    }

    /// `reference` on its registry's API host; insecure when the caller's
    /// table says so or the registry's own table does.
    fn remote(&self, reference: Reference, insecure: bool) -> RemoteImage {
        RemoteImage {
            endpoint: Endpoint {
                host: api_host(&reference.registry).to_string(),
                insecure: insecure || self.is_insecure(&reference.registry),
            },
            repository: reference.repository.clone(),
            reference,
        }
    }
}

/// The host serving the registry API for a registry name: docker.io is
/// served by `registry-1.docker.io`; every other name is its own host.
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_API
    } else {
        registry
    }
}

fn parse_at(text: &str, format: Format, path: &Path) -> Result<ConfigFile, RegistriesError> {
    file::parse(text, format).map_err(|failure| match failure {
        ParseFailure::Toml(source) => RegistriesError::Parse {
            path: path.to_path_buf(),
            source,
        },
        ParseFailure::Invalid(source) => RegistriesError::Invalid {
            path: path.to_path_buf(),
            source,
        },
    })
}

fn rewrite(full: &str, matched: usize, location: &str) -> Result<Reference, RegistriesError> {
    let rewritten = prefix::rewrite(full, matched, location);
    Reference::parse(&rewritten).map_err(|source| RegistriesError::Rewrite {
        reference: full.to_string(),
        location: location.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests;
