//! Maps key paths (`devices[2].auth`) to the 1-based line where they are written.
//!
//! serde_yaml forgets positions once a document is deserialised, so semantic errors found
//! later (dangling references, duplicates, bad durations) look their line up here. The map
//! is built from yaml-rust2's marked event stream by tracking the current path.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};

/// Line numbers of every mapping key and sequence item in one YAML text.
#[derive(Debug, Default)]
pub struct Locations {
    lines: HashMap<String, usize>,
    /// Keys written twice in the same mapping.
    pub duplicates: Vec<Duplicate>,
}

/// A key that appears twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// Path of the key.
    pub path: String,
    /// Line of the second occurrence.
    pub line: usize,
    /// Line of the first occurrence.
    pub first_line: usize,
}

impl Locations {
    /// The line of `path`, or of its closest ancestor that has one.
    pub fn line(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(&l) = self.lines.get(p) {
                return Some(l);
            }
            p = parent(p)?;
        }
    }
}

/// `a.b[3]` → `a.b`, `a.b` → `a`, `a` → `` (the document root, never stored), `` → None.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// Joins a mapping key onto a path.
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Joins a sequence index onto a path.
pub fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

enum Frame {
    Map {
        path: String,
        /// True while the next node is a key.
        want_key: bool,
        /// Path of the entry whose value comes next.
        value_path: String,
        seen: HashMap<String, usize>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

/// Indexes `text`. A syntax error gives its line (when known) and message.
pub fn index(text: &str) -> Result<Locations, (Option<usize>, String)> {
    let mut locs = Locations::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|e| (Some(e.marker().line()), e.info().to_string()))?;
        let line = mark.line();
        match event {
            Event::StreamEnd => break,
            Event::Scalar(ref s, ..) => {
                // A scalar key names the entry; record it. A scalar value just ends the entry.
                if let Some(Frame::Map {
                    path,
                    want_key: true,
                    value_path,
                    seen,
                }) = stack.last_mut()
                {
                    let p = join_key(path, s);
                    if let Some(&first) = seen.get(s) {
                        locs.duplicates.push(Duplicate {
                            path: p.clone(),
                            line,
                            first_line: first,
                        });
                    } else {
                        seen.insert(s.clone(), line);
                        locs.lines.insert(p.clone(), line);
                    }
                    *value_path = p;
                } else {
                    node_path(&mut stack, &mut locs, line);
                }
                node_done(&mut stack);
            }
            Event::Alias(_) => {
                node_path(&mut stack, &mut locs, line);
                node_done(&mut stack);
            }
            Event::MappingStart(..) => {
                let path = node_path(&mut stack, &mut locs, line);
                stack.push(Frame::Map {
                    path,
                    want_key: true,
                    value_path: String::new(),
                    seen: HashMap::new(),
                });
            }
            Event::SequenceStart(..) => {
                let path = node_path(&mut stack, &mut locs, line);
                stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                node_done(&mut stack);
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
    Ok(locs)
}

/// The path of a node starting now, recording sequence items' lines.
fn node_path(stack: &mut [Frame], locs: &mut Locations, line: usize) -> String {
    match stack.last_mut() {
        None => String::new(),
        // A complex key (a mapping or sequence used as a key): give it a path nobody asks for.
        Some(Frame::Map {
            path,
            want_key: true,
            ..
        }) => join_key(path, "?"),
        Some(Frame::Map { value_path, .. }) => value_path.clone(),
        Some(Frame::Seq { path, next }) => {
            let p = join_index(path, *next);
            *next += 1;
            locs.lines.entry(p.clone()).or_insert(line);
            p
        }
    }
}

/// A node finished: in a mapping, a key is followed by its value and a value by a key.
fn node_done(stack: &mut [Frame]) {
    if let Some(Frame::Map { want_key, .. }) = stack.last_mut() {
        *want_key = !*want_key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_keys_and_items() {
        let text = "defaults:\n  interval: 5s\ndevices:\n  - name: a\n    address: b\n  -\n    name: c\n    labels: {x: 1,\n      y: 2}\n    oids:\n      - {name: n, oid: 1.3}\n";
        let l = index(text).expect("valid yaml");
        assert_eq!(l.line("defaults"), Some(1));
        assert_eq!(l.line("defaults.interval"), Some(2));
        assert_eq!(l.line("devices[0]"), Some(4));
        assert_eq!(l.line("devices[0].address"), Some(5));
        assert_eq!(l.line("devices[1]"), Some(7));
        assert_eq!(l.line("devices[1].labels.y"), Some(9));
        assert_eq!(l.line("devices[1].oids[0].oid"), Some(11));
        // Unknown paths fall back to the nearest ancestor.
        assert_eq!(l.line("devices[1].labels.zzz"), Some(8));
        assert_eq!(l.line("nothing"), None);
        assert!(l.duplicates.is_empty());
    }

    #[test]
    fn duplicate_keys_found() {
        let l = index("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n").expect("valid yaml");
        assert_eq!(
            l.duplicates,
            vec![
                Duplicate {
                    path: "b.c".into(),
                    line: 4,
                    first_line: 3
                },
                Duplicate {
                    path: "a".into(),
                    line: 5,
                    first_line: 1
                },
            ]
        );
    }

    #[test]
    fn syntax_error_has_line() {
        let e = index("a: [1\nb: 2\n").expect_err("unclosed flow sequence");
        assert!(e.0.is_some());
    }
}
