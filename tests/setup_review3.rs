//! `setup` and `registries --remove` against the third security review (issue 20,
//! items 7, 8 and 9): one named regression test per finding, each running the real
//! binary in a sandbox HOME. No AWS endpoint is needed: neither command calls AWS.
//!
//! - 7: `setup` decides from the profile as the AWS SDK reads it (sections merged,
//!   only column-0 `[` lines are headers), and refuses a profile split across sections.
//! - 8: `setup --dry-run` shows no value it does not write, and docker's
//!   `config.json` is edited in place, keeping its layout byte for byte.
//! - 9: concurrent `setup` and `registries --remove` runs lose no update.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Barrier;

use support::*;

/// No AWS call is made by `setup` or `registries`: an endpoint nobody listens on.
const NOWHERE: &str = "http://127.0.0.1:9";

/// A sandbox HOME with the user story's `~/.aws` files and keys nobody can use.
fn sandbox() -> Sandbox {
    let keys = Moto {
        endpoint: NOWHERE.to_string(),
        access_key_id: "AKIAFAKEFAKEFAKEFAKE".to_string(),
        secret_access_key: "fake-secret-key-for-setup-tests".to_string(),
        second_key: (String::new(), String::new()),
    };
    Sandbox::with_keys(NOWHERE, &keys)
}

fn aws_config(sandbox: &Sandbox) -> PathBuf {
    sandbox.home.path().join(".aws/config")
}

