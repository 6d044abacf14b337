//! The structure stays as the README draws it: no import cycle between the crate's
//! modules, and no command reaching into another command or into docker's verbs.
//! Read from the sources (`crate::` paths outside `#[cfg(test)]` modules).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module → the modules it names, for every file under `src/` (`commands/x` and the
/// `aws` tree as units; `main` aside: it wires everything).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let rel = path.strip_prefix(&src).unwrap().with_extension("");
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let module = match parts.as_slice() {
            [main] if main == "main" => continue,
            [commands, name] if commands == "commands" => format!("commands/{name}"),
            [first, ..] => first.clone(),
            [] => continue,
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let target = if name == "commands" {
                let sub = &rest["commands::".len().min(rest.len())..];
                let sub: String = sub
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                format!("commands/{sub}")
            } else {
                name
            };
            if !target.is_empty() && target != module {
                graph.entry(module.clone()).or_default().insert(target);
            }
        }
        graph.entry(module).or_default();
    }
    graph
}

#[test]
fn the_modules_have_no_import_cycle() {
    let graph = graph();
    assert!(
        graph.contains_key("verbs") && graph.contains_key("cache"),
        "{graph:?}"
    );
    // Depth-first search for a path back to the start.
    for start in graph.keys() {
        let mut stack = vec![vec![start.clone()]];
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap();
            for next in graph.get(last).into_iter().flatten() {
                assert!(
                    next != start,
                    "import cycle: {} -> {next}",
                    path.join(" -> ")
                );
                if !path.contains(next) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push(longer);
                }
            }
        }
    }
}

#[test]
fn no_command_reaches_into_another_command_or_dockers_verbs() {
    for (module, uses) in graph() {
        if module.starts_with("commands/") {
            for used in &uses {
                assert!(
                    !used.starts_with("commands") && used != "verbs",
                    "{module} uses {used}"
                );
            }
        }
    }
}

#[test]
fn operating_system_calls_live_in_the_platform_module_alone() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.clone()];
    let mut offenders = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if path != src.join("platform.rs") && (text.contains("libc::") || text.contains("unsafe {"))
        {
            offenders.push(path.strip_prefix(&src).unwrap().display().to_string());
        }
    }
    assert!(
        offenders.is_empty(),
        "libc calls and unsafe blocks belong in src/platform.rs, found in: {offenders:?}"
    );
}
