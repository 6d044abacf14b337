//! Which AWS identity serves a registry: the profile (first match wins:
//! `ECR_ROLE_PROFILE`, the registry's mapping in the helper's settings, the helper's
//! default profile, `AWS_PROFILE`, then `default`), the credential chain that profile
//! stands for ([`crate::chain`]), and the fingerprint that keys the token cache.
//! An explicit mapping beats `AWS_PROFILE` and environment keys on purpose: docker's
//! environment often carries credentials meant for something else.
//! No I/O beyond the environment, the profiles already read and the machine's host
//! name (for identities that belong to the machine).

use std::fmt;
use std::hash::Hasher;

use crate::chain::{self, Chain, ChainError, Selection};
use crate::profiles::Profiles;
use crate::registry::Registry;
use crate::settings::{ENV_PROFILE, Settings};

/// The environment that changes who a token is fetched as or where it comes from, so
/// it is part of the cache key (a token fetched from one endpoint is not served for another).
const ENDPOINT_VARS: &[&str] = &[
    // Who an environment-based source is (credential_source = Environment, the SDK's
    // default chain): these decide it without any call.
    "AWS_ACCESS_KEY_ID",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_ECR",
    "AWS_ENDPOINT_URL_ECR_PUBLIC",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    // Where instance credentials come from, and whether at all.
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
];

/// The profile keys that move an endpoint the same way (the SDK reads them too).
const ENDPOINT_KEYS: &[&str] = &[
    "endpoint_url",
    "ec2_metadata_service_endpoint",
    "ec2_metadata_service_endpoint_mode",
];

/// The endpoint environment of this process ([`ENDPOINT_VARS`]), hashed: part of every
/// key of something fetched from an endpoint (tokens through [`Identity`], and the
/// kept MFA role sessions), so what one endpoint gave is never sent to another.
pub fn endpoint_env_fingerprint(env: impl Fn(&str) -> Option<String>) -> u64 {
    let mut hash = crate::fnv::Fnv64::default();
    for var in ENDPOINT_VARS {
        hash.write(var.as_bytes());
        hash.write(b"=");
        hash.write(env(var).as_deref().unwrap_or("").as_bytes());
        hash.write(b"|");
    }
    hash.finish()
}

/// The profile chosen for a registry, why, and the credentials it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The AWS profile name.
    pub profile: String,
    /// Why this profile was chosen (said in messages and by `doctor`).
    pub chosen_by: ChosenBy,
    /// The role the ECR call is made as, when there is one.
    pub role_arn: Option<String>,
    /// The credential chain, or why the profile cannot have one.
    pub chain: Result<Chain, ChainError>,
    /// Hash of who the chain starts as and which endpoints it talks to (see [`fingerprint`]).
    pub fingerprint: u64,
}

impl Identity {
    /// An identity with a role and no chain of its own, for unit tests of other modules.
    #[cfg(test)]
    pub fn for_tests(profile: &str, chosen_by: ChosenBy, role_arn: Option<&str>) -> Identity {
        Identity {
            profile: profile.to_string(),
            chosen_by,
            role_arn: role_arn.map(str::to_string),
            chain: Ok(Chain {
                base: chain::Base::Ambient,
                hops: Vec::new(),
            }),
            fingerprint: 0,
        }
    }
}

/// Where the profile choice came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// `ECR_ROLE_PROFILE`.
    EnvOverride,
    /// The registry's entry in the helper's settings.
    RegistryMapping,
    /// The helper's `default_profile`.
    DefaultProfile,
    /// `AWS_PROFILE`.
    AwsProfile,
    /// Nothing chose: the `default` profile.
    Fallback,
}

impl fmt::Display for ChosenBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChosenBy::EnvOverride => ENV_PROFILE,
            ChosenBy::RegistryMapping => "the registry's mapping",
            ChosenBy::DefaultProfile => "the helper's default_profile",
            ChosenBy::AwsProfile => "AWS_PROFILE",
            ChosenBy::Fallback => "no profile configured",
        })
    }
}

