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
    // The same for infusions.csv (also parsed on a worker thread), and a run id not in runs.csv.
    std::fs::remove_file(d.path().join("observations.csv")).unwrap();
    let header = "run_id,time,drug,rate,unit,salt,concentration,concentration_unit,dosing_weight_kg\n";
    for (rows, line, reason) in [
        (
            "R2,2020-01-01 10:00,dobutamine,5,mcg/kg/min,,,,\nR1,2020-01-01 10:00,dobutamine,5,mcg/kg/min,,,,\n",
            3,
            "not grouped",
        ),
        (
            "R1,2020-01-01 10:00,dobutamine,5,mcg/kg/min,,,,\nR7,2020-01-01 10:00,dobutamine,5,mcg/kg/min,,,,\n",
            3,
            "no such run",
        ),
    ] {
        std::fs::write(d.path().join("infusions.csv"), format!("{header}{rows}")).unwrap();
        match RegistryStream::open(d.path()).unwrap().find_map(Result::err).unwrap() {
            StreamError::Row(e) => {
                assert_eq!((e.file.as_str(), e.line, e.column.as_deref()), ("infusions.csv", line, Some("run_id")));
                assert!(e.reason.contains(reason), "{}", e.reason);
            }
            other => panic!("{other}"),
        }
    }
}

/// patients.csv and runs.csv with one patient (P1, 70 kg) and one run (R1).
fn one_run_registry() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("patients.csv"), "patient_id,sex,age_years,weight_kg\nP1,female,61,70\n").unwrap();
    std::fs::write(
        d.path().join("runs.csv"),
        "run_id,patient_id,mode,etiology,flow_start,arrest\nR1,P1,va,ami_cs,2020-01-01 10:00,none\n",
    )
    .unwrap();
    d
}

#[test]
fn quoted_and_crlf_observations_read_like_plain_ones() {
    let d = one_run_registry();
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

/// Errors past the first block (files over 1 MiB are parsed in blocks on worker
/// threads) still name the file, the absolute line, the column, the value and
/// the reason, for observations.csv and infusions.csv alike.
#[test]
fn errors_in_later_blocks_name_the_absolute_line() {
    let d = one_run_registry();
    let minutes = |i: usize| format!("2020-01-{:02} {:02}:{:02}", 1 + i / 1440, i / 60 % 24, i % 60);
    let mut obs = String::from("run_id,time,quantity,value,unit\n");
    for i in 0..40_000 {
        obs.push_str(&format!("R1,{},map,{},mmHg\n", minutes(i), 60 + i % 20));
    }
    let mut inf = String::from("run_id,time,drug,rate,unit,salt,concentration,concentration_unit,dosing_weight_kg\n");
    for i in 0..25_000 {
        inf.push_str(&format!("R1,{},norepinephrine,0.{:03},mcg/kg/min,base,,,\n", minutes(i), 100 + i % 50));
    }
    assert!(obs.len() > 1 << 20 && inf.len() > 1 << 20);
    std::fs::write(d.path().join("observations.csv"), &obs).unwrap();
    std::fs::write(d.path().join("infusions.csv"), &inf).unwrap();
    let rec = RegistryStream::open(d.path()).unwrap().next().unwrap().unwrap();
    assert_eq!((rec.observations.len(), rec.infusions.len()), (40_000, 25_000));
    assert_eq!(rec.infusions[24_999].entered_rate, 0.149);

    // Line 38,003 of observations.csv (the header is line 1).
    let bad = obs.replacen(
        &format!("R1,{},map,61,mmHg\n", minutes(38_001)),
        &format!("R1,{},map,61,mmHx\n", minutes(38_001)),
        1,
    );
    std::fs::write(d.path().join("observations.csv"), &bad).unwrap();
    match RegistryStream::open(d.path()).unwrap().find_map(Result::err).unwrap() {
        StreamError::Row(e) => {
            assert_eq!(
                (e.file.as_str(), e.line, e.column.as_deref(), e.value.as_deref()),
                ("observations.csv", 38_003, Some("unit"), Some("mmHx"))
            );
            assert!(!e.reason.is_empty());
        }
        other => panic!("{other}"),
    }
    std::fs::write(d.path().join("observations.csv"), &obs).unwrap();

    // Line 19,502 of infusions.csv: an impossible dosing weight.
    // 19,500 % 50 == 0: rate 0.100.
    let row = format!("R1,{},norepinephrine,0.100,mcg/kg/min,base,,,\n", minutes(19_500));
    let bad = inf.replacen(&row, &row.replace(",,,\n", ",,,900\n"), 1);
    std::fs::write(d.path().join("infusions.csv"), &bad).unwrap();
    match RegistryStream::open(d.path()).unwrap().find_map(Result::err).unwrap() {
        StreamError::Row(e) => {
            assert_eq!(
                (e.file.as_str(), e.line, e.column.as_deref(), e.value.as_deref()),
                ("infusions.csv", 19_502, Some("dosing_weight_kg"), Some("900"))
            );
            assert!(e.reason.contains("physiologically"), "{}", e.reason);
        }
        other => panic!("{other}"),
    }
    // Rows of a run that is not in runs.csv, after the last run.
    std::fs::write(d.path().join("infusions.csv"), format!("{inf}R9,2020-01-01 10:00,dobutamine,5,mcg/kg/min,,,,\n"))
        .unwrap();
    match RegistryStream::open(d.path()).unwrap().find_map(Result::err).unwrap() {
        StreamError::Row(e) => {
            assert_eq!((e.file.as_str(), e.line, e.value.as_deref()), ("infusions.csv", 25_002, Some("R9")));
        }
        other => panic!("{other}"),
    }
}

/// patients.csv and runs.csv are read at once; with any problem the errors must be exactly those of
/// the sequential reader (patients first, so that runs.csv can name them).
#[test]
fn problems_in_patients_or_runs_are_those_of_the_sequential_reader() {
    use ecmo_store::csv_format::{self, Context, NoKnownRuns, ReadOutcome};
    let patients = "patient_id,sex,age_years,weight_kg\nP1,female,61,70\nP2,male,50,80\n";
    let runs = "run_id,patient_id,mode,etiology,flow_start,arrest\nR1,P1,va,ami_cs,2020-01-01 10:00,none\n";
    for (patients, runs) in [
        // A run naming a patient that is not in patients.csv (alone, and with another problem in the row).
        (patients.to_string(), format!("{runs}R2,P9,va,ami_cs,2020-01-01 10:00,none\n")),
        (patients.to_string(), format!("{runs}R2,P9,xx,ami_cs,2020-01-01 10:00,none\n")),
        // A patient refused, so that its run has no patient either.
        (patients.replace("P2,male,50,80", "P2,male,50,8"), format!("{runs}R2,P2,va,ami_cs,2020-01-01 10:00,none\n")),
        // A run repeated with other values.
        (patients.to_string(), format!("{runs}R1,P2,va,ami_cs,2020-01-01 10:00,none\n")),
    ] {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("patients.csv"), &patients).unwrap();
        std::fs::write(d.path().join("runs.csv"), &runs).unwrap();
        let mut ctx = Context::new(&NoKnownRuns);
        let mut expected = ReadOutcome::default();
        for (file, text) in [("patients.csv", &patients), ("runs.csv", &runs)] {
            let reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
            csv_format::read_file(file, reader, &mut ctx, &mut expected);
        }
        assert!(!expected.errors.is_empty(), "{runs}");
        match RegistryStream::open(d.path()) {
            Err(StreamError::Header(errors)) => assert_eq!(errors, expected.errors),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("accepted {patients}{runs}"),
        }
    }
    // Clean files: every run, in the order of runs.csv.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("patients.csv"), patients).unwrap();
    std::fs::write(d.path().join("runs.csv"), format!("{runs}R0,P2,va,ami_cs,2020-01-01 10:00,none\n")).unwrap();
    let ids: Vec<String> = RegistryStream::open(d.path()).unwrap().map(|r| r.unwrap().run.id).collect();
    assert_eq!(ids, ["R1", "R0"]);
}

