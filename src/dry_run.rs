//! What `setup --dry-run` shows of a planned change ([`Change::diff`]): a line diff
//! (similar's) with two lines of context, in which every value is masked but the ones
//! the change writes. Keys, headers and punctuation stay, so the change can be read;
//! nothing else the user's file holds is printed.

use crate::files::Change;
use crate::home::tilde;

impl Change {
    /// The change as a unified-style diff with two lines of context, every value
    /// masked but the `shown` ones on added lines (the values the change writes).
    pub fn diff(&self, syntax: Syntax, shown: &[&str]) -> String {
        let before: Vec<&str> = self.before.as_deref().unwrap_or("").lines().collect();
        let after: Vec<&str> = self.after.lines().collect();
        let name = tilde(&self.path);
        let mut out = match &self.before {
            Some(_) => format!("--- {name}\n+++ {name} (after)\n"),
            None => format!("--- /dev/null\n+++ {name} (new file)\n"),
        };
        let ops = diff_lines(&before, &after);
        let changed: Vec<bool> = ops.iter().map(|(tag, _)| *tag != ' ').collect();
        let near_change = |i: usize| {
            let lo = i.saturating_sub(2);
            let hi = (i + 2).min(ops.len() - 1);
            changed[lo..=hi].iter().any(|c| *c)
        };
        let mut skipped = false;
        for (i, (tag, line)) in ops.iter().enumerate() {
            if near_change(i) {
                if skipped {
                    out.push_str("@@\n");
                    skipped = false;
                }
                let shown = if *tag == '+' { shown } else { &[] };
                out.push_str(&format!("{tag}{}\n", mask_line(line, syntax, shown)));
            } else {
                skipped = true;
            }
        }
        out
    }
}

/// How a file is written, so a diff can tell its keys and structure from its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// The AWS files: `[section]` headers, `key = value` lines, comments.
    Ini,
    /// docker's `config.json` and the helper's settings.
    Json,
}

/// A diff line with every value masked (`****`) but the values in `shown`: keys,
/// headers and punctuation stay, so the change can be read; nothing the user's file
/// holds besides what the change writes is printed (a bearer header, a proxy URL with
/// a password or a `credential_process` token is a secret no list of key names knows).
fn mask_line(line: &str, syntax: Syntax, shown: &[&str]) -> String {
    match syntax {
        Syntax::Ini => mask_ini(line, shown),
        Syntax::Json => mask_json(line, shown),
    }
}

/// An INI line: headers stay (the text after their `]` is masked), comments and
/// values become `****` unless the line is `key = VALUE` with a shown value.
fn mask_ini(line: &str, shown: &[&str]) -> String {
    if line.starts_with('[') {
        return match line.find(']') {
            Some(end) if line[end + 1..].trim().is_empty() => line.to_string(),
            Some(end) => format!("{} ****", &line[..=end]),
            None => "****".to_string(),
        };
    }
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    if body.trim().is_empty() {
        return line.to_string();
    }
    if let Some(mark) = body.strip_prefix(['#', ';']).map(|_| &body[..1]) {
        return format!("{indent}{mark} ****");
    }
    match body.split_once('=') {
        Some((_, value)) if shown.contains(&value.trim()) => line.to_string(),
        Some((key, _)) => format!("{indent}{} = ****", key.trim_end()),
        None => format!("{indent}****"),
    }
}

/// A line of JSON (pretty or all on one line): keys (strings followed by `:`) and
/// punctuation stay; every other string, number or literal becomes `****`, unless it
/// is a string in `shown`. A JSON string never spans lines, so each line stands alone.
fn mask_json(line: &str, shown: &[&str]) -> String {
    let shown: Vec<String> = shown
        .iter()
        .filter_map(|s| serde_json::to_string(s).ok())
        .map(|quoted| quoted[1..quoted.len() - 1].to_string())
        .collect();
    let is_structure = |c: char| "{}[],:".contains(c) || c.is_whitespace();
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            let Some(end) = crate::docker_config::string_end(rest) else {
                out.push_str("\"****");
                break;
            };
            let body = &rest[1..end - 1];
            let is_key = rest[end..].trim_start().starts_with(':');
            if is_key || shown.iter().any(|s| s == body) {
                out.push_str(&rest[..end]);
            } else {
                out.push_str("\"****\"");
            }
            rest = &rest[end..];
        } else if is_structure(c) {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        } else {
            // A number or a literal (or anything else outside a string): a value.
            let end = rest
                .find(|c: char| is_structure(c) || c == '"')
                .unwrap_or(rest.len());
            out.push_str("****");
            rest = &rest[end..];
        }
    }
    out
}

