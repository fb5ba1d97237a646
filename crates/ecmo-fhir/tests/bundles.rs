//! Hand-written Bundles: every mapped resource, and every class of error reported against
//! its Bundle entry and element with nothing written.

use ecmo_domain::{Drug, EventKind, Quantity, SupportKind};
use ecmo_fhir::{BundleImport, import_bundle};
use ecmo_store::Store;
use ecmo_store::sqlite::SqliteStore;
use serde_json::{Value, json};

const VALID: &str = include_str!("bundles/valid.json");

fn bundle() -> Value {
    serde_json::from_str(VALID).unwrap()
}

/// The resource with this id, to change it for one error case.
fn resource<'a>(b: &'a mut Value, id: &str) -> &'a mut Value {
    b["entry"].as_array_mut().unwrap().iter_mut().map(|e| &mut e["resource"]).find(|r| r["id"] == id).unwrap()
}

fn entry_index(b: &Value, id: &str) -> usize {
    b["entry"].as_array().unwrap().iter().position(|e| e["resource"]["id"] == id).unwrap()
}

fn import(b: &Value) -> (BundleImport, SqliteStore) {
    let mut s = SqliteStore::in_memory().unwrap();
    let out = import_bundle(&mut s, &b.to_string(), "test.json", false).unwrap();
    (out, s)
}

#[test]
fn every_mapped_resource_is_imported_with_units_converted() {
    let (out, s) = import(&bundle());
    assert!(out.invalid.is_empty(), "{:#?}", out.invalid);
    assert!(out.committed);
    assert_eq!(out.derived_skipped, 1, "the derived SOFA Observation is not data");
    assert_eq!((out.inserted.patients, out.inserted.runs), (1, 1));
    assert_eq!(out.inserted.observations, 12);
    assert_eq!(out.inserted.infusions, 3);
    assert_eq!(out.inserted.supports, 3);
    assert_eq!(out.inserted.events, 2);
    let r = s.load_run("R1").unwrap();
    assert_eq!(r.patient.weight_kg, 70.0);
    assert_eq!(r.patient.height_cm, Some(165.0));
    assert_eq!(r.patient.birth_year, Some(1959));
    assert_eq!(r.patient.chronic.chronic_renal_failure, Some(true));
    assert_eq!(r.run.flow_start.to_string(), "2020-01-01T10:00", "wall-clock time, offset dropped");
    assert_eq!(r.run.decannulation.map(|t| t.to_string()).as_deref(), Some("2020-01-06T10:00"));
    assert_eq!(r.run.icu_admission.map(|t| t.to_string()).as_deref(), Some("2020-01-01T08:30"));
    assert!(r.run.arrest.ecpr);
    assert_eq!(r.run.arrest.low_flow_min, Some(48.0));
    let obs = |q: Quantity| r.observations.iter().find(|o| o.quantity == q).unwrap();
    assert!((obs(Quantity::Lactate).value - 73.9 / 9.008).abs() < 1e-9);
    assert!((obs(Quantity::Creatinine).value - 176.8 / 88.42).abs() < 1e-9);
    assert!((obs(Quantity::Bilirubin).value - 2.0).abs() < 1e-9);
    assert!((obs(Quantity::Pao2).value - 75.0062).abs() < 1e-9);
    assert_eq!(obs(Quantity::Fio2).value, 0.6);
    assert_eq!(obs(Quantity::Ph).value, 7.12);
    assert_eq!(obs(Quantity::Gcs).value, 5.0);
    assert_eq!(obs(Quantity::Nse).value, 48.0);
    assert_eq!(obs(Quantity::Platelets).value, 139.0);
    assert_eq!(obs(Quantity::PumpFlow).value, 3.8);
    let uo = obs(Quantity::UrineOutput);
    assert_eq!((uo.value, uo.start.map(|t| t.to_string())), (120.0, Some("2020-01-01T10:00".to_string())));
    assert_eq!(obs(Quantity::Map).source.as_deref(), Some("test.json#entry[6] Observation/map1"));
    let inf = |d: Drug| r.infusions.iter().find(|i| i.drug == d).unwrap();
    assert!((inf(Drug::Norepinephrine).rate - 16.0 / 70.0).abs() < 1e-12);
    assert!((inf(Drug::Dobutamine).rate - 5.0).abs() < 1e-12, "21 mL/h of 1 mg/mL at 70 kg");
    assert_eq!(inf(Drug::Vasopressin).rate, 0.04);
    let kinds: Vec<SupportKind> = r.supports.iter().map(|s| s.kind).collect();
    assert!(kinds.contains(&SupportKind::Crrt) && kinds.contains(&SupportKind::Iabp));
    assert!(kinds.contains(&SupportKind::MechanicalVentilation));
    let stroke = r.events.iter().find(|e| e.kind == EventKind::Stroke).unwrap();
    assert_eq!(stroke.detail.as_deref(), Some("CT: right MCA infarct"));
    assert!(r.events.iter().any(|e| e.kind == EventKind::VadImplant));
    // Importing the same Bundle again changes nothing.
    let mut s = s;
    let again = import_bundle(&mut s, VALID, "test.json", false).unwrap();
    assert!(again.committed && again.inserted.total() == 0, "{again:#?}");
}

