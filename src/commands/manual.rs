//! `completions SHELL` and `man`: the shell completions and the man page, generated
//! from the command-line definitions themselves ([`crate::cli`]), so they never
//! disagree with `--help`. Every install route installs both.
//!
//! The man page is one page for the whole program: every command with its options,
//! then the environment variables, the files (Linux and macOS paths) and the exit
//! status. It names no other page of ours, so no reference can dangle (clap_mangen's
//! own page would cite a `docker-credential-ecr-role-<command>(1)` page per command).
//! Never on docker's path: the protocol verbs skip clap altogether.

use std::io::Write;

use clap::CommandFactory;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Cli;
use crate::text::PROGRAM;

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut impl Write) -> std::io::Result<bool> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), PROGRAM, &mut script);
    written(out.write_all(&script).and_then(|()| out.flush()))
}

/// Writes the man page (section 1, roff).
pub fn man(out: &mut impl Write) -> std::io::Result<bool> {
    let page = page()?;
    written(out.write_all(&page).and_then(|()| out.flush()))
}

/// The environment variables the helper reads, with what each changes.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "ECR_ROLE_PROFILE",
        "The AWS profile for this command; wins over every mapping in the settings.",
    ),
    (
        "ECR_ROLE_CONFIG",
        "The helper's settings file (default: see FILES).",
    ),
    (
        "ECR_ROLE_CACHE_DIR",
        "The token cache directory (default: see FILES).",
    ),
    (
        "ECR_ROLE_DISABLE_CACHE, AWS_ECR_DISABLE_CACHE",
        "Set to 1 to keep no token on disk (the second is the Go helper's name for the same).",
    ),
    (
        "ECR_ROLE_LOG",
        "Turns the debug log on: a file path, or 1 for debug.log in the cache directory. Secrets are never written to it.",
    ),
    (
        "ECR_ROLE_MFA_PROMPT",
        "How to ask for an MFA code when the profile has no mfa_process: terminal (the default), zenity, kdialog or osascript; wins over mfa_prompt in the settings.",
    ),
    (
        "ECR_ROLE_MFA_TIMEOUT",
        "Seconds an MFA prompt, dialog or mfa_process may take (1 to 300, default 60).",
    ),
    (
        "DOCKER_CONFIG",
        "The directory of docker's config.json, which setup, registries and doctor read and edit.",
    ),
    (
        "HOME",
        "The home directory; when it is unset or relative, the home of the uid in /etc/passwd.",
    ),
    (
        "AWS_PROFILE",
        "The profile when neither ECR_ROLE_PROFILE nor the settings choose one.",
    ),
    (
        "AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE",
        "The AWS config and credentials files, as for the AWS CLI.",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
        "Keys from the environment, as the AWS SDK reads them.",
    ),
    (
        "AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_SESSION_NAME",
        "A web identity (EKS IRSA), as the AWS SDK reads it.",
    ),
    (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "Container credentials (ECS, EKS Pod Identity).",
    ),
    (
        "AWS_EC2_METADATA_DISABLED, AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
        "The instance metadata service, as the AWS SDK reads it.",
    ),
    (
        "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_ECR_PUBLIC, AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL_SSO_OIDC, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "Endpoint overrides (a VPC endpoint, a test emulator); part of the cache key.",
    ),
    (
        "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
        "An HTTP proxy for the calls to AWS, as the AWS SDK reads it; loopback, link-local (169.254.0.0/16) and fd00:ec2::/64 addresses are never proxied.",
    ),
];

/// The files the helper reads or writes: (what, Linux path, macOS path).
const FILES: &[(&str, &str, &str)] = &[
    (
        "The helper's settings (default profile, registry to profile mapping)",
        "~/.config/docker-credential-ecr-role/config.json ($XDG_CONFIG_HOME)",
        "~/Library/Application Support/docker-credential-ecr-role/config.json",
    ),
    (
        "The token cache (0700; tokens, kept role sessions and locks, 0600)",
        "~/.cache/docker-credential-ecr-role/ ($XDG_CACHE_HOME)",
        "~/Library/Caches/docker-credential-ecr-role/",
    ),
    (
        "The debug log, with ECR_ROLE_LOG=1 (rotated to debug.log.1 at 1 MiB)",
        "~/.cache/docker-credential-ecr-role/debug.log",
        "~/Library/Caches/docker-credential-ecr-role/debug.log",
    ),
    (
        "Docker's configuration (credHelpers)",
        "~/.docker/config.json ($DOCKER_CONFIG)",
        "~/.docker/config.json ($DOCKER_CONFIG)",
    ),
    (
        "The AWS profiles and keys",
        "~/.aws/config, ~/.aws/credentials",
        "~/.aws/config, ~/.aws/credentials",
    ),
];

/// The exit statuses, as the README documents them.
const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Done; also when the reader of the output went away early (a broken pipe).",
    ),
    (
        "1",
        "The helper could not do its job: no credentials, a denied role, an unreadable file, a failed write. One line says why and what to do.",
    ),
    (
        "2",
        "The command line was refused (an unknown command or option, a value that is not valid).",
    ),
];

