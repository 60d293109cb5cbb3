//! `--network slirp4netns[:OPTIONS]`: user-mode networking by slirp4netns
//! (Debian package `slirp4netns`), root and rootless, beside pasta.
//!
//! At start skiff makes the network namespace file (see `usernet`) and
//! runs slirp4netns on it with three descriptors: the read end of an exit
//! pipe (`-e`), the write end of a ready pipe (`-r`, slirp4netns writes
//! `1` once the tap device is configured) and the run directory, in which
//! it makes its API socket (named through `/proc/self/fd`, as a run
//! directory may be too long for a socket address). Published ports are
//! then added one by one with the API's `add_hostfwd`; any failure tears
//! everything down.
//!
//! The write end of the exit pipe goes to the container's monitor, which
//! holds what it inherits until the container exits: slirp4netns leaves
//! when the container exits and also when the monitor is killed, even if
//! skiff never runs again. The release of the container's resources also
//! stops the process named in `slirp4netns.pid`, once it has made sure it
//! is slirp4netns, and removes the namespace.
//!
//! The container sees slirp4netns's defaults (slirp4netns(1)): the network
//! 10.0.2.0/24 (`cidr=`), its address .100, the gateway .2 (the host; its
//! loopback too with `allow_host_loopback=true`) and a DNS forwarder .3.

mod options;

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;

use crate::engine::container::usernet::{self, NETNS};
use crate::state::container::{PortMapping, Protocol, SlirpOptions};

use options::resolve_outbound;
pub use options::{addresses, parse_options, Addresses};

/// Where skiff writes slirp4netns's pid.
pub const PID_FILE: &str = "slirp4netns.pid";
/// slirp4netns's standard error.
pub const ERR_FILE: &str = "slirp4netns.err";
/// The API socket, in the run directory.
pub const SOCKET: &str = "slirp4netns.sock";
/// How long slirp4netns may take to configure the namespace.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The descriptor numbers slirp4netns gets.
const EXIT_FD: i32 = 3;
const READY_FD: i32 = 4;
const DIR_FD: i32 = 5;

/// The slirp4netns program, from PATH (and the usual system directories).
pub fn find() -> Result<PathBuf, String> {
    crate::runtime::select::find_executable("slirp4netns").ok_or_else(|| {
        "--network slirp4netns needs the slirp4netns command, which is not installed (Debian package slirp4netns)"
            .to_string()
    })
}

/// slirp4netns's command line (without the program), with the outbound
/// addresses already resolved. The descriptors are those of [`spawn`].
pub fn args(
    opts: &SlirpOptions,
    outbound: (Option<&str>, Option<&str>),
    rundir: &Path,
) -> Vec<String> {
    let mut a = vec![format!("--mtu={}", opts.mtu)];
    if !opts.allow_host_loopback {
        a.push("--disable-host-loopback".into());
    }
    if opts.enable_ipv6 {
        a.push("--enable-ipv6".into());
    }
    if let Some(cidr) = &opts.cidr {
        a.push(format!("--cidr={cidr}"));
    }
    if let Some(addr) = outbound.0 {
        a.push(format!("--outbound-addr={addr}"));
    }
    if let Some(addr) = outbound.1 {
        a.push(format!("--outbound-addr6={addr}"));
    }
    // Its own mount namespace with little in it, and a syscall filter.
    a.push("--enable-sandbox".into());
    a.push("--enable-seccomp".into());
    a.extend([
        "-c".to_string(),
        "-e".into(),
        EXIT_FD.to_string(),
        "-r".into(),
        READY_FD.to_string(),
        format!("--api-socket=/proc/self/fd/{DIR_FD}/{SOCKET}"),
        "--netns-type=path".into(),
        rundir.join(NETNS).display().to_string(),
        "tap0".into(),
    ]);
    a
}

/// A slirp4netns on its way up (see [`spawn`]).
pub struct Starting {
    child: Child,
    ready: OwnedFd,
    exit: OwnedFd,
    rundir: PathBuf,
    ports: Vec<PortMapping>,
}

