//! The release binary where our users are, not only where it was built: it needs no
//! glibc newer than 2.28 (it is static), it runs a miss, a hit and `doctor` inside a
//! Debian 11 root (glibc 2.31) and inside an empty root (only the binary, /etc/hosts
//! and the AWS files: the shape of an Alpine image, which has no glibc at all), and as
//! a uid with no passwd entry and no HOME it gives its one-line error instead of
//! crashing. The emulator is moto behind the counting proxy, as everywhere.
//!
//! install/test.sh builds the archive (install/release.sh), installs it as the README
//! says and makes the Debian 11 root (debootstrap, kept in target/roots); it names
//! both here through ECR_ROLE_RELEASE_BIN and ECR_ROLE_DEBIAN11_ROOT.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::*;

/// The installed release binary, or how to get one.
fn release_binary() -> PathBuf {
    match std::env::var_os("ECR_ROLE_RELEASE_BIN") {
        Some(path) if Path::new(&path).is_file() => PathBuf::from(path),
        _ => panic!(
            "the release binary is missing: set ECR_ROLE_RELEASE_BIN to one installed from its archive, or run install/test.sh, which builds it with install/release.sh and runs these tests"
        ),
    }
}

/// The Debian 11 root, or how to make one.
fn debian11_root() -> PathBuf {
    match std::env::var_os("ECR_ROLE_DEBIAN11_ROOT") {
        Some(path) if Path::new(&path).join("etc/debian_version").is_file() => PathBuf::from(path),
        _ => panic!(
            "the Debian 11 root is missing: set ECR_ROLE_DEBIAN11_ROOT, or run install/test.sh, which makes one with `debootstrap --variant=minbase bullseye target/roots/bullseye`"
        ),
    }
}

/// The highest `GLIBC_x.y` version the binary asks for, if any.
fn highest_glibc(binary: &Path) -> Option<(u32, u32)> {
    let out = Command::new(require_program("objdump"))
        .arg("-T")
        .arg(binary)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("GLIBC_")
        .skip(1)
        .filter_map(|rest| {
            let version: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "a Linux release binary, Linux only"
)]
fn the_release_binary_needs_no_glibc_newer_than_2_28_and_no_shared_library() {
    let binary = release_binary();
    if let Some(version) = highest_glibc(&binary) {
        assert!(
            version <= (2, 28),
            "needs GLIBC_{}.{}",
            version.0,
            version.1
        );
    }
    let headers = Command::new(require_program("objdump"))
        .arg("-p")
        .arg(&binary)
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&headers.stdout);
    assert!(
        !headers.contains("NEEDED"),
        "the release binary loads shared libraries:\n{headers}"
    );
    // And no builder's path is left in it.
    let bytes = std::fs::read(&binary).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains("/.cargo/registry/"),
        "a ~/.cargo/registry path"
    );
    let checkout = repo_root().display().to_string();
    assert!(!text.contains(&checkout), "the checkout's path {checkout}");
}

/// A root to run the binary in, with the user story's AWS files in `home` (a path
/// inside the root), and what a `get` there needs.
struct Root {
    dir: PathBuf,
    home: String,
    endpoint: String,
}

impl Root {
    /// Puts the binary at /usr/local/bin inside `dir` and a home with the sandbox's
    /// AWS files and the registry mapped to the role profile.
    fn prepare(dir: &Path, home: &str, sandbox: &Sandbox, endpoint: &str) -> Root {
        let bin = dir.join("usr/local/bin");
        std::fs::create_dir_all(&bin).unwrap();
        // Always the binary under test (the Debian root is kept between runs). Copied by
        // cp(1), not in this process: a child another test forks while the copy's write
        // descriptor is open would hold it until its exec, and running the binary then
        // fails with "Text file busy" (ETXTBSY).
        let copied = Command::new(require_program("cp"))
            .arg(release_binary())
            .arg(bin.join("docker-credential-ecr-role"))
            .status()
            .unwrap();
        assert!(
            copied.success(),
            "cp of the release binary into {}",
            dir.display()
        );
        let inside = dir.join(home.trim_start_matches('/'));
        std::fs::create_dir_all(inside.join(".aws")).unwrap();
        for file in ["config", "credentials"] {
            std::fs::copy(
                sandbox.home.path().join(".aws").join(file),
                inside.join(".aws").join(file),
            )
            .unwrap();
        }
        // Docker's config hands the registry to the helper, as `setup` writes it.
        write_file(
            &inside.join(".docker/config.json"),
            &serde_json::json!({"credHelpers": {REGISTRY: "ecr-role"}}).to_string(),
        );
        write_file(
            &inside.join(".config/docker-credential-ecr-role/config.json"),
            &serde_json::json!({"registries": {REGISTRY: {"profile": ROLE_PROFILE}}}).to_string(),
        );
        Root {
            dir: dir.to_path_buf(),
            home: home.to_string(),
            endpoint: endpoint.to_string(),
        }
    }

