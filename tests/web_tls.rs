//! TLS and basic auth on every endpoint, checked with curl and scraped by a real Prometheus
//! using `tls_config` and `basic_auth`; the web config reloads with the config.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn openssl_cert(dir: &Path) -> bool {
    let Some(openssl) = tool("/usr/bin/openssl") else {
        return false;
    };
    let ok = Command::new(openssl)
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl failed");
    true
}

/// curl over HTTPS: (status code, body).
fn curl(dir: &Path, url: &str, creds: Option<&str>, method: &str) -> (u16, String) {
    let mut c = Command::new("/usr/bin/curl");
    c.args([
        "-s",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "--max-time",
        "10",
        "-X",
        method,
    ])
    .arg("--cacert")
    .arg(dir.join("cert.pem"));
    if let Some(u) = creds {
        c.args(["-u", u]);
    }
    let out = c.arg(url).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn web_yml(user: &str, pass: &str) -> String {
    let hash = bcrypt::hash(pass, 6).unwrap();
    format!("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  {user}: '{hash}'\n")
}

#[test]
fn tls_basic_auth_scraped_by_prometheus_and_reloaded() {
    let Some(prom) = tool("/usr/bin/prometheus") else {
        return;
    };
    if tool("/usr/bin/curl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !openssl_cert(dir.path()) {
        return;
    }
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(
        &cfg,
        format!(
            "defaults: {{interval: 2s, timeout: 500ms, retries: 1}}\nauths:\n  a: {{version: 2c, community: public}}\n\
             devices:\n  - {{name: quiet, address: \"127.0.0.1:{}\", auth: a}}\n",
            silent.local_addr().unwrap().port()
        ),
    )
    .unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(&web, web_yml("prom", "scrape-pass-1")).unwrap();

    let port = free_tcp_port();
    let child = Command::new(env!("CARGO_BIN_EXE_octopoll"))
        .arg("--config")
        .arg(&cfg)
        .arg("--web-config")
        .arg(&web)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--no-watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _octopoll = Proc {
        child,
        name: "octopoll",
    };
    let base = format!("https://localhost:{port}");
    let creds = "prom:scrape-pass-1";
    wait_for(Duration::from_secs(15), || {
        (curl(dir.path(), &format!("{base}/-/healthy"), Some(creds), "GET").0 == 200).then_some(())
    })
    .expect("octopoll serves HTTPS");

    // Every endpoint needs credentials; plain HTTP gets no answer.
    for path in ["/metrics", "/-/healthy", "/targets", "/config", "/"] {
        assert_eq!(
            curl(dir.path(), &format!("{base}{path}"), None, "GET").0,
            401,
            "{path}"
        );
        assert_eq!(
            curl(
                dir.path(),
                &format!("{base}{path}"),
                Some("prom:wrong"),
                "GET"
            )
            .0,
            401,
            "{path}"
        );
        assert_eq!(
            curl(dir.path(), &format!("{base}{path}"), Some(creds), "GET").0,
            200,
            "{path}"
        );
    }
    assert!(http(&format!("127.0.0.1:{port}"), "GET", "/metrics").is_none_or(|(s, _)| s != 200));

    // A real Prometheus scrapes it with tls_config and basic_auth.
    let pdir = dir.path().join("prom");
    std::fs::create_dir_all(&pdir).unwrap();
    std::fs::write(pdir.join("pass"), "scrape-pass-1").unwrap();
    std::fs::write(
        pdir.join("prometheus.yml"),
        format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n\
             - job_name: octopoll\n  scheme: https\n  metrics_path: /metrics\n  params: {{devices: ['false']}}\n\
             \x20 tls_config: {{ca_file: {ca}, server_name: localhost}}\n\
             \x20 basic_auth: {{username: prom, password_file: {pass}}}\n\
             \x20 static_configs: [{{targets: ['localhost:{port}']}}]\n\
             - job_name: wrong-password\n  scheme: https\n\
             \x20 tls_config: {{ca_file: {ca}, server_name: localhost}}\n\
             \x20 basic_auth: {{username: prom, password: nope}}\n\
             \x20 static_configs: [{{targets: ['localhost:{port}']}}]\n",
            ca = dir.path().join("cert.pem").display(),
            pass = pdir.join("pass").display(),
        ),
    )
    .unwrap();
    let pport = free_tcp_port();
    let child = Command::new(prom)
        .arg(format!(
            "--config.file={}",
            pdir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            pdir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{pport}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(pdir.join("prometheus.log")).unwrap())
        .spawn()
        .unwrap();
    let _prom = Proc {
        child,
        name: "prometheus",
    };
    let paddr = format!("127.0.0.1:{pport}");
    let up = |job: &str| -> Option<String> {
        let (s, b) = http(
            &paddr,
            "GET",
            &format!("/api/v1/query?query=up%7Bjob%3D%22{job}%22%7D"),
        )?;
        let v: serde_json::Value = serde_json::from_str(&b).ok()?;
        (s == 200).then(|| {
            v["data"]["result"][0]["value"][1]
                .as_str()
                .map(str::to_string)
        })?
    };
    let ok = wait_for(Duration::from_secs(30), || {
        up("octopoll").filter(|v| v == "1")
    });
    assert!(
        ok.is_some(),
        "Prometheus could not scrape over TLS with basic auth; log:\n{}",
        std::fs::read_to_string(pdir.join("prometheus.log")).unwrap_or_default()
    );
    assert_eq!(
        wait_for(Duration::from_secs(10), || up("wrong-password")).as_deref(),
        Some("0")
    );
    let (_, b) = http(&paddr, "GET", "/api/v1/query?query=octopoll_devices").unwrap();
    assert!(b.contains("\"1\""), "{b}");

    // Rotate the password: reload with the old credentials, then only the new ones work.
    std::fs::write(&web, web_yml("prom", "scrape-pass-2")).unwrap();
    let (s, body) = curl(dir.path(), &format!("{base}/-/reload"), Some(creds), "POST");
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        curl(dir.path(), &format!("{base}/metrics"), Some(creds), "GET").0,
        401
    );
    assert_eq!(
        curl(
            dir.path(),
            &format!("{base}/metrics"),
            Some("prom:scrape-pass-2"),
            "GET"
        )
        .0,
        200
    );

    // A broken web config is rejected like a broken config: the old one stays.
    std::fs::write(&web, "basic_auth_users:\n  prom: not-a-hash\n").unwrap();
    let (s, body) = curl(
        dir.path(),
        &format!("{base}/-/reload"),
        Some("prom:scrape-pass-2"),
        "POST",
    );
    assert_eq!(s, 400, "{body}");
    assert!(
        body.contains("web.yml") && body.contains("bcrypt"),
        "{body}"
    );
    assert_eq!(
        curl(
            dir.path(),
            &format!("{base}/metrics"),
            Some("prom:scrape-pass-2"),
            "GET"
        )
        .0,
        200
    );
}
