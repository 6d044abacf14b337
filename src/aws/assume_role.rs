//! One role hop of a chain: STS AssumeRole with the credentials below it, honouring
//! `external_id`, `role_session_name` and the helper's extensions `duration_seconds`
//! and `mfa_serial` (aws-config ignores both, so the helper calls STS itself).
//! On AccessDenied it asks STS who the caller is, so the message can name them.

use std::time::UNIX_EPOCH;

use aws_config::SdkConfig;
use aws_sdk_sts::Client;
use aws_sdk_sts::config::{Credentials, Region};

use super::AwsError;
use super::error::{CallFailure, Principal};
use crate::cache::{Cache, CachedRole};
use crate::chain::{Chain, RoleHop};
use crate::secret::Secret;

/// The key an MFA role session is kept under: who the chain starts as, the role, the
/// session settings, the device and the endpoint environment (a session from one STS
/// endpoint is never sent to another).
fn mfa_session_key(hop: &RoleHop, chain: &Chain, mfa_serial: &str) -> String {
    mfa_session_key_in(hop, chain, mfa_serial, |var| std::env::var(var).ok())
}

fn mfa_session_key_in(
    hop: &RoleHop,
    chain: &Chain,
    mfa_serial: &str,
    env: impl Fn(&str) -> Option<String>,
) -> String {
    format!(
        "mfa-role|{}|profile={}|external_id={}|session={}|duration={}|mfa={mfa_serial}|from={:016x}|endpoints={:016x}",
        hop.role_arn,
        hop.profile,
        hop.external_id.as_deref().unwrap_or(""),
        hop.session_name.as_deref().unwrap_or(""),
        hop.duration_seconds.as_deref().unwrap_or(""),
        crate::fnv::fnv1a64(chain.fingerprint().as_bytes()),
        crate::identity::endpoint_env_fingerprint(env),
    )
}

/// Forgets the kept MFA role sessions of a chain's hops (`docker logout`: signing out
/// of a registry also signs out of the role sessions that served it).
pub fn forget_kept_sessions(chain: &Chain, cache: &Cache) {
    for hop in &chain.hops {
        if let Some(serial) = &hop.mfa_serial {
            cache.remove_role(&mfa_session_key(hop, chain, serial));
        }
    }
}

/// The kept role session of a hop that needs MFA, if one is still valid: then
/// neither the credentials below it nor a code are needed.
pub fn kept_session(hop: &RoleHop, chain: &Chain, cache: &Cache) -> Option<Credentials> {
    let serial = hop.mfa_serial.as_deref()?;
    let role = cache.lookup_role(&mfa_session_key(hop, chain, serial))?;
    Some(super::entered(Credentials::new(
        role.access_key_id,
        role.secret_access_key.expose(),
        Some(role.session_token.expose().clone()),
        UNIX_EPOCH.checked_add(std::time::Duration::from_secs(role.expires_at)),
        "MfaSessionCache",
    )))
}

