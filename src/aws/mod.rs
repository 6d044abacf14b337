//! Everything that touches the AWS SDK, built only on a cache miss: one SDK
//! configuration for the registry's region, the source credentials
//! ([`credentials`]), the switch into the profile's role ([`assume_role`]) and
//! the ECR token ([`ecr`]). A current-thread tokio runtime is started here and
//! nowhere else.

pub mod assume_role;
pub mod cap;
pub mod credentials;
pub mod ecr;
pub mod error;
pub mod http;
pub mod mfa;
pub mod process;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sts::config::Region;

pub use error::AwsError;

use crate::cache::Cache;
use crate::identity::Identity;
use crate::profiles::Profiles;
use crate::registry::Registry;
use crate::secret::Secret;

/// Credentials as they enter the program, from wherever they come (an STS answer, a
/// `credential_process`, the profile files, a kept MFA session, an SDK provider):
/// their secret parts are remembered here, the one place, so nothing this process
/// prints can carry them ([`crate::text::remember_secret`]).
pub fn entered(
    credentials: aws_credential_types::Credentials,
) -> aws_credential_types::Credentials {
    crate::text::remember_secret(credentials.secret_access_key());
    if let Some(token) = credentials.session_token() {
        crate::text::remember_secret(token);
    }
    credentials
}

/// Time allowed to open a connection to an AWS endpoint.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time allowed for one attempt of one call (connect, send, read the answer).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for one call, retries with backoff included. A `get` makes one call
/// per role hop and one for the token; the 30 s deadline (`deadline::GET_DEADLINE`)
/// bounds the whole however many there are: docker itself never times a helper out.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(12);
/// Attempts per call (the SDK's standard retry: exponential backoff with jitter,
/// for throttling, 5xx and transient network errors).
pub const MAX_ATTEMPTS: u32 = 3;

/// A token ECR issued, decoded.
#[derive(Debug)]
pub struct Token {
    /// Always `AWS` for ECR.
    pub username: String,
    /// The registry password.
    pub password: Secret<String>,
    /// Unix seconds; `None` if ECR did not say.
    pub expires_at: Option<u64>,
}

/// Fetches a registry token through the identity: its credential chain (source
/// credentials, then each role), then GetAuthorizationToken.
pub fn fetch_token(
    registry: &Registry,
    identity: &Identity,
    profiles: &Profiles,
    cache: &Cache,
) -> Result<Token, AwsError> {
    let chain = identity
        .chain
        .as_ref()
        .map_err(|e| AwsError::Chain(e.clone()))?;
    block_on(async {
        let sdk = load_sdk_config(identity, profiles, registry.region()).await;
        let creds =
            credentials::for_chain(chain, &identity.profile, &sdk, cache, &mut |_| {}).await?;
        ecr::get_token(registry, identity, profiles, &creds, &sdk).await
    })?
}

/// Runs AWS work on a current-thread runtime, the one place a runtime is started.
pub fn block_on<F: std::future::Future>(work: F) -> Result<F::Output, AwsError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AwsError::Runtime(e.to_string()))?;
    Ok(runtime.block_on(work))
}

/// The SDK configuration shared by every client: region, timeouts, retries, and the
/// endpoint overrides aws-config reads (`AWS_ENDPOINT_URL*`, the profile's `endpoint_url`).
/// No credentials: each client gets the ones of its hop. The SDK parses the very texts
/// [`Profiles`] read: it never opens a profile file itself.
pub async fn load_sdk_config(
    identity: &Identity,
    profiles: &Profiles,
    region: &str,
) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .profile_files(profiles.sdk_files())
        .profile_name(&identity.profile)
        .region(Region::new(region.to_string()))
        .http_client(http::client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(CALL_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .no_credentials()
        .load()
        .await
}
