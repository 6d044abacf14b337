//! Puts the git commit the binary is built from into its version line
//! (`ECR_ROLE_VERSION`, e.g. `0.1.0 (commit 0123456789ab)`), when it is built from a
//! git checkout; from a source archive it is the crate's version alone. The commit's
//! date is the man page's (`ECR_ROLE_DATE`).

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
        Some(commit) => println!("cargo:rustc-env=ECR_ROLE_VERSION={version} (commit {commit})"),
        None => println!("cargo:rustc-env=ECR_ROLE_VERSION={version}"),
    }
    // The man page's date: the commit's day (reproducible), else none.
    let date = Command::new("git")
        .args(["log", "-1", "--format=%cs"])
        .output()
        .ok()
        .filter(|out| out.status.success() && Path::new(".git").exists())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=ECR_ROLE_DATE={date}");
    // Look again when the checkout moves: HEAD, the branch's ref (loose or packed).
    // Cargo shares build outputs between copies of this package at other paths (a
    // source archive, a checkout), and a missing path always reruns, so a copy
    // without git never keeps a stale commit either.
    for path in ["HEAD", "packed-refs"] {
        println!("cargo:rerun-if-changed={}", git_path(path));
    }
    if let Ok(head) = std::fs::read_to_string(git_path("HEAD"))
        && let Some(reference) = head.trim().strip_prefix("ref: ")
    {
        println!("cargo:rerun-if-changed={}", git_path(reference));
    }
}

/// Where git keeps `name` for this checkout (worktrees and submodules included).
fn git_path(name: &str) -> String {
    Command::new("git")
        .args(["rev-parse", "--git-path", name])
        .output()
        .ok()
        .filter(|out| out.status.success() && Path::new(".git").exists())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_else(|| format!(".git/{name}"))
}
