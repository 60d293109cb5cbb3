//! Changing a container's state after it started: pause/unpause (the
//! freezer), stop of a paused container, restart, rename and container
//! prune. Root and rootless (pausing needs a cgroup, which a rootless user
//! has only with systemd's delegation).

mod common;

use std::time::Duration;

use common::*;

/// A container printing a tick every 50 ms, exiting 7 on SIGTERM.
const TICKER: &str = "trap 'exit 7' TERM; while true; do echo tick; sleep 0.05; done";

fn ticks(s: &Skiff, name: &str) -> usize {
    s.run(["logs", name]).stdout().lines().count()
}

#[test]
fn pause_freezes_and_unpause_thaws() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "t",
        "skiff-test/busybox",
        "sh",
        "-c",
        TICKER,
    ])
    .ok();
    wait_for(|| ticks(&s, "t") > 2, "the first ticks");
    if !cgroups_usable() {
        // No freezer without a cgroup: one clear error, and nothing changes.
        s.run(["pause", "t"]).fails_with(125, NO_CGROUP);
        assert_eq!(inspect_container(&s, "t", "{{.State.Status}}"), "running");
        s.run(["rm", "-f", "-t", "0", "t"]).ok();
        skip("pausing needs a cgroup; this user has none delegated");
        return;
    }
    assert_eq!(s.run(["pause", "t"]).ok(), "t\n");
    // A line written just before the freeze may still be on its way.
    std::thread::sleep(Duration::from_millis(200));
    let frozen = ticks(&s, "t");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(ticks(&s, "t"), frozen, "no tick while paused");
    assert_eq!(
        s.run(["ps", "--format", "{{.Names}} {{.Status}} {{.State}}"])
            .ok(),
        "t Paused paused\n"
    );
    assert_eq!(
        inspect_container(&s, "t", "{{.State.Running}} {{.State.Paused}}"),
        "false true"
    );
    assert_eq!(
        s.run([
            "ps",
            "-a",
            "--filter",
            "status=paused",
            "--format",
            "{{.Names}}"
        ])
        .ok(),
        "t\n"
    );
    // podman's refusals.
    s.run(["pause", "t"]).fails_with(125, "is already paused");
    s.run(["rm", "t"]).fails_with(2, "as it is paused");
    s.run(["pause", "nope"])
        .fails_with(125, "no such container");
    s.run(["pause"]).fails(125);
    assert_eq!(s.run(["unpause", "t"]).ok(), "t\n");
    wait_for(|| ticks(&s, "t") > frozen + 2, "ticks after unpause");
    s.run(["unpause", "t"])
        .fails_with(125, "is not paused, can't unpause");
    s.run(["create", "--name", "c", "skiff-test/busybox", "true"])
        .ok();
    s.run(["pause", "c"])
        .fails_with(125, "\"created\" is not running, can't pause");
    // --all acts on the containers in the right state, by full id.
    let id = inspect_container(&s, "t", "{{.Id}}");
    assert_eq!(
        s.run(["container", "pause", "--all"]).ok(),
        format!("{id}\n")
    );
    assert_eq!(s.run(["unpause", "-a"]).ok(), format!("{id}\n"));
    assert_eq!(s.run(["unpause", "-a"]).ok(), "");
    s.run(["rm", "-f", "-t", "0", "t", "c"]).ok();
}

#[test]
fn a_paused_container_stops_with_its_stop_signal() {
    if !containers_ready(&[]) {
        return;
    }
    if !cgroups_usable() {
        skip("pausing needs a cgroup; this user has none delegated");
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "p",
        "skiff-test/busybox",
        "sh",
        "-c",
        TICKER,
    ])
    .ok();
    wait_for(|| ticks(&s, "p") > 0, "the container to start");
    s.run(["pause", "p"]).ok();
    // The trap answers SIGTERM with 7: the signal got through the freezer
    // (-t -1: no SIGKILL at all, however long it takes).
    let out = s.run(["stop", "-t", "-1", "p"]);
    assert!(
        out.elapsed < Duration::from_secs(15),
        "no SIGKILL wait: {out}"
    );
    assert_eq!(out.ok(), "p\n");
    assert_eq!(
        inspect_container(&s, "p", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 7"
    );
    // rm -f of a paused container.
    s.run(["start", "p"]).ok();
    s.run(["pause", "p"]).ok();
    s.run(["rm", "-f", "p"]).ok();
    s.run(["container", "exists", "p"]).fails(1);
}

