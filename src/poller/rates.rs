//! Per-interface rates from two consecutive successful polls, for the device page.
//!
//! Computed once when a poll is stored (not at page render), so the store keeps a few
//! numbers per interface instead of the whole previous poll.

use std::time::Duration;

use crate::metrics::mapping::Interface;

/// Rates of one interface between two polls; `None` where a counter is missing in either
/// poll or went back (the device restarted or the counter was reset).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterfaceRates {
    /// ifIndex.
    pub index: u32,
    /// Received bits per second (64-bit counters, or the 32-bit ones where they are missing).
    pub in_bps: Option<f64>,
    /// Sent bits per second.
    pub out_bps: Option<f64>,
    /// ifInErrors per second.
    pub in_errors_ps: Option<f64>,
    /// ifOutErrors per second.
    pub out_errors_ps: Option<f64>,
    /// ifInDiscards per second.
    pub in_discards_ps: Option<f64>,
    /// ifOutDiscards per second.
    pub out_discards_ps: Option<f64>,
}

/// The rates of a device's interfaces over one poll interval.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rates {
    /// Time between the two polls the rates come from.
    pub over: Duration,
    /// Sorted by ifIndex, one per interface present in both polls.
    pub interfaces: Vec<InterfaceRates>,
}

impl Rates {
    /// The rates of the interface with this ifIndex.
    pub fn get(&self, index: u32) -> Option<&InterfaceRates> {
        self.interfaces
            .binary_search_by_key(&index, |r| r.index)
            .ok()
            .map(|i| &self.interfaces[i])
    }
}

/// The time between two polls for their rates: the device's own sysUpTime difference
/// when it is plausible (within a quarter of the poller's wall-clock difference), as it
/// is read with the counters and so is not skewed by when octopoll got to record a
/// reply; the wall-clock difference otherwise (no sysUpTime, wrapped, frozen or odd).
pub fn interval(wall: Duration, uptime_ticks: Option<(u32, u32)>) -> Duration {
    let Some((a, b)) = uptime_ticks.filter(|(a, b)| b > a) else {
        return wall;
    };
    let device = Duration::from_millis(u64::from(b - a) * 10);
    let (lo, hi) = (wall.mul_f64(0.75), wall.mul_f64(1.25));
    if device >= lo && device <= hi {
        device
    } else {
        wall
    }
}

/// Per-second increase of a counter of `bits` width. A 32-bit counter that went down is
/// taken as one wrap (at 10 Gbit/s an octet counter wraps every 3.4 s); a 64-bit one as
/// a reset, which gives no rate.
fn per_second(old: Option<u64>, new: Option<u64>, bits: u32, secs: f64) -> Option<f64> {
    let (old, new) = (old?, new?);
    let delta = if new >= old {
        new - old
    } else if bits == 32 && old <= u64::from(u32::MAX) && new <= u64::from(u32::MAX) {
        (1u64 << 32) - old + new
    } else {
        return None;
    };
    Some(delta as f64 / secs)
}

