//! rms::fastbw and rms::validate(bw = TRUE) against tests/golden/fastbw.json (rms 6.5).
mod common;
use common::*;
use ecmo_stats::design::Design;
use ecmo_stats::fastbw::fastbw;
use ecmo_stats::logistic::{GlmControl, LogisticOptions, fit_logistic};
use ecmo_stats::validate::{Selection, validate_logistic};

fn full() -> (Design, Vec<f64>) {
    let (f, y) = birthwt::birthwt();
    let rows: Vec<usize> = (0..f.nrows()).collect();
    (Design::build(&f, &birthwt::TERMS, &rows, true).unwrap(), y)
}

#[test]
fn fastbw_matches_rms() {
    let g = local_golden("fastbw.json");
    let (d, y) = full();
    let opts = LogisticOptions { control: GlmControl::tight(), profile_ci: false, ..Default::default() };
    let m = fit_logistic(&d, &y, &opts).unwrap();
    let coef: Vec<f64> = m.coefficients.iter().map(|c| c.coef).collect();
    // lrm stops at its own tolerance, ~3e-7 from the exact MLE
    close_vec(&coef, &nums(&g["coef_full"]), 1e-6, "lrm coefficients");
    let r = fastbw(&m, 2.0).unwrap();
    let deleted: Vec<String> = r.deleted.iter().map(|s| s.term.clone()).collect();
    assert_eq!(deleted, strs(&g["deleted"]));
    assert_eq!(r.kept, strs(&g["kept"]));
    let get = |f: fn(&ecmo_stats::fastbw::FastBwStep) -> f64| r.deleted.iter().map(f).collect::<Vec<_>>();
    close_vec(&get(|s| s.chisq), &nums(&g["chisq"]), 1e-6, "chisq");
    close_vec(&get(|s| s.residual), &nums(&g["residual"]), 1e-6, "residual");
    close_vec(&get(|s| s.aic), &nums(&g["aic"]), 1e-6, "aic");
    close_vec(&get(|s| s.p), &nums(&g["p"]), 1e-6, "p");
    close_vec(&r.coefficients, &nums(&g["approx_coef"]), 1e-6, "approximate coefficients");
}

#[test]
fn validate_with_fastbw_agrees_with_rms_within_monte_carlo_error() {
    let g = local_golden("fastbw.json");
    let (d, y) = full();
    let v = validate_logistic(&d, &y, &birthwt::TERMS, &Selection::FastBw, 200, 3).unwrap();
    assert_eq!(v.selected_terms, vec!["lwt", "race", "smoke", "ht"]);
    let runs = g["validate"].as_array().unwrap();
    let names = strs(&runs[0]["index"]);
    for (ours, theirs) in [("dxy", "Dxy"), ("r2", "R2"), ("intercept", "Intercept"), ("slope", "Slope"), ("brier", "B")]
    {
        let k = names.iter().position(|n| n == theirs).unwrap();
        let o: Vec<f64> = runs.iter().map(|r| nums(&r["optimism"])[k]).collect();
        let mean = o.iter().sum::<f64>() / o.len() as f64;
        let sd = (o.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (o.len() - 1) as f64).sqrt();
        let idx = v.indexes.iter().find(|i| i.name == ours).unwrap();
        // one B = 200 run against the mean of ten: SD of the difference sqrt(sd^2 + sd^2/10)
        let tol = 4.0 * (sd * sd * 1.1).sqrt();
        assert!((idx.optimism - mean).abs() < tol, "{ours}: optimism {} vs rms {mean} (tol {tol})", idx.optimism);
        close(idx.apparent, nums(&runs[0]["apparent"])[k], 1e-6, &format!("{ours} apparent"));
    }
}
