//! `registries`: what the helper is set up for (the settings' registry → profile
//! mapping), and `registries --remove HOST`, which drops a registry's mapping and this
//! helper's `credHelpers` entries for it, with `setup`'s care: atomic writes, backups,
//! nothing else touched (other helpers' entries stay).

use std::io::Write;

use serde_json::Value;

use crate::docker_config::{docker_config_path, helper_suffix, to_pretty};
use crate::files::{Change, read_optional};
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
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Settings(#[from] settings::ConfigError),
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
    for (path, object_key) in [
        (&settings_path, "registries"),
        (&docker_config, "credHelpers"),
    ] {
        let before = read_optional(path).map_err(|source| RegistriesError::Io {
            action: "read",
            path: tilde(path),
            source,
        })?;
        let Some(text) = before.as_deref().filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        let mut doc: Value = serde_json::from_str(text).map_err(|e| RegistriesError::Json {
            path: tilde(path),
            detail: e.to_string(),
        })?;
        let Some(map) = doc.get_mut(object_key).and_then(Value::as_object_mut) else {
            continue;
        };
        // Only our own entries: docker's credHelpers may name other helpers for this host.
        let suffix = helper_suffix();
        let doomed: Vec<String> = map
            .iter()
            .filter(|(k, v)| {
                host_of(k).as_deref() == Some(bare.as_str())
                    && (object_key == "registries" || v.as_str() == Some(suffix.as_str()))
            })
            .map(|(k, _)| k.clone())
            .collect();
        if doomed.is_empty() {
            continue;
        }
        for key in &doomed {
            map.shift_remove(key);
        }
        let change = Change {
            path: path.clone(),
            before,
            after: to_pretty(&doc),
            new_mode: 0o600,
        };
        change.apply().map_err(|source| RegistriesError::Io {
            action: "write",
            path: tilde(path),
            source,
        })?;
        report.push_str(&format!("{}: removed {}\n", tilde(path), doomed.join(", ")));
    }
    if report.is_empty() {
        report.push_str(&format!("{bare} was not mapped: nothing to remove\n"));
    }
    let _ = out.write_all(report.as_bytes());
    Ok(true)
}
