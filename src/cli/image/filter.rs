//! `--filter` for image lists: `reference=GLOB`, `dangling=BOOL`,
//! `label=KEY[=VALUE]`, `id=PREFIX`, `digest=DIGEST`. Several filters of
//! different kinds must all match; several of one kind match if any does.

use crate::engine::lookup::split_name;
use crate::image::config::ImageConfig;
use crate::storage::images::ImageRecord;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageFilter {
    Reference(String),
    Dangling(bool),
    Label(String, Option<String>),
    Id(String),
    Digest(String),
}

impl ImageFilter {
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let Some((key, value)) = s.split_once('=') else {
            anyhow::bail!("invalid filter {s:?}: expected KEY=VALUE");
        };
        Ok(match key {
            "reference" => ImageFilter::Reference(value.to_string()),
            "dangling" => ImageFilter::Dangling(match value {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => anyhow::bail!("invalid filter {s:?}: dangling takes true or false"),
            }),
            "label" => match value.split_once('=') {
                Some((k, v)) => ImageFilter::Label(k.to_string(), Some(v.to_string())),
                None => ImageFilter::Label(value.to_string(), None),
            },
            "id" => ImageFilter::Id(value.trim_start_matches("sha256:").to_string()),
            "digest" => ImageFilter::Digest(value.to_string()),
            other => anyhow::bail!(
                "invalid filter {other:?}: supported filters are reference, dangling, label, id, digest"
            ),
        })
    }

    fn kind(&self) -> u8 {
        match self {
            ImageFilter::Reference(_) => 0,
            ImageFilter::Dangling(_) => 1,
            ImageFilter::Label(..) => 2,
            ImageFilter::Id(_) => 3,
            ImageFilter::Digest(_) => 4,
        }
    }

    /// Whether matching reads the image config (labels), not only the record.
    pub fn needs_config(&self) -> bool {
        matches!(self, ImageFilter::Label(..))
    }

    pub fn matches(&self, rec: &ImageRecord, cfg: &ImageConfig) -> bool {
        match self {
            ImageFilter::Reference(pat) => rec.names.iter().any(|n| reference_matches(pat, n)),
            ImageFilter::Dangling(want) => rec.is_dangling() == *want,
            ImageFilter::Label(k, v) => {
                let labels = cfg.labels();
                match v {
                    None => labels.contains_key(k),
                    Some(v) => labels.get(k) == Some(v),
                }
            }
            ImageFilter::Id(prefix) => rec.id.hex().starts_with(prefix.as_str()),
            ImageFilter::Digest(d) => rec.digests.iter().any(|x| &x.to_string() == d),
        }
    }

    pub fn all_match(filters: &[ImageFilter], rec: &ImageRecord, cfg: &ImageConfig) -> bool {
        (0..5).all(|kind| {
            let of_kind: Vec<&ImageFilter> = filters.iter().filter(|f| f.kind() == kind).collect();
            of_kind.is_empty() || of_kind.iter().any(|f| f.matches(rec, cfg))
        })
    }
}

/// A reference pattern matches a stored name by its full form, or without
/// its registry, or by its last path element; with or without the tag.
fn reference_matches(pattern: &str, name: &str) -> bool {
    let (repo, tag) = split_name(name);
    let mut forms = vec![repo.to_string()];
    if let Some((_, rest)) = repo.split_once('/') {
        forms.push(rest.to_string());
        if let Some(rest) = rest.strip_prefix("library/") {
            forms.push(rest.to_string());
        }
    }
    if let Some(last) = repo.rsplit('/').next() {
        forms.push(last.to_string());
    }
    forms
        .iter()
        .any(|f| glob(pattern, f) || tag.is_some_and(|t| glob(pattern, &format!("{f}:{t}"))))
}

/// Shell-style match where `*` and `?` do not cross `/`.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && t[0] != b'/' && go(p, &t[1..])),
            (Some(b'?'), Some(c)) if *c != b'/' => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_patterns() {
        let n = "docker.io/library/alpine:3.20";
        assert!(reference_matches("alpine", n));
        assert!(reference_matches("alpine:3.20", n));
        assert!(reference_matches("docker.io/library/alpine", n));
        assert!(reference_matches("alp*", n));
        assert!(!reference_matches("alpine:3.19", n));
        assert!(!reference_matches("busybox", n));
        assert!(!reference_matches("*", "a/b/c:1") || glob("*", "c"));
    }

    #[test]
    fn parse_rejects_unknown() {
        assert!(ImageFilter::parse("foo=bar").is_err());
        assert!(ImageFilter::parse("dangling=maybe").is_err());
        assert_eq!(
            ImageFilter::parse("label=a=b").expect("valid"),
            ImageFilter::Label("a".into(), Some("b".into()))
        );
    }
}
