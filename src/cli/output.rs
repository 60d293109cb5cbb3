//! Writing command output: rows through `--format` (Go templates, `table`,
//! `json`), JSON documents, and plain lines, to a locked stdout.

use std::io::Write;

use crate::format::{Heading, OutputFormat, Report};

/// Render `rows` with the user's `--format`, or the command's default table.
pub fn print_rows(
    user_format: Option<&str>,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[serde_json::Value],
    noheading: bool,
) -> anyhow::Result<()> {
    let fmt = OutputFormat::parse(user_format, default_table)?;
    let heading = if noheading {
        Heading::Hide
    } else {
        Heading::Show
    };
    let mut out = std::io::stdout().lock();
    Report::new(headers)
        .heading(heading)
        .render_rows(&fmt, rows, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Print a JSON value indented like podman (4 spaces).
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    serde::Serialize::serialize(value, &mut ser)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Print lines.
pub fn print_lines<I: IntoIterator<Item = S>, S: AsRef<str>>(lines: I) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for l in lines {
        writeln!(out, "{}", l.as_ref())?;
    }
    out.flush()?;
    Ok(())
}

/// Render one document (inspect, info, version) through a user's template.
pub fn print_value(user_format: &str, value: &serde_json::Value) -> anyhow::Result<()> {
    let fmt = OutputFormat::parse_custom(Some(user_format))?;
    let mut out = std::io::stdout().lock();
    Report::new(&[]).render_value(&fmt, value, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Print `warning` and ask on the terminal whether to go on; anything but
/// y/yes is a no. No answer at all (end of input) is an error naming
/// `force_hint`.
pub fn confirm(warning: &str, force_hint: &str) -> anyhow::Result<bool> {
    use std::io::BufRead;
    let mut out = std::io::stdout().lock();
    write!(out, "{warning}\nAre you sure you want to continue? [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer)? == 0 {
        writeln!(out)?;
        anyhow::bail!("no answer on standard input: {force_hint}");
    }
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
