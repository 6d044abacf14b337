//! `docker-credential-ecr-role`: argv → command; errors → exit code and the one
//! line docker (stdout) and the user (stderr) see. The work is in the modules.

mod aws;
mod cache;
mod chain;
mod cli;
mod clock;
mod commands;
mod context;
mod deadline;
mod docker_config;
mod dry_run;
mod error;
mod files;
mod fnv;
mod home;
mod iam;
mod identity;
mod kubelet;
mod log;
mod platform;
mod profile_edit;
mod profiles;
mod protocol;
mod registry;
#[cfg(test)]
mod sdk_conformance;
mod secret;
mod settings;
mod text;
mod verbs;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use error::Error;

fn main() -> ExitCode {
    deadline::mark_start();
    // First, while the process has one thread: one home and absolute AWS file paths
    // for everything that follows, the SDK included (see `home`).
    let _ = home::settle();
    // Also before any thread: no proxy ever sees the metadata or container
    // credentials endpoints (see `aws::http`).
    aws::http::keep_local_endpoints_direct();
    // Docker runs `docker-credential-ecr-role get` (or store, erase, list) on every
    // push and pull: answer those without building the whole command-line parser,
    // which costs more than the cache hit itself. Anything else goes to clap.
    if let Some(verb) = protocol_verb() {
        return protocol(verb);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    match cli.command {
        Command::Setup(args) => {
            reporting(|out| commands::setup::run(&args.into(), out).map(|_| true))
        }
        Command::Doctor { registry, json } => reporting(|out| {
            let result = commands::doctor::run(registry.as_deref(), json, out);
            // `--json` means JSON for every outcome: a failure before any check too
            // (stderr and the exit status say it as for every command).
            if json && let Err(e) = &result {
                let doc =
                    serde_json::json!({"ok": false, "error": text::for_person(&e.to_string())});
                let _ = writeln!(out, "{doc}");
            }
            result
        }),
        Command::Registries { remove } => reporting(|out| match remove {
            Some(host) => commands::registries::remove(&host, out),
            None => commands::registries::list(out),
        }),
        Command::Login { registry, profile } => {
            reporting(|out| commands::login::run(registry.as_deref(), profile.as_deref(), out))
        }
        Command::Policy(args) => reporting(|out| {
            let request = commands::policy::PolicyRequest::from(&args);
            request.validate()?;
            let text = if args.commands {
                request.commands(&args.profile, &args.source_profile)?
            } else {
                request.render(args.only)
            };
            let _ = out.write_all(text.as_bytes());
            Ok::<bool, commands::policy::PolicyError>(true)
        }),
        Command::Completions { shell } => {
            reporting(|out| commands::manual::completions(shell, out))
        }
        Command::Man => reporting(commands::manual::man),
        Command::Kubelet { role_annotation } => {
            let stdin = std::io::stdin().lock();
            let mut stdout = std::io::stdout().lock();
            match kubelet::run(stdin, &mut stdout, &role_annotation) {
                Ok(()) => ExitCode::SUCCESS,
                // The kubelet logs stderr; stdout stays empty: never a partial response.
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "{}", text::line(&e));
                    ExitCode::FAILURE
                }
            }
        }
        Command::Get => protocol(Verb::Get),
        Command::Store => protocol(Verb::Store),
        Command::Erase => protocol(Verb::Erase),
        Command::List => protocol(Verb::List),
        Command::Version => protocol(Verb::Version),
    }
}

/// The verbs docker calls.
#[derive(Clone, Copy)]
enum Verb {
    Get,
    Store,
    Erase,
    List,
    Version,
}

/// The protocol verb, when it is the only argument (as docker calls the helper).
fn protocol_verb() -> Option<Verb> {
    let mut args = std::env::args_os().skip(1);
    let verb = args.next()?;
    if args.next().is_some() {
        return None;
    }
    match verb.to_str()? {
        "get" => Some(Verb::Get),
        "store" => Some(Verb::Store),
        "erase" => Some(Verb::Erase),
        "list" => Some(Verb::List),
        "version" => Some(Verb::Version),
        _ => None,
    }
}

/// Runs a protocol verb; an error goes where docker and the user see it (see [`report`]).
fn protocol(verb: Verb) -> ExitCode {
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let result = match verb {
        Verb::Get => verbs::get(stdin, &mut stdout),
        Verb::Store => verbs::store(stdin),
        Verb::Erase => verbs::erase(stdin),
        Verb::List => verbs::list(&mut stdout),
        Verb::Version => writeln!(stdout, "{} {}", text::PROGRAM, env!("ECR_ROLE_VERSION"))
            .map_err(Error::Output),
    };
    drop(stdout);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

/// A command run by a person, writing to stdout through [`text::Scrubbed`]: its
/// error goes to stderr as one line. Exit codes (as the README says): 0 done, 1 a
/// check failed or the command could not do its job (a failed write to stdout
/// included), 2 the command line was wrong (clap's own exit code for a usage error,
/// and ours for arguments it refused, see [`commands::CommandError`]). A reader that went away
/// (a broken pipe, `| head`) is not an error, as in ripgrep.
fn reporting<E: commands::CommandError>(
    run: impl FnOnce(&mut text::Scrubbed<std::io::Stdout>) -> Result<bool, E>,
) -> ExitCode {
    let mut out = text::Scrubbed::new(std::io::stdout());
    let result = run(&mut out);
    match out.finish() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => output_failed(&e),
        _ => user_command(result),
    }
}

/// A write to stdout failed (a full disk, a closed terminal): one line on stderr, exit 1.
fn output_failed(e: &std::io::Error) -> ExitCode {
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        text::line(format_args!("cannot write to stdout: {e}"))
    );
    ExitCode::FAILURE
}

/// clap's answer when it did not return a command line: `--help` and `--version` go
/// to stdout (a failed write is an error, as for every command), a refused command
/// line to stderr with clap's usage exit code (2).
fn clap_exit(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let text = e.render().to_string();
            reporting(|out| out.write_all(text.as_bytes()).map(|()| true))
        }
        _ => {
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
        }
    }
}

/// What a command's result means for the exit status; its error, on stderr as one line.
fn user_command<E: commands::CommandError>(result: Result<bool, E>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            let line = text::line(&err);
            let _ = writeln!(std::io::stderr(), "{line}");
            ExitCode::from(err.exit_code())
        }
    }
}

/// Docker reads a helper's error from stdout (exit 1); the user sees stderr.
fn report(err: &Error) -> ExitCode {
    // Docker stopped reading: nobody is left to tell, and nothing went wrong here.
    if let Error::Output(e) = err
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::SUCCESS;
    }
    // Our answer could not be written: docker will not read this either; say it on stderr.
    if let Error::Output(e) = err {
        return output_failed(e);
    }
    let message = err.line();
    let _ = writeln!(std::io::stdout(), "{message}");
    if err.also_on_stderr() {
        let _ = writeln!(std::io::stderr(), "{message}");
    }
    ExitCode::FAILURE
}
