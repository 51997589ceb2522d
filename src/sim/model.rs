//! The synthetic switch: a shared, precomputed OID table per device shape and values
//! computed on request as pure functions of (seed, interface, time).
//!
//! Nothing here runs in the background: an idle device costs only its socket and a small
//! struct, and any value can be recomputed for any instant (which is what makes the
//! counters testably monotonic).

use super::view::View;
use async_snmp::{Oid, Value};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;

const SYSTEM: [u32; 7] = [1, 3, 6, 1, 2, 1, 1];
const IF_NUMBER: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 1, 0];
const IF_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 2, 2, 1, 0];
const IFX_ENTRY: [u32; 11] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 0];

/// ifTable columns served, in ascending order.
const IF_COLUMNS: [u32; 15] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 16, 19, 20];
/// ifXTable columns served with 64-bit counters.
const IFX_COLUMNS: [u32; 5] = [1, 6, 10, 15, 18];
/// ifXTable columns served by a device limited to 32-bit counters.
const IFX_COLUMNS_32: [u32; 3] = [1, 15, 18];

/// What a row of the shape table holds; the value is computed from it on request.
#[derive(Debug, Clone, Copy)]
enum Cell {
    SysDescr,
    SysObjectId,
    SysUpTime,
    SysContact,
    SysName,
    SysLocation,
    SysServices,
    IfNumber,
    /// ifTable column `col` of interface `idx` (0-based position).
    If {
        col: u8,
        idx: u32,
    },
    /// ifXTable column `col` of interface `idx`.
    IfX {
        col: u8,
        idx: u32,
    },
}

/// Interface facts that depend only on the interface count, shared by all devices.
#[derive(Debug)]
struct IfStatic {
    descr: Bytes,
    name: Bytes,
    alias: Bytes,
    uplink: bool,
}

/// The sorted OID table for one (interface count, 32-bit only) shape.
#[derive(Debug)]
pub(crate) struct Shape {
    oids: Vec<Oid>,
    cells: Vec<Cell>,
    ifaces: Vec<IfStatic>,
}

impl Shape {
    /// Build the table for `interfaces` interfaces; entries come out in lexicographic
    /// OID order because groups, columns and indices are all emitted ascending.
    pub(crate) fn new(interfaces: usize, counters32_only: bool) -> Shape {
        let n = u32::try_from(interfaces).unwrap_or(u32::MAX);
        let mut oids = Vec::new();
        let mut cells = Vec::new();
        let mut push = |oid: Oid, cell: Cell| {
            oids.push(oid);
            cells.push(cell);
        };
        let sys = [
            Cell::SysDescr,
            Cell::SysObjectId,
            Cell::SysUpTime,
            Cell::SysContact,
            Cell::SysName,
            Cell::SysLocation,
            Cell::SysServices,
        ];
        for (i, cell) in sys.into_iter().enumerate() {
            let mut arcs = SYSTEM.to_vec();
            arcs.extend([i as u32 + 1, 0]);
            push(Oid::from(arcs), cell);
        }
        push(Oid::from_slice(&IF_NUMBER), Cell::IfNumber);
        for col in IF_COLUMNS {
            for idx in 0..n {
                let mut arcs = IF_ENTRY;
                arcs[9] = col;
                let mut oid = arcs.to_vec();
                oid.push(idx + 1);
                push(
                    Oid::from(oid),
                    Cell::If {
                        col: col as u8,
                        idx,
                    },
                );
            }
        }
        let ifx: &[u32] = if counters32_only {
            &IFX_COLUMNS_32
        } else {
            &IFX_COLUMNS
        };
        for &col in ifx {
            for idx in 0..n {
                let mut arcs = IFX_ENTRY;
                arcs[10] = col;
                let mut oid = arcs.to_vec();
                oid.push(idx + 1);
                push(
                    Oid::from(oid),
                    Cell::IfX {
                        col: col as u8,
                        idx,
                    },
                );
            }
        }
        debug_assert!(oids.windows(2).all(|w| w[0] < w[1]));
        let ifaces = (0..interfaces)
            .map(|i| iface_static(i, interfaces))
            .collect();
        Shape {
            oids,
            cells,
            ifaces,
        }
    }
}

