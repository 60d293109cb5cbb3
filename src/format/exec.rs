//! Template execution: walks the syntax tree over JSON data, evaluating
//! pipelines, variables and control structures as Go's `text/template` does.

use serde_json::Value;

use super::funcs;
use super::template::{
    Bind, Branch, Command, Node, Operand, Pipeline, Span, Template, TemplateError, Term,
};
use super::value::{self, json_type_name, Val};

/// What the data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Real data: Go's rules apply strictly.
    Data,
    /// A header row mapping top-level fields to header strings: a string
    /// stands for any sub-object, so fields, `index` and `range` on it
    /// yield the string itself instead of failing.
    Header,
}

/// How a list of nodes ended.
enum Flow {
    Normal,
    Break,
    Continue,
}

/// `if` and `with` differ only in whether the body's dot changes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    If,
    With,
}

pub(crate) fn execute(tmpl: &Template, data: &Value, mode: Mode) -> Result<String, TemplateError> {
    let root = Val::borrowed(data);
    let mut state = State {
        tmpl,
        mode,
        vars: vec![("$".to_owned(), root.clone())],
        out: String::new(),
    };
    state.walk(&root, tmpl.nodes())?;
    Ok(state.out)
}

struct State<'t, 'a> {
    tmpl: &'t Template,
    mode: Mode,
    /// Variables in scope, innermost last.
    vars: Vec<(String, Val<'a>)>,
    out: String,
}

impl<'t, 'a> State<'t, 'a> {
    fn fail<T>(&self, span: Span, message: impl Into<String>) -> Result<T, TemplateError> {
        Err(self.tmpl.exec_error(span, message.into()))
    }

