//! Survival against survival_lung.json (survival 3.5-3).
#![allow(clippy::needless_range_loop)]
mod common;
use common::*;
use ecmo_stats::survival::{ConfType, KaplanMeier, Ties, cox_ph, kaplan_meier, logrank_test, survival_quantile};
use serde_json::Value;

struct Lung {
    time: Vec<f64>,
    status: Vec<f64>,
    sex: Vec<f64>,
    age: Vec<f64>,
    ecog: Vec<f64>,
}

fn lung() -> Lung {
    let d = csv("lung.csv");
    Lung {
        time: csv_col(&d, "time"),
        status: csv_col(&d, "status"),
        sex: csv_col(&d, "sex"),
        age: csv_col(&d, "age"),
        ecog: csv_col(&d, "ph.ecog"),
    }
}

fn km_groups(ct: ConfType) -> (KaplanMeier, Vec<KaplanMeier>) {
    let l = lung();
    let ev: Vec<bool> = l.status.iter().map(|s| *s == 2.0).collect();
    let tmax = l.time.iter().copied().fold(f64::MIN, f64::max);
    let all = kaplan_meier("all", &l.time, &ev, ct, 0.95, Some(tmax)).unwrap();
    let by: Vec<KaplanMeier> = [1.0, 2.0]
        .iter()
        .map(|s| {
            let idx: Vec<usize> = (0..l.time.len()).filter(|&i| l.sex[i] == *s).collect();
            let t: Vec<f64> = idx.iter().map(|&i| l.time[i]).collect();
            let e: Vec<bool> = idx.iter().map(|&i| ev[i]).collect();
            kaplan_meier(&format!("sex={}", *s as i32), &t, &e, ct, 0.95, Some(tmax)).unwrap()
        })
        .collect();
    (all, by)
}

fn check_km(kms: &[&KaplanMeier], g: &Value, w: &str) {
    let at = &g["all_times"];
    let rows: Vec<_> = kms.iter().flat_map(|k| k.table.iter()).collect();
    let strata: Vec<String> = kms.iter().flat_map(|k| k.table.iter().map(|_| k.name.clone())).collect();
    assert_eq!(strata, strs(&at["strata"]), "{w}: strata");
    let col = |f: fn(&ecmo_stats::survival::KmRow) -> f64| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    close_vec(&col(|r| r.time), &nums(&at["time"]), 0.0, &format!("{w}.time"));
    close_vec(&col(|r| r.n_risk), &nums(&at["n_risk"]), 0.0, &format!("{w}.n_risk"));
    close_vec(&col(|r| r.n_event), &nums(&at["n_event"]), 0.0, &format!("{w}.n_event"));
    close_vec(&col(|r| r.n_censor), &nums(&at["n_censor"]), 0.0, &format!("{w}.n_censor"));
    close_vec(&col(|r| r.surv), &nums(&at["surv"]), 1e-12, &format!("{w}.surv"));
    close_vec(&col(|r| r.std_err_cumhaz), &nums(&at["std_err_cumhaz"]), 1e-12, &format!("{w}.std_err"));
    close_vec(&col(|r| r.se), &nums(&at["std_err_surv"]), 1e-12, &format!("{w}.std_err_surv"));
    close_vec(&col(|r| r.lower), &nums(&at["lower"]), 1e-12, &format!("{w}.lower"));
    close_vec(&col(|r| r.upper), &nums(&at["upper"]), 1e-12, &format!("{w}.upper"));
    close_vec(&col(|r| r.cumhaz), &nums(&at["cumhaz"]), 1e-12, &format!("{w}.cumhaz"));
    close_vec(&col(|r| r.std_chaz), &nums(&at["std_chaz"]), 1e-12, &format!("{w}.std_chaz"));
    // summary(fit): event times only
    let es = &g["event_times_summary"];
    let ev: Vec<_> = rows.iter().filter(|r| r.n_event > 0.0).collect();
    close_vec(&ev.iter().map(|r| r.time).collect::<Vec<_>>(), &nums(&es["time"]), 0.0, "summary.time");
    close_vec(&ev.iter().map(|r| r.n_risk).collect::<Vec<_>>(), &nums(&es["n_risk"]), 0.0, "summary.n_risk");
    close_vec(&ev.iter().map(|r| r.surv).collect::<Vec<_>>(), &nums(&es["surv"]), 1e-12, "summary.surv");
    close_vec(&ev.iter().map(|r| r.se).collect::<Vec<_>>(), &nums(&es["std_err"]), 1e-12, "summary.std_err");
    close_vec(&ev.iter().map(|r| r.lower).collect::<Vec<_>>(), &nums(&es["lower"]), 1e-12, "summary.lower");
    close_vec(&ev.iter().map(|r| r.upper).collect::<Vec<_>>(), &nums(&es["upper"]), 1e-12, "summary.upper");
    // table
    let tb = &g["table"];
    for (i, k) in kms.iter().enumerate() {
        let ww = format!("{w}.table[{i}]");
        assert_eq!(k.n as f64, nums(&tb["records"])[i], "{ww}.records");
        assert_eq!(k.events as f64, nums(&tb["events"])[i], "{ww}.events");
        close(k.rmean, nums(&tb["rmean"])[i], 1e-12, &format!("{ww}.rmean"));
        close(k.se_rmean, nums(&tb["se_rmean"])[i], 1e-10, &format!("{ww}.se_rmean"));
        close(k.median.unwrap_or(f64::NAN), nums(&tb["median"])[i], 0.0, &format!("{ww}.median"));
        close(k.median_ci_low.unwrap_or(f64::NAN), nums(&tb["median_lcl_95"])[i], 0.0, &format!("{ww}.lcl"));
        close(k.median_ci_high.unwrap_or(f64::NAN), nums(&tb["median_ucl_95"])[i], 0.0, &format!("{ww}.ucl"));
        close(k.rmean_endtime, nums(&g["rmean_endtime"])[i], 0.0, "rmean_endtime");
        let q = &g["quantiles"][k.name.as_str()];
        for (j, pr) in nums(&q["prob"]).iter().enumerate() {
            let sq = survival_quantile(k, *pr);
            close(sq.time.unwrap_or(f64::NAN), nums(&q["time"])[j], 0.0, &format!("{ww}.q{pr}"));
            close(sq.ci_low.unwrap_or(f64::NAN), nums(&q["lower_95"])[j], 0.0, &format!("{ww}.q{pr}.lo"));
            close(sq.ci_high.unwrap_or(f64::NAN), nums(&q["upper_95"])[j], 0.0, &format!("{ww}.q{pr}.hi"));
        }
    }
}

