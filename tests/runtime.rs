//! skiff's built-in OCI runtime through its runc-compatible command line
//! (`skiff runtime ...`), on a bundle made here: a busybox root file
//! system and a config.json written by the test. Lifecycle, bad input
//! (one clear error, nothing left behind) and the security properties the
//! runtime issue names. Root only: as root the runtime makes every kind of
//! namespace itself; the rootless pass covers it through the engine.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

struct Bundle {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    state: PathBuf,
}

/// The capabilities podman gives a container.
const CAPS: &[&str] = &skiff::runtime::spec::defaults::CAPABILITIES;

fn base_config(rootfs: &Path, args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "root": {"path": rootfs, "readonly": false},
        "hostname": "runtime-test",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/bin:/usr/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": CAPS, "effective": CAPS, "permitted": CAPS,
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

impl Bundle {
    /// A busybox root file system and `config` (from [`base_config`],
    /// changed by `edit`).
    fn new(args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
        let tmp = scratch_dir("runtime");
        let dir = tmp.path().join("bundle");
        let rootfs = dir.join("rootfs");
        for d in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
            std::fs::create_dir_all(rootfs.join(d)).expect("mkdir");
        }
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("copy busybox");
        for applet in [
            "sh", "ls", "cat", "echo", "sleep", "id", "ps", "readlink", "grep", "touch", "kill",
            "hostname", "head", "wc", "true",
        ] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).expect("link");
        }
        std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n")
            .expect("passwd");
        let mut config = base_config(&rootfs, args);
        edit(&mut config);
        std::fs::write(dir.join("config.json"), config.to_string()).expect("config");
        let state = tmp.path().join("state");
        Bundle {
            _tmp: tmp,
            dir,
            state,
        }
    }

    fn rt<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Cmd::new(Skiff::bin())
            .arg("runtime")
            .arg("--root")
            .arg(&self.state)
            .args(args)
    }

    fn create(&self, id: &str) -> Output {
        self.rt(["create", "--bundle"]).arg(&self.dir).arg(id).run()
    }

    fn state_of(&self, id: &str) -> Value {
        let out = self.rt(["state", id]).run().ok();
        serde_json::from_str(&out).expect("state JSON")
    }

    fn wait_stopped(&self, id: &str) {
        wait_for(
            || self.state_of(id)["status"] == "stopped",
            "the container to stop",
        );
    }

    /// Nothing of the runtime's is left: no state, no mount under the
    /// bundle.
    fn assert_clean(&self) {
        let listed = self.rt(["list", "-q"]).run().ok();
        assert_eq!(listed.trim(), "", "containers left: {listed}");
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let dir = self.dir.display().to_string();
        assert!(
            !mounts.lines().any(|l| l.contains(&dir)),
            "mounts left under {dir}"
        );
    }
}

impl Drop for Bundle {
    /// A failed test leaves no waiting init behind.
    fn drop(&mut self) {
        let listed = self.rt(["list", "-q"]).run();
        if listed.success() {
            for id in listed.ok().lines() {
                let _ = self.rt(["delete", "--force", id]).run();
            }
        }
    }
}

fn ready() -> bool {
    require_root() && containers_ready(&[])
}

#[test]
fn create_start_state_and_delete() {
    if !ready() {
        return;
    }
    let b = Bundle::new(
        &["sh", "-c", "echo out; hostname; echo err >&2; exit 3"],
        |_| {},
    );
    let created = b.create("life");
    assert!(created.success(), "{created}");
    let st = b.state_of("life");
    assert_eq!(st["status"], "created");
    let pid = st["pid"].as_i64().expect("pid");
    assert!(pid > 0 && process_alive(pid as u32));
    assert!(b.dir.join("rootfs").exists());
    // The init waits: nothing ran yet.
    b.rt(["start", "life"]).run().ok();
    b.wait_stopped("life");
    assert_eq!(b.state_of("life")["pid"], 0);
    // A second start of a stopped container is refused.
    b.rt(["start", "life"])
        .run()
        .fails_with(1, "is stopped, not created");
    b.rt(["delete", "life"]).run().ok();
    b.rt(["state", "life"])
        .run()
        .fails_with(1, "does not exist");
    b.assert_clean();
}

#[test]
fn kill_and_forced_delete() {
    if !ready() {
        return;
    }
    let b = Bundle::new(&["sleep", "1000"], |_| {});
    assert!(b.create("k").success());
    b.rt(["start", "k"]).run().ok();
    assert_eq!(b.state_of("k")["status"], "running");
    b.rt(["delete", "k"]).run().fails_with(1, "is running");
    b.rt(["kill", "k", "KILL"]).run().ok();
    b.wait_stopped("k");
    b.rt(["delete", "k"]).run().ok();
    assert!(b.create("k2").success());
    b.rt(["start", "k2"]).run().ok();
    b.rt(["delete", "-f", "k2"]).run().ok();
    b.assert_clean();
}

