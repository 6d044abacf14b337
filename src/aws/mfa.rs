//! Getting an MFA code for a role that needs one, from the first source that applies:
//!
//! 1. the profile's `mfa_process` (read as aws-vault reads it; the AWS SDKs ignore
//!    the key): a command whose stdout is the code (`ykman oath accounts code
//!    --single …`, `op item get … --otp`, `oathtool --totp -b …`). It runs as
//!    `credential_process` does (`sh -c`, no stdin), in a process group of its own,
//!    killed when the prompt's limit passes; its stdout is capped, its stderr goes
//!    only to the debug log (scrubbed);
//! 2. the desktop prompt chosen with `ECR_ROLE_MFA_PROMPT` or the settings'
//!    `mfa_prompt` (global or per registry): `zenity`, `kdialog` or `osascript`
//!    (aws-vault's names), for IDEs and Docker Desktop, which have no terminal;
//! 3. the terminal (`/dev/tty`; docker owns stdin), the default;
//! 4. else a clear error saying which setting would work.
//!
//! Every source waits at most [`timeout`] (60 s, `ECR_ROLE_MFA_TIMEOUT`), and the
//! `get` deadline is held back meanwhile. Concurrent `get`s ask one at a time (the
//! caller holds [`crate::cache::Cache::prompt_turn`]), so codes go to one process.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::AwsError;
use crate::deadline;
use crate::platform;
use crate::text::{PROGRAM, clean};

/// A way to ask a person for a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// `/dev/tty`.
    Terminal,
    /// GNOME's dialog (`zenity --entry`).
    Zenity,
    /// KDE's dialog (`kdialog --inputbox`).
    Kdialog,
    /// macOS (`osascript`: `display dialog`).
    Osascript,
}

impl Prompt {
    /// The setting's value for a prompt.
    pub fn parse(name: &str) -> Option<Prompt> {
        match name.trim().to_ascii_lowercase().as_str() {
            "terminal" => Some(Prompt::Terminal),
            "zenity" => Some(Prompt::Zenity),
            "kdialog" => Some(Prompt::Kdialog),
            "osascript" => Some(Prompt::Osascript),
            _ => None,
        }
    }

    /// Its name, as the settings write it.
    pub fn name(self) -> &'static str {
        match self {
            Prompt::Terminal => "terminal",
            Prompt::Zenity => "zenity",
            Prompt::Kdialog => "kdialog",
            Prompt::Osascript => "osascript",
        }
    }
}

/// The prompt this process uses: chosen once by the command from the settings (see
/// [`choose_prompt`]); the terminal unless something chose otherwise.
static CHOSEN: OnceLock<Result<Prompt, String>> = OnceLock::new();

/// Chooses the prompt for this process, from `ECR_ROLE_MFA_PROMPT` or the settings'
/// `mfa_prompt` (the first call wins). An unknown name is reported when a code is needed.
pub fn choose_prompt(setting: Option<String>) {
    let _ = CHOSEN.set(match setting {
        None => Ok(Prompt::Terminal),
        Some(name) => Prompt::parse(&name).ok_or(name),
    });
}

fn chosen() -> Result<Prompt, AwsError> {
    CHOSEN
        .get_or_init(|| Ok(Prompt::Terminal))
        .clone()
        .map_err(|name| AwsError::MfaPromptUnknown { name })
}

/// How long a code may take to come, from any source: `ECR_ROLE_MFA_TIMEOUT` seconds
/// (1 to 300), else [`deadline::MFA_PROMPT_TIMEOUT`].
pub fn timeout() -> Duration {
    timeout_from(crate::settings::env_nonempty(
        crate::settings::ENV_MFA_TIMEOUT,
    ))
}

/// [`timeout`] for a value of `ECR_ROLE_MFA_TIMEOUT`.
fn timeout_from(value: Option<String>) -> Duration {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=300).contains(s))
        .map_or(deadline::MFA_PROMPT_TIMEOUT, Duration::from_secs)
}

/// Where a profile's code will come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The profile's `mfa_process`.
    Process(String),
    /// A desktop dialog.
    Dialog(Prompt),
    /// The terminal.
    Terminal,
    /// Nothing can ask: no `mfa_process`, no dialog chosen, no terminal.
    Nothing,
}

