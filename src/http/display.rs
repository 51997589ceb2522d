//! How numbers, times and label values read on the HTML pages.

use std::time::{Duration, SystemTime};

/// `value` with three significant digits and an SI prefix: `950`, `12.3 k`, `1.23 M`.
fn si(value: f64) -> (String, &'static str) {
    const PREFIXES: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    if !value.is_finite() || value.abs() < 1e-9 {
        return ("0".into(), "");
    }
    let mut v = value;
    let mut p = 0;
    while v.abs() >= 999.5 && p + 1 < PREFIXES.len() {
        v /= 1000.0;
        p += 1;
    }
    let digits = if v.abs() >= 99.95 {
        0
    } else if v.abs() >= 9.995 {
        1
    } else {
        2
    };
    // Whole numbers stay whole below the first prefix: 7 bit/s, not 7.00 bit/s.
    let digits = if p == 0 && v.fract() == 0.0 {
        0
    } else {
        digits
    };
    (format!("{v:.digits$}"), PREFIXES[p])
}

/// Bits per second with an SI prefix: `12.3 Mbit/s`.
pub fn bits_per_second(bps: f64) -> String {
    let (n, p) = si(bps);
    format!("{n} {p}bit/s")
}

/// An interface speed from ifHighSpeed (Mbit/s), as vendors write it: `1 Gbit/s`,
/// `2.5 Gbit/s`, `100 Mbit/s`.
pub fn speed(mbit: u64) -> String {
    let (v, unit) = match mbit {
        0..=999 => (mbit as f64, "Mbit/s"),
        1_000..=999_999 => (mbit as f64 / 1e3, "Gbit/s"),
        _ => (mbit as f64 / 1e6, "Tbit/s"),
    };
    let n = format!("{v:.2}");
    format!("{} {unit}", n.trim_end_matches('0').trim_end_matches('.'))
}

/// Events per second (errors, discards): `0`, `0.02/s`, `1.5 k/s`.
pub fn per_second(v: f64) -> String {
    if v.abs() < 1e-9 {
        return "0".into();
    }
    let (n, p) = si(v);
    format!("{n} {p}/s").replace(" /s", "/s")
}

/// A ratio as a percentage with one decimal: `12.3 %`.
pub fn percent(ratio: f64) -> String {
    format!("{:.1} %", ratio * 100.0)
}

/// A duration in its two largest units: `3d 4h`, `12m 5s`, `800ms`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        1..=59 => format!("{:.1}s", d.as_secs_f64()),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// How long ago `t` was: `4s ago`, `3m 2s ago`, or `just now`.
pub fn ago(t: SystemTime) -> String {
    match SystemTime::now().duration_since(t) {
        Ok(d) if d.as_secs() < 1 => "just now".into(),
        Ok(d) if d.as_secs() < 60 => format!("{}s ago", d.as_secs()),
        Ok(d) => format!("{} ago", duration(Duration::from_secs(d.as_secs()))),
        _ => "just now".into(),
    }
}

/// A label value as the device sent it: undoes the exposition escaping that
/// [`crate::metrics::mapping::escape_label`] applied at poll time.
pub fn unescape_label(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// IF-MIB ifOperStatus / ifAdminStatus value as its name.
pub fn if_status(v: i64) -> &'static str {
    match v {
        1 => "up",
        2 => "down",
        3 => "testing",
        4 => "unknown",
        5 => "dormant",
        6 => "notPresent",
        7 => "lowerLayerDown",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::mapping::escape_label;

    #[test]
    fn si_prefixes() {
        let cases = [
            (0.0, "0 bit/s"),
            (7.0, "7 bit/s"),
            (950.4, "950 bit/s"),
            (999.6, "1.00 kbit/s"),
            (12_345.0, "12.3 kbit/s"),
            (12_345_678.0, "12.3 Mbit/s"),
            (123_456_789.0, "123 Mbit/s"),
            (1_234_567_890.0, "1.23 Gbit/s"),
            (9_999_999_999.0, "10.0 Gbit/s"),
            (2.5e12, "2.50 Tbit/s"),
        ];
        for (v, want) in cases {
            assert_eq!(bits_per_second(v), want, "{v}");
        }
        assert_eq!(speed(1000), "1 Gbit/s");
        assert_eq!(speed(2500), "2.5 Gbit/s");
        assert_eq!(speed(100), "100 Mbit/s");
        assert_eq!(speed(400_000), "400 Gbit/s");
        assert_eq!(per_second(0.0), "0");
        assert_eq!(per_second(0.0123), "0.01/s");
        assert_eq!(per_second(2500.0), "2.50 k/s");
        assert_eq!(percent(0.1234), "12.3 %");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_millis(800)), "800ms");
        assert_eq!(duration(Duration::from_millis(2_500)), "2.5s");
        assert_eq!(duration(Duration::from_secs(725)), "12m 5s");
        assert_eq!(duration(Duration::from_secs(3 * 3600 + 120)), "3h 2m");
        assert_eq!(
            duration(Duration::from_secs(3 * 86_400 + 4 * 3600)),
            "3d 4h"
        );
    }

    #[test]
    fn label_values_round_trip() {
        for s in ["plain", "a \"quoted\" \\ back\nslash", "trailing\\"] {
            assert_eq!(unescape_label(&escape_label(s)), s);
        }
    }
}
