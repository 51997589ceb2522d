//! Simulated SNMP agents: realistic access switches (system group, ifTable, ifXTable)
//! and devices replayed from recordings, for the demo, tests and benchmarks.
//!
//! Design:
//! - Each device owns one UDP socket (one port per device; by default 127.0.0.1 with
//!   ports `base_port + i`) and one small task that waits for readability. No per-device
//!   receive buffer is held while idle (datagrams are read into a per-thread buffer), so
//!   an idle device is a socket, a task and a few words of state.
//! - Devices with the same interface count share one precomputed, sorted OID table
//!   (`Arc`); values are computed on request from (seed, interface, time) in closed form,
//!   so there are no background tasks and counters never decrease.
//! - Requests are answered by a small direct responder (see [`responder`]) built on
//!   async-snmp's message encode/decode rather than its `Agent`: GETBULK advances by
//!   position in the table, and each device needs no handler registry.
//! - Agents as they are in the field: replies are capped at
//!   [`DeviceSpec::max_reply_bytes`] (default [`DEFAULT_MAX_REPLY_BYTES`], what Cisco IOS
//!   sends; 0 = unlimited), cut at the last varbind that fits or refused with tooBig
//!   ([`DeviceSpec::too_big_over_cap`]), optionally after [`DeviceSpec::reply_delay`]
//!   (which holds up no other request to the same device). Each device counts what it
//!   was asked and sent ([`Running::stats`]), and a synthetic device's ifIndexes can be
//!   renumbered while it runs ([`Running::set_if_index_offset`]), as after a line card swap.
//! - Faults: [`Fault::NoAnswer`] binds the socket (so the port is taken and no ICMP
//!   "port unreachable" comes back) but never reads it, which looks like a dead device
//!   behind a firewall: the poller times out.

mod model;
mod recording;
mod responder;
mod view;

pub use recording::{Recording, RecordingError};

use bytes::Bytes;
use model::{ShapeCache, SynthDevice};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use view::{StaticView, View};

/// Most bytes of a reply message by default: Cisco IOS's default `snmp-server packetsize`,
/// about what common agents send.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 1_500;

/// One simulated device's behaviour.
#[derive(Debug, Clone)]
pub struct DeviceSpec {
    /// Device name; served as sysName.
    pub name: String,
    /// Number of interfaces (ifNumber, rows of ifTable/ifXTable).
    pub interfaces: usize,
    /// SNMPv1/v2c community the device answers; anything else gets no reply.
    pub community: String,
    /// Misbehaviour to simulate.
    pub fault: Fault,
    /// Serve no ifHCInOctets/ifHCOutOctets, like an old device with only 32-bit counters.
    pub counters32_only: bool,
    /// Drives every per-device and per-interface choice (states, rates, MACs, uptime).
    pub seed: u64,
    /// Most bytes of an encoded reply message (0 = unlimited: up to 65,000). A GETBULK
    /// reply over it is cut after the last varbind that fits, as real agents do.
    pub max_reply_bytes: usize,
    /// Answer tooBig to a GETBULK whose reply would be over `max_reply_bytes`, instead of
    /// cutting it (some agents do; GET and GETNEXT always get tooBig over it).
    pub too_big_over_cap: bool,
    /// Answer every request after this delay (zero: at once); other requests to the same
    /// device are not held up meanwhile.
    pub reply_delay: Duration,
}

impl Default for DeviceSpec {
    /// A device as common agents are: 24 interfaces, community `public`, replies capped at
    /// [`DEFAULT_MAX_REPLY_BYTES`].
    fn default() -> Self {
        DeviceSpec {
            name: "sim".into(),
            interfaces: 24,
            community: "public".into(),
            fault: Fault::None,
            counters32_only: false,
            seed: 0,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            too_big_over_cap: false,
            reply_delay: Duration::ZERO,
        }
    }
}

/// How a device misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Answers normally.
    #[default]
    None,
    /// Holds its port but never answers (requests time out).
    NoAnswer,
}

