//! `pare inspect`: platforms, digests, layers and configuration of an image.

use anyhow::Result;
use comfy_table::{Table, presets::NOTHING};
use pare_oci::{Location, Root, escape_control};
use serde_json::{Value, json};

use crate::ExitStatus;
use crate::args::{Format, GlobalArgs, PlatformArg};
use crate::context::{open_source, parse_platform};
use crate::output::{Printer, human_size};

pub(crate) fn inspect(
    global: &GlobalArgs,
    printer: &Printer,
    location: &Location,
    platform: &PlatformArg,
    all_platforms: bool,
    format: Format,
) -> Result<ExitStatus> {
    let source = open_source(global, printer, location)?;
    let root = Root::open(source)?;
    let which = match (parse_platform(platform)?, all_platforms) {
        (Some(p), _) => pare_oci::InspectImages::Platform(p),
        (None, true) => pare_oci::InspectImages::All,
        (None, false) => pare_oci::InspectImages::Default,
    };
    let report = serde_json::to_value(pare_oci::InspectReport::of(&root, &location.to_string(), &which)?)?;
    match format {
        Format::Json => printer.json(&report)?,
        Format::Table => printer.out(&inspect_table(&report))?,
    }
    Ok(ExitStatus::Success)
}

fn inspect_table(report: &Value) -> String {
    // Every value comes from the image: control characters and line breaks are shown escaped.
    let s = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::String(s) if s.is_empty() => "-".to_string(),
        Value::String(s) => escape_control(s).into_owned(),
        Value::Array(a) if a.is_empty() => "-".to_string(),
        other => other.to_string(),
    };
    let mut out = String::new();
    let mut head = Table::new();
    head.load_style(NOTHING);
    head.add_row(vec!["Image".to_string(), s(&report["location"])]);
    head.add_row(vec!["Digest".to_string(), s(&report["digest"])]);
    head.add_row(vec!["Media type".to_string(), s(&report["mediaType"])]);
    if let Some(p) = report["platforms"].as_array() {
        head.add_row(vec!["Platforms".to_string(), p.iter().map(s).collect::<Vec<_>>().join(", ")]);
    }
    out.push_str(&head.to_string());
    out.push('\n');
    for image in report["images"].as_array().into_iter().flatten() {
        out.push('\n');
        let mut t = Table::new();
        t.load_style(NOTHING);
        t.add_row(vec!["Platform".to_string(), s(&image["platform"])]);
        t.add_row(vec!["Manifest".to_string(), s(&image["manifestDigest"])]);
        t.add_row(vec!["Config".to_string(), s(&image["configDigest"])]);
        t.add_row(vec!["Created".to_string(), s(&image["created"])]);
        t.add_row(vec!["User".to_string(), s(&image["user"])]);
        t.add_row(vec!["Entrypoint".to_string(), s(&image["entrypoint"])]);
        t.add_row(vec!["Cmd".to_string(), s(&image["cmd"])]);
        t.add_row(vec!["WorkingDir".to_string(), s(&image["workingDir"])]);
        let env: Vec<String> = image["env"].as_array().into_iter().flatten().map(s).collect();
        t.add_row(vec!["Env".to_string(), if env.is_empty() { "-".into() } else { env.join("\n") }]);
        let labels: Vec<String> = image["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{}={}", escape_control(k), s(v)))
            .collect();
        t.add_row(vec!["Labels".to_string(), if labels.is_empty() { "-".into() } else { labels.join("\n") }]);
        out.push_str(&t.to_string());
        out.push('\n');
        let layers = image["layers"].as_array().cloned().unwrap_or_default();
        out.push_str(&format!(
            "\nLayers ({}, {} compressed)\n",
            layers.len(),
            human_size(image["totalSize"].as_u64().unwrap_or(0))
        ));
        let mut lt = Table::new();
        lt.load_style(NOTHING);
        lt.set_header(vec!["#", "DIGEST", "SIZE", "MEDIA TYPE"]);
        for (i, l) in layers.iter().enumerate() {
            lt.add_row(vec![
                i.to_string(),
                s(&l["digest"]),
                human_size(l["size"].as_u64().unwrap_or(0)),
                s(&l["mediaType"]),
            ]);
        }
        out.push_str(&lt.to_string());
        out.push('\n');
        let history = image["history"].as_array().cloned().unwrap_or_default();
        if !history.is_empty() {
            out.push_str("\nHistory\n");
            let mut ht = Table::new();
            ht.load_style(NOTHING);
            ht.set_header(vec!["CREATED", "CREATED BY", "EMPTY"]);
            for h in &history {
                let by = s(&h["createdBy"]);
                let by = if by.chars().count() > 80 {
                    format!("{}…", by.chars().take(79).collect::<String>())
                } else {
                    by
                };
                ht.add_row(vec![
                    s(&h["created"]),
                    by,
                    if h["emptyLayer"] == json!(true) { "yes".into() } else { String::new() },
                ]);
            }
            out.push_str(&ht.to_string());
            out.push('\n');
        }
    }
    out
}
