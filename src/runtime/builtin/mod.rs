//! skiff's own OCI runtime: creates, starts, signals and deletes containers
//! from a runtime spec, with runc's command line for whatever drives
//! runtimes (`skiff runtime ...`, see `cli::runtime`).
//!
//! `create` runs three processes, as runc does. The runtime process (P0)
//! forks a setup process (C1) that joins the namespaces the spec names by
//! path, creates the user namespace (P0 writes its id maps), unshares the
//! other new namespaces and forks the container's init (C2) as P0's child.
//! P0 puts the init in its cgroup, then lets it go: the init builds its
//! root file system, pivots into it, applies the process settings and
//! blocks opening `exec.fifo` until `start` opens the other end; then it
//! runs the command. Everything the init does before it blocks reports its
//! errors to P0, which undoes what was done.

mod cgroupfs;
pub mod cgroups;
mod devices;
mod error;
mod exec;
pub mod hooks;
mod init;
pub mod process;
pub mod rootfs;
mod sealed;
pub mod seccomp;
pub mod state;

use std::collections::BTreeMap;

use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Spec};

pub use error::{RuntimeError, SetupError};
pub use exec::ExecOptions;
use init::{drive_setup, msg, recv, send, setup_console, stage_one, write_id_maps};
use state::{Record, Status, EXEC_FIFO};

/// The annotation that keeps the caller's supplementary groups.
pub const KEEP_GROUPS: &str = "run.oci.keep_original_groups";

fn io_err(step: impl Into<String>) -> impl FnOnce(io::Error) -> RuntimeError {
    let step = step.into();
    move |source| RuntimeError::Io { step, source }
}

fn nix_err(step: impl Into<String>) -> impl FnOnce(nix::Error) -> RuntimeError {
    let step = step.into();
    move |e| RuntimeError::Io {
        step,
        source: e.into(),
    }
}

/// What `create` takes besides the bundle.
#[derive(Debug, Default)]
pub struct CreateOptions {
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    /// A connected console socket (the caller holds the other end), in
    /// place of `console_socket`.
    pub console: Option<UnixStream>,
    /// Descriptors 3..3+N are passed to the container.
    pub preserve_fds: u32,
    /// Move the root over / and chroot instead of pivot_root.
    pub no_pivot: bool,
    /// Keep the caller's session keyring instead of a new one.
    pub no_new_keyring: bool,
}

/// The runtime, with the directory it keeps container state in.
#[derive(Debug, Clone)]
pub struct Runtime {
    root: PathBuf,
}

/// The namespace types in the order they are joined.
fn ns_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(0x80),
    }
}

fn ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Time => "time",
    }
}

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// What the setup processes need, prepared before they are forked.
struct Prepared {
    id: String,
    bundle: PathBuf,
    spec: Spec,
    rootfs: PathBuf,
    /// New namespaces to unshare in C1 (user and cgroup apart).
    unshare: CloneFlags,
    new_user: bool,
    new_cgroup: bool,
    new_uts: bool,
    /// A mount namespace of the container's own, new or joined (else it
    /// shares the runtime's, and its root is only chroot'ed into).
    mount_ns: bool,
    /// Namespaces to join, opened: user first.
    join: Vec<(LinuxNamespaceType, OwnedFd)>,
    seccomp: Option<seccomp::Program>,
    /// What the command is executed through (none: a seccomp profile that
    /// restricts execveat).
    trampoline: Option<sealed::Trampoline>,
    caps: process::Caps,
    env_strings: Vec<String>,
    bind_devices: bool,
    /// `run.oci.keep_original_groups`: the caller's supplementary groups
    /// stay (crun's annotation).
    keep_groups: bool,
}

impl Runtime {
    pub fn new(root: PathBuf) -> Runtime {
        Runtime { root }
    }

    /// The default state root: /run/skiff-runtime for root, else under
    /// XDG_RUNTIME_DIR.
    pub fn default_root() -> PathBuf {
        if nix::unistd::geteuid().is_root() && !crate::sys::is_in_user_namespace() {
            PathBuf::from("/run/skiff-runtime")
        } else {
            crate::config::paths::user_runtime_dir().join("skiff-runtime")
        }
    }

