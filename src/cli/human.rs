//! Human-readable sizes, ages and durations, as podman prints them
//! ("8.13 MB", "2 weeks ago", "225.3kB", "1.5s").

use chrono::{DateTime, Utc};

/// Decimal units with three significant digits.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{} {}", three_significant(v), UNITS[i])
}

fn three_significant(v: f64) -> String {
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Which multiple [`compact_size`] counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeUnits {
    /// kB, MB, ... (1000).
    Decimal,
    /// KiB, MiB, ... (1024).
    Binary,
}

/// Four significant digits, no space ("225.3kB", "64MiB", "0B"): how
/// podman's `stats` prints sizes.
pub fn compact_size(bytes: u64, units: SizeUnits) -> String {
    let (base, names): (f64, [&str; 7]) = match units {
        SizeUnits::Decimal => (1000.0, ["B", "kB", "MB", "GB", "TB", "PB", "EB"]),
        SizeUnits::Binary => (1024.0, ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]),
    };
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= base && i < names.len() - 1 {
        v /= base;
        i += 1;
    }
    format!("{}{}", four_significant(v), names[i])
}

/// C's `%.4g` for 0 <= v < 10000.
fn four_significant(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exponent = v.log10().floor() as i32;
    let decimals = (3 - exponent).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Go's text for a duration ("0s", "26.010146ms", "1.5s", "1h2m3s"),
/// which podman prints for CPU times and elapsed times.
pub fn go_duration(d: std::time::Duration) -> String {
    let ns = d.as_nanos();
    let frac = |v: u128, unit: u128, width: usize| {
        let (whole, rest) = (v / unit, v % unit);
        if rest == 0 {
            whole.to_string()
        } else {
            let digits = format!("{rest:0width$}");
            format!("{whole}.{}", digits.trim_end_matches('0'))
        }
    };
    const S: u128 = 1_000_000_000;
    match ns {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", frac(n, 1_000, 3)),
        n if n < S => format!("{}ms", frac(n, 1_000_000, 6)),
        n => {
            let (h, m) = (n / (3600 * S), n / (60 * S) % 60);
            let secs = format!("{}s", frac(n % (60 * S), S, 9));
            match (h, m) {
                (0, 0) => secs,
                (0, m) => format!("{m}m{secs}"),
                (h, m) => format!("{h}h{m}m{secs}"),
            }
        }
    }
}

/// "N units" for a duration in seconds.
pub fn duration(secs: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let (m, h, d) = (secs / 60, secs / 3600, secs / 86400);
    if secs < 1 {
        "Less than a second".to_string()
    } else if secs < 60 {
        plural(secs, "second")
    } else if m == 1 {
        "About a minute".to_string()
    } else if m < 60 {
        plural(m, "minute")
    } else if h == 1 {
        "About an hour".to_string()
    } else if h < 48 {
        plural(h, "hour")
    } else if d < 14 {
        plural(d, "day")
    } else if d < 60 {
        plural(d / 7, "week")
    } else if d < 365 * 2 {
        plural(d / 30, "month")
    } else {
        plural(d / 365, "year")
    }
}

/// "2 weeks ago".
pub fn ago(t: DateTime<Utc>) -> String {
    format!("{} ago", duration((Utc::now() - t).num_seconds()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(8_130_000), "8.13 MB");
        assert_eq!(size(134_000_000), "134 MB");
        assert_eq!(size(1_500), "1.5 kB");
    }

    #[test]
    fn compact_sizes() {
        assert_eq!(compact_size(0, SizeUnits::Decimal), "0B");
        assert_eq!(compact_size(225_300, SizeUnits::Decimal), "225.3kB");
        assert_eq!(compact_size(258_048, SizeUnits::Decimal), "258kB");
        assert_eq!(compact_size(25_280_000_000, SizeUnits::Decimal), "25.28GB");
        assert_eq!(compact_size(3_348, SizeUnits::Decimal), "3.348kB");
        assert_eq!(compact_size(64 << 20, SizeUnits::Binary), "64MiB");
        assert_eq!(compact_size(258_048, SizeUnits::Binary), "252KiB");
    }

    #[test]
    fn go_durations() {
        use std::time::Duration;
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_nanos(26_010_146)), "26.010146ms");
        assert_eq!(
            go_duration(Duration::from_nanos(1_665_861_803)),
            "1.665861803s"
        );
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_micros(5)), "5µs");
        assert_eq!(go_duration(Duration::from_secs(3723)), "1h2m3s");
        assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "Less than a second");
        assert_eq!(duration(90), "About a minute");
        assert_eq!(duration(3 * 3600), "3 hours");
        assert_eq!(duration(15 * 86400), "2 weeks");
        assert_eq!(duration(800 * 86400), "2 years");
    }
}
