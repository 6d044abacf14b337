//! The commands a person runs (docker never calls them): `setup`, `doctor`, `policy`,
//! `login`, `registries`, and `completions` with `man` (`manual.rs`), one file per job, each built on the
//! modules the protocol path uses, none on another command's internals.

pub mod doctor;
pub mod login;
pub mod manual;
pub mod policy;
pub mod registries;
pub mod setup;

/// A command's error, and the exit status it means: 1, the command could not do its
/// job; 2, the command line was wrong (as clap exits for the usage errors it finds
/// itself). Each error type says which beside its variants.
pub trait CommandError: std::fmt::Display {
    /// The exit status for this error.
    fn exit_code(&self) -> u8 {
        1
    }
}

/// The command line was right; writing the output failed.
impl CommandError for std::io::Error {}

/// Why a command that talks to AWS (`doctor`, `login`) could not start: the helper's
/// settings or the AWS files could not be read, or a registry named is not ECR.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0} is not an ECR registry host")]
    NotEcr(String),
    #[error("{0}")]
    Config(#[from] crate::settings::ConfigError),
    #[error("{0}")]
    Context(#[from] crate::context::ContextError),
}

impl CommandError for StartError {
    /// A host that is not ECR is a refused argument (2); the rest, 1.
    fn exit_code(&self) -> u8 {
        match self {
            StartError::NotEcr(_) => 2,
            _ => 1,
        }
    }
}

/// The context a command that talks to AWS starts from: the settings, then the rest.
pub fn load_context() -> Result<crate::context::Context, StartError> {
    use crate::context::Context;
    Ok(Context::load(Context::settings()?)?)
}

/// The ECR registry `server` names: an ECR host, or a custom name the settings map.
pub fn ecr_registry(
    server: &str,
    ctx: &crate::context::Context,
) -> Result<crate::registry::Registry, StartError> {
    crate::context::registry(server, &ctx.settings)
        .ok_or_else(|| StartError::NotEcr(server.to_string()))
}