#[test]
fn bad_input_gets_one_error_and_leaves_nothing() {
    if !ready() {
        return;
    }
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "rootfs",
            Box::new(|c| c["root"]["path"] = json!("/nonexistent/rootfs")),
            "does not exist",
        ),
        (
            "nspath",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .expect("namespaces")
                    .push(json!({"type": "network", "path": "/proc/self/ns/nonexistent"}))
            }),
            "namespace",
        ),
        (
            "seccomp",
            Box::new(|c| {
                c["linux"]["seccomp"] = json!({
                    "defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]
                })
            }),
            "no_such_syscall",
        ),
        (
            "command",
            Box::new(|c| c["process"]["args"] = json!(["/bin/nope"])),
            "no such file or directory",
        ),
        (
            "hook",
            Box::new(
                |c| c["hooks"] = json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo refused >&2; exit 1"]}]}),
            ),
            "refused",
        ),
        (
            "mount",
            Box::new(|c| {
                c["mounts"].as_array_mut().expect("mounts").push(json!({"destination": "/x", "type": "bind", "source": "/nonexistent/src", "options": ["bind"]}))
            }),
            "/nonexistent/src",
        ),
        (
            "host-sysctl",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .expect("namespaces")
                    .retain(|n| n["type"] != "network");
                c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
            }),
            "needs a network namespace",
        ),
        (
            "unconfined-sysctl",
            Box::new(|c| c["linux"]["sysctl"] = json!({"vm.swappiness": "1"})),
            "not confined by any namespace",
        ),
        (
            "host-hostname",
            Box::new(|c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .expect("namespaces")
                    .retain(|n| n["type"] != "uts");
            }),
            "needs a UTS namespace",
        ),
    ];
    for (name, edit, needle) in cases {
        let b = Bundle::new(&["true"], edit);
        let out = b.create(name);
        assert!(!out.success(), "{name}: {out}");
        let err = out.stderr();
        assert!(err.contains(needle), "{name}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{name}: one line: {err}");
        assert!(!b.state.join(name).exists(), "{name}: state left behind");
        b.assert_clean();
    }
    // A config that does not parse, with the error also in the JSON log.
    let b = Bundle::new(&["true"], |_| {});
    std::fs::write(b.dir.join("config.json"), "{not json").expect("write");
    let log = b.dir.join("log.json");
    let out = b
        .rt(["--log"])
        .arg(&log)
        .args(["--log-format", "json", "create", "--bundle"])
        .arg(&b.dir)
        .arg("bad")
        .run();
    assert!(!out.success());
    assert!(out.stderr().contains("config.json"), "{out}");
    let line: Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .expect("log")
            .lines()
            .next()
            .expect("a line"),
    )
    .expect("JSON");
    assert_eq!(line["level"], "error");
    assert!(line["msg"]
        .as_str()
        .is_some_and(|m| m.contains("config.json")));
    b.assert_clean();
}

/// Runs `script` in a container of its own and returns its output.
fn run_script(b: &Bundle, id: &str) -> String {
    let out = b.rt(["create", "--bundle"]).arg(&b.dir).arg(id).run();
    assert!(out.success(), "{out}");
    // The init's output goes where create's stdout went: a file.
    b.rt(["start", id]).run().ok();
    b.wait_stopped(id);
    b.rt(["delete", id]).run().ok();
    std::fs::read_to_string(b.dir.join("rootfs/tmp/out")).unwrap_or_default()
}

