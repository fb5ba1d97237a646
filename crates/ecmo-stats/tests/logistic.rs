//! Logistic regression against logistic_birthwt.json (R glm / MASS).
mod common;
use common::birthwt::{TERMS, birthwt};
use common::*;
use ecmo_stats::design::Design;
use ecmo_stats::logistic::{GlmControl, LogisticOptions, fit_logistic, wald_term_test};

fn full_fit(control: GlmControl, profile: bool) -> ecmo_stats::logistic::LogisticModel {
    let (f, y) = birthwt();
    let rows = f.complete_rows(&TERMS).unwrap();
    let d = Design::build(&f, &TERMS, &rows, true).unwrap();
    let opts = LogisticOptions { control, profile_ci: profile, ..Default::default() };
    fit_logistic(&d, &y, &opts).unwrap()
}

#[test]
fn full_model_matches_glm_default_control() {
    let g = golden("logistic_birthwt.json");
    let fm = &g["full_model"];
    let m = full_fit(GlmControl::default(), true);
    // glm.fit replicated step by step: same iteration count, SEs from the last IRLS weights.
    assert_eq!(m.iterations as f64, num(&fm["iterations"]));
    assert!(m.converged);
    assert_eq!(m.n as f64, num(&fm["n"]));
    let names = vec!["(Intercept)", "age", "lwt", "race=black", "race=other", "smoke", "ptl", "ht", "ui", "ftv"];
    let got: Vec<&str> = m.coefficients.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(got, names);
    let ct = &fm["coefficients"];
    let est: Vec<f64> = m.coefficients.iter().map(|c| c.coef).collect();
    let se: Vec<f64> = m.coefficients.iter().map(|c| c.se).collect();
    let z: Vec<f64> = m.coefficients.iter().map(|c| c.z).collect();
    let p: Vec<f64> = m.coefficients.iter().map(|c| c.p).collect();
    close_vec(&est, &nums(&ct["estimate"]), 1e-9, "estimate");
    close_vec(&se, &nums(&ct["std_error"]), 1e-9, "se");
    close_vec(&z, &nums(&ct["z_value"]), 1e-9, "z");
    close_vec(&p, &nums(&ct["p_value"]), 1e-9, "p");
    close(m.deviance, num(&fm["deviance"]), 1e-12, "deviance");
    close(m.null_deviance, num(&fm["null_deviance"]), 1e-12, "null deviance");
    assert_eq!(m.df_residual as f64, num(&fm["df_residual"]));
    assert_eq!(m.df_null as f64, num(&fm["df_null"]));
    close(m.aic, num(&fm["aic"]), 1e-12, "aic");
    close(m.bic, num(&fm["bic"]), 1e-12, "bic");
    close(m.loglik, num(&fm["loglik"]), 1e-12, "loglik");
    // vcov
    let v = matrix_rows(&fm["vcov"]);
    for (i, row) in v.iter().enumerate() {
        for (j, val) in row.iter().enumerate() {
            close(m.vcov.get(i, j), *val, 1e-8, &format!("vcov[{i},{j}]"));
        }
    }
    close_vec(&m.fitted, &nums(&fm["fitted_probabilities"]), 1e-9, "fitted");
    close_vec(&m.linear_predictor, &nums(&fm["linear_predictors"]), 1e-8, "linear predictors");
    // odds ratios with Wald CI
    let or = &fm["odds_ratios"];
    let orv: Vec<f64> = m.coefficients.iter().map(|c| c.odds_ratio).collect();
    close_vec(&orv, &nums(&or["or"]), 1e-9, "or");
    let lo: Vec<f64> = m.coefficients.iter().map(|c| c.ci_low).collect();
    let hi: Vec<f64> = m.coefficients.iter().map(|c| c.ci_high).collect();
    close_vec(&lo, &nums(&or["wald_lower"]), 1e-9, "wald lower");
    close_vec(&hi, &nums(&or["wald_upper"]), 1e-9, "wald upper");
    let ls = &fm["log_scale_ci"];
    close_vec(&lo.iter().map(|v| v.ln()).collect::<Vec<_>>(), &nums(&ls["wald_lower"]), 1e-9, "log wald lower");
    close_vec(&hi.iter().map(|v| v.ln()).collect::<Vec<_>>(), &nums(&ls["wald_upper"]), 1e-9, "log wald upper");
    // profile CIs: exact roots vs profile_exact_ci (1e-8); MASS's spline-interpolated ones 1e-4.
    let plo: Vec<f64> = m.coefficients.iter().map(|c| c.profile_ci_low.unwrap()).collect();
    let phi: Vec<f64> = m.coefficients.iter().map(|c| c.profile_ci_high.unwrap()).collect();
    let pe = &fm["profile_exact_ci"];
    close_vec(&plo, &nums(&pe["or_lower"]), 1e-8, "profile exact or lower");
    close_vec(&phi, &nums(&pe["or_upper"]), 1e-8, "profile exact or upper");
    close_vec(&plo.iter().map(|v| v.ln()).collect::<Vec<_>>(), &nums(&pe["lower"]), 1e-8, "profile exact lower");
    close_vec(&phi.iter().map(|v| v.ln()).collect::<Vec<_>>(), &nums(&pe["upper"]), 1e-8, "profile exact upper");
    // MASS interpolates the profile with a spline: ~1e-4 on the log scale (golden README),
    // which is up to ~2.5e-4 relative on the OR scale for wide intervals (ht: OR upper 27.7).
    close_vec(&plo, &nums(&or["profile_lower"]), 2.5e-4, "MASS profile lower");
    close_vec(&phi, &nums(&or["profile_upper"]), 2.5e-4, "MASS profile upper");
    // on the log-odds scale: absolute 2e-4 (the golden file's own MASS-vs-exact gap reaches 1.22e-4, ht upper)
    for (got, r) in plo.iter().zip(nums(&ls["profile_lower"])).chain(phi.iter().zip(nums(&ls["profile_upper"]))) {
        assert!((got.ln() - r).abs() < 2e-4, "MASS log-scale profile limit {} vs {r}", got.ln());
    }
    assert!(m.separation.is_none());
    assert!(m.warnings.is_empty());
}

