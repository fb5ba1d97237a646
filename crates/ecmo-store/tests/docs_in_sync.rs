//! docs/data-format.md must describe every code and column the importer accepts.

use ecmo_domain::{Drug, Etiology, EventKind, Quantity, SupportKind};
use ecmo_store::csv_format as f;

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/data-format.md")).unwrap()
}

#[test]
fn every_code_is_documented() {
    let d = doc();
    let mut missing = Vec::new();
    let codes = Quantity::ALL
        .iter()
        .map(|q| q.code().to_string())
        .chain(Drug::ALL.iter().map(|x| x.code().to_string()))
        .chain(EventKind::ALL.iter().map(|x| x.code().to_string()))
        .chain(SupportKind::ALL.iter().map(|x| x.code().to_string()))
        .chain(Etiology::ALL.iter().map(|x| x.code().to_string()));
    for c in codes {
        if !d.contains(&format!("`{c}`")) {
            missing.push(c);
        }
    }
    assert!(missing.is_empty(), "not in docs/data-format.md: {missing:?}");
}

#[test]
fn every_column_is_documented() {
    let d = doc();
    for cols in [
        f::PATIENT_COLUMNS,
        f::RUN_COLUMNS,
        f::OBSERVATION_COLUMNS,
        f::INFUSION_COLUMNS,
        f::SUPPORT_COLUMNS,
        f::EVENT_COLUMNS,
    ] {
        for (c, _) in cols {
            assert!(d.contains(&format!("| `{c}` |")) || d.contains(&format!("`{c}`")), "column {c} undocumented");
        }
    }
}
