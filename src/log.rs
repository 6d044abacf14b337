//! The opt-in debug log. Off unless `ECR_ROLE_LOG` is set: to a file path, or to
//! `1` for `debug.log` in the cache directory. The file is created 0600 (and written
//! only while it is a private regular file of ours: a FIFO, a symlink or another
//! user's file at that path gets nothing), its directories 0700, capped at
//! 1 MiB (then rotated to `.1`, so it never grows without bound as the Go helper's
//! log does), and every line is scrubbed of the secrets this process has handled
//! (ECR passwords, role keys and session tokens), on top of never being handed one.
//! When the log is off, a call costs one environment lookup, done once.

use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The environment variable that turns the log on.
pub const ENV_LOG: &str = "ECR_ROLE_LOG";
/// The size at which the log is rotated.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// Where the log goes, if it is on.
fn target() -> Option<&'static PathBuf> {
    static TARGET: OnceLock<Option<PathBuf>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let value = crate::settings::env_nonempty(ENV_LOG)?;
            match value.as_str() {
                "0" | "false" => None,
                "1" | "true" => crate::settings::cache_dir()
                    .ok()
                    .map(|d| d.join("debug.log")),
                path => Some(PathBuf::from(path)),
            }
        })
        .as_ref()
}

/// Writes one line to the log, if it is on. Failures to log are ignored.
pub fn write(args: fmt::Arguments<'_>) {
    let Some(path) = target() else { return };
    // One clean line: endpoint text (an error message, a caller ARN) can carry new
    // lines, escape sequences and bidi controls that would forge lines or act on
    // whoever runs `tail -f` on the log.
    let line = format!(
        "{}\n",
        crate::text::clean(
            &crate::text::scrub(format!(
                "{} pid={} {args}",
                crate::clock::now_secs(),
                std::process::id()
            )),
            4 * crate::text::MAX_LINE_CHARS
        )
    );
    if let Some(mut file) = open_ours(path) {
        if file.metadata().is_ok_and(|m| m.len() > MAX_BYTES) {
            drop(file);
            let mut rotated = path.as_os_str().to_owned();
            rotated.push(".1");
            let _ = std::fs::rename(path, std::path::PathBuf::from(rotated));
            let Some(fresh) = open_ours(path) else { return };
            file = fresh;
        }
        let _ = file.write_all(line.as_bytes());
    }
}

/// Opens the log for appending only if it is one of our private files
/// ([`crate::files::open_private`]): a new one is created 0600, its missing directories
/// 0700 (whatever the umask). Anything else (another user's file, a FIFO, a log
/// someone made readable) is not written to, and never altered.
fn open_ours(path: &std::path::Path) -> Option<std::fs::File> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
    }
    match crate::files::open_private(path, crate::files::Private::Append) {
        Ok(file) => Some(file),
        Err(e) => {
            // Said once per process: the log was asked for, and nothing will reach it.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                let path = crate::home::tilde(path);
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    crate::text::warn(format_args!(
                        "remove {path} or make it yours alone (chmod 600): the debug log is not written there ({e})"
                    ));
                } else {
                    crate::text::warn(format_args!(
                        "set ECR_ROLE_LOG to a file of yours: the debug log is written only to a regular file, and {path} is not one ({e})"
                    ));
                }
            });
            None
        }
    }
}

/// Logs a formatted line when `ECR_ROLE_LOG` is set.
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::log::write(format_args!($($arg)*))
    };
}
pub(crate) use debug;
