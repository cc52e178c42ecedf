//! `pare completions SHELL` and `pare man`: generated from the same clap types as `--help`.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::ExitStatus;
use crate::args::{Cli, Shell};
use crate::output::Printer;

/// Prints the completion script for `shell`.
pub(crate) fn completions(printer: &Printer, shell: Shell) -> Result<ExitStatus> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(generator, &mut command, "pare", &mut out);
    printer.out_bytes(&out)?;
    Ok(ExitStatus::Success)
}

/// Prints the man page of `pare` (roff); with `dir`, writes `pare.1` and a `pare-VERB.1` per verb there.
pub(crate) fn man(printer: &Printer, dir: Option<&Path>) -> Result<ExitStatus> {
    let command = Cli::command();
    let Some(dir) = dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(command).render(&mut out)?;
        printer.out_bytes(&out)?;
        return Ok(ExitStatus::Success);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut pages = vec![("pare.1".to_string(), command.clone())];
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("pare-{}", sub.get_name());
        pages.push((format!("{name}.1"), sub.clone().display_name(name.clone()).bin_name(name.replace("-", " "))));
    }
    for (file, page) in &pages {
        let mut out = Vec::new();
        clap_mangen::Man::new(page.clone()).render(&mut out)?;
        let path = dir.join(file);
        pare_oci::write_atomic(&path, &out).with_context(|| format!("writing {}", path.display()))?;
    }
    printer.status(&format!("Wrote {} man pages to {}", pages.len(), dir.display()));
    Ok(ExitStatus::Success)
}
