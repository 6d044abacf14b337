//! `registries`: what the helper is set up for (the settings' registry → profile
//! mapping), and `registries --remove HOST`, which drops a registry's mapping and this
//! helper's `credHelpers` entries for it, with `setup`'s care: the same locked,
//! atomic, in-place edit ([`crate::files::edit_locked`]), backups, nothing else touched
//! (other helpers' entries stay, and so does every other byte of the files).

use std::io::Write;

use serde_json::Value;

use crate::docker_config::{JsonEditError, docker_config_path, helper_suffix, remove_in_place};
use crate::files::{Applied, FileError, edit_locked, read_for_edit, write_target};
use crate::home::tilde;
use crate::registry::host_of;
use crate::settings;

/// Why the registries could not be listed or changed.
#[derive(Debug, thiserror::Error)]
pub enum RegistriesError {
    #[error("{0} is not a registry host name")]
    NotAHost(String),
    #[error("cannot parse {path} as JSON ({detail}); nothing was changed: fix the file first")]
    Json { path: String, detail: String },
    #[error("{0}")]
    Settings(#[from] settings::ConfigError),
    #[error("remove the entry from {path} by hand: {why}; nothing was changed")]
    NotInPlace { path: String, why: String },
    #[error(transparent)]
    File(#[from] FileError),
}

impl super::CommandError for RegistriesError {
    /// A name that is not a host is a refused argument (2); the rest, 1.
    fn exit_code(&self) -> u8 {
        match self {
            RegistriesError::NotAHost(_) => 2,
            _ => 1,
        }
    }
}

/// `registries`: every registry the helper's settings map, and how.
pub fn list(out: &mut impl Write) -> Result<bool, RegistriesError> {
    let settings = crate::settings::Settings::load()?;
    let mut report = String::new();
    for (host, r) in &settings.registries {
        let how = match (&r.profile, &r.role_arn) {
            (Some(profile), _) => format!("profile {profile}"),
            (None, Some(role)) => format!(
                "role {role} from profile {}",
                r.source_profile.as_deref().unwrap_or("default")
            ),
            (None, None) => "the default profile".to_string(),
        };
        let alias = match (&r.registry_id, &r.region) {
            (Some(id), Some(region)) => format!(" (stands for ECR registry {id} in {region})"),
            _ => String::new(),
        };
        report.push_str(&format!("{host}{alias}: {how}\n"));
    }
    if let Some(default) = &settings.default_profile {
        report.push_str(&format!("any other ECR registry: profile {default}\n"));
    }
    if report.is_empty() {
        report.push_str(
            "no registry is mapped: `setup --registry HOST --profile PROFILE` adds one\n",
        );
    }
    let _ = out.write_all(report.as_bytes());
    Ok(true)
}

/// `registries --remove HOST`: drops the registry's mapping and its `credHelpers`
/// entries (any port), with the same care as `setup` (atomic, backups, nothing else touched).
pub fn remove(host: &str, out: &mut impl Write) -> Result<bool, RegistriesError> {
    let bare = host_of(host).ok_or_else(|| RegistriesError::NotAHost(host.to_string()))?;
    let settings_path = settings::settings_path()?;
    let docker_config = docker_config_path();
    let mut report = String::new();
    let suffix = helper_suffix();
    // A link that cannot be written through stops the removal before either file is changed.
    for path in [&settings_path, &docker_config] {
        write_target(path)?;
    }
    for (path, object_key) in [
        (&settings_path, "registries"),
        (&docker_config, "credHelpers"),
    ] {
        let name = tilde(path);
        let ours = |text: Option<&str>| ours(text, object_key, &bare, &suffix, &name);
        // A file without our entries is not touched (nor locked, nor created).
        let text = read_for_edit(path)?;
        if ours(text.as_deref())?.is_empty() {
            continue;
        }
        // Again under the lock: another setup or removal may have just changed the file.
        let mut removed = Vec::new();
        let applied = edit_locked(path, 0o600, |before| {
            removed = ours(before)?;
            let text = before.unwrap_or_default();
            if removed.is_empty() {
                return Ok(text.to_string());
            }
            remove_in_place(text, object_key, &removed).map_err(|e| RegistriesError::NotInPlace {
                path: name.clone(),
                why: match e {
                    JsonEditError::Duplicate(key) => {
                        format!("it holds \"{key}\" twice, and docker reads both")
                    }
                    _ => "an edit in place would change more than the entry".to_string(),
                },
            })
        })?;
        if applied != Applied::Unchanged {
            report.push_str(&format!("{name}: removed {}\n", removed.join(", ")));
        }
    }
    if report.is_empty() {
        report.push_str(&format!("{bare} was not mapped: nothing to remove\n"));
    }
    let _ = out.write_all(report.as_bytes());
    Ok(true)
}

/// This helper's entries for `bare` (any port) in the object `object_key` of a JSON
/// file's text: every registry mapping, but only the `credHelpers` entries that name
/// this helper (docker's `credHelpers` may name other helpers for the host).
fn ours(
    text: Option<&str>,
    object_key: &str,
    bare: &str,
    suffix: &str,
    name: &str,
) -> Result<Vec<String>, RegistriesError> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| RegistriesError::Json {
        path: name.to_string(),
        detail: e.to_string(),
    })?;
    let Some(map) = doc.get(object_key).and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    Ok(map
        .iter()
        .filter(|(k, v)| {
            host_of(k).as_deref() == Some(bare)
                && (object_key == "registries" || v.as_str() == Some(suffix))
        })
        .map(|(k, _)| k.clone())
        .collect())
}
