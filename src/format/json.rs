//! JSON text as Go's `encoding/json` writes it: compact for the `json`
//! template function, indented for `--format json`, with Go's escaping and
//! number formatting so output matches podman byte for byte.

use serde_json::{Number, Value};

/// Whether `<`, `>` and `&` are escaped as `\u003c`, `\u003e`, `\u0026`.
/// Go's `json.Marshal`/`MarshalIndent` escape them; podman's `json`
/// template function and `inspect` turn that off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HtmlEscaping {
    Escape,
    Raw,
}

/// Indentation and escaping for `--format json` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonStyle {
    /// Spaces per nesting level.
    pub indent: usize,
    pub html: HtmlEscaping,
}

impl JsonStyle {
    /// Like Go's `json.MarshalIndent(v, "", <indent spaces>)`, which most
    /// podman list commands use (`images` with 4 spaces, `ps`, `pod ps`,
    /// `network ls`, `volume ls` with 2).
    pub const fn marshal_indent(indent: usize) -> Self {
        Self {
            indent,
            html: HtmlEscaping::Escape,
        }
    }

    /// Like a Go `json.Encoder` with `SetEscapeHTML(false)` and an indent,
    /// as podman's `inspect` prints (5 spaces).
    pub const fn encoder_indent(indent: usize) -> Self {
        Self {
            indent,
            html: HtmlEscaping::Raw,
        }
    }
}

impl Default for JsonStyle {
    /// Four spaces with HTML escaping, as `podman images --format json`.
    fn default() -> Self {
        Self::marshal_indent(4)
    }
}

/// Compact JSON, as podman's `json` template function prints it.
pub(crate) fn to_compact(v: &Value, html: HtmlEscaping) -> String {
    let mut out = String::new();
    write_value(v, None, 0, html, &mut out);
    out
}

/// An indented JSON array of `items`, without a trailing newline.
pub(crate) fn array_to_indented(items: &[Value], style: JsonStyle) -> String {
    let mut out = String::new();
    write_array(items, Some(style.indent), 0, style.html, &mut out);
    out
}

/// Indented JSON without a trailing newline.
pub(crate) fn to_indented(v: &Value, style: JsonStyle) -> String {
    let mut out = String::new();
    write_value(v, Some(style.indent), 0, style.html, &mut out);
    out
}

fn newline(indent: Option<usize>, depth: usize, out: &mut String) {
    if let Some(n) = indent {
        out.push('\n');
        for _ in 0..n * depth {
            out.push(' ');
        }
    }
}

fn write_value(
    v: &Value,
    indent: Option<usize>,
    depth: usize,
    html: HtmlEscaping,
    out: &mut String,
) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, html, out),
        Value::Array(items) => write_array(items, indent, depth, html, out),
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(indent, depth + 1, out);
                write_string(k, html, out);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_value(item, indent, depth + 1, html, out);
            }
            newline(indent, depth, out);
            out.push('}');
        }
    }
}

fn write_array(
    items: &[Value],
    indent: Option<usize>,
    depth: usize,
    html: HtmlEscaping,
    out: &mut String,
) {
    if items.is_empty() {
        out.push_str("[]");
        return;
    }
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(indent, depth + 1, out);
        write_value(item, indent, depth + 1, html, out);
    }
    newline(indent, depth, out);
    out.push(']');
}

/// Go writes floats without a fraction when whole (`3`, not `3.0`) and
/// switches to exponents below 1e-6 and from 1e21 (`1e+21`, `1e-7`).
fn write_number(n: &Number, out: &mut String) {
    let Some(f) = n.as_f64().filter(|_| n.is_f64()) else {
        out.push_str(&n.to_string());
        return;
    };
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
        out.push_str(mantissa);
        out.push('e');
        if !exp.starts_with('-') {
            out.push('+');
        }
        out.push_str(exp);
    } else {
        out.push_str(&f.to_string());
    }
}

fn write_string(s: &str, html: HtmlEscaping, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '<' | '>' | '&' if html == HtmlEscaping::Escape => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if c < ' ' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_matches_go() {
        let v = json!({"b": [1, 2.5, 3.0], "a": "x<y&z", "c": null, "d": {}, "e": []});
        assert_eq!(
            to_compact(&v, HtmlEscaping::Raw),
            r#"{"a":"x<y&z","b":[1,2.5,3],"c":null,"d":{},"e":[]}"#
        );
        assert_eq!(
            to_compact(&json!("x<y&z>"), HtmlEscaping::Escape),
            r#""x\u003cy\u0026z\u003e""#
        );
    }

    #[test]
    fn escapes_control_characters_like_go() {
        assert_eq!(
            to_compact(&json!("a\"\\\n\t\u{1}\u{8}\u{2028}é"), HtmlEscaping::Raw),
            "\"a\\\"\\\\\\n\\t\\u0001\\b\\u2028é\""
        );
    }

    #[test]
    fn numbers_like_go() {
        assert_eq!(to_compact(&json!(1e21), HtmlEscaping::Raw), "1e+21");
        assert_eq!(
            to_compact(&json!(1e20), HtmlEscaping::Raw),
            "100000000000000000000"
        );
        assert_eq!(to_compact(&json!(1e-7), HtmlEscaping::Raw), "1e-7");
        assert_eq!(to_compact(&json!(0.000001), HtmlEscaping::Raw), "0.000001");
        assert_eq!(to_compact(&json!(-0.5), HtmlEscaping::Raw), "-0.5");
        assert_eq!(
            to_compact(&json!(u64::MAX), HtmlEscaping::Raw),
            "18446744073709551615"
        );
    }

    #[test]
    fn indented_like_marshal_indent() {
        let v = json!([{"Names": ["a"], "Id": "x", "Labels": {}}]);
        assert_eq!(
            to_indented(&v, JsonStyle::marshal_indent(4)),
            "[\n    {\n        \"Id\": \"x\",\n        \"Labels\": {},\n        \"Names\": [\n            \"a\"\n        ]\n    }\n]"
        );
        assert_eq!(to_indented(&json!([]), JsonStyle::default()), "[]");
    }
}
