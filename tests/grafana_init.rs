//! The compose stack's one-shot scripts, run for real (POSIX sh and curl, as in the
//! curlimages/curl container) against a stand-in for Grafana's HTTP API on 127.0.0.1:
//! - grafana/init/create-technician.sh logs in with the admin password exactly as
//!   Grafana's image reads it, creates or repairs the technician (Viewer) and sets the
//!   home dashboard by uid;
//! - grafana/init/check-secrets.sh refuses missing, empty and example passwords.
//!
//! The stand-in answers only the calls the script makes, the way Grafana documents
//! them, and refuses a wrong admin password with 401 as Grafana does.

mod common_stack;

use base64::Engine as _;
use common_stack::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

/// One request the script made: method, path, body.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

struct FakeGrafana {
    url: String,
    seen: Seen,
    users: Arc<Mutex<BTreeMap<String, String>>>,
}

/// Serves Grafana's API for `admin_password` (as Grafana holds it) until the test ends.
fn fake_grafana(admin_password: &str, dashboard_uids: Vec<String>) -> FakeGrafana {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let users: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let want_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{admin_password}"))
    );
    let (seen2, users2) = (seen.clone(), users.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (method, target) = (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
            );
            let (mut auth, mut len) = (String::new(), 0usize);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap_or(("", ""));
                match k.to_ascii_lowercase().as_str() {
                    "authorization" => auth = v.trim().to_string(),
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let body = String::from_utf8_lossy(&body).into_owned();
            seen2
                .lock()
                .unwrap()
                .push((method.clone(), target.clone(), body.clone()));
            let field = |k: &str| -> String {
                serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default()[k]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            let (status, reply) = if target == "/api/health" {
                (200, r#"{"database":"ok"}"#.to_string())
            } else if auth != want_auth {
                (
                    401,
                    r#"{"message":"invalid username or password"}"#.to_string(),
                )
            } else {
                let mut users = users2.lock().unwrap();
                match (method.as_str(), target.as_str()) {
                    ("GET", t) if t.starts_with("/api/users/lookup?loginOrEmail=") => {
                        let login = &t["/api/users/lookup?loginOrEmail=".len()..];
                        if users.contains_key(login) {
                            (200, r#"{"id": 7, "login": "technician"}"#.to_string())
                        } else {
                            (404, r#"{"message":"user not found"}"#.to_string())
                        }
                    }
                    ("POST", "/api/admin/users") => {
                        users.insert(field("login"), field("password"));
                        (200, r#"{"id": 7, "message": "User created"}"#.to_string())
                    }
                    ("PUT", "/api/admin/users/7/password") => {
                        users.insert("technician".into(), field("password"));
                        (200, r#"{"message":"User password updated"}"#.to_string())
                    }
                    ("POST", "/api/orgs/1/users") => (409, r#"{"message":"already"}"#.to_string()),
                    ("PATCH", "/api/orgs/1/users/7") if field("role") == "Viewer" => (
                        200,
                        r#"{"message":"Organization user updated"}"#.to_string(),
                    ),
                    ("GET", t) if t.starts_with("/api/dashboards/uid/") => {
                        let uid = &t["/api/dashboards/uid/".len()..];
                        if dashboard_uids.iter().any(|u| u == uid) {
                            (200, format!(r#"{{"dashboard":{{"uid":"{uid}"}}}}"#))
                        } else {
                            (404, r#"{"message":"Dashboard not found"}"#.to_string())
                        }
                    }
                    ("PATCH", "/api/org/preferences") => {
                        (200, r#"{"message":"Preferences updated"}"#.to_string())
                    }
                    _ => (
                        400,
                        format!(r#"{{"message":"unexpected {method} {target}"}}"#),
                    ),
                }
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    FakeGrafana { url, seen, users }
}

/// Runs create-technician.sh against `g`; `env` adds to or overrides its environment.
fn run_init(
    g: &FakeGrafana,
    admin_file: &Path,
    tech_file: &Path,
    env: &[(&str, &str)],
) -> std::process::Output {
    Command::new("sh")
        .arg(root().join("grafana/init/create-technician.sh"))
        .env("GRAFANA_URL", &g.url)
        .env("GRAFANA_ADMIN_PASSWORD_FILE", admin_file)
        .env("TECHNICIAN_PASSWORD_FILE", tech_file)
        .env("HOME_DASHBOARD_UID", "octopoll-overview")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The two password files in `dir`, with these contents.
fn secret_files(dir: &Path, admin: &str, tech: &str) -> (PathBuf, PathBuf) {
    let files = (
        dir.join("grafana_admin_password"),
        dir.join("grafana_technician_password"),
    );
    std::fs::write(&files.0, admin).unwrap();
    std::fs::write(&files.1, tech).unwrap();
    files
}

#[test]
fn init_script_works_with_windows_line_endings_and_sets_the_home_by_uid() {
    if tool("curl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (admin, tech) = secret_files(dir.path(), "s3cret-admin-pass\r\n", "tech-pass-0042\r\n");
    // Grafana's image reads the __FILE with "$(< file)": trailing newlines go, the \r stays.
    let uids = dashboards()
        .iter()
        .map(|f| json(f)["uid"].as_str().unwrap().to_string())
        .collect();
    let g = fake_grafana("s3cret-admin-pass\r", uids);

    let out = run_init(&g, &admin, &tech, &[]);
    assert!(out.status.success(), "first run failed:\n{}", text(&out));
    assert!(
        text(&out).contains("carriage return"),
        "no warning about the admin file's \\r:\n{}",
        text(&out)
    );
    assert_eq!(
        g.users
            .lock()
            .unwrap()
            .get("technician")
            .map(String::as_str),
        Some("tech-pass-0042"),
        "technician password is what a person would type, without the \\r"
    );
    let seen = g.seen.lock().unwrap().clone();
    let home = seen
        .iter()
        .find(|(m, p, _)| m == "PATCH" && p == "/api/org/preferences")
        .unwrap_or_else(|| panic!("home dashboard not set; requests: {seen:?}"));
    let body: serde_json::Value = serde_json::from_str(&home.2).unwrap();
    assert_eq!(body["homeDashboardUID"], "octopoll-overview");
    assert!(
        seen.iter()
            .any(|(m, p, b)| m == "PATCH" && p == "/api/orgs/1/users/7" && b.contains("Viewer")),
        "role not set: {seen:?}"
    );

    // Second run: the user exists; a rotated password is set again.
    std::fs::write(&tech, "rotated-pass-77\n").unwrap();
    let out = run_init(&g, &admin, &tech, &[]);
    assert!(out.status.success(), "second run failed:\n{}", text(&out));
    assert_eq!(
        g.users
            .lock()
            .unwrap()
            .get("technician")
            .map(String::as_str),
        Some("rotated-pass-77")
    );

    // A wrong admin password is a clear failure, not a hang.
    std::fs::write(&admin, "not-the-password\n").unwrap();
    let out = run_init(&g, &admin, &tech, &[]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("admin credentials refused"),
        "{}",
        text(&out)
    );
}

#[test]
fn init_script_fails_clearly_on_an_unknown_home_dashboard() {
    if tool("curl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (admin, tech) = secret_files(dir.path(), "s3cret-admin-pass\n", "tech-pass-0042\n");
    let g = fake_grafana("s3cret-admin-pass", vec!["something-else".into()]);
    // The stand-in never provisions it: do not wait a minute for it.
    let env = [
        ("HOME_DASHBOARD_UID", "no-such-uid"),
        ("HOME_DASHBOARD_TRIES", "1"),
    ];
    let out = run_init(&g, &admin, &tech, &env);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("dashboard uid 'no-such-uid' not found"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_secrets_refuses_missing_empty_and_example_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, content: Option<&str>| {
        let f = dir.path().join(name);
        if let Some(c) = content {
            std::fs::write(&f, c).unwrap();
        }
        f
    };
    let example = p(
        "grafana_admin_password",
        Some(&read("secrets/grafana_admin_password.example")),
    );
    let empty = p("empty", Some("\n"));
    let missing = p("missing", None);
    let short = p("short", Some("abc\n"));
    let good = p("good", Some("Zq3vT8m1Lr2Xw9Pd\n"));
    let run = |files: &[&Path]| {
        Command::new("sh")
            .arg(root().join("grafana/init/check-secrets.sh"))
            .args(files)
            .output()
            .unwrap()
    };
    let out = run(&[&example, &empty, &missing, &short, &good]);
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    for (f, why) in [
        (&example, "example password"),
        (&empty, "is empty"),
        (&missing, "missing"),
        (&short, "shorter than 8"),
    ] {
        assert!(
            t.lines()
                .any(|l| l.contains(&f.display().to_string()) && l.contains(why)),
            "{} ({why}) not reported:\n{t}",
            f.display()
        );
    }
    assert!(!t.contains(&good.display().to_string()), "{t}");
    let out = run(&[&good]);
    assert!(out.status.success(), "{}", text(&out));
}
