//! `--network pasta` with published ports (`-p`, `-P`), root and
//! rootless: fetch through a published port, a free host port chosen by
//! skiff, and nothing left behind (no pasta, no namespace file) after the
//! container stops, after `rm -f`, and after its monitor was killed.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::*;

/// `run -d --name NAME --network pasta FLAGS...` with a web server.
fn run_web(s: &Skiff, name: &str, flags: &[&str]) {
    let mut all = vec!["--network", "pasta"];
    all.extend_from_slice(flags);
    common::run_web(s, name, &all);
}

fn pasta_ready() -> bool {
    user_net_ready("pasta", "passt")
}

const IMAGE: &str = "skiff-test/busybox";

fn container_id(s: &Skiff, name: &str) -> String {
    inspect_container(s, name, "{{.Id}}")
}

fn netns_file(s: &Skiff, id: &str) -> PathBuf {
    s.runroot().join("usernet").join(id).join("netns")
}

/// Live pasta processes of this installation (they name its run
/// directory on their command line).
fn pastas(s: &Skiff) -> Vec<String> {
    processes_of(s)
        .into_iter()
        .filter(|p| p.contains("--netns"))
        .collect()
}

#[track_caller]
fn assert_gone(s: &Skiff, id: &str) {
    wait_for(|| pastas(s).is_empty(), "pasta to exit");
    assert!(!netns_file(s, id).exists(), "the namespace file is left");
}

#[test]
fn publish_and_fetch_then_stop_and_start_again() {
    if !pasta_ready() {
        return;
    }
    let s = busybox_skiff();
    let port = 19431;
    let t = Instant::now();
    run_web(&s, "web", &["-p", &format!("127.0.0.1:{port}:80")]);
    let text = fetch_local(port);
    eprintln!("run -d -p to the first answer: {:?}", t.elapsed());
    assert!(text.contains("hello from web"), "{text}");
    let id = container_id(&s, "web");
    assert!(netns_file(&s, &id).exists());
    assert_eq!(pastas(&s).len(), 1, "{:?}", pastas(&s));
    // The container's resolver is pasta's forwarder first.
    let resolv = s.run(["exec", "web", "cat", "/etc/resolv.conf"]).ok();
    assert!(
        resolv.lines().find(|l| l.starts_with("nameserver")) == Some("nameserver 169.254.1.1"),
        "{resolv}"
    );
    // Stopping releases pasta (the monitor's cleanup) and the host port,
    // so the next start can bind it again.
    s.run(["stop", "-t", "0", "web"]).ok();
    assert_gone(&s, &id);
    s.run(["start", "web"]).ok();
    assert!(fetch_local(port).contains("hello from web"));
    s.run(["rm", "-f", "-t", "0", "web"]).ok();
    assert_gone(&s, &id);
    assert!(processes_of(&s).is_empty(), "{:?}", processes_of(&s));
}

#[test]
fn a_free_host_port_is_chosen_and_shown_by_port() {
    if !pasta_ready() {
        return;
    }
    let s = busybox_skiff();
    run_web(&s, "rnd", &["-p", "127.0.0.1::80", "-P"]);
    let out = s.run(["port", "rnd", "80"]).ok();
    let port: u16 = out
        .trim()
        .strip_prefix("127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("port 80: {out}"));
    assert_ne!(port, 0);
    assert!(fetch_local(port).contains("hello from rnd"));
    // -P published the image's exposed port on a free port of every address.
    let all = s.run(["port", "rnd"]).ok();
    assert!(
        all.lines().any(|l| l.starts_with("8080/tcp -> 0.0.0.0:")),
        "{all}"
    );
    let id = container_id(&s, "rnd");
    s.run(["rm", "-f", "-t", "0", "rnd"]).ok();
    assert_gone(&s, &id);
}

#[test]
fn nothing_is_left_after_the_monitor_is_killed() {
    if !pasta_ready() {
        return;
    }
    let s = busybox_skiff();
    run_web(&s, "k9", &["-p", "127.0.0.1:19433:80"]);
    assert!(fetch_local(19433).contains("hello from k9"));
    let id = container_id(&s, "k9");
    kill_monitor(&s, "k9");
    s.run(["rm", "-f", "-t", "0", "k9"]).ok();
    assert_gone(&s, &id);
}

#[test]
fn a_container_that_exits_releases_pasta() {
    if !pasta_ready() {
        return;
    }
    let s = busybox_skiff();
    let out = s
        .run([
            "run",
            "--name",
            "once",
            "--network",
            "pasta",
            "-p",
            "127.0.0.1:19434:80",
            IMAGE,
            "sh",
            "-c",
            "ip -o link | grep -c -v ': lo:'",
        ])
        .ok();
    // An interface besides loopback, configured by pasta.
    assert_eq!(out.trim(), "1", "{out}");
    let id = container_id(&s, "once");
    assert_gone(&s, &id);
    s.run(["rm", "once"]).ok();
}

#[test]
fn bad_publish_values_are_refused() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    for bad in [
        "x",
        "80:",
        "0",
        "70000",
        "8080-8081:80",
        "90-80:80-90",
        "80/icmp",
        "1.2.3:80:80",
    ] {
        s.run(["create", "--network", "pasta", "-p", bad, IMAGE])
            .fails_with(125, "invalid -p");
    }
    for mode in ["none", "host", "ns:/proc/self/ns/net"] {
        s.run(["create", "--network", mode, "-p", "8080:80", IMAGE])
            .fails_with(125, "port publishing");
    }
    // The default (none, for now) cannot publish either.
    s.run(["create", "-P", IMAGE])
        .fails_with(125, "port publishing");
    s.run(["create", "--network", "pasta", "-p", "80/sctp", IMAGE])
        .fails_with(125, "sctp");
    s.run([
        "create",
        "--network",
        "pasta",
        "-p",
        "9000:80",
        "-p",
        "9000:81",
        IMAGE,
    ])
    .fails_with(125, "published twice");
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
}

