//! Tests of layer unpacking against archives built in memory. Assertions
//! that need real root (device nodes, chown, trusted xattrs) are guarded and
//! say why they are skipped.

use std::fs;
use std::io::{Cursor, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use tar::{EntryType, Header};

use super::*;
use crate::storage::compression::{self, Compression, Level};

const T1: u64 = 1_600_000_000;
const T2: u64 = 1_500_000_000;

fn is_root() -> bool {
    sys::euid() == 0
}

fn is_real_root() -> bool {
    is_root() && !sys::is_in_user_namespace()
}

/// An archive under construction.
struct Layer(tar::Builder<Vec<u8>>);

impl Layer {
    fn new() -> Self {
        Layer(tar::Builder::new(Vec::new()))
    }

    fn header(kind: EntryType, mode: u32, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(T1);
        h.set_uid(0);
        h.set_gid(0);
        h
    }

    fn dir(mut self, path: &str, mode: u32) -> Self {
        let mut h = Self::header(EntryType::Directory, mode, 0);
        h.set_mtime(T2);
        self.0
            .append_data(&mut h, path, std::io::empty())
            .expect("append dir");
        self
    }

    fn file(self, path: &str, mode: u32, data: &[u8]) -> Self {
        self.file_owned(path, mode, data, 0, 0)
    }

    fn file_owned(mut self, path: &str, mode: u32, data: &[u8], uid: u64, gid: u64) -> Self {
        let mut h = Self::header(EntryType::Regular, mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        self.0.append_data(&mut h, path, data).expect("append file");
        self
    }

    fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(EntryType::Symlink, 0o777, 0);
        self.0
            .append_link(&mut h, path, target)
            .expect("append symlink");
        self
    }

    fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = Self::header(EntryType::Link, 0o644, 0);
        self.0
            .append_link(&mut h, path, target)
            .expect("append hardlink");
        self
    }

    /// An entry with names written as given, bypassing the builder's own
    /// checks (which refuse `..` and absolute names).
    fn raw(mut self, kind: EntryType, name: &str, link: &str, data: &[u8]) -> Self {
        let mut h = Self::header(kind, 0o644, data.len() as u64);
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        self.0.append(&h, data).expect("append raw");
        self
    }

    fn node(mut self, path: &str, kind: EntryType, major: u32, minor: u32) -> Self {
        let mut h = Self::header(kind, 0o666, 0);
        h.set_device_major(major).expect("major");
        h.set_device_minor(minor).expect("minor");
        self.0
            .append_data(&mut h, path, std::io::empty())
            .expect("append node");
        self
    }

    fn pax(mut self, records: &[(&str, &[u8])]) -> Self {
        self.0
            .append_pax_extensions(records.iter().map(|(k, v)| (*k, *v)))
            .expect("append pax");
        self
    }

    fn build(self) -> Vec<u8> {
        self.0.into_inner().expect("finish archive")
    }
}

fn opts(whiteouts: WhiteoutMode) -> UnpackOptions {
    UnpackOptions::for_current_process(whiteouts)
}

fn overlay(xattr: OverlayXattr) -> UnpackOptions {
    opts(WhiteoutMode::Overlay { xattr })
}

fn unpack(tar: &[u8], dest: &Path, o: &UnpackOptions) -> Result<UnpackStats, UnpackError> {
    unpack_layer(Cursor::new(tar), dest, o)
}

/// A scratch area with the layer directory `dest` inside it, so tests can
/// check that nothing appeared next to it.
fn scratch() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dest = tmp.path().join("diff");
    fs::create_dir(&dest).expect("mkdir dest");
    (tmp, dest)
}

fn only_dest_exists(tmp: &Path) -> bool {
    let names: Vec<_> = fs::read_dir(tmp)
        .expect("read scratch")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names == ["diff"]
}

