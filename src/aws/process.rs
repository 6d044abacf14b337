//! `credential_process`, run by the helper itself with the AWS SDK's semantics
//! (`sh -c COMMAND`, no stdin, the JSON of aws-config's `credential_process.rs` on
//! stdout: `Version` 1, `AccessKeyId`, `SecretAccessKey`, optional `SessionToken` and
//! `Expiration`; keys in any case), so that the helper owns the child:
//!
//! - it runs in a process group of its own, which the deadline's watchdog kills
//!   before the helper exits ([`crate::deadline::watch_child_group`]): no
//!   `credential_process` outlives a `get`;
//! - when the helper is in the foreground of a terminal, the child's group is given
//!   the terminal's foreground for its run, as a shell gives it to a job, and the
//!   helper takes it back afterwards: a `credential_process` that asks for an MFA code
//!   or an SSO sign-in on `/dev/tty` works (in a process group of its own it would
//!   otherwise be stopped by SIGTTIN). Meanwhile the deadline is held back as for the
//!   helper's own MFA prompt, at most [`MFA_PROMPT_TIMEOUT`];
//! - its output is capped (64 KiB each for stdout and stderr).
//!
//! [`run_child`] is the one way the helper runs another program: `credential_process`,
//! `mfa_process` and the MFA dialogs ([`super::mfa`]).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use aws_credential_types::Credentials;

use crate::deadline::{self, MFA_PROMPT_TIMEOUT};
use crate::platform;

/// The most of a process's stdout or stderr that is read.
const MAX_OUTPUT_BYTES: u64 = 64 * 1024;

/// Why a `credential_process` gave no credentials.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot start it: {0}")]
    Start(std::io::Error),
    #[error("it exited with {status}{}", stderr_part(.stderr))]
    Failed { status: String, stderr: String },
    #[error("its output is not the credentials JSON: {0}")]
    Output(String),
}

fn stderr_part(stderr: &str) -> String {
    let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.is_empty() {
        String::new()
    } else {
        format!(": {}", first.trim())
    }
}

/// Runs `command` and returns the credentials it prints.
pub fn run(command: &str) -> Result<Credentials, ProcessError> {
    let mut sh = Command::new("sh");
    sh.args(["-c", command]);
    let done = run_child(sh, None, true).map_err(ProcessError::Start)?;
    let status = done.status.expect("no limit: the child ran to its end");
    if !status.success() {
        return Err(ProcessError::Failed {
            status: status.to_string(),
            stderr: String::from_utf8_lossy(&done.stderr).into_owned(),
        });
    }
    parse(&String::from_utf8_lossy(&done.stdout))
}

/// How a child the helper ran ended.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status; `None` when it ran past the limit and was killed.
    pub status: Option<std::process::ExitStatus>,
    /// Its stdout, at most [`MAX_OUTPUT_BYTES`].
    pub stdout: Vec<u8>,
    /// Its stderr, at most [`MAX_OUTPUT_BYTES`] (never shown as it is: a caller
    /// puts it in the log or a message, scrubbed and cleaned).
    pub stderr: Vec<u8>,
}

