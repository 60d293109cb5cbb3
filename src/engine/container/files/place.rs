//! Where copied files land (podman's and docker's cp rules), and the names
//! involved: pure functions of what the source and destination are.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// What a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SrcKind {
    pub is_dir: bool,
    /// A directory given as `DIR/.`: its contents, not itself.
    pub contents: bool,
}

/// What is at the destination path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DestState {
    Dir,
    NonDir,
    Missing,
}

/// Where the archive goes: into the destination itself (a directory) or
/// into its parent, and what the top entry is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// Into the destination directory, under the source's name.
    Inside,
    /// Into the destination directory, the source's contents.
    ContentsInside,
    /// Into the destination's parent, under the destination's name (new,
    /// or replacing what is there).
    Replacing,
}

/// podman's placement rules.
pub(super) fn place(
    src: SrcKind,
    dest: DestState,
    dest_trailing_slash: bool,
    overwrite: bool,
    shown_dest: &str,
) -> Result<Place, String> {
    match dest {
        DestState::Dir if src.is_dir && src.contents => Ok(Place::ContentsInside),
        DestState::Dir => Ok(Place::Inside),
        DestState::NonDir if dest_trailing_slash => Err(format!("{shown_dest} is not a directory")),
        DestState::NonDir if src.is_dir && !overwrite => Err(format!(
            "destination must be a directory when copying a directory: {shown_dest} is not one (--overwrite replaces it)"
        )),
        DestState::NonDir => Ok(Place::Replacing),
        DestState::Missing if dest_trailing_slash && !src.is_dir => {
            Err(format!("destination directory {shown_dest} does not exist"))
        }
        DestState::Missing => Ok(Place::Replacing),
    }
}

/// The last component of a path as the user wrote it, and whether it asks
/// for a directory's contents (`DIR/.`). `None`: no usable name (`/`, `..`).
pub(super) fn user_base(path: &str) -> (Option<OsString>, bool) {
    let contents = path == "." || path.ends_with("/.");
    let trimmed = path.trim_end_matches("/.").trim_end_matches('/');
    let base = trimmed
        .rsplit('/')
        .next()
        .filter(|b| !b.is_empty() && *b != "." && *b != "..")
        .map(OsString::from);
    (base, contents)
}

/// The parent and the last component of a symlink-free relative path
/// (`.` for the root, which has no parent: `None`).
pub(super) fn split(rel: &OsStr) -> Option<(OsString, OsString)> {
    let b = rel.as_bytes();
    if b == b"." {
        return None;
    }
    Some(match b.iter().rposition(|&c| c == b'/') {
        Some(i) => (
            OsStr::from_bytes(&b[..i]).to_owned(),
            OsStr::from_bytes(&b[i + 1..]).to_owned(),
        ),
        None => (OsString::from("."), rel.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names() {
        assert_eq!(user_base("/etc/hosts"), (Some("hosts".into()), false));
        assert_eq!(user_base("/etc/"), (Some("etc".into()), false));
        assert_eq!(user_base("/etc/."), (Some("etc".into()), true));
        assert_eq!(user_base("/"), (None, false));
        assert_eq!(user_base("."), (None, true));
        assert_eq!(user_base("a/.."), (None, false));
        assert_eq!(split(OsStr::new(".")), None);
        assert_eq!(
            split(OsStr::new("a/b")),
            Some((OsString::from("a"), OsString::from("b")))
        );
        assert_eq!(
            split(OsStr::new("b")),
            Some((OsString::from("."), OsString::from("b")))
        );
    }

    #[test]
    fn placement_follows_podman() {
        let file = SrcKind {
            is_dir: false,
            contents: false,
        };
        let dir = SrcKind {
            is_dir: true,
            contents: false,
        };
        let contents = SrcKind {
            is_dir: true,
            contents: true,
        };
        let p = |s, d, slash| place(s, d, slash, false, "D");
        assert_eq!(p(file, DestState::Dir, false), Ok(Place::Inside));
        assert_eq!(p(dir, DestState::Dir, false), Ok(Place::Inside));
        assert_eq!(
            p(contents, DestState::Dir, false),
            Ok(Place::ContentsInside)
        );
        assert_eq!(p(file, DestState::NonDir, false), Ok(Place::Replacing));
        assert!(p(file, DestState::NonDir, true).is_err());
        assert!(p(dir, DestState::NonDir, false).is_err());
        assert_eq!(
            place(dir, DestState::NonDir, false, true, "D"),
            Ok(Place::Replacing)
        );
        assert_eq!(p(file, DestState::Missing, false), Ok(Place::Replacing));
        assert!(p(file, DestState::Missing, true).is_err());
        assert_eq!(p(dir, DestState::Missing, true), Ok(Place::Replacing));
        assert_eq!(p(contents, DestState::Missing, false), Ok(Place::Replacing));
    }
}
