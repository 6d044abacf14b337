//! `setup` and `registries --remove` against the third security review (issue 20,
//! items 7, 8 and 9): one named regression test per finding, each running the real
//! binary in a sandbox HOME. No AWS endpoint is needed: neither command calls AWS.
//!
//! - 7: `setup` decides from the profile as the AWS SDK reads it (sections merged,
//!   only column-0 `[` lines are headers), and refuses a profile split across sections.
//! - 8: `setup --dry-run` shows no value it does not write, and docker's
//!   `config.json` is edited in place, keeping its layout byte for byte.
//! - 9: concurrent `setup` and `registries --remove` runs lose no update.
//! - 15: a symlinked user file (even a dangling link) is written through, the link
//!   kept; a custom registry name that is a public registry is refused, any other
//!   is warned about.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Barrier;

use support::*;

/// No AWS call is made by `setup` or `registries`: an endpoint nobody listens on.
const NOWHERE: &str = "http://127.0.0.1:9";

/// A sandbox HOME with the user story's `~/.aws` files and keys nobody can use.
fn sandbox() -> Sandbox {
    let keys = Moto {
        endpoint: NOWHERE.to_string(),
        access_key_id: "AKIAFAKEFAKEFAKEFAKE".to_string(),
        secret_access_key: "fake-secret-key-for-setup-tests".to_string(),
        second_key: (String::new(), String::new()),
    };
    Sandbox::with_keys(NOWHERE, &keys)
}

fn aws_config(sandbox: &Sandbox) -> PathBuf {
    sandbox.home.path().join(".aws/config")
}

fn docker_config(sandbox: &Sandbox) -> PathBuf {
    sandbox.home.path().join(".docker/config.json")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `setup` with these arguments (no stdin).
fn setup(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut all = vec!["setup"];
    all.extend_from_slice(args);
    sandbox.run(&all, "", &[])
}

fn transcript(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    )
}

/// The registry of a test account (`N` picks it), in Tokyo.
fn registry(n: usize) -> String {
    format!(
        "{:012}.dkr.ecr.ap-northeast-1.amazonaws.com",
        100_000_000_000 + n
    )
}

const PUSH_ONLY: &str = "arn:aws:iam::123456789012:role/ECRPushOnly";
/// `setup`'s arguments that map the registry to a profile `push` switching into [`PUSH_ONLY`].
const PUSH_ARGS: [&str; 6] = [
    "--registry",
    REGISTRY,
    "--profile",
    "push",
    "--role-arn",
    PUSH_ONLY,
];
const ADMIN: &str = "arn:aws:iam::123456789012:role/Admin";

// Item 7: the role setup confirms is the role the SDK uses.

#[test]
fn setup_refuses_a_profile_split_across_two_sections() {
    let sandbox = sandbox();
    // The SDK merges the two sections (later keys win): `push` assumes Admin.
    let text = format!(
        "[default]\nregion = ap-northeast-1\n\n[profile push]\nrole_arn = {PUSH_ONLY}\nsource_profile = default\n\n\
         [profile dev]\nregion = us-east-1\n\n[profile push]\nrole_arn = {ADMIN}\n"
    );
    write_file(&aws_config(&sandbox), &text);
    for extra in [&[][..], &["--dry-run"][..]] {
        let args = [&PUSH_ARGS[..], extra].concat();
        let out = setup(&sandbox, &args);
        assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
        let said = stderr(&out);
        assert_eq!(said.lines().count(), 1, "one line: {said}");
        // What to do first, then the profile and the file.
        assert!(
            said.starts_with("docker-credential-ecr-role: merge the sections of profile push"),
            "{said}"
        );
        assert!(said.contains("~/.aws/config"), "{said}");
        assert!(!stdout(&out).contains("already set up"), "{}", stdout(&out));
    }
    assert_eq!(read(&aws_config(&sandbox)), text, "nothing was changed");
    assert!(!docker_config(&sandbox).exists(), "nothing was wired");
}

