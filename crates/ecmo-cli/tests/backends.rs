//! Every registry command gives the same answers on SQLite and on PostgreSQL
//! (PostgreSQL when ECMO_TEST_PG_URL is set; CI sets it with ECMO_REQUIRE_PG=1).

use std::path::Path;
use std::process::{Command, Output};

fn ecmo(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecmo")).args(args).current_dir(cwd).env_remove("ECMO_DB").output().unwrap()
}

fn ok(o: Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn import_runs_scores_and_features_agree_between_backends() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(ecmo(&["synth", "--patients", "12", "--seed", "5", "--out", "reg"], p));
    let specs = ecmo_store::testing::fresh_specs(p, "cli_agree");
    let mut answers = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let import = ok(ecmo(&["import", "reg", "--db", spec, "--json"], p));
        let import: serde_json::Value = serde_json::from_str(&import).unwrap();
        let runs: serde_json::Value = serde_json::from_str(&ok(ecmo(&["runs", "--db", spec, "--json"], p))).unwrap();
        let first = runs[0]["run_id"].as_str().unwrap().to_string();
        let scores = ok(ecmo(&["scores", "--run", &first, "--at", "24", "--db", spec, "--json"], p));
        let out = format!("features{i}.csv");
        ok(ecmo(&["features", "--db", spec, "--out", &out], p));
        let features = std::fs::read_to_string(p.join(&out)).unwrap();
        answers.push((spec.clone(), import["inserted"].clone(), runs, scores, features));
    }
    let (_, inserted, runs, scores, features) = &answers[0];
    assert_eq!(inserted["runs"], 12);
    for (spec, i, r, s, f) in &answers[1..] {
        assert_eq!(i, inserted, "{spec}");
        assert_eq!(r, runs, "{spec}");
        assert_eq!(s, scores, "{spec}");
        assert_eq!(f, features, "{spec}");
    }
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there.
    let o = ecmo(&["runs", "--db", "postgres://ann:secret@127.0.0.1:1/reg"], d.path());
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot connect to postgres://ann:***@127.0.0.1:1/reg"), "{err}");
    assert!(!err.contains("secret"), "the password must not be printed: {err}");
}
