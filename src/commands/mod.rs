//! The commands a person runs (docker never calls them): `setup`, `doctor`,
//! `policy`, `login`. Each is built on the modules the protocol path uses.

pub mod doctor;
pub mod login;
pub mod manual;
pub mod policy;
pub mod setup;
