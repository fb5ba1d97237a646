//! `ecmo analyze` end to end: the real binary on the golden datasets, its JSON compared with
//! R's numbers in ../shared/golden (tolerances as in the ecmo-stats golden tests).

use serde_json::Value;
use std::process::{Command, Output};

fn golden_path(name: &str) -> String {
    format!("{}/../../../shared/golden/{}", env!("CARGO_MANIFEST_DIR"), name)
}

fn golden(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(golden_path(name)).unwrap()).unwrap()
}

fn ecmo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecmo")).args(args).output().unwrap()
}

fn json(args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let o = ecmo(&a);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn f(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::Array(a) if a.len() == 1 => f(&a[0]),
        other => panic!("not a number: {other}"),
    }
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    let scale = want.abs().max(1e-300);
    assert!(
        (got - want).abs() <= tol * scale.max(1.0) || (got - want).abs() / scale <= tol,
        "{what}: got {got}, R {want}"
    );
}

fn vec_of(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

const BIRTHWT_TERMS: &str = "age,lwt,race,smoke,ptl,ht,ui,ftv";

#[test]
fn logistic_matches_glm_on_birthwt() {
    let g = golden("logistic_birthwt.json");
    let fm = &g["full_model"];
    let path = golden_path("birthwt.csv");
    let r = json(&[
        "analyze",
        "logistic",
        "--data",
        &path,
        "--outcome",
        "low",
        "--predictors",
        BIRTHWT_TERMS,
        "--categorical",
        "race",
        "--reference",
        "race=1",
    ]);
    assert_eq!(r["n"], 189);
    assert_eq!(r["dropped"], 0);
    let coefs = r["coefficients"].as_array().unwrap();
    let terms: Vec<&str> = coefs.iter().map(|c| c["term"].as_str().unwrap()).collect();
    assert_eq!(terms, ["(Intercept)", "age", "lwt", "race=2", "race=3", "smoke", "ptl", "ht", "ui", "ftv"]);
    let ct = &fm["coefficients"];
    for (key, gkey) in [("coef", "estimate"), ("se", "std_error"), ("z", "z_value"), ("p", "p_value")] {
        let want = vec_of(&ct[gkey]);
        for (c, w) in coefs.iter().zip(&want) {
            close(f(&c[key]), *w, 1e-9, key);
        }
    }
    let or = &fm["odds_ratios"];
    for (key, gkey) in [("odds_ratio", "or"), ("ci_low", "wald_lower"), ("ci_high", "wald_upper")] {
        for (c, w) in coefs.iter().zip(&vec_of(&or[gkey])) {
            close(f(&c[key]), *w, 1e-9, key);
        }
    }
    let prof = &fm["profile_exact_ci"];
    for (key, gkey) in [("profile_ci_low", "or_lower"), ("profile_ci_high", "or_upper")] {
        for (c, w) in coefs.iter().zip(&vec_of(&prof[gkey])) {
            close(f(&c[key]), *w, 1e-8, key);
        }
    }
    for k in ["deviance", "null_deviance", "aic", "bic", "loglik"] {
        close(f(&r[k]), f(&fm[k]), 1e-12, k);
    }
    assert_eq!(r["iterations"].as_f64(), fm["iterations"].as_f64());
}

#[test]
fn stepaic_backward_path_and_final_model() {
    let g = golden("logistic_birthwt.json");
    let sb = &g["stepAIC"]["backward"];
    let path = golden_path("birthwt.csv");
    let r = json(&[
        "analyze",
        "logistic",
        &path,
        "--outcome",
        "low",
        "--predictors",
        BIRTHWT_TERMS,
        "--categorical",
        "race",
        "--stepwise",
        "backward",
    ]);
    let terms: Vec<&str> = r["terms"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    let want: Vec<&str> = sb["final_terms"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert_eq!(terms, want);
    close(f(&r["aic"]), f(&sb["final_aic"]), 1e-10, "final AIC");
    let fc = sb["final_coefficients"].as_object().unwrap();
    let coefs = r["coefficients"].as_array().unwrap();
    assert_eq!(coefs.len(), fc.len());
    for c in coefs {
        let term = c["term"].as_str().unwrap().replace("race=2", "raceblack").replace("race=3", "raceother");
        close(f(&c["coef"]), f(&fc[&term]), 1e-7, &term);
    }
    assert!(r["steps"].as_array().unwrap().len() >= 3);
}

#[test]
fn roc_matches_proc_on_asah() {
    let g = golden("roc_asah.json");
    let path = golden_path("asah.csv");
    let r = json(&["analyze", "roc", "--data", &path, "--outcome", "outcome", "--predictors", "s100b,ndka,wfns"]);
    assert_eq!(r["n"], 113);
    assert_eq!(r["outcome"]["positive"], "Poor");
    for p in r["predictors"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        let gr = &g["rocs"][name];
        assert_eq!(p["direction"], gr["direction"]);
        close(f(&p["auc"]), f(&gr["auc"]), 1e-12, "auc");
        close(f(&p["variance"]), f(&gr["var_delong"]), 1e-9, "variance");
        close(f(&p["ci_low"]), f(&gr["ci_delong_95"]["lower"]), 1e-9, "ci_low");
        close(f(&p["ci_high"]), f(&gr["ci_delong_95"]["upper"]), 1e-9, "ci_high");
        let y = &gr["best_youden"];
        close(f(&p["youden"]["threshold"]), f(&y["threshold"]), 1e-12, "youden threshold");
        close(f(&p["youden"]["sensitivity"]), f(&y["sensitivity"]), 1e-12, "youden sens");
        close(f(&p["youden"]["specificity"]), f(&y["specificity"]), 1e-12, "youden spec");
        let ncoords = gr["coords_all"]["threshold"].as_array().unwrap().len();
        assert_eq!(p["coords"].as_array().unwrap().len(), ncoords);
    }
    let cmp = r["comparisons"].as_array().unwrap();
    for (a, b, key) in [("s100b", "ndka", "s100b_vs_ndka"), ("s100b", "wfns", "s100b_vs_wfns")] {
        let c = cmp.iter().find(|c| c["a"] == a && c["b"] == b).unwrap();
        let gt = &g["paired_tests"][key];
        close(f(&c["z"]), f(&gt["Z"]), 1e-9, "Z");
        close(f(&c["p"]), f(&gt["p_value"]), 1e-9, "p");
    }
}

#[test]
fn survival_matches_survival_on_lung() {
    let g = golden("survival_lung.json");
    let path = golden_path("lung.csv");
    let r = json(&[
        "analyze",
        "survival",
        &path,
        "--time",
        "time",
        "--event",
        "status",
        "--by",
        "sex",
        "--cox",
        "age,sex,ph.ecog",
    ]);
    assert_eq!(r["event"]["positive"], "2");
    let t = &g["km_by_sex"]["table"];
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    for (i, gr) in groups.iter().enumerate() {
        assert_eq!(gr["name"], t["strata"][i]);
        assert_eq!(gr["n"].as_f64(), t["records"][i].as_f64());
        assert_eq!(gr["events"].as_f64(), t["events"][i].as_f64());
        close(f(&gr["median"]), f(&t["median"][i]), 1e-12, "median");
        close(f(&gr["median_ci_low"]), f(&t["median_lcl_95"][i]), 1e-12, "median lcl");
        close(f(&gr["median_ci_high"]), f(&t["median_ucl_95"][i]), 1e-12, "median ucl");
        close(f(&gr["rmean"]), f(&t["rmean"][i]), 1e-12, "rmean");
    }
    let lr = &g["logrank_sex"];
    close(f(&r["logrank"]["chisq"]), f(&lr["chisq"]), 1e-12, "log-rank chisq");
    close(f(&r["logrank"]["p"]), f(&lr["p_value"]), 1e-10, "log-rank p");
    let cx = &g["cox_efron"];
    let cox = &r["cox"];
    assert_eq!(cox["n"], 227);
    assert_eq!(cox["dropped"], 1);
    for (key, gkey) in [("coef", "coef"), ("hazard_ratio", "hr"), ("se", "se"), ("p", "p_value")] {
        for (c, w) in cox["coefficients"].as_array().unwrap().iter().zip(&vec_of(&cx["coefficients"][gkey])) {
            close(f(&c[key]), *w, 1e-7, key);
        }
    }
    close(f(&cox["lr_test"]["statistic"]), f(&cx["lr_test"]["chisq"]), 1e-7, "LR test");
    close(f(&cox["concordance"]), f(&cx["concordance"]["c_index"]), 1e-12, "concordance");
}

#[test]
fn table1_matches_r_tests_on_birthwt() {
    let g = golden("table1_birthwt.json");
    let path = golden_path("birthwt.csv");
    let r = json(&["analyze", "table1", &path, "--by", "low", "--vars", "age,lwt,race,smoke", "--categorical", "race"]);
    let vars = r["variables"].as_array().unwrap();
    let age = &vars[0];
    assert_eq!(age["kind"], "continuous");
    assert!(age["test"].as_str().unwrap().contains("Welch"));
    close(f(&age["statistic"]), f(&g["continuous"]["age"]["welch_t"]["statistic"]), 1e-12, "age t");
    close(f(&age["p"]), f(&g["continuous"]["age"]["welch_t"]["p_value"]), 1e-10, "age p");
    let s = &age["summaries"][1];
    assert_eq!(s["group"], "0");
    close(f(&s["mean"]), f(&g["continuous"]["age"]["low0"]["mean"]), 1e-12, "mean");
    let lwt = &vars[1];
    close(f(&lwt["p"]), f(&g["continuous"]["lwt"]["wilcoxon_cc"]["p_value"]), 1e-10, "lwt wilcoxon p");
    let race = &vars[2];
    assert_eq!(race["kind"], "categorical");
    close(f(&race["statistic"]), f(&g["categorical"]["race"]["chisq_yates"]["statistic"]), 1e-12, "race chisq");
    assert!(!race["reason"].as_str().unwrap().is_empty());
}

#[test]
fn calibration_matches_r_on_birthwt_fitted_probabilities() {
    let g = golden("calibration_birthwt.json");
    let a = &g["apparent"];
    let (y, p) = (vec_of(&a["y"]), vec_of(&a["p"]));
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("pred.csv");
    let mut text = String::from("y,p\n");
    for (yi, pi) in y.iter().zip(&p) {
        text.push_str(&format!("{yi},{pi:?}\n"));
    }
    std::fs::write(&file, text).unwrap();
    let path = file.display().to_string();
    let r = json(&["analyze", "calibration", &path, "--outcome", "y", "--predicted", "p", "--groups", "10"]);
    let hl = &a["hosmer_lemeshow_g10"];
    close(f(&r["hosmer_lemeshow"]["chisq"]), f(&hl["chisq"]), 1e-10, "HL chisq");
    close(f(&r["hosmer_lemeshow"]["p"]), f(&hl["p_value"]), 1e-10, "HL p");
    close(f(&r["calibration"]["brier"]), f(&a["calibration"]["brier"]), 1e-12, "brier");
}

#[test]
fn validate_runs_with_selection_and_is_seeded() {
    let path = golden_path("birthwt.csv");
    let args = [
        "analyze",
        "validate",
        &path,
        "--outcome",
        "low",
        "--predictors",
        BIRTHWT_TERMS,
        "--categorical",
        "race",
        "--select",
        "stepaic-backward",
        "--bootstrap",
        "20",
        "--seed",
        "7",
    ];
    let a = json(&args);
    let b = json(&args);
    assert_eq!(a, b);
    assert_eq!(a["replicates"], 20);
    let auc = a["indexes"].as_array().unwrap().iter().find(|i| i["name"] == "auc").unwrap();
    assert!(f(&auc["corrected"]) < f(&auc["apparent"]));
}

#[test]
fn bad_values_are_errors_naming_file_line_column_and_value() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("bad.csv");
    std::fs::write(&file, "y,x,g\n0,1.5,a\n1,2.5,b\n2,3.5,a\n1,oops,b\n0,NA,a\n").unwrap();
    let path = file.display().to_string();
    let o = ecmo(&["analyze", "logistic", &path, "--outcome", "y", "--predictors", "x"]);
    assert_eq!(o.status.code(), Some(3));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bad.csv line 4") && e.contains("'y'") && e.contains("'2'"), "{e}");
    // outcome fine, predictor not numeric: the line of the first non-numeric value
    std::fs::write(&file, "y,x\n0,1.5\n1,2.5\n0,oops\n1,NA\n").unwrap();
    let o = ecmo(&["analyze", "roc", &path, "--outcome", "y", "--predictors", "x"]);
    assert_eq!(o.status.code(), Some(3));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("line 4") && e.contains("'x'") && e.contains("oops"), "{e}");
    // missing values are dropped and counted
    std::fs::write(&file, "y,x\n0,1.5\n1,2.5\n0,0.5\n1,NA\n1,\n0,1\n1,3\n").unwrap();
    let r = json(&["analyze", "roc", &path, "--outcome", "y", "--predictors", "x"]);
    assert_eq!(r["n"], 5);
    assert_eq!(r["dropped"], 2);
    // unknown column
    let o = ecmo(&["analyze", "roc", &path, "--outcome", "y", "--predictors", "zz"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no column 'zz'"));
}

#[test]
fn text_output_is_readable() {
    let path = golden_path("birthwt.csv");
    let o = ecmo(&["analyze", "logistic", &path, "--outcome", "low", "--predictors", "age,lwt", "--no-profile"]);
    assert_eq!(o.status.code(), Some(0));
    let t = String::from_utf8_lossy(&o.stdout);
    for s in ["Estimate", "Std. Error", "Pr(>|z|)", "(Intercept)", "AIC", "Residual deviance", "dropped"] {
        assert!(t.contains(s), "missing {s} in\n{t}");
    }
}

#[test]
fn subgroup_matches_glm_anova_lrt_and_proc() {
    let gpath = format!("{}/../ecmo-stats/tests/golden/subgroup.json", env!("CARGO_MANIFEST_DIR"));
    let g: Value = serde_json::from_str(&std::fs::read_to_string(gpath).unwrap()).unwrap();
    let g = &g["age_by_race"];
    let path = golden_path("birthwt.csv");
    let r = json(&[
        "analyze",
        "subgroup",
        &path,
        "--outcome",
        "low",
        "--predictor",
        "age",
        "--by",
        "race",
        "--adjust",
        "smoke",
        "--no-profile",
    ]);
    let levels = r["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 3);
    for (got, want) in levels.iter().zip(g["levels"].as_array().unwrap()) {
        assert_eq!(f(&got["n"]), f(&want["n"]));
        assert_eq!(f(&got["events"]), f(&want["events"]));
        let c = &want["coefficients"][0];
        close(f(&got["predictor"][0]["odds_ratio"]), f(&c["or"]), 1e-9, "OR");
        close(f(&got["predictor"][0]["ci_low"]), f(&c["wald_ci"][0]), 1e-9, "Wald CI");
        close(f(&got["roc"]["auc"]), f(&want["roc"]["auc"]), 1e-12, "AUC");
    }
    let t = &r["interaction"];
    assert!(t["method"].as_str().unwrap().contains("likelihood-ratio"));
    close(f(&t["test"]["statistic"]), f(&g["interaction"]["statistic"]), 1e-7, "LR chi-square");
    assert_eq!(f(&t["test"]["df"]), 2.0);
    close(f(&t["test"]["p"]), f(&g["interaction"]["p"]), 1e-7, "LR p");
}

fn stats_golden(name: &str) -> (String, Value) {
    let dir = format!("{}/../ecmo-stats/tests/golden", env!("CARGO_MANIFEST_DIR"));
    let v = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}")).unwrap()).unwrap();
    (dir, v)
}

#[test]
fn reclassification_dca_and_roc_comparisons_match_r() {
    let (dir, g) = stats_golden("added_value.json");
    let data = format!("{dir}/birthwt_pred.csv");
    let r = json(&[
        "analyze",
        "reclassification",
        &data,
        "--outcome",
        "low",
        "--old",
        "p_base",
        "--new",
        "p_full",
        "--cutoffs",
        "0.2,0.4",
    ]);
    let c = &g["reclassification"]["continuous"];
    close(f(&r["nri_continuous"]["nri"]["estimate"]), f(&c["nri"]), 1e-12, "NRI");
    close(f(&r["nri_continuous"]["nri"]["se"]), f(&c["se_nri"]), 1e-12, "NRI SE");
    close(f(&r["idi"]["estimate"]), f(&c["idi"]), 1e-12, "IDI");
    close(
        f(&r["nri_categorical"]["nri"]["estimate"]),
        f(&g["reclassification"]["categorical"]["nri"]),
        1e-12,
        "cat NRI",
    );
    let r = json(&[
        "analyze",
        "dca",
        &data,
        "--outcome",
        "low",
        "--models",
        "p_full,p_base",
        "--thresholds",
        "0.05:0.6:0.05",
    ]);
    let nb = vec_of(&r["curve"]["models"][0]["net_benefit"]);
    for (a, b) in nb.iter().zip(vec_of(&g["decision_curve"]["full"])) {
        close(*a, b, 1e-12, "net benefit");
    }
    let r = json(&["analyze", "roc", &data, "--outcome", "low", "--predictors", "p_base,p_mid,p_full", "--no-coords"]);
    close(f(&r["all_equal"]["statistic"]), f(&g["roc_multi"]["statistic"]), 1e-9, "k-AUC chi-square");
}

#[test]
fn competing_risks_match_cmprsk() {
    let (dir, g) = stats_golden("competing_risks.json");
    let data = format!("{dir}/mgus2.csv");
    let r = json(&[
        "analyze",
        "competing",
        &data,
        "--time",
        "etime",
        "--status",
        "cause",
        "--by",
        "sex",
        "--finegray",
        "age,male",
    ]);
    let t = &g["cif_by_sex"]["tests"];
    close(f(&r["incidence"]["tests"][1]["statistic"]), vec_of(&t["stat"])[1], 1e-9, "Gray death");
    let coef: Vec<f64> = r["finegray"]["coefficients"].as_array().unwrap().iter().map(|c| f(&c["coef"])).collect();
    for (a, b) in coef.iter().zip(vec_of(&g["finegray_pcm"]["coef"])) {
        close(*a, b, 1e-9, "Fine-Gray coef");
    }
    assert_eq!(r["status"]["causes"], serde_json::json!(["1", "2"]));
}

#[test]
fn impute_pools_like_mice() {
    let (dir, g) = stats_golden("mice.json");
    let data = format!("{dir}/birthwt_mis.csv");
    let args = [
        "analyze",
        "impute",
        &data,
        "--outcome",
        "low",
        "--predictors",
        "age,lwt,race,smoke,ht",
        "--reference",
        "race=white",
        "--m",
        "20",
        "--seed",
        "3",
    ];
    let r = json(&args);
    assert!(r["missing_data"].as_str().unwrap().starts_with("multiple imputation"));
    assert_eq!(f(&r["complete_cases"]), 127.0);
    let est = vec_of(&g["pooled"]["estimate"]);
    let b = vec_of(&g["pooled"]["b"]);
    for (k, c) in r["model"]["coefficients"].as_array().unwrap().iter().enumerate() {
        // Monte-Carlo SD of the difference of two MI estimates (m = 20 here, 40 in R)
        let mc = (b[k] / 20.0 + b[k] / 40.0).sqrt();
        assert!(
            (f(&c["estimate"]) - est[k]).abs() < 4.0 * mc + 1e-9,
            "{}: {} vs R {}",
            c["term"],
            f(&c["estimate"]),
            est[k]
        );
    }
    let again = json(&args);
    assert_eq!(r["model"], again["model"], "same seed, same pooled model");
}