/// Assumes the hop's role with `source` credentials; returns the role's credentials.
/// A hop with `mfa_serial` asks for the code on the terminal (see [`super::mfa`]) and keeps
/// the role session in the cache, so the code is asked once per session.
pub async fn assume(
    hop: &RoleHop,
    chain: &Chain,
    source: Credentials,
    sdk: &SdkConfig,
    cache: &Cache,
) -> Result<Credentials, AwsError> {
    let client = sts_client(sdk, source, hop.region.as_deref());
    let role_arn = hop.role_arn.as_str();
    let mut request = client
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(
            hop.session_name
                .clone()
                .unwrap_or_else(default_session_name),
        )
        .set_external_id(hop.external_id.clone());
    if let Some(value) = &hop.duration_seconds {
        let seconds = value
            .parse::<i32>()
            .ok()
            .filter(|s| (900..=43200).contains(s))
            .ok_or_else(|| AwsError::BadDuration {
                profile: hop.profile.clone(),
                value: value.clone(),
            })?;
        request = request.duration_seconds(seconds);
    }
    // Held until the role session is kept: other processes that need a code wait their
    // turn, then find the session this one kept instead of prompting again.
    let mut _turn = None;
    if let Some(serial) = &hop.mfa_serial {
        _turn = {
            // A prompt may take the whole MFA limit (ECR_ROLE_MFA_TIMEOUT), and its STS
            // call a little more: wait that long for the turn.
            let wait = super::mfa::timeout() + std::time::Duration::from_secs(15);
            let _paused = crate::deadline::pause(wait);
            cache.prompt_turn(wait)
        };
        if let Some(kept) = kept_session(hop, chain, cache) {
            return Ok(kept);
        }
        let code = super::mfa::code_for(&hop.profile, serial, hop.mfa_process.as_deref())?;
        request = request.serial_number(serial).token_code(code);
    }

    let output = match request.send().await {
        Ok(output) => output,
        Err(err) => {
            let failure = CallFailure::from_sdk(&err);
            // With a code just typed, a denial that speaks of MFA is about the code.
            if let Some(serial) = &hop.mfa_serial
                && failure.is_access_denied()
                && (failure.message.contains("MultiFactorAuthentication")
                    || failure.message.contains("MFA"))
            {
                return Err(AwsError::MfaCodeRefused {
                    serial: serial.clone(),
                    profile: hop.profile.clone(),
                    code: failure.code_or_status(),
                });
            }
            if failure.is_access_denied() {
                return Err(AwsError::AssumeRoleDenied {
                    principal: caller(&client).await,
                    role: crate::iam::role_name(role_arn).to_string(),
                    role_arn: role_arn.to_string(),
                    code: failure.code_or_status(),
                });
            }
            return Err(AwsError::Call {
                operation: "sts:AssumeRole",
                failure,
            });
        }
    };
    let creds = output.credentials().ok_or(AwsError::Call {
        operation: "sts:AssumeRole",
        failure: CallFailure {
            kind: super::error::FailureKind::BadResponse,
            code: None,
            status: None,
            message: "the answer has no credentials".to_string(),
        },
    })?;
    let expires_at = u64::try_from(creds.expiration().secs()).ok();
    let credentials = super::entered(Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_string()),
        expires_at.and_then(|s| UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s))),
        "AssumeRole",
    ));
    if let (Some(serial), Some(expires_at)) = (&hop.mfa_serial, expires_at) {
        let kept = CachedRole::new(
            mfa_session_key(hop, chain, serial),
            creds.access_key_id().to_string(),
            Secret::new(creds.secret_access_key().to_string()),
            Secret::new(creds.session_token().to_string()),
            expires_at,
        );
        if let Err(e) = cache.store_role(&kept) {
            crate::text::warn(format_args!("MFA session not kept: {e}"));
        }
    }
    Ok(credentials)
}

/// Credentials of `role_arn` for a web identity `token` (a Kubernetes service
/// account's, for the kubelet plugin): `sts:AssumeRoleWithWebIdentity`, an unsigned
/// call, in the registry's region (the SDK config's).
pub async fn with_web_identity(
    sdk: &SdkConfig,
    role_arn: &str,
    token: &str,
) -> Result<Credentials, AwsError> {
    crate::text::remember_secret(token);
    let client = Client::from_conf(
        aws_sdk_sts::config::Builder::from(sdk)
            .interceptor(super::cap::CapResponses)
            .build(),
    );
    let output = client
        .assume_role_with_web_identity()
        .role_arn(role_arn)
        .role_session_name(default_session_name())
        .web_identity_token(token)
        .send()
        .await
        .map_err(|err| AwsError::Call {
            operation: "sts:AssumeRoleWithWebIdentity",
            failure: CallFailure::from_sdk(&err),
        })?;
    let creds = output.credentials().ok_or(AwsError::Call {
        operation: "sts:AssumeRoleWithWebIdentity",
        failure: CallFailure {
            kind: super::error::FailureKind::BadResponse,
            code: None,
            status: None,
            message: "STS returned no credentials".into(),
        },
    })?;
    let expires_at = u64::try_from(creds.expiration().secs()).ok();
    Ok(super::entered(Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_string()),
        expires_at.and_then(|s| UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s))),
        "AssumeRoleWithWebIdentity",
    )))
}

/// The role session name when the profile names none: one that names this tool (it shows
/// in CloudTrail; the SDK's own default is `assume-role-from-profile-<millis>`).
pub fn default_session_name() -> String {
    format!("docker-credential-ecr-role-{}", crate::clock::now_secs())
}

