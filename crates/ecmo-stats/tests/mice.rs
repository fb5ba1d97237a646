//! Multiple imputation against tests/golden/mice.json (mice 3.15 on birthwt with values
//! deleted at random): Rubin's rules exactly on R's own per-imputation fits; the imputations
//! (different random numbers) within Monte-Carlo error of R's pooled estimates.
mod common;
use common::*;
use ecmo_stats::design::{Column, Frame};
use ecmo_stats::mice::{MiceOptions, mice, pool_rubin, pooled_logistic, validate_mi};

const TERMS: [&str; 5] = ["age", "lwt", "race", "smoke", "ht"];

fn frame() -> Frame {
    let d = local_csv("birthwt_mis.csv");
    let mut f = Frame::new();
    for c in ["low", "age", "lwt", "smoke", "ht"] {
        f.push(c, Column::Numeric(csv_col(&d, c))).unwrap();
    }
    let race = csv_str(&d, "race");
    let rv: Vec<Option<&str>> = race.iter().map(|s| if s == "NA" { None } else { Some(s.as_str()) }).collect();
    let levels = vec!["white".to_string(), "black".into(), "other".into()];
    f.push("race", Column::categorical(&rv, Some(levels), None).unwrap()).unwrap();
    f
}

#[test]
fn rubins_rules_match_mice_pool() {
    let g = local_golden("mice.json");
    let per = g["per_imputation"].as_array().unwrap();
    let est: Vec<Vec<f64>> = per.iter().map(|p| nums(&p["coef"])).collect();
    let var: Vec<Vec<f64>> =
        per.iter().map(|p| matrix_rows(&p["vcov"]).iter().enumerate().map(|(j, r)| r[j]).collect()).collect();
    let terms = strs(&g["terms"]);
    let pooled = pool_rubin(&terms, &est, &var, num(&g["pooled"]["dfcom"]), 0.95).unwrap();
    let r = &g["pooled"];
    for (j, p) in pooled.iter().enumerate() {
        for (got, key, tol) in [
            (p.estimate, "estimate", 1e-12),
            (p.se, "std_error", 1e-12),
            (p.statistic, "statistic", 1e-12),
            (p.df, "df", 1e-10),
            (p.p, "p", 1e-9),
            (p.ci_low, "ci_low", 1e-10),
            (p.ci_high, "ci_high", 1e-10),
            (p.ubar, "ubar", 1e-12),
            (p.b, "b", 1e-12),
            (p.t, "t", 1e-12),
            (p.riv, "riv", 1e-12),
            (p.lambda, "lambda", 1e-12),
            (p.fmi, "fmi", 1e-10),
        ] {
            close(got, nums(&r[key])[j], tol, &format!("{} {key}", p.term));
        }
    }
}

#[test]
fn chained_equations_agree_with_mice_within_monte_carlo_error() {
    let g = local_golden("mice.json");
    let f = frame();
    let (m, m_r) = (20, num(&g["m"]));
    let opts = MiceOptions { m, maxit: 10, seed: 77, donors: 5 };
    let imp = mice(&f, &opts).unwrap();
    let methods: Vec<&str> = imp.columns.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, vec!["", "", "pmm", "logreg", "", "polyreg"]);
    assert_eq!(imp, mice(&f, &opts).unwrap(), "same seed, same imputations");
    let p = pooled_logistic(&imp, "low", &TERMS, 0.95).unwrap();
    let r = &g["pooled"];
    let (est, b_r, se_r) = (nums(&r["estimate"]), nums(&r["b"]), nums(&r["std_error"]));
    for (j, c) in p.coefficients.iter().enumerate() {
        // two independent MI runs: Monte-Carlo SD of each pooled estimate is sqrt(B/m)
        let mc = (b_r[j] / m_r + c.b / m as f64).sqrt();
        assert!(
            (c.estimate - est[j]).abs() < 4.0 * mc,
            "{}: {} vs R {} (4 MC SE {})",
            c.term,
            c.estimate,
            est[j],
            4.0 * mc
        );
        assert!((c.se / se_r[j] - 1.0).abs() < 0.1, "{}: SE {} vs R {}", c.term, c.se, se_r[j]);
    }
    let a = &g["pooled_auc"];
    let sd = (nums(&a["per_imputation"]).iter().map(|v| (v - num(&a["auc"])).powi(2)).sum::<f64>() / m as f64).sqrt();
    assert!(
        (p.auc.auc - num(&a["auc"])).abs() < 4.0 * (2.0 * sd * sd / m as f64).sqrt() + 1e-3,
        "pooled AUC {}",
        p.auc.auc
    );
}

#[test]
fn bootstrap_with_imputation_inside_gives_finite_optimism() {
    let f = frame();
    let v = validate_mi(&f, "low", &TERMS, &MiceOptions { m: 2, maxit: 3, seed: 5, donors: 5 }, 6, 9).unwrap();
    assert_eq!(v.successful, 6);
    let auc = v.indexes.iter().find(|i| i.name == "auc").unwrap();
    assert!(auc.optimism > 0.0 && auc.corrected < auc.apparent, "{auc:?}");
}
