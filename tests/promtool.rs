//! Runs Prometheus' and Alertmanager's own checkers over prometheus/: `promtool check
//! config`, `promtool check rules`, `promtool test rules` and `amtool check-config`, plus
//! checks that every alert has a unit test. Skips (with a message) when the tools are not
//! installed, unless CI is set.

mod common_stack;

use common_stack::{files, root, tool, yaml};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn run(bin: &Path, args: &[&str]) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "`{} {}` failed:\n{text}",
        bin.display(),
        args.join(" ")
    );
    eprintln!("{} {}: ok", bin.display(), args.join(" "));
}

#[test]
fn promtool_check_config() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    run(&promtool, &["check", "config", "prometheus/prometheus.yml"]);
}

#[test]
fn promtool_check_rules() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let rules = files("prometheus/rules", ".yml");
    assert!(!rules.is_empty(), "no rule files in prometheus/rules");
    let mut args = vec!["check", "rules"];
    args.extend(rules.iter().map(String::as_str));
    run(&promtool, &args);
}

#[test]
fn promtool_test_rules() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let tests = files("prometheus/tests", ".yml");
    assert!(!tests.is_empty(), "no rule tests in prometheus/tests");
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    run(&promtool, &args);
}

#[test]
fn amtool_check_config() {
    let Some(amtool) = tool("amtool") else { return };
    run(&amtool, &["check-config", "prometheus/alertmanager.yml"]);
}

/// Alerts reach the receiver their severity says.
#[test]
fn amtool_routes_by_severity() {
    let Some(amtool) = tool("amtool") else { return };
    for (labels, receiver) in [
        (
            &[
                "alertname=SnmpDeviceDown",
                "device=sw1",
                "severity=critical",
            ][..],
            "network-oncall",
        ),
        (
            &["alertname=InterfaceDown", "device=sw1", "severity=warning"][..],
            "network-team",
        ),
        (
            &["alertname=DeviceRebooted", "device=sw1", "severity=info"][..],
            "network-info",
        ),
    ] {
        let out = Command::new(&amtool)
            .args([
                "config",
                "routes",
                "test",
                "--config.file=prometheus/alertmanager.yml",
            ])
            .args(labels)
            .current_dir(root())
            .output()
            .expect("run amtool");
        let got = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(
            got,
            receiver,
            "{labels:?} routed to {got:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every alert in prometheus/rules has a unit test in prometheus/tests that expects it to
/// fire (with `device`, plus `ifName` for interface alerts) and one that expects silence.
#[test]
fn every_alert_has_unit_tests() {
    let mut alerts = BTreeMap::new();
    for f in files("prometheus/rules", ".yml") {
        for g in yaml(&f)["groups"].as_sequence().unwrap() {
            for r in g["rules"].as_sequence().unwrap() {
                if let Some(a) = r["alert"].as_str() {
                    alerts.insert(a.to_string(), (false, false));
                }
            }
        }
    }
    assert!(
        alerts.len() >= 11,
        "expected at least 11 alerts, found {alerts:?}"
    );
    for f in files("prometheus/tests", ".yml") {
        for t in yaml(&f)["tests"].as_sequence().unwrap() {
            for a in t["alert_rule_test"].as_sequence().into_iter().flatten() {
                let name = a["alertname"].as_str().unwrap();
                let entry = alerts
                    .get_mut(name)
                    .unwrap_or_else(|| panic!("{f}: test for unknown alert {name}"));
                let exp = a["exp_alerts"]
                    .as_sequence()
                    .map(|s| s.as_slice())
                    .unwrap_or(&[]);
                if exp.is_empty() {
                    entry.1 = true;
                }
                for e in exp {
                    entry.0 = true;
                    let l = &e["exp_labels"];
                    assert!(
                        l["device"].as_str().is_some(),
                        "{f}: {name} expected without a device label"
                    );
                    assert!(
                        l["severity"].as_str().is_some(),
                        "{f}: {name} expected without severity"
                    );
                    if name.starts_with("Interface") {
                        assert!(
                            l["ifName"].as_str().is_some(),
                            "{f}: {name} expected without ifName"
                        );
                    }
                    let ann = &e["exp_annotations"];
                    assert!(
                        ann["summary"].as_str().is_some() && ann["description"].as_str().is_some(),
                        "{f}: {name}: annotations not checked"
                    );
                }
            }
        }
    }
    for (name, (fires, quiet)) in alerts {
        assert!(fires, "alert {name} has no unit test where it fires");
        assert!(
            quiet,
            "alert {name} has no unit test where it must not fire"
        );
    }
}

/// Every alert has a known severity and the annotations a technician needs.
#[test]
fn alerts_have_severity_and_annotations() {
    for f in files("prometheus/rules", ".yml") {
        for g in yaml(&f)["groups"].as_sequence().unwrap() {
            for r in g["rules"].as_sequence().unwrap() {
                let Some(name) = r["alert"].as_str() else {
                    continue;
                };
                let sev = r["labels"]["severity"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: no severity"));
                assert!(
                    ["critical", "warning", "info"].contains(&sev),
                    "{name}: severity {sev}"
                );
                for a in ["summary", "description"] {
                    let text = r["annotations"][a]
                        .as_str()
                        .unwrap_or_else(|| panic!("{name}: no {a}"));
                    assert!(
                        text.contains("$labels.device") || text.contains("$labels.instance"),
                        "{name}: {a} does not name the device"
                    );
                    if name.starts_with("Interface") {
                        assert!(
                            text.contains("$labels.ifName"),
                            "{name}: {a} does not name the interface"
                        );
                    }
                }
            }
        }
    }
}
