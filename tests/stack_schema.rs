//! Schema checks that stand in for Grafana and docker compose, which cannot run here:
//!
//! - every dashboard in grafana/dashboards/ validates against JSON schemas generated
//!   from the TypeScript types of the `@grafana/schema` npm package of the Grafana
//!   version pinned in docker-compose.yml: the dashboard model, and each panel's
//!   options and field config against its panel plugin's types;
//! - docker-compose.yml validates against the compose specification's JSON schema, as
//!   shipped (pinned) by the `dclint` npm package.
//!
//! The packages are pinned in tests/stack_schema/package-lock.json and installed by
//! tests/stack_schema/install.sh into target/stack-schema (also run by .ci/run); the
//! schemas are generated there at every run, never committed. Needs node and npm: skips
//! with a message when they are missing, unless CI is set.

mod common_stack;

use common_stack::*;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// target/stack-schema, with the pinned packages installed (once per test binary).
fn node_modules() -> Option<PathBuf> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    tool("node")?;
    tool("npm")?;
    let dir = DIR.get_or_init(|| {
        let dest = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target dir")
            .join("stack-schema");
        let out = Command::new("sh")
            .arg(root().join("tests/stack_schema/install.sh"))
            .arg(&dest)
            .output()
            .map_err(|e| format!("cannot run install.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "tests/stack_schema/install.sh failed (npm ci of the pinned packages):\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(dest.join("node_modules"))
    });
    match dir {
        Ok(d) => Some(d.clone()),
        Err(e) => panic!("{e}"),
    }
}

/// Runs check.mjs and returns its report: file -> problems.
fn check(args: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    let out = Command::new("node")
        .arg(root().join("tests/stack_schema/check.mjs"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "check.mjs {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check.mjs printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    report.as_object().expect("a JSON object").clone()
}

fn problems(report: &serde_json::Map<String, serde_json::Value>, file: &str) -> Vec<String> {
    report
        .get(file)
        .unwrap_or_else(|| panic!("no report for {file}: {report:?}"))
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{file}: {}", p.as_str().unwrap()))
        .collect()
}

/// The Grafana version of the compose file's grafana image.
fn grafana_version() -> String {
    let c = yaml("docker-compose.yml");
    let image = c["services"]["grafana"]["image"]
        .as_str()
        .expect("grafana service image");
    let (_, tag) = image.rsplit_once(':').expect("grafana image has a tag");
    tag.to_string()
}

#[test]
fn schema_package_matches_the_grafana_image() {
    let lock: serde_json::Value =
        serde_json::from_str(&read("tests/stack_schema/package-lock.json")).unwrap();
    let pinned = lock["packages"]["node_modules/@grafana/schema"]["version"]
        .as_str()
        .expect("@grafana/schema in package-lock.json");
    assert_eq!(
        pinned,
        grafana_version(),
        "@grafana/schema must be the version of the Grafana image in docker-compose.yml"
    );
}

#[test]
fn dashboards_validate_against_grafana_schema() {
    let Some(modules) = node_modules() else {
        return;
    };
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("grafana-schema");
    let dashboards = files("grafana/dashboards", ".json");
    assert!(!dashboards.is_empty());
    let mut args = vec![
        "dashboards".to_string(),
        modules.display().to_string(),
        out.display().to_string(),
    ];
    args.extend(dashboards.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = check(&args);
    let version = report["@grafana/schema"][0].as_str().unwrap_or("?");
    assert_eq!(version, grafana_version(), "installed @grafana/schema");
    let all: Vec<String> = dashboards
        .iter()
        .flat_map(|f| problems(&report, f))
        .collect();
    assert!(
        all.is_empty(),
        "{} problem(s) against @grafana/schema {version} (schemas in {}):\n{}",
        all.len(),
        out.display(),
        all.join("\n")
    );
    assert!(
        out.join("dashboard.schema.json").exists(),
        "no generated schema"
    );
}

#[test]
fn compose_file_validates_against_compose_spec() {
    let Some(modules) = node_modules() else {
        return;
    };
    let report = check(&[
        "compose",
        &modules.display().to_string(),
        "docker-compose.yml",
    ]);
    let all = problems(&report, "docker-compose.yml");
    assert!(
        all.is_empty(),
        "docker-compose.yml against the compose specification:\n{}",
        all.join("\n")
    );
}

/// The checks must be able to fail: a dashboard and a compose file with known mistakes.
#[test]
fn schema_checks_catch_known_mistakes() {
    let Some(modules) = node_modules() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut d = json("grafana/dashboards/device.json");
    d["panels"][1]["gridPos"]["h"] = "8".into(); // a string where Grafana wants a number
    d["panels"][1]["options"]["colorMode"] = "rainbow".into(); // not a stat color mode
    d["annotations"]["list"][1]["titelFormat"] = "x".into(); // misspelt key
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, d.to_string()).unwrap();
    let bad_s = bad.display().to_string();
    let out = dir.path().join("schema");
    let report = check(&[
        "dashboards",
        &modules.display().to_string(),
        &out.display().to_string(),
        &bad_s,
    ]);
    let found = problems(&report, &bad_s).join("\n");
    for want in ["gridPos/h", "colorMode", "titelFormat"] {
        assert!(found.contains(want), "{want} not reported:\n{found}");
    }
    let compose = read("docker-compose.yml").replacen("read_only: true", "readonly: true", 1);
    let bad = dir.path().join("compose.yml");
    std::fs::write(&bad, compose).unwrap();
    let bad_s = bad.display().to_string();
    let report = check(&["compose", &modules.display().to_string(), &bad_s]);
    let found = problems(&report, &bad_s).join("\n");
    assert!(
        found.contains("readonly"),
        "unknown key not reported:\n{found}"
    );
}
