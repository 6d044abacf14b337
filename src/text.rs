//! Text that leaves the process for a person: one line, no control characters, of
//! bounded length, with every secret this process handled scrubbed out.
//!
//! Values in our messages come from places we do not control — an endpoint's error
//! code and message, names in the user's files — and a terminal obeys escape
//! sequences (OSC 52 clipboard writes, title changes, `\r` line rewrites). So every
//! line printed for a person goes through [`for_person`], and the log through
//! [`scrub`]. Secrets are remembered as they are handled ([`remember_secret`]:
//! source keys, role keys and session tokens, ECR passwords), so even an endpoint
//! that echoes one back cannot get it printed.

use std::sync::Mutex;

/// The name every message starts with, so the user knows who is speaking inside docker's output.
pub const PROGRAM: &str = "docker-credential-ecr-role";

/// The most a printed line carries (the rest is cut, with `…`).
pub const MAX_LINE_CHARS: usize = 1024;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers a secret so no output line can carry it.
pub fn remember_secret(value: &str) {
    if value.len() >= 4
        && let Ok(mut secrets) = SECRETS.lock()
        && !secrets.iter().any(|s| s == value)
    {
        secrets.push(value.to_string());
    }
}

/// Replaces every remembered secret in `line` with `REDACTED`.
pub fn scrub(mut line: String) -> String {
    if let Ok(secrets) = SECRETS.lock() {
        for s in secrets.iter() {
            if line.contains(s.as_str()) {
                line = line.replace(s.as_str(), "REDACTED");
            }
        }
    }
    line
}

/// Whether a character may not reach a terminal or a log as it is: control
/// characters (escape sequences, `\r` rewrites, new lines) and the bidi embedding,
/// override and isolate controls (U+202A–202E, U+2066–2069), which reorder what a
/// person reads. The one rule every cleaner here applies.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// One line for a terminal: unsafe characters ([`is_unsafe_char`]) become spaces,
/// at most `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 4));
    for (n, c) in text.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        out.push(if is_unsafe_char(c) { ' ' } else { c });
    }
    out.trim().to_string()
}

/// A multi-line report for a terminal: each line cleaned as [`clean`] cleans (tabs
/// and leading spaces stay, reports align with them), new lines kept, secrets scrubbed.
pub fn clean_report(text: &str) -> String {
    let text = scrub(text.to_string());
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        out.extend(body.chars().map(|c| {
            if is_unsafe_char(c) && c != '\t' {
                ' '
            } else {
                c
            }
        }));
        out.push_str(newline);
    }
    out
}

/// A message as a person may see it: secrets scrubbed, one clean bounded line.
pub fn for_person(message: &str) -> String {
    clean(&scrub(message.to_string()), MAX_LINE_CHARS)
}

/// A writer for what a command prints on stdout (doctor, setup, registries, login,
/// policy, the man page): each line goes out as soon as it is complete, scrubbed of
/// every remembered secret and cleaned by [`clean_report`], so a slow `doctor` shows
/// its lines as they come. The first failed write is kept and [`Scrubbed::finish`]
/// returns it: a full disk or a closed pipe is never mistaken for success.
pub struct Scrubbed<W: std::io::Write> {
    out: W,
    buffer: Vec<u8>,
    error: Option<std::io::Error>,
}

impl<W: std::io::Write> Scrubbed<W> {
    /// Wraps `out`.
    pub fn new(out: W) -> Self {
        Scrubbed {
            out,
            buffer: Vec::new(),
            error: None,
        }
    }

    /// Writes what is left (a last line without a new line) and flushes; the first
    /// write error of the whole output, if any.
    pub fn finish(mut self) -> std::io::Result<()> {
        let rest = std::mem::take(&mut self.buffer);
        self.emit(&rest);
        if self.error.is_none()
            && let Err(e) = self.out.flush()
        {
            self.error = Some(e);
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn emit(&mut self, bytes: &[u8]) {
        if bytes.is_empty() || self.error.is_some() {
            return;
        }
        let text = clean_report(&String::from_utf8_lossy(bytes));
        if let Err(e) = self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
        {
            self.error = Some(e);
        }
    }
}

impl<W: std::io::Write> std::io::Write for Scrubbed<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if let Some(end) = self.buffer.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = self.buffer.drain(..=end).collect();
            self.emit(&lines);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A message as the program says it: its name first, then the message, for a person
/// (see [`for_person`]). The one place the name is put in front of a message.
pub fn line(message: impl std::fmt::Display) -> String {
    for_person(&format!("{PROGRAM}: {message}"))
}

/// Says a warning on stderr (docker passes a helper's stderr to the terminal).
pub fn warn(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let line = line(format_args!("warning: {message}"));
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_becomes_one_harmless_line() {
        let osc52 = "AccessDenied\u{1b}]52;c;ZXZpbA==\u{7}\r\u{1b}[2Kall good\nsecond line";
        let line = clean(osc52, 100);
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(!line.contains('\n'));
        let long = "x".repeat(200_000);
        assert_eq!(
            clean(&long, MAX_LINE_CHARS).chars().count(),
            MAX_LINE_CHARS + 1
        );
        assert_eq!(clean("a\u{202e}b", 10), "a b");
    }

    #[test]
    fn a_report_goes_out_line_by_line_and_its_first_write_error_is_kept() {
        use std::io::Write;
        let mut out = Scrubbed::new(Vec::new());
        write!(out, "one\ntwo").unwrap();
        assert_eq!(out.out, b"one\n");
        assert!(out.finish().is_ok());

        struct Full;
        impl std::io::Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::from_raw_os_error(28))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut full = Scrubbed::new(Full);
        writeln!(full, "lost").unwrap();
        assert_eq!(full.finish().unwrap_err().raw_os_error(), Some(28));
    }

    #[test]
    fn reports_lose_bidi_controls_and_escapes_but_keep_their_layout() {
        let report = "  profile\tp\u{202e}1\u{2066}x\n\u{1b}]52;c;ZXZpbA==\u{7}ok\n";
        let cleaned = clean_report(report);
        assert_eq!(cleaned, "  profile\tp 1 x\n ]52;c;ZXZpbA== ok\n");
    }

    #[test]
    fn remembered_secrets_are_scrubbed() {
        remember_secret("s3cr3t-value");
        assert_eq!(
            for_person("token s3cr3t-value and s3cr3t-value"),
            "token REDACTED and REDACTED"
        );
    }
}
