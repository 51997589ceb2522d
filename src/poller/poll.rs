//! One poll of one device: the system group, the interface tables, user OIDs.

use std::sync::Arc;

use crate::config::{Device, ModuleKind, OidSpec};
use crate::metrics::mapping::{self, oids, Interface, OidSample, SystemInfo};
use crate::snmp::{walk_columns, walk_columns_with, Oid, Requester, Session, SnmpError, Value};

/// Rows one column may return before octopoll calls the table endless (per column).
pub const ROW_LIMIT: usize = crate::snmp::DEFAULT_MAX_ROWS_PER_COLUMN;
/// OIDs per GET PDU for user scalars.
const GET_BATCH: usize = 32;

/// What a successful poll read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollData {
    /// The system group (with `if_mib`).
    pub system: Option<SystemInfo>,
    /// Interfaces (with `if_mib`), sorted by ifIndex.
    pub interfaces: Vec<Interface>,
    /// User OID samples.
    pub oids: Vec<OidSample>,
    /// Things the agent did wrong that did not fail the poll.
    pub warnings: Vec<String>,
}

/// Polls `device` once through `session`.
pub async fn poll(session: &Session, device: &Device) -> Result<PollData, SnmpError> {
    let mut data = PollData::default();
    let mut scalars: Vec<Arc<OidSpec>> = Vec::new();
    let mut walks: Vec<Arc<OidSpec>> = Vec::new();
    let mut if_mib = false;
    for module in &device.modules {
        match &module.kind {
            ModuleKind::IfMib => if_mib = true,
            ModuleKind::Oids(specs) => {
                for s in specs {
                    let s = Arc::new(s.clone());
                    if s.walk {
                        walks.push(s)
                    } else {
                        scalars.push(s)
                    }
                }
            }
        }
    }

    if if_mib {
        // SNMPv2c/v3: the system group rides in the first GETBULK as non-repeaters (one
        // request fewer per poll: 3 instead of 4 for 55 interfaces); SNMPv1 has a GET.
        let v1 = session.is_v1();
        let system_scalars: &[Oid] = if v1 { &[] } else { oids::system_objects() };
        let walked = walk_columns_with(
            session,
            system_scalars,
            oids::if_columns(),
            device.max_repetitions,
            ROW_LIMIT,
        )
        .await?;
        let system = if v1 {
            get_tolerant(session, oids::system()).await?
        } else {
            walked.scalars
        };
        data.system = Some(SystemInfo::from_varbinds(&system));
        data.warnings.extend(walked.warnings);
        let mut ifaces = mapping::interfaces_from_columns(&walked.columns);
        if ifaces.iter().any(Interface::lacks_hc) {
            let walked = walk_columns(
                session,
                oids::if_counters32(),
                device.max_repetitions,
                ROW_LIMIT,
            )
            .await?;
            data.warnings.extend(walked.warnings);
            mapping::apply_counters32(&mut ifaces, &walked.columns);
        }
        data.interfaces = ifaces;
    }

    for chunk in scalars.chunks(GET_BATCH) {
        let request: Vec<Oid> = chunk.iter().map(|s| s.oid.clone()).collect();
        let vbs = get_tolerant(session, &request).await?;
        for spec in chunk {
            match vbs.iter().find(|(o, _)| *o == spec.oid) {
                Some((oid, value)) => match mapping::oid_sample(spec, oid, value) {
                    Some(s) => data.oids.push(s),
                    None => data.warnings.push(format!(
                        "{} ({}): no usable value ({value:?})",
                        spec.name, spec.oid
                    )),
                },
                None => data
                    .warnings
                    .push(format!("{} ({}): not returned", spec.name, spec.oid)),
            }
        }
    }

    if !walks.is_empty() {
        let columns: Vec<Oid> = walks.iter().map(|s| s.oid.clone()).collect();
        let walked = walk_columns(session, &columns, device.max_repetitions, ROW_LIMIT).await?;
        data.warnings.extend(walked.warnings);
        for (spec, rows) in walks.iter().zip(&walked.columns) {
            data.oids.extend(
                rows.iter()
                    .filter_map(|(o, v)| mapping::oid_sample(spec, o, v)),
            );
        }
    }
    Ok(data)
}

/// GET that survives SNMPv1's all-or-nothing noSuchName: the offending OID is dropped and
/// the rest asked again, so one missing object never hides the others.
async fn get_tolerant(session: &Session, oids: &[Oid]) -> Result<Vec<(Oid, Value)>, SnmpError> {
    let mut request = oids.to_vec();
    while !request.is_empty() {
        match session.get(&request).await {
            Ok(vbs) => return Ok(vbs),
            Err(SnmpError::NoSuchName { index })
                if session.is_v1() && index >= 1 && index as usize <= request.len() =>
            {
                request.remove(index as usize - 1);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Vec::new())
}
