//! IAM's naming rules, in one place: what an ARN is made of, which names IAM and the
//! AWS SDK accept, and the ARNs the helper writes. `setup` and `policy` check what
//! they write with these; messages name principals from ARNs with them.

/// An ARN split into its six parts: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// `role/NAME`, `user/PATH/NAME`, `assumed-role/ROLE/SESSION`, `root`, …
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// The parts of an ARN; `None` for text that is not six `:`-separated parts
    /// starting with `arn`.
    pub fn parse(arn: &'a str) -> Option<Arn<'a>> {
        let mut parts = arn.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<path and name>`, nothing else (at most
/// 2048 characters, IAM's own limit).
pub fn is_role_arn(arn: &str) -> bool {
    let Some(parts) = Arn::parse(arn) else {
        return false;
    };
    let name = parts.resource.strip_prefix("role/").unwrap_or("");
    parts.partition.starts_with("aws")
        && parts
            .partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
        && parts.service == "iam"
        && parts.region.is_empty()
        && crate::registry::is_account_id(parts.account)
        && !name.is_empty()
        && arn.len() <= 2048
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
}

/// An IAM user or role name: 1 to 64 letters, digits and `+ = , . @ _ -`.
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// A profile name the AWS SDK reads back: non-empty, and letters, digits and
/// `_ - / . % @ : +` only ([`crate::profiles::is_identifier`]).
pub fn is_profile_name(name: &str) -> bool {
    !name.is_empty() && crate::profiles::is_identifier(name)
}

/// The ARN of an IAM resource the helper writes: `arn:PARTITION:iam::ACCOUNT:KIND/NAME`
/// (`KIND` is `role`, `user` or `policy`).
pub fn arn(partition: &str, account: &str, kind: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:{kind}/{name}")
}

/// A role's name: the last segment of its ARN.
pub fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_and_names() {
        assert!(is_role_arn(
            "arn:aws:iam::123456789012:role/ECRLoginAndPushRole"
        ));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/R"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/u"));
        assert!(!is_role_arn("arn:aws:iam:us-east-1:123456789012:role/R"));
        assert!(!is_role_arn("arn:aws:iam::12345:role/R"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:role/"));
        assert!(is_name("ECRLoginAndPushRole") && !is_name("") && !is_name("a b"));
        assert!(!is_name(&"x".repeat(65)));
        assert!(
            is_profile_name("a/b.c%d@e:f+g") && !is_profile_name("") && !is_profile_name("a b")
        );
        assert_eq!(role_name("arn:aws:iam::1:role/path/R"), "R");
        assert_eq!(
            arn("aws", "123456789012", "role", "R"),
            "arn:aws:iam::123456789012:role/R"
        );
        let parts = Arn::parse("arn:aws:sts::123456789012:assumed-role/R/s").unwrap();
        assert_eq!((parts.service, parts.resource), ("sts", "assumed-role/R/s"));
        assert_eq!(Arn::parse("not:an:arn"), None);
    }
}
