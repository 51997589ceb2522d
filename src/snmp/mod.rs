//! SNMP: owned types, the client, and table walks. No other module names `async_snmp`
//! (the simulator, an agent, uses its message codec).
//!
//! - [`types`](Oid): owned OIDs and values, what the rest of octopoll speaks.
//! - [`walk`]: multi-column GETBULK walks, per-column row limits, learned reply sizes.
//! - [`ber`]: SNMPv1/v2c requests and replies encoded and decoded by octopoll itself.
//! - `client`: the engine (sockets, in-flight cap, counters) and per-device sessions;
//!   v1/v2c over `ber` and a socket pool (`udp`), SNMPv3 over async-snmp.

pub mod ber;
mod client;
mod error;
mod types;
mod udp;
pub mod walk;

pub use client::{decode_message, decode_with_async_snmp, Engine, Session, SnmpStats};
pub use error::SnmpError;
pub use types::{Oid, OidError, Value};
pub use walk::{
    walk_columns, walk_columns_with, Learned, ReplyLimits, Requester, VarbindSink, Walked,
    DEFAULT_MAX_ROWS_PER_COLUMN,
};
