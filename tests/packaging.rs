//! Packaging: the Homebrew formula is valid Ruby, names Cargo.toml's version, and
//! its `test do` block's expectations hold for the binary.

mod support;

use support::*;

const FORMULA: &str = "install/homebrew/Formula/docker-credential-ecr-role.rb";

#[test]
fn the_homebrew_formula_is_valid_ruby() {
    let ruby = require_program("ruby");
    let out = std::process::Command::new(ruby)
        .arg("-c")
        .arg(repo_root().join(FORMULA))
        .output()
        .expect("run ruby -c");
    assert!(
        out.status.success(),
        "ruby -c {FORMULA}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Syntax OK");
}

#[test]
fn the_homebrew_formula_has_the_crates_version() {
    let formula = std::fs::read_to_string(repo_root().join(FORMULA)).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        formula.contains(&format!("  version \"{version}\"\n")),
        "formula version is not {version}"
    );
    assert!(
        formula.contains(&format!("/v{version}.tar.gz\"")),
        "formula url is not of v{version}"
    );
    assert!(formula.contains("class DockerCredentialEcrRole < Formula"));
}

#[test]
fn the_formulas_test_block_holds() {
    // test do: `version` prints the version; `get` of a foreign host prints the
    // not-found text and exits 1.
    let formula = std::fs::read_to_string(repo_root().join(FORMULA)).unwrap();
    assert!(formula.contains("shell_output(\"#{bin}/docker-credential-ecr-role version\")"));
    assert!(
        formula.contains("assert_equal \"credentials not found in native keychain\\n\", output")
    );
    let home = TempDir::new("formula");
    let helper = |arg: &str, stdin: &str| {
        let mut cmd = std::process::Command::new(HELPER);
        cmd.arg(arg).env_clear().env("HOME", home.path());
        run_with_stdin(&mut cmd, stdin.as_bytes())
    };
    let out = helper("version", "");
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));
    let out = helper("get", "index.docker.io\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "credentials not found in native keychain\n");
}
