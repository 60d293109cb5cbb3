//! Several users on one machine, run from the root pass with runuser: each
//! user's containers and images are their own and out of the others' reach,
//! and a user without subordinate ids still runs containers (one id). The
//! users come from .ci/run: skifftest, skifftest2 (each with a range) and
//! skiffnosub (none).

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// skiff run by `user` with its default paths: a home and a runtime
/// directory of its own in a scratch directory.
struct UserSkiff {
    user: &'static str,
    dir: PathBuf,
}

impl UserSkiff {
    fn new(user: &'static str) -> Option<UserSkiff> {
        let pw = nix::unistd::User::from_name(user).ok().flatten()?;
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("skiff-user-{user}-{}-{n}", std::process::id()));
        for (sub, mode) in [("", 0o755), ("home", 0o755), ("xdg", 0o700)] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).expect("mkdir");
            nix::unistd::chown(&d, Some(pw.uid), Some(pw.gid)).expect("chown");
            std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .expect("chmod");
        }
        Some(UserSkiff { user, dir })
    }

    fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd_via(Cmd::new("runuser"), args)
    }

    /// As `cmd`, with `runuser` run by `prefix` (which ends by running
    /// its arguments).
    fn cmd_via<I, S>(&self, prefix: Cmd, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let path = format!(
            "{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            Skiff::bin().parent().expect("bin dir").display()
        );
        prefix
            .args(["-u", self.user, "--", "env", "-i"])
            .arg(format!("PATH={path}"))
            .arg(format!("HOME={}", self.dir.join("home").display()))
            .arg(format!(
                "XDG_RUNTIME_DIR={}",
                self.dir.join("xdg").display()
            ))
            .arg("LANG=C.UTF-8")
            .arg(Skiff::bin())
            .args(args)
    }

    fn store(&self) -> PathBuf {
        self.dir.join("home/.local/share/skiff")
    }
}

impl Drop for UserSkiff {
    fn drop(&mut self) {
        let _ = self.cmd(["system", "reset", "-f"]).try_run();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Root with the users and a skiff binary they can run.
fn ready(users: &[&str]) -> bool {
    if !is_root() {
        skip("runs skiff as several users through runuser: root only");
        return false;
    }
    if !containers_ready(&["runuser"]) {
        return false;
    }
    for u in users {
        if nix::unistd::User::from_name(u).ok().flatten().is_none() {
            skip(&format!("no user {u} (.ci/run creates it)"));
            return false;
        }
    }
    let readable = Skiff::bin().ancestors().skip(1).all(executable_by_all);
    if !readable {
        skip("the skiff binary is in a directory other users cannot enter");
        return false;
    }
    true
}

fn executable_by_all(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
}

fn busybox_ref() -> String {
    format!("{}/skiff-test/busybox", busybox_registry().addr())
}

#[test]
fn users_cannot_see_or_touch_each_others_containers_and_images() {
    if !ready(&["skifftest", "skifftest2"]) {
        return;
    }
    let (Some(a), Some(b)) = (UserSkiff::new("skifftest"), UserSkiff::new("skifftest2")) else {
        return;
    };
    let image = busybox_ref();
    a.cmd(["pull", "-q", "--tls-verify=false", &image])
        .run()
        .ok();
    let id = a
        .cmd(["run", "-d", "--name", "mine", &image, "sleep", "1000"])
        .run()
        .ok();
    let id = id.trim();
    // B sees nothing of A's...
    assert_eq!(b.cmd(["ps", "-a", "-q"]).run().ok(), "");
    assert_eq!(b.cmd(["images", "-q"]).run().ok(), "");
    // ...cannot name A's container...
    b.cmd(["rm", "-f", id]).run().fails(1);
    b.cmd(["stop", "mine"]).run().fails(125);
    // ...and cannot open A's store, even inside its own namespace.
    let err = b
        .cmd(["--root"])
        .arg(a.store())
        .args(["ps", "-a"])
        .run()
        .fails(125);
    assert!(
        err.contains("ermission denied") && err.lines().count() == 1,
        "{err}"
    );
    let err = b.cmd(["unshare", "ls"]).arg(a.store()).run().fails(2);
    assert!(err.contains("ermission denied"), "{err}");
    // A's container is untouched.
    let state = a
        .cmd([
            "container",
            "inspect",
            "--format",
            "{{.State.Status}}",
            "mine",
        ])
        .run()
        .ok();
    assert_eq!(state.trim(), "running");
    a.cmd(["rm", "-f", "-t", "0", "mine"]).run().ok();
}

#[test]
fn a_user_without_subordinate_ids_gets_one_id() {
    if !ready(&["skiffnosub"]) {
        return;
    }
    let Some(u) = UserSkiff::new("skiffnosub") else {
        return;
    };
    let image = busybox_ref();
    let pull = u.cmd(["pull", "-q", "--tls-verify=false", &image]).run();
    assert_eq!(pull.code(), Some(0), "{pull}");
    assert!(
        pull.stderr().contains("no subordinate id range") && pull.stderr().contains("usermod"),
        "the limit and its fix are named: {pull}"
    );
    let out = u.cmd(["run", "--rm", &image, "id", "-u"]).run().ok();
    assert_eq!(out.trim(), "0");
    let map = u.cmd(["unshare", "cat", "/proc/self/uid_map"]).run().ok();
    assert_eq!(map.lines().count(), 1, "a single id: {map}");
    // Said when the namespace is made, not by every command.
    let again = u.cmd(["images", "-q"]).run();
    assert_eq!(again.stderr(), "", "{again}");
}

#[test]
fn a_user_who_cannot_open_the_tun_device_is_told_so_in_one_line() {
    if !ready(&["skifftest"]) || !containers_ready(&["unshare", "pasta"]) {
        return;
    }
    if !Path::new("/dev/net/tun").exists() {
        skip("no /dev/net/tun to hide");
        return;
    }
    let Some(u) = UserSkiff::new("skifftest") else {
        return;
    };
    // In a mount namespace of its own, /dev/net/tun is a file only root
    // may open; the machine's device is left alone. The user's namespace
    // holder, started by the first command, is made in there too.
    let hidden = u.dir.join("tun");
    std::fs::write(&hidden, "").expect("write");
    std::fs::set_permissions(&hidden, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let hiding = || {
        Cmd::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg("mount --bind \"$0\" /dev/net/tun && exec runuser \"$@\"")
            .arg(&hidden)
    };
    let image = busybox_ref();
    u.cmd_via(hiding(), ["pull", "-q", "--tls-verify=false", &image])
        .run()
        .ok();
    let err = u
        .cmd_via(
            hiding(),
            ["run", "--name", "c", "--network", "pasta", &image, "true"],
        )
        .run()
        .fails(125);
    // (The warning about resource limits on this machine aside.)
    let said: Vec<&str> = err.lines().filter(|l| !l.contains("WARN")).collect();
    assert!(
        said.len() == 1 && said[0].starts_with("Error: "),
        "one line: {err}"
    );
    assert!(
        err.contains("/dev/net/tun") && err.contains("0600") && err.contains("--network none"),
        "the device, its mode and a way out are named: {err}"
    );
    // Nothing of the attempt is left running, and the container can be
    // removed.
    let state = u
        .cmd(["container", "inspect", "--format", "{{.State.Status}}", "c"])
        .run()
        .ok();
    assert_ne!(state.trim(), "running");
    u.cmd(["rm", "c"]).run().ok();
    assert_eq!(u.cmd(["ps", "-a", "-q"]).run().ok(), "");
}
