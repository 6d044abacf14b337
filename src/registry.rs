//! Turns the server URL docker hands us into an ECR registry, or says it is not ECR.
//!
//! Only exact ECR host shapes are accepted: private registries in every partition,
//! FIPS and dual-stack names, and ECR Public. Anything else (look-alikes such as
//! `…amazonaws.com.evil.example`, user-info tricks such as `…amazonaws.com@evil`,
//! non-ASCII homographs) is "not ECR", and docker carries on without credentials.

use std::fmt;

/// An ECR registry, as far as the host name tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The host name, lowercase, without scheme, port or path.
    pub host: String,
    /// The host and port as docker names the registry (`host:5000`), for the commands
    /// a message suggests: docker's `credHelpers` key includes the port.
    pub authority: String,
    /// What kind of registry the host names.
    pub kind: RegistryKind,
}

/// Private (account-scoped) or public ECR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryKind {
    /// `<account>.dkr.ecr[-fips].<region>.<partition suffix>` and its dual-stack forms.
    Private {
        /// The 12-digit account id, which is also the registry id.
        registry_id: String,
        /// The AWS region in the host name.
        region: String,
        /// The AWS partition the suffix belongs to (`aws`, `aws-cn`, `aws-iso`, …).
        partition: &'static str,
        /// A `-fips` host: the token must come from the FIPS API endpoint too.
        fips: bool,
        /// A dual-stack (`dkr-ecr`, `on.aws`) host.
        dual_stack: bool,
    },
    /// ECR Public: tokens come from `ecr-public` in us-east-1.
    Public,
}

/// The region of AWS's global endpoints, and the one the helper signs in when nothing
/// names a region (as the AWS CLI does for global services).
pub const GLOBAL_REGION: &str = "us-east-1";

/// The region ECR Public's API lives in.
pub const PUBLIC_REGION: &str = GLOBAL_REGION;

/// Private-registry host suffixes and the partition each belongs to.
const PRIVATE_SUFFIXES: &[(&str, &str)] = &[
    ("amazonaws.com", "aws"),
    ("amazonaws.com.cn", "aws-cn"),
    ("amazonaws.eu", "aws-eusc"),
    ("c2s.ic.gov", "aws-iso"),
    ("sc2s.sgov.gov", "aws-iso-b"),
    ("cloud.adc-e.uk", "aws-iso-e"),
    ("csp.hci.ic.gov", "aws-iso-f"),
];

/// Dual-stack host suffixes and their partitions.
const DUAL_STACK_SUFFIXES: &[(&str, &str)] =
    &[("on.aws", "aws"), ("on.amazonwebservices.com.cn", "aws-cn")];

/// ECR Public's registry hosts.
const PUBLIC_HOSTS: &[&str] = &["public.ecr.aws", "ecr-public.aws.com"];

impl Registry {
    /// The IAM action that fetches this registry's token, as policies and AWS errors name it.
    pub fn token_action(&self) -> &'static str {
        match self.kind {
            RegistryKind::Public => "ecr-public:GetAuthorizationToken",
            RegistryKind::Private { .. } => "ecr:GetAuthorizationToken",
        }
    }

    /// Parses what docker sends (`https://host:port/path`, `host:port`, `host`) into a registry.
    /// `None` means the host is not ECR.
    pub fn parse(server_url: &str) -> Option<Registry> {
        let host = host_of(server_url)?;
        let kind = if PUBLIC_HOSTS.contains(&host.as_str()) {
            RegistryKind::Public
        } else {
            parse_private(&host)?
        };
        let authority = authority_of(server_url).unwrap_or_else(|| host.clone());
        Some(Registry {
            host,
            authority,
            kind,
        })
    }

    /// A custom host name (a proxy, an alias) that stands for ECR registry `registry_id`
    /// in `region`; `None` if the id or region is not valid.
    pub fn custom(name: &str, registry_id: &str, region: &str) -> Option<Registry> {
        let host = host_of(name)?;
        if !is_account_id(registry_id) || !is_region(region) {
            return None;
        }
        Some(Registry {
            authority: authority_of(name).unwrap_or_else(|| host.clone()),
            host,
            kind: RegistryKind::Private {
                registry_id: registry_id.to_string(),
                region: region.to_string(),
                partition: partition_of_region(region),
                fips: false,
                dual_stack: false,
            },
        })
    }

    /// The region whose API issues this registry's token.
    pub fn region(&self) -> &str {
        match &self.kind {
            RegistryKind::Private { region, .. } => region,
            RegistryKind::Public => PUBLIC_REGION,
        }
    }

    /// Whether the token must come from a FIPS endpoint.
    pub fn fips(&self) -> bool {
        matches!(self.kind, RegistryKind::Private { fips: true, .. })
    }

    /// What identifies the registry's token, independent of the host spelling
    /// (a dual-stack and an IPv4 host of one registry share a token).
    pub fn token_scope(&self) -> String {
        match &self.kind {
            RegistryKind::Private {
                registry_id,
                region,
                partition,
                fips,
                ..
            } => format!(
                "private:{partition}:{region}:{registry_id}{}",
                if *fips { ":fips" } else { "" }
            ),
            RegistryKind::Public => "public:aws:us-east-1".to_string(),
        }
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)
    }
}

