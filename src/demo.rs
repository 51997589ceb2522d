//! `octopoll demo`: simulated devices plus octopoll polling them, no config needed.
//!
//! The built-in config is written to a temporary directory and watched like any other, so
//! editing it shows hot reload too. The demo opens onto the simulated core switch's
//! device page: its traffic moves from the second poll on, a few seconds after start.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::{self, AppError, Options};
use crate::cli::DemoArgs;
use crate::http::pages::device_path;
use crate::sim::{self, DeviceSpec, Fault};

/// The device the demo opens onto.
pub const SHOWCASE: &str = "core-sw1";

/// The demo fleet: (name, interfaces, fault, 32-bit only, labels).
const FLEET: [(&str, usize, Fault, bool, &str); 6] = [
    (
        "core-sw1",
        48,
        Fault::None,
        false,
        "{site: paris, role: core}",
    ),
    (
        "access-sw1",
        24,
        Fault::None,
        false,
        "{site: paris, role: access}",
    ),
    (
        "access-sw2",
        24,
        Fault::None,
        false,
        "{site: lyon, role: access}",
    ),
    (
        "edge-rtr1",
        8,
        Fault::None,
        false,
        "{site: paris, role: router}",
    ),
    (
        "old-sw1",
        12,
        Fault::None,
        true,
        "{site: lyon, role: access}",
    ),
    (
        "branch-rtr1",
        4,
        Fault::NoAnswer,
        false,
        "{site: nantes, role: router}",
    ),
];

/// The demo config for simulated devices at `addrs` (same order as the fleet).
pub fn demo_config(addrs: &[(String, SocketAddr)]) -> String {
    let mut y = String::from(
        "# octopoll demo config: simulated devices on loopback. Edit me: octopoll reloads.\n\
         # A short interval so the device pages show rates seconds after start.\n\
         defaults:\n  interval: 2s\n  timeout: 500ms\n  retries: 1\n  auth: demo\n\
         auths:\n  demo: {version: 2c, community: public}\ndevices:\n",
    );
    for ((name, addr), (_, _, _, _, labels)) in addrs.iter().zip(FLEET.iter()) {
        let _ = writeln!(
            y,
            "  - {{name: {name}, address: \"{addr}\", labels: {labels}}}"
        );
    }
    y
}

/// Runs the simulator and octopoll on it until `shutdown`.
pub async fn run(
    listener: TcpListener,
    args: &DemoArgs,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let sim_base_port = args.sim_base_port;
    let specs: Vec<DeviceSpec> = FLEET
        .iter()
        .enumerate()
        .map(|(i, (name, ifs, fault, c32, _))| DeviceSpec {
            name: name.to_string(),
            interfaces: *ifs,
            community: "public".into(),
            fault: *fault,
            counters32_only: *c32,
            seed: 1000 + i as u64,
            ..DeviceSpec::default()
        })
        .collect();
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let running = match sim::start(ip, sim_base_port, specs.clone(), shutdown.child_token()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, port = sim_base_port, "simulator ports busy; using ephemeral ports");
            sim::start(ip, 0, specs, shutdown.child_token()).await?
        }
    };
    let dir = std::env::temp_dir().join(format!("octopoll-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("octopoll.yml");
    std::fs::write(&path, demo_config(&running.devices))?;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        "localhost".to_string()
    } else {
        addr.ip().to_string()
    };
    let base = if host.contains(':') {
        format!("http://[{host}]:{}", addr.port())
    } else {
        format!("http://{host}:{}", addr.port())
    };
    let showcase = format!("{base}{}", device_path(SHOWCASE));
    println!("octopoll demo: {} simulated devices (branch-rtr1 never answers, old-sw1 has only 32-bit counters)", running.devices.len());
    for (n, a) in &running.devices {
        println!("  {n:<12} {a}");
    }
    println!();
    println!("open:    {showcase}   <- traffic per interface of the simulated core switch");
    println!("status:  {base}/   (every device; each name links to its page)");
    println!("metrics: {base}/metrics");
    println!("config:  {} (edit it: octopoll reloads)", path.display());
    println!("polls every 2 s: rates show from the second poll on; Ctrl-C stops.");
    if !args.no_open && std::io::stdout().is_terminal() {
        open_in_browser(&showcase);
    }
    let opts = Options {
        config_path: path.clone(),
        shard: None,
        max_in_flight: 64,
        watch: true,
        web_config: None,
        grafana_url: args.grafana.grafana_url.clone(),
    };
    let result = app::run(listener, opts, shutdown).await;
    running.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    // Give in-flight tasks a moment to see the cancellation before the runtime drops.
    tokio::time::sleep(Duration::from_millis(50)).await;
    result
}

/// Opens `url` in the desktop's browser, when there is a desktop: `$BROWSER`, else
/// `open` (macOS) or `xdg-open` (with a display). Best effort; the URL is printed anyway.
fn open_in_browser(url: &str) {
    let program = match std::env::var("BROWSER") {
        Ok(b) if !b.trim().is_empty() => b,
        _ if cfg!(target_os = "macos") => "open".into(),
        _ if std::env::var_os("DISPLAY").is_some()
            || std::env::var_os("WAYLAND_DISPLAY").is_some() =>
        {
            "xdg-open".into()
        }
        _ => return,
    };
    match Command::new(&program)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        // Reap it when it exits (xdg-open returns once the browser has the URL).
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => tracing::debug!(%program, error = %e, "could not open a browser"),
    }
}
