//! `diff`, `commit` and `import`: what a container changed (added, changed,
//! deleted, an emptied and remade directory), a committed image that runs
//! with the change and shares its base's layers, its config and history,
//! a commit of a running (paused) container, a push of a committed image,
//! an import of a tar made here, a container with its own id mappings, the
//! vfs driver, and bad input that stores nothing. Root and rootless.

mod common;

use std::io::Write;

use common::*;

const IMAGE: &str = "skiff-test/busybox";

/// What the container of [`changed_container`] does to the image's files:
/// adds /etc/new, appends to /etc/passwd, removes /etc/group and the
/// directory /skiff/dir0750, empties /home and makes it again with one
/// new file.
const CHANGES: &str = "echo new > /etc/new && echo 'extra:x:5:5::/:/bin/sh' >> /etc/passwd \
     && rm /etc/group && rm -rf /skiff/dir0750 && rm -rf /home && mkdir /home \
     && echo fresh > /home/fresh";

/// `diff` of [`CHANGES`].
const DIFF: &[&str] = &[
    "C /etc",
    "D /etc/group",
    "A /etc/new",
    "C /etc/passwd",
    "C /home",
    "A /home/fresh",
    "D /home/skiff",
    "C /skiff",
    "D /skiff/dir0750",
];

/// Checks, run in an image made from the changes, that each shows.
const CHECK: &str =
    "cat /etc/new; grep -c extra /etc/passwd; test -e /etc/group || echo no-group; \
     test -e /skiff/dir0750 || echo no-dir; ls /home";
const CHECKED: &str = "new\n1\nno-group\nno-dir\nfresh\n";

