//! Test support: the real parts the integration tests run against, started and
//! stopped by the tests themselves.
//!
//! - [`moto`]: one moto server per test binary, with the user story's IAM setup
//!   (`seed.py`) and IAM enforcement on.
//! - [`Proxy`]: an HTTP proxy of our own between the helper and moto. It counts
//!   calls per operation, gives tokens a real expiry (moto's is in 2015), answers
//!   ECR Public (moto has none) and injects faults.
//! - [`Sandbox`]: a temporary HOME with the user's `~/.aws` files, and the helper
//!   binary run in it as docker runs it.
//!
//! A missing component fails the test with the command that installs it.

#![allow(dead_code)] // each test binary uses its own part of the support

pub mod docker;
pub mod proxy;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use std::time::{Duration, Instant};

#[allow(unused_imports)] // not every test binary uses the proxy
pub use proxy::Proxy;

/// The helper binary cargo built for these tests.
pub const HELPER: &str = env!("CARGO_BIN_EXE_docker-credential-ecr-role");
/// The account moto uses.
pub const ACCOUNT: &str = "123456789012";
/// The user story's registry host.
pub const REGISTRY: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com";
/// The password moto's token decodes to.
pub const PASSWORD: &str = "123456789012-auth-token";
/// The user story's role.
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/ECRLoginAndPushRole";
/// The role profile of the user story.
pub const ROLE_PROFILE: &str = "ECRLoginAndPushRoleProfile";

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails the test, naming what is missing and the script that installs it.
pub fn missing(what: &str) -> ! {
    panic!(
        "{what} is missing: run `install/test-deps.sh` (it installs the Debian packages and the Python venv the tests use)"
    );
}

/// The Python venv with moto, boto3 and the AWS CLI (`ECR_ROLE_TEST_VENV` or `.venv`).
pub fn venv() -> PathBuf {
    let venv = std::env::var_os("ECR_ROLE_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv"));
    if !venv.join("bin/moto_server").exists() {
        missing(&format!("moto server ({}/bin/moto_server)", venv.display()));
    }
    venv
}

/// A program on PATH, or the test fails saying how to install it.
pub fn require_program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in
        std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
    {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    missing(name)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until `addr` accepts connections.
pub fn wait_for_port(addr: &str, what: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on {addr} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running moto server with the user story's setup.
pub struct Moto {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// user-for-switch's access key id.
    pub access_key_id: String,
    /// user-for-switch's secret access key.
    pub secret_access_key: String,
    /// user-for-switch's second key (id, secret), as during a key rotation.
    pub second_key: (String, String),
}

/// The moto server of this test binary, started on first use. It is started from a
/// thread that lives as long as the process, with a parent-death signal, so it goes
/// when the test binary goes, whatever happens to the tests.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| long_lived_moto(&[]))
}

/// A moto server started from a thread that lives as long as the process (a
/// parent-death signal follows the spawning thread, not the process: a test's own
/// thread would take the server with it), seeded with `seed_args`.
fn long_lived_moto(seed_args: &[&str]) -> Moto {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (port, mut child) = spawn_moto();
        tx.send(port).unwrap();
        let _ = child.wait();
    });
    let port = rx.recv().expect("moto started");
    seeded(port, seed_args)
}

/// The test binary's moto server without IAM enforcement (for what enforcement cannot
/// serve: keys the test proxy hands out, the unsigned AssumeRoleWithWebIdentity, which
/// moto answers with HTTP 500 under enforcement).
pub fn open_moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| long_lived_moto(&["--no-enforce"]))
}

/// A moto server of one test's own, seeded with `seed_args` (e.g. policy files);
/// stopped when dropped.
pub struct OwnedMoto {
    /// The server and the user's keys.
    pub moto: Moto,
    child: Child,
}

impl OwnedMoto {
    /// Starts and seeds a server.
    pub fn start(seed_args: &[&str]) -> OwnedMoto {
        let (port, child) = spawn_moto();
        let mut owned = OwnedMoto {
            moto: Moto {
                endpoint: String::new(),
                access_key_id: String::new(),
                secret_access_key: String::new(),
                second_key: (String::new(), String::new()),
            },
            child,
        };
        owned.moto = seeded(port, seed_args);
        owned
    }
}

