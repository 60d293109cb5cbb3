//! Id mappings of a user namespace: which ids inside (the container's) are
//! which ids outside (the caller's: the host's for root, the rootless user
//! namespace's for a normal user). The spec writes them into config.json,
//! the store shifts the owners of a layer copy through them, and a container
//! record keeps the ones it was created with.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// One contiguous range: `size` ids from `container` inside are those from
/// `host` outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid id mapping {text:?}: {why}")]
pub struct IdMapError {
    pub text: String,
    pub why: &'static str,
}

impl IdMap {
    /// `CONTAINER:HOST:SIZE`, as `--uidmap` and `--gidmap` take it.
    pub fn parse(text: &str) -> Result<IdMap, IdMapError> {
        let err = |why| IdMapError {
            text: text.to_string(),
            why,
        };
        let parts: Vec<&str> = text.split(':').collect();
        let [c, h, s] = parts[..] else {
            return Err(err("give CONTAINER_ID:HOST_ID:SIZE"));
        };
        if [c, h].iter().any(|p| p.starts_with(['+', '@'])) {
            return Err(err(
                "the '+' and '@' prefixes are not supported: give plain ids",
            ));
        }
        let num = |p: &str| {
            p.parse::<u32>()
                .map_err(|_| err("ids and size must be numbers"))
        };
        let map = IdMap {
            container: num(c)?,
            host: num(h)?,
            size: num(s)?,
        };
        if map.size == 0 {
            return Err(err("the size must be at least 1"));
        }
        if map.container.checked_add(map.size - 1).is_none()
            || map.host.checked_add(map.size - 1).is_none()
        {
            return Err(err("the range goes past the largest id"));
        }
        Ok(map)
    }

    fn host_end(self) -> u64 {
        u64::from(self.host) + u64::from(self.size)
    }

    fn container_end(self) -> u64 {
        u64::from(self.container) + u64::from(self.size)
    }
}

impl std::fmt::Display for IdMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.container, self.host, self.size)
    }
}

/// The outside id of inside id `id`, if the maps cover it.
pub fn to_host(maps: &[IdMap], id: u32) -> Option<u32> {
    maps.iter()
        .find(|m| u64::from(id) >= u64::from(m.container) && u64::from(id) < m.container_end())
        .map(|m| m.host + (id - m.container))
}

/// The inside id of outside id `id`, if the maps cover it.
pub fn to_container(maps: &[IdMap], id: u32) -> Option<u32> {
    maps.iter()
        .find(|m| u64::from(id) >= u64::from(m.host) && u64::from(id) < m.host_end())
        .map(|m| m.container + (id - m.host))
}

/// Why a set of maps cannot be a user namespace's.
pub fn check(maps: &[IdMap], what: &str) -> Result<(), String> {
    if maps.is_empty() {
        return Err(format!("no {what} mapping"));
    }
    if maps.len() > 340 {
        return Err(format!("more than 340 {what} ranges"));
    }
    for (i, a) in maps.iter().enumerate() {
        for b in &maps[i + 1..] {
            if u64::from(a.container) < b.container_end()
                && u64::from(b.container) < a.container_end()
            {
                return Err(format!(
                    "{what} ranges {a} and {b} overlap inside the container"
                ));
            }
            if u64::from(a.host) < b.host_end() && u64::from(b.host) < a.host_end() {
                return Err(format!("{what} ranges {a} and {b} overlap outside it"));
            }
        }
    }
    Ok(())
}

/// The uid and gid maps of a user namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMappings {
    pub uids: Vec<IdMap>,
    pub gids: Vec<IdMap>,
}

impl IdMappings {
    /// The outside (uid, gid) of the container's root, if it is mapped.
    pub fn root(&self) -> Option<(u32, u32)> {
        Some((to_host(&self.uids, 0)?, to_host(&self.gids, 0)?))
    }

    /// A short name that differs when the mappings differ (for caches of
    /// files shifted through them).
    pub fn key(&self) -> String {
        let text = format!("{self}");
        let digest = Sha256::digest(text.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `CONTAINER:HOST:SIZE` lists, as inspect shows them.
    pub fn uid_texts(&self) -> Vec<String> {
        self.uids.iter().map(ToString::to_string).collect()
    }

    pub fn gid_texts(&self) -> Vec<String> {
        self.gids.iter().map(ToString::to_string).collect()
    }
}

impl std::fmt::Display for IdMappings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "uid {} gid {}",
            self.uid_texts().join(","),
            self.gid_texts().join(",")
        )
    }
}

/// The ranges of a /proc/PID/uid_map (or gid_map) text.
pub fn parse_proc_map(text: &str) -> Vec<IdMap> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<u32> = l
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            (f.len() == 3).then(|| IdMap {
                container: f[0],
                host: f[1],
                size: f[2],
            })
        })
        .collect()
}

/// How many ids a /proc/PID/uid_map (or gid_map) text maps, counted from 0
/// (the rootless user namespace maps 0..N contiguously).
pub fn proc_map_len(text: &str) -> u32 {
    parse_proc_map(text)
        .iter()
        .map(|m| m.container_end())
        .max()
        .unwrap_or(0)
        .min(u64::from(u32::MAX)) as u32
}

