//! pare's own VEX: a Go vulnerability whose vulnerable packages and symbols (the Go database's
//! `imports`) are in none of the binaries that carry the module is `not_affected` /
//! `vulnerable_code_not_present`, the statement govulncheck makes in binary mode. The proof is
//! each binary's pclntab ([`GoLinked`]): its function names include functions that were only
//! inlined. Nothing is claimed when a binary's table cannot be read, when the data does not
//! name the vulnerable code, or when a user's VEX statement already decided the finding.

use std::collections::BTreeSet;

use pare_sbom::{GoLinked, Inventory, LinkedBinaries};

use crate::matcher::{AppliedVex, Finding};
use crate::model::GoImport;

/// The `author` and `document` of pare's statements.
pub const AUTHOR: &str = "pare (Go binary analysis)";

/// The binaries to read: every location of the Go packages of findings that name their vulnerable
/// code and that no VEX statement decided yet.
pub fn binaries_to_read(findings: &[Finding], inventory: &Inventory) -> BTreeSet<String> {
    findings.iter().filter(|f| candidate(f)).flat_map(|f| locations(f, inventory)).collect()
}

/// Marks the Go findings whose vulnerable code no binary links. `linked` holds each binary of
/// [`binaries_to_read`] by path (`None`: it could not be read, so nothing is claimed for it).
/// Returns the number of findings marked.
pub fn apply(findings: &mut [Finding], inventory: &Inventory, linked: &LinkedBinaries) -> usize {
    let mut marked = 0;
    for finding in findings.iter_mut().filter(|f| candidate(f)) {
        let paths = locations(finding, inventory);
        let absent_everywhere = !paths.is_empty()
            && paths
                .iter()
                .all(|p| linked.get(p).and_then(Option::as_ref).is_some_and(|l| !linked_any(l, &finding.imports)));
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

fn candidate(finding: &Finding) -> bool {
    finding.vex.is_none() && !finding.imports.is_empty() && finding.package.ecosystem == "golang"
}

/// Every binary the module was found in (one package per purl, found at each).
fn locations(finding: &Finding, inventory: &Inventory) -> Vec<String> {
    inventory
        .packages
        .iter()
        .filter(|p| p.purl == finding.package.purl)
        .flat_map(|p| p.locations.iter().map(|l| l.path.clone()))
        .collect()
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
