//! Metrics: pure SNMP→sample mapping, the collector over snapshots, octopoll's own metrics.

pub mod collector;
pub mod mapping;

pub use collector::{encode_devices, encode_self, ExporterState};
