//! The AWS shared config and credentials files, read exactly as the AWS SDK reads them.
//!
//! The helper needs a profile's role chain before anything else — it is part of
//! the token cache key — and must not load the SDK for that on a cache hit, so
//! this is a std-only reader. It follows the SDK's parser rule for rule
//! (`aws-runtime`'s `env_config/parse.rs` and `normalize.rs`), and CI runs the SDK
//! teams' own conformance suite against it (`src/sdk_conformance.rs`):
//! comments only after whitespace in values, continuation and sub-property lines,
//! identifier rules for profile and key names, `[profile default]` over `[default]`,
//! lowercase keys, credentials-file values over config-file values.
//!
//! The files are read here once, with `O_NONBLOCK` (a FIFO cannot hang us) and only
//! if regular; the same text is what the SDK parses on a cache miss
//! ([`Profiles::sdk_files`]), so the two can never read different files.
//! Parse errors name the file and line, never the line's text (it may hold a secret).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::home::AwsFiles;

/// One section's properties: lowercase key → value.
pub type Section = BTreeMap<String, String>;

/// Whitespace as the profile-file grammar knows it: space and tab only.
const WHITESPACE: &[char] = &[' ', '\t'];

/// Trimming the grammar's whitespace (space and tab), byte by byte: this runs on every
/// line of the AWS files on every cache hit.
trait TrimWs {
    fn trim_ws(&self) -> &str;
}

impl TrimWs for str {
    fn trim_ws(&self) -> &str {
        let bytes = self.as_bytes();
        let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
        let start = bytes.iter().position(|b| !is_ws(b)).unwrap_or(bytes.len());
        let end = bytes
            .iter()
            .rposition(|b| !is_ws(b))
            .map_or(start, |e| e + 1);
        // Space and tab are ASCII: both ends are character boundaries.
        &self[start..end]
    }
}

/// Which of the two files a text comes from: their section headers differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `~/.aws/config`: `[default]`, `[profile NAME]`, `[sso-session NAME]`, `[services NAME]`.
    Config,
    /// `~/.aws/credentials`: `[NAME]`.
    Credentials,
}

/// Why the AWS files could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot parse {path} at line {line}: {message}; fix that line")]
    Parse {
        path: String,
        line: usize,
        message: &'static str,
    },
    /// The SDK would read a file this large; the helper reads at most 4 MiB. Rather
    /// than see different profiles than the SDK, it refuses.
    #[error(
        "shorten {path} to at most 4 MiB (remove unused profiles): it is larger than the helper reads"
    )]
    TooLarge { path: String },
}

/// The profiles (and SSO sessions, and other sections) of both files, merged.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Profiles {
    profiles: BTreeMap<String, Section>,
    sso_sessions: BTreeMap<String, Section>,
    /// Other config sections, e.g. `services NAME` → its raw properties.
    other: BTreeMap<String, Section>,
    /// The config file that was read (for messages).
    pub config_path: PathBuf,
    /// The texts read, handed to the SDK as they are.
    config_text: String,
    credentials_text: String,
}

impl Profiles {
    /// Reads both files; a missing file counts as empty, like the SDK's default files.
    pub fn load(files: &AwsFiles) -> Result<Profiles, ProfileError> {
        let config_text = read_text(&files.config)?;
        let credentials_text = match files.credentials.as_deref() {
            Some(path) => read_text(path)?,
            None => String::new(),
        };
        let mut profiles = Profiles {
            config_path: files.config.clone(),
            ..Profiles::default()
        };
        profiles.add_file(&config_text, FileKind::Config, &files.config)?;
        if let Some(path) = &files.credentials {
            profiles.add_file(&credentials_text, FileKind::Credentials, path)?;
        }
        profiles.config_text = config_text;
        profiles.credentials_text = credentials_text;
        // The files' secrets never appear in anything this process prints.
        for section in profiles.profiles.values() {
            for key in ["aws_secret_access_key", "aws_session_token"] {
                if let Some(secret) = section.get(key) {
                    crate::text::remember_secret(secret);
                }
            }
        }
        Ok(profiles)
    }

