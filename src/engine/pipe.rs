//! An in-process pipe of byte chunks between two threads, so a layer is
//! unpacked while it downloads: the download side writes (and also stores the
//! compressed blob), the unpack side reads.

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Chunks in flight between writer and reader.
const DEPTH: usize = 32;

pub struct PipeWriter {
    tx: Option<SyncSender<Vec<u8>>>,
}

pub struct PipeReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

pub fn pipe() -> (PipeWriter, PipeReader) {
    let (tx, rx) = sync_channel(DEPTH);
    (
        PipeWriter { tx: Some(tx) },
        PipeReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        },
    )
}

impl Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| io::Error::from(io::ErrorKind::BrokenPipe))?;
        tx.send(buf.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the reading side stopped"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PipeWriter {
    /// Signal end of stream to the reader.
    pub fn close(&mut self) {
        self.tx = None;
    }
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.chunk.len() {
            match self.rx.recv() {
                Ok(c) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Writes everything to two writers.
pub struct Tee<'a, A, B> {
    pub a: &'a mut A,
    pub b: &'a mut B,
}

impl<A: Write, B: Write> Write for Tee<'_, A, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.a.write_all(buf)?;
        self.b.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.a.flush()?;
        self.b.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_bytes_across_threads() {
        let (mut w, mut r) = pipe();
        let t = std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).expect("read");
            v
        });
        for i in 0..100u8 {
            w.write_all(&[i; 1000]).expect("write");
        }
        w.close();
        let v = t.join().expect("join");
        assert_eq!(v.len(), 100_000);
        assert_eq!(v[99_999], 99);
    }

    #[test]
    fn writer_fails_when_reader_is_gone() {
        let (mut w, r) = pipe();
        drop(r);
        assert_eq!(
            w.write(b"x").expect_err("broken").kind(),
            io::ErrorKind::BrokenPipe
        );
    }
}
