//! Files in and out of containers: `cp` (host paths, tar streams, running
//! and stopped containers, ownership, containers with id mappings of their
//! own), symlinks in the container that must never lead onto the host,
//! `mount`/`umount` of containers, `image mount`/`image umount`, and
//! `export`. Runtime-independent but for the running containers.

mod common;

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;

const IMAGE: &str = "skiff-test/busybox";

/// A container running `sleep`, started when `start`.
fn sleeper(s: &Skiff, name: &str, flags: &[&str], start: bool) {
    let mut argv = vec!["create", "--name", name];
    argv.extend_from_slice(flags);
    argv.extend([IMAGE, "sleep", "1000"]);
    s.run(argv).ok();
    if start {
        s.run(["start", name]).ok();
    }
}

/// `exec NAME ARGV...`, trimmed stdout.
fn exec(s: &Skiff, name: &str, argv: &[&str]) -> String {
    let mut a = vec!["exec", name];
    a.extend_from_slice(argv);
    s.run(a).ok().trim().to_string()
}

/// Root file system mounts of this installation's containers.
fn rootfs_mounts(s: &Skiff) -> Vec<String> {
    mounts_of(s)
        .into_iter()
        .filter(|m| m.ends_with("/rootfs") || m.contains("/image-mounts/"))
        .collect()
}

/// The mount table skiff's commands see: the host's for root, that of
/// skiff's mount namespace (through `skiff unshare`) for a normal user.
fn mount_table(s: &Skiff) -> String {
    if is_root() {
        std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo")
    } else {
        s.run(["unshare", "cat", "/proc/self/mountinfo"]).ok()
    }
}

/// `cat PATH` where skiff's mounts are seen.
fn cat_mounted(s: &Skiff, path: &str) -> String {
    if is_root() {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    } else {
        s.run(["unshare", "cat", path]).ok()
    }
}

/// Entries of a tar archive: (path, content for regular files).
fn tar_entries(bytes: &[u8]) -> Vec<(String, Option<String>, u64, u64)> {
    let mut ar = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for e in ar.entries().expect("a tar archive") {
        let mut e = e.expect("entry");
        let path = e.path().expect("path").display().to_string();
        let (uid, gid) = (
            e.header().uid().expect("uid"),
            e.header().gid().expect("gid"),
        );
        let content = if e.header().entry_type().is_file() {
            let mut b = Vec::new();
            e.read_to_end(&mut b).expect("read");
            Some(String::from_utf8_lossy(&b).into_owned())
        } else {
            None
        };
        out.push((path, content, uid, gid));
    }
    out
}

fn content_of<'a>(
    entries: &'a [(String, Option<String>, u64, u64)],
    path: &str,
) -> Option<&'a str> {
    entries
        .iter()
        .find(|e| e.0.trim_end_matches('/') == path)
        .and_then(|e| e.1.as_deref())
}

/// A tar archive built in memory.
struct TarBuilder(tar::Builder<Vec<u8>>);

/// A header of the kind, owned by root, at the epoch.
fn header(kind: tar::EntryType, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

impl TarBuilder {
    fn new() -> Self {
        TarBuilder(tar::Builder::new(Vec::new()))
    }

    fn file(mut self, path: &str, data: &str) -> Self {
        let mut h = header(tar::EntryType::Regular, 0o644);
        h.set_size(data.len() as u64);
        // Raw names: the builder itself refuses `..`.
        h.as_gnu_mut().expect("gnu").name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        self.0.append(&h, data.as_bytes()).expect("append");
        self
    }

    fn dir(mut self, path: &str) -> Self {
        let mut h = header(tar::EntryType::Directory, 0o755);
        self.0
            .append_data(&mut h, path, std::io::empty())
            .expect("append");
        self
    }

    fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = header(tar::EntryType::Symlink, 0o777);
        self.0.append_link(&mut h, path, target).expect("append");
        self
    }

    fn build(self) -> Vec<u8> {
        self.0.into_inner().expect("finish")
    }
}

