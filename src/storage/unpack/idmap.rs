//! Id mappings for unpacking: which host id a file owned by a container id
//! gets (the ranges of /proc/self/uid_map, or of /etc/subuid for rootless).

/// One contiguous range: container ids `container..container + size` are
/// host ids `host..host + size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

impl IdRange {
    fn map(&self, id: u32) -> Option<u32> {
        let offset = id.checked_sub(self.container)?;
        if offset < self.size {
            self.host.checked_add(offset)
        } else {
            None
        }
    }
}

/// Container id -> host id, separately for users and groups. An id outside
/// every range has no host id; unpacking a file owned by one fails, as it
/// does with podman.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMapping {
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

impl IdMapping {
    pub fn new(uids: Vec<IdRange>, gids: Vec<IdRange>) -> Self {
        Self { uids, gids }
    }

    /// Every id shifted by `host` (the usual single rootless range:
    /// container 0..size -> host..host + size), users and groups alike.
    pub fn offset(host: u32, size: u32) -> Self {
        let r = vec![IdRange {
            container: 0,
            host,
            size,
        }];
        Self {
            uids: r.clone(),
            gids: r,
        }
    }

    pub fn map_uid(&self, id: u32) -> Option<u32> {
        self.uids.iter().find_map(|r| r.map(id))
    }

    pub fn map_gid(&self, id: u32) -> Option<u32> {
        self.gids.iter().find_map(|r| r.map(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_within_ranges_only() {
        let m = IdMapping::new(
            vec![
                IdRange {
                    container: 0,
                    host: 1000,
                    size: 1,
                },
                IdRange {
                    container: 1,
                    host: 100_000,
                    size: 65_536,
                },
            ],
            vec![IdRange {
                container: 0,
                host: 5000,
                size: 10,
            }],
        );
        assert_eq!(m.map_uid(0), Some(1000));
        assert_eq!(m.map_uid(1), Some(100_000));
        assert_eq!(m.map_uid(65_536), Some(165_535));
        assert_eq!(m.map_uid(65_537), None);
        assert_eq!(m.map_gid(9), Some(5009));
        assert_eq!(m.map_gid(10), None);
        let o = IdMapping::offset(u32::MAX - 1, 10);
        assert_eq!(o.map_uid(1), Some(u32::MAX));
        assert_eq!(o.map_uid(2), None, "overflow is unmapped, not wrapped");
    }
}
