//! Hardening: many `get`s at once, faults at the AWS endpoint (through the proxy),
//! hostile input, a cache that is not to be trusted, and secrets that must never
//! show. Bounds asserted here are hang guards (the helper must answer), far above
//! the documented timeouts, not speed targets.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::proxy::Fault;
use support::*;

#[test]
fn sixty_four_concurrent_gets_make_one_fetch() {
    let proxy = Proxy::start(&moto().endpoint);
    // Hold the first fetch a moment, so every process starts while it is under way.
    proxy.inject(
        "sts:AssumeRole",
        1,
        Fault::Delay(Duration::from_millis(500)),
    );
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let outputs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..64)
            .map(|_| s.spawn(|| sandbox.get(REGISTRY, &[])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &outputs {
        assert_credentials(out, REGISTRY, PASSWORD);
    }
    assert_eq!(proxy.count("sts:AssumeRole"), 1, "{:?}", proxy.counts());
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        1,
        "{:?}",
        proxy.counts()
    );
    let files = sandbox.token_files();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    serde_json::from_str::<serde_json::Value>(&text).expect("the cache is valid JSON");
}

#[test]
fn gets_killed_mid_fetch_or_write_leave_a_readable_cache() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    for i in 0..24u64 {
        for file in sandbox.token_files() {
            std::fs::remove_file(file).unwrap();
        }
        let mut child = sandbox
            .command(&["get"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(REGISTRY.as_bytes())
            .unwrap();
        std::thread::sleep(Duration::from_millis(i * 2));
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        for file in sandbox.token_files() {
            let text = std::fs::read_to_string(&file).unwrap();
            let entry: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("a killed get left a torn cache file ({e}): {text:?}"));
            assert_eq!(entry["username"], "AWS");
        }
    }
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
}

#[test]
fn gets_for_different_registries_do_not_wait_for_each_other() {
    let proxy = Proxy::start(&moto().endpoint);
    proxy.inject("sts:AssumeRole", 1, Fault::Delay(Duration::from_secs(4)));
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let mut slow = sandbox.command(&["get"]);
    slow.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut slow = slow.spawn().unwrap();
    use std::io::Write;
    slow.stdin
        .take()
        .unwrap()
        .write_all(REGISTRY.as_bytes())
        .unwrap();
    while proxy.count("sts:AssumeRole") == 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    // The first get is inside its fetch, holding its registry's lock. Another registry:
    let other = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    let out = sandbox.get(other, &[]);
    assert_credentials(&out, other, PASSWORD);
    assert!(
        slow.try_wait().unwrap().is_none(),
        "the other registry's get finished before the slow one: no serialisation"
    );
    let out = slow.wait_with_output().unwrap();
    assert_credentials(&out, REGISTRY, PASSWORD);
}

#[test]
fn throttling_is_retried_with_backoff() {
    let proxy = Proxy::start(&moto().endpoint);
    proxy.inject(
        "sts:AssumeRole",
        2,
        Fault::Error {
            status: 400,
            code: "Throttling",
        },
    );
    proxy.inject(
        "ecr:GetAuthorizationToken",
        2,
        Fault::Error {
            status: 400,
            code: "ThrottlingException",
        },
    );
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(proxy.count("sts:AssumeRole"), 3);
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 3);
}

#[test]
fn persistent_throttling_is_a_clear_error_in_bounded_time() {
    let proxy = Proxy::start(&moto().endpoint);
    proxy.inject(
        "ecr:GetAuthorizationToken",
        1000,
        Fault::Error {
            status: 400,
            code: "ThrottlingException",
        },
    );
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let (out, took) = sandbox.timed_get(REGISTRY, &[]);
    assert_one_line_error(
        &out,
        &["ecr:GetAuthorizationToken failed: ThrottlingException"],
    );
    assert!(took < Duration::from_secs(40), "took {took:?}");
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        3,
        "three attempts"
    );
}