#[test]
fn full_model_tight_matches_exact_mle() {
    let g = golden("logistic_birthwt.json");
    let ft = &g["full_model_tight"];
    let m = full_fit(GlmControl::tight(), false);
    assert_eq!(m.iterations as f64, num(&ft["iterations"]));
    let ct = &ft["coefficients"];
    close_vec(&m.coefficients.iter().map(|c| c.coef).collect::<Vec<_>>(), &nums(&ct["estimate"]), 1e-9, "estimate");
    close_vec(&m.coefficients.iter().map(|c| c.se).collect::<Vec<_>>(), &nums(&ct["std_error"]), 1e-9, "se");
    close_vec(&m.coefficients.iter().map(|c| c.z).collect::<Vec<_>>(), &nums(&ct["z_value"]), 1e-9, "z");
    close_vec(&m.coefficients.iter().map(|c| c.p).collect::<Vec<_>>(), &nums(&ct["p_value"]), 1e-9, "p");
    close(m.deviance, num(&ft["deviance"]), 1e-13, "deviance");
    let v = matrix_rows(&ft["vcov"]);
    for (i, row) in v.iter().enumerate() {
        for (j, val) in row.iter().enumerate() {
            close(m.vcov.get(i, j), *val, 1e-8, &format!("vcov[{i},{j}]"));
        }
    }
}

#[test]
fn null_model_matches() {
    let g = golden("logistic_birthwt.json");
    let nm = &g["null_model"];
    let (f, y) = birthwt();
    let rows: Vec<usize> = (0..f.nrows()).collect();
    let d = Design::build(&f, &[], &rows, true).unwrap();
    let m = fit_logistic(&d, &y, &LogisticOptions::default()).unwrap();
    assert_eq!(m.iterations as f64, num(&nm["iterations"]));
    let ct = &nm["coefficients"];
    close(m.coefficients[0].coef, nums(&ct["estimate"])[0], 1e-9, "est");
    close(m.coefficients[0].se, nums(&ct["std_error"])[0], 1e-9, "se");
    close(m.coefficients[0].z, nums(&ct["z_value"])[0], 1e-9, "z");
    close(m.coefficients[0].p, nums(&ct["p_value"])[0], 1e-8, "p");
    close(m.deviance, num(&nm["deviance"]), 1e-12, "dev");
    close(m.null_deviance, num(&nm["null_deviance"]), 1e-12, "null dev");
    close(m.aic, num(&nm["aic"]), 1e-12, "aic");
    close(m.bic, num(&nm["bic"]), 1e-12, "bic");
    close(m.loglik, num(&nm["loglik"]), 1e-12, "loglik");
}

#[test]
fn term_wald_tests_match_pvalue_backward_first_step() {
    let g = golden("logistic_birthwt.json");
    let tab = &g["pvalue_backward"]["wald"]["steps"][0]["table"];
    let m = full_fit(GlmControl::default(), false);
    let terms = strs(&tab["term"]);
    let chis = nums(&tab["wald_chisq"]);
    let ps = nums(&tab["p_value"]);
    let dfs = nums(&tab["df"]);
    for (i, t) in terms.iter().enumerate() {
        let w = wald_term_test(&m, t).unwrap();
        close(w.statistic, chis[i], 1e-8, &format!("wald {t}"));
        close(w.df, dfs[i], 0.0, &format!("df {t}"));
        close(w.p, ps[i], 1e-8, &format!("p {t}"));
    }
}

#[test]
fn separation_is_detected_and_firth_is_finite() {
    use ecmo_stats::design::{Column, Frame};
    // x perfectly separates y for x = 1 (all events) -> quasi-complete separation
    let x = vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    let y = vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    let mut f = Frame::new();
    f.push("x", Column::Numeric(x)).unwrap();
    let rows: Vec<usize> = (0..10).collect();
    let d = Design::build(&f, &["x"], &rows, true).unwrap();
    let m = fit_logistic(&d, &y, &LogisticOptions { profile_ci: false, ..Default::default() }).unwrap();
    let s = m.separation.expect("separation detected");
    assert_eq!(s.kind, "quasi-complete");
    let fm = fit_logistic(&d, &y, &LogisticOptions { profile_ci: false, firth: true, ..Default::default() }).unwrap();
    assert!(fm.converged);
    assert!(fm.coefficients.iter().all(|c| c.coef.is_finite() && c.se.is_finite()));
    // logistf(y ~ x): intercept log(2.5/4.5) = -0.5877867, x: log((4.5/0.5)/(2.5/4.5)) = 2.7850112
    // (Firth with one binary covariate = adding 1/2 to each cell)
    close(fm.coefficients[0].coef, (2.5f64 / 4.5).ln(), 1e-8, "firth intercept");
    close(fm.coefficients[1].coef, (4.5f64 / 0.5).ln() - (2.5f64 / 4.5).ln(), 1e-8, "firth slope");
}
