//! Study reports: one self-contained HTML page (inline CSS and SVG, no script, no
//! network) and the result tables as CSV. Pure functions of a [`StudyResult`]: the same
//! result gives the same bytes.

pub mod fmt;
pub mod svg;

use ecmo_stats::table1::ChosenTest;
use ecmo_study::StudyResult;
use ecmo_study::result::{ModelResult, OddsRatio, Table1Row};
use fmt::{csv_field, esc, f1, f2, f3, num, p_value};
use std::fmt::Write;
use svg::ForestRow;

const CSS: &str = "body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#111;line-height:1.4}\
h1{font-size:1.6em}h2{border-bottom:2px solid #335;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}\
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#eef2f6}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.meta td:first-child{font-weight:bold}\
.note{color:#555;font-size:.9em}pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:.85em}\
figure{margin:1em 0}figcaption{font-size:.9em;color:#333}.status-author{color:#8a5a00}.status-na{color:#777}";

/// The HTML report.
pub fn render_html(r: &StudyResult) -> String {
    let mut h = String::with_capacity(1 << 18);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>\n",
        esc(&r.study.title)
    );
    let _ = write!(h, "<h1>{}</h1>\n<p>{}</p>\n", esc(&r.study.title), esc(&r.study.description));
    header(&mut h, r);
    let _ = write!(
        h,
        "<h2 id=\"flow\">Study population</h2>\n<figure>{}<figcaption>Flow of ECMO runs through the inclusion criteria, in the order they were applied.</figcaption></figure>\n",
        svg::flow_diagram(&r.flow)
    );
    if !r.table1.is_empty() {
        table1(&mut h, r);
    }
    if !r.univariable.is_empty() {
        univariable(&mut h, r);
    }
    for (i, m) in r.models.iter().enumerate() {
        model(&mut h, m, i);
    }
    roc(&mut h, r);
    added_value(&mut h, r);
    decision_curve(&mut h, r);
    subgroups(&mut h, r);
    survival(&mut h, r);
    competing_risks(&mut h, r);
    if !r.trajectories.is_empty() {
        h.push_str("<h2 id=\"trajectories\">Trajectories</h2>\n");
        for t in &r.trajectories {
            let _ = writeln!(
                h,
                "<figure>{}<figcaption>{} ({}) while on ECMO: median and interquartile range by outcome group; points after decannulation are left out.</figcaption></figure>",
                svg::trajectory_chart(t),
                esc(&t.quantity),
                esc(&t.unit)
            );
        }
    }
    if let Some(d) = &r.decision_tree {
        decision_tree(&mut h, d, r);
    }
    reproducibility(&mut h, r);
    h.push_str("</body></html>\n");
    h
}

fn header(h: &mut String, r: &StudyResult) {
    let p = &r.provenance;
    h.push_str("<table class=\"meta\">");
    let mut row = |k: &str, v: String| {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(k), v);
    };
    row("Study", format!("{} (<code>{}</code>)", esc(&r.study.title), esc(&r.study.name)));
    row("Reproduces", esc(&r.study.source));
    row("Outcome", format!("{} (<code>{}</code>)", esc(&r.study.outcome_label), esc(&r.study.outcome_column)));
    row("Software", format!("{} {}", esc(&p.software), esc(&p.version)));
    row("Date", format!("{} ({})", esc(&p.date), esc(&p.date_rule)));
    row("Data", format!("{} ({} runs read)", esc(&p.data_source), p.runs_read));
    row("Data fingerprint", format!("<code>sha256:{}</code>", esc(&p.data_fingerprint)));
    row(
        "Included",
        format!(
            "{} runs: {} {}, {} {}",
            r.flow.included,
            r.flow.events,
            esc(&r.flow.event_label),
            r.flow.non_events,
            esc(&r.flow.non_event_label)
        ),
    );
    if let Some(b) = p.bootstrap {
        row("Bootstrap resamples", b.to_string());
    }
    h.push_str("</table>\n");
    for n in &r.notes {
        let _ = writeln!(h, "<p class=\"note\">Note: {}</p>", esc(n));
    }
}

fn summary_cell(s: &ecmo_stats::describe::Summary, parametric: bool) -> String {
    if s.n == 0 {
        return "-".into();
    }
    if parametric {
        format!("{} &plusmn; {}", f2(s.mean), f2(s.sd))
    } else {
        format!("{} [{}-{}]", f2(s.median), f2(s.q1), f2(s.q3))
    }
}

fn is_parametric(t: &ChosenTest) -> bool {
    t.test.contains("t-test") || t.test.contains("ANOVA") || t.test.contains("Welch")
}

fn table1(h: &mut String, r: &StudyResult) {
    let names = [&r.flow.event_label, &r.flow.non_event_label];
    let _ = write!(
        h,
        "<h2 id=\"table1\">Table 1: {} vs {}</h2>\n<table><tr><th>variable</th><th>unit</th><th>all</th><th>{}</th><th>{}</th><th>p</th><th>test (why)</th></tr>\n",
        esc(names[0]),
        esc(names[1]),
        esc(names[0]),
        esc(names[1])
    );
    for row in &r.table1 {
        match row {
            Table1Row::Continuous { variable, unit, row, .. } => {
                let par = is_parametric(&row.test);
                let what = if par { "mean &plusmn; SD" } else { "median [IQR]" };
                let _ = write!(
                    h,
                    "<tr><td>{}, {what}{}</td><td>{}</td><td class=\"n\">{}</td>",
                    esc(variable),
                    missing_note(row.overall.missing),
                    esc(unit),
                    summary_cell(&row.overall, par)
                );
                for (_, s) in &row.groups {
                    let _ = write!(h, "<td class=\"n\">{}</td>", summary_cell(s, par));
                }
                let _ = writeln!(
                    h,
                    "<td class=\"n\">{}</td><td>{} ({})</td></tr>",
                    p_value(row.test.p),
                    esc(&row.test.test),
                    esc(&row.test.reason)
                );
            }
            Table1Row::Categorical { variable, row, .. } => {
                let binary = row.levels.len() == 2 && row.levels[1].level == "yes";
                let shown: Vec<&ecmo_stats::table1::LevelCount> =
                    if binary { vec![&row.levels[1]] } else { row.levels.iter().collect() };
                let total: Vec<f64> = (0..row.group_names.len())
                    .map(|g| row.levels.iter().map(|l| l.counts.get(g).copied().unwrap_or(0.0)).sum())
                    .collect();
                let all: f64 = total.iter().sum();
                let miss: usize = row.missing.iter().sum();
                let _ = write!(h, "<tr><td>{}{}, n (%)</td><td></td><td></td>", esc(variable), missing_note(miss));
                for _ in &row.group_names {
                    h.push_str("<td></td>");
                }
                let _ = writeln!(
                    h,
                    "<td class=\"n\">{}</td><td>{} ({})</td></tr>",
                    p_value(row.test.p),
                    esc(&row.test.test),
                    esc(&row.test.reason)
                );
                for l in shown {
                    let n_all: f64 = l.counts.iter().sum();
                    let _ = write!(
                        h,
                        "<tr><td>&nbsp;&nbsp;{}</td><td></td><td class=\"n\">{} ({})</td>",
                        esc(&l.level),
                        n_all,
                        f1(100.0 * n_all / all.max(1.0))
                    );
                    for (g, n) in l.counts.iter().enumerate() {
                        let _ = write!(h, "<td class=\"n\">{} ({})</td>", n, f1(100.0 * n / total[g].max(1.0)));
                    }
                    h.push_str("<td></td><td></td></tr>\n");
                }
            }
        }
    }
    h.push_str("</table>\n<p class=\"note\">Percentages of the runs with the variable recorded. Tests chosen automatically (docs/stats.md): Welch t-test when every group has n &ge; 3 and |skewness| &le; 1, else Wilcoxon rank-sum; chi-square when every expected count is &ge; 5, else Fisher's exact test.</p>\n");
}