/// Run container `name` (with `flags`) making [`CHANGES`], to its end.
fn changed_container(s: &Skiff, name: &str, flags: &[&str]) {
    let mut argv = vec!["run", "--name", name];
    argv.extend_from_slice(flags);
    argv.extend([IMAGE, "sh", "-c", CHANGES]);
    s.run(argv).ok();
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// Full image ids in the store, sorted.
fn image_ids(s: &Skiff) -> Vec<String> {
    let out = s.run(["images", "-a", "-q", "--no-trunc"]).ok();
    let mut ids: Vec<String> = out.lines().map(str::to_owned).collect();
    ids.sort();
    ids
}

fn blob_count(s: &Skiff) -> usize {
    std::fs::read_dir(s.root().join("blobs/sha256"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn image_inspect(s: &Skiff, image: &str, format: &str) -> String {
    s.run(["image", "inspect", "--format", format, image])
        .ok()
        .trim()
        .to_owned()
}

fn layers(s: &Skiff, image: &str) -> Vec<String> {
    serde_json::from_str(&image_inspect(s, image, "{{json .RootFS.Layers}}"))
        .expect("layers as JSON")
}

/// The one line a failure prints.
#[track_caller]
fn one_error_line(out: Output) -> String {
    let err = out.fails(125);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("Error: "), "{err}");
    err
}

#[test]
fn diff_lists_additions_changes_and_deletions() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    // Nothing changed yet: a created container has no changes.
    s.run(["create", "--name", "fresh", IMAGE, "true"]).ok();
    assert_eq!(s.run(["diff", "fresh"]).ok(), "");
    changed_container(&s, "c", &[]);
    let out = s.run(["diff", "c"]).ok();
    assert_eq!(lines(&out), DIFF, "{out}");
    assert_eq!(s.run(["container", "diff", "c"]).ok(), out);
    let json: serde_json::Value =
        serde_json::from_str(&s.run(["diff", "--format", "json", "c"]).ok()).expect("JSON");
    assert_eq!(
        json["added"],
        serde_json::json!(["/etc/new", "/home/fresh"])
    );
    assert_eq!(
        json["deleted"],
        serde_json::json!(["/etc/group", "/home/skiff", "/skiff/dir0750"])
    );
    assert_eq!(json["changed"].as_array().map(Vec::len), Some(4));

    // An image: its top layer against the layers below.
    fixtures().push(busybox_registry(), "whiteout");
    s.run(["pull", "-q", "skiff-test/whiteout"]).ok();
    let image = s.run(["diff", "skiff-test/whiteout"]).ok();
    let image = lines(&image);
    for want in [
        "D /data/a",
        "C /opq",
        "A /opq/new",
        "D /opq/old",
        "D /opq/sub",
    ] {
        assert!(image.contains(&want), "{want} in {image:?}");
    }
    assert!(!image.iter().any(|l| l.contains("/data/b")), "{image:?}");

    one_error_line(s.run(["diff", "no-such-thing"]));
    one_error_line(s.run(["container", "diff", IMAGE]));
    one_error_line(s.run(["diff", "--format", "table", "c"]));
    s.run(["rm", "-a"]).ok();
}

#[test]
fn a_committed_image_runs_with_the_changes_on_the_shared_base_layers() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    changed_container(&s, "c", &[]);
    let out = s
        .run([
            "commit",
            "-q",
            "-m",
            "my message",
            "-a",
            "Jane Doe <jane@example.org>",
            "-c",
            r#"CMD ["/bin/sh", "-c", "echo from cmd $FOO"]"#,
            "--change",
            "ENV FOO=bar",
            "-c",
            "LABEL committed=yes",
            "c",
            "committed",
        ])
        .ok();
    let id = out.trim();
    assert_eq!(id.len(), 64, "{out}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{out}");
    assert_eq!(
        image_inspect(&s, "committed", "{{.Id}}"),
        id,
        "the name is localhost/committed:latest"
    );
    assert_eq!(
        image_inspect(&s, "localhost/committed:latest", "{{.Id}}"),
        id
    );

    // The changes, deletions included, are in the image.
    let seen = s.run(["run", "--rm", "committed", "sh", "-c", CHECK]).ok();
    assert_eq!(seen, CHECKED);
    // The config: CMD and ENV from --change, the rest from the base.
    assert_eq!(s.run(["run", "--rm", "committed"]).ok(), "from cmd bar\n");
    assert_eq!(
        image_inspect(&s, "committed", "{{.Author}}"),
        "Jane Doe <jane@example.org>"
    );
    assert_eq!(image_inspect(&s, "committed", "{{.Comment}}"), "my message");
    assert_eq!(
        image_inspect(&s, "committed", "{{index .Config.Labels \"committed\"}}"),
        "yes"
    );
    assert_eq!(
        image_inspect(
            &s,
            "committed",
            "{{index .Config.Labels \"org.skiff.test\"}}"
        ),
        "yes"
    );
    assert_eq!(
        image_inspect(&s, "committed", "{{.Config.WorkingDir}}"),
        "/skiff"
    );
    let env = image_inspect(&s, "committed", "{{json .Config.Env}}");
    assert!(
        env.contains("\"FOO=bar\"") && env.contains("SKIFF_TEST=1"),
        "{env}"
    );

    // The base's layers are shared, one layer more.
    let base = layers(&s, IMAGE);
    let mine = layers(&s, "committed");
    assert_eq!(mine.len(), base.len() + 1, "{mine:?}");
    assert_eq!(mine[..base.len()], base[..]);
    let layer_dirs = std::fs::read_dir(s.root().join("layers"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(layer_dirs, base.len() + 1, "base layers are not copied");

    // History: the new entry on top, with the message.
    let history = s
        .run([
            "history",
            "--format",
            "{{.Comment}}|{{.CreatedBy}}",
            "committed",
        ])
        .ok();
    let top = history.lines().next().expect("a history line");
    assert!(top.starts_with("my message|sh -c echo new"), "{history}");
    let base_history = s.run(["history", "-q", IMAGE]).ok();
    assert_eq!(
        history.lines().count(),
        base_history.lines().count() + 1,
        "{history}"
    );

    // A second commit of the same container with the docker format, no
    // name: a dangling image of the same content.
    let docker = s.run(["commit", "-q", "-f", "docker", "c"]).ok();
    let docker = docker.trim();
    assert_ne!(docker, id);
    assert_eq!(
        s.run(["run", "--rm", docker, "sh", "-c", CHECK]).ok(),
        CHECKED
    );
    s.run(["rm", "-a"]).ok();
    assert!(mounts_of(&s).is_empty(), "{:?}", mounts_of(&s));
}

#[test]
fn a_running_container_is_paused_for_the_commit_and_runs_on() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "live",
        IMAGE,
        "sh",
        "-c",
        "echo running > /ran && exec sleep 1000",
    ])
    .ok();
    wait_for(
        || s.run(["diff", "live"]).ok().contains("A /ran"),
        "the container's file",
    );
    let id = s.run(["commit", "-q", "live", "snap"]).ok();
    assert_eq!(id.trim().len(), 64);
    assert_eq!(
        inspect_container(&s, "live", "{{.State.Status}}"),
        "running"
    );
    let id = s
        .run(["commit", "-q", "--pause=false", "live", "snap2"])
        .ok();
    assert_eq!(id.trim().len(), 64);
    assert_eq!(
        inspect_container(&s, "live", "{{.State.Status}}"),
        "running"
    );
    assert_eq!(
        s.run(["run", "--rm", "snap", "cat", "/ran"]).ok(),
        "running\n"
    );
    s.run(["rm", "-f", "-t", "0", "live"]).ok();
}

