//! Runs a credential chain ([`crate::chain::Chain`]): the base credentials through
//! the SDK's own provider for that kind of source, then each role hop through
//! [`super::assume_role`] (which adds MFA and `duration_seconds`). `get`, `login`
//! and `doctor` all come through [`for_chain`], so a kept MFA role session serves
//! all three.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::{StaticConfiguration, WebIdentityTokenCredentialsProvider};
use aws_sdk_sts::config::{Credentials, ProvideCredentials, Region};

use super::AwsError;
use super::assume_role;
use crate::cache::Cache;
use crate::chain::{Base, Chain, NamedSource, RoleHop};

/// How long the instance-metadata service may take before we decide there is none
/// (a laptop has none, and `get` must not hang on it).
const IMDS_TIMEOUT: Duration = Duration::from_millis(500);

/// A step of a chain that succeeded, for callers that report each (`doctor`).
#[derive(Debug)]
pub enum Step<'a> {
    /// The base credentials were had.
    Base(&'a Credentials),
    /// A role was assumed (`kept`: its MFA session came from the cache).
    Role { hop: &'a RoleHop, kept: bool },
}

/// The credentials at the end of `chain`: from the highest role whose MFA session is
/// kept, else from the base, then through every remaining role. `on_step` hears of
/// each step that succeeded, in order.
pub async fn for_chain(
    chain: &Chain,
    profile: &str,
    sdk: &SdkConfig,
    cache: &Cache,
    on_step: &mut dyn FnMut(Step<'_>),
) -> Result<Credentials, AwsError> {
    let kept = chain
        .hops
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, hop)| Some((i, assume_role::kept_session(hop, chain, cache)?)));
    let (start, mut creds) = match kept {
        Some((i, creds)) => {
            on_step(Step::Role {
                hop: &chain.hops[i],
                kept: true,
            });
            (i + 1, creds)
        }
        None => {
            let creds = base(&chain.base, profile, sdk).await?;
            on_step(Step::Base(&creds));
            (0, creds)
        }
    };
    for hop in &chain.hops[start..] {
        creds = assume_role::assume(hop, chain, creds, sdk, cache).await?;
        on_step(Step::Role { hop, kept: false });
    }
    Ok(creds)
}

/// Remembers the bearer tokens a base hands to an endpoint, where they enter the
/// program, so no message or log line can carry one back: a web identity token (a JWT
/// that buys the role's keys), the container endpoint's authorization token, and the
/// SSO access and refresh tokens of `~/.aws/sso/cache`. The SDK reads these files
/// itself; they are read here too, bounded, only for this.
fn remember_bearer_tokens(base: &Base) {
    let remember_file = |path: &str| {
        if let Ok(Some(text)) = crate::files::read_optional(std::path::Path::new(path)) {
            crate::text::remember_secret(text.trim());
        }
    };
    let env = crate::settings::env_nonempty;
    match base {
        Base::WebIdentity { token_file, .. } => remember_file(token_file),
        Base::Sso { .. } => remember_sso_tokens(),
        _ => {}
    }
    // The environment's sources, which the SDK's default chain and credential_source use.
    if let Some(path) = env("AWS_WEB_IDENTITY_TOKEN_FILE") {
        remember_file(&path);
    }
    if let Some(path) = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        remember_file(&path);
    }
    if let Some(token) = env("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
        crate::text::remember_secret(&token);
    }
}

/// The tokens of the SSO token cache (at most 64 files are looked at).
fn remember_sso_tokens() {
    let Some(home) = crate::home::home_dir() else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(home.join(".aws/sso/cache")) else {
        return;
    };
    for entry in entries.flatten().take(64) {
        let Ok(Some(text)) = crate::files::read_optional(&entry.path()) else {
            continue;
        };
        if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(&text) {
            for key in ["accessToken", "refreshToken", "clientSecret"] {
                if let Some(serde_json::Value::String(token)) = fields.get(key) {
                    crate::text::remember_secret(token);
                }
            }
        }
    }
}

