//! Podman-compatible `--format` output: `json`, Go templates and aligned
//! `table` templates over rows of JSON data.
//!
//! The `--format` value is parsed once into an [`OutputFormat`]:
//!
//! - `json` (or `{{json}}`, `{{ json. }}`) prints the rows as an indented
//!   JSON array ([`JsonStyle`] picks podman's indentation per command);
//! - `table {{.ID}}\t{{.Names}}` renders a header line and one line per row,
//!   aligned in columns like podman's tabwriter; spaces between actions
//!   separate columns too, and `table` alone means the command's default;
//! - any other text is a Go template rendered per row, with a newline added
//!   unless it ends with one. A template with a top-level `{{range .}}`
//!   is rendered once over the whole list, as podman does.
//!
//! In all templates the two-character escapes `\t` and `\n` typed in the
//! shell become a tab and a newline. Data reaches templates as
//! `serde_json::Value` objects whose keys are podman's Go field names.
//!
//! Where podman rewrites the whole template text (`\t`, `\n` and, in tables,
//! spaces), skiff rewrites only the text between actions, so string
//! literals inside actions (`{{printf "%s %s" .A .B}}`) keep their spaces.

mod exec;
mod funcs;
mod header;
mod json;
mod lexer;
mod literal;
mod parser;
mod printf;
mod tabwriter;
mod template;
mod value;

use std::io::Write;

use serde_json::Value;

pub use json::{HtmlEscaping, JsonStyle};
pub use template::{Template, TemplateError};

/// How a command prints its results, parsed from `--format`.
#[derive(Debug, Clone)]
pub enum OutputFormat {
    /// No `--format` on a command whose default output is not a table
    /// (`inspect`, `info`, `version`): the command prints it itself.
    Default,
    /// `--format json`.
    Json,
    /// A Go template; `table` adds headers and aligns columns.
    Template { table: bool, template: Template },
}

/// Why rendering output failed.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("write formatted output")]
    Write(#[source] std::io::Error),
    /// [`OutputFormat::Default`] was passed to a renderer; commands with a
    /// default table parse with [`OutputFormat::parse`], which never yields it.
    #[error("the default output has no template: the command prints it itself")]
    NoTemplate,
}

/// How spaces between actions are read in a row template.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Spaces {
    /// Spaces are text (plain templates and the command's own default).
    Keep,
    /// Spaces separate columns, as in a user's `table` template.
    Columns,
}

impl OutputFormat {
    /// Parses `--format` for a command that prints a table by default.
    /// `default_table` is the default row template (with or without a
    /// leading `table `), used when `user` is absent, empty or `table`.
    pub fn parse(user: Option<&str>, default_table: &str) -> Result<Self, TemplateError> {
        match Self::parse_custom(user)? {
            Self::Default => {
                let row = table_row(default_table).unwrap_or(default_table);
                Ok(Self::Template {
                    table: true,
                    template: row_template(row, Spaces::Keep)?,
                })
            }
            other => Ok(other),
        }
    }

    /// Parses `--format` for a command whose default output is its own
    /// (`inspect`, `info`): absent, empty or bare `table` gives `Default`.
    pub fn parse_custom(user: Option<&str>) -> Result<Self, TemplateError> {
        let Some(text) = user.filter(|t| !t.trim().is_empty()) else {
            return Ok(Self::Default);
        };
        if is_json(text) {
            return Ok(Self::Json);
        }
        if let Some(row) = table_row(text) {
            if row.trim().is_empty() {
                return Ok(Self::Default);
            }
            return Ok(Self::Template {
                table: true,
                template: row_template(row, Spaces::Columns)?,
            });
        }
        Ok(Self::Template {
            table: false,
            template: row_template(text, Spaces::Keep)?,
        })
    }
}

/// Whether `--format` asks for JSON: `json`, `{{json}}` or `{{ json. }}`,
/// as podman decides (`{{json .}}` is an ordinary template).
pub fn is_json(format: &str) -> bool {
    let t = format.trim();
    if t == "json" {
        return true;
    }
    let Some(inner) = t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) else {
        return false;
    };
    matches!(inner.trim(), "json" | "json.")
}

