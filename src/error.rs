//! The helper's top-level error: each layer's typed error, converted once into
//! the one line the user sees, and the decision where docker and the user see it.

use crate::aws::AwsError;
use crate::identity::{ChosenBy, Identity};
use crate::protocol::{NOT_FOUND, ProtocolError};
use crate::registry::Registry;
use crate::settings::ConfigError;
use crate::text::PROGRAM;

/// Anything that makes a command fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Docker's input was unusable.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The host is not an ECR registry: docker should carry on without credentials.
    #[error("{NOT_FOUND}")]
    NotEcr,
    /// The helper's settings could not be read.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The AWS files (or the home they live in) could not be read.
    #[error("{0}")]
    Context(#[from] crate::context::ContextError),
    /// An ECR registry's token could not be had.
    #[error("{0}")]
    Token(Box<TokenError>),
    /// Writing our output failed (e.g. docker closed the pipe).
    #[error("cannot write the answer: {0}")]
    Output(std::io::Error),
}

/// Why a registry's token could not be had, with the identity that was tried.
#[derive(Debug)]
pub struct TokenError {
    /// The registry docker asked for.
    pub registry: Registry,
    /// The profile (and role) that was tried.
    pub identity: Identity,
    /// What the AWS layer said.
    pub source: AwsError,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (registry, source) = (&self.registry, &self.source);
        match source {
            // Nothing is set up at all: the fix first, and short (the chain's detail is
            // in the debug log and `doctor`).
            AwsError::NoAwsSetup { profile } => {
                write!(
                    f,
                    "run `aws configure` (or `{} setup` to map the registry to a profile): no AWS credentials for {registry}",
                    crate::text::PROGRAM
                )?;
                if profile != "default" {
                    write!(f, " (profile {profile})")?;
                }
                Ok(())
            }
            _ => write!(
                f,
                "{registry}: {}: {source}{}",
                describe(&self.identity),
                drop_hint(registry, source)
            ),
        }
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl From<TokenError> for Error {
    fn from(err: TokenError) -> Error {
        Error::Token(Box::new(err))
    }
}

impl Error {
    /// The line docker and the user see: the program's name first, except for the
    /// protocol's own texts (docker's "not found", its input errors), which are exact.
    pub fn line(&self) -> String {
        match self {
            Error::NotEcr | Error::Protocol(_) => crate::text::for_person(&self.to_string()),
            _ => crate::text::line(self),
        }
    }

    /// Whether the message also goes to stderr. Docker 28 swallows a helper's stdout
    /// message and carries on anonymously, but passes its stderr to the terminal; so
    /// every failure that concerns an ECR registry is said there too. Hosts that are
    /// not ECR get nothing on stderr: they are not our business.
    pub fn also_on_stderr(&self) -> bool {
        !matches!(
            self,
            Error::NotEcr | Error::Protocol(ProtocolError::EmptyServerUrl)
        )
    }
}

/// For a role the user may not assume: a legacy `docker build` asks for every
/// `credHelpers` entry, so an entry left over from another job fails every build.
fn drop_hint(registry: &Registry, source: &AwsError) -> String {
    match source {
        AwsError::AssumeRoleDenied { .. } => format!(
            "; or, if you no longer use {registry}, drop it: {PROGRAM} registries --remove {registry}"
        ),
        _ => String::new(),
    }
}

/// "profile P (role R)" — which identity was tried, and why that one.
fn describe(identity: &Identity) -> String {
    let role = match &identity.role_arn {
        Some(arn) => format!("role {}", crate::iam::role_name(arn)),
        None => "no role".to_string(),
    };
    let why = match identity.chosen_by {
        ChosenBy::RegistryMapping => String::new(),
        ChosenBy::Fallback => ", no profile configured".to_string(),
        other => format!(", from {other}"),
    };
    format!("profile {} ({role}{why})", identity.profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::error::Principal;

    #[test]
    fn token_errors_name_registry_profile_role_and_code() {
        let err = Error::from(TokenError {
            registry: Registry::parse("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com").unwrap(),
            identity: Identity::for_tests(
                "ECRLoginAndPushRoleProfile",
                ChosenBy::RegistryMapping,
                Some("arn:aws:iam::123456789012:role/ECRLoginAndPushRole"),
            ),
            source: AwsError::AssumeRoleDenied {
                principal: Principal(Some("user-for-switch".into())),
                role: "ECRLoginAndPushRole".into(),
                role_arn: "arn:aws:iam::123456789012:role/ECRLoginAndPushRole".into(),
                code: "AccessDenied".into(),
            },
        });
        let text = err.line();
        assert_eq!(
            text,
            "docker-credential-ecr-role: 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com: \
             profile ECRLoginAndPushRoleProfile (role ECRLoginAndPushRole): user-for-switch may not \
             assume role ECRLoginAndPushRole (AccessDenied): allow sts:AssumeRole on \
             arn:aws:iam::123456789012:role/ECRLoginAndPushRole in a policy of user-for-switch, and \
             name user-for-switch in the role's trust policy; or, if you no longer use \
             123456789012.dkr.ecr.ap-northeast-1.amazonaws.com, drop it: docker-credential-ecr-role \
             registries --remove 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
        );
        assert!(!text.contains('\n'));
        assert!(err.also_on_stderr());
        assert!(!Error::NotEcr.also_on_stderr());
        assert_eq!(Error::NotEcr.to_string(), NOT_FOUND);
    }
}
