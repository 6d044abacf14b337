//! docker's side of the wiring: where its `config.json` is (`$DOCKER_CONFIG`, else
//! `~/.docker`), reading it, writing JSON the way docker does, the name docker knows
//! this helper by, and whether docker can find the helper on `PATH`. Used by
//! `setup`, `registries` and `doctor`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::files::read_optional;
use crate::home::home_dir;

/// docker's config.json: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> PathBuf {
    match crate::settings::env_nonempty("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir).join("config.json"),
        None => home_dir().unwrap_or_default().join(".docker/config.json"),
    }
}

/// docker's config.json as JSON, if it exists and parses (for checks that only read it).
pub fn read_docker_config(path: &Path) -> Option<Value> {
    let text = read_optional(path).ok()??;
    serde_json::from_str(&text).ok()
}

/// The name docker knows the helper by: the binary's name after `docker-credential-`.
pub fn helper_suffix() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .and_then(|n| n.strip_prefix("docker-credential-").map(str::to_string))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "ecr-role".to_string())
}

/// Where docker would find `docker-credential-<suffix>` on PATH, if anywhere.
pub fn on_path(suffix: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(format!("docker-credential-{suffix}")))
        .find(|p| p.is_file())
}

/// JSON the way docker writes its config: tab-indented, with a final newline.
pub fn to_pretty(doc: &Value) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    serde::Serialize::serialize(doc, &mut ser).expect("a JSON value always serialises");
    String::from_utf8(buf).expect("JSON is UTF-8") + "\n"
}