#[test]
fn setup_never_takes_an_indented_line_for_a_section_header() {
    let sandbox = sandbox();
    // To the SDK, the indented line continues dev's `region`: there is no profile `push`.
    let text = "[default]\nregion = ap-northeast-1\n\n[profile dev]\nregion = us-east-1\n  [profile push]\n";
    write_file(&aws_config(&sandbox), text);
    let out = setup(&sandbox, &PUSH_ARGS);
    assert!(out.status.success(), "{}", transcript(&out));
    assert_eq!(
        read(&aws_config(&sandbox)),
        format!("{text}\n[profile push]\nrole_arn = {PUSH_ONLY}\nsource_profile = default\n"),
        "a new section of its own; dev is unchanged"
    );
    // And that is what the profile now is: a second run finds it set up.
    let again = setup(&sandbox, &PUSH_ARGS);
    assert!(again.status.success(), "{}", transcript(&again));
    assert!(
        stdout(&again).contains("~/.aws/config: already set up"),
        "{}",
        transcript(&again)
    );
}

#[test]
fn setup_refuses_a_role_that_the_credentials_file_overrides() {
    let sandbox = sandbox();
    let credentials = sandbox.home.path().join(".aws/credentials");
    let mut creds = read(&credentials);
    // The SDK reads the credentials file's keys over the config file's.
    creds.push_str(&format!("\n[push]\nrole_arn = {ADMIN}\n"));
    write_file(&credentials, &creds);
    let before = read(&aws_config(&sandbox));
    let out = setup(&sandbox, &PUSH_ARGS);
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let said = stderr(&out);
    assert!(said.contains("~/.aws/credentials"), "{said}");
    assert!(said.contains(ADMIN), "{said}");
    assert!(!said.contains("fake-secret-key"), "{said}");
    assert_eq!(read(&aws_config(&sandbox)), before);
}

// Item 8: --dry-run shows no value it does not write; config.json is edited in place.

#[test]
fn setup_dry_run_shows_no_value_it_does_not_write() {
    let bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LWJlYXJlcg";
    let proxy_password = "pr0xy-Passw0rd-9f2c";
    let process_token = "tok-7d1e5c0a2b";
    let laid_out = format!(
        "{{\n\t\"HttpHeaders\": {{\"Authorization\": \"{bearer}\"}},\n\t\"credHelpers\": {{\n\t\t\"gcr.io\": \"gcloud\"\n\t}},\n\
         \t\"proxies\": {{\"default\": {{\"httpsProxy\": \"http://proxyuser:{proxy_password}@proxy.example:3128\"}}}}\n}}\n"
    );
    let one_line = format!(
        "{{\"HttpHeaders\":{{\"Authorization\":\"{bearer}\"}},\"proxies\":{{\"default\":{{\"httpProxy\":\"http://u:{proxy_password}@p:3128\"}}}}}}"
    );
    for docker in [laid_out, one_line] {
        let sandbox = sandbox();
        write_file(&docker_config(&sandbox), &docker);
        write_file(
            &aws_config(&sandbox),
            &format!(
                "[default]\nregion = ap-northeast-1\n\n[profile dev]\ncredential_process = /usr/local/bin/fetch --token {process_token}\n"
            ),
        );
        let out = setup(&sandbox, &[&PUSH_ARGS[..], &["--dry-run"]].concat());
        assert!(out.status.success(), "{}", transcript(&out));
        let said = stdout(&out);
        for secret in [
            "eyJhbGciOiJIUzI1NiJ9",
            proxy_password,
            process_token,
            "gcloud",
        ] {
            assert!(!said.contains(secret), "{secret} shown:\n{said}");
        }
        // What setup writes is shown, with the keys around it (in the file's own spacing).
        let compact = said.replace("\": ", "\":");
        for shown in [
            format!("+role_arn = {PUSH_ONLY}"),
            "+source_profile = default".to_string(),
            format!("\"{REGISTRY}\":\"ecr-role\""),
            "\"profile\":\"push\"".to_string(),
            "credential_process = ****".to_string(),
        ] {
            assert!(compact.contains(&shown), "{shown} not shown:\n{said}");
        }
        assert!(said.contains("\"Authorization\":"), "{said}");
    }
}

