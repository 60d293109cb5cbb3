//! Container output in the k8s-file format (the CRI logging format) with
//! conmon's size limit: one record per line,
//! `<RFC 3339 local time, nanoseconds> <stdout|stderr> <F|P> <text>\n`,
//! `P` marking a chunk of output that did not end a line.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sys::{local_time, LocalTime};

/// A container output stream. The value is the one-byte prefix of the
/// attach protocol (conmon's STDOUT_PIPE and STDERR_PIPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 2,
    Stderr = 3,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// What happens when the log reaches `--log-size-max` (or is asked to reopen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// conmon's default: start over with an empty file at the same path.
    Truncate,
    /// `--log-rotate`: keep this many old files as PATH.1 (newest) .. PATH.N.
    Keep(u32),
}

/// `2024-05-06T07:08:09.123456789+02:00`, as conmon writes it (local time
/// with a numeric offset, always nine digits of nanoseconds).
pub fn format_timestamp(t: &LocalTime, nanos: u32) -> String {
    let (sign, off) = if t.utc_offset < 0 {
        ('-', -t.utc_offset)
    } else {
        ('+', t.utc_offset)
    };
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}{}{:02}:{:02}",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        nanos,
        sign,
        off / 3600,
        (off % 3600) / 60
    )
}

pub fn timestamp_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(now.as_secs()).unwrap_or(0);
    format_timestamp(&local_time(secs), now.subsec_nanos())
}

/// Split a chunk of output into lines; the last one is partial (`true`)
/// when the chunk does not end with a newline.
pub fn lines(buf: &[u8]) -> impl Iterator<Item = (&[u8], bool)> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let (line, tail) = rest.split_at(i + 1);
                rest = tail;
                Some((line, false))
            }
            None => Some((std::mem::take(&mut rest), true)),
        }
    })
}

/// Append one record for `line` (which ends with its newline unless partial).
pub fn append_record(out: &mut Vec<u8>, ts: &str, stream: Stream, line: &[u8], partial: bool) {
    out.extend_from_slice(ts.as_bytes());
    out.push(b' ');
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(if partial { b" P " } else { b" F " });
    out.extend_from_slice(line);
    if partial {
        out.push(b'\n');
    }
}

/// An open k8s-file log.
pub struct K8sFile {
    path: PathBuf,
    file: File,
    /// Bytes in the current file.
    written: u64,
    /// Bytes written over the monitor's life (for `--log-global-size-max`).
    total: u64,
    size_max: Option<u64>,
    global_max: Option<u64>,
    rotation: Rotation,
    out: Vec<u8>,
}

