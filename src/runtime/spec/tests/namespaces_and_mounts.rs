//! The spec's namespaces and mounts: defaults per cgroup layout and caller,
//! /dev/shm, a read-only root, user namespaces, and mounts that replace defaults.

use super::*;

#[test]
fn namespaces_by_cgroup_layout() {
    use LinuxNamespaceType::*;
    let s = spec(&opts());
    assert_eq!(ns_types(&s), [Pid, Network, Ipc, Uts, Mount]);
    let mut o = opts();
    o.host.cgroup = CgroupMode::V2;
    assert_eq!(ns_types(&spec(&o)), [Pid, Network, Ipc, Uts, Mount, Cgroup]);
    o.namespaces.cgroup = Some(Namespace::Host);
    assert_eq!(ns_types(&spec(&o)), [Pid, Network, Ipc, Uts, Mount]);

    // Joining a network namespace by path; the host's pid namespace.
    let mut o = opts();
    o.namespaces.net = Namespace::Join("/run/netns/skiff-1".into());
    o.namespaces.pid = Namespace::Host;
    let s = spec(&o);
    assert_eq!(ns_types(&s), [Network, Ipc, Uts, Mount]);
    let net = &linux(&s).namespaces().as_ref().expect("ns")[0];
    assert_eq!(
        net.path().as_deref(),
        Some(std::path::Path::new("/run/netns/skiff-1"))
    );
    // A joined network namespace gets no default sysctls (its owner set them).
    assert!(linux(&s).sysctl().is_none());
    o.namespaces.net = Namespace::Join("netns".into());
    assert!(matches!(
        build(&o),
        Err(SpecError::RelativeNamespacePath {
            kind: "network",
            ..
        })
    ));
}

#[test]
fn default_mounts_with_exact_options() {
    let s = spec(&opts());
    let dests: Vec<String> = s
        .mounts()
        .as_ref()
        .expect("mounts")
        .iter()
        .map(|m| m.destination().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        dests,
        [
            "/proc",
            "/dev",
            "/sys",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys/fs/cgroup"
        ]
    );
    let check = |dest: &str, typ: &str, source: &str, opts: &[&str]| {
        let m = mount(&s, dest).expect(dest);
        assert_eq!(m.typ().as_deref(), Some(typ), "{dest}");
        assert_eq!(
            m.source().as_deref(),
            Some(std::path::Path::new(source)),
            "{dest}"
        );
        assert_eq!(options(m), opts, "{dest}");
    };
    check("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]);
    check(
        "/dev",
        "tmpfs",
        "tmpfs",
        &["nosuid", "strictatime", "mode=755", "size=65536k"],
    );
    check(
        "/dev/pts",
        "devpts",
        "devpts",
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ],
    );
    check(
        "/dev/shm",
        "tmpfs",
        "shm",
        &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    );
    check(
        "/dev/mqueue",
        "mqueue",
        "mqueue",
        &["nosuid", "noexec", "nodev"],
    );
    check(
        "/sys",
        "sysfs",
        "sysfs",
        &["nosuid", "noexec", "nodev", "ro"],
    );
    check(
        "/sys/fs/cgroup",
        "cgroup",
        "cgroup",
        &["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"],
    );
}

#[test]
fn shm_size_and_sharing() {
    let mut o = opts();
    o.shm = Shm::Tmpfs { size: 256 << 20 };
    let s = spec(&o);
    assert!(options(mount(&s, "/dev/shm").expect("shm")).contains(&"size=262144k"));
    o.shm = Shm::Bind("/run/skiff/pod/shm".into());
    let s = spec(&o);
    let m = mount(&s, "/dev/shm").expect("shm");
    assert_eq!(m.typ().as_deref(), Some("bind"));
    assert_eq!(
        options(m),
        ["bind", "rprivate", "nosuid", "noexec", "nodev"]
    );
    o.shm = Shm::None;
    assert!(mount(&spec(&o), "/dev/shm").is_none());
}

#[test]
fn readonly_rootfs() {
    let mut o = opts();
    o.rootfs.readonly = true;
    let s = spec(&o);
    assert_eq!(s.root().as_ref().and_then(|r| r.readonly()), Some(true));
    // --read-only-tmpfs (the default): writable /tmp, /var/tmp, /run.
    for dest in ["/tmp", "/var/tmp", "/run"] {
        let m = mount(&s, dest).expect(dest);
        assert_eq!(
            options(m),
            ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]
        );
    }
    assert!(!options(mount(&s, "/dev").expect("dev")).contains(&"ro"));
    o.rootfs.read_write_tmpfs = false;
    let s = spec(&o);
    assert!(mount(&s, "/tmp").is_none());
    assert!(options(mount(&s, "/dev").expect("dev")).contains(&"ro"));
    let s = spec(&opts());
    assert_eq!(s.root().as_ref().and_then(|r| r.readonly()), Some(false));
}

