//! Layer compression: detect gzip or zstd from a stream's first bytes (or a
//! layer media type), wrap a reader in the matching decompressor, and build
//! compressors for pushing and saving images.

use std::fmt;
use std::io::{self, Read, Write};

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// gzip member header (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// zstd frame (RFC 8878), little-endian 0xFD2FB528.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Bytes needed to tell the formats apart.
const MAGIC_LEN: usize = 4;

impl Compression {
    /// Judge from the first bytes of a blob. Fewer than four bytes, or bytes
    /// of neither format, mean uncompressed.
    pub fn from_magic(head: &[u8]) -> Self {
        if head.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if head.starts_with(&ZSTD_MAGIC) || is_zstd_skippable(head) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// Judge from a layer media type: OCI `...layer.v1.tar`, `+gzip`,
    /// `+zstd` (and their nondistributable forms), Docker
    /// `...rootfs.diff.tar.gzip` and `...rootfs.foreign.diff.tar.gzip`.
    /// `None` for a media type that is not a tar layer.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        // Parameters (`; charset=...`) never change the compression.
        let mt = media_type.split(';').next().unwrap_or_default().trim();
        let (base, suffix) = match mt.rfind(['+', '.']) {
            Some(i) => (&mt[..i], &mt[i + 1..]),
            None => return None,
        };
        match suffix {
            "tar" => Some(Compression::None),
            "gzip" | "gz" if base.ends_with("tar") => Some(Compression::Gzip),
            "zstd" | "zst" if base.ends_with("tar") => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// The OCI layer media type for a layer compressed this way.
    pub fn oci_layer_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

/// zstd skippable frames (magic 0x184D2A50..=0x184D2A5F) may open a stream.
fn is_zstd_skippable(head: &[u8]) -> bool {
    head.len() >= 4 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18]
}

#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    #[error("reading the start of the layer stream: {source}")]
    Peek {
        #[source]
        source: io::Error,
    },
    #[error("starting the {compression} decoder: {source}")]
    Decoder {
        compression: Compression,
        #[source]
        source: io::Error,
    },
}

/// A reader whose first bytes were peeked at: those bytes, then the rest.
pub type Peeked<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// Read the first bytes of `reader` to detect its compression, and give
/// back a reader that still yields every byte.
pub fn detect<R: Read>(mut reader: R) -> io::Result<(Compression, Peeked<R>)> {
    let mut head = [0u8; MAGIC_LEN];
    let mut n = 0;
    while n < MAGIC_LEN {
        match reader.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let compression = Compression::from_magic(&head[..n]);
    Ok((
        compression,
        io::Cursor::new(head[..n].to_vec()).chain(reader),
    ))
}

/// Wrap `reader` in the decompressor its first bytes call for (none for a
/// plain tar).
pub fn decompress<R>(reader: R) -> Result<Box<dyn Read + Send>, DecompressError>
where
    R: Read + Send + 'static,
{
    decompress_hinted(reader, None)
}

/// Like [`decompress`], with the media type the manifest gave. The bytes win
/// when the two disagree (registries have served gzip under a `tar` type);
/// the disagreement is logged.
pub fn decompress_hinted<R>(
    reader: R,
    media_type: Option<&str>,
) -> Result<Box<dyn Read + Send>, DecompressError>
where
    R: Read + Send + 'static,
{
    let (found, reader) = detect(reader).map_err(|source| DecompressError::Peek { source })?;
    if let Some(mt) = media_type {
        match Compression::from_media_type(mt) {
            Some(said) if said != found => {
                tracing::warn!(
                    media_type = mt,
                    "layer says {said} but its content is {found}; using {found}"
                );
            }
            None => tracing::debug!(
                media_type = mt,
                "unknown layer media type; content is {found}"
            ),
            _ => {}
        }
    }
    decoder(found, reader)
}

/// The decoder for a known compression.
pub fn decoder<R>(
    compression: Compression,
    reader: R,
) -> Result<Box<dyn Read + Send>, DecompressError>
where
    R: Read + Send + 'static,
{
    Ok(match compression {
        Compression::None => Box::new(reader),
        // A layer may hold several gzip members (pigz, concatenated
        // streams); read them all, as `gzip -d` does.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(reader).map_err(|source| {
                DecompressError::Decoder {
                    compression,
                    source,
                }
            })?)
        }
    })
}