#[test]
fn setup_edits_docker_config_in_place_keeping_its_layout() {
    // Four-space indents, escapes serde would rewrite, docker's key order and no final newline.
    let four = "{\n    \"auths\": {\n        \"https://index.docker.io/v1/\": {}\n    },\n    \"credHelpers\": {\n        \"gcr.io\": \"gcloud\"\n    },\n    \"psFormat\": \"table {{.ID}}\\t{{.Names}}\",\n    \"detachKeys\": \"ctrl-\\u0065,e\"\n}";
    let four_after = four.replace(
        "\"gcr.io\": \"gcloud\"\n",
        &format!("\"gcr.io\": \"gcloud\",\n        \"{REGISTRY}\": \"ecr-role\"\n"),
    );
    // Two-space indents, no credHelpers yet.
    let two = "{\n  \"auths\": {},\n  \"currentContext\": \"desktop-linux\"\n}\n";
    let two_after = format!(
        "{{\n  \"auths\": {{}},\n  \"currentContext\": \"desktop-linux\",\n  \"credHelpers\": {{\n    \"{REGISTRY}\": \"ecr-role\"\n  }}\n}}\n"
    );
    // An empty credHelpers on one line, in a tab-indented file.
    let tabs = "{\n\t\"credHelpers\": {},\n\t\"auths\": {}\n}\n";
    let tabs_after = format!(
        "{{\n\t\"credHelpers\": {{\n\t\t\"{REGISTRY}\": \"ecr-role\"\n\t}},\n\t\"auths\": {{}}\n}}\n"
    );
    for (before, after) in [
        (four.to_string(), four_after),
        (two.to_string(), two_after),
        (tabs.to_string(), tabs_after),
    ] {
        let sandbox = sandbox();
        let path = docker_config(&sandbox);
        write_file(&path, &before);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let args = ["--registry", REGISTRY, "--profile", ROLE_PROFILE];

        let dry = setup(&sandbox, &[&args[..], &["--dry-run"]].concat());
        assert!(dry.status.success(), "{}", transcript(&dry));
        let changed: Vec<String> = stdout(&dry)
            .lines()
            .skip_while(|l| !l.starts_with("--- ~/.docker/config.json"))
            .skip(2)
            .filter(|l| l.starts_with(['+', '-']))
            .map(str::to_string)
            .collect();
        assert!(
            changed.len() <= 6,
            "the diff is the change, not the file:\n{}",
            stdout(&dry)
        );

        let out = setup(&sandbox, &args);
        assert!(out.status.success(), "{}", transcript(&out));
        assert_eq!(read(&path), after, "only the credHelpers entry changed");
        assert_eq!(
            read(&PathBuf::from(format!("{}.bak", path.display()))),
            before
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "the file keeps its mode");
    }
}

// Item 9: concurrent runs lose no update.

