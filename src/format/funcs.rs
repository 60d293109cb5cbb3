//! Built-in template functions: Go's (`len`, `index`, `printf`, `eq`, ...)
//! and those podman adds for `--format` (`json`, `join`, `upper`,
//! `truncate`, ...). `and` and `or` short-circuit, so the executor
//! evaluates them itself.
//!
//! String functions take the string first, like podman's, whose helpers wrap
//! Go's `strings` package: `{{truncate .ID 12}}`, `{{replace .Name "-" "_"}}`,
//! `{{contains .Name "web"}}`.

use serde_json::Value;

use super::exec::Mode;
use super::json::{self, HtmlEscaping};
use super::printf;
use super::value::{self, Val};

const BUILTINS: &[&str] = &[
    "and", "contains", "eq", "ge", "gt", "index", "join", "json", "le", "len", "lower", "lt", "ne",
    "not", "or", "pad", "print", "printf", "println", "replace", "slice", "split", "title",
    "truncate", "upper",
];

pub(crate) fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

fn want(name: &str, args: &[Val], n: usize) -> Result<(), String> {
    if args.len() == n {
        return Ok(());
    }
    Err(format!(
        "wrong number of args for {name}: want {n} got {}",
        args.len()
    ))
}

fn want_at_least(name: &str, args: &[Val], n: usize) -> Result<(), String> {
    if args.len() >= n {
        return Ok(());
    }
    Err(format!(
        "wrong number of args for {name}: want at least {n} got {}",
        args.len()
    ))
}

/// A string parameter; numbers and booleans are accepted in their printed form.
fn string_arg(v: &Val) -> Result<String, String> {
    match v.json() {
        None | Some(Value::Null) => Err("invalid value; expected string".to_owned()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(_) | Value::Bool(_)) => Ok(v.print()),
        Some(other) => Err(format!(
            "wrong type for value; expected string; got {}",
            value::json_type_name(other)
        )),
    }
}

fn int_arg(v: &Val) -> Result<i64, String> {
    v.as_int().ok_or_else(|| {
        if v.is_nil() {
            "invalid value; expected int".to_owned()
        } else {
            format!("wrong type for value; expected int; got {}", v.type_name())
        }
    })
}

/// Calls built-in `name`; errors are the message after Go's location prefix.
pub(crate) fn call<'a>(name: &str, args: Vec<Val<'a>>, mode: Mode) -> Result<Val<'a>, String> {
    let calling = |e: String| format!("error calling {name}: {e}");
    Ok(match name {
        "json" => {
            want(name, &args, 1)?;
            Val::string(json::to_compact(&args[0].to_json(), HtmlEscaping::Raw))
        }
        "lower" | "upper" | "title" => {
            want(name, &args, 1)?;
            let s = string_arg(&args[0])?;
            Val::string(match name {
                "lower" => s.to_lowercase(),
                "upper" => s.to_uppercase(),
                _ => title(&s),
            })
        }
        "join" => {
            want(name, &args, 2)?;
            let sep = string_arg(&args[1])?;
            let parts: Vec<String> = match args[0].json() {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => {
                    items.iter().map(|i| Val::borrowed(i).print()).collect()
                }
                Some(other) => {
                    return Err(format!(
                        "wrong type for value; expected []string; got {}",
                        value::json_type_name(other)
                    ))
                }
            };
            Val::string(parts.join(&sep))
        }
        "split" => {
            want(name, &args, 2)?;
            let (s, sep) = (string_arg(&args[0])?, string_arg(&args[1])?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(sep.as_str())
                    .map(|p| Value::String(p.to_owned()))
                    .collect()
            };
            Val::owned(Value::Array(parts))
        }
        "replace" => {
            want(name, &args, 3)?;
            let s = string_arg(&args[0])?;
            Val::string(s.replace(&string_arg(&args[1])?, &string_arg(&args[2])?))
        }
        "contains" => {
            want(name, &args, 2)?;
            let s = string_arg(&args[0])?;
            Val::owned(Value::Bool(s.contains(&string_arg(&args[1])?)))
        }
        "truncate" => {
            want(name, &args, 2)?;
            let s = string_arg(&args[0])?;
            let n = usize::try_from(int_arg(&args[1])?)
                .map_err(|_| calling("length must not be negative".to_owned()))?;
            if s.len() < n {
                Val::string(s)
            } else {
                Val::string(&s[..floor_char_boundary(&s, n)])
            }
        }
        "pad" => {
            want(name, &args, 3)?;
            let s = string_arg(&args[0])?;
            let count = |v: &Val| -> Result<usize, String> {
                let n = usize::try_from(int_arg(v)?)
                    .map_err(|_| calling("negative count".to_owned()))?;
                if n > 1_000_000 {
                    return Err(calling(format!("count {n} is too large (at most 1000000)")));
                }
                Ok(n)
            };
            let (before, after) = (count(&args[1])?, count(&args[2])?);
            if s.is_empty() {
                Val::string(s)
            } else {
                Val::string(format!("{}{s}{}", " ".repeat(before), " ".repeat(after)))
            }
        }
        "len" => {
            want(name, &args, 1)?;
            let n = match args[0].json() {
                Some(Value::String(s)) => s.len(),
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(m)) => m.len(),
                _ => return Err(calling(format!("len of type {}", args[0].type_name()))),
            };
            Val::owned(Value::from(n))
        }
        "index" => {
            want_at_least(name, &args, 1)?;
            let mut args = args.into_iter();
            let mut item = args.next().unwrap_or(Val::Missing);
            for key in args {
                item = index(item, &key, mode).map_err(calling)?;
            }
            item
        }
        "slice" => {
            want_at_least(name, &args, 1)?;
            slice(&args[0], &args[1..]).map_err(calling)?
        }
        "not" => {
            want(name, &args, 1)?;
            Val::owned(Value::Bool(!args[0].truth()))
        }
        "eq" => {
            want_at_least(name, &args, 1)?;
            if args.len() == 1 {
                return Err(calling("missing argument for comparison".to_owned()));
            }
            let mut any = false;
            for other in &args[1..] {
                if value::equal(&args[0], other).map_err(calling)? {
                    any = true;
                    break;
                }
            }
            Val::owned(Value::Bool(any))
        }
        "ne" => {
            want(name, &args, 2)?;
            Val::owned(Value::Bool(
                !value::equal(&args[0], &args[1]).map_err(calling)?,
            ))
        }
        "lt" | "le" | "gt" | "ge" => {
            want(name, &args, 2)?;
            let ord = value::compare(&args[0], &args[1]).map_err(calling)?;
            Val::owned(Value::Bool(match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            }))
        }
        "print" => Val::string(printf::sprint(&args)),
        "println" => Val::string(printf::sprintln(&args)),
        "printf" => {
            want_at_least(name, &args, 1)?;
            let format = args[0]
                .as_str()
                .ok_or_else(|| {
                    format!(
                        "wrong type for value; expected string; got {}",
                        args[0].type_name()
                    )
                })?
                .to_owned();
            Val::string(printf::sprintf(&format, &args[1..]))
        }
        other => return Err(format!("function {other:?} not defined")),
    })
}