/// A compressing writer; call [`Compressor::finish`] to write the trailer and
/// get the inner writer back (dropping it without finishing truncates the
/// stream).
pub enum Compressor<W: Write> {
    None(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

/// Compression level, mapped onto each format's own scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    Fast,
    #[default]
    Default,
    Best,
}

/// Start compressing into `writer` at the default level.
pub fn compress<W: Write>(writer: W, compression: Compression) -> io::Result<Compressor<W>> {
    compress_with_level(writer, compression, Level::Default)
}

/// Start compressing into `writer`.
pub fn compress_with_level<W: Write>(
    writer: W,
    compression: Compression,
    level: Level,
) -> io::Result<Compressor<W>> {
    Ok(match compression {
        Compression::None => Compressor::None(writer),
        Compression::Gzip => {
            let lvl = match level {
                Level::Fast => flate2::Compression::fast(),
                Level::Default => flate2::Compression::default(),
                Level::Best => flate2::Compression::best(),
            };
            Compressor::Gzip(flate2::write::GzEncoder::new(writer, lvl))
        }
        Compression::Zstd => {
            let lvl = match level {
                Level::Fast => 1,
                Level::Default => zstd::DEFAULT_COMPRESSION_LEVEL,
                Level::Best => 19,
            };
            Compressor::Zstd(zstd::stream::write::Encoder::new(writer, lvl)?)
        }
    })
}

impl<W: Write> Compressor<W> {
    /// Flush what is buffered, write the format's trailer and return the
    /// inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Compressor::None(mut w) => {
                w.flush()?;
                Ok(w)
            }
            Compressor::Gzip(enc) => enc.finish(),
            Compressor::Zstd(enc) => enc.finish(),
        }
    }

    pub fn compression(&self) -> Compression {
        match self {
            Compressor::None(_) => Compression::None,
            Compressor::Gzip(_) => Compression::Gzip,
            Compressor::Zstd(_) => Compression::Zstd,
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::None(w) => w.write(buf),
            Compressor::Gzip(w) => w.write(buf),
            Compressor::Zstd(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Compressor::None(w) => w.write_all(buf),
            Compressor::Gzip(w) => w.write_all(buf),
            Compressor::Zstd(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::None(w) => w.flush(),
            Compressor::Gzip(w) => w.flush(),
            Compressor::Zstd(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(c: Compression) {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut enc = compress_with_level(Vec::new(), c, Level::Fast).expect("compressor");
        enc.write_all(&data).expect("write");
        assert_eq!(enc.compression(), c);
        let blob = enc.finish().expect("finish");
        assert_eq!(Compression::from_magic(&blob), c);
        let mut out = Vec::new();
        decompress(io::Cursor::new(blob))
            .expect("decoder")
            .read_to_end(&mut out)
            .expect("read");
        assert_eq!(out, data);
    }

    #[test]
    fn roundtrips_each_format() {
        roundtrip(Compression::None);
        roundtrip(Compression::Gzip);
        roundtrip(Compression::Zstd);
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(
            Compression::from_magic(&[0x1f, 0x8b, 8, 0]),
            Compression::Gzip
        );
        assert_eq!(Compression::from_magic(&ZSTD_MAGIC), Compression::Zstd);
        assert_eq!(
            Compression::from_magic(&[0x5e, 0x2a, 0x4d, 0x18]),
            Compression::Zstd
        );
        assert_eq!(Compression::from_magic(b"etc/"), Compression::None);
        assert_eq!(Compression::from_magic(&[0x1f]), Compression::None);
        assert_eq!(Compression::from_magic(&[]), Compression::None);
    }

    #[test]
    fn media_types() {
        let cases = [
            (
                "application/vnd.oci.image.layer.v1.tar",
                Some(Compression::None),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+gzip",
                Some(Compression::Gzip),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+zstd",
                Some(Compression::Zstd),
            ),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                Some(Compression::Gzip),
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                Some(Compression::Gzip),
            ),
            (
                "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                Some(Compression::Gzip),
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar",
                Some(Compression::None),
            ),
            ("application/vnd.oci.image.config.v1+json", None),
            ("application/gzip", None),
            ("tar", None),
        ];
        for (mt, want) in cases {
            assert_eq!(Compression::from_media_type(mt), want, "{mt}");
        }
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            assert_eq!(
                Compression::from_media_type(c.oci_layer_media_type()),
                Some(c)
            );
        }
    }

    /// A reader that hands out one byte per call, to prove the peek keeps
    /// every byte.
    struct Trickle(io::Cursor<Vec<u8>>);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn bytes_win_over_media_type_and_nothing_is_lost() {
        let mut enc = compress(Vec::new(), Compression::Gzip).expect("compressor");
        enc.write_all(b"hello layer").expect("write");
        let blob = enc.finish().expect("finish");
        let mut out = String::new();
        decompress_hinted(
            Trickle(io::Cursor::new(blob)),
            Some("application/vnd.oci.image.layer.v1.tar"),
        )
        .expect("decoder")
        .read_to_string(&mut out)
        .expect("read");
        assert_eq!(out, "hello layer");

        // Short uncompressed input comes back whole.
        let mut out = Vec::new();
        decompress(Trickle(io::Cursor::new(b"ab".to_vec())))
            .expect("decoder")
            .read_to_end(&mut out)
            .expect("read");
        assert_eq!(out, b"ab");
    }
}