/// Cells that are not UTF-8 read as empty, whether the block is split by the fast path or (with a
/// quote in it) by the csv crate: same rows, or the same error at the same line and column.
#[test]
fn cells_that_are_not_utf8_read_as_empty_on_both_paths() {
    let d = one_run_registry();
    let header = b"run_id,time,quantity,value,unit,start\n".to_vec();
    let good = b"R1,2020-01-01 09:00,map,60,mmHg,\n".to_vec();
    let bad_rows: [&[u8]; 5] = [
        b"R1,2020-01-01 10:00,map,60,mmHg,\xff\n",
        b"R1,2020-01-01 10:00,map,\xff,mmHg,\n",
        b"R1,2020-01-01 10:00,map,60,mm\xffHg,\n",
        b"R1,2020-01-01 10:00,m\xffap,60,mmHg,\n",
        b"R1,2020-01-01 1\xff:00,map,60,mmHg,\n",
    ];
    let read = |text: Vec<u8>| {
        std::fs::write(d.path().join("observations.csv"), text).unwrap();
        // Up to the first error (after which the stream would keep reporting rows left over).
        let mut out = Vec::new();
        for r in RegistryStream::open(d.path()).unwrap() {
            match r {
                Ok(rec) => out.push(Ok(rec.observations)),
                Err(StreamError::Row(e)) => {
                    out.push(Err((e.line, e.column, e.value, e.reason)));
                    break;
                }
                Err(other) => panic!("{other}"),
            }
        }
        out
    };
    let mut errors = 0;
    for bad in bad_rows {
        let plain = [header.as_slice(), &good, bad, b"R1,2020-01-01 11:00,map,60,mmHg,\n"].concat();
        let quoted = [header.as_slice(), &good, bad, b"\"R1\",2020-01-01 11:00,map,60,mmHg,\n"].concat();
        let (a, b) = (read(plain), read(quoted));
        if let [Err(e)] = a.as_slice() {
            errors += 1;
            assert_eq!(e.0, 3, "{e:?}");
        }
        assert_eq!(a, b, "{}", String::from_utf8_lossy(bad));
    }
    // Only the empty optional start is accepted.
    assert_eq!(errors, 4);
}
