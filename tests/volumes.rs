//! Volumes and the mounts a container asks for: named and anonymous
//! volumes, copy-up, bind mounts with `:ro` and `:U`, tmpfs, devpts,
//! `--volumes-from`, `--read-only`, and the `volume` commands. Root and
//! rootless.

mod common;

use common::*;

const IMAGE: &str = "skiff-test/busybox";
const VOLUMES_IMAGE: &str = "skiff-test/volumes";

/// An installation with busybox and the volumes fixture pulled.
fn volume_skiff() -> Skiff {
    static PUSHED: std::sync::Once = std::sync::Once::new();
    let reg = busybox_registry();
    PUSHED.call_once(|| fixtures().push(reg, "volumes"));
    let s = Skiff::with_registry(reg);
    s.run(["pull", "-q", IMAGE]).ok();
    s.run(["pull", "-q", VOLUMES_IMAGE]).ok();
    s
}

fn volumes(s: &Skiff) -> Vec<String> {
    let out = s.run(["volume", "ls", "-q"]).ok();
    out.lines().map(str::to_string).collect()
}

/// `ARGS` run on the host as skiff sees it: inside its user namespace
/// when rootless (`skiff unshare`).
fn as_skiff_sees(s: &Skiff, args: &[&str]) -> String {
    if is_root() {
        Cmd::new(args[0]).args(&args[1..]).run().ok()
    } else {
        let mut argv = vec!["unshare"];
        argv.extend_from_slice(args);
        s.run(argv).ok()
    }
}

/// `stat -c FORMAT PATH` as skiff sees the host.
fn host_stat(s: &Skiff, format: &str, path: &str) -> String {
    as_skiff_sees(s, &["stat", "-c", format, path])
        .trim()
        .to_string()
}

/// Nothing of the installation is left running or mounted.
fn assert_nothing_left(s: &Skiff) {
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
    wait_for(
        || processes_of(s).is_empty(),
        "no process of the installation",
    );
    assert_eq!(mounts_of(s), Vec::<String>::new());
}

