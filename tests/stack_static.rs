//! Static checks of the monitoring stack (no Docker engine needed): docker-compose.yml,
//! Dockerfile, Grafana provisioning and dashboards, and how they fit prometheus.yml.

mod common_stack;

use common_stack::*;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

fn compose() -> Value {
    yaml("docker-compose.yml")
}

fn services(c: &Value) -> BTreeMap<String, Value> {
    c["services"]
        .as_mapping()
        .expect("compose: no services")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// host:port out of a URL or target.
fn host_port(s: &str) -> (String, u16) {
    let s = s.split("://").last().unwrap();
    let s = s.split('/').next().unwrap();
    let (h, p) = s
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("no port in {s}"));
    (h.to_string(), p.parse().unwrap())
}

#[test]
fn compose_parses_and_has_the_services() {
    let s = services(&compose());
    for name in [
        "octopoll",
        "simulator",
        "prometheus",
        "alertmanager",
        "grafana",
        "grafana-init",
    ] {
        assert!(s.contains_key(name), "compose has no service {name}");
    }
}

#[test]
fn compose_images_are_pinned() {
    let s = services(&compose());
    let built: BTreeSet<&str> = s
        .values()
        .filter(|svc| svc.get("build").is_some())
        .filter_map(|svc| svc["image"].as_str())
        .collect();
    for (name, svc) in &s {
        if svc.get("build").is_some() || svc["image"].as_str().is_some_and(|i| built.contains(i)) {
            continue; // built locally from the Dockerfile
        }
        let image = svc["image"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no image and no build"));
        let (_, tag) = image
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{name}: image {image} has no tag"));
        assert!(
            !tag.is_empty() && tag != "latest" && !tag.contains('/'),
            "{name}: image {image} is not pinned"
        );
        assert!(
            tag.chars().any(|c| c.is_ascii_digit()),
            "{name}: tag {tag} is not a version"
        );
    }
    for line in read("Dockerfile")
        .lines()
        .filter(|l| l.starts_with("FROM "))
    {
        let image = line.split_whitespace().nth(1).unwrap();
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(
            !tag.is_empty() && tag != "latest",
            "Dockerfile: {line} is not pinned"
        );
    }
}

#[test]
fn compose_prometheus_is_3x() {
    let s = services(&compose());
    let image = s["prometheus"]["image"].as_str().unwrap();
    assert!(
        image.contains(":v3."),
        "prometheus image {image} is not 3.x"
    );
    let cmd = strs(&s["prometheus"]["command"]);
    assert!(
        cmd.iter()
            .any(|a| a.starts_with("--storage.tsdb.retention.time=")),
        "retention not on the command line"
    );
}

#[test]
fn compose_mounts_exist_and_configs_are_read_only() {
    let c = compose();
    let named: BTreeSet<String> = c["volumes"]
        .as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    assert!(
        named.contains("prometheus-data") && named.contains("grafana-data"),
        "named volumes missing: {named:?}"
    );
    for (name, svc) in services(&c) {
        for v in strs(&svc["volumes"]) {
            let parts: Vec<&str> = v.split(':').collect();
            let src = parts[0];
            if src.starts_with("./") || src.starts_with('/') {
                assert!(
                    exists(src.trim_start_matches("./")),
                    "{name}: bind mount source {src} does not exist in the repo"
                );
                assert_eq!(
                    parts.get(2).copied(),
                    Some("ro"),
                    "{name}: config mount {v} is not read-only"
                );
            } else {
                assert!(
                    named.contains(src),
                    "{name}: volume {src} is not declared under top-level volumes"
                );
            }
        }
    }
    // Secrets: the real files are not committed; each needs a committed .example.
    let secrets = c["secrets"].as_mapping().expect("no secrets");
    for (k, v) in secrets {
        let file = v["file"]
            .as_str()
            .unwrap_or_else(|| panic!("secret {k:?} has no file"));
        let rel = file.trim_start_matches("./");
        assert!(
            rel.starts_with("secrets/"),
            "secret file {file} outside secrets/"
        );
        assert!(
            exists(&format!("{rel}.example")),
            "secret {file} has no {rel}.example"
        );
    }
    let gitignore = read("secrets/.gitignore");
    assert!(
        gitignore.lines().any(|l| l.trim() == "*"),
        "secrets/.gitignore does not ignore the real secrets"
    );
}

#[test]
fn compose_healthchecks_and_dependencies() {
    let s = services(&compose());
    for (name, svc) in &s {
        let one_shot = svc["restart"].as_str() == Some("no");
        let hc = &svc["healthcheck"];
        let disabled = hc["disable"].as_bool() == Some(true);
        if !one_shot && !disabled {
            assert!(hc["test"].as_sequence().is_some(), "{name}: no healthcheck");
        }
        if let Some(deps) = svc.get("depends_on") {
            let deps = deps
                .as_mapping()
                .unwrap_or_else(|| panic!("{name}: depends_on must use conditions"));
            for (dep, cond) in deps {
                let dep = dep.as_str().unwrap();
                assert!(s.contains_key(dep), "{name} depends on unknown {dep}");
                let cond = cond["condition"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: depends_on {dep} without condition"));
                if cond == "service_healthy" {
                    let dhc = &s[dep]["healthcheck"];
                    assert!(
                        dhc["test"].as_sequence().is_some(),
                        "{name} waits for {dep} to be healthy but it has no healthcheck"
                    );
                }
            }
        }
    }
    assert_eq!(
        s["grafana-init"]["depends_on"]["grafana"]["condition"].as_str(),
        Some("service_healthy")
    );
}

#[test]
fn prometheus_targets_match_compose_services() {
    let s = services(&compose());
    let p = yaml("prometheus/prometheus.yml");
    let octopoll_cmd = strs(&s["octopoll"]["command"]).join(" ");
    let listen_port = octopoll_cmd
        .split("--listen ")
        .nth(1)
        .map(|a| host_port(a.split(' ').next().unwrap()).1)
        .unwrap_or(9161);
    let mut seen_sd = false;
    for job in p["scrape_configs"].as_sequence().unwrap() {
        let name = job["job_name"].as_str().unwrap();
        for sd in job["http_sd_configs"].as_sequence().into_iter().flatten() {
            let (h, port) = host_port(sd["url"].as_str().unwrap());
            assert!(
                s.contains_key(&h),
                "{name}: http_sd host {h} is no compose service"
            );
            assert_eq!(
                (h.as_str(), port),
                ("octopoll", listen_port),
                "{name}: http_sd must point at octopoll"
            );
            seen_sd = true;
        }
        for sc in job["static_configs"].as_sequence().into_iter().flatten() {
            for t in strs(&sc["targets"]) {
                let (h, port) = host_port(&t);
                if h == "localhost" {
                    continue;
                }
                assert!(
                    s.contains_key(&h),
                    "{name}: target {t} is no compose service"
                );
                if h == "octopoll" {
                    assert_eq!(
                        port, listen_port,
                        "{name}: octopoll listens on {listen_port}"
                    );
                }
            }
        }
        for r in job["relabel_configs"].as_sequence().into_iter().flatten() {
            if r["target_label"].as_str() == Some("__address__") {
                let (h, port) = host_port(r["replacement"].as_str().unwrap());
                assert_eq!(
                    (h.as_str(), port),
                    ("octopoll", listen_port),
                    "{name}: __address__ must be octopoll"
                );
            }
        }
    }
    assert!(seen_sd, "no http_sd_configs job");
    for am in p["alerting"]["alertmanagers"].as_sequence().unwrap() {
        for sc in am["static_configs"].as_sequence().unwrap() {
            for t in strs(&sc["targets"]) {
                assert_eq!(host_port(&t), ("alertmanager".to_string(), 9093));
            }
        }
    }
    // The octopoll job scrapes only octopoll's own metrics; the devices come via /probe.
    let jobs: BTreeMap<&str, &Value> = p["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|j| (j["job_name"].as_str().unwrap(), j))
        .collect();
    assert_eq!(strs(&jobs["octopoll"]["params"]["devices"]), vec!["false"]);
    assert_eq!(
        jobs["octopoll-devices"]["metrics_path"].as_str(),
        Some("/probe")
    );
}

#[test]
fn grafana_datasources_match_compose_and_prometheus() {
    let s = services(&compose());
    let p = yaml("prometheus/prometheus.yml");
    let ds = yaml("grafana/provisioning/datasources/octopoll.yml");
    let list = ds["datasources"].as_sequence().unwrap();
    let prom = list
        .iter()
        .find(|d| d["type"].as_str() == Some("prometheus"))
        .expect("no prometheus datasource");
    assert_eq!(prom["uid"].as_str(), Some("prometheus"));
    let (h, port) = host_port(prom["url"].as_str().unwrap());
    assert_eq!((h.as_str(), port), ("prometheus", 9090));
    assert!(s.contains_key(&h));
    assert_eq!(
        prom["jsonData"]["timeInterval"].as_str(),
        p["global"]["scrape_interval"].as_str(),
        "Grafana timeInterval must equal Prometheus' scrape_interval"
    );
    let am = list
        .iter()
        .find(|d| d["type"].as_str() == Some("alertmanager"))
        .expect("no alertmanager datasource");
    let (h, port) = host_port(am["url"].as_str().unwrap());
    assert_eq!((h.as_str(), port), ("alertmanager", 9093));
    // The dashboard provider reads where compose mounts grafana/dashboards.
    let prov = yaml("grafana/provisioning/dashboards/octopoll.yml");
    let path = prov["providers"][0]["options"]["path"].as_str().unwrap();
    let mounts = strs(&s["grafana"]["volumes"]);
    assert!(
        mounts
            .iter()
            .any(|m| m.starts_with("./grafana/dashboards:") && m.split(':').nth(1) == Some(path)),
        "{path} is not where grafana/dashboards is mounted"
    );
}

#[test]
fn compose_octopoll_config_points_at_the_simulator() {
    let s = services(&compose());
    let sim = strs(&s["simulator"]["command"]);
    let n: u16 = sim
        .iter()
        .skip_while(|a| *a != "--devices")
        .nth(1)
        .expect("--devices")
        .parse()
        .unwrap();
    let mount = strs(&s["octopoll"]["volumes"])
        .into_iter()
        .find(|v| v.contains(":/etc/octopoll"))
        .expect("config mount");
    let dir = mount.split(':').next().unwrap().trim_start_matches("./");
    let cfg = yaml(&format!("{dir}/octopoll.yml"));
    let devices = cfg["devices"].as_sequence().unwrap();
    assert_eq!(devices.len(), n as usize, "one device per simulated agent");
    let mut ports = BTreeSet::new();
    for d in devices {
        let (h, port) = host_port(d["address"].as_str().unwrap());
        assert_eq!(h, "simulator");
        ports.insert(port);
    }
    assert_eq!(ports, (16100..16100 + n).collect::<BTreeSet<_>>());
}

#[test]
fn dockerfile_shape() {
    let d = read("Dockerfile");
    assert!(
        d.lines().filter(|l| l.starts_with("FROM ")).count() >= 2,
        "not multi-stage"
    );
    assert!(
        d.lines()
            .any(|l| l.starts_with("USER ") && !l.contains("root") && !l.contains(" 0")),
        "runs as root"
    );
    assert!(
        d.contains("HEALTHCHECK") && d.contains("/-/healthy"),
        "no HEALTHCHECK on /-/healthy"
    );
    assert!(d
        .lines()
        .any(|l| l.starts_with("ENTRYPOINT") && l.contains("octopoll")));
    let ignore = read(".dockerignore");
    for p in ["target", "secrets", ".git"] {
        assert!(
            ignore.lines().any(|l| l.trim_end_matches('/') == p),
            ".dockerignore lacks {p}"
        );
    }
}

// === dashboards ===

fn walk<'a>(v: &'a serde_json::Value, f: &mut dyn FnMut(&'a serde_json::Value)) {
    f(v);
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, f)),
        _ => {}
    }
}

