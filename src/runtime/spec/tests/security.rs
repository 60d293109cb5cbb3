//! Capabilities, masked and read-only paths, --privileged and seccomp.

use super::*;

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
