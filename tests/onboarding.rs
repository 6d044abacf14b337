//! Onboarding: `setup` against golden files, `doctor` and `policy` against moto
//! with IAM enforcement on.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use support::*;

/// The files `setup` may touch: golden name → place under HOME.
const FILES: [(&str, &str); 3] = [
    ("aws-config", ".aws/config"),
    ("docker-config.json", ".docker/config.json"),
    (
        "settings.json",
        ".config/docker-credential-ecr-role/config.json",
    ),
];

/// Compares with a golden file, byte for byte (snapbox, as cargo's own credential
/// tests do; `SNAPSHOTS=overwrite` rewrites the files from what the helper does now).
fn golden(path: &Path, actual: &str) {
    snapbox::assert_data_eq!(
        actual.to_string(),
        snapbox::Data::read_from(path, None).raw()
    );
}

/// The helper's directory first on PATH, as after an install.
fn path_with_helper() -> String {
    format!(
        "{}:{}",
        Path::new(HELPER).parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn run_setup(home: &Path, args: &[String]) -> Output {
    let mut cmd = std::process::Command::new(HELPER);
    cmd.arg("setup")
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", path_with_helper());
    run_with_stdin(&mut cmd, b"")
}

/// Every file under HOME with its content, to show a command wrote nothing.
fn snapshot(home: &Path) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push((
                    path.clone(),
                    std::fs::read_to_string(&path).unwrap_or_default(),
                ));
            }
        }
    }
    let mut out = Vec::new();
    walk(home, &mut out);
    out.sort();
    out
}

fn transcript(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        stdout(out),
        stderr(out)
    )
}

fn setup_case(name: &str) {
    let case = repo_root().join("tests/golden/setup").join(name);
    let args: Vec<String> = std::fs::read_to_string(case.join("args"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let home = TempDir::new("setup-golden");
    for (golden_name, place) in FILES {
        if let Ok(text) = std::fs::read_to_string(case.join(golden_name)) {
            let target = home.path().join(place);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, text).unwrap();
        }
    }
    let before = snapshot(home.path());

    // --dry-run shows the change and writes nothing.
    let mut dry_args = args.clone();
    dry_args.push("--dry-run".into());
    let dry = run_setup(home.path(), &dry_args);
    golden(&case.join("expected/dry-run.txt"), &transcript(&dry));
    assert_eq!(
        snapshot(home.path()),
        before,
        "{name}: --dry-run wrote something"
    );

    // The real run.
    let out = run_setup(home.path(), &args);
    golden(&case.join("expected/run.txt"), &transcript(&out));
    for (golden_name, place) in FILES {
        let actual = std::fs::read_to_string(home.path().join(place))
            .unwrap_or_else(|_| "<absent>\n".to_string());
        golden(&case.join("expected").join(golden_name), &actual);
    }
    if !out.status.success() {
        assert_eq!(
            snapshot(home.path()),
            before,
            "{name}: a failed setup changed files"
        );
        return;
    }
    // Each changed file has a backup of its old content.
    for (path, old) in &before {
        let backup = PathBuf::from(format!("{}.bak", path.display()));
        let now = std::fs::read_to_string(path).unwrap();
        if &now != old {
            assert_eq!(
                &std::fs::read_to_string(&backup).unwrap(),
                old,
                "{name}: backup of {}",
                path.display()
            );
        }
    }
    // Running it again changes nothing.
    let after = snapshot(home.path());
    let again = run_setup(home.path(), &args);
    assert!(again.status.success());
    assert_eq!(
        snapshot(home.path()),
        after,
        "{name}: a second run changed files"
    );
    let said = stdout(&again);
    assert_eq!(said.matches("already set up").count(), 3, "{name}: {said}");
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "golden files name the Linux settings path ~/.config/docker-credential-ecr-role (macOS: ~/Library/Application Support), Linux only"
)]
#[test]
fn setup_on_an_empty_home() {
    setup_case("empty");
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "golden files name the Linux settings path ~/.config/docker-credential-ecr-role (macOS: ~/Library/Application Support), Linux only"
)]
#[test]
fn setup_keeps_existing_keys_and_warns_about_old_logins() {
    setup_case("existing");
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "golden files name the Linux settings path ~/.config/docker-credential-ecr-role (macOS: ~/Library/Application Support), Linux only"
)]
#[test]
fn setup_keeps_comments_and_an_existing_profile() {
    setup_case("commented");
}

#[test]
fn setup_refuses_a_malformed_docker_config_and_changes_nothing() {
    setup_case("malformed-docker");
}

#[test]
fn setup_refuses_a_malformed_aws_config_and_changes_nothing() {
    setup_case("malformed-aws");
}

