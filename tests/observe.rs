//! Looking into running containers, and the limits they run under: `top`,
//! `stats --no-stream`, and `--memory`, `--cpus`, `--pids-limit` reaching
//! the container's cgroup. Root and rootless; a rootless user without a
//! delegated cgroup gets a clear error for what needs one.

mod common;

use common::*;

/// Split a table line into its columns (two or more spaces apart).
fn columns(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn top_lists_the_container_processes() {
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
        "sleep 1000 & sleep 2000; echo done",
    ])
    .ok();
    wait_for(
        || s.run(["top", "t", "args"]).stdout().lines().count() == 4,
        "sh and both sleeps",
    );
    let out = s.run(["top", "t"]).ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        columns(lines[0]),
        ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"]
    );
    let rows: Vec<Vec<String>> = lines[1..].iter().map(|l| columns(l)).collect();
    // Pids as the container sees them: sh is 1, its children have it as parent.
    assert_eq!(rows[0][0..3], ["root", "1", "0"]);
    assert_eq!(rows[0][7], "sh -c sleep 1000 & sleep 2000; echo done");
    let commands: Vec<&str> = rows[1..].iter().map(|r| r[7].as_str()).collect();
    assert!(
        commands.contains(&"sleep 1000") && commands.contains(&"sleep 2000"),
        "{out}"
    );
    assert!(
        rows[1..].iter().all(|r| r[2] == "1" && r[5] == "?"),
        "{out}"
    );
    // Descriptors, comma-separated or not, AIX codes too; hpid is the host's.
    let host_pid = s
        .run(["container", "inspect", "--format", "{{.State.Pid}}", "t"])
        .ok();
    let out = s
        .run(["container", "top", "t", "pid,hpid", "%c", "seccomp"])
        .ok();
    let first: Vec<String> = columns(out.lines().nth(1).expect("a row"));
    assert_eq!(
        columns(out.lines().next().expect("header")),
        ["PID", "HPID", "COMMAND", "SECCOMP"]
    );
    assert_eq!(first, ["1", host_pid.trim(), "sh", "filter"]);
    s.run(["top", "t", "pid", "bogus"])
        .fails_with(125, "'bogus': unknown descriptor");
    s.run(["top", "nope"]).fails_with(125, "no such container");
    s.run(["stop", "-t", "0", "t"]).ok();
    s.run(["top", "t"])
        .fails_with(125, "top can only be used on running containers");
    s.run(["rm", "t"]).ok();
}

#[test]
fn stats_reads_the_container_cgroup() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    if !cgroups_usable() {
        s.run([
            "run",
            "-d",
            "--name",
            "busy",
            "skiff-test/busybox",
            "sleep",
            "1000",
        ])
        .ok();
        s.run(["stats", "--no-stream"]).fails_with(125, NO_CGROUP);
        s.run(["rm", "-f", "-t", "0", "busy"]).ok();
        skip("stats reads the container's cgroup; this user has none delegated");
        return;
    }
    s.run([
        "run",
        "-d",
        "--name",
        "busy",
        "--memory",
        "64m",
        "skiff-test/busybox",
        "sh",
        "-c",
        "sleep 1000 & while true; do :; done",
    ])
    .ok();
    s.run(["create", "--name", "idle", "skiff-test/busybox", "true"])
        .ok();
    wait_for(
        || {
            s.run(["stats", "--no-stream", "--format", "{{.PIDs}}", "busy"])
                .stdout()
                == "2\n"
        },
        "both processes",
    );
    let out = s.run(["stats", "--no-stream"]).ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        columns(lines[0]),
        [
            "ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET IO",
            "BLOCK IO",
            "PIDS",
            "CPU TIME",
            "AVG CPU %"
        ]
    );
    assert_eq!(
        lines.len(),
        2,
        "only the running container by default: {out}"
    );
    let row = columns(lines[1]);
    assert_eq!(row[1], "busy");
    assert!(row[3].ends_with(" / 67.11MB"), "the memory limit: {out}");
    assert_eq!((row[5].as_str(), row[7].as_str()), ("-- / --", "2"));
    let fields = s
        .run([
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.CPUNano}} {{.MemUsageBytes}} {{.MemPerc}} {{.CPUPerc}}",
            "busy",
        ])
        .ok();
    let f: Vec<&str> = fields.split_whitespace().collect();
    assert_eq!(f[0], "busy");
    assert!(
        f[1].parse::<u64>().expect("CPU nanoseconds") > 0,
        "{fields}"
    );
    assert_eq!(f[4], "64MiB", "{fields}");
    assert!(f[5].ends_with('%') && f[6].ends_with('%'), "{fields}");
    // Not running: zeros. -a lists it.
    let idle = s
        .run([
            "stats",
            "--no-stream",
            "-a",
            "--format",
            "{{.Name}}|{{.MemUsage}}|{{.PIDs}}",
        ])
        .ok();
    assert!(idle.lines().any(|l| l == "idle|0B / 0B|0"), "{idle}");
    let json = s
        .run(["stats", "--no-stream", "--format", "json", "busy"])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v[0]["name"], "busy");
    assert_eq!(v[0]["pids"], "2");
    assert_eq!(v[0]["net_io"], "-- / --");
    s.run(["stats", "--no-stream", "nope"])
        .fails_with(125, "no such container");
    s.run(["stats", "--no-stream", "-a", "busy"]).fails(125);
    s.run(["rm", "-f", "-t", "0", "busy", "idle"]).ok();
}