/// An AWS account id (and ECR registry id): exactly 12 ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The private registry host of an account in a region (`<account>.dkr.ecr.<region>.<suffix>`,
/// the suffix of the region's partition).
pub fn private_host(account: &str, region: &str) -> String {
    let partition = partition_of_region(region);
    let suffix = PRIVATE_SUFFIXES
        .iter()
        .find(|(_, p)| *p == partition)
        .map_or("amazonaws.com", |(suffix, _)| suffix);
    format!("{account}.dkr.ecr.{region}.{suffix}")
}

/// The registry as docker names it in `credHelpers`: `host` or `host:port`, lowercase,
/// without scheme (any case) or path; `None` when [`host_of`] finds no valid host in it.
pub fn authority_of(server_url: &str) -> Option<String> {
    host_of(server_url)?;
    let rest = without_scheme(server_url.trim());
    Some(
        rest.split(['/', '?', '#'])
            .next()
            .unwrap_or("")
            .trim_end_matches('.')
            .to_ascii_lowercase(),
    )
}

/// The text after `https://` or `http://` (in any case), or all of it.
fn without_scheme(url: &str) -> &str {
    for scheme in ["https://", "http://"] {
        // `get`, not slicing: the input may have multi-byte characters anywhere.
        if url
            .get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
        {
            return &url[scheme.len()..];
        }
    }
    url
}

/// The host part of a server URL: scheme, path and port removed, lowercased.
/// `None` for anything with user info, non-ASCII or characters a DNS name can't have.
pub fn host_of(server_url: &str) -> Option<String> {
    let rest = without_scheme(server_url.trim());
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return None;
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        Some(_) => return None,
        None => authority,
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty()
        || host.len() > 253
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return None;
    }
    Some(host.to_ascii_lowercase())
}

/// Parses `<12 digits>.dkr.ecr[-fips].<region>.<suffix>` and
/// `<12 digits>.dkr-ecr[-fips].<region>.<dual-stack suffix>`.
fn parse_private(host: &str) -> Option<RegistryKind> {
    let (registry_id, rest) = host.split_once('.')?;
    if !is_account_id(registry_id) {
        return None;
    }
    let (service, rest) = rest.split_once('.')?;
    let (dual_stack, fips) = match service {
        "dkr" => {
            let (ecr, rest2) = rest.split_once('.')?;
            return finish(registry_id, rest2, false, ecr_fips(ecr)?);
        }
        "dkr-ecr" => (true, false),
        "dkr-ecr-fips" => (true, true),
        _ => return None,
    };
    finish(registry_id, rest, dual_stack, fips)
}

/// `ecr` or `ecr-fips` → whether it is FIPS.
fn ecr_fips(label: &str) -> Option<bool> {
    match label {
        "ecr" => Some(false),
        "ecr-fips" => Some(true),
        _ => None,
    }
}

/// Parses `<region>.<suffix>` once the id and service labels are consumed.
fn finish(registry_id: &str, rest: &str, dual_stack: bool, fips: bool) -> Option<RegistryKind> {
    let (region, suffix) = rest.split_once('.')?;
    if !is_region(region) {
        return None;
    }
    let table = if dual_stack {
        DUAL_STACK_SUFFIXES
    } else {
        PRIVATE_SUFFIXES
    };
    let mut partition = table.iter().find(|(s, _)| *s == suffix)?.1;
    // GovCloud shares the commercial suffix; its regions name their partition.
    if partition == "aws" && partition_of_region(region) == "aws-us-gov" {
        partition = "aws-us-gov";
    }
    Some(RegistryKind::Private {
        registry_id: registry_id.to_string(),
        region: region.to_string(),
        partition,
        fips,
        dual_stack,
    })
}

