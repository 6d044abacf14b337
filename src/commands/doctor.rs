//! `doctor [REGISTRY]`: checks each link of the chain a `docker push` goes
//! through and says which one is broken and how to fix it: docker's wiring, the
//! helper on PATH, which profile and why, the source credentials (never shown),
//! who they are, the role switch, who the role is, the ECR token, the cache.
//! The exit status says whether every check passed; `--json` is for scripts.

use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use crate::aws::credentials::{self, Step};
use crate::aws::{self, AwsError, assume_role, ecr};
use crate::cache::Freshness;
use crate::clock::now_secs;
use crate::context::{self, Context};
use crate::docker_config::{docker_config_path, helper_suffix, on_path, read_docker_config};
use crate::home::tilde;
use crate::identity::{ChosenBy, Identity};
use crate::registry::{Registry, host_of};
use crate::settings::Settings;
use crate::text::PROGRAM;
use aws_sdk_sts::config::Credentials;

/// One link of the chain.
#[derive(Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// `ok`, `fail`, `warn` or `info`.
    pub status: &'static str,
    /// What was found (never a secret).
    pub detail: String,
    /// What to do, for a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: "ok",
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: Option<String>) -> Check {
        Check {
            name,
            status: "fail",
            detail: detail.into(),
            fix,
        }
    }
    fn warn(name: &'static str, detail: impl Into<String>, fix: Option<String>) -> Check {
        Check {
            name,
            status: "warn",
            detail: detail.into(),
            fix,
        }
    }
    fn info(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: "info",
            detail: detail.into(),
            fix: None,
        }
    }
}

/// Why doctor could not even start.
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error(
        "give a registry (doctor ACCOUNT.dkr.ecr.REGION.amazonaws.com), or wire one first with `{program} setup`: there is no registry to check",
        program = crate::text::PROGRAM
    )]
    NoRegistry,
    #[error(transparent)]
    Start(#[from] super::StartError),
    #[error(transparent)]
    Runtime(#[from] AwsError),
}

impl super::CommandError for DoctorError {
    /// A host that is not ECR is a refused argument (2); the rest, 1.
    fn exit_code(&self) -> u8 {
        match self {
            DoctorError::Start(e) => super::CommandError::exit_code(e),
            _ => 1,
        }
    }
}

/// Runs the checks and prints the report; `Ok(true)` if all passed.
pub fn run(registry: Option<&str>, json: bool, out: &mut impl Write) -> Result<bool, DoctorError> {
    let ctx = super::load_context()?;
    let docker_config = docker_config_path();
    let docker_doc = read_docker_config(&docker_config);
    let suffix = helper_suffix();
    // Without a registry: every one docker hands to this helper (a legacy `docker build`
    // and the docker SDK's `images.build` ask for all of them, and one broken entry
    // breaks them), else every one the settings map.
    let servers = match registry {
        Some(r) => vec![r.to_string()],
        None => wired_registries(docker_doc.as_ref(), &suffix, &ctx.settings),
    };
    if servers.is_empty() {
        return Err(DoctorError::NoRegistry);
    }
    // Bounded like `get` (each AWS call is, too): a hanging credential_process or
    // endpoint ends the run with one line instead of leaving it silent.
    crate::deadline::arm_for(
        crate::deadline::DOCTOR_DEADLINE,
        crate::text::line(format_args!(
            "doctor: no answer within {} s (a credential_process or the AWS endpoint took too long); the checks above are the ones that finished",
            crate::deadline::DOCTOR_DEADLINE.as_secs()
        )),
    );
    let ok = |checks: &[Check]| checks.iter().all(|c| c.status != "fail");
    let mut reports = Vec::new();
    for (n, server) in servers.iter().enumerate() {
        let registry = super::ecr_registry(server, &ctx)?;
        if !json {
            let gap = if n > 0 { "\n" } else { "" };
            let _ = writeln!(out, "{gap}{PROGRAM} doctor: {server}");
        }
        let mut show = |check: &Check| {
            if !json {
                let _ = out.write_all(render_check(check).as_bytes());
            }
        };
        let checks = check_registry(
            &ctx,
            docker_doc.as_ref(),
            &docker_config,
            &suffix,
            &registry,
            &mut show,
        )?;
        if !json {
            let _ = out.write_all(verdict(ok(&checks)).as_bytes());
        }
        reports.push((server.clone(), registry, checks));
    }
    let all_ok = reports.iter().all(|(_, _, checks)| ok(checks));
    let text = if json {
        let docs: Vec<Value> = reports
            .iter()
            .map(|(_, registry, checks)| {
                serde_json::json!({"registry": registry.host, "ok": ok(checks), "checks": checks})
            })
            .collect();
        // One shape per question: a registry asked about gets its report; "all of
        // them" gets the list, however many there are.
        let doc = match (registry, docs.as_slice()) {
            (Some(_), [one]) => one.clone(),
            _ => serde_json::json!({"ok": all_ok, "registries": docs}),
        };
        serde_json::to_string_pretty(&doc).expect("JSON always serialises") + "\n"
    } else if reports.len() > 1 {
        let broken: Vec<&str> = reports
            .iter()
            .filter(|(_, _, checks)| !ok(checks))
            .map(|(server, _, _)| server.as_str())
            .collect();
        match broken.as_slice() {
            [] => format!("\n{} registries checked: all passed\n", reports.len()),
            _ => format!(
                "\n{} registries checked; broken: {} (or drop an entry you no longer use: {PROGRAM} registries --remove HOST)\n",
                reports.len(),
                broken.join(", ")
            ),
        }
    } else {
        String::new()
    };
    let _ = out.write_all(text.as_bytes());
    Ok(all_ok)
}

/// The checks of one registry, each handed to `show` as soon as it is made: a check
/// that waits on the network (or a `credential_process`) never hides the ones before it.
struct Checks<'a> {
    list: Vec<Check>,
    show: &'a mut dyn FnMut(&Check),
}

