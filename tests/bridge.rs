//! Bridge networks: the default network, `network create|ls|inspect|rm|
//! prune|exists|connect|disconnect|reload`, published ports through the
//! firewall (tcp and udp, 127.0.0.1 and every address), names between the
//! containers of a network, internal and isolated networks, concurrent
//! address leases, and nothing left behind (no link, address, route,
//! firewall table, resolver or lease) after every test.
//!
//! Root runs every test in a private "host" network namespace the test
//! makes (`Skiff::enter_private_host`); traffic goes only to loopback and
//! to the test's own namespaces. A rootless user's bridges live in skiff's
//! rootless network namespace.

mod common;

use std::time::{Duration, Instant};

use common::*;

const IMAGE: &str = "skiff-test/busybox";

/// Whether bridges can be made here; prints why not otherwise.
fn bridges_ready() -> bool {
    if !containers_ready(&[]) {
        return false;
    }
    if is_root() && find_tool("nft").is_none() {
        if in_ci() {
            panic!("nft is not installed (Debian package nftables; see .ci/run)");
        }
        skip("nft is not installed (Debian package nftables)");
        return false;
    }
    if !is_root() && find_tool("pasta").is_none() {
        if in_ci() {
            panic!("pasta is not installed (Debian package passt; see .ci/run)");
        }
        skip("pasta is not installed (Debian package passt)");
        return false;
    }
    true
}

/// An installation with busybox pulled, on a private host when root, and
/// the engine's default network mode (a bridge for root).
fn bridge_skiff() -> Skiff {
    let mut s = busybox_skiff();
    s.write_containers_conf("");
    if is_root() {
        s.enter_private_host();
    }
    s
}