#[test]
fn setup_refuses_to_change_a_profile_with_another_role() {
    let home = TempDir::new("setup-other-role");
    std::fs::create_dir_all(home.path().join(".aws")).unwrap();
    std::fs::write(home.path().join(".aws/config"), AWS_CONFIG).unwrap();
    let out = run_setup(
        home.path(),
        &[
            "--registry".into(),
            REGISTRY.into(),
            "--profile".into(),
            ROLE_PROFILE.into(),
            "--role-name".into(),
            "SomethingElse".into(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("already has role_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole")
    );
    assert_eq!(
        std::fs::read_to_string(home.path().join(".aws/config")).unwrap(),
        AWS_CONFIG
    );
}

/// A sandbox wired by `setup` itself, with the helper on PATH.
fn wired_sandbox(proxy: &Proxy) -> Sandbox {
    let sandbox = Sandbox::new(&proxy.endpoint).with_env("PATH", &path_with_helper());
    let out = sandbox.run(
        &["setup", "--registry", REGISTRY, "--profile", ROLE_PROFILE],
        "",
        &[],
    );
    assert!(out.status.success(), "setup: {}", transcript(&out));
    sandbox
}

#[test]
fn doctor_passes_on_the_role_profile() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = wired_sandbox(&proxy);
    let out = sandbox.run(&["doctor"], "", &[]);
    let report = stdout(&out);
    assert!(out.status.success(), "{}", transcript(&out));
    for line in [
        "ok    docker config",
        "ok    helper on PATH",
        "ok    profile             ECRLoginAndPushRoleProfile (chosen by the registry's mapping)",
        "ok    source credentials  found (keys of profile default (****",
        "ok    caller identity     arn:aws:iam::123456789012:user/user-for-switch",
        "ok    assume role         arn:aws:iam::123456789012:role/ECRLoginAndPushRole",
        "ok    role identity       arn:aws:sts::123456789012:assumed-role/ECRLoginAndPushRole/",
        "ok    ECR token           ecr:GetAuthorizationToken allowed, expires in 1",
        "all checks passed",
    ] {
        assert!(report.contains(line), "{line:?} missing from:\n{report}");
    }
    assert!(!report.contains(&moto().secret_access_key));
    assert!(!report.contains(&moto().access_key_id));
}

#[test]
fn doctor_fails_on_the_users_profile_at_the_token_with_the_fix() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = wired_sandbox(&proxy);
    let out = sandbox.run(
        &["doctor", REGISTRY],
        "",
        &[("ECR_ROLE_PROFILE", "default")],
    );
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert!(
        report.contains("ok    caller identity     arn:aws:iam::123456789012:user/user-for-switch"),
        "{report}"
    );
    assert!(
        report.contains("FAIL  ECR token           user-for-switch may not call ecr:GetAuthorizationToken (AccessDenied) and profile default has no role_arn: use a profile that switches into a role"),
        "{report}"
    );
    assert!(report.contains("some checks failed"));
}

#[test]
fn doctor_fails_at_the_switch_for_a_role_the_user_may_not_assume() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = wired_sandbox(&proxy);
    let out = sandbox.run(
        &["doctor", REGISTRY, "--json"],
        "",
        &[("ECR_ROLE_PROFILE", "OtherRoleProfile")],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(report["ok"], false);
    let failed: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["name"], "assume role");
    let detail = failed[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("user-for-switch may not assume role OtherRole (AccessDenied)"),
        "{detail}"
    );
    assert!(
        detail.contains("allow sts:AssumeRole on arn:aws:iam::123456789012:role/OtherRole"),
        "{detail}"
    );
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 0);
}

