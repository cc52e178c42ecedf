//! deb822 paragraphs (`Packages`, `Release`, `control`, dpkg's `status`), read as a stream.
//!
//! A paragraph is a run of `Name: value` lines; lines starting with a space or tab continue the
//! previous field; blank lines separate paragraphs; `#` lines are comments (control files only).
//! Values keep their continuation lines (`\n` + the line without trailing whitespace), so
//! [`Paragraph`]'s `Display` writes the fields back as read.

use std::fmt;
use std::io::{BufRead, Read};

use crate::Error;

/// Longest line accepted; Debian's longest real lines (descriptions, `Provides`) are a few KiB.
const MAX_LINE: usize = 1 << 20;
/// Largest paragraph accepted.
const MAX_PARAGRAPH: usize = 16 << 20;

/// One field: its name as written and its value (first line trimmed, continuation lines kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// An ordered list of fields; names are matched case-insensitively and are unique.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paragraph {
    fields: Vec<Field>,
    line: usize,
}

impl Paragraph {
    /// An empty paragraph (for building control files).
    pub fn new() -> Paragraph {
        Paragraph::default()
    }

    /// The value of field `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name)).map(|f| f.value.as_str())
    }

    /// Sets `name` to `value`, replacing an existing field in place or appending a new one.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.fields.iter_mut().find(|f| f.name.eq_ignore_ascii_case(name)) {
            Some(field) => field.value = value,
            None => self.fields.push(Field { name: name.to_string(), value }),
        }
    }

    /// Removes field `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let index = self.fields.iter().position(|f| f.name.eq_ignore_ascii_case(name))?;
        Some(self.fields.remove(index).value)
    }

    /// The fields in order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The line the paragraph starts on in its file (1-based; 0 when built in memory).
    pub fn line(&self) -> usize {
        self.line
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl fmt::Display for Paragraph {
    /// Writes `Name: value` lines (no trailing blank line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for field in &self.fields {
            if field.value.starts_with('\n') || field.value.is_empty() {
                writeln!(f, "{}:{}", field.name, field.value)?;
            } else {
                writeln!(f, "{}: {}", field.name, field.value)?;
            }
        }
        Ok(())
    }
}

