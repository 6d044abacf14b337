//! `setup`: the local half of the user story in one command. It wires docker's
//! `credHelpers` to the helper, maps the registry to a profile in the helper's
//! settings and, when asked, creates the role profile in `~/.aws/config`.
//! Each file keeps every key, section and comment it had (docker's `config.json`
//! and the settings are edited in place, not re-serialised); writes are atomic with
//! a `.bak` of the old content, under the file's lock, on the text found once the
//! lock is held; re-running changes nothing; `--dry-run` shows the change (no value
//! but those setup writes) and writes nothing; a file that can't be parsed is left alone.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::docker_config::{
    JsonEditError, docker_config_path, helper_suffix, on_path, read_docker_config, set_in_place,
};
use crate::dry_run::Syntax;
use crate::files::{Applied, Change, FileError, edit_locked, read_for_edit, read_optional};
use crate::home::tilde;
use crate::iam;
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
            if !iam::is_profile_name(name) {
                return Err(invalid(
                    what,
                    "a profile name is letters, digits and _ - / . % @ : + only",
                ));
            }
        }
        if let Some(arn) = &self.role_arn
            && !iam::is_role_arn(arn)
        {
            return Err(invalid(
                "--role-arn",
                "a role ARN looks like arn:aws:iam::123456789012:role/NAME",
            ));
        }
        if let Some(name) = &self.role_name
            && !iam::is_name(name)
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

/// Why `setup` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("give --registry HOST, or --account ID and --region REGION")]
    NoRegistry,
    #[error(
        "{0} is not an ECR registry host (like 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com); for a name of your own that stands for one (a proxy, an alias), add --registry-id ACCOUNT --region REGION"
    )]
    NotEcr(String),
    #[error("{0}")]
    BadCustom(CustomNameError),
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
    #[error(
        "merge the \"{key}\" entries of {path} into one by hand, then run setup again: docker reads them all, setup would change one; nothing was changed"
    )]
    DuplicateKey { path: String, key: String },
    #[error(
        "make the change in {path} by hand: setup cannot edit it in place without changing more than its own entry; nothing was changed"
    )]
    NotInPlace { path: String },
    #[error(transparent)]
    File(#[from] FileError),
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

impl super::CommandError for SetupError {
    /// Refused arguments are usage errors (2); the rest, 1.
    fn exit_code(&self) -> u8 {
        match self {
            SetupError::Invalid { .. }
            | SetupError::NoRegistry
            | SetupError::NotEcr(_)
            | SetupError::BadCustom(_)
            | SetupError::RoleNameNeedsAccount => 2,
            _ => 1,
        }
    }
}

/// Why a custom registry name (`--registry NAME --registry-id ACCOUNT --region REGION`)
/// was refused: a usage error, as the one above it.
#[derive(Debug, thiserror::Error)]
pub enum CustomNameError {
    #[error(
        "{0}: --registry-id must be a 12-digit account id and --region a region name, for a custom registry name"
    )]
    IdOrRegion(String),
    #[error(
        "give --registry a host name of your own (your pull-through proxy's or alias's): {0} is a public registry, and docker would send it your ECR credentials; nothing was changed"
    )]
    Public(String),
}

/// Public registries docker users pull from, by host: a custom name that is one of
/// them would have docker send ECR credentials for every pull from it.
const PUBLIC_REGISTRIES: &[&str] = &[
    "docker.io",
    "index.docker.io",
    "registry-1.docker.io",
    "ghcr.io",
    "gcr.io",
    "quay.io",
    "registry.k8s.io",
    "mcr.microsoft.com",
    "public.ecr.aws",
    "registry.gitlab.com",
];

/// Domains every host of which is a public registry (`eu.gcr.io`,
/// `europe-docker.pkg.dev`, `NAME.azurecr.io`).
const PUBLIC_REGISTRY_DOMAINS: &[&str] = &["gcr.io", "pkg.dev", "azurecr.io"];

/// Whether `host` (lowercase, no port or final dot: [`host_of`]) is a public registry.
fn is_public_registry(host: &str) -> bool {
    PUBLIC_REGISTRIES.contains(&host)
        || PUBLIC_REGISTRY_DOMAINS.iter().any(|domain| {
            host.strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.'))
        })
}

