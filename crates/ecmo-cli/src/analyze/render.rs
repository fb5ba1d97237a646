//! Plain-text (R-like) rendering of the analysis reports.

use crate::output::table;
use ecmo_analysis::BinaryCoding;
use ecmo_analysis::added_value::{DecisionReport, ReclassificationReport, StabilityReport};
use ecmo_analysis::calibration::CalibrationReport;
use ecmo_analysis::competing::CompetingReport;
use ecmo_analysis::impute::ImputeReport;
use ecmo_analysis::logistic::LogisticReport;
use ecmo_analysis::roc::RocReport;
use ecmo_analysis::subgroup::SubgroupReport;
use ecmo_analysis::survival::SurvivalReport;
use ecmo_analysis::table1::Table1Report;
use ecmo_analysis::validate::ValidateReport;
use std::fmt::Write;

/// `v` with `sig` significant digits, R-like (fixed notation unless very small or large).
pub fn num(v: f64, sig: usize) -> String {
    if v.is_nan() {
        return "NA".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if v == 0.0 {
        return "0".into();
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-5..15).contains(&mag) {
        let s = format!("{:.*e}", sig.saturating_sub(1), v);
        return match s.split_once("e-") {
            Some((m, e)) if e.len() == 1 => format!("{m}e-0{e}"),
            _ => s,
        };
    }
    let decimals = (sig as i32 - 1 - mag).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// p-value as R prints it (`< 2e-16` below machine precision).
pub fn pval(p: f64) -> String {
    if p.is_nan() {
        "NA".into()
    } else if p < 2.2e-16 {
        "< 2e-16".into()
    } else if p < 1e-4 {
        let s = format!("{p:.2e}");
        match s.split_once("e-") {
            Some((m, e)) if e.len() == 1 => format!("{m}e-0{e}"),
            _ => s,
        }
    } else {
        num(p, 4)
    }
}

fn opt(v: Option<f64>, sig: usize) -> String {
    v.map(|x| num(x, sig)).unwrap_or_else(|| "NA".into())
}

fn stars(p: f64) -> &'static str {
    match p {
        p if p < 0.001 => "***",
        p if p < 0.01 => "**",
        p if p < 0.05 => "*",
        p if p < 0.1 => ".",
        _ => "",
    }
}

fn header(out: &mut String, title: &str, source: &str) {
    let _ = writeln!(out, "{title}\nData: {source}");
}

fn coding(c: &BinaryCoding) -> String {
    match &c.negative {
        Some(n) => format!("{}: '{}' counted as 1, '{}' as 0", c.column, c.positive, n),
        None => format!("{}: '{}' counted as 1", c.column, c.positive),
    }
}

fn rows_line(out: &mut String, n: usize, dropped: usize) {
    let _ = writeln!(out, "Rows used: {n}; dropped for missing values: {dropped}");
}

/// Table 1.
pub fn table1(r: &Table1Report) -> String {
    let mut out = String::new();
    header(&mut out, &format!("Table 1 by {}", r.group), &r.source);
    rows_line(&mut out, r.n, r.dropped);
    let mut head: Vec<String> = vec!["Variable".into(), "Overall".into()];
    for (g, n) in r.groups.iter().zip(&r.group_n) {
        head.push(format!("{}={} (n={})", r.group, g, n));
    }
    head.extend(["Test".into(), "Statistic".into(), "p".into()]);
    let mut rows = Vec::new();
    for v in &r.variables {
        let test_cells = |rows: &mut Vec<Vec<String>>, mut cells: Vec<String>| {
            cells.push(v.test.clone());
            cells.push(format!(
                "{}{}",
                num(v.statistic, 4),
                v.df.map(|d| format!(" (df {})", num(d, 4))).unwrap_or_default()
            ));
            cells.push(pval(v.p));
            rows.push(cells);
        };
        if v.kind == "continuous" {
            let fmt_mean =
                |s: &ecmo_analysis::stats::describe::Summary| format!("{} ({})", num(s.mean, 4), num(s.sd, 3));
            let fmt_med = |s: &ecmo_analysis::stats::describe::Summary| {
                format!("{} [{}, {}]", num(s.median, 4), num(s.q1, 4), num(s.q3, 4))
            };
            let mut cells = vec![format!("{}, mean (SD)", v.name)];
            cells.extend(v.summaries.iter().map(|s| fmt_mean(&s.summary)));
            test_cells(&mut rows, cells);
            let mut cells = vec!["  median [Q1, Q3]".to_string()];
            cells.extend(v.summaries.iter().map(|s| fmt_med(&s.summary)));
            cells.extend(["".into(), "".into(), "".into()]);
            rows.push(cells);
            if v.summaries.iter().any(|s| s.summary.missing > 0) {
                let mut cells = vec!["  missing".to_string()];
                cells.extend(v.summaries.iter().map(|s| s.summary.missing.to_string()));
                cells.extend(["".into(), "".into(), "".into()]);
                rows.push(cells);
            }
        } else {
            let mut cells = vec![format!("{}, n (%)", v.name), "".into()];
            cells.extend(r.groups.iter().map(|_| String::new()));
            test_cells(&mut rows, cells);
            for l in &v.levels {
                let total: f64 = l.counts.iter().sum();
                let all: f64 = v.levels.iter().flat_map(|x| x.counts.iter()).sum();
                let mut cells = vec![format!("  {}", l.level), format!("{} ({:.1}%)", total, 100.0 * total / all)];
                cells.extend(l.counts.iter().zip(&l.percent).map(|(c, p)| format!("{c} ({p:.1}%)")));
                cells.extend(["".into(), "".into(), "".into()]);
                rows.push(cells);
            }
            if v.missing.iter().any(|&m| m > 0) {
                let mut cells = vec!["  missing".to_string(), v.missing.iter().sum::<usize>().to_string()];
                cells.extend(v.missing.iter().map(|m| m.to_string()));
                cells.extend(["".into(), "".into(), "".into()]);
                rows.push(cells);
            }
        }
    }
    let h: Vec<&str> = head.iter().map(|s| s.as_str()).collect();
    out.push('\n');
    out.push_str(&table(&h, &rows));
    out.push_str("\nWhy each test:\n");
    for v in &r.variables {
        let _ = writeln!(out, "  {}: {} ({})", v.name, v.test, v.reason);
    }
    out
}

/// Logistic regression.
pub fn logistic(r: &LogisticReport) -> String {
    let mut out = String::new();
    header(&mut out, &format!("Logistic regression ({})", r.method), &r.source);
    let _ = writeln!(out, "Outcome {}; {} events in {} rows", coding(&r.outcome), r.events, r.n);
    rows_line(&mut out, r.n, r.dropped);
    let _ = writeln!(out, "Missing data: {}", r.missing_data);
    if !r.steps.is_empty() {
        let _ = writeln!(out, "\nSelection: {}", r.selection);
        for s in &r.steps {
            let aic = s.aic.map(|a| format!(", AIC {}", num(a, 6))).unwrap_or_default();
            let _ = writeln!(out, "Step {}: model [{}]{} -> {}", s.step, s.model_terms.join(" + "), aic, s.action);
        }
        let _ = writeln!(out, "Final terms: {}", if r.terms.is_empty() { "(none)".into() } else { r.terms.join(", ") });
    }
    let rows: Vec<Vec<String>> = r
        .coefficients
        .iter()
        .map(|c| vec![c.term.clone(), num(c.coef, 6), num(c.se, 6), num(c.z, 4), pval(c.p), stars(c.p).to_string()])
        .collect();
    out.push_str("\nCoefficients:\n");
    out.push_str(&table(&["Term", "Estimate", "Std. Error", "z value", "Pr(>|z|)", ""], &rows));
    let profile = r.coefficients.iter().any(|c| c.profile_ci_low.is_some());
    let rows: Vec<Vec<String>> = r
        .coefficients
        .iter()
        .map(|c| {
            let mut v = vec![c.term.clone(), num(c.odds_ratio, 5), num(c.ci_low, 5), num(c.ci_high, 5)];
            if profile {
                v.push(opt(c.profile_ci_low, 5));
                v.push(opt(c.profile_ci_high, 5));
            }
            v
        })
        .collect();
    out.push_str("\nOdds ratios with 95% CI:\n");
    let mut h = vec!["Term", "OR", "Wald low", "Wald high"];
    if profile {
        h.extend(["Profile low", "Profile high"]);
    }
    out.push_str(&table(&h, &rows));
    let _ = writeln!(
        out,
        "\nNull deviance: {} on {} df\nResidual deviance: {} on {} df\nlogLik: {}  AIC: {}  BIC: {}",
        num(r.null_deviance, 7),
        r.df_null,
        num(r.deviance, 7),
        r.df_residual,
        num(r.loglik, 7),
        num(r.aic, 7),
        num(r.bic, 7)
    );
    let _ = writeln!(
        out,
        "LR test vs intercept-only: chi-square {} on {} df, p {}",
        num(r.lr_test.statistic, 5),
        r.lr_test.df,
        pval(r.lr_test.p)
    );
    let _ = writeln!(
        out,
        "Fisher scoring iterations: {}{}",
        r.iterations,
        if r.converged { "" } else { " (NOT converged)" }
    );
    if let Some(s) = &r.separation {
        let _ = writeln!(out, "\nWARNING: {}", s.message);
    }
    for w in &r.warnings {
        let _ = writeln!(out, "Warning: {w}");
    }
    out
}

/// ROC.
pub fn roc(r: &RocReport) -> String {
    let mut out = String::new();
    header(&mut out, "ROC analysis (pROC conventions, DeLong)", &r.source);
    let _ = writeln!(out, "Outcome {} (cases)", coding(&r.outcome));
    rows_line(&mut out, r.n, r.dropped);
    let rows: Vec<Vec<String>> = r
        .predictors
        .iter()
        .map(|p| {
            let y = p.youden.as_ref();
            let mut v = vec![
                p.name.clone(),
                format!("controls {} cases", p.direction.symbol()),
                format!("{}/{}", p.n_controls, p.n_cases),
                num(p.auc, 4),
                format!("{}-{}", num(p.ci_low, 4), num(p.ci_high, 4)),
                y.map(|c| num(c.threshold, 4)).unwrap_or_default(),
                y.map(|c| num(c.sensitivity, 3)).unwrap_or_default(),
                y.map(|c| num(c.specificity, 3)).unwrap_or_default(),
            ];
            if let Some(b) = &p.bootstrap {
                v.push(format!("{}-{}", num(b.ci_low, 4), num(b.ci_high, 4)));
            }
            v
        })
        .collect();
    let mut h =
        vec!["Predictor", "Direction", "Controls/cases", "AUC", "95% CI (DeLong)", "Youden thr.", "Sens", "Spec"];
    if r.predictors.iter().any(|p| p.bootstrap.is_some()) {
        h.push("95% CI (bootstrap)");
    }
    out.push('\n');
    out.push_str(&table(&h, &rows));
    if !r.comparisons.is_empty() {
        let rows: Vec<Vec<String>> = r
            .comparisons
            .iter()
            .map(|c| {
                vec![
                    format!("{} vs {}", c.a, c.b),
                    num(c.auc_a - c.auc_b, 4),
                    format!("{} to {}", num(c.diff_ci_low, 4), num(c.diff_ci_high, 4)),
                    num(c.z, 4),
                    pval(c.p),
                ]
            })
            .collect();
        out.push_str("\nPaired DeLong tests (two-sided):\n");
        out.push_str(&table(&["Comparison", "AUC diff", "95% CI", "Z", "p"], &rows));
    }
    if let Some(m) = &r.all_equal {
        let _ = writeln!(
            out,
            "\nAll {} AUCs equal: {}: chi-square {} on {} df, p {}",
            m.aucs.len(),
            m.method,
            num(m.statistic, 5),
            m.df,
            pval(m.p)
        );
    }
    for p in &r.predictors {
        if let Some(b) = &p.youden_bootstrap {
            let _ = writeln!(
                out,
                "\n{}: Youden-optimal cut-off {} (95% bootstrap CI {} to {}; {} stratified resamples, seed {}); \
                 sensitivity {} ({}-{}), specificity {} ({}-{})",
                p.name,
                num(b.threshold.estimate, 4),
                num(b.threshold.ci_low, 4),
                num(b.threshold.ci_high, 4),
                b.replicates,
                b.seed,
                num(b.sensitivity.estimate, 3),
                num(b.sensitivity.ci_low, 3),
                num(b.sensitivity.ci_high, 3),
                num(b.specificity.estimate, 3),
                num(b.specificity.ci_low, 3),
                num(b.specificity.ci_high, 3)
            );
        }
    }
    out
}

/// Survival.
pub fn survival(r: &SurvivalReport, full: bool) -> String {
    let mut out = String::new();
    header(&mut out, "Survival analysis", &r.source);
    let _ = writeln!(out, "Event {}", coding(&r.event));
    rows_line(&mut out, r.n, r.dropped);
    let rows: Vec<Vec<String>> = r
        .groups
        .iter()
        .map(|g| {
            vec![
                g.name.clone(),
                g.n.to_string(),
                g.events.to_string(),
                opt(g.median, 6),
                opt(g.median_ci_low, 6),
                opt(g.median_ci_high, 6),
                num(g.rmean, 6),
                num(g.se_rmean, 5),
            ]
        })
        .collect();
    out.push_str("\nKaplan-Meier:\n");
    out.push_str(&table(&["Group", "n", "events", "median", "0.95LCL", "0.95UCL", "rmean", "se(rmean)"], &rows));
    for g in &r.groups {
        let _ = writeln!(out, "\n{}:", g.name);
        let limit = if full { usize::MAX } else { 30 };
        let rows: Vec<Vec<String>> = g
            .table
            .iter()
            .filter(|k| k.n_event > 0.0)
            .take(limit)
            .map(|k| {
                vec![
                    num(k.time, 6),
                    num(k.n_risk, 8),
                    num(k.n_event, 8),
                    num(k.surv, 4),
                    num(k.se, 4),
                    num(k.lower, 4),
                    num(k.upper, 4),
                ]
            })
            .collect();
        out.push_str(&table(
            &["time", "n.risk", "n.event", "survival", "std.err", "lower 95% CI", "upper 95% CI"],
            &rows,
        ));
        let shown = g.table.iter().filter(|k| k.n_event > 0.0).count();
        if shown > limit {
            let _ = writeln!(out, "... {} more event times (--full-table or --json)", shown - limit);
        }
    }
    if let Some(l) = &r.logrank {
        let _ = writeln!(out, "\nLog-rank test: chisq {} on {} df, p {}", num(l.chisq, 5), l.df, pval(l.p));
    }
    if let Some(c) = &r.cox {
        let _ = writeln!(
            out,
            "\nCox proportional hazards ({:?} ties): n {}, events {}, dropped {}",
            c.ties, c.n, c.events, c.dropped
        );
        let rows: Vec<Vec<String>> = c
            .coefficients
            .iter()
            .map(|k| {
                vec![
                    k.term.clone(),
                    num(k.coef, 6),
                    num(k.hazard_ratio, 6),
                    num(k.se, 6),
                    num(k.z, 4),
                    pval(k.p),
                    num(k.ci_low, 5),
                    num(k.ci_high, 5),
                ]
            })
            .collect();
        out.push_str(&table(
            &["Term", "coef", "exp(coef)", "se(coef)", "z", "Pr(>|z|)", "lower .95", "upper .95"],
            &rows,
        ));
        let _ = writeln!(out, "Concordance: {} (se {})", num(c.concordance, 4), num(c.concordance_detail.se, 4));
        let ph = &c.proportional_hazards;
        let rows: Vec<Vec<String>> = ph
            .terms
            .iter()
            .chain(std::iter::once(&ph.global))
            .map(|t| vec![t.term.clone(), num(t.chisq, 4), num(t.df, 2), pval(t.p)])
            .collect();
        out.push_str("Proportional hazards (cox.zph, km transform):\n");
        out.push_str(&table(&["Term", "chisq", "df", "p"], &rows));
        for (name, t) in [("Likelihood ratio", &c.lr_test), ("Wald", &c.wald_test), ("Score (logrank)", &c.score_test)]
        {
            let _ = writeln!(out, "{name} test: {} on {} df, p {}", num(t.statistic, 5), t.df, pval(t.p));
        }
    }
    out
}

/// Calibration.
pub fn calibration(r: &CalibrationReport) -> String {
    let mut out = String::new();
    header(&mut out, "Calibration", &r.source);
    let _ = writeln!(out, "Outcome {}", coding(&r.outcome));
    rows_line(&mut out, r.n, r.dropped);
    let c = &r.calibration;
    let _ = writeln!(
        out,
        "\nBrier {} (scaled {}); mean observed {}, mean predicted {}",
        num(c.brier, 5),
        num(c.brier_scaled, 4),
        num(c.mean_observed, 4),
        num(c.mean_predicted, 4)
    );
    let _ = writeln!(out, "Calibration slope {} (SE {})", num(c.slope, 5), num(c.slope_se, 4));
    let _ = writeln!(out, "Calibration-in-the-large {} (SE {})", num(c.citl, 5), num(c.citl_se, 4));
    let v = &r.val_prob;
    let _ = writeln!(out, "C (AUC) {}; Dxy {}; Nagelkerke R2 {}", num(v.c, 4), num(v.dxy, 4), num(v.r2, 4));
    let h = &r.hosmer_lemeshow;
    let _ = writeln!(
        out,
        "\nHosmer-Lemeshow (g = {}, quantile groups of the predictions): X-squared {} on {} df, p {}",
        h.g,
        num(h.chisq, 5),
        h.df,
        pval(h.p)
    );
    let rows: Vec<Vec<String>> = h
        .groups
        .iter()
        .map(|g| {
            vec![g.interval.clone(), g.n.to_string(), num(g.obs1, 6), num(g.exp1, 5), num(g.obs0, 6), num(g.exp0, 5)]
        })
        .collect();
    out.push_str(&table(&["Group", "n", "obs 1", "exp 1", "obs 0", "exp 0"], &rows));
    let rows: Vec<Vec<String>> = r
        .curve
        .iter()
        .map(|b| {
            vec![
                b.n.to_string(),
                num(b.mean_predicted, 4),
                num(b.observed, 4),
                format!("{}-{}", num(b.ci_low, 3), num(b.ci_high, 3)),
            ]
        })
        .collect();
    out.push_str("\nCalibration curve (equal-count bins, Wilson 95% CI):\n");
    out.push_str(&table(&["n", "mean predicted", "observed", "95% CI"], &rows));
    out
}

/// Bootstrap validation.
pub fn validate(r: &ValidateReport) -> String {
    let mut out = String::new();
    header(&mut out, "Bootstrap validation (Harrell's optimism correction)", &r.source);
    let _ = writeln!(out, "Outcome {}", coding(&r.outcome));
    rows_line(&mut out, r.n, r.dropped);
    let _ = writeln!(
        out,
        "Selection: {}; resamples {} of {} fitted; seed {}",
        r.selection, r.successful, r.replicates, r.seed
    );
    let _ = writeln!(out, "Selected on all data: {}", r.selected_terms.join(", "));
    let rows: Vec<Vec<String>> = r
        .indexes
        .iter()
        .map(|i| {
            vec![
                i.name.clone(),
                num(i.apparent, 4),
                num(i.training, 4),
                num(i.test, 4),
                num(i.optimism, 4),
                num(i.corrected, 4),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&table(&["Index", "apparent", "training", "test", "optimism", "corrected"], &rows));
    let rows: Vec<Vec<String>> =
        r.selection_frequency.iter().map(|f| vec![f.term.clone(), f.selected.to_string()]).collect();
    out.push_str("\nSelected in resamples:\n");
    out.push_str(&table(&["Term", "times"], &rows));
    out
}

/// Subgroup analysis.
pub fn subgroup(r: &SubgroupReport) -> String {
    let a = &r.analysis;
    let mut out = String::new();
    header(&mut out, &format!("Subgroup analysis of '{}' by '{}'", a.predictor, a.subgroup), &r.source);
    let _ = writeln!(out, "Outcome {}", coding(&r.outcome));
    rows_line(&mut out, r.n, r.dropped);
    let adj = if a.adjust.is_empty() { "none".to_string() } else { a.adjust.join(", ") };
    let _ = writeln!(out, "Model in each subgroup: logistic, {} adjusted for: {adj}; {}", a.predictor, r.missing_data);
    let mut rows = Vec::new();
    for f in std::iter::once(&a.overall).chain(&a.levels) {
        let auc = f.roc.as_ref();
        let auc_cells = |v: &mut Vec<String>| {
            v.push(auc.map(|c| num(c.auc, 4)).unwrap_or_default());
            v.push(auc.map(|c| format!("{}-{}", num(c.ci_low, 4), num(c.ci_high, 4))).unwrap_or_default());
        };
        if f.predictor.is_empty() {
            let mut v = vec![f.level.clone(), format!("{}/{}", f.events, f.n), String::new(), "not estimable".into()];
            v.extend([String::new(), String::new()]);
            auc_cells(&mut v);
            rows.push(v);
        }
        for c in &f.predictor {
            let ci = match (c.profile_ci_low, c.profile_ci_high) {
                (Some(l), Some(h)) => format!("{}-{} (profile)", num(l, 4), num(h, 4)),
                _ => format!("{}-{} (Wald)", num(c.ci_low, 4), num(c.ci_high, 4)),
            };
            let mut v = vec![f.level.clone(), format!("{}/{}", f.events, f.n), c.term.clone(), num(c.odds_ratio, 4)];
            v.extend([ci, pval(c.p)]);
            auc_cells(&mut v);
            rows.push(v);
        }
    }
    out.push('\n');
    out.push_str(&table(&["Subgroup", "Events/n", "Term", "OR", "95% CI", "p", "AUC", "95% CI (DeLong)"], &rows));
    let t = &a.interaction;
    let _ = writeln!(
        out,
        "\nInteraction {}:{} ({} term(s)): {}\n  chi-square {} on {} df, p {}  [{} vs {}]",
        a.predictor,
        a.subgroup,
        t.terms.len(),
        t.method,
        num(t.test.statistic, 5),
        t.test.df,
        pval(t.test.p),
        t.interaction_model,
        t.main_model
    );
    if let Some(h) = &a.auc_heterogeneity {
        let _ = writeln!(
            out,
            "AUC equal across subgroups: {}: statistic {} (df {}), p {}",
            h.method,
            num(h.statistic, 5),
            num(h.df, 4),
            pval(h.p)
        );
    }
    for f in std::iter::once(&a.overall).chain(&a.levels) {
        for w in &f.warnings {
            let _ = writeln!(out, "Warning ({}): {w}", f.level);
        }
    }
    for w in &a.warnings {
        let _ = writeln!(out, "Warning: {w}");
    }
    out
}

fn wald_row(name: &str, w: &ecmo_analysis::stats::reclassification::WaldEstimate) -> Vec<String> {
    vec![
        name.to_string(),
        num(w.estimate, 4),
        num(w.se, 4),
        format!("{} to {}", num(w.ci_low, 4), num(w.ci_high, 4)),
        num(w.z, 4),
        pval(w.p),
    ]
}

/// NRI / IDI.
pub fn reclassification(r: &ReclassificationReport) -> String {
    let mut out = String::new();
    header(&mut out, &format!("Reclassification: '{}' (new) over '{}' (old)", r.new, r.old), &r.source);
    let x = &r.result;
    let _ = writeln!(out, "Outcome {}; {} events, {} non-events", coding(&r.outcome), x.events, x.nonevents);
    rows_line(&mut out, x.n, r.dropped);
    let mut rows = vec![
        wald_row("NRI (continuous)", &x.nri_continuous.nri),
        wald_row("  events", &x.nri_continuous.events),
        wald_row("  non-events", &x.nri_continuous.nonevents),
    ];
    if let Some(c) = &x.nri_categorical {
        let cuts: Vec<String> = x.cutoffs.iter().map(|v| num(*v, 4)).collect();
        rows.push(wald_row(&format!("NRI (categories cut at {})", cuts.join(", ")), &c.nri));
        rows.push(wald_row("  events", &c.events));
        rows.push(wald_row("  non-events", &c.nonevents));
    }
    rows.push(wald_row("IDI", &x.idi));
    out.push('\n');
    out.push_str(&table(&["Index", "Estimate", "SE", "95% CI", "z", "p"], &rows));
    out.push_str("SEs as Hmisc::improveProb (Pencina et al.); CIs estimate +/- 1.96 SE.\n");
    out
}

/// Decision curves.
pub fn dca(r: &DecisionReport) -> String {
    let mut out = String::new();
    header(&mut out, "Decision-curve analysis", &r.source);
    let _ = writeln!(out, "Outcome {}; prevalence {}", coding(&r.outcome), num(r.curve.prevalence, 4));
    rows_line(&mut out, r.n, r.dropped);
    let _ = writeln!(out, "{}", r.curve.method);
    let mut h: Vec<&str> = vec!["Threshold", "Treat all", "Treat none"];
    h.extend(r.curve.models.iter().map(|m| m.name.as_str()));
    let diff_head = r.difference.as_ref().map(|d| format!("{} - {} (95% CI)", d.model_a, d.model_b));
    if let Some(d) = &diff_head {
        h.push(d);
    }
    let rows: Vec<Vec<String>> = r
        .curve
        .thresholds
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let mut v = vec![num(*t, 4), num(r.curve.treat_all[k], 4), num(r.curve.treat_none[k], 4)];
            v.extend(r.curve.models.iter().map(|m| num(m.net_benefit[k], 4)));
            if let Some(d) = &r.difference {
                let c = &d.difference[k];
                v.push(format!("{} ({} to {})", num(c.estimate, 4), num(c.ci_low, 4), num(c.ci_high, 4)));
            }
            v
        })
        .collect();
    out.push('\n');
    out.push_str(&table(&h, &rows));
    if let Some(d) = &r.difference {
        let _ = writeln!(out, "Difference CI: {} row-bootstrap resamples, seed {}, percentile.", d.replicates, d.seed);
    }
    out
}

/// Selection stability.
pub fn stability(r: &StabilityReport) -> String {
    let mut out = String::new();
    header(&mut out, &format!("Selection stability of {}", r.selection), &r.source);
    let x = &r.result;
    let _ = writeln!(out, "Outcome {}", coding(&r.outcome));
    rows_line(&mut out, r.n, r.dropped);
    let _ = writeln!(out, "{} of {} bootstrap resamples selected (seed {})", x.successful, x.replicates, x.seed);
    let rows: Vec<Vec<String>> = x
        .terms
        .iter()
        .map(|t| {
            vec![
                t.term.clone(),
                if t.selected_on_full_data { "yes".into() } else { "no".into() },
                t.selected.to_string(),
                format!("{}%", num(100.0 * t.proportion, 3)),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&table(&["Term", "In final model", "Selected", "Inclusion"], &rows));
    let rows: Vec<Vec<String>> = x
        .models
        .iter()
        .take(10)
        .map(|m| {
            vec![
                if m.terms.is_empty() { "(none)".into() } else { m.terms.join(" + ") },
                m.count.to_string(),
                format!("{}%", num(100.0 * m.proportion, 3)),
            ]
        })
        .collect();
    let _ =
        writeln!(out, "\nMost frequent models ({} distinct; mean size {}):", x.models.len(), num(x.mean_model_size, 3));
    out.push_str(&table(&["Model", "Count", "Share"], &rows));
    out
}

/// Competing risks.
pub fn competing(r: &CompetingReport, full: bool) -> String {
    let mut out = String::new();
    header(&mut out, "Competing risks: cumulative incidence (Aalen-Johansen)", &r.source);
    let x = &r.incidence;
    let _ = writeln!(
        out,
        "Status {}: censored = '{}', causes: {}",
        r.status.column,
        r.status.censored,
        r.status.causes.join(", ")
    );
    rows_line(&mut out, x.n, r.dropped);
    for c in &x.curves {
        let _ = writeln!(out, "\nGroup {}, cause {}: {} events among {}", c.group, c.cause_name, c.events, c.n);
        let take = if full { c.points.len() } else { c.points.len().min(30) };
        let rows: Vec<Vec<String>> = c.points[..take]
            .iter()
            .map(|p| {
                vec![
                    num(p.time, 6),
                    p.n_risk.to_string(),
                    p.n_event.to_string(),
                    num(p.estimate, 5),
                    num(p.se, 4),
                    format!("{}-{}", num(p.ci_low, 4), num(p.ci_high, 4)),
                ]
            })
            .collect();
        out.push_str(&table(&["Time", "At risk", "Events", "Cum. incidence", "SE", "95% CI (log-log)"], &rows));
        if take < c.points.len() {
            let _ = writeln!(out, "... {} more rows (--full-table)", c.points.len() - take);
        }
    }
    for t in &x.tests {
        let _ = writeln!(
            out,
            "\nGray's test, cause {}: chi-square {} on {} df, p {}",
            t.cause_name,
            num(t.statistic, 5),
            t.df,
            pval(t.p)
        );
    }
    if let Some(f) = &r.finegray {
        let m = &f.model;
        let _ = writeln!(
            out,
            "\nFine-Gray model for cause {}: {} events, {} competing, {} censored (n {}; {} more rows dropped for missing covariates)",
            f.cause, m.events, m.competing, m.censored, m.n, f.dropped
        );
        let rows: Vec<Vec<String>> = m
            .coefficients
            .iter()
            .map(|c| {
                vec![
                    c.term.clone(),
                    num(c.coef, 5),
                    num(c.shr, 4),
                    num(c.se, 4),
                    format!("{}-{}", num(c.ci_low, 4), num(c.ci_high, 4)),
                    num(c.z, 4),
                    pval(c.p),
                ]
            })
            .collect();
        out.push_str(&table(&["Term", "coef", "SHR", "robust SE", "95% CI (SHR)", "z", "p"], &rows));
        let _ = writeln!(
            out,
            "Pseudo log-likelihood {} (null {}); {}{}",
            num(m.loglik, 7),
            num(m.loglik_null, 7),
            m.method,
            if m.converged { "" } else { "; NOT converged" }
        );
    }
    out
}

/// Multiple imputation.
pub fn impute(r: &ImputeReport) -> String {
    let mut out = String::new();
    header(&mut out, "Logistic regression after multiple imputation", &r.source);
    let _ = writeln!(out, "Outcome {}", coding(&r.outcome));
    let _ = writeln!(
        out,
        "Rows: {} (complete cases {}, {} with imputed values)\nMissing data: {}",
        r.n, r.complete_cases, r.incomplete_rows, r.missing_data
    );
    let m = &r.model;
    let rows: Vec<Vec<String>> = m
        .coefficients
        .iter()
        .map(|c| {
            vec![
                c.term.clone(),
                num(c.estimate, 5),
                num(c.se, 4),
                num(c.estimate.exp(), 4),
                format!("{}-{}", num(c.ci_low.exp(), 4), num(c.ci_high.exp(), 4)),
                num(c.df, 4),
                pval(c.p),
                num(c.fmi, 3),
            ]
        })
        .collect();
    out.push_str("\nPooled coefficients (Rubin's rules, Barnard-Rubin df):\n");
    out.push_str(&table(&["Term", "Estimate", "SE", "OR", "95% CI (OR)", "df", "p", "FMI"], &rows));
    let _ = writeln!(
        out,
        "Pooled AUC {} (95% CI {}-{}); {}",
        num(m.auc.auc, 4),
        num(m.auc.ci_low, 4),
        num(m.auc.ci_high, 4),
        m.auc.method
    );
    if let Some(v) = &r.validation {
        let rows: Vec<Vec<String>> = v
            .indexes
            .iter()
            .map(|i| vec![i.name.clone(), num(i.apparent, 4), num(i.optimism, 4), num(i.corrected, 4)])
            .collect();
        let _ = writeln!(
            out,
            "\n{}: {} of {} resamples, m = {} each, seed {}",
            v.method, v.successful, v.replicates, v.m, v.seed
        );
        out.push_str(&table(&["Index", "Apparent", "Optimism", "Corrected"], &rows));
    }
    out
}