impl Source {
    /// The source for a profile with this `mfa_process` (if any), in this process.
    pub fn for_profile(mfa_process: Option<&str>) -> Result<Source, AwsError> {
        if let Some(command) = mfa_process.filter(|c| !c.trim().is_empty()) {
            return Ok(Source::Process(command.to_string()));
        }
        Ok(match chosen()? {
            Prompt::Terminal if has_terminal() => Source::Terminal,
            Prompt::Terminal => Source::Nothing,
            dialog => Source::Dialog(dialog),
        })
    }

    /// What `doctor` says of it: the source, and whether its program is there.
    pub fn describe(&self) -> (bool, String) {
        match self {
            Source::Process(command) => {
                let program = command.split_whitespace().next().unwrap_or("");
                match resolve(program) {
                    Some(path) => (true, format!("mfa_process `{command}` ({path})")),
                    None => (
                        false,
                        format!(
                            "mfa_process `{command}`: {program} is not found (use an absolute path: Docker Desktop and apps started from the Dock have launchd's PATH)"
                        ),
                    ),
                }
            }
            Source::Dialog(prompt) => match resolve(prompt.name()) {
                Some(path) => (true, format!("a {} dialog ({path})", prompt.name())),
                None => (
                    false,
                    format!(
                        "a {} dialog, but {} is not installed",
                        prompt.name(),
                        prompt.name()
                    ),
                ),
            },
            Source::Terminal => (true, "the terminal".into()),
            Source::Nothing => (false, no_source_advice()),
        }
    }
}

/// A program on PATH (or an absolute path that exists), as `sh` would find it.
fn resolve(program: &str) -> Option<String> {
    if program.contains('/') {
        return std::path::Path::new(program)
            .is_file()
            .then(|| program.to_string());
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .map(|path| path.display().to_string())
}

/// Whether this process can ask on a terminal (it has one and is in its foreground).
fn has_terminal() -> bool {
    std::fs::File::open("/dev/tty").is_ok_and(|tty| platform::in_foreground(tty.as_fd()))
}

fn no_source_advice() -> String {
    format!(
        "no terminal to ask on: set `mfa_process` in the profile, or ECR_ROLE_MFA_PROMPT (or `mfa_prompt` in the settings) to zenity, kdialog or osascript, or run `{PROGRAM} login` in a terminal"
    )
}

/// The code for `serial` of `profile`, from the first source that applies (see the
/// module's note); six digits, or a clear error naming the profile.
pub fn code_for(
    profile: &str,
    serial: &str,
    mfa_process: Option<&str>,
) -> Result<String, AwsError> {
    let code = match Source::for_profile(mfa_process)? {
        Source::Process(command) => from_process(profile, serial, &command)?,
        Source::Dialog(prompt) => from_dialog(prompt, profile, serial)?,
        Source::Terminal => ask_code(profile, serial)?,
        Source::Nothing => {
            return Err(AwsError::MfaNoTerminal {
                profile: profile.to_string(),
                serial: serial.to_string(),
            });
        }
    };
    let code = code.trim().to_string();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AwsError::MfaBadCode {
            serial: serial.to_string(),
        });
    }
    Ok(code)
}

/// Runs the profile's `mfa_process`.
fn from_process(profile: &str, serial: &str, command: &str) -> Result<String, AwsError> {
    let failed = |detail: String| AwsError::MfaProcess {
        profile: profile.to_string(),
        detail,
    };
    let limit = timeout();
    let mut sh = Command::new("sh");
    sh.args(["-c", command]);
    let done = super::process::run_child(sh, Some(limit), true)
        .map_err(|e| failed(format!("cannot start it: {e}")))?;
    let stderr = String::from_utf8_lossy(&done.stderr);
    if !stderr.trim().is_empty() {
        crate::log::debug!("mfa_process of profile {profile} said on stderr: {stderr}");
    }
    let Some(status) = done.status else {
        return Err(failed(format!(
            "it gave no code within {} s and was stopped",
            limit.as_secs()
        )));
    };
    if !status.success() {
        return Err(failed(format!("it exited with {status}")));
    }
    let code = String::from_utf8_lossy(&done.stdout).trim().to_string();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        // Never what it printed: a misconfigured command may print a password.
        return Err(failed(format!(
            "it printed {} characters, not a 6-digit code for {serial}",
            code.chars().count()
        )));
    }
    Ok(code)
}

/// The question every prompt asks.
fn question(profile: &str, serial: &str) -> String {
    format!(
        "MFA code for {} (profile {})",
        clean(serial, 200),
        clean(profile, 200)
    )
}

