//! Go `fmt` formatting for template values: `%v` printing, `print`,
//! `println` and a `printf` subset (<https://pkg.go.dev/fmt>).
//!
//! Supported verbs: `%v %s %q %d %b %o %O %x %X %c %U %t %e %E %f %F %g %G
//! %T %%`, with flags `- + # 0 space`, width and precision (also `*`).
//! Mismatches print Go's inline errors such as `%!d(string=abc)`.

use serde_json::{Number, Value};

use super::value::{json_type_name, Val};

/// `%v` of a JSON value: lists as `[a b]`, maps as `map[k:v]`, nil as `<nil>`.
pub(crate) fn format_v(v: &Value) -> String {
    let mut out = String::new();
    format_arg(&Spec::default(), 'v', Some(v), &mut out);
    out
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
pub(crate) fn sprint(args: &[Val]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a.json(), Some(Value::String(_)));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        format_arg(&Spec::default(), 'v', a.json(), &mut out);
        prev_string = is_string;
    }
    out
}

/// Go's `fmt.Sprintln`: operands separated by spaces, then a newline.
pub(crate) fn sprintln(args: &[Val]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        format_arg(&Spec::default(), 'v', a.json(), &mut out);
    }
    out.push('\n');
    out
}

#[derive(Debug, Default, Clone)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go's `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut next_arg = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        let star = |next_arg: &mut usize, out: &mut String| -> Option<usize> {
            let arg = args.get(*next_arg);
            *next_arg += 1;
            match arg
                .and_then(Val::as_int)
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n <= MAX_NUM)
            {
                Some(n) => Some(n),
                None => {
                    out.push_str("%!(BADWIDTH)");
                    None
                }
            }
        };
        if chars.peek() == Some(&'*') {
            chars.next();
            spec.width = star(&mut next_arg, &mut out);
        } else {
            spec.width = digits(&mut chars);
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            if chars.peek() == Some(&'*') {
                chars.next();
                spec.prec = star(&mut next_arg, &mut out);
            } else {
                spec.prec = Some(digits(&mut chars).unwrap_or(0));
            }
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next_arg) {
            Some(a) => format_arg(&spec, verb, a.json(), &mut out),
            None => {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(MISSING)");
            }
        }
        next_arg += 1;
    }
    if next_arg < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[next_arg..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if a.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(a.type_name());
                out.push('=');
                format_arg(&Spec::default(), 'v', a.json(), &mut out);
            }
        }
        out.push(')');
    }
    out
}

/// Go's fmt reads no width or precision past this (`tooLarge` in
/// fmt/print.go), so a template cannot ask for gigabytes of padding.
const MAX_NUM: usize = 1_000_000;

/// A width or precision. A number that grows past [`MAX_NUM`] makes Go drop
/// the rest of the format, which then ends in `%!(NOVERB)`; so does this.
fn digits(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        if n.is_some_and(|n| n > MAX_NUM) {
            chars.for_each(drop);
            return None;
        }
        chars.next();
        n = Some(n.unwrap_or(0) * 10 + d as usize);
    }
    n
}

fn format_arg(spec: &Spec, verb: char, v: Option<&Value>, out: &mut String) {
    let v = match v {
        None | Some(Value::Null) => {
            match verb {
                'v' => pad(spec, "<nil>", out),
                'T' => pad(spec, "<nil>", out),
                _ => {
                    out.push_str("%!");
                    out.push(verb);
                    out.push_str("(<nil>)");
                }
            }
            return;
        }
        Some(v) => v,
    };
    if verb == 'T' {
        return pad(spec, json_type_name(v), out);
    }
    let done = match v {
        Value::Bool(b) => {
            matches!(verb, 't' | 'v') && {
                pad(spec, if *b { "true" } else { "false" }, out);
                true
            }
        }
        Value::Number(n) => format_number(spec, verb, n, out),
        Value::String(s) => format_string(spec, verb, s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(spec, verb, Some(item), out);
            }
            out.push(']');
            true
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_string(spec, verb, k, out);
                out.push(':');
                format_arg(spec, verb, map.get(k), out);
            }
            out.push(']');
            true
        }
        Value::Null => true,
    };
    if !done {
        out.push_str("%!");
        out.push(verb);
        out.push('(');
        out.push_str(json_type_name(v));
        out.push('=');
        format_arg(&Spec::default(), 'v', Some(v), out);
        out.push(')');
    }
}

