//! Tests of `--format` parsing and rendering as a command sees them.

use serde_json::{json, Value};

use super::*;

fn containers() -> Vec<Value> {
    vec![
        json!({"ID": "3f2a1b4c5d6e", "Names": "web", "Status": "Up 2 minutes", "Labels": {"app": "shop"}, "Pod": ""}),
        json!({"ID": "9a8b7c6d5e4f", "Names": "database-primary", "Status": "Exited (0) 3 hours ago", "Labels": {}, "Pod": "c0ffee"}),
    ]
}

const PS_HEADERS: &[(&str, &str)] = &[("ID", "container id"), ("PodName", "podname")];
const PS_DEFAULT: &str = "{{.ID}}\t{{.Names}}\t{{.Status}}";

fn render(format: &OutputFormat, rows: &[Value]) -> String {
    let mut out = Vec::new();
    render_rows(format, PS_HEADERS, rows, &mut out).expect("rows render");
    String::from_utf8(out).expect("output is UTF-8")
}

fn parse(user: Option<&str>) -> OutputFormat {
    OutputFormat::parse(user, PS_DEFAULT).expect("format parses")
}

#[test]
fn default_table_is_aligned_like_podman() {
    assert_eq!(
        render(&parse(None), &containers()),
        "CONTAINER ID  NAMES             STATUS\n\
         3f2a1b4c5d6e  web               Up 2 minutes\n\
         9a8b7c6d5e4f  database-primary  Exited (0) 3 hours ago\n"
    );
    // `table` alone and an empty format mean the default too.
    assert_eq!(
        render(&parse(Some("table")), &containers()),
        render(&parse(None), &containers())
    );
    assert_eq!(
        render(&parse(Some("")), &containers()),
        render(&parse(None), &containers())
    );
}

#[test]
fn default_table_may_carry_the_table_keyword() {
    let f = OutputFormat::parse(None, "table {{.ID}}\t{{.Names}}").expect("format parses");
    assert_eq!(
        render(&f, &containers()[..1]),
        "CONTAINER ID  NAMES\n3f2a1b4c5d6e  web\n"
    );
}

#[test]
fn user_table_splits_columns_on_spaces_and_escaped_tabs() {
    let expected = "CONTAINER ID  NAMES\n\
                    3f2a1b4c5d6e  web\n\
                    9a8b7c6d5e4f  database-primary\n";
    assert_eq!(
        render(&parse(Some("table {{.ID}} {{.Names}}")), &containers()),
        expected
    );
    assert_eq!(
        render(&parse(Some("table {{.ID}}\\t{{.Names}}")), &containers()),
        expected
    );
    assert_eq!(
        render(&parse(Some("table {{.ID}}\t{{.Names}}")), &containers()),
        expected
    );
}

#[test]
fn table_headers_fall_back_to_split_field_names() {
    let rows = [json!({"CreatedAt": "2024-01-02", "ImageID": "sha", "Labels": {"app": "x"}})];
    assert_eq!(
        render(
            &parse(Some("table {{.CreatedAt}}\t{{.ImageID}}\t{{.Labels.app}}")),
            &rows
        ),
        "CREATED AT  IMAGE ID    LABELS\n\
         2024-01-02  sha         x\n"
    );
}

#[test]
fn table_rows_may_use_conditionals_and_functions() {
    let f = parse(Some(
        "table {{.Names}}\t{{if .Pod}}{{.Pod}}{{else}}-{{end}}\t{{upper .Status}}",
    ));
    assert_eq!(
        render(&f, &containers()),
        "NAMES             POD         STATUS\n\
         web               -           UP 2 MINUTES\n\
         database-primary  c0ffee      EXITED (0) 3 HOURS AGO\n"
    );
}

#[test]
fn table_without_rows_prints_the_header() {
    assert_eq!(
        render(&parse(None), &[]),
        "CONTAINER ID  NAMES       STATUS\n"
    );
}

#[test]
fn noheading_hides_the_header_but_keeps_alignment() {
    let mut out = Vec::new();
    Report::new(PS_HEADERS)
        .heading(Heading::Hide)
        .render_rows(
            &parse(Some("table {{.Names}} {{.ID}}")),
            &containers(),
            &mut out,
        )
        .expect("rows render");
    assert_eq!(
        String::from_utf8(out).expect("output is UTF-8"),
        "web               3f2a1b4c5d6e\n\
         database-primary  9a8b7c6d5e4f\n"
    );
}

#[test]
fn plain_template_adds_one_newline_per_row() {
    assert_eq!(
        render(&parse(Some("{{.ID}} {{.Names}}")), &containers()),
        "3f2a1b4c5d6e web\n9a8b7c6d5e4f database-primary\n"
    );
    assert_eq!(
        render(&parse(Some("{{.Names}}\n")), &containers()),
        "web\ndatabase-primary\n"
    );
    assert_eq!(
        render(&parse(Some("{{.Names}}\\n")), &containers()),
        "web\ndatabase-primary\n"
    );
    assert_eq!(
        render(&parse(Some("{{.Names}}\\t{{.Labels}}")), &containers()),
        "web\tmap[app:shop]\ndatabase-primary\tmap[]\n"
    );
}

