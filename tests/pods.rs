//! Pods: containers sharing the network, IPC and UTS namespaces (and PID
//! on request) of an infra container running skiff's pause program, and
//! managed as one. Root and rootless.

mod common;

use std::time::Duration;

use common::*;

const IMAGE: &str = "skiff-test/busybox";

fn pod_status(s: &Skiff, pod: &str) -> String {
    s.run(["pod", "inspect", "--format", "{{.State}}", pod])
        .ok()
        .trim()
        .to_string()
}

fn infra_name(s: &Skiff, pod: &str) -> String {
    let id = s
        .run(["pod", "inspect", "--format", "{{.InfraContainerID}}", pod])
        .ok();
    inspect_container(s, id.trim(), "{{.Name}}")
}

/// Nothing of the installation is left: no container, mount or process.
fn assert_nothing_left(s: &Skiff) {
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
    assert_eq!(s.run(["pod", "ps", "-q"]).ok(), "");
    wait_for(
        || processes_of(s).is_empty(),
        "no process of the installation",
    );
    assert_eq!(mounts_of(s), Vec::<String>::new());
}

/// A static program that makes a SysV message queue and prints its id
/// (the busybox image has no ipcmk).
fn msgq_maker(s: &Skiff) -> Option<std::path::PathBuf> {
    static_c_program(
        s,
        "mkmsgq",
        "#include <stdio.h>\n#include <sys/ipc.h>\n#include <sys/msg.h>\n\
         int main(void) {\n\
           int id = msgget(0x5eed, IPC_CREAT | 0600);\n\
           if (id < 0) { perror(\"msgget\"); return 1; }\n\
           printf(\"%d\\n\", id);\n\
           return 0;\n\
         }\n",
    )
}

