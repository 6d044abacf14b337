//! The commands a person runs (docker never calls them): `setup`, `doctor`, `policy`,
//! `login`, `registries`, and `completions` with `man` (`manual.rs`), one file per job, each built on the
//! modules the protocol path uses, none on another command's internals.

pub mod doctor;
pub mod login;
pub mod manual;
pub mod policy;
pub mod registries;
pub mod setup;
