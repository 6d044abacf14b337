//! Which credentials a profile stands for, as a plan: where the first credentials
//! come from (the base) and which roles are then assumed, in order.
//!
//! This is aws-config's profile provider (`profile/credentials/repr.rs`,
//! `resolve_chain`) rule for rule, so the helper makes the same calls, signed by
//! the same keys, as the AWS SDK and CLI: a source profile's static keys win over
//! its own `role_arn`; `web_identity_token_file` + `role_arn` is a base
//! (AssumeRoleWithWebIdentity), not a hop; a self-referencing profile uses its own
//! keys; `source_profile` with `credential_source` is an error; a loop is an error;
//! a missing or key-less `default` profile hands over to the rest of the SDK's
//! default chain. On top, the helper's documented extensions travel with each hop:
//! `mfa_serial` and `duration_seconds`, which aws-config ignores.
//!
//! No SDK and no file I/O (the profiles are read already). The plan also gives the fingerprint that keys the token
//! cache, so a token fetched as one identity is never served to another.

use std::fmt;

use crate::profiles::Profiles;
use crate::secret::Secret;

/// Where the first credentials of a chain come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `aws_access_key_id` / `aws_secret_access_key` (/ `aws_session_token`) of a profile.
    StaticKeys {
        profile: String,
        access_key_id: String,
        secret_access_key: Secret<String>,
        session_token: Option<Secret<String>>,
    },
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`: first in the SDK's default chain.
    Environment { access_key_id: String },
    /// `credential_source = Environment | Ec2InstanceMetadata | EcsContainer`.
    Named {
        profile: String,
        source: NamedSource,
    },
    /// `role_arn` + `web_identity_token_file`: AssumeRoleWithWebIdentity.
    WebIdentity {
        profile: String,
        role_arn: String,
        token_file: String,
        session_name: Option<String>,
    },
    /// IAM Identity Center, through `sso_session` or the legacy keys.
    Sso {
        profile: String,
        start_url: String,
        region: String,
        account_id: String,
        role_name: String,
        session_name: Option<String>,
    },
    /// `credential_process`.
    Process { profile: String, command: String },
    /// No profile applies: the rest of the SDK's default chain (web identity from the
    /// environment, the container endpoint, instance metadata).
    Ambient,
}

/// The sources `credential_source` may name (matched case-insensitively, as the SDK does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedSource {
    Environment,
    Ec2InstanceMetadata,
    EcsContainer,
}

/// One role switch: a profile's `role_arn` and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHop {
    /// The profile that names the role.
    pub profile: String,
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    /// Helper extension: asks for an MFA code and keeps the role session.
    pub mfa_serial: Option<String>,
    /// Its `mfa_process` (aws-vault's key): a command that prints the code.
    pub mfa_process: Option<String>,
    /// Helper extension: the session's length (aws-config always asks for the default).
    pub duration_seconds: Option<String>,
    /// The profile's `region`, for the STS call.
    pub region: Option<String>,
}

/// The whole plan: the base, then each role in the order it is assumed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub base: Base,
    pub hops: Vec<RoleHop>,
}

/// A profile shape the SDK refuses (and so does the helper).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("profile {profile} is not in {config}{referenced}: add it, or choose another profile")]
    MissingProfile {
        profile: String,
        referenced: String,
        config: String,
    },
    #[error("source_profile loops ({chain}): break the loop in ~/.aws/config")]
    Loop { chain: String },
    #[error(
        "profile {profile} has both source_profile and credential_source: keep only one (the AWS SDKs refuse both)"
    )]
    BothSources { profile: String },
    #[error(
        "profile {profile} has role_arn but neither source_profile nor credential_source: add source_profile = <profile with your keys>"
    )]
    NoSource { profile: String },
    #[error(
        "profile {profile} has no credentials (no keys, SSO, credential_process or role): run `aws configure --profile {profile}`"
    )]
    NoCredentials { profile: String },
    #[error("profile {profile} has {present} but no {missing}: add it")]
    MissingKey {
        profile: String,
        present: &'static str,
        missing: &'static str,
    },
    #[error("profile {profile}: {message}")]
    SsoConfig { profile: String, message: String },
    #[error(
        "profile {profile}: credential_source {value} is not Environment, Ec2InstanceMetadata or EcsContainer"
    )]
    UnknownSource { profile: String, value: String },
    #[error(
        "profile {profile} uses login_session (aws login), which this helper does not support yet: use SSO or keys for the source"
    )]
    LoginSession { profile: String },
    #[error("source profile {profile} cannot provide credentials: {source}")]
    BadSource {
        profile: String,
        source: Box<ChainError>,
    },
}

/// How the profile was chosen matters for one SDK rule: environment keys come first
/// in the SDK's default chain, before any profile the environment or nothing chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// `AWS_PROFILE` or nothing (`default`): the SDK's default chain applies as is.
    Ambient,
    /// The helper's own choice (a registry mapping, its default, `ECR_ROLE_PROFILE`):
    /// the profile wins over environment keys (a documented extension).
    Explicit,
}

/// Resolves the plan for `profile`. `env` reads the process environment.
pub fn resolve(
    profiles: &Profiles,
    profile: &str,
    selection: Selection,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Chain, ChainError> {
    let no_hops = |base| Chain {
        base,
        hops: Vec::new(),
    };
    if selection == Selection::Ambient
        && let (Some(access_key_id), Some(_)) = (
            env("AWS_ACCESS_KEY_ID"),
            env("AWS_SECRET_ACCESS_KEY").or_else(|| env("SECRET_ACCESS_KEY")),
        )
    {
        return Ok(no_hops(Base::Environment { access_key_id }));
    }
    // No profiles, or no `default` to fall back on: the SDK goes on down its default
    // chain. A profile the helper's settings chose must exist (it beats the environment).
    if selection == Selection::Ambient
        && (profiles.is_empty() || (profile == "default" && profiles.get("default").is_none()))
    {
        return Ok(no_hops(Base::Ambient));
    }
    let mut name = profile.to_string();
    let mut visited: Vec<String> = Vec::new();
    let mut hops = Vec::new();
    let base = loop {
        if profiles.get(&name).is_none() {
            return Err(ChainError::MissingProfile {
                referenced: visited
                    .last()
                    .map(|p| format!(" (source_profile of {p})"))
                    .unwrap_or_default(),
                profile: name,
                config: crate::home::tilde(&profiles.config_path),
            });
        }
        if visited.contains(&name) {
            visited.push(name);
            return Err(ChainError::Loop {
                chain: visited.join(" -> "),
            });
        }
        visited.push(name.clone());
        // After the first profile, a source's static keys win over its own role.
        if visited.len() > 1
            && let Ok(keys) = static_keys(profiles, &name)
        {
            break keys;
        }
        match role_hop(profiles, &name) {
            Some(hop) => {
                hops.push(hop);
                match next_profile(profiles, &name)? {
                    Some(next) => name = next,
                    None => break base(profiles, &name)?,
                }
            }
            None => match base(profiles, &name) {
                // A `default` profile (or AWS_PROFILE's) with no credentials: the SDK's
                // profile provider steps aside and the default chain carries on.
                Err(ChainError::NoCredentials { .. })
                    if visited.len() == 1 && selection == Selection::Ambient =>
                {
                    break Base::Ambient;
                }
                Err(e) if visited.len() > 1 => {
                    return Err(ChainError::BadSource {
                        profile: name,
                        source: Box::new(e),
                    });
                }
                other => break other?,
            },
        }
    };
    hops.reverse();
    Ok(Chain { base, hops })
}

/// The role a profile switches into, unless it is a web-identity base.
fn role_hop(profiles: &Profiles, name: &str) -> Option<RoleHop> {
    if profiles.raw(name, "web_identity_token_file").is_some() {
        return None;
    }
    let get = |key| profiles.raw(name, key).map(str::to_string);
    Some(RoleHop {
        profile: name.to_string(),
        role_arn: get("role_arn")?,
        external_id: get("external_id"),
        session_name: get("role_session_name"),
        mfa_serial: profiles.value(name, "mfa_serial").map(str::to_string),
        mfa_process: profiles.value(name, "mfa_process").map(str::to_string),
        duration_seconds: profiles.value(name, "duration_seconds").map(str::to_string),
        region: profiles.value(name, "region").map(str::to_string),
    })
}

/// Where a role profile's source credentials come from: another profile, or itself.
fn next_profile(profiles: &Profiles, name: &str) -> Result<Option<String>, ChainError> {
    match (
        profiles.raw(name, "source_profile"),
        profiles.raw(name, "credential_source"),
    ) {
        (Some(_), Some(_)) => Err(ChainError::BothSources {
            profile: name.to_string(),
        }),
        (None, None) => Err(ChainError::NoSource {
            profile: name.to_string(),
        }),
        (Some(source), None) if source == name => Ok(None),
        (Some(source), None) => Ok(Some(source.to_string())),
        (None, Some(_)) => Ok(None),
    }
}

/// The base a profile provides itself, in the SDK's order: `credential_source`, web
/// identity, SSO, login session, `credential_process`, static keys.
fn base(profiles: &Profiles, name: &str) -> Result<Base, ChainError> {
    let get = |key| profiles.raw(name, key);
    let profile = name.to_string();
    if let Some(value) = get("credential_source") {
        let source = match value.to_ascii_lowercase().as_str() {
            "environment" => NamedSource::Environment,
            "ec2instancemetadata" => NamedSource::Ec2InstanceMetadata,
            "ecscontainer" => NamedSource::EcsContainer,
            _ => {
                return Err(ChainError::UnknownSource {
                    profile,
                    value: value.to_string(),
                });
            }
        };
        return Ok(Base::Named { profile, source });
    }
    match (get("role_arn"), get("web_identity_token_file")) {
        (Some(role_arn), Some(token_file)) => {
            return Ok(Base::WebIdentity {
                profile,
                role_arn: role_arn.to_string(),
                token_file: token_file.to_string(),
                session_name: get("role_session_name").map(str::to_string),
            });
        }
        (None, Some(_)) => {
            return Err(ChainError::MissingKey {
                profile,
                present: "web_identity_token_file",
                missing: "role_arn",
            });
        }
        _ => {}
    }
    if let Some(sso) = sso(profiles, name)? {
        return Ok(sso);
    }
    if get("login_session").is_some() {
        return Err(ChainError::LoginSession { profile });
    }
    if let Some(command) = get("credential_process") {
        return Ok(Base::Process {
            profile,
            command: command.to_string(),
        });
    }
    static_keys(profiles, name)
}

/// A profile's static keys.
fn static_keys(profiles: &Profiles, name: &str) -> Result<Base, ChainError> {
    let get = |key| profiles.raw(name, key);
    let profile = name.to_string();
    let (id, secret, token) = (
        get("aws_access_key_id"),
        get("aws_secret_access_key"),
        get("aws_session_token"),
    );
    match (id, secret) {
        (None, None) if token.is_none() => Err(ChainError::NoCredentials { profile }),
        (Some(id), Some(secret)) => Ok(Base::StaticKeys {
            profile,
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(secret.to_string()),
            session_token: token.map(|t| Secret::new(t.to_string())),
        }),
        (None, _) => Err(ChainError::MissingKey {
            profile,
            present: "keys",
            missing: "aws_access_key_id",
        }),
        (Some(_), None) => Err(ChainError::MissingKey {
            profile,
            present: "aws_access_key_id",
            missing: "aws_secret_access_key",
        }),
    }
}

/// An SSO base, from `sso_session` + its section or the legacy keys (the SDK's rules).
fn sso(profiles: &Profiles, name: &str) -> Result<Option<Base>, ChainError> {
    let get = |key| profiles.raw(name, key);
    let keys = [
        "sso_account_id",
        "sso_region",
        "sso_role_name",
        "sso_start_url",
        "sso_session",
    ];
    if keys.iter().all(|k| get(k).is_none()) {
        return Ok(None);
    }
    let bad = |message: String| ChainError::SsoConfig {
        profile: name.to_string(),
        message,
    };
    let (mut start_url, mut region) = (get("sso_start_url"), get("sso_region"));
    let session_name = get("sso_session");
    if let Some(session) = session_name {
        for key in ["sso_start_url", "sso_region"] {
            if get(key).is_some() {
                return Err(bad(format!(
                    "`{key}` can only be specified in the [sso-session] config when a session name is given"
                )));
            }
        }
        let section = profiles.sso_session(session).ok_or_else(|| {
            bad(format!(
                "sso_session {session} has no [sso-session {session}] section"
            ))
        })?;
        start_url = section.get("sso_start_url").map(String::as_str);
        region = section.get("sso_region").map(String::as_str);
    }
    let (account_id, role_name) = match (get("sso_account_id"), get("sso_role_name")) {
        (Some(a), Some(r)) => (a, r),
        (Some(_), None) => {
            return Err(bad(
                "if `sso_account_id` is set, then `sso_role_name` must also be set".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(bad(
                "if `sso_role_name` is set, then `sso_account_id` must also be set".into(),
            ));
        }
        (None, None) => {
            return Err(bad(
                "it has SSO settings for a token but no sso_account_id / sso_role_name for credentials".into(),
            ));
        }
    };
    let region = region.ok_or_else(|| bad("sso_region is missing".into()))?;
    let start_url = start_url.ok_or_else(|| bad("sso_start_url is missing".into()))?;
    Ok(Some(Base::Sso {
        profile: name.to_string(),
        start_url: start_url.to_string(),
        region: region.to_string(),
        account_id: account_id.to_string(),
        role_name: role_name.to_string(),
        session_name: session_name.map(str::to_string),
    }))
}

impl Chain {
    /// The role whose credentials call ECR: the last hop's, or a web-identity base's.
    pub fn role_arn(&self) -> Option<&str> {
        match (self.hops.last(), &self.base) {
            (Some(hop), _) => Some(&hop.role_arn),
            (None, Base::WebIdentity { role_arn, .. }) => Some(role_arn),
            _ => None,
        }
    }

    /// Who the chain starts as, without any network call: the text that keys the
    /// token cache (hashed before it is used; never written anywhere as is).
    pub fn fingerprint(&self) -> String {
        let mut out = match &self.base {
            Base::StaticKeys { access_key_id, .. } => format!("keys:{access_key_id}"),
            Base::Environment { access_key_id } => format!("env:{access_key_id}"),
            Base::Named { source, .. } => format!("named:{source:?}"),
            Base::WebIdentity {
                role_arn,
                token_file,
                ..
            } => format!("web-identity:{token_file}|{role_arn}"),
            Base::Sso {
                start_url,
                account_id,
                role_name,
                ..
            } => format!("sso:{start_url}|{account_id}|{role_name}"),
            Base::Process { command, .. } => format!("process:{command}"),
            Base::Ambient => "ambient".to_string(),
        };
        for hop in &self.hops {
            out.push_str(&format!(
                "|role:{}|{}|{}",
                hop.role_arn,
                hop.external_id.as_deref().unwrap_or(""),
                hop.mfa_serial.as_deref().unwrap_or("")
            ));
        }
        out
    }
}

/// An access key id as the AWS CLI shows it: only its last four characters.
fn masked(access_key_id: &str) -> String {
    let tail: String = access_key_id
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("****{tail}")
}

impl fmt::Display for Base {
    /// The base in words, for `doctor` and messages (never a secret).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base::StaticKeys {
                profile,
                access_key_id,
                ..
            } => write!(f, "keys of profile {profile} ({})", masked(access_key_id)),
            Base::Environment { access_key_id } => {
                write!(f, "keys from AWS_ACCESS_KEY_ID ({})", masked(access_key_id))
            }
            Base::Named { profile, source } => {
                write!(f, "credential_source {source:?} of profile {profile}")
            }
            Base::WebIdentity {
                profile,
                token_file,
                ..
            } => write!(
                f,
                "web identity token {token_file} of profile {profile} (AssumeRoleWithWebIdentity)"
            ),
            Base::Sso {
                profile,
                account_id,
                role_name,
                ..
            } => write!(f, "SSO {role_name} in {account_id} (profile {profile})"),
            Base::Process { profile, .. } => write!(f, "credential_process of profile {profile}"),
            Base::Ambient => f.write_str(
                "the SDK's default chain (web identity from the environment, container, instance metadata)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::FileKind;

    fn profiles(config: &str, credentials: &str) -> Profiles {
        let mut p = Profiles::default();
        p.add(config, FileKind::Config);
        p.add(credentials, FileKind::Credentials);
        p
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn roles(chain: &Chain) -> Vec<&str> {
        chain.hops.iter().map(|h| h.role_arn.as_str()).collect()
    }

    const KEYS: &str = "[default]\naws_access_key_id = AKIDEFAULT\naws_secret_access_key = s\n";

    #[test]
    fn the_user_story_is_one_hop_from_static_keys() {
        let p = profiles(
            "[profile R]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = default\n",
            KEYS,
        );
        let chain = resolve(&p, "R", Selection::Explicit, no_env).unwrap();
        assert!(
            matches!(&chain.base, Base::StaticKeys { access_key_id, .. } if access_key_id == "AKIDEFAULT")
        );
        assert_eq!(roles(&chain), ["arn:aws:iam::1:role/R"]);
        assert_eq!(chain.role_arn(), Some("arn:aws:iam::1:role/R"));
    }

    #[test]
    fn a_chain_of_three_is_assumed_bottom_up() {
        let p = profiles(
            "[profile A]\nrole_arn = arn:a\nsource_profile = B\n\
             [profile B]\nrole_arn = arn:b\nsource_profile = C\n\
             [profile C]\nrole_arn = arn:c\nsource_profile = default\n",
            KEYS,
        );
        let chain = resolve(&p, "A", Selection::Explicit, no_env).unwrap();
        assert_eq!(roles(&chain), ["arn:c", "arn:b", "arn:a"]);
    }

    #[test]
    fn a_source_with_keys_and_a_role_uses_the_keys() {
        let p = profiles(
            "[profile A]\nrole_arn = arn:a\nsource_profile = S\n[profile S]\nrole_arn = arn:s\nsource_profile = default\n",
            "[S]\naws_access_key_id = AKIDS\naws_secret_access_key = x\n",
        );
        let chain = resolve(&p, "A", Selection::Explicit, no_env).unwrap();
        assert!(matches!(&chain.base, Base::StaticKeys { profile, .. } if profile == "S"));
        assert_eq!(roles(&chain), ["arn:a"]);
    }

    #[test]
    fn self_reference_uses_the_profiles_own_keys() {
        let p = profiles(
            "[profile A]\nrole_arn = arn:a\nsource_profile = A\naws_access_key_id = AKIDA\naws_secret_access_key = x\n",
            "",
        );
        let chain = resolve(&p, "A", Selection::Explicit, no_env).unwrap();
        assert!(matches!(&chain.base, Base::StaticKeys { profile, .. } if profile == "A"));
        assert_eq!(roles(&chain), ["arn:a"]);
    }

    #[test]
    fn credential_source_and_web_identity_are_bases() {
        let p = profiles(
            "[profile E]\nrole_arn = arn:e\ncredential_source = ec2instancemetadata\n\
             [profile W]\nrole_arn = arn:w\nweb_identity_token_file = /t\n\
             [profile X]\nrole_arn = arn:x\nsource_profile = W\n",
            "",
        );
        let chain = resolve(&p, "E", Selection::Explicit, no_env).unwrap();
        assert_eq!(
            chain.base,
            Base::Named {
                profile: "E".into(),
                source: NamedSource::Ec2InstanceMetadata
            }
        );
        assert_eq!(roles(&chain), ["arn:e"]);
        let chain = resolve(&p, "W", Selection::Explicit, no_env).unwrap();
        assert!(matches!(&chain.base, Base::WebIdentity { role_arn, .. } if role_arn == "arn:w"));
        assert!(chain.hops.is_empty());
        assert_eq!(chain.role_arn(), Some("arn:w"));
        let chain = resolve(&p, "X", Selection::Explicit, no_env).unwrap();
        assert!(matches!(&chain.base, Base::WebIdentity { .. }));
        assert_eq!(roles(&chain), ["arn:x"]);
    }

    #[test]
    fn refused_shapes() {
        let p = profiles(
            "[profile Both]\nrole_arn = arn:b\nsource_profile = default\ncredential_source = Environment\n\
             [profile Loop1]\nrole_arn = arn:1\nsource_profile = Loop2\n\
             [profile Loop2]\nrole_arn = arn:2\nsource_profile = Loop1\n\
             [profile None]\nrole_arn = arn:n\n\
             [profile Missing]\nrole_arn = arn:m\nsource_profile = nowhere\n\
             [profile Odd]\nrole_arn = arn:o\ncredential_source = Laptop\n",
            KEYS,
        );
        let err = |name| resolve(&p, name, Selection::Explicit, no_env).unwrap_err();
        assert!(matches!(err("Both"), ChainError::BothSources { .. }));
        assert_eq!(
            err("Loop1").to_string(),
            "source_profile loops (Loop1 -> Loop2 -> Loop1): break the loop in ~/.aws/config"
        );
        assert!(matches!(err("None"), ChainError::NoSource { .. }));
        assert!(matches!(err("Missing"), ChainError::MissingProfile { .. }));
        assert!(matches!(err("Odd"), ChainError::UnknownSource { .. }));
        assert!(matches!(err("absent"), ChainError::MissingProfile { .. }));
    }

    #[test]
    fn environment_keys_win_only_when_the_profile_was_not_the_helpers_choice() {
        let p = profiles(
            "[profile R]\nrole_arn = arn:r\nsource_profile = default\n",
            KEYS,
        );
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIDENV".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("x".to_string()),
            _ => None,
        };
        let ambient = resolve(&p, "R", Selection::Ambient, env).unwrap();
        assert_eq!(
            ambient.base,
            Base::Environment {
                access_key_id: "AKIDENV".into()
            }
        );
        assert!(ambient.hops.is_empty());
        let mapped = resolve(&p, "R", Selection::Explicit, env).unwrap();
        assert_eq!(roles(&mapped), ["arn:r"]);
    }

    #[test]
    fn no_default_profile_is_the_rest_of_the_default_chain() {
        let p = profiles("[profile other]\nregion = x\n[default]\nregion = y\n", "");
        assert_eq!(
            resolve(&Profiles::default(), "default", Selection::Ambient, no_env)
                .unwrap()
                .base,
            Base::Ambient
        );
        assert_eq!(
            resolve(&p, "default", Selection::Ambient, no_env)
                .unwrap()
                .base,
            Base::Ambient
        );
        assert!(matches!(
            resolve(&p, "other", Selection::Explicit, no_env),
            Err(ChainError::NoCredentials { .. })
        ));
        // A profile the helper's settings chose must exist, even with no files at all.
        assert!(matches!(
            resolve(&Profiles::default(), "prod", Selection::Explicit, no_env),
            Err(ChainError::MissingProfile { .. })
        ));
    }

    #[test]
    fn sso_sources_through_a_session_or_legacy_keys() {
        let p = profiles(
            "[profile S]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n\
             [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
             [profile L]\nsso_start_url = https://l/start\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = R\n\
             [profile R]\nrole_arn = arn:r\nsource_profile = S\n",
            "",
        );
        let chain = resolve(&p, "R", Selection::Explicit, no_env).unwrap();
        assert!(
            matches!(&chain.base, Base::Sso { region, session_name: Some(s), .. } if region == "eu-west-1" && s == "corp")
        );
        let chain = resolve(&p, "L", Selection::Explicit, no_env).unwrap();
        assert!(
            matches!(&chain.base, Base::Sso { start_url, .. } if start_url == "https://l/start")
        );
    }

    #[test]
    fn fingerprints_tell_identities_apart() {
        // A distinctive secret key: found in a fingerprint, it can only be a leak.
        const SECRET: &str = "fingerprint-test-secret-key-0d9b7e41c2";
        let fingerprint = |id: &str| {
            let credentials =
                format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {SECRET}\n");
            let p = profiles("", &credentials);
            resolve(&p, "default", Selection::Ambient, no_env)
                .unwrap()
                .fingerprint()
        };
        let (fa, fb) = (fingerprint("AKIDA"), fingerprint("AKIDB"));
        assert_ne!(fa, fb);
        for f in [fa, fb] {
            assert!(
                !f.contains(SECRET),
                "the secret key is in a fingerprint: {f}"
            );
        }
    }
}