/// Runs `command` with no stdin, in a process group of its own that the deadline's
/// watchdog kills, and (with `lend_terminal`, when the helper is in a terminal's
/// foreground) with the terminal's foreground for its run. With a `limit`, the group
/// is killed when it passes; without one, the deadline bounds it. The deadline is held
/// back while a person may be part of the wait: for the limit, or while the terminal
/// is lent (at most [`MFA_PROMPT_TIMEOUT`]).
pub fn run_child(
    mut command: Command,
    limit: Option<std::time::Duration>,
    lend_terminal: bool,
) -> std::io::Result<Finished> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    let group = child.id();
    let _watched = deadline::watch_child_group(group);
    let terminal = lend_terminal
        .then(|| platform::ForegroundTerminal::give_to(group))
        .flatten();
    let paused = match (limit, &terminal) {
        (Some(limit), _) => Some(deadline::pause(limit)),
        (None, Some(_)) => Some(deadline::pause(MFA_PROMPT_TIMEOUT)),
        (None, None) => None,
    };
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let stdout_reader = std::thread::spawn(move || read_capped(stdout));
    let stderr_reader = std::thread::spawn(move || read_capped(stderr));
    let status = match limit {
        None => Some(child.wait()?),
        Some(limit) => {
            let until = std::time::Instant::now() + limit;
            loop {
                if let Some(status) = child.try_wait()? {
                    break Some(status);
                }
                if std::time::Instant::now() >= until {
                    platform::kill_group(group);
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    };
    // Killed by the deadline's watchdog: it is ending the process with its own line.
    deadline::stand_by_if_ending();
    // Killed at the limit: its whole group, so no grandchild keeps the pipes open. A
    // child that ended on its own may leave a helper of its own running (an agent);
    // its pipes are then read until they close, within the deadline.
    if status.is_none() {
        platform::kill_group(group);
    }
    let stdout = stdout_reader.join().unwrap_or_default();
    let stderr = stderr_reader.join().unwrap_or_default();
    drop(terminal);
    drop(paused);
    Ok(Finished {
        status,
        stdout,
        stderr,
    })
}

/// At most [`MAX_OUTPUT_BYTES`] of a pipe; the rest is drained, so the child never
/// blocks on a full pipe.
fn read_capped(mut pipe: impl Read) -> Vec<u8> {
    let mut kept = Vec::new();
    let _ = (&mut pipe).take(MAX_OUTPUT_BYTES).read_to_end(&mut kept);
    let _ = std::io::copy(&mut pipe, &mut std::io::sink());
    kept
}

/// The SDK's credential_process JSON (aws-config `parse_credential_process_json_credentials`).
pub fn parse(text: &str) -> Result<Credentials, ProcessError> {
    let value: serde_json::Value = serde_json::from_str(text.trim())
        .map_err(|e| ProcessError::Output(format!("not JSON ({e})")))?;
    let fields = value
        .as_object()
        .ok_or_else(|| ProcessError::Output("not a JSON object".into()))?;
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let string = |name: &'static str| -> Result<Option<String>, ProcessError> {
        match get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ProcessError::Output(format!("{name} is not a string"))),
        }
    };
    match get("Version").and_then(serde_json::Value::as_i64) {
        Some(1) => {}
        Some(other) => return Err(ProcessError::Output(format!("unknown Version {other}"))),
        None => return Err(ProcessError::Output("Version is missing".into())),
    }
    let access_key_id = string("AccessKeyId")?
        .ok_or_else(|| ProcessError::Output("AccessKeyId is missing".into()))?;
    let secret_access_key = string("SecretAccessKey")?
        .ok_or_else(|| ProcessError::Output("SecretAccessKey is missing".into()))?;
    // Remembered before anything below can fail and say why.
    crate::text::remember_secret(&secret_access_key);
    let session_token = string("SessionToken")?;
    if let Some(token) = &session_token {
        crate::text::remember_secret(token);
    }
    let expiry = match string("Expiration")? {
        Some(text) => Some(
            aws_smithy_types::DateTime::from_str(
                &text,
                aws_smithy_types::date_time::Format::DateTime,
            )
            .ok()
            .and_then(|time| std::time::SystemTime::try_from(time).ok())
            .ok_or_else(|| ProcessError::Output(format!("Expiration {text:?} is not a time")))?,
        ),
        None => None,
    };
    Ok(super::entered(Credentials::new(
        access_key_id,
        secret_access_key,
        session_token,
        expiry,
        "CredentialProcess",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_json_is_read_as_the_sdk_reads_it() {
        let creds = parse(
            r#"{"Version": 1, "accesskeyid": "AKID", "SecretAccessKey": "s3cret-key",
                "SessionToken": "tok-en", "Expiration": "2030-05-02T18:36:00Z"}"#,
        )
        .unwrap();
        assert_eq!(creds.access_key_id(), "AKID");
        assert_eq!(creds.session_token(), Some("tok-en"));
        assert!(creds.expiry().is_some());
        for bad in [
            "not json",
            r#"{"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "S"}"#,
            r#"{"AccessKeyId": "A", "SecretAccessKey": "S"}"#,
            r#"{"Version": 1, "SecretAccessKey": "S"}"#,
            r#"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "Expiration": "soon"}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_failing_process_says_its_status_and_first_stderr_line() {
        let err = run("echo 'no such profile' >&2; exit 3").unwrap_err();
        assert_eq!(
            err.to_string(),
            "it exited with exit status: 3: no such profile"
        );
        let creds = run(r#"echo '{"Version":1,"AccessKeyId":"A","SecretAccessKey":"S"}'"#).unwrap();
        assert_eq!(creds.access_key_id(), "A");
    }
}
