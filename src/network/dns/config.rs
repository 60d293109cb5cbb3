//! The per-network files of the DNS directory: their text, and the changes
//! the engine makes to them (one container at a time, under the directory's
//! lock, each file replaced whole).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// The lock file that serialises writers of a directory.
pub(crate) const LOCK: &str = ".lock";

/// A container as the server knows it on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The container's id (the key entries are replaced and removed by).
    pub id: String,
    pub v4: Option<Ipv4Addr>,
    pub v6: Option<Ipv6Addr>,
    /// The container's name, then its aliases on the network.
    pub names: Vec<String>,
}

/// One network's file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkFile {
    /// Where the server listens for this network (its gateways).
    pub listen: Vec<IpAddr>,
    /// Where names that are not the network's are forwarded.
    pub upstream: Vec<IpAddr>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0:?} is not a network name skiff keeps DNS files for")]
    NetworkName(String),
    #[error("the DNS entry of container {id:?}: {why}")]
    Entry { id: String, why: &'static str },
    #[error("a network's DNS file needs at least one address to listen on")]
    NoListen,
    #[error("locking {path}: {source}")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}, line {line}: {why}")]
    Parse {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A network name usable as a file name of the directory: podman's rule
/// (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), which keeps dot files free for skiff.
pub(crate) fn is_network_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.len() <= 255
}

/// A token of the file: no blanks, no commas, not the `-` placeholder.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s != "-" && !s.contains(|c: char| c.is_whitespace() || c == ',')
}

impl Entry {
    fn check(&self) -> Result<(), ConfigError> {
        let bad = |why| {
            Err(ConfigError::Entry {
                id: self.id.clone(),
                why,
            })
        };
        if !is_token(&self.id) {
            return bad("the id is empty or holds blanks or commas");
        }
        if self.names.is_empty() {
            return bad("it has no name");
        }
        if !self.names.iter().all(|n| is_token(n) && n.len() <= 253) {
            return bad("a name is empty, too long, or holds blanks or commas");
        }
        Ok(())
    }
}

fn addrs<T: std::str::FromStr>(field: &str) -> Result<Vec<T>, String> {
    field
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("{s:?} is not an IP address")))
        .collect()
}

fn opt_addr<T: std::str::FromStr>(field: &str) -> Result<Option<T>, String> {
    match field {
        "-" => Ok(None),
        s => s
            .parse()
            .map(Some)
            .map_err(|_| format!("{s:?} is not an address of its kind")),
    }
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{item}");
    }
    out
}

impl NetworkFile {
    /// Parse a file's text; the error names the line (counted from 1).
    pub fn parse(text: &str) -> Result<NetworkFile, (usize, String)> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        let (_, head) = lines.next().ok_or((1, "the file is empty".to_string()))?;
        let (listen, upstream) = head.split_once(' ').unwrap_or((head, ""));
        let listen = addrs(listen).map_err(|e| (1, e))?;
        let upstream = addrs(upstream).map_err(|e| (1, e))?;
        if listen.is_empty() {
            return Err((1, "no address to listen on".to_string()));
        }
        let mut entries = Vec::new();
        for (n, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            let [id, v4, v6, names] = f[..] else {
                return Err((n, "expected: ID IPV4|- IPV6|- NAME[,ALIAS...]".to_string()));
            };
            entries.push(Entry {
                id: id.to_string(),
                v4: opt_addr(v4).map_err(|e| (n, e))?,
                v6: opt_addr(v6).map_err(|e| (n, e))?,
                names: names
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            });
        }
        Ok(NetworkFile {
            listen,
            upstream,
            entries,
        })
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut out = join(&self.listen);
        if !self.upstream.is_empty() {
            let _ = write!(out, " {}", join(&self.upstream));
        }
        out.push('\n');
        for e in &self.entries {
            let v4 = e.v4.map_or("-".to_string(), |a| a.to_string());
            let v6 = e.v6.map_or("-".to_string(), |a| a.to_string());
            let _ = writeln!(out, "{} {v4} {v6} {}", e.id, e.names.join(","));
        }
        out
    }

    /// Read the file at `path`; `None` when there is none.
    pub(crate) fn read(path: &Path) -> Result<Option<NetworkFile>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        NetworkFile::parse(&text)
            .map(Some)
            .map_err(|(line, why)| ConfigError::Parse {
                path: path.to_owned(),
                line,
                why,
            })
    }
}

