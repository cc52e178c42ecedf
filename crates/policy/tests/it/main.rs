//! The integration tests of pare-policy, in one binary.
#![allow(clippy::unwrap_used)]

mod dockerfile;
mod dockerfile_corpus;
mod dockerfile_hadolint;

/// The Dockerfile corpus (`tests/fixtures/dockerfiles/*.Dockerfile`), sorted by name.
pub fn corpus() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dockerfiles");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "Dockerfile"))
        .collect();
    files.sort();
    files
}
