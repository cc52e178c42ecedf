//! The gallery image that fits a Dockerfile's final stage, and that stage rewritten on it.
//!
//! The gallery's names are pare-build's (`gallery/<suite>/<name>.toml`); pare-policy cannot depend
//! on pare-build, so they are listed here and a test of the CLI checks them against the gallery.
//!
//! No digest is suggested: a gallery image's digest is known only once it is built, because the
//! gallery has no committed lock (the packages are resolved from the Debian archive at build time,
//! and the archive moves). Builds from one lock are reproducible, so the digest `pare build`
//! prints is the one to pin.

use parse_dockerfile::Instruction;
use serde::Serialize;

use super::{StageBase, StageInfo};

/// The gallery images (`gallery/<suite>/<name>.toml`).
pub const GALLERY: &[&str] = &["static", "base", "cc", "python3", "java", "nodejs"];
/// Suites of the gallery; the first is the default.
pub const SUITES: &[&str] = &["bookworm", "trixie"];
pub const DEFAULT_SUITE: &str = "bookworm";

/// A gallery base for the final stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// `bookworm/python3`
    pub gallery: String,
    /// Why this image: what in the Dockerfile pointed to it.
    pub reason: String,
    /// The command that builds it (its output is the digest to pin).
    pub build: String,
    /// The final stage rewritten on the gallery image.
    pub dockerfile: String,
}

/// The suggestion for the final stage, unless it is minimal already (scratch, distroless) or its
/// base is known only at build time.
pub(crate) fn suggest(
    text: &str,
    stages: &[StageInfo],
    bodies: &[parse_dockerfile::Stage<'_, '_>],
    stage_texts: &[&str],
) -> Option<Suggestion> {
    let last = stages.len().checked_sub(1)?;
    let mut root = last;
    while let StageBase::Stage(j) = stages[root].base {
        if j >= root {
            return None;
        }
        root = j;
    }
    let StageBase::Image(base) = &stages[root].base else { return None };
    if base.minimal() {
        return None;
    }
    let named_suite = SUITES.iter().find(|s| base.tag.as_deref().is_some_and(|t| t.contains(*s))).copied();
    let (name, mut reason) = choose(stages, bodies, stage_texts, root, last);
    // The language version the Dockerfile uses picks the suite that has it, when one does.
    let wanted = language_version(stages, name);
    let suite = named_suite
        .or_else(|| {
            let w = wanted.as_deref()?;
            SUITES.iter().find(|s| gallery_version(s, name).is_some_and(|g| same_version(name, g, w))).copied()
        })
        .unwrap_or(DEFAULT_SUITE);
    let mut note = None;
    if let (Some(w), Some(g)) = (wanted.as_deref(), gallery_version(suite, name))
        && !same_version(name, g, w)
    {
        reason.push_str(&format!("; it has {g} where the Dockerfile uses {w}"));
        note = Some(format!(
            "# gallery:{suite}/{name} has {g}, the Dockerfile used {w}: rebuild what is copied for {g} (a venv, wheels, native modules)."
        ));
    }
    let gallery = format!("{suite}/{name}");
    let build = format!("pare build gallery:{gallery} --to REGISTRY/{name}:{suite}");
    let mut dockerfile = rewrite(text, stages, bodies, last, &gallery, &build, name, suite);
    if let Some(note) = note {
        dockerfile.insert_str(0, &format!("{note}\n"));
    }
    Some(Suggestion { gallery, reason, build, dockerfile })
}

/// The language version of a gallery image (as its definition's description says).
fn gallery_version(suite: &str, name: &str) -> Option<&'static str> {
    Some(match (suite, name) {
        ("bookworm", "python3") => "3.11",
        ("trixie", "python3") => "3.13",
        ("bookworm", "java") => "17",
        ("trixie", "java") => "21",
        ("bookworm", "nodejs") => "18",
        ("trixie", "nodejs") => "20",
        _ => return None,
    })
}

/// Python versions compare by major.minor, Java and Node.js by major.
fn same_version(name: &str, gallery: &str, wanted: &str) -> bool {
    let parts = if name == "python3" { 2 } else { 1 };
    let cut = |v: &str| v.split('.').take(parts).collect::<Vec<_>>().join(".");
    cut(gallery) == cut(wanted)
}

