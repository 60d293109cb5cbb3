//! Writing a file tree as a tar stream, the reverse of [`super::unpack`]:
//! every file is opened relative to its directory's descriptor without
//! following symlinks (a symlink is stored as one, never read through), so
//! a tree that is not ours to trust (a container's root file system, while
//! its processes run) can only ever give away what lies inside it. Used by
//! `skiff cp` (out of a container, and into one from the host) and
//! `skiff export`.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use nix::fcntl::OFlag;
use nix::sys::stat::FileStat;

use crate::idmap::IdMappings;
use crate::sys::fs;

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("reading {path:?}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing the archive: {source}")]
    Write {
        #[source]
        source: io::Error,
    },
}

/// How to pack.
#[derive(Debug, Clone, Default)]
pub struct PackOptions<'a> {
    /// The ids on disk are these mappings' outside ids: the archive gets
    /// the inside ones (a container's view). Ids outside the mappings
    /// become 65534 (nobody), as the kernel shows them.
    pub id_mappings: Option<&'a IdMappings>,
}

/// What to put first in the archive.
#[derive(Debug, Clone, Copy)]
pub enum Top<'a> {
    /// The entry itself, under this name (a directory with its contents).
    Named(&'a OsStr),
    /// Only the entries below it (a directory's contents, `dir/.`), at the
    /// top of the archive.
    Contents,
}

/// Append the entry `name` of the directory `dir` (not followed if it is a
/// symlink) to `builder`, as `top` says. Call `builder.finish()` after.
pub fn pack_entry<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: BorrowedFd<'_>,
    name: &OsStr,
    top: Top<'_>,
    opts: &PackOptions<'_>,
) -> Result<(), PackError> {
    let mut p = Packer {
        builder,
        opts,
        links: HashMap::new(),
    };
    match top {
        Top::Named(as_name) => p.entry(dir, name, &mut as_name.as_bytes().to_vec()),
        Top::Contents => {
            let fd = fs::open_dir_nofollow(dir, name).map_err(|source| PackError::Read {
                path: PathBuf::from(name),
                source,
            })?;
            p.children(fd, &mut Vec::new())
        }
    }
}

struct Packer<'b, 'o, W: Write> {
    builder: &'b mut tar::Builder<W>,
    opts: &'o PackOptions<'o>,
    /// (device, inode) of files with several links -> the name they were
    /// first stored under, so later names become hardlinks.
    links: HashMap<(u64, u64), Vec<u8>>,
}

fn read_err(path: &[u8]) -> impl FnOnce(io::Error) -> PackError + '_ {
    move |source| PackError::Read {
        path: PathBuf::from(OsStr::from_bytes(path)),
        source,
    }
}

fn write_err(source: io::Error) -> PackError {
    PackError::Write { source }
}

impl<W: Write> Packer<'_, '_, W> {
    /// The entries of the directory `fd`, named `prefix/child`.
    fn children(&mut self, fd: OwnedFd, prefix: &mut Vec<u8>) -> Result<(), PackError> {
        let dup = fd.try_clone().map_err(read_err(prefix))?;
        let mut names: Vec<OsString> = fs::read_dir(dup)
            .map_err(read_err(prefix))?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        // Sorted, so the same tree gives the same archive.
        names.sort();
        for n in names {
            let len = prefix.len();
            if !prefix.is_empty() {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(n.as_bytes());
            let res = self.entry(fd.as_fd(), &n, prefix);
            prefix.truncate(len);
            res?;
        }
        Ok(())
    }

    /// One entry (`name` in `dir`) stored as `path`, and below it if it is
    /// a directory.
    fn entry(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        path: &mut Vec<u8>,
    ) -> Result<(), PackError> {
        let st = fs::fstatat_nofollow(dir, name).map_err(read_err(path))?;
        let kind = st.st_mode & libc::S_IFMT;
        let mut h = self.header(&st);
        match kind {
            libc::S_IFDIR => {
                let fd = fs::open_dir_nofollow(dir, name).map_err(read_err(path))?;
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                let mut named = path.clone();
                named.push(b'/');
                self.builder
                    .append_data(&mut h, OsStr::from_bytes(&named), io::empty())
                    .map_err(write_err)?;
                self.children(fd, path)
            }
            libc::S_IFREG => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        h.set_entry_type(tar::EntryType::Link);
                        h.set_size(0);
                        let first = first.clone();
                        return self
                            .builder
                            .append_link(&mut h, OsStr::from_bytes(path), OsStr::from_bytes(&first))
                            .map_err(write_err);
                    }
                    self.links.insert(key, path.clone());
                }
                // O_NOFOLLOW: replaced by a symlink since the stat, the open
                // fails rather than reading where it points.
                let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK;
                let fd = fs::openat(dir, name, flags, 0).map_err(read_err(path))?;
                let st = nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(&fd))
                    .map_err(|e| read_err(path)(e.into()))?;
                if st.st_mode & libc::S_IFMT != libc::S_IFREG {
                    return Err(read_err(path)(io::Error::other("changed while being read")));
                }
                let size = u64::try_from(st.st_size).unwrap_or(0);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(size);
                // Exactly `size` bytes, whatever the file does meanwhile.
                let mut data = Exact {
                    file: File::from(fd),
                    left: size,
                    eof: false,
                    failed: None,
                };
                let res = self
                    .builder
                    .append_data(&mut h, OsStr::from_bytes(path), &mut data);
                match data.failed.take() {
                    Some(e) => Err(read_err(path)(e)),
                    None => res.map_err(write_err),
                }
            }
            libc::S_IFLNK => {
                let target =
                    nix::fcntl::readlinkat(Some(std::os::fd::AsRawFd::as_raw_fd(&dir)), name)
                        .map_err(|e| read_err(path)(e.into()))?;
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                self.builder
                    .append_link(&mut h, OsStr::from_bytes(path), &target)
                    .map_err(write_err)
            }
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO => {
                h.set_entry_type(match kind {
                    libc::S_IFCHR => tar::EntryType::Char,
                    libc::S_IFBLK => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                });
                h.set_size(0);
                if kind != libc::S_IFIFO {
                    let (major, minor) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
                    h.set_device_major(major).map_err(write_err)?;
                    h.set_device_minor(minor).map_err(write_err)?;
                }
                self.builder
                    .append_data(&mut h, OsStr::from_bytes(path), io::empty())
                    .map_err(write_err)
            }
            // Sockets have no place in an archive.
            _ => Ok(()),
        }
    }

    fn header(&self, st: &FileStat) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_mode(st.st_mode & 0o7777);
        let (uid, gid) = match self.opts.id_mappings {
            Some(m) => (
                crate::idmap::to_container(&m.uids, st.st_uid).unwrap_or(NOBODY),
                crate::idmap::to_container(&m.gids, st.st_gid).unwrap_or(NOBODY),
            ),
            None => (st.st_uid, st.st_gid),
        };
        h.set_uid(u64::from(uid));
        h.set_gid(u64::from(gid));
        h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
        h
    }
}

