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
use crate::error::{Error, PROGRAM, TokenError};
use crate::identity::Identity;
use crate::log::debug;
use crate::protocol::{self, Credentials};
use crate::registry::Registry;

/// How long a `get` waits for another process fetching the same token before fetching
/// itself (a holder that is stuck or stopped costs no more than this; see [`crate::deadline`]).
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// `get`: the registry's credentials as docker's JSON.
pub fn get(input: impl Read, out: &mut impl Write) -> Result<(), Error> {
    let server_url = protocol::read_server_url(input)?;
    let (registry, settings) = ours(&server_url)?;
    let ctx = Context::load(settings)?;
    let identity = ctx.identity(&registry);
    if let Err(e) = &identity.chain {
        return Err(token_error(
            registry.clone(),
            identity.clone(),
            crate::aws::AwsError::Chain(e.clone()),
        ));
    }
    let key = Context::key(&registry, &identity);
    let cache = &ctx.cache;
    debug!(
        "get {}: profile {} ({}), role {}",
        registry.host,
        identity.profile,
        identity.chosen_by,
        identity.role_arn.as_deref().unwrap_or("none")
    );

    let mut cached = cache.lookup(&key);
    if let Some(token) = cached.as_ref().filter(|t| is_fresh(t)) {
        debug!("cache hit, expires at {}", token.expires_at);
        return answer(out, &server_url, token);
    }
    // From here on `get` may wait (a lock, a credential process, the network): bound it.
    crate::deadline::arm(format!(
        "{PROGRAM}: {}: no answer within {} s (another helper process holding the lock, a credential_process or the AWS endpoint took too long); run `{PROGRAM} doctor {}` to see which",
        registry.host,
        crate::deadline::GET_DEADLINE.as_secs(),
        registry.host
    ));
    // Held until `get` returns: other processes wanting this key wait for this one.
    let _held = match cache.lock(&key, LOCK_WAIT) {
        Lock::Held(held) => Some(held),
        Lock::WaitedForAnother | Lock::Unavailable => None,
    };
    // Another process may have fetched while this one waited for the lock.
    cached = cache.lookup(&key).or(cached);
    if let Some(token) = cached.as_ref().filter(|t| is_fresh(t)) {
        debug!("cache hit after waiting for another fetch");
        return answer(out, &server_url, token);
    }

    debug!("cache miss: fetching a token from AWS");
    match ctx.fetch_and_keep(&registry, &identity) {
        Ok(entry) => answer(out, &server_url, &entry),
        Err(source) => {
            debug!("fetch failed: {source}");
            match cached.filter(|t| t.freshness(now_secs()) == Freshness::Usable) {
                Some(token) => {
                    let error = token_error(registry, identity, source);
                    let minutes = token.expires_at.saturating_sub(now_secs()) / 60;
                    let line = format!(
                        "{error} (warning: using the cached token, which expires in {minutes} minutes)"
                    );
                    let _ = writeln!(std::io::stderr(), "{}", crate::text::for_person(&line));
                    answer(out, &server_url, &token)
                }
                None => Err(token_error(registry, identity, source)),
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
        Ok((registry, _)) => {
            context::open_cache().remove_scope(&registry.token_scope());
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