#[test]
fn the_container_sees_only_itself() {
    if !ready() {
        return;
    }
    // The image's /escape is an absolute link to a directory that, read
    // on the host, would be outside the root.
    let outside = format!("/skiff-runtime-escape-{}", std::process::id());
    let script = format!(
        "exec >/tmp/out 2>&1; ls /proc/self/fd | wc -l; readlink /proc/self/cwd; \
         ps -o pid | wc -l; kill -0 {host} && echo host-visible; \
         grep -E '^(NoNewPrivs|CapEff|Seccomp|SigIgn|SigBlk):' /proc/self/status; cat /proc/kcore | wc -c; \
         echo x > /proc/sysrq-trigger || echo sysrq-read-only",
        host = std::process::id(),
    );
    let b = Bundle::new(&["sh", "-c", &script], |c| {
        c["mounts"].as_array_mut().expect("mounts").push(json!({
            "destination": "/escape/sub", "type": "tmpfs", "source": "tmpfs"
        }));
    });
    std::os::unix::fs::symlink(&outside, b.dir.join("rootfs/escape")).expect("symlink");
    // A descriptor the caller leaks must not reach the container.
    let leaked = std::fs::File::open("/etc/hostname").expect("open");
    let _keep = nix::fcntl::fcntl(
        std::os::fd::AsRawFd::as_raw_fd(&leaked),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    );
    let out = run_script(&b, "iso");
    let lines: Vec<&str> = out.lines().collect();
    // 0, 1, 2 and ls's own directory descriptor.
    assert_eq!(lines[0], "4", "{out}");
    assert_eq!(lines[1], "/", "{out}");
    // ps's header, the shell, ps itself.
    assert!(lines[2].parse::<u32>().expect("count") <= 4, "{out}");
    assert!(!out.contains("host-visible"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(out.contains("CapEff:\t00000000800405fb"), "{out}");
    // Nothing ignored or blocked, whatever the runtime itself had.
    assert!(out.contains("SigIgn:\t0000000000000000"), "{out}");
    assert!(out.contains("SigBlk:\t0000000000000000"), "{out}");
    assert!(out.contains("sysrq-read-only"), "{out}");
    assert!(lines.contains(&"0"), "kcore is masked: {out}");
    assert!(
        !Path::new(&outside).exists(),
        "a mount followed a symlink out of the root"
    );
    assert!(b
        .dir
        .join("rootfs")
        .join(outside.trim_start_matches('/'))
        .join("sub")
        .is_dir());
    drop(leaked);
    b.assert_clean();
}

#[test]
fn seccomp_profiles_are_enforced() {
    if !ready() {
        return;
    }
    let b = Bundle::new(
        &["sh", "-c", "exec >/tmp/out 2>&1; hostname x || echo denied"],
        |c| {
            c["linux"]["seccomp"] = json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
            });
            // sethostname needs CAP_SYS_ADMIN: give it, so only seccomp stops it.
            for set in ["bounding", "effective", "permitted"] {
                c["process"]["capabilities"][set]
                    .as_array_mut()
                    .expect("caps")
                    .push(json!("CAP_SYS_ADMIN"));
            }
        },
    );
    let out = run_script(&b, "sc");
    assert!(out.contains("denied"), "{out}");
    b.assert_clean();
}

#[test]
fn user_and_groups_are_set() {
    if !ready() {
        return;
    }
    let b = Bundle::new(
        &[
            "sh",
            "-c",
            "exec >/tmp/out 2>&1; id -u; id -g; id -G; grep CapEff /proc/self/status",
        ],
        |c| {
            c["process"]["user"] = json!({"uid": 1000, "gid": 1001, "additionalGids": [5, 6]});
        },
    );
    // Writable for that user.
    let tmp = b.dir.join("rootfs/tmp");
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o1777))
        .expect("chmod");
    let out = run_script(&b, "user");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1000", "{out}");
    assert_eq!(lines[1], "1001", "{out}");
    assert!(lines[2].split_whitespace().any(|g| g == "5"), "{out}");
    // A non-root user has no effective capabilities left... unless the
    // spec says so; here it does, as runc keeps them through keep-caps.
    assert!(lines[3].starts_with("CapEff:"), "{out}");
    let owner = std::fs::metadata(b.dir.join("rootfs/tmp/out"))
        .expect("out")
        .uid();
    assert_eq!(owner, 1000);
    b.assert_clean();
}

#[test]
fn hooks_run_at_their_points_with_the_state() {
    if !ready() {
        return;
    }
    let tmp = scratch_dir("hooks");
    let out = tmp.path().to_path_buf();
    let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}/{name}", out.display())]});
    let b = Bundle::new(&["true"], |c| {
        c["hooks"] = json!({
            "prestart": [hook("prestart")],
            "createRuntime": [hook("createRuntime")],
            "createContainer": [hook("createContainer")],
            // In the container, after pivot_root: its own /tmp.
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /tmp/startContainer"]}],
            "poststart": [hook("poststart")],
            "poststop": [hook("poststop")],
        });
    });
    assert!(b.create("h").success());
    let state = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(name)).unwrap_or_default())
            .unwrap_or(Value::Null)
    };
    // The create operation's hooks get "created", as from crun (and as
    // runtime-tools' hooks_stdin asks of prestart): `state` answers the
    // same while they run.
    for name in ["prestart", "createRuntime", "createContainer"] {
        assert_eq!(state(name)["id"], "h", "{name}");
        assert_eq!(state(name)["status"], "created", "{name}");
    }
    assert!(!out.join("poststart").exists());
    b.rt(["start", "h"]).run().ok();
    b.wait_stopped("h");
    assert_eq!(state("poststart")["status"], "running");
    let inside: Value = serde_json::from_str(
        &std::fs::read_to_string(b.dir.join("rootfs/tmp/startContainer"))
            .expect("startContainer ran"),
    )
    .expect("json");
    assert_eq!(inside["id"], "h");
    assert!(!out.join("poststop").exists());
    b.rt(["delete", "h"]).run().ok();
    assert_eq!(state("poststop")["status"], "stopped");
    b.assert_clean();
}