#[test]
fn server_errors_are_retried_then_reported() {
    let proxy = Proxy::start(&moto().endpoint);
    proxy.inject(
        "ecr:GetAuthorizationToken",
        2,
        Fault::Error {
            status: 500,
            code: "ServerException",
        },
    );
    proxy.inject("sts:AssumeRole", 1, Fault::Drop);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);

    let proxy = Proxy::start(&moto().endpoint);
    proxy.inject(
        "sts:AssumeRole",
        1000,
        Fault::Error {
            status: 503,
            code: "ServiceUnavailable",
        },
    );
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let (out, took) = sandbox.timed_get(REGISTRY, &[]);
    assert_one_line_error(&out, &["sts:AssumeRole failed: ServiceUnavailable"]);
    assert!(took < Duration::from_secs(40), "took {took:?}");
}

#[test]
fn a_malformed_answer_is_a_clear_error() {
    let proxy = Proxy::start(&moto().endpoint);
    proxy.inject("ecr:GetAuthorizationToken", 1000, Fault::Malformed);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let (out, took) = sandbox.timed_get(REGISTRY, &[]);
    assert_one_line_error(&out, &["ecr:GetAuthorizationToken failed"]);
    assert!(took < Duration::from_secs(40), "took {took:?}");
}

#[test]
fn a_slow_endpoint_is_waited_for() {
    let proxy = Proxy::start(&moto().endpoint);
    proxy.inject(
        "ecr:GetAuthorizationToken",
        1,
        Fault::Delay(Duration::from_secs(2)),
    );
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        1,
        "a 2 s answer is within the attempt timeout"
    );
}

#[test]
fn an_endpoint_that_is_down_fails_fast_and_clearly() {
    let sandbox = Sandbox::role_by_default(&Proxy::start(&moto().endpoint).endpoint);
    let closed = format!("http://127.0.0.1:{}", free_port());
    let (out, took) = sandbox.timed_get(REGISTRY, &[("AWS_ENDPOINT_URL", &closed)]);
    assert_one_line_error(
        &out,
        &[
            "sts:AssumeRole failed: network",
            "Connection refused",
            "check your network",
        ],
    );
    assert!(took < Duration::from_secs(40), "took {took:?}");
}

