//! Adding a role profile to the user's `~/.aws/config` for `setup`: the change is
//! computed as text, line by line, so every comment, key and section the helper does
//! not own stays exactly as it was (the write itself is [`crate::files`]' job).

use crate::profiles::{FileKind, Profiles};

/// Why `~/.aws/config` could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file does not parse as the AWS SDK reads it (the line is not quoted: it may hold a secret).
    #[error("{0}, or add the profile by hand")]
    Unparsable(crate::profiles::ProfileError),
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
    // Refuse a file the SDK would refuse, rather than guess at its structure.
    Profiles::default()
        .add_file(text, FileKind::Config, std::path::Path::new(path))
        .map_err(EditError::Unparsable)?;
    let lines: Vec<&str> = text.lines().collect();
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
    // The section as the SDK reads it (the whole file parsed above, so this part does too).
    let _ = section.add_file(
        &lines[start..end].join("\n"),
        FileKind::Config,
        std::path::Path::new(path),
    );
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
