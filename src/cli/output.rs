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

/// Write an archive with `write` to `output` (`None` or `-`: standard
/// output, which must not be a terminal). A file is written beside its
/// final name and renamed into place once complete, so a failure leaves
/// no partial file.
pub fn write_archive_to(
    output: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    match output.filter(|p| *p != std::path::Path::new("-")) {
        None => {
            if std::io::stdout().is_terminal() {
                anyhow::bail!(
                    "refusing to write an archive to a terminal: use -o FILE or redirect"
                );
            }
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write(&mut out)?;
            out.flush()?;
        }
        Some(path) => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => std::path::Path::new("."),
            };
            let err = |e: std::io::Error| anyhow::anyhow!("writing {}: {e}", path.display());
            let tmp = tempfile::Builder::new()
                .prefix(".skiff-archive-")
                .tempfile_in(dir)
                .map_err(err)?;
            {
                let mut out = std::io::BufWriter::new(tmp.as_file());
                write(&mut out)?;
                out.flush().map_err(err)?;
            }
            tmp.as_file().sync_all().map_err(err)?;
            // tempfile makes it 0600; an archive is an ordinary file.
            use std::os::unix::fs::PermissionsExt;
            let mode = 0o666 & !crate::sys::user::umask().unwrap_or(0o022);
            std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
                .map_err(err)?;
            tmp.persist(path).map_err(|e| err(e.error))?;
        }
    }
    Ok(())
}
