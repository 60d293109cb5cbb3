//! Changes of an overlay upper directory (a container's, or the diff
//! directory of an image's top layer) against the lower layers under it.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use nix::sys::stat::FileStat;

use super::root::{FsRoot, Kind, OPAQUE_MARKER, WHITEOUT_PREFIX};
use super::{dir_differs, sorted, Change, ChangeKind, Owners};

/// The lower layers of an overlay, top first, as one merged view.
#[derive(Debug, Default)]
pub struct Lowers {
    layers: Vec<FsRoot>,
}

impl Lowers {
    /// Layer directories, top first (missing ones are skipped).
    pub fn open(dirs: &[PathBuf]) -> io::Result<Lowers> {
        let mut layers = Vec::with_capacity(dirs.len());
        for d in dirs {
            if let Some(r) = FsRoot::open(d)? {
                layers.push(r);
            }
        }
        Ok(Lowers { layers })
    }

    /// What the merged lower view has at `rel`, as overlayfs would look it
    /// up: the topmost layer holding it wins, a whiteout or a non-directory
    /// on the way hides the layers below, and so does an opaque directory
    /// for what is under it.
    pub fn lookup(&self, rel: &Path) -> io::Result<Option<FileStat>> {
        let parts: Vec<&std::ffi::OsStr> = rel.iter().collect();
        'layers: for layer in &self.layers {
            let mut at = PathBuf::new();
            let mut stop_below = false;
            for (i, part) in parts.iter().enumerate() {
                at.push(part);
                let Some(st) = layer.lstat(&at)? else {
                    if stop_below {
                        return Ok(None);
                    }
                    continue 'layers;
                };
                if layer.is_whiteout(&at, &st)? {
                    return Ok(None);
                }
                if i + 1 == parts.len() {
                    return Ok(Some(st));
                }
                if Kind::of(&st) != Kind::Dir {
                    return Ok(None);
                }
                if layer.is_opaque(&at)? {
                    stop_below = true;
                }
            }
            return Ok(None);
        }
        Ok(None)
    }

    /// The names the merged lower view has in directory `rel`.
    pub fn children(&self, rel: &Path) -> io::Result<Vec<OsString>> {
        let mut names = BTreeSet::new();
        for layer in &self.layers {
            for n in layer.list(rel)? {
                if n != OPAQUE_MARKER {
                    names.insert(n);
                }
            }
        }
        let mut out = Vec::new();
        for n in names {
            if self.lookup(&rel.join(&n))?.is_some() {
                out.push(n);
            }
        }
        Ok(out)
    }
}

struct Walk<'a> {
    upper: &'a FsRoot,
    lowers: &'a Lowers,
    owners: &'a Owners,
    /// Ids in the lower layers are the container's own already.
    out: Vec<Change>,
}

/// The changes recorded in `upper` over `lowers`. `owners` maps the
/// upper directory's owners back to the container's ids (the lower layers
/// are the store's unshifted ones).
pub fn overlay_changes(
    upper: &FsRoot,
    lowers: &Lowers,
    owners: &Owners,
) -> io::Result<Vec<Change>> {
    let mut w = Walk {
        upper,
        lowers,
        owners,
        out: Vec::new(),
    };
    w.dir(Path::new(""), Context::Merged)?;
    Ok(sorted(w.out))
}

/// Whether what is below a directory of the upper layer can be in the
/// lower layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Merged,
    /// New, or opaque: nothing below shows from the lower layers.
    UpperOnly,
}

impl Walk<'_> {
    fn lower(&self, rel: &Path, ctx: Context) -> io::Result<Option<FileStat>> {
        match ctx {
            Context::Merged => self.lowers.lookup(rel),
            Context::UpperOnly => Ok(None),
        }
    }

    fn deleted(&mut self, rel: PathBuf, ctx: Context) -> io::Result<()> {
        // A whiteout of something no lower layer has hides nothing.
        if self.lower(&rel, ctx)?.is_some() {
            self.out.push(Change::new(rel, ChangeKind::Deleted));
        }
        Ok(())
    }

    fn dir(&mut self, rel: &Path, ctx: Context) -> io::Result<()> {
        for name in self.upper.list(rel)? {
            if name == OPAQUE_MARKER {
                continue;
            }
            // fuse-overlayfs writes whiteouts as OCI names where it cannot
            // make device nodes.
            if let Some(target) = name
                .as_encoded_bytes()
                .strip_prefix(WHITEOUT_PREFIX.as_bytes())
            {
                let target = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(target);
                if !target.is_empty() {
                    self.deleted(rel.join(target), ctx)?;
                }
                continue;
            }
            let child = rel.join(&name);
            let Some(st) = self.upper.lstat(&child)? else {
                continue;
            };
            if self.upper.is_whiteout(&child, &st)? {
                self.deleted(child, ctx)?;
                continue;
            }
            let lower = self.lower(&child, ctx)?;
            let is_dir = Kind::of(&st) == Kind::Dir;
            let mut change = match &lower {
                None => Some(Change::new(child.clone(), ChangeKind::Added)),
                Some(_) if !is_dir => Some(Change::new(child.clone(), ChangeKind::Modified)),
                Some(l) if Kind::of(l) != Kind::Dir => {
                    Some(Change::new(child.clone(), ChangeKind::Modified))
                }
                Some(l) => {
                    if self.upper.is_redirected(&child)? {
                        return Err(io::Error::other(format!(
                            "/{} was renamed by overlayfs (redirect_dir), which skiff cannot read back as changes",
                            child.display()
                        )));
                    }
                    let opaque = self.upper.is_opaque(&child)?;
                    let differs = dir_differs(&st, self.owners.of(&st), l, (l.st_uid, l.st_gid));
                    (opaque || differs).then(|| {
                        let mut c = Change::new(child.clone(), ChangeKind::Modified);
                        c.opaque = opaque;
                        c
                    })
                }
            };
            let below = match (&change, is_dir) {
                (_, false) => None,
                (Some(c), true) if c.kind == ChangeKind::Added || c.opaque => {
                    Some(Context::UpperOnly)
                }
                (_, true) => Some(ctx),
            };
            if let Some(c) = change.as_mut().filter(|c| c.opaque) {
                // What the lower layers had there is gone.
                let upper_names = self.upper.list(&c.path)?;
                for n in self.lowers.children(&c.path)? {
                    if !upper_names.contains(&n) {
                        let mut d = Change::new(c.path.join(n), ChangeKind::Deleted);
                        d.implied = true;
                        self.out.push(d);
                    }
                }
            }
            if let Some(c) = change {
                self.out.push(c);
            }
            if let Some(below) = below {
                self.dir(&child, below)?;
            }
        }
        Ok(())
    }
}
