//! The credential-helper verbs docker calls: `get`, `store`, `erase`, `list`.
//!
//! `get` follows the data flow: stdin → registry → identity → cache; only on a
//! miss does it take the key's lock, look again (another process may have just
//! fetched), and go to AWS. The SDK, TLS and the async runtime exist only on
//! that miss path.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::Duration;

use crate::cache::{Cache, CacheKey, CachedToken, Freshness, Lock, MIN_REMAINING_SECS, now_secs};
use crate::config::{self, Settings};
use crate::error::{Error, PROGRAM, TokenError};
use crate::identity::{self, Identity};
use crate::log::debug;
use crate::profile_file::Profiles;
use crate::protocol::{self, Credentials};
use crate::registry::Registry;

/// How long a `get` waits for another process fetching the same token before fetching itself.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// `get`: the registry's credentials as docker's JSON.
pub fn get(input: impl Read, out: &mut impl Write) -> Result<(), Error> {
    let server_url = protocol::read_server_url(input)?;
    // For a host that is not ECR by its name, a broken settings file is not a reason to
    // speak up: docker must carry on quietly for Docker Hub and friends.
    let settings = match Registry::parse(&server_url) {
        Some(_) => Settings::load()?,
        None => Settings::load().map_err(|_| Error::NotEcr)?,
    };
    let registry = resolve_registry(&server_url, &settings).ok_or(Error::NotEcr)?;
    let mut profiles = Profiles::load();
    settings.add_role_profiles(&mut profiles);
    let identity = identity::resolve(&registry, &settings, &profiles, config::env_nonempty);
    let key = CacheKey::new(&registry, &identity);
    let cache = open_cache();
    debug!(
        "get {}: profile {} ({}), role {}",
        registry.host,
        identity.profile,
        identity.chosen_by,
        identity.role_arn.as_deref().unwrap_or("none")
    );

    let mut cached = cache.as_ref().and_then(|c| c.lookup(&key));
    if let Some(token) = cached.as_ref().filter(|t| is_fresh(t)) {
        debug!("cache hit, expires at {}", token.expires_at);
        return answer(out, &server_url, token);
    }
    // Held until `get` returns: other processes wanting this key wait for this one.
    let _held = match cache.as_ref().map(|c| c.lock(&key, LOCK_WAIT)) {
        Some(Lock::Held(held)) => Some(held),
        Some(Lock::WaitedForAnother | Lock::Unavailable) | None => None,
    };
    // Another process may have fetched while this one waited for the lock.
    cached = cache.as_ref().and_then(|c| c.lookup(&key)).or(cached);
    if let Some(token) = cached.as_ref().filter(|t| is_fresh(t)) {
        debug!("cache hit after waiting for another fetch");
        return answer(out, &server_url, token);
    }

    debug!("cache miss: fetching a token from AWS");
    match fetch_and_keep(&registry, &identity, &profiles, cache.as_ref()) {
        Ok(entry) => answer(out, &server_url, &entry),
        Err(source) => {
            debug!("fetch failed: {source}");
            match cached.filter(|t| t.freshness(now_secs()) == Freshness::Usable) {
                Some(token) => {
                    let error = token_error(registry, identity, source);
                    let minutes = token.expires_at.saturating_sub(now_secs()) / 60;
                    eprintln!(
                        "{error} (warning: using the cached token, which expires in {minutes} minutes)"
                    );
                    answer(out, &server_url, &token)
                }
                None => Err(token_error(registry, identity, source)),
            }
        }
    }
}

/// Fetches the registry's token through the identity and keeps it in the cache when
/// it has a usable lifetime (a cache that can't be written is a warning, not a failure).
pub fn fetch_and_keep(
    registry: &Registry,
    identity: &Identity,
    profiles: &Profiles,
    cache: Option<&Cache>,
) -> Result<CachedToken, crate::aws::AwsError> {
    let fetched_at = now_secs();
    let started = std::time::Instant::now();
    let token = crate::aws::fetch_token(registry, identity, profiles, cache)?;
    debug!(
        "fetched in {} ms, expires at {:?}",
        started.elapsed().as_millis(),
        token.expires_at
    );
    let entry = CachedToken::new(
        &CacheKey::new(registry, identity),
        registry,
        token.username,
        token.password,
        fetched_at,
        token.expires_at.unwrap_or(0),
    );
    if let Some(cache) = cache
        && entry.freshness(fetched_at) == Freshness::Fresh
        && let Err(e) = cache.store(&entry)
    {
        debug!("token not cached: {e}");
        eprintln!("{PROGRAM}: warning: token not cached: {e}");
    }
    Ok(entry)
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
    let settings = Settings::load()?;
    if let (Some(registry), Some(cache)) = (resolve_registry(&server_url, &settings), open_cache())
    {
        cache.remove_scope(&registry.token_scope());
    }
    Ok(())
}

/// `list`: registries with a cached token that is still valid → `AWS`.
pub fn list(out: &mut impl Write) -> Result<(), Error> {
    let now = now_secs();
    let entries: BTreeMap<String, String> = open_cache()
        .map(|c| c.entries())
        .unwrap_or_default()
        .into_iter()
        .filter(|t| t.expires_at > now + MIN_REMAINING_SECS)
        .map(|t| (format!("https://{}", t.host), t.username))
        .collect();
    out.write_all(protocol::list_line(&entries).as_bytes())
        .map_err(Error::Output)
}

/// The ECR registry a server URL names: an ECR host, or a custom name the settings map.
pub fn resolve_registry(server_url: &str, settings: &Settings) -> Option<Registry> {
    Registry::parse(server_url).or_else(|| {
        crate::registry::host_of(server_url).and_then(|host| settings.custom_registry(&host))
    })
}

fn is_fresh(token: &CachedToken) -> bool {
    token.freshness(now_secs()) == Freshness::Fresh
}

/// The cache, unless it is turned off or has no place.
pub fn open_cache() -> Option<Cache> {
    if config::cache_disabled() {
        return None;
    }
    config::cache_dir().ok().map(Cache::new)
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
