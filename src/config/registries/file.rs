//! One registries.conf file: its TOML shape (v2, and the deprecated v1 lists
//! in a main file), checked and normalised as containers-registries.conf(5)
//! describes, before it is merged with the others.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Mirror, PullFromMirror, RegistryEntry, ShortNameMode};
use crate::image::reference::{is_valid_domain, ImageName, Reference};

/// Why a registries.conf file that parsed as TOML is still not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidConfig {
    #[error("location {0:?}: URI schemes are not supported, give host[:port][/path]")]
    Scheme(String),
    #[error("a [[registry]] table sets neither prefix nor location")]
    NoPrefixOrLocation,
    #[error("registry {prefix:?}: location is empty and prefix is not of the form *.example.com")]
    EmptyLocation { prefix: String },
    #[error("wildcard prefix {0:?} must be *.example.com, without port, path, tag or digest")]
    Wildcard(String),
    #[error("registry {prefix:?}: a mirror has no location")]
    MirrorLocation { prefix: String },
    #[error("registry {prefix:?}: pull-from-mirror is only allowed in [[registry.mirror]] tables")]
    PullFromMirrorOnRegistry { prefix: String },
    #[error("registry {prefix:?}: mirror {mirror:?} sets pull-from-mirror while the registry sets mirror-by-digest-only")]
    MirrorModeConflict { prefix: String, mirror: String },
    #[error(
        "mirror {mirror:?}: unsupported pull-from-mirror {value:?} (all, digest-only or tag-only)"
    )]
    PullFromMirror { mirror: String, value: String },
    #[error("invalid short-name-mode {0:?} (enforcing, permissive or disabled)")]
    ShortNameMode(String),
    #[error(
        "registry {location:?} is defined more than once with conflicting {setting:?} settings"
    )]
    Conflict {
        location: String,
        setting: &'static str,
    },
    #[error("invalid unqualified-search-registries entry {0:?}: expected host[:port]")]
    SearchRegistry(String),
    #[error("invalid short-name alias {name:?}: {reason}")]
    AliasName { name: String, reason: &'static str },
    #[error("invalid value {value:?} of short-name alias {name:?}: {reason}")]
    AliasValue {
        name: String,
        value: String,
        reason: &'static str,
    },
    #[error(
        "the deprecated [registries.*] v1 format cannot be mixed with v2 settings in one file"
    )]
    MixedV1V2,
    #[error("drop-in files must use the v2 format, not [registries.*]")]
    V1InDropIn,
}

/// Whether the deprecated v1 format is acceptable (main file) or not (drop-ins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    V1OrV2,
    V2Only,
}

