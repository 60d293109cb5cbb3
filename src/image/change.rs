//! `--change` instructions of `commit` and `import`: the Dockerfile
//! instructions that set an image's run configuration (CMD, ENTRYPOINT,
//! ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL), parsed once and
//! applied to the `config` object of an image configuration. The
//! instruction and its value are separated by blanks or by `=`
//! (`CMD=/bin/sh`), as podman accepts them.
//! <https://docs.docker.com/reference/dockerfile/>

use serde_json::{Map, Value};

/// One parsed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    Cmd(Vec<String>),
    Entrypoint(Vec<String>),
    Env(Vec<(String, String)>),
    Expose(Vec<String>),
    Label(Vec<(String, String)>),
    User(String),
    Volume(Vec<String>),
    Workdir(String),
    StopSignal(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid change {text:?}: {why}")]
pub struct ChangeError {
    pub text: String,
    pub why: String,
}

/// The instructions `--change` accepts, for messages.
const SUPPORTED: &str = "CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL";

/// Parse one `--change` value.
pub fn parse(text: &str) -> Result<Instruction, ChangeError> {
    let err = |why: &str| ChangeError {
        text: text.to_string(),
        why: why.to_string(),
    };
    let trimmed = text.trim();
    let word_end = trimmed
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(trimmed.len());
    let (word, rest) = trimmed.split_at(word_end);
    let value = match rest.chars().next() {
        Some('=') => rest[1..].trim(),
        Some(c) if c.is_whitespace() => rest.trim(),
        _ => return Err(err("give INSTRUCTION VALUE (or INSTRUCTION=VALUE)")),
    };
    if value.is_empty() {
        return Err(err("the instruction has no value"));
    }
    let instruction = word.to_ascii_uppercase();
    Ok(match instruction.as_str() {
        "CMD" => Instruction::Cmd(command(value)),
        "ENTRYPOINT" => Instruction::Entrypoint(command(value)),
        "ENV" => Instruction::Env(pairs(value).map_err(|w| err(&w))?),
        "LABEL" => Instruction::Label(pairs(value).map_err(|w| err(&w))?),
        "EXPOSE" => Instruction::Expose(
            words(value)
                .map_err(|w| err(&w))?
                .iter()
                .map(|p| port(p).map_err(|w| err(&w)))
                .collect::<Result<_, _>>()?,
        ),
        "USER" => Instruction::User(value.to_string()),
        "VOLUME" => {
            let list = match json_list(value) {
                Some(l) => l,
                None => words(value).map_err(|w| err(&w))?,
            };
            if list.iter().any(|v| v.is_empty()) {
                return Err(err("a volume path is empty"));
            }
            Instruction::Volume(list)
        }
        "WORKDIR" => Instruction::Workdir(value.to_string()),
        "STOPSIGNAL" => {
            let ok = value.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n))
                || value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-');
            if !ok {
                return Err(err("not a signal"));
            }
            Instruction::StopSignal(value.to_string())
        }
        "ONBUILD" | "FROM" | "RUN" | "ADD" | "COPY" | "ARG" | "HEALTHCHECK" | "SHELL"
        | "MAINTAINER" => {
            return Err(err(&format!(
                "{instruction} is not supported by --change (supported: {SUPPORTED})"
            )))
        }
        _ => {
            return Err(err(&format!(
                "unknown instruction {word:?} (supported: {SUPPORTED})"
            )))
        }
    })
}

/// Parse every `--change` value, failing on the first bad one.
pub fn parse_all(texts: &[String]) -> Result<Vec<Instruction>, ChangeError> {
    texts.iter().map(|t| parse(t)).collect()
}

/// A JSON array of strings (the exec form), if `value` is one.
fn json_list(value: &str) -> Option<Vec<String>> {
    if !value.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(value).ok()
}

