//! Configuration: raw serde types, validation into [`Config`], and the reload path.
//!
//! [`load`] reads one YAML file or a directory of `*.yml`/`*.yaml` files (merged in name
//! order), checks everything, and returns either a [`Config`] or every error found, each
//! naming file, line and key.

mod auths;
mod build;
mod devices;
mod files;
mod module_files;
mod modules;
mod raw;
mod redact;
pub mod reload;
mod report;
mod scalars;
mod secrets;
#[cfg(test)]
mod tests;
mod traps;
mod types;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

pub use redact::{render_redacted, render_redacted_with};
pub use scalars::parse_duration;
pub use types::*;

/// How a load treats secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadOptions {
    /// Check that `${VAR}` and `*_file` references are well formed without reading the
    /// environment or the files (for a config repository's CI, where the secrets are not).
    /// The resulting config is for checking only: its secrets are placeholders.
    pub unresolved_secrets: bool,
}

/// Reads and validates a config file, or every `*.yml`/`*.yaml` under a directory
/// (recursively, in path order, skipping hidden and editor temp files), merged.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with(path, LoadOptions::default())
}

/// [`load`] with options.
pub fn load_with(path: &Path, options: LoadOptions) -> Result<Config, ConfigErrors> {
    let (sources, errors) = files::read_sources(path)?;
    build::build(sources, secrets_for(options), errors)
}

/// Validates config text as if read from the file `name` (used in error messages, and as
/// the base for relative `*_file` paths).
pub fn load_str(text: &str, name: &Path) -> Result<Config, ConfigErrors> {
    build::build(
        vec![(name.to_path_buf(), text.to_string())],
        secrets_for(LoadOptions::default()),
        Vec::new(),
    )
}

/// Validates a config text and the texts of module files it may list (paths as the
/// config resolves them, i.e. relative to `name`'s directory), without touching the disk:
/// for fuzzing and tests.
pub fn load_texts(
    text: &str,
    name: &Path,
    module_files: &[(&Path, &str)],
) -> Result<Config, ConfigErrors> {
    build::build_with_texts(
        vec![(name.to_path_buf(), text.to_string())],
        module_files
            .iter()
            .map(|(p, t)| (p.to_path_buf(), t.to_string()))
            .collect(),
        secrets_for(LoadOptions::default()),
        Vec::new(),
    )
}

fn secrets_for(options: LoadOptions) -> secrets::Secrets<'static> {
    secrets::Secrets {
        env: &secrets::process_env,
        resolve: !options.unresolved_secrets,
    }
}

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
