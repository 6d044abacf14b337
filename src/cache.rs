//! The on-disk token cache: the fast path of every `docker push`.
//!
//! One JSON file per (registry, profile, role, identity), named by a hash of that key so a
//! host string can never steer a path, in a 0700 directory, each file 0600 and
//! written atomically (temp file + rename). A per-key lock file serialises
//! fetches, so a burst of `get`s makes one AWS round trip and the rest read its
//! result. A file that is not ours (wrong owner, readable by others, a symlink,
//! not JSON, another key) is ignored and replaced, never trusted, never fatal.
//!
//! Freshness rule: a token is served from the cache until three quarters of its
//! lifetime have passed (9 of ECR's 12 hours); then `get` fetches a new one. A
//! push that starts with a cached token so has at least a quarter of the
//! lifetime (3 hours) before the registry rejects it. If that refresh fails,
//! a token with at least a minute left is still used, with a warning.
//!
//! Pure std + serde: nothing here touches the network or the SDK.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::clock::now_secs;

use serde::{Deserialize, Serialize};

use crate::registry::Registry;
use crate::secret::Secret;

/// A token within this many seconds of its expiry is not handed out even as a fallback.
pub const MIN_REMAINING_SECS: u64 = 60;
/// The largest cache file we write or read; anything larger is not ours. As large as
/// the largest answer an AWS endpoint may give (`aws::cap::MAX_RESPONSE_BYTES`,
/// 1 MiB): every token ECR can hand out is cached (real ones are a few KB), so none is
/// fetched again on every `get`.
const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The cache format; entries of another version are ignored.
const FORMAT: u32 = 1;

/// What went wrong writing the cache. Never fatal: `get` still returns credentials.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(
        "cache directory {0} is not usable (a symlink, not a directory, not owned by you, or open to others: make it yours and mode 0700)"
    )]
    UntrustedDir(String),
    #[error("the cache is off")]
    Off,
    #[error("the token is {0} bytes, larger than a cache file may be ({MAX_FILE_BYTES})")]
    TooLarge(usize),
    #[error("cannot write the token cache in {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
}

/// What a cached token is keyed on: the registry's token scope, the profile, the role,
/// and the identity's fingerprint (who the chain starts as, which endpoints it uses;
/// see `identity::Identity::fingerprint`), so a token is only served to the identity that fetched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of a registry's token scope (see [`Registry::token_scope`]) fetched through
    /// a profile, its role, and an identity fingerprint.
    pub fn new(scope: &str, profile: &str, role_arn: Option<&str>, fingerprint: u64) -> CacheKey {
        CacheKey(format!(
            "{scope}|profile={profile}|role={}|identity={fingerprint:016x}",
            role_arn.unwrap_or("")
        ))
    }

    fn stem(&self) -> String {
        format!("{:016x}", crate::fnv::fnv1a64(self.0.as_bytes()))
    }
}

/// One cached ECR token.
#[derive(Debug, Serialize, Deserialize)]
pub struct CachedToken {
    format: u32,
    key: String,
    /// The registry's token scope (see [`Registry::token_scope`]), for `erase`.
    pub scope: String,
    /// The registry host the token was fetched for, for `list`.
    pub host: String,
    /// ECR's username (always `AWS`).
    pub username: String,
    /// ECR's password.
    pub password: Secret<String>,
    /// When it was fetched (Unix seconds).
    pub fetched_at: u64,
    /// When ECR said it expires (Unix seconds).
    pub expires_at: u64,
}

/// Temporary role credentials, kept on disk only for roles that need an MFA code,
/// so the code is asked for once per role session (like the AWS CLI's own cache).
/// Keyed by the role ARN, the session settings and the MFA device.
#[derive(Debug, Serialize, Deserialize)]
pub struct CachedRole {
    format: u32,
    key: String,
    /// The role session's access key id.
    pub access_key_id: String,
    /// Its secret key.
    pub secret_access_key: Secret<String>,
    /// Its session token.
    pub session_token: Secret<String>,
    /// When the session ends (Unix seconds).
    pub expires_at: u64,
}

