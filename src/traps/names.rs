//! What a notification is: its name (standard, from `notifications:`, else its OID), the
//! interface it is about, and the labels its varbinds give. Pure code over octopoll's own
//! OID type; the listener converts async-snmp's values into [`Varbind`]s first.

use std::collections::HashMap;

use crate::config::{NotificationSpec, Severity};
use crate::snmp::Oid;

/// snmpTraps (RFC 3418): the standard notifications are its children 1 to 6.
const SNMP_TRAPS: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 5];
/// IF-MIB ifIndex, ifAdminStatus and ifOperStatus columns: the varbinds of linkDown and
/// linkUp (RFC 2863), whose last arc is the interface's ifIndex.
const IF_COLUMNS: &[&[u32]] = &[
    &[1, 3, 6, 1, 2, 1, 2, 2, 1, 1],
    &[1, 3, 6, 1, 2, 1, 2, 2, 1, 7],
    &[1, 3, 6, 1, 2, 1, 2, 2, 1, 8],
];
/// Longest varbind value kept as text (labels, log lines, alert annotations).
pub const MAX_VALUE_CHARS: usize = 200;

/// The standard notifications (SNMPv2-MIB's snmpTraps; IF-MIB's linkDown and linkUp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standard {
    /// The agent restarted, its configuration may have changed.
    ColdStart,
    /// The agent restarted, its configuration unchanged.
    WarmStart,
    /// An interface left the up state.
    LinkDown,
    /// An interface came up.
    LinkUp,
    /// The agent received a request it could not authenticate.
    AuthenticationFailure,
    /// An EGP neighbour was lost.
    EgpNeighborLoss,
}

impl Standard {
    /// The name used as the `trap` label (the MIB's).
    pub fn name(self) -> &'static str {
        match self {
            Standard::ColdStart => "coldStart",
            Standard::WarmStart => "warmStart",
            Standard::LinkDown => "linkDown",
            Standard::LinkUp => "linkUp",
            Standard::AuthenticationFailure => "authenticationFailure",
            Standard::EgpNeighborLoss => "egpNeighborLoss",
        }
    }

    fn from_oid(oid: &Oid) -> Option<Standard> {
        match oid.arcs().strip_prefix(SNMP_TRAPS)? {
            [1] => Some(Standard::ColdStart),
            [2] => Some(Standard::WarmStart),
            [3] => Some(Standard::LinkDown),
            [4] => Some(Standard::LinkUp),
            [5] => Some(Standard::AuthenticationFailure),
            [6] => Some(Standard::EgpNeighborLoss),
            _ => None,
        }
    }

    /// Link and restart notifications: the device is polled at once, so its state is fresh.
    pub fn repolls(self) -> bool {
        matches!(
            self,
            Standard::ColdStart | Standard::WarmStart | Standard::LinkDown | Standard::LinkUp
        )
    }

    /// The severity of its one-shot alert; `None` for linkDown/linkUp (an alert with a
    /// state) and egpNeighborLoss (EGP is long gone).
    pub fn one_shot_severity(self) -> Option<Severity> {
        match self {
            Standard::ColdStart | Standard::WarmStart => Some(Severity::Info),
            Standard::AuthenticationFailure => Some(Severity::Warning),
            Standard::LinkDown | Standard::LinkUp | Standard::EgpNeighborLoss => None,
        }
    }
}

/// One varbind, its value already as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Varbind {
    /// The OID.
    pub oid: Oid,
    /// The value as text (see [`value_text`]).
    pub value: String,
}

/// The configured notifications, by OID.
#[derive(Debug, Default, Clone)]
pub struct Specs(HashMap<Oid, NotificationSpec>);

impl Specs {
    /// Indexes `notifications:`.
    pub fn new(specs: &[NotificationSpec]) -> Specs {
        Specs(specs.iter().map(|s| (s.oid.clone(), s.clone())).collect())
    }
}

/// Which kind of notification it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// One of [`Standard`].
    Standard(Standard),
    /// Named in `notifications:`; alert severity when it goes to Alertmanager.
    Configured(Option<Severity>),
    /// Neither: named by its OID, not alerted.
    Unknown,
}