    /// Parses one file's text into the profiles (its values win over earlier files').
    pub fn add_file(
        &mut self,
        text: &str,
        kind: FileKind,
        path: &Path,
    ) -> Result<(), ProfileError> {
        let raw = parse(text).map_err(|(line, message)| ProfileError::Parse {
            path: crate::home::tilde(path),
            line,
            message,
        })?;
        self.merge(raw, kind);
        Ok(())
    }

    /// Parses a text known to be valid (tests, the helper's own sections).
    #[cfg(test)]
    pub fn add(&mut self, text: &str, kind: FileKind) {
        self.add_file(text, kind, Path::new("test"))
            .expect("valid test profile text");
    }

    /// The SDK's normalisation: valid names only, `[profile default]` over `[default]`.
    fn merge(&mut self, raw: Vec<(String, Section)>, kind: FileKind) {
        let sections: Vec<(SectionName, Section)> = raw
            .into_iter()
            .filter_map(|(header, props)| Some((SectionName::parse(&header, kind)?, props)))
            .collect();
        let prefixed_default = sections
            .iter()
            .any(|(name, _)| *name == SectionName::Profile("default".into(), true));
        for (name, props) in sections {
            let target = match name {
                SectionName::Profile(name, prefixed) => {
                    if name == "default" && !prefixed && prefixed_default {
                        continue;
                    }
                    self.profiles.entry(name).or_default()
                }
                SectionName::SsoSession(name) => self.sso_sessions.entry(name).or_default(),
                SectionName::Other(name) => self.other.entry(name).or_default(),
            };
            for (key, value) in props {
                if is_identifier(&key) {
                    target.insert(key, value);
                }
            }
        }
    }

    /// Sets a key of a profile (for profiles the helper's settings define).
    pub fn set(&mut self, profile: &str, key: &str, value: &str) {
        self.profiles
            .entry(profile.to_string())
            .or_default()
            .insert(key.to_ascii_lowercase(), value.to_string());
    }

    /// A profile by name.
    pub fn get(&self, name: &str) -> Option<&Section> {
        self.profiles.get(name)
    }

    /// Whether there are no profiles at all.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// An `[sso-session NAME]` section.
    pub fn sso_session(&self, name: &str) -> Option<&Section> {
        self.sso_sessions.get(name)
    }

    /// Another config section by its full name, e.g. `services my-endpoints`.
    pub fn other_section(&self, name: &str) -> Option<&Section> {
        self.other.get(name)
    }

    /// A key of a profile, as the SDK sees it (an empty value is a value).
    pub fn raw(&self, profile: &str, key: &str) -> Option<&str> {
        self.get(profile)
            .and_then(|p| p.get(&key.to_ascii_lowercase()))
            .map(String::as_str)
    }

    /// A key of a profile, when it has a non-empty value.
    pub fn value(&self, profile: &str, key: &str) -> Option<&str> {
        self.raw(profile, key).filter(|v| !v.is_empty())
    }

    /// The names of the profiles that switch role, for hints.
    pub fn names_with_role(&self) -> impl Iterator<Item = &str> {
        self.profiles
            .keys()
            .map(String::as_str)
            .filter(|name| self.role_arn(name).is_some())
    }

    /// The profile's `role_arn`, if it has one.
    pub fn role_arn(&self, profile: &str) -> Option<&str> {
        self.value(profile, "role_arn")
    }

    /// Every profile, for the conformance tests.
    #[cfg(test)]
    pub fn all(&self) -> &BTreeMap<String, Section> {
        &self.profiles
    }

    /// Every SSO session, for the conformance tests.
    #[cfg(test)]
    pub fn all_sso_sessions(&self) -> &BTreeMap<String, Section> {
        &self.sso_sessions
    }

    /// The same texts this reader parsed, for the SDK (it never opens a path itself).
    pub fn sdk_files(&self) -> aws_runtime::env_config::file::EnvConfigFiles {
        use aws_runtime::env_config::file::{EnvConfigFileKind as ProfileFileKind, EnvConfigFiles};
        EnvConfigFiles::builder()
            .include_default_config_file(false)
            .include_default_credentials_file(false)
            .with_contents(ProfileFileKind::Config, self.config_text.clone())
            .with_contents(ProfileFileKind::Credentials, self.credentials_text.clone())
            .build()
    }
}

