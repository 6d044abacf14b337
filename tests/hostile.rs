//! A hostile neighbour, a stuck process, a lying endpoint: one named regression
//! test per way they were found to hurt (see SECURITY.md's fault matrix). Real
//! processes throughout: a second local user via `setpriv`, real FIFOs, a real
//! `flock` holder, a real SIGSTOP, a loopback endpoint that answers with hostile
//! text. Against moto with IAM enforcement on, through the test proxy.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::proxy::Fault;
use support::*;

/// The documented bound of a `get` (src/deadline.rs, SECURITY.md).
const GET_DEADLINE: Duration = Duration::from_secs(30);
/// What process start-up and the last write may add to it.
const SLACK: Duration = Duration::from_secs(2);

fn mkfifo(path: &Path) {
    let status = Command::new(require_program("mkfifo"))
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The lock file of the sandbox's one key (made by a first `get`), with the token forgotten.
fn lock_file_after_logout(sandbox: &Sandbox) -> PathBuf {
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    let out = sandbox.run(&["erase"], REGISTRY, &[]);
    assert!(out.status.success());
    let locks = files_named(&sandbox.cache_dir(), "lock-");
    assert_eq!(locks.len(), 1, "{locks:?}");
    locks[0].clone()
}

// 1. The machine.

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs root to chown a directory to another uid (CI runs as root), Linux only"
)]
#[test]
fn an_existing_cache_directory_is_refused_never_altered() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    // A shared directory, as `ECR_ROLE_CACHE_DIR=/tmp` in a root CI job would name.
    let shared = TempDir::new("shared-tmp");
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let (out, _) = sandbox.timed_get(
        REGISTRY,
        &[("ECR_ROLE_CACHE_DIR", shared.path().to_str().unwrap())],
    );
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert!(
        stderr(&out).contains("warning: token not cached"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        mode(shared.path()),
        0o1777,
        "the sticky shared directory keeps its mode"
    );
    assert!(files_named(shared.path(), "token-").is_empty());

    // Another user's directory: refused, not touched.
    let foreign = TempDir::new("foreign");
    std::os::unix::fs::chown(foreign.path(), Some(4242), Some(4242)).unwrap();
    std::fs::set_permissions(foreign.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let (out, _) = sandbox.timed_get(
        REGISTRY,
        &[("ECR_ROLE_CACHE_DIR", foreign.path().to_str().unwrap())],
    );
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(std::fs::metadata(foreign.path()).unwrap().uid(), 4242);
    assert!(files_named(foreign.path(), "").is_empty());
}

// 2. Never hang docker.

#[test]
fn a_fifo_at_the_log_path_does_not_hang_even_a_cache_hit() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    let fifo = sandbox.home.path().join("debug.fifo");
    mkfifo(&fifo);
    let (out, took) = sandbox.timed_get(REGISTRY, &[("ECR_ROLE_LOG", fifo.to_str().unwrap())]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert!(took < GET_DEADLINE, "took {took:?}");
}

#[test]
fn a_fifo_at_the_lock_path_does_not_hang_a_cold_get() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let lock = lock_file_after_logout(&sandbox);
    std::fs::remove_file(&lock).unwrap();
    mkfifo(&lock);
    let (out, took) = sandbox.timed_get(REGISTRY, &[]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert!(took < GET_DEADLINE, "took {took:?}");
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs flock(1) (util-linux), Linux only"
)]
#[test]
fn a_lock_held_by_another_process_costs_at_most_the_lock_wait() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let lock = lock_file_after_logout(&sandbox);
    // A real flock(1) holder that never lets go on its own.
    let holder = LockHolder::hold(&lock);
    let (out, took) = sandbox.timed_get(REGISTRY, &[]);
    drop(holder);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert!(took < GET_DEADLINE, "took {took:?}");
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs flock(1) (util-linux), Linux only"
)]
#[test]
fn a_stopped_get_holding_the_lock_costs_at_most_the_lock_wait() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let lock = lock_file_after_logout(&sandbox);
    // The first get holds the lock while its AssumeRole is slow; it is then stopped.
    proxy.inject("sts:AssumeRole", 1, Fault::Delay(Duration::from_secs(20)));
    let mut first = sandbox.command(&["get"]);
    let mut first = first
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = first.stdin.take().unwrap();
        stdin.write_all(REGISTRY.as_bytes()).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.count("sts:AssumeRole") < 2 {
        assert!(
            Instant::now() < deadline,
            "the first get never called AssumeRole"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(first.id() as i32, libc::SIGSTOP) };
    assert!(
        !Command::new(require_program("flock"))
            .args(["-n", "-s"])
            .arg(&lock)
            .arg("true")
            .status()
            .unwrap()
            .success(),
        "the stopped get holds the lock"
    );
    let (out, took) = sandbox.timed_get(REGISTRY, &[]);
    // SAFETY: as above.
    unsafe { libc::kill(first.id() as i32, libc::SIGKILL) };
    let _ = first.wait();
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert!(took < GET_DEADLINE, "took {took:?}");
}

