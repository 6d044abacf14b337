//! Switch role as people configure it: MFA (asked on a real pseudo-terminal),
//! registries mapped to different profiles or straight to roles, custom registry
//! names, credential_process and SSO source profiles — against moto through the proxy.

mod support;

use std::process::Command;

use support::*;

const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/user-for-switch";
const OTHER_REGION_REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// Runs the helper on a fresh pseudo-terminal (util-linux `script`), typing `typed`
/// into it; the server URL still comes on stdin, as from docker.
fn run_on_terminal(
    sandbox: &Sandbox,
    args: &str,
    server_url: Option<&str>,
    typed: &str,
) -> std::process::Output {
    let mut line = format!("{HELPER} {args}");
    if let Some(url) = server_url {
        let file = sandbox.home.path().join("server-url");
        std::fs::write(&file, url).unwrap();
        line.push_str(&format!(" < {}", file.display()));
    }
    let mut cmd = Command::new(require_program("script"));
    cmd.args(["-qec", &line, "/dev/null"])
        .env_clear()
        .envs(sandbox.env());
    run_with_stdin(&mut cmd, typed.as_bytes())
}

fn mfa_sandbox(proxy: &Proxy) -> Sandbox {
    let sandbox = Sandbox::new(&proxy.endpoint);
    sandbox.add_profiles(&format!(
            "\n[profile mfa]\nrole_arn = {ROLE_ARN}\nsource_profile = default\nmfa_serial = {MFA_SERIAL}\n"
        ),
    );
    sandbox.write_settings(serde_json::json!({"default_profile": "mfa"}));
    sandbox
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs util-linux script and setsid, Linux only"
)]
#[test]
fn mfa_is_asked_once_on_the_terminal_then_the_role_session_is_kept() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = mfa_sandbox(&proxy);

    let out = run_on_terminal(&sandbox, "get", Some(REGISTRY), "123456\n");
    let said = stdout(&out);
    assert!(out.status.success(), "{said} {}", stderr(&out));
    assert!(
        said.contains(&format!("MFA code for {MFA_SERIAL} (profile mfa): ")),
        "{said}"
    );
    assert!(
        said.contains(&format!("\"Secret\":\"{PASSWORD}\"")),
        "{said}"
    );
    let assume = proxy.bodies("sts:AssumeRole");
    assert_eq!(assume.len(), 1);
    assert!(assume[0].contains("TokenCode=123456"), "{}", assume[0]);
    assert!(
        assume[0]
            .contains("SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fuser-for-switch"),
        "{}",
        assume[0]
    );

    // A new process, another registry (so the token cache can't answer), no terminal:
    // the kept role session serves; no code is asked, no AssumeRole is made.
    let out = sandbox.run_without_terminal(&["get"], OTHER_REGION_REGISTRY, &[]);
    assert_credentials(&out, OTHER_REGION_REGISTRY, PASSWORD);
    assert_eq!(proxy.count("sts:AssumeRole"), 1);
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 2);
    let kept = files_named(&sandbox.cache_dir(), "role-");
    assert_eq!(kept.len(), 1, "one kept role session");
    assert_eq!(mode(&kept[0]), 0o600);
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs util-linux script and setsid, Linux only"
)]
#[test]
fn mfa_without_a_terminal_fails_at_once_and_login_signs_in() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = mfa_sandbox(&proxy);
    let out = sandbox.run_without_terminal(&["get"], REGISTRY, &[]);
    assert_eq!(out.status.code(), Some(1));
    let message = stdout(&out);
    assert!(
        message.contains(&format!(
            "set `mfa_process` in profile mfa, or ECR_ROLE_MFA_PROMPT=zenity (kdialog, osascript), or run `docker-credential-ecr-role login --profile mfa` in a terminal: the profile needs an MFA code ({MFA_SERIAL}) and there is no terminal to ask on"
        )),
        "{message}"
    );
    assert_eq!(proxy.count("sts:AssumeRole"), 0);

    let out = run_on_terminal(&sandbox, "login --profile mfa", None, "654321\n");
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("signed in: profile mfa"),
        "{}",
        stdout(&out)
    );
    let out = sandbox.run_without_terminal(&["get"], REGISTRY, &[]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(proxy.count("sts:AssumeRole"), 1);

    // A code that is not 6 digits is refused before any call.
    let fresh = mfa_sandbox(&proxy);
    let out = run_on_terminal(&fresh, "get", Some(REGISTRY), "12ab\n");
    assert!(
        stdout(&out).contains("the MFA code for"),
        "{}",
        stdout(&out)
    );
    assert_eq!(proxy.count("sts:AssumeRole"), 1);
}

