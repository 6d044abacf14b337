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
//! Every line is checked when a file is added, but a section is parsed only when
//! asked for: a cache hit reads a handful of the profiles, however many there are.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
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
        // Index loops, not iterator adaptors: the release build optimises for size,
        // and a closure per byte costs a call per byte there.
        let bytes = self.as_bytes();
        let (mut start, mut end) = (0, bytes.len());
        while start < end && matches!(bytes[start], b' ' | b'\t') {
            start += 1;
        }
        while end > start && matches!(bytes[end - 1], b' ' | b'\t') {
            end -= 1;
        }
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
///
/// Reading is in two steps, so a cache hit costs about the same with 40,000 profiles
/// as with two. [`Profiles::add_file`] checks every line of a file (a bad line
/// anywhere is refused, as the SDK refuses it) and indexes its section headers (one
/// small record each, no string copied). A section's properties are parsed and
/// merged only when asked for, once.
#[derive(Clone, Default)]
pub struct Profiles {
    /// Every header that names a section the SDK reads, in file order (a `[default]`
    /// that a `[profile default]` hides included: see [`Profiles::counts`]).
    headers: Vec<Header>,
    /// A section key's hash → the first and last header with that hash (the headers
    /// chain on through [`Header::next`]).
    chains: HashMap<u64, (usize, usize), std::hash::BuildHasherDefault<Hashed>>,
    /// Hashes the keys with this process's random SipHash keys: nobody can write a
    /// config whose names all share a chain (each lookup would walk all of them).
    hasher: std::hash::RandomState,
    /// The texts added, in order; the headers point into them.
    texts: Vec<Text>,
    /// Profile keys the helper's settings define, over what the files say.
    overrides: HashMap<String, Section>,
    /// The profiles those keys change, merged with the files.
    overridden: HashMap<String, Section>,
    /// The config file that was read (for messages).
    pub config_path: PathBuf,
}

impl std::fmt::Debug for Profiles {
    // The texts hold secrets: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profiles")
            .field("headers", &self.headers.len())
            .field("config_path", &self.config_path)
            .finish_non_exhaustive()
    }
}

/// What a section header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// A profile: `[profile NAME]` or `[default]` in the config file, `[NAME]` in the
    /// credentials file.
    Profile,
    /// `[sso-session NAME]`.
    SsoSession,
    /// Any other `[PREFIX NAME]` in the config file, e.g. `services`.
    Other,
}

/// Where a piece of a text is, in 32-bit byte offsets: a header record stays small,
/// and 40,000 of them touch few pages.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// A span of a text [`Profiles::add_file`] accepted (under 4 GiB).
    fn of(range: Range<usize>) -> Span {
        Span {
            start: range.start as u32,
            end: range.end as u32,
        }
    }

    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One section header, where it was written: byte spans in its text.
#[derive(Debug, Clone)]
struct Header {
    kind: Kind,
    /// `[default]` in a config file: hidden if the file also has `[profile default]`.
    plain_default: bool,
    /// Which of the texts added.
    text: u32,
    /// `PREFIX` of an [`Kind::Other`] section; empty for the others.
    prefix: Span,
    name: Span,
    /// The text between the brackets, as written: identical ones share a section.
    raw: Span,
    /// The lines up to the next header.
    body: Span,
    /// The next header whose key has the same hash.
    next: Option<u32>,
    /// The merged section, kept on the first header of its key that counts, once asked for.
    merged: OnceCell<Section>,
}

/// A section's key: its kind, prefix and name.
type Key<'a> = (Kind, &'a str, &'a str);

/// A key's hash: keys that share one share a chain and are told apart by comparing them.
fn key_hash(hasher: &std::hash::RandomState, key: Key<'_>) -> u64 {
    use std::hash::BuildHasher;
    hasher.hash_one(key)
}

/// The chains' map's hasher: its keys are [`key_hash`]es already, random-keyed SipHash,
/// so hashing them again would only cost time.
#[derive(Default)]
struct Hashed(u64);

