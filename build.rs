//! Puts the git commit the binary is built from into its version line
//! (`ECR_ROLE_VERSION`, e.g. `0.1.0 (commit 0123456789ab)`), when it is built from a
//! git checkout; from a source archive it is the crate's version alone.

use std::path::Path;
use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|commit| !commit.is_empty() && Path::new(".git").exists());
    match commit {
        Some(commit) => {
            println!("cargo:rustc-env=ECR_ROLE_VERSION={version} (commit {commit})");
            // A new commit (the branch's ref moves) rebuilds the version line.
            println!("cargo:rerun-if-changed=.git/HEAD");
            if let Ok(head) = std::fs::read_to_string(".git/HEAD")
                && let Some(reference) = head.trim().strip_prefix("ref: ")
                && Path::new(".git").join(reference).exists()
            {
                println!("cargo:rerun-if-changed=.git/{reference}");
            }
        }
        None => {
            println!("cargo:rustc-env=ECR_ROLE_VERSION={version}");
            // Cargo shares build outputs between copies of this package at other paths
            // (a source archive, a checkout): looking again when a checkout's HEAD
            // appears keeps the commit from being lost (a missing path always reruns).
            println!("cargo:rerun-if-changed=.git/HEAD");
        }
    }
}
