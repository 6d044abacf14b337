//! The command line: docker's protocol verbs (`get`, `store`, `erase`, `list`,
//! `version`), the kubelet's (`kubelet`) and the commands for people (`setup`,
//! `doctor`, `policy`, `registries`, `login`, `completions`, `man`), as clap
//! subcommands, with `--help` and `--version` / `-v`.

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::commands::policy::Document;

/// Docker credential helper for Amazon ECR that switches role through your AWS profile.
///
/// Map your registry to it in ~/.docker/config.json:
///   {"credHelpers": {"<account>.dkr.ecr.<region>.amazonaws.com": "ecr-role"}}
/// and `docker push` / `docker pull` get a token on their own, cached until shortly
/// before it expires.
///
/// Which AWS profile: ECR_ROLE_PROFILE, else the registry's mapping in the helper's
/// settings (ECR_ROLE_CONFIG), else its default_profile, else AWS_PROFILE, else
/// `default`. Cache: ECR_ROLE_CACHE_DIR; ECR_ROLE_DISABLE_CACHE=1 (or
/// AWS_ECR_DISABLE_CACHE=1) turns it off.
#[derive(Debug, Parser)]
#[command(
    name = "docker-credential-ecr-role",
    version = env!("ECR_ROLE_VERSION"),
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version
    #[arg(short = 'v', long = "version", action = ArgAction::Version)]
    version: Option<bool>,

    #[command(subcommand)]
    pub command: Command,
}

/// What docker (or you) asks the helper to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print credentials for the registry URL given on stdin (docker calls this)
    Get,
    /// Accept credentials from `docker login` on stdin; they are not kept (tokens come from AWS)
    Store,
    /// Forget the cached token of the registry URL given on stdin
    Erase,
    /// List the registries that have a valid cached token
    List,
    /// Print the version
    Version,
    /// Wire docker and the helper to a registry (and create the role profile if asked)
    ///
    /// Writes the credHelpers entry in docker's config.json ($DOCKER_CONFIG), the
    /// registry -> profile mapping in the helper's settings, and with --role-arn or
    /// --role-name the profile in ~/.aws/config ($AWS_CONFIG_FILE). Keeps every other
    /// key and comment, writes atomically with a .bak of each changed file, and
    /// changes nothing when run again.
    Setup(SetupArgs),
    /// Check every link from docker to the ECR token, with the fix for a broken one
    Doctor {
        /// The registry to check (default: every registry docker's config hands to this helper, else every one in the settings)
        registry: Option<String>,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Print least-privilege IAM policies for the switch-role setup, as JSON (or, with --commands, the whole setup as AWS CLI commands)
    Policy(PolicyArgs),
    /// List the registries the helper is set up for, or remove one (--remove HOST)
    Registries {
        /// Remove this registry's mapping and its credHelpers entry
        #[arg(long, value_name = "HOST")]
        remove: Option<String>,
    },
    /// Print shell completions (bash, zsh or fish) on stdout
    ///
    /// e.g. `docker-credential-ecr-role completions zsh > ~/.zfunc/_docker-credential-ecr-role`
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout
    #[command(hide = true)]
    Man,
    /// Answer a kubelet image credential provider request on stdin (the kubelet calls this)
    ///
    /// The `args: ["kubelet"]` of a CredentialProviderConfig entry (kubelet.config.k8s.io/v1,
    /// apiVersion credentialprovider.kubelet.k8s.io/v1). A pod's service account token
    /// with the role annotation pulls through that role (AssumeRoleWithWebIdentity);
    /// otherwise the node's identity, resolved as for `get`. See the README, "Kubernetes nodes".
    Kubelet {
        /// The service account annotation that names the pod's role
        #[arg(long, value_name = "KEY", default_value = crate::kubelet::DEFAULT_ROLE_ANNOTATION)]
        role_annotation: String,
    },
    /// Sign in ahead of time in a terminal (asks for an MFA code if the role needs one)
    #[command(group(clap::ArgGroup::new("what").required(true).args(["registry", "profile"])))]
    Login {
        /// The registry to get a token for
        registry: Option<String>,
        /// The profile to sign in with (default: the registry's profile)
        #[arg(long)]
        profile: Option<String>,
    },
}

