//! Auths: SNMP versions and credentials, validated into [`Auth`].

use super::raw::{RawAuth, Text};
use super::report::Report;
use super::secrets::{read_secret, Secrets};
use super::yaml::join_key;
use super::{Auth, AuthKind, AuthProtocol, PrivProtocol, Secret, SecurityLevel, UsmAuth};

const MIN_PASSWORD_LEN: usize = 8;

pub(crate) fn validate_auth(
    rep: &mut Report,
    f: usize,
    name: &str,
    raw: &RawAuth,
    secrets: Secrets<'_>,
) -> Option<Auth> {
    let base = join_key("auths", name);
    let before = rep.count();
    let Some(version) = &raw.version else {
        rep.at(f, &base, "missing required key `version` (1, 2c or 3)");
        return None;
    };
    let version = version.0.to_ascii_lowercase();
    let kind = match version.as_str() {
        "1" | "2c" => {
            let v3_only = [
                ("username", raw.username.is_some()),
                ("security_level", raw.security_level.is_some()),
                ("auth_protocol", raw.auth_protocol.is_some()),
                ("auth_password", raw.auth_password.is_some()),
                ("auth_password_file", raw.auth_password_file.is_some()),
                ("priv_protocol", raw.priv_protocol.is_some()),
                ("priv_password", raw.priv_password.is_some()),
                ("priv_password_file", raw.priv_password_file.is_some()),
                ("context_name", raw.context_name.is_some()),
            ];
            for (k, given) in v3_only {
                if given {
                    rep.at(
                        f,
                        &join_key(&base, k),
                        format!(
                            "`{k}` is only for version 3 auths (this one is version {version})"
                        ),
                    );
                }
            }
            let community = read_secret(
                rep,
                f,
                &base,
                "community",
                raw.community.as_ref(),
                raw.community_file.as_ref(),
                secrets,
            );
            let community = match community {
                Ok(Some(c)) => {
                    if c.text.is_empty() && !c.unresolved {
                        rep.at(f, &c.key, "community is empty");
                    }
                    Some(Secret::new(c.text))
                }
                Ok(None) => {
                    rep.at(
                        f,
                        &base,
                        "missing required key `community` (or `community_file`)",
                    );
                    None
                }
                Err(()) => None,
            };
            let community = community?;
            if version == "1" {
                AuthKind::V1 { community }
            } else {
                AuthKind::V2c { community }
            }
        }
        "3" => AuthKind::V3(validate_usm(rep, f, &base, raw, secrets)?),
        other => {
            rep.at(
                f,
                &join_key(&base, "version"),
                format!("unknown version `{other}`, expected 1, 2c or 3"),
            );
            return None;
        }
    };
    (rep.count() == before).then(|| Auth {
        name: name.to_string(),
        kind,
    })
}

fn validate_usm(
    rep: &mut Report,
    f: usize,
    base: &str,
    raw: &RawAuth,
    secrets: Secrets<'_>,
) -> Option<UsmAuth> {
    let before = rep.count();
    for (k, given) in [
        ("community", raw.community.is_some()),
        ("community_file", raw.community_file.is_some()),
    ] {
        if given {
            rep.at(
                f,
                &join_key(base, k),
                format!("`{k}` is only for version 1 and 2c auths; version 3 uses `username`"),
            );
        }
    }
    let username = match &raw.username {
        Some(u) if !u.0.is_empty() => Some(u.0.clone()),
        Some(_) => {
            rep.at(f, &join_key(base, "username"), "username is empty");
            None
        }
        None => {
            rep.at(f, base, "missing required key `username`");
            None
        }
    };
    let level = match &raw.security_level {
        None => {
            rep.at(
                f,
                base,
                "missing required key `security_level` (noAuthNoPriv, authNoPriv or authPriv)",
            );
            None
        }
        Some(t) => match t.0.to_ascii_lowercase().as_str() {
            "noauthnopriv" => Some(SecurityLevel::NoAuthNoPriv),
            "authnopriv" => Some(SecurityLevel::AuthNoPriv),
            "authpriv" => Some(SecurityLevel::AuthPriv),
            _ => {
                rep.at(
                    f,
                    &join_key(base, "security_level"),
                    format!(
                        "unknown security_level `{}`, expected noAuthNoPriv, authNoPriv or authPriv",
                        t.0
                    ),
                );
                None
            }
        },
    };
    let level = level?;
    let level_name = match level {
        SecurityLevel::NoAuthNoPriv => "noAuthNoPriv",
        SecurityLevel::AuthNoPriv => "authNoPriv",
        SecurityLevel::AuthPriv => "authPriv",
    };
    let needs_auth = level != SecurityLevel::NoAuthNoPriv;
    let needs_priv = level == SecurityLevel::AuthPriv;

    let auth = usm_part(
        rep,
        f,
        base,
        level_name,
        needs_auth,
        (
            "auth_protocol",
            raw.auth_protocol.as_ref(),
            parse_auth_protocol,
        ),
        (
            "auth_password",
            raw.auth_password.as_ref(),
            raw.auth_password_file.as_ref(),
        ),
        secrets,
    );
    let privacy = usm_part(
        rep,
        f,
        base,
        level_name,
        needs_priv,
        (
            "priv_protocol",
            raw.priv_protocol.as_ref(),
            parse_priv_protocol,
        ),
        (
            "priv_password",
            raw.priv_password.as_ref(),
            raw.priv_password_file.as_ref(),
        ),
        secrets,
    );
    if rep.count() > before {
        return None;
    }
    Some(UsmAuth {
        username: username?,
        security_level: level,
        auth,
        privacy,
        context_name: raw
            .context_name
            .as_ref()
            .map(|t| t.0.clone())
            .unwrap_or_default(),
    })
}