    fn dir(&self, id: &str) -> Result<PathBuf, RuntimeError> {
        if !state::valid_id(id) {
            return Err(RuntimeError::BadId(id.to_string()));
        }
        Ok(self.root.join(id))
    }

    fn load(&self, id: &str) -> Result<(PathBuf, Record), RuntimeError> {
        let dir = self.dir(id)?;
        match Record::load(&dir).map_err(io_err(format!("reading the state of {id}")))? {
            Some(r) => Ok((dir, r)),
            None => Err(RuntimeError::NotFound(id.to_string())),
        }
    }

    /// `state`: the OCI state document.
    pub fn state(&self, id: &str) -> Result<serde_json::Value, RuntimeError> {
        let (dir, rec) = self.load(id)?;
        Ok(rec.document(&dir))
    }

    /// The status and the init's pid (0 once stopped), without the whole
    /// document.
    pub fn status(&self, id: &str) -> Result<(&'static str, i32), RuntimeError> {
        let (dir, rec) = self.load(id)?;
        Ok(match rec.status(&dir) {
            Status::Stopped => ("stopped", 0),
            status => (status.as_str(), rec.pid),
        })
    }

    /// Every container's state document.
    pub fn list(&self) -> Result<Vec<serde_json::Value>, RuntimeError> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&self.root) else {
            return Ok(out);
        };
        for e in rd.flatten() {
            let dir = e.path();
            if let Ok(Some(rec)) = Record::load(&dir) {
                out.push(rec.document(&dir));
            }
        }
        out.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        Ok(out)
    }

    fn prepare(&self, bundle: &Path, spec: Spec) -> Result<Prepared, RuntimeError> {
        let root_path = spec
            .root()
            .as_ref()
            .map(|r| r.path().clone())
            .ok_or_else(|| RuntimeError::Config("no root in the spec".into()))?;
        let rootfs = bundle.join(root_path);
        let rootfs = std::fs::canonicalize(&rootfs)
            .ok()
            .filter(|p| p.is_dir())
            .ok_or(RuntimeError::NoRootfs(rootfs))?;
        let proc_spec = spec
            .process()
            .as_ref()
            .ok_or_else(|| RuntimeError::Config("no process in the spec".into()))?;
        if proc_spec.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(RuntimeError::Config("the process has no args".into()));
        }
        let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|s| s.trim() == "Y");
        if apparmor
            && proc_spec
                .apparmor_profile()
                .as_ref()
                .is_some_and(|p| !p.is_empty())
        {
            return Err(RuntimeError::Config(
                "AppArmor profiles are not supported by skiff's runtime yet".into(),
            ));
        }
        if crate::sys::selinux_enabled()
            && proc_spec
                .selinux_label()
                .as_ref()
                .is_some_and(|l| !l.is_empty())
        {
            return Err(RuntimeError::Config(
                "SELinux labels are not supported by skiff's runtime yet".into(),
            ));
        }
        let linux = spec.linux().clone().unwrap_or_default();
        let mut unshare = CloneFlags::empty();
        let (mut new_user, mut new_cgroup, mut new_uts, mut new_mount) =
            (false, false, false, false);
        let mut join = Vec::new();
        for ns in linux.namespaces().iter().flatten() {
            let t = ns.typ();
            match ns.path() {
                Some(path) => {
                    let fd = crate::sys::fs::open(path, OFlag::O_RDONLY, 0).map_err(|e| {
                        RuntimeError::NamespacePath {
                            kind: ns_name(t).into(),
                            path: path.clone(),
                            message: e.desc().to_lowercase(),
                        }
                    })?;
                    if t == LinuxNamespaceType::Mount {
                        new_mount = true;
                    }
                    join.push((t, fd));
                }
                None => match t {
                    LinuxNamespaceType::User => new_user = true,
                    LinuxNamespaceType::Cgroup => new_cgroup = true,
                    _ => {
                        if t == LinuxNamespaceType::Uts {
                            new_uts = true;
                        }
                        if t == LinuxNamespaceType::Mount {
                            new_mount = true;
                        }
                        unshare |= ns_flag(t);
                    }
                },
            }
        }
        join.sort_by_key(|(t, _)| *t != LinuxNamespaceType::User);
        check_namespaced(&spec, &linux)?;
        if new_user
            && (linux.uid_mappings().as_ref().is_none_or(|m| m.is_empty())
                || linux.gid_mappings().as_ref().is_none_or(|m| m.is_empty()))
        {
            return Err(RuntimeError::Config(
                "a new user namespace needs uidMappings and gidMappings".into(),
            ));
        }
        let seccomp = match linux.seccomp() {
            Some(s) => Some(
                seccomp::compile_cached(s, &self.root.join(".seccomp-cache"))
                    .map_err(|e| RuntimeError::Seccomp(e.to_string()))?,
            ),
            None => None,
        };
        let trampoline = sealed::seccomp_allows_execveat(linux.seccomp().as_ref())
            .then(sealed::Trampoline::new)
            .transpose()?;
        let caps = process::Caps::from_spec(proc_spec.capabilities().as_ref())?;
        let env_strings = proc_spec.env().clone().unwrap_or_default();
        let in_userns = new_user
            || join.iter().any(|(t, _)| *t == LinuxNamespaceType::User)
            || crate::sys::is_in_user_namespace();
        let keep_groups = spec
            .annotations()
            .as_ref()
            .and_then(|a| a.get(KEEP_GROUPS))
            .is_some_and(|v| v == "1" || v == "true");
        Ok(Prepared {
            id: String::new(),
            bundle: bundle.to_owned(),
            spec,
            rootfs,
            unshare,
            new_user,
            new_cgroup,
            new_uts,
            mount_ns: new_mount,
            join,
            seccomp,
            trampoline,
            caps,
            env_strings,
            bind_devices: in_userns,
            keep_groups,
        })
    }

    /// `create`: set the container up and leave its init waiting for
    /// `start`. Returns the init's pid.
    pub fn create(
        &self,
        id: &str,
        bundle: &Path,
        opts: &CreateOptions,
    ) -> Result<i32, RuntimeError> {
        self.create_with(id, bundle, None, opts)
    }

    /// `create` from a spec the caller holds (it is also the bundle's
    /// config.json, which is then not read again).
    pub fn create_from(
        &self,
        id: &str,
        bundle: &Path,
        spec: Spec,
        opts: &CreateOptions,
    ) -> Result<i32, RuntimeError> {
        self.create_with(id, bundle, Some(spec), opts)
    }

    fn create_with(
        &self,
        id: &str,
        bundle: &Path,
        spec: Option<Spec>,
        opts: &CreateOptions,
    ) -> Result<i32, RuntimeError> {
        let dir = self.dir(id)?;
        let bundle = std::path::absolute(bundle).map_err(io_err("resolving the bundle path"))?;
        let spec = match spec {
            Some(spec) => spec,
            None => Spec::load(bundle.join("config.json"))
                .map_err(|e| RuntimeError::Config(e.to_string()))?,
        };
        let mut prepared = self.prepare(&bundle, spec)?;
        prepared.id = id.to_string();
        crate::config::paths::ensure_private_dir(&self.root)
            .map_err(io_err(format!("creating {}", self.root.display())))?;
        // Others may search the root (a container with a user namespace of
        // its own reaches nothing here; its init keeps descriptors).
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(RuntimeError::Exists(id.to_string()))
            }
            Err(e) => return Err(io_err(format!("creating {}", dir.display()))(e)),
        }
        let mut undo = Undo {
            dir: dir.clone(),
            init: None,
            cgroup: None,
            host_mount: None,
            armed: true,
        };
        let pid = self.create_in(id, &dir, &bundle, prepared, opts, &mut undo)?;
        undo.armed = false;
        Ok(pid)
    }

    fn create_in(
        &self,
        id: &str,
        dir: &Path,
        bundle: &Path,
        prepared: Prepared,
        opts: &CreateOptions,
        undo: &mut Undo,
    ) -> Result<i32, RuntimeError> {
        let fifo = dir.join(EXEC_FIFO);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o622))
            .map_err(nix_err("creating the exec FIFO"))?;
        // umask may have taken bits away.
        std::fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o622))
            .map_err(io_err("creating the exec FIFO"))?;
        let fifo_fd = crate::sys::fs::open(&fifo, OFlag::O_PATH, 0)
            .map_err(nix_err("opening the exec FIFO"))?;
        let console = match (
            (&opts.console, &opts.console_socket),
            prepared
                .spec
                .process()
                .as_ref()
                .is_some_and(|p| p.terminal().unwrap_or(false)),
        ) {
            ((Some(sock), _), true) => Some(
                sock.try_clone()
                    .map_err(io_err("duplicating the console socket"))?,
            ),
            ((None, Some(path)), true) => Some(UnixStream::connect(path).map_err(io_err(
                format!("connecting to the console socket {}", path.display()),
            ))?),
            ((None, None), true) => {
                return Err(RuntimeError::Config(
                    "the process wants a terminal: give --console-socket".into(),
                ))
            }
            _ => None,
        };
        let linux = prepared.spec.linux().clone().unwrap_or_default();
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let host_mount = std::cell::Cell::new(None::<state::HostMount>);
        let record = |pid: Pid| Record {
            id: id.to_string(),
            pid: pid.as_raw(),
            pid_start: crate::sys::procfs::stat(pid.as_raw())
                .map(|s| s.start_ticks)
                .unwrap_or(0),
            bundle: bundle.to_owned(),
            rootfs: prepared.rootfs.clone(),
            created: created.clone(),
            annotations: prepared
                .spec
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
            cgroups_path: linux.cgroups_path().clone(),
            owner: nix::unistd::geteuid().as_raw(),
            later_hooks: Some(state::LaterHooks {
                poststart: hooks::of(prepared.spec.hooks().as_ref(), hooks::Point::Poststart),
                poststop: hooks::of(prepared.spec.hooks().as_ref(), hooks::Point::Poststop),
            }),
            host_root_mount: host_mount.get(),
        };
        let pid = drive_setup(
            "setting up the container",
            |sock| stage_one(&prepared, sock, fifo_fd.as_fd(), console.as_ref(), opts),
            &mut |setup| write_id_maps(setup, &linux),
            &mut |pid| {
                undo.init = Some(pid);
                if let Some(path) = linux.cgroups_path() {
                    let cg = cgroups::Cgroup::create(path, with_default_devices(&linux).as_ref())
                        .map_err(|e| RuntimeError::Cgroup(e.to_string()))?;
                    undo.cgroup = Some(path.clone());
                    cg.add(pid.as_raw())
                        .map_err(|e| RuntimeError::Cgroup(e.to_string()))?;
                }
                if let Some(adj) = prepared
                    .spec
                    .process()
                    .as_ref()
                    .and_then(|p| p.oom_score_adj())
                {
                    std::fs::write(format!("/proc/{pid}/oom_score_adj"), adj.to_string())
                        .map_err(io_err("setting oom_score_adj"))?;
                }
                let spec_hooks = prepared.spec.hooks().as_ref();
                // Hooks may ask the runtime for the state: it exists now.
                if !hooks::of(spec_hooks, hooks::Point::Prestart).is_empty()
                    || !hooks::of(spec_hooks, hooks::Point::CreateRuntime).is_empty()
                {
                    record(pid)
                        .save(dir)
                        .map_err(io_err("writing the container's state"))?;
                }
                // "created", as crun gives them (and runtime-tools checks
                // for prestart): the state document the runtime answers with
                // by now says so too.
                let state = hooks::state(id, "created", pid.as_raw(), bundle, &prepared.spec);
                for point in [hooks::Point::Prestart, hooks::Point::CreateRuntime] {
                    hooks::run(point, &hooks::of(spec_hooks, point), &state)?;
                }
                Ok(())
            },
            &mut |m| host_mount.set(Some(m.into())),
        );
        undo.host_mount = host_mount.get().map(|m| (prepared.rootfs.clone(), m));
        let pid = pid?;
        drop(console);
        record(pid)
            .save(dir)
            .map_err(io_err("writing the container's state"))?;
        if let Some(p) = &opts.pid_file {
            crate::storage::record::replace_volatile(p, pid.as_raw().to_string().as_bytes())
                .map_err(io_err(format!("writing {}", p.display())))?;
        }
        Ok(pid.as_raw())
    }

    /// `start`: let a created container's init run its command.
    pub fn start(&self, id: &str) -> Result<(), RuntimeError> {
        let (dir, rec) = self.load(id)?;
        let status = rec.status(&dir);
        if status != Status::Created {
            return Err(RuntimeError::WrongState {
                id: id.to_string(),
                status: status.as_str(),
                wanted: "created",
            });
        }
        let fifo = dir.join(EXEC_FIFO);
        let reader = crate::sys::fs::open(&fifo, OFlag::O_RDONLY | OFlag::O_NONBLOCK, 0)
            .map_err(nix_err("opening the exec FIFO"))?;
        // The init opens its end once it sees a reader, writes one byte
        // and execs; it may also die first.
        let mut file = std::fs::File::from(reader);
        loop {
            let mut fds = [nix::poll::PollFd::new(
                file.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            let n = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16))
                .map_err(nix_err("waiting for the container's init"))?;
            if n > 0 {
                let mut b = [0u8; 1];
                match file.read(&mut b) {
                    Ok(1) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(io_err("reading the exec FIFO")(e)),
                }
            }
            if !rec.alive() {
                let _ = std::fs::remove_file(&fifo);
                return Err(
                    SetupError::msg("starting the container", "its init process died").into(),
                );
            }
        }
        let _ = std::fs::remove_file(&fifo);
        hooks::run_later(
            &rec,
            hooks::Point::Poststart,
            "running",
            rec.pid,
            Some(&file),
        )?;
        Ok(())
    }

    /// `kill`: signal the init, or with `all` every process of the
    /// container.
    pub fn kill(&self, id: &str, signal: Signal, all: bool) -> Result<(), RuntimeError> {
        let (dir, rec) = self.load(id)?;
        if rec.status(&dir) == Status::Stopped {
            return Err(RuntimeError::WrongState {
                id: id.to_string(),
                status: "stopped",
                wanted: "running",
            });
        }
        if all {
            if let Some(path) = &rec.cgroups_path {
                let cg = cgroups::Cgroup::open(path);
                if cg.exists() {
                    return cg
                        .signal_all(signal)
                        .map_err(|e| RuntimeError::Cgroup(e.to_string()));
                }
            }
        }
        nix::sys::signal::kill(Pid::from_raw(rec.pid), signal)
            .map_err(nix_err(format!("signalling {id}")))
    }

    /// `delete`: forget a stopped container (`force`: kill it first).
    pub fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        let (dir, rec) = self.load(id)?;
        let status = rec.status(&dir);
        if status != Status::Stopped {
            if !force && status != Status::Created {
                return Err(RuntimeError::WrongState {
                    id: id.to_string(),
                    status: status.as_str(),
                    wanted: "stopped",
                });
            }
            let cg = rec.cgroups_path.as_ref().map(|p| cgroups::Cgroup::open(p));
            match &cg {
                Some(cg) if cg.exists() => {
                    let _ = cg.signal_all(Signal::SIGKILL);
                }
                _ => {
                    let _ = nix::sys::signal::kill(Pid::from_raw(rec.pid), Signal::SIGKILL);
                }
            }
            // Reaped by its parent (the monitor), or by us when it is ours.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while rec.alive() && std::time::Instant::now() < deadline {
                let _ = nix::sys::wait::waitpid(
                    Pid::from_raw(rec.pid),
                    Some(nix::sys::wait::WaitPidFlag::WNOHANG),
                );
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
        if let Some(path) = &rec.cgroups_path {
            cgroups::Cgroup::open(path)
                .remove()
                .map_err(|e| RuntimeError::Cgroup(e.to_string()))?;
        }
        if let Some(m) = &rec.host_root_mount {
            m.release(&rec.rootfs).map_err(io_err(format!(
                "unmounting the root file system {}",
                rec.rootfs.display()
            )))?;
        }
        hooks::run_later(&rec, hooks::Point::Poststop, "stopped", 0, None)?;
        std::fs::remove_dir_all(&dir).map_err(io_err(format!("removing {}", dir.display())))
    }

    /// The pids of a container's processes.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>, RuntimeError> {
        let (dir, rec) = self.load(id)?;
        if let Some(path) = &rec.cgroups_path {
            let cg = cgroups::Cgroup::open(path);
            if cg.exists() {
                return cg.pids().map_err(|e| RuntimeError::Cgroup(e.to_string()));
            }
        }
        Ok(if rec.status(&dir) == Status::Stopped {
            Vec::new()
        } else {
            vec![rec.pid]
        })
    }

    /// `pause` / `resume`: freeze or thaw the container's cgroup.
    pub fn freeze(&self, id: &str, frozen: bool) -> Result<(), RuntimeError> {
        let (_, rec) = self.load(id)?;
        let path = rec.cgroups_path.ok_or_else(|| {
            RuntimeError::Cgroup(format!("container {id} has no cgroup to freeze"))
        })?;
        let cg = cgroups::Cgroup::open(&path);
        if frozen { cg.freeze() } else { cg.thaw() }
            .map_err(|e| RuntimeError::Cgroup(e.to_string()))
    }
}

