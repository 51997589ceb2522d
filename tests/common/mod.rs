//! Shared helpers for end-to-end tests: a real net-snmp snmpd, the octopoll binary, and a
//! tiny HTTP client. Everything binds 127.0.0.1; processes are stopped by their own PID.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True under CI, where a missing tool is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Path of a system tool, or `None` (tests skip locally, fail under CI).
pub fn tool(path: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    if p.exists() {
        return Some(p);
    }
    assert!(!in_ci(), "{path} is missing; .ci/run must install it");
    eprintln!("skipping: {path} not installed");
    None
}

/// A free TCP port on 127.0.0.1.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free UDP port on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` every 100 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed (by its PID) when dropped.
pub struct Proc {
    pub child: Child,
    pub name: &'static str,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running net-snmp snmpd on 127.0.0.1.
pub struct Snmpd {
    pub port: u16,
    pub dir: tempfile::TempDir,
    _proc: Proc,
}

impl Snmpd {
    /// Starts snmpd with communities `public` (v2c/v1) and any extra config lines
    /// (e.g. `createUser` and `rouser` for v3). `None` when snmpd is not installed (local).
    pub fn start(extra: &str) -> Option<Snmpd> {
        let bin = tool("/usr/sbin/snmpd")?;
        let dir = tempfile::tempdir().unwrap();
        let port = free_udp_port();
        let conf = dir.path().join("snmpd.conf");
        std::fs::write(
            &conf,
            format!(
                "rocommunity public 127.0.0.1\nrocommunity v1only 127.0.0.1\n\
                 sysLocation octopoll-test-lab\nsysContact tests\nsysName octopoll-snmpd\n{extra}\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("snmpd.log")).unwrap();
        let child = Command::new(bin)
            .args(["-f", "-Lf"])
            .arg(dir.path().join("snmpd.log"))
            .args(["-C", "-c"])
            .arg(&conf)
            .arg("-p")
            .arg(dir.path().join("snmpd.pid"))
            // Persistent state (v3 engine boots, users) stays in the temp dir.
            .env("SNMP_PERSISTENT_DIR", dir.path())
            .env("MIBS", "")
            .arg(format!("udp:127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start snmpd");
        let snmpd = Snmpd {
            port,
            dir,
            _proc: Proc {
                child,
                name: "snmpd",
            },
        };
        let ok = wait_for(Duration::from_secs(10), || {
            snmp_tool(
                "snmpget",
                &["-v2c", "-c", "public", "-t", "0.3", "-r", "0"],
                snmpd.port,
                &["1.3.6.1.2.1.1.3.0"],
            )
            .filter(|o| o.contains("Timeticks"))
        });
        assert!(ok.is_some(), "snmpd did not answer; log: {}", snmpd.log());
        Some(snmpd)
    }

    /// snmpd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("snmpd.log")).unwrap_or_default()
    }
}

/// Runs a net-snmp client tool against 127.0.0.1:port; stdout on success.
pub fn snmp_tool(tool_name: &str, opts: &[&str], port: u16, oids: &[&str]) -> Option<String> {
    let out = Command::new(format!("/usr/bin/{tool_name}"))
        .args(opts)
        .args(["-On", "-m", ""])
        .arg(format!("127.0.0.1:{port}"))
        .args(oids)
        .env("MIBS", "")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A running octopoll binary.
pub struct Octopoll {
    pub addr: String,
    pub log: PathBuf,
    pub proc: Proc,
}

impl Octopoll {
    /// Starts `octopoll --config PATH --listen 127.0.0.1:PORT` plus `extra` args and waits
    /// until it answers `/-/healthy`.
    pub fn start(config: &Path, extra: &[&str]) -> Octopoll {
        let port = free_tcp_port();
        let addr = format!("127.0.0.1:{port}");
        let log = config.with_extension(format!("octopoll-{port}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_octopoll"))
            .arg("--config")
            .arg(config)
            .args(["--listen", &addr, "--log-level", "info,octopoll=debug"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start octopoll");
        // Healthy, or exited (a config error): either ends the wait.
        let up = wait_for(Duration::from_secs(15), || {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Err(status));
            }
            http(&addr, "GET", "/-/healthy")
                .filter(|(s, _)| *s == 200)
                .map(Ok)
        });
        let o = Octopoll {
            addr,
            log,
            proc: Proc {
                child,
                name: "octopoll",
            },
        };
        match up {
            Some(Ok(_)) => o,
            Some(Err(status)) => panic!("octopoll exited ({status}); log:\n{}", o.log()),
            None => panic!("octopoll did not start; log:\n{}", o.log()),
        }
    }

    /// The process log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET a path; panics on connection failure.
    pub fn get(&self, path: &str) -> (u16, String) {
        http(&self.addr, "GET", path)
            .unwrap_or_else(|| panic!("GET {path} failed; log:\n{}", self.log()))
    }

    /// The value of the one sample whose line starts with `series` (name and labels up to
    /// any point), e.g. `snmp_device_up{device="a"`.
    pub fn sample(&self, series: &str) -> Option<f64> {
        let (_, body) = self.get("/metrics");
        sample(&body, series)
    }

    /// The status page's row for `device` (its cells: name, up, last poll, duration, ...,
    /// last error, events).
    pub fn status_row(&self, device: &str) -> String {
        let (_, page) = self.get("/");
        let start = page
            .find(&format!("device={device}\">"))
            .unwrap_or_else(|| panic!("no row for {device}:\n{page}"));
        let row = &page[start..];
        row[..row.find("</tr>").unwrap()].to_string()
    }

    /// Sends a signal to octopoll (by its PID).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.proc.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

/// Finds the value of the first sample line starting with `series`.
pub fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Minimal HTTP/1.1 client: (status, body). `None` if the connection fails.
pub fn http(addr: &str, method: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Writes `text` to `path` atomically (temp file + rename), as editors and git do.
pub fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// snmpsim serving one recording as community `public`, on its own port.
pub struct Snmpsim {
    pub port: u16,
    _dir: tempfile::TempDir,
    _proc: Proc,
}

impl Snmpsim {
    /// Starts snmpsim on a copy of `recording` (gzip-compressed when it ends in `.gz`).
    pub fn start(recording: &Path) -> Option<Snmpsim> {
        let bin = tool("/usr/bin/snmpsimd")?;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(dir.path().join("cache")).unwrap();
        let target = data.join("public.snmprec");
        if recording.extension().is_some_and(|e| e == "gz") {
            let out = Command::new("gzip")
                .arg("-dc")
                .arg(recording)
                .output()
                .expect("gzip");
            std::fs::write(&target, out.stdout).unwrap();
        } else {
            std::fs::copy(recording, &target).unwrap();
        }
        // snmpsim refuses to run as root without dropping to another user.
        let _ = Command::new("chmod")
            .args(["-R", "a+rwX"])
            .arg(dir.path())
            .status();
        let port = free_udp_port();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--data-dir={}", data.display()))
            .arg(format!(
                "--cache-dir={}",
                dir.path().join("cache").display()
            ))
            .arg(format!("--agent-udpv4-endpoint=127.0.0.1:{port}"))
            .arg("--logging-method=null")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            cmd.args(["--process-user=nobody", "--process-group=nogroup"]);
        }
        let child = cmd.spawn().expect("start snmpsimd");
        Some(Snmpsim {
            port,
            _dir: dir,
            _proc: Proc {
                child,
                name: "snmpsimd",
            },
        })
    }

    /// Waits until it answers (it indexes its data first).
    pub fn wait(&self) {
        let ok = wait_for(Duration::from_secs(90), || {
            snmp_tool(
                "snmpget",
                &["-v2c", "-c", "public", "-t", "0.5", "-r", "0"],
                self.port,
                &["1.3.6.1.2.1.1.1.0"],
            )
        });
        assert!(ok.is_some(), "snmpsim on {} did not answer", self.port);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// `octopoll simulate` serving recordings; (device name, port) per recording.
pub struct Simulator {
    pub ports: BTreeMap<String, u16>,
    _proc: Proc,
}

impl Simulator {
    pub fn start(recordings: &[PathBuf]) -> Simulator {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_octopoll"));
        cmd.args(["simulate", "--devices", "0", "--base-port", "0"]);
        for r in recordings {
            cmd.arg("--recording").arg(r);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start simulator");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut ports = BTreeMap::new();
        for _ in recordings {
            let line = lines.next().expect("simulator line").unwrap();
            let (name, addr) = line.split_once(' ').expect("name addr");
            let port = addr.rsplit(':').next().unwrap().parse().unwrap();
            ports.insert(name.to_string(), port);
        }
        Simulator {
            ports,
            _proc: Proc {
                child,
                name: "simulator",
            },
        }
    }
}

/// A two-worker tokio runtime for tests that run the simulator or octopoll in process.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `octopoll simulate` with `n` devices of `interfaces` interfaces on ephemeral ports, and
/// the config it prints for them (read until every device is listed).
pub fn simulator_config(n: usize, interfaces: usize) -> (Proc, String) {
    let mut sim = Command::new(env!("CARGO_BIN_EXE_octopoll"))
        .args([
            "simulate",
            "--devices",
            &n.to_string(),
            "--interfaces",
            &interfaces.to_string(),
            "--base-port",
            "0",
            "--print-config",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(sim.stdout.take().unwrap());
    let proc = Proc {
        child: sim,
        name: "simulator",
    };
    let mut yaml = String::new();
    let mut seen = 0;
    while seen < n {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "simulator ended early"
        );
        if line.trim_start().starts_with("- {name") {
            seen += 1;
        }
        yaml.push_str(&line);
    }
    // Keep the pipe open (the simulator writes nothing more).
    std::mem::forget(reader);
    (proc, yaml)
}
