//! Options that shape how a container runs and lives beside others:
//! `--init`, `--requires` with `rm --depend`, `ps --size`, and the
//! containers.conf keys skiff honours (`runtime`, `runtimes`, `init`).

mod common;

use common::*;

#[test]
fn init_runs_the_command_as_its_child_reaps_orphans_and_forwards_signals() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let out = s
        .run([
            "run",
            "--rm",
            "--init",
            "skiff-test/busybox",
            "sh",
            "-c",
            "tr '\\0' ' ' </proc/1/cmdline; echo; echo $$ $PPID",
        ])
        .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].trim_end(),
        "/run/skiff-init -- sh -c tr '\\0' ' ' </proc/1/cmdline; echo; echo $$ $PPID"
    );
    // The command is not PID 1 but the init's child.
    let (own, parent) = lines[1].split_once(' ').expect("two pids");
    assert!(own != "1" && parent == "1", "{out}");
    // The command's exit code is the container's; 127 when it is missing.
    let code = s.run([
        "run",
        "--rm",
        "--init",
        "skiff-test/busybox",
        "sh",
        "-c",
        "exit 5",
    ]);
    assert_eq!(code.code(), Some(5), "{code}");
    s.run(["run", "--rm", "--init", "skiff-test/busybox", "/nope"])
        .fails(127);
    // An orphan is reaped: no zombie is left once it exits.
    let zombies = s
        .run([
            "run",
            "--rm",
            "--init",
            "skiff-test/busybox",
            "sh",
            "-c",
            "(sleep 0.2 &); sleep 1.5; cat /proc/[0-9]*/stat | grep -c ') Z ' || true",
        ])
        .ok();
    assert_eq!(zombies.trim(), "0");
    // stop's SIGTERM reaches a command that, as PID 1, would ignore it.
    s.run([
        "run",
        "-d",
        "--init",
        "--name",
        "sleeper",
        "skiff-test/busybox",
        "sleep",
        "1000",
    ])
    .ok();
    s.run(["stop", "-t", "60", "sleeper"]).ok();
    assert_eq!(
        inspect_container(&s, "sleeper", "{{.State.ExitCode}} {{.HostConfig.Init}}"),
        "143 true"
    );
    s.run(["rm", "sleeper"]).ok();
    // A missing --init-path is refused before anything is created.
    let err = s
        .run([
            "create",
            "--init",
            "--init-path",
            "/nonexistent/init",
            "skiff-test/busybox",
        ])
        .fails(125);
    assert!(
        err.starts_with("Error: ") && err.contains("/nonexistent/init"),
        "{err}"
    );
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
}

#[test]
fn containers_conf_chooses_the_runtime_and_the_init() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let conf = s.dir().join("containers.conf");
    std::fs::write(&conf, "[engine]\nruntime = \"/nonexistent/rt\"\n").expect("write");
    let err = s.run(["create", "skiff-test/busybox", "true"]).fails(125);
    assert!(err.contains("/nonexistent/rt"), "{err}");
    // A name from [engine.runtimes] means the first of its paths there is.
    let runc = which("runc").expect("runc is installed");
    std::fs::write(
        &conf,
        format!(
            "[containers]\ninit = true\n[engine]\nruntime = \"mine\"\n[engine.runtimes]\nmine = [\"/nonexistent/mine\", \"{}\"]\n",
            runc.display()
        ),
    )
    .expect("write");
    let out = s
        .run([
            "run",
            "--name",
            "c",
            "skiff-test/busybox",
            "sh",
            "-c",
            "echo $PPID",
        ])
        .ok();
    assert_eq!(out.trim(), "1", "containers.conf's init = true");
    assert_eq!(
        inspect_container(&s, "c", "{{.OCIRuntime}}"),
        runc.display().to_string()
    );
    std::fs::write(&conf, "[engine\n").expect("write");
    let err = s.run(["create", "skiff-test/busybox", "true"]).fails(125);
    assert!(
        err.contains("containers.conf"),
        "a broken file is named: {err}"
    );
}