fn write(path: &Path, data: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, data).expect("write");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `Error: ` and one line, exit code 125.
#[track_caller]
fn one_line_error(out: common::Output, needle: &str) {
    let err = out.fails_with(125, needle);
    assert!(err.starts_with("Error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn files_and_directories_both_ways_running_or_not() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let host = scratch_dir("cp-host");
    let h = host.path();
    write(&h.join("f.txt"), "host file\n");
    write(&h.join("d/a"), "a\n");
    write(&h.join("d/sub/b"), "b\n");
    sleeper(&s, "c", &[], false);

    // Into a created container: a file into a directory, a directory
    // into a directory, a directory's contents into a new directory.
    s.run(["cp", &h.join("f.txt").display().to_string(), "c:/tmp/"])
        .ok();
    s.run(["cp", &h.join("d").display().to_string(), "c:/tmp"])
        .ok();
    s.run(["cp", &format!("{}/.", h.join("d").display()), "c:/tmp/flat"])
        .ok();
    // A file onto a new name.
    s.run([
        "cp",
        &h.join("f.txt").display().to_string(),
        "c:/renamed.txt",
    ])
    .ok();

    // And out again, from the stopped container.
    let out = h.join("out");
    std::fs::create_dir(&out).expect("mkdir");
    s.run(["cp", "c:/tmp/f.txt", &out.display().to_string()])
        .ok();
    assert_eq!(read(&out.join("f.txt")), "host file\n");
    s.run(["cp", "c:/tmp/d", &out.join("d2").display().to_string()])
        .ok();
    assert_eq!(read(&out.join("d2/a")), "a\n");
    assert_eq!(read(&out.join("d2/sub/b")), "b\n");
    s.run([
        "cp",
        "c:/tmp/flat/sub/b",
        &out.join("b").display().to_string(),
    ])
    .ok();
    assert_eq!(read(&out.join("b")), "b\n");
    s.run(["cp", "c:/renamed.txt", &out.join("r").display().to_string()])
        .ok();
    assert_eq!(read(&out.join("r")), "host file\n");
    // The image's own files, a directory's contents into an existing one.
    s.run(["cp", "c:/skiff/.", &out.display().to_string()]).ok();
    assert_eq!(read(&out.join("hello.txt")), "hello from skiff-test\n");
    // A directory onto an existing directory goes inside it.
    s.run(["cp", "c:/tmp/d", &out.join("d2").display().to_string()])
        .ok();
    assert_eq!(read(&out.join("d2/d/sub/b")), "b\n");
    // Nothing stays mounted for a stopped container.
    assert_eq!(rootfs_mounts(&s), Vec::<String>::new());

    // Running: what was copied in is there, and copying works both ways.
    s.run(["start", "c"]).ok();
    assert_eq!(exec(&s, "c", &["cat", "/tmp/f.txt"]), "host file");
    assert_eq!(exec(&s, "c", &["cat", "/tmp/d/sub/b"]), "b");
    assert_eq!(exec(&s, "c", &["cat", "/tmp/flat/a"]), "a");
    write(&h.join("live.txt"), "while running\n");
    s.run(["cp", &h.join("live.txt").display().to_string(), "c:/tmp"])
        .ok();
    assert_eq!(exec(&s, "c", &["cat", "/tmp/live.txt"]), "while running");
    s.run([
        "exec",
        "c",
        "sh",
        "-c",
        "mkdir /made && echo inside > /made/it",
    ])
    .ok();
    s.run(["cp", "c:/made", &out.display().to_string()]).ok();
    assert_eq!(read(&out.join("made/it")), "inside\n");
    // The copy gave its hold back: stopping unmounts.
    s.run(["stop", "-t", "0", "c"]).ok();
    assert_eq!(rootfs_mounts(&s), Vec::<String>::new());
    // Stopped again: the container's own changes come out.
    s.run(["cp", "c:/made/it", &out.join("it2").display().to_string()])
        .ok();
    assert_eq!(read(&out.join("it2")), "inside\n");
    s.run(["rm", "-f", "c"]).ok();
}

#[test]
fn tar_streams_both_ways() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    sleeper(&s, "t", &[], false);
    let tar = TarBuilder::new()
        .dir("streamed")
        .file("streamed/x.txt", "from a stream\n")
        .build();
    s.cmd(["cp", "-", "t:/tmp"]).stdin(tar).run().ok();
    let out = s.run(["cp", "t:/tmp/streamed", "-"]);
    assert!(out.success(), "{out}");
    let entries = tar_entries(&out.stdout_bytes);
    assert_eq!(
        content_of(&entries, "streamed/x.txt"),
        Some("from a stream\n")
    );
    assert!(entries.iter().any(|e| e.0 == "streamed/"), "{entries:?}");
    // A single file, and a directory's contents.
    let out = s.run(["cp", "t:/skiff/hello.txt", "-"]);
    let entries = tar_entries(&out.stdout_bytes);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        content_of(&entries, "hello.txt"),
        Some("hello from skiff-test\n")
    );
    let out = s.run(["cp", "t:/tmp/streamed/.", "-"]);
    let entries = tar_entries(&out.stdout_bytes);
    assert_eq!(content_of(&entries, "x.txt"), Some("from a stream\n"));
    // A stream goes into a directory only.
    let tar = TarBuilder::new().file("y", "y").build();
    one_line_error(
        s.cmd(["cp", "-", "t:/skiff/hello.txt"]).stdin(tar).run(),
        "directory",
    );
    s.run(["rm", "-f", "t"]).ok();
}

