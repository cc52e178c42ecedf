//! `pare audit`: what a Dockerfile will put in the image it builds, checked before it is built.
//!
//! [`audit`] parses every stage with parse-dockerfile (parser directives, `ARG` before `FROM` and
//! its substitution in `FROM`, `FROM … AS name`, `COPY --from`, heredocs, line continuations) and
//! answers with a [`Verdict`] whose failures carry the stable codes of [`CODES`], the line and
//! column, a message and a fix; [`Audit::suggestion`] is the gallery image matching the final
//! stage and that stage rewritten on it. [`drift`] compares the base the Dockerfile names with the
//! base an image was really built on.
//!
//! The final image is the final stage and the stages it is `FROM` (a `FROM build AS final` ships
//! what `build` installed): the checks about what ships (full OS, user, build tools, package
//! managers, apt lists) look at that chain; the others (base tags and digests, downloads piped
//! into a shell, `ADD` from URLs, secrets) at every stage.

mod codes;
mod drift;
mod image;
mod shell;
mod suggest;

use std::collections::BTreeMap;

use parse_dockerfile::{Command as RunCommand, Instruction, Source};
use serde::Serialize;

pub use codes::{CODES, Code, code};
pub use drift::{Drift, drift};
pub use image::BaseImage;
pub use suggest::{GALLERY, SUITES, Suggestion};

use crate::error::{Error, Result};
use crate::verdict::{Failure, Location, Verdict};

/// Largest Dockerfile read (the parser holds it in memory; real ones are a few KiB).
pub const MAX_DOCKERFILE_SIZE: usize = 4 << 20;

/// The answer of an audit.
#[derive(Clone, Debug, Serialize)]
pub struct Audit {
    pub verdict: Verdict,
    pub stages: Vec<StageInfo>,
    /// The gallery base for the final stage and the stage rewritten on it, unless the final
    /// stage is minimal already.
    pub suggestion: Option<Suggestion>,
}

impl Audit {
    /// The image the final stage is built on, after following `FROM stage` (`None`: a variable
    /// without a value names it).
    pub fn final_base(&self) -> Option<&BaseImage> {
        let mut i = self.stages.len().checked_sub(1)?;
        for _ in 0..self.stages.len() {
            match &self.stages[i].base {
                StageBase::Image(b) => return Some(b),
                StageBase::Stage(j) if *j < i => i = *j,
                _ => return None,
            }
        }
        None
    }
}

/// One stage as the audit read it.
#[derive(Clone, Debug, Serialize)]
pub struct StageInfo {
    /// `AS name`, lowercase.
    pub name: Option<String>,
    /// What `FROM` names, after `ARG` substitution.
    pub from: String,
    /// Line of the `FROM`.
    pub line: usize,
    pub base: StageBase,
}

/// What a stage is built on.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageBase {
    Image(BaseImage),
    /// An earlier stage, by index.
    Stage(usize),
    /// A variable with no value: the base is known only at build time.
    Unresolved {
        variable: String,
    },
}