/// A section header, normalised: which kind of section and its name.
#[derive(Debug, PartialEq, Eq)]
enum SectionName {
    /// A profile; `true` if written `[profile NAME]`.
    Profile(String, bool),
    /// `[sso-session NAME]`.
    SsoSession(String),
    /// Any other `[PREFIX NAME]` in the config file, as `PREFIX NAME`.
    Other(String),
}

impl SectionName {
    /// The SDK's `SectionPair::parse` + `valid_for`; `None` for a section it ignores.
    fn parse(header: &str, kind: FileKind) -> Option<SectionName> {
        let header = header.trim_ws();
        let (prefix, name) = match header.split_once(WHITESPACE) {
            Some((prefix, name)) => (Some(prefix.trim()), name.trim()),
            None => (None, header.trim()),
        };
        match (kind, prefix) {
            (FileKind::Config, Some(prefix)) => {
                if !is_identifier(name) {
                    return None;
                }
                Some(match prefix {
                    "profile" => SectionName::Profile(name.to_string(), true),
                    "sso-session" => SectionName::SsoSession(name.to_string()),
                    other => SectionName::Other(format!("{other} {name}")),
                })
            }
            (FileKind::Config, None) => {
                (name == "default").then(|| SectionName::Profile(name.to_string(), false))
            }
            (FileKind::Credentials, Some(_)) => None,
            (FileKind::Credentials, None) => {
                is_identifier(name).then(|| SectionName::Profile(name.to_string(), false))
            }
        }
    }
}

/// Profile and key names: `[A-Za-z0-9_\-/.%@:+]+` (the SDK's `validate_identifier`,
/// which also accepts the empty string).
pub fn is_identifier(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

/// What the line-by-line parser is in the middle of.
enum State {
    Starting,
    InSection {
        section: usize,
        property: Option<String>,
        sub_properties: bool,
    },
}

/// The literal parse: raw section headers (identical headers merged) with their
/// properties; or the 1-based line and the SDK's message for the first bad line.
/// Linear in the text's size: a header is found in an index, not by a search over the
/// headers seen (a 4 MiB file of 40,000 profiles parses in milliseconds, as the SDK's).
fn parse(text: &str) -> Result<Vec<(String, Section)>, (usize, &'static str)> {
    let mut sections: Vec<(String, Section)> = Vec::new();
    let mut index_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut state = State::Starting;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim_ws().is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with('[') {
            let header = prepare_line(line, false)
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .ok_or((number, "Profile definition must end with ']'"))?;
            let section = *index_of.entry(header.to_string()).or_insert_with(|| {
                sections.push((header.to_string(), Section::new()));
                sections.len() - 1
            });
            state = State::InSection {
                section,
                property: None,
                sub_properties: false,
            };
        } else if line.starts_with([' ', '\t']) {
            let State::InSection {
                section,
                property,
                sub_properties,
            } = &state
            else {
                return Err((number, "Expected a profile definition"));
            };
            let Some(property) = property else {
                return Err((number, "Expected a property definition, found continuation"));
            };
            if *sub_properties && !line.trim_ws().is_empty() {
                property_line(line).map_err(|e| (number, e.message(true)))?;
            }
            let value = sections[*section]
                .1
                .get_mut(property)
                .expect("the property was inserted with its first line");
            value.push('\n');
            value.push_str(line.trim_ws());
        } else {
            let State::InSection { section, .. } = state else {
                return Err((number, "Expected a profile definition"));
            };
            let (key, value) = property_line(line).map_err(|e| (number, e.message(false)))?;
            let sub_properties = value.is_empty();
            sections[section].1.insert(key.clone(), value.to_string());
            state = State::InSection {
                section,
                property: Some(key),
                sub_properties,
            };
        }
    }
    Ok(sections)
}