#[test]
fn a_committed_image_is_pushed_and_pulled_back() {
    if !containers_ready(&[]) {
        return;
    }
    let reg = Registry::start(Auth::None);
    fixtures().push(&reg, "busybox");
    let s = Skiff::with_registry(&reg);
    s.run(["pull", "-q", IMAGE]).ok();
    changed_container(&s, "c", &[]);
    s.run(["commit", "-q", "c", "pushme"]).ok();
    let dest = format!("{}/skiff-test/committed:v1", reg.addr());
    s.run(["push", "-q", "pushme", &dest]).ok();
    let info = reg.inspect("committed:v1");
    assert_eq!(
        info["Layers"].as_array().map(Vec::len),
        Some(layers(&s, IMAGE).len() + 1),
        "{info}"
    );

    let other = Skiff::with_registry(&reg);
    other.run(["pull", "-q", &dest]).ok();
    let seen = other.run(["run", "--rm", &dest, "sh", "-c", CHECK]).ok();
    assert_eq!(seen, CHECKED);
    s.run(["rm", "-a"]).ok();
}

/// A gzip-compressed tar of a small root: busybox as /bin/busybox and
/// /bin/sh, /etc/hello, and an empty /tmp.
fn rootfs_tar() -> Vec<u8> {
    let busybox = std::fs::read("/bin/busybox").expect("busybox-static in /bin/busybox");
    let mut b = tar::Builder::new(Vec::new());
    let header = |kind: tar::EntryType, mode: u32, size: usize| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size as u64);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h
    };
    let dir = |b: &mut tar::Builder<Vec<u8>>, name: &str| {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        b.append_data(&mut h, name, std::io::empty())
            .expect("append dir");
    };
    dir(&mut b, "bin/");
    dir(&mut b, "etc/");
    dir(&mut b, "tmp/");
    let mut h = header(tar::EntryType::Regular, 0o755, busybox.len());
    b.append_data(&mut h, "bin/busybox", &busybox[..])
        .expect("append busybox");
    let mut h = header(tar::EntryType::Symlink, 0o777, 0);
    b.append_link(&mut h, "bin/sh", "busybox")
        .expect("append sh");
    let hello = b"hello import\n";
    let mut h = header(tar::EntryType::Regular, 0o644, hello.len());
    b.append_data(&mut h, "etc/hello", &hello[..])
        .expect("append hello");
    let tar = b.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("gzip");
    gz.finish().expect("gzip")
}

#[test]
fn import_makes_a_one_layer_image_of_a_tar() {
    if !containers_ready(&[]) {
        return;
    }
    let s = Skiff::new();
    let path = s.dir().join("rootfs.tar.gz");
    std::fs::write(&path, rootfs_tar()).expect("write the tar");
    let out = s
        .cmd(["import", "-q", "-m", "from a tar", "-c"])
        .arg(r#"CMD ["/bin/sh", "-c", "cat /etc/hello"]"#)
        .arg(&path)
        .arg("imported")
        .run()
        .ok();
    let id = out.trim().to_owned();
    assert_eq!(id.len(), 64, "{out}");
    assert_eq!(layers(&s, "imported").len(), 1);
    assert_eq!(image_inspect(&s, "imported", "{{.Comment}}"), "from a tar");
    assert_eq!(s.run(["run", "--rm", "imported"]).ok(), "hello import\n");
    // Without --change there is no command, and standard input works.
    let plain = s
        .cmd(["image", "import", "-q", "-", "plain"])
        .stdin(rootfs_tar())
        .run()
        .ok();
    assert_eq!(plain.trim().len(), 64, "{plain}");
    assert_eq!(image_inspect(&s, "plain", "{{json .Config.Cmd}}"), "null");
    assert_eq!(
        s.run(["run", "--rm", "plain", "/bin/busybox", "cat", "/etc/hello"])
            .ok(),
        "hello import\n"
    );
}

#[test]
fn bad_input_stores_nothing() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run(["create", "--name", "c", IMAGE, "true"]).ok();
    let garbage = s.dir().join("garbage.tar");
    std::fs::write(&garbage, vec![b'x'; 4096]).expect("write");
    let xz = s.dir().join("data.tar.xz");
    std::fs::write(&xz, [0xfd, b'7', b'z', b'X', b'Z', 0, 0, 0]).expect("write");
    let empty = s.dir().join("empty.tar");
    std::fs::write(&empty, vec![0u8; 1024]).expect("write");
    let before = (image_ids(&s), blob_count(&s));
    let g = garbage.display().to_string();
    let x = xz.display().to_string();
    let e = empty.display().to_string();
    for (args, why) in [
        (vec!["commit", "no-such-container"], "no such container"),
        (vec!["commit", "-c", "FOO bar", "c"], "unknown instruction"),
        (vec!["commit", "-c", "ENV A", "c"], "has no value"),
        (vec!["commit", "-f", "v1", "c"], "unrecognized image format"),
        (vec!["commit", "--squash", "c"], "not supported"),
        (vec!["commit", "c", "Bad Name"], "invalid image name"),
        (vec!["import", &g], "not a tar archive"),
        (vec!["import", &x, "x"], "xz"),
        (vec!["import", &e, "x"], "holds no files"),
        (vec!["import", "/no/such/file.tar"], "/no/such/file.tar"),
        (vec!["import", "-c", "RUN true", &g], "not supported"),
    ] {
        let err = one_error_line(s.run(&args));
        assert!(err.contains(why), "{args:?}: {err}");
    }
    assert_eq!((image_ids(&s), blob_count(&s)), before);
    s.run(["rm", "-a"]).ok();
}

