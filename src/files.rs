//! Changing files that belong to the user (`~/.aws/config`, docker's
//! `config.json`, the helper's settings) without ever losing them: the change is
//! computed as text first (so `--dry-run` can show it as a diff), then written to
//! a temp file beside the target and renamed over it, after a `.bak` copy of the
//! old content. A symlinked file (dotfile managers) is written through to its
//! target, even one not created yet, and stays a link ([`write_target`]). A real
//! change happens under the file's lock ([`edit_locked`]), on the text found once
//! the lock is held; `--dry-run` shows it masked (`dry_run.rs`). Also the
//! reads the helper makes without blocking ([`read_optional`]) and the one rule for
//! its private files ([`open_private`]).

use std::fs::{self, File, OpenOptions};
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
    /// Whether the change changes nothing (nothing to write to a file that does not
    /// exist is nothing to do either: no empty file is created).
    pub fn is_noop(&self) -> bool {
        match &self.before {
            Some(before) => *before == self.after,
            None => self.after.is_empty(),
        }
    }

    /// Writes the change atomically, with a backup of the old content, to `target`:
    /// the file [`write_target`] finds for the path (through a symlink, never over it).
    fn apply_at(&self, target: &Path) -> std::io::Result<Applied> {
        if self.is_noop() {
            return Ok(Applied::Unchanged);
        }
        let dir = target.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let mode = fs::metadata(target)
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
        write_atomically(target, self.after.as_bytes(), mode)?;
        Ok(match backup {
            Some(backup) => Applied::Updated { backup },
            None => Applied::Created,
        })
    }
}

/// Why a user file could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error(
        "create the directory {dir} first (or point the link at a file in a directory that exists): {link} is a symlink to {target}; nothing was changed"
    )]
    LinkTargetDir {
        link: String,
        target: String,
        dir: String,
    },
    #[error(
        "fix the symlink {link}: it is a loop (or a chain of more than {MAX_LINKS} links) that never reaches a file; nothing was changed"
    )]
    LinkLoop { link: String },
    #[error(
        "try again once the other setup or registries --remove is done: {path} stayed locked for {seconds} s (lock {lock})"
    )]
    Busy {
        path: String,
        lock: String,
        seconds: u64,
    },
}

/// How long a change waits for another process's lock on the same file.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Changes a user file under an exclusive lock: the lock is taken, the file read
/// again, `edit` computes the new text from what is there now (so it re-checks
/// everything it checked before), and the change is written atomically, with a
/// `.bak`, to the file [`write_target`] finds (a symlink is written through, and
/// stays). Two of our processes changing the same file (`setup` for two registries
/// at once, `registries --remove` beside a `setup`) therefore take turns, and
/// neither loses the other's change: without the lock, both read the same old text
/// and the last rename wins.
///
/// The one place `setup` and `registries` change a file, so no write path can skip
/// the lock. docker itself takes no lock when it saves `config.json` (`docker login`,
/// `docker context use`): a docker write that lands between our read and our rename
/// is lost (or ours is, in the other order). That window is one read, an in-memory
/// edit and two small writes; only docker taking the same lock could close it.
pub fn edit_locked<E: From<FileError>>(
    path: &Path,
    new_mode: u32,
    edit: impl FnOnce(Option<&str>) -> Result<String, E>,
) -> Result<Applied, E> {
    let name = tilde(path);
    let (_lock, target) = lock_beside(path)?;
    let before = read_optional(&target).map_err(|source| FileError::Io {
        action: "read",
        path: name.clone(),
        source,
    })?;
    let after = edit(before.as_deref())?;
    let change = Change {
        path: path.to_path_buf(),
        before,
        after,
        new_mode,
    };
    Ok(change.apply_at(&target).map_err(|source| FileError::Io {
        action: "write",
        path: name,
        source,
    })?)
}

/// The most links followed from a user file to the file written (as Linux's `ELOOP`).
const MAX_LINKS: usize = 40;

/// The file a change of `path` writes: `path` itself, or, when it is a symlink (a
/// dotfiles manager's), the file at the end of its links, which may not exist yet (it
/// is then created there, and the link stays a link). A path that exists is returned
/// canonical; one that does not, in its directory's canonical path when it exists.
/// Creates nothing.
///
/// Refused: a link whose final file would be in a directory that does not exist
/// (creating someone's dotfiles tree is not setup's business; the error says what to
/// create), and a loop of links.
pub fn write_target(path: &Path) -> Result<PathBuf, FileError> {
    let io = |source| FileError::Io {
        action: "read",
        path: tilde(path),
        source,
    };
    let mut at = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let to = fs::read_link(&at).map_err(io)?;
                // A relative link is relative to the directory the link is in.
                at = at.parent().unwrap_or(Path::new(".")).join(to);
            }
            Ok(_) => return fs::canonicalize(&at).map_err(io),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = at.parent().unwrap_or(Path::new("."));
                let name = at.file_name().unwrap_or_default();
                return match fs::canonicalize(dir) {
                    Ok(dir) if dir.is_dir() => Ok(dir.join(name)),
                    // The user's own path: its directory is created as it always was.
                    _ if at == path => Ok(at),
                    _ => Err(FileError::LinkTargetDir {
                        link: tilde(path),
                        target: tilde(&lexical(&at)),
                        dir: tilde(&lexical(dir)),
                    }),
                };
            }
            Err(e) => return Err(io(e)),
        }
    }
    Err(FileError::LinkLoop { link: tilde(path) })
}