/// Names an interface like a stacked access switch: `Gi<member>/0/<port>` access ports
/// and, on devices with at least 4 interfaces, the last two as `Te1/1/<n>` uplinks.
fn iface_static(i: usize, n: usize) -> IfStatic {
    let uplinks = if n >= 4 { 2 } else { 0 };
    if i >= n - uplinks {
        let k = i - (n - uplinks) + 1;
        IfStatic {
            descr: Bytes::from(format!("TenGigabitEthernet1/1/{k}")),
            name: Bytes::from(format!("Te1/1/{k}")),
            alias: Bytes::from(format!("uplink core-sw{k}")),
            uplink: true,
        }
    } else {
        let (member, port) = (i / 48 + 1, i % 48 + 1);
        IfStatic {
            descr: Bytes::from(format!("GigabitEthernet{member}/0/{port}")),
            name: Bytes::from(format!("Gi{member}/0/{port}")),
            alias: Bytes::from(format!("user port {}", i + 1)),
            uplink: false,
        }
    }
}

/// Shapes keyed by (interfaces, counters32_only), so devices alike share one table.
#[derive(Default)]
pub(crate) struct ShapeCache(HashMap<(usize, bool), Arc<Shape>>);

impl ShapeCache {
    pub(crate) fn get(&mut self, interfaces: usize, counters32_only: bool) -> Arc<Shape> {
        self.0
            .entry((interfaces, counters32_only))
            .or_insert_with(|| Arc::new(Shape::new(interfaces, counters32_only)))
            .clone()
    }
}

