//! The helper's own settings and paths: where its settings file and token cache
//! live (the `directories` crate's per-user dirs, each overridable by an
//! environment variable so tests and users can move them), and the settings
//! file itself: a default profile and a registry → profile mapping.
//! Pure std + serde: this is read on every `get`, cache hits included.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::registry::Registry;

/// Environment variable naming the profile for one command; wins over every mapping.
pub const ENV_PROFILE: &str = "ECR_ROLE_PROFILE";
/// Environment variable naming the settings file.
pub const ENV_CONFIG: &str = "ECR_ROLE_CONFIG";
/// Environment variable naming the token cache directory.
pub const ENV_CACHE_DIR: &str = "ECR_ROLE_CACHE_DIR";
/// Environment variable choosing how to ask for an MFA code (see [`Settings::mfa_prompt`]).
pub const ENV_MFA_PROMPT: &str = "ECR_ROLE_MFA_PROMPT";
/// Environment variable with the seconds an MFA prompt or `mfa_process` may take (default 60).
pub const ENV_MFA_TIMEOUT: &str = "ECR_ROLE_MFA_TIMEOUT";
/// Environment variable that turns the token cache off.
pub const ENV_DISABLE_CACHE: &str = "ECR_ROLE_DISABLE_CACHE";
/// The Go helper's variable for the same, honoured so switching costs nothing.
pub const ENV_DISABLE_CACHE_GO: &str = "AWS_ECR_DISABLE_CACHE";

/// The application name the per-user directories are named after.
const APP: &str = "docker-credential-ecr-role";

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read settings file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("settings file {path} is not valid: {detail}; fix or remove it")]
    Invalid { path: String, detail: String },
    #[error("set HOME or {var}: there is no home directory")]
    NoHome { var: &'static str },
}

/// The settings file: which profile serves which registry.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Settings {
    /// The profile for registries without a mapping of their own.
    #[serde(default)]
    pub default_profile: Option<String>,
    /// Registry host (lowercase, no port) → how to get its credentials.
    #[serde(default)]
    pub registries: BTreeMap<String, RegistrySettings>,
    /// How to ask for an MFA code when the profile has no `mfa_process`: `terminal`
    /// (the default), `zenity`, `kdialog` or `osascript` (`ECR_ROLE_MFA_PROMPT` wins).
    #[serde(default)]
    pub mfa_prompt: Option<String>,
}

/// How one registry gets its credentials.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
pub struct RegistrySettings {
    /// The AWS profile (in `~/.aws/config`) to use for this registry.
    #[serde(default)]
    pub profile: Option<String>,
    /// A role to assume for this registry, without a profile of its own…
    #[serde(default)]
    pub role_arn: Option<String>,
    /// …with the credentials of this profile (default `default`).
    #[serde(default)]
    pub source_profile: Option<String>,
    /// For a custom host name (a pull-through proxy, a corporate alias): the ECR
    /// registry (account) it stands for…
    #[serde(default)]
    pub registry_id: Option<String>,
    /// …and its region.
    #[serde(default)]
    pub region: Option<String>,
    /// How to ask for this registry's MFA codes (see [`Settings::mfa_prompt`]).
    #[serde(default)]
    pub mfa_prompt: Option<String>,
}