#[test]
fn policy_documents_give_exactly_the_access_of_the_user_story() {
    let dir = TempDir::new("policy");
    let mut files = Vec::new();
    for only in ["switch", "ecr", "trust"] {
        let mut cmd = std::process::Command::new(HELPER);
        cmd.args([
            "policy",
            "--account",
            ACCOUNT,
            "--region",
            "ap-northeast-1",
            "--repository",
            "test-repos",
            "--user",
            "user-for-switch",
            "--role-name",
            "ECRLoginAndPushRole",
            "--only",
            only,
        ]);
        let out = run_with_stdin(&mut cmd, b"");
        assert!(out.status.success(), "{}", transcript(&out));
        let doc: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("policy prints valid JSON");
        assert_eq!(doc["Version"], "2012-10-17");
        let file = dir.path().join(format!("{only}.json"));
        std::fs::write(&file, &out.stdout).unwrap();
        files.push(file.display().to_string());
    }

    // A moto of this test's own, whose IAM holds exactly these documents, enforcement on.
    let owned = OwnedMoto::start(&[
        "--switch-policy",
        &files[0],
        "--ecr-policy",
        &files[1],
        "--trust-policy",
        &files[2],
    ]);
    let sandbox = Sandbox::with_keys(&owned.moto.endpoint, &owned.moto);
    // The user can switch into the role, and the role can get a token.
    assert_credentials(
        &sandbox.get(REGISTRY, &[("ECR_ROLE_PROFILE", ROLE_PROFILE)]),
        REGISTRY,
        PASSWORD,
    );
    // The user alone cannot get a token.
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_PROFILE", "default")]);
    assert!(
        stdout(&out).contains("user-for-switch may not call ecr:GetAuthorizationToken"),
        "{}",
        stdout(&out)
    );
    // Nor switch into any other role.
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_PROFILE", "OtherRoleProfile")]);
    assert!(
        stdout(&out).contains("user-for-switch may not assume role OtherRole"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_printed_iam_commands_set_up_the_user_story_against_moto() {
    // A bare account: only user-for-switch, its keys and the repository.
    let moto = OwnedMoto::start(&["--bare"]);
    let sandbox = Sandbox::with_keys(&moto.moto.endpoint, &moto.moto);
    std::fs::write(
        sandbox.home.path().join(".aws/config"),
        "[default]\nregion = ap-northeast-1\n",
    )
    .unwrap();
    let out = sandbox.run(
        &[
            "policy",
            "--account",
            ACCOUNT,
            "--region",
            "ap-northeast-1",
            "--repository",
            "test-repos",
            "--user",
            "user-for-switch",
            "--role-name",
            "ECRLoginAndPushRole",
            "--commands",
        ],
        "",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let script = stdout(&out);
    for step in [
        "attach-user-policy",
        "attach-role-policy",
        "aws configure set role_arn",
    ] {
        assert!(script.contains(step), "the sequence has {step}:\n{script}");
    }
    let work = TempDir::new("iam-commands");
    std::fs::write(work.path().join("setup.sh"), &script).unwrap();

    // Run it as printed: the AWS CLI of the test venv, as an administrator, against moto.
    let venv_bin = venv().join("bin");
    let path = format!(
        "{}:{}",
        venv_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sh = std::process::Command::new("sh");
    sh.arg("setup.sh")
        .current_dir(work.path())
        .env_clear()
        .env("PATH", path)
        .env("HOME", sandbox.home.path())
        .env("AWS_ENDPOINT_URL", &moto.moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "admin")
        .env("AWS_SECRET_ACCESS_KEY", "admin")
        .env("AWS_DEFAULT_REGION", "us-east-1");
    let ran = run_with_stdin(&mut sh, b"");
    assert!(
        ran.status.success(),
        "the printed commands failed:\n{}",
        stderr(&ran)
    );

    // From now on IAM is enforced, as in AWS: the role works, the user alone does not.
    enforce_iam(&moto.moto.endpoint);
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_PROFILE", ROLE_PROFILE)]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_PROFILE", "default")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the user's own keys get no token"
    );
}

/// Turns moto's IAM enforcement on.
fn enforce_iam(endpoint: &str) {
    let addr = endpoint.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    use std::io::Write;
    write!(
        conn,
        "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nConnection: close\r\n\r\n0"
    )
    .unwrap();
    let answer = String::from_utf8_lossy(&read_all(conn)).into_owned();
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
        "{answer}"
    );
}

#[test]
fn doctor_on_an_unwired_machine_suggests_a_profile_that_switches_role() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    let host_with_port = format!("{REGISTRY}:5000");
    let out = sandbox.run(&["doctor", &host_with_port], "", &[]);
    let report = stdout(&out);
    assert!(
        report.starts_with(&format!(
            "docker-credential-ecr-role doctor: {host_with_port}\n"
        )),
        "the header keeps the port: {report}"
    );
    assert!(
        report.contains(&format!(
            "fix: docker-credential-ecr-role setup --registry {REGISTRY} --profile ECRLoginAndPushRoleProfile"
        )),
        "suggests the profile with role_arn, not `default`: {report}"
    );
    assert!(
        report.contains("(no mapping, default_profile or AWS_PROFILE chose one)"),
        "{report}"
    );
}

#[test]
fn doctor_without_a_registry_checks_every_wired_one_and_names_the_broken() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = wired_sandbox(&proxy);
    // A second registry wired to a role the user may not assume (left over from another job).
    let stale = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    let out = sandbox.run(
        &[
            "setup",
            "--registry",
            stale,
            "--profile",
            "OtherRoleProfile",
        ],
        "",
        &[],
    );
    assert!(out.status.success(), "setup: {}", transcript(&out));
    let out = sandbox.run(&["doctor"], "", &[]);
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains(&format!("docker-credential-ecr-role doctor: {REGISTRY}\n")),
        "{report}"
    );
    assert!(
        report.contains(&format!("docker-credential-ecr-role doctor: {stale}\n")),
        "{report}"
    );
    assert!(
        report.contains(&format!("2 registries checked; broken: {stale}")),
        "{report}"
    );
    // And a get for it says how to drop the entry.
    let out = sandbox.get(stale, &[]);
    assert!(
        stdout(&out).contains(&format!(
            "docker-credential-ecr-role registries --remove {stale}"
        )),
        "{}",
        stdout(&out)
    );
}
