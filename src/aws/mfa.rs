//! Asking for an MFA code. Docker owns stdin (the server URL arrives there), so the
//! question goes to the controlling terminal, `/dev/tty`, with the MFA device in the
//! prompt. Without a terminal (CI, a GUI) it fails at once, saying which command to
//! run in a terminal instead (`login`), rather than waiting on a pipe forever.

use std::io::{BufRead, BufReader, Write};

use super::AwsError;

/// Reads a 6-digit code for `serial` from the terminal.
pub fn ask_code(profile: &str, serial: &str) -> Result<String, AwsError> {
    let no_terminal = || AwsError::MfaNoTerminal {
        profile: profile.to_string(),
        serial: serial.to_string(),
    };
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| no_terminal())?;
    let mut writer = tty.try_clone().map_err(|_| no_terminal())?;
    write!(writer, "MFA code for {serial} (profile {profile}): ").map_err(|_| no_terminal())?;
    let _ = writer.flush();
    let mut line = String::new();
    BufReader::new(std::io::Read::take(tty, 64))
        .read_line(&mut line)
        .map_err(|_| no_terminal())?;
    let code = line.trim().to_string();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AwsError::MfaBadCode {
            serial: serial.to_string(),
        });
    }
    Ok(code)
}
