//! Streaming a registry directory gives the same runs as importing it.

use ecmo_store::Store;
use ecmo_store::sqlite::SqliteStore;
use ecmo_store::stream::{RegistryStream, StreamError};

#[test]
fn stream_matches_import() {
    let d = tempfile::tempdir().unwrap();
    ecmo_synth::write_registry(d.path(), 30, 9, &ecmo_synth::Mix::default(), 2, &|_| {}).unwrap();
    let mut s = SqliteStore::in_memory().unwrap();
    assert!(ecmo_store::import_dir(&mut s, d.path(), false).unwrap().committed);
    let mut n = 0;
    for rec in RegistryStream::open(d.path()).unwrap() {
        let rec = rec.unwrap();
        let mut stored = s.load_run(&rec.run.id).unwrap();
        for o in &mut stored.observations {
            o.source = None;
        }
        let mut a = rec.observations.clone();
        let mut b = stored.observations.clone();
        a.sort_by_key(|o| (o.time, o.quantity));
        b.sort_by_key(|o| (o.time, o.quantity));
        assert!(a == b, "observations of {}", rec.run.id);
        assert_eq!(rec.infusions.len(), stored.infusions.len());
        assert_eq!(rec.events.len(), stored.events.len());
        assert_eq!(rec.patient, stored.patient);
        n += 1;
    }
    assert_eq!(n, 30);
}

#[test]
fn ungrouped_files_are_reported_with_the_line() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("patients.csv"),
        "patient_id,sex,age_years,weight_kg\nP1,female,61,70\nP2,male,50,80\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("runs.csv"),
        "run_id,patient_id,mode,etiology,flow_start,arrest\nR1,P1,va,ami_cs,2020-01-01 10:00,none\nR2,P2,va,ami_cs,2020-01-01 10:00,none\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("observations.csv"),
        "run_id,time,quantity,value,unit\nR2,2020-01-01 10:00,map,60,mmHg\nR1,2020-01-01 10:00,map,60,mmHg\n",
    )
    .unwrap();
    let err = RegistryStream::open(d.path()).unwrap().find_map(Result::err).unwrap();
    match err {
        StreamError::Row(e) => {
            assert_eq!((e.file.as_str(), e.line), ("observations.csv", 3));
            assert!(e.reason.contains("not grouped"), "{}", e.reason);
        }
        other => panic!("{other}"),
    }
}
