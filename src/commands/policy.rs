//! `policy`: the IAM half of the user story as valid, least-privilege JSON — the
//! user's switch-role policy, the role's ECR policy (push, or pull only) for the
//! named repositories, and a trust policy that names the user (tighter than the
//! account root the original write-up trusts). Ready for
//! `aws iam create-policy --policy-document file://...`.

use serde_json::{Value, json};

use crate::iam;

/// Which documents to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Document {
    /// The user's policy: sts:AssumeRole on the role, nothing else.
    Switch,
    /// The role's policy: ECR on the repositories, and GetAuthorizationToken.
    Ecr,
    /// The role's trust policy: only the user may assume it.
    Trust,
}

/// What `policy` was asked for.
#[derive(Debug, Clone)]
pub struct PolicyRequest {
    /// The 12-digit account id.
    pub account: String,
    /// The repositories' region.
    pub region: String,
    /// The repositories the role may use.
    pub repositories: Vec<String>,
    /// The IAM user who switches into the role.
    pub user: String,
    /// The role's name.
    pub role_name: String,
    /// Pull only, no push.
    pub pull_only: bool,
}

/// A word for `sh`, single-quoted: nothing in it is expanded or splits the line.
fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

/// Why no policy was printed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("--account must be a 12-digit AWS account id, not {0:?}")]
    Account(String),
    #[error("--region {0:?} is not an AWS region name (like ap-northeast-1)")]
    Region(String),
    #[error("{0:?} is not a valid {1} name")]
    Name(String, &'static str),
}

impl super::CommandError for PolicyError {
    /// Every policy error is a refused argument (2).
    fn exit_code(&self) -> u8 {
        2
    }
}

/// The actions that pushing (and pulling) images needs.
const PUSH_ACTIONS: &[&str] = &[
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:InitiateLayerUpload",
    "ecr:BatchCheckLayerAvailability",
    "ecr:PutImage",
];
/// The actions that pulling images needs.
const PULL_ACTIONS: &[&str] = &[
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
    "ecr:BatchCheckLayerAvailability",
];