#[test]
fn a_hanging_credential_process_ends_at_the_documented_deadline() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    std::fs::write(
        sandbox.home.path().join(".aws/config"),
        format!("[profile slow]\nrole_arn = {ROLE_ARN}\nsource_profile = src\n[profile src]\ncredential_process = sleep 4545\n"),
    )
    .unwrap();
    let (out, took) = sandbox.timed_get(REGISTRY, &[("ECR_ROLE_PROFILE", "slow")]);
    // Third review, item 11: the credential_process does not outlive the deadline.
    let left = Command::new(require_program("pgrep"))
        .args(["-f", "sleep 4545"])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "the credential_process outlived the get: pid {}",
        String::from_utf8_lossy(&left.stdout)
    );
    assert_one_line_error(&out, &["no answer within 30 s"]);
    assert!(
        took <= GET_DEADLINE + SLACK,
        "get must end within the documented {GET_DEADLINE:?}: took {took:?}"
    );
}

// 3. The debug log.

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs root to chown a file to another uid (CI runs as root), Linux only"
)]
#[test]
fn the_log_is_never_written_into_another_users_file() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let shared = TempDir::new("log-shared");
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = shared.path().join("helper.log");
    std::fs::write(&planted, "").unwrap();
    std::os::unix::fs::chown(&planted, Some(4242), Some(4242)).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_LOG", planted.to_str().unwrap())]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(
        std::fs::read_to_string(&planted).unwrap(),
        "",
        "nothing written"
    );
    assert_eq!(mode(&planted), 0o666, "and nothing altered");
}

#[test]
fn an_existing_log_someone_opened_up_is_refused_not_repaired() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let log = sandbox.home.path().join("helper.log");
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = sandbox.get(REGISTRY, &[("ECR_ROLE_LOG", log.to_str().unwrap())]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(mode(&log), 0o644, "not altered");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "",
        "nothing written"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("make it yours alone (chmod 600)").count(),
        1,
        "said once: {stderr}"
    );
}

#[test]
fn log_directories_are_private_whatever_the_umask() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let log = sandbox.home.path().join("logs/deeper/helper.log");
    let mut cmd = sandbox.command(&[]);
    cmd.env("ECR_ROLE_LOG", &log);
    let mut sh = Command::new("sh");
    sh.args(["-c", &format!("umask 000; exec {HELPER} get")])
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(sandbox.home.path());
    let out = run_with_stdin(&mut sh, REGISTRY.as_bytes());
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(mode(&sandbox.home.path().join("logs")), 0o700);
    assert_eq!(mode(&sandbox.home.path().join("logs/deeper")), 0o700);
    assert_eq!(mode(&log), 0o600);
    assert_eq!(mode(&sandbox.cache_dir()), 0o700);
}

// 5. Don't trust the endpoint's numbers or text.

#[test]
fn an_endpoint_expiry_is_capped_at_twelve_hours() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    proxy.set_token_ttl(Duration::from_secs(100 * 365 * 86_400));
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    let file = &sandbox.token_files()[0];
    let entry: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let lifetime = entry["expires_at"].as_u64().unwrap() - entry["fetched_at"].as_u64().unwrap();
    assert!(lifetime <= 12 * 3600, "kept for {lifetime} s");
}

