//! What is particular to running rootless: the user namespace (ids seen
//! from the host and from inside, the pause process replaced after a kill,
//! a failing id map tool), a store made with another mapping, and `system
//! migrate` / `system reset` (these two as root as well).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;

/// The first subordinate id of the user running the tests.
fn first_subordinate_id(file: &str) -> Option<u32> {
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid).ok()??.name;
    std::fs::read_to_string(file).ok()?.lines().find_map(|l| {
        let mut parts = l.split(':');
        let owner = parts.next()?;
        (owner == name || owner == uid.to_string())
            .then(|| parts.next()?.parse().ok())
            .flatten()
    })
}

fn rootless_only() -> bool {
    if is_root() {
        skip("checks the rootless user namespace; root needs none");
        return false;
    }
    containers_ready(&[])
}

fn upper_dir(s: &Skiff, name: &str) -> PathBuf {
    let id = inspect_container(s, name, "{{.Id}}");
    s.root().join("containers").join(id).join("userdata/upper")
}

#[test]
fn files_written_in_a_container_belong_to_the_mapped_ids() {
    if !rootless_only() {
        return;
    }
    let Some(sub) = first_subordinate_id("/etc/subuid") else {
        skip("this user has no subordinate id range");
        return;
    };
    let s = busybox_skiff();
    s.run([
        "run",
        "--name",
        "w",
        "skiff-test/busybox",
        "sh",
        "-c",
        "touch /mine /theirs && chown 1000:1000 /theirs",
    ])
    .ok();
    let upper = upper_dir(&s, "w");
    let host = |f: &str| {
        let m = std::fs::symlink_metadata(upper.join(f)).expect("file in the container's layer");
        (m.uid(), m.gid())
    };
    let me = nix::unistd::getuid().as_raw();
    // Container root is the user; container id N is subordinate id N - 1.
    assert_eq!(host("mine").0, me);
    assert_eq!(host("theirs").0, sub + 999);
    // Inside the namespace, as the container sees them.
    let listed = s.cmd(["unshare", "ls", "-ln"]).arg(&upper).run().ok();
    let owners: Vec<(String, String, String)> = listed
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 9).then(|| (f[8].to_string(), f[2].to_string(), f[3].to_string()))
        })
        .collect();
    assert!(
        owners.contains(&("mine".into(), "0".into(), "0".into())),
        "{listed}"
    );
    assert!(
        owners.contains(&("theirs".into(), "1000".into(), "1000".into())),
        "{listed}"
    );
    s.run(["rm", "w"]).ok();
}

#[test]
fn a_killed_pause_process_is_replaced_and_containers_keep_running() {
    if !rootless_only() {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "s",
        "skiff-test/busybox",
        "sleep",
        "1000",
    ])
    .ok();
    let first = s.pause_pid().expect("a pause process");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the pause process");
    wait_for(|| !process_alive(first as u32), "the pause process to die");
    // The next command joins through the container's monitor and starts a
    // new pause process in the same namespace.
    assert_eq!(inspect_container(&s, "s", "{{.State.Status}}"), "running");
    let second = s.pause_pid().expect("a new pause process");
    assert_ne!(second, first);
    assert!(process_alive(second as u32));
    let monitor = inspect_container(&s, "s", "{{.State.ConmonPid}}");
    let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/user")).expect("user ns");
    assert_eq!(ns(&second.to_string()), ns(&monitor), "the same namespace");
    assert_eq!(s.run(["exec", "s", "echo", "hi"]).ok(), "hi\n");
    s.run(["rm", "-f", "-t", "0", "s"]).ok();
}

#[test]
fn a_failing_id_map_tool_fails_cleanly() {
    if !rootless_only() {
        return;
    }
    if first_subordinate_id("/etc/subuid").is_none() {
        skip("without a subordinate range skiff does not call newuidmap");
        return;
    }
    let mut s = Skiff::new();
    let fake = s.dir().join("fake-bin");
    std::fs::create_dir(&fake).expect("mkdir");
    let tool = fake.join("newuidmap");
    std::fs::write(&tool, "#!/bin/sh\necho 'newuidmap: uid range [1-65537) -> [100000-165536) not allowed' >&2\nexit 1\n")
        .expect("write");
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    s.set_env("PATH", path);
    let err = s.run(["images"]).fails(125);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("newuidmap failed") && err.contains("not allowed"),
        "{err}"
    );
    // Nothing half made: no pause process, no pid file.
    assert_eq!(s.pause_pid(), None);
    assert!(processes_of(&s).is_empty(), "{:?}", processes_of(&s));
}