impl std::hash::Hasher for Hashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One file's text as added, and whether it has a `[profile default]`.
#[derive(Debug, Clone)]
struct Text {
    kind: FileKind,
    text: String,
    prefixed_default: bool,
}

impl Profiles {
    /// Reads both files; a missing file counts as empty, like the SDK's default files.
    pub fn load(files: &AwsFiles) -> Result<Profiles, ProfileError> {
        let config_text = read_text(&files.config)?;
        let credentials = match files.credentials.as_deref() {
            Some(path) => Some((read_text(path)?, path)),
            None => None,
        };
        let mut profiles = Profiles {
            config_path: files.config.clone(),
            ..Profiles::default()
        };
        profiles.add_file(config_text, FileKind::Config, &files.config)?;
        if let Some((text, path)) = credentials {
            profiles.add_file(text, FileKind::Credentials, path)?;
        }
        Ok(profiles)
    }

    /// Checks one file's text and indexes its sections (its values win over earlier
    /// files'). Linear in the text's size: a header is found through a hash, never by
    /// a search over the headers seen.
    pub fn add_file(
        &mut self,
        text: impl Into<String>,
        kind: FileKind,
        path: &Path,
    ) -> Result<(), ProfileError> {
        let text = text.into();
        if u32::try_from(text.len()).is_err() || u32::try_from(self.texts.len()).is_err() {
            return Err(ProfileError::TooLarge {
                path: crate::home::tilde(path),
            });
        }
        let at = self.texts.len() as u32;
        let first_new = self.headers.len();
        let mut prefixed_default = false;
        // The header whose body the lines now belong to.
        let mut open: Option<usize> = None;
        let (headers, chains, hasher) = (&mut self.headers, &mut self.chains, &self.hasher);
        let checked = scan(&text, false, |span, line| {
            let Line::Header(raw) = line else { return };
            // The previous section's body ends where this header's line starts.
            if let Some(previous) = open.take() {
                headers[previous].body.end = span.start as u32;
            }
            let Some((section, prefix, name, prefixed)) = section_of(raw, kind) else {
                return;
            };
            let plain_default = section == Kind::Profile && name == "default" && !prefixed;
            prefixed_default |= section == Kind::Profile && name == "default" && prefixed;
            let hash = key_hash(hasher, (section, prefix, name));
            let index = headers.len();
            open = Some(index);
            match chains.get_mut(&hash) {
                Some((_, last)) => {
                    headers[*last].next = Some(index as u32);
                    *last = index;
                }
                None => {
                    chains.insert(hash, (index, index));
                }
            }
            headers.push(Header {
                kind: section,
                plain_default,
                text: at,
                prefix: Span::of(offset_in(&text, prefix)),
                name: Span::of(offset_in(&text, name)),
                raw: Span::of(offset_in(&text, raw)),
                body: Span::of(span.end..text.len()),
                next: None,
                merged: OnceCell::new(),
            });
        });
        if let Err((line, message)) = checked {
            // Forget this file's headers, and link the others again.
            self.headers.truncate(first_new);
            self.relink();
            return Err(ProfileError::Parse {
                path: crate::home::tilde(path),
                line,
                message,
            });
        }
        self.texts.push(Text {
            kind,
            text,
            prefixed_default,
        });
        // Sections merged before this file was added are merged again when asked for.
        for header in &mut self.headers {
            header.merged.take();
        }
        self.merge_overrides();
        Ok(())
    }

    /// Parses a text known to be valid (tests, the helper's own sections).
    #[cfg(test)]
    pub fn add(&mut self, text: &str, kind: FileKind) {
        self.add_file(text, kind, Path::new("test"))
            .expect("valid test profile text");
    }

    /// Sets a key of a profile (for profiles the helper's settings define).
    pub fn set(&mut self, profile: &str, key: &str, value: &str) {
        self.overrides
            .entry(profile.to_string())
            .or_default()
            .insert(key.to_ascii_lowercase(), value.to_string());
        self.merge_overrides();
    }

