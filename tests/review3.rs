//! Regression tests for the third security review (issue "Hardening, third pass"),
//! one per finding, each with real processes: a real HTTP proxy on loopback, real
//! files. Each was seen failing on the main before its fix.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use support::*;

/// An HTTP proxy on loopback that records the first line of every request it gets
/// (`GET http://…` or `CONNECT host:443`) and answers 502: whatever reaches it is
/// a request the helper sent through a proxy.
struct TrapProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl TrapProxy {
    fn start() -> TrapProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut first = String::new();
                let _ = BufReader::new(&conn).read_line(&mut first);
                record.lock().unwrap().push(first.trim().to_string());
                let _ = conn.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
            }
        });
        TrapProxy { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

#[test]
fn item_1_container_credentials_and_loopback_endpoints_never_go_through_a_proxy() {
    let proxy = Proxy::start(&open_moto().endpoint);
    let trap = TrapProxy::start();
    let sandbox = Sandbox::with_keys(&proxy.endpoint, open_moto());
    std::fs::write(
        sandbox.home.path().join(".aws/config"),
        format!(
            "{AWS_CONFIG}\n[profile C]\nrole_arn = {ROLE_ARN}\ncredential_source = EcsContainer\n"
        ),
    )
    .unwrap();
    sandbox.write_settings(serde_json::json!({"registries": {REGISTRY: {"profile": "C"}}}));
    let container = format!("{}/ecs-credentials", proxy.endpoint);
    let out = sandbox.get(
        REGISTRY,
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &container),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                "container-auth-token-1234",
            ),
            ("HTTP_PROXY", &trap.url),
            ("HTTPS_PROXY", &trap.url),
            ("NO_PROXY", "corp.example"),
        ],
    );
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(trap.seen(), Vec::<String>::new(), "the proxy saw requests");
    assert_eq!(proxy.count("ecs:credentials"), 1, "{:?}", proxy.counts());
}

#[test]
fn item_1_https_to_aws_still_follows_https_proxy() {
    let trap = TrapProxy::start();
    // No endpoint override: STS is https://sts.ap-northeast-1.amazonaws.com, which only
    // the proxy (CONNECT) is asked to reach; it refuses, and the get fails.
    let sandbox = Sandbox::mapped("http://127.0.0.1:9");
    let mut cmd = sandbox.command(&["get"]);
    cmd.env_remove("AWS_ENDPOINT_URL")
        .env("HTTPS_PROXY", &trap.url)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = run_with_stdin(&mut cmd, REGISTRY.as_bytes());
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let seen = trap.seen();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("CONNECT sts.ap-northeast-1.amazonaws.com:443")),
        "{seen:?}"
    );
}

/// A `~/.aws/config` just under the helper's 4 MiB read cap: about 40,000 profiles.
fn config_at_the_read_cap() -> String {
    let mut text = String::from(AWS_CONFIG);
    let mut n = 0;
    while text.len() < 4 * 1024 * 1024 - 200 {
        text.push_str(&format!(
            "\n[profile filler-{n:06}]\nrole_arn = arn:aws:iam::123456789012:role/Filler{n}\nsource_profile = default\n"
        ));
        n += 1;
    }
    text
}

#[test]
fn item_2_a_config_at_the_read_cap_is_parsed_in_linear_time() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    let config = config_at_the_read_cap();
    assert!(config.len() > 4_000_000 && config.len() <= 4 * 1024 * 1024);
    std::fs::write(sandbox.home.path().join(".aws/config"), config).unwrap();
    // A hang guard, not a measurement (the benchmark measures: well under 100 ms in a
    // release build): the quadratic parser took minutes on this file.
    for _ in 0..2 {
        let mut cmd = sandbox.command(&["get"]);
        let out = snapbox::cmd::Command::from_std(std::mem::replace(
            &mut cmd,
            std::process::Command::new("true"),
        ))
        .stdin(REGISTRY.as_bytes().to_vec())
        .timeout(std::time::Duration::from_secs(10))
        .output()
        .unwrap();
        assert_credentials(&out, REGISTRY, PASSWORD);
    }
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        1,
        "the second get was a hit"
    );
}

