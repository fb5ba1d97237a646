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

#[test]
fn quoted_and_crlf_observations_read_like_plain_ones() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("patients.csv"), "patient_id,sex,age_years,weight_kg\nP1,female,61,70\n").unwrap();
    std::fs::write(
        d.path().join("runs.csv"),
        "run_id,patient_id,mode,etiology,flow_start,arrest\nR1,P1,va,ami_cs,2020-01-01 10:00,none\n",
    )
    .unwrap();
    let plain =
        "run_id,time,quantity,value,unit\nR1,2020-01-01 10:00,map,60,mmHg\nR1,2020-01-01 11:00, lactate ,4.5,mg/dL\n";
    std::fs::write(d.path().join("observations.csv"), plain).unwrap();
    let a: Vec<_> = RegistryStream::open(d.path()).unwrap().map(|r| r.unwrap().observations).collect();
    let quoted = "run_id,time,quantity,value,unit\r\n\"R1\",\"2020-01-01 10:00\",map,60,\"mmHg\"\r\n\r\nR1,2020-01-01 11:00,\"lactate\",4.5,mg/dL\r\n";
    std::fs::write(d.path().join("observations.csv"), quoted).unwrap();
    let b: Vec<_> = RegistryStream::open(d.path()).unwrap().map(|r| r.unwrap().observations).collect();
    assert_eq!(a, b);
    assert_eq!(a[0].len(), 2);
    // No final newline; blank lines.
    std::fs::write(d.path().join("observations.csv"), format!("{}\n\n{}", &plain[..64], plain[64..].trim_end()))
        .unwrap();
    let c: Vec<_> = RegistryStream::open(d.path()).unwrap().map(|r| r.unwrap().observations).collect();
    assert_eq!(a, c);
    // A bad value is reported with its line, on either path.
    std::fs::write(
        d.path().join("observations.csv"),
        format!("{}R1,2020-01-01 12:00,map,999,mmHg\n", quoted.replace('\r', "")),
    )
    .unwrap();
    match RegistryStream::open(d.path()).unwrap().find_map(Result::err).unwrap() {
        StreamError::Row(e) => assert_eq!((e.line, e.column.as_deref()), (5, Some("value"))),
        other => panic!("{other}"),
    }
    std::fs::write(d.path().join("observations.csv"), format!("{plain}R1,2020-01-01 12:00,map,999,mmHg\nR9,x,y,z,w\n"))
        .unwrap();
    match RegistryStream::open(d.path()).unwrap().find_map(Result::err).unwrap() {
        StreamError::Row(e) => assert_eq!((e.line, e.column.as_deref()), (4, Some("value"))),
        other => panic!("{other}"),
    }
}
