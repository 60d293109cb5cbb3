//! Human-readable sizes and ages, as podman prints them ("8.13 MB",
//! "2 weeks ago").

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
    fn durations() {
        assert_eq!(duration(0), "Less than a second");
        assert_eq!(duration(90), "About a minute");
        assert_eq!(duration(3 * 3600), "3 hours");
        assert_eq!(duration(15 * 86400), "2 weeks");
        assert_eq!(duration(800 * 86400), "2 years");
    }
}