/// A custom name that is not a public registry: set up, with a warning that the
/// helper hands the ECR registry's credentials to that host.
fn custom_name_warning(registry: &Registry) -> Option<String> {
    let RegistryKind::Private {
        registry_id,
        region,
        ..
    } = &registry.kind
    else {
        return None;
    };
    let host = &registry.host;
    Some(format!(
        "the helper will hand the credentials of ECR registry {registry_id} in {region} to {host} whenever docker asks for {host}'s: keep this name only for a proxy or alias you run and trust"
    ))
}

/// Runs `setup`; reports on `out` (its warnings about docker's setup included) and
/// warns on stderr about a custom name. Returns the warnings it printed (for tests).
pub fn run(request: &SetupRequest, out: &mut impl Write) -> Result<Vec<String>, SetupError> {
    request.validate()?;
    let key = registry_key(request)?;
    let (registry, custom_warning) = match (&request.registry_id, &request.region) {
        (Some(id), Some(region)) => {
            let registry = Registry::custom(&key, id, region)
                .ok_or_else(|| SetupError::BadCustom(CustomNameError::IdOrRegion(key.clone())))?;
            if is_public_registry(&registry.host) {
                return Err(SetupError::BadCustom(CustomNameError::Public(
                    registry.host,
                )));
            }
            let warning = custom_name_warning(&registry);
            (registry, warning)
        }
        _ => (
            Registry::parse(&key).ok_or_else(|| SetupError::NotEcr(key.clone()))?,
            None,
        ),
    };
    let files = crate::home::aws_files().as_ref().map_err(Clone::clone)?;

    let role_arn = match (&request.role_arn, &request.role_name) {
        (Some(arn), _) => Some(arn.clone()),
        (None, Some(name)) => Some(role_arn_for(&registry, name)?),
        (None, None) => None,
    };
    let mut edits: Vec<FileEdit> = Vec::new();
    if let Some(role_arn) = &role_arn {
        // The SDK reads the credentials file's keys over the config file's; a file it
        // cannot read counts as empty, for it as for us.
        let credentials = files.credentials.as_ref().map(|path| {
            let text = read_optional(path).ok().flatten().unwrap_or_default();
            (text, path.clone())
        });
        let config = files.config.clone();
        edits.push(FileEdit {
            path: config.clone(),
            syntax: Syntax::Ini,
            shown: vec![role_arn.clone(), request.source_profile.clone()],
            edit: Box::new(move |before| {
                Ok(with_role_profile(
                    before.unwrap_or(""),
                    &config,
                    credentials.as_ref().map(|(t, p)| (t.as_str(), p.as_path())),
                    &request.profile,
                    role_arn,
                    &request.source_profile,
                )?)
            }),
        });
    } else if Profiles::load(files)?.get(&request.profile).is_none() {
        return Err(SetupError::ProfileMissing {
            profile: request.profile.clone(),
            config: tilde(&files.config),
        });
    }

    let settings_path = settings::settings_path()?;
    let host = registry.host.as_str();
    let mut settings_sets = vec![(vec!["registries", host, "profile"], request.profile.clone())];
    if let (Some(id), Some(region)) = (&request.registry_id, &request.region) {
        settings_sets.push((vec!["registries", host, "registry_id"], id.clone()));
        settings_sets.push((vec!["registries", host, "region"], region.clone()));
    }
    edits.push(json_edit(settings_path, settings_sets));
    let docker_config = docker_config_path();
    let suffix = helper_suffix();
    edits.push(json_edit(
        docker_config.clone(),
        vec![(vec!["credHelpers", key.as_str()], suffix.clone())],
    ));

    // Every file is planned before any is written: a file setup cannot change stops it
    // with nothing changed.
    let mut changes = Vec::new();
    for edit in &edits {
        let before = read(&edit.path)?;
        let after = (edit.edit)(before.as_deref())?;
        changes.push(Change {
            path: edit.path.clone(),
            before,
            after,
            new_mode: 0o600,
        });
    }

    let mut report = String::new();
    if request.dry_run {
        for (edit, change) in edits.iter().zip(&changes) {
            if !change.is_noop() {
                let shown: Vec<&str> = edit.shown.iter().map(String::as_str).collect();
                report.push_str(&change.diff(edit.syntax, &shown));
            }
        }
        if changes.iter().all(Change::is_noop) {
            report.push_str("nothing to change: already set up\n");
        } else {
            report.push_str("(dry run: nothing was written)\n");
        }
    } else {
        for (edit, change) in edits.iter().zip(&changes) {
            let name = tilde(&edit.path);
            // A file that already says this needs no lock; any other is changed under
            // its lock, from the text found then (another process may have changed it).
            let applied = if change.is_noop() {
                Applied::Unchanged
            } else {
                edit_locked(&edit.path, change.new_mode, |before| (edit.edit)(before))?
            };
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

    let mut warnings = warnings(&docker_config, &key, &suffix);
    for w in &warnings {
        report.push_str(&format!("warning: {w}\n"));
    }
    let _ = out.write_all(report.as_bytes());
    // Said on stderr, as the helper's other warnings are: a custom name is trusted
    // with the registry's credentials, which the user must know even in a script.
    if let Some(w) = custom_warning {
        crate::text::warn(format_args!("{w}"));
        warnings.push(w);
    }
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
        } => Ok(iam::arn(partition, registry_id, "role", name)),
        RegistryKind::Public => Err(SetupError::RoleNameNeedsAccount),
    }
}