impl Checks<'_> {
    fn push(&mut self, check: Check) {
        (self.show)(&check);
        self.list.push(check);
    }
}

/// Every check of one registry.
fn check_registry(
    ctx: &Context,
    docker_doc: Option<&Value>,
    docker_config: &std::path::Path,
    suffix: &str,
    registry: &Registry,
    show: &mut dyn FnMut(&Check),
) -> Result<Vec<Check>, DoctorError> {
    let identity = ctx.identity(registry);
    let mut checks = Checks {
        list: Vec::new(),
        show,
    };
    checks.push(wiring_check(
        docker_doc,
        docker_config,
        registry,
        suffix,
        &suggested_setup(&identity, ctx),
    ));
    checks.push(match on_path(suffix) {
        Some(path) => Check::ok("helper on PATH", tilde(&path)),
        None => Check::fail(
            "helper on PATH",
            format!("docker-credential-{suffix} is not on PATH; docker will not find it"),
            Some("install it with install/install.sh, or add its directory to PATH".into()),
        ),
    });
    checks.push(profile_check(&identity));
    let profile_ok = checks.list.last().is_some_and(|c| c.status != "fail");
    if let Ok(chain) = &identity.chain {
        for hop in chain.hops.iter().filter(|h| h.mfa_serial.is_some()) {
            checks.push(mfa_check(hop));
        }
    }
    if profile_ok {
        aws::block_on(aws_checks(ctx, registry, &identity, &mut checks))?;
    }
    checks.push(cache_check(ctx, registry, &identity));
    Ok(checks.list)
}