#[test]
fn rootless_differences() {
    let mut o = rootless();
    o.resources.memory = Some(64 << 20);
    o.cgroups_path = Some("/skiff/c1".into());
    let (s, warnings) = build_with_warnings(&o).expect("build");
    assert_eq!(warnings, [SpecWarning::ResourceLimitsIgnored]);
    assert!(linux(&s).resources().is_none());
    assert!(linux(&s).cgroups_path().is_none());
    // A private network namespace: a real sysfs, as for root.
    assert_eq!(
        mount(&s, "/sys").and_then(|m| m.typ().clone()).as_deref(),
        Some("sysfs")
    );

    // With a delegated cgroup: limits apply, but no device cgroup.
    o.caller = Caller::Rootless {
        cgroups_delegated: true,
    };
    let s = spec(&o);
    let r = linux(&s).resources().as_ref().expect("resources");
    assert_eq!(r.memory().as_ref().and_then(|m| m.limit()), Some(64 << 20));
    assert!(r.devices().is_none());
    assert_eq!(
        linux(&s).cgroups_path().as_deref(),
        Some(std::path::Path::new("/skiff/c1"))
    );

    // The host's network namespace: /sys is a read-only recursive bind of the
    // host's, /sys/kernel is masked.
    let mut o = rootless();
    o.namespaces.net = Namespace::Host;
    let s = spec(&o);
    let sys = mount(&s, "/sys").expect("sys");
    assert_eq!(sys.typ().as_deref(), Some("bind"));
    assert_eq!(
        options(sys),
        ["rprivate", "nosuid", "noexec", "nodev", "ro", "rbind"]
    );
    let cg = mount(&s, "/sys/fs/cgroup").expect("cgroup");
    assert_eq!(
        cg.source().as_deref(),
        Some(std::path::Path::new("/sys/fs/cgroup"))
    );
    assert!(linux(&s)
        .masked_paths()
        .as_ref()
        .expect("masked")
        .contains(&"/sys/kernel".to_string()));
    // The host's ipc and pid namespaces: /dev/mqueue and /proc are bound.
    o.namespaces.ipc = Namespace::Host;
    o.namespaces.pid = Namespace::Host;
    let s = spec(&o);
    assert_eq!(
        mount(&s, "/dev/mqueue")
            .and_then(|m| m.typ().clone())
            .as_deref(),
        Some("bind")
    );
    assert_eq!(
        options(mount(&s, "/proc").expect("proc")),
        ["rbind", "nosuid", "noexec", "nodev"]
    );
    // Without gid 5 mapped, /dev/pts loses gid=5.
    let mut o = rootless();
    o.host.gid5_mapped = false;
    assert!(!options(mount(&spec(&o), "/dev/pts").expect("pts")).contains(&"gid=5"));
    // No mqueue in the kernel: no /dev/mqueue.
    o.host.mqueue = false;
    assert!(mount(&spec(&o), "/dev/mqueue").is_none());
}

#[test]
fn user_namespace_mappings() {
    let mut o = opts();
    o.namespaces.user = Namespace::Private;
    assert!(matches!(build(&o), Err(SpecError::MissingIdMappings)));
    o.id_mappings = Some(IdMappings {
        uids: vec![IdMap {
            container: 0,
            host: 100000,
            size: 65536,
        }],
        gids: vec![IdMap {
            container: 0,
            host: 100000,
            size: 4,
        }],
    });
    let s = spec(&o);
    assert_eq!(ns_types(&s).last(), Some(&LinuxNamespaceType::User));
    let m = linux(&s).uid_mappings().as_ref().expect("uid map");
    assert_eq!(
        (m[0].container_id(), m[0].host_id(), m[0].size()),
        (0, 100000, 65536)
    );
    // gid 5 is not mapped: no gid=5 on /dev/pts; no device cgroup in a userns.
    assert!(!options(mount(&s, "/dev/pts").expect("pts")).contains(&"gid=5"));
    assert!(linux(&s)
        .resources()
        .as_ref()
        .expect("res")
        .devices()
        .is_none());
}

#[test]
fn extra_mounts_replace_defaults() {
    let mut o = opts();
    o.mounts = vec![
        ExtraMount {
            destination: "/data".into(),
            kind: MountKind::Bind {
                source: "/srv/data".into(),
            },
            options: vec!["ro".into()],
        },
        ExtraMount {
            destination: "/dev/shm".into(),
            kind: MountKind::Tmpfs,
            options: vec!["size=1g".into(), "exec".into()],
        },
        ExtraMount {
            destination: "/etc/hosts".into(),
            kind: MountKind::Bind {
                source: "/run/skiff/c1/hosts".into(),
            },
            options: vec!["bind".into()],
        },
    ];
    let s = spec(&o);
    let data = mount(&s, "/data").expect("data");
    assert_eq!(options(data), ["ro", "rbind", "rprivate"]);
    assert_eq!(data.typ().as_deref(), Some("bind"));
    let shm = mount(&s, "/dev/shm").expect("shm");
    assert_eq!(
        options(shm),
        [
            "size=1g",
            "exec",
            "rprivate",
            "nosuid",
            "nodev",
            "tmpcopyup"
        ]
    );
    assert_eq!(
        s.mounts()
            .as_ref()
            .expect("mounts")
            .iter()
            .filter(|m| m.destination().to_str() == Some("/dev/shm"))
            .count(),
        1
    );
    assert_eq!(
        options(mount(&s, "/etc/hosts").expect("hosts")),
        ["bind", "private"]
    );

    // A /dev of one's own replaces everything under /dev.
    o.mounts = vec![ExtraMount {
        destination: "/dev".into(),
        kind: MountKind::Bind {
            source: "/dev".into(),
        },
        options: vec![],
    }];
    let s = spec(&o);
    assert!(mount(&s, "/dev/pts").is_none());
    assert!(mount(&s, "/dev/mqueue").is_none());

    o.mounts[0].destination = "relative".into();
    assert!(matches!(
        build(&o),
        Err(SpecError::BadMountDestination { .. })
    ));
    o.mounts[0].destination = "/a/../../etc".into();
    assert!(matches!(
        build(&o),
        Err(SpecError::BadMountDestination { .. })
    ));
}
