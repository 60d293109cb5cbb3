//! Content digests (`sha256:<hex>`) and a writer/reader that computes one while
//! bytes stream through it.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A sha256 content digest. Other algorithms are rejected at parse time: every
/// registry and archive skiff talks to uses sha256.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestParseError {
    #[error("invalid digest {0:?}: expected sha256:<64 hex digits>")]
    Malformed(String),
    #[error("unsupported digest algorithm in {0:?}: only sha256 is supported")]
    Algorithm(String),
}

impl Digest {
    /// Digest of a byte slice.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_hasher(Sha256::new_with_prefix(bytes))
    }

    fn from_hasher(h: Sha256) -> Self {
        Self {
            hex: hex::encode(h.finalize()),
        }
    }

    /// Parse a bare 64-digit hex string.
    pub fn from_hex(hex: &str) -> Result<Self, DigestParseError> {
        if hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self {
                hex: hex.to_string(),
            })
        } else {
            Err(DigestParseError::Malformed(hex.to_string()))
        }
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    pub fn algorithm(&self) -> &'static str {
        "sha256"
    }
}

impl FromStr for Digest {
    type Err = DigestParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("sha256", hex)) => {
                Self::from_hex(hex).map_err(|_| DigestParseError::Malformed(s.to_string()))
            }
            Some((_, _)) => Err(DigestParseError::Algorithm(s.to_string())),
            None => Err(DigestParseError::Malformed(s.to_string())),
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Hashes everything written through it, counting bytes.
pub struct DigestWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> DigestWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// The digest of what went through, and the inner writer.
    pub fn finish(self) -> (Digest, W) {
        (Digest::from_hasher(self.hasher), self.inner)
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes everything read through it, counting bytes.
pub struct DigestReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> DigestReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            read: 0,
        }
    }

    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    pub fn finish(self) -> (Digest, R) {
        (Digest::from_hasher(self.hasher), self.inner)
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let d = Digest::of(b"");
        assert_eq!(
            d.to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(d.to_string().parse::<Digest>(), Ok(d));
    }

    #[test]
    fn rejects_bad_digests() {
        assert!("sha256:abc".parse::<Digest>().is_err());
        assert!(matches!(
            "sha512:00".parse::<Digest>(),
            Err(DigestParseError::Algorithm(_))
        ));
        assert!(
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                .parse::<Digest>()
                .is_err()
        );
        let upper = format!("sha256:{}", "A".repeat(64));
        assert!(upper.parse::<Digest>().is_err());
    }

    #[test]
    fn writer_and_reader_agree() {
        let mut w = DigestWriter::new(Vec::new());
        w.write_all(b"hello").expect("write to vec");
        let (dw, buf) = w.finish();
        let mut r = DigestReader::new(&buf[..]);
        io::copy(&mut r, &mut io::sink()).expect("read from slice");
        assert_eq!(r.bytes_read(), 5);
        assert_eq!(r.finish().0, dw);
        assert_eq!(dw, Digest::of(b"hello"));
    }
}
