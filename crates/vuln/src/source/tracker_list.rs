//! The tracker's advisory lists (`data/DSA/list`, `data/DLA/list`), hand-parsed: the format is a few
//! line shapes and no crate reads it. One `Advisory` per DSA/DLA entry:
//!
//! ```text
//! [01 Jul 2024] DSA-5724-1 openssh - security update
//!     {CVE-2024-6387}
//!     [bookworm] - openssh 1:9.2p1-2+deb12u3
//!     [bullseye] - foo <not-affected> (Vulnerable code not present)
//!     NOTE: fixed in testing at time of DSA
//! ```

use super::{Parsed, SourceKind};
use crate::error::{Error, Result};
use crate::model::{Advisory, Affected, Ecosystem, Event, Origin, Range, RangeKind, Status};

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const URGENCIES: [&str; 6] = ["unimportant", "low", "medium", "high", "critical", "not yet assigned"];

pub(crate) fn parse(kind: SourceKind, location: &str, bytes: &[u8], parsed: &mut Parsed) -> Result<()> {
    let origin = if kind == SourceKind::DlaList { Origin::DebianDla } else { Origin::DebianDsa };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::malformed(location, format!("not UTF-8 text at byte {}", e.valid_up_to()))
            .with_hint("is this a DSA/DLA list?")
    })?;
    let mut current: Option<(Advisory, Vec<String>)> = None;
    let mut headers = 0usize;
    // The line number of a header that did not parse: the lines under it are skipped with it.
    let mut skipping: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let at = format!("{location}:{}", index + 1);
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('[') {
            match header(line, origin) {
                Ok(adv) => {
                    headers += 1;
                    skipping = None;
                    if let Some(done) = current.replace((adv, Vec::new())) {
                        parsed.advisories.push(finish(done));
                    }
                }
                Err(m) => {
                    // The lines under a bad header would land on the previous entry: drop them too, loudly.
                    if let Some(done) = current.take() {
                        parsed.advisories.push(finish(done));
                    }
                    parsed.warnings.push(format!("{at}: {m}; entry skipped"));
                    skipping = Some(index + 1);
                }
            }
            continue;
        }
        let body = line.trim();
        if let Some(h) = skipping {
            parsed.warnings.push(format!("{at}: skipped with the entry at line {h}: `{}`", clip(body)));
            continue;
        }
        let Some((adv, notes)) = current.as_mut() else {
            parsed.warnings.push(format!("{at}: line before the first [DATE] header ignored: `{}`", clip(body)));
            continue;
        };
        if let Some(ids) = body.strip_prefix('{') {
            let Some(ids) = ids.strip_suffix('}') else {
                parsed.warnings.push(format!("{at}: `{{` without `}}`: `{}`", clip(body)));
                continue;
            };
            for id in ids.split_whitespace() {
                if id != adv.id && !adv.aliases.iter().any(|a| a == id) {
                    adv.aliases.push(id.to_string());
                }
            }
        } else if let Some(note) = body.strip_prefix("NOTE:") {
            notes.push(note.trim().to_string());
        } else if body.starts_with('[') {
            match package_line(body) {
                Ok(a) => adv.affected.push(a),
                Err(m) => parsed.warnings.push(format!("{at}: {m}: `{}`", clip(body))),
            }
        } else {
            parsed.warnings.push(format!("{at}: unrecognised line ignored: `{}`", clip(body)));
        }
    }
    if let Some(done) = current.take() {
        parsed.advisories.push(finish(done));
    }
    if headers == 0 {
        return Err(
            Error::malformed(location, "no `[DD Mon YYYY] DSA-…`/`DLA-…` entries").with_hint("is this a DSA/DLA list?")
        );
    }
    Ok(())
}

fn clip(s: &str) -> String {
    if s.chars().count() > 80 { format!("{}…", s.chars().take(80).collect::<String>()) } else { s.to_string() }
}

