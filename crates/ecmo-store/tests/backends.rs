//! Both backends behave alike: the same import reports (counts, conflicts, their order
//! and wording) on the same batches, and concurrent writers and readers lose nothing.
//! PostgreSQL runs when ECMO_TEST_PG_URL is set (CI sets it and ECMO_REQUIRE_PG=1).

use ecmo_store::csv_format::{Batch, NoKnownRuns, read_dir};
use ecmo_store::testing::{fresh_specs, fresh_stores};
use ecmo_store::{ConflictPolicy, Counts, ImportReport, Store, open_store};
use std::path::Path;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn batch_of(files: &[(&str, &str)]) -> Batch {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), files);
    let read = read_dir(d.path(), &NoKnownRuns).unwrap();
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    read.batch
}

const PATIENTS: &str = "patient_id,sex,age_years,weight_kg\nP1,female,61,70\nP2,male,45,82\n";
const RUNS: &str = "run_id,patient_id,mode,etiology,flow_start,arrest\n\
R1,P1,va,ami_cs,2020-01-01 10:00,none\nR2,P2,va,myocarditis,2020-02-01 08:00,none\n";

/// A base registry, then batches that repeat and change its records.
fn scenario() -> Vec<Batch> {
    let base = batch_of(&[
        ("patients.csv", PATIENTS),
        ("runs.csv", RUNS),
        (
            "observations.csv",
            "run_id,time,quantity,value,unit,start\nR1,2020-01-01 10:00,lactate,8.2,mmol/L,\n\
             R1,2020-01-01 16:00,urine_output,120,mL,2020-01-01 10:00\nR2,2020-02-01 09:00,ph,7.12,,\n",
        ),
        ("infusions.csv", "run_id,time,drug,rate,unit\nR1,2020-01-01 09:00,norepinephrine,16,mcg/min\n"),
        ("support.csv", "run_id,kind,start,stop\nR1,iabp,2020-01-01 08:00,2020-01-03 08:00\n"),
        (
            "events.csv",
            "run_id,time,event,value,detail\nR1,2020-01-02 08:00,echo_lvef,25,\nR2,2020-02-03 08:00,stroke,,CT\n",
        ),
    ]);
    // Every kind conflicts once, repeats once, and adds something new.
    let changed = batch_of(&[
        ("patients.csv", "patient_id,sex,age_years,weight_kg\nP1,female,61,71\nP2,male,45,82\nP3,male,50,90\n"),
        (
            "runs.csv",
            "run_id,patient_id,mode,etiology,flow_start,arrest\nR1,P1,va,ami_cs,2020-01-01 10:00,none\n\
             R2,P2,va,other,2020-02-01 08:00,none\nR3,P3,va,ami_cs,2020-03-01 08:00,none\nR5,P1,va,ami_cs,2020-04-01 08:00,none\n",
        ),
        (
            "observations.csv",
            "run_id,time,quantity,value,unit,start\nR1,2020-01-01 10:00,lactate,3.1,mmol/L,\n\
             R1,2020-01-01 16:00,urine_output,120,mL,2020-01-01 10:00\nR3,2020-03-01 09:00,map,61,mmHg,\n\
             R5,2020-04-01 09:00,map,70,mmHg,\nR1,2020-01-01 20:00,lactate,2.0,mmol/L,\n",
        ),
        (
            "infusions.csv",
            "run_id,time,drug,rate,unit\nR1,2020-01-01 09:00,norepinephrine,20,mcg/min\nR5,2020-04-01 09:00,dobutamine,5,mcg/kg/min\n",
        ),
        (
            "support.csv",
            "run_id,kind,start,stop\nR1,iabp,2020-01-01 08:00,2020-01-04 08:00\nR3,crrt,2020-03-02 08:00,\n",
        ),
        (
            "events.csv",
            "run_id,time,event,value,detail\nR1,2020-01-02 08:00,echo_lvef,30,\nR2,2020-02-03 08:00,stroke,,CT\nR5,2020-04-02 08:00,death,,\n",
        ),
    ]);
    vec![base.clone(), base, changed]
}

