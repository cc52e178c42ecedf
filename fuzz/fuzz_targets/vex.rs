//! Bytes → pare-vuln's VEX reader (OpenVEX and CycloneDX VEX), then the statements applied to a
//! finding. Errors are fine; any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pare_vuln::matcher::{Finding, PackageRef, SeveritySource};
use pare_vuln::vex::{Subject, apply, read};
use pare_vuln::{Severity, Status};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = read(data, "fuzz") else { return };
    let mut findings = vec![Finding {
        id: "CVE-2024-6387".into(),
        aliases: vec!["DSA-5724-1".into()],
        package: PackageRef {
            ecosystem: "deb".into(),
            name: "openssh-client".into(),
            version: "1:9.2p1-2".into(),
            purl: "pkg:deb/debian/openssh-client@1%3A9.2p1-2?arch=amd64".into(),
            source_name: Some("openssh".into()),
            source_version: Some("1:9.2p1-2".into()),
            path: None,
        },
        severity: Severity::High,
        severity_source: SeveritySource::None,
        status: Status::Fixed,
        fixed_versions: vec!["1:9.2p1-2+deb12u3".into()],
        release: Some("bookworm".into()),
        summary: None,
        notes: Vec::new(),
        references: Vec::new(),
        vex: None,
    }];
    let subject = Subject { name: Some("img".into()), digest: Some("sha256:00".into()) };
    let _ = apply(&mut findings, &doc.statements, &subject);
});
