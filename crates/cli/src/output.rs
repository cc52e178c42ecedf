//! Everything the CLI shows: results on stdout, progress and warnings on stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use pare_oci::{Descriptor, escape_control, escape_control_keep_lines};

use crate::args::GlobalArgs;

pub struct Printer {
    quiet: bool,
    verbose: u8,
    progress: bool,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Printer {
        Printer {
            quiet: global.quiet,
            verbose: global.verbose,
            progress: !global.quiet && std::io::stderr().is_terminal(),
        }
    }

    /// Writes a human-readable result to stdout. Its lines are pare's; any other control character
    /// is written visibly (the cells quoting image data escaped their line breaks already).
    pub fn out(&self, text: &str) -> std::io::Result<()> {
        let text = escape_control_keep_lines(text);
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            stdout.write_all(b"\n")?;
        }
        stdout.flush()
    }

    /// Writes bytes as they are: file contents (`pare cat`), documents, reports that escaped their data.
    pub fn out_bytes(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()
    }

    pub fn json(&self, value: &serde_json::Value) -> anyhow::Result<()> {
        let mut text = serde_json::to_vec_pretty(value)?;
        text.push(b'\n');
        Ok(self.out_bytes(&text)?)
    }

    pub fn warn(&self, text: &str) {
        if !self.quiet {
            // One line each: a line break in quoted data cannot forge another warning.
            eprintln!("warning: {}", escape_control(text));
        }
    }

    /// Why a check said no (exit status 1), on stderr even with --quiet: it is the result.
    pub fn failure(&self, text: &str) {
        eprintln!("{}", escape_control(text));
    }

    /// Whether progress bars are drawn (stderr is a terminal and not --quiet).
    pub fn interactive(&self) -> bool {
        self.progress
    }

    /// A status line on stderr (shown unless --quiet).
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln!("{}", escape_control_keep_lines(text));
        }
    }

    /// Sends the libraries' `tracing` events to stderr: `-v` shows pare's debug events, `-vv` everyone's.
    /// Colours only on a terminal, and not when `NO_COLOR` is set (no-color.org).
    pub fn init_logging(&self) {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let filter = match self.verbose {
            0 => "warn,pare_monitor=info",
            1 => "warn,pare_monitor=info,pare_oci=debug,pare_deb=debug,pare_cli=debug",
            _ => "debug",
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PARE_LOG").unwrap_or_else(|_| filter.into()))
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal() && !no_color)
            .without_time()
            .try_init();
    }

    /// A progress reporter for copies: a spinner with counts, only on a terminal.
    pub fn copy_progress(&self, what: &str) -> CopyProgress {
        let bar = self.progress.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar.set_message(what.to_string());
            bar
        });
        CopyProgress { bar, what: what.to_string(), counts: Mutex::new((0, 0, 0)) }
    }
}

pub struct CopyProgress {
    bar: Option<ProgressBar>,
    what: String,
    /// (blobs copied, blobs skipped, bytes copied)
    counts: Mutex<(u64, u64, u64)>,
}

impl CopyProgress {
    pub fn finish(&self) -> (u64, u64, u64) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.counts.lock().map(|c| *c).unwrap_or_default()
    }
}

impl pare_oci::Progress for CopyProgress {
    fn blob_started(&self, desc: &Descriptor) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{}: {} ({})",
                self.what,
                short_digest(desc.digest().as_ref()),
                human_size(desc.size())
            ));
        }
    }
    fn blob_done(&self, desc: &Descriptor, skipped: bool) {
        if let Ok(mut c) = self.counts.lock() {
            if skipped {
                c.1 += 1;
            } else {
                c.0 += 1;
                c.2 += desc.size();
            }
        }
    }
}

pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) if hex.len() > 12 => format!("{alg}:{}", &hex[..12]),
        _ => digest.to_string(),
    }
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
