//! The switch into a profile's role: STS AssumeRole with the source credentials,
//! honouring `external_id`, `role_session_name` and `duration_seconds` (aws-config
//! ignores `duration_seconds` and `mfa_serial`, so the helper calls STS itself).
//! On AccessDenied it asks STS who the caller is, so the message can name them.

use std::time::UNIX_EPOCH;

use aws_config::SdkConfig;
use aws_sdk_sts::Client;
use aws_sdk_sts::config::{Credentials, Region};

use super::AwsError;
use super::error::{CallFailure, Principal};
use crate::cache::{Cache, CachedRole};
use crate::profile_file::Profiles;
use crate::secret::Secret;

/// The key an MFA role session is kept under: the role, the session settings, the device.
fn mfa_session_key(profile: &str, role_arn: &str, profiles: &Profiles, mfa_serial: &str) -> String {
    let setting = |k| profiles.value(profile, k).unwrap_or("");
    format!(
        "mfa-role|{role_arn}|profile={profile}|external_id={}|session={}|duration={}|mfa={mfa_serial}",
        setting("external_id"),
        setting("role_session_name"),
        setting("duration_seconds"),
    )
}

/// The kept role session of a profile that needs MFA, if one is still valid: then
/// neither the source credentials nor a code are needed.
pub fn cached_mfa_session(
    profile: &str,
    role_arn: &str,
    profiles: &Profiles,
    cache: Option<&Cache>,
) -> Option<Credentials> {
    let serial = profiles.value(profile, "mfa_serial")?;
    let role = cache?.lookup_role(&mfa_session_key(profile, role_arn, profiles, serial))?;
    crate::log::secret(role.secret_access_key.expose());
    crate::log::secret(role.session_token.expose());
    Some(Credentials::new(
        role.access_key_id,
        role.secret_access_key.expose(),
        Some(role.session_token.expose().clone()),
        Some(UNIX_EPOCH + std::time::Duration::from_secs(role.expires_at)),
        "MfaSessionCache",
    ))
}

/// Assumes `role_arn` for `profile` with `source` credentials; returns the role's credentials.
/// A profile with `mfa_serial` asks for the code on the terminal (see [`super::mfa`]) and keeps
/// the role session in the cache, so the code is asked once per session.
pub async fn assume(
    profile: &str,
    role_arn: &str,
    source: Credentials,
    profiles: &Profiles,
    sdk: &SdkConfig,
    cache: Option<&Cache>,
) -> Result<Credentials, AwsError> {
    let client = sts_client(sdk, source, profiles.value(profile, "region"));
    let mfa_serial = profiles.value(profile, "mfa_serial");

    let mut request = client
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session_name(profiles, profile));
    if let Some(external_id) = profiles.value(profile, "external_id") {
        request = request.external_id(external_id);
    }
    if let Some(value) = profiles.value(profile, "duration_seconds") {
        let seconds = value
            .parse::<i32>()
            .ok()
            .filter(|s| (900..=43200).contains(s))
            .ok_or_else(|| AwsError::BadDuration {
                profile: profile.to_string(),
                value: value.to_string(),
            })?;
        request = request.duration_seconds(seconds);
    }
    if let Some(serial) = mfa_serial {
        let code = super::mfa::ask_code(profile, serial)?;
        request = request.serial_number(serial).token_code(code);
    }

    let output = match request.send().await {
        Ok(output) => output,
        Err(err) => {
            let failure = CallFailure::from_sdk(&err);
            if failure.is_access_denied() {
                return Err(AwsError::AssumeRoleDenied {
                    principal: caller(&client).await,
                    role: role_name(role_arn).to_string(),
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
    let expiry = u64::try_from(creds.expiration().secs())
        .ok()
        .map(|s| UNIX_EPOCH + std::time::Duration::from_secs(s));
    crate::log::secret(creds.secret_access_key());
    crate::log::secret(creds.session_token());
    if let (Some(serial), Some(cache)) = (mfa_serial, cache) {
        let kept = CachedRole::new(
            mfa_session_key(profile, role_arn, profiles, serial),
            creds.access_key_id().to_string(),
            Secret::new(creds.secret_access_key().to_string()),
            Secret::new(creds.session_token().to_string()),
            u64::try_from(creds.expiration().secs()).unwrap_or(0),
        );
        if let Err(e) = cache.store_role(&kept) {
            eprintln!(
                "{}: warning: MFA session not kept: {e}",
                crate::error::PROGRAM
            );
        }
    }
    Ok(Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_string()),
        expiry,
        "AssumeRole",
    ))
}

/// An STS client calling with `creds`, in `region` if given (else the SDK config's).
pub fn sts_client(sdk: &SdkConfig, creds: Credentials, region: Option<&str>) -> Client {
    let mut config = aws_sdk_sts::config::Builder::from(sdk).credentials_provider(creds);
    if let Some(region) = region {
        config = config.region(Region::new(region.to_string()));
    }
    Client::from_conf(config.build())
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

/// `role_session_name` from the profile, else one that names this tool (it shows in CloudTrail).
fn session_name(profiles: &Profiles, profile: &str) -> String {
    profiles
        .value(profile, "role_session_name")
        .map(str::to_string)
        .unwrap_or_else(|| format!("docker-credential-ecr-role-{}", crate::cache::now_secs()))
}

/// The role's name: the last segment of its ARN.
pub fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}
