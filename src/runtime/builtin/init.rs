//! The setup processes and how the runtime process talks to them: the
//! messages on their socket, the runtime's side (`drive_setup`), the setup
//! process that joins and creates namespaces (`stage_one`) and the
//! container's init up to exec (`stage_two`).

use std::ffi::{CStr, CString, OsStr};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;

use super::{
    hooks, io_err, map_text, ns_flag, ns_name, process, rootfs, CreateOptions, Prepared,
    RuntimeError, SetupError,
};

/// Messages between the runtime process and the setup processes, one per
/// datagram: a tag byte and a payload.
pub(super) mod msg {
    pub const MAP_ME: u8 = b'M';
    pub const MAPPED: u8 = b'm';
    pub const INIT_PID: u8 = b'P';
    pub const GO: u8 = b'G';
    pub const READY: u8 = b'R';
    /// The id of the root's own mount, made in the runtime's mount
    /// namespace (a container without one of its own): 8 bytes, little
    /// endian, then 1 when the id is the kernel's unique one.
    pub const HOST_MOUNT: u8 = b'B';
    pub const ERROR: u8 = b'E';
}

pub(super) fn send(sock: &UnixStream, tag: u8, payload: &[u8]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(5 + payload.len());
    buf.push(tag);
    buf.extend((payload.len() as u32).to_le_bytes());
    buf.extend(payload);
    (&*sock).write_all(&buf)
}

pub(super) fn recv(sock: &UnixStream) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut head = [0u8; 5];
    match (&*sock).read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut payload = vec![0u8; len.min(1 << 20)];
    (&*sock).read_exact(&mut payload)?;
    Ok(Some((head[0], payload)))
}

/// The runtime process's side of a setup: fork `stage_one` (which talks
/// back through the socket it is given), write id maps when asked
/// (`on_map`, with the setup process's pid), let the new process go once
/// `on_pid` (with its pid) has prepared for it, and wait until it is ready.
/// A mount it makes in the runtime's namespace is told to `on_host_mount`,
/// even when the setup fails afterwards.
/// On failure the process (or the setup process) is killed and reaped.
pub(super) fn drive_setup(
    what: &str,
    stage_one: impl FnOnce(&UnixStream) -> Result<(), SetupError>,
    on_map: &mut dyn FnMut(Pid) -> Result<(), RuntimeError>,
    on_pid: &mut dyn FnMut(Pid) -> Result<(), RuntimeError>,
    on_host_mount: &mut dyn FnMut(crate::sys::fs::MountId),
) -> Result<Pid, RuntimeError> {
    let (parent_sock, child_sock) =
        UnixStream::pair().map_err(io_err("creating the setup socket"))?;
    let setup = match crate::sys::clone::fork(false).map_err(io_err("forking"))? {
        None => {
            drop(parent_sock);
            let code = match stage_one(&child_sock) {
                Ok(()) => 0,
                Err(e) => {
                    let _ = send(&child_sock, msg::ERROR, e.to_string().as_bytes());
                    1
                }
            };
            crate::sys::clone::exit_now(code);
        }
        Some(pid) => pid,
    };
    drop(child_sock);
    let mut child: Option<Pid> = None;
    let result = (|| -> Result<(), RuntimeError> {
        loop {
            let Some((tag, payload)) =
                recv(&parent_sock).map_err(io_err(format!("{what}: reading")))?
            else {
                return Err(SetupError::msg(what, "its setup process died").into());
            };
            match tag {
                msg::MAP_ME => {
                    on_map(setup)?;
                    send(&parent_sock, msg::MAPPED, b"")
                        .map_err(io_err(format!("{what}: writing")))?;
                }
                msg::INIT_PID => {
                    let raw = i32::from_le_bytes(
                        payload
                            .get(..4)
                            .and_then(|b| b.try_into().ok())
                            .unwrap_or_default(),
                    );
                    let pid = Pid::from_raw(raw);
                    child = Some(pid);
                    let _ = nix::sys::wait::waitpid(setup, None);
                    on_pid(pid)?;
                    send(&parent_sock, msg::GO, b"").map_err(io_err(format!("{what}: writing")))?;
                }
                msg::HOST_MOUNT => match payload.get(..9) {
                    Some(b) => on_host_mount(crate::sys::fs::MountId {
                        id: u64::from_le_bytes(b[..8].try_into().unwrap_or_default()),
                        unique: b[8] == 1,
                    }),
                    None => return Err(SetupError::msg(what, "garbled message").into()),
                },
                msg::READY => return Ok(()),
                msg::ERROR => {
                    let text = String::from_utf8_lossy(&payload).into_owned();
                    return Err(RuntimeError::Setup(SetupError::msg("", text)).flatten());
                }
                _ => return Err(SetupError::msg(what, "garbled message").into()),
            }
        }
    })();
    match (result, child) {
        (Ok(()), Some(pid)) => Ok(pid),
        (Ok(()), None) => Err(SetupError::msg(what, "no process was made").into()),
        (Err(e), Some(pid)) => {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(pid, None);
            Err(e)
        }
        (Err(e), None) => {
            // It may be waiting for an answer that will not come.
            let _ = nix::sys::signal::kill(setup, Signal::SIGKILL);
            let _ = nix::sys::wait::waitpid(setup, None);
            Err(e)
        }
    }
}

