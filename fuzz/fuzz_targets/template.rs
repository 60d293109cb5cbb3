//! `--format` Go templates: parsing any text and rendering what parsed
//! against container-like data never panics, in plain and table output.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use skiff::format::{render_rows, OutputFormat, Template};

const HEADERS: &[(&str, &str)] = &[("ID", "container id"), ("Names", "names")];
const DEFAULT_TABLE: &str = "{{.ID}}\t{{.Names}}\t{{.Status}}";

fn rows() -> &'static [Value] {
    static ROWS: OnceLock<Vec<Value>> = OnceLock::new();
    ROWS.get_or_init(|| {
        vec![
            json!({
                "ID": "3f2a1b4c5d6e",
                "Names": ["web", "shop"],
                "Status": "Up 2 minutes",
                "Created": 1_700_000_000,
                "Size": 12.5,
                "Running": true,
                "Pod": null,
                "Labels": {"app": "shop", "tier": "front"},
                "Ports": [{"host": 8080, "container": 80, "proto": "tcp"}],
                "Mounts": [],
            }),
            json!({
                "ID": "9a8b7c6d5e4f",
                "Names": [],
                "Status": "Exited (0) 3 hours ago",
                "Created": -1,
                "Size": 0,
                "Running": false,
                "Pod": "c0ffee",
                "Labels": {},
                "Ports": null,
                "Mounts": ["/data"],
            }),
        ]
    })
}

fuzz_target!(|text: &str| {
    if let Ok(template) = Template::parse(text) {
        for row in rows() {
            let _ = template.render(row);
        }
        let _ = template.render(&Value::Array(rows().to_vec()));
    }

    // The same text as a whole `--format` value, table or not.
    if let Ok(format) = OutputFormat::parse(Some(text), DEFAULT_TABLE) {
        let mut out = Vec::new();
        let _ = render_rows(&format, HEADERS, rows(), &mut out);
    }
});