#[test]
fn restart_stops_and_starts_again() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let script = "echo started; trap 'echo stopping; exit 0' TERM; while true; do sleep 0.05; done";
    s.run([
        "run",
        "-d",
        "--name",
        "r",
        "skiff-test/busybox",
        "sh",
        "-c",
        script,
    ])
    .ok();
    wait_for(
        || s.run(["logs", "r"]).stdout() == "started\n",
        "the first run",
    );
    let pid = inspect_container(&s, "r", "{{.State.Pid}}");
    assert_eq!(s.run(["restart", "-t", "5", "r"]).ok(), "r\n");
    assert_ne!(
        inspect_container(&s, "r", "{{.State.Pid}}"),
        pid,
        "a new process"
    );
    // A user's restart is not a policy restart.
    assert_eq!(
        inspect_container(&s, "r", "{{.State.Status}} {{.RestartCount}}"),
        "running 0"
    );
    wait_for(
        || s.run(["logs", "r"]).stdout() == "started\nstopping\nstarted\n",
        "the stop signal, then a second run",
    );
    // A created or exited container is just started.
    s.run(["create", "--name", "c", "skiff-test/busybox", "echo", "hi"])
        .ok();
    assert_eq!(s.run(["container", "restart", "c"]).ok(), "c\n");
    wait_for(
        || s.run(["logs", "c"]).stdout() == "hi\n",
        "the created one to run",
    );
    // --all --running leaves the exited one alone.
    let rid = inspect_container(&s, "r", "{{.Id}}");
    assert_eq!(
        s.run(["restart", "-a", "--running"]).ok(),
        format!("{rid}\n")
    );
    assert_eq!(s.run(["logs", "c"]).stdout(), "hi\n");
    if cgroups_usable() {
        s.run(["pause", "r"]).ok();
        s.run(["restart", "r"])
            .fails_with(125, "unable to restart a container in a paused");
    }
    s.run(["restart", "nope"])
        .fails_with(125, "no such container");
    s.run(["rm", "-f", "-t", "0", "r", "c"]).ok();
}

#[test]
fn restart_keeps_an_rm_container_and_skips_its_policy() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--rm",
        "--name",
        "gone",
        "skiff-test/busybox",
        "sleep",
        "100",
    ])
    .ok();
    s.run([
        "run",
        "-d",
        "--restart",
        "always",
        "--name",
        "always",
        "skiff-test/busybox",
        "sleep",
        "100",
    ])
    .ok();
    s.run(["restart", "-t", "0", "gone", "always"]).ok();
    // Give the cleanup of the stop time to act wrongly.
    std::thread::sleep(Duration::from_millis(1500));
    let states = s
        .run([
            "ps",
            "-a",
            "--format",
            "{{.Names}} {{.State}} {{.Restarts}}",
        ])
        .ok();
    let mut states: Vec<&str> = states.lines().collect();
    states.sort();
    assert_eq!(states, ["always running 0", "gone running 0"]);
    s.run(["rm", "-f", "-t", "0", "gone", "always"]).ok();
}

#[test]
fn rename_moves_the_name() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "old",
        "skiff-test/busybox",
        "sleep",
        "100",
    ])
    .ok();
    s.run(["create", "--name", "other", "skiff-test/busybox", "true"])
        .ok();
    let id = inspect_container(&s, "old", "{{.Id}}");
    assert_eq!(s.run(["rename", "old", "new"]).ok(), "");
    s.run(["container", "exists", "old"]).fails(1);
    assert_eq!(
        inspect_container(&s, "new", "{{.Id}} {{.Name}}"),
        format!("{id} new")
    );
    assert_eq!(
        s.run(["ps", "--format", "{{.Names}}"]).ok(),
        "new\n",
        "ps shows the new name"
    );
    // The old name is free again.
    s.run(["create", "--name", "old", "skiff-test/busybox", "true"])
        .ok();
    s.run(["rename", "new", "other"])
        .fails_with(125, "already in use");
    s.run(["rename", "new", "bad/name"])
        .fails_with(125, "invalid container name");
    s.run(["rename", "nope", "x"])
        .fails_with(125, "no such container");
    s.run(["container", "rename", "new", "new"]).ok();
    s.run(["rename", "new"]).fails(125);
    assert_eq!(
        inspect_container(&s, "new", "{{.Id}}"),
        id,
        "failed renames changed nothing"
    );
    // The renamed container still stops and goes.
    assert_eq!(s.run(["stop", "-t", "0", "new"]).ok(), "new\n");
    s.run(["rm", "-a"]).ok();
}

#[test]
fn container_prune_removes_what_does_not_run() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run(["create", "--name", "created", "skiff-test/busybox", "true"])
        .ok();
    s.run(["run", "--name", "exited", "skiff-test/busybox", "true"])
        .ok();
    s.run([
        "run",
        "-d",
        "--name",
        "running",
        "skiff-test/busybox",
        "sleep",
        "100",
    ])
    .ok();
    s.run([
        "run",
        "-d",
        "--name",
        "paused",
        "skiff-test/busybox",
        "sleep",
        "100",
    ])
    .ok();
    // (Left running where there is no freezer: prune keeps it either way.)
    if cgroups_usable() {
        s.run(["pause", "paused"]).ok();
    }
    let mut gone = vec![
        inspect_container(&s, "created", "{{.Id}}"),
        inspect_container(&s, "exited", "{{.Id}}"),
    ];
    gone.sort();
    // Asked and declined (or no answer at all): nothing goes.
    let declined = s.cmd(["container", "prune"]).stdin("n\n").run().ok();
    assert!(
        declined.contains("Are you sure you want to continue? [y/N]"),
        "{declined}"
    );
    s.cmd(["container", "prune"]).stdin("").run().fails(125);
    assert_eq!(s.run(["ps", "-a", "-q"]).ok().lines().count(), 4);
    let out = s.run(["container", "prune", "-f"]).ok();
    let mut removed: Vec<&str> = out.lines().collect();
    removed.sort();
    assert_eq!(removed, gone);
    let left = s.run(["ps", "-a", "--format", "{{.Names}}"]).ok();
    let mut left: Vec<&str> = left.lines().collect();
    left.sort();
    assert_eq!(left, ["paused", "running"]);
    assert_eq!(s.run(["container", "prune", "-f"]).ok(), "");
    s.run(["rm", "-f", "-t", "0", "-a"]).ok();
}