/// CMD and ENTRYPOINT: the exec form as given, the shell form run by
/// `/bin/sh -c`.
fn command(value: &str) -> Vec<String> {
    json_list(value).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into(), value.to_string()])
}

/// Split on blanks outside quotes; quotes are removed and a backslash
/// takes the next character as it is (outside single quotes).
fn words(value: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => match chars.next() {
                Some(n) => {
                    cur.push(n);
                    in_word = true;
                }
                None => return Err("a backslash ends the value".into()),
            },
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed".into());
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `KEY=VALUE ...`, or the older `KEY VALUE` (one pair, the value being
/// the rest of the line).
fn pairs(value: &str) -> Result<Vec<(String, String)>, String> {
    let first = value.split_whitespace().next().unwrap_or_default();
    if !first.contains('=') {
        let rest = value[first.len()..].trim();
        if rest.is_empty() {
            return Err(format!("{first} has no value: give KEY=VALUE"));
        }
        let v = words(rest)?.join(" ");
        return Ok(vec![(first.to_string(), v)]);
    }
    words(value)?
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some(("", _)) => Err(format!("{w:?} has no name")),
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Err(format!("{w:?} is not KEY=VALUE")),
        })
        .collect()
}

/// `PORT[/PROTOCOL]` or `FIRST-LAST[/PROTOCOL]` as the key ExposedPorts
/// uses (`80/tcp`).
fn port(text: &str) -> Result<String, String> {
    let (ports, proto) = text.split_once('/').unwrap_or((text, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("{text:?}: the protocol must be tcp, udp or sctp"));
    }
    let num = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{text:?} is not a port (1-65535)"))
    };
    match ports.split_once('-') {
        Some((a, b)) => {
            if num(a)? > num(b)? {
                return Err(format!("{text:?}: the range is reversed"));
            }
        }
        None => {
            num(ports)?;
        }
    }
    Ok(format!("{ports}/{proto}"))
}

/// Apply `changes`, in order, to an image configuration's `config`
/// object (`Cmd`, `Env`, ... as the image spec names them).
pub fn apply(config: &mut Map<String, Value>, changes: &[Instruction]) {
    let list = |v: &[String]| Value::from(v.to_vec());
    for change in changes {
        match change {
            Instruction::Cmd(c) => {
                config.insert("Cmd".into(), list(c));
            }
            Instruction::Entrypoint(e) => {
                config.insert("Entrypoint".into(), list(e));
            }
            Instruction::Env(pairs) => set_env(config, pairs),
            Instruction::Label(pairs) => {
                let labels = object(config, "Labels");
                for (k, v) in pairs {
                    labels.insert(k.clone(), Value::from(v.clone()));
                }
            }
            Instruction::Expose(ports) => {
                let exposed = object(config, "ExposedPorts");
                for p in ports {
                    exposed.insert(p.clone(), Value::Object(Map::new()));
                }
            }
            Instruction::Volume(paths) => {
                let volumes = object(config, "Volumes");
                for p in paths {
                    volumes.insert(p.clone(), Value::Object(Map::new()));
                }
            }
            Instruction::User(u) => {
                config.insert("User".into(), Value::from(u.clone()));
            }
            Instruction::Workdir(w) => {
                let dir = if w.starts_with('/') {
                    w.clone()
                } else {
                    let base = config
                        .get("WorkingDir")
                        .and_then(Value::as_str)
                        .filter(|b| !b.is_empty())
                        .unwrap_or("/");
                    format!("{}/{w}", base.trim_end_matches('/'))
                };
                config.insert("WorkingDir".into(), Value::from(dir));
            }
            Instruction::StopSignal(s) => {
                config.insert("StopSignal".into(), Value::from(s.clone()));
            }
        }
    }
}

