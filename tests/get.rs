//! The helper run as docker runs it, against a real moto server with the user
//! story's IAM setup and enforcement on, through the counting proxy.

mod support;

use std::os::unix::fs::PermissionsExt;

use support::*;

/// The one cached token file.
fn token_file(sandbox: &Sandbox) -> std::path::PathBuf {
    let files = sandbox.token_files();
    assert_eq!(files.len(), 1, "one cached token: {files:?}");
    files[0].clone()
}

#[test]
fn role_profile_gets_the_token_then_serves_it_from_the_cache() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);

    let out = sandbox.get(REGISTRY, &[]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(stderr(&out), "");
    assert_eq!(proxy.count("sts:AssumeRole"), 1);
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 1);

    assert_eq!(mode(&sandbox.cache_dir()), 0o700);
    assert_eq!(mode(&token_file(&sandbox)), 0o600);

    let calls = proxy.total();
    let out = sandbox.get(REGISTRY, &[]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(
        proxy.total(),
        calls,
        "a cache hit reaches nobody: {:?}",
        proxy.counts()
    );

    // A token belongs to the endpoint it came from: pointed elsewhere, it is a miss.
    let closed = format!("http://127.0.0.1:{}", free_port());
    let out = sandbox.get(
        &format!("https://{REGISTRY}:443/v2/test-repos/manifests/latest"),
        &[("AWS_ENDPOINT_URL", &closed)],
    );
    assert!(
        !out.status.success() && stdout(&out).contains("Connection refused"),
        "another endpoint must not be served the cached token: {}",
        stdout(&out)
    );
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs strace (and Linux's /etc/ssl TLS roots), Linux only"
)]
#[test]
fn a_cache_hit_opens_no_connection_no_tls_roots_and_no_threads() {
    let strace = require_program("strace");
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    let trace = |name: &str| {
        let log = sandbox.home.path().join(name);
        let mut cmd = std::process::Command::new(&strace);
        cmd.args(["-f", "-qq", "-e", "trace=connect,openat,clone,clone3", "-o"])
            .arg(&log)
            .arg(HELPER)
            .arg("get")
            .env_clear()
            .env("HOME", sandbox.home.path())
            .env("AWS_ENDPOINT_URL", &proxy.endpoint);
        let out = run_with_stdin(&mut cmd, REGISTRY.as_bytes());
        assert_credentials(&out, REGISTRY, PASSWORD);
        std::fs::read_to_string(log).unwrap()
    };
    // The miss, as a control: it connects, loads the TLS roots and starts threads.
    let miss = trace("miss.strace");
    assert!(miss.contains("connect("), "a miss connects:\n{miss}");
    assert!(
        miss.contains("/etc/ssl"),
        "a miss loads the system's TLS roots:\n{miss}"
    );
    // The hit: none of that.
    let hit = trace("hit.strace");
    assert!(!hit.contains("connect("), "a hit connects nowhere:\n{hit}");
    assert!(
        !hit.contains("/etc/ssl"),
        "a hit loads no TLS roots:\n{hit}"
    );
    assert!(!hit.contains("clone"), "a hit starts no thread:\n{hit}");
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 1);
}

#[test]
fn the_users_own_profile_is_denied_with_a_clear_message() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    let out = sandbox.get(REGISTRY, &[]);
    assert_one_line_error(
        &out,
        &[
            "docker-credential-ecr-role: ",
            REGISTRY,
            "profile default",
            "user-for-switch may not call ecr:GetAuthorizationToken",
            "AccessDenied",
            "ECR_ROLE_PROFILE=ECRLoginAndPushRoleProfile",
        ],
    );
    assert!(!stdout(&out).contains(&moto().secret_access_key));
}

#[test]
fn a_role_the_user_may_not_assume_fails_clearly() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_PROFILE", "OtherRoleProfile")]);
    assert_one_line_error(
        &out,
        &[
            "profile OtherRoleProfile (role OtherRole, from ECR_ROLE_PROFILE)",
            "user-for-switch may not assume role OtherRole (AccessDenied)",
            "allow sts:AssumeRole on arn:aws:iam::123456789012:role/OtherRole",
        ],
    );
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 0);
}

