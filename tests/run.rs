//! Running containers: exit codes, output and logs, detached containers,
//! stop/kill signal delivery, `--rm`, restart policies, a killed monitor, a
//! wiped run directory, and no leaked mounts or descriptors. Root and
//! rootless (inside the user's user namespace).

mod common;

use std::time::Duration;

use common::*;

#[test]
fn run_returns_the_exit_code_and_relays_output() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let out = s.run([
        "run",
        "--name",
        "c",
        "skiff-test/busybox",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 3",
    ]);
    assert_eq!(out.code(), Some(3), "{out}");
    assert_eq!(out.stdout(), "out\n");
    assert_eq!(out.stderr(), "err\n");
    let logs = s.run(["logs", "c"]);
    assert_eq!(logs.stdout(), "out\n");
    assert_eq!(logs.stderr(), "err\n");
    let status = s.run(["ps", "-a", "--format", "{{.Status}}"]).ok();
    assert!(status.starts_with("Exited (3)"), "{status}");
    assert_eq!(s.run(["run", "skiff-test/busybox", "true"]).code(), Some(0));
    // The image's defaults: Env, WorkingDir, Cmd.
    let env = s
        .run([
            "run",
            "--rm",
            "-e",
            "EXTRA=x",
            "skiff-test/busybox",
            "sh",
            "-c",
            "echo $SKIFF_TEST $EXTRA $(pwd) $(hostname | wc -c)",
        ])
        .ok();
    assert_eq!(env.trim(), "1 x /skiff 13");
    let host = s
        .run([
            "run",
            "--rm",
            "--hostname",
            "boat",
            "skiff-test/busybox",
            "hostname",
        ])
        .ok();
    assert_eq!(host.trim(), "boat");
    assert!(
        mounts_of(&s).is_empty(),
        "no mount left: {:?}",
        mounts_of(&s)
    );
}

#[test]
fn commands_that_cannot_run_give_126_and_127() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let err = s
        .run(["run", "--rm", "skiff-test/busybox", "/no/such/binary"])
        .fails(127);
    assert_eq!(err.lines().count(), 1, "{err}");
    s.run(["run", "--rm", "skiff-test/busybox", "/etc"])
        .fails(126);
    assert_eq!(
        s.run(["ps", "-a", "-q"]).ok().trim(),
        "",
        "--rm removed them"
    );
    assert!(mounts_of(&s).is_empty());
}

#[test]
fn detached_containers_stop_kill_and_rm() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let id = s
        .run(["run", "-d", "--name", "sleeper", "skiff-test/busybox", "sh", "-c", "trap 'echo got TERM; exit 7' TERM; trap 'echo got USR1; exit 5' USR1; echo ready; while true; do sleep 0.1; done"])
        .ok();
    assert_eq!(id.trim().len(), 64);
    wait_for(
        || s.run(["logs", "sleeper"]).stdout().contains("ready"),
        "the container to start",
    );
    let ps = s.run(["ps", "--format", "{{.Names}} {{.State}}"]).ok();
    assert_eq!(ps.trim(), "sleeper running");
    s.run(["rm", "sleeper"]).fails(2);
    assert_eq!(s.run(["stop", "-t", "5", "sleeper"]).ok().trim(), "sleeper");
    assert!(
        s.run(["logs", "sleeper"]).stdout().contains("got TERM"),
        "the stop signal was seen inside"
    );
    let code = s
        .run([
            "container",
            "inspect",
            "--format",
            "{{.State.ExitCode}}",
            "sleeper",
        ])
        .ok();
    assert_eq!(code.trim(), "7");
    // Restart it, then kill -s: the signal arrives.
    s.run(["start", "sleeper"]).ok();
    wait_for(
        || s.run(["ps", "-q"]).stdout().trim().len() == 12,
        "a restart",
    );
    s.run(["kill", "-s", "USR1", "sleeper"]).ok();
    wait_for(
        || {
            s.run(["ps", "-a", "--format", "{{.Status}}"])
                .stdout()
                .starts_with("Exited (5)")
        },
        "SIGUSR1 to reach the container's trap",
    );
    assert!(s.run(["logs", "sleeper"]).stdout().contains("got USR1"));
    s.run(["kill", "sleeper"]).fails(125);
    s.run(["rm", "sleeper"]).ok();
    assert!(mounts_of(&s).is_empty());
}

#[test]
fn rm_force_and_wait() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "w",
        "skiff-test/busybox",
        "sleep",
        "1",
    ])
    .ok();
    assert_eq!(s.run(["wait", "w"]).ok().trim(), "0");
    s.run([
        "run",
        "-d",
        "--name",
        "forced",
        "skiff-test/busybox",
        "sleep",
        "100",
    ])
    .ok();
    // Not a hex string: a name like "f" is also an id prefix.
    s.run(["rm", "-f", "-t", "0", "forced"]).ok();
    s.run(["container", "exists", "forced"]).fails(1);
    s.run(["rm", "-a"]).ok();
    assert!(mounts_of(&s).is_empty());
}

#[test]
fn restart_policies_are_carried_out_without_a_daemon() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "r",
        "--restart",
        "on-failure:2",
        "skiff-test/busybox",
        "sh",
        "-c",
        "echo run; exit 1",
    ])
    .ok();
    wait_for(
        || {
            let out = s
                .run([
                    "container",
                    "inspect",
                    "--format",
                    "{{.RestartCount}} {{.State.Status}}",
                    "r",
                ])
                .stdout();
            out.trim() == "2 exited"
        },
        "two restarts then a stop",
    );
    std::thread::sleep(Duration::from_millis(500));
    let runs = s.run(["logs", "r"]).stdout().matches("run").count();
    assert_eq!(runs, 3, "one run and two restarts");
    s.run(["rm", "r"]).ok();
}