/// The AWS partition a region belongs to, by its name (the SDK's partition rules:
/// `cn-`, `us-gov-`, the ISO families and the European Sovereign Cloud).
pub fn partition_of_region(region: &str) -> &'static str {
    const PREFIXES: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-iso-", "aws-iso"),
        ("eusc-", "aws-eusc"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// A region name: lowercase words joined by hyphens, ending in a number
/// (`ap-northeast-1`, `us-gov-west-1`, `eusc-de-east-1`).
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    // Words of letters, then a number: no AWS region has a digit before its last part.
    s.len() <= 32
        && parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !parts[parts.len() - 1].is_empty()
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authority_keeps_the_port_docker_names() {
        let r =
            Registry::parse("https://123456789012.dkr.ecr.ap-northeast-1.amazonaws.com:5000/v2/")
                .unwrap();
        assert_eq!(r.host, "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com");
        assert_eq!(
            r.authority,
            "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com:5000"
        );
        let c = Registry::custom("ecr.example.com:8443", "123456789012", "ap-northeast-1").unwrap();
        assert_eq!(
            (c.host.as_str(), c.authority.as_str()),
            ("ecr.example.com", "ecr.example.com:8443")
        );
    }

    fn private(host: &str) -> (String, String, &'static str, bool, bool) {
        match Registry::parse(host)
            .unwrap_or_else(|| panic!("{host} should be ECR"))
            .kind
        {
            RegistryKind::Private {
                registry_id,
                region,
                partition,
                fips,
                dual_stack,
            } => (registry_id, region, partition, fips, dual_stack),
            RegistryKind::Public => panic!("{host} is not public"),
        }
    }

    #[test]
    fn real_private_hosts_in_every_partition() {
        let table = [
            (
                "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com",
                "ap-northeast-1",
                "aws",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
                "cn-north-1",
                "aws-cn",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                "eusc-de-east-1",
                "aws-eusc",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov",
                "us-iso-east-1",
                "aws-iso",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                "us-isob-east-1",
                "aws-iso-b",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
                "eu-isoe-west-1",
                "aws-iso-e",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov",
                "us-isof-south-1",
                "aws-iso-f",
                false,
                false,
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
                "us-gov-west-1",
                "aws-us-gov",
                true,
                false,
            ),
            (
                "123456789012.dkr-ecr.us-east-1.on.aws",
                "us-east-1",
                "aws",
                false,
                true,
            ),
            (
                "123456789012.dkr-ecr-fips.us-east-1.on.aws",
                "us-east-1",
                "aws",
                true,
                true,
            ),
            (
                "123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
                "cn-northwest-1",
                "aws-cn",
                false,
                true,
            ),
        ];
        for (host, region, partition, fips, dual) in table {
            let got = private(host);
            assert_eq!(
                got,
                (
                    "123456789012".to_string(),
                    region.to_string(),
                    partition,
                    fips,
                    dual
                ),
                "{host}"
            );
        }
    }

    #[test]
    fn docker_spellings_of_a_server_url() {
        for url in [
            "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com",
            "https://123456789012.dkr.ecr.ap-northeast-1.amazonaws.com",
            "HTTPS://123456789012.DKR.ECR.AP-NORTHEAST-1.AMAZONAWS.COM/",
            "https://123456789012.dkr.ecr.ap-northeast-1.amazonaws.com:443/v2/test-repos",
            "http://123456789012.dkr.ecr.ap-northeast-1.amazonaws.com:5000",
            "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com.",
        ] {
            let r = Registry::parse(url).unwrap_or_else(|| panic!("{url}"));
            assert_eq!(r.host, "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com");
            assert_eq!(r.region(), "ap-northeast-1");
        }
    }

    #[test]
    fn public_hosts() {
        for url in [
            "public.ecr.aws",
            "https://public.ecr.aws/v2/",
            "ecr-public.aws.com",
        ] {
            let r = Registry::parse(url).unwrap();
            assert_eq!(r.kind, RegistryKind::Public);
            assert_eq!(r.region(), "us-east-1");
        }
    }

    #[test]
    fn look_alikes_are_not_ecr() {
        for url in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com@evil.example",
            "https://user:pw@123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "x123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.co",
            "123456789012.dkr.ecr.us-east-1.on.aws",
            "123456789012.dkr-ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east.amazonaws.com",
            "123456789012.dkr.ecr..amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.evilamazonaws.com",
            "123456789012.dkr.ecr.us-east-1.аmazonaws.com", // Cyrillic а
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:port",
            "public.ecr.aws.evil.example",
            "evilpublic.ecr.aws",
            "index.docker.io",
            "https://index.docker.io/v1/",
            "localhost:5000",
            "𐔷𑊐)", // multi-byte characters where a scheme could be: once a panic, found by the fuzzer
            "ｈｔｔｐｓ://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "",
        ] {
            assert_eq!(Registry::parse(url), None, "{url}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any text at all: no panic, and whatever parses is an exact ECR shape.
        #[test]
        fn any_input_parses_to_an_ecr_host_or_nothing(input in "\\PC{0,300}") {
            if let Some(r) = Registry::parse(&input) {
                let h = &r.host;
                proptest::prop_assert!(h.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'));
                let known = PUBLIC_HOSTS.contains(&h.as_str())
                    || PRIVATE_SUFFIXES.iter().chain(DUAL_STACK_SUFFIXES).any(|(s, _)| h.ends_with(&format!(".{s}")));
                proptest::prop_assert!(known, "{}", h);
            }
        }

        /// Near misses of real hosts (a character inserted, dropped or changed, a label
        /// added, dropped or swapped, a suffix appended): whatever the parser accepts, an
        /// oracle written independently (label by label) accepts too.
        #[test]
        fn near_misses_of_real_hosts_parse_only_when_really_valid(
            which in 0..REAL_HOSTS.len(),
            kind in 0..7usize,
            at in proptest::prelude::any::<usize>(),
            text in "[a-z0-9.-]{1,6}",
        ) {
            let host = REAL_HOSTS[which];
            let mutated = mutate(host, kind, at, &text);
            if let Some(r) = Registry::parse(&mutated) {
                proptest::prop_assert!(oracle(&mutated), "accepted {} (from {})", mutated, host);
                proptest::prop_assert_eq!(r.host, mutated.to_ascii_lowercase());
            }
        }

        /// Real hosts with anything glued around them: only scheme, port and path are allowed.
        #[test]
        fn look_alikes_built_around_a_real_host_are_rejected(prefix in "[a-z0-9.@-]{1,20}", suffix in "[a-z0-9.@-]{1,20}") {
            let real = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
            let glued = format!("{prefix}{real}{suffix}");
            if let Some(r) = Registry::parse(&glued) {
                proptest::prop_assert!(r.host != real || !glued.contains('@'), "{}", glued);
                proptest::prop_assert_eq!(host_of(&glued), Some(r.host.clone()));
            }
        }
    }

    /// Real ECR hosts, one of each shape, for mutation.
    const REAL_HOSTS: &[&str] = &[
        "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
        "123456789012.dkr-ecr.us-east-1.on.aws",
        "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
        "public.ecr.aws",
    ];

    /// One near miss of `host`.
    fn mutate(host: &str, kind: usize, at: usize, text: &str) -> String {
        let labels: Vec<&str> = host.split('.').collect();
        let i = at % host.len();
        let l = at % labels.len();
        match kind {
            0 => format!("{}{text}{}", &host[..i], &host[i..]),
            1 => format!("{}{}", &host[..i], &host[i + 1..]),
            2 => format!("{}{}{}", &host[..i], &text[..1], &host[i + 1..]),
            3 => format!("{host}.{text}"),
            4 => format!("{text}.{host}"),
            5 => {
                let mut v = labels.clone();
                v.remove(l);
                v.join(".")
            }
            _ => {
                let mut v = labels.clone();
                v.swap(l, (l + 1) % labels.len());
                v.join(".")
            }
        }
    }

    /// An ECR host, judged label by label (a second reading of the rules, for the test).
    fn oracle(host: &str) -> bool {
        if PUBLIC_HOSTS.contains(&host) {
            return true;
        }
        let labels: Vec<&str> = host.split('.').collect();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let letters = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
        let region_ok = |r: &str| {
            let parts: Vec<&str> = r.split('-').collect();
            parts.len() >= 3
                && parts[..parts.len() - 1].iter().all(|p| letters(p))
                && digits(parts[parts.len() - 1])
        };
        if labels.len() < 4 || labels[0].len() != 12 || !digits(labels[0]) {
            return false;
        }
        match labels[1] {
            "dkr" => {
                labels.len() >= 5
                    && matches!(labels[2], "ecr" | "ecr-fips")
                    && region_ok(labels[3])
                    && PRIVATE_SUFFIXES
                        .iter()
                        .any(|(s, _)| *s == labels[4..].join("."))
            }
            "dkr-ecr" | "dkr-ecr-fips" => {
                region_ok(labels[2])
                    && DUAL_STACK_SUFFIXES
                        .iter()
                        .any(|(s, _)| *s == labels[3..].join("."))
            }
            _ => false,
        }
    }

    #[test]
    fn token_scope_ignores_host_spelling() {
        let v4 = Registry::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com").unwrap();
        let v6 = Registry::parse("123456789012.dkr-ecr.us-east-1.on.aws").unwrap();
        assert_eq!(v4.token_scope(), v6.token_scope());
        let fips = Registry::parse("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com").unwrap();
        assert_ne!(v4.token_scope(), fips.token_scope());
        assert!(fips.fips());
    }

    #[test]
    fn custom_names_get_the_partition_of_their_region() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
        ] {
            let r = Registry::custom("registry.corp.example", "123456789012", region).unwrap();
            assert!(
                matches!(r.kind, RegistryKind::Private { partition: p, .. } if p == partition),
                "{region}: {:?}",
                r.kind
            );
        }
    }
}
