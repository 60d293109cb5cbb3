//! Go literal syntax inside template actions: number literals and the
//! escape sequences of quoted strings and character constants.

use serde_json::Number;

/// Parses Go number literal syntax: decimal, `0x`, `0o`, `0b`, legacy octal,
/// `_` separators, fractions and exponents.
pub(crate) fn parse_number(text: &str) -> Option<Number> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') {
        return None;
    }
    let clean = body.replace('_', "");
    let lower = clean.to_ascii_lowercase();
    let radix_int = |digits: &str, radix: u32| -> Option<Number> {
        let v = u64::from_str_radix(digits, radix).ok()?;
        signed(neg, v)
    };
    if let Some(d) = lower.strip_prefix("0x") {
        return radix_int(d, 16);
    }
    if let Some(d) = lower.strip_prefix("0o") {
        return radix_int(d, 8);
    }
    if let Some(d) = lower.strip_prefix("0b") {
        return radix_int(d, 2);
    }
    if lower.bytes().all(|b| b.is_ascii_digit()) {
        if lower.len() > 1 && lower.starts_with('0') {
            return radix_int(&lower[1..], 8);
        }
        return radix_int(&lower, 10);
    }
    // A float: digits, at most one '.', an optional exponent.
    let valid = lower
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'));
    if !valid || lower.starts_with('e') {
        return None;
    }
    let v: f64 = lower.parse().ok()?;
    Number::from_f64(if neg { -v } else { v })
}

fn signed(neg: bool, v: u64) -> Option<Number> {
    if !neg {
        return Some(Number::from(v));
    }
    if v == 0 {
        return Some(Number::from(0));
    }
    let v = i64::try_from(v - 1).ok()?;
    Some(Number::from(-v - 1))
}

/// Decodes Go escape sequences in a quoted string or character constant.
pub(crate) fn unescape(body: &str, quote: char) -> Result<String, String> {
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    let bad = || "invalid syntax".to_owned();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next().ok_or_else(bad)?;
        let simple = match e {
            'a' => Some(b'\x07'),
            'b' => Some(b'\x08'),
            'f' => Some(b'\x0c'),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(b'\x0b'),
            '\\' => Some(b'\\'),
            '"' | '\'' if e == quote => Some(e as u8),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let mut take = |n: usize, radix: u32| -> Result<u32, String> {
            let digits: String = chars.by_ref().take(n).collect();
            if digits.len() != n {
                return Err(bad());
            }
            u32::from_str_radix(&digits, radix).map_err(|_| bad())
        };
        match e {
            'x' => out.push(u8::try_from(take(2, 16)?).map_err(|_| bad())?),
            'u' | 'U' => {
                let v = take(if e == 'u' { 4 } else { 8 }, 16)?;
                let c = char::from_u32(v).ok_or_else(bad)?;
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let v = u32::from_str_radix(&format!("{e}{rest}"), 8).map_err(|_| bad())?;
                if rest.len() != 2 {
                    return Err(bad());
                }
                out.push(u8::try_from(v).map_err(|_| bad())?);
            }
            _ => return Err(bad()),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let n = |s: &str| parse_number(s).map(|n| n.to_string());
        assert_eq!(n("42").as_deref(), Some("42"));
        assert_eq!(n("-7").as_deref(), Some("-7"));
        assert_eq!(n("0x1F").as_deref(), Some("31"));
        assert_eq!(n("0o17").as_deref(), Some("15"));
        assert_eq!(n("017").as_deref(), Some("15"));
        assert_eq!(n("0b101").as_deref(), Some("5"));
        assert_eq!(n("1_000").as_deref(), Some("1000"));
        assert_eq!(n("1.5").as_deref(), Some("1.5"));
        assert_eq!(n("1e3").as_deref(), Some("1000.0"));
        assert_eq!(
            n("-9223372036854775808").as_deref(),
            Some("-9223372036854775808")
        );
        assert_eq!(
            n("18446744073709551615").as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(n("3x"), None);
        assert_eq!(n("_1"), None);
        assert_eq!(n("-"), None);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            unescape(r"a\tb\n\\\x41\101\u00e9\U0001F600", '"').as_deref(),
            Ok("a\tb\n\\AAé😀")
        );
        assert_eq!(unescape(r"\'", '\'').as_deref(), Ok("'"));
        assert!(unescape(r"\'", '"').is_err());
        assert!(unescape(r"\q", '"').is_err());
        assert!(unescape(r"\u12", '"').is_err());
    }
}