    /// Runs the binary inside the root (chroot), as docker would.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut cmd = Command::new(require_program("chroot"));
        cmd.arg(&self.dir)
            .arg("/usr/local/bin/docker-credential-ecr-role")
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.home)
            .env("AWS_ENDPOINT_URL", &self.endpoint);
        run_with_stdin(&mut cmd, stdin.as_bytes())
    }

    /// A miss (AssumeRole and GetAuthorizationToken through the proxy), a hit (no
    /// call), then `doctor`, all passing.
    fn miss_hit_doctor(&self, proxy: &Proxy) {
        let version = self.run(&["--version"], "");
        assert!(version.status.success(), "--version: {}", stderr(&version));
        let out = self.run(&["get"], REGISTRY);
        assert_credentials(&out, REGISTRY, PASSWORD);
        assert_eq!(proxy.count("sts:AssumeRole"), 1, "{:?}", proxy.counts());
        assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 1);
        let calls = proxy.total();
        let out = self.run(&["get"], REGISTRY);
        assert_credentials(&out, REGISTRY, PASSWORD);
        assert_eq!(proxy.total(), calls, "the hit made AWS calls");
        let doctor = self.run(&["doctor", REGISTRY], "");
        assert!(
            doctor.status.success(),
            "doctor failed:\n{}{}",
            stdout(&doctor),
            stderr(&doctor)
        );
        assert!(
            stdout(&doctor).contains(ROLE_PROFILE),
            "{}",
            stdout(&doctor)
        );
    }
}

/// Requires root: chroot does.
fn require_root() {
    let uid = std::fs::metadata("/proc/self").map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    });
    assert_eq!(
        uid.unwrap_or(1),
        0,
        "this test runs the binary in a chroot, which needs root: run the tests as root (CI does)"
    );
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs debootstrap, chroot and root, Linux only"
)]
fn the_release_binary_runs_a_miss_a_hit_and_doctor_in_a_debian_11_root() {
    require_root();
    let root_dir = debian11_root();
    // Debian 11's glibc is 2.31 (bullseye is not usr-merged: /lib is its own directory).
    let glibc = ["lib", "usr/lib"].iter().any(|lib| {
        root_dir
            .join(lib)
            .join(format!("{}-linux-gnu/libc-2.31.so", std::env::consts::ARCH))
            .exists()
    });
    assert!(glibc, "{} has no glibc 2.31", root_dir.display());
    let proxy = Proxy::start(&moto().endpoint);
    let sandbox = Sandbox::new(&proxy.endpoint);
    let home = format!("/tmp/reach-{}", std::process::id());
    let root = Root::prepare(&root_dir, &home, &sandbox, &proxy.endpoint);
    root.miss_hit_doctor(&proxy);
    let _ = std::fs::remove_dir_all(root_dir.join(home.trim_start_matches('/')));
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "needs chroot and root, Linux only")]
fn the_release_binary_runs_a_miss_a_hit_and_doctor_in_an_empty_root() {
    require_root();
    let proxy = Proxy::start(&moto().endpoint);
    // A host name, so the static binary's own resolver reads the root's /etc/hosts.
    let port = proxy.endpoint.rsplit(':').next().unwrap().to_string();
    let endpoint = format!("http://aws-emulator.test:{port}");
    let sandbox = Sandbox::new(&endpoint);
    let dir = TempDir::new("empty-root");
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::write(
        dir.path().join("etc/hosts"),
        "127.0.0.1 localhost\n127.0.0.1 aws-emulator.test\n",
    )
    .unwrap();
    let root = Root::prepare(dir.path(), "/home/user", &sandbox, &endpoint);
    root.miss_hit_doctor(&proxy);
    let mut entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        ["etc", "home", "usr"],
        "the root held only what the test put there"
    );
}

#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs setpriv and root, Linux only"
)]
fn the_release_binary_without_passwd_entry_and_home_gives_one_clear_line() {
    let binary = release_binary();
    let dir = TempDir::new("nobody-cwd");
    std::fs::set_permissions(
        dir.path(),
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o777),
    )
    .unwrap();
    for args in [&["get"][..], &["doctor", REGISTRY][..], &["list"][..]] {
        let mut cmd = as_user(4242, &binary);
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .current_dir(dir.path());
        let out = run_with_stdin(&mut cmd, REGISTRY.as_bytes());
        let shown = format!(
            "{args:?}: status {:?}\n{}{}",
            out.status,
            stdout(&out),
            stderr(&out)
        );
        assert!(out.status.code().is_some(), "killed by a signal: {shown}");
        if args[0] == "list" {
            continue;
        }
        assert_eq!(out.status.code(), Some(1), "{shown}");
        let message = if args[0] == "get" {
            stdout(&out)
        } else {
            stderr(&out)
        };
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {shown}");
        assert!(lines[0].contains("HOME"), "names the fix: {shown}");
    }
}