/// The largest char boundary of `s` not after `n`.
fn floor_char_boundary(s: &str, mut n: usize) -> usize {
    n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            c.is_whitespace()
        };
    }
    out
}

fn index<'a>(item: Val<'a>, key: &Val, mode: Mode) -> Result<Val<'a>, String> {
    let idx = |len: usize| -> Result<usize, String> {
        let i = key
            .as_int()
            .ok_or_else(|| format!("cannot index slice/array with type {}", key.type_name()))?;
        usize::try_from(i)
            .ok()
            .filter(|&i| i < len)
            .ok_or_else(|| format!("index out of range: {i}"))
    };
    let Val::Json(v) = item else {
        return Err("index of untyped nil".to_owned());
    };
    match (&*v, key.json()) {
        (Value::Object(_), Some(Value::String(k))) => Ok(value::child_by_key(v, k)),
        (Value::Object(_), _) => Err(format!(
            "value has type {}; should be string",
            key.type_name()
        )),
        (Value::Array(a), _) => {
            let i = idx(a.len())?;
            Ok(value::child_by_index(v, i))
        }
        (Value::String(_), _) if mode == Mode::Header => Ok(Val::Json(v)),
        (Value::String(s), _) => Ok(Val::owned(Value::from(s.as_bytes()[idx(s.len())?]))),
        (Value::Null, _) => Err("index of untyped nil".to_owned()),
        (other, _) => Err(format!(
            "can't index item of type {}",
            value::json_type_name(other)
        )),
    }
}

