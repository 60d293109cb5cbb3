//! POSIX access ACLs, as the kernel stores them in the
//! `system.posix_acl_access` attribute (see acl(5)): only what skiff needs,
//! granting one more user search permission on a directory.

use std::io;
use std::path::Path;

const XATTR: &str = "system.posix_acl_access";
const VERSION: u32 = 2;
const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;
const UNDEFINED_ID: u32 = u32::MAX;
const EXECUTE: u16 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    tag: u16,
    perm: u16,
    id: u32,
}

fn decode(bytes: &[u8]) -> Option<Vec<Entry>> {
    let (head, rest) = bytes.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*head) != VERSION || rest.len() % 8 != 0 {
        return None;
    }
    Some(
        rest.chunks_exact(8)
            .map(|c| Entry {
                tag: u16::from_le_bytes([c[0], c[1]]),
                perm: u16::from_le_bytes([c[2], c[3]]),
                id: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect(),
    )
}

fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = VERSION.to_le_bytes().to_vec();
    for e in entries {
        out.extend(e.tag.to_le_bytes());
        out.extend(e.perm.to_le_bytes());
        out.extend(e.id.to_le_bytes());
    }
    out
}

/// The minimal ACL a mode is equivalent to.
fn from_mode(mode: u32) -> Vec<Entry> {
    let perm = |shift: u32| ((mode >> shift) & 7) as u16;
    vec![
        Entry {
            tag: USER_OBJ,
            perm: perm(6),
            id: UNDEFINED_ID,
        },
        Entry {
            tag: GROUP_OBJ,
            perm: perm(3),
            id: UNDEFINED_ID,
        },
        Entry {
            tag: OTHER,
            perm: perm(0),
            id: UNDEFINED_ID,
        },
    ]
}

/// `entries` with user `uid` given search permission, the mask widened to
/// let it through, in the order the kernel requires.
fn with_search(mut entries: Vec<Entry>, uid: u32) -> Vec<Entry> {
    match entries.iter_mut().find(|e| e.tag == USER && e.id == uid) {
        Some(e) => e.perm |= EXECUTE,
        None => entries.push(Entry {
            tag: USER,
            perm: EXECUTE,
            id: uid,
        }),
    }
    let group_class: u16 = entries
        .iter()
        .filter(|e| matches!(e.tag, USER | GROUP_OBJ | GROUP))
        .fold(0, |acc, e| acc | e.perm);
    match entries.iter_mut().find(|e| e.tag == MASK) {
        Some(m) => m.perm |= EXECUTE,
        None => entries.push(Entry {
            tag: MASK,
            perm: group_class,
            id: UNDEFINED_ID,
        }),
    }
    entries.sort_by_key(|e| (e.tag, e.id));
    entries
}

/// Whether the directory's ACL already lets `uid` search it.
fn grants_search(entries: &[Entry], uid: u32) -> bool {
    let mask = entries.iter().find(|e| e.tag == MASK).map_or(7, |m| m.perm);
    entries
        .iter()
        .any(|e| e.tag == USER && e.id == uid && e.perm & mask & EXECUTE != 0)
}

/// Let user `uid` search (not list) the directory at `dir`, which this
/// process owns, by an ACL entry; nothing changes when it already may.
pub fn grant_search(dir: &Path, uid: u32, mode: u32) -> io::Result<()> {
    let current = match ::xattr::get(dir, XATTR)? {
        Some(bytes) => decode(&bytes)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable access ACL"))?,
        None => from_mode(mode),
    };
    if grants_search(&current, uid) {
        return Ok(());
    }
    ::xattr::set(dir, XATTR, &encode(&with_search(current, uid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_is_granted_through_the_mask() {
        let acl = with_search(from_mode(0o700), 100_000);
        assert!(grants_search(&acl, 100_000));
        assert!(!grants_search(&acl, 100_001));
        let tags: Vec<u16> = acl.iter().map(|e| e.tag).collect();
        assert_eq!(tags, [USER_OBJ, USER, GROUP_OBJ, MASK, OTHER]);
        // The owning group gains nothing: its entry stays empty.
        assert_eq!(acl[2].perm, 0);
        assert_eq!(decode(&encode(&acl)), Some(acl.clone()));
        // Granting twice changes nothing.
        assert_eq!(with_search(acl.clone(), 100_000), acl);
    }

    #[test]
    fn acls_apply_on_a_directory_of_ours() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("d");
        std::fs::create_dir(&dir).expect("mkdir");
        match grant_search(&dir, 4242, 0o700) {
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                println!("skipped: no ACLs on the temporary file system");
                return;
            }
            r => r.expect("grant"),
        }
        let acl = decode(&::xattr::get(&dir, XATTR).expect("get").expect("set")).expect("decode");
        assert!(grants_search(&acl, 4242));
    }
}