/// Make the namespace and start slirp4netns on it; [`Starting::wait`]
/// waits for it and publishes `ports`. Anything left from an earlier run
/// is removed first.
pub fn spawn(
    rundir: &Path,
    ports: &[PortMapping],
    opts: &SlirpOptions,
) -> Result<Starting, String> {
    let program = find()?;
    usernet::check_tun()?;
    let out4 = opts
        .outbound_addr
        .as_deref()
        .map(|v| resolve_outbound(v, false))
        .transpose()?;
    let out6 = opts
        .outbound_addr6
        .as_deref()
        .map(|v| resolve_outbound(v, true))
        .transpose()?;
    teardown(rundir);
    usernet::make_netns(rundir)?;
    let started = (|| {
        let pipe = |what: &str| {
            nix::unistd::pipe2(OFlag::O_CLOEXEC)
                .map_err(|e| format!("creating slirp4netns's {what} pipe: {e}"))
        };
        let (ready_r, ready_w) = pipe("ready")?;
        let (exit_r, exit_w) = pipe("exit")?;
        let dir = crate::sys::fs::open(
            rundir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            0,
        )
        .map_err(|e| format!("opening {}: {e}", rundir.display()))?;
        let err_path = rundir.join(ERR_FILE);
        let err = std::fs::File::create(&err_path)
            .map_err(|e| format!("creating {}: {e}", err_path.display()))?;
        let mut cmd = Command::new(&program);
        cmd.args(args(opts, (out4.as_deref(), out6.as_deref()), rundir))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            // Out of the caller's process group: a Ctrl-C meant for an
            // attached skiff must not take the container's network.
            .process_group(0);
        let child = crate::sys::process::spawn_with_fds(
            cmd,
            &[
                (exit_r.as_fd(), EXIT_FD),
                (ready_w.as_fd(), READY_FD),
                (dir.as_fd(), DIR_FD),
            ],
        )
        .map_err(|e| format!("running {}: {e}", program.display()))?;
        let mut starting = Starting {
            child,
            ready: ready_r,
            exit: exit_w,
            rundir: rundir.to_path_buf(),
            ports: ports.to_vec(),
        };
        let pid_file = rundir.join(PID_FILE);
        if let Err(e) = std::fs::write(&pid_file, format!("{}\n", starting.child.id())) {
            let _ = starting.child.kill();
            let _ = starting.child.wait();
            return Err(format!("writing {}: {e}", pid_file.display()));
        }
        Ok(starting)
    })();
    if started.is_err() {
        teardown(rundir);
    }
    started
}

impl Starting {
    /// Wait until slirp4netns has configured the namespace, then publish
    /// the ports. Returns the write end of the exit pipe, for the monitor
    /// to hold; on failure everything is torn down.
    pub fn wait(mut self) -> Result<OwnedFd, String> {
        match self.ready().and_then(|()| self.publish()) {
            Ok(()) => Ok(self.exit),
            Err(e) => {
                self.abort();
                Err(e)
            }
        }
    }

    /// Give up: stop slirp4netns and remove the namespace.
    pub fn abort(mut self) {
        drop(self.exit);
        teardown(&self.rundir);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Read the ready byte; slirp4netns's message when it exits instead.
    fn ready(&mut self) -> Result<(), String> {
        use nix::poll::{PollFd, PollFlags, PollTimeout};
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "slirp4netns did not configure the network within {} seconds",
                    READY_TIMEOUT.as_secs()
                ));
            }
            let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
            let mut fds = [PollFd::new(self.ready.as_fd(), PollFlags::POLLIN)];
            match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                Ok(_) => break,
                Err(e) => return Err(format!("waiting for slirp4netns: {e}")),
            }
        }
        let mut byte = [0u8; 1];
        match nix::unistd::read(self.ready.as_raw_fd(), &mut byte) {
            Ok(1) if byte[0] == b'1' => Ok(()),
            _ => {
                let status = self.child.wait();
                let err = std::fs::read_to_string(self.rundir.join(ERR_FILE)).unwrap_or_default();
                Err(failure(&err, status))
            }
        }
    }

    /// Forward each published port with `add_hostfwd`.
    fn publish(&self) -> Result<(), String> {
        if self.ports.is_empty() {
            return Ok(());
        }
        let dir = crate::sys::fs::open(
            &self.rundir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            0,
        )
        .map_err(|e| format!("opening {}: {e}", self.rundir.display()))?;
        let socket = PathBuf::from(format!("/proc/self/fd/{}/{SOCKET}", dir.as_raw_fd()));
        for m in &self.ports {
            let proto = match m.protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
                // Refused at create.
                Protocol::Sctp => continue,
            };
            let host_addr = if m.host_ip.is_empty() {
                "0.0.0.0"
            } else {
                m.host_ip.as_str()
            };
            for i in 0..m.range.max(1) {
                let (host_port, guest_port) = (
                    m.host_port.saturating_add(i),
                    m.container_port.saturating_add(i),
                );
                let request = serde_json::json!({
                    "execute": "add_hostfwd",
                    "arguments": {
                        "proto": proto,
                        "host_addr": host_addr,
                        "host_port": host_port,
                        "guest_port": guest_port,
                    }
                });
                api(&socket, &request).map_err(|e| {
                    format!(
                        "slirp4netns cannot publish {host_addr}:{host_port}/{proto}: the host port is in use or may not be bound by you ({e})"
                    )
                })?;
            }
        }
        Ok(())
    }
}