/// Role credentials with less than this left are not used.
pub const MIN_ROLE_SECS: u64 = 300;
/// No role session lasts longer than this (STS's maximum is 12 hours): a kept one
/// that claims to is not ours.
const MAX_ROLE_SECS: u64 = 12 * 3600 + 300;

impl CachedRole {
    /// Role credentials to keep under `key`.
    pub fn new(
        key: String,
        access_key_id: String,
        secret_access_key: Secret<String>,
        session_token: Secret<String>,
        expires_at: u64,
    ) -> CachedRole {
        CachedRole {
            format: FORMAT,
            key,
            access_key_id,
            secret_access_key,
            session_token,
            expires_at,
        }
    }
}

/// How usable a cached token is at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Serve it.
    Fresh,
    /// Refresh it, but fall back to it if the refresh fails.
    Usable,
    /// Don't use it.
    Expired,
}

/// When a token fetched at `fetched_at` and expiring at `expires_at` is replaced:
/// after three quarters of its lifetime.
fn refresh_at(fetched_at: u64, expires_at: u64) -> u64 {
    let lifetime = expires_at.saturating_sub(fetched_at);
    expires_at.saturating_sub(lifetime / 4)
}

/// The freshness rule, the one place it is decided: expired within
/// [`MIN_REMAINING_SECS`] of the expiry (or with no lifetime at all), fresh until three
/// quarters of the lifetime, usable (refresh, fall back to it) in between. A token
/// "fetched" in the future by more than 5 minutes is not trusted fresh.
pub fn freshness_of(fetched_at: u64, expires_at: u64, now: u64) -> Freshness {
    if expires_at <= fetched_at || now.saturating_add(MIN_REMAINING_SECS) >= expires_at {
        return Freshness::Expired;
    }
    if now < refresh_at(fetched_at, expires_at) && now >= fetched_at.saturating_sub(300) {
        Freshness::Fresh
    } else {
        Freshness::Usable
    }
}

impl CachedToken {
    /// A token to cache under `key`.
    pub fn new(
        key: &CacheKey,
        registry: &Registry,
        username: String,
        password: Secret<String>,
        fetched_at: u64,
        expires_at: u64,
    ) -> CachedToken {
        CachedToken {
            format: FORMAT,
            key: key.0.clone(),
            scope: registry.token_scope(),
            host: registry.host.clone(),
            username,
            password,
            fetched_at,
            expires_at,
        }
    }

    /// When the helper replaces this token: after three quarters of its lifetime.
    pub fn refresh_at(&self) -> u64 {
        refresh_at(self.fetched_at, self.expires_at)
    }

    /// The freshness rule (see the module doc, and [`freshness_of`]).
    pub fn freshness(&self, now: u64) -> Freshness {
        freshness_of(self.fetched_at, self.expires_at, now)
    }
}

/// The cache directory and its operations.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    /// `false` for [`Cache::off`]: nothing is read or written.
    on: bool,
}

/// An exclusive hold on one key, for the process that fetches its token.
/// Released when dropped (the lock goes with the file handle).
#[derive(Debug)]
pub struct KeyLock {
    _file: File,
    path: PathBuf,
}