fn check_ci(kms: &[&KaplanMeier], g: &Value, w: &str) {
    let rows: Vec<_> = kms.iter().flat_map(|k| k.table.iter()).collect();
    close_vec(&rows.iter().map(|r| r.lower).collect::<Vec<_>>(), &nums(&g["lower"]), 1e-12, &format!("{w}.lower"));
    close_vec(&rows.iter().map(|r| r.upper).collect::<Vec<_>>(), &nums(&g["upper"]), 1e-12, &format!("{w}.upper"));
}

#[test]
fn kaplan_meier_matches_survfit() {
    let g = golden("survival_lung.json");
    let (all, by) = km_groups(ConfType::Log);
    check_km(&[&all], &g["km_overall"], "overall");
    check_km(&[&by[0], &by[1]], &g["km_by_sex"], "by_sex");
    let (all, by) = km_groups(ConfType::LogLog);
    check_ci(&[&all], &g["km_overall"]["ci_loglog"], "overall.loglog");
    check_ci(&[&by[0], &by[1]], &g["km_by_sex"]["ci_loglog"], "by_sex.loglog");
    let (all, by) = km_groups(ConfType::Plain);
    check_ci(&[&all], &g["km_overall"]["ci_plain"], "overall.plain");
    check_ci(&[&by[0], &by[1]], &g["km_by_sex"]["ci_plain"], "by_sex.plain");
}

#[test]
fn logrank_and_peto_match_survdiff() {
    let g = golden("survival_lung.json");
    let l = lung();
    let ev: Vec<bool> = l.status.iter().map(|s| *s == 2.0).collect();
    let grp: Vec<usize> = l.sex.iter().map(|s| *s as usize - 1).collect();
    let names = vec!["sex=1".to_string(), "sex=2".to_string()];
    for (key, rho) in [("logrank_sex", 0.0), ("peto_sex", 1.0)] {
        let r = logrank_test(&l.time, &ev, &grp, &names, rho).unwrap();
        let gl = &g[key];
        assert_eq!(r.groups, strs(&gl["groups"]));
        close_vec(&r.n.iter().map(|v| *v as f64).collect::<Vec<_>>(), &nums(&gl["n"]), 0.0, "n");
        close_vec(&r.observed, &nums(&gl["observed"]), 1e-12, &format!("{key}.observed"));
        close_vec(&r.expected, &nums(&gl["expected"]), 1e-12, &format!("{key}.expected"));
        let v = matrix_rows(&gl["variance"]);
        for i in 0..2 {
            for j in 0..2 {
                close(r.variance.get(i, j), v[i][j], 1e-12, &format!("{key}.var"));
            }
        }
        close(r.chisq, num(&gl["chisq"]), 1e-12, &format!("{key}.chisq"));
        close(r.df, num(&gl["df"]), 0.0, "df");
        close(r.p, num(&gl["p_value"]), 1e-10, &format!("{key}.p"));
    }
}

