//! The helper switches role exactly as the AWS SDK does: for every profile shape,
//! the same calls, signed by the same keys.
//!
//! Each row of the table is a `~/.aws` setup. The helper's `get` runs against moto
//! through the test proxy, which records every call and the access key that signed
//! it; then the AWS SDK itself (`examples/sdk_reference.rs`: aws-config's default
//! chain for a profile chosen by `AWS_PROFILE`, its profile provider for a registry
//! the helper's settings map) runs against the same proxy. Both call sequences must
//! equal the row's expectation, written out by hand — so a row that misreads the
//! SDK fails too. Rows marked as the helper's own extensions compare the helper only.
//!
//! moto runs without IAM enforcement here: it would refuse the role-to-role trust of
//! a chain and the unsigned AssumeRoleWithWebIdentity. Who signed what is what this
//! test is about, and the proxy sees that either way.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use support::proxy::{Call, ECS_KEY, IMDS_KEY, SSO_KEY};
use support::*;

const PUSH: &str = "arn:aws:iam::123456789012:role/ECRLoginAndPushRole";
const OTHER: &str = "arn:aws:iam::123456789012:role/OtherRole";
const PULL: &str = "arn:aws:iam::123456789012:role/ECRPullRole";

/// The static keys of the `default` profile in every row.
const DEFAULT_KEY: &str = "AKIADEFAULTPROFILE01";
const DEFAULT_KEYS: &str =
    "[default]\naws_access_key_id = AKIADEFAULTPROFILE01\naws_secret_access_key = default-secret\n";
/// The keys a row puts in the environment.
const ENV_KEY: &str = "AKIAFROMENVIRONMENT1";

