//! The helper as a kubelet image credential provider, run as the kubelet runs it: the
//! args and env of the example `CredentialProviderConfig`
//! (tests/fixtures/kubelet-credential-provider.yaml, the one the README shows), the
//! request on stdin, no HOME; and its response checked as the kubelet checks it. No
//! kubelet runs here (none is packaged for this machine): the checks below follow its
//! source, kubernetes/kubernetes v1.35 `pkg/credentialprovider/plugin/plugin.go` and
//! `pkg/credentialprovider/keyring.go`, line numbers as cited.
//!
//! moto hands every caller the same ECR token, so the proxy gives each caller its
//! own (`set_token_per_caller`): a token answered to the wrong service account shows.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use support::*;

const CONFIG: &str = include_str!("fixtures/kubelet-credential-provider.yaml");
const V1: &str = "credentialprovider.kubelet.k8s.io/v1";
const IMAGE: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/test-repos";
const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/OtherRole";

/// The provider's `args` and `env` in the example config (a small reader for its
/// fixed shape: `args:` and `env:` lists of the one provider).
fn provider_args_and_env() -> (Vec<String>, Vec<(String, String)>) {
    let mut args = Vec::new();
    let mut env = Vec::new();
    let mut section = "";
    for line in CONFIG.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if !trimmed.starts_with('-') && trimmed.ends_with(':') {
            section = trimmed.trim_end_matches(':');
            continue;
        }
        match section {
            "args" if trimmed.starts_with("- ") => args.push(trimmed[2..].trim().to_string()),
            "env" if trimmed.starts_with("- name: ") => {
                env.push((trimmed["- name: ".len()..].to_string(), String::new()))
            }
            "env" if trimmed.starts_with("value: ") => {
                env.last_mut().unwrap().1 = trimmed["value: ".len()..].to_string()
            }
            _ if !line.starts_with("      ") => section = "",
            _ => {}
        }
    }
    assert_eq!(args, ["kubelet"], "the example config's args");
    (args, env)
}

/// A node in miniature: the config's paths under a temporary root, the AWS files, and
/// the helper's settings mapping the registry to a role (a cross-account pull needs no
/// change to the node's own role).
struct Node {
    root: TempDir,
    endpoint: String,
}

impl Node {
    fn new(endpoint: &str, moto: &Moto) -> Node {
        let root = TempDir::new("node");
        write_aws_files(
            &root.path().join("root/.aws"),
            moto,
            "[default]\nregion = ap-northeast-1\n",
        );
        let node = Node {
            root,
            endpoint: endpoint.to_string(),
        };
        write_file(
            &node.path("/etc/docker-credential-ecr-role/config.json"),
            &serde_json::json!({"registries": {REGISTRY: {"role_arn": ROLE_ARN}}}).to_string(),
        );
        node
    }

    /// A path of the node, under the temporary root.
    fn path(&self, absolute: &str) -> std::path::PathBuf {
        self.root.path().join(absolute.trim_start_matches('/'))
    }

    /// Runs the helper as the kubelet does: the config's args and env on top of the
    /// node's environment (here: no HOME, the AWS files, the emulator's endpoint).
    fn run(&self, request: &serde_json::Value) -> Output {
        let (args, env) = provider_args_and_env();
        let mut cmd = Command::new(HELPER);
        cmd.args(&args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("AWS_CONFIG_FILE", self.path("/root/.aws/config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.path("/root/.aws/credentials"),
            )
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .current_dir(self.root.path());
        for (name, value) in env {
            cmd.env(name, self.path(&value));
        }
        run_with_stdin(&mut cmd, request.to_string().as_bytes())
    }
}

fn request(image: &str, token: Option<&str>, role: Option<&str>) -> serde_json::Value {
    let mut r =
        serde_json::json!({"apiVersion": V1, "kind": "CredentialProviderRequest", "image": image});
    if let Some(token) = token {
        r["serviceAccountToken"] = token.into();
        r["serviceAccountAnnotations"] = match role {
            Some(role) => serde_json::json!({"eks.amazonaws.com/role-arn": role}),
            None => serde_json::json!({}),
        };
    }
    r
}

/// Go's `time.ParseDuration` (the kubelet reads `cacheDuration` as a metav1.Duration:
/// apimachinery `duration.go` L32–45): seconds, or `None` if Go would refuse it.
fn go_duration(text: &str) -> Option<f64> {
    let mut rest = text;
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(0.0);
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&n| n > 0)?;
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let (unit, scale) = [
            ("ns", 1e-9),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("ms", 1e-3),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
        ]
        .into_iter()
        .filter(|(u, _)| rest.starts_with(u))
        .max_by_key(|(u, _)| u.len())?;
        total += number * scale;
        rest = &rest[unit.len()..];
    }
    Some(total)
}