#[test]
fn registries_mapped_to_different_identities_ignore_aws_profile() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    let pull_role = "arn:aws:iam::123456789012:role/ECRPullRole";
    sandbox.add_profiles(&format!(
            "\n[profile puller]\nrole_arn = {pull_role}\nsource_profile = default\nrole_session_name = puller-session\n"
        ),
    );
    let third = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    sandbox.write_settings(serde_json::json!({"registries": {
        REGISTRY: {"profile": ROLE_PROFILE},
        OTHER_REGION_REGISTRY: {"profile": "puller"},
        third: {"role_arn": ROLE_ARN, "source_profile": "default"},
    }}));
    // AWS_PROFILE names a profile whose role the user may not assume: if it were used, gets would fail.
    let env = [("AWS_PROFILE", "OtherRoleProfile")];
    for registry in [REGISTRY, OTHER_REGION_REGISTRY, third] {
        assert_credentials(&sandbox.get(registry, &env), registry, PASSWORD);
    }
    // Each registry went through its own role: the AssumeRole calls, in order.
    let roles: Vec<String> = proxy
        .bodies("sts:AssumeRole")
        .iter()
        .map(|b| {
            b.split('&')
                .find_map(|kv| kv.strip_prefix("RoleArn="))
                .unwrap_or("")
                .replace("%3A", ":")
                .replace("%2F", "/")
        })
        .collect();
    assert_eq!(roles, [ROLE_ARN, pull_role, ROLE_ARN]);
    assert!(proxy.bodies("sts:AssumeRole")[1].contains("RoleSessionName=puller-session"));
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        3,
        "one token per registry"
    );
}

#[test]
fn a_custom_registry_name_stands_for_an_ecr_registry() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    let out = sandbox.run(
        &[
            "setup",
            "--registry",
            "registry.corp.test:8443",
            "--registry-id",
            ACCOUNT,
            "--region",
            "ap-northeast-1",
            "--profile",
            ROLE_PROFILE,
        ],
        "",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sandbox.run(&["registries"], "", &[]);
    assert_eq!(
        stdout(&out),
        "registry.corp.test (stands for ECR registry 123456789012 in ap-northeast-1): profile ECRLoginAndPushRoleProfile\n"
    );
    let out = sandbox.get("https://registry.corp.test:8443/v2/", &[]);
    assert_credentials(&out, "https://registry.corp.test:8443/v2/", PASSWORD);
    let out = sandbox.run(&["list"], "", &[]);
    assert_eq!(stdout(&out), "{\"https://registry.corp.test\":\"AWS\"}\n");
    // Unmapped names are still not ours.
    let out = sandbox.get("registry.other.test", &[]);
    assert_eq!(stdout(&out), "credentials not found in native keychain\n");

    // Removing the mapping takes the name and its credHelpers entry away again.
    let out = sandbox.run(&["registries", "--remove", "registry.corp.test"], "", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("~/.docker/config.json: removed registry.corp.test:8443"),
        "{}",
        stdout(&out)
    );
    let docker: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.home.path().join(".docker/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(docker["credHelpers"], serde_json::json!({}));
    let out = sandbox.get("registry.corp.test:8443", &[]);
    assert_eq!(stdout(&out), "credentials not found in native keychain\n");
}

#[test]
fn credential_process_sources_work_and_an_expired_sso_session_says_what_to_run() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    let process = sandbox.home.path().join("creds.sh");
    std::fs::write(
        &process,
        format!(
            "#!/bin/sh\nprintf '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}'\n",
            moto().access_key_id,
            moto().secret_access_key
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&process, std::fs::Permissions::from_mode(0o700)).unwrap();
    sandbox.add_profiles(&format!(
            "\n[profile proc]\ncredential_process = {}\n\n[profile via-proc]\nrole_arn = {ROLE_ARN}\nsource_profile = proc\n\
             \n[profile corp-sso]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Dev\n\
             \n[profile via-sso]\nrole_arn = {ROLE_ARN}\nsource_profile = corp-sso\n",
            process.display()
        ),
    );
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_PROFILE", "via-proc")]);
    assert_credentials(&out, REGISTRY, PASSWORD);

    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_PROFILE", "via-sso")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("run `aws sso login --profile corp-sso`"),
        "{}",
        stdout(&out)
    );
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs util-linux script and setsid, Linux only"
)]
#[test]
fn doctor_and_get_use_the_kept_mfa_session_and_ask_nothing() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = mfa_sandbox(&proxy);
    let out = run_on_terminal(&sandbox, "login --profile mfa", None, "654321\n");
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(proxy.count("sts:AssumeRole"), 1);

    // No terminal at all: doctor runs the very chain get runs, so the kept session serves.
    let out = sandbox.run_without_terminal(&["doctor", REGISTRY], "", &[]);
    let report = stdout(&out);
    assert!(!report.contains("MFA code"), "{report}");
    assert!(
        report.contains(&format!(
            "ok    assume role         {ROLE_ARN} (kept MFA session)"
        )),
        "{report}"
    );
    assert!(
        report.contains("ok    ECR token           ecr:GetAuthorizationToken allowed"),
        "{report}"
    );
    assert_eq!(proxy.count("sts:AssumeRole"), 1, "no new AssumeRole");
}