/// What one device was asked and answered since it started (see [`Running::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests answered or refused (right community, decodable); not wrong-community ones.
    pub requests: u64,
    /// GETBULK replies cut short by the reply size cap.
    pub cut: u64,
    /// tooBig replies.
    pub too_big: u64,
    /// GETBULK replies of an agent that refuses ([`DeviceSpec::too_big_over_cap`]) that
    /// one more repetition would have made too big: asked as much as whole rows allow.
    pub full: u64,
    /// Varbinds GETBULK requests asked for (non-repeaters + repetitions × repeaters).
    pub varbinds_asked: u64,
    /// Varbinds sent in replies.
    pub varbinds_sent: u64,
}

/// Live counters of one device.
#[derive(Debug, Default)]
pub(crate) struct DeviceStats {
    pub(crate) requests: AtomicU64,
    pub(crate) cut: AtomicU64,
    pub(crate) too_big: AtomicU64,
    pub(crate) full: AtomicU64,
    pub(crate) varbinds_asked: AtomicU64,
    pub(crate) varbinds_sent: AtomicU64,
}

impl DeviceStats {
    fn snapshot(&self) -> Stats {
        Stats {
            requests: self.requests.load(Relaxed),
            cut: self.cut.load(Relaxed),
            too_big: self.too_big.load(Relaxed),
            full: self.full.load(Relaxed),
            varbinds_asked: self.varbinds_asked.load(Relaxed),
            varbinds_sent: self.varbinds_sent.load(Relaxed),
        }
    }
}

/// A device's state shared between its task and [`Running`]: counters and, for synthetic
/// devices, the ifIndex shift.
#[derive(Debug)]
pub(crate) struct DeviceState {
    pub(crate) stats: DeviceStats,
    /// Added to every ifIndex (0 at start).
    pub(crate) if_index_offset: AtomicU32,
    /// Simulator time (ms since start) of the last renumbering; `u64::MAX`: never.
    pub(crate) if_table_changed_ms: AtomicU64,
}

impl Default for DeviceState {
    fn default() -> Self {
        DeviceState {
            stats: DeviceStats::default(),
            if_index_offset: AtomicU32::new(0),
            if_table_changed_ms: AtomicU64::new(u64::MAX),
        }
    }
}

/// A running simulator: where each device listens. Dropping it (or cancelling the
/// shutdown token passed to [`start`]) stops every device.
#[derive(Debug)]
pub struct Running {
    /// (name, listening address) per device, in the order given.
    pub devices: Vec<(String, SocketAddr)>,
    /// Per device, in the same order: counters and controls.
    states: Vec<(Arc<DeviceState>, bool)>,
    epoch: Instant,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    fn state(&self, name: &str) -> Option<&(Arc<DeviceState>, bool)> {
        let i = self.devices.iter().position(|(n, _)| n == name)?;
        self.states.get(i)
    }

    /// What device `name` was asked and answered so far; `None` for an unknown name.
    pub fn stats(&self, name: &str) -> Option<Stats> {
        self.state(name).map(|(s, _)| s.stats.snapshot())
    }

    /// Renumbers synthetic device `name`: interface k (1-based, in port order) gets
    /// ifIndex `k + offset` from the next request on, in every ifTable and ifXTable
    /// column; names, counters and states stay with the port, and ifTableLastChange
    /// becomes the current sysUpTime. A line card swap does this to a chassis. False for
    /// an unknown name or a recording.
    pub fn set_if_index_offset(&self, name: &str, offset: u32) -> bool {
        match self.state(name) {
            Some((state, true)) => {
                let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
                state.if_table_changed_ms.store(now, Relaxed);
                state.if_index_offset.store(offset, Relaxed);
                true
            }
            _ => false,
        }
    }