    fn walk(&mut self, dot: &Val<'a>, nodes: &'t [Node]) -> Result<Flow, TemplateError> {
        for node in nodes {
            let flow = match node {
                Node::Text(t) => {
                    self.out.push_str(t);
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.pipeline(dot, pipe)?;
                    if pipe.bind == Bind::None {
                        self.out.push_str(&v.print());
                    }
                    Flow::Normal
                }
                Node::If(b) => self.conditional(dot, b, Cond::If)?,
                Node::With(b) => self.conditional(dot, b, Cond::With)?,
                Node::Range(b) => self.range(dot, b)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn conditional(
        &mut self,
        dot: &Val<'a>,
        b: &'t Branch,
        cond: Cond,
    ) -> Result<Flow, TemplateError> {
        let mark = self.vars.len();
        let v = self.pipeline(dot, &b.pipe)?;
        let flow = if v.truth() {
            let body_dot = if cond == Cond::With { &v } else { dot };
            self.walk(body_dot, &b.body)?
        } else if let Some(else_body) = &b.else_body {
            self.walk(dot, else_body)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range(&mut self, dot: &Val<'a>, b: &'t Branch) -> Result<Flow, TemplateError> {
        // A template is the user's own, but a typo must not exhaust memory.
        const MAX_REPEAT: u64 = 1_000_000;
        let mark = self.vars.len();
        let v = self.commands(dot, &b.pipe)?;
        let items: Vec<(Val<'a>, Val<'a>)> = match v {
            Val::Missing => Vec::new(),
            Val::Json(c) => match value::entries(c) {
                Ok(items) => items,
                Err(c) => match &*c {
                    Value::Null => Vec::new(),
                    Value::Number(n) if !n.is_f64() => {
                        let count = n.as_u64().unwrap_or(0);
                        if count > MAX_REPEAT {
                            return self.fail(
                                b.pipe.span,
                                format!("range count {count} is too large (at most {MAX_REPEAT})"),
                            );
                        }
                        (0..count)
                            .map(|i| (Val::owned(Value::from(i)), Val::owned(Value::from(i))))
                            .collect()
                    }
                    Value::String(_) if self.mode == Mode::Header => {
                        vec![(Val::owned(Value::from(0)), Val::Json(c))]
                    }
                    other => {
                        let shown = Val::borrowed(other).print();
                        return self.fail(b.pipe.span, format!("range can't iterate over {shown}"));
                    }
                },
            },
        };
        if items.is_empty() {
            let flow = match &b.else_body {
                Some(else_body) => self.walk(dot, else_body)?,
                None => Flow::Normal,
            };
            self.vars.truncate(mark);
            return Ok(match flow {
                // break/continue cannot appear in a range's else; pass others up.
                Flow::Break | Flow::Continue => flow,
                Flow::Normal => Flow::Normal,
            });
        }
        let names: &[String] = match &b.pipe.bind {
            Bind::None => &[],
            Bind::Declare(n) | Bind::Assign(n) => n,
        };
        for (key, elem) in items {
            let iter_mark = self.vars.len();
            match (&b.pipe.bind, names) {
                (Bind::Declare(_), [e]) => self.vars.push((e.clone(), elem.clone())),
                (Bind::Declare(_), [k, e]) => {
                    self.vars.push((k.clone(), key));
                    self.vars.push((e.clone(), elem.clone()));
                }
                (Bind::Assign(_), [e]) => self.assign(e, elem.clone()),
                (Bind::Assign(_), [k, e]) => {
                    self.assign(k, key);
                    self.assign(e, elem.clone());
                }
                _ => {}
            }
            let flow = self.walk(&elem, &b.body)?;
            self.vars.truncate(iter_mark);
            if matches!(flow, Flow::Break) {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn assign(&mut self, name: &str, v: Val<'a>) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    /// Evaluates a pipeline and applies its declarations or assignments.
    fn pipeline(&mut self, dot: &Val<'a>, pipe: &'t Pipeline) -> Result<Val<'a>, TemplateError> {
        let v = self.commands(dot, pipe)?;
        match &pipe.bind {
            Bind::None => {}
            Bind::Declare(names) => {
                for n in names {
                    self.vars.push((n.clone(), v.clone()));
                }
            }
            Bind::Assign(names) => {
                for n in names {
                    self.assign(n, v.clone());
                }
            }
        }
        Ok(v)
    }

    /// Evaluates a pipeline's commands, each feeding the next.
    fn commands(&mut self, dot: &Val<'a>, pipe: &'t Pipeline) -> Result<Val<'a>, TemplateError> {
        let mut value = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(dot, cmd, value)?);
        }
        match value {
            Some(v) => Ok(v),
            None => self.fail(pipe.span, "missing value for command"),
        }
    }

    fn command(
        &mut self,
        dot: &Val<'a>,
        cmd: &'t Command,
        piped: Option<Val<'a>>,
    ) -> Result<Val<'a>, TemplateError> {
        let Some(first) = cmd.args.first() else {
            return self.fail(cmd.span, "empty command");
        };
        if let (Term::Func(name), true) = (&first.term, first.fields.is_empty()) {
            return self.call(dot, name, &cmd.args[1..], piped, cmd.span);
        }
        if cmd.args.len() > 1 || piped.is_some() {
            return match (&first.term, first.fields.last()) {
                (Term::Dot | Term::Var(_) | Term::Pipe(_), Some(field)) => self.fail(
                    first.span,
                    format!("{field} is not a method but has arguments"),
                ),
                _ => self.fail(
                    cmd.span,
                    format!(
                        "can't give argument to non-function {}",
                        self.tmpl.snippet(first.span)
                    ),
                ),
            };
        }
        if matches!(first.term, Term::Nil) {
            return self.fail(cmd.span, "nil is not a command");
        }
        self.operand(dot, first)
    }

    fn operand(&mut self, dot: &Val<'a>, op: &'t Operand) -> Result<Val<'a>, TemplateError> {
        let mut v = match &op.term {
            Term::Dot => dot.clone(),
            Term::Nil => Val::owned(Value::Null),
            Term::Bool(b) => Val::owned(Value::Bool(*b)),
            Term::Number(n) => Val::owned(Value::Number(n.clone())),
            Term::Str(s) => Val::string(s.clone()),
            Term::Var(name) => match self.vars.iter().rev().find(|(n, _)| n == name) {
                Some((_, v)) => v.clone(),
                None => return self.fail(op.span, format!("undefined variable: {name}")),
            },
            Term::Func(name) => self.call(dot, name, &[], None, op.span)?,
            Term::Pipe(p) => self.pipeline(dot, p)?,
        };
        for name in &op.fields {
            v = self.field(v, name, op.span)?;
        }
        Ok(v)
    }

    fn field(&self, v: Val<'a>, name: &str, span: Span) -> Result<Val<'a>, TemplateError> {
        let Val::Json(c) = v else {
            // Go: a field of a missing value is missing too.
            return Ok(Val::Missing);
        };
        match &*c {
            Value::Object(_) => Ok(value::child_by_key(c, name)),
            Value::Null => self.fail(
                span,
                format!("nil pointer evaluating interface {{}}.{name}"),
            ),
            Value::String(_) if self.mode == Mode::Header => Ok(Val::Json(c)),
            other => self.fail(
                span,
                format!(
                    "can't evaluate field {name} in type {}",
                    json_type_name(other)
                ),
            ),
        }
    }

    fn call(
        &mut self,
        dot: &Val<'a>,
        name: &str,
        args: &'t [Operand],
        piped: Option<Val<'a>>,
        span: Span,
    ) -> Result<Val<'a>, TemplateError> {
        if name == "and" || name == "or" {
            return self.and_or(dot, name, args, piped, span);
        }
        let mut values = Vec::with_capacity(args.len() + 1);
        for a in args {
            values.push(self.operand(dot, a)?);
        }
        values.extend(piped);
        funcs::call(name, values, self.mode).or_else(|m| self.fail(span, m))
    }

    /// Go's `and`/`or`: evaluate left to right, stop at the first false
    /// (`and`) or true (`or`) argument and return it.
    fn and_or(
        &mut self,
        dot: &Val<'a>,
        name: &str,
        args: &'t [Operand],
        piped: Option<Val<'a>>,
        span: Span,
    ) -> Result<Val<'a>, TemplateError> {
        let total = args.len() + usize::from(piped.is_some());
        if total == 0 {
            return self.fail(
                span,
                format!("wrong number of args for {name}: want at least 1 got 0"),
            );
        }
        let stop_on = name == "or";
        let mut last = Val::Missing;
        for a in args {
            last = self.operand(dot, a)?;
            if last.truth() == stop_on {
                return Ok(last);
            }
        }
        Ok(piped.unwrap_or(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(src: &str, data: Value) -> String {
        Template::parse(src)
            .expect("should succeed")
            .render(&data)
            .expect("should succeed")
    }

    fn render_err(src: &str, data: Value) -> String {
        Template::parse(src)
            .expect("should succeed")
            .render(&data)
            .expect_err("should fail")
            .to_string()
    }

    #[test]
    fn fields_and_missing_values() {
        let d = json!({"ID": "abc", "Labels": {"app": "web"}, "N": null, "Size": 1024});
        assert_eq!(
            render("{{.ID}} {{.Labels.app}} {{.Size}}", d.clone()),
            "abc web 1024"
        );
        assert_eq!(
            render(
                "{{.Nope}}|{{.Labels.nope}}|{{.Nope.Deeper}}|{{.N}}",
                d.clone()
            ),
            "<no value>|<no value>|<no value>|<no value>"
        );
        assert_eq!(render("{{.Labels}}", d.clone()), "map[app:web]");
        assert_eq!(render("{{.}}", json!(["a", "b"])), "[a b]");
        assert_eq!(render("{{$}}", json!(1.5)), "1.5");
        assert_eq!(
            render_err("{{.N.X}}", d.clone()),
            "template: :1:2: executing \"\" at <.N.X>: nil pointer evaluating interface {}.X"
        );
        assert_eq!(
            render_err("{{.Size.X}}", d),
            "template: :1:2: executing \"\" at <.Size.X>: can't evaluate field X in type int"
        );
    }

    #[test]
    fn literals_and_pipelines() {
        assert_eq!(
            render(
                "{{\"a\"}} {{`r\\n`}} {{1}} {{-2.5}} {{true}} {{0x1F}} {{'a'}}",
                json!({})
            ),
            "a r\\n 1 -2.5 true 31 97"
        );
        assert_eq!(
            render("{{.A | upper | printf \"<%s>\"}}", json!({"A": "x"})),
            "<X>"
        );
        assert_eq!(
            render("{{(printf \"%s-%s\" .A .A) | len}}", json!({"A": "xy"})),
            "5"
        );
        assert_eq!(
            render(
                "{{(index .L 1).Name}}",
                json!({"L": [{"Name": "a"}, {"Name": "b"}]})
            ),
            "b"
        );
    }

    #[test]
    fn variables() {
        assert_eq!(
            render("{{$x := .A}}{{$x}}{{$x = \"z\"}}{{$x}}", json!({"A": "a"})),
            "az"
        );
        assert_eq!(
            render(
                "{{range .L}}{{$.Name}}:{{.}} {{end}}",
                json!({"Name": "n", "L": [1, 2]})
            ),
            "n:1 n:2 "
        );
        assert_eq!(
            render("{{$v := 1}}{{if true}}{{$v = 2}}{{end}}{{$v}}", json!({})),
            "2"
        );
    }

    #[test]
    fn if_else_chains() {
        let t = "{{if eq .S \"a\"}}A{{else if eq .S \"b\"}}B{{else}}C{{end}}";
        assert_eq!(render(t, json!({"S": "a"})), "A");
        assert_eq!(render(t, json!({"S": "b"})), "B");
        assert_eq!(render(t, json!({"S": "c"})), "C");
        assert_eq!(render("{{if .Missing}}y{{else}}n{{end}}", json!({})), "n");
        assert_eq!(
            render("{{if and .A (not .B)}}y{{end}}", json!({"A": 1, "B": 0})),
            "y"
        );
        assert_eq!(
            render("{{or .A .B \"d\"}}|{{and .A .B}}", json!({"A": "", "B": 0})),
            "d|"
        );
        // and/or stop early: the failing call after a false argument never runs.
        assert_eq!(
            render("{{and .A (index .L 9)}}", json!({"A": false, "L": []})),
            "false"
        );
    }

    #[test]
    fn with_sets_dot() {
        let t = "{{with .State}}{{.Status}}{{else with .Other}}o{{else}}none{{end}}";
        assert_eq!(render(t, json!({"State": {"Status": "up"}})), "up");
        assert_eq!(render(t, json!({"Other": 1})), "o");
        assert_eq!(render(t, json!({})), "none");
        assert_eq!(
            render("{{with $x := .A}}{{$x}}{{.}}{{end}}", json!({"A": "v"})),
            "vv"
        );
    }

    #[test]
    fn range_forms() {
        let d = json!({"L": ["a", "b", "c"], "M": {"z": 1, "a": 2}, "E": []});
        assert_eq!(render("{{range .L}}[{{.}}]{{end}}", d.clone()), "[a][b][c]");
        assert_eq!(
            render("{{range $i, $e := .L}}{{$i}}={{$e}} {{end}}", d.clone()),
            "0=a 1=b 2=c "
        );
        assert_eq!(render("{{range $e := .L}}{{$e}}{{end}}", d.clone()), "abc");
        assert_eq!(
            render("{{range $k, $v := .M}}{{$k}}:{{$v}};{{end}}", d.clone()),
            "a:2;z:1;"
        );
        assert_eq!(
            render("{{range .E}}x{{else}}empty{{end}}", d.clone()),
            "empty"
        );
        assert_eq!(
            render("{{range .Missing}}x{{else}}none{{end}}", d.clone()),
            "none"
        );
        assert_eq!(render("{{range 3}}{{.}}{{end}}", d.clone()), "012");
        assert_eq!(
            render("{{range .L}}{{if eq . \"b\"}}{{continue}}{{end}}{{if eq . \"c\"}}{{break}}{{end}}{{.}}{{end}}", d.clone()),
            "a"
        );
        assert_eq!(
            render_err(
                "{{range .L}}{{end}}{{range .X}}{{end}}",
                json!({"L": [], "X": "s"})
            ),
            "template: :1:27: executing \"\" at <.X>: range can't iterate over s"
        );
    }

    #[test]
    fn trim_markers_and_comments() {
        let d = json!({"A": "a", "B": "b"});
        assert_eq!(render("x  {{- .A -}}  \n y", d.clone()), "xay");
        assert_eq!(render("{{.A}} {{- /* gone */ -}} {{.B}}", d.clone()), "ab");
        assert_eq!(render("{{/* c */}}{{.A}}", d.clone()), "a");
        assert_eq!(render("{{- .A}}\n{{.B -}}\n\n", d.clone()), "a\nb");
        assert_eq!(render("{{ -1 }}", d), "-1");
        assert_eq!(
            render(
                "{{range .L -}}\n  {{.}}\n{{- end}}",
                json!({"L": ["a", "b"]})
            ),
            "ab"
        );
    }

    #[test]
    fn function_errors_name_the_command() {
        assert_eq!(
            render_err("{{index .L 3}}", json!({"L": [1]})),
            "template: :1:2: executing \"\" at <index .L 3>: error calling index: index out of range: 3"
        );
        assert_eq!(
            render_err("{{.A \"x\"}}", json!({"A": 1})),
            "template: :1:2: executing \"\" at <.A>: A is not a method but has arguments"
        );
        assert_eq!(
            render_err("{{\"x\" 1}}", json!({})),
            "template: :1:2: executing \"\" at <\"x\" 1>: can't give argument to non-function \"x\""
        );
    }

    #[test]
    fn json_function() {
        let d = json!({"Labels": {"a": "<b>"}, "Names": ["x"], "N": null});
        assert_eq!(
            render(
                "{{json .Labels}} {{json .Names}} {{json .N}} {{json .Gone}}",
                d
            ),
            r#"{"a":"<b>"} ["x"] null null"#
        );
    }

    #[test]
    fn header_mode_is_lenient_with_strings() {
        let t = Template::parse(
            "{{.Labels.app}} {{index .Labels \"x\"}} {{range .Names}}{{.}}{{end}} {{upper .ID}}",
        )
        .expect("should succeed");
        let h = json!({"Labels": "LABELS", "Names": "NAMES", "ID": "id"});
        assert_eq!(
            t.render_header(&h).expect("should succeed"),
            "LABELS LABELS NAMES ID"
        );
    }
}