#[test]
fn two_access_keys_in_one_home_get_their_own_tokens() {
    let moto = OwnedMoto::start(&[]);
    let proxy = Proxy::start(&moto.moto.endpoint);
    let sandbox = Sandbox::with_keys(&proxy.endpoint, &moto.moto);
    sandbox.write_settings(serde_json::json!({"default_profile": ROLE_PROFILE}));
    let credentials = sandbox.home.path().join(".aws/credentials");
    let use_key = |(id, secret): (&str, &str)| {
        std::fs::write(&credentials, credentials_file(id, secret)).unwrap();
    };
    let first = (
        moto.moto.access_key_id.as_str(),
        moto.moto.secret_access_key.as_str(),
    );
    let second = (
        moto.moto.second_key.0.as_str(),
        moto.moto.second_key.1.as_str(),
    );

    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(proxy.count("sts:AssumeRole"), 1);
    use_key(second);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(
        proxy.count("sts:AssumeRole"),
        2,
        "a token fetched with one key is not served to another"
    );
    use_key(first);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(
        proxy.count("sts:AssumeRole"),
        2,
        "each key keeps its own token"
    );

    // The same for keys in the environment, with no profile switching role.
    let env_sandbox = Sandbox::new(&proxy.endpoint);
    std::fs::write(env_sandbox.home.path().join(".aws/credentials"), "").unwrap();
    std::fs::write(env_sandbox.home.path().join(".aws/config"), "").unwrap();
    let calls = proxy.count("ecr:GetAuthorizationToken");
    for (id, secret) in [first, second] {
        let _ = env_sandbox.get(
            REGISTRY,
            &[("AWS_ACCESS_KEY_ID", id), ("AWS_SECRET_ACCESS_KEY", secret)],
        );
    }
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        calls + 2,
        "each environment key asks for itself"
    );
}

