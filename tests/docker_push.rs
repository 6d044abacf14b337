//! End to end, as the user lives it: the real `docker` CLI, a real Docker engine,
//! a real registry with basic auth, and moto with IAM enforcement behind the
//! counting proxy. `credHelpers` names the helper; there is no `docker login`.

mod support;

use support::docker::{DockerClient, Engine, Registry};
use support::*;

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs dockerd, the docker CLI, docker-registry, htpasswd and unshare (Debian packages) and root, Linux only"
)]
#[test]
fn docker_push_to_test_repos_just_works_through_the_role() {
    let proxy = Proxy::start(&moto().endpoint);
    let ecr = Registry::start(Some(("AWS", PASSWORD)));
    let other = Registry::start(None);
    let ecr_host = format!("{REGISTRY}:{}", ecr.port);
    let other_host = format!("registry.example.test:{}", other.port);
    // A custom name for the same registry (a corporate alias in front of ECR).
    let alias = format!("registry.corp.test:{}", ecr.port);
    let engine = Engine::start(
        &[REGISTRY, "registry.example.test", "registry.corp.test"],
        &[ecr_host.clone(), other_host.clone(), alias.clone()],
    );

    // The user's machine: ~/.aws as in the user story; docker's config maps another
    // registry to the helper already, and `setup` wires ours to the role profile.
    let sandbox = Sandbox::new(&proxy.endpoint);
    let mut docker = DockerClient::new(&engine, &[(other_host.clone(), "ecr-role")]);
    let docker_config = docker.config.path().display().to_string();
    let setup = sandbox.run(
        &["setup", "--registry", &ecr_host, "--profile", ROLE_PROFILE],
        "",
        &[("DOCKER_CONFIG", &docker_config)],
    );
    assert!(setup.status.success(), "setup failed: {}", stderr(&setup));
    let setup = sandbox.run(
        &[
            "setup",
            "--registry",
            &alias,
            "--registry-id",
            ACCOUNT,
            "--region",
            "ap-northeast-1",
            "--profile",
            ROLE_PROFILE,
        ],
        "",
        &[("DOCKER_CONFIG", &docker_config)],
    );
    assert!(
        setup.status.success(),
        "setup of the alias failed: {}",
        stderr(&setup)
    );
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(docker.config.path().join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        config["credHelpers"][&ecr_host], "ecr-role",
        "setup wired docker"
    );
    assert_eq!(config["credHelpers"][&alias], "ecr-role");
    assert_eq!(
        config["credHelpers"][&other_host], "ecr-role",
        "and kept the other entry"
    );
    docker.env = vec![
        ("HOME".into(), sandbox.home.path().display().to_string()),
        ("AWS_ENDPOINT_URL".into(), proxy.endpoint.clone()),
    ];

    // 1. docker push, no docker login.
    let image = format!("{ecr_host}/test-repos:first");
    let out = docker.import_and_push(&image, &[]);
    assert!(
        out.status.success(),
        "docker push failed:\nstdout: {}\nstderr: {}\nproxy: {:?}",
        stdout(&out),
        stderr(&out),
        proxy.counts()
    );
    assert!(
        ecr.tags("test-repos").contains(&"first".to_string()),
        "the registry has the tag"
    );
    assert_eq!(proxy.count("sts:AssumeRole"), 1);
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 1);

    // 2. A second push is served from the cache: nothing reaches the emulator.
    let calls = proxy.total();
    let image2 = format!("{ecr_host}/test-repos:second");
    let out = docker.import_and_push(&image2, &[]);
    assert!(out.status.success(), "second push failed: {}", stderr(&out));
    assert!(ecr.tags("test-repos").contains(&"second".to_string()));
    assert_eq!(
        proxy.total(),
        calls,
        "the second push made AWS calls: {:?}",
        proxy.counts()
    );

    // 3. A registry that is not ECR, mapped to us too: docker goes anonymous, we stay quiet.
    let anon = format!("{other_host}/library/hello:anon");
    let out = docker.import_and_push(&anon, &[]);
    assert!(
        out.status.success(),
        "anonymous push failed: {}",
        stderr(&out)
    );
    assert!(other.tags("library/hello").contains(&"anon".to_string()));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !said.contains("docker-credential-ecr-role"),
        "the helper spoke about a foreign registry: {said}"
    );
    assert_eq!(proxy.total(), calls);

    // 4. The custom name: same registry, same cached token, pushed through docker.
    let custom = format!("{alias}/test-repos:custom");
    let out = docker.import_and_push(&custom, &[]);
    assert!(
        out.status.success(),
        "push through the custom name failed: {}",
        stderr(&out)
    );
    assert!(ecr.tags("test-repos").contains(&"custom".to_string()));
    assert_eq!(
        proxy.total(),
        calls,
        "the alias shares the registry's cached token"
    );

    // 5. The user's own profile (no role): the push fails, and docker shows our reason.
    let denied = format!("{ecr_host}/test-repos:denied");
    let out = docker.import_and_push(&denied, &[("ECR_ROLE_PROFILE", "default")]);
    assert!(!out.status.success(), "a push without the role must fail");
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        said.contains("user-for-switch may not call ecr:GetAuthorizationToken (AccessDenied)"),
        "docker's output lacks the helper's reason:\n{said}"
    );
    assert!(!ecr.tags("test-repos").contains(&"denied".to_string()));
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs dockerd, the docker CLI, docker-registry, htpasswd, skopeo and unshare (Debian packages) and root, Linux only"
)]
#[test]
fn skopeo_and_a_legacy_docker_build_use_the_helper_too() {
    let skopeo = require_program("skopeo");
    let unshare = require_program("unshare");
    let proxy = Proxy::start(&moto().endpoint);
    let ecr = Registry::start(Some(("AWS", PASSWORD)));
    let ecr_host = format!("{REGISTRY}:{}", ecr.port);
    let engine = Engine::start(&[REGISTRY], std::slice::from_ref(&ecr_host));
    let sandbox = Sandbox::mapped(&proxy.endpoint);
    let mut docker = DockerClient::new(&engine, &[(ecr_host.clone(), "ecr-role")]);
    docker.env = vec![
        ("HOME".into(), sandbox.home.path().display().to_string()),
        ("AWS_ENDPOINT_URL".into(), proxy.endpoint.clone()),
    ];

    // A legacy `docker build` (no BuildKit): FROM an image in the registry, pulled
    // through the helper; the builder asks the helper for every credHelpers entry.
    let base = format!("{ecr_host}/test-repos:base");
    let out = docker.import_and_push(&base, &[]);
    assert!(
        out.status.success(),
        "push of the base image: {}",
        stderr(&out)
    );
    let removed = docker.run(&["image", "rm", &base], &[]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let context = TempDir::new("build-context");
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {base}\nLABEL built-by=legacy-builder\n"),
    )
    .unwrap();
    let built = format!("{ecr_host}/test-repos:built");
    let out = docker.run(
        &["build", "-t", &built, context.path().to_str().unwrap()],
        &[("DOCKER_BUILDKIT", "0")],
    );
    assert!(
        out.status.success(),
        "legacy docker build failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let out = docker.run(&["push", &built], &[]);
    assert!(
        out.status.success(),
        "push of the built image: {}",
        stderr(&out)
    );
    assert!(ecr.tags("test-repos").contains(&"built".to_string()));

    // skopeo (containers/image): reads docker's credHelpers, runs the helper, copies an
    // image into the registry. Its own name resolution sees the registry's name through
    // a private /etc/hosts, as the engine does.
    let archive = TempDir::new("skopeo");
    let tarball = archive.path().join("image.tar");
    let out = docker.run(&["save", "-o", tarball.to_str().unwrap(), &built], &[]);
    assert!(out.status.success(), "docker save: {}", stderr(&out));
    let hosts = archive.path().join("hosts");
    std::fs::write(
        &hosts,
        format!(
            "{}\n127.0.0.1 {REGISTRY}\n",
            std::fs::read_to_string("/etc/hosts").unwrap_or_default()
        ),
    )
    .unwrap();
    let authfile = docker.config.path().join("config.json");
    let script = format!(
        "mount --bind {} /etc/hosts && exec {} --insecure-policy copy --dest-tls-verify=false --dest-authfile {} docker-archive:{} docker://{ecr_host}/test-repos:skopeo",
        hosts.display(),
        skopeo.display(),
        authfile.display(),
        tarball.display(),
    );
    let path = format!(
        "{}:{}",
        docker.bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let calls = proxy.count("ecr:GetAuthorizationToken");
    let mut cmd = std::process::Command::new(unshare);
    cmd.args(["-m", "sh", "-c", &script])
        .env_clear()
        .env("PATH", path)
        .env("HOME", sandbox.home.path())
        .env("AWS_ENDPOINT_URL", &proxy.endpoint);
    let out = run_with_stdin(&mut cmd, b"");
    assert!(
        out.status.success(),
        "skopeo copy failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(ecr.tags("test-repos").contains(&"skopeo".to_string()));
    assert_eq!(
        proxy.count("ecr:GetAuthorizationToken"),
        calls,
        "skopeo was served from the helper's cache"
    );
}
