//! `--network slirp4netns[:OPTIONS]`, root and rootless: fetch through a
//! port published with slirp4netns's API, the container's view (address,
//! resolver, /etc/hosts, options), the host's loopback only when allowed,
//! refused options, and nothing left behind (no slirp4netns, no namespace
//! file) after the container stops, after `rm -f`, after its monitor was
//! killed (slirp4netns leaves with the monitor, before skiff runs again)
//! and after a start that failed on a host port in use.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;

use common::*;

const IMAGE: &str = "skiff-test/busybox";

/// `run -d --name NAME --network NETWORK FLAGS...` with a web server.
fn run_web(s: &Skiff, name: &str, network: &str, flags: &[&str]) {
    let mut all = vec!["--network", network];
    all.extend_from_slice(flags);
    common::run_web(s, name, &all);
}

fn slirp_ready() -> bool {
    user_net_ready("slirp4netns", "slirp4netns")
}

fn container_id(s: &Skiff, name: &str) -> String {
    inspect_container(s, name, "{{.Id}}")
}

/// The directory of a container's user-mode network helper.
fn helper_dir(s: &Skiff, id: &str) -> PathBuf {
    s.runroot().join("usernet").join(id)
}

/// Live slirp4netns processes of this installation (they name its run
/// directory on their command line).
fn slirps(s: &Skiff) -> Vec<String> {
    processes_of(s)
        .into_iter()
        .filter(|p| p.contains("--netns-type=path"))
        .collect()
}

#[track_caller]
fn assert_gone(s: &Skiff, id: &str) {
    wait_for(|| slirps(s).is_empty(), "slirp4netns to exit");
    let dir = helper_dir(s, id);
    for f in ["netns", "slirp4netns.pid", "slirp4netns.sock"] {
        assert!(!dir.join(f).exists(), "{f} is left in the helper directory");
    }
}

#[test]
fn publish_and_fetch_then_stop_and_start_again() {
    if !slirp_ready() {
        return;
    }
    let s = busybox_skiff();
    let port = 19441;
    run_web(
        &s,
        "web",
        "slirp4netns",
        &["-p", &format!("127.0.0.1:{port}:80")],
    );
    assert!(fetch_local(port).contains("hello from web"));
    let id = container_id(&s, "web");
    assert!(helper_dir(&s, &id).join("netns").exists());
    assert_eq!(slirps(&s).len(), 1, "{:?}", slirps(&s));
    assert_eq!(
        inspect_container(&s, "web", "{{.HostConfig.NetworkMode}}"),
        "slirp4netns"
    );
    // slirp4netns's network, as podman has it: the container on .100, its
    // DNS forwarder first in resolv.conf, its name on its address.
    let addr = s
        .run(["exec", "web", "ip", "-o", "-4", "addr", "show", "tap0"])
        .ok();
    assert!(addr.contains("inet 10.0.2.100/24"), "{addr}");
    let mtu = s
        .run(["exec", "web", "cat", "/sys/class/net/tap0/mtu"])
        .ok();
    assert_eq!(mtu.trim(), "65520");
    let resolv = s.run(["exec", "web", "cat", "/etc/resolv.conf"]).ok();
    assert_eq!(
        resolv.lines().find(|l| l.starts_with("nameserver")),
        Some("nameserver 10.0.2.3"),
        "{resolv}"
    );
    let hosts = s.run(["exec", "web", "cat", "/etc/hosts"]).ok();
    let short = &id[..12];
    assert!(
        hosts
            .lines()
            .any(|l| l == format!("10.0.2.100\t{short} web")),
        "{hosts}"
    );
    // Stopping releases slirp4netns and the host port, so the next start
    // can bind it again.
    s.run(["stop", "-t", "0", "web"]).ok();
    assert_gone(&s, &id);
    s.run(["start", "web"]).ok();
    assert!(fetch_local(port).contains("hello from web"));
    s.run(["rm", "-f", "-t", "0", "web"]).ok();
    assert_gone(&s, &id);
    assert!(processes_of(&s).is_empty(), "{:?}", processes_of(&s));
}

#[test]
fn options_shape_the_network_and_a_container_that_exits_releases_it() {
    if !slirp_ready() {
        return;
    }
    let s = busybox_skiff();
    let out = s
        .run([
            "run",
            "--name",
            "opts",
            "--network",
            "slirp4netns:cidr=10.41.0.0/16,mtu=1500,enable_ipv6=false,port_handler=slirp4netns",
            IMAGE,
            "sh",
            "-c",
            "ip -o -4 addr show tap0; cat /sys/class/net/tap0/mtu; ip -o -6 addr show tap0 scope global | wc -l; grep nameserver /etc/resolv.conf | head -1; ip route | grep default",
        ])
        .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("inet 10.41.0.100/16"), "{out}");
    assert_eq!(lines[1], "1500", "{out}");
    assert_eq!(lines[2], "0", "no IPv6 address: {out}");
    assert_eq!(lines[3], "nameserver 10.41.0.3", "{out}");
    assert!(lines[4].contains("via 10.41.0.2"), "{out}");
    let id = container_id(&s, "opts");
    assert_gone(&s, &id);
    s.run(["rm", "opts"]).ok();
}

