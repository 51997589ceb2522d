//! The table engine: snmp_exporter's module semantics for every module, octopoll's own and
//! those read from `snmp.yml` files. It plans what a device's modules need (each OID once),
//! fetches it, and decodes varbinds into sample families. It knows nothing of HTTP or of
//! the exposition format.
//!
//! - [`model`]: the module model the config produces.
//! - [`plan`]: merging modules' needs into one set of walks and instances.
//! - [`fetched`]: the varbinds of a poll, by OID.
//! - [`fetch`]: running a plan against an SNMP session.
//! - [`decode`]: varbinds into families (indexes, lookups, enums, types).
//! - [`render`]: the pure index and value decoders.

pub mod builtin;
pub mod decode;
pub mod fetch;
pub mod fetched;
pub mod model;
pub mod plan;
pub mod render;

pub use decode::{Families, Family, Sample, Warnings};
pub use fetched::{Fetched, KeptWalks};
pub use model::*;
pub use plan::Plan;
