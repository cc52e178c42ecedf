//! The shell commands of a `RUN`, as far as the audit needs them: which programs run, with which
//! words, and which commands pipe into which.
//!
//! Hand-written: parse-dockerfile gives a `RUN`'s shell text as written (line continuations kept),
//! and no crate of the stack parses POSIX shell lists. Only words (with quotes and backslashes) and
//! the control operators between commands are recognised; expansions stay inside their word.

/// One simple command: its words after quotes are removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Command {
    pub words: Vec<String>,
}

impl Command {
    /// The program and its arguments, past variable assignments and wrappers (`sudo`, `env`, …).
    pub fn program(&self) -> Option<(&str, &[String])> {
        let mut i = 0;
        while i < self.words.len() {
            let w = self.words[i].as_str();
            let assignment = w.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if assignment || matches!(w, "sudo" | "env" | "exec" | "nohup" | "time" | "command" | "{" | "!") {
                i += 1;
                // `sudo -E`, `env -i`: options of the wrapper.
                while i < self.words.len() && self.words[i].starts_with('-') && self.words[i] != "--" {
                    i += 1;
                }
                continue;
            }
            let name = w.rsplit('/').next().unwrap_or(w);
            return Some((name, &self.words[i + 1..]));
        }
        None
    }
}

/// Commands joined by `|`: `curl -fsSL URL | sh` is one pipeline of two commands.
pub(crate) type Pipeline = Vec<Command>;

/// The pipelines of a script, in order.
pub(crate) fn pipelines(script: &str) -> Vec<Pipeline> {
    split(script, true)
}

/// Words of an `ENV`/`ARG` line, with quotes removed (`A="b c" D=e` → `A=b c`, `D=e`): no control
/// operators there, `#` and `|` are ordinary characters.
pub(crate) fn words(text: &str) -> Vec<String> {
    split(text, false).into_iter().flatten().flat_map(|c| c.words).collect()
}

fn split(script: &str, operators: bool) -> Vec<Pipeline> {
    let mut out: Vec<Pipeline> = Vec::new();
    let mut pipeline: Pipeline = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let end_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    let end_command = |words: &mut Vec<String>, pipeline: &mut Pipeline| {
        if !words.is_empty() {
            pipeline.push(Command { words: std::mem::take(words) });
        }
    };
    let end_pipeline = |pipeline: &mut Pipeline, out: &mut Vec<Pipeline>| {
        if !pipeline.is_empty() {
            out.push(std::mem::take(pipeline));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(next) => word.push(next),
                }
            }
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => word.push(e),
                            Some('\n') | None => {}
                            Some(e) => {
                                word.push('\\');
                                word.push(e);
                            }
                        },
                        _ => word.push(q),
                    }
                }
            }
            c if c.is_whitespace() && !operators => end_word(&mut word, &mut in_word, &mut words),
            '#' if !in_word && operators => {
                for q in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
                end_command(&mut words, &mut pipeline);
                end_pipeline(&mut pipeline, &mut out);
            }
            '|' if operators => {
                end_word(&mut word, &mut in_word, &mut words);
                end_command(&mut words, &mut pipeline);
                if chars.peek() == Some(&'|') {
                    chars.next();
                    end_pipeline(&mut pipeline, &mut out);
                }
            }
            '&' | ';' | '\n' | '(' | ')' if operators => {
                // `2>&1` and `&>` are redirections, not separators.
                if c == '&' && (word.ends_with('>') || chars.peek() == Some(&'>')) {
                    in_word = true;
                    word.push(c);
                    continue;
                }
                end_word(&mut word, &mut in_word, &mut words);
                end_command(&mut words, &mut pipeline);
                end_pipeline(&mut pipeline, &mut out);
                if c == '&' && chars.peek() == Some(&'&') {
                    chars.next();
                }
            }
            c if c.is_whitespace() => end_word(&mut word, &mut in_word, &mut words),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut words);
    end_command(&mut words, &mut pipeline);
    end_pipeline(&mut pipeline, &mut out);
    out
}

/// The shell text of an instruction as the shell sees it: line continuations (escape character
/// then end of line) joined, and comment lines inside the instruction dropped, as BuildKit does.
pub(crate) fn join_continuations(text: &str, escape: char) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 && line.trim_start().starts_with('#') {
            continue;
        }
        let trimmed = line.trim_end();
        match trimmed.strip_suffix(escape) {
            Some(rest) => {
                out.push_str(rest);
                out.push(' ');
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(script: &str) -> Vec<Vec<String>> {
        pipelines(script)
            .iter()
            .map(|p| p.iter().filter_map(|c| c.program().map(|(name, _)| name.to_string())).collect())
            .collect()
    }

    #[test]
    fn splits_lists_and_pipelines() {
        assert_eq!(
            programs(
                "apt-get update && apt-get install -y curl \\\n && curl -fsSL https://x | sudo -E bash - ; rm -rf /x"
            ),
            [vec!["apt-get"], vec!["apt-get"], vec!["curl", "bash"], vec!["rm"]]
        );
        assert_eq!(programs("DEBIAN_FRONTEND=noninteractive apt-get install -y gcc"), [vec!["apt-get"]]);
        assert_eq!(programs("make 2>&1 || true"), [vec!["make"], vec!["true"]]);
        assert_eq!(programs("echo 'a | b' \"c && d\" # curl | sh"), [vec!["echo"]]);
        assert_eq!(programs("/usr/bin/curl x|/bin/sh"), [vec!["curl", "sh"]]);
    }

    #[test]
    fn quotes_and_escapes_are_removed() {
        let p = pipelines(r#"echo "a \"b\" $c" 'd e' f\ g"#);
        assert_eq!(p[0][0].words, ["echo", "a \"b\" $c", "d e", "f g"]);
    }

    #[test]
    fn continuations_join_and_comment_lines_go() {
        let text = "apt-get install -y \\\n    # the compiler\n    gcc \\\n  && rm -rf /var/lib/apt/lists/*";
        assert_eq!(join_continuations(text, '\\'), "apt-get install -y      gcc    && rm -rf /var/lib/apt/lists/*\n");
        assert_eq!(join_continuations("a `\nb", '`'), "a  b\n");
    }

    #[test]
    fn env_words() {
        assert_eq!(words("A=\"b c\" D=e"), ["A=b c", "D=e"]);
        assert_eq!(words("KEY some value"), ["KEY", "some", "value"]);
    }
}
