//! References to the raw records behind a finding, in the shape ecmo-scores uses.

use ecmo_domain::{Event, Observation, Quantity, SupportPeriod, Timestamp, Unit};
use ecmo_scores::series::RawRef;

pub(crate) fn obs_ref(o: &Observation, t0: Timestamp) -> RawRef {
    RawRef::obs(o, t0)
}

/// A reference of another kind, built from an observation reference so that
/// fields ecmo-scores adds later keep their defaults.
fn other(kind: &'static str, code: String, time: Timestamp, t0: Timestamp, source: Option<String>) -> RawRef {
    let o = Observation {
        time,
        start: None,
        quantity: Quantity::Map,
        value: 0.0,
        entered_value: 0.0,
        entered_unit: Unit::Dimensionless,
        source,
    };
    let mut r = RawRef::obs(&o, t0);
    r.kind = kind;
    r.code = code;
    r.unit = String::new();
    r
}

pub(crate) fn event_ref(e: &Event, t0: Timestamp) -> RawRef {
    let code = match &e.detail {
        Some(d) => format!("{}: {d}", e.kind.code()),
        None => e.kind.code().to_string(),
    };
    let mut r = other("event", code, e.time, t0, e.source.clone());
    r.value = e.value.unwrap_or(0.0);
    r
}

pub(crate) fn support_ref(s: &SupportPeriod, t0: Timestamp) -> RawRef {
    let code = match s.stop {
        Some(stop) => format!("{} until {stop}", s.kind.code()),
        None => format!("{} (running)", s.kind.code()),
    };
    let mut r = other("support", code, s.start, t0, s.source.clone());
    r.value = 1.0;
    r
}