/// Runs every command line at once (a barrier lines the threads up), each in the sandbox.
fn all_at_once(sandbox: &Sandbox, runs: &[Vec<String>]) -> Vec<Output> {
    let barrier = Barrier::new(runs.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter()
            .map(|args| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    barrier.wait();
                    sandbox.run(&args, "", &[])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every lock file under `dir`: private to the user, never writable by others.
fn assert_private_locks(dir: &Path) -> usize {
    let mut found = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found += assert_private_locks(&path);
        } else if path.to_string_lossy().ends_with(".lock") {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
            found += 1;
        }
    }
    found
}

#[test]
fn concurrent_setups_keep_every_entry() {
    const ROUNDS: usize = 5;
    const PARALLEL: usize = 8;
    for round in 0..ROUNDS {
        let sandbox = sandbox();
        write_file(&docker_config(&sandbox), "{\n\t\"auths\": {}\n}\n");
        let runs: Vec<Vec<String>> = (0..PARALLEL)
            .map(|n| {
                [
                    "setup",
                    "--registry",
                    &registry(n),
                    "--profile",
                    &format!("push-{n}"),
                    "--role-arn",
                    &format!("arn:aws:iam::{:012}:role/ECRPushOnly", 100_000_000_000 + n),
                ]
                .map(str::to_string)
                .to_vec()
            })
            .collect();
        for out in all_at_once(&sandbox, &runs) {
            assert!(out.status.success(), "round {round}: {}", transcript(&out));
        }
        let helpers = json(&docker_config(&sandbox));
        let settings = json(&sandbox.settings_file());
        let profiles = read(&aws_config(&sandbox));
        for n in 0..PARALLEL {
            let host = registry(n);
            assert_eq!(
                helpers["credHelpers"][&host], "ecr-role",
                "round {round}: credHelpers lost {host}: {helpers}"
            );
            assert_eq!(
                settings["registries"][&host]["profile"],
                format!("push-{n}"),
                "round {round}: settings lost {host}: {settings}"
            );
            assert!(
                profiles.contains(&format!("[profile push-{n}]\n")),
                "round {round}: ~/.aws/config lost push-{n}:\n{profiles}"
            );
        }
        assert!(assert_private_locks(sandbox.home.path()) >= 3);
    }
}

#[test]
fn registries_remove_and_setup_at_once_keep_each_others_changes() {
    const ROUNDS: usize = 3;
    for round in 0..ROUNDS {
        let sandbox = sandbox();
        for n in 0..4 {
            let out = setup(
                &sandbox,
                &["--registry", &registry(n), "--profile", ROLE_PROFILE],
            );
            assert!(out.status.success(), "{}", transcript(&out));
        }
        // Four removals of those and four new registries, all at once.
        let runs: Vec<Vec<String>> = (0..8)
            .map(|n| {
                if n < 4 {
                    vec!["registries".into(), "--remove".into(), registry(n)]
                } else {
                    [
                        "setup",
                        "--registry",
                        &registry(n),
                        "--profile",
                        ROLE_PROFILE,
                    ]
                    .map(str::to_string)
                    .to_vec()
                }
            })
            .collect();
        for out in all_at_once(&sandbox, &runs) {
            assert!(out.status.success(), "round {round}: {}", transcript(&out));
        }
        let helpers = json(&docker_config(&sandbox));
        let settings = json(&sandbox.settings_file());
        let mut hosts: Vec<&String> = helpers["credHelpers"].as_object().unwrap().keys().collect();
        hosts.sort();
        let expected: Vec<String> = (4..8).map(registry).collect();
        assert_eq!(hosts, expected.iter().collect::<Vec<_>>(), "round {round}");
        let mut mapped: Vec<&String> = settings["registries"].as_object().unwrap().keys().collect();
        mapped.sort();
        assert_eq!(mapped, expected.iter().collect::<Vec<_>>(), "round {round}");
        assert_private_locks(sandbox.home.path());
    }
}

// Item 15: symlinked user files stay links; a custom name is never a public registry.

fn symlink(target: impl AsRef<Path>, link: &Path) {
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn assert_link(link: &Path, target: &Path) {
    let meta =
        std::fs::symlink_metadata(link).unwrap_or_else(|e| panic!("{}: {e}", link.display()));
    assert!(
        meta.file_type().is_symlink(),
        "{} is no longer a symlink",
        link.display()
    );
    assert_eq!(
        std::fs::read_link(link).unwrap(),
        target,
        "{}",
        link.display()
    );
}

#[test]
fn setup_writes_through_a_dangling_symlink_and_keeps_the_link() {
    let sandbox = sandbox();
    let home = sandbox.home.path();
    let dotfiles = home.join("dotfiles");
    std::fs::create_dir_all(dotfiles.join("docker")).unwrap();
    // docker's config.json: a chain of two links, absolute, to a file not yet created.
    let docker_link = dotfiles.join("docker-link");
    let docker_file = dotfiles.join("docker/config.json");
    symlink(&docker_link, &docker_config(&sandbox));
    symlink(&docker_file, &docker_link);
    // The settings and ~/.aws/config: relative links, to files not yet created.
    let settings_target = PathBuf::from("../../dotfiles/ecr-role.json");
    symlink(&settings_target, &sandbox.settings_file());
    let aws_target = PathBuf::from("../dotfiles/aws-config");
    std::fs::remove_file(aws_config(&sandbox)).unwrap();
    symlink(&aws_target, &aws_config(&sandbox));

    let out = setup(&sandbox, &PUSH_ARGS);
    assert!(out.status.success(), "{}", transcript(&out));
    assert_link(&docker_config(&sandbox), &docker_link);
    assert_link(&docker_link, &docker_file);
    assert_link(&sandbox.settings_file(), &settings_target);
    assert_link(&aws_config(&sandbox), &aws_target);
    let helpers = json(&docker_file);
    assert_eq!(helpers["credHelpers"][REGISTRY], "ecr-role", "{helpers}");
    let settings = json(&dotfiles.join("ecr-role.json"));
    assert_eq!(
        settings["registries"][REGISTRY]["profile"], "push",
        "{settings}"
    );
    let profiles = read(&dotfiles.join("aws-config"));
    assert!(
        profiles.contains(&format!("[profile push]\nrole_arn = {PUSH_ONLY}\n")),
        "{profiles}"
    );
    for file in [
        docker_file,
        dotfiles.join("ecr-role.json"),
        dotfiles.join("aws-config"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }

    // Read back through the links: a second run finds everything set up.
    let again = setup(&sandbox, &PUSH_ARGS);
    assert!(again.status.success(), "{}", transcript(&again));
    assert_eq!(
        stdout(&again).matches(": already set up").count(),
        3,
        "{}",
        transcript(&again)
    );
    assert_link(&docker_config(&sandbox), &docker_link);
}

#[test]
fn setup_refuses_a_symlink_it_cannot_write_through() {
    {
        // A link into a directory that does not exist: refused, naming the link and its
        // target and what to do; nothing is written, the directory is not created.
        let sandbox = sandbox();
        let missing = sandbox.home.path().join("dotfiles/docker/config.json");
        symlink(&missing, &docker_config(&sandbox));
        for extra in [&[][..], &["--dry-run"][..]] {
            let args = [
                &["--registry", REGISTRY, "--profile", ROLE_PROFILE][..],
                extra,
            ]
            .concat();
            let out = setup(&sandbox, &args);
            assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
            let said = stderr(&out);
            assert_eq!(said.lines().count(), 1, "one line: {said}");
            assert!(
                said.starts_with(
                    "docker-credential-ecr-role: create the directory ~/dotfiles/docker"
                ),
                "{said}"
            );
            assert!(said.contains("~/.docker/config.json"), "{said}");
            assert!(said.contains("~/dotfiles/docker/config.json"), "{said}");
            assert!(said.contains("nothing was changed"), "{said}");
            assert_link(&docker_config(&sandbox), &missing);
            assert!(!sandbox.home.path().join("dotfiles").exists());
            assert!(!sandbox.settings_file().exists(), "nothing was written");
        }
    }

    // A loop (a link to a link back to it), for setup and registries --remove alike.
    let sandbox = sandbox();
    let other = sandbox.home.path().join(".docker/other.json");
    symlink(&other, &docker_config(&sandbox));
    symlink(docker_config(&sandbox), &other);
    let out = setup(
        &sandbox,
        &["--registry", REGISTRY, "--profile", ROLE_PROFILE],
    );
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let said = stderr(&out);
    assert_eq!(said.lines().count(), 1, "one line: {said}");
    assert!(
        said.starts_with("docker-credential-ecr-role: fix the symlink ~/.docker/config.json"),
        "{said}"
    );
    assert!(said.contains("loop"), "{said}");
    assert!(!sandbox.settings_file().exists(), "nothing was written");
    assert_link(&docker_config(&sandbox), &other);
    let out = sandbox.run(&["registries", "--remove", REGISTRY], "", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(
        stderr(&out)
            .starts_with("docker-credential-ecr-role: fix the symlink ~/.docker/config.json"),
        "{}",
        transcript(&out)
    );
}

#[test]
fn setup_refuses_a_public_registry_as_a_custom_name_and_warns_for_others() {
    let custom = |sandbox: &Sandbox, name: &str, extra: &[&str]| {
        let args = [
            &[
                "--registry",
                name,
                "--registry-id",
                ACCOUNT,
                "--region",
                "ap-northeast-1",
                "--profile",
                ROLE_PROFILE,
            ][..],
            extra,
        ]
        .concat();
        setup(sandbox, &args)
    };
    let sandbox = sandbox();
    for (name, host) in [
        ("index.docker.io", "index.docker.io"),
        ("https://INDEX.DOCKER.IO/v1/", "index.docker.io"),
        ("docker.io", "docker.io"),
        ("registry-1.docker.io", "registry-1.docker.io"),
        ("ghcr.io:443", "ghcr.io"),
        ("ghcr.io.", "ghcr.io"),
        ("gcr.io", "gcr.io"),
        ("eu.gcr.io", "eu.gcr.io"),
        ("quay.io", "quay.io"),
        ("registry.k8s.io", "registry.k8s.io"),
        ("mcr.microsoft.com", "mcr.microsoft.com"),
        ("public.ecr.aws", "public.ecr.aws"),
        ("europe-west1-docker.pkg.dev", "europe-west1-docker.pkg.dev"),
        ("myregistry.azurecr.io", "myregistry.azurecr.io"),
        ("registry.gitlab.com", "registry.gitlab.com"),
    ] {
        for extra in [&[][..], &["--dry-run"][..]] {
            let out = custom(&sandbox, name, extra);
            assert_eq!(out.status.code(), Some(2), "{name}: {}", transcript(&out));
            let said = stderr(&out);
            assert_eq!(said.lines().count(), 1, "one line: {said}");
            assert!(
                said.starts_with(
                    "docker-credential-ecr-role: give --registry a host name of your own"
                ),
                "{said}"
            );
            assert!(
                said.contains(&format!("{host} is a public registry")),
                "{said}"
            );
            assert!(stdout(&out).is_empty(), "{}", transcript(&out));
        }
    }
    assert!(!docker_config(&sandbox).exists(), "nothing was wired");
    assert!(!sandbox.settings_file().exists(), "nothing was mapped");

    // Any other name (even one ending like a public one) is set up, with one warning.
    for name in [
        "registry.corp.example:5000",
        "notghcr.io",
        "gcr.io.corp.example",
    ] {
        let out = custom(&sandbox, name, &[]);
        assert!(out.status.success(), "{name}: {}", transcript(&out));
        let said = stderr(&out);
        assert_eq!(said.lines().count(), 1, "one line: {said}");
        let host = name.split(':').next().unwrap();
        assert!(
            said.starts_with("docker-credential-ecr-role: warning: "),
            "{said}"
        );
        assert!(
            said.contains(&format!(
                "hand the credentials of ECR registry {ACCOUNT} in ap-northeast-1 to {host}"
            )),
            "{said}"
        );
        assert_eq!(
            json(&docker_config(&sandbox))["credHelpers"][name],
            "ecr-role"
        );
    }
    // A private ECR host of its own spelling needs no --registry-id, and gets no warning.
    let out = setup(
        &sandbox,
        &["--registry", REGISTRY, "--profile", ROLE_PROFILE],
    );
    assert!(out.status.success(), "{}", transcript(&out));
    assert!(stderr(&out).is_empty(), "{}", transcript(&out));
}
