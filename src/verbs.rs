//! The credential-helper verbs docker calls: `get`, `store`, `erase`, `list`.
//!
//! `get` follows the data flow: stdin → registry → context (settings, profiles,
//! cache) → identity → cache; only on a miss does it take the key's lock, look again (another process may have just
//! fetched), and go to AWS. The SDK, TLS and the async runtime exist only on
//! that miss path.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

use crate::cache::{CachedToken, Freshness, Lock};
use crate::clock::now_secs;
use crate::context::{self, Context};
use crate::error::{Error, TokenError};
use crate::identity::Identity;
use crate::log::debug;
use crate::protocol::{self, Credentials};
use crate::registry::Registry;
use crate::text::PROGRAM;

/// How long a `get` waits for another process fetching the same token before fetching
/// itself (a holder that is stuck or stopped costs no more than this; see [`crate::deadline`]).
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// `get`: the registry's credentials as docker's JSON.
pub fn get(input: impl Read, out: &mut impl Write) -> Result<(), Error> {
    let server_url = protocol::read_server_url(input)?;
    let token = token(&server_url)?;
    answer(out, &server_url, &token)
}

/// The token for a registry (a server URL or an image's host), as `get` has it: from
/// the cache, or fetched and kept. Docker's `get` and the kubelet's plugin
/// (`kubelet`, for the node's identity) both come here.
pub fn token(server_url: &str) -> Result<CachedToken, Error> {
    let (registry, settings) = ours(server_url)?;
    let ctx = Context::load(settings)?;
    let identity = ctx.identity(&registry);
    if let Err(e) = &identity.chain {
        return Err(token_error(
            registry.clone(),
            identity.clone(),
            crate::aws::AwsError::Chain(e.clone()),
        ));
    }
    debug!(
        "get {}: profile {} ({}), role {}",
        registry.host,
        identity.profile,
        identity.chosen_by,
        identity.role_arn.as_deref().unwrap_or("none")
    );
    let on_miss = || {
        // From here on `get` may wait (a lock, a credential process, the network): bound it.
        crate::deadline::arm(crate::text::line(format_args!(
            "{}: no answer within {} s (another helper process holding the lock, a credential_process or the AWS endpoint took too long); run `{PROGRAM} doctor {}` to see which",
            registry.host,
            crate::deadline::GET_DEADLINE.as_secs(),
            registry.host
        )))
    };
    let fetch = || ctx.fetch_and_keep(&registry, &identity);
    let key = Context::key(&registry, &identity);
    match token_for(&ctx.cache, &key, LOCK_WAIT, on_miss, fetch) {
        Got::Token(token) => Ok(token),
        Got::Fallback(token, source) => {
            let error = token_error(registry, identity, source);
            let minutes = token.expires_at.saturating_sub(now_secs()) / 60;
            let line = format!(
                "{error} (warning: using the cached token, which expires in {minutes} minutes)"
            );
            let _ = writeln!(std::io::stderr(), "{}", crate::text::line(&line));
            Ok(token)
        }
        Got::Failed(source) => Err(token_error(registry, identity, source)),
    }
}

/// What [`token_for`] got.
#[derive(Debug)]
enum Got {
    /// A token to answer with (fresh from the cache, or just fetched).
    Token(CachedToken),
    /// The fetch failed, but a cached token still has time left: use it, and say why.
    Fallback(CachedToken, crate::aws::AwsError),
    /// The fetch failed and nothing cached can stand in.
    Failed(crate::aws::AwsError),
}

