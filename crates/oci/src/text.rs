//! Text from images and documents, made safe to show on a terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character written visibly, as `ls -b` and Rust's `escape_debug` do:
/// C0 controls and DEL as `\x1b` (newline `\n`, tab `\t`, carriage return `\r`), C1 controls and
/// the Unicode bidirectional overrides and line separators (which reorder or split what a terminal
/// shows) as `\u{202e}`. Everything else, backslashes included, is kept.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// [`escape_control`], keeping line breaks: for messages whose lines are pare's own (hints), where
/// the data quoted in them was escaped already or is a single line.
pub fn escape_control_keep_lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

fn escape(text: &str, keep_lines: bool) -> Cow<'_, str> {
    let escaped = |c: char| needs_escape(c) && !(keep_lines && c == '\n');
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !escaped(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// 1-based line and column (in characters) of byte `offset` in `text` (clamped to it): where a
/// parser's error points, for messages that name `file:line:column`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// An error and its causes on one line, each cause once (left out when the text already says it).
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Wildcard matching of a whole string: `*` matches any run of characters (none included), `?` one
/// character; everything else itself. Callers that match paths split them into components first.
/// Written by hand: the glob crates match paths, where `*` stops at `/`.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);
    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn error_chain_names_each_cause_once() {
        let inner = Layer("connection refused", None);
        let middle = Layer("sending the request: connection refused", Some(Box::new(inner)));
        let outer = Layer("listing tags of app", Some(Box::new(middle)));
        assert_eq!(error_chain(&outer), "listing tags of app: sending the request: connection refused");
    }

    #[test]
    fn line_col_counts_characters_and_clamps() {
        let text = "a = 1\nbé = x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // After the two-byte `é`: the third character of line 2.
        assert_eq!(line_col(text, 9), (2, 3));
        // Inside `é`: the character it belongs to.
        assert_eq!(line_col(text, 8), (2, 2));
        assert_eq!(line_col(text, 1000), (3, 1));
    }

    #[test]
    fn controls_are_written_visibly() {
        assert_eq!(escape_control("plain ünïcode \\ path"), "plain ünïcode \\ path");
        assert_eq!(escape_control("a\x1b]52;c;aGk=\x07b\x1b[31m"), "a\\x1b]52;c;aGk=\\x07b\\x1b[31m");
        assert_eq!(escape_control("one\ntwo\r\tx\x7f\u{9b}\u{202e}"), "one\\ntwo\\r\\tx\\x7f\\u{9b}\\u{202e}");
        assert_eq!(escape_control_keep_lines("error\nhint: \x1b[2J"), "error\nhint: \\x1b[2J");
    }
}