/// Hold the directory's lock (exclusive) until the guard drops.
pub(crate) fn lock(dir: &Path) -> Result<Flock<File>, ConfigError> {
    let path = dir.join(LOCK);
    let err = |source| ConfigError::Lock {
        path: path.clone(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(err)?;
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| err(errno.into()))
}

/// Replace `path` with `text` (temp file in the same directory, renamed).
/// The directory lives under the run directory, which a reboot empties:
/// nothing is forced to disk.
fn replace(path: &Path, text: &str) -> Result<(), ConfigError> {
    let err = |source| ConfigError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(text.as_bytes()).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

fn network_path(dir: &Path, network: &str) -> Result<PathBuf, ConfigError> {
    if !is_network_name(network) {
        return Err(ConfigError::NetworkName(network.to_string()));
    }
    Ok(dir.join(network))
}

/// Add a container's entry to `network`'s file, or replace the entry with
/// the same id. A missing file is created with `listen` and `upstream`; an
/// existing one takes them too (the network's gateways and the resolvers
/// of the latest container win). The directory is made if missing.
pub fn add_entry(
    dir: &Path,
    network: &str,
    listen: &[IpAddr],
    upstream: &[IpAddr],
    entry: &Entry,
) -> Result<(), ConfigError> {
    let path = network_path(dir, network)?;
    entry.check()?;
    if listen.is_empty() {
        return Err(ConfigError::NoListen);
    }
    std::fs::create_dir_all(dir).map_err(|source| ConfigError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let _lock = lock(dir)?;
    let mut file = NetworkFile::read(&path)?.unwrap_or_default();
    file.listen = listen.to_vec();
    file.upstream = upstream.to_vec();
    match file.entries.iter_mut().find(|e| e.id == entry.id) {
        Some(old) => *old = entry.clone(),
        None => file.entries.push(entry.clone()),
    }
    replace(&path, &file.render())
}

/// Remove a container's entry from `network`'s file; the file goes with its
/// last entry. A missing file or entry is not an error.
pub fn remove_entry(dir: &Path, network: &str, id: &str) -> Result<(), ConfigError> {
    let path = network_path(dir, network)?;
    let _lock = lock(dir)?;
    let Some(mut file) = NetworkFile::read(&path)? else {
        return Ok(());
    };
    let before = file.entries.len();
    file.entries.retain(|e| e.id != id);
    if file.entries.len() == before {
        return Ok(());
    }
    if file.entries.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ConfigError::Write {
                path: path.clone(),
                source: e,
            }),
            _ => Ok(()),
        };
    }
    replace(&path, &file.render())
}