/// A notification in octopoll's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The `trap` label: standard name, configured name, or the OID.
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// The interface (linkDown/linkUp), from an ifIndex/ifAdminStatus/ifOperStatus varbind.
    pub if_index: Option<u32>,
    /// Labels from the configured varbinds (`notifications.OID.labels`), in config order.
    pub labels: Vec<(String, String)>,
}

/// Names `oid` and takes the labels its spec asks for from `varbinds`.
pub fn classify(oid: &Oid, varbinds: &[Varbind], specs: &Specs) -> Named {
    if let Some(std) = Standard::from_oid(oid) {
        let if_index = matches!(std, Standard::LinkDown | Standard::LinkUp)
            .then(|| if_index(varbinds))
            .flatten();
        return Named {
            name: std.name().to_string(),
            kind: Kind::Standard(std),
            if_index,
            labels: Vec::new(),
        };
    }
    match specs.0.get(oid) {
        Some(spec) => Named {
            name: spec.name.clone(),
            kind: Kind::Configured(spec.alert.then_some(spec.severity)),
            if_index: None,
            labels: spec
                .labels
                .iter()
                .filter_map(|(label, prefix)| {
                    let vb = varbinds.iter().find(|v| v.oid.starts_with(prefix))?;
                    Some((label.clone(), vb.value.clone()))
                })
                .collect(),
        },
        None => Named {
            name: oid.to_string(),
            kind: Kind::Unknown,
            if_index: None,
            labels: Vec::new(),
        },
    }
}

/// The ifIndex of a link notification: the instance arc of its first IF-MIB varbind.
fn if_index(varbinds: &[Varbind]) -> Option<u32> {
    varbinds.iter().find_map(|v| {
        IF_COLUMNS
            .iter()
            .find_map(|col| match v.oid.arcs().strip_prefix(*col)? {
                [index] => Some(*index),
                _ => None,
            })
    })
}

