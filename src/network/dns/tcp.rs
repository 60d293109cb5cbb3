//! Clients over TCP: each message framed by a two-byte length (RFC 1035
//! 4.2.2), several queries per connection, answers queued until the
//! socket takes them. Connections idle too long are closed (RFC 7766 6.2.3).

use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::time::{Duration, Instant};

use nix::poll::PollFlags;

/// How long a connection may sit without a query or an answer pending.
pub(crate) const IDLE: Duration = Duration::from_secs(10);

/// How many connections are served at once; a new one past that replaces
/// the connection idle longest.
pub(crate) const MAX_CONNECTIONS: usize = 64;

#[derive(Debug)]
pub(crate) struct Connection {
    /// Its number, for answers that come back from upstream later.
    pub id: u64,
    /// The listen address it came to.
    pub local: IpAddr,
    pub stream: TcpStream,
    pub last_active: Instant,
    /// Queries forwarded and not yet answered.
    pub waiting: usize,
    input: Vec<u8>,
    output: Vec<u8>,
    /// The client has closed its side.
    eof: bool,
}

impl Connection {
    pub fn new(id: u64, local: IpAddr, stream: TcpStream) -> io::Result<Connection> {
        stream.set_nonblocking(true)?;
        Ok(Connection {
            id,
            local,
            stream,
            last_active: Instant::now(),
            waiting: 0,
            input: Vec::new(),
            output: Vec::new(),
            eof: false,
        })
    }

    /// Read what the client sent; the complete messages, in order.
    pub fn read(&mut self) -> io::Result<Vec<Vec<u8>>> {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.last_active = Instant::now();
        let mut messages = Vec::new();
        while self.input.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([self.input[0], self.input[1]]));
            if self.input.len() < 2 + len {
                break;
            }
            messages.push(self.input[2..2 + len].to_vec());
            self.input.drain(..2 + len);
        }
        Ok(messages)
    }

    /// Queue an answer and send what the socket takes.
    pub fn send(&mut self, message: &[u8]) -> io::Result<()> {
        let Ok(len) = u16::try_from(message.len()) else {
            return Ok(());
        };
        self.output.extend_from_slice(&len.to_be_bytes());
        self.output.extend_from_slice(message);
        self.flush()
    }

    /// Send what is queued, as far as the socket takes it.
    pub fn flush(&mut self) -> io::Result<()> {
        while !self.output.is_empty() {
            match self.stream.write(&self.output) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.output.drain(..n);
                    self.last_active = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// What to poll the connection for; `None` once the client has closed
    /// its side and nothing waits to be sent (polling it then would report
    /// the end of file again and again).
    pub fn interest(&self) -> Option<PollFlags> {
        match (self.eof, self.output.is_empty()) {
            (false, true) => Some(PollFlags::POLLIN),
            (false, false) => Some(PollFlags::POLLIN | PollFlags::POLLOUT),
            (true, false) => Some(PollFlags::POLLOUT),
            (true, true) => None,
        }
    }

    /// Nothing more will come or go: the client closed its side and every
    /// answer is out.
    pub fn is_done(&self) -> bool {
        self.eof && self.waiting == 0 && self.output.is_empty()
    }

    /// When the connection is closed for idleness.
    pub fn deadline(&self) -> Instant {
        self.last_active + IDLE
    }
}
