//! ROC comparisons, NRI/IDI and decision curves against tests/golden/added_value.json
//! (pROC 1.18, Hmisc improveProb, explicit net-benefit formula), on R's own predictions.
mod common;
use common::*;
use ecmo_stats::decision::{decision_curve, net_benefit_difference};
use ecmo_stats::htest::Alternative;
use ecmo_stats::reclassification::{Nri, reclassification};
use ecmo_stats::roc::{Roc, RocDirection, delong_paired, roc};
use ecmo_stats::roc_compare::{bootstrap_youden, delong_multi};
use serde_json::Value;

struct Pred {
    y: Vec<f64>,
    base: Vec<f64>,
    mid: Vec<f64>,
    full: Vec<f64>,
}

fn pred() -> Pred {
    let d = local_csv("birthwt_pred.csv");
    Pred { y: csv_col(&d, "low"), base: csv_col(&d, "p_base"), mid: csv_col(&d, "p_mid"), full: csv_col(&d, "p_full") }
}

fn curve(y: &[f64], p: &[f64]) -> Roc {
    let c: Vec<bool> = y.iter().map(|v| *v == 1.0).collect();
    roc(p, &c, Some(RocDirection::ControlsLower)).unwrap()
}

#[test]
fn paired_difference_ci_and_k_curve_chi_square() {
    let g = local_golden("added_value.json");
    let d = pred();
    let (b, m, f) = (curve(&d.y, &d.base), curve(&d.y, &d.mid), curve(&d.y, &d.full));
    let t = delong_paired(&f, &b, Alternative::TwoSided).unwrap();
    let r = &g["roc_paired"];
    close(t.z, num(&r["z"]), 1e-9, "Z");
    close(t.p, num(&r["p"]), 1e-9, "p");
    let ci = nums(&r["diff_ci"]);
    close(t.diff_ci_low, ci[0], 1e-9, "diff CI low");
    close(t.diff_ci_high, ci[1], 1e-9, "diff CI high");
    let k = delong_multi(&[&b, &m, &f]).unwrap();
    let r = &g["roc_multi"];
    close_vec(&k.aucs, &nums(&r["aucs"]), 1e-12, "AUCs");
    let s = matrix_rows(&r["covariance"]);
    for (got, want) in k.covariance.rows().iter().zip(&s) {
        close_vec(got, want, 1e-9, "DeLong covariance");
    }
    close(k.statistic, num(&r["statistic"]), 1e-9, "chi-square");
    assert_eq!(k.df, 2.0);
    close(k.p, num(&r["p"]), 1e-9, "p");
}

#[test]
fn youden_cutoff_bootstrap_agrees_within_monte_carlo_error() {
    let g = &local_golden("added_value.json")["youden_bootstrap"];
    let d = pred();
    let f = curve(&d.y, &d.full);
    let bt = bootstrap_youden(&f, 2000, 0.95, 2026).unwrap();
    close(bt.threshold.estimate, nums(&g["best"]["threshold"])[0], 1e-12, "best threshold");
    // two independent runs of B = 2000: the SE of the difference of their means is
    // sqrt(2) sd / sqrt(B); allow 4 of those
    let sd = num(&g["manual_sd"]);
    let tol = 4.0 * (2.0f64).sqrt() * sd / (2000f64).sqrt();
    let diff = (bt.threshold.boot_mean - num(&g["manual_mean"])).abs();
    assert!(diff < tol, "bootstrap mean {} vs R {} (tol {tol})", bt.threshold.boot_mean, num(&g["manual_mean"]));
    assert!((bt.threshold.boot_sd / sd - 1.0).abs() < 0.15, "bootstrap SD {} vs R {sd}", bt.threshold.boot_sd);
    // percentile limits: the 2.5 % limit is stable; the upper tail is lumpy (R's two runs differ
    // by 0.05 there), so only the median and the lower limit are compared, to 0.03
    let q = nums(&g["manual_quantiles"]);
    assert!((bt.threshold.ci_low - q[0]).abs() < 0.03, "lower limit {} vs R {}", bt.threshold.ci_low, q[0]);
    assert!((bt.threshold.median - q[1]).abs() < 0.03, "median {} vs R {}", bt.threshold.median, q[1]);
    // same seed, same numbers
    assert_eq!(bt, bootstrap_youden(&f, 2000, 0.95, 2026).unwrap());
    // and over other seeds the mean stays within Monte-Carlo error of R's
    for seed in 1..=2 {
        let m = bootstrap_youden(&f, 2000, 0.95, seed).unwrap().threshold.boot_mean;
        assert!((m - num(&g["manual_mean"])).abs() < tol, "seed {seed}: mean {m}");
    }
}

