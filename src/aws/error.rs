//! The AWS layer's errors, each worded for the person who has to fix it: it names
//! the principal, the role, the AWS error code, and says what to do next.
//! SDK errors are boiled down here to a code, an HTTP status and a short message
//! (AWS error messages carry no secrets; the SDK's request details are left out).

use std::fmt;

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

/// What went wrong getting a token.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    #[error(
        "profile {profile}: duration_seconds {value} is not a whole number of seconds (900 to 43200)"
    )]
    BadDuration { profile: String, value: String },
    #[error(
        "set `mfa_process` in profile {profile}, or ECR_ROLE_MFA_PROMPT=zenity (kdialog, osascript), or run `{program} login --profile {profile}` in a terminal: the profile needs an MFA code ({serial}) and there is no terminal to ask on",
        program = crate::text::PROGRAM
    )]
    MfaNoTerminal { profile: String, serial: String },
    #[error("fix `mfa_process` in profile {profile} (it must print the 6-digit code): {detail}")]
    MfaProcess { profile: String, detail: String },
    #[error(
        "the MFA code dialog was cancelled (profile {profile}): run the command again and enter the code"
    )]
    MfaCancelled { profile: String },
    #[error(
        "the {prompt} MFA dialog failed: {detail}; install {prompt}, or choose another prompt with ECR_ROLE_MFA_PROMPT"
    )]
    MfaDialog {
        prompt: &'static str,
        detail: String,
    },
    #[error(
        "set ECR_ROLE_MFA_PROMPT (or `mfa_prompt` in the settings) to terminal, zenity, kdialog or osascript: {name:?} is none of them"
    )]
    MfaPromptUnknown { name: String },
    #[error("the MFA code for {serial} must be 6 digits")]
    MfaBadCode { serial: String },
    #[error("no MFA code for {serial} was typed within {seconds} s: run the command again")]
    MfaTimeout { serial: String, seconds: u64 },
    #[error(
        "the MFA code for {serial} was refused ({code}): wait for the next code and try again (run `{program} login --profile {profile}` in a terminal)",
        program = crate::text::PROGRAM
    )]
    MfaCodeRefused {
        serial: String,
        profile: String,
        code: String,
    },
    #[error("no AWS credentials from {from}: {detail}")]
    NoCredentials { from: String, detail: String },
    /// Nothing at all gave credentials (no profile applies, and the SDK's default
    /// chain found nothing): the one fix first, the chain's detail to the debug log
    /// and `doctor`.
    #[error(
        "run `aws configure`, or `{program} setup --registry HOST --profile PROFILE` for a profile with keys: no AWS credentials (profile {profile})",
        program = crate::text::PROGRAM
    )]
    NoAwsSetup { profile: String },
    #[error(
        "{principal} may not assume role {role} ({code}): allow sts:AssumeRole on {role_arn} in a policy of {principal}, and name {principal} in the role's trust policy"
    )]
    AssumeRoleDenied {
        principal: Principal,
        role: String,
        role_arn: String,
        code: String,
    },
    #[error(
        "role {role} may not call {operation} ({code}): attach a policy allowing {operation} on \"*\" to {role}"
    )]
    TokenDeniedForRole {
        role: String,
        operation: &'static str,
        code: String,
    },
    #[error(
        "{principal} may not call {operation} ({code}) and profile {profile} has no role_arn: {hint}"
    )]
    TokenDeniedNoRole {
        principal: Principal,
        profile: String,
        operation: &'static str,
        code: String,
        hint: String,
    },
    #[error("{operation} failed: {failure}")]
    Call {
        operation: &'static str,
        failure: CallFailure,
    },
    #[error("ECR returned no authorization token")]
    NoToken,
    #[error("ECR returned a token that is not base64 of AWS:<password>")]
    BadToken,
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
}

/// Who made a call, for messages: `user-for-switch`, `role R`, or "your credentials".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(pub Option<String>);

impl Principal {
    /// Names a principal from its ARN: the user's name, or the role of an assumed-role session.
    pub fn from_arn(arn: &str) -> Principal {
        let resource = crate::iam::Arn::parse(arn).map_or(arn, |parts| parts.resource);
        let name = match resource.split('/').collect::<Vec<_>>().as_slice() {
            ["user", .., name] => name.to_string(),
            ["assumed-role", role, ..] => format!("role {role}"),
            ["role", .., name] => format!("role {name}"),
            _ if resource == "root" => "the account root".to_string(),
            _ => arn.to_string(),
        };
        Principal(Some(name))
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_deref().unwrap_or("your credentials"))
    }
}

/// A failed AWS call, boiled down.
#[derive(Debug, Clone)]
pub struct CallFailure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The AWS error code (`AccessDenied`, `ThrottlingException`, …), if the service sent one.
    pub code: Option<String>,
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// A short, one-line explanation.
    pub message: String,
}

