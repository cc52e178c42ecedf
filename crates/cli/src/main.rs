//! The `pare` binary: parse arguments, call one library function per verb, print, exit.
// Doc comments on clap types are the `--help` text users read: `oci:DIR[:NAME]` is syntax, not a link.
#![allow(rustdoc::broken_intra_doc_links)]

mod args;
mod build;
mod commands;
mod db;
mod outdated;
mod output;
mod sbom;
mod scan;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let printer = output::Printer::new(&cli.global);
    printer.init_logging();
    // Checked once, before any verb writes: a bad value is an error everywhere, never ignored.
    let run = pare_oci::source_date_epoch().map_err(anyhow::Error::from).and_then(|_| commands::run(cli, &printer));
    match run {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            // Errors may quote image data: no raw control character reaches the terminal.
            let show = |e: &dyn std::fmt::Display| pare_oci::escape_control_keep_lines(&e.to_string()).into_owned();
            let _ = writeln!(stderr, "error: {}", show(&err));
            for cause in err.chain().skip(1) {
                let _ = writeln!(stderr, "  caused by: {}", show(&cause));
            }
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}