fn check_nri(n: &Nri, g: &Value, what: &str) {
    close(n.up_events, num(&g["pup_ev"]), 1e-14, what);
    close(n.up_nonevents, num(&g["pup_ne"]), 1e-14, what);
    close(n.down_events, num(&g["pdown_ev"]), 1e-14, what);
    close(n.down_nonevents, num(&g["pdown_ne"]), 1e-14, what);
    close(n.nri.estimate, num(&g["nri"]), 1e-13, what);
    close(n.nri.se, num(&g["se_nri"]), 1e-12, what);
    close(n.nri.z, num(&g["z_nri"]), 1e-12, what);
    close(n.events.estimate, num(&g["nri_ev"]), 1e-13, what);
    close(n.events.se, num(&g["se_nri_ev"]), 1e-12, what);
    close(n.nonevents.estimate, num(&g["nri_ne"]), 1e-13, what);
    close(n.nonevents.se, num(&g["se_nri_ne"]), 1e-12, what);
}

#[test]
fn nri_and_idi_match_hmisc_improveprob() {
    let g = &local_golden("added_value.json")["reclassification"];
    let d = pred();
    let r = reclassification(&d.y, &d.base, &d.full, &[0.2, 0.4], 0.95).unwrap();
    let c = &g["continuous"];
    assert_eq!(r.events as f64, num(&c["na"]));
    check_nri(&r.nri_continuous, c, "continuous NRI");
    close(r.idi.estimate, num(&c["idi"]), 1e-12, "IDI");
    close(r.idi.se, num(&c["se_idi"]), 1e-12, "IDI SE");
    close(r.idi.z, num(&c["z_idi"]), 1e-12, "IDI z");
    check_nri(r.nri_categorical.as_ref().unwrap(), &g["categorical"], "categorical NRI");
}

#[test]
fn decision_curve_and_bootstrap_difference() {
    let g = &local_golden("added_value.json")["decision_curve"];
    let d = pred();
    let thr = nums(&g["thresholds"]);
    let dc = decision_curve(&d.y, &[("full", &d.full), ("base", &d.base)], &thr).unwrap();
    close_vec(&dc.models[0].net_benefit, &nums(&g["full"]), 1e-12, "NB full");
    close_vec(&dc.models[1].net_benefit, &nums(&g["base"]), 1e-12, "NB base");
    close_vec(&dc.treat_all, &nums(&g["treat_all"]), 1e-12, "treat all");
    let diff = net_benefit_difference(&d.y, ("full", &d.full), ("base", &d.base), &thr, 2000, 0.95, 5).unwrap();
    let gd = &g["difference"];
    let (est, mean, sd) = (nums(&gd["estimate"]), nums(&gd["boot_mean"]), nums(&gd["boot_sd"]));
    let (lo, hi) = (nums(&gd["ci_low"]), nums(&gd["ci_high"]));
    for (k, c) in diff.difference.iter().enumerate() {
        close(c.estimate, est[k], 1e-12, "NB difference");
        let se_mc = (2.0f64).sqrt() * sd[k] / (2000f64).sqrt();
        assert!(
            (c.boot_mean - mean[k]).abs() < 4.0 * se_mc,
            "threshold {}: boot mean {} vs R {}",
            thr[k],
            c.boot_mean,
            mean[k]
        );
        assert!((c.boot_sd / sd[k] - 1.0).abs() < 0.1, "threshold {}: boot sd {} vs R {}", thr[k], c.boot_sd, sd[k]);
        // percentile limits of two B = 2000 runs: within a quarter of the bootstrap SD
        assert!((c.ci_low - lo[k]).abs() < 0.25 * sd[k], "threshold {}: CI low {} vs R {}", thr[k], c.ci_low, lo[k]);
        assert!((c.ci_high - hi[k]).abs() < 0.25 * sd[k], "threshold {}: CI high {} vs R {}", thr[k], c.ci_high, hi[k]);
    }
}