/// Audits the Dockerfile `bytes`; `path` names it in findings and errors.
pub fn audit(path: &str, bytes: &[u8]) -> Result<Audit> {
    if bytes.len() > MAX_DOCKERFILE_SIZE {
        return Err(Error::DockerfileTooLarge { path: path.into(), limit: MAX_DOCKERFILE_SIZE });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| Error::DockerfileUnreadable {
        path: path.into(),
        line: 1 + bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count(),
        reason: "it is not UTF-8 text".into(),
    })?;
    let file = parse_dockerfile::parse(text).map_err(|e| Error::DockerfileSyntax {
        path: path.into(),
        line: e.line(),
        column: e.column(),
        message: format!("{e:#}"),
    })?;
    let escape = file.parser_directives.escape.as_ref().map_or('\\', |d| d.value.value);
    let lines = Lines::new(text);

    let mut global = BTreeMap::new();
    for arg in file.global_args() {
        for (name, value) in assignments(&arg.arguments.value, false) {
            global.insert(name, value);
        }
    }

    let mut stages: Vec<StageInfo> = Vec::new();
    let mut bodies = Vec::new();
    for stage in file.stages() {
        let written = stage.from.image.value.trim();
        let (line, _) = lines.position(stage.from.from.span.start);
        let name = stage.from.as_.as_ref().map(|(_, n)| n.value.to_ascii_lowercase());
        let (from, base) = match substitute(written, &global) {
            Ok(from) => {
                let lower = from.to_ascii_lowercase();
                let base = match stages.iter().position(|s| s.name.as_deref() == Some(lower.as_str())) {
                    Some(i) => StageBase::Stage(i),
                    None => StageBase::Image(BaseImage::parse(&from)),
                };
                (from, base)
            }
            Err(variable) => (written.to_string(), StageBase::Unresolved { variable }),
        };
        stages.push(StageInfo { name, from, line, base });
        bodies.push(stage);
    }

    let stage_texts = stage_texts(text, &bodies);
    let suggestion = suggest::suggest(text, &stages, &bodies, &stage_texts);
    let gallery = suggestion.as_ref().map_or_else(|| format!("{}/base", suggest::DEFAULT_SUITE), |s| s.gallery.clone());
    let mut checker = Checker { path, lines: &lines, escape, failures: Vec::new() };
    for arg in file.global_args() {
        checker.secrets("ARG", arg.arg.span.start, &arg.arguments.value, false);
    }
    let final_chain = chain(&stages);
    for (i, (info, stage)) in stages.iter().zip(&bodies).enumerate() {
        checker.base_tags(info, stage.from.from.span.start);
        let ships = final_chain.contains(&i);
        for instruction in stage.instructions {
            checker.instruction(instruction, ships, &stages[..i]);
        }
    }
    let last = stages.len() - 1;
    checker.final_base(&stages, bodies[last].from.from.span.start, &gallery);
    checker.user(&stages, &bodies, &final_chain);

    let mut failures = checker.failures;
    failures.sort_by(|a, b| {
        (a.location.map(|l| (l.line, l.column)), &a.rule).cmp(&(b.location.map(|l| (l.line, l.column)), &b.rule))
    });
    let mut verdict = Verdict::new(path);
    for c in CODES.iter().filter(|c| c.code < codes::BASE_LAYERS_DIFFER) {
        if !failures.iter().any(|f| f.rule == c.code) {
            verdict.passed.push(c.code.to_string());
        }
    }
    verdict.failures = failures;
    Ok(Audit { verdict, stages, suggestion })
}

/// The text of each stage, from its `FROM` to the next one.
fn stage_texts<'t>(text: &'t str, bodies: &[parse_dockerfile::Stage<'_, '_>]) -> Vec<&'t str> {
    let starts: Vec<usize> = bodies.iter().map(|b| b.from.from.span.start).collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| text.get(start..starts.get(i + 1).copied().unwrap_or(text.len())).unwrap_or(""))
        .collect()
}

/// Indexes of the stages the final image is made of: the final one and those it is `FROM`.
fn chain(stages: &[StageInfo]) -> Vec<usize> {
    let mut out = Vec::new();
    let Some(mut i) = stages.len().checked_sub(1) else { return out };
    loop {
        out.push(i);
        match stages[i].base {
            StageBase::Stage(j) if j < i => i = j,
            _ => return out,
        }
    }
}

/// `NAME=value` pairs of an `ARG` or `ENV` (legacy `ENV NAME value` when `legacy_env`); `None`:
/// no value (`ARG NAME`).
fn assignments(text: &str, legacy_env: bool) -> Vec<(String, Option<String>)> {
    let words = shell::words(text);
    match words.first() {
        Some(first) if legacy_env && !first.contains('=') => {
            vec![(first.clone(), Some(words[1..].join(" ")))]
        }
        _ => words
            .into_iter()
            .map(|w| match w.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (w, None),
            })
            .collect(),
    }
}

