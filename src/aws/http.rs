//! The one HTTP client every AWS call of the helper goes through: STS, ECR, SSO, the
//! instance metadata service and the container credentials endpoint. It is the SDK's
//! default client (rustls with aws-lc, the proxy variables, the SDK's timeouts),
//! with one difference in the statically linked Linux release binary: host names are
//! resolved by [`aws_smithy_dns`]'s resolver (`/etc/hosts`, then the name servers of
//! `/etc/resolv.conf`) instead of `getaddrinfo`. Static glibc's `getaddrinfo` loads
//! the NSS modules `/etc/nsswitch.conf` names (`myhostname`, `mdns4_minimal`,
//! `resolve`, …) with the system's shared libc, which can crash the process.
//! The dynamic builds (macOS, from source, the tests) keep the system resolver.
//!
//! Proxies: the client follows `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`
//! as the SDK does, with one rule of ours on top ([`keep_local_endpoints_direct`]):
//! loopback, link-local (169.254.0.0/16) and `fd00:ec2::/64` are never proxied. Those
//! are the instance metadata service, the container credentials endpoint (ECS, EKS
//! Pod Identity, aws-vault's server) and local endpoints: a proxy there would receive
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN` and could answer with credentials of its choice.

use aws_smithy_http_client::{Builder, Connector, ConnectorBuilder, proxy::ProxyConfig, tls};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The HTTP client for every SDK client and credential provider the helper builds.
pub fn client() -> SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut builder = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.set_proxy_config(Some(ProxyConfig::from_env()));
        #[cfg(all(target_os = "linux", target_feature = "crt-static"))]
        let connector: Connector = builder.build_with_resolver(static_resolver::resolver());
        #[cfg(not(all(target_os = "linux", target_feature = "crt-static")))]
        let connector: Connector = builder.build();
        connector
    })
}

/// The resolver of the static binary: no NSS, so no shared library is ever loaded.
#[cfg(all(target_os = "linux", target_feature = "crt-static"))]
mod static_resolver {
    use std::net::{IpAddr, Ipv4Addr};

    /// `/etc/hosts` first, then the name servers of `/etc/resolv.conf` (glibc's
    /// default, 127.0.0.1, when it names none or cannot be read). The resolver is
    /// given the servers explicitly, so an unreadable file never stops it.
    pub fn resolver() -> aws_smithy_dns::HickoryDnsResolver {
        let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let mut servers = super::name_servers(&text);
        if servers.is_empty() {
            servers.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        aws_smithy_dns::HickoryDnsResolver::builder()
            .nameservers(&servers, 53)
            .build()
    }
}

/// Addresses no request of the helper is sent through a proxy for (hyper-util's
/// `NO_PROXY` syntax: IPv6 without brackets, CIDR ranges, domains).
pub const NEVER_PROXIED: &str = "localhost,127.0.0.0/8,::1,169.254.0.0/16,fd00:ec2::/64";

/// The proxy variables the SDK's client reads (hyper-util's `Matcher::from_env`).
const PROXY_VARIABLES: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The `NO_PROXY` value that keeps [`NEVER_PROXIED`] direct, given the environment:
/// `None` when no proxy is set (nothing to do). The user's own `NO_PROXY` (or
/// `no_proxy`, which the client reads when `NO_PROXY` is unset) is kept in front.
pub fn no_proxy_for(env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if !PROXY_VARIABLES.iter().any(|name| set(name).is_some()) {
        return None;
    }
    Some(match set("NO_PROXY").or_else(|| set("no_proxy")) {
        Some(user) if user.trim() == "*" => user,
        Some(user) => format!("{},{NEVER_PROXIED}", user.trim().trim_end_matches(',')),
        None => NEVER_PROXIED.to_string(),
    })
}

/// Writes [`no_proxy_for`]'s value into `NO_PROXY`, where the client reads it. Call it
/// from `main`'s first steps, while the process has a single thread.
pub fn keep_local_endpoints_direct() {
    if let Some(value) = no_proxy_for(|name| std::env::var(name).ok()) {
        crate::platform::set_env_at_start("NO_PROXY", value);
    }
}

/// The `nameserver` addresses of resolv.conf text, in order (glibc reads at most three).
#[cfg_attr(
    not(all(target_os = "linux", target_feature = "crt-static")),
    allow(dead_code)
)]
fn name_servers(text: &str) -> Vec<std::net::IpAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
                .and_then(|ip| ip.split('%').next()?.parse().ok())
        })
        .take(3)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_endpoints_are_added_to_no_proxy_only_when_a_proxy_is_set() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(no_proxy_for(env(&[])), None);
        assert_eq!(no_proxy_for(env(&[("NO_PROXY", "corp.example")])), None);
        assert_eq!(
            no_proxy_for(env(&[("https_proxy", "http://proxy:3128")])).as_deref(),
            Some(NEVER_PROXIED)
        );
        assert_eq!(
            no_proxy_for(env(&[
                ("HTTP_PROXY", "http://proxy:3128"),
                ("no_proxy", "corp.example,")
            ]))
            .unwrap(),
            format!("corp.example,{NEVER_PROXIED}")
        );
        assert_eq!(
            no_proxy_for(env(&[("ALL_PROXY", "http://p"), ("NO_PROXY", "*")])).as_deref(),
            Some("*")
        );
    }

    #[test]
    fn name_servers_are_read_as_glibc_reads_them() {
        let text = "# c\nsearch corp.example\nnameserver 10.0.0.2\nnameserver  fe80::1%eth0\n\
                    nameserver bogus\noptions ndots:2\nnameserver 1.1.1.1\nnameserver 8.8.8.8\n";
        let servers: Vec<String> = name_servers(text).iter().map(|ip| ip.to_string()).collect();
        assert_eq!(servers, ["10.0.0.2", "fe80::1", "1.1.1.1"]);
        assert!(name_servers("").is_empty());
    }
}
