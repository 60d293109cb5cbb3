//! Runtime values of the template engine: JSON data borrowed from the caller
//! or produced by functions, plus Go's "no value" for missing map keys.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::printf;

#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    /// A missing map key or field of a missing value: Go's invalid value.
    Missing,
    Json(Cow<'a, Value>),
}

impl<'a> Val<'a> {
    pub fn borrowed(v: &'a Value) -> Self {
        Self::Json(Cow::Borrowed(v))
    }

    pub fn owned(v: Value) -> Self {
        Self::Json(Cow::Owned(v))
    }

    pub fn string(s: impl Into<String>) -> Self {
        Self::owned(Value::String(s.into()))
    }

    pub fn json(&self) -> Option<&Value> {
        match self {
            Self::Missing => None,
            Self::Json(v) => Some(v),
        }
    }

    /// The value as JSON; a missing value becomes `null`.
    pub fn to_json(&self) -> Value {
        self.json().cloned().unwrap_or(Value::Null)
    }

    /// Missing or JSON null: Go's nil.
    pub fn is_nil(&self) -> bool {
        matches!(self.json(), None | Some(Value::Null))
    }

    pub fn as_str(&self) -> Option<&str> {
        self.json().and_then(Value::as_str)
    }

    /// Go's truth: false, 0, "", nil and empty lists or maps are false.
    pub fn truth(&self) -> bool {
        match self.json() {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(m)) => !m.is_empty(),
        }
    }

    /// The Go type a JSON value decodes to, as Go's messages name it.
    pub fn type_name(&self) -> &'static str {
        match self.json() {
            None | Some(Value::Null) => "<nil>",
            Some(v) => json_type_name(v),
        }
    }

    /// The value as a Go template action prints it.
    pub fn print(&self) -> String {
        match self.json() {
            None | Some(Value::Null) => "<no value>".to_owned(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => printf::format_v(v),
        }
    }

    /// The value as an integer argument, like Go's int parameters.
    pub fn as_int(&self) -> Option<i64> {
        match self.json()? {
            Value::Number(n) => n.as_i64().or_else(|| {
                let f = n.as_f64()?;
                // Whole floats came from JSON numbers such as `2.0`.
                (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
            }),
            _ => None,
        }
    }
}

/// The member `key` of an object value, keeping the borrow when there is one.
/// A Go field name (capitalised) that the JSON spells in another case
/// (`.ID` for `Id`, `.Store.GraphRoot` for `store.graphRoot`) finds its
/// member when only one member matches it that way, as podman's templates
/// see Go structs where skiff has JSON.
pub(crate) fn child_by_key<'a>(v: Cow<'a, Value>, key: &str) -> Val<'a> {
    let key = match &*v {
        Value::Object(m)
            if !m.contains_key(key) && key.starts_with(|c: char| c.is_ascii_uppercase()) =>
        {
            let mut same = m.keys().filter(|k| k.eq_ignore_ascii_case(key));
            match (same.next(), same.next()) {
                (Some(k), None) => k.clone(),
                _ => key.to_string(),
            }
        }
        _ => key.to_string(),
    };
    let key = key.as_str();
    match v {
        Cow::Borrowed(Value::Object(m)) => m.get(key).map_or(Val::Missing, Val::borrowed),
        Cow::Owned(Value::Object(mut m)) => m.remove(key).map_or(Val::Missing, Val::owned),
        _ => Val::Missing,
    }
}

/// Element `i` (in range) of an array value, keeping the borrow when there is one.
pub(crate) fn child_by_index<'a>(v: Cow<'a, Value>, i: usize) -> Val<'a> {
    match v {
        Cow::Borrowed(Value::Array(a)) => a.get(i).map_or(Val::Missing, Val::borrowed),
        Cow::Owned(Value::Array(mut a)) if i < a.len() => Val::owned(a.swap_remove(i)),
        _ => Val::Missing,
    }
}

