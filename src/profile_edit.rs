//! Adding a role profile to the user's `~/.aws/config` for `setup`: the change is
//! computed as text, line by line, so every comment, key and section the helper does
//! not own stays exactly as it was (the write itself is [`crate::files`]' job).
//!
//! Every decision is made on the profile as the AWS SDK reads it, by the one parser
//! that follows the SDK ([`Profiles`]): its sections merged (later keys win), the
//! credentials file's keys over the config file's, only lines with `[` in column 0
//! taken for headers. A profile written as several sections is refused: which of
//! them to change is the user's call, and the SDK would read all of them.

use std::path::Path;

use crate::home::tilde;
use crate::profiles::{FileKind, Profiles};

/// Why `~/.aws/config` could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file does not parse as the AWS SDK reads it (the line is not quoted: it may hold a secret).
    #[error("{0}, or add the profile by hand")]
    Unparsable(crate::profiles::ProfileError),
    #[error(
        "choose another --profile, or edit profile {profile} in {path} by hand: it already has role_arn = {existing}"
    )]
    OtherRole {
        profile: String,
        path: String,
        existing: String,
    },
    #[error(
        "merge the sections of profile {profile} in {path} into one by hand, then run setup again: the AWS SDK reads its {count} sections as one profile (later keys win), so setup changes none of them"
    )]
    Split {
        profile: String,
        path: String,
        count: usize,
    },
    /// A guard: the edited file, read as the SDK reads it, must switch into the role.
    #[error(
        "add role_arn = {role_arn} to profile {profile} in {path} by hand: setup cannot add it so that the AWS SDK reads it"
    )]
    NotRead {
        profile: String,
        path: String,
        role_arn: String,
    },
}

/// The text of an AWS config file with `profile` switching into `role_arn` from
/// `source_profile`. Every other line (comments, other sections, other keys) stays
/// as it is; a profile that already says this (as the SDK reads both files) is left
/// unchanged; a profile with another `role_arn` is refused rather than overwritten, and
/// so is a profile split across sections. `credentials` is the credentials file (its
/// text and path), whose keys the SDK reads over the config file's.
pub fn with_role_profile(
    text: &str,
    path: &Path,
    credentials: Option<(&str, &Path)>,
    profile: &str,
    role_arn: &str,
    source_profile: &str,
) -> Result<String, EditError> {
    let name = tilde(path);
    let read = |config: &str| -> Result<Profiles, EditError> {
        let mut profiles = Profiles::default();
        profiles
            .add_file(config, FileKind::Config, path)
            .map_err(EditError::Unparsable)?;
        if let Some((text, path)) = credentials {
            profiles
                .add_file(text, FileKind::Credentials, path)
                .map_err(EditError::Unparsable)?;
        }
        Ok(profiles)
    };
    // Refuse a file the SDK would refuse, rather than guess at its structure.
    let merged = read(text)?;
    let sections = sections_of(text, path, profile);
    if sections.len() > 1 {
        return Err(EditError::Split {
            profile: profile.to_string(),
            path: name,
            count: sections.len(),
        });
    }
    if let Some(existing) = merged.role_arn(profile)
        && existing != role_arn
    {
        // Name the file the SDK takes it from: the credentials file's keys win.
        let in_credentials = credentials.filter(|(text, path)| {
            let mut own = Profiles::default();
            own.add_file(*text, FileKind::Credentials, path).is_ok()
                && own.raw(profile, "role_arn").is_some()
        });
        return Err(EditError::OtherRole {
            profile: profile.to_string(),
            path: in_credentials.map_or(name, |(_, path)| tilde(path)),
            existing: existing.to_string(),
        });
    }
    let mut missing = Vec::new();
    if merged.role_arn(profile).is_none() {
        missing.push(format!("role_arn = {role_arn}"));
    }
    if merged.value(profile, "source_profile").is_none()
        && merged.value(profile, "credential_source").is_none()
    {
        missing.push(format!("source_profile = {source_profile}"));
    }
    if missing.is_empty() {
        return Ok(text.to_string());
    }
    let out = match sections.first() {
        Some(section) => insert_into(text, section.clone(), &missing),
        None => with_new_section(text, profile, &missing),
    };
    // What setup will report is what the SDK will read.
    let after = read(&out)?;
    let switches = after.role_arn(profile) == Some(role_arn)
        && (after.value(profile, "source_profile").is_some()
            || after.value(profile, "credential_source").is_some());
    if !switches {
        return Err(EditError::NotRead {
            profile: profile.to_string(),
            path: name,
            role_arn: role_arn.to_string(),
        });
    }
    Ok(out)
}

/// A key no user file holds, written under each header to ask the parser which
/// sections make up a profile.
const PROBE: &str = "ecr_role_setup_probe_";

