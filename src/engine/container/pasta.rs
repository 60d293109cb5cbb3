//! `--network pasta`: user-mode networking by pasta (Debian package
//! `passt`), root and rootless.
//!
//! At start skiff makes a network namespace bind-mounted on `netns` in the
//! container's run directory (for a rootless user inside skiff's user and
//! mount namespaces, so the namespace is theirs), then runs pasta on it
//! with the published ports. pasta forks once the namespace is configured:
//! its first process's exit is the readiness signal, and a failure leaves
//! its message in `pasta.err`. The container joins the namespace by path.
//!
//! pasta leaves by itself when the namespace file is unmounted and
//! removed; skiff does that whenever the container's resources are
//! released (after its exit, on `rm -f`, after its monitor was killed, on
//! a failed start) and also kills the process named in `pasta.pid`, once
//! it has made sure it is pasta, so that nothing outlives the container.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::engine::container::usernet::{self, NETNS};
use crate::state::container::{PortMapping, Protocol};
/// Where pasta writes its pid.
pub const PID_FILE: &str = "pasta.pid";
/// pasta's standard error.
pub const ERR_FILE: &str = "pasta.err";
/// The address inside the namespace where pasta answers DNS queries
/// (forwarded to the host's resolvers), as podman sets it.
pub const DNS_FORWARD: &str = "169.254.1.1";

/// The pasta program, from PATH (and the usual system directories).
pub fn find() -> Result<PathBuf, String> {
    crate::runtime::select::find_executable("pasta").ok_or_else(|| {
        "--network pasta needs the pasta command, which is not installed (Debian package passt)"
            .to_string()
    })
}

/// One `-t`/`-u` value: `[ADDR/]HOST[-HOST]:CONTAINER[-CONTAINER]`.
fn forward_spec(m: &PortMapping) -> String {
    let n = m.range.max(1);
    let range = |p: u16| {
        if n == 1 {
            p.to_string()
        } else {
            format!("{p}-{}", p.saturating_add(n - 1))
        }
    };
    let addr = if m.host_ip.is_empty() {
        String::new()
    } else {
        format!("{}/", m.host_ip)
    };
    format!("{addr}{}:{}", range(m.host_port), range(m.container_port))
}

/// pasta's command line (without the program).
pub fn args(
    ports: &[PortMapping],
    extra: &[String],
    rundir: &Path,
    real_root: bool,
) -> Vec<String> {
    let mut a: Vec<String> = vec!["--config-net".into()];
    a.extend(extra.iter().cloned());
    let (mut tcp, mut udp) = (false, false);
    for m in ports {
        let flag = match m.protocol {
            Protocol::Tcp => {
                tcp = true;
                "-t"
            }
            Protocol::Udp => {
                udp = true;
                "-u"
            }
            // Refused at create.
            Protocol::Sctp => continue,
        };
        a.push(flag.into());
        a.push(forward_spec(m));
    }
    // No automatic forwarding of what was not asked for.
    for (given, flag) in [(tcp, "-t"), (udp, "-u"), (false, "-T"), (false, "-U")] {
        if !given && !extra.iter().any(|e| e == flag) {
            a.push(flag.into());
            a.push("none".into());
        }
    }
    if !extra.iter().any(|e| e.starts_with("--dns-forward")) {
        a.push("--dns-forward".into());
        a.push(DNS_FORWARD.into());
    }
    a.push("--no-map-gw".into());
    a.push("--quiet".into());
    if real_root {
        // Otherwise pasta becomes nobody before it joins the namespace.
        a.push("--runas".into());
        a.push("0:0".into());
    }
    a.push("--pid".into());
    a.push(rundir.join(PID_FILE).display().to_string());
    a.push("--netns".into());
    a.push(rundir.join(NETNS).display().to_string());
    a
}

/// A pasta on its way up (see [`spawn`]).
pub struct Starting {
    child: Child,
    rundir: PathBuf,
}

/// Make the namespace and start pasta on it; [`Starting::wait`] waits for
/// it to be ready. Anything left from an earlier run is removed first.
pub fn spawn(
    rundir: &Path,
    ports: &[PortMapping],
    extra: &[String],
    real_root: bool,
) -> Result<Starting, String> {
    let program = find()?;
    usernet::check_tun()?;
    teardown(rundir);
    usernet::make_netns(rundir)?;
    let err_path = rundir.join(ERR_FILE);
    let started = (|| {
        let err = std::fs::File::create(&err_path)
            .map_err(|e| format!("creating {}: {e}", err_path.display()))?;
        // std::process::Command gives the child SIGPIPE's default action,
        // which pasta insists on.
        Command::new(&program)
            .args(args(ports, extra, rundir, real_root))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .map_err(|e| format!("running {}: {e}", program.display()))
    })();
    match started {
        Ok(child) => Ok(Starting {
            child,
            rundir: rundir.to_path_buf(),
        }),
        Err(e) => {
            teardown(rundir);
            Err(e)
        }
    }
}

impl Starting {
    /// Wait until pasta has configured the namespace (its first process
    /// exits 0); on failure everything is torn down and pasta's message
    /// returned.
    pub fn wait(mut self) -> Result<(), String> {
        let status = self.child.wait();
        let err = std::fs::read_to_string(self.rundir.join(ERR_FILE)).unwrap_or_default();
        match status {
            Ok(s) if s.success() => Ok(()),
            other => {
                teardown(&self.rundir);
                let text: Vec<&str> = err
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.contains("to syslog"))
                    .collect();
                let how = match other {
                    Ok(s) => s.to_string(),
                    Err(e) => e.to_string(),
                };
                if text.is_empty() {
                    Err(format!("pasta failed ({how})"))
                } else {
                    Err(format!("pasta failed: {}", text.join("; ")))
                }
            }
        }
    }

    /// Give up: stop pasta and remove the namespace.
    pub fn abort(mut self) {
        let _ = self.child.wait();
        teardown(&self.rundir);
    }
}

/// Remove the namespace file (pasta then exits by itself) and stop the
/// pasta named in the pid file (its name is pasta's or passt's, possibly
/// with a suffix such as `.avx2`), waiting a moment for it to be gone so
/// that its ports are free again. Idempotent.
pub fn teardown(rundir: &Path) {
    usernet::remove_netns(rundir);
    usernet::stop_helper(&rundir.join(PID_FILE), &["pasta", "passt"]);
    let _ = std::fs::remove_file(rundir.join(ERR_FILE));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_forwards_what_was_published_and_nothing_else() {
        let ports = [
            PortMapping {
                host_ip: "127.0.0.1".into(),
                host_port: 18080,
                container_port: 80,
                protocol: Protocol::Tcp,
                range: 2,
            },
            PortMapping {
                host_ip: String::new(),
                host_port: 5353,
                container_port: 53,
                protocol: Protocol::Tcp,
                range: 1,
            },
        ];
        let a = args(&ports, &[], Path::new("/r"), true).join(" ");
        assert_eq!(
            a,
            "--config-net -t 127.0.0.1/18080-18081:80-81 -t 5353:53 -u none -T none -U none \
             --dns-forward 169.254.1.1 --no-map-gw --quiet --runas 0:0 --pid /r/pasta.pid --netns /r/netns"
        );
        let a = args(
            &[],
            &["--mtu".into(), "1500".into()],
            Path::new("/r"),
            false,
        )
        .join(" ");
        assert_eq!(
            a,
            "--config-net --mtu 1500 -t none -u none -T none -U none --dns-forward 169.254.1.1 \
             --no-map-gw --quiet --pid /r/pasta.pid --netns /r/netns"
        );
    }
}