/// Reads paragraphs one at a time from a `BufRead`; an `Iterator` of `Result<Paragraph>`.
///
/// After the first error the iterator ends.
pub struct Deb822Reader<R> {
    reader: R,
    source: String,
    line: usize,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> Deb822Reader<R> {
    /// `source` names the input in errors (a file name or URL).
    pub fn new(reader: R, source: impl Into<String>) -> Self {
        Deb822Reader { reader, source: source.into(), line: 0, buf: Vec::new(), done: false }
    }

    fn syntax(&self, reason: impl Into<String>) -> Error {
        Error::Syntax { file: self.source.clone(), line: self.line, reason: reason.into() }
    }

    /// Reads one line without its line ending; `None` at end of input.
    fn read_line(&mut self) -> Result<Option<String>, Error> {
        self.buf.clear();
        let reader: &mut R = &mut self.reader;
        let mut limited = Read::take(reader, MAX_LINE as u64 + 1);
        let n = limited.read_until(b'\n', &mut self.buf).map_err(Error::stream(format!("reading {}", self.source)))?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.len() > MAX_LINE {
            return Err(self.syntax(format!("line longer than {MAX_LINE} bytes")));
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        match String::from_utf8(std::mem::take(&mut self.buf)) {
            Ok(s) => Ok(Some(s)),
            Err(_) => Err(self.syntax("not UTF-8")),
        }
    }

    fn next_paragraph(&mut self) -> Result<Option<Paragraph>, Error> {
        let mut paragraph = Paragraph::default();
        let mut size = 0usize;
        loop {
            let line_no = self.line + 1;
            let Some(line) = self.read_line()? else { break };
            if line.trim().is_empty() {
                if paragraph.fields.is_empty() {
                    continue;
                }
                break;
            }
            size += line.len() + 1;
            if line.starts_with('#') {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                let text = line.trim_end().to_string();
                let Some(field) = paragraph.fields.last_mut() else {
                    return Err(self.syntax("continuation line before any field"));
                };
                field.value.push('\n');
                field.value.push_str(&text);
            } else {
                let Some((name, value)) = line.split_once(':') else {
                    return Err(self.syntax(format!("expected `Name: value`, found `{}`", truncate(&line))));
                };
                if name.is_empty() || name.starts_with('-') || name.contains(char::is_whitespace) {
                    return Err(self.syntax(format!("invalid field name `{}`", truncate(name))));
                }
                if paragraph.get(name).is_some() {
                    return Err(self.syntax(format!("duplicate field `{name}`")));
                }
                if paragraph.fields.is_empty() {
                    paragraph.line = line_no;
                }
                let field = Field { name: name.to_string(), value: value.trim().to_string() };
                paragraph.fields.push(field);
            }
            if size > MAX_PARAGRAPH {
                return Err(self.syntax(format!("paragraph larger than {MAX_PARAGRAPH} bytes")));
            }
        }
        Ok((!paragraph.fields.is_empty()).then_some(paragraph))
    }
}

fn truncate(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

impl<R: BufRead> Iterator for Deb822Reader<R> {
    type Item = Result<Paragraph, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_paragraph() {
            Ok(Some(p)) => Some(Ok(p)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Parses every paragraph of `text`; `source` names it in errors.
pub fn parse_paragraphs(text: &str, source: &str) -> Result<Vec<Paragraph>, Error> {
    Deb822Reader::new(text.as_bytes(), source).collect()
}

/// Parses `text` as exactly one paragraph (a `control` file or a `Release` file).
pub fn parse_paragraph(text: &str, source: &str) -> Result<Paragraph, Error> {
    let mut paragraphs = parse_paragraphs(text, source)?;
    match paragraphs.len() {
        1 => Ok(paragraphs.remove(0)),
        n => Err(Error::Syntax {
            file: source.to_string(),
            line: 1,
            reason: format!("expected one paragraph, found {n}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_and_continuations() -> Result<(), Error> {
        let text = "# comment\nPackage: a\nDepends: b,\n c (>= 1)\r\nDescription: short\n long\n .\n more\n\n\n\nPackage: b\nSHA256:\n aa 1 x\n bb 2 y\n";
        let ps = parse_paragraphs(text, "t")?;
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].get("package"), Some("a"));
        assert_eq!(ps[0].get("Depends"), Some("b,\n c (>= 1)"));
        assert_eq!(ps[0].get("Description"), Some("short\n long\n .\n more"));
        assert_eq!(ps[0].line(), 2);
        assert_eq!(ps[1].line(), 12);
        assert_eq!(ps[1].get("SHA256"), Some("\n aa 1 x\n bb 2 y"));
        assert_eq!(ps[1].to_string(), "Package: b\nSHA256:\n aa 1 x\n bb 2 y\n");
        assert_eq!(parse_paragraph(&ps[0].to_string(), "t")?, Paragraph { line: 1, ..ps[0].clone() });
        Ok(())
    }

    #[test]
    fn errors_name_file_and_line() {
        let cases = [
            (" x\n", 1, "continuation"),
            ("A: 1\nB\n", 2, "expected"),
            ("A: 1\na: 2\n", 2, "duplicate"),
            ("A: 1\n: 2\n", 2, "invalid field name"),
            ("A: \u{0}\n\nB: \u{ff}\n", 3, ""),
        ];
        for (text, line, reason) in cases {
            match parse_paragraphs(text, "file.txt") {
                Err(Error::Syntax { file, line: l, reason: r }) => {
                    assert_eq!((file.as_str(), l), ("file.txt", line), "{text:?}");
                    assert!(r.contains(reason), "{r}");
                }
                Ok(p) if reason.is_empty() => assert_eq!(p.len(), 2),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert!(matches!(parse_paragraphs("A: \u{0}\n", "f").map(|_| ()), Ok(())));
        let bad_utf8: &[u8] = b"A: \xff\n";
        assert!(Deb822Reader::new(bad_utf8, "f").next().is_some_and(|r| r.is_err()));
        assert!(parse_paragraph("A: 1\n\nB: 2\n", "f").is_err());
    }
}
