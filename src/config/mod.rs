//! Configuration: raw serde types, validation into [`Config`], and the reload path.
//!
//! `load` reads one YAML file or a directory of `*.yml`/`*.yaml` files (merged in name
//! order), checks everything, and returns either a [`Config`] or every error found, each
//! naming file, line and key.

mod load;
mod locate;
mod raw;
pub mod reload;
mod types;

use std::fmt;
use std::path::PathBuf;

pub use load::{load, load_str, render_redacted};
pub use types::*;

/// One configuration error: where, which key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the error is in.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted path of the key, e.g. `devices[2].auth`.
    pub key: String,
    /// What is wrong, for a human.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.key, self.message)
        }
    }
}

/// Every error found in a configuration (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// One line for `octopoll check`: `ok: N devices, M auths, K modules from F files`.
pub fn summary(config: &Config) -> String {
    let mut auths: Vec<&str> = config
        .devices
        .iter()
        .map(|d| d.auth.name.as_str())
        .collect();
    auths.sort_unstable();
    auths.dedup();
    let mut modules: Vec<&str> = config
        .devices
        .iter()
        .flat_map(|d| d.modules.iter().map(|m| m.name.as_str()))
        .filter(|m| !m.starts_with("device:"))
        .collect();
    modules.sort_unstable();
    modules.dedup();
    format!(
        "ok: {} devices, {} auths, {} modules from {} files",
        config.devices.len(),
        auths.len(),
        modules.len(),
        config.files.len()
    )
}
