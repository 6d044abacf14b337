//! Changing files that belong to the user (`~/.aws/config`, docker's
//! `config.json`, the helper's settings) without ever losing them: the change is
//! computed as text first (so `--dry-run` can show it as a diff), then written to
//! a temp file beside the target and renamed over it, after a `.bak` copy of the
//! old content. A symlinked file (dotfile managers) is written through to its
//! target, not replaced by a regular file.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::home::tilde;

/// A planned change of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The file as the user names it.
    pub path: PathBuf,
    /// Its content now (`None`: it does not exist yet).
    pub before: Option<String>,
    /// Its content after the change.
    pub after: String,
    /// The permissions a new file gets.
    pub new_mode: u32,
}

/// What applying a change did.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// Nothing to do: the file already says this.
    Unchanged,
    /// A new file was written.
    Created,
    /// The file was changed; the old content is in the backup.
    Updated { backup: PathBuf },
}

impl Change {
    /// Whether the change changes nothing.
    pub fn is_noop(&self) -> bool {
        self.before.as_deref() == Some(self.after.as_str())
    }

    /// Writes the change atomically, with a backup of the old content.
    pub fn apply(&self) -> std::io::Result<Applied> {
        if self.is_noop() {
            return Ok(Applied::Unchanged);
        }
        let target = fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        let dir = target.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let mode = fs::metadata(&target)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(self.new_mode);
        let backup = if self.before.is_some() {
            let backup = PathBuf::from(format!("{}.bak", target.display()));
            write_atomically(
                &backup,
                self.before.as_deref().unwrap_or("").as_bytes(),
                mode,
            )?;
            Some(backup)
        } else {
            None
        };
        write_atomically(&target, self.after.as_bytes(), mode)?;
        Ok(match backup {
            Some(backup) => Applied::Updated { backup },
            None => Applied::Created,
        })
    }

    /// The change as a unified-style diff with two lines of context.
    pub fn diff(&self) -> String {
        let before: Vec<&str> = self.before.as_deref().unwrap_or("").lines().collect();
        let after: Vec<&str> = self.after.lines().collect();
        let name = tilde(&self.path);
        let mut out = match &self.before {
            Some(_) => format!("--- {name}\n+++ {name} (after)\n"),
            None => format!("--- /dev/null\n+++ {name} (new file)\n"),
        };
        let ops = diff_lines(&before, &after);
        let changed: Vec<bool> = ops.iter().map(|(tag, _)| *tag != ' ').collect();
        let near_change = |i: usize| {
            let lo = i.saturating_sub(2);
            let hi = (i + 2).min(ops.len() - 1);
            changed[lo..=hi].iter().any(|c| *c)
        };
        let mut skipped = false;
        for (i, (tag, line)) in ops.iter().enumerate() {
            if near_change(i) {
                if skipped {
                    out.push_str("@@\n");
                    skipped = false;
                }
                out.push_str(&format!("{tag}{}\n", mask_secret(line)));
            } else {
                skipped = true;
            }
        }
        out
    }
}

/// Keys whose values are secrets, in AWS files (`key = value`) and docker's
/// config.json (`"key": "value"`); a diff shows them as `****`.
const SECRET_KEYS: &[&str] = &[
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "auth",
    "identitytoken",
    "registrytoken",
    "password",
    "secret",
];

/// A diff line with the value of a secret-bearing key masked.
fn mask_secret(line: &str) -> String {
    let trimmed = line.trim_start();
    // INI: `key = value`.
    if let Some((key, _)) = trimmed.split_once('=')
        && SECRET_KEYS.contains(&key.trim().to_ascii_lowercase().as_str())
    {
        let indent = &line[..line.len() - trimmed.len()];
        return format!("{indent}{} = ****", key.trim());
    }
    mask_json_values(line)
}

