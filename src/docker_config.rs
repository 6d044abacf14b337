//! docker's side of the wiring: where its `config.json` is (`$DOCKER_CONFIG`, else
//! `~/.docker`), reading it, editing JSON in place (the file keeps its layout byte for
//! byte but for the one entry changed), the name docker knows this helper by, and
//! whether docker can find the helper on `PATH`. Used by `setup`, `registries` and
//! `doctor`; the helper's settings file is edited the same way.

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

/// Why a JSON file cannot be edited in place (nothing is changed then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonEditError {
    /// The text is not JSON: serde's message (a position, never the text).
    Invalid(String),
    /// A key on the way is not an object (`credHelpers` is a list, say): the dotted path.
    NotObject(String),
    /// A key on the way appears twice in its object: the dotted path. docker (Go)
    /// merges two such objects, serde keeps the last: we would edit one and docker
    /// read both, so the user merges them.
    Duplicate(String),
    /// The edit would not read back as exactly the one change (never seen: a guard).
    Shape,
}

/// `text` (a JSON object; absent or blank: a new file) with each `(keys, value)` set: a
/// string at a path of object keys. Only that entry's text changes: an existing value
/// is replaced, a missing member is added after its object's last member in the
/// layout of its neighbours (docker's tab layout in an empty file), so the file keeps
/// its indentation, key order, escapes and everything else byte for byte. A value
/// already there changes nothing. The result is read back and must be exactly the old
/// document with the new values, or nothing is changed.
pub fn set_in_place(text: Option<&str>, sets: &[(&[&str], &str)]) -> Result<String, JsonEditError> {
    let mut text = match text {
        Some(text) if !text.trim().is_empty() => text.to_string(),
        _ => "{}\n".to_string(),
    };
    for (keys, value) in sets {
        text = set_one(&text, keys, value)?;
    }
    Ok(text)
}

/// `text` with the members `keys` of the top-level object `object_key` removed (all
/// their occurrences), every other byte kept; read back and checked like [`set_in_place`].
pub fn remove_in_place(
    text: &str,
    object_key: &str,
    keys: &[String],
) -> Result<String, JsonEditError> {
    let mut expected = parse(text)?;
    if let Some(map) = expected.get_mut(object_key).and_then(Value::as_object_mut) {
        for key in keys {
            map.shift_remove(key);
        }
    }
    let mut text = text.to_string();
    for key in keys {
        loop {
            let root = root_of(&text)?;
            let parent = unique(&root, object_key, object_key)?;
            let Some(parent) = parent else { break };
            let object = object_at(&text, parent.value_start)
                .ok_or(JsonEditError::NotObject(object_key.into()))?;
            let Some(at) = object.members.iter().position(|m| &m.key == key) else {
                break;
            };
            text = remove_member(&text, &object, at);
        }
    }
    read_back(text, &expected)
}

/// One `set_in_place`.
fn set_one(text: &str, keys: &[&str], value: &str) -> Result<String, JsonEditError> {
    let mut expected = parse(text)?;
    if !set_value(&mut expected, keys, value)? {
        return Ok(text.to_string());
    }
    let mut object = root_of(text)?;
    let layout = Layout::of(text, &object);
    let mut walked = String::new();
    for (i, key) in keys.iter().enumerate() {
        walked = if walked.is_empty() {
            key.to_string()
        } else {
            format!("{walked}.{key}")
        };
        let after = match unique(&object, key, &walked)? {
            Some(member) if i + 1 == keys.len() => format!(
                "{}{}{}",
                &text[..member.value_start],
                quoted(value),
                &text[member.value_end..]
            ),
            Some(member) => {
                object = object_at(text, member.value_start)
                    .ok_or_else(|| JsonEditError::NotObject(walked.clone()))?;
                continue;
            }
            None => insert_member(text, &object, &layout, &keys[i..], value),
        };
        return read_back(after, &expected);
    }
    Err(JsonEditError::Shape)
}