/// GET `url` from the (private) host with busybox wget, retried for up
/// to 10 s.
fn fetch_from_host(s: &Skiff, url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = s
            .in_host("timeout")
            .args(["5", "busybox", "wget", "-q", "-O", "-", url])
            .try_run();
        match out {
            Ok(o) if o.success() => return o.stdout(),
            other if Instant::now() > deadline => panic!("no answer from {url}: {other:?}"),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// `sh -c SCRIPT` in a throwaway container with FLAGS.
fn in_container(s: &Skiff, flags: &[&str], script: &str) -> common::Output {
    let mut argv = vec!["run", "--rm"];
    argv.extend_from_slice(flags);
    argv.extend([IMAGE, "sh", "-c", script]);
    s.cmd(argv).timeout(Duration::from_secs(60)).run()
}

/// Everything must be gone: containers' processes, the resolver, and on
/// the private host every link, address, route and firewall rule.
#[track_caller]
fn assert_clean(s: &Skiff) {
    wait_for(
        || processes_of(s).is_empty(),
        "no process of the installation",
    );
    assert_eq!(s.host_leftovers(), Vec::<String>::new());
    let leases = s.runroot().join("networks/leases");
    let held: Vec<String> = std::fs::read_dir(&leases)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(held.is_empty(), "leases left: {held:?}");
}

#[test]
fn the_default_network_publishes_ports_and_leaves_nothing() {
    if !bridges_ready() || !is_root() {
        return;
    }
    let s = bridge_skiff();
    run_web(&s, "web", &["-p", "127.0.0.1:19451:80", "-p", "19452:80"]);
    assert_eq!(
        inspect_container(&s, "web", "{{.HostConfig.NetworkMode}}"),
        "bridge"
    );
    let ip = inspect_container(&s, "web", "{{.NetworkSettings.IPAddress}}");
    assert!(ip.starts_with("10.88."), "{ip}");
    assert!(fetch_from_host(&s, "http://127.0.0.1:19451/").contains("hello from web"));
    // Every address of the host, and the container directly.
    assert!(fetch_from_host(&s, "http://127.0.0.1:19452/").contains("hello from web"));
    assert!(fetch_from_host(&s, &format!("http://{ip}:80/")).contains("hello from web"));
    // Hairpin: the container reaches its own published port through the
    // gateway.
    let gw = inspect_container(&s, "web", "{{.NetworkSettings.Gateway}}");
    let out = s
        .run([
            "exec",
            "web",
            "timeout",
            "5",
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://{gw}:19452/"),
        ])
        .ok();
    assert!(out.contains("hello from web"), "{out}");
    // The container's files name it by its address; podman's default
    // network has no resolver of its own.
    let hosts = s.run(["exec", "web", "cat", "/etc/hosts"]).ok();
    assert!(hosts.contains(&format!("{ip}\t")), "{hosts}");
    assert!(
        hosts.contains(&format!("{gw}\thost.containers.internal")),
        "{hosts}"
    );
    s.run(["rm", "-f", "-t", "0", "web"]).ok();
    assert_clean(&s);
}

/// A static UDP echo server for the busybox image (which has none), built
/// with the C compiler; None when there is none.
fn udp_echo(s: &Skiff) -> Option<std::path::PathBuf> {
    static_c_program(
        s,
        "udpecho",
        "#include <netinet/in.h>\n#include <stdlib.h>\n#include <sys/socket.h>\n\
         int main(int argc, char **argv) {\n\
           int fd = socket(AF_INET, SOCK_DGRAM, 0);\n\
           struct sockaddr_in me = {0};\n\
           me.sin_family = AF_INET; me.sin_port = htons(atoi(argv[1]));\n\
           if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0) return 1;\n\
           for (;;) {\n\
             char buf[512]; struct sockaddr_in peer; socklen_t len = sizeof peer;\n\
             ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);\n\
             if (n > 0) sendto(fd, buf, n, 0, (struct sockaddr *)&peer, len);\n\
           }\n\
         }\n",
    )
}

#[test]
fn udp_ports_are_published() {
    if !bridges_ready() || !is_root() {
        return;
    }
    let s = bridge_skiff();
    let Some(echo) = udp_echo(&s) else {
        if in_ci() {
            panic!("no C compiler with a static libc (build-essential)");
        }
        skip("no C compiler with a static libc");
        return;
    };
    s.run([
        "run",
        "-d",
        "--name",
        "echo",
        "-p",
        "127.0.0.1:19453:5353/udp",
        "-v",
        &format!("{}:/udpecho:ro", echo.display()),
        IMAGE,
        "/udpecho",
        "5353",
    ])
    .ok();
    // The test's own UDP client, on a thread inside the private host.
    let pid = s.host_pid().expect("private host");
    let answer = std::thread::spawn(move || -> std::io::Result<String> {
        let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))?;
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)?;
        let sock = std::net::UdpSocket::bind("127.0.0.1:0")?;
        sock.set_read_timeout(Some(Duration::from_millis(200)))?;
        let mut buf = [0u8; 64];
        for _ in 0..50 {
            sock.send_to(b"ping over udp", "127.0.0.1:19453")?;
            if let Ok(n) = sock.recv(&mut buf) {
                return Ok(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        Err(std::io::Error::other("no udp answer"))
    })
    .join()
    .expect("client thread");
    assert_eq!(answer.expect("udp echo"), "ping over udp");
    s.run(["rm", "-f", "-t", "0", "echo"]).ok();
    assert_clean(&s);
}

#[test]
fn containers_of_a_network_find_each_other_by_name() {
    if !bridges_ready() {
        return;
    }
    let s = bridge_skiff();
    let out = s.run(["network", "create", "n1"]).ok();
    assert_eq!(out.trim(), "n1");
    run_web(&s, "a1", &["--network", "n1", "--network-alias", "web"]);
    let script = "cat /etc/resolv.conf; echo ==; \
                  for i in $(seq 1 100); do wget -q -O - http://a1/ 2>/dev/null && break; sleep 0.1; done; \
                  wget -q -O - http://web/; wget -q -O - http://a1.dns.podman/; \
                  nslookup a1 | grep -c Address";
    let out = in_container(&s, &["--network", "n1"], script).ok();
    let (resolv, rest) = out.split_once("==\n").expect("marker");
    let gateway = inspect_network(&s, "n1", "{{range .subnets}}{{.gateway}}{{end}}");
    assert!(resolv.starts_with("search dns.podman"), "{resolv}");
    assert_eq!(
        resolv.lines().find(|l| l.starts_with("nameserver")),
        Some(format!("nameserver {gateway}").as_str()),
        "{resolv}"
    );
    assert_eq!(rest.matches("hello from a1").count(), 3, "{out}");
    // Another network does not see it.
    s.run(["network", "create", "n2"]).ok();
    let other = in_container(&s, &["--network", "n2"], "nslookup a1 || echo not-found").ok();
    assert!(other.contains("not-found"), "{other}");
    s.run(["rm", "-f", "-t", "0", "a1"]).ok();
    s.run(["network", "rm", "n1", "n2"]).ok();
    assert_clean(&s);
}

fn inspect_network(s: &Skiff, name: &str, format: &str) -> String {
    s.run(["network", "inspect", "--format", format, name])
        .ok()
        .trim()
        .to_string()
}

#[test]
fn internal_networks_have_no_way_out_and_isolated_ones_keep_apart() {
    if !bridges_ready() || !is_root() {
        return;
    }
    let s = bridge_skiff();
    s.run(["network", "create", "--internal", "inner"]).ok();
    let routes = in_container(&s, &["--network", "inner"], "ip route").ok();
    assert!(!routes.contains("default"), "{routes}");
    assert_eq!(inspect_network(&s, "inner", "{{.internal}}"), "true");
    s.run(["network", "create", "--opt", "isolate=true", "iso1"])
        .ok();
    s.run(["network", "create", "--opt", "isolate=true", "iso2"])
        .ok();
    s.run(["network", "create", "open1"]).ok();
    run_web(&s, "w1", &["--network", "iso1"]);
    let ip = inspect_container(&s, "w1", "{{.NetworkSettings.IPAddress}}");
    let get = format!(
        "for i in $(seq 1 30); do if timeout 2 wget -q -O - http://{ip}/; then exit 0; fi; sleep 0.1; done; echo unreachable"
    );
    // Its own network reaches it; another isolated network does not.
    let same = in_container(&s, &["--network", "iso1"], &get).ok();
    assert!(same.contains("hello from w1"), "{same}");
    let blocked = in_container(
        &s,
        &["--network", "iso2"],
        &format!("timeout 3 wget -q -O - http://{ip}/ || echo unreachable"),
    )
    .ok();
    assert!(blocked.contains("unreachable"), "{blocked}");
    // Without isolation, networks reach each other (podman's default).
    let open = in_container(&s, &["--network", "open1"], &get).ok();
    assert!(open.contains("hello from w1"), "{open}");
    s.run(["rm", "-f", "-t", "0", "w1"]).ok();
    s.run(["network", "rm", "inner", "iso1", "iso2", "open1"])
        .ok();
    assert_clean(&s);
}

#[test]
fn ten_containers_started_at_once_get_distinct_addresses() {
    if !bridges_ready() || !is_root() {
        return;
    }
    let s = bridge_skiff();
    s.run(["network", "create", "--subnet", "10.77.0.0/24", "many"])
        .ok();
    let cmds: Vec<_> = (0..10)
        .map(|i| {
            s.cmd([
                "run",
                "-d",
                "--name",
                &format!("c{i}"),
                "--network",
                "many",
                IMAGE,
                "sleep",
                "600",
            ])
        })
        .collect();
    let runs: Vec<_> = cmds
        .into_iter()
        .map(|c| std::thread::spawn(move || c.run().ok()))
        .collect();
    for r in runs {
        r.join().expect("run thread");
    }
    let mut ips: Vec<String> = (0..10)
        .map(|i| inspect_container(&s, &format!("c{i}"), "{{.NetworkSettings.IPAddress}}"))
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 10, "{ips:?}");
    assert!(ips.iter().all(|ip| ip.starts_with("10.77.0.")), "{ips:?}");
    s.run(["rm", "-f", "-a", "-t", "0"]).ok();
    s.run(["network", "rm", "many"]).ok();
    assert_clean(&s);
}

#[test]
fn a_killed_monitor_then_rm_leaves_nothing() {
    if !bridges_ready() || !is_root() {
        return;
    }
    let s = bridge_skiff();
    s.run(["network", "create", "k"]).ok();
    run_web(&s, "k9", &["--network", "k", "-p", "127.0.0.1:19454:80"]);
    assert!(fetch_from_host(&s, "http://127.0.0.1:19454/").contains("hello from k9"));
    kill_monitor(&s, "k9");
    s.run(["rm", "-f", "-t", "0", "k9"]).ok();
    s.run(["network", "rm", "k"]).ok();
    assert_clean(&s);
}

#[test]
fn connect_and_disconnect_a_running_container() {
    if !bridges_ready() || !is_root() {
        return;
    }
    let s = bridge_skiff();
    s.run(["network", "create", "front"]).ok();
    s.run(["network", "create", "back"]).ok();
    s.run([
        "run",
        "-d",
        "--name",
        "app",
        "--network",
        "front",
        IMAGE,
        "sleep",
        "600",
    ])
    .ok();
    s.run(["network", "connect", "--alias", "db", "back", "app"])
        .ok();
    let links = s.run(["exec", "app", "ip", "-o", "link"]).ok();
    assert!(links.contains("eth1"), "{links}");
    let on_back = in_container(
        &s,
        &["--network", "back"],
        "nslookup db >/dev/null && echo found",
    )
    .ok();
    assert!(on_back.contains("found"), "{on_back}");
    let err = s.run(["network", "connect", "back", "app"]).fails(125);
    assert!(err.contains("already connected"), "{err}");
    s.run(["network", "disconnect", "back", "app"]).ok();
    let links = s.run(["exec", "app", "ip", "-o", "link"]).ok();
    assert!(!links.contains("eth1"), "{links}");
    s.run(["rm", "-f", "-t", "0", "app"]).ok();
    s.run(["network", "rm", "front", "back"]).ok();
    assert_clean(&s);
}

#[test]
fn network_commands_and_their_errors() {
    if !bridges_ready() {
        return;
    }
    let s = bridge_skiff();
    s.run([
        "network",
        "create",
        "--subnet",
        "10.66.5.0/24",
        "--gateway",
        "10.66.5.254",
        "--ip-range",
        "10.66.5.128/25",
        "--label",
        "team=a",
        "n5",
    ])
    .ok();
    assert_eq!(
        inspect_network(
            &s,
            "n5",
            "{{range .subnets}}{{.subnet}} {{.gateway}} {{.lease_range.start_ip}}{{end}}"
        ),
        "10.66.5.0/24 10.66.5.254 10.66.5.128"
    );
    let ls = s
        .run(["network", "ls", "--format", "{{.Name}} {{.Driver}}"])
        .ok();
    assert!(ls.lines().any(|l| l == "n5 bridge"), "{ls}");
    assert!(ls.lines().any(|l| l == "podman bridge"), "{ls}");
    let only = s
        .run(["network", "ls", "-q", "--filter", "label=team=a"])
        .ok();
    assert_eq!(only.trim(), "n5");
    s.run(["network", "exists", "n5"]).ok();
    s.run(["network", "exists", "nope"]).fails(1);
    // Bad input: one line, nothing made.
    let e = s.run(["network", "create", "n5"]).fails(125);
    assert!(e.contains("already exists"), "{e}");
    let e = s
        .run(["network", "create", "--subnet", "10.66.5.0/25", "n6"])
        .fails(125);
    assert!(e.contains("already used"), "{e}");
    let e = s
        .run(["network", "create", "--subnet", "bogus", "n6"])
        .fails(125);
    assert!(e.starts_with("Error: invalid subnet"), "{e}");
    let e = s
        .run(["network", "create", "--opt", "vlan=4", "n6"])
        .fails(125);
    assert!(e.contains("vlan"), "{e}");
    s.run(["network", "exists", "n6"]).fails(1);
    let e = s
        .run(["run", "--rm", "--network", "n6", IMAGE, "true"])
        .fails(125);
    assert!(e.contains("network not found"), "{e}");
    // In use: refused without --force.
    s.run(["create", "--name", "user", "--network", "n5", IMAGE, "true"])
        .ok();
    let e = s.run(["network", "rm", "n5"]).fails(125);
    assert!(e.contains("user"), "{e}");
    s.run(["network", "create", "spare"]).ok();
    let pruned = s.run(["network", "prune", "-f"]).ok();
    assert_eq!(pruned.trim(), "spare");
    s.run(["network", "rm", "-f", "n5"]).ok();
    s.run(["container", "exists", "user"]).fails(1);
    let e = s.run(["network", "rm", "podman"]).fails(125);
    assert!(e.contains("cannot be removed"), "{e}");
    assert_clean(&s);
}