#[test]
fn symlinks_in_the_container_never_lead_onto_the_host() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let host = scratch_dir("cp-evil");
    let h = host.path().canonicalize().expect("canonical");
    let marker = h.join("hostfile");
    write(&marker, "HOST ORIGINAL\n");
    // A marker at a path the container has a directory for (/tmp).
    let unique = format!("skiff-cp-test-{}", std::process::id());
    let tmp_marker = PathBuf::from("/tmp").join(&unique);
    write(&tmp_marker, "HOST TMP ORIGINAL\n");
    let payload = h.join("payload");
    write(&payload, "PAYLOAD\n");
    let p = payload.display().to_string();
    let rel_up = format!("../../../../../../..{}", marker.display());

    sleeper(&s, "e", &[], false);
    // The container's own symlinks, absolute and climbing.
    let tar = TarBuilder::new()
        .symlink("evil", "/")
        .symlink("etc/abs", &marker.display().to_string())
        .symlink("etc/up", &rel_up)
        .symlink("etc/tmpup", &format!("../../../../../tmp/{unique}"))
        .symlink("etc/dirup", "../../../../..")
        .build();
    s.cmd(["cp", "-", "e:/"]).stdin(tar).run().ok();

    for running in [false, true] {
        if running {
            s.run(["start", "e"]).ok();
        }
        // In through them: resolved inside the container, where the
        // marker's directories do not exist, so nothing is written.
        for dest in [
            format!("e:/evil{}", marker.display()),
            "e:/etc/abs".to_string(),
            "e:/etc/up".to_string(),
            format!("e:/etc/dirup{}", marker.display()),
        ] {
            one_line_error(
                s.run(["cp", p.as_str(), dest.as_str()]),
                "could not be found on container",
            );
            assert_eq!(read(&marker), "HOST ORIGINAL\n", "cp {p} {dest}");
        }
        // Where the directory exists in the container, the file lands there.
        s.run(["cp", p.as_str(), "e:/etc/tmpup"]).ok();
        assert_eq!(read(&tmp_marker), "HOST TMP ORIGINAL\n");
        let out = s.run(["cp", &format!("e:/tmp/{unique}"), "-"]);
        assert_eq!(
            content_of(&tar_entries(&out.stdout_bytes), &unique),
            Some("PAYLOAD\n")
        );
        // A directory through /evil lands in the container's root.
        let dir = h.join(&unique);
        write(&dir.join("inner"), "inner\n");
        s.run(["cp", &dir.display().to_string(), "e:/evil/"]).ok();
        assert!(!Path::new("/").join(&unique).exists());
        // Out through them: never the host's file.
        for src in ["e:/etc/abs", "e:/etc/up"] {
            let out = s.run(["cp", src, "-"]);
            assert!(!out.stdout().contains("HOST ORIGINAL"), "{out}");
            let dest = h.join("out-file");
            one_line_error(
                s.run(["cp", src, &dest.display().to_string()]),
                "could not be found on container",
            );
            assert!(!dest.exists());
        }
        let out = s.run(["cp", "e:/etc/tmpup", "-"]);
        assert!(!out.stdout().contains("HOST TMP ORIGINAL"), "{out}");
        assert!(out.stdout().contains("PAYLOAD"), "{out}");
        // A directory with them inside is copied as symlinks, not followed.
        let etc = h.join(if running {
            "etc-running"
        } else {
            "etc-stopped"
        });
        s.run(["cp", "e:/etc", &etc.display().to_string()]).ok();
        let m = std::fs::symlink_metadata(etc.join("abs")).expect("abs");
        assert!(m.file_type().is_symlink());
        let out = s.run(["cp", "e:/etc", "-"]);
        assert!(!out.stdout().contains("HOST ORIGINAL"), "{out}");
        // A stream whose entries go through a symlink or climb out is
        // refused, and the host is untouched.
        let inside = marker
            .strip_prefix("/")
            .expect("absolute")
            .display()
            .to_string();
        for tar in [
            TarBuilder::new()
                .file(&format!("evil/{inside}"), "BAD\n")
                .build(),
            TarBuilder::new()
                .file(
                    &format!("../../../../../../..{}", marker.display()),
                    "BAD\n",
                )
                .build(),
            TarBuilder::new()
                .file(&format!("etc/dirup/{inside}"), "BAD\n")
                .build(),
        ] {
            let out = s.cmd(["cp", "-", "e:/"]).stdin(tar).run();
            let err = out.stderr();
            assert!(err.contains("symlink") || err.contains("outside"), "{out}");
            one_line_error(out, "Error");
            assert_eq!(read(&marker), "HOST ORIGINAL\n");
        }
        // A symlink planted by the stream, then a file written through it.
        let tar = TarBuilder::new()
            .symlink("tmp/plant", &h.display().to_string())
            .file("tmp/plant/hostfile", "BAD\n")
            .build();
        one_line_error(s.cmd(["cp", "-", "e:/"]).stdin(tar).run(), "symlink");
        assert_eq!(read(&marker), "HOST ORIGINAL\n");
    }
    let _ = std::fs::remove_file(&tmp_marker);
    s.run(["rm", "-f", "e"]).ok();
}

