//! Tests of the whole spec: what a container gets by default, and how each
//! option changes it. The last test runs a real runtime when there is one.

use std::collections::HashSet;

use oci_spec::runtime::{
    Capability, LinuxNamespaceType, LinuxSeccompAction, Mount, PosixRlimitType, Spec,
};

use super::*;
use crate::runtime::spec::host::Limit;

/// A host like the development machines: hybrid cgroups, root without
/// CAP_SYS_RESOURCE and a NOFILE hard limit of 20000.
pub(crate) fn host() -> Host {
    Host {
        cgroup: CgroupMode::Hybrid,
        limits: vec![
            Limit {
                kind: PosixRlimitType::RlimitNofile,
                soft: 20000,
                hard: 20000,
            },
            Limit {
                kind: PosixRlimitType::RlimitNproc,
                soft: 96365,
                hard: 96365,
            },
            Limit {
                kind: PosixRlimitType::RlimitCore,
                soft: 0,
                hard: RLIM_INFINITY,
            },
        ],
        can_raise_limits: false,
        nr_open: 1_048_576,
        bounding: CapSet::all(),
        oom_score_adj: 0,
        mqueue: true,
        gid5_mapped: true,
        kernel: (6, 18),
        extra_masked_paths: Vec::new(),
    }
}

fn opts() -> SpecOptions {
    SpecOptions::new(
        "/var/lib/skiff/rootfs".into(),
        vec!["sh".into(), "-c".into(), "true".into()],
        Caller::Root,
        host(),
    )
}

fn rootless() -> SpecOptions {
    SpecOptions {
        caller: Caller::Rootless {
            cgroups_delegated: false,
        },
        ..opts()
    }
}

fn spec(o: &SpecOptions) -> Spec {
    build(o).expect("build")
}

fn linux(s: &Spec) -> &oci_spec::runtime::Linux {
    s.linux().as_ref().expect("linux")
}

fn process(s: &Spec) -> &oci_spec::runtime::Process {
    s.process().as_ref().expect("process")
}

fn mount<'a>(s: &'a Spec, dest: &str) -> Option<&'a Mount> {
    s.mounts()
        .as_ref()
        .expect("mounts")
        .iter()
        .find(|m| m.destination().to_str() == Some(dest))
}

