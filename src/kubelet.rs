//! `kubelet`: the helper as a kubelet image credential provider plugin
//! (`credentialprovider.kubelet.k8s.io/v1`, and `v1beta1`, which lacks the service
//! account fields). The kubelet runs it with a `CredentialProviderRequest` on stdin
//! and reads a `CredentialProviderResponse` from stdout; anything on stderr goes to
//! its log. On any failure: one line on stderr, exit 1, nothing on stdout (never a
//! partial response).
//!
//! Which identity pulls:
//! - a request with a service account token whose service account carries the role
//!   annotation (default `eks.amazonaws.com/role-arn`, the key IRSA pods carry): that
//!   role, through `sts:AssumeRoleWithWebIdentity` with that token, and nothing else.
//!   These tokens are not kept on disk: a token obtained for one service account must
//!   never be answered to another, and the kubelet keeps them itself, per service
//!   account or per token as its `tokenAttributes.cacheType` says;
//! - otherwise the node's identity, exactly as `get` resolves it (the settings'
//!   registry → profile or role mapping, else the SDK's default chain: instance
//!   profile, EKS Pod Identity, environment), through the same disk cache.
//!
//! The response follows the kubelet's v1 types (`staging/src/k8s.io/kubelet/pkg/apis/
//! credentialprovider/v1/types.go`) and nothing more, since the kubelet decodes it
//! strictly: `cacheKeyType: Registry`, `cacheDuration` the time until the helper
//! itself would refresh the token (three quarters of its lifetime), and `auth` keyed
//! by the image's registry host as the image names it (port included), so the
//! kubelet's `matchImages` rules apply it to that registry.

use std::io::{Read, Write};

use serde_json::{Map, Value};

use crate::cache::{CacheKey, CachedToken};
use crate::clock::now_secs;
use crate::context::{self, Context};
use crate::registry::Registry;

/// The request's API group; the versions the helper answers.
const GROUP: &str = "credentialprovider.kubelet.k8s.io";
const VERSIONS: [&str; 2] = ["v1", "v1beta1"];
/// The largest request read.
const MAX_REQUEST_BYTES: u64 = 1024 * 1024;

/// The annotation key naming a service account's role, by default.
pub const DEFAULT_ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// Why no response could be given: one line for the kubelet's log.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    #[error("cannot read the CredentialProviderRequest on stdin: {0}")]
    Read(std::io::Error),
    #[error("the request is not a CredentialProviderRequest: {0}")]
    Malformed(String),
    #[error(
        "set the provider's apiVersion to credentialprovider.kubelet.k8s.io/v1 (or v1beta1): {0:?} is not one this helper answers"
    )]
    UnknownVersion(String),
    #[error(
        "configure matchImages so that only ECR images reach this provider: {0} is not in an ECR registry"
    )]
    NotEcr(String),
    #[error("{0}")]
    Token(String),
    #[error("cannot write the response: {0}")]
    Write(std::io::Error),
}

/// What the kubelet asks.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    /// `credentialprovider.kubelet.k8s.io/v1` or `…/v1beta1`, echoed in the response.
    pub api_version: String,
    /// The image, e.g. `123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/repo`.
    pub image: String,
    /// The pod's service account token, when the provider's config asks for one.
    pub service_account_token: Option<String>,
    /// The service account's annotations the provider's config lets through.
    pub annotations: Map<String, Value>,
}

/// Parses the request (only the fields of the kubelet's types; others are ignored).
pub fn parse_request(text: &str) -> Result<Request, KubeletError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| KubeletError::Malformed(format!("not JSON ({e})")))?;
    let object = value
        .as_object()
        .ok_or_else(|| KubeletError::Malformed("not a JSON object".into()))?;
    let string = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_string);
    let api_version = string("apiVersion").unwrap_or_default();
    let known = api_version
        .split_once('/')
        .is_some_and(|(group, version)| group == GROUP && VERSIONS.contains(&version));
    if !known {
        return Err(KubeletError::UnknownVersion(api_version));
    }
    if string("kind").as_deref() != Some("CredentialProviderRequest") {
        return Err(KubeletError::Malformed(
            "its kind is not CredentialProviderRequest".into(),
        ));
    }
    let image = string("image")
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| KubeletError::Malformed("it names no image".into()))?;
    Ok(Request {
        api_version,
        image,
        service_account_token: string("serviceAccountToken").filter(|t| !t.is_empty()),
        annotations: object
            .get("serviceAccountAnnotations")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    })
}