#[test]
fn a_named_volume_is_shared_kept_and_survives_its_containers() {
    if !containers_ready(&[]) {
        return;
    }
    let s = volume_skiff();
    assert_eq!(
        s.run(["volume", "create", "--label", "team=a", "data"])
            .ok()
            .trim(),
        "data"
    );
    s.run([
        "run",
        "--rm",
        "-v",
        "data:/data",
        IMAGE,
        "sh",
        "-c",
        "echo first > /data/f",
    ])
    .ok();
    // Another container reads it; :ro is enforced.
    let out = s
        .run([
            "run",
            "--rm",
            "-v",
            "data:/data:ro",
            IMAGE,
            "sh",
            "-c",
            "cat /data/f; echo x > /data/g || echo refused",
        ])
        .ok();
    assert_eq!(out, "first\nrefused\n");
    // Through --mount as well.
    let out = s
        .run([
            "run",
            "--rm",
            "--mount",
            "type=volume,source=data,target=/v,readonly",
            IMAGE,
            "sh",
            "-c",
            "cat /v/f; touch /v/h || echo refused",
        ])
        .ok();
    assert_eq!(out, "first\nrefused\n");
    // A running container holds it; kill -9 of its monitor, of the CLI
    // and a wiped run directory (a reboot) lose nothing.
    s.run([
        "run",
        "-d",
        "--name",
        "writer",
        "-v",
        "data:/data",
        IMAGE,
        "sh",
        "-c",
        "echo second >> /data/f; sync; sleep 1000",
    ])
    .ok();
    wait_for(
        || s.run(["exec", "writer", "cat", "/data/f"]).stdout() == "first\nsecond\n",
        "the second line",
    );
    let inspect = s.run(["inspect", "writer"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&inspect).expect("json");
    let m = &doc[0]["Mounts"][0];
    assert_eq!(m["Type"], "volume", "{m}");
    assert_eq!(m["Name"], "data");
    assert_eq!(m["Destination"], "/data");
    assert_eq!(m["RW"], true);
    assert_eq!(doc[0]["HostConfig"]["Binds"][0], "data:/data");
    kill_monitor(&s, "writer");
    simulate_reboot(&s);
    s.run(["rm", "-f", "writer"]).ok();
    let out = s
        .run(["run", "--rm", "-v", "data:/data", IMAGE, "cat", "/data/f"])
        .ok();
    assert_eq!(out, "first\nsecond\n");
    // Its record.
    let doc: serde_json::Value =
        serde_json::from_str(&s.run(["volume", "inspect", "data"]).ok()).expect("json");
    assert_eq!(doc[0]["Name"], "data");
    assert_eq!(doc[0]["Driver"], "local");
    assert_eq!(doc[0]["Labels"]["team"], "a");
    let mountpoint = doc[0]["Mountpoint"]
        .as_str()
        .expect("mountpoint")
        .to_string();
    assert_eq!(
        as_skiff_sees(&s, &["cat", &format!("{mountpoint}/f")]),
        "first\nsecond\n"
    );
    assert_eq!(
        s.run(["volume", "ls", "--filter", "label=team=a", "-q"])
            .ok(),
        "data\n"
    );
    assert_eq!(
        s.run(["volume", "ls", "--filter", "label=team=b", "-q"])
            .ok(),
        ""
    );
    assert_eq!(
        s.run(["volume", "ls", "--format", "{{.Name}} {{.Driver}}"])
            .ok(),
        "data local\n"
    );
    s.run(["volume", "exists", "data"]).ok();
    s.run(["volume", "exists", "nope"]).fails(1);
    assert_eq!(s.run(["volume", "rm", "data"]).ok(), "data\n");
    assert!(volumes(&s).is_empty());
    assert_nothing_left(&s);
}

#[test]
fn a_new_volume_is_filled_from_the_image_and_anonymous_ones_go_with_rm_v() {
    if !containers_ready(&[]) {
        return;
    }
    let s = volume_skiff();
    // Copy-up into a new named volume: contents, modes and owners.
    let listing = "cd /skiff && stat -c '%n %a %u' hello.txt private dir0750 suid && cat hello.txt";
    let image_view = s.run(["run", "--rm", IMAGE, "sh", "-c", listing]).ok();
    let volume_view = s
        .run(["run", "--rm", "-v", "cu:/skiff", IMAGE, "sh", "-c", listing])
        .ok();
    assert_eq!(volume_view, image_view);
    assert!(image_view.contains("private 600 0"), "{image_view}");
    // Once used, a volume is the user's: changes stay and the image does
    // not come back.
    s.run([
        "run",
        "--rm",
        "-v",
        "cu:/skiff",
        IMAGE,
        "sh",
        "-c",
        "rm /skiff/hello.txt",
    ])
    .ok();
    s.run([
        "run",
        "--rm",
        "-v",
        "cu:/skiff",
        IMAGE,
        "test",
        "!",
        "-e",
        "/skiff/hello.txt",
    ])
    .ok();
    // nocopy leaves a new volume empty.
    assert_eq!(
        s.run([
            "run",
            "--rm",
            "-v",
            "empty:/skiff:nocopy",
            IMAGE,
            "ls",
            "-A",
            "/skiff"
        ])
        .ok(),
        ""
    );
    // The image's VOLUMEs become anonymous volumes, filled from the image.
    s.run([
        "create",
        "--name",
        "anon",
        VOLUMES_IMAGE,
        "cat",
        "/skiff/hello.txt",
    ])
    .ok();
    let anon: Vec<String> = volumes(&s)
        .into_iter()
        .filter(|v| v != "cu" && v != "empty")
        .collect();
    assert_eq!(anon.len(), 2, "{anon:?}");
    assert!(anon.iter().all(|v| v.len() == 64));
    assert_eq!(
        s.run(["volume", "ls", "--filter", "anonymous=true", "-q"])
            .ok()
            .lines()
            .count(),
        2
    );
    assert_eq!(
        s.run(["start", "-a", "anon"]).ok(),
        "hello from skiff-test\n"
    );
    // A user's mount replaces the image's volume at that place.
    s.run([
        "create",
        "--name",
        "mine",
        "-v",
        "cu:/skiff",
        VOLUMES_IMAGE,
        "true",
    ])
    .ok();
    assert_eq!(volumes(&s).len(), 5, "one more anonymous volume, for /data");
    // rm without -v keeps them; rm -v removes the anonymous ones only.
    s.run(["rm", "-v", "mine"]).ok();
    let mut left = volumes(&s);
    left.sort();
    assert_eq!(left.len(), 4);
    assert!(left.contains(&"cu".to_string()));
    s.run(["rm", "anon"]).ok();
    assert_eq!(volumes(&s).len(), 4, "rm without -v keeps them");
    s.run(["volume", "prune", "-f"]).ok();
    assert!(volumes(&s).is_empty());
    // run --rm removes its anonymous volumes.
    s.run(["run", "--rm", "-v", "/scratch", VOLUMES_IMAGE, "true"])
        .ok();
    assert!(volumes(&s).is_empty(), "{:?}", volumes(&s));
    assert_nothing_left(&s);
}

#[test]
fn volumes_in_use_are_kept_and_prune_removes_only_unused_ones() {
    if !containers_ready(&[]) {
        return;
    }
    let s = volume_skiff();
    for v in ["used", "idle", "kept"] {
        s.run(["volume", "create", "--label", &format!("name={v}"), v])
            .ok();
    }
    s.run(["create", "--name", "c", "-v", "used:/u", IMAGE, "true"])
        .ok();
    let err = s.run(["volume", "rm", "used"]).fails(2);
    assert!(err.starts_with("Error: volume used is being used"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    s.run(["volume", "rm", "nope"]).fails(1);
    s.run(["volume", "prune", "-f", "--filter", "label!=name=kept"])
        .ok();
    let mut left = volumes(&s);
    left.sort();
    assert_eq!(left, ["kept", "used"]);
    // --force removes the container first.
    assert_eq!(
        s.run(["volume", "rm", "-f", "-t", "-1", "used"]).ok(),
        "used\n"
    );
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
    assert_eq!(volumes(&s), ["kept"]);
    // The name is taken; --ignore accepts that.
    s.run(["volume", "create", "kept"])
        .fails_with(125, "already exists");
    s.run(["volume", "create", "--ignore", "kept"]).ok();
    s.run(["volume", "rm", "-a"]).ok();
    assert!(volumes(&s).is_empty());
    assert_nothing_left(&s);
}

#[test]
fn bind_mounts_honour_ro_and_u_and_volumes_from() {
    if !containers_ready(&[]) {
        return;
    }
    let s = volume_skiff();
    let dir = s.dir().join("bind");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("host.txt"), "from the host\n").expect("write");
    let bind = dir.display().to_string();
    let out = s
        .run([
            "run",
            "--rm",
            "-v",
            &format!("{bind}:/b:ro"),
            IMAGE,
            "sh",
            "-c",
            "cat /b/host.txt; touch /b/x || echo refused",
        ])
        .ok();
    assert_eq!(out, "from the host\nrefused\n");
    // :U gives the source to the container's user, as the host sees it.
    let id = s
        .run([
            "run",
            "--rm",
            "-u",
            "1234:555",
            "-v",
            &format!("{bind}:/b:U"),
            IMAGE,
            "sh",
            "-c",
            "id -u; touch /b/mine && stat -c %u:%g /b/host.txt",
        ])
        .ok();
    assert_eq!(id, "1234\n1234:555\n");
    assert_eq!(host_stat(&s, "%u:%g", &bind), "1234:555");
    assert_eq!(host_stat(&s, "%u:%g", &format!("{bind}/mine")), "1234:555");
    // A propagation option reaches the mount: a mount made below the
    // source on the host shows inside with rslave, not with rprivate.
    s.run([
        "create",
        "--name",
        "prop",
        "-v",
        &format!("{bind}:/b:rslave"),
        IMAGE,
        "true",
    ])
    .ok();
    assert_eq!(
        inspect_container(&s, "prop", "{{range .Mounts}}{{.Propagation}}{{end}}"),
        "rslave"
    );
    s.run(["rm", "prop"]).ok();
    let shared = s.dir().join("shared");
    std::fs::create_dir_all(shared.join("sub")).expect("mkdir");
    let sh = shared.display().to_string();
    as_skiff_sees(
        &s,
        &[
            "sh",
            "-c",
            &format!("mount --bind {sh} {sh} && mount --make-shared {sh}"),
        ],
    );
    for (mode, seen) in [("rslave", "1"), ("rprivate", "0")] {
        s.run([
            "run",
            "-d",
            "--name",
            "prop",
            "-v",
            &format!("{sh}:/b:{mode}"),
            IMAGE,
            "sleep",
            "1000",
        ])
        .ok();
        as_skiff_sees(&s, &["mount", "-t", "tmpfs", "none", &format!("{sh}/sub")]);
        let out = s
            .run(["exec", "prop", "grep", "-c", " /b/sub ", "/proc/mounts"])
            .stdout();
        as_skiff_sees(&s, &["umount", &format!("{sh}/sub")]);
        assert_eq!(out.trim(), seen, "{mode}");
        s.run(["rm", "-f", "-t", "0", "prop"]).ok();
    }
    as_skiff_sees(&s, &["umount", &sh]);
    // --volumes-from takes the other container's volumes and binds, :ro
    // overriding their access.
    s.run([
        "create",
        "--name",
        "src",
        "-v",
        "shared:/shared",
        "-v",
        &format!("{bind}:/b"),
        IMAGE,
        "true",
    ])
    .ok();
    s.run([
        "run",
        "--rm",
        "-v",
        "shared:/shared",
        IMAGE,
        "sh",
        "-c",
        "echo s > /shared/s",
    ])
    .ok();
    let out = s
        .run([
            "run",
            "--rm",
            "--volumes-from",
            "src:ro",
            IMAGE,
            "sh",
            "-c",
            "cat /shared/s /b/host.txt; touch /shared/t || echo refused",
        ])
        .ok();
    assert_eq!(out, "s\nfrom the host\nrefused\n");
    s.run(["rm", "src"]).ok();
    s.run(["volume", "rm", "shared"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn tmpfs_mounts_volume_file_systems_and_read_only_roots() {
    if !containers_ready(&[]) {
        return;
    }
    let s = volume_skiff();
    let size = |flag: &str, value: &str, path: &str| {
        s.run(["run", "--rm", flag, value, IMAGE, "df", "-k", path])
            .ok()
            .lines()
            .nth(1)
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
            .unwrap_or_default()
    };
    assert_eq!(size("--tmpfs", "/t:size=1m,mode=1777", "/t"), "1024");
    assert_eq!(
        size("--mount", "type=tmpfs,target=/t,tmpfs-size=2m", "/t"),
        "2048"
    );
    let mode = s
        .run([
            "run",
            "--rm",
            "--tmpfs",
            "/t:mode=0710",
            IMAGE,
            "stat",
            "-c",
            "%a",
            "/t",
        ])
        .ok();
    assert_eq!(mode.trim(), "710");
    // A tmpfs volume: one file system for the containers that share it,
    // mounted while they run.
    s.run([
        "volume",
        "create",
        "--opt",
        "type=tmpfs",
        "--opt",
        "device=tmpfs",
        "--opt",
        "o=size=3m",
        "tv",
    ])
    .ok();
    s.run([
        "run",
        "-d",
        "--name",
        "a",
        "-v",
        "tv:/t",
        IMAGE,
        "sh",
        "-c",
        "echo a > /t/a; sleep 1000",
    ])
    .ok();
    wait_for(
        || s.run(["exec", "a", "cat", "/t/a"]).stdout() == "a\n",
        "a's file",
    );
    let out = s
        .run([
            "run",
            "--rm",
            "-v",
            "tv:/t",
            IMAGE,
            "sh",
            "-c",
            "cat /t/a; df -k /t | tail -1",
        ])
        .ok();
    assert!(out.starts_with("a\n"), "{out}");
    assert_eq!(
        out.lines().nth(1).and_then(|l| l.split_whitespace().nth(1)),
        Some("3072")
    );
    assert_eq!(
        s.run(["volume", "inspect", "--format", "{{.MountCount}}", "tv"])
            .ok()
            .trim(),
        "1"
    );
    s.run(["rm", "-f", "-t", "0", "a"]).ok();
    assert!(
        !mounts_of(&s).iter().any(|m| m.contains("/volumes/tv/")),
        "{:?}",
        mounts_of(&s)
    );
    // A bind volume: the host directory itself, never chowned or filled;
    // its o=ro holds in the container.
    let host = s.dir().join("bind-volume");
    std::fs::create_dir(&host).expect("mkdir");
    let owner = host_stat(&s, "%u:%g", host.to_str().expect("utf-8"));
    let device = format!("device={}", host.display());
    for (name, o) in [("bv", "o=bind"), ("bvro", "o=bind,ro")] {
        s.run([
            "volume",
            "create",
            "--opt",
            "type=none",
            "--opt",
            &device,
            "--opt",
            o,
            name,
        ])
        .ok();
    }
    // Empty and used by a user of its own: still not chowned, not filled.
    let out = s
        .run([
            "run",
            "--rm",
            "-u",
            "33",
            "-v",
            "bv:/skiff",
            IMAGE,
            "ls",
            "-A",
            "/skiff",
        ])
        .ok();
    assert_eq!(out, "", "no copy-up into a host directory");
    std::fs::write(host.join("h"), "host\n").expect("write");
    assert_eq!(
        s.run(["run", "--rm", "-v", "bv:/d", IMAGE, "cat", "/d/h"])
            .ok(),
        "host\n"
    );
    assert_eq!(host_stat(&s, "%u:%g", host.to_str().expect("utf-8")), owner);
    let out = s
        .run([
            "run",
            "--rm",
            "-v",
            "bvro:/d",
            IMAGE,
            "sh",
            "-c",
            "touch /d/x || echo refused",
        ])
        .ok();
    assert_eq!(out, "refused\n");
    assert!(!host.join("x").exists());
    s.run(["volume", "rm", "bv", "bvro"]).ok();
    // volume mount / unmount hold it too.
    let path = s.run(["volume", "mount", "tv"]).ok().trim().to_string();
    assert!(mounts_of(&s).contains(&path), "{path} {:?}", mounts_of(&s));
    s.run(["volume", "unmount", "tv"]).ok();
    assert!(!mounts_of(&s).contains(&path));
    // devpts.
    let out = s
        .run([
            "run",
            "--rm",
            "--mount",
            "type=devpts,target=/dev/pts2,mode=620",
            IMAGE,
            "grep",
            "/dev/pts2",
            "/proc/mounts",
        ])
        .ok();
    assert!(out.contains("devpts") && out.contains("mode=620"), "{out}");
    // --read-only: /tmp stays writable unless --read-only-tmpfs=false.
    let out = s
        .run([
            "run",
            "--rm",
            "--read-only",
            IMAGE,
            "sh",
            "-c",
            "touch /tmp/a && echo tmp; touch /a || echo root-refused",
        ])
        .ok();
    assert_eq!(out, "tmp\nroot-refused\n");
    let out = s
        .run([
            "run",
            "--rm",
            "--read-only",
            "--read-only-tmpfs=false",
            IMAGE,
            "sh",
            "-c",
            "touch /tmp/a || echo refused",
        ])
        .ok();
    assert_eq!(out, "refused\n");
    s.run(["volume", "rm", "tv"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn volume_export_and_import_round_trip_and_refuse_escapes() {
    if !containers_ready(&[]) {
        return;
    }
    let s = volume_skiff();
    s.run([
        "run",
        "--rm",
        "-v",
        "src:/d",
        IMAGE,
        "sh",
        "-c",
        "mkdir -p /d/sub && echo deep > /d/sub/f && ln -s sub/f /d/link && chmod 640 /d/sub/f",
    ])
    .ok();
    let tar = s.dir().join("src.tar");
    s.run([
        "volume",
        "export",
        "-o",
        tar.to_str().expect("utf-8"),
        "src",
    ])
    .ok();
    s.run(["volume", "create", "dst"]).ok();
    s.run(["volume", "import", "dst", tar.to_str().expect("utf-8")])
        .ok();
    let listing = "cat /d/link; stat -c '%a %N' /d/sub/f /d/link";
    let a = s
        .run(["run", "--rm", "-v", "src:/d", IMAGE, "sh", "-c", listing])
        .ok();
    let b = s
        .run(["run", "--rm", "-v", "dst:/d", IMAGE, "sh", "-c", listing])
        .ok();
    assert_eq!(a, b);
    assert!(a.starts_with("deep\n640 "), "{a}");
    // From standard input, and a corrupt archive changes nothing.
    let bytes = std::fs::read(&tar).expect("tar");
    s.run(["volume", "create", "piped"]).ok();
    s.cmd(["volume", "import", "piped", "-"])
        .stdin(bytes.clone())
        .run()
        .ok();
    let cut = bytes[..bytes.len() / 2 + 700].to_vec();
    s.run(["volume", "create", "cut"]).ok();
    let err = s
        .cmd(["volume", "import", "cut", "-"])
        .stdin(cut)
        .run()
        .fails(125);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        s.run([
            "run",
            "--rm",
            "-v",
            "cut:/d",
            "-v",
            "piped:/p",
            IMAGE,
            "sh",
            "-c",
            "ls -A /d; cat /p/sub/f"
        ])
        .ok(),
        "deep\n"
    );
    // An archive whose symlink points out of the volume cannot write
    // through it.
    let marker = s.dir().join("escaped");
    let evil = s.dir().join("evil.tar");
    {
        let mut b = tar::Builder::new(std::fs::File::create(&evil).expect("create"));
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, "out", s.dir()).expect("link");
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        b.append_data(&mut h, "out/escaped", &b"bad"[..])
            .expect("file");
        b.finish().expect("finish");
    }
    s.run(["volume", "create", "victim"]).ok();
    let err = s
        .run(["volume", "import", "victim", evil.to_str().expect("utf-8")])
        .fails(125);
    assert!(err.starts_with("Error: "), "{err}");
    assert!(!marker.exists(), "the archive wrote outside the volume");
    s.run(["volume", "rm", "-a"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn bad_mount_input_is_one_error_and_changes_nothing() {
    if !containers_ready(&[]) {
        return;
    }
    let s = volume_skiff();
    let missing = s.dir().join("no-such-dir");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["-v".into(), "/a:/b:bogus".into()],
            "unsupported option",
        ),
        (vec!["-v".into(), "bad/name:/b".into()], "volume name"),
        (vec!["-v".into(), "v:relative".into()], "must be absolute"),
        (
            vec![
                "-v".into(),
                "fresh:/f".into(),
                "-v".into(),
                format!("{}:/m", missing.display()),
            ],
            "no such file or directory",
        ),
        (
            vec!["--mount".into(), "type=bind,target=/x".into()],
            "needs source",
        ),
        (
            vec!["--mount".into(), "type=glob,target=/x".into()],
            "unsupported mount type",
        ),
        (
            vec!["--tmpfs".into(), "/t:size=lots".into()],
            "invalid option",
        ),
        (
            vec![
                "-v".into(),
                "a:/same".into(),
                "--tmpfs".into(),
                "/same".into(),
            ],
            "duplicate mount destination",
        ),
        (
            vec!["--volumes-from".into(), "nobody".into()],
            "no such container",
        ),
        (vec!["--read-only-tmpfs".into()], "only with --read-only"),
    ];
    for (flags, needle) in cases {
        let mut argv: Vec<String> = vec!["run".into(), "--rm".into()];
        argv.extend(flags.clone());
        argv.extend([IMAGE.to_string(), "true".to_string()]);
        let err = s.run(&argv).fails_with(125, needle);
        assert_eq!(err.lines().count(), 1, "{flags:?}: {err}");
    }
    for (args, needle) in [
        (vec!["volume", "create", "bad/name"], "invalid volume name"),
        (
            vec!["volume", "create", "--driver", "nfs", "x"],
            "not supported",
        ),
        (
            vec!["volume", "create", "--opt", "size=1", "x"],
            "invalid volume option",
        ),
        (
            vec![
                "volume",
                "create",
                "--opt",
                "type=none",
                "--opt",
                "device=/no/such",
                "--opt",
                "o=bind",
                "x",
            ],
            "device=/no/such",
        ),
        (vec!["volume", "inspect", "nope"], "no such volume"),
        (vec!["volume", "export", "nope"], "no such volume"),
    ] {
        let err = s.run(&args).fails_with(125, needle);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    assert!(volumes(&s).is_empty(), "{:?}", volumes(&s));
    assert_nothing_left(&s);
}

#[test]
fn podman_details_of_volumes_and_mounts() {
    if !containers_ready(&[]) {
        return;
    }
    let s = volume_skiff();
    // A first use where the image has nothing there copies nothing and
    // leaves the copy-up and the chown for a later container.
    s.run(["volume", "create", "late"]).ok();
    let flags = |s: &Skiff| {
        s.run([
            "volume",
            "inspect",
            "--format",
            "{{.NeedsCopyUp}} {{.NeedsChown}}",
            "late",
        ])
        .ok()
    };
    assert_eq!(flags(&s), "true true\n");
    s.run(["run", "--rm", "-v", "late:/nothing-here", IMAGE, "true"])
        .ok();
    assert_eq!(flags(&s), "true true\n");
    s.run([
        "run",
        "--rm",
        "-v",
        "late:/skiff",
        IMAGE,
        "cat",
        "/skiff/hello.txt",
    ])
    .ok();
    assert_eq!(flags(&s), "false false\n");
    // The same mount twice is one; different ones at one place are not.
    let out = s
        .run([
            "run",
            "--rm",
            "-v",
            "late:/v",
            "-v",
            "late:/v",
            "--tmpfs",
            "/t",
            "--tmpfs",
            "/t",
            IMAGE,
            "cat",
            "/v/hello.txt",
        ])
        .ok();
    assert_eq!(out, "hello from skiff-test\n");
    s.run([
        "run", "--rm", "-v", "late:/v", "-v", "other:/v", IMAGE, "true",
    ])
    .fails_with(125, "duplicate mount destination");
    // ps --filter volume= matches a destination or a volume name.
    s.run([
        "create",
        "--name",
        "holder",
        "-v",
        "late:/data",
        IMAGE,
        "true",
    ])
    .ok();
    for f in ["volume=late", "volume=/data"] {
        assert_eq!(
            s.run(["ps", "-a", "--format", "{{.Names}}", "--filter", f])
                .ok(),
            "holder\n"
        );
    }
    assert_eq!(
        s.run(["ps", "-a", "-q", "--filter", "volume=/nope"]).ok(),
        ""
    );
    // Names filter as regular expressions.
    s.run(["volume", "create", "volume_1_x"]).ok();
    s.run(["volume", "create", "volume_2_x"]).ok();
    let names = |f: &str| s.run(["volume", "ls", "-q", "--filter", f]).ok();
    assert_eq!(names("name=volume_1.+"), "volume_1_x\n");
    assert_eq!(names("name=^volume_[12]"), "volume_1_x\nvolume_2_x\n");
    // prune asks, naming what it would remove; "no" keeps everything.
    let out = s.cmd(["volume", "prune"]).stdin("n\n").run().ok();
    assert!(
        out.contains("The following volumes will be removed:\nvolume_1_x\nvolume_2_x\n"),
        "{out}"
    );
    assert_eq!(volumes(&s).len(), 3);
    // rm --force of what is not there is no error.
    assert_eq!(
        s.run(["volume", "rm", "--force", "bogus", "volume_1_x"])
            .ok(),
        "volume_1_x\n"
    );
    s.run(["rm", "holder"]).ok();
    s.run(["volume", "prune", "-f"]).ok();
    assert_eq!(
        s.cmd(["volume", "prune"]).stdin("").run().ok(),
        "No dangling volumes found\n"
    );
    // --image-volume.
    let out = s
        .run([
            "run",
            "--rm",
            "--image-volume",
            "tmpfs",
            VOLUMES_IMAGE,
            "sh",
            "-c",
            "grep -c -e ' /data tmpfs' -e ' /skiff tmpfs' /proc/mounts; cat /skiff/hello.txt",
        ])
        .ok();
    assert_eq!(
        out, "2\nhello from skiff-test\n",
        "tmpfs with the image's files"
    );
    let out = s
        .run([
            "run",
            "--rm",
            "--image-volume",
            "ignore",
            VOLUMES_IMAGE,
            "sh",
            "-c",
            "grep -c ' /skiff ' /proc/mounts; cat /skiff/hello.txt",
        ])
        .ok();
    assert_eq!(
        out, "0\nhello from skiff-test\n",
        "no mount: the image's own files"
    );
    assert!(volumes(&s).is_empty(), "{:?}", volumes(&s));
    // An image's files, read-only, held while the container runs.
    let out = s
        .run([
            "run",
            "--rm",
            "--mount",
            &format!("type=image,source={VOLUMES_IMAGE},target=/img"),
            IMAGE,
            "sh",
            "-c",
            "cat /img/skiff/hello.txt; touch /img/x || echo refused",
        ])
        .ok();
    assert_eq!(out, "hello from skiff-test\nrefused\n");
    s.run([
        "run",
        "-d",
        "--name",
        "img",
        "--mount",
        &format!("type=image,source={VOLUMES_IMAGE},target=/img"),
        IMAGE,
        "sleep",
        "1000",
    ])
    .ok();
    assert_eq!(s.run(["image", "mount"]).ok().lines().count(), 1);
    s.run(["rm", "-f", "-t", "0", "img"]).ok();
    assert_eq!(s.run(["image", "mount"]).ok(), "");
    // Every image at once.
    let images = s.run(["images", "-q"]).ok().lines().count();
    assert_eq!(s.run(["image", "mount", "-a"]).ok().lines().count(), images);
    assert_eq!(s.run(["image", "mount"]).ok().lines().count(), images);
    s.run(["image", "umount", "-a"]).ok();
    assert_eq!(s.run(["image", "mount"]).ok(), "");
    // containers.conf's mounts, for every container.
    let file = s.dir().join("conf-mounted");
    std::fs::write(&file, "from containers.conf\n").expect("write");
    s.write_containers_conf(&format!(
        "[containers]\nmounts = [\"type=bind,src={},destination=/d,ro\"]\n",
        file.display()
    ));
    assert_eq!(
        s.run(["run", "--rm", IMAGE, "cat", "/d"]).ok(),
        "from containers.conf\n"
    );
    s.write_containers_conf("[containers]\nmounts = [\"type=X,destination=/d\"]\n");
    s.run(["run", "--rm", IMAGE, "true"])
        .fails_with(125, "parsing containers.conf mounts");
    s.write_containers_conf("");
    assert_nothing_left(&s);
}

#[test]
fn cp_reaches_the_volumes_and_binds_a_container_mounts() {
    if !containers_ready(&[]) {
        return;
    }
    let s = volume_skiff();
    let dir = s.dir().join("bound");
    std::fs::create_dir(&dir).expect("mkdir");
    let file = s.dir().join("note");
    std::fs::write(&file, "from the host\n").expect("write");
    s.run([
        "run",
        "-d",
        "--name",
        "c",
        "-v",
        "cpvol:/data",
        "-v",
        &format!("{}:/b", dir.display()),
        "--tmpfs",
        "/scratch",
        IMAGE,
        "sleep",
        "1000",
    ])
    .ok();
    let note = file.to_str().expect("utf-8");
    // A running container's own mounts (a tmpfs has no host path), and a
    // relative path is in the working directory (the image's /skiff).
    s.run(["cp", note, "c:/scratch/"]).ok();
    assert_eq!(
        s.run(["exec", "c", "cat", "/scratch/note"]).ok(),
        "from the host\n"
    );
    s.run(["cp", note, "c:relative"]).ok();
    assert_eq!(
        s.run(["exec", "c", "cat", "/skiff/relative"]).ok(),
        "from the host\n"
    );
    s.run(["cp", note, "c:/data/"]).ok();
    s.run(["cp", note, "c:/b/copied"]).ok();
    assert_eq!(
        s.run(["exec", "c", "cat", "/data/note"]).ok(),
        "from the host\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("copied")).expect("in the bind source"),
        "from the host\n"
    );
    s.run(["exec", "c", "sh", "-c", "echo made inside > /data/inside"])
        .ok();
    s.run(["rm", "-f", "-t", "0", "c"]).ok();
    // The volume outlives the container; a stopped one sees it too.
    s.run(["create", "--name", "d", "-v", "cpvol:/v", IMAGE, "true"])
        .ok();
    let out = s.dir().join("out");
    s.run(["cp", "d:/v/inside", out.to_str().expect("utf-8")])
        .ok();
    assert_eq!(
        std::fs::read_to_string(&out).expect("copied out"),
        "made inside\n"
    );
    s.run(["rm", "d"]).ok();
    s.run(["volume", "rm", "cpvol"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn subpaths_mount_part_of_a_volume_or_image_and_never_follow_symlinks() {
    if !containers_ready(&[]) {
        return;
    }
    let s = volume_skiff();
    s.run([
        "run",
        "--rm",
        "-v",
        "sp:/v",
        IMAGE,
        "sh",
        "-c",
        "mkdir -p /v/a/b && echo deep > /v/a/b/f && ln -s / /v/evil && ln -s /etc/passwd /v/a/evil",
    ])
    .ok();
    let out = s
        .run([
            "run",
            "--rm",
            "--mount",
            "type=volume,src=sp,dst=/x,subpath=a/b",
            IMAGE,
            "cat",
            "/x/f",
        ])
        .ok();
    assert_eq!(out, "deep\n");
    for sub in ["evil", "a/evil", "evil/etc"] {
        let err = s
            .run([
                "run",
                "--rm",
                "--mount",
                &format!("type=volume,src=sp,dst=/x,subpath={sub}"),
                IMAGE,
                "true",
            ])
            .fails_with(125, "symlink");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    s.run([
        "run",
        "--rm",
        "--mount",
        "type=volume,src=sp,dst=/x,subpath=a/../..",
        IMAGE,
        "true",
    ])
    .fails_with(125, "may not contain ..");
    let out = s
        .run([
            "run",
            "--rm",
            "--mount",
            &format!("type=image,src={VOLUMES_IMAGE},dst=/x,subpath=/skiff"),
            IMAGE,
            "cat",
            "/x/hello.txt",
        ])
        .ok();
    assert_eq!(out, "hello from skiff-test\n");
    // A read-write image mount is the container's own: its changes stay
    // with it (across a restart), the image and its shared view do not
    // change.
    let rw = format!("type=image,src={VOLUMES_IMAGE},dst=/x,rw=true");
    let out = s
        .run([
            "run",
            "--name",
            "rwi",
            "--mount",
            &rw,
            IMAGE,
            "sh",
            "-c",
            "cat /x/skiff/hello.txt; echo changed > /x/skiff/hello.txt",
        ])
        .ok();
    assert_eq!(out, "hello from skiff-test\n");
    let out = s.run(["start", "-a", "rwi"]).ok();
    assert_eq!(out, "changed\n");
    let ro = format!("type=image,src={VOLUMES_IMAGE},dst=/x");
    assert_eq!(
        s.run([
            "run",
            "--rm",
            "--mount",
            &ro,
            IMAGE,
            "cat",
            "/x/skiff/hello.txt"
        ])
        .ok(),
        "hello from skiff-test\n"
    );
    s.run(["rm", "rwi"]).ok();
    // Held while the container runs, gone with it.
    s.run([
        "run",
        "-d",
        "--name",
        "held",
        "--mount",
        "type=volume,src=sp,dst=/x,subpath=a",
        IMAGE,
        "sleep",
        "1000",
    ])
    .ok();
    assert!(
        mounts_of(&s).iter().any(|m| m.contains("/subpaths/")),
        "{:?}",
        mounts_of(&s)
    );
    s.run(["rm", "-f", "-t", "0", "held"]).ok();
    s.run(["volume", "rm", "sp"]).ok();
    assert_nothing_left(&s);
}
