//! A real Docker engine and real registries for the end-to-end tests, each on its
//! own socket, ports and directories, stopped when dropped (also when a test fails).
//!
//! The engine runs in a mount namespace of its own, where a private `/etc/hosts`
//! maps the ECR host names to 127.0.0.1: the real registry host name, without
//! touching the machine's `/etc/hosts`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::{TempDir, free_port, require_program, spawn_dying_with_parent, wait_for_port};

/// A registry (Debian's `docker-registry`) on 127.0.0.1, optionally with basic auth.
pub struct Registry {
    /// Its port.
    pub port: u16,
    /// `(user, password)` if it requires basic auth.
    pub auth: Option<(String, String)>,
    child: Child,
    _dir: TempDir,
}

impl Registry {
    /// Starts a registry; with `auth`, only that user and password may use it.
    pub fn start(auth: Option<(&str, &str)>) -> Registry {
        let registry = require_program("docker-registry");
        let dir = TempDir::new("registry");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = auth {
            let htpasswd = require_program("htpasswd");
            let out = Command::new(htpasswd)
                .args(["-Bbn", user, password])
                .output()
                .expect("run htpasswd");
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, out.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                file.display()
            ));
        }
        let config_file = dir.path().join("config.yml");
        std::fs::write(&config_file, config).unwrap();
        let child = spawn_dying_with_parent(
            Command::new(registry)
                .arg("serve")
                .arg(&config_file)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        wait_for_port(
            &format!("127.0.0.1:{port}"),
            "docker-registry",
            Duration::from_secs(30),
        );
        Registry {
            port,
            auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
            child,
            _dir: dir,
        }
    }

    /// The tags of a repository, through the registry's own API.
    pub fn tags(&self, repository: &str) -> Vec<String> {
        let mut request = format!(
            "GET /v2/{repository}/tags/list HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
            self.port
        );
        if let Some((user, password)) = &self.auth {
            let basic =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request.push_str(&format!("Authorization: Basic {basic}\r\n"));
        }
        request.push_str("\r\n");
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
        let response = String::from_utf8(super::read_all(stream)).unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
        let json: serde_json::Value = serde_json::from_str(body.trim())
            .unwrap_or_else(|_| panic!("tags/list answered {response:?}"));
        json["tags"]
            .as_array()
            .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Docker engine (Debian's `docker.io` dockerd) on a private socket.
pub struct Engine {
    /// `unix://…` for `DOCKER_HOST`.
    pub host: String,
    child: Child,
    dir: TempDir,
}

impl Engine {
    /// Starts an engine that resolves `names` to 127.0.0.1 and treats `insecure`
    /// registries (`host:port`) as plain HTTP.
    pub fn start(names: &[&str], insecure: &[String]) -> Engine {
        let dockerd = require_program("dockerd");
        let unshare = require_program("unshare");
        require_program("containerd");
        let dir = TempDir::new("engine");
        let hosts_file = dir.path().join("hosts");
        let mut hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        for name in names {
            hosts.push_str(&format!("\n127.0.0.1 {name}\n"));
        }
        std::fs::write(&hosts_file, hosts).unwrap();
        let socket = dir.path().join("docker.sock");
        let mut script = format!(
            "mount --bind {} /etc/hosts && exec {} --data-root {} --exec-root {} --pidfile {} --host unix://{} --iptables=false --ip-masq=false --bridge=none",
            hosts_file.display(),
            dockerd.display(),
            dir.path().join("data").display(),
            dir.path().join("exec").display(),
            dir.path().join("docker.pid").display(),
            socket.display(),
        );
        for registry in insecure {
            script.push_str(&format!(" --insecure-registry {registry}"));
        }
        let log = std::fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let child = spawn_dying_with_parent(
            Command::new(unshare)
                .args(["-m", "sh", "-c", &script])
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        let engine = Engine {
            host: format!("unix://{}", socket.display()),
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ok = Command::new(docker_cli())
                .arg("version")
                .env("DOCKER_HOST", &engine.host)
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not start within 60 s; its log:\n{}",
                engine.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        engine
    }

    /// dockerd's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    /// Where the engine keeps its files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containerd; SIGKILL if it takes too long.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `docker` CLI on PATH.
pub fn docker_cli() -> PathBuf {
    require_program("docker")
}

/// A `docker` CLI environment: the engine, a `DOCKER_CONFIG`, and the helper first on PATH.
pub struct DockerClient {
    /// The engine's `DOCKER_HOST`.
    pub host: String,
    /// The `DOCKER_CONFIG` directory.
    pub config: TempDir,
    /// A directory holding only `docker-credential-ecr-role`, put first on PATH.
    pub bin: TempDir,
    /// Environment for the CLI (and so for the helper it runs).
    pub env: Vec<(String, String)>,
}

impl DockerClient {
    /// A client of `engine` whose config.json maps each registry to a credential helper.
    pub fn new(engine: &Engine, cred_helpers: &[(String, &str)]) -> DockerClient {
        let config = TempDir::new("docker-config");
        let helpers: serde_json::Map<String, serde_json::Value> = cred_helpers
            .iter()
            .map(|(host, helper)| (host.clone(), serde_json::Value::from(*helper)))
            .collect();
        std::fs::write(
            config.path().join("config.json"),
            serde_json::json!({ "credHelpers": helpers }).to_string(),
        )
        .unwrap();
        let bin = TempDir::new("bin");
        std::os::unix::fs::symlink(super::HELPER, bin.path().join("docker-credential-ecr-role"))
            .unwrap();
        DockerClient {
            host: engine.host.clone(),
            config,
            bin,
            env: Vec::new(),
        }
    }

    /// Runs `docker ARGS` with this client's environment plus `extra`.
    pub fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(docker_cli());
        cmd.args(args)
            .env_clear()
            .env("PATH", path)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.config.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        super::run_with_stdin(&mut cmd, b"")
    }

    /// Makes an image named `reference` (its tag as content) and `docker push`es it.
    pub fn import_and_push(&self, reference: &str, extra: &[(&str, &str)]) -> Output {
        let tag = reference.rsplit(':').next().unwrap_or(reference);
        self.import_image(reference, tag);
        self.run(&["push", reference], extra)
    }

    /// Makes an image without pulling anything: a one-file tarball, `docker import`ed.
    pub fn import_image(&self, reference: &str, content: &str) {
        let dir = TempDir::new("image");
        std::fs::write(dir.path().join("hello.txt"), content).unwrap();
        let tar = dir.path().join("image.tar");
        let status = Command::new("tar")
            .arg("cf")
            .arg(&tar)
            .arg("-C")
            .arg(dir.path())
            .arg("hello.txt")
            .status()
            .expect("tar");
        assert!(status.success());
        let out = self.run(&["import", tar.to_str().unwrap(), reference], &[]);
        assert!(
            out.status.success(),
            "docker import failed: {}",
            super::stderr(&out)
        );
    }
}