fn missing_note(n: usize) -> String {
    if n == 0 { String::new() } else { format!(" <span class=\"note\">({n} missing)</span>") }
}

fn or_table(h: &mut String, rows: &[OddsRatio], with_n: bool) {
    h.push_str("<table><tr><th>term</th><th>per</th>");
    if with_n {
        h.push_str("<th>n</th><th>events</th>");
    }
    h.push_str("<th>OR</th><th>95 % CI (Wald)</th><th>p</th></tr>\n");
    for o in rows {
        let per = if o.per == 1.0 { String::new() } else { format!("{} {}", num(o.per), esc(&o.unit)) };
        let _ = write!(h, "<tr><td>{}</td><td>{per}</td>", esc(&o.term));
        if with_n {
            let _ = write!(h, "<td class=\"n\">{}</td><td class=\"n\">{}</td>", o.n, o.events);
        }
        let _ = writeln!(
            h,
            "<td class=\"n\">{}</td><td class=\"n\">{}-{}</td><td class=\"n\">{}</td></tr>",
            f2(o.odds_ratio),
            f2(o.ci_low),
            f2(o.ci_high),
            p_value(o.p)
        );
    }
    h.push_str("</table>\n");
}

fn univariable(h: &mut String, r: &StudyResult) {
    h.push_str("<h2 id=\"univariable\">Univariable logistic regression</h2>\n");
    let _ = writeln!(
        h,
        "<p>Outcome: {}. Each predictor alone, on the runs where it is recorded.</p>",
        esc(&r.study.outcome_label)
    );
    or_table(h, &r.univariable, true);
    let rows: Vec<ForestRow> = r.univariable.iter().map(ForestRow::from_or).collect();
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>Univariable odds ratios with 95 % CIs.</figcaption></figure>",
        svg::forest_plot("forest", "Univariable odds ratios", &rows)
    );
}

fn model(h: &mut String, m: &ModelResult, i: usize) {
    let _ = writeln!(h, "<h2 id=\"model-{i}\">Prediction model: {}</h2>", esc(&m.name));
    let _ = writeln!(
        h,
        "<p>Outcome: {}. Candidates: {}. Selection: {}. Development cohort: {} runs, {} events; {} events per candidate parameter.</p>\n<p><strong>Missing data:</strong> {}</p>",
        esc(&m.outcome),
        esc(&m.candidates.join(", ")),
        esc(&m.selection),
        m.n,
        m.events,
        f1(m.events_per_parameter),
        esc(&m.missing_data)
    );
    if let Some(i) = &m.imputation {
        imputation(h, i);
    }
    if m.selection_steps.len() > 1 {
        h.push_str("<p>Selection path:</p><ol>");
        for s in &m.selection_steps {
            let _ = write!(h, "<li>{}</li>", esc(s));
        }
        h.push_str("</ol>\n");
    }
    h.push_str("<h3>Model specification</h3>\n<table><tr><th>term</th><th>coefficient</th><th>SE</th><th>z</th><th>p</th></tr>");
    for k in &m.coefficients {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&k.term),
            format_args!("{:.5}", k.coef),
            format_args!("{:.5}", k.se),
            f2(k.z),
            p_value(k.p)
        );
    }
    h.push_str("</table>\n");
    or_table(h, &m.odds_ratios, false);
    let rows: Vec<ForestRow> = m.odds_ratios.iter().map(ForestRow::from_or).collect();
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>Adjusted odds ratios with 95 % CIs.</figcaption></figure>",
        svg::forest_plot("forest", "Adjusted odds ratios", &rows)
    );
    if m.imputation.is_some() {
        h.push_str("<p>Model fit: AIC, deviance and the likelihood-ratio test are not pooled by Rubin's rules and are not shown; coefficients, SEs (total variance), t-based p and CIs are pooled (mice::pool).</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<p>Model fit: AIC {}, deviance {} (null {}), likelihood-ratio test &chi;&sup2; = {} on {} df, p {}.</p>",
            f2(m.aic),
            f2(m.deviance),
            f2(m.null_deviance),
            f2(m.lr_test.statistic),
            m.lr_test.df,
            p_value(m.lr_test.p)
        );
    }
    for w in &m.warnings {
        let _ = writeln!(h, "<p class=\"note\">Warning: {}</p>", esc(w));
    }
    h.push_str("<h3>Discrimination and calibration</h3>\n<table><tr><th>measure</th><th>apparent</th><th>optimism</th><th>optimism-corrected</th></tr>");
    let _ = write!(
        h,
        "<tr><td>AUC (95 % CI, {})</td><td class=\"n\">{} ({}-{})</td><td></td><td></td></tr>",
        if m.imputation.is_some() { "pooled over the imputations" } else { "DeLong" },
        f3(m.auc),
        f3(m.auc_ci_low),
        f3(m.auc_ci_high)
    );
    if let Some(v) = &m.validation {
        for ix in &v.indexes {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&ix.name),
                f3(ix.apparent),
                f3(ix.optimism),
                f3(ix.corrected)
            );
        }
    }
    let c = &m.calibration;
    let _ = writeln!(
        h,
        "<tr><td>calibration slope</td><td class=\"n\">{}</td><td></td><td></td></tr><tr><td>calibration-in-the-large</td><td class=\"n\">{}</td><td></td><td></td></tr><tr><td>Brier score (scaled)</td><td class=\"n\">{} ({})</td><td></td><td></td></tr><tr><td>Hosmer-Lemeshow</td><td class=\"n\">&chi;&sup2; {} on {} df, p {}</td><td></td><td></td></tr></table>",
        f3(c.slope),
        f3(c.citl),
        f3(c.brier),
        f3(c.brier_scaled),
        f2(m.hosmer_lemeshow.statistic),
        m.hosmer_lemeshow.df,
        p_value(m.hosmer_lemeshow.p)
    );
    if let Some(v) = &m.validation {
        let _ = writeln!(
            h,
            "<p class=\"note\">Bootstrap: {} of {} resamples succeeded (seed {}); {}. Selection frequency: {}.</p>",
            v.successful,
            v.replicates,
            v.seed,
            if m.imputation.is_some() {
                "the imputation was repeated in every resample (no selection)"
            } else {
                "the selection was repeated in every resample"
            },
            esc(&v.selection_frequency.iter().map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", "))
        );
    }
    if let Some(st) = &m.stability {
        stability(h, st);
    }
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>Calibration: observed proportion against mean predicted probability in equal-size groups, with Wilson 95 % CIs; the dashed line is perfect calibration.</figcaption></figure>",
        svg::calibration_plot(&m.calibration_bins)
    );
    h.push_str("<h3>Predictor ranges in the development data</h3><table><tr><th>predictor</th><th>unit</th><th>min</th><th>median</th><th>max</th></tr>");
    for p in &m.predictor_ranges {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&p.name),
            esc(&p.unit),
            fmt::short(p.min),
            fmt::short(p.median),
            fmt::short(p.max)
        );
    }
    h.push_str("</table>\n<h3>TRIPOD+AI checklist</h3>\n<table><tr><th>item</th><th>topic</th><th>status</th><th>what this run did</th></tr>");
    for c in &m.tripod {
        let class = match c.status.as_str() {
            "author to complete" => " class=\"status-author\"",
            "not applicable" => " class=\"status-na\"",
            _ => "",
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td{class}>{}</td><td>{}</td></tr>",
            esc(&c.item),
            esc(&c.topic),
            esc(&c.status),
            esc(&c.text)
        );
    }
    h.push_str("</table>\n");
}