#[test]
fn dashboards_are_provisionable() {
    let provisioned: BTreeSet<String> = yaml("grafana/provisioning/datasources/octopoll.yml")
        ["datasources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| {
            d["uid"]
                .as_str()
                .expect("datasource without uid")
                .to_string()
        })
        .collect();
    let mut uids = BTreeSet::new();
    for rel in &dashboards() {
        let text = read(rel);
        assert!(
            !text.contains("${DS_"),
            "{rel}: uses ${{DS_...}} import placeholders"
        );
        let d = json(rel);
        assert!(
            d.get("__inputs").is_none(),
            "{rel}: has __inputs (export for sharing, not provisioning)"
        );
        let uid = d["uid"].as_str().unwrap_or_else(|| panic!("{rel}: no uid"));
        assert!(
            uids.insert(uid.to_string()),
            "duplicate dashboard uid {uid}"
        );
        assert!(
            d.get("id").is_none() || d["id"].is_null(),
            "{rel}: has a database id"
        );
        let mut ids = BTreeSet::new();
        for p in all_panels(&d) {
            let id = p["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("{rel}: panel {} without id", p["title"]));
            assert!(ids.insert(id), "{rel}: duplicate panel id {id}");
        }
        // Every datasource reference anywhere is the provisioned one, by uid.
        walk(&d, &mut |v| {
            if let Some(ds) = v.get("datasource") {
                if ds.is_null() {
                    return;
                }
                let uid = ds["uid"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{rel}: datasource not referenced by uid: {ds}"));
                assert!(
                    provisioned.contains(uid) || uid == "-- Grafana --",
                    "{rel}: datasource uid {uid} is not provisioned"
                );
            }
        });
    }
}

#[test]
fn dashboard_queries_use_rate_interval() {
    for rel in &dashboards() {
        for e in dashboard_exprs(rel)
            .into_iter()
            .filter(|e| e.kind == ExprKind::Panel)
        {
            let mut rest = e.expr.as_str();
            while let Some(i) = rest.find('[') {
                let j = rest[i..].find(']').unwrap() + i;
                // A subquery at the default resolution is fine too (the custom counters
                // panel copies __name__ into a label before rate() drops it).
                assert!(
                    matches!(&rest[i..=j], "[$__rate_interval]" | "[$__rate_interval:]"),
                    "{}: use $__rate_interval in {}",
                    e.origin,
                    e.expr
                );
                rest = &rest[j + 1..];
            }
        }
    }
}

#[test]
fn queries_use_only_exported_metrics_and_recording_rules() {
    let mut known: BTreeSet<String> = OCTOPOLL_METRICS
        .iter()
        .chain(PROMETHEUS_METRICS)
        .map(|s| s.to_string())
        .collect();
    known.extend(recording_rule_names());
    // The Health row reads the modules shipped in examples/snmp-exporter-modules.yml.
    let modules = yaml("examples/snmp-exporter-modules.yml");
    for (_, m) in modules["modules"].as_mapping().unwrap() {
        for metric in m["metrics"].as_sequence().unwrap() {
            let name = metric["name"].as_str().unwrap();
            known.insert(name.to_string());
            if metric["type"].as_str() == Some("EnumAsInfo") {
                known.insert(format!("{name}_info"));
            }
        }
    }
    let mut exprs = rule_exprs();
    for rel in &dashboards() {
        exprs.extend(dashboard_exprs(rel));
    }
    assert!(
        exprs.len() > 40,
        "suspiciously few expressions: {}",
        exprs.len()
    );
    for e in &exprs {
        for m in metric_names(&e.expr) {
            assert!(
                known.contains(&m),
                "{}: unknown metric {m} in {}",
                e.origin,
                e.expr
            );
        }
    }
}

#[test]
fn metric_name_extraction() {
    let cases: &[(&str, &[&str])] = &[
        (
            "sum by (device) (rate(ifInErrors_total{site=~\"$site\"}[$__rate_interval]))",
            &["ifInErrors_total"],
        ),
        (
            "a / on (job, device) group_left (x) (b * 1e6 > 0)",
            &["a", "b"],
        ),
        ("count(x == 0) or vector(0)", &["x"]),
        ("{device=\"$device\", __name__!~\"if.*\"}", &[]),
        (
            "topk(10, interface:octopoll_in_bits:rate5m)",
            &["interface:octopoll_in_bits:rate5m"],
        ),
        ("time() - ts offset 5m", &["ts"]),
    ];
    for (expr, want) in cases {
        assert_eq!(
            metric_names(expr),
            want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{expr}"
        );
    }
}

#[test]
fn device_dashboard_has_the_required_parts() {
    let d = json("grafana/dashboards/device.json");
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(
        vars.contains(&"device") && vars.contains(&"interface"),
        "variables: {vars:?}"
    );
    let text = d.to_string();
    assert!(
        text.contains("negative-Y"),
        "transmit is not drawn negative"
    );
    assert!(text.contains("__name__!~"), "no automatic custom-OID panel");
    let annotations: Vec<String> = d["annotations"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["expr"].as_str().map(str::to_string))
        .collect();
    for m in ["snmp_device_up", "ifOperStatus", "sysUpTime"] {
        assert!(
            annotations.iter().any(|a| a.contains(m)),
            "no annotation on {m}"
        );
    }
    // Status panels map IF-MIB values to words.
    assert!(text.contains("lowerLayerDown") && text.contains("\"dormant\""));
}

// === alerting ===

#[test]
fn alertmanager_inhibits_interface_alerts_while_device_down() {
    let am = yaml("prometheus/alertmanager.yml");
    assert_eq!(strs(&am["route"]["group_by"]), vec!["alertname", "device"]);
    let interface_alerts: Vec<String> = rule_exprs()
        .into_iter()
        .filter(|e| e.kind == ExprKind::AlertRule)
        .map(|e| e.origin.rsplit(' ').next().unwrap().to_string())
        .filter(|a| a.starts_with("Interface"))
        .collect();
    assert!(interface_alerts.len() >= 6);
    let rule = am["inhibit_rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|r| {
            strs(&r["source_matchers"])
                .iter()
                .any(|m| m.contains("SnmpDeviceDown"))
        })
        .expect("no inhibition from SnmpDeviceDown");
    assert_eq!(strs(&rule["equal"]), vec!["device"]);
    let target = strs(&rule["target_matchers"]).join(" ");
    for a in interface_alerts {
        assert!(
            target.contains(&a),
            "{a} is not inhibited while the device is down"
        );
    }
}