/// The (key, element) pairs `range` visits in a list or map, maps in key
/// order as Go sorts them; any other value is handed back.
pub(crate) fn entries<'a>(v: Cow<'a, Value>) -> Result<Vec<(Val<'a>, Val<'a>)>, Cow<'a, Value>> {
    let index = |i: usize| Val::owned(Value::from(i));
    Ok(match v {
        Cow::Borrowed(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, e)| (index(i), Val::borrowed(e)))
            .collect(),
        Cow::Owned(Value::Array(a)) => a
            .into_iter()
            .enumerate()
            .map(|(i, e)| (index(i), Val::owned(e)))
            .collect(),
        Cow::Borrowed(Value::Object(m)) => {
            let mut items: Vec<_> = m.iter().collect();
            items.sort_by(|a, b| a.0.cmp(b.0));
            items
                .into_iter()
                .map(|(k, e)| (Val::string(k.clone()), Val::borrowed(e)))
                .collect()
        }
        Cow::Owned(Value::Object(m)) => {
            let mut items: Vec<_> = m.into_iter().collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            items
                .into_iter()
                .map(|(k, e)| (Val::string(k), Val::owned(e)))
                .collect()
        }
        other => return Err(other),
    })
}

pub(crate) fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    let int = |n: &Number| n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// Go's `eq` for two arguments: nil equals only nil; lists and maps cannot
/// be compared; values of different kinds are an error.
pub(crate) fn equal(a: &Val, b: &Val) -> Result<bool, String> {
    if a.is_nil() || b.is_nil() {
        return Ok(a.is_nil() && b.is_nil());
    }
    match (a.json(), b.json()) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => Ok(x == y),
        (Some(Value::String(x)), Some(Value::String(y))) => Ok(x == y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            Ok(cmp_numbers(x, y) == Some(Ordering::Equal))
        }
        (Some(x @ (Value::Array(_) | Value::Object(_))), _)
        | (_, Some(x @ (Value::Array(_) | Value::Object(_)))) => {
            Err(format!("non-comparable type {}", json_type_name(x)))
        }
        _ => Err("incompatible types for comparison".to_owned()),
    }
}

/// Go's ordering for `lt`/`le`/`gt`/`ge`: numbers and strings only.
pub(crate) fn compare(a: &Val, b: &Val) -> Result<Ordering, String> {
    match (a.json(), b.json()) {
        (Some(Value::String(x)), Some(Value::String(y))) => Ok(x.cmp(y)),
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            cmp_numbers(x, y).ok_or_else(|| "invalid type for comparison".to_owned())
        }
        (Some(Value::String(_) | Value::Number(_)), Some(Value::String(_) | Value::Number(_))) => {
            Err("incompatible types for comparison".to_owned())
        }
        _ => Err("invalid type for comparison".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truth_follows_go() {
        for (v, t) in [
            (json!(null), false),
            (json!(0), false),
            (json!(0.0), false),
            (json!(""), false),
            (json!([]), false),
            (json!({}), false),
            (json!(false), false),
            (json!(1), true),
            (json!("x"), true),
            (json!([0]), true),
        ] {
            assert_eq!(Val::owned(v.clone()).truth(), t, "{v}");
        }
        assert!(!Val::Missing.truth());
    }

    #[test]
    fn prints_like_go() {
        assert_eq!(Val::Missing.print(), "<no value>");
        assert_eq!(Val::owned(json!(null)).print(), "<no value>");
        assert_eq!(Val::owned(json!("a b")).print(), "a b");
        assert_eq!(Val::owned(json!(3)).print(), "3");
        assert_eq!(Val::owned(json!(3.0)).print(), "3");
        assert_eq!(Val::owned(json!(["a", "b"])).print(), "[a b]");
        assert_eq!(
            Val::owned(json!({"b": 1, "a": [true, null]})).print(),
            "map[a:[true <nil>] b:1]"
        );
    }

    #[test]
    fn comparisons() {
        let v = |j| Val::owned(j);
        assert_eq!(equal(&v(json!(1)), &v(json!(1.0))), Ok(true));
        assert_eq!(equal(&Val::Missing, &v(json!(null))), Ok(true));
        assert_eq!(equal(&Val::Missing, &v(json!("x"))), Ok(false));
        assert_eq!(
            equal(&v(json!(1)), &v(json!("1"))),
            Err("incompatible types for comparison".to_owned())
        );
        assert_eq!(
            equal(&v(json!([1])), &v(json!([1]))),
            Err("non-comparable type []interface {}".to_owned())
        );
        assert_eq!(compare(&v(json!("a")), &v(json!("b"))), Ok(Ordering::Less));
        assert_eq!(
            compare(&v(json!(-1)), &v(json!(u64::MAX))),
            Ok(Ordering::Less)
        );
        assert_eq!(
            compare(&v(json!(true)), &v(json!(false))),
            Err("invalid type for comparison".to_owned())
        );
    }
}