impl Settings {
    /// Parses the settings file's text; `path` only names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Settings, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_string(),
            detail: e.to_string(),
        })
    }

    /// Reads the settings file; a missing file (or no home to keep one in) means empty settings.
    pub fn load() -> Result<Settings, ConfigError> {
        let path = match settings_path() {
            Ok(path) => path,
            Err(ConfigError::NoHome { .. }) => return Ok(Settings::default()),
            Err(e) => return Err(e),
        };
        match crate::files::read_optional(&path) {
            Ok(Some(text)) => Settings::parse(&text, &path.display().to_string()),
            Ok(None) => Ok(Settings::default()),
            Err(source) => Err(ConfigError::Read {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// The MFA prompt chosen for a registry: `ECR_ROLE_MFA_PROMPT`, else the registry's
    /// `mfa_prompt`, else the global one (`None`: the terminal).
    pub fn mfa_prompt_for(&self, host: Option<&str>) -> Option<String> {
        env_nonempty(ENV_MFA_PROMPT)
            .or_else(|| {
                host.and_then(|h| self.registries.get(h))
                    .and_then(|r| r.mfa_prompt.clone())
            })
            .or_else(|| self.mfa_prompt.clone())
    }

    /// The profile mapped to a registry host, if any: its `profile`, or
    /// for a mapping to a role, the profile [`Settings::role_profiles`] names for it.
    pub fn profile_for(&self, host: &str) -> Option<String> {
        let r = self.registries.get(host)?;
        match (&r.profile, &r.role_arn) {
            (Some(profile), _) => Some(profile.clone()),
            (None, Some(_)) => Some(role_profile_name(host)),
            (None, None) => None,
        }
    }

    /// A profile for each registry mapped straight to a role: (profile name, `role_arn`,
    /// `source_profile`), so the rest of the helper treats it like any role profile.
    pub fn role_profiles(&self) -> Vec<(String, &str, &str)> {
        self.registries
            .iter()
            .filter_map(|(host, r)| match (&r.profile, &r.role_arn) {
                (None, Some(role_arn)) => Some((
                    role_profile_name(host),
                    role_arn.as_str(),
                    r.source_profile.as_deref().unwrap_or("default"),
                )),
                _ => None,
            })
            .collect()
    }

    /// The ECR registry a custom host name stands for, if the settings say so.
    pub fn custom_registry(&self, host: &str) -> Option<Registry> {
        let r = self.registries.get(host)?;
        Registry::custom(host, r.registry_id.as_deref()?, r.region.as_deref()?)
    }
}

/// The name of the profile made for a registry mapped straight to a role.
pub fn role_profile_name(host: &str) -> String {
    format!("registry {host}")
}

/// A non-empty environment variable's value.
pub fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// An environment made of `vars`, in the shape [`env_nonempty`] has, for unit tests of
/// code that takes its environment as a function.
#[cfg(test)]
pub fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// Whether the token cache is turned off (`ECR_ROLE_DISABLE_CACHE` or `AWS_ECR_DISABLE_CACHE`
/// set to anything but empty, `0` or `false`).
pub fn cache_disabled() -> bool {
    [ENV_DISABLE_CACHE, ENV_DISABLE_CACHE_GO]
        .iter()
        .any(|name| {
            env_nonempty(name)
                .is_some_and(|v| !matches!(v.trim(), "0" | "false" | "FALSE" | "False"))
        })
}

/// The settings file: `$ECR_ROLE_CONFIG`, else `config.json` in the per-user config dir.
pub fn settings_path() -> Result<PathBuf, ConfigError> {
    if let Some(path) = env_nonempty(ENV_CONFIG) {
        return Ok(PathBuf::from(path));
    }
    project_dirs(ENV_CONFIG).map(|d| d.config_dir().join("config.json"))
}

/// The token cache directory: `$ECR_ROLE_CACHE_DIR`, else the per-user cache dir.
///
/// Root creates nothing in a home it does not own: under `sudo -E docker pull`, root
/// runs the helper with the user's `HOME`, and a root-owned `~/.cache`
/// there would lock the user out of their own cache directory. Then the cache lives
/// in the home of the user the process runs as (root's, from `/etc/passwd`), so pulls
/// stay cached and quiet; the user's AWS files are still read from `HOME`.
pub fn cache_dir() -> Result<PathBuf, ConfigError> {
    if let Some(path) = env_nonempty(ENV_CACHE_DIR) {
        return Ok(PathBuf::from(path));
    }
    let dir = project_dirs(ENV_CACHE_DIR).map(|d| d.cache_dir().to_path_buf())?;
    // Only root (`sudo -E`): another user whose home is not theirs (a container's
    // root-owned home) keeps the usual place; so does a home that does not exist.
    if crate::platform::uid() != 0 {
        return Ok(dir);
    }
    let home = crate::home::home_dir().ok_or(ConfigError::NoHome { var: ENV_CACHE_DIR })?;
    if crate::platform::owner_of(&home).is_none_or(|owner| owner == crate::platform::uid()) {
        return Ok(dir);
    }
    let own = crate::platform::passwd_home(crate::platform::uid())
        .filter(|own| *own != home)
        .ok_or(ConfigError::NoHome { var: ENV_CACHE_DIR })?;
    // The same place under the own home (`.cache/…` on Linux, `Library/Caches/…` on
    // macOS, as `directories` put it under the other home).
    let relative = dir
        .strip_prefix(&home)
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(".cache").join(APP));
    Ok(own.join(relative))
}

/// The per-user directories, only once the home is known ([`crate::home`] wrote it
/// into `HOME`): without a home, `directories` would ask the passwd database through
/// NSS, which the static Linux binary must never do (see [`crate::platform`]).
fn project_dirs(var: &'static str) -> Result<directories::ProjectDirs, ConfigError> {
    crate::home::home_dir()
        .and_then(|_| directories::ProjectDirs::from("", "", APP))
        .ok_or(ConfigError::NoHome { var })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_map_registries_to_profiles() {
        let s = Settings::parse(
            r#"{"default_profile":"d","registries":{"1.dkr.ecr.x":{"profile":"p"}},"future":1}"#,
            "f",
        )
        .unwrap();
        assert_eq!(s.default_profile.as_deref(), Some("d"));
        assert_eq!(s.profile_for("1.dkr.ecr.x").as_deref(), Some("p"));
        assert_eq!(s.profile_for("other"), None);
    }

    #[test]
    fn registries_mapped_to_roles_and_custom_names() {
        let s = Settings::parse(
            r#"{"registries":{"123456789012.dkr.ecr.us-east-1.amazonaws.com":{"role_arn":"arn:aws:iam::1:role/R"},
                "registry.corp.example":{"registry_id":"123456789012","region":"eu-west-1","profile":"p"}}}"#,
            "f",
        )
        .unwrap();
        let host = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        let name = s.profile_for(host).unwrap();
        assert_eq!(
            s.role_profiles(),
            vec![(name, "arn:aws:iam::1:role/R", "default")]
        );
        let custom = s.custom_registry("registry.corp.example").unwrap();
        assert_eq!(custom.region(), "eu-west-1");
        assert_eq!(custom.host, "registry.corp.example");
        assert!(s.custom_registry(host).is_none());
    }

    #[test]
    fn invalid_settings_name_the_file() {
        let err = Settings::parse("{", "/x/config.json").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("settings file /x/config.json is not valid")
        );
    }
}