#[test]
fn plain_template_keeps_escapes_inside_actions() {
    assert_eq!(
        render(
            &parse(Some(r#"{{printf "%s\t%s" .Names .ID}}"#)),
            &containers()[..1]
        ),
        "web\t3f2a1b4c5d6e\n"
    );
}

#[test]
fn top_level_range_over_dot_gets_the_whole_list() {
    assert_eq!(
        render(&parse(Some("{{range .}}{{.Names}},{{end}}")), &containers()),
        "web,database-primary,\n"
    );
}

#[test]
fn json_template_function_is_compact() {
    assert_eq!(
        render(&parse(Some("{{json .Labels}}")), &containers()),
        "{\"app\":\"shop\"}\n{}\n"
    );
}

#[test]
fn json_format_is_an_indented_array() {
    let rows = [json!({"ID": "abc", "Names": ["a", "b"], "Command": "sh -c 'a && b'"})];
    for user in ["json", " json ", "{{json}}", "{{ json. }}"] {
        assert!(matches!(parse(Some(user)), OutputFormat::Json), "{user}");
    }
    assert_eq!(
        render(&parse(Some("json")), &rows),
        "[\n    {\n        \"Command\": \"sh -c 'a \\u0026\\u0026 b'\",\n        \"ID\": \"abc\",\n        \"Names\": [\n            \"a\",\n            \"b\"\n        ]\n    }\n]\n"
    );
    let mut out = Vec::new();
    Report::new(&[])
        .json_style(JsonStyle::encoder_indent(2))
        .render_rows(&OutputFormat::Json, &rows[..], &mut out)
        .expect("rows render");
    assert_eq!(
        String::from_utf8(out).expect("output is UTF-8"),
        "[\n  {\n    \"Command\": \"sh -c 'a && b'\",\n    \"ID\": \"abc\",\n    \"Names\": [\n      \"a\",\n      \"b\"\n    ]\n  }\n]\n"
    );
    assert_eq!(render(&OutputFormat::Json, &[]), "[]\n");
}

#[test]
fn json_detection_matches_podman() {
    assert!(is_json("json"));
    assert!(is_json("{{json.}}"));
    assert!(!is_json("{{json .}}"));
    assert!(!is_json("jsonx"));
}

#[test]
fn custom_default_is_left_to_the_command() {
    assert!(matches!(
        OutputFormat::parse_custom(None),
        Ok(OutputFormat::Default)
    ));
    assert!(matches!(
        OutputFormat::parse_custom(Some("table")),
        Ok(OutputFormat::Default)
    ));
    let mut out = Vec::new();
    let err = render_rows(&OutputFormat::Default, &[], &[], &mut out)
        .expect_err("default has no template");
    assert!(matches!(err, FormatError::NoTemplate));
}

#[test]
fn render_value_prints_one_object() {
    let info = json!({"Host": {"Arch": "amd64", "Os": "linux"}, "Version": {"Version": "0.1.0"}});
    let run = |user: &str| {
        let f = OutputFormat::parse_custom(Some(user)).expect("format parses");
        let mut out = Vec::new();
        Report::new(&[])
            .json_style(JsonStyle::marshal_indent(2))
            .render_value(&f, &info, &mut out)
            .expect("value renders");
        String::from_utf8(out).expect("output is UTF-8")
    };
    assert_eq!(run("{{.Host.Arch}}/{{.Host.Os}}"), "amd64/linux\n");
    assert_eq!(run("json"), "{\n  \"Host\": {\n    \"Arch\": \"amd64\",\n    \"Os\": \"linux\"\n  },\n  \"Version\": {\n    \"Version\": \"0.1.0\"\n  }\n}\n");
    assert_eq!(run("table {{.Version.Version}}"), "VERSION\n0.1.0\n");
}

#[test]
fn errors_carry_go_messages() {
    let err =
        OutputFormat::parse(Some("{{.ID | nope}}"), PS_DEFAULT).expect_err("unknown function");
    assert_eq!(
        err.to_string(),
        "template: :1: function \"nope\" not defined"
    );
    let f = parse(Some("{{.Names.First}}"));
    let mut out = Vec::new();
    let err = render_rows(&f, &[], &containers(), &mut out).expect_err("field of a string");
    assert_eq!(
        err.to_string(),
        "template: :1:2: executing \"\" at <.Names.First>: can't evaluate field First in type string"
    );
}

#[test]
fn write_errors_are_reported() {
    struct Closed;
    impl std::io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let err =
        render_rows(&parse(None), &[], &containers(), &mut Closed).expect_err("pipe is closed");
    match err {
        FormatError::Write(e) => assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe),
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn huge_repeat_counts_are_errors_not_memory_exhaustion() {
    let data = serde_json::json!({"N": 3_000_000_000u64});
    let t = crate::format::Template::parse("{{range .N}}{{end}}").expect("parses");
    assert!(t
        .render(&data)
        .expect_err("too large")
        .to_string()
        .contains("too large"));
    let t = crate::format::Template::parse("{{pad \"x\" 99999999999 0}}").expect("parses");
    assert!(t
        .render(&data)
        .expect_err("too large")
        .to_string()
        .contains("too large"));
}

#[test]
fn go_field_names_reach_json_members_of_another_case() {
    let doc = json!({"Id": "abc", "store": {"graphRoot": "/var/lib/skiff"}, "Labels": {"app": "x"}, "id": "dup", "ID2": 1});
    let one = |f: &str| {
        let fmt = OutputFormat::parse_custom(Some(f)).expect("parses");
        let mut out = Vec::new();
        Report::new(&[])
            .render_value(&fmt, &doc, &mut out)
            .expect("renders");
        String::from_utf8(out).expect("utf-8")
    };
    assert_eq!(one("{{.Store.GraphRoot}}"), "/var/lib/skiff\n");
    // Two members that differ only in case: the exact one or nothing.
    assert_eq!(one("{{.Id}} {{.id}}"), "abc dup\n");
    assert_eq!(one("{{.ID}}"), "<no value>\n");
    // Only capitalised names look further (Go's are); a map key (a
    // label) written capitalised finds its lower-case member too.
    assert_eq!(one("{{.Labels.app}} {{.Labels.APP}}"), "x x\n");
    assert_eq!(one("{{.store.graphroot}}"), "<no value>\n");
}