/// A file setup is about to plan a change of, read where the change would be written
/// (through a symlink): a link that cannot be written through stops setup here, before
/// any file is written.
fn read(path: &Path) -> Result<Option<String>, SetupError> {
    Ok(read_for_edit(path)?)
}

/// One file setup changes: how its text changes, run once on the text read to plan
/// (and show) the change, and again under the file's lock on the text found then.
struct FileEdit<'a> {
    path: PathBuf,
    syntax: Syntax,
    /// The values setup writes into the file: the only values `--dry-run` shows.
    shown: Vec<String>,
    edit: Box<EditFn<'a>>,
}

/// A file's new text from its text now (`None`: the file does not exist).
type EditFn<'a> = dyn Fn(Option<&str>) -> Result<String, SetupError> + 'a;

/// The edit that sets each `(keys, value)` (a path of object keys) in a JSON file in
/// place ([`set_in_place`]): every other byte stays. Unchanged text if every value is
/// already there.
fn json_edit<'a>(path: PathBuf, sets: Vec<(Vec<&'a str>, String)>) -> FileEdit<'a> {
    let name = tilde(&path);
    FileEdit {
        path,
        syntax: Syntax::Json,
        shown: sets.iter().map(|(_, value)| value.clone()).collect(),
        edit: Box::new(move |before| {
            let sets: Vec<(&[&str], &str)> = sets
                .iter()
                .map(|(keys, value)| (keys.as_slice(), value.as_str()))
                .collect();
            set_in_place(before, &sets).map_err(|e| json_error(&name, e))
        }),
    }
}

/// A JSON edit's refusal, naming the file.
fn json_error(path: &str, e: JsonEditError) -> SetupError {
    let path = path.to_string();
    match e {
        JsonEditError::Invalid(detail) => SetupError::Json { path, detail },
        JsonEditError::NotObject(key) => SetupError::NotObject { path, key },
        JsonEditError::Duplicate(key) => SetupError::DuplicateKey { path, key },
        JsonEditError::Shape => SetupError::NotInPlace { path },
    }
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
        let edit = json_edit(
            PathBuf::from("/x/config.json"),
            vec![(vec!["credHelpers", "1.dkr"], "ecr-role".to_string())],
        );
        let text = "{\"auths\": {}, \"credHelpers\": {\"gcr.io\": \"gcloud\"}, \"z\": 1}";
        let after = (edit.edit)(Some(text)).unwrap();
        assert_eq!(
            after,
            "{\"auths\": {}, \"credHelpers\": {\"gcr.io\": \"gcloud\", \"1.dkr\": \"ecr-role\"}, \"z\": 1}"
        );
        assert_eq!((edit.edit)(Some(&after)).unwrap(), after, "idempotent");
        // A new file in docker's layout.
        assert_eq!(
            (edit.edit)(None).unwrap(),
            "{\n\t\"credHelpers\": {\n\t\t\"1.dkr\": \"ecr-role\"\n\t}\n}\n"
        );
        let err = (edit.edit)(Some("{\"credHelpers\": []}")).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"credHelpers\" is not a JSON object"),
            "{err}"
        );
        let err = (edit.edit)(Some("{ oops")).unwrap_err();
        assert!(err.to_string().contains("cannot parse"), "{err}");
        let err = (edit.edit)(Some("{\"credHelpers\": {}, \"credHelpers\": {}}")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("merge the \"credHelpers\" entries"),
            "{err}"
        );
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