#[test]
fn hostile_error_text_reaches_the_terminal_as_one_clean_bounded_line() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    proxy.inject(
        "ecr:GetAuthorizationToken",
        10,
        Fault::Refuse {
            status: 400,
            code: format!("Bad\u{1b}]0;pwned\u{7}{}", "C".repeat(200_000)),
            message: "\u{1b}]52;c;ZXZpbA==\u{7}\r\u{1b}[2Kall good\nsecond line".into(),
        },
    );
    assert_one_line_error(&sandbox.get(REGISTRY, &[]), &[]);
}

#[test]
fn an_endpoint_echoing_a_session_token_gets_it_scrubbed() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    proxy.inject("ecr:GetAuthorizationToken", 10, Fault::EchoSessionToken);
    let out = sandbox.get(REGISTRY, &[]);
    assert_eq!(out.status.code(), Some(1));
    let secrets = proxy.role_secrets();
    assert!(!secrets.is_empty());
    for secret in &secrets {
        assert!(!stdout(&out).contains(secret.as_str()), "{}", stdout(&out));
        assert!(!stderr(&out).contains(secret.as_str()));
    }
    assert!(stdout(&out).contains("REDACTED"), "{}", stdout(&out));
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs setsid(1) (util-linux), Linux only"
)]
#[test]
fn names_from_the_users_files_are_printed_clean() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    sandbox.add_profiles(&format!(
        "[profile mfa]\nrole_arn = {ROLE_ARN}\nsource_profile = default\nmfa_serial = arn:aws:iam::1:mfa/x\u{1b}]52;c;ZXZpbA==\u{7}\n"
    ));
    let out = sandbox.run_without_terminal(&["get"], REGISTRY, &[("ECR_ROLE_PROFILE", "mfa")]);
    assert_one_line_error(&out, &["needs an MFA code"]);
}

// 6. Secrets stay secret.

#[test]
fn setup_dry_run_masks_every_secret_in_its_diffs() {
    let sandbox = Sandbox::new("http://127.0.0.1:9");
    let docker = sandbox.home.path().join(".docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        // All on one line, as CI systems write it.
        "{\"auths\":{\"registry.example\":{\"auth\":\"c2VjcmV0LWF1dGgtdmFsdWU=\"}}}\n",
    )
    .unwrap();
    std::fs::write(
        sandbox.home.path().join(".aws/config"),
        "[default]\naws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\n",
    )
    .unwrap();
    let out = sandbox.run(
        &[
            "setup",
            "--registry",
            REGISTRY,
            "--profile",
            "R",
            "--role-arn",
            ROLE_ARN,
            "--dry-run",
        ],
        "",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("+[profile R]"), "{said}");
    for secret in [
        "c2VjcmV0LWF1dGgtdmFsdWU=",
        "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
    ] {
        assert!(!said.contains(secret), "{said}");
    }
}

#[test]
fn a_parse_error_never_quotes_a_secret() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    std::fs::write(
        sandbox.home.path().join(".aws/credentials"),
        "[default]\naws_access_key_id = AKIAEXAMPLE\nwJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\n",
    )
    .unwrap();
    let out = sandbox.get(REGISTRY, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("at line 3"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("wJalrXUtnFEMI"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("wJalrXUtnFEMI"));
}

// 7. Don't write what was not validated.

#[test]
fn setup_refuses_an_arn_with_an_injected_line() {
    let sandbox = Sandbox::new("http://127.0.0.1:9");
    let config = sandbox.home.path().join(".aws/config");
    let before = std::fs::read_to_string(&config).unwrap();
    for (flag, value) in [
        (
            "--role-arn",
            format!("{ROLE_ARN}\ncredential_process = touch /tmp/pwned"),
        ),
        ("--profile", "R]\n[profile x".to_string()),
        (
            "--source-profile",
            "default\nendpoint_url = http://evil".to_string(),
        ),
    ] {
        let mut args = vec![
            "setup",
            "--registry",
            REGISTRY,
            "--profile",
            "R",
            "--role-arn",
            ROLE_ARN,
        ];
        let at = args.iter().position(|a| *a == flag).unwrap_or(args.len());
        if at == args.len() {
            args.extend([flag, &value]);
        } else {
            args[at + 1] = &value;
        }
        let out = sandbox.run(&args, "", &[]);
        // Exit 2: the command line was refused.
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stdout(&out));
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&config).unwrap(), before, "{flag}");
    }
}

