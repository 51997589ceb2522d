//! Table-driven tests of the whole load: one broken input per error class, with file,
//! line and key checked, and the merge, timing, secret and rendering rules.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::build::build;
use super::scalars::{fmt_duration, parse_address};
use super::secrets::Secrets;
use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

/// Validates in-memory files with a fake environment.
fn check(files: &[(&str, &str)], env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |name: &str| env.get(name).cloned();
    build(
        files
            .iter()
            .map(|(n, t)| (PathBuf::from(n), t.to_string()))
            .collect(),
        Secrets {
            env: &lookup,
            resolve: true,
        },
        Vec::new(),
    )
}

fn errors_of(r: Result<Config, ConfigErrors>) -> Vec<String> {
    match r {
        Ok(c) => panic!(
            "expected errors, got a config with {} devices",
            c.devices.len()
        ),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

/// Asserts exactly one error, containing every fragment.
fn one_error(r: Result<Config, ConfigErrors>, fragments: &[&str]) {
    let errs = errors_of(r);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    for f in fragments {
        assert!(errs[0].contains(f), "{:?} does not contain {f:?}", errs[0]);
    }
}

const V2: &str = "auths:\n  v2: {version: 2c, community: public}\ndefaults:\n  auth: v2\n";

/// One broken fixture per error class, with the `file:line: key` verified by hand.
/// `tests/check_cli.rs` runs the same fixtures through `octopoll check`.
#[test]
fn bad_fixtures_report_file_line_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "unknown_key.yml",
            "unknown_key.yml:8: devices[0].intervall: ",
            "unknown field `intervall`, expected one of `name`",
        ),
        (
            "dup_device.yml",
            "dup_device.yml:9: devices[1].name: ",
            "already defined at",
        ),
        ("dup_across", "b.yml:5: devices[1].name: ", "a.yml:7"),
        (
            "dangling_auth.yml",
            "dangling_auth.yml:7: devices[0].auth: ",
            "unknown auth `v3_core`; defined: v2",
        ),
        (
            "dangling_module.yml",
            "dangling_module.yml:10: devices[0].modules[1]: ",
            "unknown module `cisco_cpu`; defined: if_mib",
        ),
        (
            "bad_oid.yml",
            "bad_oid.yml:5: modules.ups[0].oid: ",
            "arc \"x\" is not a number",
        ),
        (
            "bad_duration.yml",
            "bad_duration.yml:3: defaults.interval: ",
            "invalid duration `15 sec`",
        ),
        (
            "poll_outlives.yml",
            "poll_outlives.yml:9: devices[0].timeout: ",
            "a poll could outlive its interval",
        ),
        (
            "bad_metric_name.yml",
            "bad_metric_name.yml:4: modules.ups[0].name: ",
            "invalid metric name `ups-battery`",
        ),
        (
            "bad_label_name.yml",
            "bad_label_name.yml:10: devices[0].labels.rack-row: ",
            "invalid label name",
        ),
        (
            "reserved_label.yml",
            "reserved_label.yml:8: devices[0].labels.instance: ",
            "set by octopoll itself",
        ),
        (
            "missing_env.yml",
            "missing_env.yml:5: auths.v2.community: ",
            "`OCTOPOLL_TEST_UNSET_COMMUNITY` is not set",
        ),
        (
            "missing_file.yml",
            "missing_file.yml:10: auths.v3.priv_password_file: ",
            "cannot read",
        ),
        (
            "short_password.yml",
            "short_password.yml:8: auths.v3.auth_password: ",
            "shorter than 8 characters",
        ),
        (
            "syntax.yml",
            "syntax.yml:5: ",
            "invalid YAML: illegal placement of ':' indicator (the `[` on line 4 has no closing `]`",
        ),
        (
            "wrong_type.yml",
            "wrong_type.yml:8: devices[0].retries: ",
            "invalid type: string \"three\"",
        ),
        (
            "bad_port.yml",
            "bad_port.yml:6: devices[0].address: ",
            "port must be 1 to 65535",
        ),
    ];
    for (fixture, place, message) in cases {
        let errs = errors_of(load(&fixtures().join("bad").join(fixture)));
        assert_eq!(
            errs.len(),
            1,
            "{fixture}: expected one error, got {errs:#?}"
        );
        assert!(
            errs[0].contains(place),
            "{fixture}: {:?} lacks {place:?}",
            errs[0]
        );
        assert!(
            errs[0].contains(message),
            "{fixture}: {:?} lacks {message:?}",
            errs[0]
        );
    }
}