/// SplitMix64 finaliser: a cheap, well-mixed hash of (seed, salt).
pub(crate) fn mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in [0, 1) from a hash.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Per-interface behaviour derived from the device seed (computed per request: a few
/// multiplications are cheaper than storing it for 10,000 devices).
#[derive(Debug, Clone, Copy)]
pub(crate) struct IfDyn {
    pub(crate) admin_down: bool,
    pub(crate) flapping: bool,
    speed_mbit: u32,
    h: u64,
}

impl IfDyn {
    fn new(seed: u64, idx: u32, uplink: bool) -> IfDyn {
        let h = mix(seed, u64::from(idx) + 1);
        let admin_down = !uplink && h.is_multiple_of(10);
        let flapping = !uplink && !admin_down && (h >> 8) % 8 == 1;
        IfDyn {
            admin_down,
            flapping,
            speed_mbit: if uplink { 10_000 } else { 1_000 },
            h,
        }
    }

    /// Octets transferred by time `t_ms` (ms of device uptime) in direction `dir`
    /// (0 = in, 1 = out). Never decreases in `t_ms`.
    pub(crate) fn octets(&self, t_ms: u64, dir: u64) -> u64 {
        let h = mix(self.h, 100 + dir);
        // A starting value so counters don't all begin near zero.
        let offset = h % 1_000_000_000_000;
        if self.admin_down {
            return offset;
        }
        let bytes_per_s = f64::from(self.speed_mbit) * 1e6 / 8.0;
        let t = t_ms as f64 / 1000.0;
        if self.flapping {
            // Constant rate while up, nothing while down: a piecewise-linear integral.
            let rate = bytes_per_s * (0.001 + 0.01 * unit(h));
            let (cycle, down, shift) = self.flap_params();
            let u = t_ms + shift;
            let (k, r) = (u / cycle, u % cycle);
            let up_ms = cycle - down;
            let up_total = k * up_ms + r.min(up_ms);
            let base = (shift / cycle) * up_ms + (shift % cycle).min(up_ms);
            return offset + (rate * (up_total - base) as f64 / 1000.0) as u64;
        }
        // Rate B(1 + 0.5 sin(t/P + phi)) >= B/2 > 0; its integral in closed form:
        // B (t + 0.5 P (cos(phi) - cos(t/P + phi))), never decreasing.
        let util = if self.speed_mbit > 1_000 {
            0.02 + 0.25 * unit(h >> 3)
        } else {
            0.001 + 0.05 * unit(h >> 3)
        };
        let b = bytes_per_s * util;
        let period = 300.0 + 3300.0 * unit(mix(h, 7));
        let phi = std::f64::consts::TAU * unit(mix(h, 8));
        let integral = b * (t + 0.5 * period * (phi.cos() - (t / period + phi).cos()));
        offset + integral.max(0.0) as u64
    }

    /// Errors or discards (`kind` salts which) by `t_ms`: a slow constant rate on about
    /// one interface in five, zero elsewhere.
    pub(crate) fn slow_counter(&self, t_ms: u64, kind: u64) -> u64 {
        let h = mix(self.h, 200 + kind);
        if self.admin_down || !h.is_multiple_of(5) {
            return 0;
        }
        // Between 1 and 10 events per 1000 s.
        let per_ks = 1 + (h >> 8) % 10;
        t_ms / 1_000_000 * per_ks + (t_ms % 1_000_000) * per_ks / 1_000_000
    }

    /// (cycle, down time, phase shift) of a flapping port, all in ms.
    fn flap_params(&self) -> (u64, u64, u64) {
        let h = mix(self.h, 300);
        let cycle = (180 + h % 420) * 1000;
        let down = (30 + (h >> 16) % 60) * 1000;
        (cycle, down, (h >> 32) % cycle)
    }

    /// Whether the interface is operationally up at `t_ms`.
    pub(crate) fn oper_up(&self, t_ms: u64) -> bool {
        if self.admin_down {
            return false;
        }
        if !self.flapping {
            return true;
        }
        let (cycle, down, shift) = self.flap_params();
        (t_ms + shift) % cycle < cycle - down
    }

    /// sysUpTime (ms) of the last oper status change.
    fn last_change_ms(&self, t_ms: u64) -> u64 {
        if !self.flapping {
            return (self.h >> 40) % 60_000;
        }
        let (cycle, down, shift) = self.flap_params();
        let r = (t_ms + shift) % cycle;
        let since = if r < cycle - down {
            r
        } else {
            r - (cycle - down)
        };
        t_ms.saturating_sub(since)
    }
}

/// One synthetic device: a shared shape plus the few per-device facts.
pub(crate) struct SynthDevice {
    pub(crate) shape: Arc<Shape>,
    pub(crate) name: Bytes,
    pub(crate) seed: u64,
    /// Uptime the device already had when the simulator started, in ms.
    pub(crate) uptime_offset_ms: u64,
}

impl SynthDevice {
    pub(crate) fn new(shape: Arc<Shape>, name: &str, seed: u64) -> SynthDevice {
        // Between 1 and 60 days of uptime, so sysUpTime differs per device.
        let uptime_offset_ms = (86_400 + mix(seed, 1) % (59 * 86_400)) * 1000;
        SynthDevice {
            shape,
            name: Bytes::copy_from_slice(name.as_bytes()),
            seed,
            uptime_offset_ms,
        }
    }

    fn iface(&self, idx: u32) -> IfDyn {
        let uplink = self
            .shape
            .ifaces
            .get(idx as usize)
            .is_some_and(|i| i.uplink);
        IfDyn::new(self.seed, idx, uplink)
    }
}

fn ticks(ms: u64) -> Value {
    Value::TimeTicks((ms / 10) as u32)
}

impl View for SynthDevice {
    fn oids(&self) -> &[Oid] {
        &self.shape.oids
    }

    fn value(&self, i: usize, elapsed_ms: u64) -> Value {
        let t = elapsed_ms + self.uptime_offset_ms;
        let Some(cell) = self.shape.cells.get(i) else {
            return Value::NoSuchInstance;
        };
        match *cell {
            Cell::SysDescr => Value::OctetString(Bytes::from_static(
                b"Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software (CAT9K_IOSXE), \
                  Version 17.3.4, RELEASE SOFTWARE (fc3) (octopoll simulator)",
            )),
            Cell::SysObjectId => {
                Value::ObjectIdentifier(Oid::from_slice(&[1, 3, 6, 1, 4, 1, 9, 1, 2494]))
            }
            Cell::SysUpTime => ticks(t),
            Cell::SysContact => Value::OctetString(Bytes::from_static(b"noc@example.net")),
            Cell::SysName => Value::OctetString(self.name.clone()),
            Cell::SysLocation => Value::OctetString(Bytes::from_static(b"Simulated rack 1")),
            Cell::SysServices => Value::Integer(6),
            Cell::IfNumber => Value::Integer(self.shape.ifaces.len() as i32),
            Cell::If { col, idx } => {
                let st = &self.shape.ifaces[idx as usize];
                let d = self.iface(idx);
                match col {
                    1 => Value::Integer(idx as i32 + 1),
                    2 => Value::OctetString(st.descr.clone()),
                    3 => Value::Integer(6), // ethernetCsmacd
                    4 => Value::Integer(if st.uplink { 9216 } else { 1500 }),
                    5 => Value::Gauge32(d.speed_mbit.saturating_mul(1_000_000)),
                    6 => {
                        let s = self.seed.to_be_bytes();
                        let idx = idx.to_be_bytes();
                        Value::OctetString(Bytes::copy_from_slice(&[
                            0x00,
                            0x1a,
                            s[7] & 0xfe,
                            s[6],
                            idx[2],
                            idx[3],
                        ]))
                    }
                    7 => Value::Integer(if d.admin_down { 2 } else { 1 }),
                    8 => Value::Integer(if d.oper_up(t) { 1 } else { 2 }),
                    9 => ticks(d.last_change_ms(t)),
                    10 => Value::Counter32(d.octets(t, 0) as u32),
                    13 => Value::Counter32(d.slow_counter(t, 0) as u32),
                    14 => Value::Counter32(d.slow_counter(t, 1) as u32),
                    16 => Value::Counter32(d.octets(t, 1) as u32),
                    19 => Value::Counter32(d.slow_counter(t, 2) as u32),
                    20 => Value::Counter32(d.slow_counter(t, 3) as u32),
                    _ => Value::NoSuchInstance,
                }
            }
            Cell::IfX { col, idx } => {
                let st = &self.shape.ifaces[idx as usize];
                let d = self.iface(idx);
                match col {
                    1 => Value::OctetString(st.name.clone()),
                    6 => Value::Counter64(d.octets(t, 0)),
                    10 => Value::Counter64(d.octets(t, 1)),
                    15 => Value::Gauge32(d.speed_mbit),
                    18 => Value::OctetString(st.alias.clone()),
                    _ => Value::NoSuchInstance,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_sorted_and_sized() {
        let s = Shape::new(24, false);
        assert!(s.oids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s.oids.len(), 8 + 24 * (15 + 5));
        let s32 = Shape::new(24, true);
        assert_eq!(s32.oids.len(), 8 + 24 * (15 + 3));
        // More than one stack member still sorts (index arcs are numeric).
        let big = Shape::new(200, false);
        assert!(big.oids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn counters_never_decrease() {
        for seed in 0..50u64 {
            for idx in 0..30 {
                let d = IfDyn::new(seed, idx, idx >= 28);
                let mut prev = [0u64; 6];
                // Sample irregularly over ~3 days, including 1 ms steps.
                let mut t = 86_400_000u64;
                for step in 0..3000u64 {
                    t += if step % 3 == 0 {
                        1
                    } else {
                        mix(seed, step) % 200_000
                    };
                    let now = [
                        d.octets(t, 0),
                        d.octets(t, 1),
                        d.slow_counter(t, 0),
                        d.slow_counter(t, 1),
                        d.slow_counter(t, 2),
                        d.slow_counter(t, 3),
                    ];
                    for k in 0..6 {
                        assert!(now[k] >= prev[k], "seed {seed} if {idx} counter {k} at {t}");
                    }
                    prev = now;
                }
            }
        }
    }

    #[test]
    fn active_interfaces_carry_traffic() {
        let d = IfDyn::new(1, 27, true);
        assert!(d.octets(10_000_000, 0) > d.octets(9_000_000, 0) + 1_000_000);
    }

    #[test]
    fn flapping_ports_go_down_and_up() {
        let d = (0..1000)
            .map(|i| IfDyn::new(i, 3, false))
            .find(|d| d.flapping)
            .expect("some seed flaps");
        let states: Vec<bool> = (0..2000).map(|s| d.oper_up(s * 1000)).collect();
        assert!(states.contains(&true) && states.contains(&false));
    }
}