// 8. Smaller ones.

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs GNU touch (`touch -d '2 hours ago'`, coreutils), Linux only"
)]
#[test]
fn stale_temp_files_of_a_killed_get_are_removed() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    let _ = lock_file_after_logout(&sandbox);
    // What a get killed between write and rename leaves: a temp file holding a token.
    let stale = sandbox
        .cache_dir()
        .join(".token-0123456789abcdef.json.tmp-999999");
    std::fs::write(&stale, "{\"password\":\"leaked\"}").unwrap();
    let touched = Command::new(require_program("touch"))
        .args(["-d", "2 hours ago"])
        .arg(&stale)
        .status()
        .unwrap();
    assert!(touched.success());
    assert_credentials(&sandbox.get(REGISTRY, &[]), REGISTRY, PASSWORD);
    assert!(!stale.exists(), "the stale temp file is removed");
}

#[test]
fn registries_remove_keeps_other_helpers_entries() {
    let sandbox = Sandbox::new("http://127.0.0.1:9");
    let docker = sandbox.home.path().join(".docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!("{{\"credHelpers\": {{\"gcr.io\": \"gcloud\", \"{REGISTRY}\": \"ecr-role\"}}}}"),
    )
    .unwrap();
    let out = sandbox.run(&["registries", "--remove", "gcr.io"], "", &[]);
    assert!(out.status.success(), "{}", stdout(&out));
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(docker.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(after["credHelpers"]["gcr.io"], "gcloud", "{after}");
    assert_eq!(after["credHelpers"][REGISTRY], "ecr-role");
}

#[test]
fn a_token_over_64_kib_is_cached_like_any_other() {
    // Item 12 of the third review: such a token was fetched again on every get.
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    proxy.set_token_padding(70 * 1024);
    for _ in 0..2 {
        let out = sandbox.get(REGISTRY, &[]);
        assert!(out.status.success(), "{}", stdout(&out));
        assert_eq!(stderr(&out), "");
    }
    assert_eq!(sandbox.token_files().len(), 1);
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        1,
        "the second get was a hit"
    );
}

#[test]
fn erase_for_a_foreign_host_is_quiet_on_broken_settings_like_get() {
    let sandbox = Sandbox::new("http://127.0.0.1:9");
    write_file(&sandbox.settings_file(), "{ broken");
    for verb in ["get", "erase"] {
        let out = sandbox.run(&[verb], "https://index.docker.io/v1/", &[]);
        assert_eq!(stderr(&out), "", "{verb}");
    }
    let out = sandbox.run(&["erase"], "https://index.docker.io/v1/", &[]);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs GNU time (/usr/bin/time -f %M), Linux only"
)]
#[test]
fn a_huge_error_body_is_not_read_whole() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::role_by_default(&proxy.endpoint);
    proxy.inject(
        "ecr:GetAuthorizationToken",
        10,
        Fault::HugeBody(500 * 1024 * 1024),
    );
    // GNU time reports the helper's peak memory (KiB) on its last line of stderr.
    let mut cmd = Command::new(require_program("time"));
    cmd.args(["-f", "maxrss=%M"])
        .arg(HELPER)
        .arg("get")
        .env_clear()
        .envs(sandbox.env());
    let out = run_with_stdin(&mut cmd, REGISTRY.as_bytes());
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_one_clean_line(&stdout(&out));
    let rss_kib: u64 = stderr(&out)
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("maxrss="))
        .and_then(|v| v.trim().parse().ok())
        .expect("GNU time's report");
    assert!(
        rss_kib < 64 * 1024,
        "a 500 MB error body must not be read whole: peak {rss_kib} KiB"
    );
}
