//! OCI hooks: programs the spec names for points of the container's life,
//! each run with the container's state on its standard input. createRuntime
//! and prestart run in the runtime's namespaces once the container's exist,
//! createContainer in the container's before pivot_root, startContainer in
//! the container just before its command, poststart after start, poststop
//! at delete (their failures are only reported).

use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks, Spec};

use super::state::Record;
use super::{RuntimeError, SetupError};

/// Which hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Point {
    fn name(self) -> &'static str {
        match self {
            Point::Prestart => "prestart",
            Point::CreateRuntime => "createRuntime",
            Point::CreateContainer => "createContainer",
            Point::StartContainer => "startContainer",
            Point::Poststart => "poststart",
            Point::Poststop => "poststop",
        }
    }
}

/// The hooks of `point` in `hooks`.
pub fn of(hooks: Option<&Hooks>, point: Point) -> Vec<Hook> {
    let Some(h) = hooks else {
        return Vec::new();
    };
    #[allow(deprecated)]
    let list = match point {
        Point::Prestart => h.prestart(),
        Point::CreateRuntime => h.create_runtime(),
        Point::CreateContainer => h.create_container(),
        Point::StartContainer => h.start_container(),
        Point::Poststart => h.poststart(),
        Point::Poststop => h.poststop(),
    };
    list.clone().unwrap_or_default()
}

/// Run `hooks` one after the other with `state` (the OCI state document)
/// on their stdin; the first that fails or outlives its timeout stops the
/// rest.
pub fn run(point: Point, hooks: &[Hook], state: &serde_json::Value) -> Result<(), SetupError> {
    let input = state.to_string();
    for h in hooks {
        let step = format!("{} hook {}", point.name(), h.path().display());
        let args = h.args().clone().unwrap_or_default();
        let mut cmd = Command::new(h.path());
        // args[0] is the hook's argv[0], as in execve.
        if let Some((first, rest)) = args.split_first() {
            std::os::unix::process::CommandExt::arg0(&mut cmd, first);
            cmd.args(rest);
        }
        cmd.env_clear();
        for e in h.env().iter().flatten() {
            if let Some((k, v)) = e.split_once('=') {
                cmd.env(k, v);
            }
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| SetupError::new(step.clone(), e))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A hook that does not read its input is fine.
            let _ = stdin.write_all(input.as_bytes());
        }
        let limit = h.timeout().map(|t| Duration::from_secs(t.max(1) as u64));
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) => {}
                Err(e) => return Err(SetupError::new(step, e)),
            }
            if limit.is_some_and(|l| started.elapsed() >= l) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SetupError::msg(step, "timed out"));
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        if !status.success() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            let err = err.trim();
            return Err(SetupError::msg(
                step,
                if err.is_empty() {
                    format!("failed ({status})")
                } else {
                    format!("failed ({status}): {err}")
                },
            ));
        }
    }
    Ok(())
}

/// The state document hooks get on stdin.
pub(super) fn state(
    id: &str,
    status: &str,
    pid: i32,
    bundle: &Path,
    spec: &Spec,
) -> serde_json::Value {
    serde_json::json!({
        "ociVersion": crate::runtime::spec::OCI_VERSION,
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": bundle,
        "annotations": spec.annotations().clone().unwrap_or_default(),
    })
}

/// The poststart or poststop hooks kept in the record (older records: the
/// bundle's config.json); their failures are warnings. Poststart hooks run
/// "after the user-specified process is executed": with `fifo`, once the
/// init's exec has closed its end of the exec FIFO.
pub(super) fn run_later(
    rec: &Record,
    point: Point,
    status: &str,
    pid: i32,
    fifo: Option<&std::fs::File>,
) -> Result<(), RuntimeError> {
    let list = match &rec.later_hooks {
        Some(h) if point == Point::Poststart => h.poststart.clone(),
        Some(h) => h.poststop.clone(),
        None => match Spec::load(rec.bundle.join("config.json")) {
            Ok(spec) => of(spec.hooks().as_ref(), point),
            Err(_) => Vec::new(),
        },
    };
    if list.is_empty() {
        return Ok(());
    }
    if let Some(fifo) = fifo {
        wait_for_exec(fifo, rec)?;
    }
    let state = serde_json::json!({
        "ociVersion": crate::runtime::spec::OCI_VERSION,
        "id": rec.id,
        "status": status,
        "pid": pid,
        "bundle": rec.bundle,
        "annotations": rec.annotations,
    });
    if let Err(e) = run(point, &list, &state) {
        warn(&e.to_string());
    }
    Ok(())
}

/// A warning, in runc's form (hooks whose failure must not stop anything).
fn warn(text: &str) {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    eprintln!("time=\"{time}\" level=warning msg={text:?}");
}

/// Wait until every writer of the exec FIFO (read from already) is gone:
/// the init's end closes when its exec succeeds, or when it dies.
fn wait_for_exec(fifo: &std::fs::File, rec: &Record) -> Result<(), RuntimeError> {
    let mut file = fifo;
    loop {
        let mut fds = [nix::poll::PollFd::new(
            fifo.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)).map_err(|e| {
            RuntimeError::Io {
                step: "waiting for the container's command".into(),
                source: e.into(),
            }
        })?;
        let mut b = [0u8; 16];
        match file.read(&mut b) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(RuntimeError::Io {
                    step: "reading the exec FIFO".into(),
                    source: e,
                })
            }
        }
        if !rec.alive() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(path: &str, args: &[&str]) -> Hook {
        let mut h = Hook::default();
        h.set_path(path.into());
        h.set_args(Some(args.iter().map(|a| a.to_string()).collect()));
        h
    }

    #[test]
    fn hooks_get_the_state_and_their_failures_are_reported() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("state");
        let script = format!("cat > {}", out.display());
        let state = serde_json::json!({"id": "c1", "status": "creating"});
        run(
            Point::CreateRuntime,
            &[hook("/bin/sh", &["sh", "-c", &script])],
            &state,
        )
        .expect("hook runs");
        let got: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("json");
        assert_eq!(got["id"], "c1");
        let e = run(
            Point::Poststart,
            &[hook("/bin/sh", &["sh", "-c", "echo bad >&2; exit 3"])],
            &state,
        )
        .expect_err("fails");
        assert!(e.to_string().contains("poststart hook /bin/sh"), "{e}");
        assert!(e.to_string().contains("bad"), "{e}");
        let mut slow = hook("/bin/sleep", &["sleep", "5"]);
        slow.set_timeout(Some(1));
        let e = run(Point::Prestart, &[slow], &state).expect_err("times out");
        assert!(e.to_string().contains("timed out"), "{e}");
    }
}
