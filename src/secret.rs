//! A wrapper that keeps secrets (STS keys, session tokens, ECR passwords) out of
//! `Debug` output, error messages and logs: it has no `Display`, its `Debug`
//! prints `REDACTED`, and `expose()` marks each place the value is really used.

use std::fmt;

/// A value that must never be printed by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// Gives access to the value; call it only where the value leaves the process
    /// on purpose (the protocol's `Secret` field, the 0600 cache file, an AWS call).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

/// Secrets are written only to the owner-only token cache.
impl serde::Serialize for Secret<String> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Secret<String> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?}"), "REDACTED");
        assert_eq!(s.expose(), "hunter2");
    }
}