/// `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}` with the global `ARG`s, as
/// BuildKit expands `FROM`. Hand-written: parse-dockerfile leaves expansion to the builder. The
/// error is the variable that has no value.
fn substitute(text: &str, args: &BTreeMap<String, Option<String>>) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let (name, modifier, after) = if let Some(inner) = rest.strip_prefix('{') {
            let Some(end) = inner.find('}') else { return Err(inner.to_string()) };
            let body = &inner[..end];
            let split = body.find([':', '-', '+']).unwrap_or(body.len());
            (&body[..split], Some(&body[split..]), &inner[end + 1..])
        } else {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            (&rest[..end], None, &rest[end..])
        };
        if name.is_empty() {
            out.push('$');
            continue;
        }
        let value = args.get(name).cloned().flatten().filter(|v| !v.is_empty());
        let expanded = match (modifier.unwrap_or(""), value) {
            (m, Some(_)) if m.starts_with(":+") || m.starts_with('+') => m.trim_start_matches(':')[1..].to_string(),
            (_, Some(v)) => v,
            (m, None) if m.starts_with(":-") || m.starts_with('-') => m.trim_start_matches(':')[1..].to_string(),
            (m, None) if m.starts_with(":+") || m.starts_with('+') => String::new(),
            _ => return Err(name.to_string()),
        };
        out.push_str(&expanded);
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

/// Byte offsets to 1-based lines and columns (columns count characters).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Lines { text, starts }
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self.text.get(start..offset.min(self.text.len())).map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }

    /// The first line of an instruction, for evidence (control characters are the printer's job).
    fn first_line(&self, offset: usize) -> String {
        let rest = self.text.get(offset..).unwrap_or("");
        let line = rest.split('\n').next().unwrap_or("").trim_end();
        let mut line: String = line.chars().take(200).collect();
        if rest.split('\n').next().is_some_and(|l| l.chars().count() > 200) {
            line.push('…');
        }
        line
    }
}

struct Checker<'a> {
    path: &'a str,
    lines: &'a Lines<'a>,
    escape: char,
    failures: Vec<Failure>,
}

/// Programs that install packages, and the subcommand that does.
const MANAGERS: &[(&str, &[&str])] = &[
    ("apt-get", &["install"]),
    ("apt", &["install"]),
    ("aptitude", &["install"]),
    ("apk", &["add"]),
    ("yum", &["install", "groupinstall"]),
    ("dnf", &["install", "groupinstall"]),
    ("microdnf", &["install"]),
    ("zypper", &["install", "in"]),
    ("pip", &["install"]),
    ("pip3", &["install"]),
    ("npm", &["install", "i", "ci"]),
    ("yarn", &["install", "add"]),
    ("gem", &["install"]),
];

/// System package managers (their installs can bring compilers).
const SYSTEM_MANAGERS: &[&str] = &["apt-get", "apt", "aptitude", "apk", "yum", "dnf", "microdnf", "zypper"];

/// Packages that are compilers or build tools (Debian, Alpine, RPM names).
fn is_build_tool(package: &str) -> bool {
    let name = package.split(['=', '<', '>', '~']).next().unwrap_or(package).to_ascii_lowercase();
    const EXACT: &[&str] = &[
        "gcc",
        "g++",
        "cpp",
        "cc",
        "c++",
        "clang",
        "llvm",
        "build-essential",
        "build-base",
        "make",
        "cmake",
        "ninja-build",
        "ninja",
        "autoconf",
        "automake",
        "libtool",
        "musl-dev",
        "libc6-dev",
        "libc-dev",
        "glibc-devel",
        "gfortran",
        "gcc-c++",
        "golang",
        "golang-go",
        "go",
        "rustc",
        "cargo",
        "development tools",
    ];
    let versioned = ["gcc-", "g++-", "clang-", "llvm-", "gfortran-"].iter().any(|p| {
        name.strip_prefix(p).is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    });
    EXACT.contains(&name.as_str()) || versioned
}

/// Shells first (`SHELLS[..6]`), then other interpreters a download is piped into.
const SHELLS: &[&str] =
    &["sh", "bash", "dash", "zsh", "ash", "ksh", "python", "python3", "perl", "php", "ruby", "node"];