/// The whole page: clap's sections for the program, one subsection per command,
/// then the sections clap does not know.
fn page() -> std::io::Result<Vec<u8>> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let date = env!("ECR_ROLE_DATE");
    let man = clap_mangen::Man::new(command.clone()).date(if date.is_empty() {
        env!("CARGO_PKG_VERSION")
    } else {
        date
    });
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;

    Roff::new()
        .control("SH", ["COMMANDS"])
        .to_writer(&mut page)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{PROGRAM} {}", sub.get_name());
        let sub = sub.clone().bin_name(&name).display_name(&name);
        let man = clap_mangen::Man::new(sub.clone());
        Roff::new()
            .control("SS", [name.as_str()])
            .to_writer(&mut page)?;
        let mut part = Vec::new();
        man.render_synopsis_section(&mut part)?;
        man.render_description_section(&mut part)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut part)?;
        }
        // Inside a command's subsection its parts are paragraphs, not sections (the
        // first, the synopsis, follows the subsection's heading directly).
        // Each rendered part repeats the page's preamble (the `Aq` string): kept once.
        let mut first = true;
        for line in String::from_utf8_lossy(&part).lines() {
            if line.ends_with(".ds Aq \\(aq") || line.ends_with(".ds Aq '") {
                continue;
            }
            if let Some(heading) = line.strip_prefix(".SH ") {
                if std::mem::take(&mut first) {
                    continue;
                }
                if heading.trim_matches('"') == "OPTIONS" {
                    Roff::new()
                        .control("PP", [])
                        .text([italic("Options:")])
                        .to_writer(&mut page)?;
                } else {
                    Roff::new().control("PP", []).to_writer(&mut page)?;
                }
            } else {
                page.extend_from_slice(line.as_bytes());
                page.push(b'\n');
            }
        }
    }

    let mut roff = Roff::new();
    roff.control("SH", ["ENVIRONMENT"]);
    for (name, what) in ENVIRONMENT {
        roff.control("TP", [])
            .text([bold(*name)])
            .text([roman(*what)]);
    }
    roff.control("SH", ["FILES"]);
    for (what, linux, macos) in FILES {
        roff.control("TP", []).text([roman(*what)]);
        roff.text([roman("Linux: "), italic(*linux)])
            .control("br", []);
        roff.text([roman("macOS: "), italic(*macos)]);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (status, what) in EXIT_STATUS {
        roff.control("TP", [])
            .text([bold(*status)])
            .text([roman(*what)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("docker"),
        roman("(1), "),
        bold("aws"),
        roman("(1); the README and SECURITY.md installed with the helper."),
    ]);
    roff.to_writer(&mut page)?;
    man.render_version_section(&mut page)?;
    // clap_mangen writes a blank line between two breaks before "Possible values";
    // one paragraph space says the same without a lint warning.
    let page = String::from_utf8_lossy(&page).replace("\n.br\n\n.br\n", "\n.sp\n");
    Ok(page.into_bytes())
}

/// A reader that stopped reading (`| head`) is not an error.
fn written(result: std::io::Result<()>) -> std::io::Result<bool> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
        other => other.map(|()| true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> String {
        String::from_utf8(page().unwrap()).unwrap()
    }

    #[test]
    fn the_page_documents_every_command_and_its_options() {
        let page = text();
        for sub in Cli::command()
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
        {
            assert!(
                page.contains(&format!(".SS \"{PROGRAM} {}\"", sub.get_name()))
                    || page.contains(&format!(".SS {PROGRAM} {}", sub.get_name())),
                "no subsection for {}",
                sub.get_name()
            );
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    assert!(
                        page.contains(&format!("\\-\\-{}", long.replace('-', "\\-"))),
                        "{} --{long} is not on the page",
                        sub.get_name()
                    );
                }
            }
        }
        for section in ["ENVIRONMENT", "FILES", "EXIT STATUS"] {
            assert!(
                page.contains(&format!(".SH \"{section}\""))
                    || page.contains(&format!(".SH {section}")),
                "{section}"
            );
        }
    }

    #[test]
    fn every_environment_variable_the_sources_read_is_documented() {
        let page = text().replace("\\-", "-").replace("\\_", "_");
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for quoted in text.split('"').skip(1).step_by(2) {
                let is_var = ["ECR_ROLE_", "AWS_"].iter().any(|p| quoted.starts_with(p))
                    && quoted
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                    && !["ECR_ROLE_VERSION", "ECR_ROLE_DATE"].contains(&quoted);
                if is_var {
                    assert!(
                        page.contains(quoted),
                        "{quoted} (read in {}) is not in ENVIRONMENT",
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn the_page_names_no_other_page_of_ours() {
        assert!(
            !text().contains(&format!("{PROGRAM}\\-")),
            "a reference to a sub-page"
        );
    }
}