/// Rates between `prev` and `next` (both sorted by ifIndex, as polls return them), `over`
/// apart. `None` when the interval is zero or the device restarted in between (a wrap
/// could not be told from a reset then).
pub fn between(
    prev: &[Interface],
    next: &[Interface],
    over: Duration,
    restarted: bool,
) -> Option<Rates> {
    let secs = over.as_secs_f64();
    if secs <= 0.0 || restarted {
        return None;
    }
    let mut out = Vec::with_capacity(next.len());
    for n in next {
        let Ok(pos) = prev.binary_search_by_key(&n.index, |i| i.index) else {
            continue;
        };
        let p = &prev[pos];
        // The same width in both polls, or no rate: never mix a 64-bit and a 32-bit value.
        let octets = |hc_p, hc_n, c32_p, c32_n| match (hc_p, hc_n) {
            (Some(_), Some(_)) => per_second(hc_p, hc_n, 64, secs),
            _ => per_second(c32_p, c32_n, 32, secs),
        };
        let bits = |v: Option<f64>| v.map(|b| b * 8.0);
        out.push(InterfaceRates {
            index: n.index,
            in_bps: bits(octets(p.hc_in, n.hc_in, p.in32, n.in32)),
            out_bps: bits(octets(p.hc_out, n.hc_out, p.out32, n.out32)),
            in_errors_ps: per_second(p.in_errors, n.in_errors, 32, secs),
            out_errors_ps: per_second(p.out_errors, n.out_errors, 32, secs),
            in_discards_ps: per_second(p.in_discards, n.in_discards, 32, secs),
            out_discards_ps: per_second(p.out_discards, n.out_discards, 32, secs),
        });
    }
    Some(Rates {
        over,
        interfaces: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(index: u32, hc: Option<(u64, u64)>, c32: Option<(u64, u64)>, err: u64) -> Interface {
        Interface {
            index,
            hc_in: hc.map(|h| h.0),
            hc_out: hc.map(|h| h.1),
            in32: c32.map(|c| c.0),
            out32: c32.map(|c| c.1),
            in_errors: Some(err),
            ..Interface::default()
        }
    }

    #[test]
    fn rates_from_two_polls() {
        let ten = Duration::from_secs(10);
        let prev = [
            iface(1, Some((1_000, 5_000)), None, 0),
            iface(2, None, Some((u64::from(u32::MAX) - 99, 10)), 7),
            iface(3, Some((100, 100)), None, 0),
            iface(9, Some((0, 0)), None, 0),
        ];
        let next = [
            // 1,250 octets/s in = 10 kbit/s; out unchanged.
            iface(1, Some((13_500, 5_000)), None, 5),
            // The 32-bit in counter wrapped: 100 + 900 octets in 10 s.
            iface(2, None, Some((900, 10)), 7),
            // A 64-bit counter that went back: a reset, no rate.
            iface(3, Some((50, 200)), None, 0),
            // Not in the previous poll: no row.
            iface(4, Some((1, 1)), None, 0),
        ];
        let r = between(&prev, &next, ten, false).unwrap();
        let ix: Vec<u32> = r.interfaces.iter().map(|i| i.index).collect();
        assert_eq!(ix, [1, 2, 3]);
        let one = r.get(1).unwrap();
        assert_eq!(one.in_bps, Some(10_000.0));
        assert_eq!(one.out_bps, Some(0.0));
        assert_eq!(one.in_errors_ps, Some(0.5));
        assert_eq!(r.get(2).unwrap().in_bps, Some(800.0));
        assert_eq!(r.get(2).unwrap().in_errors_ps, Some(0.0));
        assert_eq!(r.get(3).unwrap().in_bps, None);
        assert_eq!(r.get(3).unwrap().out_bps, Some(80.0));
        assert!(r.get(4).is_none());
    }

    #[test]
    fn no_rates_without_time_or_across_a_restart() {
        let a = [iface(1, Some((0, 0)), None, 0)];
        assert!(between(&a, &a, Duration::ZERO, false).is_none());
        assert!(between(&a, &a, Duration::from_secs(1), true).is_none());
    }

    #[test]
    fn interval_prefers_the_devices_clock_when_plausible() {
        let wall = Duration::from_millis(2_080);
        // 200 ticks = 2.00 s: read with the counters, taken over the late wall clock.
        assert_eq!(interval(wall, Some((1_000, 1_200))), Duration::from_secs(2));
        // Frozen, backwards or far off: the wall clock.
        for ticks in [None, Some((5, 5)), Some((9, 3)), Some((0, 1_000))] {
            assert_eq!(interval(wall, ticks), wall, "{ticks:?}");
        }
    }

    #[test]
    fn never_mixes_widths() {
        // 64-bit counters appear between polls (agent upgraded): no rate rather than a
        // difference between a 32-bit and a 64-bit value.
        let prev = [iface(1, None, Some((10, 10)), 0)];
        let next = [iface(1, Some((1 << 40, 1 << 40)), None, 0)];
        let r = between(&prev, &next, Duration::from_secs(1), false).unwrap();
        assert_eq!(r.interfaces[0].in_bps, None);
    }
}
