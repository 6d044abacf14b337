//! Asking for an MFA code. Docker owns stdin (the server URL arrives there), so the
//! question goes to the controlling terminal, `/dev/tty`, with the MFA device in the
//! prompt. Without a terminal (CI, a GUI) it fails at once, saying which command to
//! run in a terminal instead (`login`), rather than waiting on a pipe forever.
//! The prompt waits at most [`MFA_PROMPT_TIMEOUT`]; while it waits, the `get`
//! deadline moves with it. Concurrent `get`s prompt one at a time (the caller holds
//! [`crate::cache::Cache::prompt_turn`]), so codes typed into one terminal go to one process.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::time::Instant;

use super::AwsError;
use crate::deadline::{self, MFA_PROMPT_TIMEOUT};
use crate::platform;
use crate::text::clean;

/// Reads a 6-digit code for `serial` from the terminal.
pub fn ask_code(profile: &str, serial: &str) -> Result<String, AwsError> {
    let no_terminal = || AwsError::MfaNoTerminal {
        profile: profile.to_string(),
        serial: serial.to_string(),
    };
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| no_terminal())?;
    // A `docker push &` in the background would be stopped by SIGTTIN at the read,
    // and every bound with it: only the terminal's foreground process group is asked.
    if !platform::in_foreground(tty.as_fd()) {
        return Err(no_terminal());
    }
    let started = Instant::now();
    let paused = deadline::pause(MFA_PROMPT_TIMEOUT);
    write!(
        tty,
        "MFA code for {} (profile {}): ",
        clean(serial, 200),
        clean(profile, 200)
    )
    .map_err(|_| no_terminal())?;
    let _ = tty.flush();
    let line = read_line_within(
        &mut tty,
        MFA_PROMPT_TIMEOUT.saturating_sub(started.elapsed()),
    );
    drop(paused);
    let line = line.ok_or(AwsError::MfaTimeout {
        serial: serial.to_string(),
        seconds: MFA_PROMPT_TIMEOUT.as_secs(),
    })?;
    let code = line.trim().to_string();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AwsError::MfaBadCode {
            serial: serial.to_string(),
        });
    }
    Ok(code)
}

/// One line (at most 64 bytes) from the terminal, or `None` if none came in time.
fn read_line_within(tty: &mut std::fs::File, limit: std::time::Duration) -> Option<String> {
    let until = Instant::now() + limit;
    let mut line = Vec::new();
    while line.len() < 64 && !line.ends_with(b"\n") {
        let left = until.saturating_duration_since(Instant::now());
        if !platform::wait_readable(tty.as_fd(), left) {
            return None;
        }
        let mut byte = [0u8; 1];
        match tty.read(&mut byte) {
            Ok(1) => line.push(byte[0]),
            _ => break,
        }
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}