fn finish((mut adv, notes): (Advisory, Vec<String>)) -> Advisory {
    if !notes.is_empty() {
        let joined = notes.join("; ");
        for a in &mut adv.affected {
            a.note = Some(match a.note.take() {
                Some(own) => format!("{own}; {joined}"),
                None => joined.clone(),
            });
        }
    }
    adv
}

/// `[01 Jul 2024] DSA-5724-1 openssh - security update`.
fn header(line: &str, origin: Origin) -> Result<Advisory, String> {
    let (date, rest) = line[1..].split_once(']').ok_or("header without `]` after the date")?;
    let published = date_iso(date.trim()).ok_or_else(|| format!("date `{date}` is not `DD Mon YYYY`"))?;
    let rest = rest.trim();
    let (id, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let prefix = if origin == Origin::DebianDla { "DLA-" } else { "DSA-" };
    if !id.starts_with(prefix) || id.len() <= prefix.len() {
        return Err(format!("advisory id `{id}` does not start with {prefix}"));
    }
    let summary = rest.trim();
    Ok(Advisory {
        id: id.to_string(),
        aliases: Vec::new(),
        related: Vec::new(),
        origin,
        summary: (!summary.is_empty()).then(|| summary.to_string()),
        published: Some(published),
        modified: None,
        cvss: Vec::new(),
        severity: None,
        references: Vec::new(),
        affected: Vec::new(),
    })
}

fn date_iso(date: &str) -> Option<String> {
    let mut parts = date.split_whitespace();
    let day: u8 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)? + 1;
    let year: u16 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=31).contains(&day) {
        return None;
    }
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

/// `[bookworm] - openssh 1:9.2p1-2+deb12u3 (comment)` or `[bullseye] - foo <not-affected> (comment)`.
fn package_line(body: &str) -> Result<Affected, String> {
    let (release, rest) = body[1..].split_once(']').ok_or("no `]` after the release")?;
    let release = release.trim();
    if release.is_empty() || release.contains(char::is_whitespace) {
        return Err(format!("release `{release}` is not a codename"));
    }
    let rest = rest.trim_start().strip_prefix('-').ok_or("expected `- PACKAGE VERSION` after the release")?.trim();
    let (main, comment) = match rest.find(" (") {
        Some(i) => (&rest[..i], Some(rest[i + 2..].trim_end_matches(')').trim())),
        None => (rest, None),
    };
    let mut words = main.split_whitespace();
    let package = words.next().ok_or("no package name")?;
    let what = words.next().ok_or("no version or <status> after the package")?;
    if let Some(extra) = words.next() {
        return Err(format!("unexpected `{extra}` after the version"));
    }
    let (urgency, note) = match comment {
        Some(c) if URGENCIES.contains(&c) => (Some(c.to_string()), None),
        Some(c) if !c.is_empty() => (None, Some(c.to_string())),
        _ => (None, None),
    };
    let mut ranges = Vec::new();
    let status = match what {
        "<not-affected>" => Status::NotAffected,
        "<unfixed>" => Status::Unfixed,
        "<end-of-life>" => Status::EndOfLife,
        "<ignored>" | "<postponed>" | "<no-dsa>" => Status::WontFix,
        "<undetermined>" => Status::Undetermined,
        tag if tag.starts_with('<') => return Err(format!("unknown status `{tag}`")),
        version => {
            pare_deb::Version::parse(version).map_err(|e| format!("fixed version `{version}`: {e}"))?;
            ranges.push(Range {
                kind: RangeKind::Ecosystem,
                events: vec![Event::Introduced("0".into()), Event::Fixed(version.to_string())],
            });
            Status::Fixed
        }
    };
    Ok(Affected {
        ecosystem: Ecosystem::Debian,
        release: Some(release.to_string()),
        package: package.to_string(),
        status,
        ranges,
        versions: Vec::new(),
        urgency,
        note,
        imports: Vec::new(),
    })
}
