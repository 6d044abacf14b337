//! A small reader of the AWS shared config and credentials files
//! (`~/.aws/config`, `~/.aws/credentials`, or `AWS_CONFIG_FILE` /
//! `AWS_SHARED_CREDENTIALS_FILE`). The helper needs a profile's `role_arn`
//! before anything else — it is part of the token cache key — and must not
//! load the SDK for that, so this is pure std. The SDK still reads the files
//! itself for the source credentials on a cache miss.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One profile's keys (lowercase) and values.
pub type Profile = BTreeMap<String, String>;

/// The profiles of both files, credentials-file values taking precedence.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Profiles {
    profiles: BTreeMap<String, Profile>,
    /// The config file that was read (for messages).
    pub config_path: PathBuf,
}

/// Which of the two files a text comes from: their section headers differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `~/.aws/config`: `[default]`, `[profile NAME]`; other sections are not profiles.
    Config,
    /// `~/.aws/credentials`: `[NAME]`.
    Credentials,
}

impl Profiles {
    /// Reads both files; a missing or unreadable file counts as empty (the SDK reports
    /// the same files' problems precisely when it loads credentials).
    pub fn load() -> Profiles {
        let config_path = path_from_env("AWS_CONFIG_FILE", "config");
        let credentials_path = path_from_env("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let mut profiles = Profiles {
            config_path: config_path.clone(),
            ..Profiles::default()
        };
        for (path, kind) in [
            (&config_path, FileKind::Config),
            (&credentials_path, FileKind::Credentials),
        ] {
            if let Ok(text) = std::fs::read_to_string(path) {
                profiles.add(&text, kind);
            }
        }
        profiles
    }

    /// Parses one file's text into the profiles (later values win).
    pub fn add(&mut self, text: &str, kind: FileKind) {
        let mut current: Option<String> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if let Some(header) = trimmed.strip_prefix('[') {
                let name = header.split(']').next().unwrap_or("").trim();
                current = profile_name(name, kind);
                continue;
            }
            // Indented lines continue a nested property (e.g. `s3 =`); not ours.
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let (Some(profile), Some((key, value))) = (&current, trimmed.split_once('=')) else {
                continue;
            };
            self.profiles
                .entry(profile.clone())
                .or_default()
                .insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }

    /// A profile by name.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// A key of a profile.
    pub fn value(&self, profile: &str, key: &str) -> Option<&str> {
        self.get(profile)
            .and_then(|p| p.get(key))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The names of the profiles that switch role, for hints.
    pub fn names_with_role(&self) -> impl Iterator<Item = &str> {
        self.profiles
            .keys()
            .map(String::as_str)
            .filter(|name| self.role_arn(name).is_some())
    }

    /// The profile's `role_arn`, if it switches role.
    pub fn role_arn(&self, profile: &str) -> Option<&str> {
        self.value(profile, "role_arn")
    }
}

/// The profile a section header names, if it names one.
fn profile_name(header: &str, kind: FileKind) -> Option<String> {
    match kind {
        FileKind::Credentials => Some(header.to_string()),
        FileKind::Config if header == "default" => Some("default".to_string()),
        FileKind::Config => header
            .strip_prefix("profile")
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map(|rest| rest.trim().to_string()),
    }
}

/// `$VAR` (with `~/` expanded) or `~/.aws/<file>`.
fn path_from_env(var: &str, file: &str) -> PathBuf {
    let home = home_dir();
    match std::env::var(var).ok().filter(|v| !v.is_empty()) {
        Some(v) => match (v.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(v),
        },
        None => home.unwrap_or_default().join(".aws").join(file),
    }
}

/// The user's home directory.
pub fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
}

/// Shows a path with the home directory as `~`, for messages.
pub fn tilde(path: &Path) -> String {
    match home_dir().and_then(|h| path.strip_prefix(h).ok().map(Path::to_path_buf)) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_users_files() {
        let mut p = Profiles::default();
        p.add(
            "# comment\n[default]\nregion = ap-northeast-1\n\n[profile ECRLoginAndPushRoleProfile]\n\
             role_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole\nsource_profile = default\n\
             s3 =\n  max_concurrent_requests = 2\n[sso-session x]\nsso_region = us-east-1\n[notaprofile]\nk = v\n",
            FileKind::Config,
        );
        p.add(
            "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n",
            FileKind::Credentials,
        );
        assert_eq!(
            p.role_arn("ECRLoginAndPushRoleProfile"),
            Some("arn:aws:iam::123456789012:role/ECRLoginAndPushRole")
        );
        assert_eq!(
            p.value("ECRLoginAndPushRoleProfile", "source_profile"),
            Some("default")
        );
        assert_eq!(p.value("default", "region"), Some("ap-northeast-1"));
        assert_eq!(p.value("default", "aws_access_key_id"), Some("AKIA"));
        assert_eq!(p.get("max_concurrent_requests"), None);
        assert_eq!(
            p.value("ECRLoginAndPushRoleProfile", "max_concurrent_requests"),
            None
        );
        assert_eq!(p.get("x"), None);
        assert_eq!(p.get("notaprofile"), None);
        assert_eq!(p.role_arn("default"), None);
    }

    #[test]
    fn profile_default_spelled_both_ways() {
        let mut p = Profiles::default();
        p.add("[profile default]\nregion = eu-west-1\n", FileKind::Config);
        assert_eq!(p.value("default", "region"), Some("eu-west-1"));
        let mut p = Profiles::default();
        p.add("[profilex]\nregion = eu-west-1\n", FileKind::Config);
        assert_eq!(p.get("x"), None);
    }
}
