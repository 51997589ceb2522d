//! Counting what async-snmp's receiver drops without a counter of its own.
//!
//! The receiver counts USM failures (wrong digest, unknown user, ...) but a datagram that
//! does not decode (garbage, a truncated or oversized packet, an SNMPv3 message whose
//! privacy password is wrong, which decrypts to noise) or an inform localised to another
//! engine is only reported as a `tracing` event before it is skipped. The receive loop
//! polls the receiver under this subscriber, which turns those events into drop reasons.
//! Nothing else is seen by it: the receiver logs nothing octopoll needs (and async-snmp's
//! logs are off in the binary).

use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use super::policy::DropReason;
use super::stats::TrapMetrics;

/// The receiver's events that mean "a datagram was dropped".
const PARSE_FAILED: &str = "failed to parse notification";
const FOREIGN_ENGINE: &str = "dropped v3 Inform localized to a foreign authoritative engine ID";
/// Parse failures that are USM authentication failures, already counted by the receiver.
const AUTH_FAILED: &str = "authentication failed";

/// A subscriber that counts the receiver's drop events into [`TrapMetrics`].
pub struct DropEvents(pub Arc<TrapMetrics>);

#[derive(Default)]
struct Fields {
    message: String,
    error: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_string(),
            "error" => self.error = value.to_string(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "error" => self.error = format!("{value:?}"),
            _ => {}
        }
    }
}

/// The drop reason of one receiver event, from its message and `error` field.
pub fn reason(message: &str, error: &str) -> Option<DropReason> {
    if message == FOREIGN_ENGINE {
        Some(DropReason::ForeignEngine)
    } else if message == PARSE_FAILED && !error.starts_with(AUTH_FAILED) {
        Some(DropReason::Malformed)
    } else {
        None
    }
}

impl Subscriber for DropEvents {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event()
            && *metadata.level() <= Level::WARN
            && metadata.target() == "async_snmp::notification"
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Spans are never enabled; an id is still required.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        if let Some(r) = reason(&f.message, &f.error) {
            self.0.dropped(r);
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_of_receiver_events() {
        for (message, error, want) in [
            (
                PARSE_FAILED,
                "decode error at offset 2: unexpected tag",
                Some(DropReason::Malformed),
            ),
            (
                PARSE_FAILED,
                "authentication failed for 127.0.0.1:5000",
                None,
            ),
            (FOREIGN_ENGINE, "", Some(DropReason::ForeignEngine)),
            ("USM processing failed for inbound message", "", None),
            ("sent Inform response", "", None),
        ] {
            assert_eq!(reason(message, error), want, "{message} {error}");
        }
    }

    #[tokio::test]
    async fn counts_events_seen_while_polling_under_it() {
        use tracing::instrument::WithSubscriber;
        let m = Arc::new(TrapMetrics::default());
        async {
            tracing::warn!(target: "async_snmp::notification", error = "decode error", "failed to parse notification");
            tracing::warn!(target: "async_snmp::notification", error = "authentication failed for x", "failed to parse notification");
            tracing::warn!(target: "other", error = "decode error", "failed to parse notification");
        }
        .with_subscriber(DropEvents(m.clone()))
        .await;
        assert_eq!(m.dropped_count(DropReason::Malformed), 1);
    }
}
