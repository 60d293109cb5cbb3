//! Reading a container's log, written by the monitor in the k8s-file format:
//! `<RFC3339Nano> stdout|stderr F|P <text>` per line, `P` marking a partial
//! line whose text continues in the next entry.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::engine::container::ContainerError;
use crate::engine::Engine;

/// Which stream a log entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One parsed log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub time: DateTime<Utc>,
    pub stream: Stream,
    /// The text ends a line (`F`), or continues in the next entry (`P`).
    pub full: bool,
    pub text: Vec<u8>,
}

/// Parse one log line (without its newline).
pub fn parse_line(line: &[u8]) -> Option<Entry> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?;
    let time = DateTime::parse_from_rfc3339(time).ok()?.with_timezone(&Utc);
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let full = match parts.next()? {
        b"F" => true,
        b"P" => false,
        _ => return None,
    };
    let text = parts.next().unwrap_or(b"").to_vec();
    Some(Entry {
        time,
        stream,
        full,
        text,
    })
}

/// What `logs` selects.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// Keep reading until the container exits.
    pub follow: bool,
}

fn selected(e: &Entry, opts: &LogOptions) -> bool {
    opts.since.is_none_or(|s| e.time >= s) && opts.until.is_none_or(|u| e.time <= u)
}

impl Engine {
    /// Send a container's log entries to `sink`, in order.
    pub fn container_logs(
        &self,
        input: &str,
        opts: &LogOptions,
        sink: &mut dyn FnMut(&Entry) -> std::io::Result<()>,
    ) -> Result<(), ContainerError> {
        let rec = self.find_container(input)?;
        let path = self.containers()?.userdata(&rec.id).join("ctr.log");
        let io_err = |e: std::io::Error| {
            ContainerError::Invalid(format!("reading the log of {}: {e}", rec.name))
        };
        let mut pos = 0u64;
        if path.exists() {
            let entries = read_all(&path).map_err(io_err)?;
            let mut chosen: Vec<&Entry> = entries.iter().filter(|e| selected(e, opts)).collect();
            if let Some(n) = opts.tail {
                let full_lines = chosen.iter().filter(|e| e.full).count();
                let mut skip_full = full_lines.saturating_sub(n);
                let mut start = 0;
                while skip_full > 0 && start < chosen.len() {
                    if chosen[start].full {
                        skip_full -= 1;
                    }
                    start += 1;
                }
                chosen.drain(..start);
            }
            for e in chosen {
                sink(e).map_err(io_err)?;
            }
            pos = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        }
        if !opts.follow {
            return Ok(());
        }
        loop {
            let live = self.find_container(&rec.id)?.state.status.is_live();
            if let Ok(mut f) = std::fs::File::open(&path) {
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                if len < pos {
                    pos = 0; // rotated
                }
                f.seek(SeekFrom::Start(pos)).map_err(io_err)?;
                let mut reader = BufReader::new(f);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    let n = reader.read_until(b'\n', &mut line).map_err(io_err)?;
                    if n == 0 || line.last() != Some(&b'\n') {
                        break;
                    }
                    pos += n as u64;
                    if let Some(e) = parse_line(&line[..line.len() - 1]) {
                        if selected(&e, opts) {
                            sink(&e).map_err(io_err)?;
                        }
                    }
                }
            }
            if !live {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_all(path: &Path) -> std::io::Result<Vec<Entry>> {
    let f = std::fs::File::open(path)?;
    let mut out = Vec::new();
    for line in BufReader::new(f).split(b'\n') {
        if let Some(e) = parse_line(&line?) {
            out.push(e);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_and_partial_lines() {
        let e = parse_line(b"2024-05-01T10:00:00.123456789Z stdout F hello world").expect("valid");
        assert_eq!(e.stream, Stream::Stdout);
        assert!(e.full);
        assert_eq!(e.text, b"hello world");
        let p = parse_line(b"2024-05-01T10:00:00.1Z stderr P part").expect("valid");
        assert_eq!(p.stream, Stream::Stderr);
        assert!(!p.full);
        let empty = parse_line(b"2024-05-01T10:00:00Z stdout F").expect("valid");
        assert!(empty.text.is_empty());
        assert!(parse_line(b"garbage").is_none());
        assert!(parse_line(b"2024-05-01T10:00:00Z stdin F x").is_none());
    }
}
