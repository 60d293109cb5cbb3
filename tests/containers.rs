//! Container records without a running process: create, list, inspect,
//! names (unique under concurrency), remove.

mod common;

use std::sync::OnceLock;

use common::*;

fn tools() -> bool {
    require_tools(&["docker-registry", "skopeo", "jq"]) && fixture_tools_present()
}

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        let reg = Registry::start(Auth::None);
        fixtures().push(&reg, "busybox");
        reg
    })
}

#[test]
fn create_lists_inspects_and_removes() {
    if !tools() {
        return;
    }
    let s = Skiff::with_registry(registry());
    // create pulls a missing image by default.
    let id = s
        .run([
            "create",
            "--name",
            "web",
            "-e",
            "A=1",
            "--label",
            "tier=front",
            "skiff-test/busybox",
            "echo",
            "hi",
        ])
        .ok();
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64);
    let ps = s.run(["ps", "-a"]).ok();
    let rows: Vec<&str> = ps.lines().collect();
    assert!(
        rows[0].starts_with("CONTAINER ID") && rows[0].contains("NAMES"),
        "{ps}"
    );
    assert!(
        rows[1].starts_with(&id[..12]) && rows[1].contains("Created") && rows[1].ends_with("web"),
        "{ps}"
    );
    // Not running: plain ps shows nothing.
    assert_eq!(s.run(["ps", "-q"]).ok().trim(), "");
    let f = s
        .run([
            "container",
            "inspect",
            "--format",
            "{{.Name}} {{.State.Status}} {{.Path}} {{index .Config.Labels \"tier\"}}",
            "web",
        ])
        .ok();
    assert_eq!(f.trim(), "web created echo front");
    s.run(["container", "exists", &id[..8]]).ok();
    s.run(["ps", "-a", "-q", "--filter", "label=tier=front"])
        .ok();
    let filtered = s.run(["ps", "-a", "-q", "--filter", "name=nomatch"]).ok();
    assert_eq!(filtered.trim(), "");

    let err = s
        .run(["create", "--name", "web", "skiff-test/busybox"])
        .fails(125);
    assert!(err.contains("already in use"), "{err}");
    // --replace takes the name over.
    let id2 = s
        .run(["create", "--replace", "--name", "web", "skiff-test/busybox"])
        .ok();
    assert_ne!(id2.trim(), id);
    s.run(["container", "exists", &id]).fails(1);

    assert_eq!(s.run(["rm", "web"]).ok().trim(), "web");
    s.run(["rm", "web"]).fails(1);
    s.run(["rm", "-i", "web"]).ok();
    s.run(["container", "exists", "web"]).fails(1);
    let left = std::fs::read_dir(s.root().join("containers/names"))
        .expect("names")
        .count();
    assert_eq!(left, 0, "the name is released");
}

#[test]
fn bad_input_is_one_line_and_creates_nothing() {
    if !tools() {
        return;
    }
    let s = Skiff::with_registry(registry());
    for args in [
        vec!["create", "--pull", "never", "skiff-test/busybox"],
        vec!["create", "--name", "bad name", "skiff-test/busybox"],
        vec!["create", "--ulimit", "nofile=9:1", "skiff-test/busybox"],
        vec!["create", "--restart", "sometimes", "skiff-test/busybox"],
        vec!["create", "--memory", "lots", "skiff-test/busybox"],
        vec![
            "create",
            "--security-opt",
            "label=disable",
            "skiff-test/busybox",
        ],
        vec!["create", "skiff-test/not-there"],
        vec![
            "create",
            "--runtime",
            "no-such-runtime",
            "skiff-test/busybox",
        ],
    ] {
        let out = s.run(&args);
        assert_eq!(out.code(), Some(125), "{out}");
        assert_eq!(out.stderr().lines().count(), 1, "{out}");
        assert!(out.stderr().starts_with("Error: "), "{out}");
    }
    assert_eq!(s.run(["ps", "-a", "-q"]).ok().trim(), "");
}

#[test]
fn concurrent_creates_get_distinct_names_and_one_wins_a_name() {
    if !tools() {
        return;
    }
    let s = Skiff::with_registry(registry());
    s.run(["pull", "-q", "skiff-test/busybox"]).ok();
    let children: Vec<_> = (0..20)
        .map(|i| {
            s.cmd(["create", "--name", &format!("c{i}"), "skiff-test/busybox"])
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let same: Vec<_> = (0..2)
        .map(|_| {
            s.cmd(["create", "--name", "same", "skiff-test/busybox"])
                .spawn()
                .expect("spawn")
        })
        .collect();
    let ok = same
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .filter(|o| o.status.success())
        .count();
    assert_eq!(ok, 1, "exactly one create wins the name");
    let ids = s.run(["ps", "-a", "-q"]).ok();
    assert_eq!(ids.lines().count(), 21);
    s.run(["rm", "-a"]).ok();
    assert_eq!(s.run(["ps", "-a", "-q"]).ok().trim(), "");
}

#[test]
fn images_in_use_are_kept_unless_forced() {
    if !tools() {
        return;
    }
    let s = Skiff::with_registry(registry());
    let id = s
        .run(["create", "--name", "user", "skiff-test/busybox"])
        .ok();
    let err = s.run(["rmi", "skiff-test/busybox"]).fails(2);
    assert!(err.contains("in use"), "{err}");
    s.run(["image", "prune", "-a"]).ok();
    s.run(["image", "exists", "skiff-test/busybox"]).ok();
    s.run(["rmi", "-f", "skiff-test/busybox"]).ok();
    s.run(["container", "exists", id.trim()]).fails(1);
    s.run(["image", "exists", "skiff-test/busybox"]).fails(1);
}

#[test]
fn unprivileged_users_run_as_root_of_their_user_namespace() {
    if !tools() {
        return;
    }
    if is_root() {
        skip("checks the rootless user namespace; the root pass needs none");
        return;
    }
    let s = Skiff::with_registry(registry());
    let out = s
        .run(["run", "--rm", "skiff-test/busybox", "id", "-u"])
        .ok();
    assert_eq!(out.trim(), "0");
    // One pause process holds the namespace; skiff unshare enters it.
    let pause = s.pause_pid().expect("a pause process");
    assert_eq!(s.run(["unshare", "id", "-u"]).ok().trim(), "0");
    assert_eq!(s.pause_pid(), Some(pause));
    let map = s.run(["unshare", "cat", "/proc/self/uid_map"]).ok();
    let first: Vec<&str> = map
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        first[..2],
        ["0", nix::unistd::getuid().to_string().as_str()],
        "{map}"
    );
    s.run(["unshare", "sh", "-c", "exit 3"]).fails(3);
    s.run(["unshare", "/nonexistent"]).fails(127);
    // Without cgroups, one warning, the first time only.
    if !cgroups_usable() {
        std::fs::remove_file(s.runroot().join("no-cgroups-warned")).expect("marker");
        let first = s.run(["run", "--rm", "skiff-test/busybox", "true"]);
        assert_eq!(first.code(), Some(0), "{first}");
        assert!(
            first.stderr().contains("without resource limits"),
            "{first}"
        );
        assert_eq!(first.stderr().lines().count(), 1, "{first}");
        let second = s.run(["run", "--rm", "skiff-test/busybox", "true"]);
        assert_eq!(second.stderr(), "", "{second}");
    }
}