impl Drop for OwnedMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_moto() -> (u16, Child) {
    let venv = venv();
    let port = free_port();
    let child = spawn_dying_with_parent(
        Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    (port, child)
}

/// Waits for the server on `port`, builds the user story's setup in it and turns enforcement on.
fn seeded(port: u16, seed_args: &[&str]) -> Moto {
    let addr = format!("127.0.0.1:{port}");
    wait_for_port(&addr, "moto server", Duration::from_secs(30));
    let endpoint = format!("http://{addr}");
    let out = Command::new(venv().join("bin/python"))
        .arg(repo_root().join("tests/support/seed.py"))
        .arg(&endpoint)
        .args(seed_args)
        .output()
        .expect("run seed.py");
    assert!(
        out.status.success(),
        "seed.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).expect("seed.py prints JSON");
    Moto {
        endpoint,
        access_key_id: keys["access_key_id"].as_str().unwrap().to_string(),
        secret_access_key: keys["secret_access_key"].as_str().unwrap().to_string(),
        second_key: (
            keys["second_access_key_id"].as_str().unwrap().to_string(),
            keys["second_secret_access_key"]
                .as_str()
                .unwrap()
                .to_string(),
        ),
    }
}

/// Spawns a child that gets SIGKILL when the spawning thread ends (Linux's
/// parent-death signal; other systems have none, so there the child outlives a
/// test binary that dies without dropping it).
pub fn spawn_dying_with_parent(command: &mut Command) -> Child {
    // PR_SET_PDEATHSIG is Linux only (libc has no prctl on macOS).
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()))
}

