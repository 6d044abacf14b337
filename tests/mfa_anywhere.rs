//! MFA where there is no terminal: a profile's `mfa_process` (oathtool, as a YubiKey's
//! `ykman` or 1Password's `op` would print it), a real zenity dialog under Xvfb typed
//! into by xdotool, and macOS's `osascript` through a stand-in that answers as the
//! real one does. Against moto behind the test proxy, which records the code each
//! AssumeRole carried (moto accepts any code: only the proxy can tell).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// A TOTP seed in base32, as `oathtool -b` takes it (a test seed: never keep a real one on the machine).
const SEED: &str = "JBSWY3DPEHPK3PXP";
const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/user-for-switch";
/// A second registry served by the same role (another region of the account).
const OTHER_REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// An executable script at `path`.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A sandbox whose registries are served by a role that needs MFA, the code coming
/// from `mfa_process` when given.
fn mfa_sandbox(proxy: &Proxy, mfa_process: Option<&str>) -> Sandbox {
    let sandbox = Sandbox::new(&proxy.endpoint);
    let mut profile = format!(
        "\n[profile mfa]\nrole_arn = {ROLE_ARN}\nsource_profile = default\nmfa_serial = {MFA_SERIAL}\n"
    );
    if let Some(command) = mfa_process {
        profile.push_str(&format!("mfa_process = {command}\n"));
    }
    sandbox.add_profiles(&profile);
    sandbox.write_settings(serde_json::json!({"registries": {
        REGISTRY: {"profile": "mfa"},
        OTHER_REGISTRY: {"profile": "mfa"},
    }}));
    sandbox
}

/// The TokenCode of every AssumeRole the proxy saw.
fn codes_sent(proxy: &Proxy) -> Vec<String> {
    proxy
        .bodies("sts:AssumeRole")
        .iter()
        .filter_map(|body| {
            body.split('&')
                .find_map(|kv| kv.strip_prefix("TokenCode="))
                .map(str::to_string)
        })
        .collect()
}

fn oathtool_now() -> String {
    let out = Command::new(require_program("oathtool"))
        .args(["--totp", "-b", SEED])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs oathtool and setsid (Debian packages), Linux only"
)]
#[test]
fn mfa_process_gives_the_code_without_a_terminal_once_per_role_session() {
    let proxy = Proxy::start(&moto().endpoint);
    let dir = TempDir::new("mfa-process");
    let runs = dir.path().join("runs");
    let wrapper = dir.path().join("mfa-code");
    // Counts its runs, then prints the code as oathtool does (a YubiKey's ykman alike).
    script(
        &wrapper,
        &format!(
            "echo run >> '{}'\nexec {} --totp -b {SEED}",
            runs.display(),
            require_program("oathtool").display()
        ),
    );
    let sandbox = mfa_sandbox(&proxy, Some(wrapper.to_str().unwrap()));
    let before = oathtool_now();
    let out = sandbox.run_without_terminal(&["get"], REGISTRY, &[]);
    let after = oathtool_now();
    assert_credentials(&out, REGISTRY, PASSWORD);
    let codes = codes_sent(&proxy);
    assert_eq!(codes.len(), 1, "{codes:?}");
    assert!(
        codes[0] == before || codes[0] == after,
        "AssumeRole carried {:?}, oathtool printed {before} / {after}",
        codes[0]
    );
    // Another registry on the same role: the kept role session, no second code.
    let out = sandbox.run_without_terminal(&["get"], OTHER_REGISTRY, &[]);
    assert_credentials(&out, OTHER_REGISTRY, PASSWORD);
    assert_eq!(proxy.count("sts:AssumeRole"), 1, "{:?}", proxy.counts());
    assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 1);
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs setsid and pgrep, Linux only"
)]
#[test]
fn a_failing_lying_or_hanging_mfa_process_is_one_clear_line_within_the_limit() {
    let proxy = Proxy::start(&moto().endpoint);
    for (command, says) in [
        (
            "sh -c 'echo oops >&2; exit 1'",
            "it exited with exit status: 1",
        ),
        ("echo hello", "it printed 5 characters, not a 6-digit code"),
        ("sleep 7373", "it gave no code within 2 s and was stopped"),
    ] {
        let sandbox = mfa_sandbox(&proxy, Some(command));
        let started = Instant::now();
        let out =
            sandbox.run_without_terminal(&["get"], REGISTRY, &[("ECR_ROLE_MFA_TIMEOUT", "2")]);
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(1), "{command}");
        let said = stdout(&out);
        assert_eq!(said.lines().count(), 1, "{command}: {said}");
        assert!(
            said.contains("fix `mfa_process` in profile mfa"),
            "{command}: {said}"
        );
        assert!(said.contains(says), "{command}: {said}");
        assert!(
            !said.contains("oops"),
            "the process's stderr stays out: {said}"
        );
        assert!(took < Duration::from_secs(10), "{command}: took {took:?}");
    }
    let left = Command::new(require_program("pgrep"))
        .args(["-f", "sleep 7373"])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "the mfa_process outlived its limit");
    assert_eq!(proxy.count("sts:AssumeRole"), 0);
}

