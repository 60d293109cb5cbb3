//! Who this process is: effective ids, whether it runs inside a user
//! namespace, and its file-creation mask.

/// The effective user id.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// The effective group id.
pub fn egid() -> u32 {
    nix::unistd::getegid().as_raw()
}

/// Whether this process runs in a user namespace other than the initial one.
/// The initial namespace maps the whole id space onto itself
/// (`0 0 4294967295` in /proc/self/uid_map, see user_namespaces(7)); any other
/// map means a child namespace. An unreadable map counts as the initial one.
pub fn is_in_user_namespace() -> bool {
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(map) => !is_initial_uid_map(&map),
        Err(_) => false,
    }
}

fn is_initial_uid_map(map: &str) -> bool {
    let mut lines = map.lines().filter(|l| !l.trim().is_empty());
    let first: Vec<&str> = match lines.next() {
        Some(l) => l.split_whitespace().collect(),
        None => return false,
    };
    lines.next().is_none() && first == ["0", "0", "4294967295"]
}

/// The process umask, read from /proc/self/status (umask(2) cannot read it
/// without changing it, which would race with other threads). `None` when
/// the kernel does not report it.
pub fn umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_umask(&status)
}

fn parse_umask(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_map_of_initial_namespace() {
        assert!(is_initial_uid_map("         0          0 4294967295\n"));
        assert!(!is_initial_uid_map("         0       1000          1\n"));
        assert!(!is_initial_uid_map("0 1000 1\n1 100000 65536\n"));
        assert!(!is_initial_uid_map(""));
    }

    #[test]
    fn umask_from_status() {
        assert_eq!(
            parse_umask("Name:\tx\nUmask:\t0022\nState:\tR\n"),
            Some(0o022)
        );
        assert_eq!(parse_umask("Name:\tx\n"), None);
        // The running kernel reports one.
        assert!(umask().is_some());
    }
}
