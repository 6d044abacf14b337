//! What every command starts from, loaded once: the helper's settings, the AWS
//! profiles (from the one home [`crate::home`] settled), and the token cache (a
//! cache that may be off, never an `Option`). It answers the three questions every
//! command asks — which registry, which identity, which cache key — so `get`,
//! `login` and `doctor` cannot answer them differently.

use crate::cache::{Cache, CacheKey, CachedToken, Freshness};
use crate::clock::now_secs;
use crate::home::{AwsFiles, HomeError};
use crate::identity::{self, ChosenBy, Identity};
use crate::log::debug;
use crate::profiles::{ProfileError, Profiles};
use crate::registry::Registry;
use crate::settings::{self, ConfigError, Settings};

/// Why the context could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Settings(#[from] ConfigError),
    #[error(transparent)]
    Home(#[from] HomeError),
    #[error(transparent)]
    Profiles(#[from] ProfileError),
}

/// Settings, profiles and cache, loaded once per command.
#[derive(Debug)]
pub struct Context {
    pub settings: Settings,
    pub profiles: Profiles,
    pub cache: Cache,
}

impl Context {
    /// Loads the settings only: enough to tell whether a host is ours (see [`registry`]).
    pub fn settings() -> Result<Settings, ConfigError> {
        Settings::load()
    }

    /// Loads everything, given the settings already read.
    pub fn load(settings: Settings) -> Result<Context, ContextError> {
        let files: &AwsFiles = crate::home::aws_files().as_ref().map_err(Clone::clone)?;
        let mut profiles = Profiles::load(files)?;
        for (name, role_arn, source_profile) in settings.role_profiles() {
            profiles.set(&name, "role_arn", role_arn);
            profiles.set(&name, "source_profile", source_profile);
        }
        Ok(Context {
            settings,
            profiles,
            cache: open_cache(),
        })
    }

    /// The identity that serves `registry`. Also chooses, for this process, how an MFA
    /// code for it is asked (`ECR_ROLE_MFA_PROMPT`, the registry's `mfa_prompt`, the
    /// global one): the first registry a command looks at decides.
    pub fn identity(&self, registry: &Registry) -> Identity {
        crate::aws::mfa::choose_prompt(self.settings.mfa_prompt_for(Some(&registry.host)));
        identity::resolve(
            registry,
            &self.settings,
            &self.profiles,
            settings::env_nonempty,
        )
    }

    /// The identity of a profile named on the command line (`login --profile`).
    pub fn identity_of_profile(&self, profile: &str) -> Identity {
        crate::aws::mfa::choose_prompt(self.settings.mfa_prompt_for(None));
        identity::of_profile(
            profile.to_string(),
            ChosenBy::EnvOverride,
            &self.profiles,
            settings::env_nonempty,
        )
    }

    /// The cache key of a registry's token for an identity whose chain resolved.
    pub fn key(registry: &Registry, identity: &Identity) -> CacheKey {
        CacheKey::new(
            &registry.token_scope(),
            &identity.profile,
            identity.role_arn.as_deref(),
            identity.fingerprint,
        )
    }
}

/// The ECR registry a server URL names: an ECR host, or a custom name the settings map.
pub fn registry(server_url: &str, settings: &Settings) -> Option<Registry> {
    Registry::parse(server_url).or_else(|| {
        crate::registry::host_of(server_url).and_then(|host| settings.custom_registry(&host))
    })
}

/// The longest lifetime a token is kept for, whatever the endpoint says: ECR's own 12 hours.
const MAX_TOKEN_LIFETIME_SECS: u64 = 12 * 3600;

/// The expiry a token fetched at `fetched_at` is kept with: the endpoint's, believed
/// only up to ECR's real lifetime (none given: already expired).
pub fn kept_expiry(fetched_at: u64, expires_at: Option<u64>) -> u64 {
    expires_at
        .unwrap_or(0)
        .min(fetched_at.saturating_add(MAX_TOKEN_LIFETIME_SECS))
}

/// Whether a token just fetched would be cached and served: the cache's own freshness
/// rule ([`CachedToken::freshness`]) on the kept expiry (`doctor` asks the same).
pub fn would_be_served(fetched_at: u64, expires_at: Option<u64>) -> bool {
    crate::cache::freshness_of(fetched_at, kept_expiry(fetched_at, expires_at), fetched_at)
        == Freshness::Fresh
}

/// The token cache: off when turned off or when it has no place.
pub fn open_cache() -> Cache {
    if settings::cache_disabled() {
        return Cache::off();
    }
    match settings::cache_dir() {
        Ok(dir) => Cache::new(dir),
        Err(_) => Cache::off(),
    }
}

impl Context {
    /// Fetches the registry's token through the identity and keeps it in the cache when
    /// it has a usable lifetime (a cache that can't be written is a warning, not a failure).
    pub fn fetch_and_keep(
        &self,
        registry: &Registry,
        identity: &Identity,
    ) -> Result<CachedToken, crate::aws::AwsError> {
        let fetched_at = now_secs();
        let started = std::time::Instant::now();
        let token = crate::aws::fetch_token(registry, identity, &self.profiles, &self.cache)?;
        debug!(
            "fetched in {} ms, expires at {:?}",
            started.elapsed().as_millis(),
            token.expires_at
        );
        let expires_at = kept_expiry(fetched_at, token.expires_at);
        let entry = CachedToken::new(
            &Context::key(registry, identity),
            registry,
            token.username,
            token.password,
            fetched_at,
            expires_at,
        );
        if entry.freshness(fetched_at) == Freshness::Fresh
            && let Err(e) = self.cache.store(&entry)
        {
            debug!("token not cached: {e}");
            crate::text::warn(format_args!("token not cached: {e}"));
        }
        Ok(entry)
    }
}