fn roc(h: &mut String, r: &StudyResult) {
    let Some(sec) = &r.roc else { return };
    let _ = write!(
        h,
        "<h2 id=\"roc\">ROC analysis</h2>\n<figure>{}<figcaption>ROC curves; the model curve is dashed.</figcaption></figure>\n",
        svg::roc_chart(&sec.curves)
    );
    let boot = sec.curves.iter().find_map(|c| c.youden_bootstrap.as_ref());
    let _ = write!(
        h,
        "<table><tr><th>predictor</th><th>n</th><th>events</th><th>direction</th><th>AUC (95 % CI, DeLong)</th><th>Youden cut-off</th>{}<th>sensitivity</th><th>specificity</th></tr>",
        if boot.is_some() { "<th>cut-off 95 % CI (bootstrap)</th>" } else { "" }
    );
    for c in &sec.curves {
        let ci = match (&c.youden_bootstrap, boot) {
            (Some(b), _) => {
                format!("<td class=\"n\">{}-{}</td>", fmt::short(b.threshold.ci_low), fmt::short(b.threshold.ci_high))
            }
            (None, Some(_)) => "<td>-</td>".into(),
            (None, None) => String::new(),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{} ({}-{})</td><td class=\"n\">{}</td>{ci}<td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.name),
            c.n,
            c.cases,
            esc(&c.direction),
            f3(c.auc),
            f3(c.ci_low),
            f3(c.ci_high),
            format_args!("{:.4}", c.youden_threshold),
            f3(c.youden_sensitivity),
            f3(c.youden_specificity)
        );
    }
    h.push_str("</table>\n<p class=\"note\">Direction &lt;: higher values in the event group; &gt;: lower values. Youden cut-off: threshold maximising sensitivity + specificity (the first if tied).");
    if let Some(b) = boot {
        let _ = write!(
            h,
            " Cut-off CI: percentile interval of the Youden cut-off over {} bootstrap resamples of the runs (seed {}), stratified as pROC does.",
            b.replicates, b.seed
        );
    }
    h.push_str("</p>\n");
    if !sec.comparisons.is_empty() {
        let _ = write!(
            h,
            "<h3>Paired DeLong comparisons ({} runs with every predictor recorded)</h3><table><tr><th>A</th><th>B</th><th>AUC A</th><th>AUC B</th><th>difference 95 % CI</th><th>z</th><th>p</th></tr>",
            sec.common_rows
        );
        for c in &sec.comparisons {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} to {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&c.a),
                esc(&c.b),
                f3(c.auc_a),
                f3(c.auc_b),
                f3(c.diff_ci_low),
                f3(c.diff_ci_high),
                f2(c.z),
                p_value(c.p)
            );
        }
        h.push_str("</table>\n");
    }
    if let Some(t) = &sec.all_equal {
        let _ = writeln!(
            h,
            "<p>All {} AUCs equal (DeLong, same {} runs): &chi;&sup2; = {} on {} df, p {}.</p>",
            t.aucs.len(),
            sec.common_rows,
            f2(t.statistic),
            t.df,
            p_value(t.p)
        );
    }
}

fn imputation(h: &mut String, i: &ecmo_study::result::Imputation) {
    let _ = write!(
        h,
        "<h3>Multiple imputation</h3>\n<p>{}. {} of {} runs had at least one value imputed; {} were complete. Predictions: {}.{}</p>\n<table><tr><th>column</th><th>missing</th><th>imputation method</th></tr>",
        esc(&i.method),
        i.incomplete_rows,
        i.rows,
        i.complete_cases,
        esc(&i.prediction),
        if i.auxiliary.is_empty() {
            String::new()
        } else {
            format!(" Auxiliary columns (imputation only): {}.", esc(&i.auxiliary.join(", ")))
        }
    );
    for c in &i.columns {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&c.name),
            c.missing,
            if c.method.is_empty() { "-".into() } else { esc(&c.method) }
        );
    }
    h.push_str("</table>\n<table><tr><th>term</th><th>pooled estimate</th><th>SE</th><th>df</th><th>p</th><th>fraction of missing information</th></tr>");
    for k in &i.pooled.coefficients {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{:.5}</td><td class=\"n\">{:.5}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&k.term),
            k.estimate,
            k.se,
            f1(k.df),
            p_value(k.p),
            f3(k.fmi)
        );
    }
    h.push_str("</table>\n");
}