/// The row template after a leading `table` keyword, if there is one.
fn table_row(format: &str) -> Option<&str> {
    let rest = format.strip_prefix("table")?;
    if rest.is_empty() {
        return Some(rest);
    }
    let sep = rest.chars().next().filter(|c| c.is_whitespace())?;
    Some(&rest[sep.len_utf8()..])
}

/// Parses a row template: shell escapes become tabs and newlines, table
/// spaces become tabs, and a final newline is added when missing.
fn row_template(text: &str, spaces: Spaces) -> Result<Template, TemplateError> {
    let mut t = Template::parse(text)?;
    t.map_text(&mut |s: &str| {
        let s = s.replace("\\t", "\t").replace("\\n", "\n");
        match spaces {
            Spaces::Keep => s,
            Spaces::Columns => s.replace(' ', "\t"),
        }
    });
    if !t.ends_with_newline() {
        t.push_text("\n");
    }
    Ok(t)
}

/// Whether a table gets its header line (`--noheading` hides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Heading {
    #[default]
    Show,
    Hide,
}

/// Rendering settings of one command: its column headers, whether to print
/// them, and its JSON indentation.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    headers: &'a [(&'a str, &'a str)],
    heading: Heading,
    json: JsonStyle,
}

impl<'a> Report<'a> {
    /// `headers` maps Go field names to header text (`("ID", "container id")`);
    /// other fields get their name split at CamelCase words, upper-cased.
    pub fn new(headers: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            headers,
            heading: Heading::Show,
            json: JsonStyle::default(),
        }
    }

    pub fn heading(mut self, heading: Heading) -> Self {
        self.heading = heading;
        self
    }

    pub fn json_style(mut self, style: JsonStyle) -> Self {
        self.json = style;
        self
    }

    /// Prints a list: a JSON array, a template per row, or a table.
    pub fn render_rows(
        &self,
        format: &OutputFormat,
        rows: &[Value],
        out: &mut impl Write,
    ) -> Result<(), FormatError> {
        let text = match format {
            OutputFormat::Default => return Err(FormatError::NoTemplate),
            OutputFormat::Json => {
                let mut s = json::array_to_indented(rows, self.json);
                s.push('\n');
                s
            }
            OutputFormat::Template {
                table: false,
                template,
            } => {
                if template.ranges_over_dot() {
                    template.render(&Value::Array(rows.to_vec()))?
                } else {
                    let mut s = String::new();
                    for row in rows {
                        s.push_str(&template.render(row)?);
                    }
                    s
                }
            }
            OutputFormat::Template {
                table: true,
                template,
            } => {
                let mut s = self.header_line(template)?;
                for row in rows {
                    s.push_str(&template.render(row)?);
                }
                tabwriter::align(&s, tabwriter::MIN_WIDTH, tabwriter::PADDING)
            }
        };
        out.write_all(text.as_bytes()).map_err(FormatError::Write)
    }

    /// Prints one object (`info`, `version`): a JSON object, the template
    /// rendered once, or a one-row table.
    pub fn render_value(
        &self,
        format: &OutputFormat,
        value: &Value,
        out: &mut impl Write,
    ) -> Result<(), FormatError> {
        let text = match format {
            OutputFormat::Default => return Err(FormatError::NoTemplate),
            OutputFormat::Json => {
                let mut s = json::to_indented(value, self.json);
                s.push('\n');
                s
            }
            OutputFormat::Template {
                table: false,
                template,
            } => template.render(value)?,
            OutputFormat::Template {
                table: true,
                template,
            } => {
                let mut s = self.header_line(template)?;
                s.push_str(&template.render(value)?);
                tabwriter::align(&s, tabwriter::MIN_WIDTH, tabwriter::PADDING)
            }
        };
        out.write_all(text.as_bytes()).map_err(FormatError::Write)
    }

    fn header_line(&self, template: &Template) -> Result<String, TemplateError> {
        match self.heading {
            Heading::Hide => Ok(String::new()),
            Heading::Show => template.render_header(&header::header_row(template, self.headers)),
        }
    }
}

/// Prints `rows` as `format` asks, with headers shown and JSON indented by
/// four spaces; see [`Report`] to change either.
pub fn render_rows(
    format: &OutputFormat,
    headers: &[(&str, &str)],
    rows: &[Value],
    out: &mut impl Write,
) -> Result<(), FormatError> {
    Report::new(headers).render_rows(format, rows, out)
}

#[cfg(test)]
mod tests;
