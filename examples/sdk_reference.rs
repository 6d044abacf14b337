//! The AWS SDK's own behaviour, for the tests to compare the helper with
//! (`tests/chain.rs`): gets credentials exactly as aws-config does and calls
//! `ecr:GetAuthorizationToken` once through them.
//!
//!     sdk_reference default-chain     # the SDK's default chain (AWS_PROFILE or default)
//!     sdk_reference profile NAME      # aws-config's profile provider for NAME
//!
//! Prints `ok`, or `error: …` and exits 1. Endpoints come from `AWS_ENDPOINT_URL`.

use aws_config::BehaviorVersion;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_sdk_ecr::config::Region;
use aws_sdk_ecr::error::DisplayErrorContext;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let region = Region::new("ap-northeast-1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let result = runtime.block_on(async {
        let loader = aws_config::defaults(BehaviorVersion::latest()).region(region.clone());
        let loader = match args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["default-chain"] => loader,
            ["profile", name] => {
                let provider = ProfileFileCredentialsProvider::builder()
                    .profile_name(*name)
                    .configure(&ProviderConfig::default().with_region(Some(region)))
                    .build();
                loader.credentials_provider(provider)
            }
            _ => {
                eprintln!("usage: sdk_reference default-chain | profile NAME");
                std::process::exit(2);
            }
        };
        let config = loader.load().await;
        aws_sdk_ecr::Client::new(&config)
            .get_authorization_token()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(e).to_string())
    });
    match result {
        Ok(()) => println!("ok"),
        Err(e) => {
            println!("error: {e}");
            std::process::exit(1);
        }
    }
}
