//! Entry names: cleaning a tar path into a relative path below the layer
//! root, and recognising OCI whiteout names.

/// The name climbs above the layer root (`..` past the top).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Escape;

/// Clean `raw` into `out`: leading `/` and `./` are dropped (the OCI image
/// spec treats absolute names as relative to the layer root), empty and `.`
/// components vanish, `..` removes the previous component and fails when
/// there is none. The result has no leading or trailing `/`; empty means
/// the root itself. `out` is reused between entries to avoid allocating.
pub(super) fn clean(raw: &[u8], out: &mut Vec<u8>) -> Result<(), Escape> {
    out.clear();
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if out.is_empty() {
                    return Err(Escape);
                }
                let keep = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(keep);
            }
            c => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    Ok(())
}

/// Split a cleaned path into its parent directory and last component.
pub(super) fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// Whether the cleaned path `dir` is `path` or one of its ancestors.
pub(super) fn is_ancestor_or_self(dir: &[u8], path: &[u8]) -> bool {
    dir.is_empty()
        || (path.starts_with(dir) && (path.len() == dir.len() || path[dir.len()] == b'/'))
}

/// What an entry's last component says, per the OCI image spec's
/// whiteout rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Name<'a> {
    /// An ordinary name.
    Plain,
    /// `.wh..wh..opq`: the parent directory hides its lower contents.
    Opaque,
    /// `.wh.NAME`: NAME is deleted from the lower layers.
    Whiteout(&'a [u8]),
    /// Another `.wh..wh.` name: aufs bookkeeping (`.wh..wh.plnk`, ...)
    /// that has no meaning outside aufs.
    AufsMeta,
}

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";
const AUFS_META_PREFIX: &[u8] = b".wh..wh.";

pub(super) fn classify(name: &[u8]) -> Name<'_> {
    if !name.starts_with(WHITEOUT_PREFIX) {
        Name::Plain
    } else if name == OPAQUE {
        Name::Opaque
    } else if name.starts_with(AUFS_META_PREFIX) {
        Name::AufsMeta
    } else {
        Name::Whiteout(&name[WHITEOUT_PREFIX.len()..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(raw: &str) -> Result<String, Escape> {
        let mut out = Vec::new();
        clean(raw.as_bytes(), &mut out).map(|()| String::from_utf8(out).expect("utf8"))
    }

    #[test]
    fn cleaning() {
        assert_eq!(c("etc/passwd"), Ok("etc/passwd".into()));
        assert_eq!(c("./etc/passwd"), Ok("etc/passwd".into()));
        assert_eq!(c("/etc/passwd"), Ok("etc/passwd".into()));
        assert_eq!(c("//./etc//./passwd/"), Ok("etc/passwd".into()));
        assert_eq!(c("./"), Ok(String::new()));
        assert_eq!(c("/"), Ok(String::new()));
        assert_eq!(c("a/b/../c"), Ok("a/c".into()));
        assert_eq!(c("a/.."), Ok(String::new()));
        assert_eq!(c("a/../../x"), Err(Escape));
        assert_eq!(c("../../x"), Err(Escape));
        assert_eq!(c("/../x"), Err(Escape));
        assert_eq!(c(".."), Err(Escape));
        assert_eq!(c("a..b/..c"), Ok("a..b/..c".into()));
    }

    #[test]
    fn parents_and_ancestors() {
        assert_eq!(split_parent(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split_parent(b"c"), (&b""[..], &b"c"[..]));
        assert!(is_ancestor_or_self(b"", b"x"));
        assert!(is_ancestor_or_self(b"a/b", b"a/b"));
        assert!(is_ancestor_or_self(b"a/b", b"a/b/c"));
        assert!(!is_ancestor_or_self(b"a/b", b"a/bc"));
        assert!(!is_ancestor_or_self(b"a/b", b"a"));
    }

    #[test]
    fn whiteout_names() {
        assert_eq!(classify(b"passwd"), Name::Plain);
        assert_eq!(classify(b".wh.passwd"), Name::Whiteout(b"passwd"));
        assert_eq!(classify(b".wh..wh..opq"), Name::Opaque);
        assert_eq!(classify(b".wh..wh.plnk"), Name::AufsMeta);
        assert_eq!(classify(b".wh."), Name::Whiteout(b""));
        assert_eq!(classify(b".whx"), Name::Plain);
    }
}