/// A checked file, ready to be merged over the files loaded before it.
/// `None` / empty means "not set here", so earlier files keep their value.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct ConfigFile {
    pub search: Option<Vec<String>>,
    pub short_name_mode: Option<ShortNameMode>,
    /// At most one entry per prefix: the first one in the file wins.
    pub registries: Vec<RegistryEntry>,
    /// `None` erases an alias set by an earlier file.
    pub aliases: BTreeMap<String, Option<Reference>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawFile {
    unqualified_search_registries: Option<Vec<String>>,
    short_name_mode: Option<String>,
    #[serde(default)]
    registry: Vec<RawRegistry>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    registries: Option<RawV1>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawRegistry {
    prefix: Option<String>,
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    pull_from_mirror: Option<String>,
    #[serde(default)]
    mirror: Vec<RawMirror>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawMirror {
    #[serde(default)]
    location: String,
    #[serde(default)]
    insecure: bool,
    pull_from_mirror: Option<String>,
}

/// `[registries.search]`, `[registries.insecure]`, `[registries.block]`.
#[derive(Debug, Default, Deserialize)]
struct RawV1 {
    #[serde(default)]
    search: RawV1List,
    #[serde(default)]
    insecure: RawV1List,
    #[serde(default)]
    block: RawV1List,
}

#[derive(Debug, Default, Deserialize)]
struct RawV1List {
    #[serde(default)]
    registries: Vec<String>,
}

/// Failure of [`parse`]: either the TOML or the settings.
#[derive(Debug)]
pub(super) enum ParseFailure {
    Toml(toml::de::Error),
    Invalid(InvalidConfig),
}

impl From<InvalidConfig> for ParseFailure {
    fn from(e: InvalidConfig) -> Self {
        ParseFailure::Invalid(e)
    }
}

/// Parse and check one file. Unknown keys (credential-helpers,
/// additional-layer-store-auth-helper, ...) are ignored, as other tools
/// sharing the file may use them.
pub(super) fn parse(text: &str, format: Format) -> Result<ConfigFile, ParseFailure> {
    let mut raw: RawFile = toml::from_str(text).map_err(ParseFailure::Toml)?;
    if let Some(v1) = raw.registries.take() {
        if format == Format::V2Only {
            return Err(InvalidConfig::V1InDropIn.into());
        }
        let has_v2 = raw.unqualified_search_registries.is_some()
            || raw.short_name_mode.is_some()
            || !raw.registry.is_empty()
            || !raw.aliases.is_empty();
        if has_v2 {
            return Err(InvalidConfig::MixedV1V2.into());
        }
        raw = from_v1(v1);
    }
    Ok(ConfigFile {
        search: raw
            .unqualified_search_registries
            .map(check_search)
            .transpose()?,
        short_name_mode: raw
            .short_name_mode
            .as_deref()
            .map(parse_mode)
            .transpose()?
            .flatten(),
        registries: check_registries(raw.registry)?,
        aliases: check_aliases(raw.aliases)?,
    })
}

fn from_v1(v1: RawV1) -> RawFile {
    // One entry per location, blocked and insecure flags combined; order
    // of first mention, so the result is deterministic.
    let mut entries: Vec<RawRegistry> = Vec::new();
    let flagged = v1
        .block
        .registries
        .into_iter()
        .map(|r| (r, true, false))
        .chain(v1.insecure.registries.into_iter().map(|r| (r, false, true)));
    for (location, blocked, insecure) in flagged {
        let trimmed = location.trim_end_matches('/');
        let i = match entries
            .iter()
            .position(|e| e.location.as_deref() == Some(trimmed))
        {
            Some(i) => i,
            None => {
                entries.push(RawRegistry {
                    location: Some(trimmed.to_string()),
                    ..RawRegistry::default()
                });
                entries.len() - 1
            }
        };
        entries[i].blocked |= blocked;
        entries[i].insecure |= insecure;
    }
    RawFile {
        unqualified_search_registries: Some(v1.search.registries),
        registry: entries,
        ..RawFile::default()
    }
}

fn parse_mode(mode: &str) -> Result<Option<ShortNameMode>, InvalidConfig> {
    match mode {
        "" => Ok(None),
        "enforcing" => Ok(Some(ShortNameMode::Enforcing)),
        "permissive" => Ok(Some(ShortNameMode::Permissive)),
        "disabled" => Ok(Some(ShortNameMode::Disabled)),
        other => Err(InvalidConfig::ShortNameMode(other.to_string())),
    }
}

/// Trailing slashes are dropped; `http://` and `https://` are refused.
fn location(input: &str) -> Result<String, InvalidConfig> {
    let trimmed = input.trim_end_matches('/');
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Err(InvalidConfig::Scheme(input.to_string()));
    }
    Ok(trimmed.to_string())
}

fn check_search(entries: Vec<String>) -> Result<Vec<String>, InvalidConfig> {
    entries
        .into_iter()
        .map(|e| {
            let host = location(&e)?;
            if is_valid_domain(&host) {
                Ok(host)
            } else {
                Err(InvalidConfig::SearchRegistry(e))
            }
        })
        .collect()
}

fn check_registries(raw: Vec<RawRegistry>) -> Result<Vec<RegistryEntry>, InvalidConfig> {
    let mut out: Vec<RegistryEntry> = Vec::new();
    for r in raw {
        let entry = check_registry(r)?;
        // Registries backed by the same location must agree on security.
        let key = entry.conflict_key();
        for other in out.iter().filter(|o| o.conflict_key() == key) {
            let setting = if other.insecure != entry.insecure {
                "insecure"
            } else if other.blocked != entry.blocked {
                "blocked"
            } else {
                continue;
            };
            return Err(InvalidConfig::Conflict {
                location: key.to_string(),
                setting,
            });
        }
        // With equal prefixes the first table wins (longest-prefix match
        // could never reach the later one).
        if !out.iter().any(|o| o.prefix == entry.prefix) {
            out.push(entry);
        }
    }
    Ok(out)
}

fn check_registry(r: RawRegistry) -> Result<RegistryEntry, InvalidConfig> {
    let loc = location(r.location.as_deref().unwrap_or(""))?;
    let prefix = match r.prefix.as_deref() {
        None | Some("") if loc.is_empty() => return Err(InvalidConfig::NoPrefixOrLocation),
        None | Some("") => loc.clone(),
        Some(p) => location(p)?,
    };
    if let Some(host) = prefix.strip_prefix("*.") {
        if host.contains(['/', '@', ':']) || host.is_empty() {
            return Err(InvalidConfig::Wildcard(prefix));
        }
    } else if loc.is_empty() {
        return Err(InvalidConfig::EmptyLocation { prefix });
    }
    if r.pull_from_mirror.is_some() {
        return Err(InvalidConfig::PullFromMirrorOnRegistry { prefix });
    }
    let mirrors = r
        .mirror
        .into_iter()
        .map(|m| {
            let mirror_location = location(&m.location)?;
            if mirror_location.is_empty() {
                return Err(InvalidConfig::MirrorLocation {
                    prefix: prefix.clone(),
                });
            }
            let pull_from_mirror = match m.pull_from_mirror.as_deref() {
                Some(_) if r.mirror_by_digest_only => {
                    return Err(InvalidConfig::MirrorModeConflict {
                        prefix: prefix.clone(),
                        mirror: mirror_location,
                    })
                }
                None | Some("") if r.mirror_by_digest_only => PullFromMirror::DigestOnly,
                None | Some("") | Some("all") => PullFromMirror::All,
                Some("digest-only") => PullFromMirror::DigestOnly,
                Some("tag-only") => PullFromMirror::TagOnly,
                Some(other) => {
                    return Err(InvalidConfig::PullFromMirror {
                        mirror: mirror_location,
                        value: other.to_string(),
                    })
                }
            };
            Ok(Mirror {
                location: mirror_location,
                insecure: m.insecure,
                pull_from_mirror,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RegistryEntry {
        prefix,
        location: loc,
        insecure: r.insecure,
        blocked: r.blocked,
        mirrors,
    })
}

fn check_aliases(
    raw: BTreeMap<String, String>,
) -> Result<BTreeMap<String, Option<Reference>>, InvalidConfig> {
    raw.into_iter()
        .map(|(name, value)| {
            check_alias_name(&name)?;
            if value.is_empty() {
                return Ok((name, None));
            }
            let target = check_alias_value(&name, &value)?;
            Ok((name, Some(target)))
        })
        .collect()
}

fn check_alias_name(name: &str) -> Result<(), InvalidConfig> {
    let bad = |reason| InvalidConfig::AliasName {
        name: name.to_string(),
        reason,
    };
    let parsed = ImageName::parse(name).map_err(|_| bad("not a valid image name"))?;
    if !parsed.is_short() {
        return Err(bad("must be a short name, without registry"));
    }
    if parsed.tag().is_some() || parsed.digest().is_some() {
        return Err(bad("must not contain a tag or digest"));
    }
    Ok(())
}

fn check_alias_value(name: &str, value: &str) -> Result<Reference, InvalidConfig> {
    let bad = |reason| InvalidConfig::AliasValue {
        name: name.to_string(),
        value: value.to_string(),
        reason,
    };
    let parsed = ImageName::parse(value).map_err(|_| bad("not a valid image name"))?;
    if parsed.tag().is_some() || parsed.digest().is_some() {
        return Err(bad("must not contain a tag or digest"));
    }
    parsed
        .to_reference()
        .ok_or_else(|| bad("must be fully qualified, registry/repository"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> ConfigFile {
        parse(text, Format::V1OrV2).expect("valid registries.conf in test")
    }

    fn invalid(text: &str) -> InvalidConfig {
        match parse(text, Format::V1OrV2) {
            Err(ParseFailure::Invalid(e)) => e,
            other => panic!("expected an invalid config, got {other:?}"),
        }
    }

    #[test]
    fn empty_file_sets_nothing() {
        assert_eq!(ok(""), ConfigFile::default());
        assert_eq!(
            ok("credential-helpers = [\"pass\"]\n"),
            ConfigFile::default()
        );
    }

    #[test]
    fn registry_tables() {
        let f = ok(r#"
            unqualified-search-registries = ["quay.io", "docker.io/"]
            short-name-mode = "enforcing"

            [[registry]]
            location = "registry.example.com/"
            insecure = true

            [[registry]]
            prefix = "quay.io/libpod"
            location = "127.0.0.1:5000/libpod"

            [[registry.mirror]]
            location = "mirror.local/libpod"
            pull-from-mirror = "tag-only"

            [[registry.mirror]]
            location = "mirror2.local"
            insecure = true
        "#);
        assert_eq!(
            f.search,
            Some(vec!["quay.io".to_string(), "docker.io".to_string()])
        );
        assert_eq!(f.short_name_mode, Some(ShortNameMode::Enforcing));
        assert_eq!(
            f.registries,
            vec![
                RegistryEntry {
                    prefix: "registry.example.com".to_string(),
                    location: "registry.example.com".to_string(),
                    insecure: true,
                    blocked: false,
                    mirrors: vec![],
                },
                RegistryEntry {
                    prefix: "quay.io/libpod".to_string(),
                    location: "127.0.0.1:5000/libpod".to_string(),
                    insecure: false,
                    blocked: false,
                    mirrors: vec![
                        Mirror {
                            location: "mirror.local/libpod".to_string(),
                            insecure: false,
                            pull_from_mirror: PullFromMirror::TagOnly,
                        },
                        Mirror {
                            location: "mirror2.local".to_string(),
                            insecure: true,
                            pull_from_mirror: PullFromMirror::All,
                        },
                    ],
                },
            ]
        );
    }

    #[test]
    fn first_table_with_a_prefix_wins() {
        let f = ok(r#"
            [[registry]]
            prefix = "a.io"
            location = "first.io"
            [[registry]]
            prefix = "a.io"
            location = "second.io"
        "#);
        assert_eq!(f.registries.len(), 1);
        assert_eq!(f.registries[0].location, "first.io");
    }

    #[test]
    fn mirror_by_digest_only() {
        let f = ok(r#"
            [[registry]]
            location = "r.io"
            mirror-by-digest-only = true
            [[registry.mirror]]
            location = "m.io"
        "#);
        assert_eq!(
            f.registries[0].mirrors[0].pull_from_mirror,
            PullFromMirror::DigestOnly
        );
        assert_eq!(
            invalid(
                r#"
            [[registry]]
            location = "r.io"
            mirror-by-digest-only = true
            [[registry.mirror]]
            location = "m.io"
            pull-from-mirror = "all"
        "#
            ),
            InvalidConfig::MirrorModeConflict {
                prefix: "r.io".to_string(),
                mirror: "m.io".to_string()
            }
        );
    }

    #[test]
    fn wildcard_prefixes() {
        let f = ok("[[registry]]\nprefix = \"*.example.com\"\ninsecure = true\n");
        assert_eq!(f.registries[0].prefix, "*.example.com");
        assert_eq!(f.registries[0].location, "");
        for p in ["*.example.com:5000", "*.example.com/foo", "*."] {
            assert_eq!(
                invalid(&format!("[[registry]]\nprefix = \"{p}\"\n")),
                InvalidConfig::Wildcard(p.to_string())
            );
        }
    }

    #[test]
    fn invalid_registries() {
        assert_eq!(
            invalid("[[registry]]\nlocation = \"https://a.io\"\n"),
            InvalidConfig::Scheme("https://a.io".to_string())
        );
        assert_eq!(
            invalid("[[registry]]\nprefix = \"\"\n"),
            InvalidConfig::NoPrefixOrLocation
        );
        assert_eq!(
            invalid("[[registry]]\nprefix = \"a.io/x\"\n"),
            InvalidConfig::EmptyLocation {
                prefix: "a.io/x".to_string()
            }
        );
        assert_eq!(
            invalid("[[registry]]\nlocation = \"a.io\"\npull-from-mirror = \"all\"\n"),
            InvalidConfig::PullFromMirrorOnRegistry {
                prefix: "a.io".to_string()
            }
        );
        assert_eq!(
            invalid("[[registry]]\nlocation = \"a.io\"\n[[registry.mirror]]\ninsecure = true\n"),
            InvalidConfig::MirrorLocation {
                prefix: "a.io".to_string()
            }
        );
        assert_eq!(
            invalid("[[registry]]\nlocation = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\npull-from-mirror = \"sometimes\"\n"),
            InvalidConfig::PullFromMirror {
                mirror: "m.io".to_string(),
                value: "sometimes".to_string()
            }
        );
        assert_eq!(
            invalid("short-name-mode = \"prompt\"\n"),
            InvalidConfig::ShortNameMode("prompt".to_string())
        );
        assert_eq!(
            invalid("unqualified-search-registries = [\"quay.io/ns\"]\n"),
            InvalidConfig::SearchRegistry("quay.io/ns".to_string())
        );
        assert_eq!(
            invalid(
                r#"
            [[registry]]
            prefix = "a.io/x"
            location = "r.io"
            [[registry]]
            prefix = "a.io/y"
            location = "r.io"
            insecure = true
        "#
            ),
            InvalidConfig::Conflict {
                location: "r.io".to_string(),
                setting: "insecure"
            }
        );
        assert!(matches!(
            parse("unqualified-search-registries = 3", Format::V1OrV2),
            Err(ParseFailure::Toml(_))
        ));
    }

    #[test]
    fn aliases() {
        let f = ok(r#"
            [aliases]
            "fedora" = "registry.fedoraproject.org/fedora"
            "library/alpine" = "docker.io/alpine"
            "gone" = ""
        "#);
        let target = |s: &str| Some(Reference::parse(s).expect("valid"));
        assert_eq!(
            f.aliases,
            BTreeMap::from([
                (
                    "fedora".to_string(),
                    target("registry.fedoraproject.org/fedora")
                ),
                ("gone".to_string(), None),
                (
                    "library/alpine".to_string(),
                    target("docker.io/library/alpine")
                ),
            ])
        );
        for (name, reason) in [
            ("quay.io/x", "must be a short name, without registry"),
            ("x:1", "must not contain a tag or digest"),
            ("X", "not a valid image name"),
        ] {
            assert_eq!(
                invalid(&format!("[aliases]\n\"{name}\" = \"quay.io/x\"\n")),
                InvalidConfig::AliasName {
                    name: name.to_string(),
                    reason
                }
            );
        }
        for (value, reason) in [
            ("x/y", "must be fully qualified, registry/repository"),
            ("quay.io/x:1", "must not contain a tag or digest"),
            ("quay.io/X", "not a valid image name"),
        ] {
            assert_eq!(
                invalid(&format!("[aliases]\n\"x\" = \"{value}\"\n")),
                InvalidConfig::AliasValue {
                    name: "x".to_string(),
                    value: value.to_string(),
                    reason
                }
            );
        }
    }

    #[test]
    fn v1_format() {
        let f = ok(r#"
            [registries.search]
            registries = ["r1.io", "r2.io"]
            [registries.insecure]
            registries = ["r3.io", "r1.io"]
            [registries.block]
            registries = ["bad.io/"]
        "#);
        assert_eq!(
            f.search,
            Some(vec!["r1.io".to_string(), "r2.io".to_string()])
        );
        let summary: Vec<_> = f
            .registries
            .iter()
            .map(|r| {
                (
                    r.prefix.as_str(),
                    r.location.as_str(),
                    r.insecure,
                    r.blocked,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("bad.io", "bad.io", false, true),
                ("r3.io", "r3.io", true, false),
                ("r1.io", "r1.io", true, false),
            ]
        );
        let mixed = "unqualified-search-registries = []\n[registries.search]\nregistries = []\n";
        assert_eq!(invalid(mixed), InvalidConfig::MixedV1V2);
        assert!(matches!(
            parse("[registries.search]\nregistries = []\n", Format::V2Only),
            Err(ParseFailure::Invalid(InvalidConfig::V1InDropIn))
        ));
    }
}
