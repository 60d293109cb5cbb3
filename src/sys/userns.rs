//! The rootless user namespace at the system-call level: fork the process
//! that creates and then holds it (with a mount namespace), and join a
//! process's namespaces with setns. The policy (which ids, where the pid is
//! kept, when to join) lives in `engine::rootless`.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sched::CloneFlags;
use nix::unistd::Pid;

/// The child's side of the handshake, one byte each.
const UNSHARED: u8 = b'U';
const GO: u8 = b'G';
const READY: u8 = b'R';
const FAILED: u8 = b'E';

/// A namespace holder being set up: its user namespace exists, its id maps
/// are still to be written.
pub struct Holder {
    pid: Pid,
    from_child: OwnedFd,
    to_child: OwnedFd,
    done: bool,
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}

fn read_byte(fd: &OwnedFd) -> io::Result<u8> {
    let mut b = [0u8; 1];
    loop {
        match nix::unistd::read(fd.as_raw_fd(), &mut b) {
            Ok(1) => return Ok(b[0]),
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the namespace holder exited during set-up",
                ))
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// What the child reports after FAILED: the errno, in the next 4 bytes.
fn child_error(fd: &OwnedFd, step: &str) -> io::Error {
    let mut b = [0u8; 4];
    let errno = match nix::unistd::read(fd.as_raw_fd(), &mut b) {
        Ok(4) => i32::from_ne_bytes(b),
        _ => libc::EIO,
    };
    io::Error::new(
        io::Error::from_raw_os_error(errno).kind(),
        format!("{step}: {}", io::Error::from_raw_os_error(errno)),
    )
}

/// Fork a process that makes a new user namespace and waits. Once the
/// caller has written its id maps ([`Holder::mapped`]), it makes a mount
/// namespace, leaves the caller's session and stdio, and execs `program`
/// with `args` (the pause program). Call only while single-threaded.
pub fn spawn_holder(program: &Path, args: &[&str]) -> io::Result<Holder> {
    // Everything the child needs, allocated before fork.
    let prog = CString::new(program.as_os_str().as_encoded_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut argv_owned: Vec<CString> = vec![prog.clone()];
    for a in args {
        argv_owned
            .push(CString::new(*a).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?);
    }
    let mut argv: Vec<*const libc::c_char> = argv_owned.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    let dev_null: &CStr = c"/dev/null";
    let (from_child, child_out) = pipe()?;
    let (child_in, to_child) = pipe()?;
    let parent = nix::unistd::getpid().as_raw();
    let parent_ends = [from_child.as_raw_fd(), to_child.as_raw_fd()];
    // SAFETY: the process is single-threaded (documented precondition), so
    // the child may run arbitrary code; it still only makes raw system calls
    // on memory prepared above, and never returns from this function.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: in the child; see `holder_child`.
        unsafe {
            holder_child(
                parent,
                parent_ends,
                child_out.as_raw_fd(),
                child_in.as_raw_fd(),
                &prog,
                &argv,
                &envp,
                dev_null,
            )
        }
    }
    drop(child_out);
    drop(child_in);
    let mut holder = Holder {
        pid: Pid::from_raw(pid),
        from_child,
        to_child,
        done: false,
    };
    match read_byte(&holder.from_child)? {
        UNSHARED => Ok(holder),
        FAILED => {
            let e = child_error(&holder.from_child, "creating a user namespace");
            holder.abort();
            Err(e)
        }
        _ => {
            holder.abort();
            Err(io::Error::other("the namespace holder misbehaved"))
        }
    }
}

/// The child of [`spawn_holder`]: raw system calls only, then exec (or, if
/// the program cannot run, a pause of its own).
#[allow(clippy::too_many_arguments)]
unsafe fn holder_child(
    parent: libc::pid_t,
    parent_ends: [RawFd; 2],
    out: RawFd,
    input: RawFd,
    prog: &CStr,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char; 1],
    dev_null: &CStr,
) -> ! {
    let fail = |out: RawFd| -> ! {
        let errno = *libc::__errno_location();
        let mut msg = [FAILED, 0, 0, 0, 0];
        msg[1..].copy_from_slice(&errno.to_ne_bytes());
        libc::write(out, msg.as_ptr().cast(), msg.len());
        libc::_exit(1);
    };
    // The caller's ends of the pipes: closed, so that a caller killed
    // mid-way is an end of file here, not a wait forever.
    for fd in parent_ends {
        libc::close(fd);
    }
    // Die with the caller until set-up is over (and if it died already).
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    if libc::getppid() != parent {
        libc::_exit(1);
    }
    if libc::unshare(libc::CLONE_NEWUSER) != 0 {
        fail(out);
    }
    libc::write(out, [UNSHARED].as_ptr().cast(), 1);
    let mut b = [0u8; 1];
    if libc::read(input, b.as_mut_ptr().cast(), 1) != 1 || b[0] != GO {
        libc::_exit(1);
    }
    if libc::unshare(libc::CLONE_NEWNS) != 0 {
        fail(out);
    }
    libc::setsid();
    let null = libc::open(dev_null.as_ptr(), libc::O_RDWR);
    if null >= 0 {
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
    }
    // Set-up is over: outlive the caller.
    libc::prctl(libc::PR_SET_PDEATHSIG, 0);
    libc::write(out, [READY].as_ptr().cast(), 1);
    libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
    libc::execve(prog.as_ptr(), argv.as_ptr(), envp.as_ptr());
    // No pause program: be one. Every signal is blocked and collected;
    // TERM, INT and HUP end it, children are reaped.
    let mut all: libc::sigset_t = std::mem::zeroed();
    libc::sigfillset(&mut all);
    libc::sigprocmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    loop {
        let sig = libc::sigwaitinfo(&all, std::ptr::null_mut());
        match sig {
            libc::SIGTERM | libc::SIGINT | libc::SIGHUP => libc::_exit(0),
            libc::SIGCHLD => while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {},
            _ => {}
        }
    }
}

