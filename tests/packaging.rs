//! Packaging: the Homebrew formula is valid Ruby, passes the audit rules that need no
//! Homebrew, names Cargo.toml's version; bump.sh points it at a release; the binary
//! generates its man page and completions. The formula's `install` and `test do`
//! blocks themselves run in `install/test.sh` (through install/homebrew/run-formula.rb,
//! with Homebrew's `std_cargo_args`), as do the release archive and `cargo package`.

mod support;

use std::process::Command;

use support::*;

const FORMULA: &str = "install/homebrew/Formula/docker-credential-ecr-role.rb";

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs Ruby 3 (Debian's ruby) for the Homebrew formula runner; macOS ships Ruby 2.6, Linux only"
)]
#[test]
fn the_homebrew_formula_is_valid_ruby_and_passes_the_audit() {
    let ruby = require_program("ruby");
    let out = Command::new(&ruby)
        .arg("-c")
        .arg(repo_root().join(FORMULA))
        .output()
        .expect("run ruby -c");
    assert!(
        out.status.success(),
        "ruby -c {FORMULA}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&ruby)
        .arg(repo_root().join("install/homebrew/run-formula.rb"))
        .arg("--audit-only")
        .arg(repo_root().join(FORMULA))
        .output()
        .expect("run the formula audit");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_homebrew_formula_has_the_crates_version() {
    let formula = std::fs::read_to_string(repo_root().join(FORMULA)).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        formula.contains(&format!("/v{version}.tar.gz\"")),
        "formula url is not of v{version}"
    );
    assert!(
        !formula.contains("\n  version \""),
        "the url carries the version"
    );
    assert!(formula.contains("class DockerCredentialEcrRole < Formula"));
    // One setting names the repository: Cargo.toml's, which bump.sh and the release
    // workflow read.
    let repository = env!("CARGO_PKG_REPOSITORY");
    for line in ["  url \"", "  homepage \"", "  head \""] {
        let value = formula
            .lines()
            .find(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("no {line}"));
        assert!(value.contains(repository), "{value} is not of {repository}");
    }
    assert!(
        !formula.contains("def caveats"),
        "usage steps belong in the docs, not caveats"
    );
}

#[test]
fn bump_points_the_formula_at_a_release() {
    let tree = TempDir::new("bump");
    let homebrew = tree.path().join("install/homebrew");
    std::fs::create_dir_all(homebrew.join("Formula")).unwrap();
    std::fs::copy(repo_root().join(FORMULA), tree.path().join(FORMULA)).unwrap();
    std::fs::copy(
        repo_root().join("install/homebrew/bump.sh"),
        homebrew.join("bump.sh"),
    )
    .unwrap();
    std::fs::copy(
        repo_root().join("Cargo.toml"),
        tree.path().join("Cargo.toml"),
    )
    .unwrap();
    let tarball = tree.path().join("source.tar.gz");
    std::fs::write(&tarball, b"release source").unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let bump = |version: &str| {
        Command::new("bash")
            .arg(homebrew.join("bump.sh"))
            .arg(version)
            .arg(&tarball)
            .output()
            .unwrap()
    };
    let bumped = || {
        let out = bump(version);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(tree.path().join(FORMULA)).unwrap()
    };
    let formula = bumped();
    assert!(
        formula.contains(&format!("sha256 \"{}\"", sha256_of(&tarball))),
        "{formula}"
    );
    // A renamed repository (Cargo.toml's `repository`) moves the url with it.
    let cargo = std::fs::read_to_string(tree.path().join("Cargo.toml")).unwrap();
    std::fs::write(
        tree.path().join("Cargo.toml"),
        cargo.replace(
            env!("CARGO_PKG_REPOSITORY"),
            "https://github.com/someone/renamed",
        ),
    )
    .unwrap();
    let formula = bumped();
    assert!(
        formula.contains(&format!(
            "url \"https://github.com/someone/renamed/archive/refs/tags/v{version}.tar.gz\""
        )),
        "{formula}"
    );
    assert!(
        formula.contains("head \"https://github.com/someone/renamed.git\""),
        "{formula}"
    );
    assert!(
        !bump("9.9.9").status.success(),
        "a version other than Cargo.toml's is refused"
    );
}

fn sha256_of(path: &std::path::Path) -> String {
    let out = Command::new(require_program("sha256sum"))
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

#[test]
fn the_binary_writes_its_man_page_and_completions() {
    let run = |args: &[&str]| {
        let out = Command::new(HELPER).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let page = run(&["man"]);
    assert!(page.contains(".TH docker-credential-ecr-role 1"), "{page}");
    assert!(page.contains("doctor"));
    assert!(run(&["completions", "bash"]).contains("complete -F _docker__credential__ecr__role"));
    assert!(run(&["completions", "zsh"]).starts_with("#compdef docker-credential-ecr-role"));
    assert!(run(&["completions", "fish"]).contains("complete -c docker-credential-ecr-role"));
    let version = run(&["--version"]);
    assert!(version.starts_with(&format!(
        "docker-credential-ecr-role {}",
        env!("CARGO_PKG_VERSION")
    )));
}

#[test]
fn the_formulas_test_block_holds() {
    // test do: `version` prints the version; `get` of a foreign host prints the
    // not-found text and exits 1.
    let home = TempDir::new("formula");
    let helper = |arg: &str, stdin: &str| {
        let mut cmd = Command::new(HELPER);
        cmd.arg(arg).env_clear().env("HOME", home.path());
        run_with_stdin(&mut cmd, stdin.as_bytes())
    };
    let out = helper("version", "");
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));
    let out = helper("get", "index.docker.io\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "credentials not found in native keychain\n");
}
