//! The `ecmo` binary end to end: commands, outputs and exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn ecmo(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecmo")).args(args).current_dir(cwd).env_remove("ECMO_DB").output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn usage_errors_exit_with_2() {
    let d = tempfile::tempdir().unwrap();
    let o = ecmo(&["no-such-command"], d.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = ecmo(&["synth", "--patients", "many", "--out", "x"], d.path());
    assert_eq!(o.status.code(), Some(2));
    let o = ecmo(&["--help"], d.path());
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).contains("Exit codes"));
}

#[test]
fn demo_creates_a_registry_and_says_what_next() {
    let d = tempfile::tempdir().unwrap();
    let o = ecmo(&["demo", "--patients", "25"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(d.path().join("ecmo.db").exists(), "the default database is ./ecmo.db");
    assert!(out.contains("SYNTHETIC"));
    assert!(out.contains("25 patients, 25 ECMO runs"), "{out}");
    assert!(out.contains("ecmo runs"));
    // Running the demo again keeps the same data and creates no duplicates.
    let o = ecmo(&["demo", "--patients", "25"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("25 patients, 25 ECMO runs"));
}

#[test]
fn synth_import_runs_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let o = ecmo(&["synth", "--patients", "30", "--seed", "5", "--out", "reg", "--json"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["patients"], 30);
    assert_eq!(summary["synthetic"], true);
    for f in
        ["patients.csv", "runs.csv", "observations.csv", "infusions.csv", "support.csv", "events.csv", "registry.json"]
    {
        assert!(d.path().join("reg").join(f).exists(), "{f}");
    }
    let o = ecmo(&["import", "reg", "--db", "r.db", "--json"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["inserted"]["runs"], 30);
    assert_eq!(report["synthetic"], true);

    let o = ecmo(&["runs", "--db", "r.db", "--json"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs.len(), 30);
    for key in ["run_id", "patient_id", "mode", "etiology", "arrest", "ecpr", "flow_start", "hours_on_ecmo", "status"] {
        assert!(runs[0].get(key).is_some(), "runs --json lacks {key}");
    }
    let o = ecmo(&["runs", "--db", "r.db"], d.path());
    assert!(text(&o).contains("30 run(s)."));
    // Same seed, same files.
    let o = ecmo(&["synth", "--patients", "30", "--seed", "5", "--out", "reg2"], d.path());
    assert_eq!(o.status.code(), Some(0));
    for f in ["observations.csv", "infusions.csv", "runs.csv"] {
        let a = std::fs::read(d.path().join("reg").join(f)).unwrap();
        let b = std::fs::read(d.path().join("reg2").join(f)).unwrap();
        assert!(a == b, "{f} differs between two runs with the same seed");
    }
}

#[test]
fn invalid_input_exits_with_3_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("bad");
    std::fs::create_dir(&reg).unwrap();
    std::fs::write(reg.join("patients.csv"), "patient_id,sex,age_years,weight_kg\nP1,female,61,70\nP2,male,45,82\n")
        .unwrap();
    std::fs::write(
        reg.join("runs.csv"),
        "run_id,patient_id,mode,etiology,flow_start,arrest\nR1,P1,va,ami_cs,2020-01-01 10:00,none\nR2,P2,va,other,2020-01-02 10:00,none\n",
    )
    .unwrap();
    std::fs::write(
        reg.join("observations.csv"),
        "run_id,time,quantity,value,unit\nR1,2020-01-01 10:00,lactate,8.2,mmHg\nR2,2020-01-02 11:00,lactate,3.0,mmol/L\n",
    )
    .unwrap();
    let o = ecmo(&["import", "bad", "--db", "x.db"], d.path());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("observations.csv:2 column 'unit' value 'mmHg'"), "{out}");
    assert!(out.contains("nothing was imported"));
    let o = ecmo(&["runs", "--db", "x.db", "--json"], d.path());
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(runs.is_empty(), "an invalid import must write nothing");

    let o = ecmo(&["import", "bad", "--db", "x.db", "--skip-invalid", "--rejects", "rej.csv"], d.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rejects = std::fs::read_to_string(d.path().join("rej.csv")).unwrap();
    assert!(rejects.contains("observations.csv,2,unit,mmHg,"), "{rejects}");
    let o = ecmo(&["runs", "--db", "x.db", "--json"], d.path());
    let runs: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs.len(), 2);

    let o = ecmo(&["import", "does-not-exist", "--db", "x.db"], d.path());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
}

#[test]
fn runs_without_a_registry_explains_how_to_make_one() {
    let d = tempfile::tempdir().unwrap();
    let o = ecmo(&["runs"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("ecmo demo"));
}