impl PolicyRequest {
    /// Checks the names, so a typo can't produce a policy that grants something else.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if !crate::registry::is_account_id(&self.account) {
            return Err(PolicyError::Account(self.account.clone()));
        }
        if !crate::registry::is_region(&self.region) {
            return Err(PolicyError::Region(self.region.clone()));
        }
        if !iam::is_name(&self.user) {
            return Err(PolicyError::Name(self.user.clone(), "IAM user"));
        }
        if !iam::is_name(&self.role_name) {
            return Err(PolicyError::Name(self.role_name.clone(), "IAM role"));
        }
        for repo in &self.repositories {
            let ok = !repo.is_empty()
                && repo.len() <= 256
                && repo
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c));
            if !ok {
                return Err(PolicyError::Name(repo.clone(), "repository"));
            }
        }
        Ok(())
    }

    fn partition(&self) -> &'static str {
        crate::registry::partition_of_region(&self.region)
    }

    fn role_arn(&self) -> String {
        iam::arn(self.partition(), &self.account, "role", &self.role_name)
    }

    /// One document.
    pub fn document(&self, which: Document) -> Value {
        let p = self.partition();
        match which {
            Document::Switch => json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": self.role_arn(),
                }]
            }),
            Document::Ecr => {
                let (sid, actions) = if self.pull_only {
                    ("PullFromRepositories", PULL_ACTIONS)
                } else {
                    ("PushToRepositories", PUSH_ACTIONS)
                };
                let resources: Vec<String> = self
                    .repositories
                    .iter()
                    .map(|r| {
                        format!(
                            "arn:{p}:ecr:{}:{}:repository/{r}",
                            self.region, self.account
                        )
                    })
                    .collect();
                json!({
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources},
                        {"Sid": "GetAuthorizationToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}
                    ]
                })
            }
            Document::Trust => json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"AWS": iam::arn(p, &self.account, "user", &self.user)},
                    "Action": "sts:AssumeRole",
                }]
            }),
        }
    }

    /// The whole IAM setup and the role profile as AWS CLI commands (POSIX sh), for an
    /// administrator to run as they are: the documents are written to files first.
    pub fn commands(&self, profile: &str, source_profile: &str) -> Result<String, PolicyError> {
        for name in [profile, source_profile] {
            if !iam::is_profile_name(name) {
                return Err(PolicyError::Name(name.to_string(), "profile"));
            }
        }
        let partition = self.partition();
        let account = &self.account;
        let ecr_policy = if self.pull_only {
            "ECRPullPolicy"
        } else {
            "ECRPushAndLoginPolicy"
        };
        let policy_arn = |name: &str| iam::arn(partition, account, "policy", name);
        let pretty = |doc: Document| {
            serde_json::to_string_pretty(&self.document(doc)).expect("JSON always serialises")
        };
        let mut out = String::from(
            "#!/bin/sh\n# The least-privilege setup of the user story, as an administrator runs it.\nset -eu\n",
        );
        for (file, doc) in [
            ("switch.json", Document::Switch),
            ("ecr.json", Document::Ecr),
            ("trust.json", Document::Trust),
        ] {
            out.push_str(&format!("cat > {file} <<'JSON'\n{}\nJSON\n", pretty(doc)));
        }
        out.push_str(&format!(
            "# The user may switch into the role, and do nothing else.\n\
             aws iam create-policy --policy-name SwitchRolePolicy --policy-document file://switch.json\n\
             aws iam attach-user-policy --user-name {user} --policy-arn {switch_arn}\n\
             # The role: trusted by the user only, allowed ECR on the repositories.\n\
             aws iam create-role --role-name {role} --assume-role-policy-document file://trust.json\n\
             aws iam create-policy --policy-name {ecr_policy} --policy-document file://ecr.json\n\
             aws iam attach-role-policy --role-name {role} --policy-arn {ecr_arn}\n\
             # The user's side: a profile that switches into the role (run as the user).\n\
             aws configure set role_arn {role_arn} --profile {profile}\n\
             aws configure set source_profile {source_profile} --profile {profile}\n\
             aws configure set region {region} --profile {profile}\n",
            user = sh_quote(&self.user),
            role = sh_quote(&self.role_name),
            switch_arn = sh_quote(&policy_arn("SwitchRolePolicy")),
            ecr_arn = sh_quote(&policy_arn(ecr_policy)),
            role_arn = sh_quote(&self.role_arn()),
            region = sh_quote(&self.region),
            profile = sh_quote(profile),
            source_profile = sh_quote(source_profile),
        ));
        Ok(out)
    }

    /// The text to print: one document, or all three keyed by the names the user story uses.
    pub fn render(&self, only: Option<Document>) -> String {
        let value = match only {
            Some(which) => self.document(which),
            None => json!({
                "SwitchRolePolicy": self.document(Document::Switch),
                "ECRPushAndLoginPolicy": self.document(Document::Ecr),
                "TrustPolicy": self.document(Document::Trust),
            }),
        };
        serde_json::to_string_pretty(&value).expect("JSON always serialises") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> PolicyRequest {
        PolicyRequest {
            account: "123456789012".into(),
            region: "ap-northeast-1".into(),
            repositories: vec!["test-repos".into()],
            user: "user-for-switch".into(),
            role_name: "ECRLoginAndPushRole".into(),
            pull_only: false,
        }
    }

    #[test]
    fn documents_of_the_user_story() {
        let r = request();
        r.validate().unwrap();
        let ecr = r.document(Document::Ecr);
        assert_eq!(
            ecr["Statement"][0]["Resource"][0],
            "arn:aws:ecr:ap-northeast-1:123456789012:repository/test-repos"
        );
        assert_eq!(ecr["Statement"][0]["Action"].as_array().unwrap().len(), 7);
        assert_eq!(
            r.document(Document::Switch)["Statement"][0]["Resource"],
            "arn:aws:iam::123456789012:role/ECRLoginAndPushRole"
        );
        assert_eq!(
            r.document(Document::Trust)["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::123456789012:user/user-for-switch"
        );
        let all: Value = serde_json::from_str(&r.render(None)).unwrap();
        assert_eq!(all.as_object().unwrap().len(), 3);
        let pull = PolicyRequest {
            pull_only: true,
            ..request()
        };
        let ecr = pull.document(Document::Ecr);
        assert!(!ecr.to_string().contains("PutImage"));
    }

    #[test]
    fn bad_names_are_refused() {
        let bad = |f: fn(&mut PolicyRequest)| {
            let mut r = request();
            f(&mut r);
            r.validate().unwrap_err().to_string()
        };
        assert!(bad(|r| r.account = "1234".into()).contains("12-digit"));
        assert!(bad(|r| r.region = "tokyo".into()).contains("region"));
        assert!(bad(|r| r.user = "a\"b".into()).contains("IAM user"));
        assert!(bad(|r| r.repositories = vec!["*".into()]).contains("repository"));
    }
}