#[test]
fn a_killed_monitor_or_a_wiped_run_directory_is_noticed() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "m",
        "skiff-test/busybox",
        "sleep",
        "100",
    ])
    .ok();
    let pid = s
        .run([
            "container",
            "inspect",
            "--format",
            "{{.State.ConmonPid}}",
            "m",
        ])
        .ok();
    let cpid = s
        .run(["container", "inspect", "--format", "{{.State.Pid}}", "m"])
        .ok();
    let pid: i32 = pid.trim().parse().expect("monitor pid");
    let cpid: i32 = cpid.trim().parse().expect("container pid");
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string(), &cpid.to_string()])
        .status();
    wait_for(
        || {
            s.run(["ps", "-a", "--format", "{{.State}}"])
                .stdout()
                .trim()
                == "exited"
        },
        "ps to tell the truth after the monitor died",
    );
    s.run(["rm", "-f", "m"]).ok();
    assert!(mounts_of(&s).is_empty(), "{:?}", mounts_of(&s));

    // A wiped run directory (what a reboot does).
    s.run([
        "create",
        "--name",
        "again",
        "skiff-test/busybox",
        "echo",
        "back",
    ])
    .ok();
    s.run([
        "run",
        "-d",
        "--name",
        "gone",
        "skiff-test/busybox",
        "sleep",
        "100",
    ])
    .ok();
    let cpid = s
        .run(["container", "inspect", "--format", "{{.State.Pid}}", "gone"])
        .ok();
    let gone_id = s
        .run(["container", "inspect", "--format", "{{.Id}}", "gone"])
        .ok();
    // Every mounted hierarchy, v1 and v2.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let gone_cgroups: Vec<std::path::PathBuf> = mountinfo
        .lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .filter_map(|l| l.split(' ').nth(4))
        .map(|h| std::path::Path::new(h).join("skiff").join(gone_id.trim()))
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        !gone_cgroups.is_empty(),
        cgroups_usable(),
        "the container has a cgroup where containers get them"
    );
    let mpid = s
        .run([
            "container",
            "inspect",
            "--format",
            "{{.State.ConmonPid}}",
            "gone",
        ])
        .ok();
    let _ = std::process::Command::new("kill")
        .args(["-9", mpid.trim(), cpid.trim()])
        .status();
    // Rootless, the reboot also ends the user namespace, and with it the
    // mount namespace and its mounts.
    simulate_reboot(&s);
    let states = s
        .run(["ps", "-a", "--format", "{{.Names}} {{.State}}"])
        .ok();
    let mut states: Vec<&str> = states.lines().collect();
    states.sort();
    assert_eq!(states, ["again created", "gone exited"]);
    assert_eq!(s.run(["start", "-a", "again"]).ok(), "back\n");
    s.run(["rm", "-a", "-f"]).ok();
    // The runtime's state went with the run directory: rm removed the
    // cgroup itself.
    let left: Vec<_> = gone_cgroups.iter().filter(|p| p.exists()).collect();
    assert!(left.is_empty(), "cgroups left behind: {left:?}");
}

#[test]
fn no_descriptor_of_skiff_leaks_into_the_container() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let out = s
        .run(["run", "--rm", "skiff-test/busybox", "ls", "/proc/self/fd"])
        .ok();
    let mut fds: Vec<&str> = out.split_whitespace().collect();
    fds.sort();
    // 0-2 and the directory ls itself opened.
    assert_eq!(fds, ["0", "1", "2", "3"], "{out}");
    let cwd = s
        .run([
            "run",
            "--rm",
            "skiff-test/busybox",
            "readlink",
            "/proc/self/cwd",
        ])
        .ok();
    assert_eq!(cwd.trim(), "/skiff");
}

#[test]
fn concurrent_runs_and_a_killed_cli_leave_consistent_state() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    // 20 detached runs at once, distinct names: all succeed.
    let children: Vec<_> = (0..20)
        .map(|i| {
            s.cmd([
                "run",
                "-d",
                "--name",
                &format!("par{i}"),
                "skiff-test/busybox",
                "sleep",
                "30",
            ])
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
    let running = s.run(["ps", "-q"]).ok();
    assert_eq!(running.lines().count(), 20);
    s.run(["rm", "-a", "-f", "-t", "0"]).ok();

    // kill -9 of the CLI at different moments of a run.
    for delay in [1u64, 5, 15, 30, 60, 120] {
        let mut child = s
            .cmd(["run", "-d", "skiff-test/busybox", "sleep", "30"])
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever is left shows in ps -a and goes with rm -f.
        let listed = s.run(["ps", "-a", "--format", "{{.ID}} {{.State}}"]).ok();
        for line in listed.lines() {
            let state = line.split_whitespace().nth(1).unwrap_or("");
            assert!(
                ["created", "running", "exited"].contains(&state),
                "consistent state after a killed CLI: {line}"
            );
        }
        s.run(["rm", "-a", "-f", "-t", "0"]).ok();
        assert_eq!(s.run(["ps", "-a", "-q"]).ok().trim(), "");
    }
    wait_for(|| mounts_of(&s).is_empty(), "no mounts left");
    wait_for(
        || processes_of(&s).is_empty(),
        "no monitor or runtime process left",
    );
}
