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
