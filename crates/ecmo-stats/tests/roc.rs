//! ROC / DeLong against roc_asah.json (pROC 1.18.0).
mod common;
use common::*;
use ecmo_stats::htest::Alternative;
use ecmo_stats::roc::{Coord, Roc, RocDirection, bootstrap_auc_ci, ci_delong, delong_paired, delong_unpaired, roc};
use serde_json::Value;

struct Asah {
    outcome: Vec<String>,
    gender: Vec<String>,
    cols: std::collections::HashMap<&'static str, Vec<f64>>,
}

fn asah() -> Asah {
    let d = csv("asah.csv");
    let mut cols = std::collections::HashMap::new();
    for c in ["s100b", "ndka", "wfns", "age"] {
        cols.insert(c, csv_col(&d, c));
    }
    Asah { outcome: csv_str(&d, "outcome"), gender: csv_str(&d, "gender"), cols }
}

fn build(name: &str) -> Roc {
    let a = asah();
    let poor: Vec<bool> = a.outcome.iter().map(|o| o == "Poor").collect();
    let sub = |sex: &str, x: &[f64]| -> (Vec<f64>, Vec<bool>) {
        let keep: Vec<usize> = (0..x.len()).filter(|&i| a.gender[i] == sex).collect();
        (keep.iter().map(|&i| x[i]).collect(), keep.iter().map(|&i| poor[i]).collect())
    };
    match name {
        "s100b" | "ndka" | "wfns" | "age" => roc(&a.cols[name], &poor, None).unwrap(),
        "s100b_levels_reversed" => {
            let good: Vec<bool> = poor.iter().map(|p| !p).collect();
            roc(&a.cols["s100b"], &good, None).unwrap()
        }
        "s100b_forced_gt" => roc(&a.cols["s100b"], &poor, Some(RocDirection::ControlsHigher)).unwrap(),
        "neg_s100b" => {
            let neg: Vec<f64> = a.cols["s100b"].iter().map(|v| -v).collect();
            roc(&neg, &poor, None).unwrap()
        }
        "s100b_male" => {
            let (x, c) = sub("Male", &a.cols["s100b"]);
            roc(&x, &c, None).unwrap()
        }
        "s100b_female" => {
            let (x, c) = sub("Female", &a.cols["s100b"]);
            roc(&x, &c, None).unwrap()
        }
        _ => panic!("unknown curve {name}"),
    }
}

fn check_coords(mine: &[Coord], g: &Value, w: &str, with_all: bool) {
    let th = nums(&g["threshold"]);
    assert_eq!(mine.len(), th.len(), "{w}: number of coords");
    let get = |f: fn(&Coord) -> f64| mine.iter().map(f).collect::<Vec<_>>();
    close_vec(&get(|c| c.threshold), &th, 1e-15, &format!("{w}.threshold"));
    close_vec(&get(|c| c.specificity), &nums(&g["specificity"]), 1e-14, &format!("{w}.specificity"));
    close_vec(&get(|c| c.sensitivity), &nums(&g["sensitivity"]), 1e-14, &format!("{w}.sensitivity"));
    if with_all {
        close_vec(&get(|c| c.tp), &nums(&g["tp"]), 1e-12, &format!("{w}.tp")); // pROC derives counts as sens * n in floating point
        close_vec(&get(|c| c.fp), &nums(&g["fp"]), 1e-12, &format!("{w}.fp"));
        close_vec(&get(|c| c.tn), &nums(&g["tn"]), 1e-12, &format!("{w}.tn"));
        close_vec(&get(|c| c.fn_), &nums(&g["fn"]), 1e-12, &format!("{w}.fn"));
    }
    if let Some(y) = g.get("youden") {
        close_vec(&get(|c| c.youden), &nums(y), 1e-14, &format!("{w}.youden"));
    }
    if let Some(y) = g.get("closest.topleft") {
        close_vec(&get(|c| c.closest_topleft), &nums(y), 1e-13, &format!("{w}.closest.topleft"));
    }
}