/// `get`'s decision, with what it touches passed in (so it is unit-tested without AWS):
/// a fresh cached token answers at once; otherwise `on_miss` runs, the key's lock is
/// taken (or waited for, at most `lock_wait`, while another process fetches), the cache
/// is read again, and only then `fetch` runs; if it fails, a token that is still usable
/// stands in.
fn token_for(
    cache: &crate::cache::Cache,
    key: &crate::cache::CacheKey,
    lock_wait: Duration,
    on_miss: impl FnOnce(),
    fetch: impl FnOnce() -> Result<CachedToken, crate::aws::AwsError>,
) -> Got {
    let mut cached = cache.lookup(key);
    if let Some(token) = cached.take_if(|t| is_fresh(t)) {
        debug!("cache hit, expires at {}", token.expires_at);
        return Got::Token(token);
    }
    on_miss();
    // Held until `get` returns: other processes wanting this key wait for this one.
    let held = match cache.lock(key, lock_wait) {
        Lock::Held(held) => Some(held),
        Lock::WaitedForAnother | Lock::Unavailable => None,
    };
    // Another process may have fetched while this one waited for the lock.
    cached = cache.lookup(key).or(cached);
    if let Some(token) = cached.take_if(|t| is_fresh(t)) {
        debug!("cache hit after waiting for another fetch");
        return Got::Token(token);
    }
    debug!("cache miss: fetching a token from AWS");
    match fetch() {
        Ok(token) => Got::Token(token),
        Err(source) => {
            debug!("fetch failed: {source}");
            match cached.filter(|t| t.freshness(now_secs()) == Freshness::Usable) {
                Some(token) => Got::Fallback(token, source),
                None => {
                    // Nothing to keep for this key: a failed get leaves no file behind.
                    if let Some(held) = held {
                        held.remove();
                    }
                    Got::Failed(source)
                }
            }
        }
    }
}

/// `store`: docker login hands us credentials; ours come from AWS, so a valid
/// payload is accepted and nothing is kept (`docker login` keeps working).
pub fn store(input: impl Read) -> Result<(), Error> {
    let text = protocol::read_input(input)?;
    protocol::check_store_payload(&text)?;
    Ok(())
}