/// Sets a string at a path of object keys in a parsed document; whether it changed.
fn set_value(doc: &mut Value, keys: &[&str], value: &str) -> Result<bool, JsonEditError> {
    let (last, parents) = keys.split_last().ok_or(JsonEditError::Shape)?;
    let mut node = doc;
    let mut walked = String::new();
    for key in parents {
        let object = node
            .as_object_mut()
            .ok_or_else(|| JsonEditError::NotObject(walked.clone()))?;
        walked = if walked.is_empty() {
            key.to_string()
        } else {
            format!("{walked}.{key}")
        };
        node = object
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    let object = node
        .as_object_mut()
        .ok_or(JsonEditError::NotObject(walked))?;
    if object.get(*last).and_then(Value::as_str) == Some(value) {
        return Ok(false);
    }
    object.insert(last.to_string(), Value::from(value));
    Ok(true)
}

fn parse(text: &str) -> Result<Value, JsonEditError> {
    serde_json::from_str(text).map_err(|e| JsonEditError::Invalid(e.to_string()))
}

/// The edited text, if it reads back as exactly the expected document.
fn read_back(text: String, expected: &Value) -> Result<String, JsonEditError> {
    match serde_json::from_str::<Value>(&text) {
        Ok(doc) if doc == *expected => Ok(text),
        _ => Err(JsonEditError::Shape),
    }
}

/// A JSON string.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

/// An object member as found in the text: its key, and where its key and value are
/// (byte offsets; JSON's structure is ASCII, so each is a character boundary).
struct Member {
    key: String,
    key_start: usize,
    key_end: usize,
    value_start: usize,
    value_end: usize,
}

/// An object as found in the text: its braces and its members in order.
struct Object {
    open: usize,
    close: usize,
    members: Vec<Member>,
}

/// The top-level object (the text is valid JSON: serde read it first).
fn root_of(text: &str) -> Result<Object, JsonEditError> {
    object_at(text, skip_ws(text, 0)).ok_or(JsonEditError::NotObject(String::new()))
}

/// The member `key` of an object, if it has one; a key written twice is refused.
fn unique<'a>(
    object: &'a Object,
    key: &str,
    walked: &str,
) -> Result<Option<&'a Member>, JsonEditError> {
    let mut found = object.members.iter().filter(|m| m.key == key);
    let first = found.next();
    if found.next().is_some() {
        return Err(JsonEditError::Duplicate(walked.to_string()));
    }
    Ok(first)
}

