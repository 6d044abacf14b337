//! The opt-in debug log. Off unless `ECR_ROLE_LOG` is set: to a file path, or to
//! `1` for `debug.log` in the cache directory. The file is created 0600, capped at
//! 1 MiB (then rotated to `.1`, so it never grows without bound as the Go helper's
//! log does), and every line is scrubbed of the secrets this process has handled
//! (ECR passwords, role keys and session tokens), on top of never being handed one.
//! When the log is off, a call costs one environment lookup, done once.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// The environment variable that turns the log on.
pub const ENV_LOG: &str = "ECR_ROLE_LOG";
/// The size at which the log is rotated.
pub const MAX_BYTES: u64 = 1024 * 1024;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Where the log goes, if it is on.
fn target() -> Option<&'static PathBuf> {
    static TARGET: OnceLock<Option<PathBuf>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let value = crate::config::env_nonempty(ENV_LOG)?;
            match value.as_str() {
                "0" | "false" => None,
                "1" | "true" => crate::config::cache_dir().ok().map(|d| d.join("debug.log")),
                path => Some(PathBuf::from(path)),
            }
        })
        .as_ref()
}

/// Remembers a secret so no log line can carry it.
pub fn secret(value: &str) {
    if target().is_some()
        && value.len() >= 4
        && let Ok(mut secrets) = SECRETS.lock()
    {
        secrets.push(value.to_string());
    }
}

/// Replaces every remembered secret in `line` with `REDACTED`.
fn scrub(mut line: String) -> String {
    if let Ok(secrets) = SECRETS.lock() {
        for s in secrets.iter() {
            if line.contains(s.as_str()) {
                line = line.replace(s.as_str(), "REDACTED");
            }
        }
    }
    line
}

/// Writes one line to the log, if it is on. Failures to log are ignored.
pub fn write(args: fmt::Arguments<'_>) {
    let Some(path) = target() else { return };
    let line = scrub(format!(
        "{} pid={} {args}\n",
        crate::cache::now_secs(),
        std::process::id()
    ));
    if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_BYTES) {
        let _ = std::fs::rename(path, path.with_extension("log.1"));
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    if let Ok(mut file) = file {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Logs a formatted line when `ECR_ROLE_LOG` is set.
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::log::write(format_args!($($arg)*))
    };
}
pub(crate) use debug;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_replaces_remembered_secrets() {
        SECRETS.lock().unwrap().push("s3cr3t-value".into());
        assert_eq!(
            scrub("token s3cr3t-value and s3cr3t-value".into()),
            "token REDACTED and REDACTED"
        );
    }
}
