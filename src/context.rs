//! What every command starts from, loaded once: the helper's settings, the AWS
//! profiles (from the one home [`crate::home`] settled), and the token cache (a
//! cache that may be off, never an `Option`). It answers the three questions every
//! command asks — which registry, which identity, which cache key — so `get`,
//! `login` and `doctor` cannot answer them differently.

use crate::cache::{Cache, CacheKey};
use crate::config::{self, ConfigError, Settings};
use crate::home::{AwsFiles, HomeError};
use crate::identity::{self, ChosenBy, Identity};
use crate::profiles::{ProfileError, Profiles};
use crate::registry::Registry;

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
    /// Loads the settings only: enough to tell whether a host is ours (see [`Context::registry`]).
    pub fn settings() -> Result<Settings, ConfigError> {
        Settings::load()
    }

    /// Loads everything, given the settings already read.
    pub fn load(settings: Settings) -> Result<Context, ContextError> {
        let files: &AwsFiles = crate::home::aws_files().as_ref().map_err(Clone::clone)?;
        let mut profiles = Profiles::load(files)?;
        settings.add_role_profiles(&mut profiles);
        Ok(Context {
            settings,
            profiles,
            cache: open_cache(),
        })
    }

    /// The identity that serves `registry`.
    pub fn identity(&self, registry: &Registry) -> Identity {
        identity::resolve(
            registry,
            &self.settings,
            &self.profiles,
            config::env_nonempty,
        )
    }

    /// The identity of a profile named on the command line (`login --profile`).
    pub fn identity_of_profile(&self, profile: &str) -> Identity {
        identity::of_profile(
            profile.to_string(),
            ChosenBy::EnvOverride,
            &self.profiles,
            config::env_nonempty,
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

/// The token cache: off when turned off or when it has no place.
pub fn open_cache() -> Cache {
    if config::cache_disabled() {
        return Cache::off();
    }
    match config::cache_dir() {
        Ok(dir) => Cache::new(dir),
        Err(_) => Cache::off(),
    }
}