#[test]
fn the_hosts_loopback_is_reachable_only_when_allowed() {
    if !slirp_ready() {
        return;
    }
    let s = busybox_skiff();
    let listener = TcpListener::bind("127.0.0.1:19448").expect("bind 19448");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 15\r\n\r\nhello from host");
        }
    });
    let script = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 10.0.2.2 19448 2>&1; echo; \
                  grep host.containers.internal /etc/hosts";
    let get = |network: &str| {
        s.run([
            "run",
            "--rm",
            "--network",
            network,
            IMAGE,
            "sh",
            "-c",
            script,
        ])
        .ok()
    };
    // (The image's wget crashes on a static C library's lookups: nc.)
    let out = get("slirp4netns:allow_host_loopback=true");
    assert!(out.contains("hello from host"), "{out}");
    assert!(out.contains("10.0.2.2\thost.containers.internal"), "{out}");
    let out = get("slirp4netns");
    assert!(!out.contains("hello from host"), "{out}");
    assert!(!out.contains("10.0.2.2\thost.containers.internal"), "{out}");
    assert!(slirps(&s).is_empty(), "{:?}", slirps(&s));
}

#[test]
fn udp_ports_are_bound_on_the_host_while_the_container_runs() {
    if !slirp_ready() {
        return;
    }
    let s = busybox_skiff();
    run_web(
        &s,
        "udp",
        "slirp4netns",
        &["-p", "127.0.0.1:19447:5353/udp", "-p", "127.0.0.1:19446:80"],
    );
    assert!(fetch_local(19446).contains("hello from udp"));
    let err = UdpSocket::bind("127.0.0.1:19447").expect_err("slirp4netns holds the port");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    let id = container_id(&s, "udp");
    s.run(["rm", "-f", "-t", "0", "udp"]).ok();
    assert_gone(&s, &id);
    UdpSocket::bind("127.0.0.1:19447").expect("the port is free again");
}

#[test]
fn slirp4netns_leaves_with_a_killed_monitor() {
    if !slirp_ready() {
        return;
    }
    let s = busybox_skiff();
    run_web(&s, "k9", "slirp4netns", &["-p", "127.0.0.1:19443:80"]);
    assert!(fetch_local(19443).contains("hello from k9"));
    let id = container_id(&s, "k9");
    kill_monitor(&s, "k9");
    // Without any skiff command: the monitor held slirp4netns's exit pipe.
    wait_for(
        || slirps(&s).is_empty(),
        "slirp4netns to leave with the monitor",
    );
    s.run(["rm", "-f", "-t", "0", "k9"]).ok();
    assert_gone(&s, &id);
    assert!(mounts_of(&s).is_empty(), "{:?}", mounts_of(&s));
}

#[test]
fn bad_options_are_refused() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    for (network, why) in [
        ("slirp4netns:nope=1", "unknown option \"nope\""),
        (
            "slirp4netns:port_handler=rootlesskit",
            "rootlesskit is not available",
        ),
        ("slirp4netns:allow_host_loopback=maybe", "use true or false"),
        ("slirp4netns:cidr=10.0.2.100/24", "network's address"),
        ("slirp4netns:cidr=10.0.2.0/28", "from 1 to 25"),
        ("slirp4netns:mtu=10", "from 68 to 65521"),
        (
            "slirp4netns:enable_ipv6=false,outbound_addr6=fd00::2",
            "needs enable_ipv6",
        ),
        ("slirp4netns:outbound_addr=fd00::2", "IPv4 address"),
    ] {
        let err = s
            .run(["create", "--network", network, IMAGE])
            .fails_with(125, why);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(network), "{err}");
    }
    s.run(["create", "--network", "slirp4netns", "-p", "80/sctp", IMAGE])
        .fails_with(125, "slirp4netns cannot forward sctp");
    s.run([
        "create",
        "--network",
        "slirp4netns",
        "-p",
        "[::1]:8080:80",
        IMAGE,
    ])
    .fails_with(125, "IPv4 host addresses only");
    assert_eq!(s.run(["ps", "-a", "-q"]).ok(), "");
}

#[test]
fn a_host_port_in_use_fails_the_start_and_leaves_nothing() {
    if !slirp_ready() {
        return;
    }
    let s = busybox_skiff();
    let _taken = TcpListener::bind("127.0.0.1:19445").expect("bind 19445");
    // The first port is forwarded before the second fails: it must be
    // released too.
    let err = s
        .run([
            "run",
            "-d",
            "--name",
            "busy",
            "--network",
            "slirp4netns",
            "-p",
            "127.0.0.1:19444:80",
            "-p",
            "127.0.0.1:19445:81",
            IMAGE,
            "true",
        ])
        .fails_with(125, "cannot publish 127.0.0.1:19445/tcp");
    eprintln!("{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let id = container_id(&s, "busy");
    assert_gone(&s, &id);
    assert!(mounts_of(&s).is_empty(), "{:?}", mounts_of(&s));
    TcpListener::bind("127.0.0.1:19444").expect("19444 is free again");
    assert_eq!(
        inspect_container(&s, "busy", "{{.State.Status}}"),
        "created",
        "a failed start leaves the container as it was"
    );
    s.run(["rm", "busy"]).ok();
}

#[test]
fn a_failing_slirp4netns_is_reported_in_its_own_words() {
    if !slirp_ready() {
        return;
    }
    // A stand-in that fails as slirp4netns does, first on PATH.
    let s = busybox_skiff();
    let bin = s.dir().join("fake-bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let fake = bin.join("slirp4netns");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'WARNING: Support for seccomp is experimental' >&2\n\
         echo 'cannot set MTU: Invalid argument' >&2\necho 'child failed(1)' >&2\nexit 1\n",
    )
    .expect("write");
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let err = s
        .cmd([
            "run",
            "--name",
            "bad",
            "--network",
            "slirp4netns",
            IMAGE,
            "true",
        ])
        .env("PATH", path)
        .run()
        .fails_with(125, "slirp4netns failed: cannot set MTU: Invalid argument");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let id = container_id(&s, "bad");
    assert_gone(&s, &id);
    assert!(mounts_of(&s).is_empty(), "{:?}", mounts_of(&s));
    s.run(["rm", "bad"]).ok();
}