#[test]
fn archive_decides_ownership_also_through_id_mappings() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let host = scratch_dir("cp-owner");
    let f = host.path().join("owned");
    write(&f, "owned\n");
    // The host file belongs to 1234:5678 (in skiff's namespace, rootless).
    if is_root() {
        std::os::unix::fs::chown(&f, Some(1234), Some(5678)).expect("chown");
    } else {
        s.cmd(["unshare", "chown", "1234:5678"]).arg(&f).run().ok();
    }
    let fp = f.display().to_string();
    let base = if is_root() { 200_000 } else { 1 };
    let map = format!("0:{base}:65536");
    for (name, flags) in [
        ("plain", vec!["--user", "100:101"]),
        (
            "mapped",
            vec!["--user", "100:101", "--uidmap", &map, "--gidmap", &map],
        ),
    ] {
        sleeper(&s, name, &flags, true);
        // Default: the container's user owns what is copied in.
        s.run(["cp", fp.as_str(), &format!("{name}:/tmp/a")]).ok();
        assert_eq!(
            exec(&s, name, &["stat", "-c", "%u:%g", "/tmp/a"]),
            "100:101"
        );
        // --archive=false keeps the source's ids.
        s.run([
            "cp",
            "--archive=false",
            fp.as_str(),
            &format!("{name}:/tmp/b"),
        ])
        .ok();
        assert_eq!(
            exec(&s, name, &["stat", "-c", "%u:%g", "/tmp/b"]),
            "1234:5678"
        );
        assert_eq!(exec(&s, name, &["cat", "/tmp/b"]), "owned");
        // Out as a stream: the ids the container sees.
        s.run([
            "exec",
            "--user",
            "0",
            name,
            "sh",
            "-c",
            "echo x > /tmp/c && chown 7:8 /tmp/c",
        ])
        .ok();
        let out = s.run(["cp", &format!("{name}:/tmp/c"), "-"]);
        let e = tar_entries(&out.stdout_bytes);
        assert_eq!((e[0].2, e[0].3), (7, 8), "{e:?}");
        // Out to the host: the caller's by default, the container's ids
        // with --archive=false.
        let dest = host.path().join(format!("{name}-c"));
        s.run(["cp", &format!("{name}:/tmp/c"), &dest.display().to_string()])
            .ok();
        let m = std::fs::metadata(&dest).expect("copied");
        assert_eq!(m.uid(), nix::unistd::getuid().as_raw());
        let dest2 = host.path().join(format!("{name}-c2"));
        s.run([
            "cp",
            "--archive=false",
            &format!("{name}:/tmp/c"),
            &dest2.display().to_string(),
        ])
        .ok();
        let owner = if is_root() {
            let m = std::fs::metadata(&dest2).expect("copied");
            format!("{}:{}", m.uid(), m.gid())
        } else {
            s.cmd(["unshare", "stat", "-c", "%u:%g"])
                .arg(&dest2)
                .run()
                .ok()
                .trim()
                .to_string()
        };
        assert_eq!(owner, "7:8");
        s.run(["rm", "-f", name]).ok();
    }
}

