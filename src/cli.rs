//! The command line: docker's protocol verbs (`get`, `store`, `erase`, `list`,
//! `version`), as clap subcommands, with `--help` and `--version` / `-v`.

use clap::{ArgAction, Parser, Subcommand};

/// Docker credential helper for Amazon ECR that switches role through your AWS profile.
///
/// Map your registry to it in ~/.docker/config.json:
///   {"credHelpers": {"<account>.dkr.ecr.<region>.amazonaws.com": "ecr-role"}}
/// and `docker push` / `docker pull` get a token on their own, cached until shortly
/// before it expires.
///
/// Which AWS profile: ECR_ROLE_PROFILE, else the registry's mapping in the helper's
/// settings (ECR_ROLE_CONFIG), else its default_profile, else AWS_PROFILE, else
/// `default`. Cache: ECR_ROLE_CACHE_DIR; ECR_ROLE_DISABLE_CACHE=1 (or
/// AWS_ECR_DISABLE_CACHE=1) turns it off.
#[derive(Debug, Parser)]
#[command(
    name = "docker-credential-ecr-role",
    version,
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    version: Option<bool>,

    #[command(subcommand)]
    pub command: Command,
}

/// What docker (or you) asks the helper to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print credentials for the registry URL given on stdin (docker calls this)
    Get,
    /// Accept credentials from `docker login` on stdin; they are not kept (tokens come from AWS)
    Store,
    /// Forget the cached token of the registry URL given on stdin
    Erase,
    /// List the registries that have a valid cached token
    List,
    /// Print the version
    Version,
}
