//! `ecmo study`: run a built-in or custom study on the registry and write the report.

use crate::InvalidInput;
use crate::output::progress_bar;
use anyhow::{Context, Result, anyhow, bail};
use ecmo_scores::features::{FeatureBuilder, FeatureConfig};
use ecmo_study::def::{Criterion, Op};
use ecmo_study::{BUILTIN, RunOptions, StudyDef, StudyResult, StudyRun};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "Built-in studies: weaning, vis, ecpr, vad (`ecmo study --list`). \
    The format of a study file is described in docs/studies.md.")]
pub struct Args {
    /// A built-in study name, or the path of a study file (TOML).
    #[arg(value_name = "NAME|FILE", required_unless_present = "list")]
    pub study: Option<String>,
    #[command(flatten)]
    pub db: crate::DbArg,
    /// Directory for report.html, results.json and the CSV tables (created if missing).
    #[arg(long, value_name = "DIR", required_unless_present = "list")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
    /// List the built-in studies.
    #[arg(long)]
    pub list: bool,
}

/// How a study is run: shared by `ecmo study` and `ecmo model fit`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Report (or fit) date, YYYY-MM-DD. Default: the date of the latest record in the data,
    /// so that a rerun on the same data gives the same output.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Only runs whose cohort label contains LABEL (added as the first inclusion criterion).
    #[arg(long, value_name = "LABEL")]
    pub cohort: Option<String>,
    /// Bootstrap resamples for the optimism correction (default: the study's own number).
    #[arg(long, value_name = "N")]
    pub bootstrap: Option<usize>,
}

impl RunArgs {
    fn check(&self) -> Result<()> {
        if let Some(d) = &self.date
            && !valid_date(d)
        {
            bail!(InvalidInput(format!("--date {d}: give the date as YYYY-MM-DD")));
        }
        if self.bootstrap == Some(0) {
            bail!(InvalidInput("--bootstrap 0: give at least 1 resample".into()));
        }
        Ok(())
    }
}

/// Load a study by built-in name or file path: (definition, its text, where it came from).
pub fn load(name: &str) -> Result<(StudyDef, String, String)> {
    if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
        let def = StudyDef::parse(text, &format!("built-in study {name}")).map_err(|e| anyhow!(e.to_string()))?;
        return Ok((def, text.to_string(), format!("built-in study {name}")));
    }
    let path = Path::new(name);
    if !path.exists() {
        let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        bail!(InvalidInput(format!("'{name}' is neither a built-in study ({}) nor a study file", names.join(", "))));
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let def = StudyDef::parse(&text, &path.display().to_string()).map_err(|e| InvalidInput(e.to_string()))?;
    Ok((def, text, path.display().to_string()))
}

fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && d.split('-').all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
        && d[5..7].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && d[8..10].parse::<u32>().is_ok_and(|x| (1..=31).contains(&x))
}