/// Change the valid Bundle, import it, and return the issues; nothing may be written.
fn issues_after(change: impl FnOnce(&mut Value)) -> (Vec<ecmo_fhir::FhirIssue>, Value) {
    let mut b = bundle();
    change(&mut b);
    let (out, s) = import(&b);
    assert!(!out.committed);
    assert_eq!(s.counts().unwrap().total(), 0, "nothing may be written");
    (out.invalid, b)
}

fn only(issues: &[ecmo_fhir::FhirIssue]) -> &ecmo_fhir::FhirIssue {
    assert_eq!(issues.len(), 1, "{issues:#?}");
    &issues[0]
}

#[test]
fn an_unknown_code_is_reported_with_its_codings() {
    let (issues, b) = issues_after(|b| resource(b, "lac1")["code"]["coding"][1]["code"] = json!("0000-0"));
    let e = only(&issues);
    assert_eq!(
        (e.entry, e.resource.as_str(), e.path.as_str()),
        (Some(entry_index(&b, "lac1")), "Observation/lac1", "Observation.code")
    );
    assert!(e.reason.starts_with("unknown code"), "{}", e.reason);
    assert_eq!(e.value.as_deref(), Some("http://example.org/local|LAC, http://loinc.org|0000-0"));
}

#[test]
fn a_missing_unit_is_reported() {
    let (issues, _) = issues_after(|b| {
        let q = &mut resource(b, "lac1")["valueQuantity"];
        q.as_object_mut().unwrap().retain(|k, _| k == "value");
    });
    let e = only(&issues);
    assert_eq!((e.resource.as_str(), e.path.as_str()), ("Observation/lac1", "Observation.valueQuantity.code"));
    assert!(e.reason.contains("unit"), "{}", e.reason);
}

#[test]
fn a_unit_that_does_not_fit_the_quantity_is_refused() {
    let (issues, _) = issues_after(|b| resource(b, "lac1")["valueQuantity"]["code"] = json!("mm[Hg]"));
    let e = only(&issues);
    assert_eq!((e.path.as_str(), e.value.as_deref()), ("Observation.valueQuantity.code", Some("mmHg")));
    assert!(e.reason.contains("does not fit lactate"), "{}", e.reason);
}

#[test]
fn a_body_weight_in_pounds_is_a_unit_mismatch() {
    let (issues, _) = issues_after(|b| resource(b, "P1-weight")["valueQuantity"]["code"] = json!("[lb_av]"));
    assert!(
        issues.iter().any(|e| e.resource == "Observation/P1-weight" && e.reason.contains("registry records it in kg")),
        "{issues:#?}"
    );
    // Without its weight the patient cannot be imported either, and says where the weight is expected.
    assert!(issues.iter().any(|e| e.resource == "Patient/P1" && e.path.contains("29463-7")), "{issues:#?}");
}

#[test]
fn impossible_values_and_dose_unit_slips_are_caught_by_the_shared_checks() {
    let (issues, _) = issues_after(|b| {
        resource(b, "map1")["valueQuantity"]["value"] = json!(400);
        resource(b, "ne1")["dosage"]["rateQuantity"]["code"] = json!("ug/kg/min");
    });
    assert_eq!(issues.len(), 2, "{issues:#?}");
    assert_eq!(
        (issues[0].resource.as_str(), issues[0].path.as_str()),
        ("Observation/map1", "Observation.valueQuantity.value")
    );
    assert_eq!(issues[1].resource, "MedicationAdministration/ne1");
    assert!(issues[1].reason.contains("mcg/min rate entered as mcg/kg/min"), "{}", issues[1].reason);
}

