//! `skiff logs`: a container's output, from its k8s-file log.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;
use crate::engine::container::logs::{LogOptions, Stream};
use crate::engine::Engine;
use crate::state::container::ContainerRecord;

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[arg(required = true, num_args = 1..)]
    pub containers: Vec<String>,
    #[command(flatten)]
    pub flags: LogFlags,
}

/// What of the logs is shown, and how (`logs` and `pod logs`).
#[derive(Debug, Args)]
pub struct LogFlags {
    /// Keep following the log
    #[arg(short, long)]
    pub follow: bool,
    /// Only entries at or after this time (RFC 3339, or a duration like 10m)
    #[arg(long)]
    pub since: Option<String>,
    /// Only entries at or before this time
    #[arg(long)]
    pub until: Option<String>,
    /// Only the last N lines
    #[arg(long)]
    pub tail: Option<i64>,
    /// Prefix each line with its timestamp
    #[arg(short, long)]
    pub timestamps: bool,
}

/// RFC 3339, a Unix time, or a duration before now (`10m`, `1h30m`, `45s`).
fn when(s: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(secs) = s.parse::<i64>() {
        return chrono::DateTime::from_timestamp(secs, 0)
            .ok_or_else(|| anyhow::anyhow!("invalid time {s:?}"));
    }
    let mut total = 0i64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| {
            anyhow::anyhow!("invalid time {s:?}: use RFC 3339 or a duration like 10m")
        })?;
        num.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => anyhow::bail!("invalid time {s:?}: use RFC 3339 or a duration like 10m"),
        };
    }
    if !num.is_empty() {
        anyhow::bail!("invalid time {s:?}: a duration needs a unit (s, m, h)");
    }
    Ok(chrono::Utc::now() - chrono::Duration::seconds(total))
}

impl LogFlags {
    pub fn options(&self) -> anyhow::Result<LogOptions> {
        Ok(LogOptions {
            since: self.since.as_deref().map(when).transpose()?,
            until: self.until.as_deref().map(when).transpose()?,
            tail: self.tail.filter(|t| *t >= 0).map(|t| t as usize),
            follow: self.follow,
        })
    }
}

pub fn run(ctx: &CliContext, args: LogsArgs) -> anyhow::Result<ExitCode> {
    let opts = args.flags.options()?;
    let engine = ctx.engine()?;
    let recs = args
        .containers
        .iter()
        .map(|c| engine.find_container(c))
        .collect::<Result<Vec<_>, _>>()?;
    print_logs(&engine, &recs, &opts, args.flags.timestamps)?;
    Ok(ExitCode::SUCCESS)
}

/// Print the logs of `recs`, each line after the container's short id
/// when there are several; followed logs are followed together.
pub fn print_logs(
    engine: &Engine,
    recs: &[ContainerRecord],
    opts: &LogOptions,
    timestamps: bool,
) -> anyhow::Result<()> {
    let prefix = recs.len() > 1;
    let one = |rec: &ContainerRecord| -> anyhow::Result<()> {
        let mut at_line_start = true;
        let mut sink = |e: &crate::engine::container::logs::Entry| -> std::io::Result<()> {
            let mut out: Box<dyn Write> = match e.stream {
                Stream::Stdout => Box::new(std::io::stdout().lock()),
                Stream::Stderr => Box::new(std::io::stderr().lock()),
            };
            if at_line_start {
                if prefix {
                    write!(out, "{} ", rec.short_id())?;
                }
                if timestamps {
                    write!(
                        out,
                        "{} ",
                        e.time.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                    )?;
                }
            }
            out.write_all(&e.text)?;
            if e.full {
                out.write_all(b"\n")?;
            }
            at_line_start = e.full;
            out.flush()
        };
        Ok(engine.container_logs(&rec.id, opts, &mut sink)?)
    };
    if !opts.follow || recs.len() < 2 {
        return recs.iter().try_for_each(one);
    }
    std::thread::scope(|s| {
        let followers: Vec<_> = recs.iter().map(|r| s.spawn(move || one(r))).collect();
        followers.into_iter().try_for_each(|f| match f.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert!(when("2024-01-01T00:00:00Z").is_ok());
        assert!(when("1700000000").is_ok());
        let t = when("10m").expect("duration");
        assert!((chrono::Utc::now() - t).num_seconds() >= 599);
        assert!(when("10x").is_err());
        assert!(when("10").is_ok(), "plain numbers are Unix times");
    }
}
