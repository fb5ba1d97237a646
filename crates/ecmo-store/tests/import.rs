//! Import error cases: every refused row names file, line, column, value and
//! reason, and nothing is written unless the whole batch is valid.

use ecmo_store::csv_format::RowError;
use ecmo_store::import_dir;
use ecmo_store::testing::for_each_store;
use std::path::Path;

const PATIENTS: &str = "patient_id,sex,age_years,weight_kg,height_cm\nP1,female,61,70,165\nP2,male,45,82,180\n";
const RUNS: &str = "run_id,patient_id,mode,etiology,flow_start,decannulation,arrest,ecpr,low_flow_min\n\
R1,P1,va,ami_cs,2020-01-01 10:00,2020-01-06 10:00,none,no,\n\
R2,P2,va,myocarditis,2020-02-01 08:00,,ohca,yes,55\n";
const OBS: &str = "run_id,time,quantity,value,unit,start\n\
R1,2020-01-01 10:00,lactate,8.2,mmol/L,\n\
R1,2020-01-01 11:00,map,64,mmHg,\n\
R1,2020-01-01 12:00,creatinine,176.8,umol/L,\n\
R1,2020-01-01 16:00,urine_output,120,mL,2020-01-01 10:00\n\
R2,2020-02-01 09:00,ph,7.12,,\n";
const INF: &str = "run_id,time,drug,rate,unit,salt\n\
R1,2020-01-01 09:00,norepinephrine,16,mcg/min,base\n\
R1,2020-01-01 15:00,norepinephrine,0,mcg/min,base\n\
R2,2020-02-01 08:00,vasopressin,0.04,U/min,\n";

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn registry(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        &[("patients.csv", PATIENTS), ("runs.csv", RUNS), ("observations.csv", OBS), ("infusions.csv", INF)],
    );
    write(d.path(), extra);
    d
}

fn only_error(errors: &[RowError]) -> &RowError {
    assert_eq!(errors.len(), 1, "{errors:#?}");
    &errors[0]
}

#[test]
fn a_valid_registry_imports_with_units_converted() {
    let d = registry(&[]);
    for_each_store("a_valid_registry_imports_with_units_converted", &mut |s| {
        let out = import_dir(s, d.path(), false).unwrap();
        assert!(out.invalid.is_empty(), "{:#?}", out.invalid);
        assert!(out.committed);
        assert_eq!(out.inserted.patients, 2);
        assert_eq!(out.inserted.runs, 2);
        assert_eq!(out.inserted.observations, 5);
        assert_eq!(out.inserted.infusions, 3);
        let r1 = s.load_run("R1").unwrap();
        let creat = r1.observations.iter().find(|o| o.quantity == ecmo_domain::Quantity::Creatinine).unwrap();
        assert!((creat.value - 2.0).abs() < 1e-3, "176.8 umol/L is 2.0 mg/dL");
        assert_eq!(creat.entered_unit, ecmo_domain::Unit::UmolPerL);
        // 16 mcg/min at 70 kg.
        assert!((r1.infusions[0].rate - 16.0 / 70.0).abs() < 1e-12);
        assert_eq!(r1.observations[0].source.as_deref(), Some("observations.csv:2"));
    });
}

#[test]
fn wrong_unit_is_refused_with_its_place() {
    let d =
        registry(&[("observations.csv", "run_id,time,quantity,value,unit\nR1,2020-01-01 10:00,lactate,8.2,mmHg\n")]);
    for_each_store("wrong_unit_is_refused_with_its_place", &mut |s| {
        let out = import_dir(s, d.path(), false).unwrap();
        let e = only_error(&out.invalid);
        assert_eq!(
            (e.file.as_str(), e.line, e.column.as_deref(), e.value.as_deref()),
            ("observations.csv", 2, Some("unit"), Some("mmHg"))
        );
        assert!(e.reason.contains("does not fit lactate"), "{}", e.reason);
        assert!(!out.committed);
        assert_eq!(s.counts().unwrap().total(), 0, "nothing may be written");
    });
}

#[test]
fn impossible_values_are_refused_not_clipped() {
    let d = registry(&[(
        "observations.csv",
        "run_id,time,quantity,value,unit\nR1,2020-01-01 10:00,ph,5.9,\nR1,2020-01-01 10:00,map,-5,mmHg\nR1,2020-01-01 11:00,lactate,7;2,mmol/L\n",
    )]);
    for_each_store("impossible_values_are_refused_not_clipped", &mut |s| {
        let out = import_dir(s, d.path(), false).unwrap();
        assert_eq!(out.invalid.len(), 3, "{:#?}", out.invalid);
        assert!(out.invalid[0].reason.contains("cannot be physiologically true"));
        assert_eq!(out.invalid[1].line, 3);
        assert_eq!(out.invalid[2].reason, "not a number");
        assert_eq!(s.counts().unwrap().total(), 0);
    });
}

