//! Containers with a user namespace of their own (`--uidmap`/`--gidmap`,
//! `--userns=auto|keep-id|nomap`), bind mounts (`-v`) under them, and
//! `--group-add`. "Outside" ids are the host's for root and those of
//! skiff's user namespace for a rootless user (`skiff unshare` shows them).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;

const IMAGE: &str = "skiff-test/busybox";

/// An outside id range for `--uidmap` that exists in both cases: root's
/// ids are all the host's; a rootless namespace has 0 (the user) and
/// 1..=N (the subordinate range).
fn outside_base() -> u32 {
    if is_root() {
        200_000
    } else {
        1
    }
}

/// The owner of `path` as skiff's namespace sees it ("UID:GID").
fn outside_owner(s: &Skiff, path: &Path) -> String {
    if is_root() {
        let m = std::fs::symlink_metadata(path).expect("stat");
        return format!("{}:{}", m.uid(), m.gid());
    }
    s.cmd(["unshare", "stat", "-c", "%u:%g"])
        .arg(path)
        .run()
        .ok()
        .trim()
        .to_string()
}

fn upper_dir(s: &Skiff, name: &str) -> PathBuf {
    let id = inspect_container(s, name, "{{.Id}}");
    s.root().join("containers").join(id).join("userdata/upper")
}

fn has_subordinate_ids() -> bool {
    if is_root() {
        return true;
    }
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    let found = std::fs::read_to_string("/etc/subuid")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(':').next() == Some(me.as_str()));
    if !found {
        skip("this user has no subordinate ids: its namespace has one id");
    }
    found
}

/// A directory the test user owns, bind-mountable into containers.
fn host_dir(s: &Skiff, name: &str) -> PathBuf {
    let d = s.dir().join(name);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

#[test]
fn uidmap_shows_the_image_as_the_containers_own_and_shifts_new_files() {
    if !(containers_ready(&[]) && has_subordinate_ids()) {
        return;
    }
    let s = busybox_skiff();
    let base = outside_base();
    let map = format!("0:{base}:2000");
    let out = s
        .run([
            "run",
            "--name",
            "m",
            "--uidmap",
            &map,
            IMAGE,
            "sh",
            "-c",
            "cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u:%g %a' /bin/busybox /skiff/suid; \
             touch /new; chown 1000:1000 /skiff/hello.txt; id -u",
        ])
        .ok();
    let lines: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    // --gidmap defaults to --uidmap.
    assert_eq!(lines[0], format!("0 {base} 2000"), "{out}");
    assert_eq!(lines[1], format!("0 {base} 2000"), "{out}");
    // The image's files are the container root's, set-id bits kept.
    assert_eq!(lines[2], "0:0 755", "{out}");
    assert_eq!(lines[3], "0:0 4755", "{out}");
    assert_eq!(lines[4], "0", "{out}");
    // Outside, new and changed files belong to the mapped ids.
    let upper = upper_dir(&s, "m");
    assert_eq!(
        outside_owner(&s, &upper.join("new")),
        format!("{base}:{base}")
    );
    assert_eq!(
        outside_owner(&s, &upper.join("skiff/hello.txt")),
        format!("{}:{}", base + 1000, base + 1000)
    );
    let uid_map = inspect_container(&s, "m", "{{.HostConfig.IDMappings.UidMap}}");
    assert_eq!(uid_map, format!("[{map}]"));
    // A second start uses the same mapping and sees its own files.
    assert_eq!(s.run(["start", "-a", "m"]).ok(), out);
    s.run(["rm", "m"]).ok();
    assert!(mounts_of(&s).is_empty(), "{:?}", mounts_of(&s));
}

#[test]
fn auto_gives_each_container_a_range_of_its_own() {
    if !(containers_ready(&[]) && has_subordinate_ids()) {
        return;
    }
    if is_root() {
        let listed = std::fs::read_to_string("/etc/subuid")
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("containers:"));
        if !listed {
            assert!(
                !in_ci(),
                "no subordinate ids for the user \"containers\": .ci/run adds them"
            );
            skip("no subordinate ids for the user \"containers\" in /etc/subuid");
            return;
        }
    }
    let s = busybox_skiff();
    let range = |name: &str| -> (u64, u64) {
        let m = inspect_container(&s, name, "{{index .HostConfig.IDMappings.UidMap 0}}");
        let f: Vec<u64> = m.split(':').map(|x| x.parse().expect("number")).collect();
        assert_eq!(f[0], 0, "{m}");
        (f[1], f[2])
    };
    s.run(["create", "--name", "a1", "--userns", "auto", IMAGE, "true"])
        .ok();
    s.run(["create", "--name", "a2", "--userns=auto", IMAGE, "true"])
        .ok();
    s.run([
        "create",
        "--name",
        "a3",
        "--userns",
        "auto:size=500",
        IMAGE,
        "true",
    ])
    .ok();
    let (r1, r2, r3) = (range("a1"), range("a2"), range("a3"));
    // The image needs ids up to 1000 (its passwd, "nobody" aside): the
    // default is podman's least size.
    assert_eq!(r1.1, 1024, "{r1:?}");
    assert_eq!(r3.1, 500);
    let overlap = |a: (u64, u64), b: (u64, u64)| a.0 < b.0 + b.1 && b.0 < a.0 + a.1;
    assert!(
        !overlap(r1, r2) && !overlap(r1, r3) && !overlap(r2, r3),
        "{r1:?} {r2:?} {r3:?}"
    );
    assert_eq!(
        inspect_container(&s, "a1", "{{.HostConfig.UsernsMode}}"),
        "auto"
    );
    let out = s.run(["start", "-a", "a3"]).ok();
    assert_eq!(out, "");
    // A removed container's range is free again.
    s.run(["rm", "a1"]).ok();
    s.run(["create", "--name", "a4", "--userns", "auto", IMAGE, "true"])
        .ok();
    assert_eq!(range("a4"), r1);
    s.run(["rm", "-a"]).ok();
}

