//! Masked and read-only paths: podman's defaults minus `--security-opt
//! unmask=…` (glob patterns, as Go's `filepath.Match` reads them), plus
//! `--security-opt mask=…`.

use super::options::{Namespace, SpecOptions, Unmask};
use super::SpecError;
use super::{defaults, mounts};

/// (masked, read-only) paths of the container.
pub fn paths(opts: &SpecOptions) -> Result<(Vec<String>, Vec<String>), SpecError> {
    for m in &opts.security.mask {
        if !m.starts_with('/') {
            return Err(SpecError::RelativeMaskPath { path: m.clone() });
        }
    }
    let mut masked: Vec<String> = Vec::new();
    let mut readonly: Vec<String> = Vec::new();
    if !opts.security.privileged {
        let keep = |p: &str| match &opts.security.unmask {
            Unmask::None => true,
            Unmask::All => false,
            Unmask::Paths(patterns) => !patterns.iter().any(|pat| glob_match(pat, p)),
        };
        let defaults = defaults::MASKED_PATHS
            .iter()
            .map(|p| p.to_string())
            .chain(opts.host.extra_masked_paths.iter().cloned());
        masked.extend(defaults.filter(|p| keep(p)));
        // A rootless container that cannot mount its own sysfs gets the
        // host's /sys bound: hide the kernel's knobs in it.
        if opts.caller.is_rootless() && !mounts::can_mount_sysfs(opts) {
            masked.push("/sys/kernel".to_string());
        }
        readonly.extend(
            defaults::READONLY_PATHS
                .iter()
                .filter(|p| keep(p))
                .map(|p| p.to_string()),
        );
        // Podman stops here for a rootless container in the host's pid
        // namespace: masking over the host's /proc is not possible there.
        if opts.caller.is_rootless() && opts.namespaces.pid == Namespace::Host {
            return Ok((masked, readonly));
        }
    }
    for m in &opts.security.mask {
        if !masked.contains(m) {
            masked.push(m.clone());
        }
    }
    Ok((masked, readonly))
}

/// Shell-style matching of a whole path: `*` and `?` do not match `/`,
/// `[…]` is a class (`[!…]` or `[^…]` negated, with ranges), `\` escapes.
/// A malformed pattern matches nothing.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = path.chars().collect();
    matches_from(&p, &s)
}

fn matches_from(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') => {
            let rest = &p[1..];
            // Try every split that does not cross a separator.
            let mut i = 0;
            loop {
                if matches_from(rest, &s[i..]) {
                    return true;
                }
                if i == s.len() || s[i] == '/' {
                    return false;
                }
                i += 1;
            }
        }
        Some('?') => match s.first() {
            Some(c) if *c != '/' => matches_from(&p[1..], &s[1..]),
            _ => false,
        },
        Some('[') => {
            let Some(c) = s.first().copied() else {
                return false;
            };
            match class(&p[1..], c) {
                Some((true, used)) if c != '/' => matches_from(&p[1 + used..], &s[1..]),
                _ => false,
            }
        }
        Some('\\') => match (p.get(1), s.first()) {
            (Some(e), Some(c)) if e == c => matches_from(&p[2..], &s[1..]),
            _ => false,
        },
        Some(lit) => match s.first() {
            Some(c) if c == lit => matches_from(&p[1..], &s[1..]),
            _ => false,
        },
    }
}

/// Match `c` against the class that starts after `[`: (matched, pattern
/// characters used including the closing `]`), `None` when unterminated.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 0;
    let negated = matches!(p.first(), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *p.get(i)?;
        if lo == ']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        let lo = if lo == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            lo
        };
        i += 1;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|x| *x != ']') {
            let hi = *p.get(i + 1)?;
            i += 2;
            if lo <= c && c <= hi {
                matched = true;
            }
        } else if lo == c {
            matched = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("/proc/*", "/proc/kcore"));
        assert!(!glob_match("/proc/*", "/proc/sys/kernel"));
        assert!(glob_match("/proc/k?ys", "/proc/keys"));
        assert!(glob_match("/sys/f[io]rmware", "/sys/firmware"));
        assert!(!glob_match("/sys/f[!i]rmware", "/sys/firmware"));
        assert!(glob_match("/proc/[a-c]*", "/proc/acpi"));
        assert!(glob_match("/proc/acpi", "/proc/acpi"));
        assert!(!glob_match("/proc/acpi", "/proc/acpi/x"));
        assert!(!glob_match("/proc/[a", "/proc/a"));
        assert!(glob_match(
            "/sys/devices/system/cpu/cpu*/thermal_throttle",
            "/sys/devices/system/cpu/cpu12/thermal_throttle"
        ));
    }
}
