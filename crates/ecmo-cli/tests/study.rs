//! `ecmo study` end to end on a demo registry: report and tables written, reruns
//! byte-identical, bad study files refused with the file, field and reason.

use std::path::Path;
use std::process::{Command, Output};

fn ecmo(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecmo")).args(args).current_dir(cwd).env_remove("ECMO_DB").output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn study_reports_are_written_and_reproducible() {
    let d = tempfile::tempdir().unwrap();
    let o = ecmo(&["demo", "--patients", "160"], d.path());
    assert!(o.status.success(), "{}", text(&o));

    let o = ecmo(&["study", "--list"], d.path());
    assert!(o.status.success());
    for name in ["weaning", "vis", "ecpr", "vad"] {
        assert!(text(&o).contains(name), "{}", text(&o));
    }

    let args = ["study", "vis", "--db", "ecmo.db", "--cohort", "cs_vis", "--bootstrap", "5", "--out"];
    let o = ecmo(&[&args[..], &["r1"]].concat(), d.path());
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("ROC vis_reduction_24h: AUC"), "{out}");
    assert!(out.contains("excluded"), "{out}");
    assert!(out.contains("missing data: "), "{out}");
    assert!(out.contains("added value of combined model over VIS reduction rate alone: AUC"), "{out}");
    assert!(out.contains("continuous NRI") && out.contains("IDI"), "{out}");
    assert!(out.contains("decision curve: "), "{out}");
    for f in ["report.html", "results.json", "table1.csv", "roc.csv", "subgroups.csv", "flow.csv", "tests.csv"] {
        assert!(d.path().join("r1").join(f).exists(), "{f} missing");
    }
    let o = ecmo(&[&args[..], &["r2"]].concat(), d.path());
    assert!(o.status.success(), "{}", text(&o));
    for f in ["report.html", "results.json", "table1.csv", "roc_comparisons.csv"] {
        let a = std::fs::read(d.path().join("r1").join(f)).unwrap();
        let b = std::fs::read(d.path().join("r2").join(f)).unwrap();
        assert!(a == b, "{f} differs between two runs on the same data");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("r1/results.json")).unwrap()).unwrap();
    assert_eq!(json["study"]["name"], "vis");
    assert!(json["study"]["definition_toml"].as_str().unwrap().contains("--cohort"));

    // The study's model as a model file the bedside reads.
    let o = ecmo(&["model", "fit", "vis", "--cohort", "cs_vis", "--bootstrap", "5", "--out", "vis.json"], d.path());
    assert!(o.status.success(), "{}", text(&o));
    let o = ecmo(&["model", "show", "vis.json", "--json"], d.path());
    assert!(o.status.success(), "{}", text(&o));
    let model: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> =
        model["predictors"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["vis_reduction_24h", "apache2_24h", "vis_at_24h", "lactate_t0"]);
    assert_eq!(model["development"]["synthetic"], true);
    assert_eq!(model["covariance"].as_array().unwrap().len(), 5);
    assert!(model["development"]["auc_optimism_corrected"].as_f64().is_some());
    assert_eq!(
        model["development"]["data_fingerprint"].as_str().unwrap(),
        format!("sha256:{}", json["provenance"]["data_fingerprint"].as_str().unwrap())
    );

    // A fixed date replaces the data's own date.
    let o = ecmo(
        &["study", "vad", "--cohort", "vad_referral", "--bootstrap", "5", "--date", "2026-02-03", "--out", "r3"],
        d.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(d.path().join("r3/report.html")).unwrap();
    assert!(html.contains("2026-02-03 (given with --date)"));
    assert!(d.path().join("r3/kaplan_meier.csv").exists());
    assert!(d.path().join("r3/decision_tree.csv").exists());
}

#[test]
fn custom_study_files_run_and_bad_ones_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let o = ecmo(&["demo", "--patients", "60"], d.path());
    assert!(o.status.success(), "{}", text(&o));
    let good = r#"
[study]
name = "lactate"
title = "Lactate and 30-day survival"

[population]
criteria = [{ column = "mode_va", op = "eq", value = 1, reason = "not VA-ECMO" }]

[outcome]
column = "survival_30d"
label = "alive at 30 days"
event_label = "alive"
non_event_label = "dead"

[table1]
variables = ["age_years", "lactate_t0", "etiology"]

[roc]
predictors = ["lactate_t0"]
"#;
    std::fs::write(d.path().join("lactate.toml"), good).unwrap();
    let o = ecmo(&["study", "lactate.toml", "--out", "custom"], d.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(d.path().join("custom/report.html").exists());
    assert!(d.path().join("custom/roc.csv").exists());

    std::fs::write(
        d.path().join("bad.toml"),
        good.replace("\"lactate_t0\", \"etiology\"", "\"lactate_0\", \"etiology\""),
    )
    .unwrap();
    let o = ecmo(&["study", "bad.toml", "--out", "bad"], d.path());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let msg = text(&o);
    assert!(
        msg.contains("bad.toml") && msg.contains("unknown column 'lactate_0'") && msg.contains("lactate_t0"),
        "{msg}"
    );
    assert!(!d.path().join("bad").exists(), "nothing is written for an invalid study");

    std::fs::write(d.path().join("typo.toml"), good.replace("[outcome]", "[outcome]\ncolum = \"x\"")).unwrap();
    let o = ecmo(&["study", "typo.toml", "--out", "typo"], d.path());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("colum"), "{}", text(&o));

    let o = ecmo(&["study", "nosuch", "--out", "x"], d.path());
    assert_eq!(o.status.code(), Some(3));
    assert!(text(&o).contains("weaning, vis, ecpr, vad"), "{}", text(&o));
    let o = ecmo(&["study", "vis", "--date", "03/02/2026", "--out", "x"], d.path());
    assert_eq!(o.status.code(), Some(3));
}
