//! Network namespaces a container can have without a network of skiff's
//! (`--network none|host|container:NAME|ns:PATH`) and the files that carry
//! its network identity: /etc/hosts (`--add-host`, `--no-hosts`),
//! /etc/resolv.conf (`--dns*`) and /etc/hostname. Root and rootless.

mod common;

use common::*;

const IMAGE: &str = "skiff-test/busybox";

/// The network interfaces a process sees (/proc/net/dev follows the
/// reader's network namespace).
fn interfaces(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|n| n.trim().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn none_gives_loopback_and_files_of_its_own() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let out = s
        .run([
            "run",
            "--rm",
            "--hostname",
            "hh",
            "--add-host",
            "db;db.local:10.1.2.3",
            "--name",
            "n1",
            IMAGE,
            "sh",
            "-c",
            "cat /proc/net/dev; echo ==; cat /etc/hosts; echo ==; cat /etc/hostname; \
             if test -e /etc/resolv.conf; then echo has-resolv; fi; echo ==; \
             cat /sys/class/net/lo/operstate /sys/class/net/lo/flags",
        ])
        .ok();
    let parts: Vec<&str> = out.split("==\n").collect();
    assert_eq!(interfaces(parts[0]), ["lo"], "{out}");
    // The loopback is up (IFF_UP), whichever runtime made the namespace.
    let flags = parts[3].lines().nth(1).unwrap_or_default();
    let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0);
    assert_eq!(flags & 1, 1, "lo is up: {out}");
    let hosts: Vec<&str> = parts[1].lines().collect();
    // The user's entries first, the container itself last.
    assert_eq!(hosts[0], "10.1.2.3\tdb db.local", "{out}");
    assert_eq!(hosts.last().copied(), Some("127.0.0.1\thh n1"), "{out}");
    assert!(
        hosts
            .iter()
            .any(|l| l.ends_with("\thost.containers.internal")),
        "{out}"
    );
    // The host's lines are there too.
    let host_hosts = std::fs::read_to_string("/etc/hosts").expect("hosts");
    for line in host_hosts.lines().filter(|l| !l.trim().is_empty()) {
        assert!(hosts.contains(&line.trim_end()), "{line:?} missing: {out}");
    }
    assert_eq!(parts[2].trim(), "hh", "{out}");
    // No network, no resolver (as podman).
    assert!(!out.contains("has-resolv"), "{out}");
}

#[test]
fn host_shares_the_hosts_interfaces_and_resolver() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let ours = interfaces(&std::fs::read_to_string("/proc/net/dev").expect("net/dev"));
    let out = s
        .run([
            "run",
            "--rm",
            "--network",
            "host",
            IMAGE,
            "sh",
            "-c",
            "cat /proc/net/dev; echo ==; cat /etc/resolv.conf; echo ==; hostname",
        ])
        .ok();
    let parts: Vec<&str> = out.split("==\n").collect();
    assert_eq!(interfaces(parts[0]), ours, "{out}");
    // The host's name servers, loopback ones included (they are reachable).
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    for ns in host_resolv.lines().filter(|l| l.starts_with("nameserver")) {
        assert!(parts[1].contains(ns.trim()), "{ns}: {out}");
    }
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    assert_eq!(parts[2].trim(), host_name.trim(), "{out}");

    let out = s
        .run([
            "run",
            "--rm",
            "--net",
            "host",
            "--dns",
            "192.0.2.53",
            "--dns-search",
            "example.com",
            "--dns-option",
            "ndots:2",
            IMAGE,
            "cat",
            "/etc/resolv.conf",
        ])
        .ok();
    assert_eq!(
        out,
        "search example.com\nnameserver 192.0.2.53\noptions ndots:2\n"
    );
}