/// Names that hold secrets (`DB_PASSWORD`, `GITHUB_TOKEN`, `AWS_SECRET_ACCESS_KEY`).
fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // A path or location of a secret is not one (`POSTGRES_PASSWORD_FILE`).
    if ["_FILE", "_PATH", "_DIR"].iter().any(|s| upper.ends_with(s)) {
        return false;
    }
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "ACCESS_KEY", "PRIVATE_KEY", "CREDENTIAL"]
        .iter()
        .any(|w| upper.contains(w))
}

impl Checker<'_> {
    fn fail(&mut self, rule: &str, offset: usize, message: String, fix: String) {
        let (line, column) = self.lines.position(offset);
        self.failures.push(Failure {
            rule: rule.to_string(),
            action: codes::action(rule),
            subject: format!("{}:{line}", self.path),
            message,
            evidence: vec![self.lines.first_line(offset)],
            fix,
            location: Some(Location { line, column }),
        });
    }

    /// DF002, DF003: every stage's base image.
    fn base_tags(&mut self, info: &StageInfo, offset: usize) {
        let StageBase::Image(base) = &info.base else { return };
        self.image_tags(base, offset, "base", "FROM ");
    }

    /// DF002, DF003 for an image a `FROM` (`what` "base") or a `COPY --from` names.
    fn image_tags(&mut self, base: &BaseImage, offset: usize, what: &str, syntax: &str) {
        if base.written == "scratch" || base.digest.is_some() {
            return;
        }
        let shown = &base.written;
        match base.tag.as_deref() {
            None => self.fail(
                codes::LATEST_OR_UNTAGGED,
                offset,
                format!("{what} {shown} has no tag, so it is whatever `latest` is at build time"),
                format!("name a version and pin its digest: {syntax}{shown}:<version>@sha256:<digest>"),
            ),
            Some("latest") => self.fail(
                codes::LATEST_OR_UNTAGGED,
                offset,
                format!("{what} {shown} uses the `latest` tag, which moves"),
                format!(
                    "name a version and pin its digest: {syntax}{}:<version>@sha256:<digest>",
                    shown.trim_end_matches(":latest")
                ),
            ),
            Some(_) => {}
        }
        self.fail(
            codes::UNPINNED_BASE,
            offset,
            format!("{what} {shown} is not pinned by a digest"),
            format!("pin it: {syntax}{shown}@sha256:<digest> (`pare inspect {shown}` prints the digest)"),
        );
    }

    /// DF001: the final stage's base.
    fn final_base(&mut self, stages: &[StageInfo], offset: usize, gallery: &str) {
        let mut i = stages.len() - 1;
        let via = stages[i].from.clone();
        while let StageBase::Stage(j) = stages[i].base {
            i = j;
        }
        let StageBase::Image(base) = &stages[i].base else { return };
        let Some(family) = base.full_os() else { return };
        let through = if via == base.written { String::new() } else { format!(" (through stage {via})") };
        self.fail(
            codes::FULL_OS_BASE,
            offset,
            format!(
                "final stage is based on {}{through}, a full {family} system with a shell and a package manager",
                base.written
            ),
            format!("build on gallery:{gallery} instead (`pare build gallery:{gallery}`; the rewritten stage is printed below)"),
        );
    }

    /// DF004: the user the final image runs as.
    fn user(&mut self, stages: &[StageInfo], bodies: &[parse_dockerfile::Stage<'_, '_>], chain: &[usize]) {
        // The last USER along the chain, final stage first.
        for &i in chain {
            let last_user = bodies[i].instructions.iter().rev().find_map(|ins| match ins {
                Instruction::User(u) => Some(u),
                _ => None,
            });
            if let Some(u) = last_user {
                let value = u.arguments.value.trim();
                let user = value.split(':').next().unwrap_or(value);
                if user == "root" || user == "0" {
                    self.fail(
                        codes::RUNS_AS_ROOT,
                        u.user.span.start,
                        format!("final stage runs as root: USER {value}"),
                        "set a non-root user last: `USER 65532:65532` (or a named user the image has)".into(),
                    );
                }
                return;
            }
        }
        let root = chain.last().copied().unwrap_or(0);
        match &stages[root].base {
            StageBase::Image(b) if b.runs_as_nonroot() => {}
            StageBase::Unresolved { .. } => {}
            StageBase::Image(b) => {
                let offset = bodies[stages.len() - 1].from.from.span.start;
                self.fail(
                    codes::RUNS_AS_ROOT,
                    offset,
                    format!("final stage runs as root: no USER, and {} runs as root", b.written),
                    "add `USER 65532:65532` (or a named non-root user) before ENTRYPOINT/CMD".into(),
                );
            }
            StageBase::Stage(_) => {}
        }
    }

    fn instruction(&mut self, instruction: &Instruction<'_>, ships: bool, earlier: &[StageInfo]) {
        match instruction {
            // `COPY --from=IMAGE` pulls an image as FROM does (a stage name or index is no image).
            Instruction::Copy(copy) => {
                let from = copy.options.iter().find(|f| f.name.value == "from").and_then(|f| f.value.as_ref());
                if let Some(from) = from {
                    let lower = from.value.to_ascii_lowercase();
                    let stage = earlier.iter().any(|s| s.name.as_deref() == Some(lower.as_str()))
                        || lower.parse::<usize>().is_ok_and(|n| n < earlier.len());
                    if !stage && !lower.contains('$') {
                        let image = BaseImage::parse(&from.value);
                        self.image_tags(&image, copy.copy.span.start, "COPY --from image", "COPY --from=");
                    }
                }
            }
            Instruction::Run(run) => {
                let cache_mounts_apt = run.options.iter().any(|f| {
                    f.name.value == "mount"
                        && f.value.as_ref().is_some_and(|v| {
                            let v = &v.value;
                            (v.contains("type=cache") || v.contains("type=tmpfs")) && v.contains("/var/lib/apt")
                        })
                });
                let mut scripts = Vec::new();
                match &run.arguments {
                    RunCommand::Shell(s) => {
                        let script = shell::join_continuations(s.value, self.escape);
                        let first = shell::pipelines(&script)
                            .first()
                            .and_then(|p| p.first())
                            .and_then(|c| c.words.first().cloned())
                            .unwrap_or_default();
                        let runs_heredoc = first.is_empty()
                            || first.starts_with("<<")
                            || SHELLS[..6].contains(&first.rsplit('/').next().unwrap_or(""));
                        scripts.push(script);
                        if runs_heredoc {
                            scripts.extend(run.here_docs.iter().map(|h| h.value.to_string()));
                        }
                    }
                    RunCommand::Exec(argv) => {
                        let words: Vec<String> = argv.value.iter().map(|w| w.value.to_string()).collect();
                        let shell =
                            words.first().is_some_and(|w| SHELLS[..6].contains(&w.rsplit('/').next().unwrap_or("")));
                        match words.iter().position(|w| w == "-c") {
                            Some(i) if shell && i + 1 < words.len() => scripts.push(words[i + 1].clone()),
                            _ => scripts.push(
                                words
                                    .iter()
                                    .map(|w| format!("'{}'", w.replace('\'', "")))
                                    .collect::<Vec<_>>()
                                    .join(" "),
                            ),
                        }
                    }
                    _ => {}
                }
                self.run(run.run.span.start, &scripts, ships, cache_mounts_apt);
            }
            Instruction::Add(add) => {
                let checksum = add.options.iter().any(|f| f.name.value == "checksum");
                for src in &add.src {
                    let Source::Path(p) = src else { continue };
                    let url = p.value.as_ref();
                    let remote = ["http://", "https://", "ftp://"].iter().any(|s| url.starts_with(s));
                    // A git URL is fetched as a repository: `ADD --keep-git-dir` and the commit pin it.
                    if remote && !checksum && !url.ends_with(".git") && !url.contains(".git#") {
                        self.fail(
                            codes::ADD_FROM_URL,
                            add.add.span.start,
                            format!("ADD fetches {url} without a checksum"),
                            format!(
                                "add `--checksum=sha256:<hex>` (ADD --checksum=sha256:<hex> {url} …), or download and verify it in a build stage"
                            ),
                        );
                    }
                }
            }
            Instruction::Env(env) => self.secrets("ENV", env.env.span.start, &env.arguments.value, true),
            Instruction::Arg(arg) => self.secrets("ARG", arg.arg.span.start, &arg.arguments.value, false),
            _ => {}
        }
    }

    /// DF010
    fn secrets(&mut self, keyword: &str, offset: usize, text: &str, legacy_env: bool) {
        for (name, value) in assignments(text, legacy_env) {
            let Some(value) = value else { continue };
            if value.is_empty() || !secret_name(&name) {
                continue;
            }
            self.fail(
                codes::SECRET_IN_ENV_OR_ARG,
                offset,
                format!("{keyword} {name} puts a secret in the image (its value is kept in the image's config or history)"),
                format!(
                    "pass it to the RUN that needs it: `RUN --mount=type=secret,id={}` (docker build --secret), or at run time from a secret store",
                    name.to_ascii_lowercase()
                ),
            );
        }
    }

    /// DF005, DF006, DF007, DF009 for one `RUN` (all its scripts: the command and heredocs).
    fn run(&mut self, offset: usize, scripts: &[String], ships: bool, cache_mounts_apt: bool) {
        let pipelines: Vec<shell::Pipeline> = scripts.iter().flat_map(|s| shell::pipelines(s)).collect();
        // DF007: a download piped into an interpreter.
        for pipeline in &pipelines {
            let mut fetcher: Option<&str> = None;
            for command in pipeline {
                let Some((program, args)) = command.program() else { continue };
                if matches!(program, "curl" | "wget") {
                    fetcher = Some(program);
                } else if let Some(f) = fetcher.filter(|_| SHELLS.contains(&program)) {
                    self.fail(
                        codes::PIPE_TO_SHELL,
                        offset,
                        format!("RUN pipes a download into a shell: {f} … | {program}"),
                        "download to a file, check its SHA-256 (`echo '<sha256>  file' | sha256sum -c`), then run it; or install a signed package".into(),
                    );
                    fetcher = None;
                } else if SHELLS.contains(&program)
                    && args.iter().any(|a| {
                        a.contains("$(curl") || a.contains("$(wget") || a.contains("`curl") || a.contains("`wget")
                    })
                {
                    self.fail(
                        codes::PIPE_TO_SHELL,
                        offset,
                        format!("RUN runs a download as a script: {program} -c \"$(curl …)\""),
                        "download to a file, check its SHA-256 (`echo '<sha256>  file' | sha256sum -c`), then run it; or install a signed package".into(),
                    );
                }
            }
        }
        if !ships {
            return;
        }
        // Installs, and what the same RUN removes again (`apk add --virtual .deps gcc … && apk del .deps`).
        let mut removed: Vec<String> = Vec::new();
        let mut installs: Vec<(String, Vec<String>)> = Vec::new();
        let mut apt_update = false;
        let mut apt_lists_removed = cache_mounts_apt;
        for command in pipelines.iter().flatten() {
            let Some((program, args)) = command.program() else { continue };
            let operands: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
            if program == "rm" && args.iter().any(|a| a.starts_with("/var/lib/apt/lists")) {
                apt_lists_removed = true;
            }
            // `apt-get update` is what writes the lists.
            if matches!(program, "apt-get" | "apt" | "aptitude") && operands.first().is_some_and(|s| *s == "update") {
                apt_update = true;
            }
            if matches!(program, "apk" | "apt-get" | "apt" | "yum" | "dnf" | "zypper")
                && operands
                    .first()
                    .is_some_and(|s| matches!(s.as_str(), "del" | "remove" | "purge" | "autoremove" | "erase" | "rm"))
            {
                removed.extend(operands[1..].iter().map(|s| s.to_string()));
                continue;
            }
            let Some((manager, _)) = MANAGERS
                .iter()
                .find(|(m, subs)| *m == program && operands.first().is_some_and(|s| subs.contains(&s.as_str())))
            else {
                // `python -m pip install`
                if program.starts_with("python")
                    && args.windows(3).any(|w| w[0] == "-m" && w[1] == "pip" && w[2] == "install")
                {
                    installs.push(("pip".into(), Vec::new()));
                }
                continue;
            };
            // Packages: operands past the subcommand, less option values (`--virtual NAME`, `-t NAME`).
            let mut packages = Vec::new();
            let mut skip_next = false;
            let mut seen_sub = false;
            for a in args {
                if skip_next {
                    skip_next = false;
                    if *manager == "apk" {
                        // The virtual package's name: removing it removes what it holds.
                        packages.push(format!("virtual:{a}"));
                    }
                    continue;
                }
                if a.starts_with('-') {
                    skip_next = matches!(a.as_str(), "--virtual" | "-t");
                    continue;
                }
                if !seen_sub {
                    seen_sub = true;
                    continue;
                }
                packages.push(a.clone());
            }
            installs.push((manager.to_string(), packages));
        }
        let mut build_tools: Vec<String> = Vec::new();
        let mut manager_used: Option<String> = None;
        for (manager, packages) in &installs {
            manager_used.get_or_insert_with(|| manager.clone());
            if !SYSTEM_MANAGERS.contains(&manager.as_str()) {
                continue;
            }
            let virtual_removed =
                packages.iter().any(|p| p.strip_prefix("virtual:").is_some_and(|v| removed.iter().any(|r| r == v)));
            for p in packages {
                if p.starts_with("virtual:") || virtual_removed || removed.iter().any(|r| r == p) {
                    continue;
                }
                if is_build_tool(p) && !build_tools.contains(p) {
                    build_tools.push(p.clone());
                }
            }
        }
        if !build_tools.is_empty() {
            self.fail(
                codes::BUILD_TOOLS_IN_FINAL,
                offset,
                format!("final image gets build tools: {}", build_tools.join(", ")),
                "compile in a build stage and COPY --from it the result; the final stage needs only runtime libraries"
                    .into(),
            );
        }
        if let Some(manager) = manager_used {
            self.fail(
                codes::PACKAGE_MANAGER_IN_FINAL,
                offset,
                format!("final image installs packages with {manager}, so {manager} ships in it"),
                "install in a build stage and COPY --from it what runs, or build the base with pare from Debian packages (a gallery image or a definition)".into(),
            );
        }
        if apt_update && !apt_lists_removed {
            self.fail(
                codes::APT_LISTS_LEFT,
                offset,
                "apt-get update leaves the package lists (/var/lib/apt/lists) in the layer".into(),
                "end the same RUN with `&& rm -rf /var/lib/apt/lists/*`".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect()
    }

    #[test]
    fn substitution_as_buildkit_expands_from() {
        let a = args(&[("V", Some("3.12")), ("EMPTY", None)]);
        assert_eq!(substitute("python:${V}-slim", &a), Ok("python:3.12-slim".into()));
        assert_eq!(substitute("python:$V", &a), Ok("python:3.12".into()));
        assert_eq!(substitute("x:${EMPTY:-1}", &a), Ok("x:1".into()));
        assert_eq!(substitute("x:${NONE-2}", &a), Ok("x:2".into()));
        assert_eq!(substitute("x${V:+-y}", &a), Ok("x-y".into()));
        assert_eq!(substitute("${BASE}", &a), Err("BASE".into()));
        assert_eq!(substitute("${V", &a), Err("V".into()));
    }

    #[test]
    fn positions_count_characters() {
        let lines = Lines::new("é\nab\nc");
        assert_eq!(lines.position(0), (1, 1));
        assert_eq!(lines.position(3), (2, 1));
        assert_eq!(lines.position(4), (2, 2));
        assert_eq!(lines.position(6), (3, 1));
    }

    #[test]
    fn build_tool_names() {
        for yes in ["gcc", "g++-12", "build-essential", "make=4.3-4.1", "build-base", "Development Tools"] {
            assert!(is_build_tool(yes), "{yes}");
        }
        for no in ["libgcc-s1", "gcc-12-base", "libstdc++6", "makedev", "curl"] {
            assert!(!is_build_tool(no), "{no}");
        }
    }
}
