//! The `pare` binary: parse arguments, call one library function per verb, print, exit.
// Doc comments on clap types are the `--help` text users read: `oci:DIR[:NAME]` is syntax, not a link.
#![allow(rustdoc::broken_intra_doc_links)]

mod args;
mod commands;
mod context;
mod output;
mod sarif;
mod status;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

pub(crate) use status::ExitStatus;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let printer = output::Printer::new(&cli.global);
    printer.init_logging();
    // Checked once, before any verb writes: a bad value is an error everywhere, never ignored.
    let run = pare_oci::source_date_epoch().map_err(anyhow::Error::from).and_then(|_| commands::run(cli, &printer));
    match run {
        Ok(status) => status.into(),
        Err(err) if is_broken_pipe(&err) => ExitStatus::Success.into(),
        Err(err) => {
            report(&err);
            match err.downcast_ref::<status::GateFailure>() {
                Some(_) => ExitStatus::Failure.into(),
                None => ExitStatus::Error.into(),
            }
        }
    }
}

/// Prints the error chain, each cause once, then the hints the errors carry (their `hint()`, collected
/// by `status::hints_of`), after the chain as uv does. Errors may quote image data: no raw control character reaches the terminal.
fn report(err: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let show = |text: &str| pare_oci::escape_control_keep_lines(text).into_owned();
    let mut hints: Vec<String> = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    for (i, cause) in err.chain().enumerate() {
        for hint in status::hints_of(cause) {
            if !hints.contains(&hint) {
                hints.push(hint);
            }
        }
        let message = cause.to_string();
        // A cause an earlier message already quotes is not printed again.
        if message.is_empty() || shown.iter().any(|s| s.contains(&message)) {
            continue;
        }
        let prefix = if i == 0 { "error: " } else { "  caused by: " };
        let _ = writeln!(stderr, "{prefix}{}", show(&message));
        shown.push(message);
    }
    for hint in hints {
        let _ = writeln!(stderr, "hint: {}", show(&hint));
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}
