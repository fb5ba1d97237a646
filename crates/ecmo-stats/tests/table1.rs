//! Table-1 descriptives and tests against table1_birthwt.json (R 4.2.2).
#![allow(clippy::needless_range_loop)]
mod common;
use common::*;
use ecmo_stats::describe::summarize;
use ecmo_stats::htest::{Table, chisq_test, fisher_test, t_test, wilcoxon_rank_sum};

const TOL: f64 = 1e-12;

#[test]
fn continuous_variables_match_r() {
    let g = golden("table1_birthwt.json");
    let data = csv("birthwt.csv");
    let low = csv_col(&data, "low");
    for var in ["age", "lwt", "ptl", "ftv", "bwt"] {
        let x = csv_col(&data, var);
        let x0: Vec<f64> = x.iter().zip(&low).filter(|(_, l)| **l == 0.0).map(|(v, _)| *v).collect();
        let x1: Vec<f64> = x.iter().zip(&low).filter(|(_, l)| **l == 1.0).map(|(v, _)| *v).collect();
        let b = &g["continuous"][var];
        for (key, sample) in [("overall", &x), ("low0", &x0), ("low1", &x1)] {
            let s = summarize(sample);
            let r = &b[key];
            let w = format!("{var}.{key}");
            assert_eq!(s.n as f64, num(&r["n"]), "{w}.n");
            close(s.mean, num(&r["mean"]), TOL, &format!("{w}.mean"));
            close(s.sd, num(&r["sd"]), TOL, &format!("{w}.sd"));
            close(s.median, num(&r["median"]), TOL, &format!("{w}.median"));
            close(s.q1, num(&r["q1"]), TOL, &format!("{w}.q1"));
            close(s.q3, num(&r["q3"]), TOL, &format!("{w}.q3"));
            close(s.iqr, num(&r["iqr"]), TOL, &format!("{w}.iqr"));
            close(s.min, num(&r["min"]), TOL, &format!("{w}.min"));
            close(s.max, num(&r["max"]), TOL, &format!("{w}.max"));
        }
        for (key, var_equal) in [("welch_t", false), ("student_t", true)] {
            let t = t_test(&x0, &x1, var_equal, 0.95).unwrap();
            let r = &b[key];
            let w = format!("{var}.{key}");
            assert_eq!(t.method, r["method"].as_str().unwrap());
            close(t.statistic, num(&r["statistic"]), TOL, &format!("{w}.t"));
            close(t.df, num(&r["parameter"]["df"]), TOL, &format!("{w}.df"));
            close(t.p, num(&r["p_value"]), 1e-10, &format!("{w}.p"));
            close(t.mean_x, num(&r["estimate"]["mean of x"]), TOL, &format!("{w}.mx"));
            close(t.mean_y, num(&r["estimate"]["mean of y"]), TOL, &format!("{w}.my"));
            let ci = nums(&r["conf_int"]);
            close(t.ci_low, ci[0], 1e-10, &format!("{w}.ci0"));
            close(t.ci_high, ci[1], 1e-10, &format!("{w}.ci1"));
        }
        for (key, correct) in [("wilcoxon_cc", true), ("wilcoxon_no_cc", false)] {
            let t = wilcoxon_rank_sum(&x0, &x1, correct, Some(false)).unwrap();
            let r = &b[key];
            let w = format!("{var}.{key}");
            assert_eq!(t.method, r["method"].as_str().unwrap());
            close(t.statistic, num(&r["statistic"]), TOL, &format!("{w}.W"));
            close(t.p, num(&r["p_value"]), 1e-10, &format!("{w}.p"));
        }
    }
}

#[test]
fn wilcoxon_exact_small_samples() {
    // Exact rank-sum test on small tie-free samples; checked by brute-force enumeration.
    let x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30];
    let y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.061, 3.15, 1.291];
    let t = wilcoxon_rank_sum(&x, &y, true, None).unwrap();
    assert!(t.exact);
    assert_eq!(t.statistic, 58.0);
    // exact two-sided p = 2 * P(W >= 58) for m = n = 9
    close(t.p, 2.0 * 3304.0 / 48620.0, 1e-12, "exact p"); // brute-force count of the 48620 splits
}

#[test]
fn categorical_variables_match_r() {
    let g = golden("table1_birthwt.json");
    for var in ["race", "smoke", "ht", "ui", "ftv_cat", "ptl_cat"] {
        let b = &g["categorical"][var];
        let rows = matrix_rows(&b["counts"]);
        let t = Table::from_rows(&rows).unwrap();
        let w = var.to_string();
        close_vec(&t.row_sums(), &nums(&b["row_totals"]), 0.0, &format!("{w}.row_totals"));
        close_vec(&t.col_sums(), &nums(&b["col_totals"]), 0.0, &format!("{w}.col_totals"));
        let cy = chisq_test(&t, true).unwrap();
        let r = &b["chisq_yates"];
        assert_eq!(cy.method, r["method"].as_str().unwrap(), "{w}");
        close(cy.statistic, num(&r["statistic"]), TOL, &format!("{w}.yates.stat"));
        close(cy.df, num(&r["parameter"]["df"]), 0.0, &format!("{w}.yates.df"));
        close(cy.p, num(&r["p_value"]), 1e-10, &format!("{w}.yates.p"));
        let exp = matrix_rows(&r["expected"]);
        for (a, e) in cy.expected.iter().zip(&exp) {
            close_vec(a, e, TOL, &format!("{w}.expected"));
        }
        assert_eq!(cy.warnings, strs(&r["r_warnings"]).to_vec(), "{w} warnings");
        let cn = chisq_test(&t, false).unwrap();
        let r = &b["chisq_no_correction"];
        assert_eq!(cn.method, r["method"].as_str().unwrap());
        close(cn.statistic, num(&r["statistic"]), TOL, &format!("{w}.chisq.stat"));
        close(cn.p, num(&r["p_value"]), 1e-10, &format!("{w}.chisq.p"));
        assert_eq!(cn.warnings, strs(&r["r_warnings"]).to_vec());
        let f = fisher_test(&t, 0.95).unwrap();
        let r = &b["fisher"];
        close(f.p, num(&r["p_value"]), 1e-9, &format!("{w}.fisher.p"));
        if t.nrow == 2 && t.ncol == 2 {
            close(f.odds_ratio.unwrap(), num(&r["estimate"]["odds ratio"]), 1e-8, &format!("{w}.fisher.or"));
            let ci = nums(&r["conf_int"]);
            close(f.ci_low.unwrap(), ci[0], 1e-8, &format!("{w}.fisher.ci0"));
            close(f.ci_high.unwrap(), ci[1], 1e-8, &format!("{w}.fisher.ci1"));
        } else {
            assert!(f.odds_ratio.is_none());
        }
        // column percentages
        let cp = matrix_rows(&b["col_percent"]);
        let cs = t.col_sums();
        for i in 0..t.nrow {
            for j in 0..t.ncol {
                close(100.0 * t.get(i, j) / cs[j], cp[i][j], TOL, &format!("{w}.colpct"));
            }
        }
    }
}