/// The overflow id: what an unmapped owner shows as inside a namespace.
const NOBODY: u32 = 65534;

/// A reader of exactly `left` bytes of a file: cut off if it grew, padded
/// with zeros if it shrank while being read (the header is written first).
/// A read error is kept in `failed`, to be told from a write error.
struct Exact {
    file: File,
    left: u64,
    eof: bool,
    failed: Option<io::Error>,
}

impl Read for Exact {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || out.is_empty() {
            return Ok(0);
        }
        let want = out
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = if self.eof {
            0
        } else {
            match self.file.read(&mut out[..want]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return self.read(out),
                Err(e) => {
                    let copy = io::Error::new(e.kind(), e.to_string());
                    self.failed = Some(e);
                    return Err(copy);
                }
            }
        };
        let n = if n == 0 {
            self.eof = true;
            out[..want].fill(0);
            want
        } else {
            n
        };
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn packs_without_following_symlinks() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let outside = tmp.path().join("outside");
        std::fs::write(&outside, b"host secret").expect("write");
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("etc/sub")).expect("mkdir");
        std::fs::write(root.join("etc/a"), b"aaa").expect("write");
        std::fs::hard_link(root.join("etc/a"), root.join("etc/b")).expect("link");
        symlink(&outside, root.join("etc/evil")).expect("symlink");
        symlink("/", root.join("up")).expect("symlink");

        let mut b = tar::Builder::new(Vec::new());
        let top = fs::open_dir(&root).expect("open");
        pack_entry(
            &mut b,
            top.as_fd(),
            OsStr::new("."),
            Top::Contents,
            &PackOptions::default(),
        )
        .expect("pack");
        let tar = b.into_inner().expect("finish");
        let text = String::from_utf8_lossy(&tar);
        assert!(!text.contains("host secret"), "a symlink was followed");
        let mut ar = tar::Archive::new(&tar[..]);
        let mut seen = Vec::new();
        for e in ar.entries().expect("entries") {
            let e = e.expect("entry");
            let p = e.path().expect("path").display().to_string();
            let kind = e.header().entry_type();
            seen.push(format!("{p} {}", char::from(kind.as_byte())));
        }
        assert_eq!(
            seen,
            [
                "etc/ 5",
                "etc/a 0",
                "etc/b 1",
                "etc/evil 2",
                "etc/sub/ 5",
                "up 2"
            ]
        );

        // One entry under another name.
        let mut b = tar::Builder::new(Vec::new());
        let dir = fs::open_dir(&root.join("etc")).expect("open");
        pack_entry(
            &mut b,
            dir.as_fd(),
            OsStr::new("a"),
            Top::Named(OsStr::new("renamed")),
            &PackOptions::default(),
        )
        .expect("pack");
        let tar = b.into_inner().expect("finish");
        let mut ar = tar::Archive::new(&tar[..]);
        let names: Vec<String> = ar
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["renamed"]);
    }
}