#[test]
fn devices_get_the_mode_and_owner_the_spec_gives() {
    if !ready() {
        return;
    }
    let b = Bundle::new(
        &["sh", "-c", "exec >/tmp/out 2>&1; stat -c '%a %u %g %t:%T' /dev/test1; echo x > /dev/test1 && echo written"],
        |c| {
            c["linux"]["devices"] = json!([{
                "path": "/dev/test1", "type": "c", "major": 1, "minor": 3,
                "fileMode": 432, "uid": 1, "gid": 2
            }]);
            // With a cgroup and a deny-all rule, as runtime-tools' specs
            // have: the standard devices and the spec's stay usable.
            c["linux"]["cgroupsPath"] = json!(format!("/skiff-runtime-test-{}", std::process::id()));
            c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
        },
    );
    let out = run_script(&b, "dev");
    assert_eq!(out.lines().next(), Some("660 1 2 1:3"), "{out}");
    assert!(out.contains("written"), "{out}");
    b.assert_clean();
}

#[test]
fn the_container_never_reaches_the_runtime_binary() {
    if !ready() {
        return;
    }
    // CVE-2019-5736: a command that is /proc/self/exe runs whatever the
    // init's binary is at its exec. It must be a sealed copy of skiff-init,
    // never skiff itself, and nothing may write to it.
    let b = Bundle::new(&["/proc/self/exe", "--pause"], |_| {});
    let skiff_before = std::fs::read(Skiff::bin()).expect("read skiff");
    assert!(b.create("sealed").success());
    b.rt(["start", "sealed"]).run().ok();
    let pid = b.state_of("sealed")["pid"].as_i64().expect("pid");
    let exe = format!("/proc/{pid}/exe");
    wait_for(
        || std::fs::read_link(&exe).is_ok_and(|t| t.to_string_lossy().contains("memfd:skiff-init")),
        "the container's command to be the sealed copy",
    );
    // The attack: hold the file (O_PATH) while it runs, reopen it for
    // writing once it no longer does.
    let held = nix::fcntl::open(
        exe.as_str(),
        nix::fcntl::OFlag::O_PATH,
        nix::sys::stat::Mode::empty(),
    )
    .expect("open the container's /proc/PID/exe");
    let exec_out = b
        .rt(["exec", "sealed", "/proc/self/exe", "--version"])
        .run()
        .ok();
    b.rt(["kill", "sealed", "KILL"]).run().ok();
    b.wait_stopped("sealed");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/self/fd/{held}"))
        .expect("reopen for writing");
    let e = std::io::Write::write_all(&mut f, b"overwritten").expect_err("sealed");
    assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
    drop(f);
    let _ = nix::unistd::close(held);
    // The same for a process exec'd into the container.
    assert!(exec_out.starts_with("skiff-init version"), "{exec_out}");
    assert!(std::fs::read(Skiff::bin()).expect("read skiff") == skiff_before);
    b.rt(["delete", "--force", "sealed"]).run().ok();
    b.assert_clean();
}

/// The propagation fields of the mount at `mount_point` in a mountinfo
/// text ("shared:N", "master:N", "unbindable"; none when private), of the
/// topmost mount there.
fn propagation_of(mountinfo: &str, mount_point: &str) -> Option<Vec<String>> {
    mountinfo.lines().rev().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.get(4) == Some(&mount_point)).then(|| {
            f[6..]
                .iter()
                .take_while(|x| **x != "-")
                .map(|x| x.to_string())
                .collect()
        })
    })
}

fn own_mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo")
}

/// `delete -f` of a container when dropped.
struct ForceDelete<'a>(&'a Bundle, &'a str);

impl Drop for ForceDelete<'_> {
    fn drop(&mut self) {
        let _ = self.0.rt(["delete", "-f", self.1]).try_run();
    }
}