/// The AWS links, through the very chain `get` runs (a kept MFA role session
/// included): the source credentials and who they are, each role switch and who the
/// role is, the token.
async fn aws_checks(
    ctx: &Context,
    registry: &Registry,
    identity: &Identity,
    checks: &mut Checks<'_>,
) {
    let Ok(chain) = &identity.chain else {
        return;
    };
    let sdk = aws::load_sdk_config(identity, &ctx.profiles, registry.region()).await;
    let mut steps: Vec<(String, Option<Credentials>)> = Vec::new();
    let result = credentials::for_chain(chain, &identity.profile, &sdk, &ctx.cache, &mut |step| {
        steps.push(match step {
            Step::Base(creds) => (String::new(), Some(creds.clone())),
            Step::Role { hop, kept, .. } => (
                format!(
                    "{}{}",
                    hop.role_arn,
                    if kept { " (kept MFA session)" } else { "" }
                ),
                None,
            ),
        })
    })
    .await;
    for (role, base_creds) in &steps {
        match base_creds {
            Some(creds) => {
                checks.push(Check::ok(
                    "source credentials",
                    format!("found ({})", chain.base),
                ));
                let sts = assume_role::sts_client(&sdk, creds.clone(), None);
                match assume_role::caller_arn(&sts).await {
                    Ok(arn) => checks.push(Check::ok("caller identity", arn)),
                    Err(e) => checks.push(aws_fail("caller identity", e)),
                }
            }
            None => checks.push(Check::ok("assume role", role.clone())),
        }
    }
    let creds = match result {
        Ok(creds) => creds,
        Err(e) => {
            let name = if steps.is_empty() {
                "source credentials"
            } else {
                "assume role"
            };
            return checks.push(aws_fail(name, e));
        }
    };
    if !chain.hops.is_empty() {
        let sts = assume_role::sts_client(&sdk, creds.clone(), None);
        match assume_role::caller_arn(&sts).await {
            Ok(arn) => checks.push(Check::ok("role identity", arn)),
            Err(e) => return checks.push(aws_fail("role identity", e)),
        }
    }
    let operation = registry.token_action();
    match ecr::get_token(registry, identity, &ctx.profiles, &creds, &sdk).await {
        Ok(token) => {
            let now = now_secs();
            // The cache's own rule: what `get` would not keep is said here.
            if !context::would_be_served(now, token.expires_at) {
                return checks.push(Check::warn(
                    "ECR token",
                    format!("{operation} allowed, but the token it answered expires too soon (or has no expiry): it will not be cached, and may be refused"),
                    Some("check the clock of this machine, and the endpoint (AWS_ENDPOINT_URL)".into()),
                ));
            }
            let left = token.expires_at.unwrap_or(now).saturating_sub(now);
            let expiry = format!("expires in {}", hours_and_minutes(left));
            checks.push(Check::ok(
                "ECR token",
                format!("{operation} allowed, {expiry}"),
            ));
        }
        Err(e) => checks.push(aws_fail("ECR token", e)),
    }
}

fn aws_fail(name: &'static str, error: AwsError) -> Check {
    Check::fail(name, error.to_string(), None)
}

fn wiring_check(
    doc: Option<&Value>,
    path: &std::path::Path,
    registry: &Registry,
    suffix: &str,
    setup_args: &str,
) -> Check {
    let name = "docker config";
    let helpers = doc
        .and_then(|d| d.get("credHelpers"))
        .and_then(Value::as_object);
    let entry = helpers.and_then(|h| {
        h.iter()
            .find(|(k, _)| host_of(k).as_deref() == Some(registry.host.as_str()))
    });
    match entry {
        Some((key, v)) if v.as_str() == Some(suffix) => {
            Check::ok(name, format!("{} maps {key} to {suffix}", tilde(path)))
        }
        Some((key, v)) => Check::fail(
            name,
            format!("{} maps {key} to {v}, not {suffix}", tilde(path)),
            Some(format!("{PROGRAM} setup --registry {key} {setup_args}")),
        ),
        None => Check::fail(
            name,
            format!(
                "{} has no credHelpers entry for {}",
                tilde(path),
                registry.host
            ),
            Some(format!(
                "{PROGRAM} setup --registry {} {setup_args}",
                registry.host
            )),
        ),
    }
}

/// What `setup` should be told: the profile that serves the registry if it switches
/// role, else a profile that does, else a new one with the role to create.
fn suggested_setup(identity: &Identity, ctx: &Context) -> String {
    if identity.role_arn.is_some() {
        return format!("--profile {}", identity.profile);
    }
    match ctx.profiles.names_with_role().next() {
        Some(name) => format!("--profile {name}"),
        // The registry names the account: setup builds the role's ARN from a name.
        None => "--profile ECRLoginAndPushRoleProfile --role-name ROLE".to_string(),
    }
}