impl KeyLock {
    /// Lets go of the key and removes its lock file (a fetch that failed keeps nothing
    /// for the key). Only the file this lock holds is removed: while it is held, no
    /// other file can take its place at the path. A process that locks the removed
    /// file afterwards sees that it is gone and takes the path's new one
    /// ([`Cache::lock`]); waiters let go fetch on their own, as after any failed fetch.
    pub fn remove(self) {
        if is_at(&self._file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether `file` is still the file at `path` (not removed, nor replaced).
fn is_at(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(held), Ok(there)) => held.dev() == there.dev() && held.ino() == there.ino(),
        _ => false,
    }
}

/// What [`Cache::lock`] got.
#[derive(Debug)]
pub enum Lock {
    /// This process holds the key: it fetches, the others wait.
    Held(KeyLock),
    /// Another process held the key and has let go (it fetched, or gave up):
    /// look in the cache again. Every waiter is let go at once.
    WaitedForAnother,
    /// No lock could be had (unusable directory, a holder stuck past the wait).
    Unavailable,
}

impl Cache {
    /// A cache in `dir`; nothing is touched until it is used.
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir, on: true }
    }

    /// A cache that holds nothing (turned off, or no place for it): every lookup
    /// misses and every store is a no-op, so callers never ask whether there is one.
    pub fn off() -> Cache {
        Cache {
            dir: PathBuf::new(),
            on: false,
        }
    }

    /// The directory, when the cache is on (for `doctor`).
    pub fn dir(&self) -> Option<&Path> {
        self.on.then_some(self.dir.as_path())
    }

    fn token_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(file_name("token", &key.0))
    }

    /// Turns an I/O error into the cache's error, naming the directory.
    fn io_error(&self) -> impl Fn(std::io::Error) -> CacheError + '_ {
        |source| CacheError::Io {
            dir: self.dir.display().to_string(),
            source,
        }
    }

    /// The cached token for `key`, if there is a trustworthy one (of any freshness):
    /// in a directory that is ours and not a symlink, in a file that is ours and private.
    pub fn lookup(&self, key: &CacheKey) -> Option<CachedToken> {
        if !self.dir_is_ours() {
            return None;
        }
        read_entry::<CachedToken>(&self.token_path(key))
            .filter(|t| t.format == FORMAT && t.key == key.0)
    }

    /// Whether tokens can be kept: the directory is ours and private, or missing (the
    /// first write creates it so). A directory that is not is refused, never altered.
    pub fn can_keep(&self) -> bool {
        self.on && (self.dir_is_ours() || fs::symlink_metadata(&self.dir).is_err())
    }

    /// Whether the directory is a real directory (not a symlink), owned by us and private.
    fn dir_is_ours(&self) -> bool {
        self.on
            && fs::symlink_metadata(&self.dir)
                .is_ok_and(|m| m.is_dir() && is_private(m.uid(), m.mode()))
    }

    /// Takes the key's lock to fetch, or waits (up to `wait`) for the process that holds
    /// it. Without a lock (see [`Lock::Unavailable`]) the caller fetches anyway.
    pub fn lock(&self, key: &CacheKey, wait: Duration) -> Lock {
        if self.ensure_dir().is_err() {
            return Lock::Unavailable;
        }
        let path = self.dir.join(format!("lock-{}", key.stem()));
        // A lock on a file a failed fetch has just removed (KeyLock::remove) locks
        // nothing: then the file at the path now is the one to lock.
        let mut attempts = 0;
        let file = loop {
            let Some(file) = open_lock_file(&path) else {
                return Lock::Unavailable;
            };
            match file.try_lock() {
                Ok(()) if is_at(&file, &path) => return Lock::Held(KeyLock { _file: file, path }),
                Ok(()) if attempts < 3 => attempts += 1,
                Ok(()) => return Lock::Unavailable,
                Err(fs::TryLockError::WouldBlock) => break file,
                Err(_) => return Lock::Unavailable,
            }
        };
        // Another process is fetching. Wait for it with a shared lock, which every waiter
        // gets at once when the fetcher lets go (an exclusive one would hand the key to
        // the waiters one by one). Polled until `wait`, so a stuck or stopped holder
        // costs at most that, and no thread is left holding a lock behind.
        let deadline = std::time::Instant::now() + wait;
        loop {
            match file.try_lock_shared() {
                Ok(()) => return Lock::WaitedForAnother,
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(LOCK_POLL);
                }
                Err(_) => return Lock::Unavailable,
            }
        }
    }

    /// Waits (at most `wait`) for this user's turn to prompt on a terminal; the turn
    /// lasts as long as the returned lock. Without a usable cache directory there is
    /// nothing to wait on.
    pub fn prompt_turn(&self, wait: Duration) -> Option<KeyLock> {
        self.ensure_dir().ok()?;
        let path = self.dir.join("lock-mfa-prompt");
        let file = open_lock_file(&path)?;
        let deadline = std::time::Instant::now() + wait;
        let mut said = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Some(KeyLock { _file: file, path }),
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    if !said {
                        crate::log::debug!(
                            "another process is asking for an MFA code: waiting for its turn"
                        );
                        said = true;
                    }
                    std::thread::sleep(LOCK_POLL * 10);
                }
                Err(_) => return None,
            }
        }
    }

    /// Writes a token atomically: a new 0600 temp file in the cache directory, then rename.
    pub fn store(&self, token: &CachedToken) -> Result<(), CacheError> {
        let body = serde_json::to_vec(token).expect("a token always serialises");
        self.write(&file_name("token", &token.key), &body)
    }

    /// The role credentials kept for `key` (see [`CachedRole`]), if trustworthy and valid
    /// for at least [`MIN_ROLE_SECS`] more.
    pub fn lookup_role(&self, key: &str) -> Option<CachedRole> {
        if !self.dir_is_ours() {
            return None;
        }
        let path = self.dir.join(file_name("role", key));
        let now = now_secs();
        let found = read_entry::<CachedRole>(&path).filter(|r| {
            r.format == FORMAT
                && r.key == key
                && r.expires_at > now.saturating_add(MIN_ROLE_SECS)
                && r.expires_at <= now.saturating_add(MAX_ROLE_SECS)
        });
        if found.is_none() && fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            // Expired, or not what it claims: gone, so nothing can trip on it again.
            let _ = fs::remove_file(&path);
        }
        found
    }

    /// Removes the role credentials kept for `key`, if any.
    pub fn remove_role(&self, key: &str) {
        let path = self.dir.join(file_name("role", key));
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            let _ = fs::remove_file(&path);
        }
    }

    /// Keeps role credentials, 0600, until they expire.
    pub fn store_role(&self, role: &CachedRole) -> Result<(), CacheError> {
        let body = serde_json::to_vec(role).expect("credentials always serialise");
        self.write(&file_name("role", &role.key), &body)
    }

    fn write(&self, name: &str, body: &[u8]) -> Result<(), CacheError> {
        if !self.on {
            return Ok(());
        }
        // What could not be read back is not written (it would be refetched every time).
        if body.len() as u64 > MAX_FILE_BYTES {
            return Err(CacheError::TooLarge(body.len()));
        }
        self.ensure_dir()?;
        crate::files::write_atomically(&self.dir.join(name), body, 0o600)
            .map_err(self.io_error())?;
        self.prune();
        Ok(())
    }

    /// Removes what can no longer serve, after each write (so the directory never
    /// grows without bound): temp files a killed process left behind (`.NAME.tmp-XXXXXX`,
    /// older than a minute: no live write takes that long; they may hold a token), and
    /// tokens and kept role sessions written more than [`MAX_ROLE_SECS`] ago (12 h:
    /// none is valid that long). Lock files hold nothing and are not pruned: one in use
    /// must not be replaced under its holder (a failed fetch removes its own, see
    /// [`KeyLock::remove`]).
    fn prune(&self) {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        let stale_temp = now - Duration::from_secs(60);
        let expired = now - Duration::from_secs(MAX_ROLE_SECS + 60);
        for entry in dir.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let cutoff = if name.starts_with('.') && name.contains(".tmp-") {
                stale_temp
            } else if (name.starts_with("token-") || name.starts_with("role-"))
                && name.ends_with(".json")
            {
                expired
            } else {
                continue;
            };
            if let Ok(meta) = entry.metadata()
                && meta.is_file()
                && meta.modified().is_ok_and(|m| m < cutoff)
            {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Every trustworthy cached token.
    pub fn entries(&self) -> Vec<CachedToken> {
        if !self.dir_is_ours() {
            return Vec::new();
        }
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        dir.filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("token-") && name.ends_with(".json")
            })
            .filter_map(|e| {
                let token = read_entry::<CachedToken>(&e.path()).filter(|t| t.format == FORMAT)?;
                // A file under another key's name is not trusted either.
                (e.file_name().to_string_lossy() == file_name("token", &token.key)).then_some(token)
            })
            .collect()
    }

    /// Removes every cached token of a registry (whatever the profile); returns how many.
    pub fn remove_scope(&self, scope: &str) -> usize {
        let mut removed = 0;
        for token in self.entries().into_iter().filter(|t| t.scope == scope) {
            if fs::remove_file(self.dir.join(file_name("token", &token.key))).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Creates the directory 0700 if needed; an existing one must be a real directory,
    /// ours and private. It is never altered: `ECR_ROLE_CACHE_DIR=/tmp` must not make
    /// `/tmp` private (a loose or foreign directory is refused, and nothing is cached).
    fn ensure_dir(&self) -> Result<(), CacheError> {
        if !self.on {
            return Err(CacheError::Off);
        }
        let untrusted = || CacheError::UntrustedDir(self.dir.display().to_string());
        match fs::symlink_metadata(&self.dir) {
            Ok(meta) => {
                if !meta.is_dir() || !is_private(meta.uid(), meta.mode()) {
                    return Err(untrusted());
                }
                Ok(())
            }
            Err(_) => fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(self.io_error()),
        }
    }
}

/// How often a waiting `get` looks whether the fetching process has let go.
const LOCK_POLL: Duration = Duration::from_millis(5);

/// A lock file: one of our private files ([`open_private`]), created if missing.
fn open_lock_file(path: &Path) -> Option<File> {
    open_private(path, Private::Lock).ok()
}

/// A cache file's name: what it holds, and a hash of its full key (which the file
/// repeats inside, so a collision is only a miss). No key can steer the path.
fn file_name(kind: &str, key: &str) -> String {
    format!("{kind}-{:016x}.json", crate::fnv::fnv1a64(key.as_bytes()))
}

/// Reads a cache file only if it is one of our private files ([`open_private`]) and
/// small; then parses it. Anything else is `None`.
fn read_entry<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let mut file = open_private(path, Private::Read).ok()?;
    let size = file.metadata().ok()?.len();
    if size > MAX_FILE_BYTES {
        return None;
    }
    let mut text = String::with_capacity(usize::try_from(size).unwrap_or(0) + 1);
    (&mut file)
        .take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}