fn options(m: &Mount) -> Vec<&str> {
    m.options()
        .as_ref()
        .map(|o| o.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

fn ns_types(s: &Spec) -> Vec<LinuxNamespaceType> {
    linux(s)
        .namespaces()
        .as_ref()
        .expect("namespaces")
        .iter()
        .map(|n| n.typ())
        .collect()
}

fn caps(list: &[&str]) -> HashSet<Capability> {
    list.iter()
        .map(|name| capabilities::ALL[capabilities::number(name).expect("known")].1)
        .collect()
}

fn env(s: &Spec) -> Vec<String> {
    process(s).env().clone().expect("env")
}

fn rlimit(s: &Spec, kind: PosixRlimitType) -> Option<(u64, u64)> {
    process(s)
        .rlimits()
        .as_ref()
        .expect("rlimits")
        .iter()
        .find(|r| r.typ() == kind)
        .map(|r| (r.soft(), r.hard()))
}

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
fn default_capabilities_in_each_set() {
    let s = spec(&opts());
    let c = process(&s).capabilities().as_ref().expect("caps");
    let expected = caps(&defaults::CAPABILITIES);
    assert_eq!(expected.len(), 11);
    assert_eq!(c.bounding().as_ref(), Some(&expected));
    assert_eq!(c.effective().as_ref(), Some(&expected));
    assert_eq!(c.permitted().as_ref(), Some(&expected));
    assert_eq!(c.inheritable().as_ref(), Some(&HashSet::new()));
    assert_eq!(c.ambient().as_ref(), Some(&HashSet::new()));
    assert!(!expected.contains(&Capability::NetRaw));
    assert!(!expected.contains(&Capability::Mknod));
    assert!(!expected.contains(&Capability::AuditWrite));
}

#[test]
fn capabilities_for_a_non_root_user() {
    let mut o = opts();
    o.process.user = ProcessUser {
        uid: 1000,
        gid: 1000,
        additional_gids: vec![10],
        home: "/home/alice".into(),
    };
    o.security.cap_add = vec!["net_admin".into()];
    let s = spec(&o);
    let c = process(&s).capabilities().as_ref().expect("caps");
    let mut bounding = defaults::CAPABILITIES.to_vec();
    bounding.push("CAP_NET_ADMIN");
    assert_eq!(c.bounding().as_ref(), Some(&caps(&bounding)));
    let added = caps(&["CAP_NET_ADMIN"]);
    for set in [c.effective(), c.permitted(), c.inheritable(), c.ambient()] {
        assert_eq!(set.as_ref(), Some(&added));
    }
    let u = process(&s).user();
    assert_eq!((u.uid(), u.gid()), (1000, 1000));
    assert_eq!(u.additional_gids().as_deref(), Some(&[10][..]));
    assert_eq!(u.umask(), Some(0o022));
    assert!(env(&s).contains(&"HOME=/home/alice".to_string()));
}

#[test]
fn cap_add_all_and_cap_drop_all() {
    let mut o = opts();
    o.host.bounding = CapSet::from_mask(0x1ff_ffff_ffff);
    o.security.cap_add = vec!["ALL".into()];
    let s = spec(&o);
    let c = process(&s).capabilities().as_ref().expect("caps");
    assert_eq!(c.bounding().as_ref().map(HashSet::len), Some(41));
    assert_eq!(c.effective().as_ref().map(HashSet::len), Some(41));

    let mut o = opts();
    o.security.cap_drop = vec!["all".into()];
    let s = spec(&o);
    let c = process(&s).capabilities().as_ref().expect("caps");
    assert_eq!(c.bounding().as_ref(), Some(&HashSet::new()));
    assert_eq!(c.effective().as_ref(), Some(&HashSet::new()));

    o.security.cap_add = vec!["CAP_KILL".into()];
    let s = spec(&o);
    let c = process(&s).capabilities().as_ref().expect("caps");
    assert_eq!(c.bounding().as_ref(), Some(&caps(&["CAP_KILL"])));

    // Never beyond what the caller has.
    let mut o = opts();
    o.host.bounding = CapSet::from_mask(0x21); // CHOWN and KILL
    let s = spec(&o);
    let c = process(&s).capabilities().as_ref().expect("caps");
    assert_eq!(
        c.bounding().as_ref(),
        Some(&caps(&["CAP_CHOWN", "CAP_KILL"]))
    );
}

#[test]
fn masked_and_readonly_paths() {
    let s = spec(&opts());
    let l = linux(&s);
    let masked = l.masked_paths().clone().expect("masked");
    assert_eq!(masked, defaults::MASKED_PATHS);
    assert_eq!(
        l.readonly_paths().clone().expect("readonly"),
        defaults::READONLY_PATHS
    );

    let mut o = opts();
    o.host.extra_masked_paths = vec!["/sys/devices/system/cpu/cpu0/thermal_throttle".into()];
    o.security.unmask = Unmask::Paths(vec!["/proc/*".into(), "/sys/fs/cgroup".into()]);
    o.security.mask = vec!["/proc/cpuinfo".into()];
    let s = spec(&o);
    let l = linux(&s);
    assert_eq!(
        l.masked_paths().clone().expect("masked"),
        [
            "/sys/devices/virtual/powercap",
            "/sys/firmware",
            "/sys/fs/selinux",
            "/sys/devices/system/cpu/cpu0/thermal_throttle",
            "/proc/cpuinfo"
        ]
    );
    assert!(l.readonly_paths().is_none());
    // Unmasking /sys/fs/cgroup makes it writable.
    assert!(options(mount(&s, "/sys/fs/cgroup").expect("cgroup")).contains(&"rw"));

    o.security.unmask = Unmask::All;
    let s = spec(&o);
    assert_eq!(
        linux(&s).masked_paths().clone().expect("masked"),
        ["/proc/cpuinfo"]
    );

    o.security.mask = vec!["proc/x".into()];
    assert!(matches!(build(&o), Err(SpecError::RelativeMaskPath { .. })));
}

#[test]
fn rlimits_capped_to_the_callers_hard_limit() {
    // Root without CAP_SYS_RESOURCE: the caller's 20000 and 96365, not
    // podman's 1048576, which setrlimit would refuse.
    let s = spec(&opts());
    assert_eq!(
        rlimit(&s, PosixRlimitType::RlimitNofile),
        Some((20000, 20000))
    );
    assert_eq!(
        rlimit(&s, PosixRlimitType::RlimitNproc),
        Some((96365, 96365))
    );
    // With CAP_SYS_RESOURCE: podman's values, NOFILE within fs.nr_open.
    let mut o = opts();
    o.host.can_raise_limits = true;
    o.host.nr_open = 524288;
    let s = spec(&o);
    assert_eq!(
        rlimit(&s, PosixRlimitType::RlimitNofile),
        Some((524288, 524288))
    );
    assert_eq!(
        rlimit(&s, PosixRlimitType::RlimitNproc),
        Some((1048576, 1048576))
    );
    // Rootless never raises, whatever its capabilities.
    let mut o = rootless();
    o.host.can_raise_limits = true;
    assert_eq!(
        rlimit(&spec(&o), PosixRlimitType::RlimitNofile),
        Some((20000, 20000))
    );
}

#[test]
fn explicit_ulimits() {
    let mut o = opts();
    o.ulimits.explicit = vec![
        Ulimit {
            kind: PosixRlimitType::RlimitNofile,
            soft: LimitValue::Value(1024),
            hard: LimitValue::Value(4096),
        },
        Ulimit {
            kind: PosixRlimitType::RlimitCore,
            soft: LimitValue::Unlimited,
            hard: LimitValue::Unlimited,
        },
    ];
    let s = spec(&o);
    assert_eq!(
        rlimit(&s, PosixRlimitType::RlimitNofile),
        Some((1024, 4096))
    );
    assert_eq!(
        rlimit(&s, PosixRlimitType::RlimitCore),
        Some((RLIM_INFINITY, RLIM_INFINITY))
    );
    o.ulimits.explicit = vec![Ulimit {
        kind: PosixRlimitType::RlimitNofile,
        soft: LimitValue::Value(65536),
        hard: LimitValue::Value(65536),
    }];
    let err = build(&o).expect_err("above the caller's limit");
    assert!(matches!(
        err,
        SpecError::UlimitAboveCallerLimit { limit: 20000, .. }
    ));
    assert!(err
        .to_string()
        .starts_with("ulimit RLIMIT_NOFILE: 65536 is above"));
    o.ulimits.explicit[0].soft = LimitValue::Value(9);
    o.ulimits.explicit[0].hard = LimitValue::Value(8);
    assert!(matches!(
        build(&o),
        Err(SpecError::UlimitSoftAboveHard { .. })
    ));

    let mut o = opts();
    o.ulimits.mode = UlimitMode::Host;
    let s = spec(&o);
    assert_eq!(process(&s).rlimits().as_ref().map(Vec::len), Some(3));
    assert_eq!(
        rlimit(&s, PosixRlimitType::RlimitCore),
        Some((0, RLIM_INFINITY))
    );
}

#[test]
fn cpu_memory_pids() {
    let mut o = opts();
    o.resources.cpus = Some(1.5);
    o.resources.cpu_shares = Some(512);
    o.resources.memory = Some(256 << 20);
    o.resources.pids_limit = PidsLimit::Limit(100);
    let s = spec(&o);
    let r = linux(&s).resources().as_ref().expect("resources");
    let cpu = r.cpu().as_ref().expect("cpu");
    assert_eq!(cpu.quota(), Some(150000));
    assert_eq!(cpu.period(), Some(100000));
    assert_eq!(cpu.shares(), Some(512));
    let mem = r.memory().as_ref().expect("memory");
    assert_eq!(mem.limit(), Some(256 << 20));
    // podman: swap defaults to twice the memory limit.
    assert_eq!(mem.swap(), Some(512 << 20));
    assert_eq!(r.pids().as_ref().map(|p| p.limit()), Some(100));

    o.resources.memory_swap = Swap::Limit(300 << 20);
    let s = spec(&o);
    let r = linux(&s).resources().as_ref().expect("resources");
    assert_eq!(r.memory().as_ref().and_then(|m| m.swap()), Some(300 << 20));
    o.resources.memory_swap = Swap::Unlimited;
    let s = spec(&o);
    let r = linux(&s).resources().as_ref().expect("resources");
    assert_eq!(r.memory().as_ref().and_then(|m| m.swap()), None);

    o.resources.memory_swap = Swap::Limit(100 << 20);
    assert!(matches!(build(&o), Err(SpecError::SwapBelowMemory { .. })));
    o.resources.memory_swap = Swap::Default;
    o.resources.memory = Some(1 << 20);
    assert!(matches!(build(&o), Err(SpecError::MemoryTooLow { .. })));
    o.resources.memory = None;
    o.resources.cpu_quota = Some(5000);
    assert!(matches!(build(&o), Err(SpecError::CpusWithPeriodOrQuota)));
    o.resources.cpu_quota = None;
    o.resources.cpus = Some(-1.0);
    assert!(matches!(build(&o), Err(SpecError::InvalidCpus { .. })));
}

#[test]
fn default_resources_and_device_cgroup() {
    let s = spec(&opts());
    let r = linux(&s).resources().as_ref().expect("resources");
    assert_eq!(r.pids().as_ref().map(|p| p.limit()), Some(2048));
    assert!(r.memory().is_none());
    assert!(r.cpu().is_none());
    let devices = r.devices().as_ref().expect("devices");
    // Deny everything first, then the default devices.
    assert!(!devices[0].allow());
    assert_eq!(devices[0].access().as_deref(), Some("rwm"));
    assert_eq!(devices[0].major(), None);
    let allowed: Vec<String> = devices[1..].iter().map(|d| d.to_string()).collect();
    assert_eq!(
        allowed,
        [
            "c 1:3 rwm",
            "c 1:5 rwm",
            "c 1:7 rwm",
            "c 1:8 rwm",
            "c 1:9 rwm",
            "c 5:0 rwm",
            "c 5:1 rwm",
            "c 5:2 rwm",
            "c 136:* rwm"
        ]
    );
    assert!(devices[1..].iter().all(|d| d.allow()));
    // No default device nodes listed: they are the runtime's to create.
    assert!(linux(&s).devices().is_none());
}

#[test]
fn devices() {
    let dev = Device {
        host_path: "/dev/fuse".into(),
        container_path: "/dev/fuse".into(),
        kind: DeviceKind::Char,
        major: 10,
        minor: 229,
        file_mode: 0o666,
        uid: 0,
        gid: 0,
        access: "rwm".into(),
    };
    let mut o = opts();
    o.devices = vec![dev.clone()];
    let s = spec(&o);
    let listed = linux(&s).devices().as_ref().expect("devices");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].major(), listed[0].minor()), (10, 229));
    let rules = linux(&s)
        .resources()
        .as_ref()
        .expect("res")
        .devices()
        .as_ref()
        .expect("rules");
    assert_eq!(
        rules.last().map(|r| r.to_string()),
        Some("c 10:229 rwm".to_string())
    );
    // Rootless: bound from the host instead.
    let mut o = rootless();
    o.devices = vec![dev];
    let s = spec(&o);
    assert!(linux(&s).devices().is_none());
    let m = mount(&s, "/dev/fuse").expect("bind");
    assert_eq!(options(m), ["slave", "nosuid", "noexec", "rw", "rbind"]);
}