fn stability(h: &mut String, st: &ecmo_stats::stability::SelectionStability) {
    let _ = writeln!(
        h,
        "<h3>Selection stability</h3>\n<p>The selection rerun on {} of {} bootstrap resamples (seed {}); mean model size {}.</p>\n<figure>{}<figcaption>Proportion of resamples in which each candidate was selected; dark bars: in the model selected on the full data.</figcaption></figure>",
        st.successful,
        st.replicates,
        st.seed,
        f2(st.mean_model_size),
        svg::stability_chart(st)
    );
    h.push_str("<table><tr><th>most frequent models</th><th>resamples</th><th>proportion</th></tr>");
    for m in st.models.iter().take(5) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&if m.terms.is_empty() { "(intercept only)".into() } else { m.terms.join(" + ") }),
            m.count,
            f3(m.proportion)
        );
    }
    h.push_str("</table>\n");
}

fn wald_row(h: &mut String, name: &str, e: &ecmo_stats::reclassification::WaldEstimate) {
    let _ = write!(
        h,
        "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{} to {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
        esc(name),
        f3(e.estimate),
        f3(e.ci_low),
        f3(e.ci_high),
        f2(e.z),
        p_value(e.p)
    );
}

fn added_value(h: &mut String, r: &StudyResult) {
    let Some(a) = &r.added_value else { return };
    let rc = &a.reclassification;
    let _ = write!(
        h,
        "<h2 id=\"added-value\">Added value: {} over {}</h2>\n<p>Base: {}. Extended: {}. {} runs ({} {}; {} left out for a missing predictor). {}</p>\n<table><tr><th>measure</th><th>estimate</th><th>95 % CI</th><th>z</th><th>p</th></tr>",
        esc(&a.extended_name),
        esc(&a.base_name),
        esc(&a.base.join(", ")),
        esc(&a.extended.join(", ")),
        a.n,
        a.events,
        esc(&r.flow.event_label),
        a.rows_dropped,
        esc(&a.method)
    );
    let n = &rc.nri_continuous;
    wald_row(h, "continuous NRI", &n.nri);
    wald_row(h, "  events: P(up) - P(down)", &n.events);
    wald_row(h, "  non-events: P(down) - P(up)", &n.nonevents);
    if let Some(c) = &rc.nri_categorical {
        let cuts: Vec<String> = rc.cutoffs.iter().map(|v| fmt::short(*v)).collect();
        wald_row(h, &format!("categorical NRI (risk cut-offs {})", cuts.join(", ")), &c.nri);
        wald_row(h, "  events", &c.events);
        wald_row(h, "  non-events", &c.nonevents);
    }
    wald_row(h, "IDI", &rc.idi);
    let _ = write!(
        h,
        "<tr><td>AUC {} vs {}</td><td class=\"n\">{} vs {}</td><td class=\"n\">{} to {} (difference)</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>",
        esc(&a.base_name),
        esc(&a.extended_name),
        f3(a.auc.auc_a),
        f3(a.auc.auc_b),
        f3(a.auc.diff_ci_low),
        f3(a.auc.diff_ci_high),
        f2(a.auc.z),
        p_value(a.auc.p)
    );
    let _ = writeln!(
        h,
        "\n<p class=\"note\">Continuous NRI: events whose predicted risk went up minus down, plus non-events whose risk went down minus up. IDI: mean risk change in events minus mean risk change in non-events ({} vs {}). AUC difference: base minus extended, paired DeLong.</p>",
        f3(rc.mean_change_events),
        f3(rc.mean_change_nonevents)
    );
}

/// Thresholds shown in the HTML decision-curve table (all are in the CSV).
fn shown_threshold(t: f64) -> bool {
    let tenth = (t * 10.0).round() / 10.0;
    (t - tenth).abs() < 1e-9 || (t - 0.05).abs() < 1e-9 || (t - 0.25).abs() < 1e-9 || (t - 0.75).abs() < 1e-9
}

