//! Reading the members of an image archive by name, without extracting it: a
//! tar file is indexed once (where each regular file's bytes are; symlinks
//! and hard links resolved inside the archive), a directory is read in place.
//! Names are normalised (`./a//b` is `a/b`); a name or link that would
//! leave the archive (`..`, absolute paths) makes the archive malformed.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// Symlinks followed in a row before giving up.
const MAX_LINK_DEPTH: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("not a tar archive: {source}")]
    NotATar {
        #[source]
        source: io::Error,
    },
    #[error("the archive is corrupt after member {after:?}: {source}")]
    Corrupt {
        after: String,
        #[source]
        source: io::Error,
    },
    #[error("archive member {name:?} escapes the archive")]
    Escape { name: String },
    #[error("archive member {name:?} is a link that leaves the archive or loops")]
    BadLink { name: String },
    #[error("archive member {name:?} is missing")]
    NotFound { name: String },
    #[error("archive member {name:?} is truncated: the archive ends before its {size} bytes")]
    Truncated { name: String, size: u64 },
    #[error("archive member {name:?} is a sparse file, which image archives never contain")]
    Sparse { name: String },
    #[error(
        "archive member {name:?} is {size} bytes, more than the {limit} allowed for a document"
    )]
    TooLarge { name: String, size: u64, limit: u64 },
    #[error("reading archive member {name:?}: {source}")]
    Read {
        name: String,
        #[source]
        source: io::Error,
    },
}

/// One indexed tar member.
#[derive(Debug, Clone)]
enum Member {
    File {
        offset: u64,
        size: u64,
    },
    /// Symlink: target relative to the link's directory (or absolute).
    Symlink {
        target: String,
    },
    /// Hard link: target is an archive name.
    Hardlink {
        target: String,
    },
    Dir,
}

/// Where an image's files are read from.
#[derive(Debug)]
pub enum Members {
    Tar(TarIndex),
    Dir(PathBuf),
}

/// A tar archive in a seekable file, indexed by member name.
#[derive(Debug)]
pub struct TarIndex {
    file: File,
    members: HashMap<String, Member>,
}

/// Normalise a member name: no empty or `.` components, no leading `/`
/// tolerated, no `..`.
pub fn normalize(name: &str) -> Result<String, MemberError> {
    if name.starts_with('/') {
        return Err(MemberError::Escape {
            name: name.to_string(),
        });
    }
    let mut parts = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(MemberError::Escape {
                    name: name.to_string(),
                })
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// Resolve `target` of a symlink at `link` to an archive name.
fn resolve_link(link: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        let mut p: Vec<&str> = link.split('/').collect();
        p.pop();
        p
    };
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

impl TarIndex {
    /// Index the tar archive in `file`.
    pub fn new(mut file: File) -> Result<Self, MemberError> {
        let not_tar = |source| MemberError::NotATar { source };
        let len = file.metadata().map_err(not_tar)?.len();
        io::Seek::rewind(&mut file).map_err(not_tar)?;
        let mut members = HashMap::new();
        {
            let mut archive = tar::Archive::new(&file);
            let mut last: Option<String> = None;
            for entry in archive.entries_with_seek().map_err(not_tar)? {
                let entry = entry.map_err(|source| match &last {
                    None => MemberError::NotATar { source },
                    Some(after) => MemberError::Corrupt {
                        after: after.clone(),
                        source,
                    },
                })?;
                let raw = entry.path_bytes();
                let raw = String::from_utf8_lossy(&raw).into_owned();
                let name = normalize(&raw)?;
                let kind = entry.header().entry_type();
                let member = match kind {
                    tar::EntryType::Regular | tar::EntryType::Continuous => {
                        let offset = entry.raw_file_position();
                        let size = entry.size();
                        if offset.saturating_add(size) > len {
                            return Err(MemberError::Truncated { name: raw, size });
                        }
                        Member::File { offset, size }
                    }
                    tar::EntryType::Symlink | tar::EntryType::Link => {
                        let target = entry
                            .link_name_bytes()
                            .map(|t| String::from_utf8_lossy(&t).into_owned())
                            .unwrap_or_default();
                        if kind == tar::EntryType::Link {
                            Member::Hardlink { target }
                        } else {
                            Member::Symlink { target }
                        }
                    }
                    tar::EntryType::GNUSparse => return Err(MemberError::Sparse { name: raw }),
                    tar::EntryType::Directory => Member::Dir,
                    // Devices and fifos mean nothing in an image archive.
                    _ => continue,
                };
                last = Some(raw);
                if !name.is_empty() {
                    members.insert(name, member);
                }
            }
        }
        Ok(Self { file, members })
    }

    /// The regular file `name` resolves to: (offset, size).
    fn find(&self, name: &str) -> Result<(u64, u64), MemberError> {
        let mut current = normalize(name)?;
        for _ in 0..MAX_LINK_DEPTH {
            match self.members.get(&current) {
                None | Some(Member::Dir) => {
                    return Err(MemberError::NotFound {
                        name: name.to_string(),
                    })
                }
                Some(Member::File { offset, size }) => return Ok((*offset, *size)),
                Some(Member::Symlink { target }) => {
                    current = resolve_link(&current, target).ok_or(MemberError::BadLink {
                        name: name.to_string(),
                    })?;
                }
                Some(Member::Hardlink { target }) => {
                    current = normalize(target).map_err(|_| MemberError::BadLink {
                        name: name.to_string(),
                    })?;
                }
            }
        }
        Err(MemberError::BadLink {
            name: name.to_string(),
        })
    }
}

/// Reads one member's bytes at its offset (positioned reads: several
/// readers may share the file).
struct MemberReader<'a> {
    file: &'a File,
    name: String,
    offset: u64,
    remaining: u64,
    size: u64,
}