/// Endpoint text built to forge a log line, act on a terminal and reorder what a
/// person reads.
fn hostile_message() -> String {
    "denied\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[31m\u{202e}desrever\u{2066}x\r\n1700000000 pid=1 forged line".into()
}

fn assert_clean_text(text: &str, what: &str) {
    for c in text.chars() {
        assert!(
            c == '\n'
                || c == '\t'
                || !(c.is_control()
                    || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
            "{what} carries {c:?}: {text:?}"
        );
    }
}

#[test]
fn item_4_a_hostile_caller_arn_reaches_the_log_as_one_clean_line() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    proxy.inject(
        "sts:GetCallerIdentity",
        100,
        support::proxy::Fault::CallerArn(hostile_arn()),
    );
    let log = sandbox.home.path().join("debug.log");
    let out = sandbox.run(
        &["doctor", REGISTRY],
        "",
        &[("ECR_ROLE_LOG", log.to_str().unwrap())],
    );
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    assert!(shown.contains("desrever"), "{shown}");
    assert_clean_text(&shown, "doctor's output");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_clean_text(&text, "the log");
    assert!(
        !text.lines().any(|l| l.starts_with("1700000000 pid=1 ")),
        "a forged line: {text}"
    );
}

/// A caller ARN as a lying endpoint may send it: a new line that forges a log line,
/// and bidi controls (XML cannot carry escape characters; these it can).
fn hostile_arn() -> String {
    "arn:aws:iam::123456789012:user/\u{202e}desrever\u{2066}x\n1700000000 pid=1 forged line".into()
}

#[test]
fn item_5_reports_and_json_carry_no_bidi_controls_from_endpoint_text() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    proxy.inject(
        "ecr:GetAuthorizationToken",
        100,
        support::proxy::Fault::Refuse {
            status: 400,
            code: "HostileError".into(),
            message: hostile_message(),
        },
    );
    for args in [
        &["doctor", REGISTRY][..],
        &["doctor", "--json", REGISTRY][..],
    ] {
        let out = sandbox.run(args, "", &[]);
        assert!(
            stdout(&out).contains("desrever"),
            "{args:?}: {}",
            stdout(&out)
        );
        assert_clean_text(&stdout(&out), &format!("{args:?} stdout"));
        assert_clean_text(&stderr(&out), &format!("{args:?} stderr"));
    }
}
/// Runs the helper with stdout on /dev/full (every write fails with ENOSPC).
fn to_dev_full(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let mut cmd = sandbox.command(args);
    cmd.stdout(full)
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null());
    cmd.output().unwrap()
}

#[test]
fn item_14_a_failed_write_to_stdout_is_an_error_never_a_panic_nor_a_success() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    let policy = [
        "policy",
        "--account",
        "123456789012",
        "--region",
        "ap-northeast-1",
        "--repository",
        "test-repos",
        "--user",
        "user-for-switch",
        "--role-name",
        "ECRLoginAndPushRole",
    ];
    let cases: Vec<Vec<&str>> = vec![
        policy.to_vec(),
        vec!["registries"],
        vec!["--help"],
        vec!["doctor", REGISTRY],
        vec![
            "setup",
            "--registry",
            REGISTRY,
            "--profile",
            ROLE_PROFILE,
            "--dry-run",
        ],
        vec!["man"],
        vec!["completions", "bash"],
        vec!["version"],
    ];
    for args in cases {
        let out = to_dev_full(&sandbox, &args);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {:?} {err}",
            out.status
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.contains("cannot write"), "{args:?}: {err}");
    }
}