#[test]
fn requirements_start_first_and_are_removed_last() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "create",
        "--name",
        "db",
        "skiff-test/busybox",
        "sleep",
        "1000",
    ])
    .ok();
    s.run([
        "run",
        "-d",
        "--name",
        "app",
        "--requires",
        "db",
        "skiff-test/busybox",
        "sleep",
        "1000",
    ])
    .ok();
    assert_eq!(inspect_container(&s, "db", "{{.State.Status}}"), "running");
    let db_id = inspect_container(&s, "db", "{{.Id}}");
    assert_eq!(
        inspect_container(&s, "app", "{{json .Dependencies}}"),
        format!("[\"{db_id}\"]")
    );
    // What others require stays until they go.
    let err = s.run(["rm", "-f", "-t", "0", "db"]).fails(125);
    assert!(
        err.contains("dependent containers") && err.contains("app"),
        "{err}"
    );
    assert_eq!(inspect_container(&s, "db", "{{.State.Status}}"), "running");
    let out = s.run(["rm", "-f", "-t", "0", "--depend", "db"]).ok();
    let app_line = out.lines().next().unwrap_or_default().to_string();
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        app_line.len() == 64 && out.lines().nth(1) == Some("db"),
        "{out}"
    );
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
    // Unknown requirements are refused; rm -a orders removals itself.
    s.run(["create", "--requires", "nosuch", "skiff-test/busybox"])
        .fails(125);
    s.run(["create", "--name", "x", "skiff-test/busybox", "true"])
        .ok();
    s.run([
        "create",
        "--name",
        "y",
        "--requires",
        "x",
        "skiff-test/busybox",
        "true",
    ])
    .ok();
    s.run([
        "create",
        "--name",
        "z",
        "--requires",
        "y,x",
        "skiff-test/busybox",
        "true",
    ])
    .ok();
    assert_eq!(s.run(["rm", "-a"]).ok().lines().count(), 3);
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
}

#[test]
fn ps_size_reports_what_a_container_wrote() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "--name",
        "writer",
        "skiff-test/busybox",
        "sh",
        "-c",
        "head -c 300000 /dev/zero >/big",
    ])
    .ok();
    let json: serde_json::Value =
        serde_json::from_str(&s.run(["ps", "-a", "--size", "--format", "json"]).ok())
            .expect("json");
    let size = &json[0]["Size"];
    let rw = size["rwSize"].as_u64().expect("rwSize");
    let root = size["rootFsSize"].as_u64().expect("rootFsSize");
    assert!((300_000..400_000).contains(&rw), "{size}");
    assert!(root > rw + 500_000, "the image counts too: {size}");
    let table = s.run(["ps", "-a", "--size"]).ok();
    assert!(
        table.lines().next().unwrap_or_default().ends_with("SIZE"),
        "{table}"
    );
    assert!(table.contains("kB (virtual "), "{table}");
    // Without --size nothing is measured.
    let plain = s.run(["ps", "-a", "--format", "json"]).ok();
    assert!(plain.contains("\"Size\": null"), "{plain}");
    s.run(["rm", "writer"]).ok();
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .chain(["/usr/sbin".into(), "/usr/bin".into(), "/sbin".into()])
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

#[test]
fn port_lists_nothing_for_a_container_that_publishes_nothing() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run(["create", "--name", "quiet", "skiff-test/busybox", "true"])
        .ok();
    assert_eq!(s.run(["port", "quiet"]).ok(), "");
    assert_eq!(s.run(["port", "-a"]).ok(), "");
    let err = s.run(["port", "quiet", "80"]).fails(125);
    assert_eq!(
        err.trim(),
        "Error: failed to find published port \"80/tcp\""
    );
    s.run(["port", "quiet", "80/icmp"]).fails(125);
    s.run(["port"]).fails(125);
    s.run(["port", "nosuch"]).fails(125);
}