#[test]
fn a_black_holed_endpoint_times_out_instead_of_hanging() {
    let proxy = Proxy::start(&moto().endpoint);
    proxy.inject("sts:AssumeRole", 1000, Fault::BlackHole);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let (out, took) = sandbox.timed_get(REGISTRY, &[]);
    assert_one_line_error(&out, &["sts:AssumeRole failed", "timeout"]);
    assert!(took < Duration::from_secs(40), "took {took:?}");
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs root to chown a file to another uid (CI runs as root), Linux only"
)]
#[test]
fn a_cache_that_is_not_ours_is_never_trusted_nor_written_through() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    let file = sandbox.token_files().remove(0);

    // A token file owned by another user is ignored (and replaced by one of ours).
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 2);
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), unsafe {
        libc::getuid()
    });

    // A cache directory that is a symlink to elsewhere is neither read nor written.
    let elsewhere = sandbox.home.path().join("elsewhere");
    std::fs::rename(sandbox.cache_dir(), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, sandbox.cache_dir()).unwrap();
    let before: Vec<_> = std::fs::read_dir(&elsewhere)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    let out = sandbox.get(REGISTRY, &[]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert!(
        stderr(&out).contains("warning: token not cached"),
        "{}",
        stderr(&out)
    );
    let after: Vec<_> = std::fs::read_dir(&elsewhere)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(before, after, "nothing written through the symlink");

    // A group-readable cache directory that exists is refused, never altered: the
    // helper changes the mode only of directories it creates itself.
    std::fs::remove_file(sandbox.cache_dir()).unwrap();
    std::fs::rename(&elsewhere, sandbox.cache_dir()).unwrap();
    std::fs::set_permissions(sandbox.cache_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for f in sandbox.token_files() {
        std::fs::remove_file(f).unwrap();
    }
    let out = sandbox.get(REGISTRY, &[]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert!(
        stderr(&out).contains("warning: token not cached"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        mode(&sandbox.cache_dir()),
        0o755,
        "an existing directory keeps its mode"
    );
    assert!(
        sandbox.token_files().is_empty(),
        "nothing cached in a loose directory"
    );
    // doctor says so, with the fix, instead of "no token cached yet".
    let out = sandbox.run(&["doctor", REGISTRY], "", &[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("is not a private directory of yours: nothing is cached there")
            && said.contains("chmod 700"),
        "{said}"
    );
    assert!(!said.contains("no token cached"), "{said}");
}

#[test]
fn no_aws_setup_at_all_is_a_clear_message_without_hanging() {
    // An empty HOME: no ~/.aws, and no instance-metadata service on this machine.
    let home = TempDir::new("bare-home");
    let mut cmd = Command::new(HELPER);
    cmd.arg("get")
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let start = Instant::now();
    let out = run_with_stdin(&mut cmd, REGISTRY.as_bytes());
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert_one_line_error(&out, &["run `aws configure`", "no AWS credentials for"]);

    // No HOME at all, with every path given by the environment: works.
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let h = sandbox.home.path();
    let mut cmd = Command::new(HELPER);
    cmd.arg("get")
        .env_clear()
        .env("AWS_CONFIG_FILE", h.join(".aws/config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", h.join(".aws/credentials"))
        .env("ECR_ROLE_CONFIG", sandbox.settings_file())
        .env("ECR_ROLE_CACHE_DIR", h.join("cache"))
        .env("AWS_ENDPOINT_URL", &proxy.endpoint);
    assert_credentials(
        &run_with_stdin(&mut cmd, REGISTRY.as_bytes()),
        REGISTRY,
        PASSWORD,
    );
}

#[test]
fn hostile_input_is_rejected_cleanly() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let mut flood = Command::new(HELPER);
    flood
        .arg("get")
        .env_clear()
        .env("HOME", sandbox.home.path());
    let out = run_with_stdin(&mut flood, &vec![b'a'; 10 * 1024 * 1024]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "input on stdin is longer than 65536 bytes\n");

    for (input, expected) in [
        (
            &b"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com\0evil"[..],
            "input on stdin has control characters\n",
        ),
        (
            &b"\xff\xfe123456789012.dkr.ecr"[..],
            "input on stdin is not valid UTF-8\n",
        ),
        (
            &b"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com\x1b[31m"[..],
            "input on stdin has control characters\n",
        ),
        (
            &b"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com.evil.example"[..],
            "credentials not found in native keychain\n",
        ),
        (
            &b"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com@evil.example"[..],
            "credentials not found in native keychain\n",
        ),
        (
            "123456789012.dkr.ecr.ap-northeast-1.аmazonaws.com".as_bytes(),
            "credentials not found in native keychain\n",
        ),
        (
            &b"../../../../etc/passwd"[..],
            "credentials not found in native keychain\n",
        ),
    ] {
        let mut cmd = sandbox.command(&["get"]);
        let out = run_with_stdin(&mut cmd, input);
        assert_eq!(out.status.code(), Some(1), "{input:?}");
        assert_eq!(stdout(&out), expected, "{input:?}");
    }
    assert_eq!(proxy.total(), 0, "hostile input reached AWS");
}

#[test]
fn no_secret_ever_shows_outside_the_protocol_answer_and_the_cache() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint)
        .with_env("ECR_ROLE_LOG", "1")
        .with_env(
            "PATH",
            &format!(
                "{}:/usr/bin:/bin",
                std::path::Path::new(HELPER).parent().unwrap().display()
            ),
        );
    let docker_login_secret = "docker-login-secret-9f8e7d";
    let mut outputs = Vec::new();
    let mut run = |args: &[&str], stdin: &str, env: &[(&str, &str)]| {
        let out = sandbox.run(args, stdin, env);
        outputs.push((args.join(" "), out));
    };
    run(&["get"], REGISTRY, &[]);
    run(&["get"], REGISTRY, &[]);
    run(&["get"], REGISTRY, &[("ECR_ROLE_PROFILE", "default")]);
    run(
        &["get"],
        REGISTRY,
        &[("ECR_ROLE_PROFILE", "OtherRoleProfile")],
    );
    run(&["get"], REGISTRY, &[("ECR_ROLE_DISABLE_CACHE", "1")]);
    run(&["get"], "public.ecr.aws", &[]);
    run(&["list"], "", &[]);
    run(
        &["store"],
        &format!(
            r#"{{"ServerURL":"{REGISTRY}","Username":"AWS","Secret":"{docker_login_secret}"}}"#
        ),
        &[],
    );
    run(
        &["store"],
        &format!(r#"{{"ServerURL":"x","Secret":"{docker_login_secret}""#),
        &[],
    );
    run(&["doctor", REGISTRY], "", &[]);
    run(
        &["doctor", REGISTRY, "--json"],
        "",
        &[("ECR_ROLE_PROFILE", "default")],
    );
    run(
        &[
            "setup",
            "--registry",
            REGISTRY,
            "--profile",
            ROLE_PROFILE,
            "--dry-run",
        ],
        "",
        &[],
    );
    run(&["erase"], REGISTRY, &[]);
    proxy.inject(
        "ecr:GetAuthorizationToken",
        1000,
        Fault::Error {
            status: 400,
            code: "ThrottlingException",
        },
    );
    run(&["get"], REGISTRY, &[]);

    let mut secrets = vec![
        moto().secret_access_key.clone(),
        docker_login_secret.to_string(),
        PASSWORD.to_string(),
        support::proxy::PUBLIC_PASSWORD.to_string(),
    ];
    let role_secrets = proxy.role_secrets();
    assert!(
        role_secrets.len() >= 4,
        "the proxy saw the role's keys: {role_secrets:?}"
    );
    secrets.extend(role_secrets);

    for (command, out) in &outputs {
        let mut said = stdout(out);
        // get's answer is the one place the ECR password goes.
        if command.starts_with("get") && out.status.success() {
            let json: serde_json::Value = serde_json::from_str(&said).unwrap();
            said = said.replace(json["Secret"].as_str().unwrap(), "<Secret field>");
        }
        for secret in &secrets {
            assert!(
                !said.contains(secret.as_str()),
                "`{command}` printed a secret on stdout: {said}"
            );
            assert!(
                !stderr(out).contains(secret.as_str()),
                "`{command}` printed a secret on stderr"
            );
        }
    }

    // Every file the helper wrote, but the 0600 token cache, is free of secrets.
    let log = sandbox.cache_dir().join("debug.log");
    let log_text = std::fs::read_to_string(&log).expect("ECR_ROLE_LOG=1 writes the log");
    assert!(log_text.contains("cache hit"), "{log_text}");
    assert_eq!(mode(&log), 0o600);
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out)
            } else {
                out.push(e.path())
            }
        }
    }
    let mut files = Vec::new();
    walk(sandbox.home.path(), &mut files);
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("token-") {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
            continue;
        }
        if file.ends_with(".aws/credentials") {
            continue; // the user's own keys, where the user put them
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{} holds a secret",
                file.display()
            );
        }
    }
}

#[test]
fn the_debug_log_is_capped() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let log = sandbox.home.path().join("helper.log");
    std::fs::write(&log, vec![b'x'; 1024 * 1024 + 1]).unwrap();
    // A log of ours is 0600: the helper writes to no other (hostile.rs tests that).
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_LOG", log.to_str().unwrap())]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    let rotated = sandbox.home.path().join("helper.log.1");
    assert_eq!(std::fs::metadata(&rotated).unwrap().len(), 1024 * 1024 + 1);
    let fresh = std::fs::read_to_string(&log).unwrap();
    assert!(fresh.len() < 4096 && fresh.contains("get "), "{fresh}");
}