/// `path` with its `.` and `..` components taken out as text (no link is followed):
/// how a link's target reads in a message, not a path to open.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Reads a user file that a change may be computed from: [`read_optional`] of the
/// file [`write_target`] finds, so a link that cannot be written through is refused
/// before anything is planned, let alone written.
pub fn read_for_edit(path: &Path) -> Result<Option<String>, FileError> {
    let target = write_target(path)?;
    read_optional(&target).map_err(|source| FileError::Io {
        action: "read",
        path: tilde(path),
        source,
    })
}

/// Takes the exclusive lock of a file we are about to change; it is held until the
/// returned handle is dropped; returned with it, the file to read and write
/// ([`write_target`]). The lock is `std`'s `File::lock` (flock) on `NAME.lock`
/// beside the file's real target (a symlinked file is locked where it is written).
///
/// Beside the file rather than in the helper's cache dir: the lock is then a
/// property of the file itself, the same for every process whatever its environment
/// says (`ECR_ROLE_CACHE_DIR`, `XDG_CACHE_HOME`, a disabled cache), and it needs no
/// directory of ours. It is created `0600` (never world-writable, whatever the umask),
/// opened without following a symlink or blocking on a FIFO, and left in place:
/// removing it after use would let a third process lock a new file while a second
/// still holds the old one.
fn lock_beside(path: &Path) -> Result<(File, PathBuf), FileError> {
    let io = |action: &'static str, at: &Path| {
        let at = tilde(at);
        move |source| FileError::Io {
            action,
            path: at,
            source,
        }
    };
    let mut target = write_target(path)?;
    if !target.exists() {
        // A new file: its directory is created (a link's target directory exists
        // already, see `write_target`), and named canonically, as an existing file is.
        let dir = target.parent().unwrap_or(Path::new(".")).to_path_buf();
        fs::create_dir_all(&dir).map_err(io("create the directory of", path))?;
        let dir = fs::canonicalize(&dir).unwrap_or(dir);
        target = dir.join(target.file_name().unwrap_or_default());
    }
    let mut lock_path = target.clone().into_os_string();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(crate::platform::NO_FOLLOW | crate::platform::NO_BLOCK)
        .open(&lock_path)
        .map_err(io("create the lock file", &lock_path))?;
    let meta = file.metadata().map_err(io("read", &lock_path))?;
    if !meta.is_file() {
        return Err(io("lock", &lock_path)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok((file, target)),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(FileError::Busy {
                    path: tilde(path),
                    lock: tilde(&lock_path),
                    seconds: LOCK_WAIT.as_secs(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", &lock_path)(e)),
        }
    }
}

/// How [`open_private`] opens a file.
#[derive(Debug, Clone, Copy)]
pub enum Private {
    /// Read an existing file.
    Read,
    /// Append, creating it 0600 if missing (the debug log).
    Append,
    /// Open for locking, creating it 0600 if missing; its content is never touched.
    Lock,
}

/// The one rule for the helper's private files (cached tokens and role sessions, their
/// locks, the debug log): a regular file, opened without following a symlink or
/// blocking on a FIFO, owned by this user and closed to everyone else ([`is_private`]).
/// Created 0600 where `how` creates. Anything else is refused, never repaired: a file
/// another user made, or someone opened up, is not one to trust or write secrets to.
pub fn open_private(path: &Path, how: Private) -> std::io::Result<File> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::MetadataExt;
    let mut options = OpenOptions::new();
    match how {
        Private::Read => options.read(true),
        Private::Append => options.create(true).append(true),
        Private::Lock => options.create(true).truncate(false).write(true),
    };
    let file = options
        .mode(0o600)
        .custom_flags(crate::platform::NO_FOLLOW | crate::platform::NO_BLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    if !is_private(meta.uid(), meta.mode()) {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            "not this user's alone (owner or mode)",
        ));
    }
    Ok(file)
}

/// Whether a file or directory with this owner and mode is this user's alone: owned
/// by them, with no access for group or others.
pub fn is_private(owner: u32, mode: u32) -> bool {
    owner == crate::platform::uid() && mode & 0o077 == 0
}

/// Writes `content` to `path` through a temp file in the same directory (tempfile's:
/// a fresh name, created exclusively with `mode` from the start, removed if anything
/// fails) and a rename: readers see the old file or the new one. Its name,
/// `.NAME.tmp-XXXXXX`, lets the cache prune what a killed process left behind.
pub fn write_atomically(path: &Path, content: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    temp.write_all(content)?;
    // Whatever the umask took away at creation.
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
    fn write_target_follows_links_to_files_not_yet_created() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir(dir.join("dotfiles")).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink("./dotfiles/../dotfiles/new", &link).unwrap();
        assert_eq!(write_target(&link).unwrap(), dir.join("dotfiles/new"));
        // Not a link, not there: the path itself (its directory is created on write).
        let plain = dir.join("sub/file");
        assert_eq!(write_target(&plain).unwrap(), plain);

        let far = dir.join("far");
        std::os::unix::fs::symlink("nowhere/x/../y", &far).unwrap();
        let err = write_target(&far).unwrap_err();
        assert!(
            matches!(&err, FileError::LinkTargetDir { target, dir: d, .. }
                if target.ends_with("/nowhere/y") && d.ends_with("/nowhere")),
            "{err}"
        );

        let (a, b) = (dir.join("a"), dir.join("b"));
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        assert!(matches!(write_target(&a), Err(FileError::LinkLoop { .. })));
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
        let applied = change.apply_at(&write_target(&link).unwrap()).unwrap();
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
        assert_eq!(noop.apply_at(&real).unwrap(), Applied::Unchanged);
    }
}