fn reports(store: &mut dyn Store) -> Vec<(ImportReport, Counts)> {
    let mut out = Vec::new();
    for (i, batch) in scenario().iter().enumerate() {
        // The changed batch first all-or-nothing (refused), then skipping conflicts.
        let policies: &[ConflictPolicy] = if i < 2 {
            &[ConflictPolicy::RejectAll]
        } else {
            &[ConflictPolicy::RejectAll, ConflictPolicy::SkipConflicting]
        };
        for p in policies {
            let r = store.import(batch, *p).unwrap();
            out.push((r, store.counts().unwrap()));
        }
    }
    out
}

#[test]
fn import_reports_are_the_same_on_every_backend() {
    let mut stores = fresh_stores("same_reports");
    let all: Vec<_> = stores.iter_mut().map(|s| (s.backend(), reports(&mut **s))).collect();
    let (_, sqlite) = &all[0];
    // The scenario itself: refused, then written without the conflicting rows.
    let (refused, after_refused) = &sqlite[2];
    assert!(!refused.committed);
    assert_eq!(after_refused, &sqlite[1].1, "a refused import writes nothing");
    let reasons: Vec<String> = refused.conflicts.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        reasons,
        [
            "patients.csv:2: patient P1 is already in the registry with other values; not overwritten",
            "runs.csv:3: run R2 is already in the registry with other values; not overwritten",
            "observations.csv:2: lactate of run R1 at 2020-01-01T10:00 is already in the registry with other values; not overwritten",
            "infusions.csv:2: norepinephrine rate of run R1 at 2020-01-01T09:00 is already in the registry with other values; not overwritten",
            "support.csv:2: iabp of run R1 from 2020-01-01T08:00 is already in the registry with other values; not overwritten",
            "events.csv:2: echo_lvef of run R1 at 2020-01-02T08:00 is already in the registry with other values; not overwritten",
        ]
        .map(String::from)
        .to_vec(),
        "{reasons:#?}"
    );
    let (skipped, after) = &sqlite[3];
    assert!(skipped.committed);
    assert_eq!(
        skipped.inserted,
        Counts { patients: 1, runs: 2, observations: 3, infusions: 1, supports: 1, events: 1 }
    );
    assert_eq!(
        skipped.unchanged,
        Counts { patients: 1, runs: 1, observations: 1, infusions: 0, supports: 0, events: 1 }
    );
    assert_eq!(after.runs, 4);
    for (backend, r) in &all[1..] {
        assert_eq!(r.len(), sqlite.len());
        for (i, ((a, ca), (b, cb))) in sqlite.iter().zip(r).enumerate() {
            assert_eq!(a.inserted, b.inserted, "{backend}, import {i}");
            assert_eq!(a.unchanged, b.unchanged, "{backend}, import {i}");
            assert_eq!(a.conflicts, b.conflicts, "{backend}, import {i}");
            assert_eq!(a.committed, b.committed, "{backend}, import {i}");
            assert_eq!(ca, cb, "{backend}, import {i}");
        }
    }
    // And what was stored reads back the same.
    let summaries: Vec<_> = stores.iter().map(|s| s.run_summaries().unwrap()).collect();
    for s in &summaries[1..] {
        assert_eq!(s, &summaries[0]);
    }
    for id in ["R1", "R2", "R3", "R5"] {
        let runs: Vec<_> = stores.iter().map(|s| s.load_run(id).unwrap()).collect();
        for r in &runs[1..] {
            assert_eq!(r, &runs[0], "run {id}");
        }
    }
    for s in &stores {
        assert!(matches!(s.load_run("R9"), Err(ecmo_store::StoreError::NoSuchRun(_))));
    }
}

