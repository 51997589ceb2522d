//! Secrets: literals, `${VAR}` references to the environment, and `*_file` references.
//!
//! A load either resolves them (serving) or, for `octopoll check --no-secrets` in a config
//! repository's CI, only checks that each reference is well formed: no environment
//! variable is read and no secret file is opened.

use std::fs;

use super::files::relative_to;
use super::raw::Text;
use super::report::Report;
use super::scalars::is_name_char;
use super::yaml::join_key;

/// How `${VAR}` references are looked up (the process environment, or a map in tests).
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Where secrets come from during one load.
#[derive(Clone, Copy)]
pub(crate) struct Secrets<'a> {
    /// Looks up `${VAR}`.
    pub env: Env<'a>,
    /// False: check references without resolving them.
    pub resolve: bool,
}

/// A secret as read: its text and the key it was given under.
pub(crate) struct SecretValue {
    /// The secret (a placeholder when not resolved).
    pub text: String,
    /// `auths.x.community` or `auths.x.community_file`.
    pub key: String,
    /// True when the text is a placeholder for an unresolved reference, so checks of its
    /// content (length, emptiness) do not apply.
    pub unresolved: bool,
}

/// The `${NAME}` references in `s`: (byte range of the reference, name). The error names
/// the problem, never the surrounding text (which may be a secret).
fn references(s: &str) -> Result<Vec<(std::ops::Range<usize>, &str)>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = s[from..].find("${") {
        let start = from + pos;
        let after = &s[start + 2..];
        let len = after
            .find('}')
            .ok_or_else(|| "unterminated `${` (write `${NAME}`)".to_string())?;
        let name = &after[..len];
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| is_name_char(c, ""));
        if !valid {
            return Err(
                "invalid `${...}` reference: the name must be letters, digits and `_`".into(),
            );
        }
        from = start + 2 + len + 1;
        out.push((start..from, name));
    }
    Ok(out)
}

/// Expands `${VAR}` parts. The error names the variable, never the surrounding text.
pub(crate) fn expand_env(s: &str, env: Env<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (range, name) in references(s)? {
        out.push_str(&s[last..range.start]);
        match env(name) {
            Some(v) => out.push_str(&v),
            None => return Err(format!("environment variable `{name}` is not set")),
        }
        last = range.end;
    }
    out.push_str(&s[last..]);
    Ok(out)
}

/// A secret given as `key` (literal or `${VAR}`) or `key_file`. `Ok(None)`: neither given;
/// `Err(())`: an error was reported.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_secret(
    rep: &mut Report,
    f: usize,
    base: &str,
    key: &str,
    value: Option<&Text>,
    file: Option<&Text>,
    secrets: Secrets<'_>,
) -> Result<Option<SecretValue>, ()> {
    let vkey = join_key(base, key);
    let fkey = format!("{vkey}_file");
    match (value, file) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => {
            rep.at(
                f,
                &fkey,
                format!("give either `{key}` or `{key}_file`, not both"),
            );
            Err(())
        }
        (Some(v), None) if !secrets.resolve => match references(&v.0) {
            Ok(refs) => Ok(Some(SecretValue {
                unresolved: !refs.is_empty(),
                text: v.0.clone(),
                key: vkey,
            })),
            Err(e) => {
                rep.at(f, &vkey, e);
                Err(())
            }
        },
        (Some(v), None) => match expand_env(&v.0, secrets.env) {
            Ok(text) => Ok(Some(SecretValue {
                text,
                key: vkey,
                unresolved: false,
            })),
            Err(e) => {
                rep.at(f, &vkey, e);
                Err(())
            }
        },
        (None, Some(p)) if p.0.trim().is_empty() => {
            rep.at(f, &fkey, "empty file name");
            Err(())
        }
        (None, Some(_)) if !secrets.resolve => Ok(Some(SecretValue {
            text: String::new(),
            key: fkey,
            unresolved: true,
        })),
        (None, Some(p)) => {
            // Relative paths are relative to the config file, so a config directory can
            // carry its own secrets wherever octopoll is started from.
            let full = relative_to(&rep.files[f].path, &p.0);
            match fs::read_to_string(&full) {
                Ok(mut text) => {
                    // One trailing newline, and the CR of a Windows line ending before it.
                    if text.ends_with('\n') {
                        text.pop();
                        if text.ends_with('\r') {
                            text.pop();
                        }
                    }
                    Ok(Some(SecretValue {
                        text,
                        key: fkey,
                        unresolved: false,
                    }))
                }
                Err(e) => {
                    rep.at(f, &fkey, format!("cannot read {}: {e}", full.display()));
                    Err(())
                }
            }
        }
    }
}
