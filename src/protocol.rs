//! Docker's credential-helper wire format (docker/docker-credential-helpers):
//! reading the server URL from stdin, the `Credentials` JSON that `get` prints,
//! the `store` payload and the fixed error texts docker matches on.
//! Everything that docker reads or writes goes through here.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};

/// The exact text docker's client treats as "no credentials": it then carries on anonymously.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// The text docker-credential-helpers prints for an empty server URL.
pub const NO_SERVER_URL: &str = "no credentials server URL";

/// The longest stdin we accept: a server URL is short, and a flood must cost bounded memory.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024;

/// Why the input from docker could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("{NO_SERVER_URL}")]
    EmptyServerUrl,
    #[error("input on stdin is longer than {MAX_INPUT_BYTES} bytes")]
    TooLong,
    #[error("input on stdin is not valid UTF-8")]
    NotUtf8,
    #[error("input on stdin has control characters")]
    ControlCharacters,
    #[error("could not read stdin: {0}")]
    Read(#[from] std::io::Error),
    #[error("store: malformed credentials payload: {0}")]
    MalformedStore(String),
}

/// Reads all of stdin (bounded by [`MAX_INPUT_BYTES`]) as text.
pub fn read_input(input: impl Read) -> Result<String, ProtocolError> {
    let mut bytes = Vec::new();
    input.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(ProtocolError::TooLong);
    }
    String::from_utf8(bytes).map_err(|_| ProtocolError::NotUtf8)
}

/// Reads the server URL that `get` and `erase` receive: trimmed, non-empty, one line of printable text.
pub fn read_server_url(input: impl Read) -> Result<String, ProtocolError> {
    let text = read_input(input)?;
    let url = text.trim();
    if url.is_empty() {
        return Err(ProtocolError::EmptyServerUrl);
    }
    if url.chars().any(char::is_control) {
        return Err(ProtocolError::ControlCharacters);
    }
    Ok(url.to_string())
}

/// What `get` prints: docker's `Credentials` with its PascalCase field names.
#[derive(Serialize)]
pub struct Credentials<'a> {
    #[serde(rename = "ServerURL")]
    pub server_url: &'a str,
    #[serde(rename = "Username")]
    pub username: &'a str,
    #[serde(rename = "Secret")]
    pub secret: &'a str,
}

impl Credentials<'_> {
    /// The JSON line docker reads from `get`, newline included.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("strings always serialise");
        line.push('\n');
        line
    }
}

/// The payload `store` receives (`docker login`). Only its shape is checked: the
/// secret is never kept, so it is read as an ignored value and dropped at once.
#[derive(Deserialize)]
struct StorePayload {
    #[serde(rename = "ServerURL")]
    server_url: String,
    #[serde(rename = "Username")]
    #[allow(dead_code)]
    username: String,
    #[serde(rename = "Secret")]
    #[allow(dead_code)]
    secret: serde::de::IgnoredAny,
}

/// Checks a `store` payload. The error names what is wrong, never the secret.
pub fn check_store_payload(text: &str) -> Result<(), ProtocolError> {
    match serde_json::from_str::<StorePayload>(text) {
        Ok(payload) if payload.server_url.trim().is_empty() => Err(ProtocolError::EmptyServerUrl),
        Ok(_) => Ok(()),
        // serde_json's messages name the field and the position, never the values.
        Err(e) => Err(ProtocolError::MalformedStore(e.to_string())),
    }
}

/// What `list` prints: server URL → username.
pub fn list_line(entries: &BTreeMap<String, String>) -> String {
    let mut line = serde_json::to_string(entries).expect("strings always serialise");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_url_is_trimmed() {
        let url = read_server_url(&b"  https://example.com/v2/ \n"[..]).unwrap();
        assert_eq!(url, "https://example.com/v2/");
    }

    #[test]
    fn empty_input_is_the_protocol_error() {
        let err = read_server_url(&b" \n"[..]).unwrap_err();
        assert_eq!(err.to_string(), "no credentials server URL");
    }

    #[test]
    fn oversized_input_is_rejected_without_reading_it_all() {
        let flood = std::io::repeat(b'a').take(10 * 1024 * 1024);
        assert!(matches!(
            read_server_url(flood),
            Err(ProtocolError::TooLong)
        ));
    }

    #[test]
    fn invalid_utf8_and_control_characters_are_rejected() {
        assert!(matches!(
            read_server_url(&b"\xff\xfe"[..]),
            Err(ProtocolError::NotUtf8)
        ));
        assert!(matches!(
            read_server_url(&b"a\0b"[..]),
            Err(ProtocolError::ControlCharacters)
        ));
    }

    #[test]
    fn credentials_json_is_docker_shaped() {
        let line = Credentials {
            server_url: "h",
            username: "AWS",
            secret: "p\"w",
        }
        .to_line();
        assert_eq!(
            line,
            "{\"ServerURL\":\"h\",\"Username\":\"AWS\",\"Secret\":\"p\\\"w\"}\n"
        );
    }

    #[test]
    fn store_payload_is_checked() {
        assert!(check_store_payload(r#"{"ServerURL":"h","Username":"AWS","Secret":"s"}"#).is_ok());
        let err = check_store_payload(r#"{"ServerURL":"h","Username":"AWS"}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `Secret`"), "{err}");
        let err = check_store_payload("not json").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("store: malformed credentials payload")
        );
        let err =
            check_store_payload(r#"{"ServerURL":"h","Username":"AWS","Secret":"topsecret","x":}"#)
                .unwrap_err();
        assert!(!err.to_string().contains("topsecret"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Any bytes on stdin: no panic; an accepted URL is trimmed, printable text.
        #[test]
        fn any_stdin_is_read_or_rejected(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            if let Ok(url) = read_server_url(&bytes[..]) {
                proptest::prop_assert!(!url.is_empty());
                proptest::prop_assert_eq!(url.trim(), url.as_str());
                proptest::prop_assert!(!url.chars().any(char::is_control));
            }
        }

        /// Whatever the strings, `get`'s answer is one line of JSON that reads back the same.
        #[test]
        fn credentials_always_round_trip(url in "\\PC{0,100}", secret in "\\PC{0,100}") {
            let line = Credentials { server_url: &url, username: "AWS", secret: &secret }.to_line();
            proptest::prop_assert_eq!(line.matches('\n').count(), 1);
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            proptest::prop_assert_eq!(v["ServerURL"].as_str().unwrap(), url.as_str());
            proptest::prop_assert_eq!(v["Secret"].as_str().unwrap(), secret.as_str());
        }
    }

    #[test]
    fn list_is_a_json_object() {
        let mut m = BTreeMap::new();
        m.insert("https://a".to_string(), "AWS".to_string());
        assert_eq!(list_line(&m), "{\"https://a\":\"AWS\"}\n");
    }
}