/// One request on the API socket: a JSON line, the end of the request,
/// the reply; its `error` as the error.
fn api(socket: &Path, request: &serde_json::Value) -> Result<serde_json::Value, String> {
    let talk = || -> std::io::Result<String> {
        let mut s = UnixStream::connect(socket)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(request.to_string().as_bytes())?;
        s.shutdown(std::net::Shutdown::Write)?;
        let mut reply = String::new();
        s.read_to_string(&mut reply)?;
        Ok(reply)
    };
    let reply = talk().map_err(|e| format!("its API socket: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(reply.trim())
        .map_err(|_| format!("unexpected answer {:?}", reply.trim()))?;
    if let Some(desc) = v.pointer("/error/desc").and_then(|d| d.as_str()) {
        return Err(desc.trim_start_matches("bad request: ").to_string());
    }
    Ok(v)
}

/// slirp4netns's failure in one line: what it said, without its progress
/// and warnings.
fn failure(err: &str, status: std::io::Result<std::process::ExitStatus>) -> String {
    let text: Vec<&str> = err
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("WARNING:")
                && !l.starts_with('*')
                && !l.starts_with("Starting slirp")
                && !l.starts_with("sent tapfd")
                && !l.starts_with("received tapfd")
                && !l.starts_with("child failed")
                && !l.starts_with("Usage:")
                && !l.starts_with("User-mode networking")
        })
        .collect();
    if text.is_empty() {
        let how = match status {
            Ok(s) => s.to_string(),
            Err(e) => e.to_string(),
        };
        format!("slirp4netns failed ({how})")
    } else {
        format!("slirp4netns failed: {}", text.join("; "))
    }
}

/// Stop the slirp4netns named in the pid file (waiting a moment for its
/// ports to be free), remove the namespace and slirp4netns's files.
/// Idempotent.
pub fn teardown(rundir: &Path) {
    usernet::stop_helper(&rundir.join(PID_FILE), &["slirp4netns"]);
    usernet::remove_netns(rundir);
    for f in [ERR_FILE, SOCKET] {
        let _ = std::fs::remove_file(rundir.join(f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let o = parse_options("cidr=10.41.0.0/16,enable_ipv6=false").expect("valid");
        assert_eq!(
            args(&o, (Some("192.0.2.2"), None), Path::new("/r")).join(" "),
            "--mtu=65520 --disable-host-loopback --cidr=10.41.0.0/16 --outbound-addr=192.0.2.2 \
             --enable-sandbox --enable-seccomp -c -e 3 -r 4 \
             --api-socket=/proc/self/fd/5/slirp4netns.sock --netns-type=path /r/netns tap0"
        );
        let o = parse_options("allow_host_loopback=true").expect("valid");
        assert_eq!(
            args(&o, (None, None), Path::new("/r")).join(" "),
            "--mtu=65520 --enable-ipv6 --enable-sandbox --enable-seccomp -c -e 3 -r 4 \
             --api-socket=/proc/self/fd/5/slirp4netns.sock --netns-type=path /r/netns tap0"
        );
    }

    #[test]
    fn failures_keep_what_slirp4netns_said() {
        let err = "WARNING: Support for seccomp is experimental\nStarting slirp\n* MTU: 67\ncannot set MTU: Invalid argument\nchild failed(1)\n";
        assert_eq!(
            failure(err, Ok(Default::default())),
            "slirp4netns failed: cannot set MTU: Invalid argument"
        );
    }
}
