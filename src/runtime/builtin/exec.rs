//! `exec`: a new process in a running container. The runtime process forks
//! a setup process that joins the container's namespaces (through its
//! init's /proc entries, the user namespace first) and forks the new
//! process into them; the runtime puts it in the container's cgroup, and it
//! takes the same process settings an init does, then execs.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::fcntl::OFlag;
use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use super::state::Status;
use super::{msg, ns_flag, ns_name, process, recv, send, Runtime, RuntimeError, SetupError};

/// What `exec` takes besides the process.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    /// Return once the process runs (its parent becomes whoever adopts
    /// orphans here, the monitor); else wait and return its exit code.
    pub detach: bool,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
}

impl Runtime {
    /// The container's process with a new command (exec without --process).
    pub fn process_for_exec(
        &self,
        id: &str,
        command: Vec<String>,
        env: Vec<String>,
        cwd: Option<String>,
        user: Option<String>,
        tty: bool,
    ) -> Result<Process, RuntimeError> {
        let (_, rec) = self.load(id)?;
        let spec = Spec::load(rec.bundle.join("config.json"))
            .map_err(|e| RuntimeError::Config(e.to_string()))?;
        let mut p = spec.process().clone().unwrap_or_default();
        if command.is_empty() {
            return Err(RuntimeError::Config("exec needs a command".into()));
        }
        p.set_args(Some(command));
        let mut all_env = p.env().clone().unwrap_or_default();
        all_env.extend(env);
        p.set_env(Some(all_env));
        if let Some(c) = cwd {
            p.set_cwd(c.into());
        }
        if let Some(u) = user {
            let (uid, gid) = u.split_once(':').unwrap_or((u.as_str(), "0"));
            let mut user = p.user().clone();
            user.set_uid(
                uid.parse()
                    .map_err(|_| RuntimeError::Config(format!("invalid --user {u:?}")))?,
            );
            user.set_gid(
                gid.parse()
                    .map_err(|_| RuntimeError::Config(format!("invalid --user {u:?}")))?,
            );
            p.set_user(user);
        }
        p.set_terminal(Some(tty));
        Ok(p)
    }

    /// Run `process` in container `id`. Returns 0 when detached, else the
    /// process's exit code.
    pub fn exec(
        &self,
        id: &str,
        process: Process,
        opts: &ExecOptions,
    ) -> Result<i32, RuntimeError> {
        let (dir, rec) = self.load(id)?;
        let status = rec.status(&dir);
        if status == Status::Stopped || (status == Status::Paused && !opts.ignore_paused) {
            return Err(RuntimeError::WrongState {
                id: id.to_string(),
                status: status.as_str(),
                wanted: "running",
            });
        }
        let spec = Spec::load(rec.bundle.join("config.json"))
            .map_err(|e| RuntimeError::Config(e.to_string()))?;
        let linux = spec.linux().clone().unwrap_or_default();
        // Every namespace the container has of its own, from its init.
        let mut join: Vec<(LinuxNamespaceType, OwnedFd)> = Vec::new();
        for ns in linux.namespaces().iter().flatten() {
            let t = ns.typ();
            let path = PathBuf::from(format!("/proc/{}/ns/{}", rec.pid, ns_name(t)));
            let fd = crate::sys::fs::open(&path, OFlag::O_RDONLY, 0).map_err(|e| {
                RuntimeError::NamespacePath {
                    kind: ns_name(t).into(),
                    path: path.clone(),
                    message: e.desc().to_lowercase(),
                }
            })?;
            join.push((t, fd));
        }
        join.sort_by_key(|(t, _)| *t != LinuxNamespaceType::User);
        // Without a mount namespace of its own the container shares the
        // runtime's and its init is chroot'ed: the process goes where it is.
        let root = if join.iter().any(|(t, _)| *t == LinuxNamespaceType::Mount) {
            None
        } else {
            let path = PathBuf::from(format!("/proc/{}/root", rec.pid));
            Some(
                crate::sys::fs::open(&path, OFlag::O_PATH | OFlag::O_DIRECTORY, 0)
                    .map_err(super::nix_err(format!("opening {}", path.display())))?,
            )
        };
        let seccomp = match linux.seccomp() {
            Some(s) => Some(
                super::seccomp::compile_cached(s, &self.root.join(".seccomp-cache"))
                    .map_err(|e| RuntimeError::Seccomp(e.to_string()))?,
            ),
            None => None,
        };
        let trampoline = super::sealed::seccomp_allows_execveat(linux.seccomp().as_ref())
            .then(super::sealed::Trampoline::new)
            .transpose()?;
        let caps = process::Caps::from_spec(process.capabilities().as_ref())?;
        let terminal = process.terminal().unwrap_or(false);
        let console = match (&opts.console_socket, terminal) {
            (Some(path), true) => Some(UnixStream::connect(path).map_err(super::io_err(
                format!("connecting to the console socket {}", path.display()),
            ))?),
            (None, true) => {
                return Err(RuntimeError::Config(
                    "the process wants a terminal: give --console-socket".into(),
                ))
            }
            _ => None,
        };
        let plan = ExecPlan {
            process,
            root,
            join,
            seccomp,
            trampoline,
            caps,
            preserve_fds: opts.preserve_fds,
        };
        let pid = super::drive_setup(
            "exec",
            |sock| exec_stage_one(&plan, sock, console.as_ref()),
            &mut |_| Err(SetupError::msg("exec", "unexpected request for id maps").into()),
            &mut |pid| {
                if let Some(path) = &rec.cgroups_path {
                    let cg = super::cgroups::Cgroup::open(path);
                    if cg.exists() {
                        cg.add(pid.as_raw())
                            .map_err(|e| RuntimeError::Cgroup(e.to_string()))?;
                    }
                }
                Ok(())
            },
            &mut |_| {},
        )?;
        drop(console);
        if let Some(p) = &opts.pid_file {
            crate::storage::record::replace_volatile(p, pid.as_raw().to_string().as_bytes())
                .map_err(super::io_err(format!("writing {}", p.display())))?;
        }
        if opts.detach {
            return Ok(0);
        }
        use nix::sys::wait::WaitStatus;
        loop {
            match nix::sys::wait::waitpid(pid, None) {
                Ok(WaitStatus::Exited(_, code)) => return Ok(code),
                Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
                Ok(_) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(super::nix_err("waiting for the exec process")(e)),
            }
        }
    }
}