fn user_xattrs_supported(dir: &Path) -> bool {
    let probe = dir.join(".probe");
    fs::write(&probe, b"").expect("probe");
    let ok = ::xattr::set(&probe, "user.skiff.probe", b"1").is_ok();
    fs::remove_file(&probe).expect("remove probe");
    ok
}

#[test]
fn regular_files_modes_and_times() {
    let (_tmp, dest) = scratch();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let tar = Layer::new()
        .dir("./", 0o755)
        .dir("etc", 0o750)
        .file("etc/hosts", 0o640, b"127.0.0.1 localhost\n")
        .file("usr/bin/tool", 0o755, b"#!/bin/sh\n")
        .file("open", 0o777, b"x")
        .file("big", 0o600, &big)
        .dir("ro", 0o555)
        .file("ro/inside", 0o444, b"r")
        .build();
    let stats = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
    assert_eq!(stats.files, 5);
    assert_eq!(stats.dirs, 3);
    assert_eq!(stats.bytes, 20 + 10 + 1 + big.len() as u64 + 1);

    assert_eq!(
        fs::read(dest.join("etc/hosts")).expect("read"),
        b"127.0.0.1 localhost\n"
    );
    assert_eq!(fs::read(dest.join("big")).expect("read big"), big);
    let mode = |p: &str| {
        fs::symlink_metadata(dest.join(p))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("etc"), 0o750);
    assert_eq!(mode("etc/hosts"), 0o640);
    assert_eq!(mode("usr/bin/tool"), 0o755);
    assert_eq!(mode("open"), 0o777, "umask must not apply");
    assert_eq!(mode("ro"), 0o555);
    assert_eq!(mode("ro/inside"), 0o444);
    // Implicit parents get 0755 (before umask).
    assert_eq!(mode("usr") & 0o700, 0o700);

    let mtime = |p: &str| fs::symlink_metadata(dest.join(p)).expect("stat").mtime() as u64;
    assert_eq!(mtime("etc/hosts"), T1);
    // Directory times survive the creation of their children.
    assert_eq!(mtime("etc"), T2);
    assert_eq!(mtime("ro"), T2);
    assert_eq!(mtime(""), T2);
    // (Not a file read above: reading updates the access time.)
    let atime = fs::symlink_metadata(dest.join("usr/bin/tool"))
        .expect("stat")
        .atime() as u64;
    assert_eq!(atime, T1);
}

#[test]
fn pax_times_with_fractions() {
    let (_tmp, dest) = scratch();
    let tar = Layer::new()
        .pax(&[("mtime", b"1700000000.25"), ("atime", b"1600000000.5")])
        .file("f", 0o644, b"x")
        .build();
    unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
    let md = fs::metadata(dest.join("f")).expect("stat");
    assert_eq!((md.mtime(), md.mtime_nsec()), (1_700_000_000, 250_000_000));
    assert_eq!((md.atime(), md.atime_nsec()), (1_600_000_000, 500_000_000));
    assert_eq!(
        parse_pax_time(b"-1.25"),
        Some(Timestamp {
            secs: -2,
            nanos: 750_000_000
        })
    );
    assert_eq!(parse_pax_time(b"12x"), None);
}