#[test]
fn an_endpoint_change_is_a_cache_miss() {
    let a = Proxy::start(&moto().endpoint);
    let b = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&a.endpoint);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(a.count("ecr:GetAuthorizationToken"), 1);

    let out = sandbox.get(REGISTRY, &[("AWS_ENDPOINT_URL", &b.endpoint)]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(
        b.count("ecr:GetAuthorizationToken"),
        1,
        "a token from endpoint A is not served for endpoint B"
    );
    let out = sandbox.get(REGISTRY, &[("AWS_ENDPOINT_URL_ECR", &b.endpoint)]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(
        b.count("ecr:GetAuthorizationToken"),
        2,
        "nor for a per-service override"
    );

    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(
        a.count("ecr:GetAuthorizationToken"),
        1,
        "A's token is still A's"
    );
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs setpriv (util-linux) and root, Linux only"
)]
#[test]
fn with_home_unset_nothing_in_the_working_directory_is_read() {
    // A checked-out repository as the working directory, planting AWS files where a
    // relative reading would find them: `./~/.aws/config` (the SDK's with HOME unset)
    // and `./.aws/config`. Their credential_process would leave a mark; their
    // endpoint_url points at a proxy that records anything sent to it.
    let attacker = Proxy::start(&moto().endpoint);
    let repo = TempDir::new("checkout");
    let marker = repo.path().join("credential-process-ran");
    let planted = format!(
        "[default]\nregion = ap-northeast-1\nendpoint_url = {}\ncredential_process = sh -c 'touch {}; printf %s \"{{\\\"Version\\\":1,\\\"AccessKeyId\\\":\\\"AKIAPLANTED000000001\\\",\\\"SecretAccessKey\\\":\\\"x\\\"}}\"'\n",
        attacker.endpoint,
        marker.display()
    );
    for dir in ["~/.aws", ".aws"] {
        std::fs::create_dir_all(repo.path().join(dir)).unwrap();
        std::fs::write(repo.path().join(dir).join("config"), &planted).unwrap();
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(repo.path(), std::fs::Permissions::from_mode(0o777)).unwrap();

    // uid 4242 has no passwd entry: no home at all. uid 65534 (nobody) has one.
    for (uid, says) in [(4242, "no home directory"), (65534, "no AWS credentials")] {
        let mut cmd = as_user(uid, HELPER);
        cmd.arg("get")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("ECR_ROLE_DISABLE_CACHE", "1")
            .current_dir(repo.path());
        let out = run_with_stdin(&mut cmd, REGISTRY.as_bytes());
        assert_eq!(out.status.code(), Some(1), "uid {uid}: {}", stdout(&out));
        assert!(stdout(&out).contains(says), "uid {uid}: {}", stdout(&out));
        assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
        assert!(
            !marker.exists(),
            "uid {uid}: a planted credential_process ran"
        );
        assert_eq!(
            attacker.total(),
            0,
            "uid {uid}: the planted endpoint was called"
        );
    }
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs util-linux script and setsid, Linux only"
)]
#[test]
fn a_kept_role_session_with_an_absurd_expiry_is_dropped_not_a_crash() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = mfa_sandbox(&proxy);
    let out = run_on_terminal(&sandbox, "login --profile mfa", None, "654321\n");
    assert!(out.status.success(), "{}", stdout(&out));
    let kept = files_named(&sandbox.cache_dir(), "role-");
    assert_eq!(kept.len(), 1);
    // Same file, same key, 0600: only the expiry is absurd.
    let mut entry: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&kept[0]).unwrap()).unwrap();
    entry["expires_at"] = serde_json::json!(u64::MAX);
    std::fs::write(&kept[0], entry.to_string()).unwrap();

    for args in [&["get"][..], &["login", "--profile", "mfa"][..]] {
        let out = sandbox.run_without_terminal(args, REGISTRY, &[]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} must fail cleanly, not abort: {}",
            stdout(&out)
        );
        let said = format!("{}{}", stdout(&out), stderr(&out));
        assert!(said.contains("needs an MFA code"), "{said}");
    }
    assert!(!kept[0].exists(), "the absurd session is removed");
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs util-linux script, Linux only"
)]
#[test]
fn a_wrong_mfa_code_is_reported_as_refused() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = mfa_sandbox(&proxy);
    proxy.inject(
        "sts:AssumeRole",
        1,
        support::proxy::Fault::Refuse {
            status: 403,
            code: "AccessDenied".into(),
            message: "MultiFactorAuthentication failed with invalid MFA one time pass code. "
                .into(),
        },
    );
    let out = run_on_terminal(&sandbox, "get", Some(REGISTRY), "000000\n");
    let said = stdout(&out);
    assert!(
        said.contains(&format!(
            "the MFA code for {MFA_SERIAL} was refused (AccessDenied)"
        )),
        "{said}"
    );
    assert!(
        !said.contains("allow sts:AssumeRole"),
        "not an IAM policy problem: {said}"
    );
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs util-linux script, Linux only"
)]
#[test]
fn the_mfa_prompt_waits_a_bounded_time() {
    // The bound is injected (ECR_ROLE_MFA_TIMEOUT, 3 s): the documented default of 60 s
    // is the unit test `the_code_is_waited_for_60_s_unless_1_to_300_s_are_set`.
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = mfa_sandbox(&proxy);
    let file = sandbox.home.path().join("server-url");
    std::fs::write(&file, REGISTRY).unwrap();
    // A terminal on which nobody types: script's stdin stays open and silent.
    let mut child = Command::new(require_program("script"))
        .args([
            "-qec",
            &format!("{HELPER} get < {}", file.display()),
            "/dev/null",
        ])
        .env_clear()
        .envs(sandbox.env())
        .env("ECR_ROLE_MFA_TIMEOUT", "3")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let stdin = child.stdin.take();
    // Hang guard: a prompt that waits forever is killed at 30 s (and the test fails).
    let pid = child.id() as i32;
    let (done, guard) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if guard
            .recv_timeout(std::time::Duration::from_secs(30))
            .is_err()
        {
            // SAFETY: signalling the child this test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    drop(stdin);
    let took = started.elapsed();
    let said = stdout(&out);
    assert!(
        said.contains(&format!(
            "no MFA code for {MFA_SERIAL} was typed within 3 s"
        )),
        "{said}"
    );
    assert!(
        took >= std::time::Duration::from_secs(3) && took <= std::time::Duration::from_secs(5),
        "the prompt's bound was 3 s: took {took:?}"
    );
    assert_eq!(proxy.count("sts:AssumeRole"), 0);
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs util-linux script and flock(1), Linux only"
)]
#[test]
fn a_get_that_needs_a_code_waits_its_turn_at_the_terminal() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = mfa_sandbox(&proxy);
    // Another process is at the terminal: it holds the prompt's turn (a real flock(1)).
    std::fs::create_dir_all(sandbox.cache_dir()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(sandbox.cache_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let turn = sandbox.cache_dir().join("lock-mfa-prompt");
    let holder = LockHolder::hold(&turn);

    // A get on a terminal, its screen written to a file as it happens (script -f), its
    // debug log saying when it starts to wait for the turn.
    let url = sandbox.home.path().join("server-url");
    std::fs::write(&url, REGISTRY).unwrap();
    let screen = sandbox.home.path().join("screen.txt");
    let log = sandbox.home.path().join("helper.log");
    let mut env = sandbox.env();
    env.push(("ECR_ROLE_LOG".into(), log.clone().into()));
    let mut get = Command::new(require_program("script"))
        .args(["-qfec", &format!("{HELPER} get < {}", url.display())])
        .arg(&screen)
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let shown = || std::fs::read_to_string(&screen).unwrap_or_default();
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    // It waits for the other process's turn, and meanwhile shows no prompt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !logged().contains("waiting for its turn") {
        assert!(
            std::time::Instant::now() < deadline,
            "never waited for the turn; screen: {}",
            shown()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        !shown().contains("MFA code for"),
        "prompted out of turn: {}",
        shown()
    );
    // The other process is done: now the get asks, and takes the code.
    drop(holder);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !shown().contains("MFA code for") {
        assert!(
            std::time::Instant::now() < deadline,
            "never prompted: {}",
            shown()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    {
        use std::io::Write;
        let mut stdin = get.stdin.take().unwrap();
        stdin.write_all(b"123456\n").unwrap();
        let status = get.wait().unwrap();
        assert!(status.success(), "{}", shown());
    }
    assert!(
        shown().contains(&format!("\"Secret\":\"{PASSWORD}\"")),
        "{}",
        shown()
    );
    assert_eq!(proxy.count("sts:AssumeRole"), 1);
}