#[test]
fn a_missing_rate_unit_names_the_dosage_element() {
    let (issues, _) = issues_after(|b| {
        resource(b, "vaso1")["dosage"]["rateQuantity"].as_object_mut().unwrap().retain(|k, _| k == "value")
    });
    let e = only(&issues);
    assert_eq!(
        (e.resource.as_str(), e.path.as_str()),
        ("MedicationAdministration/vaso1", "MedicationAdministration.dosage.rateQuantity.code")
    );
}

#[test]
fn an_encounter_without_its_ecmo_procedure_cannot_be_a_run() {
    let (issues, _) = issues_after(|b| {
        b["entry"].as_array_mut().unwrap().retain(|e| e["resource"]["id"] != "R1-ecmo");
    });
    let e = issues.iter().find(|e| e.resource == "Encounter/R1").expect("the Encounter is reported");
    assert!(e.path.contains("233573008"), "{}", e.path);
    assert_eq!(e.reason, "required value is empty");
    // Its records are refused as referring to a run that is not there.
    assert!(issues.iter().any(|e| e.resource == "Observation/map1" && e.path == "Observation.encounter"));
}

#[test]
fn bad_references_types_times_and_ids_are_reported_per_resource() {
    let (issues, b) = issues_after(|b| {
        resource(b, "ne1")["context"]["reference"] = json!("Patient/P1");
        resource(b, "gcs1")["effectiveDateTime"] = json!("2020-01-01");
        let entries = b["entry"].as_array_mut().unwrap();
        entries.push(json!({ "resource": { "resourceType": "Condition", "id": "c1" } }));
        entries.push(json!({ "resource": { "resourceType": "Observation" } }));
    });
    let find = |r: &str| issues.iter().find(|e| e.resource == r).unwrap_or_else(|| panic!("{r}: {issues:#?}"));
    assert!(find("MedicationAdministration/ne1").reason.contains("expected a reference to a Encounter"));
    assert_eq!(find("Observation/gcs1").path, "Observation.effectiveDateTime");
    let c = find("Condition/c1");
    assert_eq!(c.entry, Some(b["entry"].as_array().unwrap().len() - 2));
    assert!(c.reason.starts_with("resource type not imported"));
    assert!(find("Observation").reason.contains("no id"));
}

#[test]
fn skip_invalid_writes_the_valid_resources() {
    let mut b = bundle();
    resource(&mut b, "lac1")["valueQuantity"]["code"] = json!("mm[Hg]");
    let mut s = SqliteStore::in_memory().unwrap();
    let out = import_bundle(&mut s, &b.to_string(), "test.json", true).unwrap();
    assert!(out.committed);
    assert_eq!(out.invalid.len(), 1);
    assert_eq!(out.inserted.observations, 11);
}

#[test]
fn not_a_bundle_is_refused_at_once() {
    let mut s = SqliteStore::in_memory().unwrap();
    assert!(matches!(
        import_bundle(&mut s, r#"{"resourceType":"Patient"}"#, "x", false),
        Err(ecmo_fhir::ImportError::NotABundle(_))
    ));
    assert!(matches!(import_bundle(&mut s, "{", "x", false), Err(ecmo_fhir::ImportError::NotJson(_))));
}

#[test]
fn references_to_full_urls_of_later_entries_are_resolved() {
    // Reversed, every reference (by `Type/id` or by the Patient's `urn:uuid:` fullUrl) points forward.
    let mut b = bundle();
    b["entry"].as_array_mut().unwrap().reverse();
    let (out, s) = import(&b);
    assert!(out.invalid.is_empty(), "{:#?}", out.invalid);
    let (forward, _) = import(&bundle());
    assert_eq!((out.inserted, out.derived_skipped), (forward.inserted, forward.derived_skipped));
    assert_eq!(s.load_run("R1").unwrap().patient.weight_kg, 70.0);
    // A problem in an entry read last is still reported against that entry.
    let mut b = bundle();
    b["entry"].as_array_mut().unwrap().reverse();
    resource(&mut b, "lac1")["valueQuantity"]["code"] = json!("mm[Hg]");
    let (out, _) = import(&b);
    let e = only(&out.invalid);
    assert_eq!((e.entry, e.resource.as_str()), (Some(entry_index(&b, "lac1")), "Observation/lac1"));
}