fn slice<'a>(item: &Val<'a>, idx: &[Val]) -> Result<Val<'a>, String> {
    if idx.len() > 2 {
        return Err("too many slice indexes".to_owned());
    }
    let len = match item.json() {
        Some(Value::String(s)) => s.len(),
        Some(Value::Array(a)) => a.len(),
        _ => return Err(format!("can't slice item of type {}", item.type_name())),
    };
    let mut bounds = [0, len];
    for (b, v) in bounds.iter_mut().zip(idx) {
        let i = v
            .as_int()
            .ok_or_else(|| format!("cannot index slice/array with type {}", v.type_name()))?;
        *b = usize::try_from(i)
            .ok()
            .filter(|&i| i <= len)
            .ok_or_else(|| format!("index out of range: {i}"))?;
    }
    let [from, to] = bounds;
    if from > to {
        return Err(format!("invalid slice index: {from} > {to}"));
    }
    Ok(match item.json() {
        Some(Value::String(s)) => Val::string(
            s.get(from..to)
                .ok_or_else(|| format!("slice index {from}:{to} splits a character"))?,
        ),
        Some(Value::Array(a)) => Val::owned(Value::Array(a[from..to].to_vec())),
        _ => Val::Missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(name: &str, args: &[Value]) -> Result<String, String> {
        let args = args.iter().cloned().map(Val::owned).collect();
        call(name, args, Mode::Data).map(|v| v.print())
    }

    #[test]
    fn string_functions() {
        assert_eq!(
            run("upper", &[json!("abc")]).expect("should succeed"),
            "ABC"
        );
        assert_eq!(run("lower", &[json!("ÀB")]).expect("should succeed"), "àb");
        assert_eq!(
            run("title", &[json!("hello wide-world_x")]).expect("should succeed"),
            "Hello Wide-World_x"
        );
        assert_eq!(
            run("join", &[json!(["a", "b", 3]), json!(", ")]).expect("should succeed"),
            "a, b, 3"
        );
        assert_eq!(
            run("split", &[json!("a:b:c"), json!(":")]).expect("should succeed"),
            "[a b c]"
        );
        assert_eq!(
            run("split", &[json!("ab"), json!("")]).expect("should succeed"),
            "[a b]"
        );
        assert_eq!(
            run("replace", &[json!("a-b-c"), json!("-"), json!("_")]).expect("should succeed"),
            "a_b_c"
        );
        assert_eq!(
            run("contains", &[json!("webapp"), json!("web")]).expect("should succeed"),
            "true"
        );
        assert_eq!(
            run("truncate", &[json!("abcdef"), json!(3)]).expect("should succeed"),
            "abc"
        );
        assert_eq!(
            run("truncate", &[json!("ab"), json!(3)]).expect("should succeed"),
            "ab"
        );
        assert_eq!(
            run("truncate", &[json!("éé"), json!(3)]).expect("should succeed"),
            "é"
        );
        assert_eq!(
            run("pad", &[json!("x"), json!(1), json!(2)]).expect("should succeed"),
            " x  "
        );
        assert_eq!(
            run("pad", &[json!(""), json!(1), json!(2)]).expect("should succeed"),
            ""
        );
        assert_eq!(
            run("json", &[json!({"a": [1, "<"]})]).expect("should succeed"),
            r#"{"a":[1,"<"]}"#
        );
    }

    #[test]
    fn index_len_slice() {
        assert_eq!(
            run("index", &[json!({"a": {"b": 2}}), json!("a"), json!("b")])
                .expect("should succeed"),
            "2"
        );
        assert_eq!(
            run("index", &[json!({"a": 1}), json!("z")]).expect("should succeed"),
            "<no value>"
        );
        assert_eq!(
            run("index", &[json!([10, 20]), json!(1)]).expect("should succeed"),
            "20"
        );
        assert_eq!(
            run("index", &[json!([10, 20]), json!(5)]).expect_err("should fail"),
            "error calling index: index out of range: 5"
        );
        assert_eq!(run("len", &[json!("héllo")]).expect("should succeed"), "6");
        assert_eq!(
            run("len", &[json!({"a": 1, "b": 2})]).expect("should succeed"),
            "2"
        );
        assert_eq!(
            run("len", &[json!(3)]).expect_err("should fail"),
            "error calling len: len of type int"
        );
        assert_eq!(
            run("slice", &[json!("abcdef"), json!(1), json!(3)]).expect("should succeed"),
            "bc"
        );
        assert_eq!(
            run("slice", &[json!([1, 2, 3]), json!(1)]).expect("should succeed"),
            "[2 3]"
        );
    }

    #[test]
    fn comparisons_and_logic() {
        assert_eq!(
            run("eq", &[json!("a"), json!("b"), json!("a")]).expect("should succeed"),
            "true"
        );
        assert_eq!(
            run("ne", &[json!(1), json!(2)]).expect("should succeed"),
            "true"
        );
        assert_eq!(
            run("lt", &[json!(1), json!(2.5)]).expect("should succeed"),
            "true"
        );
        assert_eq!(
            run("ge", &[json!("b"), json!("a")]).expect("should succeed"),
            "true"
        );
        assert_eq!(run("not", &[json!("")]).expect("should succeed"), "true");
        assert_eq!(
            run("eq", &[json!(1), json!("1")]).expect_err("should fail"),
            "error calling eq: incompatible types for comparison"
        );
    }

    #[test]
    fn argument_errors() {
        assert_eq!(
            run("join", &[json!(["a"])]).expect_err("should fail"),
            "wrong number of args for join: want 2 got 1"
        );
        assert_eq!(
            run("upper", &[json!(["a"])]).expect_err("should fail"),
            "wrong type for value; expected string; got []interface {}"
        );
        assert_eq!(
            run("printf", &[]).expect_err("should fail"),
            "wrong number of args for printf: want at least 1 got 0"
        );
    }
}
