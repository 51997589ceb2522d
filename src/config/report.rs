//! Collecting errors with file, line and key while a config is checked, and decoding YAML
//! nodes into raw types so that every bad key is reported at its own line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::yaml::{self, Node};
use super::ConfigError;

/// One file taking part in a load: its path and parsed root (for line look-ups).
pub(crate) struct FileInfo {
    pub path: PathBuf,
    /// Shared so a validator can walk the tree while reporting into the same `Report`.
    pub root: Option<Arc<Node>>,
}

/// Every file of a load and every error found so far.
pub(crate) struct Report {
    pub files: Vec<FileInfo>,
    pub errors: Vec<ConfigError>,
    /// Things `check` should say that are not errors (e.g. an ignored module-file auth).
    pub notes: Vec<String>,
    /// Module file texts given in memory (fuzzing, tests) instead of read from disk.
    pub texts: Vec<(PathBuf, String)>,
}

impl Report {
    /// A report over no files, starting with `errors`.
    pub fn new(errors: Vec<ConfigError>) -> Report {
        Report {
            files: Vec::new(),
            errors,
            notes: Vec::new(),
            texts: Vec::new(),
        }
    }

    /// Adds a file; returns its number for [`Report::at`].
    pub fn add_file(&mut self, path: PathBuf, root: Option<Node>) -> usize {
        self.files.push(FileInfo {
            path,
            root: root.map(Arc::new),
        });
        self.files.len() - 1
    }

    /// The line of `key` in file `file`, if the file parsed.
    pub fn line(&self, file: usize, key: &str) -> Option<usize> {
        self.files[file].root.as_ref().map(|r| r.line_at(key))
    }

    /// Records an error at `key` of file number `file`; the line comes from the key's path.
    pub fn at(&mut self, file: usize, key: &str, message: impl Into<String>) {
        let line = self.line(file, key);
        self.errors.push(ConfigError {
            file: self.files[file].path.clone(),
            line,
            key: key.to_string(),
            message: message.into(),
        });
    }

    /// Records an error at a known line.
    pub fn at_line(&mut self, file: usize, line: usize, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.files[file].path.clone(),
            line: Some(line),
            key: key.to_string(),
            message: message.into(),
        });
    }

    /// `file:line` of a key, for messages that point at a second place.
    pub fn place(&self, file: usize, key: &str) -> String {
        let path = self.files[file].path.display();
        match self.line(file, key) {
            Some(l) => format!("{path}:{l}"),
            None => path.to_string(),
        }
    }

    /// Errors so far (to tell whether a step added any).
    pub fn count(&self) -> usize {
        self.errors.len()
    }

    /// Decodes a mapping node into `T`, key by key first so that every unknown key and every
    /// wrongly typed value is reported at its own line (all raw fields are optional, so a
    /// one-key mapping decodes unless that key is wrong). Null decodes to `T::default()`.
    pub fn decode<T: DeserializeOwned + Default>(
        &mut self,
        file: usize,
        path: &str,
        node: &Node,
    ) -> Option<T> {
        if node.is_null() {
            return Some(T::default());
        }
        let entries = match &node.kind {
            yaml::Kind::Map(e) => e,
            _ => {
                self.at_line(
                    file,
                    node.line,
                    path,
                    format!("expected a mapping, found {}", node.describe()),
                );
                return None;
            }
        };
        let before = self.count();
        for entry in entries {
            if let Err(e) = yaml::from_entries::<T>(node, std::slice::from_ref(entry), path) {
                self.de_error(file, e);
            }
        }
        if self.count() > before {
            return None;
        }
        match yaml::from_node(node, path) {
            Ok(t) => Some(t),
            Err(e) => {
                self.de_error(file, e);
                None
            }
        }
    }

    /// Decodes a scalar node as text.
    pub fn decode_text(
        &mut self,
        file: usize,
        path: &str,
        node: &Node,
    ) -> Option<super::raw::Text> {
        match yaml::from_node(node, path) {
            Ok(t) => Some(t),
            Err(e) => {
                self.de_error(file, e);
                None
            }
        }
    }

    fn de_error(&mut self, file: usize, e: yaml::DeError) {
        self.at_line(file, e.line, &e.path, e.message);
    }

    /// The entries of a name → thing section (`auths`, `modules`); reports anything else.
    pub fn section<'n>(
        &mut self,
        file: usize,
        section: &str,
        node: &'n Node,
    ) -> Vec<(String, &'n Node)> {
        if node.is_null() {
            return Vec::new();
        }
        match &node.kind {
            yaml::Kind::Map(m) => m.iter().map(|(k, v)| (k.key_text(), v)).collect(),
            _ => {
                self.at_line(
                    file,
                    node.line,
                    section,
                    format!("expected a mapping of names, found {}", node.describe()),
                );
                Vec::new()
            }
        }
    }

    /// The items of a list at `path`; reports anything else (`what` names the items).
    pub fn list<'n>(
        &mut self,
        file: usize,
        path: &str,
        node: &'n Node,
        what: &str,
    ) -> Option<&'n [Node]> {
        match &node.kind {
            yaml::Kind::Seq(items) => Some(items),
            _ if node.is_null() => Some(&[]),
            _ => {
                self.at_line(
                    file,
                    node.line,
                    path,
                    format!("expected a list of {what}, found {}", node.describe()),
                );
                None
            }
        }
    }
}

/// An error about a whole file (unreadable, not found).
pub(crate) fn plain_error(file: &Path, message: String) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        line: None,
        key: String::new(),
        message,
    }
}

/// `` `a`, `b` `` for messages.
pub(crate) fn allowed_list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