#[test]
fn a_host_port_in_use_fails_the_start_with_pastas_message() {
    if !pasta_ready() {
        return;
    }
    let s = busybox_skiff();
    let _taken = std::net::TcpListener::bind("127.0.0.1:19435").expect("bind 19435");
    let err = s
        .run([
            "run",
            "-d",
            "--name",
            "busy",
            "--network",
            "pasta",
            "-p",
            "127.0.0.1:19435:80",
            IMAGE,
            "true",
        ])
        .fails_with(125, "pasta failed");
    eprintln!("{err}");
    assert!(!err.contains("syslog"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let id = container_id(&s, "busy");
    assert_gone(&s, &id);
    assert!(mounts_of(&s).is_empty(), "{:?}", mounts_of(&s));
    s.run(["rm", "busy"]).ok();
}

#[test]
fn a_container_with_a_user_namespace_of_its_own_gets_pasta_too() {
    if !pasta_ready() || is_root() {
        // keep-id is for rootless users; root's own namespaces are
        // covered above.
        return;
    }
    let s = busybox_skiff();
    // keep-id runs as the user's own id, which may not bind port 80.
    let web = |name: &str, flags: &[&str]| {
        let script = format!(
            "mkdir -p /tmp/www && echo hello from {name} > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"
        );
        let mut argv = vec!["run", "-d", "--name", name];
        argv.extend_from_slice(flags);
        argv.extend([IMAGE, "sh", "-c", &script]);
        s.run(argv).ok();
    };
    web(
        "kept",
        &[
            "--network",
            "pasta",
            "--userns",
            "keep-id",
            "-p",
            "127.0.0.1:19438:8080",
        ],
    );
    assert!(fetch_local(19438).contains("hello from kept"));
    // And a pod with one: its containers share it and pasta's network
    // (runc joins namespaces in an order that cannot, and is refused).
    if std::env::var("SKIFF_TEST_RUNTIME").as_deref() == Ok("runc") {
        s.run([
            "pod",
            "create",
            "--name",
            "kr",
            "--network",
            "pasta",
            "--userns",
            "keep-id",
        ])
        .ok();
        let err = s
            .run(["run", "--rm", "--pod", "kr", IMAGE, "true"])
            .fails(125);
        assert!(err.contains("--runtime crun"), "{err}");
        s.run(["pod", "rm", "-f", "kr"]).ok();
        s.run(["rm", "-f", "-t", "0", "kept"]).ok();
        return;
    }
    s.run([
        "pod",
        "create",
        "--name",
        "kp",
        "--network",
        "pasta",
        "--userns",
        "keep-id",
        "-p",
        "127.0.0.1:19439:8080",
    ])
    .ok();
    web("inpod", &["--pod", "kp"]);
    assert!(fetch_local(19439).contains("hello from inpod"));
    let id = container_id(&s, "kept");
    s.run(["rm", "-f", "-t", "0", "kept"]).ok();
    s.run(["pod", "rm", "-f", "-t", "0", "kp"]).ok();
    assert_gone(&s, &id);
    assert_eq!(pastas(&s), Vec::<String>::new());
}
