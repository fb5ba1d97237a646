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
    /// Report date (YYYY-MM-DD). Default: the date of the latest record in the data,
    /// so that a rerun on the same data gives the same report.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Only runs whose cohort label contains LABEL (added as the first inclusion criterion).
    #[arg(long, value_name = "LABEL")]
    pub cohort: Option<String>,
    /// Bootstrap resamples for the optimism correction (default: the study's own number).
    #[arg(long, value_name = "N")]
    pub bootstrap: Option<usize>,
    /// List the built-in studies.
    #[arg(long)]
    pub list: bool,
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
    if let Some(d) = &args.date
        && !valid_date(d)
    {
        bail!(InvalidInput(format!("--date {d}: give the date as YYYY-MM-DD")));
    }
    if args.bootstrap == Some(0) {
        bail!(InvalidInput("--bootstrap 0: give at least 1 resample".into()));
    }
    let (def, text, origin) = load(name)?;
    let started = std::time::Instant::now();
    let runs = read_runs(&args.db)?;
    let res = run_loaded(def, text, &runs, args.db.label(), args.date.clone(), args.cohort.as_deref(), args.bootstrap)?;
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
    if let Some(roc) = &r.roc {
        for c in &roc.curves {
            println!("  ROC {}: AUC {:.3} ({:.3}-{:.3}), n {}", c.name, c.auc, c.ci_low, c.ci_high, c.n);
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
}