#[test]
fn keep_id_runs_as_the_user_and_writes_bind_mounts_as_the_user() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    if is_root() {
        let err = s
            .run(["run", "--rm", "--userns", "keep-id", IMAGE, "true"])
            .fails(125);
        assert!(err.contains("for rootless containers"), "{err}");
        assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
        return;
    }
    let me = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .expect("my passwd entry");
    let data = host_dir(&s, "data");
    let bind = format!("{}:/data", data.display());
    let out = s
        .run([
            "run",
            "--rm",
            "--userns",
            "keep-id",
            "-v",
            &bind,
            IMAGE,
            "sh",
            "-c",
            "id -u; id -g; whoami; echo $HOME; touch /data/made-inside; stat -c %u /etc/passwd",
        ])
        .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], me.uid.to_string(), "{out}");
    assert_eq!(lines[1], me.gid.to_string(), "{out}");
    assert_eq!(lines[2], me.name, "{out}");
    assert_eq!(lines[3], me.dir.display().to_string(), "{out}");
    assert_eq!(lines[4], "0", "/etc/passwd stays root's: {out}");
    let made = std::fs::metadata(data.join("made-inside")).expect("file made inside");
    assert_eq!(
        made.uid(),
        me.uid.as_raw(),
        "the host sees the user's own file"
    );
    assert_eq!(made.gid(), me.gid.as_raw());

    // uid= and gid= place the user elsewhere inside; outside it is the same.
    let out = s
        .run([
            "run",
            "--rm",
            "--userns",
            "keep-id:uid=500,gid=600",
            "-v",
            &bind,
            IMAGE,
            "sh",
            "-c",
            "id -u; id -g; touch /data/as-500",
        ])
        .ok();
    assert_eq!(out, "500\n600\n");
    let made = std::fs::metadata(data.join("as-500")).expect("file made inside");
    assert_eq!(made.uid(), me.uid.as_raw());
    // --user still wins over keep-id's default user.
    let out = s
        .run([
            "run", "--rm", "--userns", "keep-id", "--user", "0", IMAGE, "id", "-u",
        ])
        .ok();
    assert_eq!(out, "0\n");
}

#[test]
fn nomap_leaves_the_user_out() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    if is_root() {
        s.run(["run", "--rm", "--userns", "nomap", IMAGE, "true"])
            .fails_with(125, "for rootless containers");
        return;
    }
    if !has_subordinate_ids() {
        return;
    }
    let out = s
        .run([
            "run",
            "--rm",
            "--userns",
            "nomap",
            IMAGE,
            "cat",
            "/proc/self/uid_map",
        ])
        .ok();
    let outside: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(outside, ["1"], "{out}");
}

#[test]
fn bad_mappings_are_refused_before_anything_is_made() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let refused = |args: &[&str], needle: &str| {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        all.extend([IMAGE, "true"]);
        s.run(all).fails_with(125, needle);
    };
    refused(&["--uidmap", "0:1"], "CONTAINER_ID:HOST_ID:SIZE");
    refused(&["--uidmap", "0:x:5"], "must be numbers");
    refused(&["--uidmap", "0:1:5", "--uidmap", "3:10:5"], "overlap");
    refused(
        &["--userns", "keep-id", "--uidmap", "0:1:5"],
        "cannot be combined",
    );
    refused(&["--userns", "ns:/proc/1/ns/user"], "unsupported --userns");
    refused(&["--userns", "auto:size=x"], "needs a number");
    refused(&["--gidmap", "0:1:5"], "--gidmap needs --uidmap");
    if !is_root() {
        refused(
            &["--uidmap", "0:1:4000000"],
            "outside ids are those of skiff's user namespace",
        );
    }
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
}