/// P0: the id maps of the setup process's new user namespace.
pub(super) fn write_id_maps(
    pid: Pid,
    linux: &oci_spec::runtime::Linux,
) -> Result<(), RuntimeError> {
    let uid = map_text(linux.uid_mappings().as_deref().unwrap_or_default());
    let gid = map_text(linux.gid_mappings().as_deref().unwrap_or_default());
    let path = |f: &str| format!("/proc/{pid}/{f}");
    std::fs::write(path("uid_map"), &uid).map_err(io_err("writing the uid map"))?;
    if std::fs::write(path("gid_map"), &gid).is_err() {
        // Without CAP_SETGID over the parent namespace, only after
        // setgroups is denied.
        std::fs::write(path("setgroups"), "deny").map_err(io_err("denying setgroups"))?;
        std::fs::write(path("gid_map"), &gid).map_err(io_err("writing the gid map"))?;
    }
    Ok(())
}

/// C1: namespaces, then fork the init.
pub(super) fn stage_one(
    p: &Prepared,
    sock: &UnixStream,
    fifo: BorrowedFd<'_>,
    console: Option<&UnixStream>,
    opts: &CreateOptions,
) -> Result<(), SetupError> {
    // Until the container's command replaces this process image (skiff's
    // own binary), nothing in the container may open /proc/PID/exe or
    // attach to it (CVE-2019-5736); exec resets it.
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| SetupError::new("making the init non-dumpable", e.into()))?;
    // The others before the user namespace: one owned by the caller's
    // user namespace (a rootless pod's network namespace, made by skiff)
    // cannot be joined from a child one (the pod's own user namespace).
    // What the caller may not join from outside is joined from inside.
    let join = |t: LinuxNamespaceType, fd: &std::os::fd::OwnedFd| nix::sched::setns(fd, ns_flag(t));
    let mut later = Vec::new();
    for (t, fd) in p
        .join
        .iter()
        .filter(|(t, _)| *t != LinuxNamespaceType::User)
    {
        match join(*t, fd) {
            Ok(()) => {}
            Err(nix::errno::Errno::EPERM) => later.push((*t, fd)),
            Err(e) => {
                return Err(SetupError::new(
                    format!("joining the {} namespace", ns_name(*t)),
                    e.into(),
                ))
            }
        }
    }
    let user = p
        .join
        .iter()
        .filter(|(t, _)| *t == LinuxNamespaceType::User);
    for (t, fd) in user.map(|(t, fd)| (*t, fd)).chain(later) {
        join(t, fd).map_err(|e| {
            SetupError::new(format!("joining the {} namespace", ns_name(t)), e.into())
        })?;
    }
    if p.new_user {
        nix::sched::unshare(CloneFlags::CLONE_NEWUSER)
            .map_err(|e| SetupError::new("creating the user namespace", e.into()))?;
        // While the runtime writes the maps: the /proc files of a process
        // that is not dumpable belong to the root of the user namespace
        // its memory was made in, which the runtime is not when it joined
        // skiff's rootless namespace rather than being started in it. The
        // new namespace has no other member yet.
        nix::sys::prctl::set_dumpable(true)
            .map_err(|e| SetupError::new("letting the runtime write id maps", e.into()))?;
        send(sock, msg::MAP_ME, b"").map_err(|e| SetupError::new("asking for id maps", e))?;
        match recv(sock) {
            Ok(Some((msg::MAPPED, _))) => {}
            _ => {
                return Err(SetupError::msg(
                    "creating the user namespace",
                    "no id maps were written",
                ))
            }
        }
        nix::sys::prctl::set_dumpable(false)
            .map_err(|e| SetupError::new("making the init non-dumpable", e.into()))?;
    }
    if p.new_user || p.join.iter().any(|(t, _)| *t == LinuxNamespaceType::User) {
        // Root of the namespace, where it has one.
        let _ = nix::unistd::setresgid(0.into(), 0.into(), 0.into());
        let _ = nix::unistd::setresuid(0.into(), 0.into(), 0.into());
        // The caller's groups, unmapped here, would still decide access to
        // directories of theirs on the way to the root file system (group
        // bits before the others' bits): drop them, as runc does. The
        // process gets its own groups later.
        if !p.keep_groups {
            let _ = nix::unistd::setgroups(&[]);
        }
    }
    nix::sched::unshare(p.unshare).map_err(|e| SetupError::new("creating namespaces", e.into()))?;
    // A new network namespace starts with its loopback down; runc and
    // crun bring it up, and so does this runtime (it is always index 1).
    if p.unshare.contains(CloneFlags::CLONE_NEWNET) {
        crate::network::netlink::Netlink::open()
            .and_then(|mut nl| nl.set_up(1))
            .map_err(|e| SetupError::msg("bringing the loopback interface up", e.to_string()))?;
    }
    match crate::sys::clone::fork(true).map_err(|e| SetupError::new("forking the init", e))? {
        None => {
            let err = stage_two(p, sock, fifo, console, opts);
            // Only failures come back here: success execs.
            let text = match err {
                Ok(never) => match never {},
                Err(e) => e.to_string(),
            };
            let _ = send(sock, msg::ERROR, text.as_bytes());
            crate::sys::clone::exit_now(1);
        }
        Some(pid) => {
            send(sock, msg::INIT_PID, &pid.as_raw().to_le_bytes())
                .map_err(|e| SetupError::new("reporting the init", e))?;
            Ok(())
        }
    }
}