    /// Stop every device and wait until their sockets are closed.
    pub async fn stop(mut self) {
        self.stop.cancel();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A device ready to be bound: its view and how it answers.
struct Entry {
    name: String,
    view: Arc<dyn View>,
    community: Bytes,
    fault: Fault,
    cap: responder::Cap,
    delay: Duration,
    state: Arc<DeviceState>,
    /// Synthetic (can be renumbered), not a recording.
    synthetic: bool,
}

/// Start synthetic devices on `bind_ip`: device `i` on `base_port + i`, or each on an
/// ephemeral port when `base_port` is 0.
pub async fn start(
    bind_ip: IpAddr,
    base_port: u16,
    devices: Vec<DeviceSpec>,
    shutdown: CancellationToken,
) -> io::Result<Running> {
    start_entries(bind_ip, base_port, synth_entries(devices), shutdown).await
}

/// Serve the recording at `path` (`.snmprec`, or else `snmpwalk -On` output) as one static
/// device named after the file stem, on `port` (0 = ephemeral), replies capped at
/// `max_reply_bytes` (0 = unlimited). Parse errors are `InvalidData` errors naming the
/// file and line.
pub async fn start_recording(
    bind_ip: IpAddr,
    port: u16,
    path: &Path,
    community: &str,
    max_reply_bytes: usize,
    shutdown: CancellationToken,
) -> io::Result<Running> {
    let rec = Recording::load(path).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let entries = vec![recording_entry(rec, community, max_reply_bytes)];
    start_entries(bind_ip, port, entries, shutdown).await
}

fn synth_entries(devices: Vec<DeviceSpec>) -> Vec<Entry> {
    let mut shapes = ShapeCache::default();
    devices
        .into_iter()
        .map(|d| {
            let shape = shapes.get(d.interfaces, d.counters32_only);
            let state = Arc::new(DeviceState::default());
            Entry {
                view: Arc::new(SynthDevice::new(shape, &d.name, d.seed, state.clone())),
                name: d.name,
                community: Bytes::from(d.community.into_bytes()),
                fault: d.fault,
                cap: responder::Cap {
                    max_reply_bytes: d.max_reply_bytes,
                    too_big: d.too_big_over_cap,
                },
                delay: d.reply_delay,
                state,
                synthetic: true,
            }
        })
        .collect()
}

fn recording_entry(rec: Recording, community: &str, max_reply_bytes: usize) -> Entry {
    Entry {
        name: rec.name,
        view: Arc::new(StaticView::new(rec.entries)),
        community: Bytes::copy_from_slice(community.as_bytes()),
        fault: Fault::None,
        cap: responder::Cap {
            max_reply_bytes,
            too_big: false,
        },
        delay: Duration::ZERO,
        state: Arc::default(),
        synthetic: false,
    }
}

async fn start_entries(
    bind_ip: IpAddr,
    base_port: u16,
    entries: Vec<Entry>,
    shutdown: CancellationToken,
) -> io::Result<Running> {
    raise_nofile_limit(entries.len() as u64 + 256);
    let stop = shutdown.child_token();
    // One clock for all devices: sysUpTime and counters are relative to it.
    let epoch = Instant::now();
    let mut running = Running {
        devices: Vec::with_capacity(entries.len()),
        states: Vec::with_capacity(entries.len()),
        epoch,
        stop: stop.clone(),
        tasks: Vec::with_capacity(entries.len()),
    };
    for (i, entry) in entries.into_iter().enumerate() {
        let port = if base_port == 0 {
            0
        } else {
            u16::try_from(i)
                .ok()
                .and_then(|i| base_port.checked_add(i))
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("device {i} does not fit above base port {base_port}"),
                    )
                })?
        };
        let sock = UdpSocket::bind((bind_ip, port)).await.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("binding {}: {e}", SocketAddr::new(bind_ip, port)),
            )
        })?;
        running
            .devices
            .push((entry.name.clone(), sock.local_addr()?));
        running.states.push((entry.state.clone(), entry.synthetic));
        let stop = stop.clone();
        running.tasks.push(tokio::spawn(async move {
            if entry.fault == Fault::NoAnswer {
                // Keep the port bound and never read it.
                stop.cancelled().await;
                drop(sock);
            } else {
                serve(Arc::new(sock), entry, epoch, stop).await;
            }
        }));
    }
    Ok(running)
}

