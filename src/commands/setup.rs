//! `setup`: the local half of the user story in one command. It wires docker's
//! `credHelpers` to the helper, maps the registry to a profile in the helper's
//! settings and, when asked, creates the role profile in `~/.aws/config`.
//! Each file keeps every key, section and comment it had; writes are atomic with
//! a `.bak` of the old content; re-running changes nothing; `--dry-run` shows the
//! exact change and writes nothing; a file that can't be parsed is left alone.

use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::docker_config::{
    docker_config_path, helper_suffix, on_path, read_docker_config, to_pretty,
};
use crate::files::{Applied, Change, read_optional};
use crate::home::tilde;
use crate::profile_edit::{EditError, with_role_profile};
use crate::profiles::Profiles;
use crate::registry::{Registry, RegistryKind, host_of};
use crate::settings;

/// What `setup` was asked to do.
#[derive(Debug, Clone)]
pub struct SetupRequest {
    /// The registry host (`host` or `host:port`), or `None` to build it from account and region.
    pub registry: Option<String>,
    /// The account id, with `region`, instead of `registry`.
    pub account: Option<String>,
    /// The region, with `account` (or with `registry_id` for a custom name).
    pub region: Option<String>,
    /// For a custom host name: the ECR registry (account) it stands for.
    pub registry_id: Option<String>,
    /// The AWS profile that serves the registry.
    pub profile: String,
    /// Create the profile switching into this role.
    pub role_arn: Option<String>,
    /// Create the profile switching into this role of the registry's account.
    pub role_name: Option<String>,
    /// The profile whose keys the role is assumed with.
    pub source_profile: String,
    /// Show the change; write nothing.
    pub dry_run: bool,
}

