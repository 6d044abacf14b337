//! One home for every file the helper reads or writes, decided once per process.
//!
//! The AWS SDK finds `~/.aws/config` through `$HOME`; with `HOME` unset it leaves
//! `~` unexpanded and reads `./~/.aws/config` relative to the working directory —
//! a checked-out repository could then choose the user's identity. The helper
//! instead resolves the home once (`$HOME` when it is an absolute path, else the
//! passwd entry), turns the AWS file locations into absolute paths
//! (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/…`), and
//! [`settle`] writes exactly these back into the environment at start-up, while
//! the process has one thread, so every SDK component, the `directories` crate
//! (cache and settings) and this crate agree on the same files. No relative path
//! is ever read.

use std::path::{Path, PathBuf};

/// The environment variable that names the AWS config file.
pub const ENV_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
/// The environment variable that names the AWS credentials file.
pub const ENV_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";

/// Why no AWS files could be located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HomeError {
    #[error(
        "set HOME, or point {ENV_CONFIG_FILE} at your AWS config file: there is no home directory (HOME is unset and uid {uid} has no entry in /etc/passwd)"
    )]
    NoHome { uid: u32 },
}

/// Where the AWS config and credentials files are: absolute paths, or why there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFiles {
    /// The config file (`~/.aws/config` or `$AWS_CONFIG_FILE`).
    pub config: PathBuf,
    /// The credentials file (`~/.aws/credentials` or `$AWS_SHARED_CREDENTIALS_FILE`);
    /// `None` when there is no home and no variable names it (then it counts as empty).
    pub credentials: Option<PathBuf>,
}

impl AwsFiles {
    /// Locates the files as the SDK does on Linux and macOS (its `file-location-tests.json`):
    /// the variable if set (a leading `~` is the home), else `<home>/.aws/<name>`.
    /// Relative paths are made absolute against the working directory once, here.
    pub fn locate(
        env: impl Fn(&str) -> Option<String>,
        home: Option<&Path>,
        cwd: &Path,
    ) -> Result<AwsFiles, HomeError> {
        let from_env = |var: &str| {
            env(var)
                .filter(|v| !v.is_empty())
                .and_then(|v| expand(&v, home, cwd))
        };
        let default = |name: &str| home.map(|h| h.join(".aws").join(name));
        let config = from_env(ENV_CONFIG_FILE)
            .or_else(|| default("config"))
            .ok_or(HomeError::NoHome {
                uid: crate::platform::uid(),
            })?;
        let credentials = from_env(ENV_CREDENTIALS_FILE).or_else(|| default("credentials"));
        Ok(AwsFiles {
            config,
            credentials,
        })
    }
}

/// A path from an environment variable: `~` and `~/…` are the home (none: not usable),
/// a relative path is taken from `cwd`.
fn expand(value: &str, home: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
    let path = if value == "~" {
        home?.to_path_buf()
    } else if let Some(rest) = value.strip_prefix("~/") {
        home?.join(rest)
    } else {
        PathBuf::from(value)
    };
    Some(if path.is_absolute() {
        path
    } else {
        cwd.join(path)
    })
}

/// The user's home: `$HOME` when it is an absolute path, else the passwd entry's.
pub fn resolve(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| crate::platform::passwd_home(crate::platform::uid()))
}

/// A non-empty environment variable's value.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Resolves the home and the AWS files and writes them into the environment, so that
/// everything later in this process (the SDK, `directories`) uses exactly these.
/// Call it first thing in `main`, while the process has a single thread.
/// Returns the files, or why there are none (commands that need them report it).
pub fn settle() -> &'static Result<AwsFiles, HomeError> {
    SETTLED.get_or_init(settle_now)
}

/// The AWS files of this process (as [`settle`] decided them).
pub fn aws_files() -> &'static Result<AwsFiles, HomeError> {
    settle()
}

static SETTLED: std::sync::OnceLock<Result<AwsFiles, HomeError>> = std::sync::OnceLock::new();

fn settle_now() -> Result<AwsFiles, HomeError> {
    let home = resolve(env_var);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let files = AwsFiles::locate(env_var, home.as_deref(), &cwd);
    // All three: called from main before any other thread exists.
    if let Some(home) = &home
        && env_var("HOME").as_deref() != home.to_str()
    {
        crate::platform::set_env_at_start("HOME", home);
    }
    if let Ok(files) = &files {
        crate::platform::set_env_at_start(ENV_CONFIG_FILE, &files.config);
        // No home and no variable: the SDK would read `./~/.aws/credentials`; give it nothing.
        let credentials = files
            .credentials
            .clone()
            .unwrap_or_else(|| PathBuf::from("/dev/null"));
        crate::platform::set_env_at_start(ENV_CREDENTIALS_FILE, credentials);
    }
    files
}

/// The user's home directory, as every part of the helper sees it.
pub fn home_dir() -> Option<PathBuf> {
    resolve(env_var)
}

/// Shows a path with the home directory as `~`, for messages.
pub fn tilde(path: &Path) -> String {
    let home = resolve(env_var);
    match home.and_then(|h| path.strip_prefix(h).ok().map(Path::to_path_buf)) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::settings::env_of;

    #[test]
    fn files_follow_the_variables_and_the_home() {
        let cwd = Path::new("/work");
        let home = Some(Path::new("/home/user"));
        let f = AwsFiles::locate(env_of(&[]), home, cwd).unwrap();
        assert_eq!(f.config, Path::new("/home/user/.aws/config"));
        assert_eq!(
            f.credentials.as_deref(),
            Some(Path::new("/home/user/.aws/credentials"))
        );
        let f = AwsFiles::locate(
            env_of(&[
                ("AWS_CONFIG_FILE", "~/cfg"),
                ("AWS_SHARED_CREDENTIALS_FILE", "rel/creds"),
            ]),
            home,
            cwd,
        )
        .unwrap();
        assert_eq!(f.config, Path::new("/home/user/cfg"));
        assert_eq!(f.credentials.as_deref(), Some(Path::new("/work/rel/creds")));
    }

    #[test]
    fn no_home_is_an_error_unless_the_config_file_is_named() {
        let cwd = Path::new("/work");
        assert!(matches!(
            AwsFiles::locate(env_of(&[]), None, cwd),
            Err(HomeError::NoHome { .. })
        ));
        // `~` cannot be expanded without a home: it is not read relative to cwd.
        assert!(
            AwsFiles::locate(env_of(&[("AWS_CONFIG_FILE", "~/.aws/config")]), None, cwd).is_err()
        );
        let f = AwsFiles::locate(env_of(&[("AWS_CONFIG_FILE", "/etc/aws")]), None, cwd).unwrap();
        assert_eq!(f.config, Path::new("/etc/aws"));
        assert_eq!(f.credentials, None);
    }

    #[test]
    fn a_relative_home_is_not_a_home() {
        let home = resolve(env_of(&[("HOME", "relative/dir")]));
        assert_ne!(home.as_deref(), Some(Path::new("relative/dir")));
        assert_eq!(
            resolve(env_of(&[("HOME", "/h")])).as_deref(),
            Some(Path::new("/h"))
        );
    }
}