/// Read every run of the registry as the studies see it, with a progress bar.
pub fn read_runs(db: &crate::DbArg) -> Result<Vec<StudyRun>> {
    if !db.exists() {
        bail!("no registry at {}; create one with `ecmo demo`", db.label());
    }
    let store = db.open()?;
    let total = store.counts()?.runs;
    let bar = progress_bar(total, "reading runs");
    let cfg = FeatureConfig::default();
    let mut builder = FeatureBuilder::new();
    let rules = ecmo_study::VadRules::published();
    let mut runs = Vec::with_capacity(total as usize);
    store.for_each_run(&mut |rec| {
        runs.push(StudyRun::from_record(&rec, &mut builder, &cfg, &rules));
        if runs.len().is_multiple_of(256) {
            bar.set_position(runs.len() as u64);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(runs)
}

/// Run a loaded study on runs read from `db`.
pub fn run_loaded(
    mut def: StudyDef,
    mut text: String,
    runs: &[StudyRun],
    data_source: String,
    date: Option<String>,
    cohort: Option<&str>,
    bootstrap: Option<usize>,
) -> Result<StudyResult> {
    if let Some(label) = cohort {
        def.population.criteria.insert(
            0,
            Criterion {
                column: "cohort".into(),
                op: Op::Contains,
                value: None,
                values: vec![label.to_string()],
                reason: format!("cohort label does not contain '{label}' (--cohort)"),
            },
        );
        text.push_str(&format!(
            "\n# Added on the command line (--cohort), before the criteria above:\n# {{ column = \"cohort\", op = \"contains\", values = [\"{label}\"] }}\n"
        ));
    }
    let bar = progress_bar(0, "analysing");
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let mut progress = |what: &str| bar.set_message(what.to_string());
    let opts = RunOptions {
        software: "ecmo-cds (ecmo)".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        date,
        data_source,
        bootstrap,
        progress: &mut progress,
    };
    let res = ecmo_study::run_study(&def, &text, runs, opts);
    bar.finish_and_clear();
    res.map_err(|e| match e {
        ecmo_study::StudyError::Definition(m) => anyhow::Error::new(InvalidInput(m)),
        other => anyhow!(other.to_string()),
    })
}

pub fn run(args: Args) -> Result<()> {
    if args.list {
        for (name, _) in BUILTIN {
            let d = StudyDef::builtin(name).map_err(|e| anyhow!(e.to_string()))?;
            println!("{name:8}  {}\n          reproduces {}", d.study.title, d.study.source);
        }
        println!("\nA study file of your own: ecmo study path/to/study.toml (format: docs/studies.md).");
        return Ok(());
    }
    let (Some(name), Some(out)) = (args.study.as_deref(), args.out.as_ref()) else {
        bail!(InvalidInput("give a study NAME|FILE and --out DIR (or --list)".into()));
    };
    args.run.check()?;
    let (def, text, origin) = load(name)?;
    let started = std::time::Instant::now();
    let runs = read_runs(&args.db)?;
    let res = run_loaded(
        def,
        text,
        &runs,
        args.db.label(),
        args.run.date.clone(),
        args.run.cohort.as_deref(),
        args.run.bootstrap,
    )?;
    // Everything is computed before the first file is written.
    let html = ecmo_report::render_html(&res);
    let json = serde_json::to_string_pretty(&res)? + "\n";
    let tables = ecmo_report::tables(&res);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let write = |file: &str, body: &str| -> Result<()> {
        let p = out.join(file);
        std::fs::write(&p, body).with_context(|| format!("writing {}", p.display()))
    };
    write("report.html", &html)?;
    write("results.json", &json)?;
    for (file, body) in &tables {
        write(file, body)?;
    }
    print_summary(&res, &origin);
    println!(
        "\nWrote {} (report), results.json and {} CSV tables to {} in {:.2} s.",
        out.join("report.html").display(),
        tables.len(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn print_summary(r: &StudyResult, origin: &str) {
    println!("{} ({origin})", r.study.title);
    println!(
        "  {} runs read, {} included: {} {}, {} {}",
        r.provenance.runs_read,
        r.flow.included,
        r.flow.events,
        r.flow.event_label,
        r.flow.non_events,
        r.flow.non_event_label
    );
    for s in &r.flow.steps {
        if s.excluded > 0 {
            println!("  excluded {:5}: {}", s.excluded, s.reason);
        }
    }
    for m in &r.models {
        println!(
            "  {}: {} runs, {} events, AUC {:.3} ({:.3}-{:.3})",
            m.name, m.n, m.events, m.auc, m.auc_ci_low, m.auc_ci_high
        );
        for o in &m.odds_ratios {
            let per = if o.per == 1.0 { String::new() } else { format!(" per {} {}", o.per, o.unit) };
            println!(
                "    {}{per}: OR {:.2} ({:.2}-{:.2}), p {}",
                o.term,
                o.odds_ratio,
                o.ci_low,
                o.ci_high,
                ecmo_report::fmt::p_value(o.p)
            );
        }
    }
    for m in &r.models {
        println!("  missing data: {}", m.missing_data);
        if let Some(st) = &m.stability {
            let freq: Vec<String> =
                st.terms.iter().map(|t| format!("{} {:.0}%", t.term, 100.0 * t.proportion)).collect();
            println!("  selection stability ({} resamples): {}", st.successful, freq.join(", "));
        }
    }
    if let Some(roc) = &r.roc {
        for c in &roc.curves {
            println!("  ROC {}: AUC {:.3} ({:.3}-{:.3}), n {}", c.name, c.auc, c.ci_low, c.ci_high, c.n);
        }
    }
    if let Some(a) = &r.added_value {
        let (nri, idi) = (&a.reclassification.nri_continuous.nri, &a.reclassification.idi);
        println!(
            "  added value of {} over {}: AUC {:.3} vs {:.3} (difference {:.3}, 95% CI {:.3} to {:.3}, p {}); \
             continuous NRI {:.3} ({:.3} to {:.3}); IDI {:.3} ({:.3} to {:.3})",
            a.extended_name,
            a.base_name,
            a.auc.auc_b,
            a.auc.auc_a,
            a.auc.auc_b - a.auc.auc_a,
            // The paired test's difference is base - extended; print extended - base.
            -a.auc.diff_ci_high,
            -a.auc.diff_ci_low,
            ecmo_report::fmt::p_value(a.auc.p),
            nri.estimate,
            nri.ci_low,
            nri.ci_high,
            idi.estimate,
            idi.ci_low,
            idi.ci_high
        );
    }
    if let Some(d) = &r.decision_curve {
        let names: Vec<&str> = d.models.iter().map(|m| m.name.as_str()).collect();
        println!("  decision curve: {} (n {}; in-sample predictions)", names.join(", "), d.n);
    }
    if let Some(c) = &r.competing_risks {
        for t in &c.incidence.tests {
            println!("  competing risks, {}: Gray's test p {}", t.cause_name, ecmo_report::fmt::p_value(t.p));
        }
    }
    if let Some(s) = &r.survival {
        for c in &s.curves {
            println!("  {}: survival at {} days {:.3} (n {})", c.name, s.horizon_days, c.surv_at_horizon, c.n);
        }
        println!("  log-rank p {}", ecmo_report::fmt::p_value(s.logrank.p));
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
    println!(
        "  data fingerprint sha256:{}; date {} ({})",
        r.provenance.data_fingerprint, r.provenance.date, r.provenance.date_rule
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(valid_date("2026-01-31"));
        assert!(!valid_date("2026-13-01"));
        assert!(!valid_date("26-01-01"));
        assert!(!valid_date("2026/01/01"));
    }

    #[test]
    fn windows_close_at_their_last_hour() {
        assert_eq!(available_from_hours("[0, 24 h)"), Some(24.0));
        assert_eq!(available_from_hours("0 -> 48 h (+-2 h)"), Some(48.0));
        assert_eq!(available_from_hours("0 h +-2 h"), Some(0.0));
        assert_eq!(available_from_hours("before flow"), Some(0.0));
        assert_eq!(available_from_hours("[decision - 48 h, decision]"), None);
    }
}

/// `ecmo model fit`: fit a study's multivariable model and write a model file (ecmo-model).
#[derive(clap::Args, Debug)]
pub struct FitArgs {
    /// A built-in study name, or the path of a study file with a [model] section.
    #[arg(value_name = "STUDY")]
    pub study: String,
    #[command(flatten)]
    pub db: crate::DbArg,
    /// Model file to write (JSON; format in docs/models.md).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Model identifier (default: the study name).
    #[arg(long)]
    pub id: Option<String>,
    /// Model version.
    #[arg(long, default_value = "1")]
    pub version: String,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Hours after flow start from which a feature-table column is defined (its window closes).
fn available_from_hours(window: &str) -> Option<f64> {
    if window.starts_with("[decision") || window == "outcome" {
        return None;
    }
    // The window closes at the largest "N h" it names (e.g. "[0, 24 h)", "0 -> 48 h (+-2 h)").
    let mut best: Option<f64> = None;
    let words: Vec<&str> = window.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == '[').collect();
    for pair in words.windows(2) {
        if pair[1].starts_with('h')
            && let Ok(v) = pair[0].trim_start_matches("+-").parse::<f64>()
            && !pair[0].starts_with("+-")
        {
            best = Some(best.map_or(v, |b: f64| b.max(v)));
        }
    }
    best.or(Some(0.0))
}

pub fn model_fit(args: FitArgs) -> Result<()> {
    use ecmo_model::{Development, InputWindow, ModelFile, ModelMeta, ObservedRange, PredictorSpec, Transform};
    use ecmo_scores::features::COLUMNS;
    args.run.check()?;
    let (def, text, origin) = load(&args.study)?;
    if def.model.is_none() {
        bail!(InvalidInput(format!("{origin} has no [model] section: nothing to fit")));
    }
    let runs = read_runs(&args.db)?;
    let res = run_loaded(
        def.clone(),
        text,
        &runs,
        args.db.label(),
        args.run.date.clone(),
        args.run.cohort.as_deref(),
        args.run.bootstrap,
    )?;
    let Some(m) = res.models.first() else {
        bail!("the model was not fitted: {}", res.notes.join("; "));
    };
    if let Some(t) = m.final_terms.iter().find(|t| t.as_str() == "etiology") {
        bail!(InvalidInput(format!(
            "'{t}' is categorical; model files hold numeric and 0/1 predictors only (use 0/1 indicator columns)"
        )));
    }
    let predictors: Vec<PredictorSpec> = m
        .coefficients
        .iter()
        .skip(1)
        .map(|k| {
            let info = COLUMNS.iter().find(|c| c.name == k.term);
            let range = m.predictor_ranges.iter().find(|r| r.name == k.term);
            let unit = info.map_or("", |c| c.unit);
            PredictorSpec {
                name: k.term.clone(),
                label: info.map_or_else(|| k.term.clone(), |c| c.definition.to_string()),
                unit: if unit == "0/1" { "yes/no".into() } else { unit.to_string() },
                transform: Transform::Identity,
                range: ObservedRange { min: range.map_or(0.0, |r| r.min), max: range.map_or(1.0, |r| r.max) },
                window: info.map(|c| InputWindow {
                    description: format!("window {} relative to ECMO flow start", c.window),
                    available_from_hours: available_from_hours(c.window),
                    max_age_hours: None,
                }),
            }
        })
        .collect();
    let coefficients: Vec<f64> = m.coefficients.iter().map(|k| k.coef).collect();
    let corrected =
        |name: &str| m.validation.as_ref().and_then(|v| v.indexes.iter().find(|i| i.name == name)).map(|i| i.corrected);
    // The generator labels every run's cohort "synthetic:..."; a registry of only such runs is the demo.
    let synthetic =
        !runs.is_empty() && runs.iter().all(|r| r.cohort.as_deref().is_some_and(|c| c.starts_with("synthetic")));
    let criteria: Vec<String> = def.population.criteria.iter().map(|c| c.reason.clone()).collect();
    let mut population = ecmo_model::Population {
        description: format!("{}; excluded: {}", def.study.title, criteria.join("; ")),
        ..Default::default()
    };
    for c in &def.population.criteria {
        match (c.column.as_str(), c.op, c.value) {
            ("mode_va", Op::Eq, Some(1.0)) => population.modes = vec!["va".into(), "vav".into()],
            ("ecpr", Op::Eq, Some(v)) => population.ecpr = Some(v == 1.0),
            ("etiology", Op::In, _) => population.etiologies = c.values.clone(),
            _ => {}
        }
    }
    let outcome_name =
        if def.outcome.event_value == 1.0 { def.outcome.column.clone() } else { format!("{}=0", def.outcome.column) };
    let mut caveats = vec![format!(
        "Developed on {} runs ({} events) of {}; internal (bootstrap) validation only.",
        m.n,
        m.events,
        args.db.label()
    )];
    if synthetic {
        caveats.push("Fitted on SYNTHETIC demonstration data: not for clinical use.".into());
    }
    let meta = ModelMeta {
        id: args.id.clone().unwrap_or_else(|| def.study.name.clone()),
        version: args.version.clone(),
        title: m.name.clone(),
        outcome: ecmo_model::Outcome { name: outcome_name, description: def.outcome.label.clone() },
        population,
        caveats,
    };
    let development = Development {
        study: format!("{} ({})", def.study.name, def.study.source),
        cohort: format!(
            "{}: {} of {} runs included ({})",
            args.db.label(),
            res.flow.included,
            res.flow.total,
            res.flow
                .steps
                .iter()
                .filter(|s| s.excluded > 0)
                .map(|s| format!("{} excluded: {}", s.excluded, s.reason))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        n: m.n as u64,
        events: m.events as u64,
        synthetic,
        auc_apparent: m.auc,
        auc_optimism_corrected: corrected("auc"),
        bootstrap_replicates: m.validation.as_ref().map(|v| v.successful as u64),
        calibration_slope: corrected("slope").unwrap_or(m.calibration.slope),
        calibration_intercept: corrected("intercept").unwrap_or(m.calibration.citl),
        brier: m.calibration.brier,
        fitted_on: res.provenance.date.clone(),
        data_fingerprint: format!("sha256:{}", res.provenance.data_fingerprint),
    };
    let file = ModelFile::from_fit(meta, predictors, &coefficients, &m.vcov, development)
        .map_err(|e| anyhow!("the fitted model does not make a valid model file: {e}"))?;
    file.save(&args.out).map_err(|e| anyhow!(e.to_string()))?;
    println!(
        "Wrote {} ({}): {} predictors, n {}, events {}, AUC {:.3} apparent{}.",
        args.out.display(),
        file.label(),
        file.predictors.len(),
        m.n,
        m.events,
        m.auc,
        corrected("auc").map_or(String::new(), |a| format!(", {a:.3} optimism-corrected"))
    );
    for p in &file.predictors {
        println!(
            "  {} [{}]: coefficient {:.5}, range {} to {}",
            p.name,
            p.unit,
            p.coefficient,
            crate::score::num(p.range.min),
            crate::score::num(p.range.max)
        );
    }
    if synthetic {
        println!("  Fitted on SYNTHETIC data: for demonstration only.");
    }
    Ok(())
}
