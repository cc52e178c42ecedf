//! Entry points for the fuzz targets in `fuzz/` (not a stable API): the parsers of untrusted
//! bytes, without the layer walk around them.

/// Go build info: an executable's bytes, and the same bytes read as a blob after the magic.
pub fn go_buildinfo(data: &[u8]) {
    let _ = crate::gobin::read(data);
    let mut blob = b"\xff Go buildinf:".to_vec();
    blob.extend_from_slice(data);
    if let Ok(info) = crate::gobin::parse_blob(&blob) {
        for (module, version) in info.deps.iter().chain(info.main.iter()) {
            let _ = crate::gobin::purl(module, version);
        }
    }
}

/// The pclntab reader: an executable's bytes, and the same bytes as a bare table (Go 1.20 magic).
pub fn go_linked(data: &[u8]) {
    if let Some(linked) = crate::golinked::GoLinked::read(data) {
        let _ = linked.has_package("net/http") || linked.has_symbol("net/http", "Server.Serve");
    }
    let mut table = vec![0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8];
    table.extend_from_slice(data);
    let _ = crate::golinked::GoLinked::read(&table);
}

/// Text parsers of npm lockfiles.
pub fn npm_lockfile(data: &[u8]) {
    if let Ok(locked) = crate::node::parse_lockfile(&String::from_utf8_lossy(data)) {
        for l in locked {
            let _ = crate::node::purl(&l.name, &l.version);
        }
    }
}

/// cargo-auditable: an executable's bytes, and the same bytes as a `.dep-v0` section.
pub fn auditable(data: &[u8]) {
    let _ = crate::rustbin::read(data);
    if let Ok(packages) = crate::rustbin::parse_section(data) {
        for p in &packages {
            let _ = crate::rustbin::purl(p);
        }
    }
}

/// apk's installed database, and the text parsers of Python metadata, RECORD and package.json.
pub fn text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut warnings = Vec::new();
    for r in crate::apk::parse_installed(&text, "fuzz", &mut warnings) {
        let _ = crate::apk::purl(&r, "alpine", Some("alpine-3.19.0"));
    }
    if let Ok(meta) = crate::python::parse_metadata(&text) {
        let _ = crate::python::purl(&meta);
    }
    let _ = crate::python::parse_record(&text, "/usr/lib/python3/site-packages");
    if let Ok((name, version, _)) = crate::node::parse(&text) {
        let _ = crate::node::purl(&name, &version);
    }
}

/// A jar/war/ear's bytes (nested archives, pom.properties).
pub fn jar(data: &[u8]) {
    let mut warnings = Vec::new();
    for a in crate::java::read(data, "fuzz.jar", &mut warnings) {
        let _ = crate::java::purl(&a);
    }
}