#[test]
fn bind_mounts_honour_read_only_and_are_checked_first() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let data = host_dir(&s, "bind");
    std::fs::write(data.join("in"), "from the host\n").expect("write");
    let rw = format!("{}:/d", data.display());
    let ro = format!("{}:/d:ro", data.display());
    let out = s
        .run([
            "run",
            "--rm",
            "-v",
            &rw,
            IMAGE,
            "sh",
            "-c",
            "cat /d/in; echo made > /d/out",
        ])
        .ok();
    assert_eq!(out, "from the host\n");
    assert_eq!(
        std::fs::read_to_string(data.join("out")).expect("written inside"),
        "made\n"
    );
    let err = s
        .run([
            "run",
            "--rm",
            "-v",
            &ro,
            IMAGE,
            "sh",
            "-c",
            "echo x > /d/nope",
        ])
        .fails(1);
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(!data.join("nope").exists());
    // Under a mapping of its own the container root still reads them.
    if has_subordinate_ids() {
        let map = format!("0:{}:2000", outside_base());
        let out = s
            .run([
                "run", "--rm", "--uidmap", &map, "-v", &ro, IMAGE, "cat", "/d/in",
            ])
            .ok();
        assert_eq!(out, "from the host\n");
    }
    let missing = format!("{}/nope:/d", data.display());
    s.run(["run", "--rm", "-v", &missing, IMAGE, "true"])
        .fails_with(125, "no such file or directory");
    s.run(["run", "--rm", "-v", &rw, "-v", &ro, IMAGE, "true"])
        .fails_with(125, "duplicate mount destination");
    s.run(["run", "--rm", "-v", &format!("{rw}:bogus"), IMAGE, "true"])
        .fails_with(125, "unsupported option");
    let binds = {
        s.run(["create", "--name", "b", "-v", &ro, IMAGE]).ok();
        inspect_container(
            &s,
            "b",
            "{{range .Mounts}}{{.Source}} {{.Destination}} {{.RW}}{{end}}",
        )
    };
    assert_eq!(binds, format!("{} /d false", data.display()));
    s.run(["rm", "b"]).ok();
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
    assert!(mounts_of(&s).is_empty(), "{:?}", mounts_of(&s));
}

#[test]
fn group_add_adds_groups_by_name_and_id() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let out = s
        .run([
            "run",
            "--rm",
            "--group-add",
            "5",
            "--group-add",
            "daemon",
            IMAGE,
            "id",
            "-G",
        ])
        .ok();
    let groups: Vec<&str> = out.split_whitespace().collect();
    assert!(groups.contains(&"1") && groups.contains(&"5"), "{out}");
    s.run(["run", "--rm", "--group-add", "nosuch", IMAGE, "true"])
        .fails_with(125, "nosuch");
    s.run([
        "run",
        "--rm",
        "--group-add",
        "keep-groups",
        "--group-add",
        "5",
        IMAGE,
        "true",
    ])
    .fails_with(125, "cannot be combined");
}

#[test]
fn keep_groups_keeps_the_callers_groups() {
    if !containers_ready(&["setpriv"]) {
        return;
    }
    let s = busybox_skiff();
    // runc always sets the groups: skiff says so instead of ignoring it.
    s.run([
        "run",
        "--rm",
        "--runtime",
        "runc",
        "--group-add",
        "keep-groups",
        IMAGE,
        "true",
    ])
    .fails_with(125, "needs the crun or skiff runtime");
    if !is_root() {
        skip("setpriv --groups needs root");
        return;
    }
    // skiff's own runtime always; crun in the crun pass.
    let mut runtimes = vec!["skiff"];
    if std::env::var("SKIFF_TEST_RUNTIME").as_deref() == Ok("crun") {
        runtimes.push("crun");
    }
    for rt in runtimes {
        let groups = |extra: &[&str]| {
            let mut args = vec!["run", "--rm", "--runtime", rt];
            args.extend_from_slice(extra);
            args.extend([IMAGE, "id", "-G"]);
            s.cmd_via(&["setpriv", "--groups", "4242", "--"], args)
                .run()
                .ok()
        };
        let kept = groups(&["--group-add", "keep-groups"]);
        assert!(kept.split_whitespace().any(|g| g == "4242"), "{rt}: {kept}");
        let set = groups(&[]);
        assert!(!set.split_whitespace().any(|g| g == "4242"), "{rt}: {set}");
    }
}