fn open_log(path: &Path, truncate: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    o.create(true).mode(0o640).open(path)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

impl K8sFile {
    pub fn open(
        path: &Path,
        size_max: Option<u64>,
        global_max: Option<u64>,
        rotation: Rotation,
    ) -> io::Result<K8sFile> {
        let file = open_log(path, false)?;
        let written = file.metadata()?.len();
        Ok(K8sFile {
            path: path.to_path_buf(),
            file,
            written,
            total: written,
            size_max,
            global_max,
            rotation,
            out: Vec::with_capacity(8192 + 256),
        })
    }

    /// Log a chunk of output read from `stream`, stamped now.
    pub fn write(&mut self, stream: Stream, buf: &[u8]) -> io::Result<()> {
        self.write_stamped(&timestamp_now(), stream, buf)
    }

    /// Log a chunk with the given timestamp: every line of one chunk gets
    /// the same one, as in conmon.
    pub fn write_stamped(&mut self, ts: &str, stream: Stream, buf: &[u8]) -> io::Result<()> {
        self.out.clear();
        let mut result = Ok(());
        for (line, partial) in lines(buf) {
            if self.global_max.is_some_and(|max| self.total >= max) {
                break;
            }
            let len =
                (ts.len() + stream.name().len() + 4 + line.len() + usize::from(partial)) as u64;
            if self.size_max.is_some_and(|max| self.written + len > max) {
                result = result.and(self.flush());
                result = result.and(self.reopen());
            }
            append_record(&mut self.out, ts, stream, line, partial);
            self.written += len;
            self.total += len;
        }
        result.and(self.flush())
    }

    fn flush(&mut self) -> io::Result<()> {
        let res = self.file.write_all(&self.out);
        self.out.clear();
        res
    }

    /// Start a new file at the log path: truncate (conmon's default), or
    /// shift the old ones with `--log-rotate`. Also what a `2` line on the
    /// ctl FIFO asks for, after a log collector moved the file away.
    pub fn reopen(&mut self) -> io::Result<()> {
        match self.rotation {
            Rotation::Truncate => {
                // Create the new file beside the old one and rename it over,
                // so a reader never finds the path missing.
                let tmp = with_suffix(&self.path, ".tmp");
                let file = open_log(&tmp, true)?;
                std::fs::rename(&tmp, &self.path)?;
                self.file = file;
            }
            Rotation::Keep(n) => {
                for i in (2..=n).rev() {
                    let from = with_suffix(&self.path, &format!(".{}", i - 1));
                    let to = with_suffix(&self.path, &format!(".{i}"));
                    match std::fs::rename(&from, &to) {
                        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    }
                }
                match std::fs::rename(&self.path, with_suffix(&self.path, ".1")) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                self.file = open_log(&self.path, true)?;
            }
        }
        self.written = 0;
        Ok(())
    }

    /// fsync(2) the log (skipped with `--no-sync-log`).
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: &str = "2024-05-06T07:08:09.000000042+02:00";

    fn records(stream: Stream, buf: &[u8]) -> String {
        let mut out = Vec::new();
        for (line, partial) in lines(buf) {
            append_record(&mut out, TS, stream, line, partial);
        }
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn full_and_partial_lines() {
        assert_eq!(
            records(Stream::Stdout, b"out\n"),
            format!("{TS} stdout F out\n")
        );
        assert_eq!(
            records(Stream::Stderr, b"a\nb\npart"),
            format!("{TS} stderr F a\n{TS} stderr F b\n{TS} stderr P part\n")
        );
        assert_eq!(records(Stream::Stdout, b"\n"), format!("{TS} stdout F \n"));
        assert_eq!(
            records(Stream::Stdout, b"tty\r\n"),
            format!("{TS} stdout F tty\r\n"),
            "a pty's carriage return stays in the text, as conmon records it"
        );
        assert_eq!(records(Stream::Stdout, b""), "");
    }

    #[test]
    fn timestamps() {
        let t = LocalTime {
            year: 2024,
            month: 5,
            day: 6,
            hour: 7,
            minute: 8,
            second: 9,
            utc_offset: 7200,
        };
        assert_eq!(format_timestamp(&t, 42), TS);
        let utc = LocalTime { utc_offset: 0, ..t };
        assert_eq!(
            format_timestamp(&utc, 999_999_999),
            "2024-05-06T07:08:09.999999999+00:00"
        );
        let west = LocalTime {
            utc_offset: -(3 * 3600 + 30 * 60),
            ..t
        };
        assert_eq!(
            format_timestamp(&west, 0),
            "2024-05-06T07:08:09.000000000-03:30"
        );
        // The header is as long as conmon's (TSBUFLEN - 1 + "F "): 45 bytes.
        let now = timestamp_now();
        assert_eq!(now.len(), 35, "{now}");
        assert_eq!(format!("{now} stdout F ").len(), 45);
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn appends_to_an_existing_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ctr.log");
        std::fs::write(&path, "old\n").expect("write");
        let mut log = K8sFile::open(&path, None, None, Rotation::Truncate).expect("open");
        log.write_stamped(TS, Stream::Stdout, b"new\n")
            .expect("write");
        assert_eq!(read(&path), format!("old\n{TS} stdout F new\n"));
    }

    #[test]
    fn truncates_past_the_size_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ctr.log");
        // Each record of a 4-byte line is 45 + 4 = 49 bytes: two fit in 100.
        let mut log = K8sFile::open(&path, Some(100), None, Rotation::Truncate).expect("open");
        log.write_stamped(TS, Stream::Stdout, b"aaa\nbbb\n")
            .expect("write");
        assert_eq!(read(&path).lines().count(), 2);
        log.write_stamped(TS, Stream::Stdout, b"ccc\n")
            .expect("write");
        assert_eq!(read(&path), format!("{TS} stdout F ccc\n"));
        assert!(!dir.path().join("ctr.log.tmp").exists());
        // The limit also applies in the middle of one chunk.
        log.write_stamped(TS, Stream::Stdout, b"ddd\neee\nfff\n")
            .expect("write");
        assert_eq!(
            read(&path),
            format!("{TS} stdout F eee\n{TS} stdout F fff\n")
        );
    }

    #[test]
    fn rotates_keeping_old_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ctr.log");
        let mut log = K8sFile::open(&path, Some(60), None, Rotation::Keep(2)).expect("open");
        for line in [&b"one\n"[..], b"two\n", b"three\n", b"four\n"] {
            log.write_stamped(TS, Stream::Stderr, line).expect("write");
        }
        assert_eq!(read(&path), format!("{TS} stderr F four\n"));
        assert_eq!(
            read(&dir.path().join("ctr.log.1")),
            format!("{TS} stderr F three\n")
        );
        assert_eq!(
            read(&dir.path().join("ctr.log.2")),
            format!("{TS} stderr F two\n")
        );
        assert!(
            !dir.path().join("ctr.log.3").exists(),
            "only two old files are kept"
        );
    }

    #[test]
    fn reopen_starts_a_new_file_after_the_old_one_moved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ctr.log");
        let mut log = K8sFile::open(&path, None, None, Rotation::Truncate).expect("open");
        log.write_stamped(TS, Stream::Stdout, b"before\n")
            .expect("write");
        std::fs::rename(&path, dir.path().join("moved")).expect("rename");
        log.reopen().expect("reopen");
        log.write_stamped(TS, Stream::Stdout, b"after\n")
            .expect("write");
        assert_eq!(
            read(&dir.path().join("moved")),
            format!("{TS} stdout F before\n")
        );
        assert_eq!(read(&path), format!("{TS} stdout F after\n"));
    }

    #[test]
    fn global_limit_stops_logging() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ctr.log");
        let mut log = K8sFile::open(&path, None, Some(60), Rotation::Truncate).expect("open");
        log.write_stamped(TS, Stream::Stdout, b"one\ntwo\nthree\n")
            .expect("write");
        log.write_stamped(TS, Stream::Stdout, b"four\n")
            .expect("write");
        assert_eq!(
            read(&path),
            format!("{TS} stdout F one\n{TS} stdout F two\n")
        );
    }
}
