//! The DNS server's process: one thread, one poll loop over the signal
//! descriptor, the listeners of every network, the TCP clients and the
//! queries waiting for a resolver.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::answer::{self, Outcome, Transport, Upstream, Zone};
use super::config::{self, NetworkFile};
use super::listen::Listener;
use super::status::{self, Status};
use super::tcp::{self, Connection};
use super::upstream::{self, Client, Ids, Pending, Progress};
use super::PORT;

/// The variable naming the descriptor on which a started server reports
/// that it listens (one byte, then closed), see `control`.
pub(crate) const READY_FD_ENV: &str = "_SKIFF_DNS_READY_FD";

/// How many UDP queries one listener gets through per wake-up, so that a
/// flood on one network does not starve the others.
const UDP_BATCH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("setting up signal handling: {0}")]
    Signals(#[source] nix::Error),
    #[error("reading the DNS directory {path}: {source}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing the DNS server's status in {path}: {source}")]
    Status {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("opening the random source: {0}")]
    Random(#[source] io::Error),
    #[error("waiting for queries: {0}")]
    Poll(#[source] nix::Error),
}

/// Serve the networks of `dir` until SIGTERM (or SIGINT), or until the
/// directory has no network file left. SIGHUP rereads it. The signals are
/// blocked in the calling thread and read from a descriptor; run this on
/// the main thread of its own process (or, in tests, a thread of its own
/// that the signals are sent to).
pub fn serve(dir: &Path) -> Result<(), ServeError> {
    let mut mask = SigSet::empty();
    for sig in [Signal::SIGHUP, Signal::SIGTERM, Signal::SIGINT] {
        mask.add(sig);
    }
    mask.thread_block().map_err(ServeError::Signals)?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(ServeError::Signals)?;
    let mut server = Server {
        dir: dir.to_owned(),
        networks: Vec::new(),
        listeners: Vec::new(),
        connections: Vec::new(),
        pending: Vec::new(),
        next_connection: 0,
        generation: 0,
        ids: Ids::open().map_err(ServeError::Random)?,
    };
    let result = server.run(&signals);
    // The sockets close before the status goes: whoever waits for that
    // may bind the addresses again.
    drop(server);
    // Only a status of this process goes (a server started since keeps its).
    if Status::read(dir)
        .ok()
        .flatten()
        .is_some_and(|s| s.pid == std::process::id() as i32)
    {
        let _ = std::fs::remove_file(status::path(dir));
    }
    tracing::info!("DNS server for {} stopped", dir.display());
    result
}

/// Report readiness to whoever started this process, once.
fn report_ready() {
    let Some(fd) = std::env::var(READY_FD_ENV)
        .ok()
        .and_then(|v| v.parse::<i32>().ok())
        .filter(|&fd| fd > 2)
    else {
        return;
    };
    std::env::remove_var(READY_FD_ENV);
    let _ = nix::unistd::write(crate::sys::process::borrow_fd(fd), b"\n");
    let _ = nix::unistd::close(fd);
}

struct Server {
    dir: PathBuf,
    networks: Vec<(String, NetworkFile)>,
    listeners: Vec<Listener>,
    connections: Vec<Connection>,
    pending: Vec<Pending>,
    next_connection: u64,
    generation: u64,
    ids: Ids,
}

/// What a ready descriptor of the poll set stands for.
#[derive(Debug, Clone, Copy)]
enum Source {
    Signals,
    Udp(usize),
    Tcp(usize),
    Connection(usize),
    Pending(usize),
}

/// What the loop does after a round.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Continue,
    Stop,
}

impl Server {
    fn run(&mut self, signals: &SignalFd) -> Result<(), ServeError> {
        if self.reload()? == Next::Stop {
            return Ok(());
        }
        report_ready();
        loop {
            let ready = self.wait(signals.as_fd())?;
            for (source, flags) in ready {
                let next = match source {
                    Source::Signals => self.on_signals(signals)?,
                    Source::Udp(i) => {
                        self.on_udp(i);
                        Next::Continue
                    }
                    Source::Tcp(i) => {
                        self.on_accept(i);
                        Next::Continue
                    }
                    Source::Connection(i) => {
                        self.on_connection(i, flags);
                        Next::Continue
                    }
                    Source::Pending(i) => {
                        self.on_pending(i);
                        Next::Continue
                    }
                };
                if next == Next::Stop {
                    return Ok(());
                }
            }
            self.sweep();
        }
    }

    /// Poll until something is ready or a deadline passes; what is ready.
    fn wait(&self, signals: BorrowedFd<'_>) -> Result<Vec<(Source, PollFlags)>, ServeError> {
        let mut sources = vec![Source::Signals];
        let mut fds = vec![PollFd::new(signals, PollFlags::POLLIN)];
        for (i, l) in self.listeners.iter().enumerate() {
            sources.push(Source::Udp(i));
            fds.push(PollFd::new(l.udp.as_fd(), PollFlags::POLLIN));
            sources.push(Source::Tcp(i));
            fds.push(PollFd::new(l.tcp.as_fd(), PollFlags::POLLIN));
        }
        for (i, c) in self.connections.iter().enumerate() {
            let Some(flags) = c.interest() else {
                continue;
            };
            sources.push(Source::Connection(i));
            fds.push(PollFd::new(c.stream.as_fd(), flags));
        }
        for (i, p) in self.pending.iter().enumerate() {
            sources.push(Source::Pending(i));
            fds.push(PollFd::new(p.socket.as_fd(), PollFlags::POLLIN));
        }
        let deadline = self
            .pending
            .iter()
            .map(|p| p.deadline)
            .chain(self.connections.iter().map(Connection::deadline))
            .min();
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let ms = d.saturating_duration_since(Instant::now()).as_millis() + 1;
                PollTimeout::from(u16::try_from(ms).unwrap_or(u16::MAX))
            }
        };
        match nix::poll::poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(ServeError::Poll(e)),
        }
        let ready = fds
            .iter()
            .zip(sources)
            .filter_map(|(fd, s)| Some((s, fd.revents().filter(|r| !r.is_empty())?)))
            .collect::<Vec<_>>();
        // Later sources first: handling one removes it from its list, which
        // leaves the indices of earlier ones as they were.
        Ok(ready.into_iter().rev().collect())
    }

    /// Read the directory again: the networks, then the listeners they need.
    fn reload(&mut self) -> Result<Next, ServeError> {
        self.networks = match config::read_dir(&self.dir) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(ServeError::ReadDir {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        if self.networks.is_empty() {
            tracing::info!("no network left to serve in {}", self.dir.display());
            return Ok(Next::Stop);
        }
        let mut wanted: Vec<IpAddr> = self
            .networks
            .iter()
            .flat_map(|(_, n)| n.listen.iter().copied())
            .collect();
        wanted.sort();
        wanted.dedup();
        self.listeners.retain(|l| wanted.contains(&l.addr));
        let mut failed = Vec::new();
        for addr in wanted {
            if self.listeners.iter().any(|l| l.addr == addr) {
                continue;
            }
            match Listener::bind(addr, PORT) {
                Ok(l) => self.listeners.push(l),
                Err(e) => {
                    tracing::warn!("listening on {addr} port {PORT}: {e}");
                    failed.push((addr, e.to_string()));
                }
            }
        }
        self.generation += 1;
        let names: Vec<&str> = self.networks.iter().map(|(n, _)| n.as_str()).collect();
        tracing::info!(
            "serving {} on {} addresses (reading {})",
            names.join(", "),
            self.listeners.len(),
            self.generation
        );
        Status::of_self(self.generation, failed)
            .and_then(|s| s.write(&self.dir))
            .map_err(|source| ServeError::Status {
                path: status::path(&self.dir),
                source,
            })?;
        Ok(Next::Continue)
    }

    fn on_signals(&mut self, signals: &SignalFd) -> Result<Next, ServeError> {
        let mut reload = false;
        while let Ok(Some(info)) = signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGHUP) => reload = true,
                Ok(sig) => {
                    tracing::info!("{sig}: stopping");
                    return Ok(Next::Stop);
                }
                Err(_) => {}
            }
        }
        if reload {
            return self.reload();
        }
        Ok(Next::Continue)
    }

    /// The containers and resolvers a query arriving at `local` may use.
    fn zone(&self, local: IpAddr) -> (Zone<'_>, Vec<IpAddr>) {
        let mut zone = Zone::default();
        let mut resolvers = Vec::new();
        for (_, n) in self
            .networks
            .iter()
            .filter(|(_, n)| n.listen.contains(&local))
        {
            zone.entries.extend(n.entries.iter());
            for r in &n.upstream {
                // A resolver that is this server would ask itself forever.
                let is_self = self.networks.iter().any(|(_, m)| m.listen.contains(r));
                if !is_self && !resolvers.contains(r) {
                    resolvers.push(*r);
                }
            }
        }
        if !resolvers.is_empty() {
            zone.upstream = Upstream::Some;
        }
        (zone, resolvers)
    }

    fn on_udp(&mut self, i: usize) {
        let mut buf = [0u8; 4096];
        for _ in 0..UDP_BATCH {
            let Some(listener) = self.listeners.get(i) else {
                return;
            };
            let local = listener.addr;
            let (n, peer) = match listener.udp.recv_from(&mut buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!("receiving on {local}: {e}");
                    return;
                }
            };
            let (zone, resolvers) = self.zone(local);
            match answer::answer(&buf[..n], &zone, Transport::Udp) {
                Outcome::Reply(bytes) => {
                    let _ = listener.udp.send_to(&bytes, peer);
                }
                Outcome::Forward => {
                    self.forward(Client::Udp { local, peer }, &buf[..n], &resolvers);
                }
                Outcome::Drop => {}
            }
        }
    }

    fn on_accept(&mut self, i: usize) {
        let Some(listener) = self.listeners.get(i) else {
            return;
        };
        let local = listener.addr;
        loop {
            let stream = match listener.tcp.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    tracing::debug!("accepting on {local}: {e}");
                    return;
                }
            };
            if self.connections.len() >= tcp::MAX_CONNECTIONS {
                if let Some(oldest) =
                    (0..self.connections.len()).min_by_key(|&j| self.connections[j].last_active)
                {
                    self.connections.swap_remove(oldest);
                }
            }
            self.next_connection += 1;
            match Connection::new(self.next_connection, local, stream) {
                Ok(c) => self.connections.push(c),
                Err(e) => tracing::debug!("accepting on {local}: {e}"),
            }
        }
    }

    fn on_connection(&mut self, i: usize, flags: PollFlags) {
        // An answer sent meanwhile may have closed a connection and moved
        // another to this index: reading one that is not ready is harmless.
        let Some(conn) = self.connections.get_mut(i) else {
            return;
        };
        if flags.intersects(PollFlags::POLLERR | PollFlags::POLLNVAL) {
            self.connections.swap_remove(i);
            return;
        }
        let messages = if flags.intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
            match conn.read() {
                Ok(m) => m,
                Err(_) => {
                    self.connections.swap_remove(i);
                    return;
                }
            }
        } else {
            Vec::new()
        };
        if flags.contains(PollFlags::POLLOUT) && conn.flush().is_err() {
            self.connections.swap_remove(i);
            return;
        }
        let (local, id) = (conn.local, conn.id);
        for message in messages {
            let (zone, resolvers) = self.zone(local);
            match answer::answer(&message, &zone, Transport::Tcp) {
                Outcome::Reply(bytes) => self.answer_connection(id, &bytes),
                Outcome::Forward => {
                    if let Some(c) = self.connections.iter_mut().find(|c| c.id == id) {
                        c.waiting += 1;
                    }
                    self.forward(Client::Tcp { conn: id }, &message, &resolvers);
                }
                Outcome::Drop => {}
            }
        }
    }

    fn on_pending(&mut self, i: usize) {
        if i >= self.pending.len() {
            return;
        }
        let p = self.pending.swap_remove(i);
        let progress = p.readable(&mut self.ids);
        self.settle(progress);
    }

    fn forward(&mut self, client: Client, query: &[u8], resolvers: &[IpAddr]) {
        let progress = if self.pending.len() >= upstream::MAX_PENDING {
            Progress::Failed(client, query.to_vec())
        } else {
            Pending::start(client, query, resolvers, &mut self.ids)
        };
        self.settle(progress);
    }

    /// Keep a query that still waits; send back what has an outcome.
    fn settle(&mut self, progress: Progress) {
        let (client, bytes) = match progress {
            Progress::Waiting(p) => return self.pending.push(p),
            Progress::Answered(client, bytes) => (client, Some(bytes)),
            Progress::Failed(client, query) => (client, answer::server_failure(&query)),
        };
        match client {
            Client::Udp { local, peer } => {
                let listener = self.listeners.iter().find(|l| l.addr == local);
                if let (Some(l), Some(bytes)) = (listener, bytes) {
                    let _ = l.udp.send_to(&bytes, peer);
                }
            }
            Client::Tcp { conn } => {
                if let Some(c) = self.connections.iter_mut().find(|c| c.id == conn) {
                    c.waiting = c.waiting.saturating_sub(1);
                }
                if let Some(bytes) = bytes {
                    self.answer_connection(conn, &bytes);
                }
            }
        }
    }

    fn answer_connection(&mut self, id: u64, bytes: &[u8]) {
        if let Some(i) = self.connections.iter().position(|c| c.id == id) {
            if self.connections[i].send(bytes).is_err() {
                self.connections.swap_remove(i);
            }
        }
    }

    /// Move on queries whose resolver is late; close finished and idle
    /// connections.
    fn sweep(&mut self) {
        let now = Instant::now();
        let (late, waiting): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.deadline <= now);
        self.pending = waiting;
        for p in late {
            let progress = p.timed_out(&mut self.ids);
            self.settle(progress);
        }
        self.connections
            .retain(|c| !c.is_done() && (c.waiting > 0 || c.deadline() > now));
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("dir", &self.dir)
            .field("networks", &self.networks.len())
            .field("listeners", &self.listeners.len())
            .finish()
    }
}