struct ExecPlan {
    process: Process,
    /// The init's root, to chroot into (no mount namespace to join).
    root: Option<OwnedFd>,
    join: Vec<(LinuxNamespaceType, OwnedFd)>,
    seccomp: Option<super::seccomp::Program>,
    trampoline: Option<super::sealed::Trampoline>,
    caps: process::Caps,
    preserve_fds: u32,
}

fn exec_stage_one(
    p: &ExecPlan,
    sock: &UnixStream,
    console: Option<&UnixStream>,
) -> Result<(), SetupError> {
    // See stage_one: skiff's binary must not be reachable from inside.
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| SetupError::new("making the process non-dumpable", e.into()))?;
    if let Some(root) = &p.root {
        nix::unistd::fchdir(std::os::fd::AsRawFd::as_raw_fd(root))
            .and_then(|()| nix::unistd::chroot("."))
            .map_err(|e| SetupError::new("entering the container's root", e.into()))?;
    }
    for (t, fd) in &p.join {
        // Already a member (a namespace shared with the host).
        if let Err(e) = nix::sched::setns(fd, ns_flag(*t)) {
            if !(e == nix::errno::Errno::EINVAL && same_namespace(*t, fd)) {
                return Err(SetupError::new(
                    format!("joining the {} namespace", ns_name(*t)),
                    e.into(),
                ));
            }
        }
    }
    match crate::sys::clone::fork(true).map_err(|e| SetupError::new("forking the process", e))? {
        None => {
            let text = match exec_stage_two(p, sock, console) {
                Ok(never) => match never {},
                Err(e) => e.to_string(),
            };
            let _ = send(sock, msg::ERROR, text.as_bytes());
            crate::sys::clone::exit_now(1);
        }
        Some(pid) => send(sock, msg::INIT_PID, &pid.as_raw().to_le_bytes())
            .map_err(|e| SetupError::new("reporting the process", e)),
    }
}

fn same_namespace(t: LinuxNamespaceType, fd: &OwnedFd) -> bool {
    use std::os::unix::fs::MetadataExt;
    let ours = std::fs::metadata(format!("/proc/self/ns/{}", ns_name(t)))
        .map(|m| m.ino())
        .ok();
    let theirs = nix::sys::stat::fstat(std::os::fd::AsRawFd::as_raw_fd(fd))
        .map(|s| s.st_ino)
        .ok();
    ours.is_some() && ours == theirs
}

fn exec_stage_two(
    p: &ExecPlan,
    sock: &UnixStream,
    console: Option<&UnixStream>,
) -> Result<std::convert::Infallible, SetupError> {
    match recv(sock) {
        Ok(Some((msg::GO, _))) => {}
        _ => return Err(SetupError::msg("exec", "the runtime went away")),
    }
    let process = &p.process;
    if let Some(sock) = console {
        nix::unistd::setsid().map_err(|e| SetupError::new("setsid", e.into()))?;
        super::setup_console(sock, process.console_size())?;
    }
    process::rlimits(process)?;
    let args = process::arguments(process)?;
    let env = process::environment(process)?;
    let env_strings = process.env().clone().unwrap_or_default();
    let command = process
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_default();
    let cwd = process.cwd();
    let found = {
        // A relative command resolves from the working directory.
        let _ = nix::unistd::chdir(cwd);
        process::find_executable(&command, &env_strings)?
    };
    let path = CString::new(found.as_os_str().as_encoded_bytes())
        .map_err(|_| SetupError::msg("exec", "the command path contains a NUL byte"))?;
    let late_seccomp =
        process::finish(process, &p.caps, p.seccomp.as_ref(), false, p.preserve_fds)?;
    if let Some(prog) = late_seccomp {
        prog.load()
            .map_err(|e| SetupError::new("loading the seccomp filter", e))?;
    }
    send(sock, msg::READY, b"").map_err(|e| SetupError::new("reporting ready", e))?;
    super::init::exec_command(p.trampoline.as_ref(), None, &command, &path, &args, &env)
}
