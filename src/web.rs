//! The web config: TLS and basic auth for every HTTP endpoint, in the spirit of Prometheus'
//! exporter-toolkit (`tls_server_config`, `basic_auth_users` with bcrypt hashes). It is read
//! at start and on every reload, all or nothing with the device config.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

/// A web config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    /// Serve HTTPS with this certificate and key.
    tls_server_config: Option<RawTls>,
    /// user name -> bcrypt hash of the password.
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    /// PEM certificate chain.
    cert_file: PathBuf,
    /// PEM private key.
    key_file: PathBuf,
}

/// Why a web config was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct WebConfigError {
    /// The web config file.
    pub file: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// The validated web config.
pub struct WebConfig {
    /// TLS server settings, when HTTPS is on.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    users: BTreeMap<String, String>,
    /// Hashes of Authorization headers that passed bcrypt, so a scrape every few seconds
    /// does not pay ~50 ms of bcrypt each time. Keyed with a per-process random hasher.
    verified: Mutex<HashSet<u64>>,
    hasher: RandomState,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Most cached successful logins before the cache is cleared.
const VERIFIED_MAX: usize = 1024;

impl WebConfig {
    /// No TLS, no auth.
    pub fn open() -> WebConfig {
        WebConfig {
            tls: None,
            users: BTreeMap::new(),
            verified: Mutex::new(HashSet::new()),
            hasher: RandomState::new(),
        }
    }

    /// Reads and checks a web config file; relative cert/key paths are relative to it.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let err = |message: String| WebConfigError {
            file: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let raw: RawWebConfig = crate::config::yaml::from_str(&text).map_err(err)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for (user, hash) in &raw.basic_auth_users {
            if user.is_empty() || user.contains(':') {
                return Err(err(format!(
                    "basic_auth_users: user name {user:?} must be non-empty and without ':'"
                )));
            }
            if !(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$")) {
                return Err(err(format!(
                    "basic_auth_users.{user}: not a bcrypt hash (expected $2y$…; make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
                )));
            }
        }
        let tls = match raw.tls_server_config {
            None => None,
            Some(t) => {
                let cert_path = base.join(&t.cert_file);
                let key_path = base.join(&t.key_file);
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
                    .map_err(|e| {
                        err(format!(
                            "tls_server_config.cert_file {}: {e}",
                            cert_path.display()
                        ))
                    })?
                    .collect::<Result<_, _>>()
                    .map_err(|e| {
                        err(format!(
                            "tls_server_config.cert_file {}: {e}",
                            cert_path.display()
                        ))
                    })?;
                if certs.is_empty() {
                    return Err(err(format!(
                        "tls_server_config.cert_file {}: no certificate in it",
                        cert_path.display()
                    )));
                }
                let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
                    err(format!(
                        "tls_server_config.key_file {}: {e}",
                        key_path.display()
                    ))
                })?;
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| err(e.to_string()))?
                    .with_no_client_auth()
                    .with_single_cert(certs, key)
                    .map_err(|e| {
                        err(format!(
                            "tls_server_config: certificate and key do not fit: {e}"
                        ))
                    })?;
                cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
                Some(Arc::new(cfg))
            }
        };
        Ok(WebConfig {
            tls,
            users: raw.basic_auth_users,
            verified: Mutex::new(HashSet::new()),
            hasher: RandomState::new(),
        })
    }

    /// True when basic auth is required.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization` header value against the users.
    pub fn authorized(&self, header: Option<&str>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some(h) = header else { return false };
        let key = self.hasher.hash_one(h);
        if self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key)
        {
            return true;
        }
        let Some(encoded) = h
            .strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
        else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, pass)) = text.split_once(':') else {
            return false;
        };
        let Some(hash) = self.users.get(user) else {
            // Same cost as a known user, so response time does not reveal user names.
            let _ = bcrypt::verify(
                pass,
                "$2y$10$QKQ.6lMmQv3NFW8I1cYOSeYbLsW1lGxYyhE4DY2mT9w0xkq3yE6vW",
            );
            return false;
        };
        let ok = bcrypt::verify(pass, hash).unwrap_or(false);
        if ok {
            let mut v = self.verified.lock().unwrap_or_else(|e| e.into_inner());
            if v.len() >= VERIFIED_MAX {
                v.clear();
            }
            v.insert(key);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn basic_auth_checks_bcrypt_and_caches() {
        let dir = tempfile::tempdir().unwrap();
        let hash = bcrypt::hash("s3cret-pass", 4).unwrap();
        let p = write(
            dir.path(),
            "web.yml",
            &format!("basic_auth_users:\n  prom: '{hash}'\n"),
        );
        let w = WebConfig::load(&p).unwrap();
        let enc = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(w.requires_auth());
        assert!(w.authorized(Some(&enc("prom:s3cret-pass"))));
        assert!(w.authorized(Some(&enc("prom:s3cret-pass"))), "cached path");
        assert!(!w.authorized(Some(&enc("prom:wrong"))));
        assert!(!w.authorized(Some(&enc("nobody:s3cret-pass"))));
        assert!(!w.authorized(Some("Bearer x")));
        assert!(!w.authorized(Some("Basic !!!")));
        assert!(!w.authorized(None));
        assert!(WebConfig::open().authorized(None));
    }

    #[test]
    fn rejects_bad_files_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "basic_auth_users:\n  prom: plaintext\n",
                "not a bcrypt hash",
            ),
            (
                "tls_server_config:\n  cert_file: nope.pem\n  key_file: nope.key\n",
                "nope.pem",
            ),
            ("tls_server_config:\n  cert: x\n", "unknown field"),
            (
                "basic_auth_users: [1]\n",
                "line 1: basic_auth_users: expected a mapping, found a list",
            ),
        ];
        for (text, want) in cases {
            let p = write(dir.path(), "web.yml", text);
            let e = WebConfig::load(&p).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("web.yml"), "{text:?}: {e}");
        }
    }
}
