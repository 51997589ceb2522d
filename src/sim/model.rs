//! The synthetic switch: a shared per-shape description (interface count, which columns)
//! and values computed on request as pure functions of (seed, interface, time).
//!
//! Nothing here runs in the background and no OID table is stored: the OID at a position
//! is computed from the shape (system group, ifNumber, ifTable and ifXTable columns ×
//! interfaces, ifTableLastChange), so a 100,000-interface device costs its interface
//! names and nothing per OID, and the ifIndexes can be renumbered in place (a shift of
//! every index keeps each column in order). Any value can be recomputed for any instant,
//! which is what makes the counters testably monotonic.

use super::view::View;
use super::DeviceState;
use async_snmp::{Oid, Value};
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

const SYSTEM: [u32; 7] = [1, 3, 6, 1, 2, 1, 1];
const IF_NUMBER: [u32; 9] = [1, 3, 6, 1, 2, 1, 2, 1, 0];
const IF_ENTRY: [u32; 10] = [1, 3, 6, 1, 2, 1, 2, 2, 1, 0];
const IFX_ENTRY: [u32; 11] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 0];
/// IF-MIB ifTableLastChange.0: sysUpTime when an ifTable row last came or went (here:
/// the last renumbering).
const IF_TABLE_LAST_CHANGE: [u32; 10] = [1, 3, 6, 1, 2, 1, 31, 1, 5, 0];

/// ifTable columns served, in ascending order.
const IF_COLUMNS: [u32; 15] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 16, 19, 20];
/// ifXTable columns served with 64-bit counters.
const IFX_COLUMNS: [u32; 5] = [1, 6, 10, 15, 18];
/// ifXTable columns served by a device limited to 32-bit counters.
const IFX_COLUMNS_32: [u32; 3] = [1, 15, 18];

/// Positions before the first ifTable cell: the system group (7 objects) and ifNumber.
const HEAD: usize = 8;
/// Longest OID of the view (ifXTable cell): arcs built on the stack.
const MAX_ARCS: usize = 12;

/// What a position of the view holds; the value is computed from it on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// System group object `n` (1 = sysDescr .. 7 = sysServices).
    System(u32),
    IfNumber,
    /// ifTable column `col` of interface `idx` (0-based position).
    If {
        col: u32,
        idx: u32,
    },
    /// ifXTable column `col` of interface `idx`.
    IfX {
        col: u32,
        idx: u32,
    },
    IfTableLastChange,
}

/// Interface facts that depend only on the interface count, shared by all devices.
#[derive(Debug)]
struct IfStatic {
    descr: Bytes,
    name: Bytes,
    alias: Bytes,
    uplink: bool,
}

/// One (interface count, 32-bit only) shape: which cells exist, and the interface names.
#[derive(Debug)]
pub(crate) struct Shape {
    n: usize,
    ifx_columns: &'static [u32],
    ifaces: Vec<IfStatic>,
}

impl Shape {
    pub(crate) fn new(interfaces: usize, counters32_only: bool) -> Shape {
        // ifIndex and the position arithmetic are u32.
        let interfaces = interfaces.min(u32::MAX as usize / 2);
        Shape {
            n: interfaces,
            ifx_columns: if counters32_only {
                &IFX_COLUMNS_32
            } else {
                &IFX_COLUMNS
            },
            ifaces: (0..interfaces)
                .map(|i| iface_static(i, interfaces))
                .collect(),
        }
    }

    /// Positions in the view.
    fn len(&self) -> usize {
        HEAD + self.n * (IF_COLUMNS.len() + self.ifx_columns.len()) + 1
    }