/// A value as one line of text: control characters as `\u{..}`, at most
/// [`MAX_VALUE_CHARS`] characters (then `…`). `shown` is the value's own rendering.
pub fn value_text(shown: &str) -> String {
    let mut out = String::with_capacity(shown.len().min(MAX_VALUE_CHARS + 8));
    for (n, c) in shown.chars().enumerate() {
        if n == MAX_VALUE_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        s.parse().unwrap()
    }

    fn vb(o: &str, v: &str) -> Varbind {
        Varbind {
            oid: oid(o),
            value: v.to_string(),
        }
    }

    #[test]
    fn names_standard_configured_and_unknown() {
        let specs = Specs::new(&[NotificationSpec {
            oid: oid("1.3.6.1.4.1.9.9.41.2.0.1"),
            name: "clogMessageGenerated".into(),
            labels: vec![
                ("facility".into(), oid("1.3.6.1.4.1.9.9.41.1.2.3.1.2")),
                ("missing".into(), oid("1.3.6.1.4.1.9.9.41.1.2.3.1.9")),
                ("text".into(), oid("1.3.6.1.4.1.9.9.41.1.2.3.1.5")),
            ],
            alert: true,
            severity: Severity::Warning,
        }]);
        let link = [
            vb("1.3.6.1.2.1.2.2.1.1.7", "7"),
            vb("1.3.6.1.2.1.2.2.1.7.7", "1"),
        ];
        let status_only = [vb("1.3.6.1.2.1.2.2.1.8.12", "2")];
        let syslog = [
            vb("1.3.6.1.4.1.9.9.41.1.2.3.1.2.55", "LINK"),
            vb("1.3.6.1.4.1.9.9.41.1.2.3.1.5.55", "Interface Gi0/1 down"),
        ];
        // (trap OID, varbinds, name, kind, ifIndex, labels)
        type Case<'a> = (
            &'a str,
            &'a [Varbind],
            &'a str,
            Kind,
            Option<u32>,
            Vec<(&'a str, &'a str)>,
        );
        let cases: Vec<Case> = vec![
            (
                "1.3.6.1.6.3.1.1.5.1",
                &[],
                "coldStart",
                Kind::Standard(Standard::ColdStart),
                None,
                vec![],
            ),
            (
                "1.3.6.1.6.3.1.1.5.2",
                &[],
                "warmStart",
                Kind::Standard(Standard::WarmStart),
                None,
                vec![],
            ),
            (
                "1.3.6.1.6.3.1.1.5.3",
                &link,
                "linkDown",
                Kind::Standard(Standard::LinkDown),
                Some(7),
                vec![],
            ),
            (
                "1.3.6.1.6.3.1.1.5.4",
                &status_only,
                "linkUp",
                Kind::Standard(Standard::LinkUp),
                Some(12),
                vec![],
            ),
            (
                "1.3.6.1.6.3.1.1.5.4",
                &[],
                "linkUp",
                Kind::Standard(Standard::LinkUp),
                None,
                vec![],
            ),
            (
                "1.3.6.1.6.3.1.1.5.5",
                &link,
                "authenticationFailure",
                Kind::Standard(Standard::AuthenticationFailure),
                None,
                vec![],
            ),
            (
                "1.3.6.1.6.3.1.1.5.6",
                &[],
                "egpNeighborLoss",
                Kind::Standard(Standard::EgpNeighborLoss),
                None,
                vec![],
            ),
            (
                "1.3.6.1.6.3.1.1.5.7",
                &[],
                "1.3.6.1.6.3.1.1.5.7",
                Kind::Unknown,
                None,
                vec![],
            ),
            (
                "1.3.6.1.6.3.1.1.5",
                &[],
                "1.3.6.1.6.3.1.1.5",
                Kind::Unknown,
                None,
                vec![],
            ),
            (
                "1.3.6.1.4.1.9.9.41.2.0.1",
                &syslog,
                "clogMessageGenerated",
                Kind::Configured(Some(Severity::Warning)),
                None,
                vec![("facility", "LINK"), ("text", "Interface Gi0/1 down")],
            ),
            (
                "1.3.6.1.4.1.8072.2.3.0.1",
                &syslog,
                "1.3.6.1.4.1.8072.2.3.0.1",
                Kind::Unknown,
                None,
                vec![],
            ),
        ];
        for (trap, vbs, name, kind, index, labels) in cases {
            let n = classify(&oid(trap), vbs, &specs);
            assert_eq!(n.name, name, "{trap}");
            assert_eq!(n.kind, kind, "{trap}");
            assert_eq!(n.if_index, index, "{trap}");
            let got: Vec<(&str, &str)> = n
                .labels
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            assert_eq!(got, labels, "{trap}");
        }
    }

    #[test]
    fn configured_alert_false_has_no_severity() {
        let specs = Specs::new(&[NotificationSpec {
            oid: oid("1.3.6.1.4.1.1.0.1"),
            name: "quiet".into(),
            labels: vec![],
            alert: false,
            severity: Severity::Critical,
        }]);
        assert_eq!(
            classify(&oid("1.3.6.1.4.1.1.0.1"), &[], &specs).kind,
            Kind::Configured(None)
        );
    }

    #[test]
    fn standard_properties() {
        use Standard::*;
        for (s, repoll, sev) in [
            (ColdStart, true, Some(Severity::Info)),
            (WarmStart, true, Some(Severity::Info)),
            (LinkDown, true, None),
            (LinkUp, true, None),
            (AuthenticationFailure, false, Some(Severity::Warning)),
            (EgpNeighborLoss, false, None),
        ] {
            assert_eq!(s.repolls(), repoll, "{s:?}");
            assert_eq!(s.one_shot_severity(), sev, "{s:?}");
        }
    }

    #[test]
    fn values_become_one_short_line() {
        assert_eq!(value_text("Gi0/1"), "Gi0/1");
        assert_eq!(value_text("a\nb\u{7}"), "a\\u{a}b\\u{7}");
        let long = "x".repeat(MAX_VALUE_CHARS + 50);
        let t = value_text(&long);
        assert_eq!(t.chars().count(), MAX_VALUE_CHARS + 1);
        assert!(t.ends_with('…'));
        assert_eq!(value_text(""), "");
    }
}