// === config-in-git example ===

#[test]
fn config_repo_example_is_complete() {
    for f in [
        "examples/config-repo/devices/paris.yml",
        "examples/config-repo/devices/lyon.yml",
        "examples/config-repo/auths.yml",
        "examples/config-repo/modules.yml",
        "examples/config-repo/.github/workflows/check.yml",
    ] {
        yaml(f);
    }
    let wf = read("examples/config-repo/.github/workflows/check.yml");
    assert!(
        wf.contains("octopoll check"),
        "workflow does not run octopoll check"
    );
    let hook = read("examples/config-repo/hooks/pre-commit");
    assert!(hook.starts_with("#!") && hook.contains("octopoll check"));
    assert!(exists("examples/config-repo/README.md"));
}

// === defects a first-day user hit (each with the check that would have caught it) ===

/// Two services building the same image tag race in compose's parallel build ("image
/// already exists"): each locally built image has one builder, and the services that
/// run it without building never try to pull it.
#[test]
fn compose_builds_each_image_once() {
    let s = services(&compose());
    let mut builders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, svc) in &s {
        if svc.get("build").is_some() {
            let image = svc["image"].as_str().unwrap_or(name).to_string();
            builders.entry(image).or_default().push(name.clone());
        }
    }
    assert!(!builders.is_empty(), "nothing is built");
    for (image, who) in &builders {
        assert_eq!(who.len(), 1, "{image} is built by {who:?}: build it once");
    }
    for (name, svc) in &s {
        let Some(image) = svc["image"].as_str() else {
            continue;
        };
        if builders.contains_key(image) && svc.get("build").is_none() {
            assert_eq!(
                svc["pull_policy"].as_str(),
                Some("never"),
                "{name} runs the locally built {image}: pull_policy: never, or compose tries a registry"
            );
        }
    }
}