/// Datagrams larger than this are not SNMP requests we answer.
const RECV_BUF_BYTES: usize = 65_536;
/// Datagrams handled per readiness before yielding, so one busy device can't starve others.
const BATCH: usize = 64;

thread_local! {
    // Shared by all devices on a worker thread: never held across an await.
    static RECV_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; RECV_BUF_BYTES]);
}

async fn serve(sock: Arc<UdpSocket>, entry: Entry, epoch: Instant, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            ready = sock.readable() => if ready.is_err() { return },
        }
        for _ in 0..BATCH {
            let received = RECV_BUF.with(|buf| {
                let mut buf = buf.borrow_mut();
                sock.try_recv_from(&mut buf)
                    .map(|(n, peer)| (Bytes::copy_from_slice(&buf[..n]), peer))
            });
            let (data, peer) = match received {
                Ok(r) => r,
                // WouldBlock: drained. Other errors (e.g. an ICMP error queued by a
                // previous send) are consumed by reading; wait for readiness again.
                Err(_) => break,
            };
            let now_ms = u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
            let Some(reply) = responder::respond(
                &*entry.view,
                &entry.community,
                entry.cap,
                &entry.state.stats,
                data,
                now_ms,
            ) else {
                continue;
            };
            if entry.delay.is_zero() {
                // A lost reply is what UDP clients expect and retry; nothing to do.
                let _ = sock.send_to(&reply, peer).await;
            } else {
                let (sock, stop, delay) = (sock.clone(), stop.clone(), entry.delay);
                tokio::spawn(async move {
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::time::sleep(delay) => {
                            let _ = sock.send_to(&reply, peer).await;
                        }
                    }
                });
            }
        }
        tokio::task::yield_now().await;
    }
}

/// Raise the soft open-file limit towards `want` (capped by the hard limit), so
/// thousands of device sockets fit. Best effort: bind errors report any shortfall.
#[cfg(unix)]
#[allow(unsafe_code)]
fn raise_nofile_limit(want: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        let want = want as libc::rlim_t;
        if lim.rlim_cur >= want {
            return;
        }
        lim.rlim_cur = want.min(lim.rlim_max);
        let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
    }
}

#[cfg(not(unix))]
fn raise_nofile_limit(_want: u64) {}

/// `octopoll simulate`: serve simulated devices on loopback.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Number of synthetic devices.
    #[arg(long, default_value_t = 10)]
    pub devices: usize,
    /// Interfaces per synthetic device.
    #[arg(long, default_value_t = 24)]
    pub interfaces: usize,
    /// Address to listen on (each device gets its own port on it).
    #[arg(long, default_value = "127.0.0.1")]
    pub listen_ip: IpAddr,
    /// Port of the first device; device i listens on base-port + i (0 = ephemeral ports).
    #[arg(long, default_value_t = 16100)]
    pub base_port: u16,
    /// Community every device answers.
    #[arg(long, default_value = "public")]
    pub community: String,
    /// Make every Nth synthetic device (the last of each N) 32-bit-counters-only (0 = none).
    #[arg(long, default_value_t = 0)]
    pub counters32_every: usize,
    /// Also serve this recording (.snmprec or `snmpwalk -On` output) as a device; repeatable.
    #[arg(long = "recording", value_name = "FILE")]
    pub recordings: Vec<PathBuf>,
    /// Most bytes of a reply message, as real agents cap them (Cisco IOS: 1500); a GETBULK
    /// reply over it is cut after the last varbind that fits. 0 = unlimited (65000).
    #[arg(long, default_value_t = DEFAULT_MAX_REPLY_BYTES, value_name = "BYTES")]
    pub max_reply_bytes: usize,
    /// Answer tooBig to a GETBULK over --max-reply-bytes instead of cutting the reply.
    #[arg(long)]
    pub too_big: bool,
    /// Answer every request after this delay, e.g. 20ms (0 = at once).
    #[arg(long, default_value = "0s", value_parser = parse_delay, value_name = "DURATION")]
    pub reply_delay: Duration,
    /// Print an octopoll devices YAML for the simulated devices on stdout (the
    /// "name address" lines then go to stderr); keeps serving afterwards.
    #[arg(long)]
    pub print_config: bool,
}