/// Protocol and password for the auth or privacy half of USM: both required when the level
/// needs them, both forbidden when it does not. Errors are reported; the result is then
/// meaningless.
#[allow(clippy::too_many_arguments)]
fn usm_part<P>(
    rep: &mut Report,
    f: usize,
    base: &str,
    level_name: &str,
    needed: bool,
    protocol: ProtocolField<'_, P>,
    password: (&str, Option<&Text>, Option<&Text>),
    secrets: Secrets<'_>,
) -> Option<(P, Secret)> {
    let (pkey, ptext, parse) = protocol;
    let (wkey, wtext, wfile) = password;
    if !needed {
        let given = [
            (pkey.to_string(), ptext.is_some()),
            (wkey.to_string(), wtext.is_some()),
            (format!("{wkey}_file"), wfile.is_some()),
        ];
        for (k, g) in given {
            if g {
                rep.at(
                    f,
                    &join_key(base, &k),
                    format!("`{k}` is not used with security_level {level_name}"),
                );
            }
        }
        return None;
    }
    let proto = match ptext {
        None => {
            rep.at(
                f,
                base,
                format!("missing required key `{pkey}` (security_level {level_name} needs it)"),
            );
            None
        }
        Some(t) => {
            let p = parse(&t.0);
            if p.is_none() {
                let allowed = if pkey == "auth_protocol" {
                    "MD5, SHA, SHA224, SHA256, SHA384 or SHA512"
                } else {
                    "DES, AES, AES128, AES192, AES256, AES192C or AES256C"
                };
                rep.at(
                    f,
                    &join_key(base, pkey),
                    format!("unknown {pkey} `{}`, expected {allowed}", t.0),
                );
            }
            p
        }
    };
    let secret = match read_secret(rep, f, base, wkey, wtext, wfile, secrets) {
        Ok(Some(s)) => {
            if !s.unresolved && s.text.chars().count() < MIN_PASSWORD_LEN {
                rep.at(
                    f,
                    &s.key,
                    format!("{wkey} is shorter than {MIN_PASSWORD_LEN} characters (SNMPv3 needs at least {MIN_PASSWORD_LEN})"),
                );
                None
            } else {
                Some(Secret::new(s.text))
            }
        }
        Ok(None) => {
            rep.at(
                f,
                base,
                format!("missing required key `{wkey}` or `{wkey}_file` (security_level {level_name} needs it)"),
            );
            None
        }
        Err(()) => None,
    };
    Some((proto?, secret?))
}

/// A USM protocol key: its name, its value, and how to parse it.
type ProtocolField<'a, P> = (&'a str, Option<&'a Text>, fn(&str) -> Option<P>);

pub(crate) fn parse_auth_protocol(s: &str) -> Option<AuthProtocol> {
    Some(match s.to_ascii_uppercase().as_str() {
        "MD5" => AuthProtocol::Md5,
        "SHA" => AuthProtocol::Sha,
        "SHA224" => AuthProtocol::Sha224,
        "SHA256" => AuthProtocol::Sha256,
        "SHA384" => AuthProtocol::Sha384,
        "SHA512" => AuthProtocol::Sha512,
        _ => return None,
    })
}

pub(crate) fn parse_priv_protocol(s: &str) -> Option<PrivProtocol> {
    Some(match s.to_ascii_uppercase().as_str() {
        "DES" => PrivProtocol::Des,
        "AES" | "AES128" => PrivProtocol::Aes,
        "AES192" => PrivProtocol::Aes192,
        "AES256" => PrivProtocol::Aes256,
        "AES192C" => PrivProtocol::Aes192C,
        "AES256C" => PrivProtocol::Aes256C,
        _ => return None,
    })
}
