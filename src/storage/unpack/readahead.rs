//! Reading the layer stream on a second thread while the first one writes
//! files: decompression (and any digest computed by the caller's reader)
//! overlaps with file creation instead of alternating with it. The thread
//! is scoped: it never outlives the unpack.

use std::io::{self, Read};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};

/// Bytes per chunk handed across.
const CHUNK: usize = 256 << 10;
/// Chunks in flight; with the two being filled and read, about 2.5 MiB.
const DEPTH: usize = 8;

type Chunk = (Vec<u8>, usize);

/// The consuming side: yields the bytes of the source, in order.
pub(super) struct ReadAhead {
    rx: Receiver<io::Result<Chunk>>,
    /// Emptied buffers go back to the reading thread.
    back: Sender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    len: usize,
}

/// Run `f` with a reader of `src` whose reading happens on another thread.
pub(super) fn with_read_ahead<R, T>(src: R, f: impl FnOnce(&mut ReadAhead) -> T) -> T
where
    R: Read + Send,
{
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<io::Result<Chunk>>(DEPTH);
        let (back, back_rx) = channel::<Vec<u8>>();
        s.spawn(move || produce(src, &tx, &back_rx));
        let mut reader = ReadAhead {
            rx,
            back,
            cur: Vec::new(),
            pos: 0,
            len: 0,
        };
        // `reader` is dropped when this closure returns, before the scope
        // joins the thread, so a thread blocked on a full channel wakes up
        // (its send fails) even when `f` gave up early.
        f(&mut reader)
    })
}

fn produce<R: Read>(
    mut src: R,
    tx: &std::sync::mpsc::SyncSender<io::Result<Chunk>>,
    back: &Receiver<Vec<u8>>,
) {
    loop {
        let mut buf = back.try_recv().unwrap_or_else(|_| vec![0; CHUNK]);
        let mut filled = 0;
        let mut eof = false;
        while filled < buf.len() {
            match src.read(&mut buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if filled > 0 && tx.send(Ok((buf, filled))).is_err() {
            return; // the unpack stopped
        }
        if eof {
            return;
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.len {
            if !self.cur.is_empty() {
                // The thread may be gone already; then the buffer just drops.
                let _ = self.back.send(std::mem::take(&mut self.cur));
            }
            match self.rx.recv() {
                Ok(Ok((buf, len))) => {
                    self.cur = buf;
                    self.pos = 0;
                    self.len = len;
                }
                Ok(Err(e)) => return Err(e),
                // The thread finished: end of stream.
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_every_byte_in_order() {
        let data: Vec<u8> = (0..(3 * CHUNK + 123) as u32)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut out = Vec::new();
        with_read_ahead(io::Cursor::new(&data), |r| r.read_to_end(&mut out)).expect("read");
        assert_eq!(out, data);
    }

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("network gone"))
        }
    }

    #[test]
    fn errors_come_through_and_early_stops_do_not_hang() {
        let err = with_read_ahead(Failing, |r| r.read(&mut [0; 10])).expect_err("error");
        assert_eq!(err.to_string(), "network gone");
        // The consumer reads one byte of a long stream and stops.
        let endless = io::repeat(7);
        let mut one = [0u8; 1];
        with_read_ahead(endless, |r| r.read_exact(&mut one)).expect("one byte");
        assert_eq!(one, [7]);
    }
}