/// podman's `--userns=keep-id` map for one kind of id in a namespace of
/// `available` ids (0..available, 0 being the user): the user is `inside`
/// in the container, the ids below it come from 1 up, the rest follow.
pub fn keep_id(inside: u32, available: u32) -> Vec<IdMap> {
    let mut out = Vec::new();
    let below = inside.min(available.saturating_sub(1));
    if below > 0 {
        out.push(IdMap {
            container: 0,
            host: 1,
            size: below,
        });
    }
    out.push(IdMap {
        container: inside,
        host: 0,
        size: 1,
    });
    let rest = available.saturating_sub(1 + below);
    if rest > 0 && inside.checked_add(1).is_some() {
        out.push(IdMap {
            container: inside + 1,
            host: below + 1,
            size: rest.min(u32::MAX - inside),
        });
    }
    out
}

/// podman's `--userns=nomap`: every id of the namespace but the user's own,
/// from 0 up.
pub fn no_map(available: u32) -> Vec<IdMap> {
    if available <= 1 {
        return Vec::new();
    }
    vec![IdMap {
        container: 0,
        host: 1,
        size: available - 1,
    }]
}

/// The first `size` ids of `pool` (outside ranges) that no range in `used`
/// touches.
pub fn first_free(pool: &[(u32, u32)], used: &[(u32, u32)], size: u32) -> Option<u32> {
    let mut used: Vec<(u64, u64)> = used
        .iter()
        .map(|&(s, n)| (u64::from(s), u64::from(s) + u64::from(n)))
        .collect();
    used.sort_unstable();
    for &(start, count) in pool {
        let end = u64::from(start) + u64::from(count);
        let mut at = u64::from(start);
        for &(us, ue) in &used {
            if ue <= at || us >= end {
                continue;
            }
            if us >= at + u64::from(size) {
                break;
            }
            at = at.max(ue);
        }
        if at + u64::from(size) <= end {
            return u32::try_from(at).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(container: u32, host: u32, size: u32) -> IdMap {
        IdMap {
            container,
            host,
            size,
        }
    }

    #[test]
    fn parses_podman_syntax() {
        assert_eq!(IdMap::parse("0:100000:65536"), Ok(m(0, 100000, 65536)));
        assert!(IdMap::parse("0:1").is_err());
        assert!(IdMap::parse("0:1:0").is_err());
        assert!(IdMap::parse("a:1:2").is_err());
        assert!(IdMap::parse("+0:1:2").is_err());
        assert!(IdMap::parse("4294967295:0:2").is_err());
    }

    #[test]
    fn maps_ids_through_ranges() {
        let maps = [m(0, 1, 1000), m(1000, 0, 1)];
        assert_eq!(to_host(&maps, 0), Some(1));
        assert_eq!(to_host(&maps, 999), Some(1000));
        assert_eq!(to_host(&maps, 1000), Some(0));
        assert_eq!(to_host(&maps, 1001), None);
        assert_eq!(to_container(&maps, 0), Some(1000));
        assert_eq!(to_container(&maps, 1000), Some(999));
        assert_eq!(to_container(&maps, 1001), None);
    }

    #[test]
    fn overlapping_ranges_are_refused() {
        assert!(check(&[m(0, 1, 10), m(5, 100, 10)], "uid").is_err());
        assert!(check(&[m(0, 1, 10), m(10, 5, 10)], "uid").is_err());
        assert!(check(&[m(0, 1, 10), m(10, 11, 10)], "uid").is_ok());
        assert!(check(&[], "uid").is_err());
    }

    #[test]
    fn keep_id_puts_the_user_at_its_own_id() {
        assert_eq!(
            keep_id(1001, 65537),
            [m(0, 1, 1001), m(1001, 0, 1), m(1002, 1002, 64535)]
        );
        // Without subordinate ids only the user is mapped.
        assert_eq!(keep_id(1001, 1), [m(1001, 0, 1)]);
        // A namespace smaller than the user's id.
        assert_eq!(keep_id(100, 51), [m(0, 1, 50), m(100, 0, 1)]);
        let maps = keep_id(1000, 65537);
        assert!(check(&maps, "uid").is_ok());
    }

    #[test]
    fn no_map_leaves_the_user_out() {
        assert_eq!(no_map(65537), [m(0, 1, 65536)]);
        assert!(no_map(1).is_empty());
    }

    #[test]
    fn proc_maps_are_measured_from_zero() {
        assert_eq!(proc_map_len("0 1001 1\n1 100000 65536\n"), 65537);
        assert_eq!(proc_map_len("0 1001 1\n"), 1);
        assert_eq!(proc_map_len(""), 0);
    }

    #[test]
    fn free_ranges_skip_used_ones() {
        let pool = [(100, 1000)];
        assert_eq!(first_free(&pool, &[], 10), Some(100));
        assert_eq!(first_free(&pool, &[(100, 10)], 10), Some(110));
        assert_eq!(first_free(&pool, &[(105, 10), (120, 5)], 5), Some(100));
        assert_eq!(first_free(&pool, &[(105, 10), (120, 5)], 6), Some(125));
        assert_eq!(first_free(&pool, &[(100, 995)], 6), None);
        assert_eq!(first_free(&[(1, 5), (10, 20)], &[], 10), Some(10));
    }

    #[test]
    fn keys_follow_the_maps() {
        let a = IdMappings {
            uids: vec![m(0, 1, 10)],
            gids: vec![m(0, 1, 10)],
        };
        let mut b = a.clone();
        assert_eq!(a.key(), b.key());
        b.gids[0].host = 2;
        assert_ne!(a.key(), b.key());
        assert_eq!(a.root(), Some((1, 1)));
    }
}