#[test]
fn containers_in_a_pod_share_localhost_hostname_ipc_and_shm() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let id = s.run(["pod", "create", "--name", "p1"]).ok();
    assert_eq!(id.trim().len(), 64, "{id}");
    assert_eq!(pod_status(&s, "p1"), "Created");
    run_web(&s, "web", &["--pod", "p1"]);
    assert_eq!(pod_status(&s, "p1"), "Running", "the infra started first");
    // localhost and the host name are the pod's.
    let out = s
        .run([
            "run",
            "--rm",
            "--pod",
            "p1",
            IMAGE,
            "sh",
            "-c",
            "hostname; for i in 1 2 3 4 5 6 7 8 9 10; do \
             wget -q -O - http://127.0.0.1:80/index.html && break; sleep 0.2; done",
        ])
        .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first().copied(), Some("p1"), "{out}");
    assert!(out.contains("hello from web"), "{out}");
    assert_eq!(s.run(["exec", "web", "hostname"]).ok().trim(), "p1");
    // /dev/shm is one.
    s.run([
        "run",
        "--rm",
        "--pod",
        "p1",
        IMAGE,
        "sh",
        "-c",
        "echo shared > /dev/shm/note",
    ])
    .ok();
    assert_eq!(
        s.run(["exec", "web", "cat", "/dev/shm/note"]).ok(),
        "shared\n"
    );
    // SysV IPC is one: a queue made by one container is seen by another,
    // and not by a container outside the pod.
    match msgq_maker(&s) {
        Some(prog) => {
            let mount = format!("{}:/mkmsgq:ro", prog.display());
            let qid = s
                .run(["run", "--rm", "--pod", "p1", "-v", &mount, IMAGE, "/mkmsgq"])
                .ok();
            let qid = qid.trim().to_string();
            let seen = s.run(["exec", "web", "cat", "/proc/sysvipc/msg"]).ok();
            assert!(
                seen.lines().skip(1).any(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() > 1 && f[1] == qid && f[0] == "24301"
                }),
                "queue {qid} (key 0x5eed) in the pod: {seen}"
            );
            let outside = s
                .run(["run", "--rm", IMAGE, "cat", "/proc/sysvipc/msg"])
                .ok();
            assert_eq!(outside.lines().count(), 1, "{outside}");
        }
        None if in_ci() => panic!("no C compiler with a static libc (build-essential)"),
        None => skip("no C compiler with a static libc: IPC queue check left out"),
    }
    s.run(["pod", "rm", "-f", "p1"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn share_pid_shows_every_process_with_pause_as_init() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run(["pod", "create", "--name", "pp", "--share", "+pid"])
        .ok();
    s.run([
        "run", "-d", "--pod", "pp", "--name", "sleeper", IMAGE, "sleep", "1000",
    ])
    .ok();
    let ps = s
        .run(["run", "--rm", "--pod", "pp", IMAGE, "ps", "-o", "pid,args"])
        .ok();
    let first = ps.lines().nth(1).unwrap_or_default();
    assert!(
        first.trim_start().starts_with("1 ") && first.contains("pause"),
        "the pause program is PID 1: {ps}"
    );
    assert!(ps.contains("sleep 1000"), "{ps}");
    // Without --share pid, each container has its own.
    s.run(["pod", "create", "--name", "np"]).ok();
    s.run([
        "run", "-d", "--pod", "np", "--name", "sleeper2", IMAGE, "sleep", "1000",
    ])
    .ok();
    let ps = s
        .run(["run", "--rm", "--pod", "np", IMAGE, "ps", "-o", "args"])
        .ok();
    assert!(!ps.contains("sleep 1000"), "{ps}");
    s.run(["pod", "rm", "-f", "-t", "0", "pp", "np"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn stop_start_and_restart_round_trip() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run(["pod", "create", "--name", "rt"]).ok();
    s.run([
        "create", "--pod", "rt", "--name", "a", IMAGE, "sleep", "1000",
    ])
    .ok();
    s.run([
        "create", "--pod", "rt", "--name", "b", IMAGE, "sleep", "1000",
    ])
    .ok();
    assert_eq!(pod_status(&s, "rt"), "Created");
    let id = s.run(["pod", "start", "rt"]).ok();
    assert_eq!(id.trim().len(), 64);
    assert_eq!(pod_status(&s, "rt"), "Running");
    let before = inspect_container(&s, "a", "{{.State.StartedAt}}");
    s.run(["pod", "stop", "-t", "1", "rt"]).ok();
    assert_eq!(pod_status(&s, "rt"), "Exited");
    for c in ["a", "b"] {
        assert_eq!(inspect_container(&s, c, "{{.State.Status}}"), "exited");
    }
    s.run(["pod", "start", "rt"]).ok();
    assert_eq!(pod_status(&s, "rt"), "Running");
    s.run(["pod", "restart", "-t", "1", "rt"]).ok();
    assert_eq!(pod_status(&s, "rt"), "Running");
    assert_ne!(inspect_container(&s, "a", "{{.State.StartedAt}}"), before);
    let ps = s
        .run([
            "pod",
            "ps",
            "--ctr-names",
            "--ctr-status",
            "--format",
            "{{.Name}} {{.ContainerNames}} {{.ContainerStatuses}}",
        ])
        .ok();
    assert!(ps.starts_with("rt "), "{ps}");
    assert!(ps.contains(",a") || ps.contains("a,"), "{ps}");
    assert!(ps.trim_end().ends_with("running,running,running"), "{ps}");
    // A pod with running containers is not removed without -f.
    let err = s.run(["pod", "rm", "rt"]).fails(125);
    assert!(err.contains("without force"), "{err}");
    s.run(["pod", "kill", "rt"]).ok();
    wait_for(|| pod_status(&s, "rt") == "Exited", "the pod to be killed");
    s.run(["pod", "rm", "rt"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn exit_policy_stop_stops_the_pod_after_its_last_container() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run(["pod", "create", "--name", "ep", "--exit-policy", "stop"])
        .ok();
    s.run([
        "run", "-d", "--pod", "ep", "--name", "short", IMAGE, "sleep", "0.3",
    ])
    .ok();
    let infra = infra_name(&s, "ep");
    wait_for(
        || inspect_container(&s, &infra, "{{.State.Status}}") == "exited",
        "the infra container to stop after the last container exited",
    );
    assert_eq!(pod_status(&s, "ep"), "Exited");
    assert_eq!(
        s.run(["pod", "inspect", "--format", "{{.ExitPolicy}}", "ep"])
            .ok()
            .trim(),
        "stop"
    );
    // The default policy keeps the pod up.
    s.run(["pod", "create", "--name", "ec"]).ok();
    s.run(["run", "--pod", "ec", "--name", "quick", IMAGE, "true"])
        .ok();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(pod_status(&s, "ec"), "Degraded");
    s.run(["pod", "rm", "-f", "-t", "0", "ep", "ec"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn killing_the_infra_monitor_is_seen_and_pod_rm_cleans_up() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run(["pod", "create", "--name", "km"]).ok();
    s.run([
        "run", "-d", "--pod", "km", "--name", "app", IMAGE, "sleep", "1000",
    ])
    .ok();
    let infra = infra_name(&s, "km");
    kill_monitor(&s, &infra);
    let status = pod_status(&s, "km");
    assert_ne!(status, "Running", "pod ps tells the truth");
    let ps = s
        .run([
            "pod",
            "ps",
            "--ctr-status",
            "--format",
            "{{.Status}} {{.ContainerStatuses}}",
        ])
        .ok();
    assert!(ps.starts_with(&status), "{ps}");
    s.run(["pod", "rm", "-f", "-t", "0", "km"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn five_pods_created_at_once_are_distinct() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    // Five `pod create` processes at once, each then starting a container.
    let children: Vec<_> = (0..5)
        .map(|i| {
            let name = format!("c{i}");
            s.cmd(["pod", "create", "--name", &name])
                .spawn()
                .expect("spawn pod create")
        })
        .collect();
    let ids: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("pod create");
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect();
    let runs: Vec<_> = (0..5)
        .map(|i| {
            let name = format!("c{i}");
            s.cmd(["run", "-d", "--pod", &name, IMAGE, "sleep", "1000"])
                .spawn()
                .expect("spawn run")
        })
        .collect();
    for r in runs {
        let out = r.wait_with_output().expect("run");
        assert!(out.status.success(), "{out:?}");
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 5, "{ids:?}");
    let listed = s
        .run([
            "pod",
            "ps",
            "--format",
            "{{.Name}} {{.Status}} {{.NumberOfContainers}}",
        ])
        .ok();
    for i in 0..5 {
        assert!(listed.contains(&format!("c{i} Running 2")), "{listed}");
    }
    // One pause image, made once.
    let images = s.run(["images", "--format", "{{.Repository}}"]).ok();
    assert_eq!(
        images.lines().filter(|l| l.contains("skiff-pause")).count(),
        1,
        "{images}"
    );
    s.run(["pod", "rm", "-a", "-f", "-t", "0"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn run_pod_new_makes_the_pod_and_infra_options_are_honoured() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--pod",
        "new:fresh",
        "--name",
        "inner",
        IMAGE,
        "sleep",
        "1000",
    ])
    .ok();
    assert_eq!(pod_status(&s, "fresh"), "Running");
    assert_eq!(
        s.run(["pod", "inspect", "--format", "{{.NumContainers}}", "fresh"])
            .ok()
            .trim(),
        "2"
    );
    // A named infra container running the command given.
    s.run([
        "pod",
        "create",
        "--name",
        "custom",
        "--infra-name",
        "holder",
        "--infra-image",
        IMAGE,
        "--infra-command",
        r#"["sleep","1001"]"#,
    ])
    .ok();
    s.run(["pod", "start", "custom"]).ok();
    let top = s.run(["top", "holder"]).ok();
    assert!(top.contains("sleep 1001"), "{top}");
    // Without an infra container, containers share nothing but the
    // lifecycle.
    s.run(["pod", "create", "--name", "loose", "--infra=false"])
        .ok();
    s.run([
        "run", "-d", "--pod", "loose", "--name", "l1", IMAGE, "sleep", "1000",
    ])
    .ok();
    s.run([
        "run", "-d", "--pod", "loose", "--name", "l2", IMAGE, "sleep", "1000",
    ])
    .ok();
    assert_ne!(
        s.run(["exec", "l1", "hostname"]).ok(),
        s.run(["exec", "l2", "hostname"]).ok()
    );
    s.run(["pod", "stop", "-t", "0", "loose"]).ok();
    assert_eq!(pod_status(&s, "loose"), "Exited");
    s.run(["pod", "rm", "-a", "-f", "-t", "0"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn bad_input_is_refused_in_one_line() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run(["pod", "create", "--name", "bp"]).ok();
    let one_line = |err: String, needle: &str| {
        assert!(
            err.starts_with("Error: ") && err.lines().count() == 1,
            "{err}"
        );
        assert!(err.contains(needle), "{needle:?} in {err}");
    };
    one_line(
        s.run(["run", "--pod", "bp", "-p", "8080:80", IMAGE, "true"])
            .fails(125),
        "pod is created",
    );
    one_line(
        s.run(["run", "--pod", "bp", "--network", "host", IMAGE, "true"])
            .fails(125),
        "shared with a pod",
    );
    one_line(
        s.run(["run", "--pod", "bp", "--hostname", "x", IMAGE, "true"])
            .fails(125),
        "hostname",
    );
    one_line(
        s.run(["run", "--pod", "nope", IMAGE, "true"]).fails(125),
        "no such pod",
    );
    one_line(
        s.run(["pod", "create", "--name", "bp"]).fails(125),
        "already in use",
    );
    one_line(
        s.run(["pod", "create", "--share", "mnt"]).fails(125),
        "--share",
    );
    one_line(s.run(["pod", "rm", "nope"]).fails(125), "no such pod");
    s.run(["pod", "rm", "--ignore", "nope"]).ok();
    let infra = infra_name(&s, "bp");
    one_line(s.run(["rm", "-f", &infra]).fails(125), "infra container");
    // Nothing was made by the refused commands.
    assert_eq!(s.run(["ps", "-a", "-q"]).ok().lines().count(), 1);
    assert_eq!(s.run(["pod", "ps", "-q"]).ok().lines().count(), 1);
    assert_eq!(s.run(["pod", "exists", "bp"]).code(), Some(0));
    assert_eq!(s.run(["pod", "exists", "nope"]).code(), Some(1));
    s.run(["pod", "rm", "bp"]).ok();
    assert_nothing_left(&s);
}

/// GET index.html from `port` on the loopback of the (private, for root)
/// host.
fn fetch_published(s: &Skiff, port: u16) -> String {
    if !is_root() {
        return fetch_local(port);
    }
    let url = format!("http://127.0.0.1:{port}/index.html");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let out = s
            .in_host("timeout")
            .args(["5", "busybox", "wget", "-q", "-O", "-", &url])
            .try_run();
        match out {
            Ok(o) if o.success() => return o.stdout(),
            other if std::time::Instant::now() > deadline => {
                panic!("no answer from {url}: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[test]
fn a_port_published_on_the_pod_answers() {
    if !containers_ready(&[]) {
        return;
    }
    if is_root() && find_tool("nft").is_none() {
        if in_ci() {
            panic!("nft is not installed (Debian package nftables; see .ci/run)");
        }
        skip("nft is not installed");
        return;
    }
    if !is_root() && !user_net_ready("pasta", "passt") {
        return;
    }
    let mut s = busybox_skiff();
    // The engine's default network: a bridge on a private host for root,
    // pasta for a rootless user.
    s.write_containers_conf("");
    if is_root() {
        s.enter_private_host();
    }
    s.run(["pod", "create", "--name", "pub", "-p", "127.0.0.1:19471:80"])
        .ok();
    run_web(&s, "web", &["--pod", "pub"]);
    let got = fetch_published(&s, 19471);
    assert!(got.contains("hello from web"), "{got}");
    let bindings = s
        .run([
            "pod",
            "inspect",
            "--format",
            "{{json .InfraConfig.PortBindings}}",
            "pub",
        ])
        .ok();
    assert!(bindings.contains("19471"), "{bindings}");
    s.run(["pod", "rm", "-f", "-t", "0", "pub"]).ok();
    assert_nothing_left(&s);
    if is_root() {
        assert_eq!(s.host_leftovers(), Vec::<String>::new());
    }
}

/// The memory limit of the cgroup that holds the cgroup of process `pid`
/// (its pod's), from the v1 memory hierarchy or the unified one.
fn parent_memory_limit(pid: &str) -> Option<u64> {
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    for line in own.lines() {
        let mut f = line.splitn(3, ':');
        let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
        let parent = std::path::Path::new(path).parent()?.display().to_string();
        let file = match controllers {
            "memory" => format!("/sys/fs/cgroup/memory{parent}/memory.limit_in_bytes"),
            "" => format!("/sys/fs/cgroup{parent}/memory.max"),
            _ => continue,
        };
        if let Ok(v) = std::fs::read_to_string(&file) {
            if let Ok(n) = v.trim().parse() {
                return Some(n);
            }
        }
    }
    None
}

#[test]
fn pod_limits_hold_every_container_of_the_pod() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    if !cgroups_usable() {
        // Said plainly, and nothing is made.
        let err = s
            .run(["pod", "create", "--name", "lim", "--memory", "64m"])
            .fails(125);
        assert!(err.contains("cgroup"), "{err}");
        assert_eq!(s.run(["pod", "ps", "-q"]).ok(), "");
        return;
    }
    s.run([
        "pod", "create", "--name", "lim", "--memory", "64m", "--cpus", "0.5",
    ])
    .ok();
    s.run([
        "run", "-d", "--pod", "lim", "--name", "in", IMAGE, "sleep", "1000",
    ])
    .ok();
    let pid = inspect_container(&s, "in", "{{.State.Pid}}");
    assert_eq!(parent_memory_limit(&pid), Some(64 << 20));
    assert_eq!(
        s.run([
            "pod",
            "inspect",
            "--format",
            "{{.MemoryLimit}} {{.CPUQuota}}",
            "lim"
        ])
        .ok()
        .trim(),
        "67108864 50000"
    );
    s.run(["pod", "rm", "-f", "-t", "0", "lim"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn pod_top_logs_stats_clone_and_ps_show_the_pod() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let pod = s
        .run([
            "pod",
            "create",
            "--name",
            "obs",
            "--label",
            "tier=web",
            "--add-host",
            "db.local:10.9.8.7",
        ])
        .ok();
    let pod = pod.trim();
    for (name, word) in [("o1", "first"), ("o2", "second")] {
        s.run([
            "run",
            "-d",
            "--pod",
            "obs",
            "--name",
            name,
            IMAGE,
            "sh",
            "-c",
            &format!("echo {word}; exec sleep 1000"),
        ])
        .ok();
    }
    wait_for(
        || s.run(["pod", "logs", "obs"]).ok().lines().count() == 2,
        "both containers to log",
    );
    let logs = s.run(["pod", "logs", "obs"]).ok();
    let o1 = inspect_container(&s, "o1", "{{.Id}}");
    assert!(logs.contains(&format!("{} first", &o1[..12])), "{logs}");
    assert_eq!(s.run(["pod", "logs", "-c", "o2", "obs"]).ok(), "second\n");
    // --add-host of the pod is in every container's /etc/hosts.
    let hosts = s.run(["exec", "o1", "cat", "/etc/hosts"]).ok();
    assert!(hosts.contains("10.9.8.7\tdb.local"), "{hosts}");
    let top = s.run(["pod", "top", "obs", "pid", "args"]).ok();
    assert!(top.contains("/pause"), "{top}");
    assert_eq!(top.matches("sleep 1000").count(), 2, "{top}");
    if cgroups_usable() {
        let stats = s
            .run([
                "pod",
                "stats",
                "--no-stream",
                "--format",
                "{{.Pod}} {{.Name}}",
                "obs",
            ])
            .ok();
        assert_eq!(stats.lines().count(), 3, "{stats}");
        assert!(stats.lines().all(|l| l.starts_with(&pod[..12])), "{stats}");
    }
    // ps names the pod of each container.
    let ps = s
        .run([
            "ps",
            "--pod",
            "--format",
            "{{.Names}} {{.PodName}} {{.IsInfra}}",
        ])
        .ok();
    assert!(ps.contains("o1 obs false"), "{ps}");
    assert!(ps.contains("-infra obs true"), "{ps}");
    assert_eq!(inspect_container(&s, "o1", "{{.Pod}}"), pod);
    assert_eq!(
        inspect_container(&s, "o1", "{{.HostConfig.UTSMode}}"),
        format!(
            "container:{}",
            s.run(["pod", "inspect", "--format", "{{.InfraContainerID}}", "obs"])
                .ok()
                .trim()
        )
    );
    // A copy of the pod and its containers, started, then the original
    // replaced by a copy under its containers' names.
    s.run(["pod", "clone", "--start", "obs", "copy"]).ok();
    assert_eq!(pod_status(&s, "copy"), "Running");
    assert_eq!(
        s.run([
            "pod",
            "inspect",
            "--format",
            "{{.Labels.tier}} {{.NumContainers}}",
            "copy"
        ])
        .ok()
        .trim(),
        "web 3"
    );
    assert_eq!(s.run(["exec", "o1-clone", "hostname"]).ok().trim(), "copy");
    s.run(["pod", "stop", "-t", "0", "copy"]).ok();
    s.run(["pod", "clone", "--destroy", "-n", "obs2", "copy"])
        .ok();
    assert_eq!(s.run(["pod", "exists", "copy"]).code(), Some(1));
    assert_eq!(pod_status(&s, "obs2"), "Created");
    assert_eq!(inspect_container(&s, "o1-clone", "{{.Pod}}").len(), 64);
    // system reset takes pods with it.
    s.run(["system", "reset", "-f"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn namespace_flags_join_another_containers_namespaces() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run([
        "run",
        "-d",
        "--name",
        "holder",
        "--hostname",
        "held",
        IMAGE,
        "sleep",
        "1000",
    ])
    .ok();
    let out = s
        .run([
            "run",
            "--rm",
            "--uts",
            "container:holder",
            "--pid",
            "container:holder",
            "--ipc",
            "container:holder",
            IMAGE,
            "sh",
            "-c",
            "hostname; ps -o args",
        ])
        .ok();
    assert!(out.starts_with("held\n"), "{out}");
    assert!(out.contains("sleep 1000"), "{out}");
    let own = s
        .run([
            "run", "--rm", "--ipc", "private", "--pid", "private", IMAGE, "ps", "-o", "args",
        ])
        .ok();
    assert!(!own.contains("sleep 1000"), "{own}");
    let err = s
        .run(["run", "--rm", "--pid", "container:nope", IMAGE, "true"])
        .fails(125);
    assert!(err.contains("nope"), "{err}");
    let err = s
        .run(["run", "--rm", "--uts", "bogus", IMAGE, "true"])
        .fails(125);
    assert!(err.contains("--uts"), "{err}");
    // The container it joined cannot go while another needs it.
    s.run([
        "create",
        "--name",
        "joiner",
        "--ipc",
        "container:holder",
        IMAGE,
        "true",
    ])
    .ok();
    s.run(["rm", "-f", "holder"]).fails(125);
    s.run(["rm", "joiner"]).ok();
    s.run(["rm", "-f", "-t", "0", "holder"]).ok();
    assert_nothing_left(&s);
}

#[test]
fn a_pod_user_namespace_is_shared_by_its_containers() {
    if !containers_ready(&[]) {
        return;
    }
    let mode = if is_root() {
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
        "auto:size=2000"
    } else {
        "keep-id"
    };
    let s = busybox_skiff();
    s.run(["pod", "create", "--name", "us", "--userns", mode])
        .ok();
    s.run([
        "run", "-d", "--pod", "us", "--name", "m1", IMAGE, "sleep", "1000",
    ])
    .ok();
    let probe = "readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u";
    let first = s.run(["exec", "m1", "sh", "-c", probe]).ok();
    let second = s
        .run(["run", "--rm", "--pod", "us", IMAGE, "sh", "-c", probe])
        .ok();
    let lines = |t: &str| t.lines().map(str::to_string).collect::<Vec<_>>();
    let (a, b) = (lines(&first), lines(&second));
    assert_eq!(
        a[..a.len() - 1],
        b[..b.len() - 1],
        "one user namespace: {first} / {second}"
    );
    let map = s
        .run(["run", "--rm", IMAGE, "cat", "/proc/self/uid_map"])
        .ok();
    assert!(
        !first.contains(&map),
        "not skiff's own namespace: {first} / {map}"
    );
    if !is_root() {
        let me = nix::unistd::getuid().as_raw().to_string();
        assert_eq!(
            b.last().map(String::as_str),
            Some(me.as_str()),
            "keep-id: {second}"
        );
    }
    let infra = s
        .run(["pod", "inspect", "--format", "{{.InfraContainerID}}", "us"])
        .ok();
    assert_eq!(
        inspect_container(&s, "m1", "{{.HostConfig.UsernsMode}}"),
        format!("container:{}", infra.trim())
    );
    let err = s
        .run([
            "run", "--rm", "--pod", "us", "--userns", "host", IMAGE, "true",
        ])
        .code();
    assert_eq!(err, Some(0), "host is the default, accepted");
    let err = s
        .run([
            "run", "--rm", "--pod", "us", "--uidmap", "0:1:10", IMAGE, "true",
        ])
        .fails(125);
    assert!(err.contains("pod is created"), "{err}");
    s.run(["pod", "rm", "-f", "-t", "0", "us"]).ok();
    assert_nothing_left(&s);
}