fn docker_config(sandbox: &Sandbox) -> PathBuf {
    sandbox.home.path().join(".docker/config.json")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `setup` with these arguments (no stdin).
fn setup(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut all = vec!["setup"];
    all.extend_from_slice(args);
    sandbox.run(&all, "", &[])
}

fn transcript(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

/// The registry of a test account (`N` picks it), in Tokyo.
fn registry(n: usize) -> String {
    format!(
        "{:012}.dkr.ecr.ap-northeast-1.amazonaws.com",
        100_000_000_000 + n
    )
}

const PUSH_ONLY: &str = "arn:aws:iam::123456789012:role/ECRPushOnly";
const ADMIN: &str = "arn:aws:iam::123456789012:role/Admin";

// Item 7: the role setup confirms is the role the SDK uses.

#[test]
fn setup_refuses_a_profile_split_across_two_sections() {
    let sandbox = sandbox();
    // The SDK merges the two sections (later keys win): `push` assumes Admin.
    let text = format!(
        "[default]\nregion = ap-northeast-1\n\n[profile push]\nrole_arn = {PUSH_ONLY}\nsource_profile = default\n\n\
         [profile dev]\nregion = us-east-1\n\n[profile push]\nrole_arn = {ADMIN}\n"
    );
    write(&aws_config(&sandbox), &text);
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec![
            "--registry",
            REGISTRY,
            "--profile",
            "push",
            "--role-arn",
            PUSH_ONLY,
        ];
        args.extend_from_slice(extra);
        let out = setup(&sandbox, &args);
        assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
        let said = stderr(&out);
        assert_eq!(said.lines().count(), 1, "one line: {said}");
        // What to do first, then the profile and the file.
        assert!(
            said.starts_with("docker-credential-ecr-role: merge the sections of profile push"),
            "{said}"
        );
        assert!(said.contains("~/.aws/config"), "{said}");
        assert!(!stdout(&out).contains("already set up"), "{}", stdout(&out));
    }
    assert_eq!(read(&aws_config(&sandbox)), text, "nothing was changed");
    assert!(!docker_config(&sandbox).exists(), "nothing was wired");
}

#[test]
fn setup_never_takes_an_indented_line_for_a_section_header() {
    let sandbox = sandbox();
    // To the SDK, the indented line continues dev's `region`: there is no profile `push`.
    let text = "[default]\nregion = ap-northeast-1\n\n[profile dev]\nregion = us-east-1\n  [profile push]\n";
    write(&aws_config(&sandbox), text);
    let args = [
        "--registry",
        REGISTRY,
        "--profile",
        "push",
        "--role-arn",
        PUSH_ONLY,
    ];
    let out = setup(&sandbox, &args);
    assert!(out.status.success(), "{}", transcript(&out));
    assert_eq!(
        read(&aws_config(&sandbox)),
        format!("{text}\n[profile push]\nrole_arn = {PUSH_ONLY}\nsource_profile = default\n"),
        "a new section of its own; dev is unchanged"
    );
    // And that is what the profile now is: a second run finds it set up.
    let again = setup(&sandbox, &args);
    assert!(again.status.success(), "{}", transcript(&again));
    assert!(
        stdout(&again).contains("~/.aws/config: already set up"),
        "{}",
        transcript(&again)
    );
}

#[test]
fn setup_refuses_a_role_that_the_credentials_file_overrides() {
    let sandbox = sandbox();
    let credentials = sandbox.home.path().join(".aws/credentials");
    let mut creds = read(&credentials);
    // The SDK reads the credentials file's keys over the config file's.
    creds.push_str(&format!("\n[push]\nrole_arn = {ADMIN}\n"));
    write(&credentials, &creds);
    let before = read(&aws_config(&sandbox));
    let out = setup(
        &sandbox,
        &[
            "--registry",
            REGISTRY,
            "--profile",
            "push",
            "--role-arn",
            PUSH_ONLY,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let said = stderr(&out);
    assert!(said.contains("~/.aws/credentials"), "{said}");
    assert!(said.contains(ADMIN), "{said}");
    assert!(!said.contains("fake-secret-key"), "{said}");
    assert_eq!(read(&aws_config(&sandbox)), before);
}

// Item 8: --dry-run shows no value it does not write; config.json is edited in place.

#[test]
fn setup_dry_run_shows_no_value_it_does_not_write() {
    let bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWJlYXJlcg";
    let proxy_password = "pr0xy-Passw0rd-9f2c";
    let process_token = "tok-7d1e5c0a2b";
    let laid_out = format!(
        "{{\n\t\"HttpHeaders\": {{\"Authorization\": \"{bearer}\"}},\n\t\"credHelpers\": {{\n\t\t\"gcr.io\": \"gcloud\"\n\t}},\n\
         \t\"proxies\": {{\"default\": {{\"httpsProxy\": \"http://proxyuser:{proxy_password}@proxy.example:3128\"}}}}\n}}\n"
    );
    let one_line = format!(
        "{{\"HttpHeaders\":{{\"Authorization\":\"{bearer}\"}},\"proxies\":{{\"default\":{{\"httpProxy\":\"http://u:{proxy_password}@p:3128\"}}}}}}"
    );
    for docker in [laid_out, one_line] {
        let sandbox = sandbox();
        write(&docker_config(&sandbox), &docker);
        write(
            &aws_config(&sandbox),
            &format!(
                "[default]\nregion = ap-northeast-1\n\n[profile dev]\ncredential_process = /usr/local/bin/fetch --token {process_token}\n"
            ),
        );
        let out = setup(
            &sandbox,
            &[
                "--registry",
                REGISTRY,
                "--profile",
                "push",
                "--role-arn",
                PUSH_ONLY,
                "--dry-run",
            ],
        );
        assert!(out.status.success(), "{}", transcript(&out));
        let said = stdout(&out);
        for secret in [
            "eyJhbGciOiJIUzI1NiJ9",
            proxy_password,
            process_token,
            "gcloud",
        ] {
            assert!(!said.contains(secret), "{secret} shown:\n{said}");
        }
        // What setup writes is shown, with the keys around it (in the file's own spacing).
        let compact = said.replace("\": ", "\":");
        for shown in [
            format!("+role_arn = {PUSH_ONLY}"),
            "+source_profile = default".to_string(),
            format!("\"{REGISTRY}\":\"ecr-role\""),
            "\"profile\":\"push\"".to_string(),
            "credential_process = ****".to_string(),
        ] {
            assert!(compact.contains(&shown), "{shown} not shown:\n{said}");
        }
        assert!(said.contains("\"Authorization\":"), "{said}");
    }
}

#[test]
fn setup_edits_docker_config_in_place_keeping_its_layout() {
    // Four-space indents, escapes serde would rewrite, docker's key order and no final newline.
    let four = "{\n    \"auths\": {\n        \"https://index.docker.io/v1/\": {}\n    },\n    \"credHelpers\": {\n        \"gcr.io\": \"gcloud\"\n    },\n    \"psFormat\": \"table {{.ID}}\\t{{.Names}}\",\n    \"detachKeys\": \"ctrl-\\u0065,e\"\n}";
    let four_after = four.replace(
        "\"gcr.io\": \"gcloud\"\n",
        &format!("\"gcr.io\": \"gcloud\",\n        \"{REGISTRY}\": \"ecr-role\"\n"),
    );
    // Two-space indents, no credHelpers yet.
    let two = "{\n  \"auths\": {},\n  \"currentContext\": \"desktop-linux\"\n}\n";
    let two_after = format!(
        "{{\n  \"auths\": {{}},\n  \"currentContext\": \"desktop-linux\",\n  \"credHelpers\": {{\n    \"{REGISTRY}\": \"ecr-role\"\n  }}\n}}\n"
    );
    // An empty credHelpers on one line, in a tab-indented file.
    let tabs = "{\n\t\"credHelpers\": {},\n\t\"auths\": {}\n}\n";
    let tabs_after = format!(
        "{{\n\t\"credHelpers\": {{\n\t\t\"{REGISTRY}\": \"ecr-role\"\n\t}},\n\t\"auths\": {{}}\n}}\n"
    );
    for (before, after) in [
        (four.to_string(), four_after),
        (two.to_string(), two_after),
        (tabs.to_string(), tabs_after),
    ] {
        let sandbox = sandbox();
        let path = docker_config(&sandbox);
        write(&path, &before);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let args = ["--registry", REGISTRY, "--profile", ROLE_PROFILE];

        let dry = setup(&sandbox, &[&args[..], &["--dry-run"]].concat());
        assert!(dry.status.success(), "{}", transcript(&dry));
        let changed: Vec<String> = stdout(&dry)
            .lines()
            .skip_while(|l| !l.starts_with("--- ~/.docker/config.json"))
            .skip(2)
            .filter(|l| l.starts_with(['+', '-']))
            .map(str::to_string)
            .collect();
        assert!(
            changed.len() <= 6,
            "the diff is the change, not the file:\n{}",
            stdout(&dry)
        );

        let out = setup(&sandbox, &args);
        assert!(out.status.success(), "{}", transcript(&out));
        assert_eq!(read(&path), after, "only the credHelpers entry changed");
        assert_eq!(
            read(&PathBuf::from(format!("{}.bak", path.display()))),
            before
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "the file keeps its mode");
    }
}

// Item 9: concurrent runs lose no update.

/// Runs every command line at once (a barrier lines the threads up), each in the sandbox.
fn all_at_once(sandbox: &Sandbox, runs: &[Vec<String>]) -> Vec<Output> {
    let barrier = Barrier::new(runs.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter()
            .map(|args| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    barrier.wait();
                    sandbox.run(&args, "", &[])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every lock file under `dir`: private to the user, never writable by others.
fn assert_private_locks(dir: &Path) -> usize {
    let mut found = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found += assert_private_locks(&path);
        } else if path.to_string_lossy().ends_with(".lock") {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
            found += 1;
        }
    }
    found
}

#[test]
fn concurrent_setups_keep_every_entry() {
    const ROUNDS: usize = 5;
    const PARALLEL: usize = 8;
    for round in 0..ROUNDS {
        let sandbox = sandbox();
        write(&docker_config(&sandbox), "{\n\t\"auths\": {}\n}\n");
        let runs: Vec<Vec<String>> = (0..PARALLEL)
            .map(|n| {
                [
                    "setup",
                    "--registry",
                    &registry(n),
                    "--profile",
                    &format!("push-{n}"),
                    "--role-arn",
                    &format!("arn:aws:iam::{:012}:role/ECRPushOnly", 100_000_000_000 + n),
                ]
                .map(str::to_string)
                .to_vec()
            })
            .collect();
        for out in all_at_once(&sandbox, &runs) {
            assert!(out.status.success(), "round {round}: {}", transcript(&out));
        }
        let helpers = json(&docker_config(&sandbox));
        let settings = json(&sandbox.settings_file());
        let profiles = read(&aws_config(&sandbox));
        for n in 0..PARALLEL {
            let host = registry(n);
            assert_eq!(
                helpers["credHelpers"][&host], "ecr-role",
                "round {round}: credHelpers lost {host}: {helpers}"
            );
            assert_eq!(
                settings["registries"][&host]["profile"],
                format!("push-{n}"),
                "round {round}: settings lost {host}: {settings}"
            );
            assert!(
                profiles.contains(&format!("[profile push-{n}]\n")),
                "round {round}: ~/.aws/config lost push-{n}:\n{profiles}"
            );
        }
        assert!(assert_private_locks(sandbox.home.path()) >= 3);
    }
}

#[test]
fn registries_remove_and_setup_at_once_keep_each_others_changes() {
    const ROUNDS: usize = 3;
    for round in 0..ROUNDS {
        let sandbox = sandbox();
        for n in 0..4 {
            let out = setup(
                &sandbox,
                &["--registry", &registry(n), "--profile", ROLE_PROFILE],
            );
            assert!(out.status.success(), "{}", transcript(&out));
        }
        // Four removals of those and four new registries, all at once.
        let runs: Vec<Vec<String>> = (0..8)
            .map(|n| {
                if n < 4 {
                    vec!["registries".into(), "--remove".into(), registry(n)]
                } else {
                    [
                        "setup",
                        "--registry",
                        &registry(n),
                        "--profile",
                        ROLE_PROFILE,
                    ]
                    .map(str::to_string)
                    .to_vec()
                }
            })
            .collect();
        for out in all_at_once(&sandbox, &runs) {
            assert!(out.status.success(), "round {round}: {}", transcript(&out));
        }
        let helpers = json(&docker_config(&sandbox));
        let settings = json(&sandbox.settings_file());
        let mut hosts: Vec<&String> = helpers["credHelpers"].as_object().unwrap().keys().collect();
        hosts.sort();
        let expected: Vec<String> = (4..8).map(registry).collect();
        assert_eq!(hosts, expected.iter().collect::<Vec<_>>(), "round {round}");
        let mut mapped: Vec<&String> = settings["registries"].as_object().unwrap().keys().collect();
        mapped.sort();
        assert_eq!(mapped, expected.iter().collect::<Vec<_>>(), "round {round}");
        assert_private_locks(sandbox.home.path());
    }
}