#[test]
fn container_mode_joins_the_other_containers_namespace_and_files() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    s.run(["run", "-d", "--name", "holder", IMAGE, "sleep", "1000"])
        .ok();
    let theirs = s
        .run(["exec", "holder", "readlink", "/proc/self/ns/net"])
        .ok();
    let out = s
        .run([
            "run",
            "--rm",
            "--network",
            "container:holder",
            IMAGE,
            "sh",
            "-c",
            "readlink /proc/self/ns/net; tail -n 1 /etc/hosts",
        ])
        .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], theirs.trim(), "{out}");
    let holder_id = s.run(["inspect", "-f", "{{.Id}}", "holder"]).ok();
    assert!(
        lines[1].ends_with(" holder"),
        "the holder's hosts file: {out}"
    );
    // A container that uses it keeps it from being removed.
    s.run([
        "create",
        "--name",
        "user",
        "--network",
        "container:holder",
        IMAGE,
        "true",
    ])
    .ok();
    assert_eq!(
        inspect_container(&s, "user", "{{.HostConfig.NetworkMode}}"),
        format!("container:{}", holder_id.trim())
    );
    s.run(["rm", "-f", "holder"]).fails(125);
    s.run(["rm", "-f", "user"]).ok();
    s.run(["rm", "-f", "-t", "0", "holder"]).ok();
}

#[test]
fn ns_mode_joins_a_namespace_file() {
    if !containers_ready(&["unshare"]) {
        return;
    }
    if !is_root() {
        skip("binding a network namespace file needs root");
        return;
    }
    let s = busybox_skiff();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("netns");
    std::fs::write(&file, "").expect("touch");
    Cmd::new("unshare")
        .arg(format!("--net={}", file.display()))
        .arg("true")
        .run()
        .ok();
    let inode = std::fs::metadata(&file).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.ino()
    });
    let out = s
        .run([
            "run",
            "--rm",
            "--network",
            &format!("ns:{}", file.display()),
            IMAGE,
            "readlink",
            "/proc/self/ns/net",
        ])
        .ok();
    let _ = nix::mount::umount2(&file, nix::mount::MntFlags::MNT_DETACH);
    assert_eq!(out.trim(), format!("net:[{}]", inode.expect("inode")));
}

#[test]
fn the_users_own_files_and_no_hosts_win() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    let dir = tempfile::tempdir().expect("tempdir");
    let mine = dir.path().join("hosts");
    std::fs::write(&mine, "10.9.9.9 mine\n").expect("write");
    let bind = format!("{}:/etc/hosts", mine.display());
    let out = s
        .run(["run", "--rm", "-v", &bind, IMAGE, "cat", "/etc/hosts"])
        .ok();
    assert_eq!(out, "10.9.9.9 mine\n");
    // The image's own file (the fixture image has none).
    s.run([
        "run",
        "--rm",
        "--no-hosts",
        IMAGE,
        "test",
        "!",
        "-e",
        "/etc/hosts",
    ])
    .ok();
}

#[test]
fn bad_network_options_are_refused_before_anything_is_made() {
    if !containers_ready(&[]) {
        return;
    }
    let s = busybox_skiff();
    for (args, needle) in [
        (&["--network", "mynet"][..], "network not found"),
        (&["--network", "my net"][..], "network name"),
        (&["--network", "ns:relative"][..], "must be absolute"),
        (
            &["--network", "ns:/nonexistent/netns"][..],
            "no such namespace file",
        ),
        (&["--network", "container:nobody"][..], "nobody"),
        (&["--dns", "1.1.1.1"][..], "conflicting options: dns"),
        (
            &["--dns", "not-an-ip", "--network", "host"][..],
            "not an IP address",
        ),
        (&["--add-host", "nohost"][..], "invalid --add-host"),
        (
            &["--add-host", "x:1.2.3.4", "--no-hosts"][..],
            "cannot be set together",
        ),
    ] {
        let mut argv = vec!["run", "--rm"];
        argv.extend_from_slice(args);
        argv.extend([IMAGE, "true"]);
        s.run(argv).fails_with(125, needle);
    }
    assert_eq!(s.run(["ps", "-aq"]).ok().trim(), "");
}