#[test]
fn hosts_that_are_not_ecr_get_the_not_found_text_and_nothing_on_stderr() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    for host in [
        "index.docker.io",
        "https://index.docker.io/v1/",
        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com.evil.example",
        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com@evil.example",
    ] {
        let out = sandbox.get(host, &[]);
        assert_eq!(out.status.code(), Some(1), "{host}");
        assert_eq!(stdout(&out), "credentials not found in native keychain\n");
        assert_eq!(stderr(&out), "", "{host}");
    }
    let out = sandbox.get(" \n", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "no credentials server URL\n");
    assert_eq!(proxy.total(), 0);
}

#[test]
fn aws_profile_does_not_override_the_registry_mapping() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    let out = sandbox.get(REGISTRY, &[("AWS_PROFILE", "OtherRoleProfile")]);
    assert_credentials(&out, REGISTRY, PASSWORD);
}

#[test]
fn store_list_and_erase() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);

    let out = sandbox.run(
        &["store"],
        &format!(r#"{{"ServerURL":"{REGISTRY}","Username":"AWS","Secret":"from-docker-login"}}"#),
        &[],
    );
    assert!(out.status.success(), "{}", stdout(&out));
    let out = sandbox.run(
        &["store"],
        r#"{"ServerURL":"x","Secret":"from-docker-login"}"#,
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("missing field `Username`"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("from-docker-login"));

    let out = sandbox.run(&["list"], "", &[]);
    assert_eq!(stdout(&out), "{}\n");
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    let out = sandbox.run(&["list"], "", &[]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        format!("{{\"https://{REGISTRY}\":\"AWS\"}}\n")
    );

    let out = sandbox.run(&["erase"], &format!("https://{REGISTRY}"), &[]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(stdout(&sandbox.run(&["list"], "", &[])), "{}\n");
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        2,
        "erase made the next get fetch"
    );
}

#[test]
fn the_cache_can_be_turned_off() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    for var in ["AWS_ECR_DISABLE_CACHE", "ECR_ROLE_DISABLE_CACHE"] {
        let before = proxy.count("ecr:GetAuthorizationToken");
        for _ in 0..2 {
            assert_credentials(&sandbox.get(REGISTRY, &[(var, "1")]), REGISTRY, PASSWORD);
        }
        assert_eq!(
            proxy.count("ecr:GetAuthorizationToken"),
            before + 2,
            "{var}"
        );
    }
    let written: Vec<_> = std::fs::read_dir(sandbox.cache_dir())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        written.is_empty(),
        "nothing written to the cache: {written:?}"
    );
}

#[test]
fn a_corrupt_or_foreign_cache_file_is_replaced() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    let file = token_file(&sandbox);

    std::fs::write(&file, "{\"truncated").unwrap();
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 2);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_ok(),
        "replaced with a valid entry"
    );

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        3,
        "a readable-by-others file is not trusted"
    );
    assert_eq!(mode(&file), 0o600);
}

#[test]
fn an_unwritable_cache_still_returns_credentials() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    let not_a_dir = sandbox.home.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let cache = not_a_dir.join("cache");
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_CACHE_DIR", cache.to_str().unwrap())]);
    assert_credentials(&out, REGISTRY, PASSWORD);
}

