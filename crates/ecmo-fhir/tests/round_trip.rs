//! A synthetic registry exported as a FHIR Bundle and imported again is the same registry,
//! on every backend (PostgreSQL too when ECMO_TEST_PG_URL is set).

use ecmo_domain::RunRecord;
use ecmo_fhir::export::{ExportOptions, registry_bundle};
use ecmo_fhir::import_bundle;
use ecmo_store::sqlite::SqliteStore;
use ecmo_store::testing::for_each_store;
use ecmo_store::{Store, import_dir};

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
    let bundle = registry_bundle(&original, &opts).unwrap();
    assert_eq!(bundle["meta"]["tag"][0]["code"], "synthetic");
    let text = serde_json::to_string(&bundle).unwrap();
    for_each_store("fhir_round_trip", &mut |copy| {
        let out = import_bundle(copy, &text, "registry.json", false).unwrap();
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
        assert_eq!(registry_bundle(copy, &opts).unwrap(), bundle);
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
    let mut whole = registry_bundle(&s, &ExportOptions::default()).unwrap();
    whole["entry"].as_array_mut().unwrap().extend(entries.iter().cloned());
    let out = import_bundle(&mut copy, &whole.to_string(), "x", false).unwrap();
    assert!(out.invalid.is_empty() && out.committed, "{:#?}", out.invalid);
    assert_eq!(out.derived_skipped as usize, entries.len());
}
