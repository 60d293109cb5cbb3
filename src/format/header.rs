//! Table headers: the text above each column, from the command's header
//! names or, failing that, from the field name split at CamelCase words and
//! upper-cased as podman does (`CreatedAt` → `CREATED AT`).

use serde_json::{Map, Value};

use super::template::Template;

/// The header row a table template is rendered against: each top-level
/// field the template uses, mapped to its header text.
pub(crate) fn header_row(template: &Template, names: &[(&str, &str)]) -> Value {
    let row: Map<String, Value> = template
        .top_fields()
        .into_iter()
        .map(|field| {
            let text = header_text(&field, names);
            (field, Value::String(text))
        })
        .collect();
    Value::Object(row)
}

/// The header of one field: the command's name for it, else its words.
pub(crate) fn header_text(field: &str, names: &[(&str, &str)]) -> String {
    match names.iter().find(|(f, _)| *f == field) {
        Some((_, header)) => header.to_uppercase(),
        None => split_camel_case(field).join(" ").to_uppercase(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Lower,
    Upper,
    Digit,
    Other,
}

fn class(c: char) -> Class {
    if c.is_lowercase() {
        Class::Lower
    } else if c.is_uppercase() {
        Class::Upper
    } else if c.is_numeric() {
        Class::Digit
    } else {
        Class::Other
    }
}

/// Splits a CamelCase name into words: runs of one character class, where
/// the last capital of an upper-case run starts the following lower-case
/// word (`PDFLoader` → `PDF`, `Loader`; `GL11Version` → `GL`, `11`, `Version`).
pub(crate) fn split_camel_case(name: &str) -> Vec<String> {
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = None;
    for c in name.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some(run) if last == Some(k) => run.push(c),
            _ => runs.push(vec![c]),
        }
        last = Some(k);
    }
    for i in 0..runs.len().saturating_sub(1) {
        let upper_then_lower = runs[i].first().is_some_and(|c| c.is_uppercase())
            && runs[i + 1].first().is_some_and(|c| c.is_lowercase());
        if upper_then_lower {
            if let Some(c) = runs[i].pop() {
                runs[i + 1].insert(0, c);
            }
        }
    }
    runs.into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.into_iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_podman() {
        for (name, words) in [
            ("", vec![]),
            ("lowercase", vec!["lowercase"]),
            ("MyClass", vec!["My", "Class"]),
            ("MyC", vec!["My", "C"]),
            ("HTML", vec!["HTML"]),
            ("PDFLoader", vec!["PDF", "Loader"]),
            ("AString", vec!["A", "String"]),
            ("SimpleXMLParser", vec!["Simple", "XML", "Parser"]),
            ("vimRPCPlugin", vec!["vim", "RPC", "Plugin"]),
            ("GL11Version", vec!["GL", "11", "Version"]),
            ("99Bottles", vec!["99", "Bottles"]),
            ("BöseÜberraschung", vec!["Böse", "Überraschung"]),
            ("Two  spaces", vec!["Two", "  ", "spaces"]),
        ] {
            assert_eq!(split_camel_case(name), words, "{name}");
        }
    }

    #[test]
    fn header_text_prefers_command_names() {
        let names = [("ID", "container id"), ("PodName", "podname")];
        assert_eq!(header_text("ID", &names), "CONTAINER ID");
        assert_eq!(header_text("PodName", &names), "PODNAME");
        assert_eq!(header_text("CreatedAt", &names), "CREATED AT");
        assert_eq!(header_text("ImageID", &[]), "IMAGE ID");
        assert_eq!(header_text("ID", &[]), "ID");
    }

    #[test]
    fn header_row_covers_used_fields() {
        let t =
            Template::parse("{{.ID}}\t{{.Labels.app}}\t{{.CreatedAt}}").expect("should succeed");
        assert_eq!(
            header_row(&t, &[("ID", "container id")]),
            serde_json::json!({"ID": "CONTAINER ID", "Labels": "LABELS", "CreatedAt": "CREATED AT"})
        );
    }
}