    fn cell(&self, i: usize) -> Option<Cell> {
        if i < 7 {
            return Some(Cell::System(i as u32 + 1));
        }
        if i == 7 {
            return Some(Cell::IfNumber);
        }
        let n = self.n.max(1);
        let j = i - HEAD;
        let if_cells = self.n * IF_COLUMNS.len();
        if j < if_cells {
            return Some(Cell::If {
                col: IF_COLUMNS[j / n],
                idx: (j % n) as u32,
            });
        }
        let k = j - if_cells;
        let ifx_cells = self.n * self.ifx_columns.len();
        if k < ifx_cells {
            return Some(Cell::IfX {
                col: self.ifx_columns[k / n],
                idx: (k % n) as u32,
            });
        }
        (k == ifx_cells).then_some(Cell::IfTableLastChange)
    }
}

/// Writes the OID of `cell` (ifIndexes shifted by `offset`) into `buf`; returns its length.
fn cell_arcs(cell: Cell, offset: u32, buf: &mut [u32; MAX_ARCS]) -> usize {
    let put = |buf: &mut [u32; MAX_ARCS], prefix: &[u32], tail: &[u32]| {
        buf[..prefix.len()].copy_from_slice(prefix);
        buf[prefix.len()..prefix.len() + tail.len()].copy_from_slice(tail);
        prefix.len() + tail.len()
    };
    match cell {
        Cell::System(k) => put(buf, &SYSTEM, &[k, 0]),
        Cell::IfNumber => put(buf, &IF_NUMBER, &[]),
        Cell::If { col, idx } => put(buf, &IF_ENTRY[..9], &[col, idx + 1 + offset]),
        Cell::IfX { col, idx } => put(buf, &IFX_ENTRY[..10], &[col, idx + 1 + offset]),
        Cell::IfTableLastChange => put(buf, &IF_TABLE_LAST_CHANGE, &[]),
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
    /// The ifIndex shift and when it last changed (see [`super::Running::set_if_index_offset`]).
    pub(crate) state: Arc<DeviceState>,
}

impl SynthDevice {
    pub(crate) fn new(
        shape: Arc<Shape>,
        name: &str,
        seed: u64,
        state: Arc<DeviceState>,
    ) -> SynthDevice {
        // Between 1 and 60 days of uptime, so sysUpTime differs per device.
        let uptime_offset_ms = (86_400 + mix(seed, 1) % (59 * 86_400)) * 1000;
        SynthDevice {
            shape,
            name: Bytes::copy_from_slice(name.as_bytes()),
            seed,
            uptime_offset_ms,
            state,
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

    fn offset(&self) -> u32 {
        self.state.if_index_offset.load(Relaxed)
    }
}

fn ticks(ms: u64) -> Value {
    Value::TimeTicks((ms / 10) as u32)
}

/// sysUpTime (ms) at which every device's ifTable was complete after its boot.
const BOOT_MS: u64 = 30_000;

impl View for SynthDevice {
    fn len(&self) -> usize {
        self.shape.len()
    }

    fn oid(&self, i: usize) -> Oid {
        let mut buf = [0; MAX_ARCS];
        let cell = self.shape.cell(i).expect("position within the view");
        let n = cell_arcs(cell, self.offset(), &mut buf);
        Oid::from_slice(&buf[..n])
    }

    fn cmp_at(&self, i: usize, oid: &Oid) -> Ordering {
        let mut buf = [0; MAX_ARCS];
        let cell = self.shape.cell(i).expect("position within the view");
        let n = cell_arcs(cell, self.offset(), &mut buf);
        buf[..n].cmp(oid.arcs())
    }

    fn value(&self, i: usize, elapsed_ms: u64) -> Value {
        let t = elapsed_ms + self.uptime_offset_ms;
        let Some(cell) = self.shape.cell(i) else {
            return Value::NoSuchInstance;
        };
        match cell {
            Cell::System(1) => Value::OctetString(Bytes::from_static(
                b"Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software (CAT9K_IOSXE), \
                  Version 17.3.4, RELEASE SOFTWARE (fc3) (octopoll simulator)",
            )),
            Cell::System(2) => {
                Value::ObjectIdentifier(Oid::from_slice(&[1, 3, 6, 1, 4, 1, 9, 1, 2494]))
            }
            Cell::System(3) => ticks(t),
            Cell::System(4) => Value::OctetString(Bytes::from_static(b"noc@example.net")),
            Cell::System(5) => Value::OctetString(self.name.clone()),
            Cell::System(6) => Value::OctetString(Bytes::from_static(b"Simulated rack 1")),
            Cell::System(_) => Value::Integer(6),
            Cell::IfNumber => Value::Integer(self.shape.ifaces.len() as i32),
            Cell::IfTableLastChange => {
                let changed = self.state.if_table_changed_ms.load(Relaxed);
                if changed == u64::MAX {
                    ticks(self.uptime_offset_ms.min(BOOT_MS))
                } else {
                    ticks(changed + self.uptime_offset_ms)
                }
            }
            Cell::If { col, idx } => {
                let st = &self.shape.ifaces[idx as usize];
                let d = self.iface(idx);
                match col {
                    1 => Value::Integer((idx + 1 + self.offset()) as i32),
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

    fn device(interfaces: usize, counters32_only: bool) -> SynthDevice {
        let shape = Arc::new(Shape::new(interfaces, counters32_only));
        SynthDevice::new(shape, "t", 1, Arc::default())
    }

    fn all_oids(d: &SynthDevice) -> Vec<Oid> {
        (0..d.len()).map(|i| d.oid(i)).collect()
    }

    #[test]
    fn shape_is_sorted_and_sized() {
        // (interfaces, 32-bit only, positions)
        let cases = [
            (24, false, 8 + 24 * (15 + 5) + 1),
            (24, true, 8 + 24 * (15 + 3) + 1),
            (200, false, 8 + 200 * 20 + 1),
            (1, false, 8 + 20 + 1),
            (0, false, 8 + 1),
        ];
        for (n, c32, len) in cases {
            let d = device(n, c32);
            assert_eq!(d.len(), len, "{n} {c32}");
            let oids = all_oids(&d);
            assert!(oids.windows(2).all(|w| w[0] < w[1]), "{n} {c32}");
            for (i, oid) in oids.iter().enumerate() {
                assert_eq!(d.position(oid), Ok(i));
                assert_eq!(d.next_after(oid), i + 1);
            }
        }
    }

    #[test]
    fn renumbering_shifts_every_index_and_keeps_order() {
        let d = device(60, false);
        let before = all_oids(&d);
        d.state.if_index_offset.store(1000, Relaxed);
        d.state.if_table_changed_ms.store(5_000, Relaxed);
        let after = all_oids(&d);
        assert!(after.windows(2).all(|w| w[0] < w[1]));
        let if_index = |oids: &[Oid]| -> Vec<u32> {
            oids.iter()
                .filter(|o| o.arcs().starts_with(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 1]))
                .map(|o| *o.arcs().last().unwrap())
                .collect()
        };
        assert_eq!(if_index(&before), (1..=60).collect::<Vec<_>>());
        assert_eq!(if_index(&after), (1001..=1060).collect::<Vec<_>>());
        // The ifIndex column's values follow, the names stay with the port.
        let pos = d.position(&Oid::from_slice(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 1001]));
        assert_eq!(d.value(pos.unwrap(), 0), Value::Integer(1001));
        let name = d
            .position(&Oid::from_slice(&[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1, 1001]))
            .unwrap();
        assert_eq!(d.value(name, 0), Value::OctetString(Bytes::from("Gi1/0/1")));
        // An old index is gone; a GETNEXT from it lands on the first new row.
        let old = Oid::from_slice(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 1]);
        let next = d.next_after(&old);
        assert_eq!(d.oid(next).arcs().last(), Some(&1001));
        // ifTableLastChange moved to the time of the change.
        let last = d.position(&Oid::from_slice(&IF_TABLE_LAST_CHANGE)).unwrap();
        assert_eq!(d.value(last, 9_000), ticks(5_000 + d.uptime_offset_ms));
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