/// Mounting grafana/provisioning over the image's /etc/grafana/provisioning hides the
/// image's other folders (alerting/, plugins/): Grafana logs errors at every start.
#[test]
fn grafana_provisioning_is_mounted_per_folder() {
    let s = services(&compose());
    let mounts = strs(&s["grafana"]["volumes"]);
    let targets: Vec<&str> = mounts.iter().filter_map(|m| m.split(':').nth(1)).collect();
    for t in &targets {
        assert_ne!(
            t.trim_end_matches('/'),
            "/etc/grafana/provisioning",
            "mount the provisioning folders one by one, not the whole of /etc/grafana/provisioning"
        );
    }
    for e in std::fs::read_dir(root().join("grafana/provisioning")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let want = format!("./grafana/provisioning/{name}:/etc/grafana/provisioning/{name}:ro");
        assert!(
            mounts.contains(&want),
            "grafana/provisioning/{name} is not mounted: want {want}"
        );
    }
}

/// The home dashboard is set through the API by uid (grafana-init), not by the file-path
/// setting; and the uid is one of ours.
#[test]
fn grafana_home_dashboard_is_set_by_uid() {
    let s = services(&compose());
    let env = &s["grafana"]["environment"];
    for (k, _) in env.as_mapping().into_iter().flatten() {
        let k = k.as_str().unwrap();
        assert!(
            !k.contains("HOME_DASHBOARD_PATH"),
            "{k}: set the home dashboard by uid through grafana-init instead"
        );
    }
    let uid = s["grafana-init"]["environment"]["HOME_DASHBOARD_UID"]
        .as_str()
        .expect("grafana-init: HOME_DASHBOARD_UID");
    let uids: Vec<String> = dashboards()
        .iter()
        .map(|f| json(f)["uid"].as_str().unwrap().to_string())
        .collect();
    assert!(
        uids.iter().any(|u| u == uid),
        "home uid {uid} is none of {uids:?}"
    );
    assert!(read("grafana/init/create-technician.sh").contains("/api/org/preferences"));
}