/// One batch per run of a synthetic registry.
fn per_run_batches(runs: u64, seed: u64) -> Vec<Batch> {
    let d = tempfile::tempdir().unwrap();
    ecmo_synth::write_registry(d.path(), runs, seed, &ecmo_synth::Mix::default(), 1, &|_| {}).unwrap();
    let read = read_dir(d.path(), &NoKnownRuns).unwrap();
    assert!(read.errors.is_empty());
    let b = read.batch;
    b.runs
        .iter()
        .map(|r| {
            let id = &r.item.id;
            Batch {
                patients: b.patients.iter().filter(|p| p.item.id == r.item.patient_id).cloned().collect(),
                runs: vec![r.clone()],
                observations: b.observations.iter().filter(|x| &x.item.0 == id).cloned().collect(),
                infusions: b.infusions.iter().filter(|x| &x.item.0 == id).cloned().collect(),
                supports: b.supports.iter().filter(|x| &x.item.0 == id).cloned().collect(),
                events: b.events.iter().filter(|x| &x.item.0 == id).cloned().collect(),
                source: format!("run {id}"),
                synthetic: true,
                ..Batch::default()
            }
        })
        .collect()
}

fn batch_counts(b: &Batch) -> Counts {
    Counts {
        patients: b.patients.len() as u64,
        runs: b.runs.len() as u64,
        observations: b.observations.len() as u64,
        infusions: b.infusions.len() as u64,
        supports: b.supports.len() as u64,
        events: b.events.len() as u64,
    }
}

#[test]
fn concurrent_writers_and_readers_lose_nothing() {
    const WRITERS: usize = 4;
    let batches = per_run_batches(24, 17);
    let expected: std::collections::HashMap<String, Counts> =
        batches.iter().map(|b| (b.runs[0].item.id.clone(), batch_counts(b))).collect();
    let total = batches.iter().map(batch_counts).fold(Counts::default(), |a, c| Counts {
        patients: a.patients + c.patients,
        runs: a.runs + c.runs,
        observations: a.observations + c.observations,
        infusions: a.infusions + c.infusions,
        supports: a.supports + c.supports,
        events: a.events + c.events,
    });
    let dir = tempfile::tempdir().unwrap();
    for spec in fresh_specs(dir.path(), "concurrency") {
        drop(open_store(&spec).unwrap()); // migrate once before the threads start
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let writers: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let (spec, batches) = (&spec, &batches);
                    scope.spawn(move || {
                        let mut store = open_store(spec).unwrap();
                        for b in batches.iter().skip(w).step_by(WRITERS) {
                            let r = store.import(b, ConflictPolicy::RejectAll).unwrap();
                            assert!(r.committed && r.conflicts.is_empty(), "{:?}", r.conflicts);
                            assert_eq!(r.inserted, batch_counts(b));
                        }
                    })
                })
                .collect();
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let (spec, expected, done) = (&spec, &expected, &done);
                    scope.spawn(move || {
                        let store = open_store(spec).unwrap();
                        let mut last = Counts::default();
                        let mut rounds = 0;
                        loop {
                            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                            let c = store.counts().unwrap();
                            assert!(c.runs >= last.runs && c.observations >= last.observations, "counts went back");
                            last = c;
                            // A run that is visible is visible whole: one transaction per import.
                            for s in store.run_summaries().unwrap() {
                                let rec = store.load_run(&s.run_id).unwrap();
                                let want = expected[&s.run_id];
                                assert_eq!(rec.observations.len() as u64, want.observations, "run {}", s.run_id);
                                assert_eq!(rec.infusions.len() as u64, want.infusions, "run {}", s.run_id);
                                assert_eq!(rec.events.len() as u64, want.events, "run {}", s.run_id);
                            }
                            rounds += 1;
                            if finished {
                                break;
                            }
                        }
                        rounds
                    })
                })
                .collect();
            for w in writers {
                w.join().unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            for r in readers {
                assert!(r.join().unwrap() >= 1);
            }
        });
        let store = open_store(&spec).unwrap();
        assert_eq!(store.counts().unwrap(), total, "{}", store.backend());
    }
}