#[test]
fn good_file_loads() {
    let c = load(&fixtures().join("good/single.yml")).expect("valid config");
    assert_eq!(c.files.len(), 1);
    assert_eq!(c.devices.len(), 2);
    let core = &c.devices[0];
    assert_eq!((core.host.as_str(), core.port), ("2001:db8::1", 1161));
    assert_eq!(core.interval, Duration::from_secs(15));
    assert_eq!(core.timeout, Duration::from_secs(2));
    assert!(core.origin.ends_with("single.yml:21"), "{}", core.origin);
    let AuthKind::V3(usm) = &core.auth.kind else {
        panic!("core_v3 is v3")
    };
    let (proto, pass) = usm.privacy.as_ref().expect("authPriv has privacy");
    assert_eq!(*proto, PrivProtocol::Aes256);
    // One trailing newline trimmed from the file.
    assert_eq!(pass.expose(), "privpass-from-file");
    assert_eq!(usm.auth.as_ref().map(|a| a.0), Some(AuthProtocol::Sha256));
    let names: Vec<_> = core.modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["if_mib", "ups"]);
    assert_eq!(core.labels.get("site").map(String::as_str), Some("paris"));
    let edge = &c.devices[1];
    assert_eq!(edge.auth.name, "public_v2");
    assert_eq!(edge.port, 161);
    assert_eq!(edge.modules.len(), 1);
    assert_eq!(edge.modules[0].kind, ModuleKind::IfMib);
}

#[test]
fn good_directory_merges_recursively_and_skips_junk() {
    let c = load(&fixtures().join("good/dir")).expect("valid config");
    let files: Vec<String> = c
        .files
        .iter()
        .map(|f| {
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    // Hidden, `~`, `.swp` and non-YAML files are skipped; the empty file counts.
    assert_eq!(
        files,
        ["00-common.yml", "devices.yml", "devices.yml", "empty.yml"]
    );
    assert!(c.files[1].ends_with("site-a/devices.yml"));
    let names: Vec<_> = c.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["a-sw1", "a-sw2", "b-sw1"]);
    assert_eq!(c.devices[0].interval, Duration::from_secs(60));
    let b = &c.devices[2];
    assert_eq!((b.host.as_str(), b.port), ("2001:db8::b1", 161));
    assert!(matches!(b.auth.kind, AuthKind::V1 { .. }));
    let mods: Vec<_> = b.modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(mods, ["if_mib", "device:b-sw1"]);
    let ModuleKind::Table(t) = &b.modules[1].kind else {
        panic!("device oids")
    };
    assert_eq!(&*t.metrics[0].help, "Number of interfaces");
}

#[test]
fn example_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/octopoll.yml");
    let text = fs::read_to_string(&path).expect("example exists");
    let name = path.display().to_string();
    let c = check(
        &[(&name, &text)],
        &[
            ("SNMP_AUTH_PASS", "example-auth-pass"),
            ("SNMP_PRIV_PASS", "example-priv-pass"),
            ("SNMP_SITE", "paris"),
        ],
    )
    .unwrap_or_else(|e| panic!("example must load:\n{e}"));
    assert!(c.devices.len() >= 2);
}

#[test]
fn empty_inputs() {
    let c = check(&[("empty.yml", "")], &[]).expect("empty file is fine");
    assert!(c.devices.is_empty());
    check(&[("c.yml", "# only a comment\n")], &[]).expect("comment-only file is fine");

    let dir = tempfile::tempdir().expect("tempdir");
    one_error(load(dir.path()), &["no *.yml or *.yaml files"]);
    fs::write(dir.path().join("notes.txt"), "x").expect("write");
    fs::write(dir.path().join(".hidden.yml"), "devices: x").expect("write");
    one_error(load(dir.path()), &["no *.yml or *.yaml files"]);
    one_error(load(&dir.path().join("missing.yml")), &["cannot read"]);
}

#[test]
fn collects_many_errors_in_one_file() {
    let text = "auths:\n  v2: {version: 2c, community: public}\n\
                devices:\n  - name: a\n    address: 'x:0'\n    auth: nope\n    bogus: 1\n\
                \x20 - name: b\n    address: y\n    auth: v2\n    interval: 5x\n    labels: {job: j}\n";
    let errs = errors_of(check(&[("m.yml", text)], &[]));
    // `bogus` makes device a undecodable, hiding its address/auth errors; b has two.
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(errs[0].starts_with("m.yml:7: devices[0].bogus: unknown field"));
    assert!(errs[1].starts_with("m.yml:11: devices[1].interval: invalid duration"));
    assert!(errs[2].starts_with("m.yml:12: devices[1].labels.job: "));

    let text = "auths:\n  v2: {version: 2c, community: public}\n\
                devices:\n  - name: a\n    address: 'x:0'\n    auth: nope\n";
    let errs = errors_of(check(&[("m.yml", text)], &[]));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(errs[0].starts_with("m.yml:5: devices[0].address: "));
    assert!(errs[1].starts_with("m.yml:6: devices[0].auth: unknown auth `nope`"));
}

