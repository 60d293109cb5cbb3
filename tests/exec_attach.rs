//! Exec sessions and attaching: `exec` exit codes, output, environment,
//! user and working directory, `exec -d`, exec into a stopped container;
//! `run -it`, `start -ai`, `attach` and `exec -t` in a real pseudo-terminal:
//! prompts, window sizes, detach keys. Root and rootless.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;

/// A running container `name` that sleeps; returns its id.
fn sleeper(s: &Skiff, name: &str) -> String {
    let id = s
        .run([
            "run",
            "-d",
            "--name",
            name,
            "skiff-test/busybox",
            "sleep",
            "1000",
        ])
        .ok();
    id.trim().to_string()
}

/// The exec session directories of container `id` still on disk.
fn sessions(s: &Skiff, id: &str) -> Vec<PathBuf> {
    std::fs::read_dir(s.runroot().join("containers").join(id).join("exec"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn state(s: &Skiff, name: &str) -> String {
    s.run([
        "container",
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        name,
    ])
    .ok()
    .trim()
    .to_string()
}

/// skiff in a pseudo-terminal of `rows` x `cols`, as its controlling terminal.
fn in_pty(s: &Skiff, rows: u16, cols: u16, args: &[&str]) -> PtyChild {
    PtyChild::spawn(s.cmd_via(IN_NEW_SESSION, args), rows, cols)
}

#[test]
fn exec_returns_the_commands_exit_code_and_output() {
    if !containers_ready(&["setsid"]) {
        return;
    }
    let s = busybox_skiff();
    let id = sleeper(&s, "c");
    let out = s.run(["exec", "c", "sh", "-c", "echo out; echo err >&2; exit 4"]);
    assert_eq!(out.code(), Some(4), "{out}");
    assert_eq!(out.stdout(), "out\n");
    assert_eq!(out.stderr(), "err\n");
    let err = s.run(["exec", "c", "/nope"]).fails(127);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("Error: ") && err.contains("/nope"), "{err}");
    s.run(["exec", "c", "/etc"]).fails(126);
    assert_eq!(s.run(["container", "exec", "c", "true"]).code(), Some(0));

    // The container's environment under -e; -u and -w.
    let who = s
        .run([
            "exec",
            "-e",
            "FOO=bar",
            "-w",
            "/tmp",
            "-u",
            "skiff",
            "c",
            "sh",
            "-c",
            "id -u; id -g; pwd; echo $FOO $HOME $SKIFF_TEST",
        ])
        .ok();
    assert_eq!(who, "1000\n1000\n/tmp\nbar /home/skiff 1\n");
    assert_eq!(s.run(["exec", "-u", "0:1", "c", "id", "-g"]).ok(), "1\n");
    let env_file = s.dir().join("exec.env");
    std::fs::write(&env_file, "# comment\nFROM_FILE=yes\n").expect("write env file");
    let env = s
        .cmd(["exec", "--env-file"])
        .arg(&env_file)
        .args(["c", "env"])
        .run()
        .ok();
    assert!(env.lines().any(|l| l == "FROM_FILE=yes"), "{env}");
    assert!(env.lines().any(|l| l == "SKIFF_TEST=1"), "{env}");
    s.run(["exec", "-u", "nosuchuser", "c", "true"])
        .fails_with(125, "nosuchuser");

    // stdin with -i, and its end.
    let echoed = s
        .cmd(["exec", "-i", "c", "cat"])
        .stdin("typed\n")
        .run()
        .ok();
    assert_eq!(echoed, "typed\n");

    // --privileged: every capability skiff has, more than the default set.
    let caps = |extra: &[&str]| {
        let mut args = vec!["exec"];
        args.extend_from_slice(extra);
        args.extend(["c", "grep", "CapEff", "/proc/self/status"]);
        let out = s.run(args).ok();
        let hex = out
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .to_string();
        u64::from_str_radix(&hex, 16).expect("a capability mask")
    };
    let (normal, privileged) = (caps(&[]), caps(&["--privileged"]));
    assert_eq!(
        normal & privileged,
        normal,
        "{normal:x} within {privileged:x}"
    );
    assert_ne!(normal, privileged, "--privileged adds capabilities");

    assert!(sessions(&s, &id).is_empty(), "{:?}", sessions(&s, &id));
}

#[test]
fn exec_detached_runs_in_the_background() {
    if !containers_ready(&["setsid"]) {
        return;
    }
    let s = busybox_skiff();
    let id = sleeper(&s, "bg");
    let session = s
        .run([
            "exec",
            "-d",
            "bg",
            "sh",
            "-c",
            "sleep 0.5; echo done > /tmp/flag",
        ])
        .ok();
    assert_eq!(session.trim().len(), 64, "the session id: {session}");
    s.run(["exec", "bg", "cat", "/tmp/flag"]).fails(1);
    wait_for(
        || s.run(["exec", "bg", "cat", "/tmp/flag"]).stdout() == "done\n",
        "the background command to write its file",
    );
    wait_for(
        || sessions(&s, &id).is_empty(),
        "the finished session to be cleaned up",
    );
}

#[test]
fn exec_into_a_container_that_is_not_running_fails() {
    if !containers_ready(&["setsid"]) {
        return;
    }
    let s = busybox_skiff();
    let msg =
        "Error: can only create exec sessions on running containers: container state improper";
    s.run(["create", "--name", "new", "skiff-test/busybox", "true"])
        .ok();
    s.run(["exec", "new", "true"]).fails_with(125, msg);
    s.run(["run", "--name", "done", "skiff-test/busybox", "true"])
        .ok();
    s.run(["exec", "done", "true"]).fails_with(125, msg);
    s.run(["exec", "missing", "true"]).fails(125);
    s.run(["attach", "done"])
        .fails_with(125, "you can only attach to running containers");
}

#[test]
fn run_it_answers_a_prompt_and_follows_the_window_size() {
    if !containers_ready(&["setsid"]) {
        return;
    }
    let s = busybox_skiff();
    let mut run = in_pty(
        &s,
        24,
        80,
        &[
            "run",
            "-it",
            "--rm",
            "skiff-test/busybox",
            "sh",
            "-c",
            "echo ready; read x; echo got $x; exit 5",
        ],
    );
    run.expect("ready");
    run.write("hello\r");
    run.expect("got hello");
    assert_eq!(run.wait().code(), Some(5), "{}", run.output());

    // The size at start, then after the terminal was resized.
    let mut run = in_pty(
        &s,
        30,
        100,
        &[
            "run",
            "-it",
            "skiff-test/busybox",
            "sh",
            "-c",
            "stty size; while read x; do stty size; done",
        ],
    );
    run.expect("30 100");
    run.resize(40, 120);
    for _ in 0..100 {
        if run.output().contains("40 120") {
            break;
        }
        run.write("\r");
        std::thread::sleep(Duration::from_millis(100));
        run.expect("\n");
    }
    assert!(run.output().contains("40 120"), "{}", run.output());
    run.write("\x04");
    assert_eq!(run.wait().code(), Some(0), "{}", run.output());
}

#[test]
fn detach_keys_leave_the_container_running_and_attach_resumes() {
    if !containers_ready(&["setsid"]) {
        return;
    }
    let s = busybox_skiff();
    let mut run = in_pty(
        &s,
        24,
        80,
        &["run", "-it", "--name", "d", "skiff-test/busybox", "sh"],
    );
    run.write("echo one$((1+1))\r");
    run.expect("one2");
    run.write("\x10\x11");
    assert_eq!(run.wait().code(), Some(0), "{}", run.output());
    assert_eq!(state(&s, "d"), "running 0");

    // Our own keys; the default ones are input then.
    let mut again = in_pty(&s, 24, 80, &["attach", "--detach-keys", "ctrl-x,y", "d"]);
    again.write("echo two$((1+1))\r");
    again.expect("two2");
    again.write("\x18y");
    assert_eq!(again.wait().code(), Some(0), "{}", again.output());
    assert_eq!(state(&s, "d"), "running 0");

    let mut last = in_pty(&s, 24, 80, &["attach", "d"]);
    last.write("echo three$((1+2))\r");
    last.expect("three3");
    last.write("exit 3\r");
    assert_eq!(last.wait().code(), Some(3), "{}", last.output());
    wait_for(|| state(&s, "d") == "exited 3", "the exit to be recorded");
}

#[test]
fn start_ai_and_exec_t_use_the_terminal() {
    if !containers_ready(&["setsid"]) {
        return;
    }
    // The sizes come through the spec's consoleSize: the command sees them
    // at once, whatever the monitor is doing (through the monitor alone, a
    // fast runtime's command could ask first and get 0 0).
    let s = busybox_skiff();
    s.run([
        "create",
        "-it",
        "--name",
        "sa",
        "skiff-test/busybox",
        "sh",
        "-c",
        "stty size; read x; echo got $x",
    ])
    .ok();
    let mut start = in_pty(&s, 20, 70, &["start", "-ai", "sa"]);
    start.expect("20 70");
    start.write("\x10\x11");
    assert_eq!(start.wait().code(), Some(0), "{}", start.output());
    assert_eq!(state(&s, "sa"), "running 0");

    let mut exec = in_pty(
        &s,
        25,
        90,
        &["exec", "-it", "sa", "sh", "-c", "stty size; exit 6"],
    );
    exec.expect("25 90");
    assert_eq!(exec.wait().code(), Some(6), "{}", exec.output());

    let mut attach = in_pty(&s, 20, 70, &["attach", "sa"]);
    attach.write("hi\r");
    attach.expect("got hi");
    assert_eq!(attach.wait().code(), Some(0), "{}", attach.output());
}

#[test]
fn attach_without_stdin_prints_output_until_the_container_exits() {
    if !containers_ready(&["setsid"]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "logger",
        "skiff-test/busybox",
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; sleep 0.3; done; exit 7",
    ])
    .ok();
    wait_for(
        || s.run(["logs", "logger"]).stdout().contains("line 1"),
        "the container to start",
    );
    let out = s.run(["attach", "--no-stdin", "logger"]);
    assert_eq!(out.code(), Some(7), "{out}");
    assert!(out.stdout().ends_with("line 10\n"), "{out}");
    assert!(
        !out.stdout().contains("line 1\n"),
        "only what came after: {out}"
    );
}