/// An AppleScript string literal of `text`: backslashes and quotes escaped.
pub fn applescript_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The command line of a desktop dialog that asks the question and prints the answer.
pub fn dialog_command(prompt: Prompt, question: &str, seconds: u64) -> Command {
    let mut command;
    match prompt {
        Prompt::Zenity => {
            command = Command::new("zenity");
            command.args(["--entry", "--title", PROGRAM, "--text", question]);
            command.arg(format!("--timeout={seconds}"));
        }
        Prompt::Kdialog => {
            command = Command::new("kdialog");
            command.args(["--title", PROGRAM, "--inputbox", question]);
        }
        Prompt::Osascript | Prompt::Terminal => {
            command = Command::new("osascript");
            command.args([
                "-e",
                &format!(
                    "text returned of (display dialog {} default answer \"\" with title {} giving up after {seconds})",
                    applescript_string(question),
                    applescript_string(PROGRAM)
                ),
            ]);
        }
    }
    command
}

/// Asks in a desktop dialog.
fn from_dialog(prompt: Prompt, profile: &str, serial: &str) -> Result<String, AwsError> {
    let limit = timeout();
    let command = dialog_command(prompt, &question(profile, serial), limit.as_secs());
    let done = super::process::run_child(command, Some(limit), false).map_err(|e| {
        AwsError::MfaDialog {
            prompt: prompt.name(),
            detail: format!("cannot start it: {e}"),
        }
    })?;
    let timed_out = || AwsError::MfaTimeout {
        serial: serial.to_string(),
        seconds: limit.as_secs(),
    };
    let Some(status) = done.status else {
        return Err(timed_out());
    };
    let stderr = String::from_utf8_lossy(&done.stderr);
    let answer = String::from_utf8_lossy(&done.stdout).trim().to_string();
    match (prompt, status.code()) {
        (_, Some(0)) if !answer.is_empty() => Ok(answer),
        // zenity's exit status for --timeout.
        (Prompt::Zenity, Some(5)) => Err(timed_out()),
        // osascript's `giving up after` answers an empty text.
        (Prompt::Osascript, Some(0)) => Err(timed_out()),
        (_, Some(1)) if prompt != Prompt::Osascript || stderr.contains("-128") => {
            Err(AwsError::MfaCancelled {
                profile: profile.to_string(),
            })
        }
        _ => Err(AwsError::MfaDialog {
            prompt: prompt.name(),
            detail: format!("it exited with {status}: {}", clean(stderr.trim(), 200)),
        }),
    }
}

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
    let limit = timeout();
    let started = Instant::now();
    let paused = deadline::pause(limit);
    write!(tty, "{}: ", question(profile, serial)).map_err(|_| no_terminal())?;
    let _ = tty.flush();
    let line = read_line_within(&mut tty, limit.saturating_sub(started.elapsed()));
    drop(paused);
    line.ok_or(AwsError::MfaTimeout {
        serial: serial.to_string(),
        seconds: limit.as_secs(),
    })
}

/// One line (at most 64 bytes) from the terminal, or `None` if none came in time.
fn read_line_within(tty: &mut std::fs::File, limit: Duration) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_waited_for_60_s_unless_1_to_300_s_are_set() {
        assert_eq!(timeout_from(None), Duration::from_secs(60));
        assert_eq!(timeout_from(Some("3".into())), Duration::from_secs(3));
        for ignored in ["0", "301", "soon", "-1"] {
            assert_eq!(timeout_from(Some(ignored.into())), Duration::from_secs(60));
        }
    }

    #[test]
    fn prompt_names_are_aws_vaults() {
        for name in ["terminal", "zenity", "kdialog", "osascript"] {
            assert_eq!(Prompt::parse(name).unwrap().name(), name);
        }
        assert_eq!(Prompt::parse(" Zenity "), Some(Prompt::Zenity));
        assert_eq!(Prompt::parse("ykman"), None);
    }

    #[test]
    fn applescript_strings_escape_quotes_and_backslashes() {
        assert_eq!(
            applescript_string(r#"profile "a\b""#),
            r#""profile \"a\\b\"""#
        );
    }

    #[test]
    fn an_mfa_process_source_wins_over_any_prompt() {
        assert_eq!(
            Source::for_profile(Some("oathtool --totp -b X")).unwrap(),
            Source::Process("oathtool --totp -b X".into())
        );
    }
}