/// The registry host of an image as the kubelet sends it (everything before the
/// first `/`, a port included).
pub fn image_host(image: &str) -> &str {
    image.split('/').next().unwrap_or(image)
}

/// The response for `request`, given the registry's token.
pub fn response(request: &Request, host: &str, token: &CachedToken, now: u64) -> Value {
    let seconds = token.refresh_at().saturating_sub(now);
    serde_json::json!({
        "apiVersion": request.api_version,
        "kind": "CredentialProviderResponse",
        "cacheKeyType": "Registry",
        "cacheDuration": format!("{seconds}s"),
        "auth": {
            host: {"username": token.username, "password": token.password.expose()},
        },
    })
}

/// Reads the request on `input`, answers on `out`.
pub fn run(
    input: impl Read,
    out: &mut impl Write,
    role_annotation: &str,
) -> Result<(), KubeletError> {
    crate::deadline::last_words_to_stderr_only();
    let mut text = String::new();
    input
        .take(MAX_REQUEST_BYTES)
        .read_to_string(&mut text)
        .map_err(KubeletError::Read)?;
    let request = parse_request(&text)?;
    if let Some(token) = &request.service_account_token {
        crate::text::remember_secret(token);
    }
    let host = image_host(&request.image);
    let role = request
        .annotations
        .get(role_annotation)
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty());
    let token = match (&request.service_account_token, role) {
        (Some(sa_token), Some(role)) => pod_token(host, role, sa_token)?,
        _ => crate::verbs::token(host).map_err(|e| match e {
            crate::error::Error::NotEcr => KubeletError::NotEcr(request.image.clone()),
            other => KubeletError::Token(other.to_string()),
        })?,
    };
    let body = response(&request, host, &token, now_secs());
    let mut line = serde_json::to_string(&body).expect("JSON always serialises");
    line.push('\n');
    out.write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .map_err(KubeletError::Write)
}

/// The token of `role` for a pod's service account token (not kept on disk).
fn pod_token(host: &str, role: &str, sa_token: &str) -> Result<CachedToken, KubeletError> {
    let settings = Context::settings().map_err(|e| KubeletError::Token(e.to_string()))?;
    let registry: Registry =
        context::registry(host, &settings).ok_or_else(|| KubeletError::NotEcr(host.to_string()))?;
    let ctx = Context::load(settings).map_err(|e| KubeletError::Token(e.to_string()))?;
    let identity = ctx.identity(&registry);
    crate::deadline::arm(crate::text::line(format_args!(
        "{host}: no answer within {} s from STS or ECR",
        crate::deadline::GET_DEADLINE.as_secs()
    )));
    let failed = |e: crate::aws::AwsError| {
        KubeletError::Token(format!("{host}: service account role {role}: {e}"))
    };
    let fetched_at = now_secs();
    let token = crate::aws::block_on(async {
        let sdk = crate::aws::load_sdk_config(&identity, &ctx.profiles, registry.region()).await;
        let creds = crate::aws::assume_role::with_web_identity(&sdk, role, sa_token).await?;
        crate::aws::ecr::get_token(&registry, &identity, &ctx.profiles, &creds, &sdk).await
    })
    .map_err(failed)?
    .map_err(failed)?;
    let expires_at = token
        .expires_at
        .unwrap_or(0)
        .min(fetched_at.saturating_add(12 * 3600));
    Ok(CachedToken::new(
        &CacheKey::new(
            &registry.token_scope(),
            "kubelet-service-account",
            Some(role),
            0,
        ),
        &registry,
        token.username,
        token.password,
        fetched_at,
        expires_at,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_as_the_kubelets_types_write_them() {
        let r = parse_request(
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest",
                "image":"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/repo",
                "serviceAccountToken":"jwt","serviceAccountAnnotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::1:role/R"}}"#,
        )
        .unwrap();
        assert_eq!(r.service_account_token.as_deref(), Some("jwt"));
        assert_eq!(
            image_host(&r.image),
            "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
        );
        assert_eq!(image_host("registry:5000/a/b"), "registry:5000");
        let beta = parse_request(
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","kind":"CredentialProviderRequest","image":"x/y"}"#,
        )
        .unwrap();
        assert_eq!(beta.service_account_token, None);
        for bad in [
            "[]",
            "{",
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v2","kind":"CredentialProviderRequest","image":"x"}"#,
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"Pod","image":"x"}"#,
            r#"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest"}"#,
        ] {
            assert!(parse_request(bad).is_err(), "{bad}");
        }
    }
}
