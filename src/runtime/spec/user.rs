//! Who the container process runs as: `--user` (`name`, `uid`, `uid:gid`,
//! `name:group`, or empty for the image's `User`, else root) resolved
//! against the container's own /etc/passwd and /etc/group, with the user's
//! supplementary groups and home directory.
//!
//! The files belong to the image, so they are untrusted: symlinks in them
//! are resolved inside the root file system (as if it were `/`), never on
//! the host, and only a regular file is read. The rules are runc's and
//! podman's (`GetExecUser`): a numeric user is always a uid, found in passwd
//! or not; a name must be found; supplementary groups come from /etc/group
//! only when no group is given.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use crate::sys::fs::{fstatat_nofollow, open_beneath, open_dir};

/// The largest passwd or group file read; beyond, the image is broken.
const MAX_FILE: u64 = 16 << 20;

/// The highest id runc accepts (ids stay positive on 32-bit systems).
const MAX_ID: u32 = (1 << 31) - 1;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("unable to find user {name}: no matching entries in passwd file")]
    UserNotFound { name: String },
    #[error("unable to find group {name}: no matching entries in group file")]
    GroupNotFound { name: String },
    #[error("uids and gids must be in range 0-{MAX_ID}: {value}")]
    OutOfRange { value: String },
    #[error("opening the container's root file system {path}: {source}")]
    OpenRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading {file} of the container: {source}")]
    Read {
        file: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{file} of the container is not a regular file")]
    NotRegular { file: &'static str },
    #[error("{file} of the container is larger than {MAX_FILE} bytes")]
    TooLarge { file: &'static str },
}

/// The resolved identity of the container process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups: the user's from /etc/group, then `--group-add`.
    pub additional_gids: Vec<u32>,
    /// HOME for the environment default ("/" when passwd does not say).
    pub home: String,
}

impl ProcessUser {
    pub fn root() -> ProcessUser {
        ProcessUser {
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            home: "/root".to_string(),
        }
    }
}

/// One line of /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

/// One line of /etc/group.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolve `spec` (`--user`; when empty, `image_user`) in the root file
/// system at `rootfs`.
pub fn resolve(rootfs: &Path, spec: &str, image_user: &str) -> Result<ProcessUser, UserError> {
    let root = open_dir(rootfs).map_err(|source| UserError::OpenRoot {
        path: rootfs.to_path_buf(),
        source,
    })?;
    let passwd = read_in_root(root.as_fd(), "etc/passwd", "/etc/passwd")?;
    let group = read_in_root(root.as_fd(), "etc/group", "/etc/group")?;
    let spec = if spec.is_empty() { image_user } else { spec };
    resolve_in(spec, passwd.as_deref(), group.as_deref())
}

/// The texts of /etc/passwd and /etc/group of the root file system at
/// `rootfs` (`None`: a file does not exist), read as the container would.
pub fn account_files(rootfs: &Path) -> Result<(Option<String>, Option<String>), UserError> {
    let root = open_dir(rootfs).map_err(|source| UserError::OpenRoot {
        path: rootfs.to_path_buf(),
        source,
    })?;
    Ok((
        read_in_root(root.as_fd(), "etc/passwd", "/etc/passwd")?,
        read_in_root(root.as_fd(), "etc/group", "/etc/group")?,
    ))
}

/// Whether a passwd text has an entry for `uid`.
pub fn passwd_has_uid(passwd: &str, uid: u32) -> bool {
    parse_passwd(passwd).iter().any(|u| u.uid == uid)
}

/// Whether a group text has an entry for `gid`.
pub fn group_has_gid(group: &str, gid: u32) -> bool {
    parse_group(group).iter().any(|g| g.gid == gid)
}

/// The largest uid in a passwd text and gid in a group text, ignoring
/// `except` (podman sizes auto namespaces without "nobody").
pub fn largest_account_ids(passwd: &str, group: &str, except: u32) -> (u32, u32) {
    let uid = parse_passwd(passwd)
        .iter()
        .map(|u| u.uid)
        .filter(|&u| u != except)
        .max()
        .unwrap_or(0);
    let gid = parse_group(group)
        .iter()
        .map(|g| g.gid)
        .filter(|&g| g != except)
        .max()
        .unwrap_or(0);
    (uid, gid)
}

/// `--group-add` entries (names or ids) as gids, names looked up in the
/// group text.
pub fn group_ids(group: Option<&str>, names: &[String]) -> Result<Vec<u32>, UserError> {
    let groups: Vec<GroupEntry> = group.map(parse_group).unwrap_or_default();
    names
        .iter()
        .map(|n| match parse_id(n) {
            Some(id) => Ok(id),
            None if is_number(n) => Err(UserError::OutOfRange { value: n.clone() }),
            None => groups
                .iter()
                .find(|g| &g.name == n)
                .map(|g| g.gid)
                .ok_or_else(|| UserError::GroupNotFound { name: n.clone() }),
        })
        .collect()
}

/// Resolve `spec` against the text of passwd and group files (`None`: the
/// file does not exist).
fn resolve_in(
    spec: &str,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<ProcessUser, UserError> {
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, g),
        None => (spec, ""),
    };
    let users: Vec<PasswdEntry> = passwd.map(parse_passwd).unwrap_or_default();
    let groups: Vec<GroupEntry> = group.map(parse_group).unwrap_or_default();
    let user_num = parse_id(user_arg);

    let mut out = ProcessUser {
        uid: 0,
        gid: 0,
        additional_gids: Vec::new(),
        home: "/".to_string(),
    };
    let found = users.iter().find(|u| match (user_arg, user_num) {
        ("", _) => u.uid == 0,
        (_, Some(n)) => u.uid == n,
        (name, None) => u.name == name,
    });
    match (found, user_num) {
        (Some(u), _) => {
            out.uid = u.uid;
            out.gid = u.gid;
            if !u.home.is_empty() {
                out.home = u.home.clone();
            }
        }
        (None, _) if user_arg.is_empty() => {}
        (None, Some(n)) => out.uid = n,
        (None, None) if is_number(user_arg) => {
            return Err(UserError::OutOfRange {
                value: user_arg.to_string(),
            })
        }
        (None, None) => {
            return Err(UserError::UserNotFound {
                name: user_arg.to_string(),
            })
        }
    }

    if !group_arg.is_empty() {
        let group_num = parse_id(group_arg);
        let found = groups.iter().find(|g| match group_num {
            Some(n) => g.gid == n,
            None => g.name == group_arg,
        });
        out.gid = match (found, group_num) {
            (Some(g), _) => g.gid,
            (None, Some(n)) => n,
            (None, None) if is_number(group_arg) => {
                return Err(UserError::OutOfRange {
                    value: group_arg.to_string(),
                })
            }
            (None, None) => {
                return Err(UserError::GroupNotFound {
                    name: group_arg.to_string(),
                })
            }
        };
    } else if let Some(name) = found.map(|u| u.name.as_str()) {
        out.additional_gids = groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
            .map(|g| g.gid)
            .collect();
    }
    Ok(out)
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_id(s: &str) -> Option<u32> {
    if !is_number(s) {
        return None;
    }
    s.parse::<u32>().ok().filter(|n| *n <= MAX_ID)
}

/// Fields of a colon-separated line; numeric fields that do not parse read
/// as 0, as runc reads misbehaving files.
fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("");
            PasswdEntry {
                name: field(0).to_string(),
                uid: field(2).parse().unwrap_or(0),
                gid: field(3).parse().unwrap_or(0),
                home: field(5).to_string(),
            }
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("");
            GroupEntry {
                name: field(0).to_string(),
                gid: field(2).parse().unwrap_or(0),
                members: field(3)
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            }
        })
        .collect()
}