/// The base credentials, each through the SDK's provider for that source.
async fn base(base: &Base, profile: &str, sdk: &SdkConfig) -> Result<Credentials, AwsError> {
    remember_bearer_tokens(base);
    let region = sdk
        .region()
        .cloned()
        .unwrap_or_else(|| Region::new(crate::registry::GLOBAL_REGION));
    // Every provider gets the SDK configuration's one HTTP client (see `super::http`).
    let provider_config = || {
        let config = ProviderConfig::default().with_region(Some(region.clone()));
        match sdk.http_client() {
            Some(client) => config.with_http_client(client),
            None => config,
        }
    };
    match base {
        Base::StaticKeys {
            access_key_id,
            secret_access_key,
            session_token,
            ..
        } => Ok(super::entered(Credentials::new(
            access_key_id,
            secret_access_key.expose(),
            session_token.as_ref().map(|t| t.expose().clone()),
            None,
            "ProfileFile",
        ))),
        Base::Environment { .. } => {
            provide(base, EnvironmentVariableCredentialsProvider::new()).await
        }
        Base::Named { source, .. } => match source {
            NamedSource::Environment => {
                provide(base, EnvironmentVariableCredentialsProvider::new()).await
            }
            NamedSource::Ec2InstanceMetadata => {
                let imds = ImdsCredentialsProvider::builder()
                    .configure(&provider_config())
                    .imds_client(imds_client(&provider_config()))
                    .build();
                provide(base, imds).await
            }
            NamedSource::EcsContainer => {
                let ecs = EcsCredentialsProvider::builder()
                    .configure(&provider_config())
                    .build();
                provide(base, ecs).await
            }
        },
        Base::WebIdentity {
            role_arn,
            token_file,
            session_name,
            ..
        } => {
            let provider = WebIdentityTokenCredentialsProvider::builder()
                .static_configuration(StaticConfiguration {
                    web_identity_token_file: token_file.into(),
                    role_arn: role_arn.clone(),
                    session_name: session_name
                        .clone()
                        .unwrap_or_else(assume_role::default_session_name),
                })
                .configure(&provider_config())
                .build();
            provide(base, provider).await
        }
        Base::Sso {
            start_url,
            region: sso_region,
            account_id,
            role_name,
            session_name,
            ..
        } => {
            let mut builder = aws_config::sso::SsoCredentialsProvider::builder()
                .configure(&provider_config())
                .start_url(start_url)
                .region(Region::new(sso_region.clone()))
                .account_id(account_id)
                .role_name(role_name);
            if let Some(session) = session_name {
                builder = builder.session_name(session);
            }
            provide(base, builder.build()).await
        }
        // Run by the helper itself, so that it owns the child (see `super::process`).
        Base::Process { command, .. } => {
            let creds = super::process::run(command).map_err(|e| AwsError::NoCredentials {
                from: base.to_string(),
                detail: format!("credential_process failed: {e}"),
            })?;
            Ok(creds)
        }
        Base::Ambient => {
            let chain = DefaultCredentialsChain::builder()
                .configure(provider_config())
                .profile_name(profile)
                .region(region.clone())
                .imds_client(imds_client(&provider_config()))
                .build()
                .await;
            provide(base, chain).await.map_err(|e| match e {
                AwsError::NoAwsSetup { .. } => AwsError::NoAwsSetup {
                    profile: profile.to_string(),
                },
                other => other,
            })
        }
    }
}

/// An instance-metadata client that gives up quickly when there is no such service.
fn imds_client(config: &ProviderConfig) -> aws_config::imds::Client {
    aws_config::imds::Client::builder()
        .configure(config)
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .max_attempts(1)
        .build()
}

/// Asks a provider, turning its failure into one line that names the source.
async fn provide(base: &Base, provider: impl ProvideCredentials) -> Result<Credentials, AwsError> {
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|e| match (base, &e) {
            // The SDK's default chain found nothing it could use: nothing is set up
            // (its last provider's failure, often instance metadata's, is not what the
            // user needs to hear first; `doctor` and the debug log have it).
            (Base::Ambient, _) => {
                crate::log::debug!(
                    "no credentials from the SDK's default chain: {}",
                    super::error::one_line(&format!("{e}: {}", super::error::causes(&e)))
                );
                AwsError::NoAwsSetup {
                    profile: String::new(),
                }
            }
            _ => AwsError::NoCredentials {
                from: base.to_string(),
                detail: credentials_hint(base, &e),
            },
        })?;
    Ok(super::entered(creds))
}

/// What to do about a provider's failure, by the kind of error and the kind of source.
fn credentials_hint(
    base: &Base,
    err: &aws_credential_types::provider::error::CredentialsError,
) -> String {
    use aws_credential_types::provider::error::CredentialsError as E;
    let detail = super::error::one_line(&format!("{err}: {}", super::error::causes(err)));
    match (err, base) {
        (_, Base::Sso { profile, .. }) => format!(
            "the SSO session has expired or is missing ({detail}): run `aws sso login --profile {profile}`"
        ),
        (E::CredentialsNotLoaded(_), _) => format!("nothing was found: {detail}"),
        _ => detail,
    }
}