/// A line diff (similar's Myers): `' '` kept, `'-'` removed, `'+'` added.
fn diff_lines<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(char, &'a str)> {
    use similar::ChangeTag;
    similar::capture_diff_slices(similar::Algorithm::Myers, a, b)
        .iter()
        .flat_map(|op| op.iter_changes(a, b))
        .map(|change| {
            let tag = match change.tag() {
                ChangeTag::Equal => ' ',
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
            };
            (tag, change.value())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn diff_shows_only_the_change_with_context() {
        let change = Change {
            path: PathBuf::from("/x/config"),
            before: Some("[a]\nb = 1\nc = 2\nd = 3\ne = 4\nf = 5\ng = 6\n".into()),
            after: "[a]\nb = 1\nc = 2\nd = 3\ne = E\nf = 5\ng = 6\nh = H\n".into(),
            new_mode: 0o600,
        };
        assert_eq!(
            change.diff(Syntax::Ini, &["E", "H"]),
            "--- /x/config\n+++ /x/config (after)\n@@\n c = ****\n d = ****\n-e = ****\n+e = E\n f = ****\n g = ****\n+h = H\n"
        );
    }

    #[test]
    fn diffs_show_no_value_the_change_does_not_write() {
        let change = Change {
            path: PathBuf::from("/x/config.json"),
            before: Some("{\n  \"auths\": {\n    \"r\": {\n      \"auth\": \"dXNlcjpwYXNz\",\n      \"email\": \"a\"\n    }\n  }\n}\n".into()),
            after: "{\n  \"auths\": {\n    \"r\": {\n      \"auth\": \"dXNlcjpwYXNz\",\n      \"email\": \"b\"\n    }\n  }\n}\n".into(),
            new_mode: 0o600,
        };
        let diff = change.diff(Syntax::Json, &["b"]);
        assert!(!diff.contains("dXNlcjpwYXNz"), "{diff}");
        assert!(diff.contains(" \"auth\": \"****\","), "{diff}");
        assert!(
            diff.contains("-      \"email\": \"****\"\n+      \"email\": \"b\"\n"),
            "{diff}"
        );
        // INI: comments, values and continuation lines; headers and keys stay.
        assert_eq!(
            mask_ini("aws_secret_access_key=abc", &[]),
            "aws_secret_access_key = ****"
        );
        assert_eq!(mask_ini("region = x # tokyo", &["x"]), "region = ****");
        assert_eq!(mask_ini("role_arn = arn:x", &["arn:x"]), "role_arn = arn:x");
        assert_eq!(mask_ini("# token abc", &[]), "# ****");
        assert_eq!(
            mask_ini("  max_concurrent = 20", &[]),
            "  max_concurrent = ****"
        );
        assert_eq!(mask_ini("  continued", &[]), "  ****");
        assert_eq!(mask_ini("[profile p] ; note", &[]), "[profile p] ****");
        assert_eq!(mask_ini("[profile p]", &[]), "[profile p]");
        // JSON on one line: every value, strings with escapes, numbers and literals.
        assert_eq!(
            mask_json(
                r#"{"HttpHeaders":{"Authorization":"Bearer a\"b"},"n":12,"t":true,"l":["x",null],"credHelpers":{"h":"ecr-role"}}"#,
                &["ecr-role"]
            ),
            r#"{"HttpHeaders":{"Authorization":"****"},"n":****,"t":****,"l":["****",****],"credHelpers":{"h":"ecr-role"}}"#
        );
        assert_eq!(mask_json("\"k\": \"unterminated", &[]), "\"k\": \"****");
    }
}
