//! Parsed Go text/template: the syntax tree, the public `Template` type and its errors.
//!
//! The accepted language is the subset of Go's `text/template` that podman
//! users write in `--format` (<https://pkg.go.dev/text/template>): actions,
//! fields, variables, pipelines, `if`/`with`/`range` with `else`, trim markers,
//! comments and the built-in functions listed in `funcs`. `define`,
//! `template` and `block` are rejected when parsing.

use serde_json::Value;

use super::exec::{self, Mode};
use super::parser;

/// Why a template failed to parse or to execute. The text follows Go's
/// messages, e.g. `template: ps:1: function "foo" not defined`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text is not valid.
    #[error("template: {name}:{line}: {message}")]
    Parse {
        name: String,
        line: usize,
        message: String,
    },
    /// Executing the template against data failed at the action `context`.
    #[error("template: {name}:{line}:{col}: executing \"{name}\" at <{context}>: {message}")]
    Exec {
        name: String,
        line: usize,
        col: usize,
        context: String,
        message: String,
    },
}

/// Byte range of a construct in the template source, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

/// One element of a template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text, copied to the output.
    Text(String),
    /// `{{pipeline}}`: printed unless it declares or assigns variables.
    Action(Pipeline),
    If(Branch),
    With(Branch),
    Range(Branch),
    Break,
    Continue,
}

/// The shared shape of `if`, `with` and `range`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub pipe: Pipeline,
    pub body: Vec<Node>,
    /// `{{else}}` body; `{{else if}}` / `{{else with}}` nest a node here.
    pub else_body: Option<Vec<Node>>,
}

/// What a pipeline does with variables before its commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bind {
    None,
    /// `$x := ...` or, in `range`, `$i, $e := ...`.
    Declare(Vec<String>),
    /// `$x = ...`.
    Assign(Vec<String>),
}

/// Commands joined by `|`; each command's value is the last argument of the next.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub span: Span,
    pub bind: Bind,
    pub cmds: Vec<Command>,
}

/// A function call or a single operand.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub span: Span,
    pub args: Vec<Operand>,
}

/// A term followed by a field chain: `.A.B`, `$x.A`, `(pipeline).A`.
#[derive(Debug, Clone)]
pub(crate) struct Operand {
    pub span: Span,
    pub term: Term,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Term {
    /// `.`; with fields, `.A.B` evaluated on dot.
    Dot,
    Nil,
    Bool(bool),
    Number(serde_json::Number),
    Str(String),
    /// `$` or `$name`, including the `$`.
    Var(String),
    /// A built-in function name.
    Func(String),
    /// A parenthesized pipeline.
    Pipe(Box<Pipeline>),
}

/// A parsed template, ready to render JSON data.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    source: String,
    nodes: Vec<Node>,
}

impl Template {
    /// Parses `source` as an unnamed template.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        Self::parse_named("", source)
    }

    /// Parses `source`; `name` appears in error messages as Go's template name does.
    pub fn parse_named(name: &str, source: &str) -> Result<Self, TemplateError> {
        let nodes = parser::parse(source).map_err(|e| TemplateError::Parse {
            name: name.to_owned(),
            line: line_of(source, e.pos),
            message: e.message,
        })?;
        Ok(Self {
            name: name.to_owned(),
            source: source.to_owned(),
            nodes,
        })
    }

    /// Executes the template with `data` as dot and `$`.
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        exec::execute(self, data, Mode::Data)
    }

    /// The template's name, as given to [`Template::parse_named`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The template text as parsed.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Executes the template against a header row: strings stand in for
    /// whole sub-objects, so `.Labels.foo` renders the `Labels` header.
    pub(crate) fn render_header(&self, headers: &Value) -> Result<String, TemplateError> {
        exec::execute(self, headers, Mode::Header)
    }

    pub(crate) fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Rewrites every literal text node, at any depth.
    pub(crate) fn map_text(&mut self, f: &mut impl FnMut(&str) -> String) {
        map_text_in(&mut self.nodes, f);
    }

    /// Whether the output of the last top-level node surely ends in a newline.
    pub(crate) fn ends_with_newline(&self) -> bool {
        matches!(self.nodes.last(), Some(Node::Text(t)) if t.ends_with('\n'))
    }

    pub(crate) fn push_text(&mut self, text: &str) {
        match self.nodes.last_mut() {
            Some(Node::Text(t)) => t.push_str(text),
            _ => self.nodes.push(Node::Text(text.to_owned())),
        }
    }

    /// Whether the template itself loops over its data with a top-level
    /// `{{range .}}`, as podman detects to hand it the whole list.
    pub(crate) fn ranges_over_dot(&self) -> bool {
        self.nodes.iter().any(|n| match n {
            Node::Range(b) => {
                b.pipe.bind == Bind::None
                    && matches!(b.pipe.cmds.as_slice(), [c] if matches!(
                        c.args.as_slice(),
                        [Operand { term: Term::Dot, fields, .. }] if fields.is_empty()
                    ))
            }
            _ => false,
        })
    }

    /// The first field name of every `.Field...` and `$.Field...` operand.
    pub(crate) fn top_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_fields(&self.nodes, &mut out);
        out
    }

    /// The source text of `span`, trimmed.
    pub(crate) fn snippet(&self, span: Span) -> &str {
        let start = span.start.min(self.source.len());
        let end = span.end.clamp(start, self.source.len());
        self.source.get(start..end).unwrap_or("").trim()
    }

    /// An execution error located at `span`.
    pub(crate) fn exec_error(&self, span: Span, message: String) -> TemplateError {
        let start = span.start.min(self.source.len());
        let line_start = self.source[..start].rfind('\n').map_or(0, |i| i + 1);
        TemplateError::Exec {
            name: self.name.clone(),
            line: line_of(&self.source, start),
            col: start - line_start,
            context: self.snippet(span).to_owned(),
            message,
        }
    }
}