impl ChosenBy {
    /// Whether the helper's own settings chose (then the profile beats environment keys).
    fn selection(self) -> Selection {
        match self {
            ChosenBy::AwsProfile | ChosenBy::Fallback => Selection::Ambient,
            _ => Selection::Explicit,
        }
    }
}

/// Chooses the profile for `registry` and resolves its chain. `env` reads an environment
/// variable (non-empty values only).
pub fn resolve(
    registry: &Registry,
    settings: &Settings,
    profiles: &Profiles,
    env: impl Fn(&str) -> Option<String>,
) -> Identity {
    let (profile, chosen_by) = if let Some(p) = env(ENV_PROFILE) {
        (p, ChosenBy::EnvOverride)
    } else if let Some(p) = settings.profile_for(&registry.host) {
        (p, ChosenBy::RegistryMapping)
    } else if let Some(p) = &settings.default_profile {
        (p.clone(), ChosenBy::DefaultProfile)
    } else if let Some(p) = env("AWS_PROFILE") {
        (p, ChosenBy::AwsProfile)
    } else {
        ("default".to_string(), ChosenBy::Fallback)
    };
    of_profile(profile, chosen_by, profiles, env)
}

/// The identity of a named profile (for `login --profile`, and [`resolve`]).
pub fn of_profile(
    profile: String,
    chosen_by: ChosenBy,
    profiles: &Profiles,
    env: impl Fn(&str) -> Option<String>,
) -> Identity {
    let chain = chain::resolve(profiles, &profile, chosen_by.selection(), &env);
    let role_arn = chain
        .as_ref()
        .ok()
        .and_then(|c| c.role_arn().map(str::to_string));
    let fingerprint = fingerprint(chain.as_ref().ok(), &profile, profiles, &env);
    Identity {
        profile,
        chosen_by,
        role_arn,
        chain,
        fingerprint,
    }
}