/// What a failed create undoes.
struct Undo {
    dir: PathBuf,
    init: Option<Pid>,
    cgroup: Option<PathBuf>,
    /// The root file system's own bind in the runtime's namespace.
    host_mount: Option<(PathBuf, state::HostMount)>,
    armed: bool,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Some(pid) = self.init {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
        }
        if let Some(path) = &self.cgroup {
            let _ = cgroups::Cgroup::open(path).remove();
        }
        if let Some((rootfs, m)) = &self.host_mount {
            let _ = m.release(rootfs);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The spec's resources with runc's device rules after its own: every
/// container may create device nodes (the devices it is given are made in
/// its /dev) and use the standard ones and its ptys, and the devices the
/// spec lists.
fn with_default_devices(
    linux: &oci_spec::runtime::Linux,
) -> Option<oci_spec::runtime::LinuxResources> {
    use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
    let mut r = linux.resources().clone()?;
    let Some(mut rules) = r.devices().clone() else {
        return Some(r);
    };
    let rule = |typ: LinuxDeviceType, major: Option<i64>, minor: Option<i64>, access: &str| {
        let mut d = LinuxDeviceCgroup::default();
        d.set_allow(true);
        d.set_typ(Some(typ));
        d.set_major(major);
        d.set_minor(minor);
        d.set_access(Some(access.to_string()));
        d
    };
    use LinuxDeviceType::{B, C};
    rules.push(rule(C, None, None, "m"));
    rules.push(rule(B, None, None, "m"));
    for (major, minor) in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 2)] {
        rules.push(rule(C, Some(major), Some(minor), "rwm"));
    }
    rules.push(rule(C, Some(136), None, "rwm"));
    for d in linux.devices().iter().flatten() {
        let typ = match d.typ() {
            LinuxDeviceType::B => B,
            _ => C,
        };
        rules.push(rule(typ, Some(d.major()), Some(d.minor()), "rwm"));
    }
    r.set_devices(Some(rules));
    Some(r)
}

