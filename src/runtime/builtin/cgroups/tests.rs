//! Tests of the cgroup manager on the host's real hierarchies, and the
//! helpers the other files' tests share.
//! Fixtures shared with the tests of `limits` and `devices`, and the
//! tests of the cgroup's life.

use std::os::unix::process::ExitStatusExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use oci_spec::runtime::LinuxCpu;

use super::*;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A test's own parent cgroup, removed with everything in it (processes
/// killed) however the test ends.
pub(super) struct Scratch {
    parent: PathBuf,
}

impl Scratch {
    /// `None`, with the reason printed, where this process cannot
    /// manage cgroups.
    pub(super) fn new(test: &str) -> Option<Scratch> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping {test}: needs root");
            return None;
        }
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let parent = PathBuf::from(format!("/skiff-unit-{}-{n}", std::process::id()));
        match Cgroup::create(&parent, None) {
            Ok(_) => Some(Scratch { parent }),
            Err(e) => {
                eprintln!("skipping {test}: cannot create a cgroup: {e}");
                None
            }
        }
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.parent.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let left = crate::sys::cgroup::remove_container_cgroup(&self.parent);
        if !left.is_empty() {
            eprintln!("cgroups left behind: {left:?}");
        }
    }
}

/// A child process, killed and reaped however the test ends.
pub(super) struct Kid(Child);

impl Kid {
    pub(super) fn sleep() -> Kid {
        Kid(Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn()
            .expect("sleep runs"))
    }

    pub(super) fn pid(&self) -> i32 {
        i32::try_from(self.0.id()).expect("pids fit in i32")
    }
}

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn file(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name))
        .unwrap_or_else(|e| panic!("reading {name} in {}: {e}", dir.display()))
        .trim()
        .to_string()
}

/// The directory of `path` where `probe` exists (the hierarchy of a
/// controller), among all of them.
pub(super) fn dir_with(path: &Path, probe: &str) -> Option<PathBuf> {
    dirs_of(path).into_iter().find(|d| d.join(probe).exists())
}

#[test]
fn paths_must_be_below_the_root() {
    for bad in ["/", "", "/a/../b", "../x"] {
        let e = Cgroup::create(Path::new(bad), None).expect_err("refused");
        assert!(matches!(e, CgroupError::InvalidPath { .. }), "{bad}: {e}");
        let cg = Cgroup::open(Path::new(bad));
        assert!(!cg.exists());
        assert_eq!(cg.pids().ok(), Some(Vec::new()));
        assert!(cg.remove().is_ok());
    }
    assert_eq!(
        normalize(Path::new("/skiff/c1")),
        Some(PathBuf::from("skiff/c1"))
    );
    assert_eq!(
        normalize(Path::new("skiff/./c1/")),
        Some(PathBuf::from("skiff/c1"))
    );
}

#[test]
fn members_freeze_signal_remove() {
    let Some(scratch) = Scratch::new("members") else {
        return;
    };
    let path = scratch.path("ctr");
    let cg = Cgroup::create(&path, None).expect("create the cgroup");
    let dirs = dirs_of(&path);
    assert!(cg.exists());

    let mut kid = Kid::sleep();
    cg.add(kid.pid()).expect("join");
    assert_eq!(cg.pids().expect("pids"), vec![kid.pid()]);
    let pid = kid.pid().to_string();
    for d in &dirs {
        let procs = file(d, "cgroup.procs");
        assert!(procs.lines().any(|l| l == pid), "{}: {procs}", d.display());
    }

    cg.freeze().expect("freeze");
    let freezer = dir_with(&path, "freezer.state");
    let v2 = dir_with(&path, "cgroup.freeze");
    match (&freezer, &v2) {
        (Some(d), _) => assert_eq!(file(d, "freezer.state"), "FROZEN"),
        (None, Some(d)) => {
            assert_eq!(file(d, "cgroup.freeze"), "1");
            assert!(file(d, "cgroup.events").contains("frozen 1"));
        }
        (None, None) => panic!("frozen without a freezer"),
    }
    cg.thaw().expect("thaw");
    match (&freezer, &v2) {
        (Some(d), _) => assert_eq!(file(d, "freezer.state"), "THAWED"),
        (None, Some(d)) => assert!(file(d, "cgroup.events").contains("frozen 0")),
        (None, None) => {}
    }

    // One by one for other signals; cgroup.kill or frozen for SIGKILL.
    cg.signal_all(Signal::SIGTERM).expect("term");
    let status = kid.0.wait().expect("reaped");
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    let mut kid = Kid::sleep();
    cg.add(kid.pid()).expect("join");
    cg.signal_all(Signal::SIGKILL).expect("kill");
    let status = kid.0.wait().expect("reaped");
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    cg.remove().expect("remove");
    for d in &dirs {
        assert!(!d.exists(), "{} is left", d.display());
    }
    assert!(!cg.exists());
    cg.remove().expect("removing what is gone is fine");
}

#[test]
fn a_refused_limit_rolls_back() {
    let Some(scratch) = Scratch::new("roll back") else {
        return;
    };
    let path = scratch.path("bad");
    let mut r = LinuxResources::default();
    let mut c = LinuxCpu::default();
    c.set_cpus(Some("x".into()));
    r.set_cpu(Some(c));
    match Cgroup::create(&path, Some(&r)) {
        Err(e @ CgroupError::Write { .. }) => {
            let text = e.to_string();
            assert!(text.starts_with("writing cpuset.cpus in /"), "{text}");
            assert!(text.ends_with(": Invalid argument"), "{text}");
        }
        Err(e @ CgroupError::NoController { .. }) => eprintln!("no cpuset here: {e}"),
        other => panic!("cpus \"x\" accepted: {other:?}"),
    }
    let dirs = dirs_of(&path);
    assert!(dirs.iter().all(|d| !d.exists()), "left: {dirs:?}");
    assert!(dirs_of(&scratch.parent).iter().all(|d| d.is_dir()));
}