/// Pads `s` to the width, counting characters as Go counts runes.
fn pad(spec: &Spec, s: &str, out: &mut String) {
    let len = s.chars().count();
    let fill = spec.width.unwrap_or(0).saturating_sub(len);
    if spec.minus {
        out.push_str(s);
        push_n(out, ' ', fill);
    } else {
        let c = if spec.zero { '0' } else { ' ' };
        push_n(out, c, fill);
        out.push_str(s);
    }
}

fn push_n(out: &mut String, c: char, n: usize) {
    for _ in 0..n {
        out.push(c);
    }
}

/// Pads a number, putting zero padding between the sign and the digits.
fn pad_number(spec: &Spec, sign: &str, body: &str, out: &mut String) {
    if spec.zero && !spec.minus {
        let fill = spec
            .width
            .unwrap_or(0)
            .saturating_sub(sign.chars().count() + body.chars().count());
        out.push_str(sign);
        push_n(out, '0', fill);
        out.push_str(body);
    } else {
        let plain = Spec {
            zero: false,
            ..spec.clone()
        };
        pad(&plain, &format!("{sign}{body}"), out);
    }
}

fn sign(spec: &Spec, negative: bool) -> &'static str {
    match (negative, spec.plus, spec.space) {
        (true, _, _) => "-",
        (false, true, _) => "+",
        (false, false, true) => " ",
        _ => "",
    }
}

fn format_string(spec: &Spec, verb: char, s: &str, out: &mut String) -> bool {
    let s = match spec.prec {
        Some(p) if verb != 'x' && verb != 'X' => {
            s.char_indices().nth(p).map_or(s, |(i, _)| &s[..i])
        }
        _ => s,
    };
    match verb {
        'v' | 's' => pad(spec, s, out),
        'q' => pad(spec, &go_quote(s), out),
        'x' | 'X' => {
            let bytes = &s.as_bytes()[..spec.prec.unwrap_or(usize::MAX).min(s.len())];
            let mut hex = String::new();
            for b in bytes {
                if verb == 'x' {
                    hex.push_str(&format!("{b:02x}"));
                } else {
                    hex.push_str(&format!("{b:02X}"));
                }
            }
            pad(spec, &hex, out);
        }
        _ => return false,
    }
    true
}

fn format_number(spec: &Spec, verb: char, n: &Number, out: &mut String) -> bool {
    if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
        return format_float(spec, verb, f, out);
    }
    let (negative, mag) = match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => (i < 0, u128::from(i.unsigned_abs())),
        (None, Some(u)) => (false, u128::from(u)),
        _ => return false,
    };
    let (mut body, prefix) = match verb {
        'v' | 'd' => (mag.to_string(), ""),
        'b' => (format!("{mag:b}"), "0b"),
        'o' => (format!("{mag:o}"), "0"),
        'O' => (format!("{mag:o}"), "0o"),
        'x' => (format!("{mag:x}"), "0x"),
        'X' => (format!("{mag:X}"), "0X"),
        'c' | 'q' | 'U' => {
            let c = u32::try_from(mag)
                .ok()
                .and_then(char::from_u32)
                .filter(|_| !negative)
                .unwrap_or('\u{fffd}');
            let text = match verb {
                'c' => c.to_string(),
                'q' => format!("'{}'", quote_body(&c.to_string(), '\'')),
                _ => format!("U+{:04X}", u32::from(c)),
            };
            pad(spec, &text, out);
            return true;
        }
        _ => return false,
    };
    if let Some(p) = spec.prec {
        if p == 0 && mag == 0 {
            body.clear();
        }
        if body.len() < p {
            body = format!("{}{body}", "0".repeat(p - body.len()));
        }
    }
    let prefix = match verb {
        'O' => prefix,
        'o' if spec.sharp && !body.starts_with('0') => prefix,
        'b' | 'x' | 'X' if spec.sharp => prefix,
        _ => "",
    };
    let zero_ok = Spec {
        zero: spec.zero && spec.prec.is_none(),
        ..spec.clone()
    };
    pad_number(
        &zero_ok,
        &format!("{}{prefix}", sign(spec, negative)),
        &body,
        out,
    );
    true
}

