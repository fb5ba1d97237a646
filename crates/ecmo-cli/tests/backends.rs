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

#[test]
fn fhir_export_import_and_migrate_move_a_registry_between_backends() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    ok(ecmo(&["synth", "--patients", "6", "--seed", "8", "--out", "reg"], p));
    ok(ecmo(&["import", "reg", "--db", "source.db"], p));
    let runs = ok(ecmo(&["runs", "--db", "source.db", "--json"], p));
    ok(ecmo(&["fhir", "export", "--all", "--db", "source.db", "--out", "all.json", "--utc-offset", "+02:00"], p));
    for spec in ecmo_store::testing::fresh_specs(p, "cli_fhir") {
        let out = ok(ecmo(&["fhir", "import", "all.json", "--db", &spec], p));
        assert!(out.contains("Imported into"), "{out}");
        assert_eq!(ok(ecmo(&["runs", "--db", &spec, "--json"], p)), runs, "{spec}");
    }
    for spec in ecmo_store::testing::fresh_specs(p, "cli_migrate") {
        let out = ok(ecmo(&["migrate", "--from", "source.db", "--to", &spec], p));
        assert!(out.contains("Verified: same counts and the same fingerprint"), "{out}");
        assert_eq!(ok(ecmo(&["runs", "--db", &spec, "--json"], p)), runs, "{spec}");
        assert!(ok(ecmo(&["migrate", "--db", &spec], p)).contains("schema version"));
    }
    // A Bundle with a unit that does not fit is refused with exit code 3 and its entry named.
    let text = std::fs::read_to_string(p.join("all.json")).unwrap().replacen("\"mm[Hg]\"", "\"mmol/L\"", 2);
    std::fs::write(p.join("bad.json"), text).unwrap();
    let o = ecmo(&["fhir", "import", "bad.json", "--db", "other.db"], p);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Bundle.entry[") && err.contains("Observation.valueQuantity.code"), "{err}");
}