/// The language version the Dockerfile's language images name in their tags (`python:3.12-slim`
/// → 3.12, `eclipse-temurin:21-jre` → 21), the last stage's first.
fn language_version(stages: &[StageInfo], name: &str) -> Option<String> {
    let images: &[&str] = match name {
        "python3" => &["python"],
        "java" => &["openjdk", "eclipse-temurin", "amazoncorretto"],
        "nodejs" => &["node"],
        _ => return None,
    };
    stages.iter().rev().find_map(|s| {
        let StageBase::Image(b) = &s.base else { return None };
        if !images.contains(&b.short_name().as_str()) {
            return None;
        }
        let tag = b.tag.as_deref()?;
        let version: String = tag.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let version = version.trim_end_matches('.').to_string();
        (!version.is_empty()).then_some(version)
    })
}

/// Which gallery image, and why: the final base's language first, then what the final stage
/// copies from a build stage, then what it runs.
fn choose(
    stages: &[StageInfo],
    bodies: &[parse_dockerfile::Stage<'_, '_>],
    stage_texts: &[&str],
    root: usize,
    last: usize,
) -> (&'static str, String) {
    let language = |short: &str| -> Option<&'static str> {
        Some(match short {
            s if s.starts_with("python") || s.ends_with("/python") => "python3",
            "node" => "nodejs",
            "openjdk" | "eclipse-temurin" | "amazoncorretto" | "maven" | "gradle" | "tomcat" | "ibmjava" => "java",
            _ => return None,
        })
    };
    let base_of = |i: usize| -> Option<String> {
        let mut i = i;
        for _ in 0..stages.len() {
            match &stages[i].base {
                StageBase::Image(b) => return Some(b.short_name()),
                StageBase::Stage(j) if *j < i => i = *j,
                _ => return None,
            }
        }
        None
    };
    if let Some(short) = base_of(root)
        && let Some(name) = language(&short)
    {
        return (name, format!("the final stage is based on {short}"));
    }
    // What the final stage runs.
    let runs: String = bodies[last]
        .instructions
        .iter()
        .filter_map(|ins| match ins {
            Instruction::Entrypoint(e) => Some(command_text(&e.arguments)),
            Instruction::Cmd(c) => Some(command_text(&c.arguments)),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ");
    let first_word = runs.split_whitespace().next().unwrap_or("").rsplit('/').next().unwrap_or("").to_string();
    if first_word == "java" {
        return ("java", "the final stage runs java".into());
    }
    if first_word.starts_with("python") {
        return ("python3", format!("the final stage runs {first_word}"));
    }
    if first_word == "node" {
        return ("nodejs", "the final stage runs node".into());
    }
    // What it copies from build stages.
    for ins in bodies[last].instructions {
        let Instruction::Copy(copy) = ins else { continue };
        let Some(from) = copy.options.iter().find(|f| f.name.value == "from").and_then(|f| f.value.as_ref()) else {
            continue;
        };
        let from = from.value.to_ascii_lowercase();
        let index = stages
            .iter()
            .position(|s| s.name.as_deref() == Some(from.as_str()))
            .or_else(|| from.parse::<usize>().ok().filter(|i| *i < last));
        let Some(i) = index else { continue };
        let Some(short) = base_of(i) else { continue };
        let stage_text = stage_texts.get(i).copied().unwrap_or("");
        let name = stages[i].name.clone().unwrap_or_else(|| i.to_string());
        if short == "golang" || short.ends_with("/golang") {
            return if stage_text.contains("CGO_ENABLED=0") {
                ("static", format!("it copies a Go program built with CGO_ENABLED=0 from stage {name}"))
            } else {
                ("base", format!("it copies a Go program from stage {name} (cgo links glibc)"))
            };
        }
        if short == "rust" || short.ends_with("/rust") {
            return if stage_text.contains("musl") {
                ("static", format!("it copies a Rust program built for musl from stage {name}"))
            } else {
                ("cc", format!("it copies a Rust program from stage {name} (it links libgcc_s and glibc)"))
            };
        }
        if let Some(lang) = language(&short) {
            return (lang, format!("it copies from stage {name}, based on {short}"));
        }
        let compiles_c = ["g++", "gcc", "cmake", "build-essential", "build-base", "clang", "make "]
            .iter()
            .any(|t| stage_text.contains(t))
            || short == "gcc";
        if compiles_c {
            let cxx = ["g++", "c++", "cmake", "clang++"].iter().any(|t| stage_text.contains(t));
            return (
                "cc",
                format!("it copies a program compiled in stage {name}{}", if cxx { " (C++: libstdc++)" } else { "" }),
            );
        }
    }
    ("base", "no language was recognised: base has glibc and OpenSSL".into())
}

fn command_text(command: &parse_dockerfile::Command<'_>) -> String {
    match command {
        parse_dockerfile::Command::Exec(argv) => {
            argv.value.iter().map(|w| w.value.as_ref()).collect::<Vec<_>>().join(" ")
        }
        parse_dockerfile::Command::Shell(s) => s.value.to_string(),
        _ => String::new(),
    }
}

/// Where an instruction starts (its keyword).
fn keyword_start(ins: &Instruction<'_>) -> Option<usize> {
    Some(match ins {
        Instruction::Add(i) => i.add.span.start,
        Instruction::Arg(i) => i.arg.span.start,
        Instruction::Cmd(i) => i.cmd.span.start,
        Instruction::Copy(i) => i.copy.span.start,
        Instruction::Entrypoint(i) => i.entrypoint.span.start,
        Instruction::Env(i) => i.env.span.start,
        Instruction::Expose(i) => i.expose.span.start,
        Instruction::Healthcheck(i) => i.healthcheck.span.start,
        Instruction::Label(i) => i.label.span.start,
        Instruction::Maintainer(i) => i.maintainer.span.start,
        Instruction::Onbuild(i) => i.onbuild.span.start,
        Instruction::Run(i) => i.run.span.start,
        Instruction::Shell(i) => i.shell.span.start,
        Instruction::Stopsignal(i) => i.stopsignal.span.start,
        Instruction::User(i) => i.user.span.start,
        Instruction::Volume(i) => i.volume.span.start,
        Instruction::Workdir(i) => i.workdir.span.start,
        _ => return None,
    })
}

/// The text of each instruction of a stage as written, without the comments and blank lines
/// that follow it.
fn instruction_texts<'t>(text: &'t str, stage: &parse_dockerfile::Stage<'_, '_>, end: usize) -> Vec<&'t str> {
    let starts: Vec<usize> = stage.instructions.iter().filter_map(keyword_start).collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let stop = starts.get(i + 1).copied().unwrap_or(end);
            let slice = text.get(start..stop).unwrap_or("");
            let mut lines: Vec<&str> = slice.split('\n').collect();
            while lines.len() > 1
                && lines.last().is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
            {
                lines.pop();
            }
            let kept = lines.iter().map(|l| l.len() + 1).sum::<usize>().saturating_sub(1);
            slice.get(..kept.min(slice.len())).unwrap_or(slice).trim_end()
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn rewrite(
    text: &str,
    stages: &[StageInfo],
    bodies: &[parse_dockerfile::Stage<'_, '_>],
    last: usize,
    gallery: &str,
    build: &str,
    name: &str,
    suite: &str,
) -> String {
    let mut out = vec![
        format!("# The final stage on gallery:{gallery}: no shell, no package manager, user 65532."),
        "# Build the base, then pin the digest that command prints (pare knows it only after the".into(),
        "# build: the gallery has no committed lock and Debian's archive moves):".into(),
        format!("#   {build}"),
    ];
    let as_name = stages[last].name.as_ref().map(|n| format!(" AS {n}")).unwrap_or_default();
    out.push(format!("FROM REGISTRY/{name}:{suite}@sha256:DIGEST{as_name}"));
    if let StageBase::Stage(j) = stages[last].base {
        let from = stages[j].name.clone().unwrap_or_else(|| j.to_string());
        out.push(format!("# It was FROM {from}: COPY --from={from} what the program needs at run time."));
    }
    let texts = instruction_texts(text, &bodies[last], text.len());
    let mut tail = Vec::new();
    for (ins, written) in bodies[last].instructions.iter().zip(texts) {
        match ins {
            Instruction::Run(_) => {
                let first = written.lines().next().unwrap_or("");
                out.push(format!("# dropped, the image has no shell (do it in a build stage): {first}"));
            }
            Instruction::User(_) => {}
            Instruction::Entrypoint(_) | Instruction::Cmd(_) => {
                let shell_form = match ins {
                    Instruction::Cmd(c) => matches!(c.arguments, parse_dockerfile::Command::Shell(_)),
                    Instruction::Entrypoint(e) => matches!(e.arguments, parse_dockerfile::Command::Shell(_)),
                    _ => false,
                };
                if shell_form {
                    tail.push(
                        "# shell form needs /bin/sh, which the image has not: write it as a JSON array".to_string(),
                    );
                }
                tail.push(written.to_string());
            }
            Instruction::Healthcheck(_) | Instruction::Onbuild(_) | Instruction::Shell(_) => {
                let first = written.lines().next().unwrap_or("");
                out.push(format!("# dropped, the image has no shell: {first}"));
            }
            _ => out.push(written.to_string()),
        }
    }
    out.push("USER 65532:65532".into());
    out.extend(tail);
    let mut s = out.join("\n");
    s.push('\n');
    s
}
