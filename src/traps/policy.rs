//! Which notifications are accepted, and whose they are.
//!
//! Checked in this order, so a notification that fails authentication is never
//! attributed to anyone: the v1/v2c community (one of `traps.communities`) or the SNMPv3
//! security level (at least the level of the user's auth; keys and decryption were
//! already checked by async-snmp's USM), then the source address (a configured device, or
//! an unknown source, accepted only with `accept_unknown_sources`). A rejected inform is
//! not acknowledged.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::config::{AuthKind, Config, Device, SecurityLevel, TrapsConfig};

/// Why a notification was dropped before attribution (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// v1/v2c community not in `traps.communities`.
    Community,
    /// SNMPv3 below the user's configured security level.
    SecurityLevel,
    /// Did not decode: garbage, truncated, oversized, or SNMPv3 with a wrong privacy
    /// password (decrypts to noise).
    Malformed,
    /// An SNMPv3 inform localised to another engine ID than this receiver's.
    ForeignEngine,
}

impl DropReason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Community => "community",
            DropReason::SecurityLevel => "security_level",
            DropReason::Malformed => "malformed",
            DropReason::ForeignEngine => "foreign_engine",
        }
    }
}

/// Whose a notification is.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A configured device.
    Device(Arc<Device>),
    /// No device has this address (accepted only with `accept_unknown_sources`).
    Unknown(IpAddr),
}

/// The outcome for one notification.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Accept it (and acknowledge an inform).
    Accept(Origin),
    /// Authentication passed but no device has this address and unknown sources are not
    /// accepted: counted by source, dropped.
    Unattributed(IpAddr),
    /// Dropped, never attributed.
    Drop(DropReason),
}

