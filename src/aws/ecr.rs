//! ECR's GetAuthorizationToken (private registries, FIPS endpoint for FIPS hosts)
//! and ECR Public's (us-east-1), and decoding the base64 `AWS:<password>` token.

use aws_config::SdkConfig;
use aws_sdk_sts::config::{Credentials, Region};
use base64::Engine;

use super::error::{CallFailure, Principal};
use super::{AwsError, Token};
use crate::identity::Identity;
use crate::profiles::Profiles;
use crate::registry::{PUBLIC_REGION, Registry, RegistryKind};
use crate::secret::Secret;
use crate::text::PROGRAM;

/// Asks ECR (or ECR Public) for the registry's token with `creds`.
pub async fn get_token(
    registry: &Registry,
    identity: &Identity,
    profiles: &Profiles,
    creds: &Credentials,
    sdk: &SdkConfig,
) -> Result<Token, AwsError> {
    let (encoded, expires_at, failure) = match &registry.kind {
        RegistryKind::Private {
            registry_id,
            region,
            ..
        } => {
            let config = aws_sdk_ecr::config::Builder::from(sdk)
                .credentials_provider(creds.clone())
                .interceptor(super::cap::CapResponses)
                .region(Region::new(region.clone()))
                .use_fips(use_fips_endpoint(registry, custom_endpoint(sdk)))
                .build();
            let client = aws_sdk_ecr::Client::from_conf(config);
            #[allow(deprecated)] // registryIds is deprecated upstream but still names the account
            let result = client
                .get_authorization_token()
                .registry_ids(registry_id)
                .send()
                .await;
            match result {
                Ok(out) => {
                    let data = out.authorization_data().first().ok_or(AwsError::NoToken)?;
                    (
                        data.authorization_token().map(str::to_string),
                        data.expires_at().map(|t| t.secs()),
                        None,
                    )
                }
                Err(err) => (None, None, Some(CallFailure::from_sdk(&err))),
            }
        }
        RegistryKind::Public => {
            let config = aws_sdk_ecrpublic::config::Builder::from(sdk)
                .credentials_provider(creds.clone())
                .interceptor(super::cap::CapResponses)
                .region(Region::new(PUBLIC_REGION))
                .build();
            let client = aws_sdk_ecrpublic::Client::from_conf(config);
            match client.get_authorization_token().send().await {
                Ok(out) => {
                    let data = out.authorization_data().ok_or(AwsError::NoToken)?;
                    (
                        data.authorization_token().map(str::to_string),
                        data.expires_at().map(|t| t.secs()),
                        None,
                    )
                }
                Err(err) => (None, None, Some(CallFailure::from_sdk(&err))),
            }
        }
    };
    if let Some(failure) = failure {
        let operation = registry.token_action();
        return Err(
            denied_or_failed(registry, operation, failure, identity, profiles, creds, sdk).await,
        );
    }
    let (username, password) = decode(&encoded.ok_or(AwsError::NoToken)?)?;
    Ok(Token {
        username,
        password,
        expires_at: expires_at.and_then(|s| u64::try_from(s).ok()),
    })
}

/// Whether the token must come from the FIPS endpoint: for a FIPS registry host, unless an
/// endpoint was set explicitly (then it is used as given).
fn use_fips_endpoint(registry: &Registry, custom_endpoint: bool) -> bool {
    registry.fips() && !custom_endpoint
}

/// Whether an endpoint was set (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_ECR`, a profile's
/// `endpoint_url`): it is used as given, and the SDK refuses to combine it with FIPS.
fn custom_endpoint(sdk: &SdkConfig) -> bool {
    sdk.endpoint_url().is_some() || crate::settings::env_nonempty("AWS_ENDPOINT_URL_ECR").is_some()
}

/// Decodes ECR's token: base64 of `AWS:<password>`.
pub fn decode(token: &str) -> Result<(String, Secret<String>), AwsError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| AwsError::BadToken)?;
    let text = String::from_utf8(bytes).map_err(|_| AwsError::BadToken)?;
    match text.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => {
            crate::text::remember_secret(password);
            crate::text::remember_secret(token.trim());
            Ok((user.to_string(), Secret::new(password.to_string())))
        }
        _ => Err(AwsError::BadToken),
    }
}

/// Words a failed token call: a denial names who was denied and what to change.
async fn denied_or_failed(
    registry: &Registry,
    operation: &'static str,
    failure: CallFailure,
    identity: &Identity,
    profiles: &Profiles,
    creds: &Credentials,
    sdk: &SdkConfig,
) -> AwsError {
    if !failure.is_access_denied() {
        return AwsError::Call { operation, failure };
    }
    let code = failure.code_or_status();
    if let Some(role_arn) = &identity.role_arn {
        return AwsError::TokenDeniedForRole {
            role: crate::iam::role_name(role_arn).to_string(),
            operation,
            code,
        };
    }
    let sts = super::assume_role::sts_client(sdk, creds.clone(), None);
    let principal: Principal = super::assume_role::caller(&sts).await;
    AwsError::TokenDeniedNoRole {
        principal,
        profile: identity.profile.clone(),
        operation,
        code,
        hint: role_profile_hint(&registry.authority, profiles),
    }
}

/// What to do when a profile without a role was denied: point at a profile that switches
/// role, for the registry as docker names it (`host[:port]`).
fn role_profile_hint(host: &str, profiles: &Profiles) -> String {
    match profiles.names_with_role().next() {
        Some(name) => format!(
            "use a profile that switches into a role allowed to, e.g. ECR_ROLE_PROFILE={name} for one command, or map the registry to it: `{PROGRAM} setup --registry {host} --profile {name}`"
        ),
        None => format!(
            "add a profile that switches into a role: `{PROGRAM} setup --registry {host} --profile NAME --role-arn ARN`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_ecr_tokens() {
        let (user, pw) = decode("QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu").unwrap();
        assert_eq!(user, "AWS");
        assert_eq!(pw.expose(), "123456789012-auth-token");
        // Passwords may contain colons.
        let encoded = base64::engine::general_purpose::STANDARD.encode("AWS:a:b");
        assert_eq!(decode(&encoded).unwrap().1.expose(), "a:b");
    }

    #[test]
    fn fips_hosts_get_their_token_from_the_fips_endpoint() {
        use aws_sdk_ecr::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
        let resolve = |registry: &Registry, custom: bool| {
            let params = Params::builder()
                .region(registry.region())
                .use_fips(use_fips_endpoint(registry, custom))
                .use_dual_stack(false)
                .build()
                .unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime
                .block_on(DefaultResolver::new().resolve_endpoint(&params))
                .unwrap()
                .url()
                .to_string()
        };
        let fips = Registry::parse("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com").unwrap();
        assert_eq!(
            resolve(&fips, false),
            "https://api.ecr-fips.us-east-1.amazonaws.com"
        );
        let plain = Registry::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        assert_eq!(
            resolve(&plain, false),
            "https://api.ecr.us-east-1.amazonaws.com"
        );
        assert!(
            !use_fips_endpoint(&fips, true),
            "an explicit endpoint is used as given"
        );
    }

    #[test]
    fn rejects_bad_tokens() {
        for bad in [
            "not base64!",
            "QVdT", /* "AWS" */
            "OnB3", /* ":pw" */
            "",
        ] {
            assert!(matches!(decode(bad), Err(AwsError::BadToken)), "{bad}");
        }
    }
}