fn decision_curve(h: &mut String, r: &StudyResult) {
    let Some(d) = &r.decision_curve else { return };
    let dc = &d.curve;
    let _ = writeln!(
        h,
        "<h2 id=\"decision-curve\">Decision curve</h2>\n<p>{} runs ({} {}, prevalence {}; {} left out for a missing predictor). {} Net benefit = true positives/n - false positives/n &times; t/(1 - t), a run counted positive when its predicted probability is &ge; t.</p>\n<figure>{}<figcaption>Net benefit against the threshold probability t; treat all (grey) = prevalence - (1 - prevalence) t/(1 - t), treat none (black) = 0; the study's model dashed.</figcaption></figure>",
        d.n,
        d.events,
        esc(&r.flow.event_label),
        f3(dc.prevalence),
        d.rows_dropped,
        esc(&d.note),
        svg::decision_curve_chart(d)
    );
    h.push_str("<table><tr><th>threshold</th><th>treat all</th>");
    for m in &dc.models {
        let _ = write!(h, "<th>{}</th>", esc(&m.name));
    }
    if let Some(x) = &d.difference {
        let _ = write!(h, "<th>{} - {} (95 % CI)</th>", esc(&x.model_a), esc(&x.model_b));
    }
    h.push_str("</tr>");
    for (k, t) in dc.thresholds.iter().enumerate() {
        if !shown_threshold(*t) {
            continue;
        }
        let _ = write!(h, "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td>", f2(*t), f3(dc.treat_all[k]));
        for m in &dc.models {
            let _ = write!(h, "<td class=\"n\">{}</td>", f3(m.net_benefit[k]));
        }
        if let Some(x) = &d.difference {
            let p = &x.difference[k];
            let _ = write!(h, "<td class=\"n\">{} ({} to {})</td>", f3(p.estimate), f3(p.ci_low), f3(p.ci_high));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>\n");
    if let Some(x) = &d.difference {
        let _ = writeln!(
            h,
            "<p class=\"note\">Net-benefit difference: percentile 95 % CI over {} bootstrap resamples of the runs (seed {}), the models' predictions held fixed. Every threshold is in decision_curve.csv.</p>",
            x.replicates, x.seed
        );
    }
}

fn competing_risks(h: &mut String, r: &StudyResult) {
    let Some(c) = &r.competing_risks else { return };
    let _ = writeln!(
        h,
        "<h2 id=\"competing-risks\">Competing risks</h2>\n<p>Time: {} ({}). Causes ({}): {}; censored: {} ({} runs). {} runs, {} left out for a missing time, cause or group. {}.</p>",
        esc(&c.time),
        esc(&c.time_unit),
        esc(&c.cause),
        esc(&c.causes.join("; ")),
        esc(&c.censored_label),
        c.censored,
        c.n,
        c.rows_dropped,
        esc(&c.incidence.method)
    );
    for g in &c.groups {
        let _ = writeln!(
            h,
            "<figure>{}<figcaption>Cumulative incidence of each cause{} with 95 % CIs (dashed); grey: Kaplan-Meier probability of being free of every cause. At every time the curves add up to 1.</figcaption></figure>",
            svg::cif_chart(c, g),
            if c.groups.len() > 1 { format!(", {}", esc(g)) } else { String::new() }
        );
    }
    // Cumulative incidence at quarter points of the follow-up.
    let tmax = c.incidence.curves.iter().filter_map(|cv| cv.points.last().map(|p| p.time)).fold(0.0f64, f64::max);
    let step = svg::nice_step((tmax / 4.0).max(1e-9));
    let times: Vec<f64> = (1..=4).map(|k| k as f64 * step).filter(|t| *t <= tmax.max(step)).collect();
    h.push_str("<table><tr><th>group</th><th>cause</th><th>events</th>");
    for t in &times {
        let _ = write!(h, "<th>at {} {}</th>", fmt::short(*t), esc(&c.time_unit));
    }
    h.push_str("</tr>");
    for cv in &c.incidence.curves {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td>",
            esc(&cv.group),
            esc(&cv.cause_name),
            cv.events
        );
        for t in &times {
            let k = cv.points.partition_point(|p| p.time <= *t);
            let cell = match k.checked_sub(1).map(|i| &cv.points[i]) {
                Some(p) => format!("{} ({}-{})", f3(p.estimate), f3(p.ci_low), f3(p.ci_high)),
                None => "0".into(),
            };
            let _ = write!(h, "<td class=\"n\">{cell}</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>\n");
    if !c.incidence.tests.is_empty() {
        let _ = write!(
            h,
            "<h3>Gray's test by {}</h3><table><tr><th>cause</th><th>&chi;&sup2;</th><th>df</th><th>p</th></tr>",
            esc(c.by.as_deref().unwrap_or(""))
        );
        for t in &c.incidence.tests {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&t.cause_name),
                f2(t.statistic),
                t.df,
                p_value(t.p)
            );
        }
        h.push_str("</table>\n");
    }
    if let Some(fg) = &c.fine_gray {
        let m = &fg.model;
        let _ = write!(
            h,
            "<h3>Fine-Gray model: {}</h3><p>{} runs ({} with this cause, {} with a competing cause, {} censored; {} left out for a missing covariate). {}.</p><table><tr><th>term</th><th>subdistribution HR</th><th>95 % CI</th><th>p</th></tr>",
            esc(&fg.cause),
            m.n,
            m.events,
            m.competing,
            m.censored,
            fg.rows_dropped,
            esc(&m.method)
        );
        for k in &m.coefficients {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}-{}</td><td class=\"n\">{}</td></tr>",
                esc(&k.term),
                f2(k.shr),
                f2(k.ci_low),
                f2(k.ci_high),
                p_value(k.p)
            );
        }
        h.push_str("</table>\n");
    }
}

fn subgroups(h: &mut String, r: &StudyResult) {
    if r.subgroups.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"subgroups\">Subgroup analyses</h2>\n");
    let mut rows = Vec::new();
    for s in &r.subgroups {
        let inter = s.interaction.as_ref().map_or("not tested".into(), |t| p_value(t.p));
        rows.push(ForestRow {
            label: format!("{} (interaction p {inter})", s.variable),
            estimate: None,
            right: String::new(),
        });
        for l in &s.levels {
            match &l.estimate {
                Some(o) => rows.push(ForestRow {
                    label: format!("    {} (n = {}, events {})", l.level, l.n, l.events),
                    estimate: Some((o.odds_ratio, o.ci_low, o.ci_high)),
                    right: format!(
                        "{} ({}-{}); AUC {}",
                        f2(o.odds_ratio),
                        f2(o.ci_low),
                        f2(o.ci_high),
                        l.auc.map_or("-".into(), f3)
                    ),
                }),
                None => rows.push(ForestRow {
                    label: format!("    {} (n = {})", l.level, l.n),
                    estimate: None,
                    right: "no estimate".into(),
                }),
            }
        }
    }
    let first = &r.subgroups[0];
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>Odds ratio of {} per {} units within each subgroup, with the interaction p (likelihood-ratio test).</figcaption></figure>",
        svg::forest_plot("subgroup-forest", "Subgroup odds ratios", &rows),
        esc(&first.predictor),
        num(first.per)
    );
    h.push_str("<table><tr><th>subgroup</th><th>level</th><th>n</th><th>events</th><th>OR (95 % CI)</th><th>AUC (95 % CI)</th><th>note</th></tr>");
    for s in &r.subgroups {
        for l in &s.levels {
            let or = l
                .estimate
                .as_ref()
                .map_or("-".into(), |o| format!("{} ({}-{})", f2(o.odds_ratio), f2(o.ci_low), f2(o.ci_high)));
            let auc = match (l.auc, l.auc_ci_low, l.auc_ci_high) {
                (Some(a), Some(lo), Some(hi)) => format!("{} ({}-{})", f3(a), f3(lo), f3(hi)),
                _ => "-".into(),
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{or}</td><td class=\"n\">{auc}</td><td>{}</td></tr>",
                esc(&s.variable),
                esc(&l.level),
                l.n,
                l.events,
                esc(&l.note)
            );
        }
    }
    h.push_str("</table>\n");
    for s in &r.subgroups {
        let _ = writeln!(h, "<p class=\"note\">{}: {}</p>", esc(&s.variable), esc(&s.method));
    }
}