/// A delay such as `20ms`, `1.5s` or `0`.
fn parse_delay(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a delay such as 20ms or 1s"))?;
    let scale = match unit {
        "ms" => 1e-3,
        "s" => 1.0,
        "us" | "µs" => 1e-6,
        _ => return Err(format!("{s:?}: unit must be us, ms or s")),
    };
    Duration::try_from_secs_f64(n * scale).map_err(|e| format!("{s:?}: {e}"))
}

/// Name of synthetic device `i` as `run` creates it.
pub fn device_name(i: usize) -> String {
    format!("sim-{i:05}")
}

/// The devices `run` would start for `args` (recordings excluded).
pub fn specs_for(args: &SimulateArgs) -> Vec<DeviceSpec> {
    (0..args.devices)
        .map(|i| DeviceSpec {
            name: device_name(i),
            interfaces: args.interfaces,
            community: args.community.clone(),
            fault: Fault::None,
            counters32_only: args.counters32_every > 0 && (i + 1) % args.counters32_every == 0,
            seed: i as u64,
            max_reply_bytes: args.max_reply_bytes,
            too_big_over_cap: args.too_big,
            reply_delay: args.reply_delay,
        })
        .collect()
}

/// Run `octopoll simulate`: start the devices, print "name address" per device, and serve
/// until `shutdown` is cancelled.
pub async fn run(args: SimulateArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut entries = synth_entries(specs_for(&args));
    for path in &args.recordings {
        let rec = Recording::load(path)?;
        entries.push(recording_entry(rec, &args.community, args.max_reply_bytes));
    }
    let running = start_entries(args.listen_ip, args.base_port, entries, shutdown.clone()).await?;
    let mut lines = String::new();
    for (name, addr) in &running.devices {
        let _ = writeln!(lines, "{name} {addr}");
    }
    if args.print_config {
        print!("{}", config_yaml(&running.devices, &args.community));
        eprint!("{lines}");
    } else {
        print!("{lines}");
    }
    shutdown.cancelled().await;
    running.stop().await;
    Ok(())
}

/// An octopoll config polling `devices` with SNMPv2c `community`.
pub fn config_yaml(devices: &[(String, SocketAddr)], community: &str) -> String {
    // JSON strings are valid YAML scalars and quote anything odd in names/community.
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
    let mut y = String::from("# Generated by `octopoll simulate --print-config`.\n");
    let _ = writeln!(
        y,
        "auths:\n  simulator: {{version: 2c, community: {}}}",
        q(community)
    );
    y.push_str("defaults:\n  auth: simulator\n  modules: [if_mib]\ndevices:\n");
    for (name, addr) in devices {
        let _ = writeln!(
            y,
            "  - {{name: {}, address: {}}}",
            q(name),
            q(&addr.to_string())
        );
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_parse() {
        let cases = [
            ("0", Some(Duration::ZERO)),
            ("0s", Some(Duration::ZERO)),
            ("20ms", Some(Duration::from_millis(20))),
            ("1.5s", Some(Duration::from_millis(1500))),
            ("250us", Some(Duration::from_micros(250))),
            ("2", Some(Duration::from_secs(2))),
            ("5m", None),
            ("ms", None),
            ("-1s", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_delay(input).ok(), want, "{input}");
        }
    }

    #[test]
    fn config_yaml_lists_devices() {
        let y = config_yaml(
            &[("sim-00000".into(), "127.0.0.1:16100".parse().unwrap())],
            "pub",
        );
        assert!(
            y.contains("- {name: \"sim-00000\", address: \"127.0.0.1:16100\"}"),
            "{y}"
        );
        assert!(y.contains("community: \"pub\""), "{y}");
        crate::config::yaml::parse(&y).expect("valid YAML");
    }
}
