//! The end of a container's life: its exit code, the exit files the CLI
//! reads (`<exit-dir>/<cid>`, `<persist-dir>/exit`) and the exit command.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::sys::wait::WaitStatus;

use crate::args::Options;
use crate::diag::debug;
use crate::sys::ChildPlan;

/// The exit code recorded for a wait status: the process's own code, or
/// 128 + the signal that killed it (as shells report it), -1 otherwise.
pub fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, sig, _) => 128 + sig as i32,
        _ => -1,
    }
}

/// Write `contents` to `dir/name` atomically: a reader sees the whole
/// file or none (temporary file beside it, then rename).
pub fn write_atomic(dir: &Path, name: &OsStr, contents: &[u8]) -> io::Result<()> {
    let target = dir.join(name);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(contents)?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, &target));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Record the exit code where the caller looks for it: `<persist-dir>/exit`
/// first, then `<exit-dir>/<cid>` (whose appearance callers wait for).
pub fn write_exit_files(opts: &Options, code: i32) -> Result<(), (std::path::PathBuf, io::Error)> {
    let text = code.to_string();
    if let Some(dir) = &opts.persist_dir {
        write_atomic(dir, OsStr::new("exit"), text.as_bytes())
            .map_err(|e| (dir.join("exit"), e))?;
    }
    if let Some(dir) = &opts.exit_dir {
        write_atomic(dir, &opts.cid, text.as_bytes()).map_err(|e| (dir.join(&opts.cid), e))?;
    }
    Ok(())
}

/// Run `--exit-command` with its arguments after `--exit-delay` seconds, with
/// no descriptor but 0, 1 and 2. Detached (new session, not waited for)
/// unless `--sync`, where the monitor's parent (systemd, say) must see it
/// finish before the monitor exits.
pub fn run_exit_command(opts: &Options, oom_score_adj: Option<Vec<u8>>) -> io::Result<()> {
    let Some(command) = &opts.exit_command else {
        return Ok(());
    };
    let mut argv = vec![command.clone().into_os_string()];
    argv.extend(opts.exit_args.iter().cloned());
    debug!("running the exit command {}", command.display());
    let mut plan = ChildPlan::new(crate::runtime::to_cstrings(argv)?);
    plan.close_fds = true;
    plan.delay_secs = opts.exit_delay;
    plan.setsid = !opts.sync;
    plan.oom_score_adj = oom_score_adj;
    // Its descendants are not ours to reap.
    let _ = nix::sys::prctl::set_child_subreaper(false);
    let pid = plan.spawn()?;
    if opts.sync {
        let pid = nix::unistd::Pid::from_raw(pid);
        while let Err(nix::errno::Errno::EINTR) = nix::sys::wait::waitpid(pid, None) {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;
    use nix::unistd::Pid;

    #[test]
    fn codes() {
        let p = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(p, 3)), 3);
        assert_eq!(
            exit_code(WaitStatus::Signaled(p, Signal::SIGKILL, false)),
            137
        );
        assert_eq!(
            exit_code(WaitStatus::Signaled(p, Signal::SIGTERM, true)),
            143
        );
        assert_eq!(exit_code(WaitStatus::StillAlive), -1);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_atomic(dir.path(), OsStr::new("ctr"), b"1").expect("write");
        write_atomic(dir.path(), OsStr::new("ctr"), b"137").expect("write");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ctr")).expect("read"),
            "137"
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
        assert!(write_atomic(&dir.path().join("missing"), OsStr::new("x"), b"1").is_err());
    }
}