fn survival(h: &mut String, r: &StudyResult) {
    let Some(s) = &r.survival else { return };
    let _ = write!(
        h,
        "<h2 id=\"survival\">Survival</h2>\n<p>Kaplan-Meier estimates by {} ({}), censored at {} days; {} runs left out for a missing time, status or group. Log-rank &chi;&sup2; = {} on {} df, p {}.</p>\n",
        esc(&s.groups),
        esc(&s.group_label),
        num(s.horizon_days),
        s.rows_dropped,
        f2(s.logrank.statistic),
        s.logrank.df,
        p_value(s.logrank.p)
    );
    let _ = writeln!(
        h,
        "<figure>{}<figcaption>Kaplan-Meier survival with the numbers at risk under the axis.</figcaption></figure>",
        svg::km_chart(s)
    );
    h.push_str("<table><tr><th>group</th><th>n</th><th>deaths</th><th>survival at horizon (95 % CI)</th><th>median (days)</th></tr>");
    for c in &s.curves {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({}-{})</td><td class=\"n\">{}</td></tr>",
            esc(&c.name),
            c.n,
            c.events,
            f3(c.surv_at_horizon),
            f3(c.surv_at_horizon_low),
            f3(c.surv_at_horizon_high),
            c.median_days.map_or("not reached".into(), f1)
        );
    }
    h.push_str("</table>\n");
    if let Some(cx) = &s.cox {
        let _ = write!(
            h,
            "<h3>Cox proportional hazards (Efron ties)</h3><p>{} runs, {} deaths; likelihood-ratio p {}; concordance {}.</p><table><tr><th>term</th><th>HR</th><th>95 % CI</th><th>p</th></tr>",
            cx.n,
            cx.events,
            p_value(cx.lr_test.p),
            f3(cx.concordance)
        );
        for k in &cx.coefficients {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}-{}</td><td class=\"n\">{}</td></tr>",
                esc(&k.term),
                f2(k.hazard_ratio),
                f2(k.ci_low),
                f2(k.ci_high),
                p_value(k.p)
            );
        }
        h.push_str("</table>\n");
    }
}

/// Patients listed one by one in the HTML up to this many (all of them are in the CSV).
const MAX_TREE_ROWS: usize = 200;

fn decision_tree(h: &mut String, d: &ecmo_study::result::DecisionTreeSection, r: &StudyResult) {
    let _ = writeln!(
        h,
        "<h2 id=\"decision-tree\">ECMO-to-VAD decision tree</h2>\n<p>Rules: {}.</p>\n<p class=\"note\">{}</p>",
        esc(&d.rules),
        esc(&d.note)
    );
    let _ = write!(h, "<table><tr><th>recommendation</th><th>runs</th><th>{}</th></tr>", esc(&r.flow.event_label));
    for c in &d.classes {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({})</td></tr>",
            esc(&c.headline),
            c.n,
            c.events,
            f1(100.0 * c.events as f64 / (c.n as f64).max(1.0))
        );
    }
    h.push_str("</table>\n<table><tr><th>run</th><th>recommendation</th><th>deciding step</th><th>hours on ECMO</th><th>outcome</th></tr>");
    for p in d.patients.iter().take(MAX_TREE_ROWS) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&p.run_id),
            esc(&p.recommendation),
            p.deciding_step.map_or("-".into(), |s| s.to_string()),
            f1(p.hours_on_ecmo),
            esc(if p.event { &r.flow.event_label } else { &r.flow.non_event_label })
        );
    }
    h.push_str("</table>\n");
    if d.patients.len() > MAX_TREE_ROWS {
        let _ = writeln!(
            h,
            "<p class=\"note\">First {MAX_TREE_ROWS} of {} runs; all are in decision_tree.csv.</p>",
            d.patients.len()
        );
    }
}

fn reproducibility(h: &mut String, r: &StudyResult) {
    h.push_str("<h2 id=\"methods\">Tests, missing data and reproducibility</h2>\n<h3>Every test that ran</h3><table><tr><th>analysis</th><th>variable</th><th>test</th><th>p</th><th>why</th></tr>");
    for t in &r.tests {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&t.analysis),
            esc(&t.variable),
            esc(&t.test),
            t.p.map_or(String::new(), p_value),
            esc(&t.reason)
        );
    }
    h.push_str("</table>\n<h3>Missing data</h3>\n");
    for m in &r.models {
        let _ = writeln!(h, "<p><strong>{}:</strong> {}</p>", esc(&m.name), esc(&m.missing_data));
    }
    h.push_str("<p>Rows dropped for missing data: every other analysis uses the runs with its own columns recorded (complete cases).</p><table><tr><th>analysis</th><th>columns</th><th>rows used</th><th>rows dropped</th></tr>");
    for m in &r.missing {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&m.analysis),
            esc(&m.columns.join(", ")),
            m.rows_used,
            m.rows_dropped
        );
    }
    let _ = write!(
        h,
        "</table>\n<h3>Study definition</h3>\n<p class=\"note\">Rerunning <code>ecmo study</code> with this definition on data with the same fingerprint and the same date gives this report byte for byte.</p>\n<pre>{}</pre>\n",
        esc(&r.study.definition_toml)
    );
}