/// `filepath.Match` for one host label (`*` any run, `?` one character).
fn label_matches(glob: &str, label: &str) -> bool {
    fn go(g: &[char], l: &[char]) -> bool {
        match (g.first(), l.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&g[1..], l) || (!l.is_empty() && go(g, &l[1..])),
            (Some('?'), Some(_)) => go(&g[1..], &l[1..]),
            (Some(a), Some(b)) if a == b => go(&g[1..], &l[1..]),
            _ => false,
        }
    }
    go(
        &glob.chars().collect::<Vec<_>>(),
        &label.chars().collect::<Vec<_>>(),
    )
}

/// keyring.go `URLsMatch` (L262–290, with `ParseSchemelessURL` L220 and `SplitURL`
/// L231): the same port, the same number of host labels each matching its glob, and
/// the key's path a prefix of the image's.
fn kubelet_key_matches(key: &str, image: &str) -> bool {
    let split = |s: &str| -> (String, String, String) {
        let (host, path) = match s.split_once('/') {
            Some((h, p)) => (h.to_string(), format!("/{p}")),
            None => (s.to_string(), String::new()),
        };
        let (host, port) = match host.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.to_string()),
            None => (host, String::new()),
        };
        (host, port, path)
    };
    let (key_host, key_port, key_path) = split(key);
    let (image_host, image_port, image_path) = split(image);
    let key_labels: Vec<&str> = key_host.split('.').collect();
    let image_labels: Vec<&str> = image_host.split('.').collect();
    key_port == image_port
        && key_labels.len() == image_labels.len()
        && key_labels
            .iter()
            .zip(&image_labels)
            .all(|(g, l)| label_matches(g, l))
        && image_path.starts_with(&key_path)
}

/// The response as the kubelet reads it, checked as it checks it; the password.
fn kubelet_accepts(out: &Output, request: &serde_json::Value) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(out)
    );
    assert_eq!(stderr(out), "", "nothing on stderr when all is well");
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let object = response.as_object().unwrap();
    // plugin.go ≈L70: a strict codec (serializer.EnableStrict): an unknown field, or a
    // field of another type, throws the whole response away. Only the v1 types' fields.
    for key in object.keys() {
        assert!(
            [
                "apiVersion",
                "kind",
                "cacheKeyType",
                "cacheDuration",
                "auth"
            ]
            .contains(&key.as_str()),
            "a field outside the v1 types: {key}"
        );
    }
    // plugin.go: the GroupVersion must be the request's (the provider's apiVersion),
    // and decodeResponse (≈L773) wants kind CredentialProviderResponse.
    assert_eq!(response["apiVersion"], request["apiVersion"]);
    assert_eq!(response["kind"], "CredentialProviderResponse");
    // plugin.go L545–557: Image, Registry or Global, else the response is discarded.
    let key_type = response["cacheKeyType"].as_str().unwrap();
    assert!(
        ["Image", "Registry", "Global"].contains(&key_type),
        "{key_type}"
    );
    let duration = response["cacheDuration"].as_str().expect("a JSON string");
    let seconds = go_duration(duration).unwrap_or_else(|| panic!("not a Go duration: {duration}"));
    // The helper's own refresh point: three quarters of the 12 h the proxy gives.
    assert!(
        (8.9 * 3600.0..=9.0 * 3600.0).contains(&seconds),
        "{duration}"
    );
    let auth = response["auth"].as_object().unwrap();
    assert_eq!(auth.len(), 1, "{auth:?}");
    let (key, config) = auth.iter().next().unwrap();
    let image = request["image"].as_str().unwrap();
    assert!(
        kubelet_key_matches(key, image),
        "{key} does not match {image}"
    );
    for field in config.as_object().unwrap().keys() {
        assert!(
            ["username", "password"].contains(&field.as_str()),
            "{field}"
        );
    }
    assert_eq!(config["username"], "AWS");
    config["password"].as_str().unwrap().to_string()
}

/// The access key a per-caller password was issued to.
fn caller_of(password: &str) -> String {
    password
        .strip_prefix(&format!("{PASSWORD}-"))
        .unwrap_or_else(|| panic!("not a per-caller token: {password}"))
        .to_string()
}

#[test]
fn the_node_pulls_a_mapped_registry_through_its_role_with_no_home() {
    let proxy = Proxy::start(&moto().endpoint);
    proxy.set_token_per_caller(true);
    let node = Node::new(&proxy.endpoint, moto());
    let req = request(IMAGE, None, None);
    let password = kubelet_accepts(&node.run(&req), &req);
    assert_eq!(proxy.count("sts:AssumeRole"), 1, "{:?}", proxy.counts());
    assert_eq!(
        proxy.role_of_key(&caller_of(&password)).as_deref(),
        Some(ROLE_ARN)
    );
    // The cache lives where the config's ECR_ROLE_CACHE_DIR says (the README's place).
    let cache = node.path("/var/lib/docker-credential-ecr-role/cache");
    assert!(
        !files_named(&cache, "token-").is_empty(),
        "no token in {}",
        cache.display()
    );
    // A second pull is served from it.
    let again = kubelet_accepts(&node.run(&req), &req);
    assert_eq!(again, password);
    assert_eq!(proxy.count("ecr:GetAuthorizationToken"), 1);
}

