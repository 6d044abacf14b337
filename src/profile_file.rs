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

    /// Sets a key of a profile (for profiles the helper's settings define).
    pub fn set(&mut self, profile: &str, key: &str, value: &str) {
        self.profiles
            .entry(profile.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
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

/// Why `~/.aws/config` could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(
        "cannot parse {path} at line {line}: {text:?}; fix that line, or add the profile by hand"
    )]
    Unparsable {
        path: String,
        line: usize,
        text: String,
    },
    #[error(
        "profile {profile} in {path} already has role_arn = {existing}; choose another --profile, or edit it by hand"
    )]
    OtherRole {
        profile: String,
        path: String,
        existing: String,
    },
}

/// The text of an AWS config file with `profile` switching into `role_arn` from
/// `source_profile`. Every other line (comments, other sections, other keys) stays
/// as it is; a profile that already says this is left unchanged; a profile with
/// another `role_arn` is refused rather than overwritten.
pub fn with_role_profile(
    text: &str,
    path: &str,
    profile: &str,
    role_arn: &str,
    source_profile: &str,
) -> Result<String, EditError> {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let ok = t.is_empty()
            || t.starts_with('#')
            || t.starts_with(';')
            || (t.starts_with('[') && t.contains(']'))
            || t.contains('=')
            || line.starts_with([' ', '\t']);
        if !ok {
            return Err(EditError::Unparsable {
                path: path.to_string(),
                line: i + 1,
                text: line.to_string(),
            });
        }
    }
    // The profile's section: from its header to the next header.
    let header_of = |line: &str| {
        let t = line.trim();
        t.strip_prefix('[')
            .and_then(|h| h.split(']').next())
            .and_then(|h| profile_name(h.trim(), FileKind::Config))
    };
    let start = lines
        .iter()
        .position(|l| header_of(l).as_deref() == Some(profile));
    let Some(start) = start else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.trim().is_empty() {
            out.push('\n');
        }
        let header = if profile == "default" {
            "[default]".to_string()
        } else {
            format!("[profile {profile}]")
        };
        out.push_str(&format!(
            "{header}\nrole_arn = {role_arn}\nsource_profile = {source_profile}\n"
        ));
        return Ok(out);
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim().starts_with('['))
        .map_or(lines.len(), |p| start + 1 + p);
    let mut section = Profiles::default();
    section.add(&lines[start..end].join("\n"), FileKind::Config);
    if let Some(existing) = section.role_arn(profile)
        && existing != role_arn
    {
        return Err(EditError::OtherRole {
            profile: profile.to_string(),
            path: path.to_string(),
            existing: existing.to_string(),
        });
    }
    let mut missing = Vec::new();
    if section.role_arn(profile).is_none() {
        missing.push(format!("role_arn = {role_arn}"));
    }
    if section.value(profile, "source_profile").is_none()
        && section.value(profile, "credential_source").is_none()
    {
        missing.push(format!("source_profile = {source_profile}"));
    }
    if missing.is_empty() {
        return Ok(text.to_string());
    }
    // Insert after the section's last non-blank line.
    let insert_at = (start + 1..end)
        .rev()
        .find(|&i| !lines[i].trim().is_empty())
        .map_or(start + 1, |i| i + 1);
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    for (k, line) in missing.into_iter().enumerate() {
        out.insert(insert_at + k, line);
    }
    Ok(out.join("\n") + "\n")
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
    fn adding_a_role_profile_keeps_everything_else() {
        let text = "# my settings\n[default]\nregion = ap-northeast-1 # tokyo\n\n[profile dev]\nregion = us-east-1\n";
        let out = with_role_profile(text, "c", "R", "arn:aws:iam::1:role/R", "default").unwrap();
        assert_eq!(
            out,
            format!(
                "{text}\n[profile R]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = default\n"
            )
        );
        // Idempotent.
        assert_eq!(
            with_role_profile(&out, "c", "R", "arn:aws:iam::1:role/R", "default").unwrap(),
            out
        );
        // A profile with another role is refused.
        let err =
            with_role_profile(&out, "c", "R", "arn:aws:iam::1:role/Other", "default").unwrap_err();
        assert!(
            err.to_string()
                .contains("already has role_arn = arn:aws:iam::1:role/R")
        );
        // An existing profile gets the missing keys at the end of its section.
        let out = with_role_profile(text, "c", "dev", "arn:aws:iam::1:role/R", "default").unwrap();
        assert!(out.contains("[profile dev]\nregion = us-east-1\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = default\n"));
        // Unparsable text is refused.
        let err = with_role_profile("[default]\nwhat is this\n", "c", "R", "a", "b").unwrap_err();
        assert!(err.to_string().contains("line 2"));
        // An empty file.
        assert_eq!(
            with_role_profile("", "c", "R", "a", "default").unwrap(),
            "[profile R]\nrole_arn = a\nsource_profile = default\n"
        );
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
