//! A synthetic registry exported as a FHIR Bundle and imported again is the same registry,
//! on every backend (PostgreSQL too when ECMO_TEST_PG_URL is set).

use ecmo_domain::RunRecord;
use ecmo_fhir::export::{ExportOptions, write_bundle_of_runs, write_registry_bundle};
use ecmo_fhir::{import_bundle, import_bundle_from};
use ecmo_store::sqlite::SqliteStore;
use ecmo_store::testing::for_each_store;
use ecmo_store::{Store, StoreError, import_dir};
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;

fn export(store: &dyn Store, opts: &ExportOptions) -> Vec<u8> {
    let mut out = Vec::new();
    write_registry_bundle(store, opts, &mut out).unwrap();
    out
}

fn without_sources(mut r: RunRecord) -> RunRecord {
    r.observations.iter_mut().for_each(|o| o.source = None);
    r.infusions.iter_mut().for_each(|o| o.source = None);
    r.supports.iter_mut().for_each(|o| o.source = None);
    r.events.iter_mut().for_each(|o| o.source = None);
    r
}

#[test]
fn a_synthetic_registry_round_trips_through_a_bundle_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    ecmo_synth::write_registry(dir.path(), 15, 11, &ecmo_synth::Mix::default(), 2, &|_| {}).unwrap();
    let mut original = SqliteStore::in_memory().unwrap();
    assert!(import_dir(&mut original, dir.path(), false).unwrap().committed);
    let opts = ExportOptions { utc_offset: "+01:00".into() };
    let text = export(&original, &opts);
    let bundle: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(bundle["meta"]["tag"][0]["code"], "synthetic");
    for_each_store("fhir_round_trip", &mut |copy| {
        let out = import_bundle_from(copy, text.as_slice(), "registry.json", false).unwrap();
        assert!(out.invalid.is_empty(), "{:#?}", &out.invalid[..out.invalid.len().min(5)]);
        assert!(out.committed && out.synthetic);
        assert_eq!(copy.counts().unwrap(), original.counts().unwrap());
        assert_eq!(out.inserted, original.counts().unwrap());
        for s in original.run_summaries().unwrap() {
            let a = without_sources(original.load_run(&s.run_id).unwrap());
            let b = without_sources(copy.load_run(&s.run_id).unwrap());
            assert_eq!(a, b, "run {}", s.run_id);
        }
        // Export of the copy is the export of the original.
        assert_eq!(String::from_utf8(export(copy, &opts)).unwrap(), String::from_utf8(text.clone()).unwrap());
    });
}

#[test]
fn run_scores_export_as_observations_with_components() {
    let dir = tempfile::tempdir().unwrap();
    ecmo_synth::write_registry(dir.path(), 3, 4, &ecmo_synth::Mix::default(), 1, &|_| {}).unwrap();
    let mut s = SqliteStore::in_memory().unwrap();
    assert!(import_dir(&mut s, dir.path(), false).unwrap().committed);
    let id = s.run_summaries().unwrap()[0].run_id.clone();
    let rec = s.load_run(&id).unwrap();
    let scores = ecmo_scores::run_scores::run_scores(&rec, Some(24.0), &ecmo_scores::Options::default());
    let b = ecmo_fhir::export::scores_bundle(&rec, &scores, &ExportOptions::default());
    let entries = b["entry"].as_array().unwrap();
    let sofa = entries
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["code"]["coding"][0]["code"] == "sofa_first_24h")
        .expect("SOFA is exported");
    let comps = sofa["component"].as_array().unwrap();
    assert_eq!(comps.len(), scores.sofa_first_24h.components.len());
    let points: f64 = comps.iter().map(|c| c["valueQuantity"]["value"].as_f64().unwrap()).sum();
    match scores.sofa_first_24h.total {
        Some(t) => assert_eq!(sofa["valueQuantity"]["value"].as_f64(), Some(t)),
        None => assert!(sofa.get("dataAbsentReason").is_some()),
    }
    assert!(scores.sofa_first_24h.total.is_none_or(|t| (t - points).abs() < 1e-9));
    assert_eq!(sofa["encounter"]["reference"], format!("Encounter/{id}"));
    // Exported scores are skipped, not refused, when the Bundle comes back.
    let mut copy = SqliteStore::in_memory().unwrap();
    let mut whole: Value = serde_json::from_slice(&export(&s, &ExportOptions::default())).unwrap();
    whole["entry"].as_array_mut().unwrap().extend(entries.iter().cloned());
    let out = import_bundle(&mut copy, &whole.to_string(), "x", false).unwrap();
    assert!(out.invalid.is_empty() && out.committed, "{:#?}", out.invalid);
    assert_eq!(out.derived_skipped as usize, entries.len());
}

/// A writer whose bytes the test can read while the export is still running.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The scaling property of the registry export, without timing: every run's resources are
/// in the writer before the next run is read, so the exporter never holds more than one run
/// (an exporter that builds the Bundle, or buffers entries, fails here).
#[test]
fn the_registry_export_writes_each_run_before_it_reads_the_next() {
    let dir = tempfile::tempdir().unwrap();
    ecmo_synth::write_registry(dir.path(), 6, 8, &ecmo_synth::Mix::default(), 3, &|_| {}).unwrap();
    let mut store = SqliteStore::in_memory().unwrap();
    assert!(import_dir(&mut store, dir.path(), false).unwrap().committed);
    let written = Shared::default();
    let resources_written =
        || String::from_utf8_lossy(&written.0.borrow()).matches("\"resourceType\": ").count().saturating_sub(1);
    let mut expected = 0;
    let mut patients = std::collections::HashSet::new();
    let mut handed = 0;
    let mut source = |f: &mut dyn FnMut(RunRecord) -> Result<(), StoreError>| {
        store.for_each_run(&mut |rec| {
            assert_eq!(resources_written(), expected, "resources of the runs before run {handed} are written");
            if patients.insert(rec.patient.id.clone()) {
                expected += 2 + usize::from(rec.patient.height_cm.is_some());
            }
            expected += 2 + rec.observations.len() + rec.infusions.len() + rec.supports.len() + rec.events.len();
            handed += 1;
            f(rec)
        })
    };
    let summary = write_bundle_of_runs(&mut source, &ExportOptions::default(), written.clone()).unwrap();
    let runs = store.counts().unwrap().runs as usize;
    assert!(runs > 2);
    assert_eq!((handed, summary.runs, summary.resources), (runs, runs, expected));
    assert_eq!(resources_written(), expected);
    // What was streamed is one valid Bundle with every resource.
    let bundle: Value = serde_json::from_slice(&written.0.borrow()).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["entry"].as_array().unwrap().len(), expected);
}

/// A store error stops the export and is reported as itself.
#[test]
fn a_store_error_during_the_export_is_reported() {
    let mut source = |_: &mut dyn FnMut(RunRecord) -> Result<(), StoreError>| Err(StoreError::Corrupt("run R9".into()));
    let e = write_bundle_of_runs(&mut source, &ExportOptions::default(), Vec::new()).unwrap_err();
    assert_eq!(e.to_string(), "corrupt record in the database: run R9");
}