/// What the wire said about a notification's credentials.
#[derive(Debug, Clone, Copy)]
pub enum Credentials<'a> {
    /// v1 or v2c.
    Community(&'a [u8]),
    /// SNMPv3: USM user name and the level the message was received at.
    Usm(&'a [u8], SecurityLevel),
}

/// One config's rules, read by every notification (replaced whole on reload).
#[derive(Debug, Default, Clone)]
pub struct Rules {
    communities: Vec<Vec<u8>>,
    /// USM user name -> lowest level accepted.
    users: HashMap<Vec<u8>, SecurityLevel>,
    /// Address -> device: the first device in config order with that address.
    sources: HashMap<IpAddr, Arc<Device>>,
    accept_unknown: bool,
}

impl Rules {
    /// The rules of `traps` over `config`'s devices (by IP literal; host names are added
    /// with [`Rules::with_resolved`] once resolved).
    pub fn new(traps: &TrapsConfig, config: &Config) -> Rules {
        let mut sources: HashMap<IpAddr, Arc<Device>> = HashMap::new();
        for d in &config.devices {
            if let Ok(ip) = d.host.parse::<IpAddr>() {
                sources.entry(canonical(ip)).or_insert_with(|| d.clone());
            }
        }
        Rules {
            communities: traps
                .communities
                .iter()
                .map(|c| c.expose().as_bytes().to_vec())
                .collect(),
            users: traps
                .users
                .iter()
                .filter_map(|a| match &a.kind {
                    AuthKind::V3(u) => Some((u.username.as_bytes().to_vec(), u.security_level)),
                    _ => None,
                })
                .collect(),
            sources,
            accept_unknown: traps.accept_unknown_sources,
        }
    }

    /// These rules plus addresses resolved from devices' host names (`(address, device)`
    /// in config order); a literal address keeps its device.
    pub fn with_resolved(&self, resolved: &[(IpAddr, Arc<Device>)]) -> Rules {
        let mut sources = self.sources.clone();
        for (ip, d) in resolved {
            sources.entry(canonical(*ip)).or_insert_with(|| d.clone());
        }
        Rules {
            communities: self.communities.clone(),
            users: self.users.clone(),
            sources,
            accept_unknown: self.accept_unknown,
        }
    }

    /// The device a source address belongs to.
    pub fn device_for(&self, ip: IpAddr) -> Option<&Arc<Device>> {
        self.sources.get(&canonical(ip))
    }

    /// Decides on one notification.
    pub fn decide(&self, source: SocketAddr, credentials: Credentials<'_>) -> Verdict {
        match credentials {
            Credentials::Community(c) => {
                // Every entry is compared, so the time taken does not tell which matched.
                let ok = self
                    .communities
                    .iter()
                    .fold(false, |hit, want| hit | constant_time_eq(want, c));
                if !ok {
                    return Verdict::Drop(DropReason::Community);
                }
            }
            Credentials::Usm(user, level) => match self.users.get(user) {
                Some(min) if level_rank(level) >= level_rank(*min) => {}
                // An unknown user never gets here (USM drops it), but a reload may have
                // removed one the receiver still knows until it is rebuilt.
                _ => return Verdict::Drop(DropReason::SecurityLevel),
            },
        }
        let ip = canonical(source.ip());
        match self.sources.get(&ip) {
            Some(d) => Verdict::Accept(Origin::Device(d.clone())),
            None if self.accept_unknown => Verdict::Accept(Origin::Unknown(ip)),
            None => Verdict::Unattributed(ip),
        }
    }
}

/// IPv4-mapped IPv6 (a `[::]` listener receiving IPv4) as IPv4, so `10.0.0.1` matches.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn level_rank(l: SecurityLevel) -> u8 {
    match l {
        SecurityLevel::NoAuthNoPriv => 0,
        SecurityLevel::AuthNoPriv => 1,
        SecurityLevel::AuthPriv => 2,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    const CONFIG: &str = "auths:
  v2: {version: 2c, community: public}
  ap: {version: 3, username: privuser, security_level: authPriv, auth_protocol: SHA, auth_password: authpass123, priv_protocol: AES, priv_password: privpass123}
  an: {version: 3, username: authuser, security_level: authNoPriv, auth_protocol: SHA, auth_password: authpass123}
defaults: {auth: v2}
traps: {listen: ':1162', communities: [public, private], users: [ap, an]}
devices:
  - {name: core, address: 10.0.0.1}
  - {name: core-b, address: '10.0.0.1:1161'}
  - {name: v6, address: '[2001:db8::1]:161'}
  - {name: named, address: switch.example}
";

    fn rules(accept_unknown: bool) -> Rules {
        let text = if accept_unknown {
            CONFIG.replace(
                "users: [ap, an]}",
                "users: [ap, an], accept_unknown_sources: true}",
            )
        } else {
            CONFIG.to_string()
        };
        let c = load_str(&text, std::path::Path::new("t.yml")).unwrap();
        Rules::new(c.traps.as_deref().unwrap(), &c)
    }

    fn show(v: Verdict) -> String {
        match v {
            Verdict::Accept(Origin::Device(d)) => format!("accept {}", d.name),
            Verdict::Accept(Origin::Unknown(ip)) => format!("accept unknown {ip}"),
            Verdict::Unattributed(ip) => format!("unattributed {ip}"),
            Verdict::Drop(r) => format!("drop {}", r.as_str()),
        }
    }

    #[test]
    fn decides_credentials_then_source() {
        use SecurityLevel::*;
        let strict = rules(false);
        let open = rules(true);
        // (source, credentials, strict verdict, accept_unknown verdict)
        let cases: &[(&str, Credentials, &str, &str)] = &[
            (
                "10.0.0.1:5000",
                Credentials::Community(b"public"),
                "accept core",
                "accept core",
            ),
            (
                "10.0.0.1:5000",
                Credentials::Community(b"private"),
                "accept core",
                "accept core",
            ),
            (
                "10.0.0.1:5000",
                Credentials::Community(b"publi"),
                "drop community",
                "drop community",
            ),
            (
                "10.0.0.1:5000",
                Credentials::Community(b""),
                "drop community",
                "drop community",
            ),
            (
                "10.0.0.9:5000",
                Credentials::Community(b"wrong"),
                "drop community",
                "drop community",
            ),
            (
                "10.0.0.9:5000",
                Credentials::Community(b"public"),
                "unattributed 10.0.0.9",
                "accept unknown 10.0.0.9",
            ),
            (
                "[::ffff:10.0.0.1]:5000",
                Credentials::Community(b"public"),
                "accept core",
                "accept core",
            ),
            (
                "[2001:db8::1]:5000",
                Credentials::Usm(b"authuser", AuthNoPriv),
                "accept v6",
                "accept v6",
            ),
            (
                "10.0.0.1:5000",
                Credentials::Usm(b"authuser", AuthPriv),
                "accept core",
                "accept core",
            ),
            (
                "10.0.0.1:5000",
                Credentials::Usm(b"authuser", NoAuthNoPriv),
                "drop security_level",
                "drop security_level",
            ),
            (
                "10.0.0.1:5000",
                Credentials::Usm(b"privuser", AuthNoPriv),
                "drop security_level",
                "drop security_level",
            ),
            (
                "10.0.0.1:5000",
                Credentials::Usm(b"privuser", AuthPriv),
                "accept core",
                "accept core",
            ),
            (
                "10.0.0.1:5000",
                Credentials::Usm(b"nobody", AuthPriv),
                "drop security_level",
                "drop security_level",
            ),
        ];
        for (src, cred, want_strict, want_open) in cases {
            let src: SocketAddr = src.parse().unwrap();
            assert_eq!(
                show(strict.decide(src, *cred)),
                *want_strict,
                "{src} {cred:?}"
            );
            assert_eq!(show(open.decide(src, *cred)), *want_open, "{src} {cred:?}");
        }
    }

    #[test]
    fn host_names_attribute_once_resolved_and_literals_win() {
        let c = load_str(CONFIG, std::path::Path::new("t.yml")).unwrap();
        let r = rules(false);
        let named = c
            .devices
            .iter()
            .find(|d| d.name == "named")
            .unwrap()
            .clone();
        let core_b = c
            .devices
            .iter()
            .find(|d| d.name == "core-b")
            .unwrap()
            .clone();
        let r = r.with_resolved(&[
            ("192.0.2.7".parse().unwrap(), named),
            ("10.0.0.1".parse().unwrap(), core_b),
        ]);
        assert_eq!(
            r.device_for("192.0.2.7".parse().unwrap()).unwrap().name,
            "named"
        );
        assert_eq!(
            r.device_for("10.0.0.1".parse().unwrap()).unwrap().name,
            "core"
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