/// Who the chain starts as (the access key id, the SSO role, the token file, the
/// process, else "ambient") and the effective endpoint overrides, hashed: it keys the
/// token cache without any network call and without writing key material anywhere.
fn fingerprint(
    chain: Option<&Chain>,
    profile: &str,
    profiles: &Profiles,
    env: impl Fn(&str) -> Option<String>,
) -> u64 {
    let mut hash = crate::fnv::Fnv64::default();
    let mut add = |key: &str, value: &str| {
        hash.write(key.as_bytes());
        hash.write(b"=");
        hash.write(value.as_bytes());
        hash.write(b"|");
    };
    if let Some(chain) = chain {
        add("chain", &chain.fingerprint());
        // Instance and container roles are the machine's: a home shared between machines
        // (NFS, a cache volume) must not share their tokens.
        if matches!(chain.base, chain::Base::Ambient | chain::Base::Named { .. }) {
            add("host", &crate::platform::hostname());
        }
    }
    add(
        "endpoint_env",
        &format!("{:016x}", endpoint_env_fingerprint(&env)),
    );
    for key in ENDPOINT_KEYS {
        add(key, profiles.raw(profile, key).unwrap_or(""));
    }
    if let Some(services) = profiles.value(profile, "services")
        && let Some(section) = profiles.other_section(&format!("services {services}"))
    {
        for (key, value) in section {
            add(key, value);
        }
    }
    hash.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::FileKind;
    use crate::settings::RegistrySettings;

    const HOST: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com";

    fn setup() -> (Registry, Settings, Profiles) {
        let registry = Registry::parse(HOST).unwrap();
        let mut settings = Settings {
            default_profile: Some("helper-default".into()),
            ..Settings::default()
        };
        settings.registries.insert(
            HOST.into(),
            RegistrySettings {
                profile: Some("mapped".into()),
                ..RegistrySettings::default()
            },
        );
        let mut profiles = Profiles::default();
        profiles.add(
            "[profile mapped]\nrole_arn = arn:aws:iam::123456789012:role/R\ncredential_source = Environment\n",
            FileKind::Config,
        );
        (registry, settings, profiles)
    }

    use crate::settings::env_of;

    #[test]
    fn order_of_choice() {
        let (registry, mut settings, profiles) = setup();
        let both = env_of(&[("ECR_ROLE_PROFILE", "override"), ("AWS_PROFILE", "aws")]);
        let id = resolve(&registry, &settings, &profiles, &both);
        assert_eq!(
            (id.profile.as_str(), id.chosen_by),
            ("override", ChosenBy::EnvOverride)
        );

        let aws_only = env_of(&[("AWS_PROFILE", "aws")]);
        let id = resolve(&registry, &settings, &profiles, &aws_only);
        assert_eq!(
            (id.profile.as_str(), id.chosen_by),
            ("mapped", ChosenBy::RegistryMapping)
        );
        assert_eq!(
            id.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/R")
        );

        settings.registries.clear();
        let id = resolve(&registry, &settings, &profiles, &aws_only);
        assert_eq!(id.chosen_by, ChosenBy::DefaultProfile);
        assert_eq!(id.role_arn, None);

        settings.default_profile = None;
        let id = resolve(&registry, &settings, &profiles, &aws_only);
        assert_eq!(
            (id.profile.as_str(), id.chosen_by),
            ("aws", ChosenBy::AwsProfile)
        );

        let id = resolve(&registry, &settings, &profiles, env_of(&[]));
        assert_eq!(
            (id.profile.as_str(), id.chosen_by),
            ("default", ChosenBy::Fallback)
        );
    }

    #[test]
    fn the_fingerprint_follows_keys_and_endpoints() {
        let (registry, settings, mut profiles) = setup();
        profiles.add(
            "[default]\naws_access_key_id = AKIDONE\naws_secret_access_key = s\n",
            FileKind::Config,
        );
        const CHOSEN: &[(&str, &str)] = &[("ECR_ROLE_PROFILE", "default")];
        let base = resolve(&registry, &settings, &profiles, env_of(CHOSEN));
        assert!(base.chain.is_ok(), "{:?}", base.chain);
        let other_endpoint = resolve(
            &registry,
            &settings,
            &profiles,
            env_of(&[
                ("ECR_ROLE_PROFILE", "default"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ]),
        );
        assert_ne!(base.fingerprint, other_endpoint.fingerprint);
        profiles.set("default", "aws_access_key_id", "AKIDTWO");
        let other_key = resolve(&registry, &settings, &profiles, env_of(CHOSEN));
        assert_ne!(base.fingerprint, other_key.fingerprint);
        // credential_source = Environment: the environment's key is who it is.
        let mapped = resolve(
            &registry,
            &settings,
            &profiles,
            env_of(&[("AWS_ACCESS_KEY_ID", "AKIDA")]),
        );
        let mapped_b = resolve(
            &registry,
            &settings,
            &profiles,
            env_of(&[("AWS_ACCESS_KEY_ID", "AKIDB")]),
        );
        assert_ne!(mapped.fingerprint, mapped_b.fingerprint);
    }

    #[test]
    fn every_endpoint_setting_is_part_of_the_key() {
        // Item 6 of the third review: the SSO and instance metadata endpoints were not.
        let registry = Registry::parse(HOST).unwrap();
        let settings = Settings::default();
        let mut profiles = Profiles::default();
        profiles.add(
            "[default]\naws_access_key_id = AKIDONE\naws_secret_access_key = s\n",
            FileKind::Config,
        );
        let base = resolve(&registry, &settings, &profiles, env_of(&[])).fingerprint;
        for var in [
            "AWS_ENDPOINT_URL_SSO",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
            "AWS_EC2_METADATA_DISABLED",
            "AWS_ENDPOINT_URL_STS",
        ] {
            let env = move |name: &str| (name == var).then(|| "http://127.0.0.1:1".to_string());
            let other = resolve(&registry, &settings, &profiles, env).fingerprint;
            assert_ne!(base, other, "{var} is not in the key");
        }
        for key in ENDPOINT_KEYS {
            let mut moved = profiles.clone();
            moved.set("default", key, "http://127.0.0.1:1");
            let other = resolve(&registry, &settings, &moved, env_of(&[])).fingerprint;
            assert_ne!(base, other, "the profile's {key} is not in the key");
        }
    }
}