#[test]
fn a_stale_token_is_refreshed_and_a_failed_refresh_falls_back_to_it() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    let file = token_file(&sandbox);

    // Age the entry: fetched 10 h ago, 2 h left — past three quarters of its life.
    let age = |file: &std::path::Path| {
        let mut entry: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        entry["fetched_at"] = (now - 10 * 3600).into();
        entry["expires_at"] = (now + 2 * 3600).into();
        entry["password"] = "older-password".into();
        std::fs::write(file, entry.to_string()).unwrap();
    };
    age(&file);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        2,
        "a stale token is refreshed"
    );

    // Refresh fails while the old token is still valid: the old token, and a warning.
    age(&file);
    proxy.inject(
        "sts:AssumeRole",
        5,
        support::proxy::Fault::Error {
            status: 500,
            code: "InternalFailure",
        },
    );
    let out = sandbox.get(REGISTRY, &[]);
    assert_credentials(&out, REGISTRY, "older-password");
    let warning = stderr(&out);
    assert!(
        warning.contains("warning: using the cached token, which expires in"),
        "{warning}"
    );
    assert!(!warning.contains("older-password"));
}

#[test]
fn ecr_public_gets_its_token_from_ecr_public() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    let out = sandbox.get(
        "https://public.ecr.aws",
        &[("ECR_ROLE_PROFILE", ROLE_PROFILE)],
    );
    assert_credentials(
        &out,
        "https://public.ecr.aws",
        support::proxy::PUBLIC_PASSWORD,
    );
    assert_eq!(proxy.count("ecr-public:GetAuthorizationToken"), 1);
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 0);
}

#[test]
fn version_and_help() {
    let sandbox = Sandbox::new("http://127.0.0.1:9");
    let version = format!("docker-credential-ecr-role {}", env!("CARGO_PKG_VERSION"));
    let mut lines = Vec::new();
    for args in [&["version"][..], &["--version"], &["-v"]] {
        let out = sandbox.run(args, "", &[]);
        assert!(out.status.success(), "{args:?}");
        let line = stdout(&out);
        // `0.1.0`, or `0.1.0 (commit 0123456789ab)` when built from a git checkout.
        let rest = line
            .strip_prefix(&version)
            .unwrap_or_else(|| panic!("{args:?}: {line}"));
        assert!(
            rest == "\n" || (rest.starts_with(" (commit ") && rest.ends_with(")\n")),
            "{args:?}: {line}"
        );
        lines.push(line);
    }
    assert!(lines.windows(2).all(|w| w[0] == w[1]), "{lines:?}");
    for args in [&["--help"][..], &["-h"]] {
        let out = sandbox.run(args, "", &[]);
        assert!(out.status.success());
        for verb in ["get", "store", "erase", "list", "version"] {
            assert!(stdout(&out).contains(verb), "{verb} in --help");
        }
    }
    let out = sandbox.run(&["frobnicate"], "", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unrecognized subcommand 'frobnicate'"));
}

#[test]
fn a_source_profile_that_switches_role_itself_is_followed() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    sandbox.add_profiles(
        "\n[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/OtherRole\nsource_profile = ECRLoginAndPushRoleProfile\n\
         \n[profile loop-a]\nrole_arn = arn:aws:iam::123456789012:role/OtherRole\nsource_profile = loop-b\n\
         \n[profile loop-b]\nrole_arn = arn:aws:iam::123456789012:role/OtherRole\nsource_profile = loop-a\n",
    );

    // The first hop (user → ECRLoginAndPushRole) succeeds; the second is made as that
    // role, which has no sts:AssumeRole permission, and the message says so.
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_PROFILE", "chained")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out)
            .contains("role ECRLoginAndPushRole may not assume role OtherRole (AccessDenied)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(proxy.count("sts:AssumeRole"), 2);

    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_PROFILE", "loop-a")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("source_profile loops (loop-a -> loop-b -> loop-a)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(proxy.count("sts:AssumeRole"), 2, "a loop makes no call");
}

#[test]
fn a_broken_settings_file_is_reported_for_ecr_hosts_only() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    write_file(&sandbox.settings_file(), "{ not json");
    let out = sandbox.get(REGISTRY, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("is not valid") && stdout(&out).contains("fix or remove it"),
        "{}",
        stdout(&out)
    );
    let out = sandbox.get("index.docker.io", &[]);
    assert_eq!(stdout(&out), "credentials not found in native keychain\n");
    assert_eq!(stderr(&out), "");
}