fn profile_check(identity: &Identity) -> Check {
    let role = identity
        .role_arn
        .as_deref()
        .map_or("no role_arn".to_string(), |r| format!("role {r}"));
    let detail = match identity.chosen_by {
        ChosenBy::Fallback => format!(
            "{} (no mapping, default_profile or AWS_PROFILE chose one), {role}",
            identity.profile
        ),
        chosen_by => format!("{} (chosen by {chosen_by}), {role}", identity.profile),
    };
    match &identity.chain {
        Ok(_) => Check::ok("profile", detail),
        Err(e) => Check::fail(
            "profile",
            format!("{detail}: {e}"),
            Some(format!(
                "fix it in ~/.aws/config, or create it: {PROGRAM} setup --registry REGISTRY --profile {} --role-arn ARN",
                identity.profile
            )),
        ),
    }
}

fn cache_check(ctx: &Context, registry: &Registry, identity: &Identity) -> Check {
    let Some(dir) = ctx.cache.dir() else {
        return Check::info("cache", "turned off (by the environment, or no home)");
    };
    if !ctx.cache.can_keep() {
        return Check::warn(
            "cache",
            format!(
                "{} is not a private directory of yours: nothing is cached there",
                tilde(dir)
            ),
            Some(format!(
                "remove {0}, or `chmod 700 {0}` if it is yours",
                tilde(dir)
            )),
        );
    }
    if identity.chain.is_err() {
        return Check::info("cache", format!("in {}", tilde(dir)));
    }
    let now = now_secs();
    // The very rule `get` applies (cache::CachedToken::freshness).
    match ctx.cache.lookup(&Context::key(registry, identity)) {
        Some(token) => {
            let left = hours_and_minutes(token.expires_at.saturating_sub(now));
            let detail = match token.freshness(now) {
                Freshness::Fresh => {
                    format!("token cached in {}, served for {left} more", tilde(dir))
                }
                Freshness::Usable => format!(
                    "token cached in {}, due for refresh (the next get fetches; kept as a fallback for {left})",
                    tilde(dir)
                ),
                Freshness::Expired => format!("the token cached in {} has expired", tilde(dir)),
            };
            Check::info("cache", detail)
        }
        None => Check::info(
            "cache",
            format!(
                "no token cached in {} yet: the next get fetches and keeps one (doctor's own check keeps none)",
                tilde(dir)
            ),
        ),
    }
}

/// A duration as hours and minutes, e.g. `11h05m`.
fn hours_and_minutes(secs: u64) -> String {
    format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
}

/// The registries to check when none is given: docker's credHelpers entries that name
/// this helper, else every registry the settings map.
fn wired_registries(doc: Option<&Value>, suffix: &str, settings: &Settings) -> Vec<String> {
    let wired: Vec<String> = doc
        .and_then(|d| d.get("credHelpers"))
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .filter(|(k, v)| {
                    v.as_str() == Some(suffix) && context::registry(k, settings).is_some()
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if wired.is_empty() {
        settings
            .registries
            .keys()
            .filter(|k| context::registry(k, settings).is_some())
            .cloned()
            .collect()
    } else {
        wired
    }
}

/// Where a role's MFA code will come from, and whether that source is there (a
/// warning, not a failure: a kept role session may make the code unnecessary).
fn mfa_check(hop: &crate::chain::RoleHop) -> Check {
    match aws::mfa::Source::for_profile(hop.mfa_process.as_deref()) {
        Ok(source) => match source.describe() {
            (true, text) => Check::ok(
                "MFA source",
                format!("profile {}: from {text}", hop.profile),
            ),
            (false, text) => Check::warn(
                "MFA source",
                format!("profile {}: {text}", hop.profile),
                None,
            ),
        },
        Err(e) => Check::warn("MFA source", e.to_string(), None),
    }
}

/// One check as a report line (and its fix, if any).
fn render_check(check: &Check) -> String {
    let mark = match check.status {
        "ok" => "ok  ",
        "fail" => "FAIL",
        "warn" => "WARN",
        _ => "--  ",
    };
    let mut out = format!("  {mark}  {:<18}  {}\n", check.name, check.detail);
    if let Some(fix) = &check.fix {
        out.push_str(&format!("        {:<18}  fix: {fix}\n", ""));
    }
    out
}

/// The last line of one registry's report.
fn verdict(all_ok: bool) -> &'static str {
    if all_ok {
        "all checks passed\n"
    } else {
        "some checks failed\n"
    }
}