#[test]
fn a_store_made_with_another_mapping_waits_for_migrate() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let meta = s.root().join("store.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta).expect("store.json")).expect("json");
    assert!(
        json["id_map"].is_string(),
        "the mapping is recorded: {json}"
    );
    json["id_map"] = "uid 0 1 1; gid 0 1 1".into();
    std::fs::write(&meta, json.to_string()).expect("write");
    let err = s.run(["images"]).fails(125);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("another id mapping") && err.contains("system migrate"),
        "{err}"
    );
    s.run(["system", "migrate"]).ok();
    let images = s.run(["images", "--format", "{{.Repository}}"]).ok();
    assert!(images.contains("skiff-test/busybox"), "{images}");
}

#[test]
fn system_reset_removes_containers_images_and_the_namespace() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "r",
        "skiff-test/busybox",
        "sleep",
        "1000",
    ])
    .ok();
    // Asked, and no answer: nothing goes.
    s.cmd(["system", "reset"]).stdin("").run().fails(125);
    assert_eq!(inspect_container(&s, "r", "{{.State.Status}}"), "running");
    let pause = s.pause_pid();
    s.run(["system", "reset", "--force"]).ok();
    assert!(
        !s.root().exists() || is_empty(&s.root()),
        "the store is gone"
    );
    assert!(mounts_of(&s).is_empty(), "{:?}", mounts_of(&s));
    if let Some(pid) = pause {
        wait_for(|| !process_alive(pid as u32), "the pause process to end");
    }
    wait_for(|| processes_of(&s).is_empty(), "no process left");
    // A fresh start works.
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
    assert_eq!(s.run(["images", "-q"]).ok(), "");
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

#[test]
fn a_run_directory_of_someone_else_is_refused() {
    if !rootless_only() {
        return;
    }
    let s = Skiff::new();
    // /var/lib belongs to root and is not a shared (sticky) directory.
    let err = s
        .program(Skiff::bin())
        .arg("--root")
        .arg(s.root())
        .args(["--runroot", "/var/lib/skiff-not-mine", "images"])
        .run()
        .fails(125);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("/var/lib") && err.contains("not to you"),
        "{err}"
    );
    assert!(!std::path::Path::new("/var/lib/skiff-not-mine").exists());
}

#[test]
fn fuse_overlayfs_stacks_the_same_layers() {
    if !containers_ready(&["fuse-overlayfs"]) {
        return;
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .is_err()
    {
        skip("/dev/fuse cannot be opened by this user (.ci/run makes it 0666)");
        return;
    }
    let s = Skiff::with_registry(shared_registry());
    s.run([
        "--storage-driver",
        "fuse-overlayfs",
        "pull",
        "-q",
        "skiff-test/whiteout",
    ])
    .ok();
    let driver = s
        .run(["info", "--format", "{{.store.graphDriverName}}"])
        .ok();
    assert_eq!(driver.trim(), "fuse-overlayfs");
    // Whiteouts and opaque directories hide what they should; writes land.
    let out = s
        .run([
            "run",
            "--rm",
            "skiff-test/whiteout",
            "sh",
            "-c",
            "ls /data /opq; echo x >/data/c; cat /data/c",
        ])
        .ok();
    assert_eq!(out, "/data:\nb\n\n/opq:\nnew\nx\n");
    s.run([
        "run",
        "-d",
        "--name",
        "f",
        "skiff-test/whiteout",
        "sleep",
        "1000",
    ])
    .ok();
    let table = match s.pause_pid() {
        Some(pid) => format!("/proc/{pid}/mountinfo"),
        None => "/proc/self/mountinfo".to_string(),
    };
    let mountinfo = std::fs::read_to_string(table).expect("mountinfo");
    let dir = s.dir().display().to_string();
    assert!(
        mountinfo
            .lines()
            .any(|l| l.contains(&dir) && l.contains(" - fuse.fuse-overlayfs ")),
        "the root is a fuse-overlayfs mount"
    );
    s.run(["rm", "-f", "-t", "0", "f"]).ok();
    assert!(mounts_of(&s).is_empty(), "{:?}", mounts_of(&s));
    wait_for(|| processes_of(&s).is_empty(), "the FUSE server to end");
}