impl SetupRequest {
    /// Refuses what would write something other than what it says into the user's
    /// files: names the AWS SDK would not read back, ARNs that are not role ARNs,
    /// control characters anywhere (a newline would add a line of its own).
    pub fn validate(&self) -> Result<(), SetupError> {
        let invalid = |what: &'static str, why: &'static str| SetupError::Invalid { what, why };
        for (what, name) in [
            ("--profile", &self.profile),
            ("--source-profile", &self.source_profile),
        ] {
            if name.is_empty() || !crate::profiles::is_identifier(name) {
                return Err(invalid(
                    what,
                    "a profile name is letters, digits and _ - / . % @ : + only",
                ));
            }
        }
        if let Some(arn) = &self.role_arn
            && !is_role_arn(arn)
        {
            return Err(invalid(
                "--role-arn",
                "a role ARN looks like arn:aws:iam::123456789012:role/NAME",
            ));
        }
        if let Some(name) = &self.role_name
            && (name.is_empty()
                || name.len() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)))
        {
            return Err(invalid(
                "--role-name",
                "a role name is 1 to 64 letters, digits and + = , . @ _ -",
            ));
        }
        let values = [
            &self.registry,
            &self.account,
            &self.region,
            &self.registry_id,
        ];
        if values
            .into_iter()
            .flatten()
            .any(|v| v.chars().any(char::is_control))
        {
            return Err(invalid("--registry", "control characters are not allowed"));
        }
        Ok(())
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<path and name>`, nothing else.
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let name = resource.strip_prefix("role/").unwrap_or("");
    *prefix == "arn"
        && partition.starts_with("aws")
        && partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-')
        && *service == "iam"
        && region.is_empty()
        && crate::registry::is_account_id(account)
        && !name.is_empty()
        && arn.len() <= 2048
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
}

/// Why `setup` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("give --registry HOST, or --account ID and --region REGION")]
    NoRegistry,
    #[error(
        "{0} is not an ECR registry host (like 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com); for a name of your own that stands for one (a proxy, an alias), add --registry-id ACCOUNT --region REGION"
    )]
    NotEcr(String),
    #[error(
        "{0}: --registry-id must be a 12-digit account id and --region a region name, for a custom registry name"
    )]
    BadCustom(String),
    #[error(
        "--role-name needs a private registry (the role's account is the registry's); give --role-arn"
    )]
    RoleNameNeedsAccount,
    #[error(
        "profile {profile} is not in {config}: add --role-arn ARN (or --role-name NAME) and --source-profile to create it"
    )]
    ProfileMissing { profile: String, config: String },
    #[error(transparent)]
    AwsConfig(#[from] EditError),
    #[error("cannot parse {path} as JSON ({detail}); nothing was changed: fix the file first")]
    Json { path: String, detail: String },
    #[error("{path}: \"{key}\" is not a JSON object; nothing was changed: fix the file first")]
    NotObject { path: String, key: String },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Config(#[from] settings::ConfigError),
    #[error("{what}: {why}")]
    Invalid {
        what: &'static str,
        why: &'static str,
    },
    #[error(transparent)]
    Home(#[from] crate::home::HomeError),
    #[error(transparent)]
    Profiles(#[from] crate::profiles::ProfileError),
}

/// Runs `setup`; reports on `out`. Returns the warnings it printed (for tests and the exit status).
pub fn run(request: &SetupRequest, out: &mut impl Write) -> Result<Vec<String>, SetupError> {
    request.validate()?;
    let key = registry_key(request)?;
    let registry = match (&request.registry_id, &request.region) {
        (Some(id), Some(region)) => {
            Registry::custom(&key, id, region).ok_or_else(|| SetupError::BadCustom(key.clone()))?
        }
        _ => Registry::parse(&key).ok_or_else(|| SetupError::NotEcr(key.clone()))?,
    };
    let files = crate::home::aws_files().as_ref().map_err(Clone::clone)?;

    let mut changes = Vec::new();
    let role_arn = match (&request.role_arn, &request.role_name) {
        (Some(arn), _) => Some(arn.clone()),
        (None, Some(name)) => Some(role_arn_for(&registry, name)?),
        (None, None) => None,
    };
    if let Some(role_arn) = &role_arn {
        let path = files.config.clone();
        let before = read(&path)?;
        let after = with_role_profile(
            before.as_deref().unwrap_or(""),
            &tilde(&path),
            &request.profile,
            role_arn,
            &request.source_profile,
        )?;
        changes.push(Change {
            path,
            before,
            after,
            new_mode: 0o600,
        });
    } else if Profiles::load(files)?.get(&request.profile).is_none() {
        return Err(SetupError::ProfileMissing {
            profile: request.profile.clone(),
            config: tilde(&files.config),
        });
    }

    let settings_path = settings::settings_path()?;
    let mut sets: Vec<(&[&str], &str)> = Vec::new();
    let profile_keys = ["registries", registry.host.as_str(), "profile"];
    let id_keys = ["registries", registry.host.as_str(), "registry_id"];
    let region_keys = ["registries", registry.host.as_str(), "region"];
    sets.push((&profile_keys, &request.profile));
    if let (Some(id), Some(region)) = (&request.registry_id, &request.region) {
        sets.push((&id_keys, id));
        sets.push((&region_keys, region));
    }
    changes.push(json_change(&settings_path, &sets, 0o600)?);
    let docker_config = docker_config_path();
    let suffix = helper_suffix();
    let helper_keys = ["credHelpers", key.as_str()];
    changes.push(json_change(
        &docker_config,
        &[(&helper_keys, &suffix)],
        0o600,
    )?);

    let mut report = String::new();
    if request.dry_run {
        for change in changes.iter().filter(|c| !c.is_noop()) {
            report.push_str(&change.diff());
        }
        if changes.iter().all(Change::is_noop) {
            report.push_str("nothing to change: already set up\n");
        } else {
            report.push_str("(dry run: nothing was written)\n");
        }
    } else {
        for change in &changes {
            let name = tilde(&change.path);
            let applied = change.apply().map_err(|source| SetupError::Io {
                action: "write",
                path: name.clone(),
                source,
            })?;
            report.push_str(&match applied {
                Applied::Unchanged => format!("{name}: already set up\n"),
                Applied::Created => format!("{name}: created\n"),
                Applied::Updated { backup } => {
                    format!("{name}: updated (backup in {})\n", tilde(&backup))
                }
            });
        }
        report.push_str(&format!(
            "docker push {key}/<repository>:<tag> now gets its credentials through profile {}\n",
            request.profile
        ));
    }

    let warnings = warnings(&docker_config, &key, &suffix);
    for w in &warnings {
        report.push_str(&format!("warning: {w}\n"));
    }
    let _ = out.write_all(report.as_bytes());
    Ok(warnings)
}

/// The registry as docker names it in `credHelpers`: `host` or `host:port`, no scheme or path.
fn registry_key(request: &SetupRequest) -> Result<String, SetupError> {
    match (&request.registry, &request.account, &request.region) {
        // (A custom name's ECR registry is checked by the caller.)
        (Some(registry), _, _) => crate::registry::authority_of(registry)
            .ok_or_else(|| SetupError::NotEcr(registry.clone())),
        (None, Some(account), Some(region)) => Ok(crate::registry::private_host(account, region)),
        _ => Err(SetupError::NoRegistry),
    }
}

/// `arn:<partition>:iam::<account>:role/<name>` for the registry's account.
fn role_arn_for(registry: &Registry, name: &str) -> Result<String, SetupError> {
    match &registry.kind {
        RegistryKind::Private {
            registry_id,
            partition,
            ..
        } => Ok(format!("arn:{partition}:iam::{registry_id}:role/{name}")),
        RegistryKind::Public => Err(SetupError::RoleNameNeedsAccount),
    }
}

fn read(path: &Path) -> Result<Option<String>, SetupError> {
    read_optional(path).map_err(|source| SetupError::Io {
        action: "read",
        path: tilde(path),
        source,
    })
}

/// The change that sets each `(keys, value)` (a path of object keys) in a JSON file,
/// keeping every other key in its place. Unchanged text if every value is already there.
fn json_change(path: &Path, sets: &[(&[&str], &str)], new_mode: u32) -> Result<Change, SetupError> {
    let name = tilde(path);
    let before = read(path)?;
    let mut doc: Value = match before.as_deref() {
        Some(text) if !text.trim().is_empty() => {
            serde_json::from_str(text).map_err(|e| SetupError::Json {
                path: name.clone(),
                detail: e.to_string(),
            })?
        }
        _ => Value::Object(Default::default()),
    };
    let mut changed = false;
    for (keys, value) in sets {
        let (last, parents) = keys.split_last().expect("at least one key");
        let mut node = &mut doc;
        let mut walked = String::new();
        for key in parents {
            walked = if walked.is_empty() {
                key.to_string()
            } else {
                format!("{walked}.{key}")
            };
            let object = node.as_object_mut().ok_or_else(|| SetupError::NotObject {
                path: name.clone(),
                key: walked.clone(),
            })?;
            node = object
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Default::default()));
        }
        let object = node.as_object_mut().ok_or_else(|| SetupError::NotObject {
            path: name.clone(),
            key: walked,
        })?;
        if object.get(*last).and_then(Value::as_str) != Some(*value) {
            object.insert(last.to_string(), Value::from(*value));
            changed = true;
        }
    }
    let after = if changed {
        to_pretty(&doc)
    } else {
        before.clone().unwrap_or_default()
    };
    Ok(Change {
        path: path.to_path_buf(),
        before,
        after,
        new_mode,
    })
}

/// What could still stop docker from using the helper for this registry.
fn warnings(docker_config: &Path, key: &str, suffix: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if on_path(suffix).is_none() {
        let here = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(tilde))
            .unwrap_or_default();
        warnings.push(format!(
            "docker-credential-{suffix} is not on PATH, so docker will not find it: add {here} to PATH (or install it with install/install.sh)"
        ));
    }
    if let Some(doc) = read_docker_config(docker_config) {
        if doc
            .pointer("/auths")
            .and_then(Value::as_object)
            .is_some_and(|auths| {
                auths
                    .keys()
                    .any(|k| host_of(k).is_some() && host_of(k) == host_of(key))
            })
        {
            warnings.push(format!(
                "{} still holds a `docker login` entry for {key} under \"auths\"; credHelpers takes precedence, so it is unused: `docker logout {key}` removes it",
                tilde(docker_config)
            ));
        }
        if let Some(store) = doc.get("credsStore").and_then(Value::as_str) {
            warnings.push(format!(
                "credsStore \"{store}\" stays in use for other registries; for {key}, credHelpers takes precedence"
            ));
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_edits_keep_other_keys_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(
            &path,
            "{\"auths\": {}, \"credHelpers\": {\"gcr.io\": \"gcloud\"}, \"z\": 1}",
        )
        .unwrap();
        let change = json_change(&path, &[(&["credHelpers", "1.dkr"], "ecr-role")], 0o600).unwrap();
        assert_eq!(
            change.after,
            "{\n\t\"auths\": {},\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\",\n\t\t\"1.dkr\": \"ecr-role\"\n\t},\n\t\"z\": 1\n}\n"
        );
        std::fs::write(&path, &change.after).unwrap();
        let again = json_change(&path, &[(&["credHelpers", "1.dkr"], "ecr-role")], 0o600).unwrap();
        assert!(again.is_noop());

        std::fs::write(&path, "{\"credHelpers\": []}").unwrap();
        let err = json_change(&path, &[(&["credHelpers", "x"], "y")], 0o600).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"credHelpers\" is not a JSON object"),
            "{err}"
        );
        std::fs::write(&path, "{ oops").unwrap();
        let err = json_change(&path, &[(&["credHelpers", "x"], "y")], 0o600).unwrap_err();
        assert!(err.to_string().contains("cannot parse"), "{err}");
    }

    #[test]
    fn registry_from_account_and_region() {
        let request = SetupRequest {
            registry: None,
            account: Some("123456789012".into()),
            region: Some("ap-northeast-1".into()),
            registry_id: None,
            profile: "p".into(),
            role_arn: None,
            role_name: None,
            source_profile: "default".into(),
            dry_run: true,
        };
        assert_eq!(
            registry_key(&request).unwrap(),
            "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
        );
        let with_port = SetupRequest {
            registry: Some(
                "https://123456789012.dkr.ecr.ap-northeast-1.amazonaws.com:5000/v2/".into(),
            ),
            ..request
        };
        assert_eq!(
            registry_key(&with_port).unwrap(),
            "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com:5000"
        );
        let registry = Registry::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn").unwrap();
        assert_eq!(
            role_arn_for(&registry, "R").unwrap(),
            "arn:aws-cn:iam::123456789012:role/R"
        );
    }
}
