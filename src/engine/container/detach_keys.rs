//! Detach keys: the input sequence that ends an attach session while the
//! container goes on running. The format is podman's and docker's
//! (`--detach-keys`): comma-separated keys, each a single character or
//! `ctrl-<c>` with `<c>` one of `a`-`z`, `@`, `[`, `\`, `]`, `^`, `_`; an
//! empty string disables detaching.

/// podman's default: ctrl-p then ctrl-q.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid detach keys {keys:?}: {why}")]
pub struct DetachKeysError {
    pub keys: String,
    pub why: String,
}

/// A parsed key sequence (empty: detaching is disabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachKeys(Vec<u8>);

impl Default for DetachKeys {
    fn default() -> Self {
        DetachKeys(vec![0x10, 0x11])
    }
}

fn key(k: &str) -> Option<u8> {
    if let Some(c) = k.strip_prefix("ctrl-") {
        let &[c] = c.as_bytes() else { return None };
        return match c.to_ascii_lowercase() {
            c @ b'a'..=b'z' => Some(c - b'a' + 1),
            b'@' => Some(0),
            b'[' => Some(27),
            b'\\' => Some(28),
            b']' => Some(29),
            b'^' => Some(30),
            b'_' => Some(31),
            _ => None,
        };
    }
    match k.as_bytes() {
        &[c] if c.is_ascii_graphic() => Some(c),
        _ => None,
    }
}

impl DetachKeys {
    /// No sequence detaches.
    pub fn disabled() -> DetachKeys {
        DetachKeys(Vec::new())
    }

    pub fn parse(text: &str) -> Result<DetachKeys, DetachKeysError> {
        if text.is_empty() {
            return Ok(DetachKeys::disabled());
        }
        text.split(',')
            .map(|k| {
                key(k).ok_or_else(|| DetachKeysError {
                    keys: text.to_string(),
                    why: format!(
                        "{k:?} is not a key: use a character or ctrl-<c> (a-z, @, [, \\, ], ^, _)"
                    ),
                })
            })
            .collect::<Result<_, _>>()
            .map(DetachKeys)
    }

    pub fn is_disabled(&self) -> bool {
        self.0.is_empty()
    }

    /// A matcher over an input stream.
    pub fn matcher(&self) -> DetachMatcher<'_> {
        DetachMatcher {
            keys: &self.0,
            held: 0,
        }
    }
}

/// Finds the sequence in input that arrives in pieces. Bytes that may start
/// the sequence are held back until it is clear whether they do.
pub struct DetachMatcher<'a> {
    keys: &'a [u8],
    held: usize,
}

impl DetachMatcher<'_> {
    /// Pass `input` through to `out`, less what may be part of the sequence;
    /// true when the sequence is complete (the rest of `input` is dropped).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> bool {
        if self.keys.is_empty() {
            out.extend_from_slice(input);
            return false;
        }
        for &b in input {
            if b != self.keys[self.held] {
                // The held bytes were input after all.
                out.extend_from_slice(&self.keys[..self.held]);
                self.held = 0;
                if b != self.keys[0] {
                    out.push(b);
                    continue;
                }
            }
            self.held += 1;
            if self.held == self.keys.len() {
                self.held = 0;
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_podman_syntax() {
        assert_eq!(
            DetachKeys::parse(DEFAULT_DETACH_KEYS),
            Ok(DetachKeys::default())
        );
        assert_eq!(
            DetachKeys::parse("ctrl-a,x,ctrl-@,ctrl-_,ctrl-["),
            Ok(DetachKeys(vec![1, b'x', 0, 31, 27]))
        );
        assert_eq!(
            DetachKeys::parse("ctrl-P,ctrl-Q"),
            Ok(DetachKeys::default())
        );
        assert!(DetachKeys::parse("").expect("empty").is_disabled());
        for bad in ["ctrl-", "ctrl-ab", "ctrl-1", "ab", "ctrl-p,", " "] {
            assert!(DetachKeys::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn finds_the_sequence_across_reads() {
        let keys = DetachKeys::default();
        let mut m = keys.matcher();
        let mut out = Vec::new();
        assert!(!m.feed(b"ls\x10", &mut out));
        assert_eq!(out, b"ls", "ctrl-p is held back");
        assert!(m.feed(b"\x11after", &mut out));
        assert_eq!(out, b"ls");
    }

    #[test]
    fn releases_what_was_not_the_sequence() {
        let keys = DetachKeys::default();
        let mut m = keys.matcher();
        let mut out = Vec::new();
        assert!(!m.feed(b"\x10x", &mut out));
        assert_eq!(out, b"\x10x");
        out.clear();
        assert!(m.feed(b"\x10\x10\x11", &mut out), "a repeated first key");
        assert_eq!(out, b"\x10");
        let none = DetachKeys::disabled();
        let mut m = none.matcher();
        out.clear();
        assert!(!m.feed(b"\x10\x11", &mut out));
        assert_eq!(out, b"\x10\x11");
    }
}