/// C2, the container's init: everything up to exec.
fn stage_two(
    p: &Prepared,
    sock: &UnixStream,
    fifo: BorrowedFd<'_>,
    console: Option<&UnixStream>,
    opts: &CreateOptions,
) -> Result<std::convert::Infallible, SetupError> {
    match recv(sock) {
        Ok(Some((msg::GO, _))) => {}
        _ => return Err(SetupError::msg("container init", "the runtime went away")),
    }
    if p.new_cgroup {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
            .map_err(|e| SetupError::new("creating the cgroup namespace", e.into()))?;
    }
    nix::unistd::setsid().map_err(|e| SetupError::new("setsid", e.into()))?;
    if !opts.no_new_keyring {
        crate::sys::clone::join_new_session_keyring()
            .map_err(|e| SetupError::new("creating a session keyring", e))?;
    }
    let spec = &p.spec;
    let process = spec.process().clone().unwrap_or_default();
    if p.new_uts {
        if let Some(h) = spec.hostname() {
            nix::unistd::sethostname(h)
                .map_err(|e| SetupError::new("setting the hostname", e.into()))?;
        }
        if let Some(d) = spec.domainname() {
            std::fs::write("/proc/sys/kernel/domainname", d)
                .map_err(|e| SetupError::new("setting the domain name", e))?;
        }
    }
    // The exec FIFO is reopened through this process's fd directory, kept
    // from before pivot_root.
    let fd_dir = crate::sys::fs::open(
        Path::new("/proc/self/fd"),
        OFlag::O_DIRECTORY | OFlag::O_RDONLY,
        0,
    )
    .map_err(|e| SetupError::new("opening /proc/self/fd", e.into()))?;
    let plan = rootfs::Plan {
        spec,
        rootfs: &p.rootfs,
        bind_devices: p.bind_devices,
        mount_ns: p.mount_ns,
    };
    if let Some(m) = rootfs::prepare(&plan)? {
        // From now on the runtime detaches it when anything fails.
        let mut payload = m.id.to_le_bytes().to_vec();
        payload.push(u8::from(m.unique));
        if let Err(e) = send(sock, msg::HOST_MOUNT, &payload) {
            let _ = nix::mount::umount2(&p.rootfs, nix::mount::MntFlags::MNT_DETACH);
            return Err(SetupError::new("reporting the root's mount", e));
        }
    }
    let spec_hooks = spec.hooks().as_ref();
    let create_hooks = hooks::of(spec_hooks, hooks::Point::CreateContainer);
    if !create_hooks.is_empty() {
        // The status crun gives every hook of the create operation.
        let me = nix::unistd::getpid().as_raw();
        let state = hooks::state(&p.id, "created", me, &p.bundle, spec);
        hooks::run(hooks::Point::CreateContainer, &create_hooks, &state)?;
    }
    let start_hooks = hooks::of(spec_hooks, hooks::Point::StartContainer);
    rootfs::enter(&plan, opts.no_pivot)?;
    if let Some(sock) = console {
        let size = spec.process().as_ref().and_then(|p| p.console_size());
        setup_console(sock, size)?;
    }
    rootfs::sysctls(spec)?;
    // The container's own /dev/null, checked to be the device: a bind
    // source must be in this mount namespace.
    let dev_null = rootfs::open_dev_null()?;
    rootfs::restrict(spec, dev_null.as_fd())?;
    if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly().unwrap_or(false))
    {
        rootfs::root_read_only()?;
    }
    drop(dev_null);
    rootfs::finish_root_propagation(spec)?;
    process::rlimits(&process)?;
    let args = process::arguments(&process)?;
    let env = process::environment(&process)?;
    let command = process
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_default();
    let path = process::find_executable(&command, &p.env_strings)?;
    let path = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| SetupError::msg("exec", "the command path contains a NUL byte"))?;
    let late_seccomp = process::finish(
        &process,
        &p.caps,
        p.seccomp.as_ref(),
        p.keep_groups,
        opts.preserve_fds,
    )?;
    send(sock, msg::READY, b"").map_err(|e| SetupError::new("reporting ready", e))?;
    // Block until `start` opens the FIFO for reading.
    let name = fifo.as_raw_fd().to_string();
    let writer = crate::sys::fs::openat(fd_dir.as_fd(), OsStr::new(&name), OFlag::O_WRONLY, 0)
        .map_err(|e| SetupError::new("waiting for start", e))?;
    // The descriptor stays open (it is close-on-exec) until the command
    // replaces this process: `start` waits for that before its poststart
    // hooks.
    let mut started = std::fs::File::from(writer);
    let _ = started.write_all(b"0");
    drop(fd_dir);
    if !start_hooks.is_empty() {
        let me = nix::unistd::getpid().as_raw();
        let state = hooks::state(&p.id, "created", me, &p.bundle, spec);
        // Too late to tell the runtime: the command does not run.
        hooks::run(hooks::Point::StartContainer, &start_hooks, &state)?;
    }
    if let Some(prog) = late_seccomp {
        prog.load()
            .map_err(|e| SetupError::new("loading the seccomp filter", e))?;
    }
    // Held open until the command runs: `start` runs poststart hooks once
    // it is closed.
    exec_command(
        p.trampoline.as_ref(),
        Some(started.as_fd()),
        &command,
        &path,
        &args,
        &env,
    )
}