impl Holder {
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The id maps are written: let the child finish (mount namespace,
    /// detach, exec). Returns once it has.
    pub fn mapped(mut self) -> io::Result<Pid> {
        nix::unistd::write(&self.to_child, &[GO])?;
        match read_byte(&self.from_child) {
            Ok(READY) => {
                self.done = true;
                Ok(self.pid)
            }
            Ok(FAILED) => Err(child_error(&self.from_child, "creating a mount namespace")),
            Ok(_) => Err(io::Error::other("the namespace holder misbehaved")),
            Err(e) => Err(e),
        }
    }

    fn abort(&mut self) {
        let _ = nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(self.pid, None);
        self.done = true;
    }
}

impl Drop for Holder {
    /// A holder dropped before [`Holder::mapped`] succeeded is killed.
    fn drop(&mut self) {
        if !self.done {
            self.abort();
        }
    }
}

/// Start `program args` in a new session with stdio on /dev/null, in the
/// caller's namespaces, not waited for (the pause program, recreated).
pub fn spawn_detached(program: &Path, args: &[&str]) -> io::Result<Pid> {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe and the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    Ok(Pid::from_raw(child.id() as i32))
}

/// Join the user and mount namespaces of `pid`. The working directory is
/// kept (joining a mount namespace resets it to its root). Call only while
/// single-threaded.
pub fn join(pid: Pid) -> io::Result<()> {
    let open = |ns: &str| -> io::Result<OwnedFd> {
        let path = format!("/proc/{pid}/ns/{ns}");
        let fd = nix::fcntl::open(
            path.as_str(),
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?;
        // SAFETY: `open` returned a new descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    };
    let user = open("user")?;
    let mnt = open("mnt")?;
    let cwd = std::env::current_dir().ok();
    nix::sched::setns(user, CloneFlags::CLONE_NEWUSER)?;
    nix::sched::setns(mnt, CloneFlags::CLONE_NEWNS)?;
    if let Some(cwd) = cwd {
        // The same tree is visible in the new namespace; a directory that is
        // not (mounted after it was made) falls back to its root.
        let _ = std::env::set_current_dir(cwd);
    }
    Ok(())
}

/// The inode of a process's user namespace (to tell namespaces apart).
pub fn user_ns_of(pid: Option<Pid>) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let path = match pid {
        Some(p) => format!("/proc/{p}/ns/user"),
        None => "/proc/self/ns/user".to_string(),
    };
    Ok(std::fs::metadata(path)?.ino())
}
