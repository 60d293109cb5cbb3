//! What the host offers a test: external tools, privilege, scratch space, and
//! the skip convention (print why, fail instead when `CI=true`).

use std::io::Write;
use std::path::{Path, PathBuf};

/// True when running in CI (`CI=true`), where a missing tool is a failure.
pub fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true") | Ok("1"))
}

/// The executable `name` on `PATH`, or in the sbin directories that an
/// unprivileged user's `PATH` often lacks.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Whether `name` is installed. When it is not, the test should return early:
/// this prints the reason (see [`skip`]), or panics under `CI=true`, where
/// every tool the suite uses is installed by `.ci/run`.
#[track_caller]
pub fn require_tool(name: &str) -> bool {
    if find_tool(name).is_some() {
        return true;
    }
    assert!(
        !in_ci(),
        "{name} is not installed, and CI must not skip: install it in .ci/run"
    );
    skip(&format!("{name} is not installed"));
    false
}

/// [`require_tool`] for each of `names`; reports every missing one.
#[track_caller]
pub fn require_tools(names: &[&str]) -> bool {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| find_tool(n).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let list = missing.join(", ");
    assert!(
        !in_ci(),
        "not installed: {list}; CI must not skip: install them in .ci/run"
    );
    skip(&format!("not installed: {list}"));
    false
}

/// Whether the test process runs with effective uid 0.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// For tests that only make sense as root. The rootless CI pass skips them
/// (this never fails, even in CI).
pub fn require_root() -> bool {
    if is_root() {
        return true;
    }
    skip("needs root (effective uid 0); covered by the root pass");
    false
}

/// For tests that only make sense for an unprivileged user.
pub fn require_rootless() -> bool {
    if !is_root() {
        return true;
    }
    skip("needs an unprivileged user; covered by the rootless pass");
    false
}

/// Report that the current test skips itself, and why: one line on stderr
/// (`SKIP test_name: reason`), also appended to `$SKIFF_TEST_SKIP_LOG` so that
/// a runner can list skips (libtest has no skipped state).
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("?");
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    // Test binaries are named NAME-HASH.
    let file = exe.rsplit_once('-').map_or(exe.as_str(), |(name, _)| name);
    let line = format!("SKIP {file}::{test}: {reason}\n");
    eprint!("{line}");
    if let Some(log) = std::env::var_os("SKIFF_TEST_SKIP_LOG") {
        // One append-mode write per line keeps lines whole across processes.
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }
}

/// A fresh private directory under `$SKIFF_TEST_TMPDIR` (default: the system
/// temporary directory), removed when dropped. Kept short: socket paths built
/// under it must stay below 108 bytes.
pub fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    let base = scratch_dir_base();
    std::fs::create_dir_all(&base).expect("create the scratch base directory");
    tempfile::Builder::new()
        .prefix(&format!("skiff-{prefix}-"))
        .tempdir_in(&base)
        .expect("create a scratch directory")
}

/// Where [`scratch_dir`] creates directories.
pub fn scratch_dir_base() -> PathBuf {
    std::env::var_os("SKIFF_TEST_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// Whether `SKIFF_TEST_KEEP=1` asks to keep scratch directories for debugging.
pub fn keep_scratch() -> bool {
    std::env::var_os("SKIFF_TEST_KEEP").is_some_and(|v| v == "1")
}

/// Whether process `pid` is running. A zombie counts as gone: on hosts whose
/// PID 1 does not reap orphans, an exited daemon stays a zombie forever.
pub fn process_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state letter follows the command name, which is in parentheses
    // and may itself contain spaces or parentheses.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z") | Some("X") | None)
}

/// Remove `dir` and everything below it, making read-only directories
/// writable first if a plain removal fails. Returns the error of the last try.
pub fn remove_tree(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Ok(()) => Ok(()),
        Err(_) => {
            make_writable(dir);
            std::fs::remove_dir_all(dir)
        }
    }
}

/// How many entries `dir` holds; 0 when it does not exist.
pub fn count_entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            make_writable(&entry.path());
        }
    }
}

/// A command for a helper daemon (registry, ...) that dies with the test
/// process even when the test is killed or its statics are never dropped:
/// `setpriv --pdeathsig KILL` when util-linux has it. Start it with
/// [`spawn_tied`].
pub fn tied_command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    match find_tool("setpriv") {
        Some(setpriv) => {
            let mut cmd = std::process::Command::new(setpriv);
            cmd.args(["--pdeathsig", "KILL", "--"]).arg(program);
            cmd
        }
        None => std::process::Command::new(program),
    }
}

/// Spawn `cmd` from one long-lived thread. The parent-death signal fires when
/// the *thread* that forked exits, and test threads end with their test, so
/// a daemon shared between tests must not be forked by one of them.
pub fn spawn_tied(cmd: std::process::Command) -> std::io::Result<std::process::Child> {
    use std::sync::{mpsc, Mutex, OnceLock};
    type Job = (
        std::process::Command,
        mpsc::Sender<std::io::Result<std::process::Child>>,
    );
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("skiff-test-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("start the spawner thread");
        Mutex::new(tx)
    });
    let (tx, rx) = mpsc::channel();
    spawner
        .lock()
        .expect("spawner lock")
        .send((cmd, tx))
        .expect("spawner thread is running");
    rx.recv().expect("spawner thread answers")
}
