//! `login [REGISTRY] [--profile P]`: signs in ahead of time, in a terminal. For a
//! role that needs an MFA code this is where the code is asked for when docker runs
//! the helper without a terminal (CI, a GUI); the role session and the registry's
//! token are then kept, and later `get`s need neither. It runs the very chain `get`
//! runs ([`Context`], [`aws::credentials::for_chain`]).

use std::io::Write;

use crate::aws::{self, AwsError};
use crate::clock::now_secs;
use crate::identity;
use crate::settings::{self, ENV_PROFILE};

/// Why login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Start(#[from] super::StartError),
    #[error("{}", naming_the_profile(profile, source))]
    Aws {
        profile: String,
        source: Box<AwsError>,
    },
}

impl super::CommandError for LoginError {
    /// A host that is not ECR is a refused argument (2); the rest, 1.
    fn exit_code(&self) -> u8 {
        match self {
            LoginError::Start(e) => super::CommandError::exit_code(e),
            _ => 1,
        }
    }
}

/// The AWS layer's message, with the profile named once (many messages name it already).
fn naming_the_profile(profile: &str, source: &AwsError) -> String {
    let message = source.to_string();
    if message.contains(&format!("profile {profile}")) {
        message
    } else {
        format!("profile {profile}: {message}")
    }
}

/// Primes the role session (and, with a registry, its token); reports on `out`.
pub fn run(
    registry: Option<&str>,
    profile: Option<&str>,
    out: &mut impl Write,
) -> Result<bool, LoginError> {
    let ctx = super::load_context()?;
    // Bounded like `doctor`; the MFA prompt holds the deadline back while it waits.
    crate::deadline::arm_for(
        crate::deadline::DOCTOR_DEADLINE,
        crate::text::line(format_args!(
            "login: no answer within {} s (a credential_process or the AWS endpoint took too long)",
            crate::deadline::DOCTOR_DEADLINE.as_secs()
        )),
    );
    let aws_error = |profile: &str, source: AwsError| LoginError::Aws {
        profile: profile.to_string(),
        source: Box::new(source),
    };
    let Some(server) = registry else {
        // Only a profile: sign in to its role.
        let profile = profile.unwrap_or("default");
        let identity = ctx.identity_of_profile(profile);
        let chain = identity
            .chain
            .clone()
            .map_err(|e| aws_error(profile, AwsError::Chain(e)))?;
        let region = ctx
            .profiles
            .value(profile, "region")
            .unwrap_or(crate::registry::GLOBAL_REGION)
            .to_string();
        let creds = aws::block_on(async {
            let sdk = aws::load_sdk_config(&identity, &ctx.profiles, &region).await;
            aws::credentials::for_chain(&chain, profile, &sdk, &ctx.cache, &mut |_| {}).await
        })
        .and_then(|result| result)
        .map_err(|e| aws_error(profile, e))?;
        let until = creds.expiry().map_or("no expiry".to_string(), |t| {
            let secs = t
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            format!("for {} minutes", secs.saturating_sub(now_secs()) / 60)
        });
        let _ = writeln!(out, "signed in: profile {profile} ({until})");
        return Ok(true);
    };
    let registry = super::ecr_registry(server, &ctx)?;
    let env = |name: &str| match (name, profile) {
        (ENV_PROFILE, Some(p)) => Some(p.to_string()),
        _ => settings::env_nonempty(name),
    };
    let identity = identity::resolve(&registry, &ctx.settings, &ctx.profiles, env);
    let entry = ctx
        .fetch_and_keep(&registry, &identity)
        .map_err(|e| aws_error(&identity.profile, e))?;
    let _ = writeln!(
        out,
        "signed in: {} through profile {} (token valid for {} minutes)",
        registry.host,
        identity.profile,
        entry.expires_at.saturating_sub(now_secs()) / 60
    );
    Ok(true)
}
