//! Parser for Go templates: turns lexer tokens into the syntax tree and
//! checks names (functions, variables) as Go does at parse time.

use super::funcs;
use super::lexer::{self, Keyword, Tok, Token};
use super::template::{Bind, Branch, Command, Node, Operand, Pipeline, Span, Term};

/// A parse error at byte offset `pos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub pos: usize,
    pub message: String,
}

/// Deepest nesting of control structures and parentheses accepted, so a
/// hostile template cannot exhaust the stack.
const MAX_DEPTH: usize = 100;

pub(crate) fn parse(src: &str) -> Result<Vec<Node>, ParseError> {
    let toks = lexer::lex(src).map_err(|e| ParseError {
        pos: e.pos,
        message: e.message,
    })?;
    let mut p = Parser {
        toks,
        i: 0,
        vars: vec!["$".to_owned()],
        range_depth: 0,
        depth: 0,
    };
    let (nodes, end) = p.list()?;
    match end {
        Stop::Eof => Ok(nodes),
        Stop::End(pos) => p.fail(pos, "unexpected {{end}}"),
        Stop::Else(pos) => p.fail(pos, "unexpected {{else}}"),
    }
}

/// What stopped a list of nodes.
enum Stop {
    Eof,
    /// `{{end}}`, already consumed.
    End(usize),
    /// `{{else`, with the rest of the action still to read.
    Else(usize),
}

/// Which construct a pipeline belongs to, for messages and declaration rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Command,
    Control(Keyword),
    Paren,
}

impl Context {
    fn name(self) -> &'static str {
        match self {
            Self::Command => "command",
            Self::Control(k) => k.as_str(),
            Self::Paren => "parenthesized pipeline",
        }
    }
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    /// Variables in scope, innermost last.
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
}