/// The sections (line ranges, header included) that the SDK reads as `profile`, in
/// file order. Headers are found as the parser finds them — a line with `[` in column
/// 0, the only rule needed to cut the file into sections; whether a section belongs
/// to the profile (`[profile x]`, `[default]` unless `[profile default]` exists, names
/// the SDK ignores) is the parser's own answer: a probe key is written under each
/// header, and the probes the merged profile holds name its sections.
fn sections_of(text: &str, path: &Path, profile: &str) -> Vec<std::ops::Range<usize>> {
    let lines: Vec<&str> = text.lines().collect();
    let headers: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with('['))
        .collect();
    let mut probed = String::with_capacity(text.len() + headers.len() * 32);
    for (i, line) in lines.iter().enumerate() {
        probed.push_str(line);
        probed.push('\n');
        if line.starts_with('[') {
            probed.push_str(&format!("{PROBE}{i} = 1\n"));
        }
    }
    let mut profiles = Profiles::default();
    // The text parses (the caller checked), and a property right under a header never
    // changes how the lines after it parse.
    if profiles.add_file(&probed, FileKind::Config, path).is_err() {
        return Vec::new();
    }
    headers
        .iter()
        .enumerate()
        .filter(|(_, line)| profiles.raw(profile, &format!("{PROBE}{line}")).is_some())
        .map(|(n, &start)| start..headers.get(n + 1).copied().unwrap_or(lines.len()))
        .collect()
}

/// The text with `missing` lines added to the section on `lines` (a range of line
/// numbers): after its last line that is neither blank nor a comment, so a comment that
/// introduces the next section stays with it. Bytes are spliced, so line endings stay.
fn insert_into(text: &str, lines: std::ops::Range<usize>, missing: &[String]) -> String {
    let spans: Vec<&str> = text.split_inclusive('\n').collect();
    let after = (lines.start + 1..lines.end)
        .rev()
        .find(|&i| {
            let line = spans[i].trim_end_matches(['\r', '\n']);
            !line.trim().is_empty() && !line.starts_with(['#', ';'])
        })
        .unwrap_or(lines.start);
    let at: usize = spans[..=after].iter().map(|l| l.len()).sum();
    let newline = if spans[after].ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut insert = String::new();
    if !spans[after].ends_with('\n') {
        insert.push_str(newline);
    }
    for line in missing {
        insert.push_str(line);
        insert.push_str(newline);
    }
    format!("{}{insert}{}", &text[..at], &text[at..])
}

/// The text with a new section for `profile` at its end.
fn with_new_section(text: &str, profile: &str, lines: &[String]) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.trim().is_empty() {
        out.push('\n');
    }
    if profile == "default" {
        out.push_str("[default]\n");
    } else {
        out.push_str(&format!("[profile {profile}]\n"));
    }
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str, profile: &str, role_arn: &str) -> Result<String, EditError> {
        with_role_profile(text, Path::new("c"), None, profile, role_arn, "default")
    }

    #[test]
    fn adding_a_role_profile_keeps_everything_else() {
        let text = "# my settings\n[default]\nregion = ap-northeast-1 # tokyo\n\n[profile dev]\nregion = us-east-1\n";
        let out = edit(text, "R", "arn:aws:iam::1:role/R").unwrap();
        assert_eq!(
            out,
            format!(
                "{text}\n[profile R]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = default\n"
            )
        );
        // Idempotent.
        assert_eq!(edit(&out, "R", "arn:aws:iam::1:role/R").unwrap(), out);
        // A profile with another role is refused.
        let err = edit(&out, "R", "arn:aws:iam::1:role/Other").unwrap_err();
        assert!(
            err.to_string()
                .contains("already has role_arn = arn:aws:iam::1:role/R")
        );
        // An existing profile gets the missing keys at the end of its section.
        let out = edit(text, "dev", "arn:aws:iam::1:role/R").unwrap();
        assert!(out.contains("[profile dev]\nregion = us-east-1\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = default\n"));
        // Unparsable text is refused.
        let err = edit("[default]\nwhat is this\n", "R", "a").unwrap_err();
        assert!(err.to_string().contains("line 2"));
        // An empty file.
        assert_eq!(
            edit("", "R", "a").unwrap(),
            "[profile R]\nrole_arn = a\nsource_profile = default\n"
        );
    }

    #[test]
    fn decisions_follow_the_sdks_reading() {
        // Two sections of one profile (the second holding another role) are refused.
        let split = "[profile p]\nrole_arn = A\nsource_profile = default\n[profile q]\n[profile p]\nrole_arn = B\n";
        assert!(matches!(
            edit(split, "p", "A"),
            Err(EditError::Split { count: 2, .. })
        ));
        // [default] does not count beside [profile default]: the SDK ignores it.
        let both = "[default]\nregion = x\n[profile default]\nregion = y\n";
        assert_eq!(
            edit(both, "default", "A").unwrap(),
            "[default]\nregion = x\n[profile default]\nregion = y\nrole_arn = A\nsource_profile = default\n"
        );
        // An indented header continues the value above it: not a section.
        let indented = "[profile dev]\nregion = a\n  [profile p]\n";
        assert_eq!(
            edit(indented, "p", "A").unwrap(),
            format!("{indented}\n[profile p]\nrole_arn = A\nsource_profile = default\n")
        );
        // Keys go before a comment that introduces the next section; CRLF stays CRLF.
        let crlf = "[profile p]\r\nregion = a\r\n\r\n# next\r\n[profile q]\r\n";
        assert_eq!(
            edit(crlf, "p", "A").unwrap(),
            "[profile p]\r\nregion = a\r\nrole_arn = A\r\nsource_profile = default\r\n\r\n# next\r\n[profile q]\r\n"
        );
        // The credentials file's role wins, so it is refused, naming that file.
        let err = with_role_profile(
            "",
            Path::new("/x/config"),
            Some(("[p]\nrole_arn = B\n", Path::new("/x/credentials"))),
            "p",
            "A",
            "default",
        )
        .unwrap_err();
        assert!(err.to_string().contains("/x/credentials"), "{err}");
    }
}
