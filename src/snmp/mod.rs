//! SNMP: owned types and the client. No other module names `async_snmp`.

mod types;

pub use types::{Oid, OidError, Value};
