//! The little URL handling the protocol needs: origins (to decide where the
//! Authorization header may go), `Location` resolution, and query building.

/// `scheme://host[:port]` of an absolute URL, lowercased, default port dropped.
/// `None` when `url` is not absolute.
pub(super) fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // Userinfo never appears in registry URLs; drop it rather than compare it.
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if authority.is_empty() {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let mut authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => Some(":443"),
        "http" => Some(":80"),
        _ => None,
    };
    if let Some(port) = default_port {
        if let Some(stripped) = authority.strip_suffix(port) {
            authority = stripped.to_string();
        }
    }
    Some(format!("{scheme}://{authority}"))
}

/// Resolve a `Location` header against the URL of the request that returned it.
/// Handles absolute URLs, `//host/path`, `/path`, `?query` and relative paths
/// (dot segments are not collapsed; registries do not send them).
pub(super) fn resolve(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.is_empty() {
        return None;
    }
    if origin(location).is_some() {
        return Some(location.to_string());
    }
    let base_origin = origin(base)?;
    let (scheme, _) = base_origin.split_once("://")?;
    if let Some(rest) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{rest}"));
    }
    if location.starts_with('/') {
        return Some(format!("{base_origin}{location}"));
    }
    let after_scheme = base.find("://")? + 3;
    let rest = &base[after_scheme..];
    let path_and_more = rest.find(['/', '?', '#']).map_or("", |i| &rest[i..]);
    let base_path = path_and_more.split(['?', '#']).next().unwrap_or("");
    let base_path = if base_path.is_empty() { "/" } else { base_path };
    if location.starts_with('?') {
        return Some(format!("{base_origin}{base_path}{location}"));
    }
    let dir = base_path.rfind('/').map_or("/", |i| &base_path[..=i]);
    Some(format!("{base_origin}{dir}{location}"))
}

/// Append `pairs` to the query of `url`, keeping any query already there
/// (upload `Location`s carry state in theirs).
pub(super) fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let (url, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (url, None),
    };
    let mut out = url.to_string();
    for (key, value) in pairs {
        if !out.contains('?') {
            out.push('?');
        } else if !out.ends_with(['?', '&']) {
            out.push('&');
        }
        out.push_str(&encode(key));
        out.push('=');
        out.push_str(&encode(value));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Percent-encode everything but RFC 3986 unreserved characters.
pub(super) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://Registry.example:443/v2/").as_deref(),
            Some("https://registry.example")
        );
        assert_eq!(
            origin("http://127.0.0.1:5000?x").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(origin("http://[::1]:80/").as_deref(), Some("http://[::1]"));
        assert_ne!(origin("http://a:1/"), origin("http://a:2/"));
        assert_eq!(origin("/v2/x"), None);
        assert_eq!(origin("//host/x"), None);
    }

    #[test]
    fn resolves_locations() {
        let base = "https://r.example:5000/v2/lib/a/blobs/uploads/?mount=x";
        assert_eq!(
            resolve(base, "/v2/lib/a/blobs/uploads/u1?_state=s").as_deref(),
            Some("https://r.example:5000/v2/lib/a/blobs/uploads/u1?_state=s")
        );
        assert_eq!(
            resolve(base, "https://cdn.example/x?sig=1").as_deref(),
            Some("https://cdn.example/x?sig=1")
        );
        assert_eq!(
            resolve(base, "//cdn.example/x").as_deref(),
            Some("https://cdn.example/x")
        );
        assert_eq!(
            resolve(base, "u2").as_deref(),
            Some("https://r.example:5000/v2/lib/a/blobs/uploads/u2")
        );
        assert_eq!(
            resolve(base, "?_state=t").as_deref(),
            Some("https://r.example:5000/v2/lib/a/blobs/uploads/?_state=t")
        );
        assert_eq!(resolve("http://h", "x").as_deref(), Some("http://h/x"));
        assert_eq!(resolve(base, ""), None);
        assert_eq!(resolve("not a url", "/x"), None);
    }

    #[test]
    fn appends_queries() {
        let d = "sha256:ab";
        assert_eq!(
            with_query("http://h/u?_state=s", &[("digest", d)]),
            "http://h/u?_state=s&digest=sha256%3Aab"
        );
        assert_eq!(
            with_query("http://h/u", &[("digest", d)]),
            "http://h/u?digest=sha256%3Aab"
        );
        assert_eq!(
            with_query("http://h/u?", &[("a", "1"), ("b", "x y")]),
            "http://h/u?a=1&b=x%20y"
        );
        assert_eq!(
            with_query("http://h/u?s=1&", &[("a", "/")]),
            "http://h/u?s=1&a=%2F"
        );
    }
}