    /// The profiles the settings change: the files' keys, then the settings'.
    fn merge_overrides(&mut self) {
        let merged = self
            .overrides
            .iter()
            .map(|(name, keys)| {
                let mut section = self
                    .in_files((Kind::Profile, "", name))
                    .cloned()
                    .unwrap_or_default();
                section.extend(keys.clone());
                (name.clone(), section)
            })
            .collect();
        self.overridden = merged;
    }

    /// Links every header into its key's chain again (after a file was refused).
    fn relink(&mut self) {
        self.chains.clear();
        for index in 0..self.headers.len() {
            self.headers[index].next = None;
            let hash = key_hash(&self.hasher, self.key_of(&self.headers[index]));
            match self.chains.get_mut(&hash) {
                Some((_, last)) => {
                    let last = std::mem::replace(last, index);
                    self.headers[last].next = Some(index as u32);
                }
                None => {
                    self.chains.insert(hash, (index, index));
                }
            }
        }
    }

    /// Whether a header counts: a `[default]` is hidden by a `[profile default]` in
    /// the same file (the SDK's rule).
    fn counts(&self, header: &Header) -> bool {
        !(header.plain_default && self.texts[header.text as usize].prefixed_default)
    }

    fn key_of(&self, header: &Header) -> Key<'_> {
        let text = &self.texts[header.text as usize].text;
        (
            header.kind,
            &text[header.prefix.range()],
            &text[header.name.range()],
        )
    }

    /// A section as the files have it, parsed the first time it is asked for.
    fn in_files(&self, key: Key<'_>) -> Option<&Section> {
        let (first, _) = self.chains.get(&key_hash(&self.hasher, key))?;
        let mut at = Some(*first);
        while let Some(index) = at {
            let header = &self.headers[index];
            if self.counts(header) && self.key_of(header) == key {
                return Some(header.merged.get_or_init(|| self.merge(index, key)));
            }
            at = header.next.map(|next| next as usize);
        }
        None
    }

    /// The SDK's merge of every section written with `key`, from the header at `first`:
    /// within a file, identical raw headers share one section (in the order each
    /// first appears); later files win; only valid key names count. Secrets met here
    /// are remembered before anything can print them.
    fn merge(&self, first: usize, key: Key<'_>) -> Section {
        let mut raw: Vec<Section> = Vec::new();
        let mut group_of: HashMap<(u32, &str), usize> = HashMap::new();
        let mut at = Some(first);
        while let Some(index) = at {
            let header = &self.headers[index];
            at = header.next.map(|next| next as usize);
            if !self.counts(header) || self.key_of(header) != key {
                continue;
            }
            let text = &self.texts[header.text as usize].text;
            let group = *group_of
                .entry((header.text, &text[header.raw.range()]))
                .or_insert_with(|| {
                    raw.push(Section::new());
                    raw.len() - 1
                });
            parse_body(&text[header.body.range()], &mut raw[group]);
        }
        let mut merged = Section::new();
        for section in raw {
            merged.extend(section.into_iter().filter(|(key, _)| is_identifier(key)));
        }
        for key in ["aws_secret_access_key", "aws_session_token"] {
            if let Some(secret) = merged.get(key) {
                crate::text::remember_secret(secret);
            }
        }
        merged
    }

    /// A profile by name.
    pub fn get(&self, name: &str) -> Option<&Section> {
        self.overridden
            .get(name)
            .or_else(|| self.in_files((Kind::Profile, "", name)))
    }

    /// Whether there are no profiles at all.
    pub fn is_empty(&self) -> bool {
        self.overridden.is_empty() && !self.headers.iter().any(|h| h.kind == Kind::Profile)
    }

    /// An `[sso-session NAME]` section.
    pub fn sso_session(&self, name: &str) -> Option<&Section> {
        self.in_files((Kind::SsoSession, "", name))
    }

    /// Another config section by its full name, e.g. `services my-endpoints`.
    pub fn other_section(&self, name: &str) -> Option<&Section> {
        let (prefix, name) = name.split_once(' ')?;
        self.in_files((Kind::Other, prefix, name))
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

    /// The names of the sections of a kind, sorted, each once.
    fn names(&self, kind: Kind) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .headers
            .iter()
            .filter(|h| h.kind == kind)
            .map(|h| self.key_of(h).2)
            .chain(
                self.overridden
                    .keys()
                    .filter(|_| kind == Kind::Profile)
                    .map(String::as_str),
            )
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The names of the profiles that switch role, sorted, for hints (this parses
    /// every profile: only for messages).
    pub fn names_with_role(&self) -> impl Iterator<Item = &str> {
        self.names(Kind::Profile)
            .into_iter()
            .filter(|name| self.role_arn(name).is_some())
    }

    /// The profile's `role_arn`, if it has one.
    pub fn role_arn(&self, profile: &str) -> Option<&str> {
        self.value(profile, "role_arn")
    }

    /// Every profile, for the conformance tests.
    #[cfg(test)]
    pub fn all(&self) -> BTreeMap<String, Section> {
        let names = self.names(Kind::Profile);
        names
            .into_iter()
            .map(|name| {
                (
                    name.to_string(),
                    self.get(name).cloned().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Every SSO session, for the conformance tests.
    #[cfg(test)]
    pub fn all_sso_sessions(&self) -> BTreeMap<String, Section> {
        let names = self.names(Kind::SsoSession);
        names
            .into_iter()
            .map(|name| {
                let section = self.sso_session(name).cloned().unwrap_or_default();
                (name.to_string(), section)
            })
            .collect()
    }

    /// How many sections have been parsed so far (tests: a lookup parses only its own).
    #[cfg(test)]
    fn parsed(&self) -> usize {
        self.headers
            .iter()
            .filter(|h| h.merged.get().is_some())
            .count()
    }

    /// The same texts this reader checked, for the SDK (it never opens a path itself).
    /// The SDK reads every section, so every section is merged first and the secrets
    /// it keeps are remembered (each key once: a lookup walks its chain).
    pub fn sdk_files(&self) -> aws_runtime::env_config::file::EnvConfigFiles {
        use aws_runtime::env_config::file::{EnvConfigFileKind as ProfileFileKind, EnvConfigFiles};
        let mut merged = std::collections::HashSet::new();
        for header in &self.headers {
            let key = self.key_of(header);
            if merged.insert(key) {
                self.in_files(key);
            }
        }
        let text_of = |kind: FileKind| {
            self.texts
                .iter()
                .find(|text| text.kind == kind)
                .map_or_else(String::new, |text| text.text.clone())
        };
        EnvConfigFiles::builder()
            .include_default_config_file(false)
            .include_default_credentials_file(false)
            .with_contents(ProfileFileKind::Config, text_of(FileKind::Config))
            .with_contents(ProfileFileKind::Credentials, text_of(FileKind::Credentials))
            .build()
    }
}

/// Where a `&str` taken from `outer` starts and ends in it.
fn offset_in(outer: &str, inner: &str) -> Range<usize> {
    let start = inner.as_ptr() as usize - outer.as_ptr() as usize;
    start..start + inner.len()
}

/// A section body's properties (the text between its header and the next), added to
/// `section`; the body was checked with its file.
fn parse_body(body: &str, section: &mut Section) {
    let mut property: Option<String> = None;
    let checked = scan(body, true, |_, line| match line {
        Line::Property(key, value) => {
            let key = key.to_ascii_lowercase();
            section.insert(key.clone(), value.to_string());
            property = Some(key);
        }
        Line::Continuation(more) => {
            if let Some(value) = property.as_ref().and_then(|key| section.get_mut(key)) {
                value.push('\n');
                value.push_str(more);
            }
        }
        Line::Header(_) => {}
    });
    debug_assert!(checked.is_ok(), "a body is checked with its file");
}

/// The SDK's `SectionPair::parse` + `valid_for`: what a header names (its kind, an
/// `Other` section's prefix, the name, and whether a profile is written
/// `[profile NAME]`), as slices of `header`; `None` for a section the SDK ignores.
fn section_of(header: &str, kind: FileKind) -> Option<(Kind, &str, &str, bool)> {
    let header = header.trim_ws();
    let (prefix, name) = match header.split_once(WHITESPACE) {
        Some((prefix, name)) => (Some(prefix.trim()), name.trim()),
        None => (None, header.trim()),
    };
    let none = &header[..0];
    match (kind, prefix) {
        (FileKind::Config, Some(prefix)) => {
            if !is_identifier(name) {
                return None;
            }
            Some(match prefix {
                "profile" => (Kind::Profile, none, name, true),
                "sso-session" => (Kind::SsoSession, none, name, false),
                _ => (Kind::Other, prefix, name, false),
            })
        }
        (FileKind::Config, None) => {
            (name == "default").then_some((Kind::Profile, none, name, false))
        }
        (FileKind::Credentials, Some(_)) => None,
        (FileKind::Credentials, None) => {
            is_identifier(name).then_some((Kind::Profile, none, name, false))
        }
    }
}

/// Profile and key names: `[A-Za-z0-9_\-/.%@:+]+` (the SDK's `validate_identifier`,
/// which also accepts the empty string).
pub fn is_identifier(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_-/.%@:+".contains(&b))
}

/// One meaningful line of an AWS file, as the grammar reads it.
enum Line<'a> {
    /// `[HEADER]`: the text between the brackets.
    Header(&'a str),
    /// `key = value`: the key as written, the value with its comment cut.
    Property(&'a str, &'a str),
    /// An indented line that continues the last property's value, trimmed.
    Continuation(&'a str),
}

/// The SDK's line-by-line parser as a walk: each meaningful line and its bytes go to
/// `visit`; the result is the 1-based number and the SDK's message of the first bad
/// line. `in_section` says whether the text starts inside a section (a body does).
/// Nothing is allocated: checking a file at the 4 MiB read cap (~40,000 profiles)
/// takes tens of milliseconds in the release build.
fn scan<'a>(
    text: &'a str,
    in_section: bool,
    mut visit: impl FnMut(Range<usize>, Line<'a>),
) -> Result<(), (usize, &'static str)> {
    let mut in_section = in_section;
    // Whether a property was seen in this section, and whether its value was empty
    // (then its continuation lines are sub-properties, checked as such).
    let (mut property, mut sub_properties) = (false, false);
    let mut start = 0;
    for (index, piece) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let span = start..start + piece.len();
        start = span.end;
        // As `str::lines`: "\n" or "\r\n" ends a line.
        let line = piece
            .strip_suffix('\n')
            .map_or(piece, |l| l.strip_suffix('\r').unwrap_or(l));
        // Bytes, not chars: this runs on every line of the files on every cache hit.
        let first = line.as_bytes().first().copied();
        if matches!(first, Some(b'#' | b';')) || line.trim_ws().is_empty() {
            continue;
        }
        if first == Some(b'[') {
            let header = header_line(line)
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .ok_or((number, "Profile definition must end with ']'"))?;
            (in_section, property, sub_properties) = (true, false, false);
            visit(span, Line::Header(header));
        } else if matches!(first, Some(b' ' | b'\t')) {
            if !in_section {
                return Err((number, "Expected a profile definition"));
            }
            if !property {
                return Err((number, "Expected a property definition, found continuation"));
            }
            if sub_properties {
                property_line(line).map_err(|e| (number, e.message(true)))?;
            }
            visit(span, Line::Continuation(line.trim_ws()));
        } else {
            if !in_section {
                return Err((number, "Expected a profile definition"));
            }
            let (key, value) = property_line(line).map_err(|e| (number, e.message(false)))?;
            (property, sub_properties) = (true, value.is_empty());
            visit(span, Line::Property(key, value));
        }
    }
    Ok(())
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

/// `key = value` → (key as written, value), comments (after whitespace) removed:
/// the SDK's `prepare_line(line, true)` and a split at the first `=`, in one pass over the bytes
/// (this runs on every property line of the files on every cache hit).
fn property_line(line: &str) -> Result<(&str, &str), PropertyError> {
    let line = line.trim_ws();
    let bytes = line.as_bytes();
    let (mut equals, mut cut) = (None, bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if equals.is_none() => equals = Some(i),
            b'#' | b';' if i > 0 && follows_whitespace(line, i) => {
                cut = i;
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let equals = equals.ok_or(PropertyError::NoEquals)?;
    let key = line[..equals].trim_ws();
    if key.is_empty() {
        return Err(PropertyError::NoName);
    }
    Ok((key, line[equals + 1..cut].trim_ws()))
}

/// Whether the character before byte `at` is whitespace (Unicode's, as the SDK asks).
fn follows_whitespace(line: &str, at: usize) -> bool {
    match line.as_bytes()[at - 1] {
        b if b.is_ascii() => (b as char).is_whitespace(),
        _ => line[..at]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace),
    }
}

/// A header line trimmed, with a trailing comment cut (in a header, `#` and `;` start
/// a comment anywhere): the SDK's `prepare_line(line, false)`.
fn header_line(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut cut = 0;
    while cut < bytes.len() && !matches!(bytes[cut], b'#' | b';') {
        cut += 1;
    }
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
    fn a_lookup_parses_only_the_sections_it_reads_but_every_line_is_checked() {
        let mut config = String::from("[profile wanted]\nregion = a\n");
        for n in 0..1000 {
            config.push_str(&format!("[profile p{n}]\nrole_arn = r{n}\n"));
        }
        let mut p = Profiles::default();
        p.add(&config, FileKind::Config);
        assert_eq!(p.value("wanted", "region"), Some("a"));
        assert_eq!(p.parsed(), 1);
        assert_eq!(p.value("p999", "role_arn"), Some("r999"));
        assert_eq!(p.parsed(), 2);
        // A bad line far from the profile asked for still refuses the file.
        config.push_str("[profile last]\nno equals sign here\n");
        let err = Profiles::default()
            .add_file(config, FileKind::Config, Path::new("/x/c"))
            .unwrap_err();
        assert!(err.to_string().contains("line 2004"), "{err}");
    }

    #[test]
    fn an_ignored_section_keeps_its_own_lines() {
        let mut p = Profiles::default();
        p.add(
            "[profile a]\nx = 1\n[profile not*valid]\ny = 2\n[credentials-only]\nz = 3\n[profile a]\nw = 4\n",
            FileKind::Config,
        );
        let a = p.get("a").unwrap();
        assert_eq!(a.keys().collect::<Vec<_>>(), ["w", "x"]);
    }

    #[test]
    fn settings_override_the_files_even_after_a_lookup() {
        let mut p = Profiles::default();
        p.add(
            "[profile x]\nrole_arn = from-file\nregion = r\n",
            FileKind::Config,
        );
        assert_eq!(p.role_arn("x"), Some("from-file"));
        p.set("x", "role_arn", "from-settings");
        p.set("new", "source_profile", "x");
        assert_eq!(p.role_arn("x"), Some("from-settings"));
        assert_eq!(p.value("x", "region"), Some("r"));
        assert_eq!(p.value("new", "source_profile"), Some("x"));
    }

    #[test]
    fn parse_errors_name_the_line_but_never_quote_it() {
        let err = scan(
            "[default]\naws_secret_access_key wJalrXUtnFEMI\n",
            false,
            |_, _| {},
        )
        .unwrap_err();
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
