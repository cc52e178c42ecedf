//! pare's own VEX: a Go vulnerability whose vulnerable packages and symbols (the Go database's
//! `imports`) are in none of the binaries that carry the module is `not_affected` /
//! `vulnerable_code_not_present`, the statement govulncheck makes in binary mode. The proof is
//! each binary's pclntab ([`GoLinked`]): its function names include functions that were only
//! inlined. Nothing is claimed when a binary's table cannot be read, when the data does not
//! name the vulnerable code, or when a user's VEX statement already decided the finding.

use std::collections::BTreeMap;

use pare_sbom::{GoLinked, Inventory};

use crate::matcher::{AppliedVex, Finding};
use crate::model::GoImport;

/// The `author` and `document` of pare's statements.
pub const AUTHOR: &str = "pare (Go binary analysis)";

/// Marks the Go findings whose vulnerable code no binary links. `read` gives a binary's linked
/// code by path (`None` when it cannot be read); each binary is read at most once. Returns the
/// number of findings marked.
pub fn apply(findings: &mut [Finding], inventory: &Inventory, read: &mut dyn FnMut(&str) -> Option<GoLinked>) -> usize {
    let mut binaries: BTreeMap<String, Option<GoLinked>> = BTreeMap::new();
    let mut marked = 0;
    for finding in findings.iter_mut() {
        if finding.vex.is_some() || finding.imports.is_empty() || finding.package.ecosystem != "golang" {
            continue;
        }
        // Every binary the module was found in (one package per purl, found at each).
        let paths: Vec<String> = inventory
            .packages
            .iter()
            .filter(|p| p.purl == finding.package.purl)
            .flat_map(|p| p.locations.iter().map(|l| l.path.clone()))
            .collect();
        if paths.is_empty() {
            continue;
        }
        let mut absent_everywhere = true;
        for path in &paths {
            let linked = binaries.entry(path.clone()).or_insert_with(|| read(path));
            match linked {
                Some(l) if !linked_any(l, &finding.imports) => {}
                _ => {
                    absent_everywhere = false;
                    break;
                }
            }
        }
        if absent_everywhere {
            finding.vex = Some(AppliedVex {
                status: "not_affected".into(),
                justification: Some("vulnerable_code_not_present".into()),
                impact_statement: Some(format!("{} not linked into {}", describe(&finding.imports), paths.join(", "))),
                action_statement: None,
                author: Some(AUTHOR.into()),
                timestamp: None,
                document: AUTHOR.into(),
            });
            marked += 1;
        }
    }
    marked
}

/// Whether a binary links any of the vulnerable code: a listed symbol, or any code of a
/// package listed without symbols.
pub fn linked_any(linked: &GoLinked, imports: &[GoImport]) -> bool {
    imports.iter().any(|i| {
        if i.symbols.is_empty() {
            linked.has_package(&i.path)
        } else {
            linked.has_package(&i.path) && i.symbols.iter().any(|s| linked.has_symbol(&i.path, s))
        }
    })
}

fn describe(imports: &[GoImport]) -> String {
    let parts: Vec<String> = imports
        .iter()
        .map(|i| {
            if i.symbols.is_empty() {
                format!("package {}", i.path)
            } else {
                let shown: Vec<&str> = i.symbols.iter().take(5).map(String::as_str).collect();
                let more =
                    if i.symbols.len() > 5 { format!(" and {} more", i.symbols.len() - 5) } else { String::new() };
                format!("{} ({}{more})", i.path, shown.join(", "))
            }
        })
        .collect();
    format!("the vulnerable code, {},", parts.join("; "))
}