fn format_float(spec: &Spec, verb: char, f: f64, out: &mut String) -> bool {
    let negative = f.is_sign_negative();
    let a = f.abs();
    let body = match verb {
        'v' => format_g(a, None),
        'g' | 'G' => format_g(a, spec.prec),
        'e' | 'E' => format_e(a, spec.prec.unwrap_or(6)),
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), a),
        _ => return false,
    };
    let body = if verb.is_ascii_uppercase() {
        body.to_uppercase()
    } else {
        body
    };
    pad_number(spec, sign(spec, negative), &body, out);
    true
}

/// Significant digits (no trailing zeros) and decimal exponent of `a >= 0`,
/// so that `a = 0.DIGITS × 10^dp`; `sig` rounds to that many digits.
fn decimal_digits(a: f64, sig: Option<usize>) -> (String, i32) {
    let s = match sig {
        Some(n) => format!("{:.*e}", n.max(1) - 1, a),
        None => format!("{a:e}"),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    if digits.is_empty() {
        return ("0".to_owned(), 1);
    }
    (digits.to_owned(), exp + 1)
}

fn exponent(exp: i32) -> String {
    format!(
        "e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    )
}

/// Go's `%g`: shortest digits when `prec` is `None`.
pub(crate) fn format_g(a: f64, prec: Option<usize>) -> String {
    if a == 0.0 {
        return "0".to_owned();
    }
    let (digits, dp) = decimal_digits(a, prec);
    let nd = digits.len() as i32;
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = p.max(1) as i32;
            if p > nd && nd >= dp {
                nd
            } else {
                p
            }
        }
    };
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        let mut s = digits[..1].to_owned();
        if nd > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push_str(&exponent(exp));
        return s;
    }
    if dp <= 0 {
        format!("0.{}{digits}", "0".repeat(dp.unsigned_abs() as usize))
    } else if dp >= nd {
        format!("{digits}{}", "0".repeat((dp - nd) as usize))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    }
}

fn format_e(a: f64, prec: usize) -> String {
    let s = format!("{:.*e}", prec, a);
    let (mantissa, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    format!("{mantissa}{}", exponent(exp.parse().unwrap_or(0)))
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    format!("\"{}\"", quote_body(s, '"'))
}

fn quote_body(s: &str, quote: char) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if c < ' ' || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out
}