impl Parser {
    fn fail<T>(&self, pos: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            pos,
            message: message.into(),
        })
    }

    fn peek(&self) -> &Token {
        let last = self.toks.len() - 1;
        &self.toks[self.i.min(last)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn skip_space(&mut self) {
        while self.peek().tok == Tok::Space {
            self.i += 1;
        }
    }

    fn unexpected<T>(&self, t: &Token, what: &str) -> Result<T, ParseError> {
        let found = match &t.tok {
            Tok::Eof => return self.fail(t.pos, "unexpected EOF"),
            Tok::RightDelim => "}}".to_owned(),
            Tok::RParen => ")".to_owned(),
            Tok::Keyword(k) => format!("<{}>", k.as_str()),
            _ => "token".to_owned(),
        };
        self.fail(t.pos, format!("unexpected {found} in {what}"))
    }

    fn expect_right(&mut self, what: &str) -> Result<(), ParseError> {
        self.skip_space();
        let t = self.next();
        if t.tok == Tok::RightDelim {
            return Ok(());
        }
        self.unexpected(&t, what)
    }

    fn enter(&mut self, pos: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail(pos, "template nested too deeply");
        }
        Ok(())
    }

    fn list(&mut self) -> Result<(Vec<Node>, Stop), ParseError> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Text(s) => nodes.push(Node::Text(s)),
                Tok::LeftDelim => {
                    self.skip_space();
                    let k = self.peek().clone();
                    match k.tok {
                        Tok::Keyword(Keyword::End) => {
                            self.i += 1;
                            self.expect_right("end")?;
                            return Ok((nodes, Stop::End(k.pos)));
                        }
                        Tok::Keyword(Keyword::Else) => {
                            self.i += 1;
                            return Ok((nodes, Stop::Else(k.pos)));
                        }
                        _ => nodes.push(self.action()?),
                    }
                }
                Tok::Eof => return Ok((nodes, Stop::Eof)),
                _ => return self.unexpected(&t, "input"),
            }
        }
    }

    /// Parses an action after `{{` and leading space, other than end/else.
    fn action(&mut self) -> Result<Node, ParseError> {
        let t = self.peek().clone();
        let Tok::Keyword(k) = t.tok else {
            let pipe = self.pipeline(Context::Command)?;
            return Ok(Node::Action(pipe));
        };
        self.i += 1;
        match k {
            Keyword::If | Keyword::With | Keyword::Range => self.control(k, t.pos),
            Keyword::Break | Keyword::Continue => {
                if self.range_depth == 0 {
                    return self.fail(
                        t.pos,
                        format!("{{{{{}}}}} outside {{{{range}}}}", k.as_str()),
                    );
                }
                self.expect_right(k.as_str())?;
                Ok(if k == Keyword::Break {
                    Node::Break
                } else {
                    Node::Continue
                })
            }
            Keyword::Define | Keyword::Template | Keyword::Block => {
                self.fail(t.pos, format!("{{{{{}}}}} is not supported", k.as_str()))
            }
            Keyword::End | Keyword::Else => self.unexpected(&t, "command"),
        }
    }

    /// Parses `if`, `with` or `range` after its keyword, through its `{{end}}`.
    fn control(&mut self, kind: Keyword, pos: usize) -> Result<Node, ParseError> {
        self.enter(pos)?;
        let mark = self.vars.len();
        let pipe = self.pipeline(Context::Control(kind))?;
        let body_mark = self.vars.len();
        if kind == Keyword::Range {
            self.range_depth += 1;
        }
        let (body, end) = self.list()?;
        if kind == Keyword::Range {
            self.range_depth -= 1;
        }
        self.vars.truncate(body_mark);
        let else_body = match end {
            Stop::End(_) => None,
            Stop::Eof => return self.fail(self.peek().pos, "unexpected EOF"),
            Stop::Else(else_pos) => {
                self.skip_space();
                let next = self.peek().clone();
                let chained = matches!(
                    (kind, &next.tok),
                    (Keyword::If, Tok::Keyword(Keyword::If))
                        | (Keyword::With, Tok::Keyword(Keyword::With))
                );
                if chained {
                    // `{{else if x}}` is `{{else}}{{if x}}` sharing one `{{end}}`.
                    self.i += 1;
                    Some(vec![self.control(kind, next.pos)?])
                } else {
                    self.expect_right("else")?;
                    let (else_body, end) = self.list()?;
                    match end {
                        Stop::End(_) => Some(else_body),
                        Stop::Else(p) => return self.fail(p, "expected end; found {{else}}"),
                        Stop::Eof => return self.fail(else_pos, "unexpected EOF"),
                    }
                }
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        let branch = Branch {
            pipe,
            body,
            else_body,
        };
        Ok(match kind {
            Keyword::If => Node::If(branch),
            Keyword::With => Node::With(branch),
            _ => Node::Range(branch),
        })
    }

    /// Parses a pipeline through its closing `}}` or `)`.
    fn pipeline(&mut self, ctx: Context) -> Result<Pipeline, ParseError> {
        self.skip_space();
        let start = self.peek().pos;
        let bind = self.declarations(ctx)?;
        let closer = if ctx == Context::Paren {
            Tok::RParen
        } else {
            Tok::RightDelim
        };
        let mut cmds = Vec::new();
        let end = loop {
            self.skip_space();
            let t = self.peek().clone();
            if t.tok == closer {
                self.i += 1;
                break t.pos;
            }
            if cmds.is_empty() || t.tok == Tok::Pipe {
                if t.tok == Tok::Pipe {
                    self.i += 1;
                    self.skip_space();
                }
                cmds.push(self.command(ctx, &closer)?);
            } else {
                return self.unexpected(&t, ctx.name());
            }
        };
        if cmds.is_empty() {
            return self.fail(start, format!("missing value for {}", ctx.name()));
        }
        for (i, c) in cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0].term,
                Term::Bool(_) | Term::Dot | Term::Nil | Term::Number(_) | Term::Str(_)
            ) && c.args[0].fields.is_empty()
            {
                return self.fail(
                    c.span.start,
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
        }
        Ok(Pipeline {
            span: Span { start, end },
            bind,
            cmds,
        })
    }

    /// Parses `$x :=`, `$x =` or `$i, $e :=` if present.
    fn declarations(&mut self, ctx: Context) -> Result<Bind, ParseError> {
        let save = self.i;
        let Tok::Var(first) = self.peek().tok.clone() else {
            return Ok(Bind::None);
        };
        let first_pos = self.peek().pos;
        self.i += 1;
        self.skip_space();
        let mut names = vec![first];
        if self.peek().tok == Tok::Comma {
            if ctx != Context::Control(Keyword::Range) {
                return self.fail(
                    first_pos,
                    format!("too many declarations in {}", ctx.name()),
                );
            }
            self.i += 1;
            self.skip_space();
            let t = self.next();
            let Tok::Var(second) = t.tok else {
                return self.fail(t.pos, "range can only initialize variables");
            };
            names.push(second);
            self.skip_space();
        }
        let bind = match self.peek().tok {
            Tok::Declare => {
                self.vars.extend(names.iter().cloned());
                Bind::Declare(names)
            }
            Tok::Assign => {
                for n in &names {
                    if !self.vars.contains(n) {
                        return self.fail(first_pos, format!("undefined variable {n:?}"));
                    }
                }
                Bind::Assign(names)
            }
            _ if names.len() == 1 => {
                self.i = save;
                return Ok(Bind::None);
            }
            _ => {
                let t = self.peek().clone();
                return self.unexpected(&t, ctx.name());
            }
        };
        self.i += 1;
        Ok(bind)
    }

    /// Parses operands up to a `|` or the pipeline's closer (neither consumed).
    fn command(&mut self, ctx: Context, closer: &Tok) -> Result<Command, ParseError> {
        let start = self.peek().pos;
        let mut args = Vec::new();
        let mut end = start;
        loop {
            self.skip_space();
            let t = self.peek().clone();
            if t.tok == *closer || t.tok == Tok::Pipe {
                break;
            }
            if matches!(t.tok, Tok::RightDelim | Tok::RParen | Tok::Eof) {
                return self.unexpected(&t, ctx.name());
            }
            let op = self.operand()?;
            end = op.span.end;
            args.push(op);
            let after = &self.peek().tok;
            if !(*after == Tok::Space || after == closer || *after == Tok::Pipe) {
                let t = self.peek().clone();
                return self.unexpected(&t, "operand");
            }
        }
        if args.is_empty() {
            return self.fail(start, format!("missing value for {}", ctx.name()));
        }
        Ok(Command {
            span: Span { start, end },
            args,
        })
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        let t = self.next();
        let mut fields = Vec::new();
        let term = match t.tok {
            Tok::Dot => Term::Dot,
            Tok::Field(name) => {
                fields.push(name);
                Term::Dot
            }
            Tok::Var(name) => {
                if !self.vars.contains(&name) {
                    return self.fail(t.pos, format!("undefined variable {name:?}"));
                }
                Term::Var(name)
            }
            Tok::Ident(name) => {
                if !funcs::is_builtin(&name) {
                    return self.fail(t.pos, format!("function {name:?} not defined"));
                }
                Term::Func(name)
            }
            Tok::Str(s) => Term::Str(s),
            Tok::Number(n) => Term::Number(n),
            Tok::Bool(b) => Term::Bool(b),
            Tok::Nil => Term::Nil,
            Tok::LParen => {
                self.enter(t.pos)?;
                let pipe = self.pipeline(Context::Paren)?;
                self.depth -= 1;
                Term::Pipe(Box::new(pipe))
            }
            _ => return self.unexpected(&t, "operand"),
        };
        let mut end = self.toks[self.i.saturating_sub(1)].end;
        while let Tok::Field(name) = &self.peek().tok {
            if matches!(
                term,
                Term::Bool(_) | Term::Nil | Term::Number(_) | Term::Str(_)
            ) || (matches!(term, Term::Dot) && fields.is_empty())
            {
                return self.fail(self.peek().pos, "unexpected . after term");
            }
            fields.push(name.clone());
            end = self.peek().end;
            self.i += 1;
        }
        Ok(Operand {
            span: Span { start: t.pos, end },
            term,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> String {
        parse(src).expect_err("should fail").message
    }

    #[test]
    fn parses_nested_controls() {
        let nodes = parse("{{if .A}}a{{else if .B}}b{{else}}c{{end}}").expect("should succeed");
        let [Node::If(b)] = nodes.as_slice() else {
            panic!("expected one if: {nodes:?}")
        };
        let Some([Node::If(inner)]) = b.else_body.as_deref() else {
            panic!("expected else if")
        };
        assert!(inner.else_body.is_some());
    }

    #[test]
    fn reports_go_style_parse_errors() {
        assert_eq!(err("{{foo}}"), "function \"foo\" not defined");
        assert_eq!(err("{{$x}}"), "undefined variable \"$x\"");
        assert_eq!(err("{{end}}"), "unexpected {{end}}");
        assert_eq!(err("{{if .A}}x"), "unexpected EOF");
        assert_eq!(err("{{.A"), "unclosed action");
        assert_eq!(err("{{}}"), "missing value for command");
        assert_eq!(err("{{break}}"), "{{break}} outside {{range}}");
        assert_eq!(
            err("{{.A | \"x\"}}"),
            "non executable command in pipeline stage 2"
        );
        assert_eq!(err("{{template \"x\"}}"), "{{template}} is not supported");
        assert_eq!(err("{{(.A}}"), "unclosed left paren");
        assert_eq!(err("{{.A)}}"), "unexpected right paren");
        assert_eq!(err("{{.a-b}}"), "bad character U+002D '-'");
        assert_eq!(err("{{$a, $b := .X}}"), "too many declarations in command");
        assert_eq!(
            err("{{/* x */ .A}}"),
            "comment ends before closing delimiter"
        );
        assert_eq!(err("{{\"abc}}"), "unterminated quoted string");
        assert_eq!(
            err("{{if .A}}{{else}}{{else}}{{end}}"),
            "expected end; found {{else}}"
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{{{{{}1{}}}}}", "(".repeat(99), ")".repeat(99));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}{}", "{{if 1}}".repeat(101), "{{end}}".repeat(101));
        assert_eq!(
            parse(&deep).expect_err("too deep").message,
            "template nested too deeply"
        );
        let parens = format!("{{{{{}1{}}}}}", "(".repeat(200), ")".repeat(200));
        assert_eq!(
            parse(&parens).expect_err("too deep").message,
            "template nested too deeply"
        );
    }

    #[test]
    fn variables_are_scoped_to_their_control() {
        assert!(parse("{{if $x := .A}}{{$x}}{{else}}{{$x}}{{end}}").is_ok());
        assert_eq!(
            err("{{if .A}}{{$y := 1}}{{end}}{{$y}}"),
            "undefined variable \"$y\""
        );
        assert_eq!(
            err("{{range $i, $e := .L}}{{end}}{{$e}}"),
            "undefined variable \"$e\""
        );
    }
}
