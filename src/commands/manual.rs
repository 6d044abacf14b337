//! `completions SHELL` and `man`: the shell completions and the man page, generated
//! from the command-line definitions themselves ([`crate::cli`]), so they never
//! disagree with `--help`. Homebrew's formula and `install/install.sh` install both.
//! Never on docker's path: the protocol verbs skip clap altogether.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::text::PROGRAM;

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> std::io::Result<bool> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), PROGRAM, &mut script);
    written(out.write_all(&script).and_then(|()| out.flush()))
}

/// Writes the man page (section 1, roff).
pub fn man(out: &mut impl Write) -> std::io::Result<bool> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    written(out.write_all(&page).and_then(|()| out.flush()))
}

/// A reader that stopped reading (`| head`) is not an error.
fn written(result: std::io::Result<()>) -> std::io::Result<bool> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
        other => other.map(|()| true),
    }
}
