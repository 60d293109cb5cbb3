//! Layers come from registries and image archives: unpacking any tar
//! stream never panics, and never creates, changes or deletes anything
//! outside the destination directory.
//!
//! The destination sits two levels down in a "jail" directory that also
//! holds files, directories and symlinks which must survive untouched.
//! The destination starts as a parent layer would leave it (whiteouts are
//! applied to it) and includes symlinks that point out of it, into the
//! jail, by relative and by absolute paths: an unpacker that followed one
//! of them would change the jail.

#![no_main]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skiff::storage::unpack::{unpack_layer, UnpackOptions};

fuzz_target!(|data: &[u8]| {
    let stream = with_valid_checksums(data);

    let jail = tempfile::tempdir().expect("create the jail directory");
    let jail = jail.path();
    let dest = jail.join("level").join("dest");
    fs::create_dir_all(&dest).expect("create the destination");
    plant_bait(jail, &dest);

    let before = snapshot(jail, &dest);
    let _ = unpack_layer(stream.as_slice(), &dest, &UnpackOptions::default());
    let after = snapshot(jail, &dest);
    if before != after {
        let changed: Vec<_> = after
            .iter()
            .filter(|(path, what)| before.get(*path) != Some(*what))
            .map(|(path, _)| path.as_str())
            .chain(
                before
                    .keys()
                    .filter(|path| !after.contains_key(*path))
                    .map(String::as_str),
            )
            .collect();
        panic!("unpacking changed the jail outside the destination: {changed:?}");
    }

    // The archive may leave directories without owner permissions; make
    // them removable so the jail can be deleted when not running as root.
    open_up(&dest);
});

/// The tar stream for `data`: the bytes themselves, with the checksum of
/// each header on the chain of entries recomputed, so that mutations of
/// header fields reach the unpacker instead of failing the checksum test.
fn with_valid_checksums(data: &[u8]) -> Vec<u8> {
    let mut stream = data.to_vec();
    let mut offset = 0usize;
    while let Some(block) = stream.get_mut(offset..offset + 512) {
        if block.iter().all(|&b| b == 0) {
            offset += 512;
            continue;
        }
        let mut header = tar::Header::new_old();
        header.as_mut_bytes().copy_from_slice(block);
        header.set_cksum();
        block.copy_from_slice(header.as_bytes());
        let size = header.entry_size().unwrap_or(0);
        let padded = size.div_ceil(512).saturating_mul(512);
        let Some(next) = usize::try_from(padded)
            .ok()
            .and_then(|p| offset.checked_add(512)?.checked_add(p))
        else {
            break;
        };
        offset = next;
    }
    stream
}

/// Files, directories and symlinks in the jail that must not change, and a
/// parent layer in `dest` whose symlinks lead to them.
fn plant_bait(jail: &Path, dest: &Path) {
    let level = jail.join("level");
    for dir in [jail, level.as_path()] {
        fs::write(dir.join("secret"), b"do not touch").expect("write bait file");
        fs::create_dir(dir.join("box")).expect("create bait directory");
        fs::write(dir.join("box").join("inner"), b"inner").expect("write bait file");
        symlink("secret", dir.join("alias")).expect("create bait symlink");
    }

    fs::create_dir_all(dest.join("usr/lib")).expect("create lower directory");
    fs::write(dest.join("usr/lib/libc.so"), b"lower").expect("write lower file");
    fs::write(dest.join("etc"), b"lower").expect("write lower file");
    let links: [(&str, String); 6] = [
        ("up", "..".into()),
        ("top", "../..".into()),
        ("box", "../../box".into()),
        ("secret", "../../secret".into()),
        ("abs", jail.join("box").display().to_string()),
        (
            "usr/lib/abs",
            jail.join("level/secret").display().to_string(),
        ),
    ];
    for (name, target) in links {
        symlink(target, dest.join(name)).expect("create lower symlink");
    }
}

/// Everything in the jail except the destination, as path -> description
/// (kind, mode, size, times, content or link target).
fn snapshot(jail: &Path, dest: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(jail, jail, dest, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, skip: &Path, out: &mut BTreeMap<String, String>) {
    let dir_meta = fs::symlink_metadata(dir).expect("stat a jail directory");
    out.insert(rel(root, dir), describe(&dir_meta, String::new()));
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("list a jail directory")
        .map(|e| e.expect("read a jail directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path == skip {
            continue;
        }
        let meta = fs::symlink_metadata(&path).expect("stat a jail entry");
        let kind = meta.file_type();
        if kind.is_dir() {
            walk(root, &path, skip, out);
        } else if kind.is_symlink() {
            let target = fs::read_link(&path).expect("read a jail symlink");
            out.insert(
                rel(root, &path),
                describe(&meta, target.display().to_string()),
            );
        } else {
            let content = if kind.is_file() {
                String::from_utf8_lossy(&fs::read(&path).expect("read a jail file")).into_owned()
            } else {
                String::new()
            };
            out.insert(rel(root, &path), describe(&meta, content));
        }
    }
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .expect("walked paths are in the jail")
        .display()
        .to_string()
}

fn describe(meta: &fs::Metadata, content: String) -> String {
    format!(
        "mode={:o} uid={} gid={} size={} nlink={} mtime={}.{} ctime={}.{} {content:?}",
        meta.mode(),
        meta.uid(),
        meta.gid(),
        meta.size(),
        meta.nlink(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
    )
}

/// Give every directory under `dir` (not following symlinks) owner
/// read, write and search permission.
fn open_up(dir: &Path) {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(meta.mode() | 0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            open_up(&entry.path());
        }
    }
}