/// The network files of `dir`, by name; a file that does not parse is
/// left out with a warning (the server keeps serving the others).
pub(crate) fn read_dir(dir: &Path) -> io::Result<Vec<(String, NetworkFile)>> {
    let mut out = Vec::new();
    for dent in std::fs::read_dir(dir)? {
        let dent = dent?;
        let Some(name) = dent.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !is_network_name(&name) {
            continue;
        }
        match NetworkFile::read(&dent.path()) {
            Ok(Some(file)) if !file.entries.is_empty() => out.push((name, file)),
            Ok(_) => {}
            Err(e) => tracing::warn!("{e}"),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, v4: &str, names: &[&str]) -> Entry {
        Entry {
            id: id.to_string(),
            v4: v4.parse().ok(),
            v6: None,
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter()
            .map(|a| a.parse().expect("test address"))
            .collect()
    }

    #[test]
    fn text_round_trips() {
        let file = NetworkFile {
            listen: ips(&["10.89.0.1", "fd00:89::1"]),
            upstream: ips(&["10.0.0.53"]),
            entries: vec![
                Entry {
                    id: "aaaa".into(),
                    v4: Some(Ipv4Addr::new(10, 89, 0, 2)),
                    v6: Some("fd00:89::2".parse().expect("test address")),
                    names: vec!["web".into(), "www".into()],
                },
                entry("bbbb", "-", &["db"]),
            ],
        };
        let text = file.render();
        assert_eq!(
            text,
            "10.89.0.1,fd00:89::1 10.0.0.53\n\
             aaaa 10.89.0.2 fd00:89::2 web,www\n\
             bbbb - - db\n"
        );
        assert_eq!(NetworkFile::parse(&text), Ok(file));
    }

    #[test]
    fn no_upstream_leaves_the_field_out() {
        let file = NetworkFile {
            listen: ips(&["10.89.0.1"]),
            upstream: vec![],
            entries: vec![entry("a", "10.89.0.2", &["a"])],
        };
        assert_eq!(file.render(), "10.89.0.1\na 10.89.0.2 - a\n");
        assert_eq!(NetworkFile::parse(&file.render()), Ok(file));
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(NetworkFile::parse("").map_err(|e| e.0), Err(1));
        assert_eq!(NetworkFile::parse(" 10.0.0.1").map_err(|e| e.0), Err(1));
        assert_eq!(NetworkFile::parse("nope").map_err(|e| e.0), Err(1));
        assert_eq!(
            NetworkFile::parse("10.0.0.1\na 10.0.0.2 - a\nb 10.0.0.3 a\n").map_err(|e| e.0),
            Err(3)
        );
        assert_eq!(
            NetworkFile::parse("10.0.0.1\na ::1 - a\n").map_err(|e| e.0),
            Err(2)
        );
    }

    #[test]
    fn add_replaces_by_id_and_remove_drops_the_file_with_its_last_entry() {
        let dir = tempfile::tempdir().expect("temp dir");
        let listen = ips(&["10.89.0.1"]);
        add_entry(
            dir.path(),
            "n1",
            &listen,
            &[],
            &entry("a", "10.89.0.2", &["a"]),
        )
        .expect("add");
        add_entry(
            dir.path(),
            "n1",
            &listen,
            &[],
            &entry("b", "10.89.0.3", &["b"]),
        )
        .expect("add");
        let renamed = entry("a", "10.89.0.4", &["a2", "alias"]);
        add_entry(dir.path(), "n1", &listen, &ips(&["10.0.0.53"]), &renamed).expect("add");
        let text = std::fs::read_to_string(dir.path().join("n1")).expect("read");
        assert_eq!(
            text,
            "10.89.0.1 10.0.0.53\na 10.89.0.4 - a2,alias\nb 10.89.0.3 - b\n"
        );

        remove_entry(dir.path(), "n1", "a").expect("remove");
        remove_entry(dir.path(), "n1", "gone").expect("remove of a missing entry");
        remove_entry(dir.path(), "n2", "a").expect("remove from a missing file");
        assert!(dir.path().join("n1").exists());
        remove_entry(dir.path(), "n1", "b").expect("remove");
        assert!(!dir.path().join("n1").exists());
        // Only the lock is left: no temp files.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read dir")
            .map(|d| d.expect("entry").file_name())
            .collect();
        assert_eq!(left, [LOCK]);
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let listen = ips(&["10.89.0.1"]);
        let ok = entry("a", "10.89.0.2", &["a"]);
        for net in [".lock", "", "a/b", "-x"] {
            assert!(matches!(
                add_entry(dir.path(), net, &listen, &[], &ok),
                Err(ConfigError::NetworkName(_))
            ));
        }
        for bad in [
            entry("", "-", &["a"]),
            entry("a b", "-", &["a"]),
            entry("a", "-", &[]),
            entry("a", "-", &["x,y"]),
            entry("a", "-", &["-"]),
        ] {
            assert!(matches!(
                add_entry(dir.path(), "n", &listen, &[], &bad),
                Err(ConfigError::Entry { .. })
            ));
        }
        assert!(matches!(
            add_entry(dir.path(), "n", &[], &[], &ok),
            Err(ConfigError::NoListen)
        ));
        assert!(!dir.path().join("n").exists());
    }

    #[test]
    fn concurrent_adds_lose_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let dir = dir.path().to_owned();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let e = entry(&format!("c{t}-{i}"), "10.89.0.9", &[&format!("n{t}-{i}")]);
                        add_entry(&dir, "shared", &ips(&["10.89.0.1"]), &[], &e).expect("add");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("adding thread");
        }
        let file = NetworkFile::read(&dir.path().join("shared"))
            .expect("read")
            .expect("the file");
        assert_eq!(file.entries.len(), 8 * 25);
    }

    #[test]
    fn the_directory_lists_networks_with_entries_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let listen = ips(&["10.89.0.1"]);
        add_entry(dir.path(), "b", &listen, &[], &entry("x", "-", &["x"])).expect("add");
        add_entry(dir.path(), "a", &listen, &[], &entry("y", "-", &["y"])).expect("add");
        std::fs::write(dir.path().join("empty"), "10.89.0.1\n").expect("write");
        std::fs::write(dir.path().join("broken"), "what\n").expect("write");
        std::fs::write(dir.path().join(".server.pid"), "1 2 3\n").expect("write");
        let names: Vec<String> = read_dir(dir.path())
            .expect("read")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["a", "b"]);
    }
}