#[test]
fn cox_matches_coxph() {
    let g = golden("survival_lung.json");
    let l = lung();
    let keep: Vec<usize> = (0..l.time.len()).filter(|&i| !l.ecog[i].is_nan()).collect();
    let time: Vec<f64> = keep.iter().map(|&i| l.time[i]).collect();
    let ev: Vec<bool> = keep.iter().map(|&i| l.status[i] == 2.0).collect();
    let x: Vec<f64> = keep.iter().flat_map(|&i| [l.age[i], l.sex[i], l.ecog[i]]).collect();
    let names: Vec<String> = ["age", "sex", "ph.ecog"].iter().map(|s| s.to_string()).collect();
    for (key, ties) in [("cox_efron", Ties::Efron), ("cox_breslow", Ties::Breslow), ("cox_exact", Ties::Exact)] {
        let m = cox_ph(&time, &ev, &x, &names, ties, 0.95).unwrap();
        let c = &g[key];
        let w = key;
        assert_eq!(m.n as f64, num(&c["n"]));
        assert_eq!(m.events as f64, num(&c["nevent"]));
        assert_eq!(m.iterations as f64, num(&c["iterations"]), "{w} iterations");
        let ct = &c["coefficients"];
        let get =
            |f: fn(&ecmo_stats::survival::CoxCoefficient) -> f64| m.coefficients.iter().map(f).collect::<Vec<_>>();
        close_vec(&get(|c| c.coef), &nums(&ct["coef"]), 1e-7, &format!("{w}.coef"));
        close_vec(&get(|c| c.hazard_ratio), &nums(&ct["hr"]), 1e-7, &format!("{w}.hr"));
        close_vec(&get(|c| c.se), &nums(&ct["se"]), 1e-7, &format!("{w}.se"));
        close_vec(&get(|c| c.z), &nums(&ct["z"]), 1e-7, &format!("{w}.z"));
        close_vec(&get(|c| c.p), &nums(&ct["p_value"]), 1e-6, &format!("{w}.p"));
        close_vec(&get(|c| c.ci_low), &nums(&ct["hr_lower_95"]), 1e-7, &format!("{w}.lo"));
        close_vec(&get(|c| c.ci_high), &nums(&ct["hr_upper_95"]), 1e-7, &format!("{w}.hi"));
        let v = matrix_rows(&c["vcov"]);
        for i in 0..3 {
            for j in 0..3 {
                close(m.vcov.get(i, j), v[i][j], 1e-7, &format!("{w}.vcov"));
            }
        }
        close(m.loglik_null, num(&c["loglik_null"]), 1e-12, &format!("{w}.ll0"));
        close(m.loglik, num(&c["loglik"]), 1e-10, &format!("{w}.ll"));
        for (t, mine) in [("lr_test", m.lr_test), ("wald_test", m.wald_test), ("score_test", m.score_test)] {
            close(mine.statistic, num(&c[t]["chisq"]), 1e-7, &format!("{w}.{t}"));
            close(mine.df, num(&c[t]["df"]), 0.0, &format!("{w}.{t}.df"));
            close(mine.p, num(&c[t]["p_value"]), 1e-6, &format!("{w}.{t}.p"));
        }
        let cc = &c["concordance"];
        close(m.concordance.c_index, num(&cc["c_index"]), 1e-12, &format!("{w}.C"));
        close(m.concordance.concordant, num(&cc["concordant"]), 0.0, "concordant");
        close(m.concordance.discordant, num(&cc["discordant"]), 0.0, "discordant");
        close(m.concordance.tied_x, num(&cc["tied_x"]), 0.0, "tied_x");
        close(m.concordance.tied_y, num(&cc["tied_y"]), 0.0, "tied_y");
        close(m.concordance.tied_xy, num(&cc["tied_xy"]), 0.0, "tied_xy");
        close(m.concordance.se, num(&cc["se"]), 1e-10, &format!("{w}.C se"));
        // cox.zph (survival 3 score test, km transform): per covariate and global
        let z = &c["cox_zph"];
        let zp = &m.proportional_hazards;
        let got_chisq: Vec<f64> = zp.terms.iter().map(|t| t.chisq).chain([zp.global.chisq]).collect();
        let got_p: Vec<f64> = zp.terms.iter().map(|t| t.p).chain([zp.global.p]).collect();
        close_vec(&got_chisq, &nums(&z["chisq"]), 1e-6, &format!("{w}.zph chisq"));
        close_vec(&got_p, &nums(&z["p_value"]), 1e-6, &format!("{w}.zph p"));
        let means = &c["means"];
        close_vec(&m.means, &[num(&means["age"]), num(&means["sex"]), num(&means["ph.ecog"])], 1e-12, "means");
        let bh = &c["baseline_cumhaz_uncentered"];
        close_vec(&m.baseline_cumhaz.iter().map(|b| b.0).collect::<Vec<_>>(), &nums(&bh["time"]), 0.0, "bh.time");
        close_vec(
            &m.baseline_cumhaz.iter().map(|b| b.1).collect::<Vec<_>>(),
            &nums(&bh["cumhaz"]),
            1e-6,
            &format!("{w}.bh"),
        );
    }
}
