//! `octopoll check` on broken and valid configs: exit code, `file:line: key` on stderr, and
//! the summary line on stdout. The same fixtures are checked against `config::load` by the
//! unit tests in `src/config/load.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

fn check(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_octopoll"))
        .arg("check")
        .arg(path)
        // The missing-variable fixture relies on this one being unset.
        .env_remove("OCTOPOLL_TEST_UNSET_COMMUNITY")
        .output()
        .expect("run octopoll check")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One broken config per error class: fixture, the `file:line: key` expected on stderr
/// (lines checked by hand against the fixtures), and a fragment of the message.
const BAD: &[(&str, &str, &str)] = &[
    (
        "unknown_key.yml",
        "unknown_key.yml:8: devices[0].intervall: ",
        "unknown field `intervall`",
    ),
    (
        "dup_device.yml",
        "dup_device.yml:9: devices[1].name: ",
        "dup_device.yml:7",
    ),
    ("dup_across", "b.yml:5: devices[1].name: ", "a.yml:7"),
    (
        "dangling_auth.yml",
        "dangling_auth.yml:7: devices[0].auth: ",
        "unknown auth `v3_core`",
    ),
    (
        "dangling_module.yml",
        "dangling_module.yml:10: devices[0].modules[1]: ",
        "unknown module `cisco_cpu`",
    ),
    (
        "bad_oid.yml",
        "bad_oid.yml:5: modules.ups[0].oid: ",
        "invalid OID",
    ),
    (
        "bad_duration.yml",
        "bad_duration.yml:3: defaults.interval: ",
        "invalid duration",
    ),
    (
        "poll_outlives.yml",
        "poll_outlives.yml:9: devices[0].timeout: ",
        "a poll could outlive its interval",
    ),
    (
        "bad_metric_name.yml",
        "bad_metric_name.yml:4: modules.ups[0].name: ",
        "invalid metric name",
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
        "OCTOPOLL_TEST_UNSET_COMMUNITY",
    ),
    (
        "missing_file.yml",
        "missing_file.yml:10: auths.v3.priv_password_file: ",
        "no/such/secret",
    ),
    (
        "short_password.yml",
        "short_password.yml:8: auths.v3.auth_password: ",
        "shorter than 8",
    ),
    ("syntax.yml", "syntax.yml:5: ", "invalid YAML"),
    (
        "wrong_type.yml",
        "wrong_type.yml:8: devices[0].retries: ",
        "invalid type",
    ),
    (
        "bad_port.yml",
        "bad_port.yml:6: devices[0].address: ",
        "port must be 1 to 65535",
    ),
];

#[test]
fn bad_configs_exit_1_naming_file_line_key() {
    let mut failures = Vec::new();
    for (fixture, place, message) in BAD {
        let out = check(&fixtures().join("bad").join(fixture));
        let stderr = text(&out.stderr);
        let line = stderr.lines().find(|l| l.contains(place));
        if out.status.code() != Some(1) {
            failures.push(format!("{fixture}: exit {:?}, want 1", out.status.code()));
        } else if !line.is_some_and(|l| l.contains(message)) {
            failures.push(format!(
                "{fixture}: no stderr line with {place:?} and {message:?}:\n{stderr}"
            ));
        }
        assert!(
            out.stdout.is_empty() || !text(&out.stdout).starts_with("ok:"),
            "{fixture}: reported ok"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn secrets_never_reach_stderr() {
    // short_password's value is "short"; the message may say the password is short, but
    // must not quote it.
    let out = check(&fixtures().join("bad/short_password.yml"));
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("`short`") && !stderr.contains("\"short\""),
        "{stderr}"
    );
}

#[test]
fn empty_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no *.yml or *.yaml files"));
}

/// The summary is `ok: N devices, M auths, K modules from F files`; how auths and modules
/// are counted is the binary's choice, so only the device and file counts are pinned.
fn assert_ok(path: &Path, devices: usize, files: usize) {
    let out = check(path);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: stderr:\n{}",
        path.display(),
        text(&out.stderr)
    );
    let line = stdout.lines().next().unwrap_or_default();
    assert!(
        line.starts_with(&format!("ok: {devices} devices, ")),
        "{line:?}"
    );
    // "from 1 files" is what the summary format gives; accept the singular too.
    let tail = [
        format!(" from {files} files"),
        format!(" from {files} file"),
    ]
    .into_iter()
    .find(|t| line.ends_with(t.as_str()));
    assert!(tail.is_some(), "{line:?}");
    let middle = line
        .trim_start_matches(&format!("ok: {devices} devices, "))
        .trim_end_matches(tail.as_deref().unwrap_or_default());
    let words: Vec<&str> = middle.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    assert!(
        matches!(words.as_slice(), [m, "auths", k, "modules"]
            if m.parse::<usize>().is_ok() && k.parse::<usize>().is_ok()),
        "{line:?}"
    );
}

#[test]
fn good_file_is_ok() {
    assert_ok(&fixtures().join("good/single.yml"), 2, 1);
}

#[test]
fn good_directory_is_ok() {
    // 00-common.yml, site-a/devices.yml, site-b/devices.yml, site-b/empty.yml; the hidden
    // file, the `~` and `.swp` leftovers and README.txt are skipped.
    assert_ok(&fixtures().join("good/dir"), 3, 4);
}

/// A config repository's CI has no secrets: `--no-secrets` checks the references only.
#[test]
fn config_repo_checks_without_its_secrets() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config-repo");
    let run = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_octopoll"));
        cmd.arg("check").args(extra).arg(&repo);
        for (k, _) in std::env::vars() {
            if k.starts_with("SNMP_") {
                cmd.env_remove(k);
            }
        }
        cmd.output().unwrap()
    };
    let without = run(&[]);
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(!without.status.success());
    assert!(stderr.contains("environment variable `SNMP_"), "{stderr}");
    let with = run(&["--no-secrets"]);
    let stdout = String::from_utf8_lossy(&with.stdout);
    assert!(
        with.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&with.stderr)
    );
    assert!(
        stdout.contains("references checked, not resolved"),
        "{stdout}"
    );
}