impl Read for MemberReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut buf[..max], self.offset)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                MemberError::Truncated {
                    name: self.name.clone(),
                    size: self.size,
                },
            ));
        }
        self.offset += n as u64;
        self.remaining -= n as u64;
        Ok(n)
    }
}

impl Members {
    /// Open member `name`: a reader of its bytes, and its size.
    pub fn open(&self, name: &str) -> Result<(Box<dyn Read + Send + '_>, u64), MemberError> {
        match self {
            Members::Tar(index) => {
                let (offset, size) = index.find(name)?;
                Ok((
                    Box::new(MemberReader {
                        file: &index.file,
                        name: name.to_string(),
                        offset,
                        remaining: size,
                        size,
                    }),
                    size,
                ))
            }
            Members::Dir(root) => {
                let path = root.join(normalize(name)?);
                let read_err = |source| MemberError::Read {
                    name: name.to_string(),
                    source,
                };
                let file = match File::open(&path) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(MemberError::NotFound {
                            name: name.to_string(),
                        })
                    }
                    r => r.map_err(read_err)?,
                };
                let md = file.metadata().map_err(read_err)?;
                if !md.is_file() {
                    return Err(MemberError::NotFound {
                        name: name.to_string(),
                    });
                }
                Ok((Box::new(io::BufReader::new(file)), md.len()))
            }
        }
    }

    /// Whether `name` is a readable file.
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Members::Tar(index) => index.find(name).is_ok(),
            Members::Dir(root) => normalize(name).is_ok_and(|n| root.join(n).is_file()),
        }
    }

    /// The whole of a small member (a manifest, index or config), refused
    /// when larger than `limit`.
    pub fn read_document(&self, name: &str, limit: u64) -> Result<Vec<u8>, MemberError> {
        let (mut reader, size) = self.open(name)?;
        if size > limit {
            return Err(MemberError::TooLarge {
                name: name.to_string(),
                size,
                limit,
            });
        }
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        reader
            .read_to_end(&mut out)
            .map_err(|source| read_error(name, source))?;
        Ok(out)
    }

    /// A description for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Members::Tar(_) => "archive",
            Members::Dir(_) => "directory",
        }
    }
}

/// A read failure of member `name`, keeping a truncation's own message.
pub fn read_error(name: &str, source: io::Error) -> MemberError {
    match source
        .get_ref()
        .and_then(|e| e.downcast_ref::<MemberError>())
    {
        Some(MemberError::Truncated { name, size }) => MemberError::Truncated {
            name: name.clone(),
            size: *size,
        },
        _ => MemberError::Read {
            name: name.to_string(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar with raw names (the tar crate's builder refuses `..`).
    fn raw_tar(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> File {
        let mut out = Vec::new();
        for (name, kind, data, link) in entries {
            let mut h = tar::Header::new_old();
            h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            if let Some(l) = link {
                h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
            }
            h.set_cksum();
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0u8; 1024]);
        let mut f = tempfile::tempfile().expect("tempfile");
        std::io::Write::write_all(&mut f, &out).expect("write");
        f
    }

    fn read(m: &Members, name: &str) -> Result<Vec<u8>, MemberError> {
        m.read_document(name, 1 << 20)
    }

    #[test]
    fn names_are_normalised_and_escapes_refused() {
        assert_eq!(normalize("./a//b/").expect("ok"), "a/b");
        for bad in ["../x", "a/../../x", "/etc/passwd", "a/.."] {
            assert!(
                matches!(normalize(bad), Err(MemberError::Escape { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_files_and_follows_links_inside_only() {
        use tar::EntryType::{Directory, Link, Regular, Symlink};
        let f = raw_tar(&[
            ("./blobs/", Directory, b"", None),
            ("./blobs/a.tar", Regular, b"hello", None),
            ("id/layer.tar", Symlink, b"", Some("../blobs/a.tar")),
            ("hard", Link, b"", Some("blobs/a.tar")),
            ("out", Symlink, b"", Some("../../etc/passwd")),
            ("loop", Symlink, b"", Some("loop")),
        ]);
        let m = Members::Tar(TarIndex::new(f).expect("index"));
        assert_eq!(read(&m, "blobs/a.tar").expect("file"), b"hello");
        assert_eq!(read(&m, "id/layer.tar").expect("symlink"), b"hello");
        assert_eq!(read(&m, "hard").expect("hard link"), b"hello");
        assert!(matches!(read(&m, "out"), Err(MemberError::BadLink { .. })));
        assert!(matches!(read(&m, "loop"), Err(MemberError::BadLink { .. })));
        assert!(matches!(
            read(&m, "nope"),
            Err(MemberError::NotFound { .. })
        ));
        assert!(matches!(
            read(&m, "blobs"),
            Err(MemberError::NotFound { .. })
        ));
        assert!(matches!(
            m.read_document("blobs/a.tar", 2),
            Err(MemberError::TooLarge { .. })
        ));
    }

    #[test]
    fn member_names_leaving_the_archive_make_it_malformed() {
        let f = raw_tar(&[("../../evil", tar::EntryType::Regular, b"x", None)]);
        let err = TarIndex::new(f).expect_err("escape");
        assert!(matches!(err, MemberError::Escape { .. }), "{err}");
    }

    #[test]
    fn truncated_members_are_detected() {
        let f = raw_tar(&[("big", tar::EntryType::Regular, &[7u8; 4096], None)]);
        f.set_len(512 + 1000).expect("truncate");
        let err = TarIndex::new(f).expect_err("truncated");
        assert!(matches!(err, MemberError::Truncated { .. }), "{err}");
    }
}