/// Why a `key = value` line is not one.
enum PropertyError {
    NoEquals,
    NoName,
}

impl PropertyError {
    /// The SDK's wording, for a property or a sub-property.
    fn message(&self, sub: bool) -> &'static str {
        match (self, sub) {
            (PropertyError::NoEquals, false) => "Expected an '=' sign defining a property",
            (PropertyError::NoEquals, true) => "Expected an '=' sign defining a sub-property",
            (PropertyError::NoName, false) => "Property did not have a name",
            (PropertyError::NoName, true) => "Sub-property did not have a name",
        }
    }
}

/// `key = value` → (lowercase key, value), comments (after whitespace) removed.
fn property_line(line: &str) -> Result<(String, &str), PropertyError> {
    let line = prepare_line(line, true);
    let (key, value) = line.split_once('=').ok_or(PropertyError::NoEquals)?;
    let key = key.trim_ws();
    if key.is_empty() {
        return Err(PropertyError::NoName);
    }
    Ok((key.to_ascii_lowercase(), value.trim_ws()))
}

/// Trims the line and cuts a trailing comment; in values a comment needs whitespace before it.
/// (The SDK's `prepare_line`, searching for the comment characters rather than looking
/// at every character: this runs on every cache hit.)
fn prepare_line(line: &str, comments_need_whitespace: bool) -> &str {
    let line = line.trim_ws();
    let mut from = 0;
    let cut = loop {
        let Some(found) = line.as_bytes()[from..]
            .iter()
            .position(|&b| b == b'#' || b == b';')
        else {
            break line.len();
        };
        let at = from + found;
        if !comments_need_whitespace
            || line[..at]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace)
        {
            break at;
        }
        from = at + 1;
    };
    line[..cut].trim_ws()
}

/// An AWS file's text. As the SDK does, a missing file or one that cannot be read (no
/// permission, a directory, not UTF-8) counts as empty; it is opened without blocking
/// (see [`crate::files::read_optional`]): a FIFO is not read either. One over the 4 MiB
/// read cap is an error (the SDK would read it; see [`ProfileError::TooLarge`]).
fn read_text(path: &Path) -> Result<String, ProfileError> {
    match crate::files::read_optional(path) {
        Ok(text) => Ok(text.unwrap_or_default()),
        Err(e) if crate::files::is_too_large(&e) => Err(ProfileError::TooLarge {
            path: crate::home::tilde(path),
        }),
        Err(e) => {
            crate::log::debug!("{} ignored: {e}", path.display());
            Ok(String::new())
        }
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
             role_arn = arn:aws:iam::123456789012:role/ECRLoginAndPushRole # prod\nsource_profile = default\n\
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
            p.value("ECRLoginAndPushRoleProfile", "s3"),
            Some("\nmax_concurrent_requests = 2")
        );
        assert_eq!(p.value("default", "aws_access_key_id"), Some("AKIA"));
        assert_eq!(p.sso_session("x").unwrap()["sso_region"], "us-east-1");
        assert_eq!(p.get("notaprofile"), None);
        assert!(p.get("ECRLoginAndPushRoleProfile").is_some());
    }

    #[test]
    fn empty_profiles_exist_and_default_spellings_do_not_merge() {
        let mut p = Profiles::default();
        p.add(
            "[profile empty]\n[default]\nregion = a\n[profile default]\nregion = b\n",
            FileKind::Config,
        );
        assert_eq!(p.get("empty"), Some(&Section::new()));
        assert_eq!(p.value("default", "region"), Some("b"));
    }

    #[test]
    fn parse_errors_name_the_line_but_never_quote_it() {
        let err = parse("[default]\naws_secret_access_key wJalrXUtnFEMI\n").unwrap_err();
        assert_eq!(err, (2, "Expected an '=' sign defining a property"));
        let mut p = Profiles::default();
        let err = p
            .add_file(
                "[default]\nSECRETVALUE\n",
                FileKind::Credentials,
                Path::new("/x/c"),
            )
            .unwrap_err();
        assert!(!err.to_string().contains("SECRETVALUE"), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