/// The result tables as CSV files: (file name, contents).
pub fn tables(r: &StudyResult) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let line = |fields: &[String]| fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",") + "\n";
    let mut flow = line(&["step".into(), "criterion".into(), "reason".into(), "excluded".into(), "remaining".into()]);
    for (i, s) in r.flow.steps.iter().enumerate() {
        flow += &line(&[
            (i + 1).to_string(),
            s.criterion.clone(),
            s.reason.clone(),
            s.excluded.to_string(),
            s.remaining.to_string(),
        ]);
    }
    out.push(("flow.csv".to_string(), flow));
    if !r.table1.is_empty() {
        let mut t = line(
            &[
                "variable",
                "level",
                "statistic",
                "all",
                &r.flow.event_label,
                &r.flow.non_event_label,
                "p",
                "test",
                "reason",
            ]
            .map(String::from),
        );
        for row in &r.table1 {
            match row {
                Table1Row::Continuous { variable, row, .. } => {
                    for (stat, f) in [("mean", 0), ("sd", 1), ("median", 2), ("q1", 3), ("q3", 4), ("n", 5)] {
                        let get = |s: &ecmo_stats::describe::Summary| match f {
                            0 => num(s.mean),
                            1 => num(s.sd),
                            2 => num(s.median),
                            3 => num(s.q1),
                            4 => num(s.q3),
                            _ => s.n.to_string(),
                        };
                        let mut fields = vec![variable.clone(), String::new(), stat.into(), get(&row.overall)];
                        fields.extend(row.groups.iter().map(|(_, s)| get(s)));
                        fields.extend([num(row.test.p), row.test.test.clone(), row.test.reason.clone()]);
                        t += &line(&fields);
                    }
                }
                Table1Row::Categorical { variable, row, .. } => {
                    for l in &row.levels {
                        let mut fields =
                            vec![variable.clone(), l.level.clone(), "count".into(), num(l.counts.iter().sum())];
                        fields.extend(l.counts.iter().map(|c| num(*c)));
                        fields.extend([num(row.test.p), row.test.test.clone(), row.test.reason.clone()]);
                        t += &line(&fields);
                    }
                }
            }
        }
        out.push(("table1.csv".into(), t));
    }
    let or_csv = |rows: &[OddsRatio]| {
        let mut t = line(
            &["term", "per", "unit", "n", "events", "coef", "se", "odds_ratio", "ci_low", "ci_high", "p"]
                .map(String::from),
        );
        for o in rows {
            t += &line(&[
                o.term.clone(),
                num(o.per),
                o.unit.clone(),
                o.n.to_string(),
                o.events.to_string(),
                num(o.coef),
                num(o.se),
                num(o.odds_ratio),
                num(o.ci_low),
                num(o.ci_high),
                num(o.p),
            ]);
        }
        t
    };
    if !r.univariable.is_empty() {
        out.push(("univariable.csv".into(), or_csv(&r.univariable)));
    }
    for (i, m) in r.models.iter().enumerate() {
        out.push((format!("model{}_odds_ratios.csv", i + 1), or_csv(&m.odds_ratios)));
        let mut t = line(&["item", "topic", "status", "text"].map(String::from));
        for c in &m.tripod {
            t += &line(&[c.item.clone(), c.topic.clone(), c.status.clone(), c.text.clone()]);
        }
        out.push((format!("model{}_tripod.csv", i + 1), t));
        if let Some(st) = &m.stability {
            let mut t =
                line(&["term", "selected_on_full_data", "selected", "successful", "proportion"].map(String::from));
            for x in &st.terms {
                t += &line(&[
                    x.term.clone(),
                    u8::from(x.selected_on_full_data).to_string(),
                    x.selected.to_string(),
                    st.successful.to_string(),
                    num(x.proportion),
                ]);
            }
            out.push((format!("model{}_stability.csv", i + 1), t));
        }
        if let Some(imp) = &m.imputation {
            let mut t = line(
                &[
                    "term",
                    "estimate",
                    "se",
                    "statistic",
                    "df",
                    "p",
                    "ci_low",
                    "ci_high",
                    "ubar",
                    "b",
                    "t",
                    "riv",
                    "lambda",
                    "fmi",
                ]
                .map(String::from),
            );
            for k in &imp.pooled.coefficients {
                t += &line(&[
                    k.term.clone(),
                    num(k.estimate),
                    num(k.se),
                    num(k.statistic),
                    num(k.df),
                    num(k.p),
                    num(k.ci_low),
                    num(k.ci_high),
                    num(k.ubar),
                    num(k.b),
                    num(k.t),
                    num(k.riv),
                    num(k.lambda),
                    num(k.fmi),
                ]);
            }
            out.push((format!("model{}_imputation.csv", i + 1), t));
        }
    }
    if let Some(sec) = &r.roc {
        let mut t = line(
            &[
                "predictor",
                "n",
                "events",
                "direction",
                "auc",
                "ci_low",
                "ci_high",
                "youden_threshold",
                "sensitivity",
                "specificity",
                "youden_threshold_ci_low",
                "youden_threshold_ci_high",
            ]
            .map(String::from),
        );
        for c in &sec.curves {
            let b = c.youden_bootstrap.as_ref();
            t += &line(&[
                c.name.clone(),
                c.n.to_string(),
                c.cases.to_string(),
                c.direction.clone(),
                num(c.auc),
                num(c.ci_low),
                num(c.ci_high),
                num(c.youden_threshold),
                num(c.youden_sensitivity),
                num(c.youden_specificity),
                b.map_or(String::new(), |b| num(b.threshold.ci_low)),
                b.map_or(String::new(), |b| num(b.threshold.ci_high)),
            ]);
        }
        out.push(("roc.csv".into(), t));
        let mut t = line(&["a", "b", "n", "auc_a", "auc_b", "z", "p", "diff_ci_low", "diff_ci_high"].map(String::from));
        for c in &sec.comparisons {
            t += &line(&[
                c.a.clone(),
                c.b.clone(),
                c.n.to_string(),
                num(c.auc_a),
                num(c.auc_b),
                num(c.z),
                num(c.p),
                num(c.diff_ci_low),
                num(c.diff_ci_high),
            ]);
        }
        out.push(("roc_comparisons.csv".into(), t));
    }
    if let Some(a) = &r.added_value {
        let mut t = line(&["measure", "estimate", "se", "ci_low", "ci_high", "z", "p"].map(String::from));
        let rc = &a.reclassification;
        let mut rows = vec![
            ("nri_continuous", &rc.nri_continuous.nri),
            ("nri_continuous_events", &rc.nri_continuous.events),
            ("nri_continuous_nonevents", &rc.nri_continuous.nonevents),
        ];
        if let Some(c) = &rc.nri_categorical {
            rows.extend([
                ("nri_categorical", &c.nri),
                ("nri_categorical_events", &c.events),
                ("nri_categorical_nonevents", &c.nonevents),
            ]);
        }
        rows.push(("idi", &rc.idi));
        for (name, e) in rows {
            t += &line(&[name.into(), num(e.estimate), num(e.se), num(e.ci_low), num(e.ci_high), num(e.z), num(e.p)]);
        }
        t += &line(&[
            "auc_difference_base_minus_extended".into(),
            num(a.auc.auc_a - a.auc.auc_b),
            String::new(),
            num(a.auc.diff_ci_low),
            num(a.auc.diff_ci_high),
            num(a.auc.z),
            num(a.auc.p),
        ]);
        out.push(("added_value.csv".into(), t));
    }
    if let Some(d) = &r.decision_curve {
        let dc = &d.curve;
        let mut head = vec!["threshold".to_string(), "treat_all".into(), "treat_none".into()];
        head.extend(dc.models.iter().map(|m| m.name.clone()));
        if d.difference.is_some() {
            head.extend(["difference".into(), "difference_ci_low".into(), "difference_ci_high".into()]);
        }
        let mut t = line(&head);
        for (k, th) in dc.thresholds.iter().enumerate() {
            let mut f = vec![num(*th), num(dc.treat_all[k]), num(dc.treat_none[k])];
            f.extend(dc.models.iter().map(|m| num(m.net_benefit[k])));
            if let Some(x) = &d.difference {
                let p = &x.difference[k];
                f.extend([num(p.estimate), num(p.ci_low), num(p.ci_high)]);
            }
            t += &line(&f);
        }
        out.push(("decision_curve.csv".into(), t));
    }
    if let Some(c) = &r.competing_risks {
        let mut t = line(
            &["group", "cause", "time", "n_risk", "n_event", "estimate", "se", "ci_low", "ci_high"].map(String::from),
        );
        for cv in &c.incidence.curves {
            for p in &cv.points {
                t += &line(&[
                    cv.group.clone(),
                    cv.cause_name.clone(),
                    num(p.time),
                    p.n_risk.to_string(),
                    p.n_event.to_string(),
                    num(p.estimate),
                    num(p.se),
                    num(p.ci_low),
                    num(p.ci_high),
                ]);
            }
        }
        out.push(("cumulative_incidence.csv".into(), t));
        let mut t = line(&["group", "time", "event_free", "lower", "upper"].map(String::from));
        for e in &c.event_free {
            for st in &e.steps {
                t += &line(&[e.group.clone(), num(st.time), num(st.surv), num(st.lower), num(st.upper)]);
            }
        }
        out.push(("event_free.csv".into(), t));
        if !c.incidence.tests.is_empty() {
            let mut t = line(&["cause", "statistic", "df", "p"].map(String::from));
            for g in &c.incidence.tests {
                t += &line(&[g.cause_name.clone(), num(g.statistic), num(g.df), num(g.p)]);
            }
            out.push(("gray_tests.csv".into(), t));
        }
        if let Some(fg) = &c.fine_gray {
            let mut t = line(&["cause", "term", "coef", "shr", "se", "z", "p", "ci_low", "ci_high"].map(String::from));
            for k in &fg.model.coefficients {
                t += &line(&[
                    fg.cause.clone(),
                    k.term.clone(),
                    num(k.coef),
                    num(k.shr),
                    num(k.se),
                    num(k.z),
                    num(k.p),
                    num(k.ci_low),
                    num(k.ci_high),
                ]);
            }
            out.push(("fine_gray.csv".into(), t));
        }
    }
    if !r.subgroups.is_empty() {
        let mut t = line(
            &["subgroup", "level", "n", "events", "odds_ratio", "ci_low", "ci_high", "p", "auc", "interaction_p"]
                .map(String::from),
        );
        for s in &r.subgroups {
            for l in &s.levels {
                let e = l.estimate.as_ref();
                t += &line(&[
                    s.variable.clone(),
                    l.level.clone(),
                    l.n.to_string(),
                    l.events.to_string(),
                    e.map_or(String::new(), |o| num(o.odds_ratio)),
                    e.map_or(String::new(), |o| num(o.ci_low)),
                    e.map_or(String::new(), |o| num(o.ci_high)),
                    e.map_or(String::new(), |o| num(o.p)),
                    l.auc.map_or(String::new(), num),
                    s.interaction.as_ref().map_or(String::new(), |i| num(i.p)),
                ]);
            }
        }
        out.push(("subgroups.csv".into(), t));
    }
    if let Some(s) = &r.survival {
        let mut t = line(&["group", "time_days", "survival", "lower", "upper"].map(String::from));
        for c in &s.curves {
            for st in &c.steps {
                t += &line(&[c.name.clone(), num(st.time), num(st.surv), num(st.lower), num(st.upper)]);
            }
        }
        out.push(("kaplan_meier.csv".into(), t));
        if let Some(cx) = &s.cox {
            let mut t = line(&["term", "coef", "hazard_ratio", "se", "ci_low", "ci_high", "p"].map(String::from));
            for k in &cx.coefficients {
                t += &line(&[
                    k.term.clone(),
                    num(k.coef),
                    num(k.hazard_ratio),
                    num(k.se),
                    num(k.ci_low),
                    num(k.ci_high),
                    num(k.p),
                ]);
            }
            out.push(("cox.csv".into(), t));
        }
    }
    if !r.trajectories.is_empty() {
        let mut t = line(&["quantity", "unit", "group", "hour", "n", "median", "q1", "q3"].map(String::from));
        for tr in &r.trajectories {
            for g in &tr.groups {
                for p in &g.points {
                    let o = |v: Option<f64>| v.map_or(String::new(), num);
                    t += &line(&[
                        tr.quantity.clone(),
                        tr.unit.clone(),
                        g.name.clone(),
                        num(p.hour),
                        p.n.to_string(),
                        o(p.median),
                        o(p.q1),
                        o(p.q3),
                    ]);
                }
            }
        }
        out.push(("trajectories.csv".into(), t));
    }
    if let Some(d) = &r.decision_tree {
        let mut t =
            line(&["run_id", "recommendation", "deciding_step", "hours_on_ecmo", "outcome_event"].map(String::from));
        for p in &d.patients {
            t += &line(&[
                p.run_id.clone(),
                p.recommendation.clone(),
                p.deciding_step.map_or(String::new(), |s| s.to_string()),
                num(p.hours_on_ecmo),
                u8::from(p.event).to_string(),
            ]);
        }
        out.push(("decision_tree.csv".into(), t));
    }
    let mut t = line(&["analysis", "variable", "test", "p", "reason"].map(String::from));
    for x in &r.tests {
        t += &line(&[
            x.analysis.clone(),
            x.variable.clone(),
            x.test.clone(),
            x.p.map_or(String::new(), num),
            x.reason.clone(),
        ]);
    }
    out.push(("tests.csv".into(), t));
    let mut t = line(&["analysis", "columns", "rows_used", "rows_dropped"].map(String::from));
    for m in &r.missing {
        t += &line(&[m.analysis.clone(), m.columns.join(" "), m.rows_used.to_string(), m.rows_dropped.to_string()]);
    }
    out.push(("missing.csv".into(), t));
    out
}