#[test]
fn setuid_and_setgid_survive_chown() {
    let (_tmp, dest) = scratch();
    // Other ids exist only for root in the initial namespace.
    let uid = if is_real_root() { 1234 } else { 0 };
    let tar = Layer::new()
        .dir("d", 0o2775)
        .file_owned("d/su", 0o4755, b"bin", uid, uid)
        .file_owned("sticky", 0o1777, b"", uid, uid)
        .build();
    unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
    let md = fs::metadata(dest.join("d/su")).expect("stat");
    assert_eq!(md.permissions().mode() & 0o7777, 0o4755);
    assert_eq!(
        fs::metadata(dest.join("d"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o2775
    );
    assert_eq!(
        fs::metadata(dest.join("sticky"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o7777,
        0o1777
    );
    if is_real_root() {
        assert_eq!((md.uid(), md.gid()), (1234, 1234));
    } else {
        println!("ownership not checked: needs root");
    }
}

#[test]
fn symlink_in_parent_path_is_refused() {
    let (tmp, dest) = scratch();
    let outside = tempfile::tempdir().expect("outside");
    let target = outside.path().to_str().expect("utf8 path");
    for link_target in [target, "/etc", "../.."] {
        let tar = Layer::new()
            .symlink("link", link_target)
            .file("link/passwd", 0o644, b"root::0:0::/:/bin/sh\n")
            .build();
        let err = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect_err("must refuse");
        assert!(matches!(err, UnpackError::SymlinkInPath { .. }), "{err}");
        fs::remove_file(dest.join("link")).expect("clean up link");
    }
    assert_eq!(fs::read_dir(outside.path()).expect("ls").count(), 0);
    assert!(only_dest_exists(tmp.path()));

    // Nor may a whiteout reach through a symlink.
    fs::write(outside.path().join("keep"), b"k").expect("write");
    let tar = Layer::new()
        .symlink("l", target)
        .raw(EntryType::Regular, "l/.wh.keep", "", b"")
        .build();
    let err = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect_err("must refuse");
    assert!(matches!(err, UnpackError::SymlinkInPath { .. }), "{err}");
    assert!(outside.path().join("keep").exists());
}

#[test]
fn dotdot_escape_is_refused() {
    let (tmp, dest) = scratch();
    for name in ["../../x", "../x", "a/../../x", ".."] {
        let tar = Layer::new()
            .raw(EntryType::Regular, name, "", b"evil")
            .build();
        let err = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect_err(name);
        assert!(matches!(err, UnpackError::Escape { .. }), "{name}: {err}");
    }
    assert!(only_dest_exists(tmp.path()));
    assert_eq!(fs::read_dir(&dest).expect("ls").count(), 0);
}

#[test]
fn absolute_and_dot_names_stay_inside() {
    let (tmp, dest) = scratch();
    let tar = Layer::new()
        .raw(EntryType::Regular, "/abs/file", "", b"a")
        .raw(EntryType::Regular, "./dot/file", "", b"b")
        .raw(EntryType::Regular, "x/../y", "", b"c")
        .build();
    unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
    assert_eq!(fs::read(dest.join("abs/file")).expect("read"), b"a");
    assert_eq!(fs::read(dest.join("dot/file")).expect("read"), b"b");
    assert_eq!(fs::read(dest.join("y")).expect("read"), b"c");
    assert!(only_dest_exists(tmp.path()));
}

#[test]
fn hardlinks_outside_are_refused() {
    let (tmp, dest) = scratch();
    let tar = Layer::new()
        .raw(EntryType::Link, "h", "../outside", b"")
        .build();
    let err = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect_err("escape");
    assert!(matches!(err, UnpackError::HardlinkEscape { .. }), "{err}");

    // An absolute target means the layer's own /etc/passwd, which is absent.
    let tar = Layer::new()
        .raw(EntryType::Link, "h", "/etc/passwd", b"")
        .build();
    let err = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect_err("absent");
    assert!(matches!(err, UnpackError::Hardlink { .. }), "{err}");
    assert!(!dest.join("h").exists());

    // Through a symlink of the layer.
    let outside = tempfile::tempdir().expect("outside");
    fs::write(outside.path().join("secret"), b"s").expect("write");
    let tar = Layer::new()
        .symlink("l", outside.path().to_str().expect("utf8"))
        .raw(EntryType::Link, "h", "l/secret", b"")
        .build();
    let err = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect_err("through symlink");
    assert!(matches!(err, UnpackError::HardlinkEscape { .. }), "{err}");
    assert_eq!(
        fs::metadata(outside.path().join("secret"))
            .expect("stat")
            .nlink(),
        1
    );
    assert!(only_dest_exists(tmp.path()));
}

#[test]
fn hardlinks_inside_share_the_inode() {
    let (_tmp, dest) = scratch();
    let tar = Layer::new()
        .file("bin/busybox", 0o755, b"elf")
        .hardlink("bin/sh", "bin/busybox")
        .hardlink("usr/bin/env", "/bin/busybox")
        .symlink("ln", "bin/busybox")
        .hardlink("ln2", "ln")
        .build();
    let stats = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
    assert_eq!(stats.hardlinks, 3);
    let ino = |p: &str| fs::symlink_metadata(dest.join(p)).expect("stat").ino();
    assert_eq!(ino("bin/sh"), ino("bin/busybox"));
    assert_eq!(ino("usr/bin/env"), ino("bin/busybox"));
    assert_eq!(
        fs::metadata(dest.join("bin/busybox"))
            .expect("stat")
            .nlink(),
        3
    );
    // A hardlink to a symlink links the symlink itself.
    assert_eq!(ino("ln2"), ino("ln"));
    assert!(fs::symlink_metadata(dest.join("ln2"))
        .expect("stat")
        .file_type()
        .is_symlink());

    let tar = Layer::new().dir("d", 0o755).hardlink("hd", "d").build();
    let err = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect_err("dir link");
    assert!(
        matches!(err, UnpackError::HardlinkToDirectory { .. }),
        "{err}"
    );
}

#[test]
fn later_entries_replace_earlier_ones() {
    let (_tmp, dest) = scratch();
    let tar = Layer::new()
        .file("x", 0o644, b"first")
        .file("x", 0o600, b"second")
        .dir("d", 0o755)
        .file("d/kept", 0o644, b"k")
        .dir("d", 0o700)
        .file("f2d", 0o644, b"")
        .dir("f2d", 0o755)
        .dir("d2f/sub", 0o755)
        .file("d2f", 0o644, b"now a file")
        .file("s", 0o644, b"")
        .symlink("s", "x")
        .build();
    unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
    assert_eq!(fs::read(dest.join("x")).expect("read"), b"second");
    assert_eq!(
        fs::metadata(dest.join("x"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert!(
        dest.join("d/kept").exists(),
        "a directory over a directory keeps its contents"
    );
    assert_eq!(
        fs::metadata(dest.join("d"))
            .expect("stat")
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert!(dest.join("f2d").is_dir());
    assert_eq!(fs::read(dest.join("d2f")).expect("read"), b"now a file");
    assert_eq!(
        fs::read_link(dest.join("s")).expect("readlink"),
        Path::new("x")
    );
}

#[test]
fn whiteout_in_apply_mode_deletes_lower_entries() {
    let (_tmp, dest) = scratch();
    fs::create_dir_all(dest.join("etc/old.d/deep")).expect("lower");
    fs::write(dest.join("etc/old.d/deep/f"), b"x").expect("lower");
    fs::write(dest.join("etc/motd"), b"hello").expect("lower");
    fs::write(dest.join("etc/keep"), b"k").expect("lower");
    // A read-only lower directory is removed too.
    fs::set_permissions(
        dest.join("etc/old.d/deep"),
        fs::Permissions::from_mode(0o555),
    )
    .expect("chmod");
    let tar = Layer::new()
        .raw(EntryType::Regular, "etc/.wh.motd", "", b"")
        .raw(EntryType::Regular, "etc/.wh.old.d", "", b"")
        .raw(EntryType::Regular, "etc/.wh.never-there", "", b"")
        .build();
    let stats = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
    assert_eq!(stats.whiteouts, 3);
    assert!(!dest.join("etc/motd").exists());
    assert!(!dest.join("etc/old.d").exists());
    assert!(dest.join("etc/keep").exists());
    let names: Vec<_> = fs::read_dir(dest.join("etc"))
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(names, ["keep"], "no whiteout file is left behind");
}

#[test]
fn opaque_in_apply_mode_keeps_only_this_layer() {
    let (_tmp, dest) = scratch();
    fs::create_dir_all(dest.join("d/sub")).expect("lower");
    fs::create_dir_all(dest.join("d/mixed")).expect("lower");
    fs::write(dest.join("d/old"), b"o").expect("lower");
    fs::write(dest.join("d/sub/old2"), b"o").expect("lower");
    fs::write(dest.join("d/mixed/lower"), b"o").expect("lower");
    fs::write(dest.join("other"), b"o").expect("lower");
    let tar = Layer::new()
        .dir("d", 0o755)
        .file("d/new", 0o644, b"n")
        .file("d/mixed/upper", 0o644, b"u")
        .raw(EntryType::Regular, "d/.wh..wh..opq", "", b"")
        .file("d/after", 0o644, b"a")
        .build();
    unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
    let mut names: Vec<_> = fs::read_dir(dest.join("d"))
        .expect("ls")
        .map(|e| e.expect("e").file_name().into_string().expect("utf8"))
        .collect();
    names.sort();
    assert_eq!(names, ["after", "mixed", "new"]);
    let mixed: Vec<_> = fs::read_dir(dest.join("d/mixed"))
        .expect("ls")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(
        mixed,
        ["upper"],
        "lower contents of a same-layer directory go too"
    );
    assert!(
        dest.join("other").exists(),
        "outside the opaque directory nothing changes"
    );
}

#[test]
fn overlay_mode_makes_overlay_markers() {
    // The trusted namespace needs real root; the user namespace works for
    // anyone on file systems with user xattrs.
    let mut variants = vec![OverlayXattr::User];
    if is_real_root() {
        variants.push(OverlayXattr::Trusted);
    } else {
        println!("trusted.overlay.* not checked: needs root");
    }
    for ns in variants {
        let (_tmp, dest) = scratch();
        if ns == OverlayXattr::User && !user_xattrs_supported(&dest) {
            println!("skipped: no user xattrs on the temporary file system");
            continue;
        }
        let tar = Layer::new()
            .dir("etc", 0o755)
            .raw(EntryType::Regular, "etc/.wh.motd", "", b"")
            .raw(EntryType::Regular, "var/.wh..wh..opq", "", b"")
            .file("var/new", 0o644, b"n")
            .build();
        let stats = unpack(&tar, &dest, &overlay(ns)).expect("unpack");
        assert_eq!(stats.whiteouts, 2);
        let (opaque, whiteout) = (ns.opaque(), ns.whiteout());
        assert_eq!(
            ::xattr::get(dest.join("var"), opaque)
                .expect("getxattr")
                .as_deref(),
            Some(&b"y"[..])
        );
        assert!(dest.join("var/new").exists());
        assert!(!dest.join("etc/.wh.motd").exists());
        let md = fs::symlink_metadata(dest.join("etc/motd")).expect("whiteout exists");
        if md.file_type().is_char_device() {
            assert_eq!(md.rdev(), 0, "whiteout is device 0:0");
        } else {
            // mknod refused (unprivileged): the xattr form.
            assert!(md.file_type().is_file() && md.len() == 0);
            assert!(::xattr::get(dest.join("etc/motd"), whiteout)
                .expect("get")
                .is_some());
            assert_eq!(
                ::xattr::get(dest.join("etc"), opaque)
                    .expect("get")
                    .as_deref(),
                Some(&b"x"[..])
            );
            println!("0:0 whiteout device not checked: mknod needs privilege here");
        }
        if is_root() {
            assert!(
                md.file_type().is_char_device(),
                "root can always mknod a whiteout"
            );
        }
    }
}

#[test]
fn compressed_layers_are_detected() {
    let tar = Layer::new().file("hello", 0o644, b"world").build();
    for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let mut enc =
            compression::compress_with_level(Vec::new(), c, Level::Fast).expect("compressor");
        enc.write_all(&tar).expect("compress");
        let blob = enc.finish().expect("finish");
        let (_tmp, dest) = scratch();
        let reader = compression::decompress(Cursor::new(blob)).expect("decoder");
        unpack_layer(reader, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
        assert_eq!(fs::read(dest.join("hello")).expect("read"), b"world", "{c}");
    }
}

#[test]
fn pax_xattrs_are_applied_and_overlay_ones_dropped() {
    let (_tmp, dest) = scratch();
    if !user_xattrs_supported(&dest) {
        println!("skipped: no user xattrs on the temporary file system");
        return;
    }
    // security.capability v2: cap_net_bind_service, effective.
    let mut cap = vec![0u8; 20];
    cap[..4].copy_from_slice(&0x0200_0001u32.to_le_bytes());
    cap[4..8].copy_from_slice(&(1u32 << 10).to_le_bytes());
    let tar = Layer::new()
        .pax(&[
            ("SCHILY.xattr.user.mime", b"text/plain"),
            ("SCHILY.xattr.security.capability", &cap),
        ])
        .file("ping", 0o755, b"elf")
        .pax(&[
            ("SCHILY.xattr.user.overlay.opaque", b"y"),
            ("SCHILY.xattr.user.d", b"1"),
        ])
        .dir("d", 0o755)
        .build();
    let stats = unpack(&tar, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
    assert_eq!(
        ::xattr::get(dest.join("ping"), "user.mime")
            .expect("get")
            .as_deref(),
        Some(&b"text/plain"[..])
    );
    assert_eq!(
        ::xattr::get(dest.join("d"), "user.d")
            .expect("get")
            .as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(
        ::xattr::get(dest.join("d"), "user.overlay.opaque").expect("get"),
        None
    );
    let got = ::xattr::get(dest.join("ping"), "security.capability").expect("get");
    if is_root() {
        assert_eq!(got.as_deref(), Some(&cap[..]), "capability set after chown");
        assert_eq!(stats.xattr_warnings, 0);
    } else {
        assert_eq!(stats.xattr_warnings, 1, "security.* refused is a warning");
        println!("security.capability not checked: needs root");
    }
}

#[test]
fn devices_fifos_and_long_names() {
    let (_tmp, dest) = scratch();
    let long = format!("{}/{}", "d".repeat(150), "f".repeat(200));
    let tar = Layer::new()
        .node("dev/null", EntryType::Char, 1, 3)
        .node("dev/loop0", EntryType::Block, 7, 0)
        .node("run/fifo", EntryType::Fifo, 0, 0)
        .file(&long, 0o644, b"long")
        .symlink("longlink", &long)
        .build();
    let o = opts(WhiteoutMode::Apply);
    let stats = unpack(&tar, &dest, &o).expect("unpack");
    assert!(fs::symlink_metadata(dest.join("run/fifo"))
        .expect("fifo")
        .file_type()
        .is_fifo());
    assert_eq!(fs::read(dest.join(&long)).expect("read long"), b"long");
    assert_eq!(
        fs::read_link(dest.join("longlink")).expect("readlink"),
        Path::new(&long)
    );
    if o.can_mknod {
        let md = fs::symlink_metadata(dest.join("dev/null")).expect("dev");
        assert!(md.file_type().is_char_device());
        assert_eq!(md.rdev(), sys::fs::makedev(1, 3));
        assert!(fs::symlink_metadata(dest.join("dev/loop0"))
            .expect("blk")
            .file_type()
            .is_block_device());
    } else {
        assert_eq!(stats.skipped_devices, 2);
        assert!(!dest.join("dev/null").exists());
        println!("device nodes not created: needs real root");
    }
}

#[test]
fn ownership_remap_and_unmapped_ids() {
    let (_tmp, dest) = scratch();
    let mapping = IdMapping::offset(100_000, 65_536);
    let o = UnpackOptions {
        preserve_ownership: true,
        id_mapping: Some(mapping),
        ..UnpackOptions::default()
    };
    let tar = Layer::new()
        .file_owned("far", 0o644, b"", 70_000, 0)
        .build();
    let err = unpack(&tar, &dest, &o).expect_err("unmapped");
    assert!(
        matches!(err, UnpackError::Unmapped { id: 70_000, .. }),
        "{err}"
    );
    if !is_real_root() {
        println!("remapped ownership not checked: needs root");
        return;
    }
    let tar = Layer::new()
        .file_owned("implicit/f", 0o644, b"", 1000, 1000)
        .file_owned("root", 0o644, b"", 0, 0)
        .build();
    unpack(&tar, &dest, &o).expect("unpack");
    let ids = |p: &str| {
        let md = fs::symlink_metadata(dest.join(p)).expect("stat");
        (md.uid(), md.gid())
    };
    assert_eq!(ids("implicit/f"), (101_000, 101_000));
    assert_eq!(ids("root"), (100_000, 100_000));
    assert_eq!(
        ids("implicit"),
        (100_000, 100_000),
        "implicit parents belong to mapped root"
    );
}

/// Counts what is read through it.
struct Counting<R>(R, u64);
impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1 += n as u64;
        Ok(n)
    }
}

#[test]
fn the_whole_stream_is_consumed() {
    let (_tmp, dest) = scratch();
    let mut tar = Layer::new().file("a", 0o644, b"a").build();
    tar.extend_from_slice(&[0u8; 10240]);
    let mut counting = Counting(Cursor::new(tar.clone()), 0);
    unpack_layer(&mut counting, &dest, &opts(WhiteoutMode::Apply)).expect("unpack");
    assert_eq!(counting.1, tar.len() as u64);
}

#[test]
fn truncated_archives_fail() {
    let (_tmp, dest) = scratch();
    let tar = Layer::new().file("a", 0o644, &[7u8; 5000]).build();
    let err = unpack(&tar[..2048], &dest, &opts(WhiteoutMode::Apply)).expect_err("truncated");
    assert!(matches!(err, UnpackError::Tar { .. }), "{err}");
}

#[test]
fn sync_tree_flushes() {
    let (_tmp, dest) = scratch();
    sync_tree(&dest).expect("syncfs");
    let err = sync_tree(&dest.join("missing")).expect_err("missing");
    assert!(matches!(err, UnpackError::Sync { .. }));
}

#[test]
fn xattr_whiteouts_where_mknod_is_refused() {
    // The kernel lets anyone create 0:0 whiteout devices since 5.8, so the
    // fallback is exercised directly.
    let (_tmp, dest) = scratch();
    if !user_xattrs_supported(&dest) {
        println!("skipped: no user xattrs on the temporary file system");
        return;
    }
    fs::create_dir(dest.join("d")).expect("mkdir");
    fs::create_dir(dest.join("o")).expect("mkdir");
    ::xattr::set(dest.join("o"), "user.overlay.opaque", b"y").expect("set opaque");
    let meta = Meta {
        owner: None,
        mode: 0,
        atime: Timestamp { secs: 0, nanos: 0 },
        mtime: Timestamp { secs: 0, nanos: 0 },
        xattrs: false,
    };
    for dir in ["d", "o"] {
        let fd = sys::fs::open_dir(&dest.join(dir)).expect("open dir");
        whiteout::xattr_whiteout(
            std::os::fd::AsFd::as_fd(&fd),
            OsStr::new("gone"),
            OverlayXattr::User,
            &meta,
        )
        .expect("xattr whiteout");
    }
    let md = fs::symlink_metadata(dest.join("d/gone")).expect("stat");
    assert!(md.file_type().is_file() && md.len() == 0);
    assert!(::xattr::get(dest.join("d/gone"), "user.overlay.whiteout")
        .expect("get")
        .is_some());
    let opaque = |d: &str| ::xattr::get(dest.join(d), "user.overlay.opaque").expect("get");
    assert_eq!(opaque("d").as_deref(), Some(&b"x"[..]));
    assert_eq!(
        opaque("o").as_deref(),
        Some(&b"y"[..]),
        "a fully opaque directory stays so"
    );
}
