//! /etc/subuid and /etc/subgid: the subordinate id ranges a user may map
//! into a user namespace (`NAME_OR_UID:START:COUNT` lines).

use std::path::Path;

/// One range of host ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u32,
    pub count: u32,
}

impl Range {
    fn end(self) -> u64 {
        u64::from(self.start) + u64::from(self.count)
    }

    fn overlaps(self, other: Range) -> bool {
        u64::from(self.start) < other.end() && u64::from(other.start) < self.end()
    }
}

/// What a subordinate id file says about one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubIds {
    pub ranges: Vec<Range>,
    /// Another user's entry that overlaps one of these ranges.
    pub overlap_with: Option<String>,
}

/// The ranges of the user called `name` with id `id` in the text of a
/// subordinate id file. Lines that do not parse are skipped, as shadow's
/// tools skip them.
pub fn parse(text: &str, name: &str, id: u32) -> SubIds {
    let id_text = id.to_string();
    let mut mine = Vec::new();
    let mut others = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split(':');
        let (Some(owner), Some(start), Some(count)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let (Ok(start), Ok(count)) = (start.parse::<u32>(), count.parse::<u32>()) else {
            continue;
        };
        if count == 0 {
            continue;
        }
        let range = Range { start, count };
        if owner == name || owner == id_text {
            mine.push(range);
        } else {
            others.push((owner.to_string(), range));
        }
    }
    let overlap_with = others
        .into_iter()
        .find(|(_, r)| mine.iter().any(|m| m.overlaps(*r)))
        .map(|(owner, _)| owner);
    SubIds {
        ranges: mine,
        overlap_with,
    }
}

/// [`parse`] of a file; a missing file has no ranges.
pub fn read(path: &Path, name: &str, id: u32) -> std::io::Result<SubIds> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse(&text, name, id)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SubIds::default()),
        Err(e) => Err(e),
    }
}

/// The arguments of newuidmap/newgidmap after the pid: the user's own id as
/// 0, then the ranges from 1 on.
pub fn map_args(own: u32, ranges: &[Range]) -> Vec<String> {
    let mut args = vec!["0".to_string(), own.to_string(), "1".to_string()];
    let mut next: u64 = 1;
    for r in ranges {
        args.extend([next.to_string(), r.start.to_string(), r.count.to_string()]);
        next += u64::from(r.count);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_found_by_name_or_id_and_overlaps_are_named() {
        let text = "# comment\nalice:100000:65536\n1002:300000:1000\nbob:165000:65536\nbad line\ncarol:x:1\n";
        let a = parse(text, "alice", 1001);
        assert_eq!(
            a.ranges,
            [Range {
                start: 100000,
                count: 65536
            }]
        );
        assert_eq!(a.overlap_with.as_deref(), Some("bob"));
        let d = parse(text, "dave", 1002);
        assert_eq!(
            d.ranges,
            [Range {
                start: 300000,
                count: 1000
            }]
        );
        assert_eq!(d.overlap_with, None);
        assert!(parse(text, "nobody", 9).ranges.is_empty());
    }

    #[test]
    fn map_arguments_put_the_user_at_zero_and_ranges_after_it() {
        let r = [
            Range {
                start: 100000,
                count: 10,
            },
            Range {
                start: 500,
                count: 5,
            },
        ];
        assert_eq!(
            map_args(1001, &r),
            ["0", "1001", "1", "1", "100000", "10", "11", "500", "5"]
        );
    }
}