/// The last step of the init and of exec: the command, through the sealed
/// copy of skiff-init when there is one (see `sealed`). If the copy cannot
/// be executed (a kernel or policy that refuses executable memfds), the
/// command is executed directly.
pub(super) fn exec_command(
    trampoline: Option<&super::sealed::Trampoline>,
    hold: Option<BorrowedFd<'_>>,
    command: &str,
    path: &CStr,
    args: &[CString],
    env: &[CString],
) -> Result<std::convert::Infallible, SetupError> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    if let Some(t) = trampoline {
        let held =
            hold.filter(|fd| fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::empty())).is_ok());
        let _ = t.exec(held.map(|fd| fd.as_raw_fd()), path, args, env);
        if let Some(fd) = held {
            let _ = fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
        }
    }
    let e = nix::unistd::execve(path, args, env).unwrap_err();
    Err(SetupError::msg(
        "exec",
        format!("exec: {command:?}: {}", e.desc().to_lowercase()),
    ))
}

/// A terminal from the container's devpts: the master goes to whoever
/// listens on the console socket, the slave becomes stdio, the controlling
/// terminal and /dev/console.
pub(super) fn setup_console(
    sock: &UnixStream,
    size: Option<oci_spec::runtime::Box>,
) -> Result<(), SetupError> {
    use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| SetupError::new("opening /dev/ptmx", e.into()))?;
    grantpt(&master).map_err(|e| SetupError::new("grantpt", e.into()))?;
    unlockpt(&master).map_err(|e| SetupError::new("unlockpt", e.into()))?;
    let name = ptsname_r(&master).map_err(|e| SetupError::new("ptsname", e.into()))?;
    let slave = crate::sys::fs::open(Path::new(&name), OFlag::O_RDWR | OFlag::O_NOCTTY, 0)
        .map_err(|e| SetupError::new(format!("opening {name}"), e.into()))?;
    // The caller's window size (consoleSize) before the command runs; the
    // monitor passes on later changes.
    if let Some(size) = size.filter(|s| s.height() > 0 && s.width() > 0) {
        let ws = crate::sys::tty::WindowSize {
            rows: u16::try_from(size.height()).unwrap_or(u16::MAX),
            cols: u16::try_from(size.width()).unwrap_or(u16::MAX),
        };
        crate::sys::tty::set_window_size(slave.as_fd(), ws)
            .map_err(|e| SetupError::new("setting the console size", e))?;
    }
    // /dev/console is the terminal too.
    if let Ok(target) = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/dev/console")
    {
        drop(target);
        let _ = nix::mount::mount(
            Some(Path::new(&name)),
            "/dev/console",
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        );
    }
    let iov = [io::IoSlice::new(b"/dev/ptmx")];
    let fds = [master.as_raw_fd()];
    let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
    nix::sys::socket::sendmsg::<()>(
        sock.as_raw_fd(),
        &iov,
        &cmsg,
        nix::sys::socket::MsgFlags::empty(),
        None,
    )
    .map_err(|e| SetupError::new("sending the terminal to the console socket", e.into()))?;
    drop(master);
    for target in 0..3 {
        nix::unistd::dup2(slave.as_raw_fd(), target)
            .map_err(|e| SetupError::new("making the terminal stdio", e.into()))?;
    }
    crate::sys::clone::set_controlling_terminal(slave.as_fd())
        .map_err(|e| SetupError::new("making the terminal the controlling one", e))?;
    Ok(())
}
