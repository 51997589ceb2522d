//! Every device config shown in the README and docs/ is valid: written to a file and
//! given to `octopoll check`, as a newcomer's first copy-paste would be. Secrets the
//! example names (`${VAR}`, `*_file`) are provided with dummy values.

mod common_stack;

use common_stack::*;
use std::process::Command;

/// ```yaml blocks of a Markdown file: (line of the fence, text).
fn yaml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start().starts_with("```yaml") => {
                current = Some((i + 1, String::new()))
            }
            Some(_) if line.trim_start().starts_with("```") => out.extend(current.take()),
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn device_configs_in_the_docs_pass_octopoll_check() {
    let mut docs = vec!["README.md".to_string()];
    docs.extend(files("docs", ".md"));
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for doc in &docs {
        for (line, block) in yaml_blocks(&read(doc)) {
            if !block.lines().any(|l| l.starts_with("devices:")) {
                continue; // not a device config (a web config, a scrape config, ...)
            }
            checked += 1;
            // Secret files the example names get a dummy secret of their own.
            let mut text = block.clone();
            for word in block.split_whitespace() {
                let path = word.trim_end_matches([',', '}']);
                if path.starts_with("/run/secrets/") {
                    let f = dir
                        .path()
                        .join(path.trim_start_matches('/').replace('/', "_"));
                    std::fs::write(&f, "dummy-secret-for-docs\n").unwrap();
                    text = text.replace(path, &f.display().to_string());
                }
            }
            let file = dir
                .path()
                .join(format!("{}-{line}.yml", doc.replace('/', "_")));
            std::fs::write(&file, &text).unwrap();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_octopoll"));
            cmd.arg("check").arg(&file);
            let mut rest = block.as_str();
            while let Some(i) = rest.find("${") {
                let end = rest[i..].find('}').map_or(rest.len(), |j| i + j);
                cmd.env(&rest[i + 2..end], "dummy-secret-for-docs");
                rest = &rest[end..];
            }
            let out = cmd.output().unwrap();
            if !out.status.success() {
                failures.push(format!(
                    "{doc}:{line}: `octopoll check` fails on this example:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }
    assert!(checked >= 1, "no device config found in {docs:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