/// How the profile is chosen.
#[derive(Clone, Copy)]
enum Chosen {
    /// `AWS_PROFILE` (the SDK's default chain).
    AwsProfile(&'static str),
    /// The registry is mapped to this profile in the helper's settings (the SDK's
    /// profile provider for it).
    Mapped(&'static str),
}

/// What a row expects.
enum Expect {
    /// These calls: (operation, who signed it, the role asked for).
    Calls(&'static [(&'static str, Signer, Option<&'static str>)]),
    /// A failure; the helper's one line contains this.
    Error(&'static str),
}

/// Who signed a call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Signer {
    /// Static keys with this access key id.
    Key(&'static str),
    /// Credentials STS handed out for this role.
    Role(&'static str),
    /// Nobody (AssumeRoleWithWebIdentity, credential endpoints).
    Unsigned,
}
use Signer::{Key, Role, Unsigned};

struct Row {
    name: &'static str,
    config: &'static str,
    credentials: &'static str,
    env: &'static [(&'static str, &'static str)],
    chosen: Chosen,
    expect: Expect,
    /// Only the helper is compared: the row shows one of its documented extensions.
    extension: bool,
}

/// A moto server without IAM enforcement, for this binary.
fn open_moto() -> &'static OwnedMoto {
    static MOTO: OnceLock<OwnedMoto> = OnceLock::new();
    MOTO.get_or_init(|| OwnedMoto::start(&["--no-enforce"]))
}

/// The SDK reference program cargo built from `examples/sdk_reference.rs`.
fn reference() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples/sdk_reference");
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test` (it builds examples/sdk_reference.rs)",
        path.display()
    );
    path
}

/// One call, with its signer named as the row names it.
fn label(proxy: &Proxy, call: &Call) -> (String, Signer, Option<String>) {
    let signer = match &call.signer {
        None => Unsigned,
        Some(key) => match proxy.role_of_key(key) {
            Some(role) => Role(leak(role)),
            None => Key(leak(key.clone())),
        },
    };
    (call.operation.clone(), signer, call.role_arn.clone())
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The calls since the last clear, consecutive repeats of one call collapsed (the
/// instance-metadata client's token and list requests are one step).
fn calls(proxy: &Proxy) -> Vec<(String, Signer, Option<String>)> {
    let mut out: Vec<(String, Signer, Option<String>)> = Vec::new();
    for call in proxy.calls() {
        let call = label(proxy, &call);
        if out.last() != Some(&call) {
            out.push(call);
        }
    }
    proxy.clear_calls();
    out
}

/// Writes the row's files into a fresh HOME (and the files rows point at).
fn home_for(row: &Row) -> TempDir {
    let home = TempDir::new("chain");
    let aws = home.path().join(".aws");
    std::fs::create_dir_all(aws.join("sso/cache")).unwrap();
    let fill = |text: &str| text.replace("$HOME", home.path().to_str().unwrap());
    std::fs::write(aws.join("config"), fill(row.config)).unwrap();
    std::fs::write(aws.join("credentials"), fill(row.credentials)).unwrap();
    std::fs::write(
        home.path().join("web-identity-token"),
        "a-jwt-from-the-oidc-provider",
    )
    .unwrap();
    // SSO tokens, as `aws sso login` leaves them: named by the SHA-1 of the session
    // name (sso_session) or of the start URL (legacy profiles).
    for key in ["corp", "https://legacy.awsapps.com/start"] {
        let token = serde_json::json!({
            "accessToken": "sso-access-token",
            "expiresAt": support::proxy::rfc3339(now() + 3600),
            "region": "us-east-1",
            "startUrl": "https://corp.awsapps.com/start",
        });
        std::fs::write(
            aws.join(format!("sso/cache/{}.json", sha1(key))),
            token.to_string(),
        )
        .unwrap();
    }
    home
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn sha1(text: &str) -> String {
    let out = run_with_stdin(
        &mut Command::new(require_program("sha1sum")),
        text.as_bytes(),
    );
    String::from_utf8_lossy(&out.stdout)[..40].to_string()
}

/// The environment both programs run with.
fn environment(cmd: &mut Command, home: &Path, proxy: &Proxy, row: &Row) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &proxy.endpoint)
        .env("ECR_ROLE_DISABLE_CACHE", "1")
        .current_dir(home);
    if !row
        .env
        .iter()
        .any(|(k, _)| *k == "AWS_EC2_METADATA_DISABLED")
        && !row.config.contains("Ec2InstanceMetadata")
    {
        cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    }
    for (k, v) in row.env {
        cmd.env(k, v.replace("$PROXY", &proxy.endpoint));
    }
}

fn run_helper(home: &Path, proxy: &Proxy, row: &Row) -> Output {
    let mut cmd = Command::new(HELPER);
    cmd.arg("get");
    environment(&mut cmd, home, proxy, row);
    match row.chosen {
        Chosen::AwsProfile(p) => {
            cmd.env("AWS_PROFILE", p);
        }
        Chosen::Mapped(p) => {
            let json = serde_json::json!({"registries": {REGISTRY: {"profile": p}}});
            write_file(&settings_file_in(home), &json.to_string());
        }
    }
    run_with_stdin(&mut cmd, REGISTRY.as_bytes())
}

fn run_reference(home: &Path, proxy: &Proxy, row: &Row) -> Output {
    let mut cmd = Command::new(reference());
    environment(&mut cmd, home, proxy, row);
    match row.chosen {
        Chosen::AwsProfile(p) => cmd.arg("default-chain").env("AWS_PROFILE", p),
        Chosen::Mapped(p) => cmd.args(["profile", p]),
    };
    run_with_stdin(&mut cmd, b"")
}

fn table() -> Vec<Row> {
    use Chosen::*;
    const ECR: &str = "ecr:GetAuthorizationToken";
    const ASSUME: &str = "sts:AssumeRole";
    vec![
        Row {
            name: "static keys",
            config: "[profile dev]\nregion = ap-northeast-1\n",
            credentials: "[dev]\naws_access_key_id = AKIADEVPROFILEKEY001\naws_secret_access_key = s\n",
            env: &[],
            chosen: AwsProfile("dev"),
            expect: Expect::Calls(&[(ECR, Key("AKIADEVPROFILEKEY001"), None)]),
            extension: false,
        },
        Row {
            name: "role from a static source (the user story)",
            config: "[profile R]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = default\n",
            credentials: DEFAULT_KEYS,
            env: &[],
            chosen: Mapped("R"),
            expect: Expect::Calls(&[
                (ASSUME, Key(DEFAULT_KEY), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "a chain of three",
            config: "[profile A]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = B\n\
                     [profile B]\nrole_arn = arn:aws:iam::123456789012:role/OtherRole\nsource_profile = C\n\
                     [profile C]\nrole_arn = arn:aws:iam::123456789012:role/ECRPullRole\nsource_profile = default\n",
            credentials: DEFAULT_KEYS,
            env: &[],
            chosen: Mapped("A"),
            expect: Expect::Calls(&[
                (ASSUME, Key(DEFAULT_KEY), Some(PULL)),
                (ASSUME, Role(PULL), Some(OTHER)),
                (ASSUME, Role(OTHER), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "self-reference with static keys",
            config: "[profile A]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = A\n",
            credentials: "[A]\naws_access_key_id = AKIASELFREFERENCE001\naws_secret_access_key = s\n",
            env: &[],
            chosen: Mapped("A"),
            expect: Expect::Calls(&[
                (ASSUME, Key("AKIASELFREFERENCE001"), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "static keys and role_arn in the source: the keys win, one hop",
            config: "[profile A]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = S\n\
                     [profile S]\nrole_arn = arn:aws:iam::123456789012:role/OtherRole\nsource_profile = default\n",
            credentials: "[S]\naws_access_key_id = AKIASOURCEWITHROLE01\naws_secret_access_key = s\n[default]\naws_access_key_id = AKIADEFAULTPROFILE01\naws_secret_access_key = d\n",
            env: &[],
            chosen: Mapped("A"),
            expect: Expect::Calls(&[
                (ASSUME, Key("AKIASOURCEWITHROLE01"), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "credential_source Environment",
            config: "[profile E]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\ncredential_source = Environment\n",
            credentials: "",
            env: &[
                ("AWS_ACCESS_KEY_ID", ENV_KEY),
                ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ],
            chosen: Mapped("E"),
            expect: Expect::Calls(&[(ASSUME, Key(ENV_KEY), Some(PUSH)), (ECR, Role(PUSH), None)]),
            extension: false,
        },
        Row {
            name: "credential_source Ec2InstanceMetadata",
            config: "[profile I]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\ncredential_source = Ec2InstanceMetadata\n",
            credentials: "",
            env: &[],
            chosen: Mapped("I"),
            expect: Expect::Calls(&[
                ("imds:credentials", Unsigned, None),
                (ASSUME, Key(IMDS_KEY), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "credential_source EcsContainer",
            config: "[profile C]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\ncredential_source = EcsContainer\n",
            credentials: "",
            env: &[(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "$PROXY/ecs-credentials",
            )],
            chosen: Mapped("C"),
            expect: Expect::Calls(&[
                ("ecs:credentials", Unsigned, None),
                (ASSUME, Key(ECS_KEY), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "source_profile and credential_source together",
            config: "[profile B]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = default\ncredential_source = Environment\n",
            credentials: DEFAULT_KEYS,
            env: &[],
            chosen: Mapped("B"),
            expect: Expect::Error("has both source_profile and credential_source: keep only one"),
            extension: false,
        },
        Row {
            name: "web identity token with role_arn, selected",
            config: "[profile W]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nweb_identity_token_file = $HOME/web-identity-token\n",
            credentials: "",
            env: &[],
            chosen: Mapped("W"),
            expect: Expect::Calls(&[
                ("sts:AssumeRoleWithWebIdentity", Unsigned, Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "web identity token with role_arn, as a source",
            config: "[profile X]\nrole_arn = arn:aws:iam::123456789012:role/OtherRole\nsource_profile = W\n\
                     [profile W]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nweb_identity_token_file = $HOME/web-identity-token\n",
            credentials: "",
            env: &[],
            chosen: Mapped("X"),
            expect: Expect::Calls(&[
                ("sts:AssumeRoleWithWebIdentity", Unsigned, Some(PUSH)),
                (ASSUME, Role(PUSH), Some(OTHER)),
                (ECR, Role(OTHER), None),
            ]),
            extension: false,
        },
        Row {
            name: "SSO through an sso-session, as a source",
            config: "[profile R]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = S\n\
                     [profile S]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Developer\n\
                     [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n",
            credentials: "",
            env: &[],
            chosen: Mapped("R"),
            expect: Expect::Calls(&[
                ("sso:GetRoleCredentials", Unsigned, None),
                (ASSUME, Key(SSO_KEY), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "legacy SSO keys, as a source",
            config: "[profile R]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = S\n\
                     [profile S]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Developer\n",
            credentials: "",
            env: &[],
            chosen: Mapped("R"),
            expect: Expect::Calls(&[
                ("sso:GetRoleCredentials", Unsigned, None),
                (ASSUME, Key(SSO_KEY), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "credential_process, as a source",
            config: "[profile R]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = P\n\
                     [profile P]\ncredential_process = printf '{\"Version\": 1, \"AccessKeyId\": \"AKIACREDENTIALPROC01\", \"SecretAccessKey\": \"p\"}'\n",
            credentials: "",
            env: &[],
            chosen: Mapped("R"),
            expect: Expect::Calls(&[
                (ASSUME, Key("AKIACREDENTIALPROC01"), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "a loop",
            config: "[profile L1]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = L2\n\
                     [profile L2]\nrole_arn = arn:aws:iam::123456789012:role/OtherRole\nsource_profile = L1\n",
            credentials: "",
            env: &[],
            chosen: Mapped("L1"),
            expect: Expect::Error("source_profile loops (L1 -> L2 -> L1)"),
            extension: false,
        },
        Row {
            name: "a role profile in the credentials file",
            config: "",
            credentials: "[R]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = default\n\
                          [default]\naws_access_key_id = AKIADEFAULTPROFILE01\naws_secret_access_key = d\n",
            env: &[],
            chosen: Mapped("R"),
            expect: Expect::Calls(&[
                (ASSUME, Key(DEFAULT_KEY), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: false,
        },
        Row {
            name: "environment keys with AWS_PROFILE: the environment comes first",
            config: "[profile R]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = default\n",
            credentials: DEFAULT_KEYS,
            env: &[
                ("AWS_ACCESS_KEY_ID", ENV_KEY),
                ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ],
            chosen: AwsProfile("R"),
            expect: Expect::Calls(&[(ECR, Key(ENV_KEY), None)]),
            extension: false,
        },
        Row {
            name: "environment keys with a mapped registry: the mapping wins (extension)",
            config: "[profile R]\nrole_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = default\n",
            credentials: DEFAULT_KEYS,
            env: &[
                ("AWS_ACCESS_KEY_ID", ENV_KEY),
                ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ],
            chosen: Mapped("R"),
            expect: Expect::Calls(&[
                (ASSUME, Key(DEFAULT_KEY), Some(PUSH)),
                (ECR, Role(PUSH), None),
            ]),
            extension: true,
        },
    ]
}

fn expected(row: &Row) -> Vec<(String, Signer, Option<String>)> {
    match &row.expect {
        Expect::Calls(calls) => calls
            .iter()
            .map(|(op, signer, role)| (op.to_string(), signer.clone(), role.map(str::to_string)))
            .collect(),
        Expect::Error(_) => Vec::new(),
    }
}

#[test]
fn every_profile_shape_makes_the_sdks_calls_signed_by_the_sdks_keys() {
    let moto = open_moto();
    let proxy = Proxy::start(&moto.moto.endpoint);
    let mut failures = Vec::new();
    for row in table() {
        let home = home_for(&row);
        proxy.clear_calls();
        let helper = run_helper(home.path(), &proxy, &row);
        let helper_calls = calls(&proxy);
        let sdk = run_reference(home.path(), &proxy, &row);
        let sdk_calls = calls(&proxy);
        let want = expected(&row);
        match &row.expect {
            Expect::Calls(_) => {
                if !helper.status.success() {
                    failures.push(format!(
                        "{}: the helper failed: {}",
                        row.name,
                        stdout(&helper)
                    ));
                } else if helper_calls != want {
                    failures.push(format!(
                        "{}: the helper made\n    {helper_calls:?}\n  expected\n    {want:?}",
                        row.name
                    ));
                }
                if !row.extension {
                    if !sdk.status.success() {
                        failures.push(format!(
                            "{}: the SDK failed ({}): the row misreads the SDK",
                            row.name,
                            stdout(&sdk).trim()
                        ));
                    } else if sdk_calls != want {
                        failures.push(format!(
                            "{}: the SDK made\n    {sdk_calls:?}\n  expected\n    {want:?}",
                            row.name
                        ));
                    }
                }
            }
            Expect::Error(text) => {
                let said = stdout(&helper);
                if helper.status.success() || !said.contains(text) || said.lines().count() != 1 {
                    failures.push(format!(
                        "{}: the helper said {said:?}, expected {text:?}",
                        row.name
                    ));
                }
                if !helper_calls.is_empty() {
                    failures.push(format!("{}: the helper called {helper_calls:?}", row.name));
                }
                if !row.extension && sdk.status.success() {
                    failures.push(format!("{}: the SDK accepted it", row.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
