//! Which AWS profile (and so which role) serves a registry. The order, first match wins:
//! `ECR_ROLE_PROFILE` (one command's override), the registry's mapping in the helper's
//! settings, the helper's default profile, `AWS_PROFILE`, then `default`.
//! An explicit mapping beats `AWS_PROFILE` on purpose: docker's environment often
//! carries an `AWS_PROFILE` meant for something else. Pure: no I/O of its own.

use std::fmt;

use crate::config::{ENV_PROFILE, Settings};
use crate::profile_file::Profiles;
use crate::registry::Registry;

/// The profile chosen for a registry, why, and the role it switches into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The AWS profile name.
    pub profile: String,
    /// Why this profile was chosen (said in messages and by `doctor`).
    pub chosen_by: ChosenBy,
    /// The profile's `role_arn`, when it switches role.
    pub role_arn: Option<String>,
}

/// Where the profile choice came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// `ECR_ROLE_PROFILE`.
    EnvOverride,
    /// The registry's entry in the helper's settings.
    RegistryMapping,
    /// The helper's `default_profile`.
    DefaultProfile,
    /// `AWS_PROFILE`.
    AwsProfile,
    /// Nothing chose: the `default` profile.
    Fallback,
}

impl fmt::Display for ChosenBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChosenBy::EnvOverride => ENV_PROFILE,
            ChosenBy::RegistryMapping => "the registry's mapping",
            ChosenBy::DefaultProfile => "the helper's default_profile",
            ChosenBy::AwsProfile => "AWS_PROFILE",
            ChosenBy::Fallback => "no profile configured",
        })
    }
}

/// Chooses the profile for `registry`. `env` reads an environment variable (non-empty values only).
pub fn resolve(
    registry: &Registry,
    settings: &Settings,
    profiles: &Profiles,
    env: impl Fn(&str) -> Option<String>,
) -> Identity {
    let (profile, chosen_by) = if let Some(p) = env(ENV_PROFILE) {
        (p, ChosenBy::EnvOverride)
    } else if let Some(p) = settings.profile_for(&registry.host) {
        (p, ChosenBy::RegistryMapping)
    } else if let Some(p) = &settings.default_profile {
        (p.clone(), ChosenBy::DefaultProfile)
    } else if let Some(p) = env("AWS_PROFILE") {
        (p, ChosenBy::AwsProfile)
    } else {
        ("default".to_string(), ChosenBy::Fallback)
    };
    let role_arn = profiles.role_arn(&profile).map(str::to_string);
    Identity {
        profile,
        chosen_by,
        role_arn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RegistrySettings;
    use crate::profile_file::FileKind;

    const HOST: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com";

    fn setup() -> (Registry, Settings, Profiles) {
        let registry = Registry::parse(HOST).unwrap();
        let mut settings = Settings {
            default_profile: Some("helper-default".into()),
            ..Settings::default()
        };
        settings.registries.insert(
            HOST.into(),
            RegistrySettings {
                profile: Some("mapped".into()),
                ..RegistrySettings::default()
            },
        );
        let mut profiles = Profiles::default();
        profiles.add(
            "[profile mapped]\nrole_arn = arn:aws:iam::123456789012:role/R\n",
            FileKind::Config,
        );
        (registry, settings, profiles)
    }

    fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn order_of_choice() {
        let (registry, mut settings, profiles) = setup();
        let both = env_of(&[("ECR_ROLE_PROFILE", "override"), ("AWS_PROFILE", "aws")]);
        let id = resolve(&registry, &settings, &profiles, &both);
        assert_eq!(
            (id.profile.as_str(), id.chosen_by),
            ("override", ChosenBy::EnvOverride)
        );

        let aws_only = env_of(&[("AWS_PROFILE", "aws")]);
        let id = resolve(&registry, &settings, &profiles, &aws_only);
        assert_eq!(
            (id.profile.as_str(), id.chosen_by),
            ("mapped", ChosenBy::RegistryMapping)
        );
        assert_eq!(
            id.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/R")
        );

        settings.registries.clear();
        let id = resolve(&registry, &settings, &profiles, &aws_only);
        assert_eq!(id.chosen_by, ChosenBy::DefaultProfile);
        assert_eq!(id.role_arn, None);

        settings.default_profile = None;
        let id = resolve(&registry, &settings, &profiles, &aws_only);
        assert_eq!(
            (id.profile.as_str(), id.chosen_by),
            ("aws", ChosenBy::AwsProfile)
        );

        let id = resolve(&registry, &settings, &profiles, env_of(&[]));
        assert_eq!(
            (id.profile.as_str(), id.chosen_by),
            ("default", ChosenBy::Fallback)
        );
    }
}