/// `setup`'s options.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["registry", "account"])))]
pub struct SetupArgs {
    /// The registry host, e.g. 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com
    #[arg(long)]
    pub registry: Option<String>,
    /// The registry's account id (with --region, instead of --registry)
    #[arg(long, requires = "region", value_parser = account_id)]
    pub account: Option<String>,
    /// The registry's region (with --account, or with --registry-id)
    #[arg(long, value_parser = region)]
    pub region: Option<String>,
    /// For a custom registry name (a proxy, an alias): the ECR registry id it stands for (with --region)
    #[arg(long, requires_all = ["registry", "region"], value_parser = account_id)]
    pub registry_id: Option<String>,
    /// The AWS profile that serves the registry, e.g. ECRLoginAndPushRoleProfile
    #[arg(long)]
    pub profile: String,
    /// Create the profile in ~/.aws/config, switching into this role
    #[arg(long, conflicts_with = "role_name")]
    pub role_arn: Option<String>,
    /// Like --role-arn, for a role in the registry's account
    #[arg(long)]
    pub role_name: Option<String>,
    /// The profile with your keys, the role is assumed with (for a created profile)
    #[arg(long, default_value = "default")]
    pub source_profile: String,
    /// Show the exact change; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// `policy`'s options.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The AWS account id
    #[arg(long, value_parser = account_id)]
    pub account: String,
    /// The repositories' region
    #[arg(long, value_parser = region)]
    pub region: String,
    /// A repository the role may use (repeat for more)
    #[arg(long = "repository", required = true)]
    pub repositories: Vec<String>,
    /// The IAM user who switches into the role
    #[arg(long)]
    pub user: String,
    /// The role's name
    #[arg(long)]
    pub role_name: String,
    /// Pull only: no push actions
    #[arg(long)]
    pub pull_only: bool,
    /// Print only one document (for aws iam ... --policy-document file://...)
    #[arg(long, value_enum, conflicts_with = "commands")]
    pub only: Option<Document>,
    /// Print the whole setup as AWS CLI commands to run (as an administrator): write the
    /// three documents, create and attach the policies, create the role, and add the
    /// role profile to ~/.aws/config
    #[arg(long)]
    pub commands: bool,
    /// With --commands: the profile to create in ~/.aws/config
    #[arg(
        long,
        default_value = "ECRLoginAndPushRoleProfile",
        requires = "commands"
    )]
    pub profile: String,
    /// With --commands: the profile with the user's keys the role is assumed with
    #[arg(long, default_value = "default", requires = "commands")]
    pub source_profile: String,
}

impl From<&PolicyArgs> for crate::commands::policy::PolicyRequest {
    fn from(args: &PolicyArgs) -> crate::commands::policy::PolicyRequest {
        crate::commands::policy::PolicyRequest {
            account: args.account.clone(),
            region: args.region.clone(),
            repositories: args.repositories.clone(),
            user: args.user.clone(),
            role_name: args.role_name.clone(),
            pull_only: args.pull_only,
        }
    }
}

impl From<SetupArgs> for crate::commands::setup::SetupRequest {
    fn from(args: SetupArgs) -> crate::commands::setup::SetupRequest {
        crate::commands::setup::SetupRequest {
            registry: args.registry,
            account: args.account,
            region: args.region,
            registry_id: args.registry_id,
            profile: args.profile,
            role_arn: args.role_arn,
            role_name: args.role_name,
            source_profile: args.source_profile,
            dry_run: args.dry_run,
        }
    }
}

/// clap's check of an account id ([`crate::registry::is_account_id`]): a bad one is
/// refused with the command line's usage error, before any command runs.
fn account_id(value: &str) -> Result<String, &'static str> {
    if crate::registry::is_account_id(value) {
        Ok(value.to_string())
    } else {
        Err("an AWS account id is 12 digits")
    }
}

/// clap's check of a region name ([`crate::registry::is_region`]).
fn region(value: &str) -> Result<String, &'static str> {
    if crate::registry::is_region(value) {
        Ok(value.to_string())
    } else {
        Err("a region name looks like ap-northeast-1")
    }
}
