//! The process (environment, sysctls, basics), the JSON shape, and a real
//! run under runc when there is one.

use super::*;

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