/// A temporary directory (the `tempfile` crate's), removed when dropped.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// A new empty directory under the system temp dir, named after what it is for.
    pub fn new(name: &str) -> TempDir {
        TempDir(
            tempfile::Builder::new()
                .prefix(&format!("ecr-role-{name}-"))
                .tempdir()
                .expect("a temporary directory"),
        )
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// The helper's default token cache directory under `home`, where the `directories`
/// crate puts it: the XDG default on Linux, `~/Library/Caches` on macOS.
pub fn cache_dir_in(home: &Path) -> PathBuf {
    if cfg!(target_os = "macos") {
        home.join("Library/Caches/docker-credential-ecr-role")
    } else {
        home.join(".cache/docker-credential-ecr-role")
    }
}

/// The helper's default settings file under `home`, where the `directories` crate
/// puts it: the XDG default on Linux, `~/Library/Application Support` on macOS.
pub fn settings_file_in(home: &Path) -> PathBuf {
    if cfg!(target_os = "macos") {
        home.join("Library/Application Support/docker-credential-ecr-role/config.json")
    } else {
        home.join(".config/docker-credential-ecr-role/config.json")
    }
}

/// A user's machine in miniature: a HOME with `~/.aws/credentials` (user-for-switch's
/// keys) and `~/.aws/config` (the role profile, and one for a role the user may not assume),
/// and the helper pointed at an AWS endpoint.
pub struct Sandbox {
    /// The temporary HOME.
    pub home: TempDir,
    /// Where the helper sends AWS calls (`AWS_ENDPOINT_URL`).
    pub endpoint: String,
    /// Extra environment for every run.
    pub env: Vec<(String, String)>,
}

/// The user story's `~/.aws/config`, plus a profile for a role the user may not assume;
/// the one fixture the tests, the demo and the benchmark share.
pub const AWS_CONFIG: &str = include_str!("../fixtures/aws-config");

impl Sandbox {
    /// A sandbox whose helper talks to `endpoint` (moto, or a proxy in front of it).
    pub fn new(endpoint: &str) -> Sandbox {
        Sandbox::with_keys(endpoint, moto())
    }

    /// A sandbox with the user keys of a given moto server.
    pub fn with_keys(endpoint: &str, moto: &Moto) -> Sandbox {
        let home = TempDir::new("home");
        write_aws_files(&home.path().join(".aws"), moto, AWS_CONFIG);
        Sandbox {
            home,
            endpoint: endpoint.to_string(),
            env: Vec::new(),
        }
    }

    /// A sandbox whose settings map the user story's registry to the role profile, as
    /// `setup` writes them.
    pub fn mapped(endpoint: &str) -> Sandbox {
        let sandbox = Sandbox::new(endpoint);
        sandbox.write_settings(
            serde_json::json!({"registries": {REGISTRY: {"profile": ROLE_PROFILE}}}),
        );
        sandbox
    }

    /// A sandbox whose settings serve every ECR registry through the role profile
    /// (`default_profile`), for tests that use more than one registry or none in particular.
    pub fn role_by_default(endpoint: &str) -> Sandbox {
        let sandbox = Sandbox::new(endpoint);
        sandbox.write_settings(serde_json::json!({"default_profile": ROLE_PROFILE}));
        sandbox
    }

    /// Adds an environment variable to every run.
    pub fn with_env(mut self, key: &str, value: &str) -> Sandbox {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Writes the helper's settings file.
    pub fn write_settings(&self, settings: serde_json::Value) {
        write_file(&self.settings_file(), &settings.to_string());
    }

    /// Appends profiles to this HOME's `~/.aws/config`.
    pub fn add_profiles(&self, text: &str) {
        let path = self.home.path().join(".aws/config");
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(text);
        std::fs::write(path, config).unwrap();
    }

    /// The helper's token cache directory under this HOME (see [`cache_dir_in`]).
    pub fn cache_dir(&self) -> PathBuf {
        cache_dir_in(self.home.path())
    }

    /// The cached token files (`token-*`) in the default cache directory.
    pub fn token_files(&self) -> Vec<PathBuf> {
        files_named(&self.cache_dir(), "token-")
    }

    /// The helper's settings file under this HOME (see [`settings_file_in`]).
    pub fn settings_file(&self) -> PathBuf {
        settings_file_in(self.home.path())
    }

    /// The environment every run of the helper gets (see [`Sandbox::command`]), for
    /// commands that run it through another program (`setsid`, `script`, `time`).
    pub fn env(&self) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
        self.command(&[])
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
            .collect()
    }

    /// A command for the helper with this sandbox's clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(HELPER);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .current_dir(self.home.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the helper with `stdin`, as docker does.
    pub fn run(&self, args: &[&str], stdin: &str, extra_env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        run_with_stdin(&mut cmd, stdin.as_bytes())
    }

    /// `get` for a registry URL.
    pub fn get(&self, server_url: &str, extra_env: &[(&str, &str)]) -> Output {
        self.run(&["get"], server_url, extra_env)
    }

    /// `get` for a registry URL, and how long it took (for the documented bounds).
    pub fn timed_get(&self, server_url: &str, extra_env: &[(&str, &str)]) -> (Output, Duration) {
        let start = Instant::now();
        let out = self.get(server_url, extra_env);
        (out, start.elapsed())
    }

    /// Runs the helper with no controlling terminal at all (`setsid`), as docker does
    /// from CI, an IDE or a GUI.
    pub fn run_without_terminal(
        &self,
        args: &[&str],
        stdin: &str,
        extra_env: &[(&str, &str)],
    ) -> Output {
        let mut cmd = Command::new(require_program("setsid"));
        cmd.arg("-w")
            .arg(HELPER)
            .args(args)
            .env_clear()
            .envs(self.env())
            .envs(extra_env.iter().map(|(k, v)| (*k, *v)));
        run_with_stdin(&mut cmd, stdin.as_bytes())
    }
}

/// `~/.aws/credentials` text whose `default` profile has these keys.
/// Writes `contents` to `path`, creating its missing directories.
pub fn write_file(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Writes an `~/.aws` directory at `aws`: the moto server's user keys as `default` in
/// `credentials`, and `config`.
pub fn write_aws_files(aws: &Path, moto: &Moto, config: &str) {
    write_file(
        &aws.join("credentials"),
        &credentials_file(&moto.access_key_id, &moto.secret_access_key),
    );
    write_file(&aws.join("config"), config);
}

pub fn credentials_file(access_key_id: &str, secret_access_key: &str) -> String {
    format!(
        "[default]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret_access_key}\n"
    )
}

/// The files in `dir` whose names start with `prefix`, sorted (none if `dir` is missing).
pub fn files_named(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A path's permission bits (with setuid, setgid and sticky).
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// A real flock(1) holding an exclusive lock on a file until dropped, as another
/// process of the user's would.
pub struct LockHolder(Child);

impl LockHolder {
    /// Starts the holder and returns once it holds the lock (within 10 s). A missing
    /// file is made 0600 first, as the helper makes its own (it uses no other).
    pub fn hold(path: &Path) -> LockHolder {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let flock = require_program("flock");
        let holder = LockHolder(
            Command::new(&flock)
                .arg("-x")
                .arg(path)
                .arg(require_program("cat"))
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        // flock(1) says nothing once it holds the lock; `flock -n` failing shows it does.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Command::new(&flock)
            .args(["-n", "-s"])
            .arg(path)
            .arg("true")
            .status()
            .unwrap()
            .success()
        {
            assert!(
                Instant::now() < deadline,
                "flock never took the lock on {}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        holder
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a command, feeding it `stdin` (snapbox, as cargo's own credential tests do),
/// with a bounded wait, so a hanging helper fails the test instead of hanging it.
pub fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    let shown = format!("{cmd:?}");
    let taken = std::mem::replace(cmd, Command::new("true"));
    let out = snapbox::cmd::Command::from_std(taken)
        .stdin(stdin.to_vec())
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    // A killed process (the timeout) has no exit code.
    assert!(
        out.status.code().is_some() || out.status.success(),
        "the command did not finish within 120 s (or was killed): {shown}"
    );
    out
}

/// A command that runs `program` as another local user (`setpriv`), uid = gid = `uid`,
/// no supplementary groups. The tests run as root (CI does); without root the test
/// fails saying so rather than skip.
pub fn as_user(uid: u32, program: impl AsRef<std::ffi::OsStr>) -> Command {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "this test switches to another local user with setpriv, which needs root: run the tests as root (CI does)"
    );
    let mut cmd = Command::new(require_program("setpriv"));
    cmd.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"))
        .arg("--clear-groups")
        .arg(program);
    cmd
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the helper answered docker's `get` with the role's ECR credentials.
pub fn assert_credentials(out: &Output, server_url: &str, password: &str) {
    assert!(
        out.status.success(),
        "get failed: stdout {:?} stderr {:?}",
        stdout(out),
        stderr(out)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("get prints JSON");
    assert_eq!(json["ServerURL"], server_url);
    assert_eq!(json["Username"], "AWS");
    assert_eq!(json["Secret"], password);
    assert!(stdout(out).ends_with('\n'));
}

/// Asserts a text is one line a terminal shows as it is: no control characters, and
/// bounded (hostile endpoint text is cut, never passed on whole).
pub fn assert_one_clean_line(text: &str) {
    assert_eq!(text.lines().count(), 1, "one line: {text:?}");
    assert!(
        !text.trim_end_matches('\n').chars().any(char::is_control),
        "no control characters: {text:?}"
    );
    assert!(text.len() <= 1100, "bounded: {} bytes", text.len());
}

/// Asserts the helper failed (exit 1) with one clean line naming every part, on stdout
/// for docker and the same line on stderr for the person at the terminal.
pub fn assert_one_line_error(out: &Output, parts: &[&str]) {
    let message = stdout(out);
    assert_eq!(out.status.code(), Some(1), "stdout {message:?}");
    assert_one_clean_line(&message);
    for part in parts {
        assert!(message.contains(part), "{part:?} missing from {message:?}");
    }
    assert_eq!(stderr(out), message, "the same line on stderr");
}

/// Reads all of a reader (for small HTTP bodies in tests).
pub fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).unwrap();
    v
}