#[test]
fn every_curve_matches_proc() {
    let g = golden("roc_asah.json");
    for (name, rg) in g["rocs"].as_object().unwrap() {
        let r = build(name);
        let w = name.as_str();
        assert_eq!(r.direction.symbol(), rg["direction"].as_str().unwrap(), "{w}: direction");
        assert_eq!(r.n_controls as f64, num(&rg["n_controls"]));
        assert_eq!(r.n_cases as f64, num(&rg["n_cases"]));
        close(r.auc, num(&rg["auc"]), 1e-12, &format!("{w}.auc"));
        close(r.variance, num(&rg["var_delong"]), 1e-9, &format!("{w}.var"));
        close(r.se, num(&rg["se_delong"]), 1e-9, &format!("{w}.se"));
        let c95 = &rg["ci_delong_95"];
        close(r.ci_low, num(&c95["lower"]), 1e-9, &format!("{w}.ci95.lower"));
        close(r.ci_high, num(&c95["upper"]), 1e-9, &format!("{w}.ci95.upper"));
        close(r.auc, num(&c95["auc"]), 1e-12, &format!("{w}.ci95.auc"));
        let (l90, h90) = ci_delong(&r, 0.90);
        close(l90, num(&rg["ci_delong_90"]["lower"]), 1e-9, &format!("{w}.ci90.lower"));
        close(h90, num(&rg["ci_delong_90"]["upper"]), 1e-9, &format!("{w}.ci90.upper"));
        let pl = &rg["delong_placements"];
        close(r.auc, num(&pl["theta"]), 1e-12, &format!("{w}.theta"));
        close_vec(&r.placements_cases, &nums(&pl["X_cases"]), 1e-12, &format!("{w}.X"));
        close_vec(&r.placements_controls, &nums(&pl["Y_controls"]), 1e-12, &format!("{w}.Y"));
        close_vec(&r.cases, &nums(&rg["cases"]), 0.0, &format!("{w}.cases"));
        close_vec(&r.controls, &nums(&rg["controls"]), 0.0, &format!("{w}.controls"));
        check_coords(&r.coords, &rg["coords_all"], &format!("{w}.coords"), true);
        check_coords(&r.best_youden, &rg["best_youden"], &format!("{w}.best_youden"), false);
        check_coords(&r.best_closest_topleft, &rg["best_closest_topleft"], &format!("{w}.best_ctl"), false);
    }
}

#[test]
fn paired_tests_match_proc() {
    let g = golden("roc_asah.json");
    let pairs = [
        ("s100b_vs_ndka", "s100b", "ndka"),
        ("s100b_vs_wfns", "s100b", "wfns"),
        ("wfns_vs_age", "wfns", "age"),
        ("ndka_vs_age", "ndka", "age"),
    ];
    for (key, a, b) in pairs {
        let t = &g["paired_tests"][key];
        let (ra, rb) = (build(a), build(b));
        let r = delong_paired(&ra, &rb, Alternative::TwoSided).unwrap();
        close(r.z, num(&t["Z"]), 1e-9, &format!("{key}.Z"));
        close(r.p, num(&t["p_value"]), 1e-9, &format!("{key}.p"));
        close(r.auc1, num(&t["auc1"]), 1e-12, &format!("{key}.auc1"));
        close(r.auc2, num(&t["auc2"]), 1e-12, &format!("{key}.auc2"));
        close(r.covariance, num(&t["cov_delong"]), 1e-9, &format!("{key}.cov"));
        close(ra.variance, num(&t["var1_delong"]), 1e-9, &format!("{key}.var1"));
        close(rb.variance, num(&t["var2_delong"]), 1e-9, &format!("{key}.var2"));
        let ci = nums(&t["diff_ci_95"]);
        close(r.diff_ci_low, ci[0], 1e-9, &format!("{key}.ci0"));
        close(r.diff_ci_high, ci[1], 1e-9, &format!("{key}.ci1"));
    }
    let t = &g["paired_tests"]["s100b_vs_ndka_greater"];
    let r = delong_paired(&build("s100b"), &build("ndka"), Alternative::Greater).unwrap();
    close(r.z, num(&t["Z"]), 1e-9, "greater.Z");
    close(r.p, num(&t["p_value"]), 1e-9, "greater.p");
}

#[test]
fn unpaired_tests_match_proc() {
    let g = golden("roc_asah.json");
    for (key, a, b) in
        [("s100b_vs_ndka_forced_unpaired", "s100b", "ndka"), ("s100b_male_vs_female", "s100b_male", "s100b_female")]
    {
        let t = &g["unpaired_tests"][key];
        let (ra, rb) = (build(a), build(b));
        let r = delong_unpaired(&ra, &rb, Alternative::TwoSided);
        close(r.d, num(&t["D"]), 1e-9, &format!("{key}.D"));
        close(r.df, num(&t["df"]), 1e-9, &format!("{key}.df"));
        close(r.p, num(&t["p_value"]), 1e-9, &format!("{key}.p"));
        close(r.auc1, num(&t["auc1"]), 1e-12, &format!("{key}.auc1"));
        close(r.auc2, num(&t["auc2"]), 1e-12, &format!("{key}.auc2"));
        close(ra.variance, num(&t["var1_delong"]), 1e-9, &format!("{key}.var1"));
        close(rb.variance, num(&t["var2_delong"]), 1e-9, &format!("{key}.var2"));
    }
}

#[test]
fn bootstrap_ci_is_seeded_and_sensible() {
    let r = build("s100b");
    let a = bootstrap_auc_ci(&r, 2000, 0.95, 42).unwrap();
    let b = bootstrap_auc_ci(&r, 2000, 0.95, 42).unwrap();
    assert_eq!(a, b, "same seed, same result");
    // close to the DeLong interval (pROC's bootstrap on aSAH gives about 0.63-0.83)
    assert!((a.ci_low - r.ci_low).abs() < 0.03, "{a:?}");
    assert!((a.ci_high - r.ci_high).abs() < 0.03, "{a:?}");
    assert!((a.se - r.se).abs() < 0.01);
    let c = bootstrap_auc_ci(&r, 2000, 0.95, 43).unwrap();
    assert_ne!(a.ci_low, c.ci_low);
}
