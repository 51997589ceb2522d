//! Table modules in octopoll's own format and modules chosen by what a device is, end to
//! end: recordings of a real Cisco and HP switch served by octopoll's simulator, and
//! net-snmp's snmpd.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{wait_for, Octopoll, Simulator, Snmpd, Snmpsim};

const SNMPSIM_DATA: &str = "/usr/share/doc/snmpsim/examples/data";

/// The sample lines of a device's `/probe` once it was polled, without octopoll's own.
fn probe(o: &Octopoll, device: &str) -> Vec<String> {
    let body = wait_for(Duration::from_secs(20), || {
        let (status, body) = o.get(&format!("/probe?device={device}"));
        (status == 200).then_some(body)
    })
    .unwrap_or_else(|| panic!("{device} not polled; log:\n{}", o.log()));
    assert!(
        body.contains(&format!("snmp_device_up{{device=\"{device}\"}} 1")),
        "{device} down:\n{body}"
    );
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("snmp_"))
        .map(str::to_string)
        .collect()
}

const MODULES: &str = r#"
modules:
  cisco_cpu:
    - name: cpmCPUTotal5minRev
      oid: 1.3.6.1.4.1.9.9.109.1.1.1.1.8
      type: gauge
      walk: true
      indexes: [{labelname: cpmCPUTotalIndex, type: gauge}]
      lookups:
        - {labels: [cpmCPUTotalIndex], labelname: cpmCPUTotalPhysicalIndex,
           oid: 1.3.6.1.4.1.9.9.109.1.1.1.1.2, type: gauge}
        - {labels: [cpmCPUTotalPhysicalIndex], labelname: entPhysicalName,
           oid: 1.3.6.1.2.1.47.1.1.1.1.7, type: DisplayString, drop_source_indexes: true}
  entity:
    - {name: entPhysicalClass, oid: 1.3.6.1.2.1.47.1.1.1.1.5, type: EnumAsInfo, walk: true,
       indexes: [{labelname: entPhysicalIndex, type: gauge}],
       lookups: [{labels: [entPhysicalIndex], labelname: entPhysicalName,
                  oid: 1.3.6.1.2.1.47.1.1.1.1.7, type: DisplayString}],
       enum_values: {3: chassis, 6: powerSupply, 7: fan, 9: module, 10: port}}
  fdb:
    - {name: dot1dTpFdbPort, oid: 1.3.6.1.2.1.17.4.3.1.2, type: gauge, walk: true,
       indexes: [{labelname: mac, type: PhysAddress48}]}
  never:
    - {name: neverSeen, oid: 1.3.6.1.2.1.1.3.0, type: gauge}
  storage:
    oids:
      - {name: hrStorageUsed, oid: 1.3.6.1.2.1.25.2.3.1.6, type: gauge, walk: true,
         indexes: [{labelname: hrStorageIndex, type: gauge}],
         lookups: [{labels: [hrStorageIndex], labelname: hrStorageDescr,
                    oid: 1.3.6.1.2.1.25.2.3.1.3, type: DisplayString}]}
    # Only the storages whose description starts with "Physical" or "Virtual".
    filters:
      - {oid: 1.3.6.1.2.1.25.2.3.1.3, targets: [1.3.6.1.2.1.25.2.3.1.6],
         values: ['^(Physical|Virtual)']}
"#;