/// `erase`: forget the registry's cached tokens (for every profile). Not ECR: nothing to do.
pub fn erase(input: impl Read) -> Result<(), Error> {
    let server_url = protocol::read_server_url(input)?;
    match ours(&server_url) {
        Ok((registry, settings)) => {
            context::open_cache().remove_scope(&registry.token_scope());
            // And the kept MFA role sessions of the registry's role (when its profiles
            // can be read: `docker logout` never fails on that).
            if let Ok(ctx) = Context::load(settings)
                && let Ok(chain) = &ctx.identity(&registry).chain
            {
                crate::aws::assume_role::forget_kept_sessions(chain, &ctx.cache);
            }
            Ok(())
        }
        Err(Error::NotEcr) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The registry a server URL names, and the settings read for it. For a host that is
/// not ECR by its name, a broken settings file is not a reason to speak up: docker
/// must carry on quietly for Docker Hub and friends (`get` and `erase` alike).
fn ours(server_url: &str) -> Result<(Registry, crate::settings::Settings), Error> {
    let settings = match Registry::parse(server_url) {
        Some(_) => Context::settings()?,
        None => Context::settings().map_err(|_| Error::NotEcr)?,
    };
    let registry = context::registry(server_url, &settings).ok_or(Error::NotEcr)?;
    Ok((registry, settings))
}

/// `list`: registries with a cached token that is still valid → `AWS`.
pub fn list(out: &mut impl Write) -> Result<(), Error> {
    let now = now_secs();
    let entries: BTreeMap<String, String> = context::open_cache()
        .entries()
        .into_iter()
        .filter(|t| t.freshness(now) != Freshness::Expired)
        .map(|t| (format!("https://{}", t.host), t.username))
        .collect();
    out.write_all(protocol::list_line(&entries).as_bytes())
        .map_err(Error::Output)
}

fn is_fresh(token: &CachedToken) -> bool {
    token.freshness(now_secs()) == Freshness::Fresh
}

fn answer(out: &mut impl Write, server_url: &str, token: &CachedToken) -> Result<(), Error> {
    let line = Credentials {
        server_url,
        username: &token.username,
        secret: token.password.expose(),
    }
    .to_line();
    out.write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

fn token_error(registry: Registry, identity: Identity, source: crate::aws::AwsError) -> Error {
    Error::from(TokenError {
        registry,
        identity,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{Cache, CacheKey};
    use crate::secret::Secret;
    use std::cell::Cell;

    const HOST: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com";

    /// A cache in a fresh directory (gone with the returned guard) and its key.
    fn setup(name: &str) -> (Cache, CacheKey, tempfile::TempDir) {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let registry = Registry::parse(HOST).unwrap();
        let key = CacheKey::new(&registry.token_scope(), "p", Some("arn:r"), 7);
        (Cache::new(tmp.path().join(name)), key, tmp)
    }

    fn token(key: &CacheKey, password: &str, fetched_ago: u64, lifetime: u64) -> CachedToken {
        let now = now_secs();
        CachedToken::new(
            key,
            &Registry::parse(HOST).unwrap(),
            "AWS".into(),
            Secret::new(password.into()),
            now - fetched_ago,
            now - fetched_ago + lifetime,
        )
    }

    fn denied() -> crate::aws::AwsError {
        crate::aws::AwsError::NoToken
    }

    #[test]
    fn a_fresh_cached_token_answers_without_a_fetch_or_a_deadline() {
        let (cache, key, _tmp) = setup("hit");
        cache.store(&token(&key, "cached", 60, 12 * 3600)).unwrap();
        let (missed, fetched) = (Cell::new(false), Cell::new(false));
        let got = token_for(
            &cache,
            &key,
            Duration::ZERO,
            || missed.set(true),
            || {
                fetched.set(true);
                Err(denied())
            },
        );
        assert!(matches!(got, Got::Token(t) if t.password.expose() == "cached"));
        assert!(!missed.get() && !fetched.get());
    }

    #[test]
    fn a_miss_fetches_once() {
        let (cache, key, _tmp) = setup("miss");
        let fetched = Cell::new(0);
        let got = token_for(
            &cache,
            &key,
            Duration::ZERO,
            || {},
            || {
                fetched.set(fetched.get() + 1);
                Ok(token(&key, "new", 0, 12 * 3600))
            },
        );
        assert!(matches!(got, Got::Token(t) if t.password.expose() == "new"));
        assert_eq!(fetched.get(), 1);
    }

    #[test]
    fn a_stale_token_is_refreshed_and_stands_in_when_the_refresh_fails() {
        let (cache, key, _tmp) = setup("stale");
        // Ten of twelve hours gone: due for refresh, still usable.
        cache
            .store(&token(&key, "old", 10 * 3600, 12 * 3600))
            .unwrap();
        let got = token_for(
            &cache,
            &key,
            Duration::ZERO,
            || {},
            || Ok(token(&key, "new", 0, 12 * 3600)),
        );
        assert!(matches!(got, Got::Token(t) if t.password.expose() == "new"));
        let got = token_for(&cache, &key, Duration::ZERO, || {}, || Err(denied()));
        assert!(matches!(got, Got::Fallback(t, _) if t.password.expose() == "old"));
    }

    #[test]
    fn an_expired_token_never_stands_in() {
        let (cache, key, _tmp) = setup("expired");
        cache
            .store(&token(&key, "old", 12 * 3600, 12 * 3600))
            .unwrap();
        let got = token_for(&cache, &key, Duration::ZERO, || {}, || Err(denied()));
        assert!(matches!(got, Got::Failed(_)));
    }

    #[test]
    fn a_failed_miss_leaves_no_lock_file() {
        let (cache, key, tmp) = setup("failed");
        let got = token_for(&cache, &key, Duration::ZERO, || {}, || Err(denied()));
        assert!(matches!(got, Got::Failed(_)));
        let left: Vec<_> = std::fs::read_dir(tmp.path().join("failed"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_waiter_takes_the_token_another_process_fetched() {
        let (cache, key, _tmp) = setup("wait");
        // "Another process" holds the key's lock while it fetches.
        let Lock::Held(held) = cache.lock(&key, Duration::ZERO) else {
            panic!("the lock is free")
        };
        let (missed, waiting) = std::sync::mpsc::channel();
        let waiter = {
            let (cache, key) = (cache.clone(), key.clone());
            std::thread::spawn(move || {
                token_for(
                    &cache,
                    &key,
                    Duration::from_secs(20),
                    || missed.send(()).unwrap(),
                    || Ok(token(&key, "waiter-fetched", 0, 12 * 3600)),
                )
            })
        };
        // The waiter has missed and goes for the lock; the other process keeps its token
        // and lets go: only then can the waiter look again.
        waiting.recv().unwrap();
        cache
            .store(&token(&key, "fetched-by-other", 0, 12 * 3600))
            .unwrap();
        drop(held);
        let got = waiter.join().unwrap();
        assert!(
            matches!(got, Got::Token(t) if t.password.expose() == "fetched-by-other"),
            "the waiter fetched itself instead of reading the cache"
        );
    }
}