#[test]
fn mount_and_umount_containers() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    sleeper(&s, "m", &[], false);
    let id = inspect_container(&s, "m", "{{.Id}}");
    let path = s.run(["mount", "m"]).ok().trim().to_string();
    assert!(path.starts_with('/'), "{path}");
    assert_eq!(
        cat_mounted(&s, &format!("{path}/skiff/hello.txt")),
        "hello from skiff-test\n"
    );
    // Listed, plain and as JSON.
    let list = s.run(["mount"]).ok();
    assert_eq!(list.trim(), format!("{} {path}", &id[..12]));
    let json: serde_json::Value =
        serde_json::from_str(&s.run(["mount", "--format", "json"]).ok()).expect("json");
    assert_eq!(json[0]["id"], id.as_str());
    assert_eq!(json[0]["mountpoint"], path.as_str());
    // A second hold; a run and a stop leave the user's mount in place.
    assert_eq!(s.run(["container", "mount", "m"]).ok().trim(), path);
    s.run(["start", "m"]).ok();
    s.run(["stop", "-t", "0", "m"]).ok();
    assert!(mount_table(&s).contains(&path));
    assert_eq!(
        cat_mounted(&s, &format!("{path}/skiff/hello.txt")),
        "hello from skiff-test\n"
    );
    // One umount gives one hold back; the second unmounts.
    assert_eq!(s.run(["umount", "m"]).ok().trim(), id);
    assert!(mount_table(&s).contains(&path));
    s.run(["container", "unmount", "m"]).ok();
    assert!(!mount_table(&s).contains(&path), "still mounted");
    assert_eq!(s.run(["mount"]).ok().trim(), "");
    // --force drops every hold; a running container keeps its root.
    s.run(["mount", "m"]).ok();
    s.run(["mount", "m"]).ok();
    s.run(["start", "m"]).ok();
    s.run(["umount", "-f", "m"]).ok();
    assert!(
        mount_table(&s).contains(&path),
        "the running container's root"
    );
    assert_eq!(
        exec(&s, "m", &["cat", "/skiff/hello.txt"]),
        "hello from skiff-test"
    );
    s.run(["stop", "-t", "0", "m"]).ok();
    assert!(!mount_table(&s).contains(&path));
    // Removing a mounted container leaves no mount.
    s.run(["mount", "m"]).ok();
    s.run(["rm", "-f", "m"]).ok();
    assert!(!mount_table(&s).contains(&path));
    assert_eq!(rootfs_mounts(&s), Vec::<String>::new());
    one_line_error(s.run(["mount", "nosuch"]), "nosuch");
    one_line_error(s.run(["umount", "nosuch"]), "nosuch");
}

#[test]
fn mount_and_umount_images() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let path = s.run(["image", "mount", IMAGE]).ok().trim().to_string();
    assert!(path.starts_with('/'), "{path}");
    assert_eq!(
        cat_mounted(&s, &format!("{path}/skiff/hello.txt")),
        "hello from skiff-test\n"
    );
    assert_eq!(
        cat_mounted(&s, &format!("{path}/etc/passwd"))
            .lines()
            .next(),
        Some("root:x:0:0:root:/root:/bin/sh")
    );
    // Read-only.
    let touch = if is_root() {
        s.program("touch").arg(format!("{path}/new")).run()
    } else {
        s.run(["unshare", "touch", &format!("{path}/new")])
    };
    assert!(!touch.success(), "{touch}");
    let list = s.run(["image", "mount"]).ok();
    assert!(
        list.contains(&path) && list.contains("skiff-test/busybox"),
        "{list}"
    );
    // A second hold; removing the image is refused while it is mounted.
    assert_eq!(s.run(["image", "mount", IMAGE]).ok().trim(), path);
    let err = s.run(["rmi", IMAGE]);
    assert!(!err.success() && err.stderr().contains("mounted"), "{err}");
    s.run(["image", "exists", IMAGE]).ok();
    s.run(["image", "umount", IMAGE]).ok();
    assert!(mount_table(&s).contains(&path));
    s.run(["image", "unmount", IMAGE]).ok();
    assert!(!mount_table(&s).contains(&path), "still mounted");
    assert_eq!(s.run(["image", "mount"]).ok().trim(), "");
    // Not mounted: nothing to do, nothing said (podman).
    assert_eq!(s.run(["image", "umount", IMAGE]).ok(), "");
    // rmi -f unmounts.
    s.run(["image", "mount", IMAGE]).ok();
    s.run(["rmi", "-f", IMAGE]).ok();
    assert!(!mount_table(&s).contains(&path));
    s.run(["image", "exists", IMAGE]).fails(1);
    // system reset unmounts containers and images.
    s.run(["pull", "-q", IMAGE]).ok();
    s.run(["image", "mount", IMAGE]).ok();
    sleeper(&s, "r", &[], false);
    let cpath = s.run(["mount", "r"]).ok().trim().to_string();
    s.run(["system", "reset", "-f"]).ok();
    let table = mount_table(&s);
    assert!(
        !table.contains(&cpath) && !table.contains("/image-mounts/"),
        "{table}"
    );
}