#[test]
fn owners_are_the_containers_own_with_auto_user_namespaces() {
    if !containers_ready(&[]) {
        return;
    }
    if is_root() {
        let listed = std::fs::read_to_string("/etc/subuid")
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("containers:"));
        if !listed {
            skip("no subordinate ids for the user \"containers\" in /etc/subuid");
            return;
        }
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "--name",
        "auto",
        "--userns",
        "auto",
        IMAGE,
        "sh",
        "-c",
        "echo r > /etc/by-root && echo u > /home/skiff/by-user && chown 1000:1000 /home/skiff/by-user",
    ])
    .ok();
    let out = s.run(["diff", "auto"]).ok();
    assert!(out.contains("A /etc/by-root"), "{out}");
    assert!(
        !out.contains("C /home\n"),
        "an untouched directory's owner reads back unchanged: {out}"
    );
    s.run(["commit", "-q", "auto", "shifted"]).ok();
    let owners = s
        .run([
            "run",
            "--rm",
            "shifted",
            "stat",
            "-c",
            "%u:%g",
            "/etc/by-root",
            "/home/skiff/by-user",
            "/etc",
        ])
        .ok();
    assert_eq!(owners, "0:0\n1000:1000\n0:0\n");
    s.run(["rm", "-a"]).ok();
}

#[test]
fn vfs_stores_diff_and_commit_the_same_way() {
    if !containers_ready(&[]) {
        return;
    }
    let s = Skiff::with_registry(busybox_registry());
    s.run(["--storage-driver", "vfs", "pull", "-q", IMAGE]).ok();
    assert_eq!(
        s.run(["info", "--format", "{{.store.graphDriverName}}"])
            .ok()
            .trim(),
        "vfs"
    );
    changed_container(&s, "c", &[]);
    let out = s.run(["diff", "c"]).ok();
    assert_eq!(lines(&out), DIFF, "{out}");
    s.run(["commit", "-q", "c", "committed"]).ok();
    let seen = s.run(["run", "--rm", "committed", "sh", "-c", CHECK]).ok();
    assert_eq!(seen, CHECKED);
    assert_eq!(layers(&s, "committed").len(), layers(&s, IMAGE).len() + 1);
    s.run(["rm", "-a"]).ok();
}

#[test]
fn export_then_import_round_trips_a_container() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    changed_container(&s, "changed", &[]);
    let tar = s.dir().join("changed.tar");
    let tar_arg = tar.to_str().expect("utf-8");
    s.run(["export", "-o", tar_arg, "changed"]).ok();
    let id = s
        .run([
            "import",
            "-q",
            "--change",
            &format!("CMD [\"/bin/sh\", \"-c\", \"{CHECK}\"]"),
            tar_arg,
            "roundtrip",
        ])
        .ok();
    assert_eq!(id.trim().len(), 64, "{id}");
    assert_eq!(layers(&s, "roundtrip").len(), 1, "an import is one layer");
    assert_eq!(s.run(["run", "--rm", "roundtrip"]).ok(), CHECKED);
    // The image's own files came along, metadata included.
    let listing = "stat -c '%n %a %u' /skiff/private /skiff/suid; cat /skiff/hello.txt";
    assert_eq!(
        s.run(["run", "--rm", "roundtrip", "sh", "-c", listing])
            .ok(),
        s.run(["run", "--rm", IMAGE, "sh", "-c", listing]).ok()
    );
    s.run(["rm", "changed"]).ok();
}
