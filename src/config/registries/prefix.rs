//! Matching `[[registry]]` prefixes against image references, and rewriting
//! the matched part to a `location`.

/// The length of the part of `reference` (`host[/path][:tag][@digest]`, or a
/// bare host) that `prefix` matches, or `None`.
///
/// A plain prefix matches whole elements: `quay.io/libpod` matches
/// `quay.io/libpod/x` and `quay.io/libpod:tag` but not `quay.io/libpodx`.
/// A host-only prefix does not match the same host with a port
/// (`example.com` vs `example.com:5000/x`); containers/image matches that
/// by accident and documents it as not to be relied on.
///
/// `*.example.com` matches any host ending in `.example.com`, with any
/// port, but not `example.com` itself.
pub(super) fn match_len(reference: &str, prefix: &str) -> Option<usize> {
    if let Some(suffix) = prefix.strip_prefix('*') {
        let host_end = reference.find(['/', '@']).unwrap_or(reference.len());
        let host = &reference[..host_end];
        // Strip the port; bracketed IPv6 addresses never match a DNS suffix.
        let name_end = host.find(':').unwrap_or(host.len());
        return host[..name_end].ends_with(suffix).then_some(name_end);
    }
    let rest = reference.strip_prefix(prefix)?;
    let allowed: &[char] = if prefix.contains('/') {
        &['/', ':', '@']
    } else {
        &['/']
    };
    match rest.chars().next() {
        None => Some(prefix.len()),
        Some(c) if allowed.contains(&c) => Some(prefix.len()),
        Some(_) => None,
    }
}

/// `reference` with its first `matched` bytes replaced by `location`; an
/// empty location (wildcard prefixes) leaves it as it is.
pub(super) fn rewrite(reference: &str, matched: usize, location: &str) -> String {
    if location.is_empty() {
        reference.to_string()
    } else {
        format!("{location}{}", &reference[matched..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_prefixes() {
        let r = "quay.io/libpod/testimage:x";
        assert_eq!(match_len(r, "quay.io"), Some(7));
        assert_eq!(match_len(r, "quay.io/libpod"), Some(14));
        assert_eq!(match_len(r, "quay.io/libpod/testimage"), Some(24));
        assert_eq!(match_len(r, "quay.io/libpod/testimage:x"), Some(26));
        assert_eq!(match_len(r, "quay.io/lib"), None);
        assert_eq!(match_len(r, "quay.i"), None);
        assert_eq!(match_len(r, "quay.io/libpod/testimage:y"), None);
        assert_eq!(
            match_len("quay.io/libpod@sha256:00", "quay.io/libpod"),
            Some(14)
        );
        assert_eq!(match_len("quay.io", "quay.io"), Some(7));
        assert_eq!(match_len("quay.io", "quay.io/libpod"), None);
        assert_eq!(match_len("example.com:5000/x", "example.com"), None);
        assert_eq!(
            match_len("example.com:5000/x", "example.com:5000"),
            Some(16)
        );
    }

    #[test]
    fn wildcard_prefixes() {
        assert_eq!(match_len("foo.example.com/x:1", "*.example.com"), Some(15));
        assert_eq!(match_len("a.b.example.com/x", "*.example.com"), Some(15));
        assert_eq!(
            match_len("foo.example.com:5000/x", "*.example.com"),
            Some(15)
        );
        assert_eq!(match_len("foo.example.com", "*.example.com"), Some(15));
        assert_eq!(match_len("example.com/x", "*.example.com"), None);
        assert_eq!(match_len("fooexample.com/x", "*.example.com"), None);
        assert_eq!(
            match_len("foo.example.com.evil.io/x", "*.example.com"),
            None
        );
        assert_eq!(match_len("evil.io/foo.example.com", "*.example.com"), None);
    }

    #[test]
    fn rewrites() {
        let r = "quay.io/libpod/testimage:x";
        assert_eq!(
            rewrite(r, 14, "127.0.0.1:5000/libpod"),
            "127.0.0.1:5000/libpod/testimage:x"
        );
        assert_eq!(rewrite(r, 14, "mirror.local"), "mirror.local/testimage:x");
        assert_eq!(rewrite(r, 7, ""), r);
    }
}