/// Settings that change a namespace refused where that namespace would be
/// the runtime's own (the host's), as runc does: a hostname without a UTS
/// namespace, a sysctl outside the network, IPC or UTS namespaces the
/// container has, and any sysctl that no namespace confines.
fn check_namespaced(spec: &Spec, linux: &oci_spec::runtime::Linux) -> Result<(), RuntimeError> {
    let listed = |t: LinuxNamespaceType| linux.namespaces().iter().flatten().any(|n| n.typ() == t);
    let named = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    if (named(spec.hostname()) || named(spec.domainname())) && !listed(LinuxNamespaceType::Uts) {
        return Err(RuntimeError::Config(
            "a hostname or domainname needs a UTS namespace of the container's own".into(),
        ));
    }
    for key in linux.sysctl().iter().flatten().map(|(k, _)| k.as_str()) {
        let Some(ns) = crate::runtime::spec::sysctl_namespace(key) else {
            return Err(RuntimeError::Config(format!(
                "sysctl {key} is not confined by any namespace: it would change the host's"
            )));
        };
        let name = match ns {
            LinuxNamespaceType::Network => "network",
            LinuxNamespaceType::Ipc => "IPC",
            _ => "UTS",
        };
        if !listed(ns) {
            return Err(RuntimeError::Config(format!(
                "sysctl {key} needs a {name} namespace of the container's own"
            )));
        }
    }
    Ok(())
}

/// `features`: what this runtime supports, in the OCI features document's
/// shape.
pub fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::runtime::spec::OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": [
            "async", "atime", "bind", "dev", "diratime", "dirsync", "exec", "mand",
            "noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime",
            "nostrictatime", "nosuid", "private", "rbind", "relatime", "remount", "ro",
            "rprivate", "rshared", "rslave", "runbindable", "rw", "shared", "slave",
            "strictatime", "suid", "sync", "tmpcopyup", "unbindable"
        ],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": caps::all().iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                              "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
        },
    })
}