#[test]
fn export_writes_the_image_files_and_the_changes() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let host = scratch_dir("cp-export");
    let f = host.path().join("added.txt");
    write(&f, "added by cp\n");
    sleeper(&s, "x", &[], false);
    s.run(["cp", &f.display().to_string(), "x:/added.txt"]).ok();
    let out = s.run(["export", "x"]);
    assert!(out.success(), "{out}");
    let entries = tar_entries(&out.stdout_bytes);
    assert_eq!(
        content_of(&entries, "skiff/hello.txt"),
        Some("hello from skiff-test\n")
    );
    assert_eq!(content_of(&entries, "added.txt"), Some("added by cp\n"));
    assert!(entries.iter().any(|e| e.0 == "bin/busybox"), "{entries:?}");
    let file = host.path().join("x.tar");
    s.run([
        "container",
        "export",
        "-o",
        &file.display().to_string(),
        "x",
    ])
    .ok();
    let entries = tar_entries(&std::fs::read(&file).expect("export file"));
    assert_eq!(content_of(&entries, "added.txt"), Some("added by cp\n"));
    // A failure leaves no file behind.
    let none = host.path().join("none.tar");
    one_line_error(
        s.run(["export", "-o", &none.display().to_string(), "nosuch"]),
        "nosuch",
    );
    assert!(!none.exists());
    assert_eq!(count_entries(host.path()), 2, "no temporary file left");
    s.run(["rm", "-f", "x"]).ok();
    assert_eq!(rootfs_mounts(&s), Vec::<String>::new());
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let host = scratch_dir("cp-bad");
    let f = host.path().join("f");
    write(&f, "f\n");
    let fp = f.display().to_string();
    let gone = host.path().join("gone").display().to_string();
    sleeper(&s, "b", &[], false);
    sleeper(&s, "b2", &[], false);
    one_line_error(s.run(["cp", &fp, "nosuch:/tmp"]), "nosuch");
    one_line_error(s.run(["cp", "nosuch:/etc/passwd", &gone]), "nosuch");
    one_line_error(s.run(["cp", "b:/no/such/file", &gone]), "no such file");
    one_line_error(s.run(["cp", &fp, "b:/no/such/dir/f"]), "no such file");
    one_line_error(s.run(["cp", &fp, &gone]), "CONTAINER:PATH");
    one_line_error(s.run(["cp", "-", "-"]), "CONTAINER:PATH");
    one_line_error(s.run(["cp", "b:/no/such", "b2:/tmp"]), "no such file");
    one_line_error(
        s.run(["cp", &gone, "b:/tmp"]),
        "could not be found on the host",
    );
    one_line_error(s.run(["cp", "b:/skiff", &fp]), "directory");
    one_line_error(s.run(["cp", &fp, "b:/skiff/hello.txt/"]), "not a directory");
    assert!(!Path::new(&gone).exists());
    assert_eq!(read(&f), "f\n");
    assert_eq!(count_entries(host.path()), 1);
    assert_eq!(rootfs_mounts(&s), Vec::<String>::new());
    // The container still has its files as they were.
    let out = s.run(["cp", "b:/skiff/hello.txt", "-"]);
    assert_eq!(
        content_of(&tar_entries(&out.stdout_bytes), "hello.txt"),
        Some("hello from skiff-test\n")
    );
    // Between two containers, both ways round.
    s.run(["cp", "b:/skiff/hello.txt", "b2:/tmp/from-b"]).ok();
    let out = s.run(["cp", "b2:/tmp/from-b", "-"]);
    assert_eq!(
        content_of(&tar_entries(&out.stdout_bytes), "from-b"),
        Some("hello from skiff-test\n")
    );
    s.run(["rm", "-f", "b", "b2"]).ok();
}