#[test]
fn privileged_differences() {
    let mut o = opts();
    o.security.privileged = true;
    o.host.bounding = CapSet::from_mask(0x1ff_ffff_ffff);
    let s = spec(&o);
    let c = process(&s).capabilities().as_ref().expect("caps");
    assert_eq!(c.bounding().as_ref().map(HashSet::len), Some(41));
    assert_eq!(c.effective().as_ref().map(HashSet::len), Some(41));
    assert!(linux(&s).masked_paths().is_none());
    assert!(linux(&s).readonly_paths().is_none());
    assert!(linux(&s).seccomp().is_none());
    assert_eq!(
        options(mount(&s, "/sys").expect("sys")),
        ["rprivate", "nosuid", "noexec", "nodev", "rw"]
    );
    assert!(options(mount(&s, "/sys/fs/cgroup").expect("cgroup")).contains(&"rw"));
    let rules = linux(&s)
        .resources()
        .as_ref()
        .expect("res")
        .devices()
        .as_ref()
        .expect("rules");
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow());
    // An explicit profile still applies.
    o.security.seccomp = Seccomp::Profile(Box::new(seccomp::default_profile()));
    assert!(linux(&spec(&o)).seccomp().is_some());
}

#[test]
fn seccomp_default_and_unconfined() {
    let s = spec(&opts());
    let f = linux(&s).seccomp().as_ref().expect("seccomp");
    assert_eq!(f.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(f.default_errno_ret(), Some(38));
    let calls = f.syscalls().as_ref().expect("syscalls");
    assert!(calls
        .iter()
        .any(|c| c.names().iter().any(|n| n == "openat")));
    let mut o = opts();
    o.security.seccomp = Seccomp::Unconfined;
    assert!(linux(&spec(&o)).seccomp().is_none());
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
fn environment_defaults() {
    let mut o = opts();
    o.hostname = Some("c0ffee".into());
    o.process.env = vec!["PATH=/bin".into(), "FOO=bar".into()];
    let s = spec(&o);
    assert_eq!(
        env(&s),
        [
            "PATH=/bin",
            "container=podman",
            "FOO=bar",
            "HOME=/root",
            "HOSTNAME=c0ffee"
        ]
    );
    assert_eq!(s.hostname().as_deref(), Some("c0ffee"));
    o.process.terminal = true;
    o.process.env = vec!["HOME=/x".into()];
    let e = env(&spec(&o));
    assert!(e.contains(&"TERM=xterm".to_string()));
    assert!(e.contains(&"HOME=/x".to_string()));
    assert!(!e.iter().any(|v| v == "HOME=/root"));
    // The host's UTS namespace: no hostname in the spec (runtimes refuse
    // it), HOSTNAME still in the environment.
    o.namespaces.uts = Namespace::Host;
    let s = spec(&o);
    assert_eq!(s.hostname(), &None);
    assert!(env(&s).contains(&"HOSTNAME=c0ffee".to_string()));
}

#[test]
fn sysctls() {
    let s = spec(&opts());
    let sysctl = linux(&s).sysctl().clone().expect("sysctl");
    assert_eq!(
        sysctl.get("net.ipv4.ping_group_range").map(String::as_str),
        Some("0 0")
    );
    let mut o = opts();
    o.sysctls.insert("net.core.somaxconn".into(), "1024".into());
    o.sysctls.insert("kernel.shmmax".into(), "1".into());
    assert_eq!(linux(&spec(&o)).sysctl().as_ref().map(|s| s.len()), Some(3));
    o.namespaces.net = Namespace::Host;
    assert!(matches!(
        build(&o),
        Err(SpecError::SysctlNeedsNamespace {
            namespace: "network",
            ..
        })
    ));
    let mut o = opts();
    o.sysctls.insert("vm.swappiness".into(), "1".into());
    assert!(matches!(
        build(&o),
        Err(SpecError::SysctlNotNamespaced { .. })
    ));
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
fn oom_score_adj() {
    let mut o = rootless();
    o.host.oom_score_adj = 200;
    o.process.oom_score_adj = Some(-500);
    let (s, warnings) = build_with_warnings(&o).expect("build");
    assert_eq!(process(&s).oom_score_adj(), Some(200));
    assert_eq!(
        warnings,
        [SpecWarning::OomScoreAdjRaised {
            requested: -500,
            used: 200
        }]
    );
    let mut o = opts();
    o.process.oom_score_adj = Some(-500);
    assert_eq!(process(&spec(&o)).oom_score_adj(), Some(-500));
    o.process.oom_score_adj = Some(2000);
    assert!(matches!(
        build(&o),
        Err(SpecError::OomScoreAdjOutOfRange { .. })
    ));
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

#[test]
fn process_basics() {
    let mut o = opts();
    o.process.cwd = "/work".into();
    o.process.no_new_privileges = true;
    o.process.terminal = true;
    o.annotations.insert("io.skiff.test".into(), "1".into());
    let s = spec(&o);
    let p = process(&s);
    assert_eq!(p.cwd(), std::path::Path::new("/work"));
    assert_eq!(p.no_new_privileges(), Some(true));
    assert_eq!(p.terminal(), Some(true));
    assert_eq!(
        p.args().as_deref(),
        Some(&["sh".to_string(), "-c".into(), "true".into()][..])
    );
    assert_eq!(
        s.annotations()
            .as_ref()
            .and_then(|a| a.get("io.skiff.test"))
            .map(String::as_str),
        Some("1")
    );
    o.process.cwd = "work".into();
    assert!(matches!(build(&o), Err(SpecError::RelativeCwd { .. })));
    o.process.cwd = "/".into();
    o.process.args.clear();
    assert!(matches!(build(&o), Err(SpecError::EmptyCommand)));
}

/// The JSON has the shape `runc spec` writes and runtimes read.
#[test]
fn json_round_trip() {
    let mut o = opts();
    o.hostname = Some("c1".into());
    o.process.terminal = true;
    let s = spec(&o);
    let text = serde_json::to_string_pretty(&s).expect("serialise");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["ociVersion"], "1.0.2-dev");
    assert_eq!(v["root"]["path"], "/var/lib/skiff/rootfs");
    assert_eq!(v["root"]["readonly"], false);
    assert_eq!(v["hostname"], "c1");
    assert_eq!(v["process"]["terminal"], true);
    assert_eq!(v["process"]["user"]["uid"], 0);
    assert_eq!(v["process"]["cwd"], "/");
    assert!(v["process"]["capabilities"]["bounding"]
        .as_array()
        .expect("bounding")
        .contains(&serde_json::json!("CAP_CHOWN")));
    assert_eq!(v["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
    assert!(v["process"]["rlimits"][0]["hard"].is_u64());
    assert_eq!(v["process"]["noNewPrivileges"], false);
    assert_eq!(v["mounts"][0]["destination"], "/proc");
    assert_eq!(v["mounts"][0]["type"], "proc");
    assert_eq!(v["linux"]["namespaces"][0]["type"], "pid");
    assert_eq!(v["linux"]["namespaces"][1]["type"], "network");
    assert_eq!(v["linux"]["resources"]["devices"][0]["allow"], false);
    assert_eq!(v["linux"]["resources"]["pids"]["limit"], 2048);
    assert_eq!(v["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(v["linux"]["seccomp"]["defaultErrnoRet"], 38);
    assert!(v["linux"]["seccomp"]["architectures"].is_array());
    assert!(v["linux"]["maskedPaths"].is_array());
    assert!(v["linux"]["readonlyPaths"].is_array());
    assert_eq!(v["linux"]["sysctl"]["net.ipv4.ping_group_range"], "0 0");
    // Nothing skiff does not set.
    assert!(v.get("hooks").is_none());
    assert!(v.get("solaris").is_none());
    // It reads back to the same spec.
    let back: Spec = serde_json::from_str(&text).expect("read back");
    assert_eq!(back, s);
}

/// Runs a container with the spec under runc, when this is root on a host
/// with runc: the default capabilities are podman's and the user is root.
#[test]
fn runs_under_runc() {
    if crate::sys::euid() != 0 {
        eprintln!("skipped: running a container needs root");
        return;
    }
    let (Some(runc), Some(busybox)) = (find_program("runc"), find_program("busybox")) else {
        eprintln!("skipped: needs runc and a static busybox in PATH or an sbin directory");
        return;
    };
    let bundle = tempfile::tempdir().expect("bundle");
    let rootfs = bundle.path().join("rootfs");
    for dir in ["bin", "etc", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(rootfs.join(dir)).expect("mkdir");
    }
    std::fs::copy(&busybox, rootfs.join("bin/busybox")).expect("copy busybox");
    for applet in ["sh", "cat", "grep", "id"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).expect("applet");
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").expect("passwd");
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\n").expect("group");

    let user = user::resolve(&rootfs, "", "").expect("user");
    let mut o = SpecOptions::new(
        rootfs.clone(),
        vec![
            "sh".into(),
            "-c".into(),
            "cat /proc/self/status | grep CapEff; id".into(),
        ],
        Caller::Root,
        Host::probe(),
    );
    o.process.user = user;
    o.hostname = Some("spec-test".into());
    let s = build(&o).expect("build");
    std::fs::write(
        bundle.path().join("config.json"),
        serde_json::to_vec_pretty(&s).expect("json"),
    )
    .expect("write config");

    let id = format!("skiff-spec-test-{}-{}", std::process::id(), rand_suffix());
    let out = std::process::Command::new(&runc)
        .args(["run", "--bundle"])
        .arg(bundle.path())
        .arg(&id)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run runc");
    let _ = std::process::Command::new(&runc)
        .args(["delete", "-f", &id])
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "runc failed: {stdout}{stderr}");
    let expected: u64 = defaults::CAPABILITIES
        .iter()
        .map(|c| 1u64 << capabilities::number(c).expect("known"))
        .sum();
    assert_eq!(expected, 0x8004_05fb);
    assert!(
        stdout.contains(&format!("CapEff:\t{expected:016x}")),
        "{stdout}"
    );
    assert!(stdout.contains("uid=0(root) gid=0(root)"), "{stdout}");
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0)
}

fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(std::path::PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