#[test]
fn merge_rules_across_files() {
    let a = "defaults: {interval: 10s}\nauths:\n  v2: {version: 2c, community: a}\nmodules:\n  m: [{name: x, oid: 1.3.6, type: gauge}]\n";
    let b = "defaults: {interval: 20s}\nauths:\n  v2: {version: 2c, community: b}\nmodules:\n  m: [{name: x, oid: 1.3.6, type: gauge}]\n";
    let errs = errors_of(check(&[("a.yml", a), ("b.yml", b)], &[]));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert_eq!(
        errs[0],
        "b.yml:1: defaults: defaults already set at a.yml:1; only one file may set them"
    );
    assert_eq!(
        errs[1],
        "b.yml:3: auths.v2: auth `v2` is already defined at a.yml:3"
    );
    assert_eq!(
        errs[2],
        "b.yml:5: modules.m: module `m` is already defined at a.yml:5"
    );

    one_error(
        check(
            &[(
                "a.yml",
                "modules:\n  if_mib: [{name: x, oid: 1.3, type: gauge}]\n",
            )],
            &[],
        ),
        &["a.yml:2: modules.if_mib: ", "built in"],
    );
    one_error(
        check(&[("a.yml", "devices: []\nfoo: 1\n")], &[]),
        &["a.yml:2: foo: unknown key, expected one of `module_files`, `defaults`, `auths`"],
    );
    one_error(
        check(&[("a.yml", "devices: []\ndevices: []\n")], &[]),
        &["a.yml:2: devices: key given twice", "first at line 1"],
    );
}

#[test]
fn timing_rules() {
    let dev = |extra: &str| format!("{V2}devices:\n  - name: d\n    address: h\n{extra}");
    let ok = check(
        &[("t.yml", &dev("    interval: 1m30s\n    timeout: 500ms\n"))],
        &[],
    )
    .expect("valid timing");
    assert_eq!(ok.devices[0].interval, Duration::from_secs(90));
    assert_eq!(ok.devices[0].timeout, Duration::from_millis(500));
    one_error(
        check(&[("t.yml", &dev("    interval: 500ms\n"))], &[]),
        &["t.yml:8: devices[0].interval: interval must be at least 1s"],
    );
    one_error(
        check(&[("t.yml", &dev("    timeout: 0s\n"))], &[]),
        &["devices[0].timeout: timeout must be more than 0"],
    );
    one_error(
        check(
            &[("t.yml", &dev("    interval: 5s\n    timeout: 6s\n"))],
            &[],
        ),
        &["t.yml:9: devices[0].timeout: timeout 6s is longer than interval 5s"],
    );
    // Equal is not enough: the next poll would start as the last retry times out.
    one_error(
        check(&[("t.yml", &dev("    interval: 6s\n"))], &[]),
        &[
            "t.yml:8: devices[0].interval: timeout 2s × (retries 2 + 1) = 6s",
            "outlive",
        ],
    );
    one_error(
        check(&[("t.yml", &dev("    retries: 11\n"))], &[]),
        &["devices[0].retries: retries must be from 0 to 10, got 11"],
    );
    one_error(
        check(&[("t.yml", &dev("    max_repetitions: 0\n"))], &[]),
        &["devices[0].max_repetitions: max_repetitions must be from 1 to 1000"],
    );
    one_error(
        check(&[("t.yml", "defaults:\n  interval: 4s\n")], &[]),
        &["t.yml:2: defaults.interval: ", "outlive"],
    );
}

#[test]
fn broken_defaults_are_reported_once() {
    // Two devices rely on the broken defaults; only the defaults are blamed.
    let t = "defaults:\n  auth: nope\n  modules: [if_mib, gone]\n\
             devices:\n  - {name: a, address: h}\n  - {name: b, address: h}\n";
    let errs = errors_of(check(&[("d.yml", t)], &[]));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(errs[0].starts_with("d.yml:2: defaults.auth: unknown auth `nope`; none are defined"));
    assert!(errs[1].starts_with("d.yml:3: defaults.modules[1]: unknown module `gone`"));
    let errs = errors_of(check(
        &[("d.yml", "defaults:\n  retries: 1\n  timeout: 1m\n")],
        &[],
    ));
    assert_eq!(
        errs,
        ["d.yml:3: defaults.timeout: timeout 1m is longer than interval 30s"]
    );
}

#[test]
fn durations() {
    let ok = [
        ("500ms", 500),
        ("2s", 2000),
        ("1m", 60_000),
        ("1h", 3_600_000),
        ("1d", 86_400_000),
        ("1m30s", 90_000),
        ("1h0m5s250ms", 3_605_250),
    ];
    for (s, ms) in ok {
        assert_eq!(parse_duration(s), Ok(Duration::from_millis(ms)), "{s}");
        assert_eq!(
            parse_duration(&fmt_duration(Duration::from_millis(ms))),
            Ok(Duration::from_millis(ms))
        );
    }
    for bad in [
        "",
        "30",
        "s",
        "1x",
        "30s1m",
        "1s1s",
        "-1s",
        "1.5s",
        " 1s",
        "1 s",
        "99999999999999999999d",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
    }
    assert_eq!(fmt_duration(Duration::from_millis(90_500)), "1m30s500ms");
}