/// Where a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The service answered with an error.
    Service,
    /// No answer in time.
    Timeout,
    /// The request could not be sent (connection refused, DNS, TLS).
    Network,
    /// The answer could not be read.
    BadResponse,
    /// The request could not be built (e.g. no credentials).
    Other,
}

impl CallFailure {
    /// Boils an SDK error down.
    pub fn from_sdk<E, R>(err: &SdkError<E, R>) -> CallFailure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: RawResponse + fmt::Debug + 'static,
    {
        let status = err.raw_response().map(RawResponse::status);
        let (kind, message) = match err {
            SdkError::ServiceError(_) | SdkError::ResponseError(_)
                if status.is_some_and(|s| s >= 400) =>
            {
                (
                    FailureKind::Service,
                    err.message().unwrap_or("").to_string(),
                )
            }
            SdkError::ServiceError(_) => (
                FailureKind::Service,
                err.message().unwrap_or("").to_string(),
            ),
            SdkError::TimeoutError(_) => (FailureKind::Timeout, "no answer in time".to_string()),
            SdkError::DispatchFailure(d) => {
                let what = if d.is_timeout() {
                    FailureKind::Timeout
                } else {
                    FailureKind::Network
                };
                (what, causes(err))
            }
            SdkError::ResponseError(_) => (FailureKind::BadResponse, causes(err)),
            _ => (FailureKind::Other, causes(err)),
        };
        CallFailure {
            kind,
            // An error code is a short word; anything else an endpoint sends is cut and cleaned.
            code: err
                .code()
                .map(str::to_string)
                .map(|c| crate::text::clean(&crate::text::scrub(c), 64)),
            status,
            message: one_line(&message),
        }
    }

    /// Whether the service refused the caller (a permissions problem the user can fix in IAM).
    pub fn is_access_denied(&self) -> bool {
        let code_says = self.code.as_deref().is_some_and(|c| {
            c.contains("AccessDenied")
                || c == "UnauthorizedOperation"
                || c == "UnrecognizedClientException"
        });
        code_says || (self.code.is_none() && self.status == Some(403))
    }

    /// The code to show: the AWS code, else the HTTP status, else the kind.
    pub fn code_or_status(&self) -> String {
        match (&self.code, self.status) {
            (Some(code), _) => code.clone(),
            (None, Some(status)) => format!("HTTP {status}"),
            (None, None) => format!("{:?}", self.kind).to_lowercase(),
        }
    }
}

impl fmt::Display for CallFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = match self.kind {
            FailureKind::Timeout => "; check your network, proxy and AWS_ENDPOINT_URL settings",
            FailureKind::Network => "; check your network, proxy and AWS_ENDPOINT_URL settings",
            _ if self.code.is_none() && matches!(self.status, Some(404 | 405)) => {
                "; the endpoint does not know this API: check AWS_ENDPOINT_URL (and the profile's endpoint_url)"
            }
            _ => "",
        };
        let code = self.code_or_status();
        if self.message.is_empty() {
            write!(f, "{code}{hint}")
        } else {
            write!(f, "{code}: {}{hint}", self.message)
        }
    }
}

/// Access to an HTTP response's status and body, whatever the SDK's response type.
pub trait RawResponse {
    /// The HTTP status code.
    fn status(&self) -> u16;
}

impl RawResponse for aws_sdk_sts::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The error's causes, each once, joined by ": " (the SDK's own rendering adds Debug dumps).
pub fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    if parts.is_empty() {
        parts.push(err.to_string());
    }
    parts.join(": ")
}

/// The first line of a message from outside (an endpoint, a provider), secrets
/// scrubbed before it is cut, control characters gone, at most 300 characters.
pub fn one_line(message: &str) -> String {
    let message = crate::text::scrub(message.to_string());
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    crate::text::clean(line, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_from_arns() {
        let p = Principal::from_arn("arn:aws:iam::123456789012:user/user-for-switch");
        assert_eq!(p.to_string(), "user-for-switch");
        let p = Principal::from_arn("arn:aws:iam::123456789012:user/path/to/bob");
        assert_eq!(p.to_string(), "bob");
        let p =
            Principal::from_arn("arn:aws:sts::123456789012:assumed-role/ECRLoginAndPushRole/sess");
        assert_eq!(p.to_string(), "role ECRLoginAndPushRole");
        assert_eq!(Principal(None).to_string(), "your credentials");
    }

    #[test]
    fn one_line_messages() {
        assert_eq!(one_line("\n first \nsecond"), "first");
        assert_eq!(one_line(&"x".repeat(400)).chars().count(), 301);
    }
}