fn skip_ws(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the JSON value that starts at `i`.
fn value_end(text: &str, i: usize) -> Option<usize> {
    let b = text.as_bytes();
    match *b.get(i)? {
        b'"' => Some(i + string_end(&text[i..])?),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j += string_end(&text[j..])?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => Some(
            text[i..]
                .find(|c: char| ",}] \t\r\n".contains(c))
                .map_or(text.len(), |end| i + end),
        ),
    }
}

/// The object whose `{` is at `open`, with its members.
fn object_at(text: &str, open: usize) -> Option<Object> {
    let b = text.as_bytes();
    if b.get(open) != Some(&b'{') {
        return None;
    }
    let mut members = Vec::new();
    let mut i = skip_ws(text, open + 1);
    if b.get(i) == Some(&b'}') {
        return Some(Object {
            open,
            close: i,
            members,
        });
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_start = i;
        let key_end = key_start + string_end(&text[key_start..])?;
        let key: String = serde_json::from_str(&text[key_start..key_end]).ok()?;
        i = skip_ws(text, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(text, i + 1);
        let value_end = value_end(text, value_start)?;
        members.push(Member {
            key,
            key_start,
            key_end,
            value_start,
            value_end,
        });
        i = skip_ws(text, value_end);
        match b.get(i)? {
            b',' => i = skip_ws(text, i + 1),
            b'}' => {
                return Some(Object {
                    open,
                    close: i,
                    members,
                });
            }
            _ => return None,
        }
    }
}

/// The whitespace just before `at`.
fn whitespace_before(text: &str, at: usize) -> &str {
    let start = text[..at].trim_end_matches([' ', '\t', '\n', '\r']).len();
    &text[start..at]
}

/// The indentation of the line `at` is on.
fn indent_of_line(text: &str, at: usize) -> &str {
    let line = &text[text[..at].rfind('\n').map_or(0, |n| n + 1)..];
    let body = line.trim_start_matches([' ', '\t']);
    &line[..line.len() - body.len()]
}

/// How the file lays itself out, read from its first top-level member.
struct Layout {
    /// Between a key and its value: `": "` in docker's layout.
    separator: String,
    /// One level of indentation: a tab in docker's layout.
    unit: String,
    /// Whether members go on lines of their own.
    multiline: bool,
    /// Between a comma and the next member on the same line: `" "` or `""`.
    inline_gap: String,
    /// `"\n"`, or `"\r\n"` in a file written with those.
    newline: &'static str,
}

impl Layout {
    fn of(text: &str, root: &Object) -> Layout {
        let Some(first) = root.members.first() else {
            // An empty file or `{}`: docker's own layout.
            return Layout {
                separator: ": ".into(),
                unit: "\t".into(),
                multiline: true,
                inline_gap: " ".into(),
                newline: "\n",
            };
        };
        let before = whitespace_before(text, first.key_start);
        let separator = match &text[first.key_end..first.value_start] {
            separator if separator.contains('\n') => ": ",
            separator => separator,
        };
        let inline_gap = match root.members.get(1) {
            Some(second) if !whitespace_before(text, second.key_start).contains('\n') => {
                whitespace_before(text, second.key_start)
            }
            _ if separator.ends_with(' ') => " ",
            _ => "",
        };
        Layout {
            separator: separator.into(),
            unit: before.rsplit('\n').next().unwrap_or("").to_string(),
            multiline: before.contains('\n'),
            inline_gap: inline_gap.into(),
            newline: if before.contains("\r\n") {
                "\r\n"
            } else {
                "\n"
            },
        }
    }
}

/// The text with a new member `keys[0]` (holding objects down to `value`) at the end
/// of `object`, laid out like its last member (or, in an empty object, one level in).
fn insert_member(
    text: &str,
    object: &Object,
    layout: &Layout,
    keys: &[&str],
    value: &str,
) -> String {
    let (before_member, closing) = match object.members.last() {
        // After a comma, as the last member; or on a line of its own, as the only one.
        Some(last)
            if object.members.len() > 1
                || whitespace_before(text, last.key_start).contains('\n') =>
        {
            (whitespace_before(text, last.key_start).to_string(), None)
        }
        Some(_) => (layout.inline_gap.clone(), None),
        None if layout.multiline => {
            let (outer, newline) = (indent_of_line(text, object.open), layout.newline);
            (
                format!("{newline}{outer}{}", layout.unit),
                Some(format!("{newline}{outer}")),
            )
        }
        None => (String::new(), Some(String::new())),
    };
    let multiline = before_member.contains('\n');
    let indent = if multiline {
        before_member.rsplit('\n').next().unwrap_or("")
    } else {
        ""
    };
    let member = format!(
        "{}{}{}",
        quoted(keys[0]),
        layout.separator,
        nested(&keys[1..], value, layout, multiline, indent)
    );
    match (closing, object.members.last()) {
        (None, Some(last)) => format!(
            "{},{before_member}{member}{}",
            &text[..last.value_end],
            &text[last.value_end..]
        ),
        (closing, _) => format!(
            "{}{before_member}{member}{}{}",
            &text[..=object.open],
            closing.unwrap_or_default(),
            &text[object.close..]
        ),
    }
}

/// `value` under objects for `keys`, for a member indented by `indent`.
fn nested(keys: &[&str], value: &str, layout: &Layout, multiline: bool, indent: &str) -> String {
    match keys.split_first() {
        None => quoted(value),
        Some((key, rest)) if multiline => {
            let (inner, newline) = (format!("{indent}{}", layout.unit), layout.newline);
            format!(
                "{{{newline}{inner}{}{}{}{newline}{indent}}}",
                quoted(key),
                layout.separator,
                nested(rest, value, layout, true, &inner)
            )
        }
        Some((key, rest)) => format!(
            "{{{}{}{}}}",
            quoted(key),
            layout.separator,
            nested(rest, value, layout, false, "")
        ),
    }
}

/// The text without member `at` of `object`, and without the comma that joined it.
fn remove_member(text: &str, object: &Object, at: usize) -> String {
    let members = &object.members;
    let (from, to) = if members.len() == 1 {
        (object.open + 1, object.close)
    } else if at > 0 {
        (members[at - 1].value_end, members[at].value_end)
    } else {
        (members[0].key_start, members[1].key_start)
    };
    format!("{}{}", &text[..from], &text[to..])
}

/// The byte index just after the JSON string `text` starts with (at its `"`), if it ends.
pub(crate) fn string_end(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i + 1),
            _ => escaped = false,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, keys: &[&str], value: &str) -> String {
        set_in_place(Some(text), &[(keys, value)]).unwrap()
    }

    #[test]
    fn edits_in_place_keep_every_other_byte() {
        let k = ["credHelpers", "h"];
        // A new member after the last, laid out like it; an existing value replaced.
        assert_eq!(
            set(
                "{\n    \"credHelpers\": {\n        \"a\": \"b\"\n    }\n}",
                &k,
                "x"
            ),
            "{\n    \"credHelpers\": {\n        \"a\": \"b\",\n        \"h\": \"x\"\n    }\n}"
        );
        assert_eq!(
            set(
                "{\"credHelpers\":{\"h\":\"old\",\"e\":\"\\u0065\"}}",
                &k,
                "x"
            ),
            "{\"credHelpers\":{\"h\":\"x\",\"e\":\"\\u0065\"}}"
        );
        // A missing object, in the file's indentation and line endings.
        assert_eq!(
            set("{\r\n  \"auths\": {}\r\n}\r\n", &k, "x"),
            "{\r\n  \"auths\": {},\r\n  \"credHelpers\": {\r\n    \"h\": \"x\"\r\n  }\r\n}\r\n"
        );
        // Single-line objects stay single-line, with the file's spacing.
        assert_eq!(
            set("{\"a\": 1, \"credHelpers\": {\"g\": \"y\"}}", &k, "x"),
            "{\"a\": 1, \"credHelpers\": {\"g\": \"y\", \"h\": \"x\"}}"
        );
        assert_eq!(
            set("{\"a\":1}", &["registries", "r", "profile"], "p"),
            "{\"a\":1,\"registries\":{\"r\":{\"profile\":\"p\"}}}"
        );
        // An empty file or object: docker's layout.
        assert_eq!(
            set_in_place(
                None,
                &[
                    (&["registries", "r", "profile"], "p"),
                    (&["registries", "r", "region"], "q")
                ]
            )
            .unwrap(),
            "{\n\t\"registries\": {\n\t\t\"r\": {\n\t\t\t\"profile\": \"p\",\n\t\t\t\"region\": \"q\"\n\t\t}\n\t}\n}\n"
        );
        assert_eq!(
            set("{}", &k, "x"),
            "{\n\t\"credHelpers\": {\n\t\t\"h\": \"x\"\n\t}\n}"
        );
        // Already there: the text as it was.
        let there = "{ \"credHelpers\" : { \"h\" : \"x\" } }";
        assert_eq!(set(there, &k, "x"), there);
        // Refusals.
        let err = |text: &str| set_in_place(Some(text), &[(&k, "x")]).unwrap_err();
        assert!(matches!(err("{"), JsonEditError::Invalid(_)));
        assert_eq!(err("[]"), JsonEditError::NotObject(String::new()));
        assert_eq!(
            err("{\"credHelpers\": 1}"),
            JsonEditError::NotObject("credHelpers".into())
        );
        assert_eq!(
            err("{\"credHelpers\": {}, \"credHelpers\": {}}"),
            JsonEditError::Duplicate("credHelpers".into())
        );
    }

    #[test]
    fn removals_in_place_take_the_member_and_its_comma() {
        let text = "{\n\t\"credHelpers\": {\n\t\t\"a\": \"1\",\n\t\t\"b\": \"2\",\n\t\t\"c\": \"3\"\n\t},\n\t\"z\": 0\n}\n";
        let remove = |text: &str, keys: &[&str]| {
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            remove_in_place(text, "credHelpers", &keys).unwrap()
        };
        assert_eq!(
            remove(text, &["a"]),
            "{\n\t\"credHelpers\": {\n\t\t\"b\": \"2\",\n\t\t\"c\": \"3\"\n\t},\n\t\"z\": 0\n}\n"
        );
        assert_eq!(
            remove(text, &["b"]),
            "{\n\t\"credHelpers\": {\n\t\t\"a\": \"1\",\n\t\t\"c\": \"3\"\n\t},\n\t\"z\": 0\n}\n"
        );
        assert_eq!(
            remove(text, &["c"]),
            "{\n\t\"credHelpers\": {\n\t\t\"a\": \"1\",\n\t\t\"b\": \"2\"\n\t},\n\t\"z\": 0\n}\n"
        );
        assert_eq!(
            remove(text, &["a", "b", "c"]),
            "{\n\t\"credHelpers\": {},\n\t\"z\": 0\n}\n"
        );
        assert_eq!(remove(text, &["nope"]), text);
    }
}