/// Read the file at `path` (relative) inside the root file system `root`,
/// resolving symlinks as the container would see them. `None` when it does
/// not exist.
fn read_in_root(
    root: BorrowedFd<'_>,
    path: &str,
    file: &'static str,
) -> Result<Option<String>, UserError> {
    let read_err = |source| UserError::Read { file, source };
    let Some(resolved) =
        crate::sys::inroot::resolve_existing(root, OsStr::new(path)).map_err(read_err)?
    else {
        return Ok(None);
    };
    let st = fstatat_nofollow(root, &resolved).map_err(read_err)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(UserError::NotRegular { file });
    }
    // O_NONBLOCK: a FIFO swapped in after the check must not hang the open;
    // the open itself follows no symlink and cannot leave the root.
    let fd: OwnedFd = open_beneath(
        root,
        &resolved,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY,
    )
    .map_err(read_err)?;
    let st = nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(&fd))
        .map_err(|e| read_err(io::Error::from(e)))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(UserError::NotRegular { file });
    }
    let mut buf = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(read_err)?;
    if buf.len() as u64 > MAX_FILE {
        return Err(UserError::TooLarge { file });
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:100::/home/bob:/bin/sh
";
    const GROUP: &str = "\
root:x:0:
wheel:x:10:alice,bob
users:x:100:
audio:x:29:alice
alice:x:1000:
";

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("etc")).expect("etc");
        fs::write(dir.path().join("etc/passwd"), PASSWD).expect("passwd");
        fs::write(dir.path().join("etc/group"), GROUP).expect("group");
        dir
    }

    fn user(uid: u32, gid: u32, groups: &[u32], home: &str) -> ProcessUser {
        ProcessUser {
            uid,
            gid,
            additional_gids: groups.to_vec(),
            home: home.to_string(),
        }
    }

    #[test]
    fn forms_of_user() {
        let dir = rootfs();
        let r = |spec: &str| resolve(dir.path(), spec, "");
        assert_eq!(r("").expect("root"), user(0, 0, &[], "/root"));
        assert_eq!(
            r("alice").expect("alice"),
            user(1000, 1000, &[10, 29], "/home/alice")
        );
        assert_eq!(r("1001").expect("uid"), user(1001, 100, &[10], "/home/bob"));
        // A uid passwd does not know: gid 0, home /.
        assert_eq!(r("4242").expect("unknown uid"), user(4242, 0, &[], "/"));
        // An explicit group: no supplementary groups.
        assert_eq!(
            r("alice:users").expect("name:group"),
            user(1000, 100, &[], "/home/alice")
        );
        assert_eq!(
            r("1000:555").expect("uid:gid"),
            user(1000, 555, &[], "/home/alice")
        );
        assert_eq!(r("4242:4343").expect("ids"), user(4242, 4343, &[], "/"));
        // The image's user when --user is empty.
        assert_eq!(
            resolve(dir.path(), "", "bob").expect("image user"),
            user(1001, 100, &[10], "/home/bob")
        );
    }

    #[test]
    fn errors_as_podman() {
        let dir = rootfs();
        let err = resolve(dir.path(), "mallory", "").expect_err("no such user");
        assert_eq!(
            err.to_string(),
            "unable to find user mallory: no matching entries in passwd file"
        );
        let err = resolve(dir.path(), "alice:nogroup", "").expect_err("no such group");
        assert_eq!(
            err.to_string(),
            "unable to find group nogroup: no matching entries in group file"
        );
        assert!(matches!(
            resolve(dir.path(), "99999999999", ""),
            Err(UserError::OutOfRange { .. })
        ));
    }

    #[test]
    fn missing_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            resolve(dir.path(), "", "").expect("root"),
            user(0, 0, &[], "/")
        );
        assert_eq!(
            resolve(dir.path(), "7:8", "").expect("ids"),
            user(7, 8, &[], "/")
        );
        assert!(matches!(
            resolve(dir.path(), "alice", ""),
            Err(UserError::UserNotFound { .. })
        ));
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        // A passwd file on the "host", outside the root file system.
        let host = tempfile::tempdir().expect("host");
        let secret = host.path().join("shadow-like");
        fs::write(&secret, "evil:x:666:666::/evil:/bin/sh\n").expect("secret");

        let dir = tempfile::tempdir().expect("rootfs");
        fs::create_dir_all(dir.path().join("etc")).expect("etc");
        // Absolute: resolved inside the root, where it does not exist.
        symlink(&secret, dir.path().join("etc/passwd")).expect("symlink");
        let err = resolve(dir.path(), "evil", "").expect_err("must not read the host file");
        assert!(matches!(err, UserError::UserNotFound { .. }), "{err}");

        // Relative with many `..`: clamped at the root.
        let up = format!("../../../../../../../..{}", secret.display());
        fs::remove_file(dir.path().join("etc/passwd")).expect("rm");
        symlink(&up, dir.path().join("etc/passwd")).expect("symlink");
        let err = resolve(dir.path(), "evil", "").expect_err("must not read the host file");
        assert!(matches!(err, UserError::UserNotFound { .. }), "{err}");

        // Through a symlinked directory pointing at the host's /etc-like dir.
        fs::remove_file(dir.path().join("etc/passwd")).expect("rm");
        fs::remove_dir(dir.path().join("etc")).expect("rmdir");
        symlink(host.path(), dir.path().join("etc")).expect("symlink dir");
        fs::rename(&secret, host.path().join("passwd")).expect("mv");
        let err = resolve(dir.path(), "evil", "").expect_err("must not read the host file");
        assert!(matches!(err, UserError::UserNotFound { .. }), "{err}");
    }

    #[test]
    fn symlinks_inside_the_root_are_followed() {
        let dir = tempfile::tempdir().expect("rootfs");
        fs::create_dir_all(dir.path().join("etc")).expect("etc");
        fs::create_dir_all(dir.path().join("usr/lib")).expect("usr/lib");
        fs::write(dir.path().join("usr/lib/passwd"), PASSWD).expect("passwd");
        // Absolute target, meant relative to the container's root.
        symlink("/usr/lib/passwd", dir.path().join("etc/passwd")).expect("symlink");
        fs::write(dir.path().join("usr/lib/group"), GROUP).expect("group");
        symlink("../usr/./lib/group", dir.path().join("etc/group")).expect("symlink");
        assert_eq!(
            resolve(dir.path(), "alice", "").expect("alice"),
            user(1000, 1000, &[10, 29], "/home/alice")
        );
    }

    #[test]
    fn loops_and_odd_files() {
        let dir = tempfile::tempdir().expect("rootfs");
        fs::create_dir_all(dir.path().join("etc")).expect("etc");
        symlink("passwd", dir.path().join("etc/passwd")).expect("loop");
        assert!(matches!(
            resolve(dir.path(), "alice", ""),
            Err(UserError::Read { .. })
        ));
        fs::remove_file(dir.path().join("etc/passwd")).expect("rm");
        fs::create_dir(dir.path().join("etc/passwd")).expect("dir");
        assert!(matches!(
            resolve(dir.path(), "alice", ""),
            Err(UserError::NotRegular { .. })
        ));
        fs::remove_dir(dir.path().join("etc/passwd")).expect("rm");
        nix::unistd::mkfifo(
            &dir.path().join("etc/passwd"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .expect("fifo");
        assert!(matches!(
            resolve(dir.path(), "alice", ""),
            Err(UserError::NotRegular { .. })
        ));
    }

    #[test]
    fn comments_and_short_lines() {
        let u = resolve_in("carol", Some("# comment\n\ncarol:x:5:6\n"), None).expect("carol");
        assert_eq!(u, user(5, 6, &[], "/"));
    }
}
