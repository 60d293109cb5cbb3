use std::fs;
use std::io::Read;
use std::path::Path;

use super::*;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, text).expect("write");
}

/// Give `rel` a fixed modification time (the same in both trees).
fn touch(root: &Path, rel: &str, secs: i64) {
    let t = nix::sys::time::TimeSpec::new(secs, 0);
    nix::sys::stat::utimensat(
        None,
        &root.join(rel),
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .expect("utimensat");
}

fn shown(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| format!("{} {}", c.kind.letter(), c.display_path()))
        .collect()
}

#[test]
fn full_trees_compare_by_type_metadata_and_content_size() {
    let d = tempfile::tempdir().expect("tempdir");
    let (old, new) = (d.path().join("old"), d.path().join("new"));
    for t in [&old, &new] {
        write(t, "keep", "same");
        write(t, "etc/passwd", "root");
        write(t, "gone/sub/f", "x");
        touch(t, "keep", 1000);
        touch(t, "etc/passwd", 1000);
        touch(t, "etc", 1000);
    }
    write(&new, "etc/passwd", "root and more");
    write(&new, "etc/new", "n");
    write(&new, "added/dir/f", "f");
    fs::remove_dir_all(new.join("gone")).expect("rm");
    write(&new, ".skiff-complete", "");
    let o = FsRoot::open(&old).expect("open").expect("exists");
    let n = FsRoot::open(&new).expect("open").expect("exists");
    let changes = tree_changes(&n, Some(&o), &Owners::default()).expect("changes");
    assert_eq!(
        shown(&changes),
        [
            "A /added",
            "A /added/dir",
            "A /added/dir/f",
            "C /etc",
            "A /etc/new",
            "C /etc/passwd",
            "D /gone",
        ]
    );
    // Against nothing, everything is new.
    let all = tree_changes(&n, None, &Owners::default()).expect("changes");
    assert!(all.iter().all(|c| c.kind == ChangeKind::Added));
    assert!(shown(&all).contains(&"A /keep".to_string()));
}

#[test]
fn an_upper_layer_gives_additions_changes_whiteouts_and_opaque_dirs() {
    let d = tempfile::tempdir().expect("tempdir");
    let (lower, upper) = (d.path().join("lower"), d.path().join("upper"));
    write(&lower, "etc/passwd", "root");
    write(&lower, "dir/old1", "1");
    write(&lower, "dir/old2", "2");
    write(&lower, "rm/deep/f", "x");
    write(&lower, "file", "x");
    touch(&lower, "etc", 1000);
    // The container: /etc/new added (so /etc changed), /etc/passwd
    // changed, /rm removed (fuse-overlayfs' whiteout file), /dir emptied
    // and made again (opaque marker file) with one new file, /dev made as
    // a mount point.
    write(&upper, "etc/passwd", "root2");
    write(&upper, "etc/new", "n");
    touch(&upper, "etc", 2000);
    write(&upper, ".wh.rm", "");
    write(&upper, "dir/.wh..wh..opq", "");
    write(&upper, "dir/old2", "again");
    write(&upper, "dev/null-ish", "");
    fs::remove_file(upper.join("dev/null-ish")).expect("rm");
    let up = FsRoot::open(&upper).expect("open").expect("exists");
    let lowers = Lowers::open(std::slice::from_ref(&lower)).expect("lowers");
    let all = overlay_changes(&up, &lowers, &Owners::default()).expect("changes");
    assert!(shown(&all).contains(&"A /dev".to_string()));
    let changes = without_mount_points(all);
    assert_eq!(
        shown(&changes),
        [
            "C /dir",
            "D /dir/old1",
            "A /dir/old2",
            "C /etc",
            "A /etc/new",
            "C /etc/passwd",
            "D /rm",
        ]
    );
    let opaque: Vec<_> = changes.iter().filter(|c| c.opaque).collect();
    assert_eq!(opaque.len(), 1);
    assert!(changes.iter().any(|c| c.implied));

    // As a layer: whiteouts and the opaque marker as OCI names, implied
    // deletions left to the marker, parents before children.
    let tar = crate::storage::layer_tar::write_layer(&changes, &up, &Owners::default(), Vec::new())
        .expect("layer");
    let mut archive = tar::Archive::new(&tar[..]);
    let mut names = Vec::new();
    for e in archive.entries().expect("entries") {
        let mut e = e.expect("entry");
        let name = e.path().expect("path").display().to_string();
        let mut body = String::new();
        e.read_to_string(&mut body).expect("read");
        if name == "etc/passwd" {
            assert_eq!(body, "root2");
        }
        names.push(name);
    }
    assert_eq!(
        names,
        [
            ".wh.rm",
            "dir/",
            "dir/.wh..wh..opq",
            "dir/old2",
            "etc/",
            "etc/new",
            "etc/passwd",
        ]
    );
}

#[test]
fn lower_lookups_respect_whiteouts_and_opaque_dirs_of_upper_layers() {
    let d = tempfile::tempdir().expect("tempdir");
    let (l1, l2) = (d.path().join("l1"), d.path().join("l2"));
    write(&l1, "a/x", "1");
    write(&l1, "b/y", "1");
    write(&l1, "c", "1");
    // l2 is above l1: it empties /a (opaque) and removes /c.
    write(&l2, "a/.wh..wh..opq", "");
    write(&l2, "a/z", "2");
    write(&l2, "b/w", "2");
    let lowers = Lowers::open(&[l2, l1]).expect("lowers");
    let has = |p: &str| lowers.lookup(Path::new(p)).expect("lookup").is_some();
    assert!(has("a/z") && !has("a/x"));
    assert!(has("b/y") && has("b/w"));
    assert!(has("c"));
    let names = lowers.children(Path::new("a")).expect("children");
    assert_eq!(names, ["z"]);
}