/// An STS client calling with `creds`, in `region` if given (else the SDK config's,
/// which is the registry's). A hop's region in another partition than the registry's
/// (`region = us-east-1` in a profile used for a `cn-north-1` registry) is not used:
/// credentials of one partition are unknown to the other's STS, so STS is always
/// called in the registry's partition.
pub fn sts_client(sdk: &SdkConfig, creds: Credentials, region: Option<&str>) -> Client {
    let mut config = aws_sdk_sts::config::Builder::from(sdk)
        .credentials_provider(creds)
        .interceptor(super::cap::CapResponses);
    let registry_region = sdk.region().map(|r| r.as_ref().to_string());
    if let Some(region) = same_partition(region, registry_region.as_deref()) {
        config = config.region(Region::new(region.to_string()));
    }
    Client::from_conf(config.build())
}

/// `hop` when it is in the partition of `registry` (or nothing says otherwise).
fn same_partition<'a>(hop: Option<&'a str>, registry: Option<&str>) -> Option<&'a str> {
    use crate::registry::partition_of_region as partition;
    hop.filter(|hop| registry.is_none_or(|registry| partition(hop) == partition(registry)))
}

/// Who the client's credentials belong to, if STS will say.
pub async fn caller(client: &Client) -> Principal {
    caller_arn(client)
        .await
        .map_or(Principal(None), |arn| Principal::from_arn(&arn))
}

/// The ARN of the client's caller (sts:GetCallerIdentity, which no policy can deny).
pub async fn caller_arn(client: &Client) -> Result<String, AwsError> {
    match client.get_caller_identity().send().await {
        Ok(out) => Ok(out.arn().unwrap_or("").to_string()),
        Err(err) => Err(AwsError::Call {
            operation: "sts:GetCallerIdentity",
            failure: CallFailure::from_sdk(&err),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Selection, resolve};
    use crate::profiles::{FileKind, Profiles};

    /// A chain of one role that needs MFA.
    fn mfa_chain() -> Chain {
        let mut profiles = Profiles::default();
        profiles.add(
            "[default]\naws_access_key_id = AKID\naws_secret_access_key = s\n\
             [profile R]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = default\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n",
            FileKind::Config,
        );
        resolve(&profiles, "R", Selection::Explicit, |_| None).unwrap()
    }

    #[test]
    fn logout_forgets_the_kept_mfa_sessions_of_the_role() {
        // Item 15 of the third review: `docker logout` left them.
        let chain = mfa_chain();
        let hop = &chain.hops[0];
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let key = mfa_session_key(hop, &chain, hop.mfa_serial.as_deref().unwrap());
        cache
            .store_role(&CachedRole::new(
                key.clone(),
                "ASIAKEPT".into(),
                Secret::new("secret".into()),
                Secret::new("token".into()),
                crate::clock::now_secs() + 3600,
            ))
            .unwrap();
        assert!(cache.lookup_role(&key).is_some());
        forget_kept_sessions(&chain, &cache);
        assert!(cache.lookup_role(&key).is_none());
    }

    #[test]
    fn sts_is_called_in_the_registrys_partition() {
        assert_eq!(same_partition(Some("us-east-1"), Some("cn-north-1")), None);
        assert_eq!(
            same_partition(Some("cn-northwest-1"), Some("cn-north-1")),
            Some("cn-northwest-1")
        );
        assert_eq!(
            same_partition(Some("eu-west-1"), Some("ap-northeast-1")),
            Some("eu-west-1")
        );
        assert_eq!(same_partition(None, Some("cn-north-1")), None);
        assert_eq!(same_partition(Some("us-east-1"), None), Some("us-east-1"));
    }

    #[test]
    fn a_kept_mfa_session_belongs_to_its_endpoint() {
        // Item 6 of the third review: `login` against endpoint A, then a `get` with
        // AWS_ENDPOINT_URL=B sent A's role session to B.
        let chain = mfa_chain();
        let hop = &chain.hops[0];
        let serial = "arn:aws:iam::123456789012:mfa/u";
        let key = |vars: &'static [(&'static str, &'static str)]| {
            mfa_session_key_in(hop, &chain, serial, |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        let a = key(&[("AWS_ENDPOINT_URL", "http://a.example")]);
        assert_eq!(a, key(&[("AWS_ENDPOINT_URL", "http://a.example")]));
        assert_ne!(a, key(&[("AWS_ENDPOINT_URL", "http://b.example")]));
        assert_ne!(a, key(&[]));
        assert_ne!(
            key(&[]),
            key(&[("AWS_ENDPOINT_URL_STS", "http://b.example")])
        );
    }
}
