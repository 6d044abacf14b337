//! `docker-credential-ecr-role`: argv → command; errors → exit code and the one
//! line docker (stdout) and the user (stderr) see. The work is in the modules.

mod aws;
mod cache;
mod cli;
mod commands;
mod config;
mod error;
mod files;
mod helper;
mod identity;
mod log;
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
    // Docker runs `docker-credential-ecr-role get` (or store, erase, list) on every
    // push and pull: answer those without building the whole command-line parser,
    // which costs more than the cache hit itself. Anything else goes to clap.
    if let Some(verb) = protocol_verb() {
        return match run_protocol(verb) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => report(&err),
        };
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Setup(args) => {
            user_command(commands::setup::run(&args.into(), &mut std::io::stdout()).map(|_| true))
        }
        Command::Doctor { registry, json } => user_command(commands::doctor::run(
            registry.as_deref(),
            json,
            &mut std::io::stdout(),
        )),
        Command::Registries { remove } => user_command(match remove {
            Some(host) => commands::setup::remove(&host, &mut std::io::stdout()),
            None => commands::setup::list(&mut std::io::stdout()),
        }),
        Command::Login { registry, profile } => user_command(commands::login::run(
            registry.as_deref(),
            profile.as_deref(),
            &mut std::io::stdout(),
        )),
        Command::Policy(args) => {
            let request = commands::policy::PolicyRequest::from(&args);
            user_command(request.validate().map(|()| {
                print!("{}", request.render(args.only));
                true
            }))
        }
        protocol => match run_protocol(protocol) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => report(&err),
        },
    }
}

/// The protocol verb, when it is the only argument (as docker calls the helper).
fn protocol_verb() -> Option<Command> {
    let mut args = std::env::args_os().skip(1);
    let verb = args.next()?;
    if args.next().is_some() {
        return None;
    }
    match verb.to_str()? {
        "get" => Some(Command::Get),
        "store" => Some(Command::Store),
        "erase" => Some(Command::Erase),
        "list" => Some(Command::List),
        "version" => Some(Command::Version),
        _ => None,
    }
}

/// The verbs docker calls.
fn run_protocol(command: Command) -> Result<(), Error> {
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::Get => helper::get(stdin, &mut stdout),
        Command::Store => helper::store(stdin),
        Command::Erase => helper::erase(stdin),
        Command::List => helper::list(&mut stdout),
        Command::Version => writeln!(stdout, "{} {}", error::PROGRAM, env!("CARGO_PKG_VERSION"))
            .map_err(Error::Output),
        Command::Setup(_)
        | Command::Doctor { .. }
        | Command::Policy(_)
        | Command::Login { .. }
        | Command::Registries { .. } => {
            unreachable!("user commands are dispatched in main")
        }
    }
}

/// A command run by a person: its error goes to stderr as one line; `Ok(false)` (a
/// failed check) exits 1 too.
fn user_command<E: std::fmt::Display>(result: Result<bool, E>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "{}: {err}", error::PROGRAM);
            ExitCode::FAILURE
        }
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