use crate::files::{Private, is_private, open_private};

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn key(profile: &str) -> (Registry, CacheKey) {
        let registry =
            Registry::parse("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com").unwrap();
        let key = CacheKey::new(
            &registry.token_scope(),
            profile,
            Some("arn:aws:iam::123456789012:role/R"),
            0,
        );
        (registry, key)
    }

    fn token(fetched: u64, expires: u64) -> CachedToken {
        let (registry, key) = key("p");
        CachedToken::new(
            &key,
            &registry,
            "AWS".into(),
            Secret::new("pw".into()),
            fetched,
            expires,
        )
    }

    /// A cache directory's path (not created yet) in a temporary directory that goes
    /// away with the returned guard.
    fn temp_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let dir = tmp.path().join(name);
        (tmp, dir)
    }

    #[test]
    fn freshness_rule() {
        let t = token(1000, 1000 + 12 * 3600);
        assert_eq!(t.freshness(1000), Freshness::Fresh);
        assert_eq!(t.freshness(1000 + 9 * 3600 - 1), Freshness::Fresh);
        assert_eq!(t.freshness(1000 + 9 * 3600), Freshness::Usable);
        assert_eq!(t.freshness(1000 + 12 * 3600 - 61), Freshness::Usable);
        assert_eq!(t.freshness(1000 + 12 * 3600 - 60), Freshness::Expired);
        assert_eq!(token(1000, 900).freshness(950), Freshness::Expired);
        // A file from the future (clock moved back a lot) is refreshed, not trusted as fresh.
        assert_eq!(t.freshness(100), Freshness::Usable);
    }

    #[test]
    fn key_names_registry_profile_and_role() {
        let (_, a) = key("p");
        let (_, b) = key("q");
        assert_ne!(a, b);
        assert!(a.0.contains("private:aws:ap-northeast-1:123456789012"));
        assert!(a.0.contains("role=arn:aws:iam::123456789012:role/R"));
        assert_eq!(a.stem().len(), 16);
    }

    #[test]
    fn store_then_lookup_is_private_and_atomic() {
        let (_tmp, dir) = temp_dir("roundtrip");
        let cache = Cache::new(dir.clone());
        let (_, k) = key("p");
        assert!(cache.lookup(&k).is_none());
        cache.store(&token(1, 2)).unwrap();
        let got = cache.lookup(&k).unwrap();
        assert_eq!(got.password.expose(), "pw");
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        let file = cache.token_path(&k);
        assert_eq!(fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temp files left");
        assert_eq!(cache.entries().len(), 1);
        assert_eq!(cache.remove_scope(&got.scope), 1);
        assert!(cache.lookup(&k).is_none());
    }

    #[test]
    fn untrusted_files_are_ignored_and_replaced() {
        let (_tmp, dir) = temp_dir("untrusted");
        let cache = Cache::new(dir.clone());
        let (_, k) = key("p");
        cache.store(&token(1, 2)).unwrap();
        let path = cache.token_path(&k);

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            cache.lookup(&k).is_none(),
            "world-readable file is not trusted"
        );

        fs::write(&path, "{ not json").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(cache.lookup(&k).is_none(), "corrupt file is ignored");
        cache.store(&token(1, 2)).unwrap();
        assert!(cache.lookup(&k).is_some(), "and replaced");

        fs::remove_file(&path).unwrap();
        let elsewhere = dir.join("elsewhere.json");
        cache.store(&token(1, 2)).unwrap();
        fs::rename(&path, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(cache.lookup(&k).is_none(), "a symlink is not followed");
        cache.store(&token(1, 2)).unwrap();
        assert!(
            fs::symlink_metadata(&path).unwrap().is_file(),
            "the symlink is replaced"
        );

        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        assert!(cache.lookup(&k).is_none(), "a directory is ignored");
        assert!(
            cache.store(&token(1, 2)).is_err(),
            "and a store error is reported, not fatal"
        );
    }

    /// Any JSON value, weighted towards the numbers time arithmetic trips on.
    fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            prop_oneof![Just(0u64), Just(u64::MAX), Just(u64::MAX - 1), any::<u64>()]
                .prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| serde_json::json!(f)),
            ".{0,20}".prop_map(serde_json::Value::from),
            Just(serde_json::json!([1, "x"])),
            Just(serde_json::json!({"a": 1})),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(300))]
        #[test]
        fn cache_readers_take_any_json_without_panicking(
            fields in proptest::collection::vec(any_json(), 8),
            right_key in proptest::bool::ANY,
            now in proptest::prop_oneof![proptest::strategy::Just(0u64), proptest::strategy::Just(u64::MAX), proptest::prelude::any::<u64>()],
        ) {
            let (_tmp, dir) = temp_dir(&format!("prop-{}", fields.len()));
            let cache = Cache::new(dir.clone());
            let (_, k) = key("p");
            let names = ["format", "key", "scope", "host", "username", "password", "fetched_at", "expires_at"];
            let mut token = serde_json::Map::new();
            for (name, value) in names.iter().zip(&fields) {
                token.insert(name.to_string(), value.clone());
            }
            if right_key {
                token.insert("format".into(), FORMAT.into());
                token.insert("key".into(), k.0.clone().into());
            }
            let role_key = "mfa-role|k";
            let mut role = token.clone();
            role.insert("key".into(), role_key.into());
            role.insert("access_key_id".into(), fields[3].clone());
            role.insert("secret_access_key".into(), fields[4].clone());
            role.insert("session_token".into(), fields[5].clone());
            fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).unwrap();
            for (path, doc) in [
                (cache.token_path(&k), token),
                (dir.join(file_name("role", role_key)), role),
            ] {
                crate::files::write_atomically(&path, serde_json::Value::Object(doc).to_string().as_bytes(), 0o600).unwrap();
            }
            if let Some(t) = cache.lookup(&k) {
                let _ = t.freshness(now);
                let _ = t.freshness(now_secs());
            }
            let _ = cache.lookup_role(role_key);
            for t in cache.entries() {
                let _ = t.freshness(now);
            }
            let _ = cache.remove_scope("x");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_host_or_profile_steers_the_cache_path(profile in ".{0,80}", id in "[0-9]{12}", region in "[a-z]{2}-[a-z]{1,10}-[0-9]") {
            let host = format!("{id}.dkr.ecr.{region}.amazonaws.com");
            let registry = Registry::parse(&host).unwrap();
            let cache = Cache::new(PathBuf::from("/cache"));
            let path = cache.token_path(&CacheKey::new(&registry.token_scope(), &profile, None, 0));
            let name = path.file_name().unwrap().to_str().unwrap();
            proptest::prop_assert_eq!(path.parent().unwrap(), Path::new("/cache"));
            proptest::prop_assert!(name.len() == "token-.json".len() + 16);
            proptest::prop_assert!(name[6..22].bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn lock_excludes_a_second_holder() {
        let (_tmp, dir) = temp_dir("lock");
        let cache = Cache::new(dir.clone());
        let (_, k) = key("p");
        let held = cache.lock(&k, Duration::from_millis(10));
        assert!(matches!(held, Lock::Held(_)));
        assert!(matches!(
            cache.lock(&k, Duration::from_millis(30)),
            Lock::Unavailable
        ));
        drop(held);
        assert!(matches!(
            cache.lock(&k, Duration::from_millis(10)),
            Lock::Held(_)
        ));
    }

    #[test]
    fn a_removed_lock_file_is_never_the_lock_and_only_its_own_holder_removes() {
        let (_tmp, dir) = temp_dir("removed");
        let cache = Cache::new(dir.clone());
        let (_, k) = key("p");
        let path = dir.join(format!("lock-{}", k.stem()));
        let Lock::Held(first) = cache.lock(&k, Duration::ZERO) else {
            panic!("the lock is free")
        };
        // Another process opened the lock file before the failed fetch removed it.
        let stale = File::open(&path).unwrap();
        first.remove();
        assert!(!path.exists());
        assert!(!is_at(&stale, &path), "a removed file is not the lock");
        let Lock::Held(second) = cache.lock(&k, Duration::ZERO) else {
            panic!("the path's new file is free")
        };
        // A holder of the removed file removes nothing of the new holder's.
        KeyLock {
            _file: stale,
            path: path.clone(),
        }
        .remove();
        assert!(path.exists());
        drop(second);
    }

    #[test]
    fn mfa_prompts_take_turns() {
        let (_tmp, dir) = temp_dir("turns");
        let first = Cache::new(dir.clone());
        let second = Cache::new(dir.clone());
        let turn = first.prompt_turn(Duration::from_millis(10));
        assert!(turn.is_some());
        assert!(
            second.prompt_turn(Duration::from_millis(30)).is_none(),
            "a second prompt waits while the first is on the terminal"
        );
        drop(turn);
        assert!(second.prompt_turn(Duration::from_millis(10)).is_some());
        assert!(Cache::off().prompt_turn(Duration::ZERO).is_none());
    }
}