#[test]
fn memory_cpu_and_pids_limits_reach_the_cgroup() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    if !cgroups_usable() {
        // Asked-for limits that cannot be kept are an error, before
        // anything is created.
        for flag in [
            ["--memory", "64m"],
            ["--cpus", "0.5"],
            ["--pids-limit", "5"],
        ] {
            let err = s
                .run([
                    "run",
                    "--rm",
                    flag[0],
                    flag[1],
                    "skiff-test/busybox",
                    "true",
                ])
                .fails(125);
            assert!(err.contains(NO_CGROUP) && err.lines().count() == 1, "{err}");
        }
        assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
        skip("limits need a cgroup; this user has none delegated");
        return;
    }
    // v1 controllers (this host) or the unified tree (a v2 host).
    let show = "if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then \
        cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us \
        /sys/fs/cgroup/pids/pids.max; \
        else cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max; fi";
    let out = s
        .run([
            "run",
            "--rm",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "5",
            "skiff-test/busybox",
            "sh",
            "-c",
            show,
        ])
        .ok();
    let values: Vec<&str> = out.lines().collect();
    assert_eq!(values[0], "67108864");
    assert!(values[1] == "50000" || values[1] == "50000 100000", "{out}");
    assert_eq!(values[2], "5");
    // The pids limit stops forks...
    let err = s
        .run([
            "run",
            "--rm",
            "--pids-limit",
            "5",
            "skiff-test/busybox",
            "sh",
            "-c",
            "for i in $(seq 10); do sleep 5 & done; wait",
        ])
        .stderr();
    assert!(err.contains("can't fork"), "{err}");
    // ...and the memory limit ends a process that goes over it.
    let over = s.run([
        "run",
        "--rm",
        "--memory",
        "8m",
        "skiff-test/busybox",
        "sh",
        "-c",
        "x=$(head -c 50000000 /dev/zero | tr '\\0' a); echo ${#x}",
    ]);
    assert_eq!(over.code(), Some(137), "{over}");
    // Without options: podman's default pids limit, and a cgroup of its own.
    s.run([
        "run",
        "-d",
        "--name",
        "plain",
        "skiff-test/busybox",
        "sleep",
        "100",
    ])
    .ok();
    let id = s
        .run(["container", "inspect", "--format", "{{.Id}}", "plain"])
        .ok();
    let pid = s
        .run([
            "container",
            "inspect",
            "--format",
            "{{.State.Pid}}",
            "plain",
        ])
        .ok();
    let cgroup = std::fs::read_to_string(format!("/proc/{}/cgroup", pid.trim()))
        .expect("the container's cgroup");
    // The v2 hierarchy counts only where it is mounted (the crun pass
    // hides the empty v2 mount of a hybrid host).
    let v2_mounted = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        || std::path::Path::new("/sys/fs/cgroup/unified/cgroup.procs").exists();
    assert!(
        cgroup
            .lines()
            .filter(|l| v2_mounted || !l.starts_with("0::"))
            .all(|l| l.ends_with(id.trim())),
        "every hierarchy names the container: {cgroup}"
    );
    s.run(["rm", "-f", "-t", "0", "plain"]).ok();
}