#[test]
fn item_3_a_web_identity_token_echoed_by_an_endpoint_is_scrubbed() {
    let proxy = Proxy::start(&open_moto().endpoint);
    let sandbox = Sandbox::with_keys(&proxy.endpoint, open_moto());
    // A JWT-shaped bearer token: whoever holds it can exchange it for the role's keys.
    let token =
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLXNlY3JldA";
    let token_file = sandbox.home.path().join("web-identity-token");
    std::fs::write(&token_file, token).unwrap();
    std::fs::write(
        sandbox.home.path().join(".aws/config"),
        format!(
            "[profile W]\nrole_arn = {ROLE_ARN}\nweb_identity_token_file = {}\n",
            token_file.display()
        ),
    )
    .unwrap();
    sandbox.write_settings(serde_json::json!({"registries": {REGISTRY: {"profile": "W"}}}));
    proxy.inject(
        "sts:AssumeRoleWithWebIdentity",
        10,
        support::proxy::Fault::EchoBody,
    );
    let log = sandbox.home.path().join("debug.log");
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_LOG", log.to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(1));
    let shown = format!(
        "{}{}{}",
        stdout(&out),
        stderr(&out),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(shown.contains("bad request"), "the echo was shown: {shown}");
    assert!(!shown.contains(token), "the token leaked: {shown}");
    assert!(
        !shown.contains("c2lnbmF0dXJlLXNlY3JldA"),
        "part of the token leaked: {shown}"
    );
}

#[test]
fn item_13_doctor_shows_each_check_as_it_is_made() {
    use std::io::BufRead;
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    std::fs::write(
        sandbox.home.path().join(".aws/config"),
        "[profile slow]\ncredential_process = sleep 4\n",
    )
    .unwrap();
    sandbox.write_settings(serde_json::json!({"registries": {REGISTRY: {"profile": "slow"}}}));
    let mut cmd = sandbox.command(&["doctor", REGISTRY]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let started = std::time::Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let header = lines.next().unwrap().unwrap();
    let first_seen = started.elapsed();
    assert!(header.contains("doctor:"), "{header}");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    child.wait().unwrap();
    let finished = started.elapsed();
    assert!(rest.iter().any(|l| l.contains("profile")), "{rest:?}");
    // The header came while the credential_process still ran, not with the rest.
    assert!(
        finished.saturating_sub(first_seen) >= std::time::Duration::from_secs(2),
        "first line at {first_seen:?}, done at {finished:?}"
    );
}

#[test]
fn item_15_expired_tokens_and_sessions_are_pruned_and_locks_kept() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    let dir = sandbox.cache_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(
        &dir,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
    )
    .unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(13 * 3600);
    for name in [
        "token-0000000000000001.json",
        "role-0000000000000001.json",
        "lock-0000000000000001",
    ] {
        let file = std::fs::File::create(dir.join(name)).unwrap();
        file.set_modified(old).unwrap();
    }
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("0000000000000001") || n.ends_with("0000000000000001.json"))
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["lock-0000000000000001"],
        "expired entries are gone, locks stay"
    );
}

