//! Resource limits: rlimits, --ulimit, cgroup limits, devices, oom score.

use super::*;

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
    // Without swap accounting there is no default swap limit to set.
    o.resources.memory_swap = Swap::Default;
    o.host.swap_accounting = false;
    let s = spec(&o);
    let r = linux(&s).resources().as_ref().expect("resources");
    assert_eq!(r.memory().as_ref().and_then(|m| m.swap()), None);
    o.host.swap_accounting = true;

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
