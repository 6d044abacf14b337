//! The AWS SDK teams' own conformance data, run against this crate's reader of the
//! AWS files. The data ships in the `aws-runtime` crate that `Cargo.lock` already
//! pulls in (`test-data/profile-parser-tests.json`, `file-location-tests.json`);
//! it is read from the dependency as cargo fetched it (located with
//! `cargo metadata`), never copied here, so a newer SDK brings its newer cases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::home::AwsFiles;
use crate::profiles::{FileKind, Profiles, Section};

/// The `test-data` directory of the `aws-runtime` package in this build.
fn test_data() -> PathBuf {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let manifest = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "aws-runtime")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("aws-runtime is in the dependency graph (aws-config pulls it in)");
    let dir = Path::new(manifest).parent().unwrap().join("test-data");
    assert!(
        dir.is_dir(),
        "{} is missing: the aws-runtime package no longer ships its conformance data",
        dir.display()
    );
    dir
}

fn load(name: &str) -> Vec<Value> {
    let path = test_data().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("conformance data is JSON");
    doc["tests"].as_array().expect("a tests array").clone()
}

fn as_sections(value: &Value) -> BTreeMap<String, Section> {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(name, props)| {
                    let props = props
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                        .collect();
                    (name.clone(), props)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn profile_parser_suite() {
    let cases = load("profile-parser-tests.json");
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let mut profiles = Profiles::default();
        let parsed = [
            ("configFile", FileKind::Config),
            ("credentialsFile", FileKind::Credentials),
        ]
        .into_iter()
        .filter_map(|(key, kind)| Some((case["input"][key].as_str()?, kind)))
        .try_for_each(|(text, kind)| profiles.add_file(text, kind, Path::new("f")));
        let output = &case["output"];
        let outcome = match (output.get("errorContaining"), parsed) {
            (Some(expected), Err(e)) => {
                let expected = expected.as_str().unwrap();
                (e.to_string().contains(expected))
                    .then_some(())
                    .ok_or(format!("error {e:?} does not contain {expected:?}"))
            }
            (Some(expected), Ok(())) => Err(format!("parsed, expected the error {expected}")),
            (None, Err(e)) => Err(format!("unexpected error {e}")),
            (None, Ok(())) => {
                let want = as_sections(&output["config"]["profiles"]);
                let want_sso = as_sections(&output["config"]["sso_sessions"]);
                if profiles.all() != want {
                    Err(format!("profiles {:?}, expected {want:?}", profiles.all()))
                } else if output["config"].get("sso_sessions").is_some()
                    && profiles.all_sso_sessions() != want_sso
                {
                    Err(format!(
                        "sso sessions {:?}, expected {want_sso:?}",
                        profiles.all_sso_sessions()
                    ))
                } else {
                    Ok(())
                }
            }
        };
        if let Err(why) = outcome {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} SDK profile-parser cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn file_location_suite() {
    let cases = load("file-location-tests.json");
    let (mut ran, mut failures) = (0, Vec::new());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        // Skipped with a reason: Windows cases ($USERPROFILE, $HOMEDRIVE$HOMEPATH,
        // backslash paths) describe a platform this helper does not run on (Linux, macOS).
        if case["platform"] != "linux" {
            assert_eq!(case["platform"], "windows", "{name}: unknown platform");
            continue;
        }
        ran += 1;
        let vars: BTreeMap<String, String> = case["environment"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let env = |k: &str| vars.get(k).cloned();
        let home = crate::home::resolve(env);
        let files = AwsFiles::locate(env, home.as_deref(), Path::new("/cwd")).unwrap();
        let want_config = case["configLocation"].as_str().unwrap();
        let want_credentials = case["credentialsLocation"].as_str().unwrap();
        if files.config != Path::new(want_config)
            || files.credentials.as_deref() != Some(Path::new(want_credentials))
        {
            failures.push(format!("{name}: got {files:?}"));
        }
        if let Some(want_profile) = case["profile"].as_str() {
            let registry =
                crate::registry::Registry::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com")
                    .unwrap();
            let identity = crate::identity::resolve(
                &registry,
                &crate::settings::Settings::default(),
                &Profiles::default(),
                env,
            );
            if identity.profile != want_profile {
                failures.push(format!("{name}: profile {}", identity.profile));
            }
        }
    }
    assert!(ran >= 3, "only {ran} Linux cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