#[test]
fn item_15_an_aws_config_over_the_read_cap_is_refused_not_read_as_empty() {
    let sandbox = Sandbox::mapped("http://127.0.0.1:9");
    let mut config = config_at_the_read_cap();
    config.push_str(&"# padding past the cap\n".repeat(20_000));
    std::fs::write(sandbox.home.path().join(".aws/config"), config).unwrap();
    let out = sandbox.get(REGISTRY, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("shorten ~/.aws/config to at most 4 MiB"),
        "{}",
        stdout(&out)
    );
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs root, chown and unshare (util-linux), Linux only"
)]
#[test]
fn item_10_root_with_another_users_home_keeps_its_cache_in_its_own_home() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    // The user's home, as `sudo -E` hands it to root.
    let chown = std::process::Command::new("chown")
        .args(["-R", "4242:4242"])
        .arg(sandbox.home.path())
        .status()
        .unwrap();
    assert!(
        chown.success(),
        "chown needs root: run the tests as root (CI does)"
    );
    // Root's own home, /root, is a private directory for this test (a mount namespace).
    let root_home = TempDir::new("root-home");
    for _ in 0..2 {
        let mut sh = std::process::Command::new(require_program("unshare"));
        sh.args([
            "-m",
            "sh",
            "-c",
            "mount --bind \"$1\" /root && exec \"$2\" get",
            "sh",
        ])
        .arg(root_home.path())
        .arg(HELPER)
        .env_clear()
        .envs(sandbox.env())
        .current_dir(sandbox.home.path());
        assert_credentials(
            &run_with_stdin(&mut sh, REGISTRY.as_bytes()),
            REGISTRY,
            PASSWORD,
        );
    }
    assert!(
        !sandbox.home.path().join(".cache").exists(),
        "root created a cache in the user's home"
    );
    assert!(
        root_home
            .path()
            .join(".cache/docker-credential-ecr-role")
            .is_dir(),
        "the cache is in root's own home"
    );
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        1,
        "the second pull was a hit"
    );
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs util-linux script (a pseudo-terminal), Linux only"
)]
#[test]
fn item_11_a_credential_process_that_asks_on_the_terminal_still_works() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    // A credential_process with a prompt of its own (an MFA code, an SSO sign-in): it
    // reads /dev/tty, so it needs the terminal's foreground.
    let script = sandbox.home.path().join("prompting-process");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf 'token code: ' > /dev/tty\nread code < /dev/tty\n[ \"$code\" = 424242 ] || exit 7\nprintf '{{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\"}}' '{}' '{}'\n",
            moto().access_key_id,
            moto().secret_access_key
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &script,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
    )
    .unwrap();
    std::fs::write(
        sandbox.home.path().join(".aws/config"),
        format!(
            "[profile p]\nrole_arn = {ROLE_ARN}\nsource_profile = src\n[profile src]\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();
    sandbox.write_settings(serde_json::json!({"registries": {REGISTRY: {"profile": "p"}}}));
    let url = sandbox.home.path().join("server-url");
    std::fs::write(&url, REGISTRY).unwrap();
    let line = format!("{HELPER} get < {}", url.display());
    let mut cmd = std::process::Command::new(require_program("script"));
    cmd.args(["-qec", &line, "/dev/null"])
        .env_clear()
        .envs(sandbox.env());
    let out = run_with_stdin(&mut cmd, b"424242\n");
    let text = stdout(&out);
    assert!(text.contains("token code:"), "{text}");
    assert!(text.contains(PASSWORD), "no credentials: {text}");
    assert_eq!(proxy.count("sts:AssumeRole"), 1);
}

#[test]
fn a_get_with_an_empty_home_leads_with_the_fix_in_a_short_line() {
    // From the craft review: the line was 520 characters, its advice after the SDK's
    // internals about instance metadata.
    let home = TempDir::new("empty-home");
    let mut cmd = std::process::Command::new(HELPER);
    cmd.arg("get")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(home.path());
    let out = run_with_stdin(&mut cmd, REGISTRY.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let first = stdout(&out).lines().next().unwrap_or_default().to_string();
    assert!(
        first.starts_with("docker-credential-ecr-role: run `aws configure`"),
        "{first}"
    );
    assert!(
        first.chars().count() < 200,
        "{} characters: {first}",
        first.chars().count()
    );
}

#[test]
fn doctor_json_is_json_for_every_outcome_and_placeholders_only_where_unknown() {
    // From the craft review: with nothing set up, `doctor --json` printed plain text,
    // and the advice showed a real-looking account next to a placeholder.
    let sandbox = Sandbox::new("http://127.0.0.1:9");
    std::fs::remove_file(sandbox.home.path().join(".aws/config")).unwrap();
    let out = sandbox.run(&["doctor", "--json"], "", &[]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert_eq!(doc["ok"], false);
    let error = doc["error"].as_str().unwrap();
    assert!(error.starts_with("give a registry"), "{error}");
    assert!(!error.contains("123456789012"), "{error}");
    // A registry names its account: the suggested setup asks only for the role's name.
    let out = sandbox.run(&["doctor", REGISTRY], "", &[]);
    let report = stdout(&out);
    assert!(report.contains("--role-name ROLE"), "{report}");
    assert!(!report.contains("ACCOUNT:role"), "{report}");
}