/// Every `"key": "value"` in a line of JSON (pretty or all on one line) whose key is
/// secret-bearing, with the value replaced by `****`.
fn mask_json_values(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        let after_quote = &rest[start + 1..];
        let Some(key_len) = after_quote.find('"') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = &after_quote[..key_len];
        out.push('"');
        out.push_str(key);
        out.push('"');
        rest = &after_quote[key_len + 1..];
        if SECRET_KEYS.contains(&key.to_ascii_lowercase().as_str())
            && let Some(value) = rest.trim_start().strip_prefix(':').map(str::trim_start)
            && let Some(body) = value.strip_prefix('"')
        {
            // The value runs to the next quote that is not escaped.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in body.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let Some(end) = end else {
                out.push_str(": \"****");
                return out;
            };
            out.push_str(": \"****\"");
            rest = &body[end + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// Writes `content` to `path` through a temp file in the same directory, created
/// with `mode` from the start, and a rename: readers see the old file or the new one.
pub fn write_atomically(path: &Path, content: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // A temp file of ours left by a crash (same pid, long ago) must not block the write.
    let _ = std::fs::remove_file(&temp);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(crate::platform::NO_FOLLOW)
            .open(&temp)?;
        file.write_all(content)?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// A line diff (longest common subsequence): `' '` kept, `'-'` removed, `'+'` added.
fn diff_lines<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(char, &'a str)> {
    // The common head and tail are kept as they are; only the middle needs the table
    // (a one-key change to a 30,000-line file must not need gigabytes).
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut out: Vec<(char, &'a str)> = a[..head].iter().map(|l| (' ', *l)).collect();
    out.extend(diff_middle(
        &a[head..a.len() - tail],
        &b[head..b.len() - tail],
    ));
    out.extend(a[a.len() - tail..].iter().map(|l| (' ', *l)));
    out
}

/// The longest-common-subsequence diff of what differs.
fn diff_middle<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(char, &'a str)> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(('-', a[i]));
            i += 1;
        } else {
            out.push(('+', b[j]));
            j += 1;
        }
    }
    out
}

/// The largest user file read (AWS files, docker's config, the settings).
const MAX_READ_BYTES: u64 = 4 * 1024 * 1024;

/// Whether [`read_optional`] refused a file for its size (over the 4 MiB read cap).
pub fn is_too_large(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::FileTooLarge
}

/// Reads a file that may not exist yet (`None`). It is opened without blocking and
/// read only if it is a regular file of at most 4 MiB: a FIFO or a device planted at
/// the path is an error, never a wait.
pub fn read_optional(path: &Path) -> std::io::Result<Option<String>> {
    use std::io::{Error, ErrorKind, Read};
    let mut file = match OpenOptions::new()
        .read(true)
        .custom_flags(crate::platform::NO_BLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    if meta.len() > MAX_READ_BYTES {
        return Err(Error::new(
            ErrorKind::FileTooLarge,
            format!("larger than {MAX_READ_BYTES} bytes"),
        ));
    }
    // Sized from the metadata: one read for the whole file (this runs on every cache hit).
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
    (&mut file).take(MAX_READ_BYTES).read_to_end(&mut bytes)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Error::new(ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_only_the_change_with_context() {
        let change = Change {
            path: PathBuf::from("/x/config"),
            before: Some("a\nb\nc\nd\ne\nf\ng\n".into()),
            after: "a\nb\nc\nd\nE\nf\ng\nh\n".into(),
            new_mode: 0o600,
        };
        assert_eq!(
            change.diff(),
            "--- /x/config\n+++ /x/config (after)\n@@\n c\n d\n-e\n+E\n f\n g\n+h\n"
        );
    }

    #[test]
    fn diffs_never_show_secret_values() {
        let change = Change {
            path: PathBuf::from("/x/config.json"),
            before: Some("{\n  \"auths\": {\n    \"r\": {\n      \"auth\": \"dXNlcjpwYXNz\",\n      \"email\": \"a\"\n    }\n  }\n}\n".into()),
            after: "{\n  \"auths\": {\n    \"r\": {\n      \"auth\": \"dXNlcjpwYXNz\",\n      \"email\": \"b\"\n    }\n  }\n}\n".into(),
            new_mode: 0o600,
        };
        let diff = change.diff();
        assert!(!diff.contains("dXNlcjpwYXNz"), "{diff}");
        assert!(diff.contains("\"auth\": \"****\","), "{diff}");
        assert_eq!(
            mask_secret("aws_secret_access_key=abc"),
            "aws_secret_access_key = ****"
        );
        assert_eq!(mask_secret("region = x"), "region = x");
        assert_eq!(
            mask_secret(r#"{"auths":{"r":{"auth":"dXNl\"cjo=","email":"e"}},"credHelpers":{}}"#),
            r#"{"auths":{"r":{"auth": "****","email":"e"}},"credHelpers":{}}"#
        );
    }

    #[test]
    fn apply_backs_up_keeps_mode_and_follows_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let real = dir.join("real");
        fs::write(&real, "old\n").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        let change = Change {
            path: link.clone(),
            before: Some("old\n".into()),
            after: "new\n".into(),
            new_mode: 0o600,
        };
        let applied = change.apply().unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new\n");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let Applied::Updated { backup } = applied else {
            panic!("{applied:?}")
        };
        assert_eq!(fs::read_to_string(backup).unwrap(), "old\n");

        let noop = Change {
            before: Some("new\n".into()),
            ..change
        };
        assert_eq!(noop.apply().unwrap(), Applied::Unchanged);
    }
}