/// Grafana does not start until the secrets-check one-shot passed (no example passwords).
#[test]
fn grafana_waits_for_real_passwords() {
    let s = services(&compose());
    assert_eq!(
        s["grafana"]["depends_on"]["secrets-check"]["condition"].as_str(),
        Some("service_completed_successfully")
    );
    let check = &s["secrets-check"];
    let cmd = strs(&check["entrypoint"]).join(" ");
    assert!(cmd.contains("/init/check-secrets.sh"), "{cmd}");
    let secrets: BTreeSet<String> = compose()["secrets"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    for secret in &secrets {
        assert!(
            cmd.contains(&format!("/run/secrets/{secret}")),
            "secrets-check does not check {secret}"
        );
        assert!(strs(&check["secrets"]).contains(secret));
    }
}

/// A receiver on 127.0.0.1 or localhost is Alertmanager's own container.
#[test]
fn alertmanager_receivers_do_not_point_at_alertmanager() {
    let am = yaml("prometheus/alertmanager.yml");
    let mut urls = Vec::new();
    for r in am["receivers"].as_sequence().unwrap() {
        for (_, configs) in r.as_mapping().unwrap() {
            for c in configs.as_sequence().into_iter().flatten() {
                if let Some(u) = c["url"].as_str() {
                    urls.push((r["name"].as_str().unwrap().to_string(), u.to_string()));
                }
            }
        }
    }
    for (name, url) in urls {
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split(['/', ':'])
            .next()
            .unwrap_or("");
        assert!(
            !(host == "localhost"
                || host.starts_with("127.")
                || host == "["
                || host == "alertmanager"),
            "receiver {name}: {url} is Alertmanager itself"
        );
    }
}

/// `docker compose ps` lists only running containers; the exited one-shots need --all.
#[test]
fn docs_show_one_shot_services_with_ps_all() {
    for line in read("docs/stack.md").lines() {
        if line.contains("docker compose ps") && line.contains("exited") {
            assert!(
                line.contains("ps --all") || line.contains("ps -a"),
                "docs/stack.md: `docker compose ps` does not show exited containers: {line}"
            );
        }
    }
}
