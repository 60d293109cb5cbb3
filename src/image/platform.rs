//! Platforms (`os/arch[/variant]`) and the choice of one manifest out of an
//! index or manifest list.

use std::fmt;
use std::str::FromStr;

/// The platform an image is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid platform {0:?}: expected os/arch[/variant], e.g. linux/arm64")]
pub struct PlatformParseError(String);

/// Map Rust's architecture names to the Go names images use.
fn go_arch(rust: &str) -> &str {
    match rust {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        "riscv64" | "riscv64gc" => "riscv64",
        other => other,
    }
}

impl Platform {
    /// The platform of this machine.
    pub fn host() -> Self {
        let architecture = go_arch(std::env::consts::ARCH).to_string();
        let variant = match architecture.as_str() {
            "arm" => Some("v7".to_string()),
            _ => None,
        };
        Platform {
            os: "linux".to_string(),
            architecture,
            variant,
        }
    }

    /// Apply `--platform`, `--arch`, `--variant`, `--os` overrides to the host
    /// platform. `--platform` sets all three; the others then refine it.
    pub fn from_overrides(
        platform: Option<&str>,
        os: Option<&str>,
        arch: Option<&str>,
        variant: Option<&str>,
    ) -> Result<Self, PlatformParseError> {
        let mut p = match platform {
            Some(s) => s.parse()?,
            None => Platform::host(),
        };
        if let Some(os) = os {
            p.os = os.to_string();
        }
        if let Some(arch) = arch {
            if p.architecture != arch {
                p.variant = None;
            }
            p.architecture = go_arch(arch).to_string();
        }
        if let Some(v) = variant {
            p.variant = Some(v.to_string());
        }
        Ok(p)
    }

    /// Whether an index entry for (os, arch, variant) serves this platform.
    /// A missing variant on either side matches; arm64's `v8` is the default.
    pub fn matches(&self, os: &str, arch: &str, variant: Option<&str>) -> bool {
        let norm = |v: Option<&str>| match (arch, v) {
            ("arm64", Some("v8")) => None,
            (_, v) => v.map(str::to_string),
        };
        self.os == os
            && self.architecture == arch
            && match (norm(self.variant.as_deref()), norm(variant)) {
                (Some(a), Some(b)) => a == b,
                (Some(_), None) => true,
                (None, _) => true,
            }
    }

    /// How well an entry's variant fits: an exact variant beats none.
    pub fn score(&self, variant: Option<&str>) -> u8 {
        match (self.variant.as_deref(), variant) {
            (Some(a), Some(b)) if a == b => 2,
            (None, None) => 2,
            _ => 1,
        }
    }
}

impl FromStr for Platform {
    type Err = PlatformParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(PlatformParseError(s.to_string()));
        }
        match parts.as_slice() {
            [os, arch] => Ok(Platform {
                os: os.to_string(),
                architecture: go_arch(arch).to_string(),
                variant: None,
            }),
            [os, arch, variant] => Ok(Platform {
                os: os.to_string(),
                architecture: go_arch(arch).to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(PlatformParseError(s.to_string())),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let p: Platform = "linux/arm/v7".parse().expect("valid");
        assert!(p.matches("linux", "arm", Some("v7")));
        assert!(!p.matches("linux", "arm", Some("v6")));
        assert!(!p.matches("linux", "amd64", None));
        let a: Platform = "linux/arm64".parse().expect("valid");
        assert!(a.matches("linux", "arm64", Some("v8")));
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//v7".parse::<Platform>().is_err());
        assert_eq!(p.to_string(), "linux/arm/v7");
    }

    #[test]
    fn overrides_refine_the_host() {
        let p = Platform::from_overrides(None, None, Some("arm64"), None).expect("valid");
        assert_eq!(p.to_string(), "linux/arm64");
        let p = Platform::from_overrides(Some("linux/arm"), None, None, Some("v6")).expect("valid");
        assert_eq!(p.to_string(), "linux/arm/v6");
    }
}