/// Set variables in `Env`, replacing an earlier value of the same name.
pub fn set_env(config: &mut Map<String, Value>, pairs: &[(String, String)]) {
    let mut env: Vec<String> = config
        .get("Env")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for (k, v) in pairs {
        let entry = format!("{k}={v}");
        let prefix = format!("{k}=");
        match env.iter_mut().find(|e| e.starts_with(&prefix) || *e == k) {
            Some(slot) => *slot = entry,
            None => env.push(entry),
        }
    }
    config.insert("Env".into(), Value::from(env));
}

/// The object at `key`, made (or replacing a non-object) if needed.
fn object<'m>(config: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
    let slot = config
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("made an object above")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: &str) -> Instruction {
        parse(t).unwrap_or_else(|e| panic!("{t}: {e}"))
    }

    #[test]
    fn exec_and_shell_forms_with_either_separator() {
        assert_eq!(
            p(r#"CMD ["/bin/echo", "a b"]"#),
            Instruction::Cmd(vec!["/bin/echo".into(), "a b".into()])
        );
        assert_eq!(
            p("CMD=/bin/sh"),
            Instruction::Cmd(vec!["/bin/sh".into(), "-c".into(), "/bin/sh".into()])
        );
        assert_eq!(
            p(r#"entrypoint=["/x"]"#),
            Instruction::Entrypoint(vec!["/x".into()])
        );
        assert_eq!(
            p("CMD echo hi there"),
            Instruction::Cmd(vec!["/bin/sh".into(), "-c".into(), "echo hi there".into()])
        );
    }

    #[test]
    fn env_and_labels_take_both_forms_and_quotes() {
        assert_eq!(
            p(r#"ENV A=1 B="two words" C=it\'s"#),
            Instruction::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "it's".into()),
            ])
        );
        assert_eq!(
            p("ENV NAME some value"),
            Instruction::Env(vec![("NAME".into(), "some value".into())])
        );
        assert_eq!(
            p("ENV=X=y"),
            Instruction::Env(vec![("X".into(), "y".into())])
        );
        assert_eq!(
            p("LABEL a.b='x y'"),
            Instruction::Label(vec![("a.b".into(), "x y".into())])
        );
    }

    #[test]
    fn bad_changes_say_why() {
        for (bad, why) in [
            ("CMD", "INSTRUCTION VALUE"),
            ("CMD= ", "no value"),
            ("FOO bar", "unknown instruction"),
            ("RUN echo", "not supported"),
            ("ONBUILD RUN x", "not supported"),
            ("ENV A", "has no value"),
            ("ENV A=1 B", "not KEY=VALUE"),
            ("ENV =1", "no name"),
            ("LABEL a=\"x", "not closed"),
            ("EXPOSE 70000", "not a port"),
            ("EXPOSE 80/icmp", "protocol"),
            ("STOPSIGNAL SIG TERM;", "not a signal"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn applies_in_order_onto_a_config() {
        let mut c: Map<String, Value> = serde_json::from_str(
            r#"{"Env":["PATH=/bin","A=0"],"WorkingDir":"/srv","Labels":{"k":"v"}}"#,
        )
        .expect("json");
        let changes = parse_all(&[
            "ENV A=1 B=2".to_string(),
            "WORKDIR app".to_string(),
            "EXPOSE 80 53/udp 8000-8001".to_string(),
            "LABEL k=w".to_string(),
            "VOLUME [\"/data\"]".to_string(),
            "USER 1000:1000".to_string(),
            "STOPSIGNAL SIGINT".to_string(),
        ])
        .expect("valid");
        apply(&mut c, &changes);
        let want: Value = serde_json::from_str(
            r#"{"Env":["PATH=/bin","A=1","B=2"],"WorkingDir":"/srv/app","Labels":{"k":"w"},
                "ExposedPorts":{"80/tcp":{},"53/udp":{},"8000-8001/tcp":{}},
                "Volumes":{"/data":{}},"User":"1000:1000","StopSignal":"SIGINT"}"#,
        )
        .expect("json");
        assert_eq!(Value::Object(c), want);
    }
}