#[test]
fn modules_chosen_by_what_the_device_says_it_is() {
    let dir = tempfile::tempdir().unwrap();
    // The Cisco recording through octopoll's simulator; the HP one through snmpsim, which
    // serves its malformed rows (an INTEGER holding "Fa3/0/1") as it can, where octopoll's
    // simulator refuses the file and names the line.
    let cisco_rec = dir.path().join("cisco_16_switch.snmprec");
    let gz = Path::new(SNMPSIM_DATA).join("cisco_16_switch.snmprec.gz");
    if common::tool(gz.to_str().unwrap()).is_none() {
        return;
    }
    let out = Command::new("gzip").arg("-dc").arg(&gz).output().unwrap();
    std::fs::write(&cisco_rec, out.stdout).unwrap();
    let sim = Simulator::start(&[cisco_rec]);
    let Some(hp) = Snmpsim::start(&Path::new(SNMPSIM_DATA).join("hp_perf.snmprec.gz")) else {
        return;
    };
    let Some(snmpd) = Snmpd::start("") else {
        return;
    };
    hp.wait();
    let (cisco_port, hp_port) = (sim.ports["cisco_16_switch"], hp.port);
    let cfg = dir.path().join("octopoll.yml");
    std::fs::write(
        &cfg,
        format!(
            "auths:\n  v2: {{version: 2c, community: public}}\n\
             defaults:\n  auth: v2\n  interval: 3s\n  timeout: 1s\n  retries: 1\n  modules: []\n\
             \x20 module_rules:\n\
             \x20   - {{sys_object_id: 1.3.6.1.4.1.9., modules: [cisco_cpu, entity]}}\n\
             \x20   - {{sys_object_id: 1.3.6.1.4.1.11., sys_descr: ProCurve, modules: [fdb]}}\n\
             \x20   - {{sys_object_id: 1.3.6.1.4.1.11., sys_descr: Nope, modules: [never]}}\n\
             \x20   - {{sys_object_id: 1.3.6.1.4.1.8072, modules: [storage]}}\n\
             {MODULES}devices:\n\
             \x20 - {{name: cisco, address: \"127.0.0.1:{}\"}}\n\
             \x20 - {{name: hp, address: \"127.0.0.1:{}\"}}\n\
             \x20 - {{name: linux, address: \"127.0.0.1:{}\"}}\n\
             \x20 - {{name: ruleless, address: \"127.0.0.1:{}\", modules: [fdb], module_rules: []}}\n",
            cisco_port, hp_port, snmpd.port, hp_port
        ),
    )
    .unwrap();
    let o = Octopoll::start(&cfg, &[]);

    let cisco = probe(&o, "cisco");
    // The chained lookup (CPU → its entity → the entity's name; this recording's CPU names
    // entity 0, which has no name) drops the entity index it went through.
    assert!(
        cisco.iter().any(|l| l.starts_with("cpmCPUTotal5minRev{")
            && l.contains("cpmCPUTotalIndex=\"1\"")
            && !l.contains("cpmCPUTotalPhysicalIndex")),
        "{cisco:#?}"
    );
    assert!(
        cisco.iter().any(|l| l.starts_with("entPhysicalClass_info{")
            && l.contains("entPhysicalClass=\"chassis\"")),
        "{cisco:#?}"
    );
    assert!(!cisco.iter().any(|l| l.starts_with("dot1dTpFdbPort")));

    let hp = probe(&o, "hp");
    // 11.22.33.44.55.66 as a MAC address, learned on port 1.
    assert!(
        hp.contains(&"dot1dTpFdbPort{device=\"hp\",mac=\"0B:16:21:2C:37:42\"} 1.0".to_string()),
        "{hp:#?}"
    );
    assert!(!hp.iter().any(|l| l.starts_with("neverSeen")), "{hp:#?}");
    assert!(!hp.iter().any(|l| l.starts_with("cpm")));

    let linux = probe(&o, "linux");
    let storage: Vec<&String> = linux
        .iter()
        .filter(|l| l.starts_with("hrStorageUsed{"))
        .collect();
    assert!(!storage.is_empty(), "{linux:#?}");
    assert!(
        storage
            .iter()
            .all(|l| l.contains("hrStorageDescr=\"Physical")
                || l.contains("hrStorageDescr=\"Virtual")),
        "the filter keeps the named storages only: {storage:#?}"
    );

    // A device's own (empty) rules replace the defaults': only its listed module.
    let ruleless = probe(&o, "ruleless");
    assert!(
        ruleless.iter().all(|l| l.starts_with("dot1dTpFdb")),
        "{ruleless:#?}"
    );
}