#[test]
fn a_pods_service_account_role_is_assumed_with_its_token_and_nothing_else() {
    let proxy = Proxy::start(&open_moto().endpoint);
    proxy.set_token_per_caller(true);
    let node = Node::new(&proxy.endpoint, open_moto());
    let req = request(IMAGE, Some("pod-a.jwt.token"), Some(OTHER_ROLE));
    let password = kubelet_accepts(&node.run(&req), &req);
    assert_eq!(proxy.count("sts:AssumeRoleWithWebIdentity"), 1);
    assert_eq!(proxy.count("sts:AssumeRole"), 0, "no node identity call");
    let bodies = proxy.bodies("sts:AssumeRoleWithWebIdentity");
    assert!(
        bodies[0].contains("WebIdentityToken=pod-a.jwt.token"),
        "{}",
        bodies[0]
    );
    assert!(bodies[0].contains("OtherRole"), "{}", bodies[0]);
    assert_eq!(
        proxy.role_of_key(&caller_of(&password)).as_deref(),
        Some(OTHER_ROLE)
    );
    // Not kept on disk: nothing for one service account can be answered to another.
    let cache = node.path("/var/lib/docker-credential-ecr-role/cache");
    let kept = std::fs::read_dir(&cache).map(|d| d.count()).unwrap_or(0);
    assert_eq!(kept, 0, "service account tokens are not cached on disk");
}

#[test]
fn a_service_account_without_the_annotation_pulls_as_the_node() {
    let proxy = Proxy::start(&open_moto().endpoint);
    proxy.set_token_per_caller(true);
    let node = Node::new(&proxy.endpoint, open_moto());
    let req = request(IMAGE, Some("pod-b.jwt.token"), None);
    let password = kubelet_accepts(&node.run(&req), &req);
    assert_eq!(proxy.count("sts:AssumeRoleWithWebIdentity"), 0);
    assert_eq!(proxy.count("sts:AssumeRole"), 1);
    assert_eq!(
        proxy.role_of_key(&caller_of(&password)).as_deref(),
        Some(ROLE_ARN)
    );
}

#[test]
fn two_service_accounts_asked_in_turn_each_get_their_own_roles_token_every_time() {
    let proxy = Proxy::start(&open_moto().endpoint);
    proxy.set_token_per_caller(true);
    let node = Node::new(&proxy.endpoint, open_moto());
    let mut seen: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for round in 0..3 {
        for (token, role) in [
            ("sa-one.jwt.token", ROLE_ARN),
            ("sa-two.jwt.token", OTHER_ROLE),
        ] {
            let req = request(IMAGE, Some(token), Some(role));
            let password = kubelet_accepts(&node.run(&req), &req);
            assert_eq!(
                proxy.role_of_key(&caller_of(&password)).as_deref(),
                Some(role),
                "round {round}: {token} got another role's token"
            );
            seen.entry(role).or_default().push(password);
        }
    }
    assert_ne!(seen[ROLE_ARN][0], seen[OTHER_ROLE][0]);
}

#[test]
fn a_bad_request_is_one_line_on_stderr_and_nothing_on_stdout() {
    let proxy = Proxy::start(&moto().endpoint);
    let node = Node::new(&proxy.endpoint, moto());
    let bad = [
        (
            request("docker.io/library/nginx", None, None),
            "not in an ECR registry",
        ),
        (
            serde_json::json!({"kind": "CredentialProviderRequest", "image": IMAGE, "apiVersion": "credentialprovider.kubelet.k8s.io/v9"}),
            "v9",
        ),
        (
            serde_json::json!({"apiVersion": V1, "kind": "CredentialProviderRequest"}),
            "names no image",
        ),
        (serde_json::json!("not an object"), "not a JSON object"),
    ];
    for (req, says) in bad {
        let out = node.run(&req);
        assert_eq!(out.status.code(), Some(1), "{req}");
        assert_eq!(stdout(&out), "", "{req}: nothing on stdout");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{req}: {err}");
        assert!(err.contains(says), "{req}: {err}");
    }
    assert_eq!(proxy.total(), 0);
}

#[test]
fn the_kubelets_matching_rules_as_this_file_reads_them() {
    // The readers above, checked against the kubelet's own examples.
    assert!(kubelet_key_matches("*.dkr.ecr.*.amazonaws.com", IMAGE));
    assert!(kubelet_key_matches(REGISTRY, IMAGE));
    assert!(!kubelet_key_matches(
        REGISTRY,
        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com:443/x"
    ));
    assert!(
        !kubelet_key_matches("*.amazonaws.com", IMAGE),
        "one label per glob"
    );
    assert_eq!(go_duration("6h0m0s"), Some(21600.0));
    assert_eq!(go_duration("1.5h"), Some(5400.0));
    assert_eq!(go_duration("100"), None);
    assert!(Path::new(HELPER).is_file());
}