#[test]
fn without_a_mount_namespace_the_container_shares_the_runtimes() {
    if !ready() {
        return;
    }
    let root_before = propagation_of(&own_mountinfo(), "/");
    let script = "exec >/tmp/out 2>&1; readlink /proc/self/ns/mnt; readlink /proc/self/ns/net; \
                  cat /marker; ls /sys/firmware | wc -l; echo up; exec sleep 1000";
    // Every namespace the runtime's: the spec lists none.
    let no_ns = |c: &mut Value| {
        c["linux"]["namespaces"] = json!([]);
        c.as_object_mut().expect("config").remove("hostname");
    };
    let b = Bundle::new(&["sh", "-c", script], no_ns);
    std::fs::write(b.dir.join("rootfs/marker"), "inside\n").expect("marker");
    let created = b.create("nomnt");
    assert!(created.success(), "{created}");
    // Its mounts are this namespace's: gone with it even if a check fails.
    let _guard = ForceDelete(&b, "nomnt");
    // The root file system's own bind, with the container's mounts on it,
    // is in this namespace while the container lives.
    let rootfs = std::fs::canonicalize(b.dir.join("rootfs")).expect("rootfs");
    let mounts = own_mountinfo();
    let proc_dir = format!("{}/proc", rootfs.display());
    assert!(
        propagation_of(&mounts, &rootfs.display().to_string()).is_some(),
        "the root's bind: {mounts}"
    );
    assert!(propagation_of(&mounts, &proc_dir).is_some(), "{mounts}");
    b.rt(["start", "nomnt"]).run().ok();
    let out_file = b.dir.join("rootfs/tmp/out");
    wait_for(
        || std::fs::read_to_string(&out_file).is_ok_and(|o| o.contains("up")),
        "the container's output",
    );
    let out = std::fs::read_to_string(&out_file).expect("out");
    let lines: Vec<&str> = out.lines().collect();
    let ours = |t: &str| {
        std::fs::read_link(format!("/proc/self/ns/{t}"))
            .expect("ns")
            .display()
            .to_string()
    };
    assert_eq!(lines[0], ours("mnt"), "{out}");
    assert_eq!(lines[1], ours("net"), "{out}");
    // chroot'ed into its root, with its paths masked there.
    assert_eq!(lines[2], "inside", "{out}");
    assert_eq!(lines[3], "0", "/sys/firmware is masked: {out}");
    // exec goes into the same root.
    let exec = b.rt(["exec", "nomnt", "cat", "/marker"]).run().ok();
    assert_eq!(exec.trim(), "inside");
    b.rt(["delete", "-f", "nomnt"]).run().ok();
    // Nothing left mounted, and this namespace's root kept its propagation.
    b.assert_clean();
    assert_eq!(propagation_of(&own_mountinfo(), "/"), root_before);

    // A create that fails after the mounts leaves none either.
    let b = Bundle::new(&["/bin/nope"], no_ns);
    let out = b.create("nomnt-bad");
    assert!(!out.success(), "{out}");
    assert!(out.stderr().contains("no such file"), "{out}");
    b.assert_clean();
}

#[test]
fn the_root_gets_the_propagation_the_spec_asks_for() {
    if !ready() {
        return;
    }
    for (mode, want) in [
        ("shared", Some("shared:")),
        ("rshared", Some("shared:")),
        ("unbindable", Some("unbindable")),
        ("private", None),
    ] {
        let b = Bundle::new(&["sh", "-c", "cat /proc/self/mountinfo > /tmp/out"], |c| {
            c["linux"]["rootfsPropagation"] = json!(mode)
        });
        let out = run_script(&b, "prop");
        let fields = propagation_of(&out, "/").unwrap_or_else(|| panic!("{mode}: no /: {out}"));
        match want {
            Some(w) => assert!(
                fields.iter().any(|f| f.starts_with(w)),
                "{mode}: / is {fields:?}"
            ),
            None => assert!(fields.is_empty(), "{mode}: / is {fields:?}"),
        }
        b.assert_clean();
    }
}

#[test]
fn poststart_hooks_run_once_the_command_is_executed() {
    if !ready() {
        return;
    }
    let b = Bundle::new(&["sleep", "1000"], |c| {
        c["hooks"] = json!({
            // Holds the init back from its exec for a while.
            "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep 1"]}],
            "poststart": [{"path": "/bin/true"}],
        });
    });
    assert!(b.create("ps").success());
    let pid = b.state_of("ps")["pid"].as_i64().expect("pid");
    b.rt(["start", "ps"]).run().ok();
    // start returns after its poststart hooks, which wait for the exec.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).expect("comm");
    assert_eq!(comm.trim(), "sleep");
    b.rt(["delete", "-f", "ps"]).run().ok();
    b.assert_clean();
}