#[test]
fn dose_unit_errors_are_caught() {
    // Norepinephrine 16 typed as mcg/kg/min would be 1600 VIS points.
    let d = registry(&[(
        "infusions.csv",
        "run_id,time,drug,rate,unit\nR1,2020-01-01 09:00,norepinephrine,16,mcg/kg/min\nR2,2020-02-01 08:00,vasopressin,0.04,U/kg/min\nR1,2020-01-01 09:00,dobutamine,5,mL/h\n",
    )]);
    for_each_store("dose_unit_errors_are_caught", &mut |s| {
        let out = import_dir(s, d.path(), false).unwrap();
        assert_eq!(out.invalid.len(), 3, "{:#?}", out.invalid);
        assert!(out.invalid[0].reason.contains("mcg/min rate entered as mcg/kg/min"));
        assert!(out.invalid[1].reason.contains("U/min rate entered as U/kg/min"));
        assert_eq!(out.invalid[2].column.as_deref(), Some("concentration"));
    });
}

#[test]
fn missing_and_unknown_columns_are_named() {
    let d =
        registry(&[("observations.csv", "run_id,time,quantity,valeu,unit\nR1,2020-01-01 10:00,lactate,8.2,mmol/L\n")]);
    for_each_store("missing_and_unknown_columns_are_named", &mut |s| {
        let out = import_dir(s, d.path(), false).unwrap();
        let cols: Vec<_> =
            out.invalid.iter().map(|e| (e.column.clone().unwrap_or_default(), e.reason.clone())).collect();
        assert!(cols.iter().any(|(c, r)| c == "valeu" && r.starts_with("unknown column")), "{cols:?}");
        assert!(cols.iter().any(|(c, r)| c == "value" && r == "required column is missing"), "{cols:?}");
        assert_eq!(s.counts().unwrap().total(), 0);
    });
}

#[test]
fn malformed_csv_is_reported() {
    let d = registry(&[(
        "observations.csv",
        "run_id,time,quantity,value,unit\nR1,2020-01-01 10:00,lactate,8.2\nR1,\"2020-01-01 11:00,map,64,mmHg\n",
    )]);
    for_each_store("malformed_csv_is_reported", &mut |s| {
        let out = import_dir(s, d.path(), false).unwrap();
        assert!(
            out.invalid.iter().any(|e| e.line == 2 && e.reason.contains("4 fields but the header has 5")),
            "{:#?}",
            out.invalid
        );
        assert!(!out.committed);
    });
}

#[test]
fn repeated_rows_are_skipped_and_conflicting_rows_refused() {
    let d = registry(&[(
        "observations.csv",
        "run_id,time,quantity,value,unit\nR1,2020-01-01 10:00,lactate,8.2,mmol/L\nR1,2020-01-01 10:00,lactate,8.2,mmol/L\nR1,2020-01-01 10:00,lactate,9.0,mmol/L\n",
    )]);
    for_each_store("repeated_rows_are_skipped_and_conflicting_rows_refused", &mut |s| {
        let out = import_dir(s, d.path(), false).unwrap();
        assert_eq!(out.repeated_rows, 1);
        let e = only_error(&out.invalid);
        assert_eq!(e.line, 4);
        assert!(e.reason.contains("conflicts with line 2"), "{}", e.reason);
    });
}

#[test]
fn references_to_unknown_runs_and_patients_are_refused() {
    let d = registry(&[
        ("observations.csv", "run_id,time,quantity,value,unit\nR9,2020-01-01 10:00,lactate,8.2,mmol/L\n"),
        (
            "runs.csv",
            "run_id,patient_id,mode,etiology,flow_start,arrest\nR1,P1,va,ami_cs,2020-01-01 10:00,none\nR3,P7,va,ami_cs,2020-01-01 10:00,none\n",
        ),
        ("infusions.csv", "run_id,time,drug,rate,unit\n"),
    ]);
    for_each_store("references_to_unknown_runs_and_patients_are_refused", &mut |s| {
        let out = import_dir(s, d.path(), false).unwrap();
        assert_eq!(out.invalid.len(), 2, "{:#?}", out.invalid);
        assert!(
            out.invalid.iter().any(|e| e.column.as_deref() == Some("patient_id") && e.value.as_deref() == Some("P7"))
        );
        assert!(out.invalid.iter().any(|e| e.column.as_deref() == Some("run_id") && e.value.as_deref() == Some("R9")));
    });
}

#[test]
fn reimport_creates_no_duplicates_and_conflicts_are_not_overwritten() {
    let d = registry(&[]);
    for_each_store("reimport_creates_no_duplicates_and_conflicts_are_not_overwritten", &mut |s| {
        assert!(import_dir(s, d.path(), false).unwrap().committed);
        let before = s.counts().unwrap();
        let again = import_dir(s, d.path(), false).unwrap();
        assert!(again.committed);
        assert_eq!(again.inserted.total(), 0);
        assert_eq!(again.unchanged.total(), before.total());
        assert_eq!(s.counts().unwrap(), before);

        // The same lactate sample with another value: reported, nothing changes.
        let changed = registry(&[(
            "observations.csv",
            "run_id,time,quantity,value,unit\nR1,2020-01-01 10:00,lactate,3.1,mmol/L\nR1,2020-01-01 20:00,lactate,2.0,mmol/L\n",
        )]);
        let out = import_dir(s, changed.path(), false).unwrap();
        assert!(!out.committed);
        let e = only_error(&out.conflicts);
        assert_eq!((e.file.as_str(), e.line), ("observations.csv", 2));
        assert!(e.reason.contains("already in the registry with other values"));
        assert_eq!(s.counts().unwrap(), before, "the new 20:00 value must not be written either");
        let lactate = s.load_run("R1").unwrap().observations[0].value;
        assert_eq!(lactate, 8.2);

        // With skip-invalid the non-conflicting row is written, the conflict is left out.
        let out = import_dir(s, changed.path(), true).unwrap();
        assert!(out.committed);
        assert_eq!(out.inserted.observations, 1);
        assert_eq!(out.conflicts.len(), 1);
    });
}

