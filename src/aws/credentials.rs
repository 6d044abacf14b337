//! The credentials a profile stands for. A profile with `role_arn` is switched into
//! by this helper itself (see [`super::assume_role`]), from its `source_profile`
//! (which may itself switch role: chains work) or its `credential_source`.
//! A profile without `role_arn` is handed to aws-config: its default chain for the
//! profile docker runs us with, its profile-file provider for a source profile
//! (static keys, SSO, `credential_process`).

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_sdk_sts::config::{Credentials, ProvideCredentials};

use super::AwsError;
use super::assume_role;
use crate::cache::Cache;
use crate::profile_file::{Profiles, tilde};

/// How long the instance-metadata service may take before we decide there is none
/// (a laptop has none, and `get` must not hang on it).
const IMDS_TIMEOUT: Duration = Duration::from_millis(500);

/// The credentials of `profile`, switching role where the profile says so.
pub async fn for_profile(
    profile: &str,
    profiles: &Profiles,
    sdk: &SdkConfig,
    cache: Option<&Cache>,
) -> Result<Credentials, AwsError> {
    match profiles.role_arn(profile) {
        Some(role_arn) => {
            let mut chain = vec![profile.to_string()];
            switch(profile, role_arn, profiles, sdk, cache, &mut chain).await
        }
        None => {
            if profile != "default" && profiles.get(profile).is_none() {
                return Err(not_found(profile, profiles));
            }
            let region = sdk
                .region()
                .cloned()
                .unwrap_or_else(|| aws_sdk_sts::config::Region::new("us-east-1"));
            let chain = DefaultCredentialsChain::builder()
                .profile_name(profile)
                .region(region)
                .imds_client(imds_client())
                .build()
                .await;
            provide(profile, chain).await
        }
    }
}

/// Switches into a role profile's role: its kept MFA session if there is one, else
/// AssumeRole with the profile's source credentials.
async fn switch(
    profile: &str,
    role_arn: &str,
    profiles: &Profiles,
    sdk: &SdkConfig,
    cache: Option<&Cache>,
    chain: &mut Vec<String>,
) -> Result<Credentials, AwsError> {
    if let Some(kept) = assume_role::cached_mfa_session(profile, role_arn, profiles, cache) {
        return Ok(kept);
    }
    let source = source(profile, profiles, sdk, cache, chain).await?;
    assume_role::assume(profile, role_arn, source, profiles, sdk, cache).await
}

/// The credentials a role profile's role is assumed with: its `source_profile`'s
/// (switching role again where that profile has a `role_arn`) or its `credential_source`.
pub async fn source_for(
    profile: &str,
    profiles: &Profiles,
    sdk: &SdkConfig,
    cache: Option<&Cache>,
) -> Result<Credentials, AwsError> {
    source(
        profile,
        profiles,
        sdk,
        cache,
        &mut vec![profile.to_string()],
    )
    .await
}

async fn source(
    profile: &str,
    profiles: &Profiles,
    sdk: &SdkConfig,
    cache: Option<&Cache>,
    chain: &mut Vec<String>,
) -> Result<Credentials, AwsError> {
    match (
        profiles.value(profile, "source_profile"),
        profiles.value(profile, "credential_source"),
    ) {
        (Some(source_profile), _) if source_profile == profile => static_keys(profile, profiles),
        (Some(source_profile), _) => {
            let looped = chain.iter().any(|p| p == source_profile);
            chain.push(source_profile.to_string());
            if looped {
                return Err(AwsError::ProfileLoop {
                    profile: chain[0].clone(),
                    chain: chain.join(" -> "),
                });
            }
            if profiles.get(source_profile).is_none() {
                return Err(not_found(source_profile, profiles));
            }
            match profiles.role_arn(source_profile) {
                Some(role_arn) => {
                    Box::pin(switch(
                        source_profile,
                        role_arn,
                        profiles,
                        sdk,
                        cache,
                        chain,
                    ))
                    .await
                }
                None => {
                    let provider = ProfileFileCredentialsProvider::builder()
                        .profile_name(source_profile)
                        .build();
                    provide(source_profile, provider).await
                }
            }
        }
        (None, Some(named)) => named_source(profile, named).await,
        (None, None) => Err(AwsError::NoRoleSource {
            profile: profile.to_string(),
        }),
    }
}

/// A profile that names itself as `source_profile` uses its own static keys.
fn static_keys(profile: &str, profiles: &Profiles) -> Result<Credentials, AwsError> {
    match (
        profiles.value(profile, "aws_access_key_id"),
        profiles.value(profile, "aws_secret_access_key"),
    ) {
        (Some(id), Some(secret)) => Ok(Credentials::new(
            id,
            secret,
            profiles
                .value(profile, "aws_session_token")
                .map(str::to_string),
            None,
            "profile",
        )),
        _ => Err(AwsError::NoCredentials {
            profile: profile.to_string(),
            detail: "source_profile names the profile itself, which has no aws_access_key_id / aws_secret_access_key"
                .to_string(),
        }),
    }
}

/// `credential_source = Environment | Ec2InstanceMetadata | EcsContainer`.
async fn named_source(profile: &str, named: &str) -> Result<Credentials, AwsError> {
    match named {
        "Environment" => provide(profile, EnvironmentVariableCredentialsProvider::new()).await,
        "Ec2InstanceMetadata" => {
            let imds = ImdsCredentialsProvider::builder()
                .imds_client(imds_client())
                .build();
            provide(profile, imds).await
        }
        "EcsContainer" => provide(profile, EcsCredentialsProvider::builder().build()).await,
        other => Err(AwsError::BadCredentialSource {
            profile: profile.to_string(),
            value: other.to_string(),
        }),
    }
}

/// An instance-metadata client that gives up quickly when there is no such service.
fn imds_client() -> aws_config::imds::Client {
    aws_config::imds::Client::builder()
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .max_attempts(1)
        .build()
}

async fn provide(
    profile: &str,
    provider: impl ProvideCredentials,
) -> Result<Credentials, AwsError> {
    provider
        .provide_credentials()
        .await
        .map_err(|e| AwsError::NoCredentials {
            profile: profile.to_string(),
            detail: credentials_hint(profile, &format!("{e}: {}", super::error::causes(&e))),
        })
}

/// Turns the SDK's credential error text into one line with a next step.
fn credentials_hint(profile: &str, detail: &str) -> String {
    let lower = detail.to_ascii_lowercase();
    let sso = lower.contains("sso")
        && ["expired", "token", "sso/cache", "refresh"]
            .iter()
            .any(|s| lower.contains(s));
    if sso {
        format!(
            "the SSO session has expired or is missing: run `aws sso login --profile {profile}`"
        )
    } else if [
        "no credentials",
        "could not find",
        "not loaded",
        "not enabled",
        "did not contain credential",
        "imds",
    ]
    .iter()
    .any(|s| lower.contains(s))
    {
        format!(
            "no keys found (environment, ~/.aws/credentials, SSO, credential_process, instance role): run `aws configure --profile {profile}`"
        )
    } else {
        let line = detail
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect::<String>();
        format!("{line}; check `aws sts get-caller-identity --profile {profile}`")
    }
}

fn not_found(profile: &str, profiles: &Profiles) -> AwsError {
    AwsError::ProfileNotFound {
        profile: profile.to_string(),
        config: tilde(&profiles.config_path),
    }
}