impl std::str::FromStr for Template {
    type Err = TemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn line_of(source: &str, pos: usize) -> usize {
    let pos = pos.min(source.len());
    1 + source.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn map_text_in(nodes: &mut [Node], f: &mut impl FnMut(&str) -> String) {
    for node in nodes {
        match node {
            Node::Text(t) => *t = f(t),
            Node::If(b) | Node::With(b) | Node::Range(b) => {
                map_text_in(&mut b.body, f);
                if let Some(e) = &mut b.else_body {
                    map_text_in(e, f);
                }
            }
            Node::Action(_) | Node::Break | Node::Continue => {}
        }
    }
}

fn collect_fields(nodes: &[Node], out: &mut Vec<String>) {
    for node in nodes {
        match node {
            Node::Action(p) => collect_pipe(p, out),
            Node::If(b) | Node::With(b) | Node::Range(b) => {
                collect_pipe(&b.pipe, out);
                collect_fields(&b.body, out);
                if let Some(e) = &b.else_body {
                    collect_fields(e, out);
                }
            }
            Node::Text(_) | Node::Break | Node::Continue => {}
        }
    }
}

fn collect_pipe(pipe: &Pipeline, out: &mut Vec<String>) {
    for op in pipe.cmds.iter().flat_map(|c| &c.args) {
        match &op.term {
            Term::Dot => {
                if let Some(f) = op.fields.first() {
                    if !out.contains(f) {
                        out.push(f.clone());
                    }
                }
            }
            Term::Var(v) if v == "$" => {
                if let Some(f) = op.fields.first() {
                    if !out.contains(f) {
                        out.push(f.clone());
                    }
                }
            }
            Term::Pipe(p) => collect_pipe(p, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_names_template_and_line() {
        let err = Template::parse_named("ps", "a\n{{foo .X}}").expect_err("should fail");
        assert_eq!(
            err.to_string(),
            "template: ps:2: function \"foo\" not defined"
        );
    }

    #[test]
    fn exec_error_has_line_column_and_context() {
        let t = Template::parse("x\n  {{.A.B}}").expect("should succeed");
        let err = t
            .render(&serde_json::json!({"A": "s"}))
            .expect_err("should fail");
        assert_eq!(
            err.to_string(),
            "template: :2:4: executing \"\" at <.A.B>: can't evaluate field B in type string"
        );
    }

    #[test]
    fn top_fields_lists_first_segments_once() {
        let t = Template::parse(
            "{{.ID}} {{.Labels.a}} {{$.ID}} {{(.Size)}} {{range .Names}}{{.}}{{end}}",
        )
        .expect("should succeed");
        assert_eq!(t.top_fields(), ["ID", "Labels", "Size", "Names"]);
    }

    #[test]
    fn detects_top_level_range_over_dot() {
        assert!(Template::parse("{{range .}}{{.ID}}{{end}}")
            .expect("should succeed")
            .ranges_over_dot());
        assert!(!Template::parse("{{range .Names}}{{.}}{{end}}")
            .expect("should succeed")
            .ranges_over_dot());
    }
}
