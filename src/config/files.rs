//! Finding the files of a config: one file, or every `*.yml`/`*.yaml` under a directory.

use std::fs;
use std::path::{Path, PathBuf};

use super::report::plain_error;
use super::{ConfigError, ConfigErrors};

/// Directory nesting we follow before assuming a symlink loop.
const MAX_DEPTH: usize = 16;

/// Config texts with the path each was read from.
pub(crate) type Sources = Vec<(PathBuf, String)>;

/// Reads `path` (a file, or every config file under a directory, in path order). A file
/// that cannot be read is an error in the returned list; the others are still returned.
pub(crate) fn read_sources(path: &Path) -> Result<(Sources, Vec<ConfigError>), ConfigErrors> {
    let files = find_files(path)?;
    let mut sources = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for f in files {
        match fs::read_to_string(&f) {
            Ok(text) => sources.push((f, text)),
            Err(e) => errors.push(plain_error(&f, format!("cannot read file: {e}"))),
        }
    }
    Ok((sources, errors))
}

/// `rel` relative to the directory of `file` (absolute paths as they are).
pub(crate) fn relative_to(file: &Path, rel: &str) -> PathBuf {
    let path = Path::new(rel);
    match file.parent() {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_path_buf(),
    }
}

// Finding files

fn find_files(path: &Path) -> Result<Vec<PathBuf>, ConfigErrors> {
    let fail = |m: String| ConfigErrors(vec![plain_error(path, m)]);
    let meta = fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    walk(path, 0, &mut out, &mut errors);
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    if out.is_empty() {
        return Err(fail(
            "no *.yml or *.yaml files in this directory".to_string(),
        ));
    }
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, errors: &mut Vec<ConfigError>) {
    if depth > MAX_DEPTH {
        errors.push(plain_error(
            dir,
            format!("directories nested more than {MAX_DEPTH} deep (a symlink loop?)"),
        ));
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(plain_error(dir, format!("cannot read directory: {e}")));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push(plain_error(dir, format!("cannot read directory: {e}")));
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_ignored_name(&name) {
            continue;
        }
        // fs::metadata follows symlinks, so a linked file or folder counts like a real one.
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, depth + 1, out, errors),
            Ok(m) if m.is_file() && (name.ends_with(".yml") || name.ends_with(".yaml")) => {
                out.push(path)
            }
            Ok(_) => {}
            Err(e) => errors.push(plain_error(&path, format!("cannot read: {e}"))),
        }
    }
}

/// Hidden files and editor leftovers, which must not be half-read as config.
fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name.ends_with(".tmp")
}