#[test]
fn addresses() {
    let ok = [
        ("10.0.0.1", "10.0.0.1", 161),
        ("sw1.example.net:1161", "sw1.example.net", 1161),
        ("[2001:db8::1]:162", "2001:db8::1", 162),
        ("[2001:db8::1]", "2001:db8::1", 161),
        ("2001:db8::1", "2001:db8::1", 161),
        ("::1", "::1", 161),
        ("h:65535", "h", 65535),
    ];
    for (s, host, port) in ok {
        assert_eq!(parse_address(s), Ok((host.to_string(), port)), "{s}");
    }
    for bad in [
        "",
        ":161",
        "h:",
        "h:0",
        "h:65536",
        "h:+1",
        "h:x",
        "my host",
        "[::1",
        "[::1]x",
        "[nothost]:1",
        "2001:db8::zz",
        "[]:1",
    ] {
        assert!(parse_address(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn names_and_labels() {
    let dev = |name: &str, extra: &str| {
        format!("{V2}devices:\n  - name: '{name}'\n    address: h\n{extra}")
    };
    for good in ["sw1", "core-sw1.paris", "a_b:c"] {
        check(&[("n.yml", &dev(good, ""))], &[]).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in ["", "sw 1", "sw/1"] {
        one_error(
            check(&[("n.yml", &dev(bad, ""))], &[]),
            &["n.yml:6: devices[0].name: invalid device name"],
        );
    }
    for (label, why) in [
        ("__x", "starts with `__`"),
        ("1a", "invalid label name"),
        ("ifIndex", "set by octopoll"),
        ("address", "set by octopoll"),
    ] {
        one_error(
            check(
                &[("n.yml", &dev("d", &format!("    labels: {{{label}: v}}\n")))],
                &[],
            ),
            &[&format!("devices[0].labels.{label}: "), why],
        );
    }
    // Numbers as label values are read as text.
    let c = check(&[("n.yml", &dev("d", "    labels: {rack: 12}\n"))], &[]).expect("valid");
    assert_eq!(
        c.devices[0].labels.get("rack").map(String::as_str),
        Some("12")
    );
    one_error(
        check(
            &[("n.yml", &format!("{V2}devices:\n  - address: h\n"))],
            &[],
        ),
        &["n.yml:6: devices[0]: missing required key `name`"],
    );
    one_error(
        check(&[("n.yml", "devices:\n  - {name: d, address: h}\n")], &[]),
        &["n.yml:2: devices[0]: no auth"],
    );
    one_error(
        check(&[("n.yml", &dev("d", "    modules: []\n"))], &[]),
        &["devices[0]: nothing to poll"],
    );
    one_error(
        check(
            &[("n.yml", &dev("d", "    modules: [if_mib, if_mib]\n"))],
            &[],
        ),
        &["devices[0].modules[1]: module `if_mib` is listed twice"],
    );
}

#[test]
fn metric_names() {
    let module = |name: &str, kind: &str| {
        format!("modules:\n  m:\n    - {{name: '{name}', oid: 1.3.6.1, type: {kind}}}\n")
    };
    for (name, kind) in [
        ("a", "gauge"),
        ("_x:y", "counter"),
        ("bytes_total", "gauge"),
        ("v", "info"),
    ] {
        check(&[("m.yml", &module(name, kind))], &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, kind, why) in [
        ("1a", "gauge", "invalid metric name"),
        ("a-b", "gauge", "invalid metric name"),
        ("bytes_total", "counter", "must not end in `_total`"),
        ("ifHCInOctets", "gauge", "built-in"),
        ("sysUpTime", "counter", "built-in"),
        ("snmp_up", "gauge", "reserved"),
        ("octopoll_x", "gauge", "reserved"),
    ] {
        one_error(
            check(&[("m.yml", &module(name, kind))], &[]),
            &["m.yml:3: modules.m[0].name: ", why],
        );
    }
    one_error(
        check(&[("m.yml", &module("a", "histogram"))], &[]),
        &["modules.m[0].type: unknown type `histogram`"],
    );
    one_error(
        check(&[("m.yml", "modules:\n  m:\n    - {name: a, oid: 1.3, type: gauge}\n    - {name: a, oid: 1.4, type: gauge}\n")], &[]),
        &["m.yml:4: modules.m[1].name: metric `a` is already defined at m.yml:3"],
    );
    // Collisions between a device's modules and its own oids.
    let text = format!(
        "{V2}modules:\n  m1: [{{name: a, oid: 1.3, type: gauge}}]\n  m2: [{{name: a, oid: 1.4, type: gauge}}]\n\
         devices:\n  - name: d\n    address: h\n    modules: [m1]\n    oids:\n      - {{name: a, oid: 1.5, type: gauge}}\n\
         \x20 - name: e\n    address: h\n    modules: [m1, m2]\n"
    );
    let errs = errors_of(check(&[("c.yml", &text)], &[]));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(errs[0].starts_with("c.yml:13: devices[0].oids[0].name: metric `a` is defined by both module `m1` and `device:d`"), "{}", errs[0]);
    assert!(
        errs[1].starts_with(
            "c.yml:16: devices[1].modules: metric `a` is defined by both module `m1` and `m2`"
        ),
        "{}",
        errs[1]
    );
    one_error(
        check(
            &[(
                "m.yml",
                "modules:\n  m:\n    - {name: a, oid: '', type: gauge}\n",
            )],
            &[],
        ),
        &["modules.m[0].oid: invalid OID ``: empty OID"],
    );
}

#[test]
fn auth_versions_and_fields() {
    for v in ["1", "'1'", "2c", "\"2c\"", "2C"] {
        let t = format!("auths:\n  a: {{version: {v}, community: c}}\n");
        check(&[("a.yml", &t)], &[]).unwrap_or_else(|e| panic!("{v}: {e}"));
    }
    for v in ["3", "\"3\""] {
        let t =
            format!("auths:\n  a: {{version: {v}, username: u, security_level: noAuthNoPriv}}\n");
        check(&[("a.yml", &t)], &[]).unwrap_or_else(|e| panic!("{v}: {e}"));
    }
    let v3 = |extra: &str| format!("auths:\n  a:\n    version: 3\n    username: u\n{extra}");
    let full = "    security_level: authPriv\n    auth_protocol: md5\n    auth_password: 12345678\n    priv_protocol: aes128\n    priv_password: abcdefgh\n";
    check(&[("a.yml", &v3(full))], &[]).expect("authPriv complete");
    let cases: &[(&str, &[&str])] = &[
        ("    security_level: authNoPriv\n    auth_protocol: SHA\n    auth_password: 12345678\n    priv_password: abcdefgh\n",
         &["a.yml:8: auths.a.priv_password: `priv_password` is not used with security_level authNoPriv"]),
        ("    security_level: authNoPriv\n    auth_protocol: SHA\n",
         &["a.yml:2: auths.a: missing required key `auth_password` or `auth_password_file`"]),
        ("    security_level: authPriv\n    auth_protocol: SHA\n    auth_password: 12345678\n    priv_password: abcdefgh\n",
         &["auths.a: missing required key `priv_protocol`"]),
        ("    security_level: noAuthNoPriv\n    community: c\n", &["a.yml:6: auths.a.community: `community` is only for version 1 and 2c"]),
        ("    security_level: sometimes\n", &["auths.a.security_level: unknown security_level"]),
        ("    security_level: authNoPriv\n    auth_protocol: SHA1\n    auth_password: 12345678\n", &["auths.a.auth_protocol: unknown auth_protocol `SHA1`"]),
        ("    security_level: authNoPriv\n    auth_protocol: SHA\n    auth_password: 12345678\n    auth_password_file: /x\n",
         &["auths.a.auth_password_file: give either `auth_password` or `auth_password_file`, not both"]),
    ];
    for (extra, frags) in cases {
        one_error(check(&[("a.yml", &v3(extra))], &[]), frags);
    }
    one_error(
        check(
            &[(
                "a.yml",
                "auths:\n  a: {version: 2c, community: c, username: u}\n",
            )],
            &[],
        ),
        &["auths.a.username: `username` is only for version 3"],
    );
    one_error(
        check(&[("a.yml", "auths:\n  a: {version: 2c}\n")], &[]),
        &["a.yml:2: auths.a: missing required key `community`"],
    );
    one_error(
        check(&[("a.yml", "auths:\n  a: {community: c}\n")], &[]),
        &["missing required key `version`"],
    );
    one_error(
        check(
            &[("a.yml", "auths:\n  a:\n    version: 2\n    community: c\n")],
            &[],
        ),
        &["a.yml:3: auths.a.version: unknown version `2`, expected 1, 2c or 3"],
    );
}

#[test]
fn secrets_from_env_and_files() {
    let t = "auths:\n  a: {version: 2c, community: 'pre-${COMM}-post'}\n  b:\n    version: 3\n    username: u\n    security_level: authNoPriv\n    auth_protocol: SHA\n    auth_password: ${PASS}\n\
             devices:\n  - {name: d, address: h, auth: a}\n  - {name: e, address: h, auth: b}\n";
    let c = check(&[("s.yml", t)], &[("COMM", "xyz"), ("PASS", "long-enough")]).expect("valid");
    let AuthKind::V2c { community } = &c.devices[0].auth.kind else {
        panic!("v2c")
    };
    assert_eq!(community.expose(), "pre-xyz-post");
    // A missing variable names it but not the literal parts around it.
    let errs = errors_of(check(&[("s.yml", t)], &[("PASS", "long-enough")]));
    assert_eq!(
        errs,
        ["s.yml:2: auths.a.community: environment variable `COMM` is not set"]
    );
    one_error(
        check(&[("s.yml", t)], &[("COMM", "x"), ("PASS", "short")]),
        &["s.yml:8: auths.b.auth_password: ", "shorter than 8"],
    );
    one_error(
        check(
            &[("s.yml", "auths:\n  a: {version: 1, community: '${OOPS'}\n")],
            &[],
        ),
        &["auths.a.community: unterminated"],
    );

    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("comm"), "from-file\r\n").expect("write");
    let cfg = dir.path().join("c.yml");
    fs::write(&cfg, "auths:\n  a: {version: 1, community_file: comm}\ndevices:\n  - {name: d, address: h, auth: a}\n").expect("write");
    let c = load(&cfg).expect("valid");
    let AuthKind::V1 { community } = &c.devices[0].auth.kind else {
        panic!("v1")
    };
    assert_eq!(community.expose(), "from-file");
}

#[test]
fn render_hides_every_secret() {
    let t = "defaults: {auth: v2, interval: 1m}\nauths:\n  v2: {version: 2c, community: c0mmunity-SECRET}\n  v3:\n    version: 3\n    username: monitor\n    security_level: authPriv\n    auth_protocol: SHA512\n    auth_password: ${AUTH}\n    priv_protocol: AES192\n    priv_password: priv-SECRET-1\n    context_name: vrf1\n\
             modules:\n  ups: [{name: upsBatteryCapacity, oid: .1.3.6.1.2.1.33.1.2.4.0, type: gauge}]\n\
             devices:\n  - {name: d1, address: '10.0.0.1:1161', labels: {site: paris}}\n  - name: d2\n    address: h2\n    auth: v3\n    modules: [ups]\n    oids: [{name: x, oid: 1.3.6.1.9, type: counter, walk: true}]\n";
    let c = check(&[("r.yml", t)], &[("AUTH", "auth-SECRET-2")]).expect("valid");
    let out = render_redacted(&c);
    for secret in [
        "c0mmunity-SECRET",
        "auth-SECRET-2",
        "priv-SECRET-1",
        "SECRET",
    ] {
        assert!(!out.contains(secret), "secret {secret} leaked:\n{out}");
    }
    assert_eq!(out.matches("<secret>").count(), 3, "{out}");
    for expected in [
        "name: d1",
        "address: \"10.0.0.1:1161\"",
        "port: 1161",
        "interval: 1m",
        "timeout: 2s",
        "retries: 2",
        "max_repetitions: 25",
        "auth: v2",
        "site: paris",
        "origin: \"r.yml:16\"",
        "username: monitor",
        "security_level: authPriv",
        "auth_protocol: SHA512",
        "priv_protocol: AES192",
        "context_name: vrf1",
        "oid: 1.3.6.1.2.1.33.1.2.4.0",
        "device:d2",
        "type: counter",
        "walk: true",
        "help: SNMP OID 1.3.6.1.9",
        "if_mib: \"built in",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // It is valid YAML.
    let root = yaml::parse(&out)
        .expect("render is YAML")
        .root
        .expect("a document");
    let devices = root.get("devices").expect("devices");
    let yaml::Kind::Seq(devices) = &devices.kind else {
        panic!("devices is a list");
    };
    let modules: Vec<String> = yaml::from_node(devices[1].get("modules").unwrap(), "").unwrap();
    assert_eq!(modules[1], "device:d2");
}

#[test]
fn table_metrics_in_octopoll_format() {
    let ok = format!(
        "{V2}modules:\n  ent:\n    oids:\n      - name: entSensorValue\n        oid: 1.3.6.1.2.1.99.1.1.1.4\n        type: gauge\n        walk: true\n        indexes: [{{labelname: entPhysicalIndex, type: gauge}}]\n        lookups:\n          - {{labels: [entPhysicalIndex], labelname: entPhysicalName, oid: 1.3.6.1.2.1.47.1.1.1.1.7, type: DisplayString, drop_source_indexes: true}}\n        scale: 0.1\n      - {{name: entState, oid: 1.3.6.1.2.1.99.1.1.1.5, type: EnumAsStateSet, walk: true, enum_values: {{1: ok, 2: unavailable}}}}\n    filters:\n      - {{oid: 1.3.6.1.2.1.47.1.1.1.1.5, targets: [1.3.6.1.2.1.99.1.1.1.4], values: ['^8$']}}\ndevices:\n  - {{name: d, address: h, modules: [ent]}}\n"
    );
    let c = check(&[("m.yml", &ok)], &[]).expect("valid");
    let ModuleKind::Table(t) = &c.devices[0].modules[0].kind else {
        panic!("a table module");
    };
    let m = &t.metrics[0];
    assert_eq!(&*m.indexes[0].label, "entPhysicalIndex");
    // drop_source_indexes becomes the label-deleting lookup snmp_exporter generates.
    assert_eq!(m.lookups.len(), 2);
    assert!(m.lookups[1].labels.is_empty() && &*m.lookups[1].label == "entPhysicalIndex");
    assert_eq!(m.scale, Some(0.1));
    // Without indexes a walked metric keeps octopoll's `index` label.
    assert_eq!(&*t.metrics[1].indexes[0].label, "index");
    assert_eq!(t.filters.len(), 1);
    // Its fetch list follows from the metrics: both columns and the lookup column.
    assert_eq!(t.walk.len(), 3);

    let cases: &[(&str, &str)] = &[
        (
            "modules:\n  m:\n    - {name: a, oid: 1.3.6.1.9, type: gauge, walk: true,\n       indexes: [{labelname: i, type: Float}]}\n",
            "m.yml:8: modules.m[0].indexes[0].type: unknown index type `Float`",
        ),
        (
            "modules:\n  m:\n    - {name: a, oid: 1.3.6.1.9, type: gauge, walk: true,\n       lookups: [{labels: [nope], labelname: n, oid: 1.3.6.1.8}]}\n",
            "m.yml:8: modules.m[0].lookups[0].labels[0]: `nope` is not an index label",
        ),
        (
            "modules:\n  m:\n    - {name: a, oid: 1.3.6.1.9, type: ParseDateAndTime}\n",
            "m.yml:7: modules.m[0]: type ParseDateAndTime needs `datetime_pattern`",
        ),
        (
            "modules:\n  m:\n    - {name: a, oid: 1.3.6.1.9, type: gauge, indexes: [{labelname: i, type: gauge}]}\n",
            "m.yml:7: modules.m[0].indexes: `indexes` need `walk: true`",
        ),
        (
            "modules:\n  m:\n    - name: a\n      oid: 1.3.6.1.9\n      type: DisplayString\n      walk: true\n      regex_extracts: {x: [{regex: '(['}]}\n",
            "m.yml:11: modules.m[0].regex_extracts.x[0].regex: invalid regex `([`",
        ),
        (
            "modules:\n  m:\n    oids: [{name: a, oid: 1.3.6.1.9, type: gauge, walk: true}]\n    filters: [{oid: 1.3.6.1.8, values: [x]}]\n",
            "m.yml:8: modules.m.filters[0]: a filter needs `targets`",
        ),
        (
            "modules:\n  m:\n    - {name: a, oid: 1.3.6.1.9, type: gauge, walk: true, indexes: [{labelname: device, type: gauge}]}\n",
            "m.yml:7: modules.m[0].indexes[0].labelname: label `device` is reserved",
        ),
        (
            "modules:\n  m:\n    - {name: a, oid: 1.3.6.1.9, type: Fancy}\n",
            "m.yml:7: modules.m[0].type: unknown type `Fancy`",
        ),
    ];
    for (yaml, want) in cases {
        let text = format!("{V2}{yaml}devices:\n  - {{name: d, address: h, modules: [m]}}\n");
        one_error(check(&[("m.yml", &text)], &[]), &[want]);
    }
}

/// A config file and module files in a temporary directory.
fn with_files(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        fs::write(dir.path().join(name), text).expect("write");
    }
    let cfg = dir.path().join(files[0].0);
    (dir, cfg)
}

const EXPORTER_A: &str = "modules:\n  if_mib:\n    walk: [1.3.6.1.2.1.2]\n    metrics:\n    - {name: ifHCInOctets, oid: 1.3.6.1.2.1.31.1.1.1.6, type: counter, help: x, indexes: [{labelname: ifIndex, type: gauge}]}\n  cpu:\n    walk: [1.3.6.1.4.1.9.9.109]\n    metrics:\n    - {name: cpu, oid: 1.3.6.1.4.1.9.9.109.1.1.1.1.8, type: gauge, help: x}\n";

#[test]
fn module_files_names_and_clashes() {
    let old_b = "cpu:\n  version: 2\n  auth: {community: public}\n  walk: [1.3.6.1.9]\n  metrics:\n  - {name: other, oid: 1.3.6.1.9.1, type: gauge, help: x}\n";
    let cfg = format!(
        "module_files: [a.yml, b.yml]\n{V2}devices:\n  - {{name: d1, address: h, modules: [if_mib, 'a:cpu', 'b:cpu']}}\n"
    );
    let (_dir, path) = with_files(&[
        ("octopoll.yml", &cfg),
        ("a.yml", EXPORTER_A),
        ("b.yml", old_b),
    ]);
    let c = load(&path).expect("valid");
    let names: Vec<&str> = c.devices[0]
        .modules
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    // Plain `if_mib` is the built-in one; the file's stays reachable qualified.
    assert_eq!(names, ["if_mib", "a:cpu", "b:cpu"]);
    assert!(matches!(c.devices[0].modules[0].kind, ModuleKind::IfMib));
    assert_eq!(c.module_files.len(), 2);
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("`if_mib` is available as `a:if_mib`")),
        "{:?}",
        c.notes
    );
    assert!(c
        .notes
        .iter()
        .any(|n| n.contains("b.yml: the modules' `version` and `auth` are not used")));

    // `cpu` is in both files: the plain name is ambiguous.
    let cfg = format!("module_files: [a.yml, b.yml]\n{V2}devices:\n  - {{name: d1, address: h, modules: [cpu]}}\n");
    let (_dir, path) = with_files(&[
        ("octopoll.yml", &cfg),
        ("a.yml", EXPORTER_A),
        ("b.yml", old_b),
    ]);
    one_error(load(&path), &["octopoll.yml:7: devices[0].modules[0]: module `cpu` is defined by several module files; name one of a:cpu, b:cpu"]);

    // The built-in if_mib counter and the file's on two devices: one /metrics, two types.
    let cfg = format!("module_files: [a.yml]\n{V2}devices:\n  - {{name: d1, address: h}}\n  - {{name: d2, address: h, modules: ['a:if_mib']}}\n");
    let (_dir, path) = with_files(&[("octopoll.yml", &cfg), ("a.yml", EXPORTER_A)]);
    one_error(load(&path), &["octopoll.yml:8: devices[1].modules: metric `ifHCInOctets` would be an snmp_exporter-style counter"]);

    // Errors inside a module file name that file and its line.
    let bad = "modules:\n  m:\n    walk: [1.3.6.1.9]\n    metrics:\n    - {name: a, oid: 1.3.6.1.9.1, type: gauge, help: x, walk: true}\n";
    let cfg = format!(
        "module_files: [bad.yml, missing.yml]\n{V2}devices:\n  - {{name: d1, address: h}}\n"
    );
    let (_dir, path) = with_files(&[("octopoll.yml", &cfg), ("bad.yml", bad)]);
    let errs = errors_of(load(&path));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs[0].contains("bad.yml:5: modules.m.metrics[0].walk: `walk` is octopoll's key"),
        "{errs:#?}"
    );
    assert!(
        errs[1].contains("octopoll.yml:1: module_files[1]: cannot read module file"),
        "{errs:#?}"
    );

    // Two files with the same stem would share qualified names.
    let cfg =
        format!("module_files: [a.yml, sub/a.yml]\n{V2}devices:\n  - {{name: d1, address: h}}\n");
    let (dir, path) = with_files(&[("octopoll.yml", &cfg), ("a.yml", EXPORTER_A)]);
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub/a.yml"), EXPORTER_A).unwrap();
    one_error(
        load(&path),
        &["module_files[1]: another module file named `a`"],
    );
}

#[test]
fn module_rules_and_label_clashes() {
    let cfg = format!(
        "module_files: [a.yml]\n{V2}  module_rules:\n    - {{sys_object_id: 1.3.6.1.4.1.9., modules: ['a:cpu']}}\ndevices:\n  - {{name: d1, address: h}}\n  - {{name: d2, address: h, module_rules: []}}\n"
    );
    let (_dir, path) = with_files(&[("octopoll.yml", &cfg), ("a.yml", EXPORTER_A)]);
    let c = load(&path).expect("valid");
    let rule = &c.devices[0].module_rules[0];
    let cisco: crate::snmp::Oid = "1.3.6.1.4.1.9.1.516".parse().unwrap();
    let other: crate::snmp::Oid = "1.3.6.1.4.1.99.1".parse().unwrap();
    assert!(rule.matches(Some(&cisco), ""));
    assert!(
        !rule.matches(Some(&other), ""),
        "a prefix is matched arc by arc"
    );
    assert!(
        c.devices[1].module_rules.is_empty(),
        "a device's own rules replace the defaults'"
    );

    let cases: &[(&str, &str)] = &[
        (
            "  module_rules:\n    - {modules: [if_mib]}\n",
            "a module rule needs `sys_object_id` (a prefix) or `sys_descr`",
        ),
        (
            "  module_rules:\n    - {sys_object_id: 1.3.x, modules: [if_mib]}\n",
            "defaults.module_rules[0].sys_object_id: invalid sysObjectID prefix",
        ),
        (
            "  module_rules:\n    - {sys_descr: '(', modules: [if_mib]}\n",
            "defaults.module_rules[0].sys_descr: invalid regex",
        ),
        (
            "  module_rules:\n    - {sys_descr: IOS, modules: [nope]}\n",
            "defaults.module_rules[0].modules[0]: unknown module `nope`",
        ),
    ];
    for (rules, want) in cases {
        let text = format!("{V2}{rules}devices:\n  - {{name: d, address: h}}\n");
        one_error(check(&[("r.yml", &text)], &[]), &[want]);
    }

    // A device label that a module's series carry too.
    let cfg = format!(
        "module_files: [a.yml]\n{V2}devices:\n  - {{name: d1, address: h, modules: ['a:if_mib'], labels: {{ifIndex: x}}}}\n"
    );
    let (_dir, path) = with_files(&[("octopoll.yml", &cfg), ("a.yml", EXPORTER_A)]);
    let errs = errors_of(load(&path));
    assert!(
        errs.iter().any(|e| e.contains("devices[0].labels.ifIndex")),
        "{errs:#?}"
    );
}

#[test]
fn secrets_checked_without_resolving() {
    let text = "auths:\n  v3: {version: 3, username: u, security_level: authPriv, auth_protocol: SHA,\n       auth_password: '${AUTH}', priv_protocol: AES, priv_password_file: /run/secrets/nope}\n  bad: {version: 2c, community: '${not valid}'}\ndevices:\n  - {name: d, address: h, auth: v3}\n";
    let (_dir, path) = with_files(&[("c.yml", text)]);
    // Resolving: the variable and the file are missing, and the reference is malformed.
    let errs = errors_of(load(&path));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    // Checking only: the well-formed references pass, the malformed one does not.
    let errs = errors_of(load_with(
        &path,
        LoadOptions {
            unresolved_secrets: true,
        },
    ));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].contains("c.yml:4: auths.bad.community: invalid `${...}` reference"),
        "{errs:#?}"
    );
}