#[test]
fn skip_invalid_writes_valid_rows_and_cascades_refusals() {
    let d = registry(&[("patients.csv", "patient_id,sex,age_years,weight_kg\nP1,female,61,70\nP2,male,45,900\n")]);
    for_each_store("skip_invalid_writes_valid_rows_and_cascades_refusals", &mut |s| {
        let out = import_dir(s, d.path(), true).unwrap();
        assert!(out.committed);
        // P2 (weight 900 kg) is refused, so is its run R2 and R2's records.
        assert!(
            out.invalid.iter().any(|e| e.column.as_deref() == Some("weight_kg") && e.value.as_deref() == Some("900"))
        );
        assert!(out.invalid.iter().any(|e| e.file == "runs.csv" && e.value.as_deref() == Some("P2")));
        assert!(out.invalid.iter().any(|e| e.file == "observations.csv" && e.value.as_deref() == Some("R2")));
        let c = s.counts().unwrap();
        assert_eq!((c.patients, c.runs, c.observations, c.infusions), (1, 1, 4, 2));
        let rejects = tempfile::NamedTempFile::new().unwrap();
        let n = ecmo_store::write_rejects(rejects.path(), out.rejects()).unwrap();
        assert_eq!(n as usize, out.invalid.len());
        let text = std::fs::read_to_string(rejects.path()).unwrap();
        assert!(text.starts_with("file,line,column,value,reason,record\n"));
        assert!(text.contains("patients.csv,3,weight_kg,900,"));
    });
}

#[test]
fn interval_volumes_need_their_start() {
    let d = registry(&[(
        "observations.csv",
        "run_id,time,quantity,value,unit,start\nR1,2020-01-01 16:00,urine_output,120,mL,\nR1,2020-01-01 16:00,map,60,mmHg,2020-01-01 15:00\n",
    )]);
    for_each_store("interval_volumes_need_their_start", &mut |s| {
        let out = import_dir(s, d.path(), false).unwrap();
        assert_eq!(out.invalid.len(), 2);
        assert!(out.invalid[0].reason.contains("give the interval's start"));
        assert!(out.invalid[1].reason.contains("point value"));
    });
}

#[test]
fn the_synthetic_registry_round_trips_through_csv_and_the_store() {
    let d = tempfile::tempdir().unwrap();
    let mix = ecmo_synth::Mix::default();
    ecmo_synth::write_registry(d.path(), 40, 3, &mix, 2, &|_| {}).unwrap();
    for_each_store("the_synthetic_registry_round_trips_through_csv_and_the_store", &mut |s| {
        let out = import_dir(s, d.path(), false).unwrap();
        assert!(out.invalid.is_empty(), "{:#?}", &out.invalid[..out.invalid.len().min(5)]);
        assert!(out.synthetic);
        for i in 0..40 {
            let generated = ecmo_synth::generate(3, i, &mix);
            let mut loaded = s.load_run(&generated.run.id).unwrap();
            // Provenance is added by the import; everything else must be identical.
            for o in &mut loaded.observations {
                o.source = None;
            }
            for x in &mut loaded.infusions {
                x.source = None;
            }
            for x in &mut loaded.supports {
                x.source = None;
            }
            for x in &mut loaded.events {
                x.source = None;
            }
            // Records charted at the same minute have no defined order; compare sorted.
            let mut generated = generated;
            for r in [&mut loaded, &mut generated] {
                r.observations.sort_by_key(|o| (o.time, o.quantity));
                r.infusions.sort_by_key(|i| (i.time, i.drug));
                r.supports.sort_by_key(|s| (s.start, s.kind));
                r.events.sort_by_key(|e| (e.time, e.kind));
            }
            assert_eq!(loaded.patient, generated.patient);
            assert_eq!(loaded.run, generated.run);
            assert_eq!(loaded.observations.len(), generated.observations.len());
            for (a, b) in loaded.observations.iter().zip(&generated.observations) {
                assert_eq!(a, b, "run {}", generated.run.id);
            }
            assert!(loaded.infusions == generated.infusions, "infusions of run {}", generated.run.id);
            assert!(loaded.supports == generated.supports, "supports of run {}", generated.run.id);
            assert!(loaded.events == generated.events, "events of run {}", generated.run.id);
        }
    });
}