/// An X server of the test's own (Xvfb), stopped with SIGTERM so that it removes its
/// lock files.
struct Xvfb {
    child: Child,
    display: String,
    /// Whether this server made /tmp/.X11-unix (then it goes with the server).
    made_socket_dir: bool,
}

impl Xvfb {
    fn start() -> Xvfb {
        let program = require_program("Xvfb");
        let made_socket_dir = !Path::new("/tmp/.X11-unix").exists();
        for n in 90..140 {
            let display = format!(":{n}");
            if Path::new(&format!("/tmp/.X{n}-lock")).exists() {
                continue;
            }
            let mut child = Command::new(&program)
                .args([&display, "-nolisten", "tcp", "-screen", "0", "1024x768x24"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
            let until = Instant::now() + Duration::from_secs(10);
            while Instant::now() < until {
                if socket.exists() {
                    return Xvfb {
                        child,
                        display,
                        made_socket_dir,
                    };
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("Xvfb did not start: install it with install/test-deps.sh (Debian package xvfb)");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        // Xvfb removes its lock file and socket on SIGTERM, not the directory it made.
        if self.made_socket_dir {
            let _ = std::fs::remove_dir("/tmp/.X11-unix");
        }
    }
}

/// Waits for the helper's zenity window and sends it keys with xdotool; `gone` says
/// whether the `get` already ended (then no window will come: its output tells why).
fn answer_dialog(display: &str, keys: &[&[&str]], gone: &dyn Fn() -> bool) {
    let xdotool = require_program("xdotool");
    let until = Instant::now() + Duration::from_secs(60);
    let window = loop {
        let out = Command::new(&xdotool)
            .args(["search", "--name", "docker-credential-ecr-role"])
            .env("DISPLAY", display)
            .output()
            .unwrap();
        if let Some(id) = String::from_utf8_lossy(&out.stdout).lines().next() {
            break id.to_string();
        }
        if gone() {
            return;
        }
        assert!(
            Instant::now() < until,
            "no zenity window appeared within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // A moment for the entry to take the focus, then the keys.
    std::thread::sleep(Duration::from_millis(500));
    for key in keys {
        let status = Command::new(&xdotool)
            .args(["windowactivate", "--sync", &window])
            .env("DISPLAY", display)
            .status()
            .unwrap();
        let _ = status;
        let status = Command::new(&xdotool)
            .args(*key)
            .env("DISPLAY", display)
            .status()
            .unwrap();
        assert!(status.success(), "xdotool {key:?}");
    }
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs Xvfb, zenity and xdotool (Debian packages), Linux only"
)]
#[test]
fn a_real_zenity_dialog_gives_the_code_and_its_cancel_is_a_clear_error() {
    require_program("zenity");
    let xvfb = Xvfb::start();
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = mfa_sandbox(&proxy, None);
    let env = [
        ("DISPLAY", xvfb.display.as_str()),
        ("ECR_ROLE_MFA_PROMPT", "zenity"),
        ("ECR_ROLE_MFA_TIMEOUT", "90"),
        // GTK would look for the accessibility bus first (no session bus here): seconds.
        ("NO_AT_BRIDGE", "1"),
    ];
    let typed = std::thread::scope(|s| {
        let get = s.spawn(|| sandbox.run_without_terminal(&["get"], REGISTRY, &env));
        answer_dialog(
            &xvfb.display,
            &[&["type", "--delay", "50", "424242"], &["key", "Return"]],
            &|| get.is_finished(),
        );
        get.join().unwrap()
    });
    assert_credentials(&typed, REGISTRY, PASSWORD);
    assert_eq!(codes_sent(&proxy), ["424242"]);

    // Cancel: a fresh sandbox (no kept session), Escape closes the dialog.
    let sandbox = mfa_sandbox(&proxy, None);
    let cancelled = std::thread::scope(|s| {
        let get = s.spawn(|| sandbox.run_without_terminal(&["get"], REGISTRY, &env));
        answer_dialog(&xvfb.display, &[&["key", "Escape"]], &|| get.is_finished());
        get.join().unwrap()
    });
    assert_eq!(cancelled.status.code(), Some(1));
    let said = stdout(&cancelled);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("the MFA code dialog was cancelled (profile mfa)"),
        "{said}"
    );
    assert_eq!(proxy.count("sts:AssumeRole"), 1, "no call after a cancel");
}

/// A stand-in for macOS's `osascript` on PATH: it records its arguments and answers
/// as the real one does: the text returned on stdout, or for Cancel exit 1 with
/// `execution error: User canceled. (-128)` on stderr.
fn osascript_stand_in(dir: &Path, answer: Option<&str>) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let body = match answer {
        Some(text) => format!(
            "printf '%s\\n' \"$@\" > '{}'\necho {text}",
            dir.join("args").display()
        ),
        None => format!(
            "printf '%s\\n' \"$@\" > '{}'\necho '0:1: execution error: User canceled. (-128)' >&2\nexit 1",
            dir.join("args").display()
        ),
    };
    script(&bin.join("osascript"), &body);
    bin
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs setsid (util-linux), Linux only"
)]
#[test]
fn the_osascript_dialog_quotes_what_it_shows_and_reports_cancel() {
    let proxy = Proxy::start(&moto().endpoint);
    // Profile names are identifiers (no quotes); the serial carries the hostile text.
    let serial = r#"arn:aws:iam::123456789012:mfa/we"ird\name"#;
    let dir = TempDir::new("osascript");
    let sandbox = Sandbox::new(&proxy.endpoint);
    sandbox.add_profiles(&format!(
        "\n[profile mfa]\nrole_arn = {ROLE_ARN}\nsource_profile = default\nmfa_serial = {serial}\n"
    ));
    sandbox.write_settings(serde_json::json!({
        "mfa_prompt": "osascript",
        "registries": {REGISTRY: {"profile": "mfa"}},
    }));
    let bin = osascript_stand_in(dir.path(), Some("135790"));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sandbox.run_without_terminal(&["get"], REGISTRY, &[("PATH", &path)]);
    assert_credentials(&out, REGISTRY, PASSWORD);
    assert_eq!(codes_sent(&proxy), ["135790"]);
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    assert_eq!(
        args,
        "-e\ntext returned of (display dialog \"MFA code for arn:aws:iam::123456789012:mfa/we\\\"ird\\\\name (profile mfa)\" default answer \"\" with title \"docker-credential-ecr-role\" giving up after 60)\n"
    );

    let cancel_dir = TempDir::new("osascript-cancel");
    let bin = osascript_stand_in(cancel_dir.path(), None);
    let sandbox = Sandbox::new(&proxy.endpoint);
    sandbox.add_profiles(&format!(
        "\n[profile mfa]\nrole_arn = {ROLE_ARN}\nsource_profile = default\nmfa_serial = {MFA_SERIAL}\n"
    ));
    sandbox.write_settings(serde_json::json!({
        "registries": {REGISTRY: {"profile": "mfa", "mfa_prompt": "osascript"}},
    }));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sandbox.run_without_terminal(&["get"], REGISTRY, &[("PATH", &path)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("the MFA code dialog was cancelled (profile mfa)"),
        "{}",
        stdout(&out)
    );
}

#[cfg_attr(not(target_os = "linux"), ignore = "needs setsid, Linux only")]
#[test]
fn with_no_terminal_and_no_source_the_error_says_which_setting_works() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = mfa_sandbox(&proxy, None);
    let out = sandbox.run_without_terminal(&["get"], REGISTRY, &[]);
    assert_eq!(out.status.code(), Some(1));
    let said = stdout(&out);
    assert!(
        said.contains("set `mfa_process` in profile mfa, or ECR_ROLE_MFA_PROMPT=zenity"),
        "{said}"
    );
    // And doctor says where the code would come from.
    let out = sandbox.run(
        &["doctor", REGISTRY],
        "",
        &[("ECR_ROLE_MFA_PROMPT", "zenity")],
    );
    assert!(stdout(&out).contains("MFA source"), "{}", stdout(&out));
    assert!(stdout(&out).contains("zenity dialog"), "{}", stdout(&out));
}

/// macOS only: the real `osascript` (the CI workflow's macos-14 job). A dialog that
/// nobody answers gives up after the limit; the `get` says so in one line.
#[cfg(target_os = "macos")]
#[test]
fn the_real_osascript_dialog_gives_up_after_the_limit() {
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = mfa_sandbox(&proxy, None);
    let started = Instant::now();
    let out = sandbox.get(
        REGISTRY,
        &[
            ("ECR_ROLE_MFA_PROMPT", "osascript"),
            ("ECR_ROLE_MFA_TIMEOUT", "2"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let said = stdout(&out);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("within 2 s") || said.contains("the osascript MFA dialog failed"),
        "{said}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(proxy.count("sts:AssumeRole"), 0);
}
