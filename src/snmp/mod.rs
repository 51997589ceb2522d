//! SNMP: owned types, the client, and table walks. No other module names `async_snmp`.

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
    walk_columns, walk_columns_with, Learned, ReplyLimits, Requester, Walked,
    DEFAULT_MAX_ROWS_PER_COLUMN,
};