/// An approximation of Go's `unicode.IsPrint`: graphic characters and the
/// ASCII space, but no other spacing or control characters.
fn is_print(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace() || matches!(c, '\u{ad}' | '\u{feff}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(format: &str, args: &[Value]) -> String {
        let args: Vec<Val> = args.iter().cloned().map(Val::owned).collect();
        sprintf(format, &args)
    }

    #[test]
    fn common_verbs() {
        assert_eq!(f("%s-%d", &[json!("a"), json!(42)]), "a-42");
        assert_eq!(f("%-10s|", &[json!("abc")]), "abc       |");
        assert_eq!(f("%10s|", &[json!("abc")]), "       abc|");
        assert_eq!(f("%.2s", &[json!("abcdef")]), "ab");
        assert_eq!(f("%q", &[json!("a\"b\n")]), "\"a\\\"b\\n\"");
        assert_eq!(f("%x %X", &[json!(255), json!("hi")]), "ff 6869");
        assert_eq!(
            f("%#x %o %#o %b", &[json!(255), json!(8), json!(8), json!(5)]),
            "0xff 10 010 101"
        );
        assert_eq!(
            f("%05d|%-5d|%+d", &[json!(-42), json!(7), json!(3)]),
            "-0042|7    |+3"
        );
        assert_eq!(
            f("%v %v", &[json!(["a", "b"]), json!({"k": 1})]),
            "[a b] map[k:1]"
        );
        assert_eq!(
            f("%t %c %U", &[json!(true), json!(65), json!(233)]),
            "true A U+00E9"
        );
        assert_eq!(f("100%%", &[]), "100%");
        assert_eq!(
            f("%T %T", &[json!(1.5), json!([])]),
            "float64 []interface {}"
        );
        assert_eq!(f("%*d|", &[json!(4), json!(7)]), "   7|");
    }

    #[test]
    fn floats() {
        assert_eq!(f("%v", &[json!(1.5)]), "1.5");
        assert_eq!(f("%v", &[json!(1000000.0)]), "1e+06");
        assert_eq!(f("%v", &[json!(123456.0)]), "123456");
        assert_eq!(f("%v", &[json!(0.00001)]), "1e-05");
        assert_eq!(f("%v", &[json!(0.0001)]), "0.0001");
        assert_eq!(f("%.2f", &[json!(1.23456)]), "1.23");
        assert_eq!(f("%f", &[json!(2.5)]), "2.500000");
        assert_eq!(f("%e", &[json!(1234.5678)]), "1.234568e+03");
        assert_eq!(f("%.3g", &[json!(1234.5678)]), "1.23e+03");
        assert_eq!(f("%g", &[json!(100.0)]), "100");
        assert_eq!(f("%8.3f|", &[json!(-1.5)]), "  -1.500|");
        assert_eq!(f("%08.3f|", &[json!(-1.5)]), "-001.500|");
    }

    #[test]
    fn go_inline_errors() {
        assert_eq!(f("%d", &[json!("abc")]), "%!d(string=abc)");
        assert_eq!(f("%s", &[json!(5)]), "%!s(int=5)");
        assert_eq!(f("%d", &[json!(1.5)]), "%!d(float64=1.5)");
        assert_eq!(f("%s %s", &[json!("a")]), "a %!s(MISSING)");
        assert_eq!(
            f("%s", &[json!("a"), json!(1), json!(null)]),
            "a%!(EXTRA int=1, <nil>)"
        );
        assert_eq!(f("%s", &[json!(null)]), "%!s(<nil>)");
        assert_eq!(f("%v", &[json!(null)]), "<nil>");
        assert_eq!(f("abc%", &[]), "abc%!(NOVERB)");
        // Widths past Go's limit are refused instead of padded to.
        assert_eq!(
            f("%100000000q|", &[json!("a")]),
            "%!(NOVERB)%!(EXTRA string=a)"
        );
        assert_eq!(
            f("%.77777777777777777777s|", &[json!("a")]),
            "%!(NOVERB)%!(EXTRA string=a)"
        );
        assert_eq!(f("%*d|", &[json!(1_000_001), json!(7)]), "%!(BADWIDTH)7|");
        assert_eq!(f("%3d|", &[json!(7)]), "  7|");
    }

    #[test]
    fn print_and_println() {
        let args = [
            Val::owned(json!("a")),
            Val::owned(json!(1)),
            Val::owned(json!(2)),
            Val::owned(json!("b")),
        ];
        assert_eq!(sprint(&args), "a1 2b");
        assert_eq!(sprintln(&args), "a 1 2 b\n");
        assert_eq!(sprint(&[Val::Missing]), "<nil>");
    }

    #[test]
    fn quoting_escapes_like_strconv() {
        assert_eq!(
            go_quote("tab\there é \u{7}\u{a0}"),
            "\"tab\\there é \\a\\u00a0\""
        );
        assert_eq!(go_quote("\u{1}"), "\"\\x01\"");
    }
}
