//! `docker-credential-ecr-role`: argv → command; errors → exit code and the one
//! line docker (stdout) and the user (stderr) see. The work is in the modules.

mod aws;
mod cache;
mod cli;
mod config;
mod error;
mod helper;
mod identity;
mod profile_file;
mod protocol;
mod registry;
mod secret;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use error::Error;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

fn run(command: Command) -> Result<(), Error> {
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::Get => helper::get(stdin, &mut stdout),
        Command::Store => helper::store(stdin),
        Command::Erase => helper::erase(stdin),
        Command::List => helper::list(&mut stdout),
        Command::Version => writeln!(stdout, "{} {}", error::PROGRAM, env!("CARGO_PKG_VERSION"))
            .map_err(Error::Output),
    }
}

/// Docker reads a helper's error from stdout (exit 1); the user sees stderr.
fn report(err: &Error) -> ExitCode {
    let message = err.to_string();
    let _ = writeln!(std::io::stdout(), "{message}");
    if err.also_on_stderr() {
        let _ = writeln!(std::io::stderr(), "{message}");
    }
    ExitCode::FAILURE
}
