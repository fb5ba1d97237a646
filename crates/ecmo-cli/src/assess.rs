//! `ecmo assess`, `ecmo model list|show`, `ecmo ack` and `ecmo decisions`:
//! the bedside assessment of one run at one instant, the centre's model
//! files, and the log of what clinicians acknowledged or overrode.
//!
//! The work is in `ecmo-bedside` (assessment), `ecmo-model` (model files) and
//! `ecmo_store::decisions` (the log); this module loads, calls and prints.

use crate::{DbArg, InvalidInput};
use anyhow::{Context, Result};
use ecmo_bedside::{AssessConfig, Assessment, ReadinessThresholds, VadRules, assess, latest_instant, render_text};
use ecmo_domain::{RunRecord, Timestamp};
use ecmo_model::ModelFile;
use ecmo_store::StoreError;
use ecmo_store::decisions::{DecisionAction, DecisionError, DecisionLog, DecisionRecord, StoredDecision};
use ecmo_store::sqlite::SqliteStore;
use std::path::{Path, PathBuf};

/// What to assess with: the instant, models, rules and thresholds.
#[derive(clap::Args, Debug)]
pub struct AssessWith {
    /// Assess the run as it stood this many hours after ECMO flow start, using nothing recorded
    /// later (default: the run's latest record, or its decannulation).
    #[arg(long, value_name = "HOURS", allow_negative_numbers = true)]
    pub at: Option<f64>,
    /// A prediction-model file written by `ecmo model fit` (repeat for several models).
    #[arg(long = "model", value_name = "FILE")]
    pub models: Vec<PathBuf>,
    /// A centre's own ECMO-to-VAD rules file (default: the published tree, Seed 003).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// A centre's own weaning-readiness thresholds file (default: the shipped thresholds).
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArg,
    /// The run to assess (its id as listed by `ecmo runs`).
    #[arg(long, value_name = "ID")]
    pub run: String,
    #[command(flatten)]
    pub with: AssessWith,
    /// Print the whole assessment as JSON (the structure the web application shows).
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum ModelCommand {
    /// List the model files in a directory (default ./models) with their key facts.
    List {
        #[arg(value_name = "DIR", default_value = "models")]
        dir: PathBuf,
    },
    /// Show one model file: outcome, population, predictors, coefficients, development cohort.
    Show {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Print the validated file as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fit a study's multivariable model on the registry and write the model file.
    Fit(crate::study::FitArgs),
}

#[derive(clap::Args, Debug)]
pub struct AckArgs {
    #[command(flatten)]
    pub db: DbArg,
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// Who acknowledges or overrides.
    #[arg(long, value_name = "NAME")]
    pub user: String,
    /// Override the recommendation instead of acknowledging it (needs --reason).
    #[arg(long = "override")]
    pub override_: bool,
    /// Why (mandatory with --override).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Store this saved assessment (`ecmo assess --json` output) instead of assessing again.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["at", "models", "rules", "thresholds"])]
    pub assessment: Option<PathBuf>,
    #[command(flatten)]
    pub with: AssessWith,
}

#[derive(clap::Args, Debug)]
pub struct DecisionsArgs {
    #[command(flatten)]
    pub db: DbArg,
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// Show what was shown for this instant (hours after flow start): the latest decision whose
    /// assessment was as of this instant or earlier, with the assessment as it was shown.
    #[arg(long, value_name = "HOURS", allow_negative_numbers = true, conflicts_with = "id")]
    pub at: Option<f64>,
    /// Show one decision with the assessment as it was shown.
    #[arg(long, value_name = "N")]
    pub id: Option<i64>,
    #[arg(long)]
    pub json: bool,
}

fn load_record(db: &DbArg, run: &str) -> Result<RunRecord> {
    if !db.exists() {
        return Err(InvalidInput(format!(
            "no registry at {}; create one with `ecmo demo` or `ecmo import DIR --db {}`",
            db.label(),
            db.label()
        ))
        .into());
    }
    let store = db.open()?;
    match store.load_run(run) {
        Ok(r) => Ok(r),
        Err(StoreError::NoSuchRun(id)) => Err(InvalidInput(format!(
            "there is no run '{id}' in {}; `ecmo runs --db {}` lists the run ids",
            db.label(),
            db.label()
        ))
        .into()),
        Err(e) => Err(e).with_context(|| format!("loading run {run}")),
    }
}

fn read(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| InvalidInput(format!("cannot read {what} {}: {e}", path.display())).into())
}

fn config(with: &AssessWith) -> Result<AssessConfig> {
    let mut cfg = AssessConfig::default();
    if let Some(p) = &with.rules {
        cfg.rules = VadRules::from_toml(&read(p, "rules file")?, &p.display().to_string())
            .map_err(|e| InvalidInput(e.to_string()))?;
    }
    if let Some(p) = &with.thresholds {
        cfg.thresholds = ReadinessThresholds::from_toml(&read(p, "thresholds file")?, &p.display().to_string())
            .map_err(|e| InvalidInput(e.to_string()))?;
    }
    for p in &with.models {
        cfg.models.push(ModelFile::load(p).map_err(|e| InvalidInput(e.to_string()))?);
    }
    Ok(cfg)
}

fn instant(record: &RunRecord, at: Option<f64>) -> Result<Timestamp> {
    match at {
        Some(h) if !h.is_finite() => {
            Err(InvalidInput(format!("--at {h}: give the number of hours after ECMO flow start, e.g. --at 24")).into())
        }
        Some(h) => Ok(record.run.flow_start.plus_hours(h)),
        None => Ok(latest_instant(record)),
    }
}

fn assessment(db: &DbArg, run: &str, with: &AssessWith) -> Result<Assessment> {
    let cfg = config(with)?;
    let record = load_record(db, run)?;
    let at = instant(&record, with.at)?;
    Ok(assess(&record, at, &cfg))
}

pub fn run(args: Args) -> Result<()> {
    let a = assessment(&args.db, &args.run, &args.with)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&a)?);
    } else {
        print!("{}", render_text(&a));
    }
    Ok(())
}

pub fn model(args: ModelArgs) -> Result<()> {
    match args.command {
        ModelCommand::Fit(a) => crate::study::model_fit(a),
        ModelCommand::List { dir } => {
            let listed = ecmo_model::list_dir(&dir).map_err(|e| InvalidInput(e.to_string()))?;
            if listed.is_empty() {
                println!("No model files in {} (write one with `ecmo model fit`).", dir.display());
            }
            let mut rows = Vec::new();
            for (path, m) in listed {
                rows.push(match m {
                    Ok(m) => vec![
                        path.display().to_string(),
                        m.label(),
                        m.outcome.name.clone(),
                        m.predictors.len().to_string(),
                        format!("{}/{}", m.development.events, m.development.n),
                        format!("{:.3}", m.development.auc_apparent),
                        m.development.auc_optimism_corrected.map_or("-".into(), |v| format!("{v:.3}")),
                        m.development.fitted_on.clone(),
                        if m.development.synthetic { "synthetic".into() } else { String::new() },
                    ],
                    Err(e) => vec![path.display().to_string(), format!("INVALID: {e}")],
                });
            }
            if !rows.is_empty() {
                print!(
                    "{}",
                    crate::output::table(
                        &[
                            "file",
                            "model",
                            "outcome",
                            "predictors",
                            "events/n",
                            "AUC",
                            "AUC corrected",
                            "fitted",
                            "data"
                        ],
                        &rows
                    )
                );
            }
            Ok(())
        }
        ModelCommand::Show { file, json } => {
            let m = ModelFile::load(&file).map_err(|e| InvalidInput(e.to_string()))?;
            if json {
                print!("{}", m.to_json());
            } else {
                print!("{}", show_model(&m));
            }
            Ok(())
        }
    }
}

fn show_model(m: &ModelFile) -> String {
    use std::fmt::Write as _;
    let d = &m.development;
    let mut s = String::new();
    let _ = writeln!(s, "{} ({}), checksum {}", m.title, m.label(), m.checksum());
    let _ = writeln!(s, "Predicts: {} ({})", m.outcome.description, m.outcome.name);
    let _ = writeln!(s, "For: {}", m.population.description);
    if !m.population.modes.is_empty() {
        let _ = writeln!(s, "  ECMO modes: {}", m.population.modes.join(", "));
    }
    let _ = writeln!(s, "Logistic model: log-odds = {:.4}", m.intercept);
    for p in &m.predictors {
        let _ = writeln!(
            s,
            "  {:+.4} x {} [{}; {} = {}; OR {:.3} per unit; development range {}-{}]",
            p.coefficient,
            p.name,
            p.label,
            p.unit,
            p.transform.describe(),
            p.coefficient.exp(),
            p.range.min,
            p.range.max
        );
    }
    let epv = m.events_per_predictor().map_or("-".into(), |v| format!("{v:.1}"));
    let _ = writeln!(
        s,
        "Development: {} ({}), {} runs, {} events, {epv} events per predictor{}",
        d.study,
        d.cohort,
        d.n,
        d.events,
        if d.synthetic { ", SYNTHETIC data" } else { "" }
    );
    let _ = writeln!(
        s,
        "  AUC {:.3} apparent, {} optimism-corrected{}; calibration slope {:.3}, intercept {:.3}; Brier {:.4}",
        d.auc_apparent,
        d.auc_optimism_corrected.map_or("not".into(), |v| format!("{v:.3}")),
        d.bootstrap_replicates.map(|b| format!(" ({b} bootstrap replicates)")).unwrap_or_default(),
        d.calibration_slope,
        d.calibration_intercept,
        d.brier
    );
    let _ = writeln!(
        s,
        "  fitted {} on data {}; written by {} {}",
        d.fitted_on, d.data_fingerprint, m.software.name, m.software.version
    );
    for g in m.model_guards() {
        let _ = writeln!(s, "Caution: {}", g.message);
    }
    for c in &m.caveats {
        let _ = writeln!(s, "Caveat: {c}");
    }
    s
}

/// The decision log lives in the SQLite registry.
fn decision_store(db: &DbArg) -> Result<SqliteStore> {
    if ecmo_store::is_postgres_url(&db.db) {
        return Err(InvalidInput("the decision log is kept in the SQLite registry only (for now)".into()).into());
    }
    if !db.exists() {
        return Err(InvalidInput(format!("no registry at {}", db.label())).into());
    }
    SqliteStore::open(Path::new(&db.db)).with_context(|| format!("opening {}", db.label()))
}

pub fn ack(args: AckArgs) -> Result<()> {
    let action = if args.override_ { DecisionAction::Override } else { DecisionAction::Acknowledge };
    if action == DecisionAction::Override && args.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(
            InvalidInput("--override needs --reason TEXT: why the recommendation is not followed".into()).into()
        );
    }
    let (json, text, as_of, recommendation, versions) = match &args.assessment {
        Some(path) => {
            let text = read(path, "assessment")?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| InvalidInput(format!("{}: not an assessment JSON: {e}", path.display())))?;
            if v["format"] != ecmo_bedside::assess::ASSESSMENT_FORMAT {
                return Err(InvalidInput(format!("{}: not an `ecmo assess --json` output", path.display())).into());
            }
            if v["run"]["run_id"] != args.run.as_str() {
                return Err(InvalidInput(format!(
                    "{} is the assessment of run {}, not of run {}",
                    path.display(),
                    v["run"]["run_id"],
                    args.run
                ))
                .into());
            }
            let as_of: Timestamp = v["as_of"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| InvalidInput(format!("{}: `as_of` is missing", path.display())))?;
            let rec = v["vad"]["recommendation"].as_str().unwrap_or("").to_string();
            (text, None, as_of, rec, versions_of(&v))
        }
        None => {
            let a = assessment(&args.db, &args.run, &args.with)?;
            let rec = serde_json::to_value(a.vad.recommendation)?.as_str().unwrap_or("").to_string();
            (serde_json::to_string(&a)?, Some(render_text(&a)), a.as_of, rec, a.versions())
        }
    };
    let mut store = decision_store(&args.db)?;
    let recorded_at =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let d = DecisionRecord {
        run_id: args.run.clone(),
        as_of,
        recorded_at,
        user: args.user.clone(),
        action,
        recommendation: recommendation.clone(),
        reason: args.reason.clone(),
        versions,
        assessment_json: json,
        shown_text: text,
    };
    let id = store.record_decision(&d).map_err(|e| match e {
        DecisionError::Invalid(m) => anyhow::Error::new(InvalidInput(m)),
        DecisionError::Store(e) => anyhow::Error::new(e),
    })?;
    println!(
        "Recorded decision {id}: {} {} {} the recommendation '{recommendation}' for run {} as of {as_of}{}.",
        utc(recorded_at),
        args.user,
        if action == DecisionAction::Override { "overrode" } else { "acknowledged" },
        args.run,
        args.reason.as_deref().map(|r| format!(" (reason: {r})")).unwrap_or_default()
    );
    println!("`ecmo decisions --run {} --id {id}` shows exactly what was shown.", args.run);
    Ok(())
}

fn versions_of(v: &serde_json::Value) -> String {
    let s = |p: &serde_json::Value| p.as_str().unwrap_or("?").to_string();
    let mut out = vec![
        format!("ecmo-cds {}", s(&v["software_version"])),
        format!("rules {}@{}", s(&v["vad"]["rules_id"]), s(&v["vad"]["rules_version"])),
        format!("thresholds {}@{}", s(&v["readiness"]["thresholds_id"]), s(&v["readiness"]["thresholds_version"])),
    ];
    if let Some(models) = v["models"].as_array() {
        for m in models {
            out.push(format!("model {}@{} {}", s(&m["model_id"]), s(&m["model_version"]), s(&m["model_checksum"])));
        }
    }
    out.join("; ")
}

/// Seconds since 1970 (UTC) as `YYYY-MM-DD HH:MM UTC`.
fn utc(secs: i64) -> String {
    format!("{} UTC", Timestamp(secs.div_euclid(60)))
}

pub fn decisions(args: DecisionsArgs) -> Result<()> {
    let store = decision_store(&args.db)?;
    let all = store.decisions_for_run(&args.run)?;
    let chosen: Option<StoredDecision> = if let Some(id) = args.id {
        let d = store.decision(id)?.filter(|d| d.record.run_id == args.run);
        Some(d.ok_or_else(|| InvalidInput(format!("no decision {id} for run {}", args.run)))?)
    } else if let Some(h) = args.at {
        let record = load_record(&args.db, &args.run)?;
        let t = instant(&record, Some(h))?;
        let d = all.iter().filter(|d| d.record.as_of <= t).max_by_key(|d| (d.record.as_of, d.id)).cloned();
        Some(d.ok_or_else(|| InvalidInput(format!("no decision recorded for run {} as of {t} or earlier", args.run)))?)
    } else {
        None
    };
    match chosen {
        Some(d) if args.json => {
            let mut v = serde_json::to_value(&d)?;
            // Give back the assessment as the structure that was shown, not as a string.
            if let Ok(a) = serde_json::from_str::<serde_json::Value>(&d.record.assessment_json) {
                v["assessment"] = a;
            }
            if let Some(o) = v.as_object_mut() {
                o.remove("assessment_json");
            }
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Some(d) => {
            let r = &d.record;
            println!(
                "Decision {}: {} {} '{}' for run {} as of {} ({}){}",
                d.id,
                r.user,
                if r.action == DecisionAction::Override { "overrode" } else { "acknowledged" },
                r.recommendation,
                r.run_id,
                r.as_of,
                utc(r.recorded_at),
                r.reason.as_deref().map(|x| format!("; reason: {x}")).unwrap_or_default()
            );
            println!("Versions: {}", r.versions);
            println!("--- what was shown ---");
            match &r.shown_text {
                Some(t) => print!("{t}"),
                None => println!("{}", r.assessment_json),
            }
        }
        None if args.json => println!("{}", serde_json::to_string_pretty(&all)?),
        None => {
            if all.is_empty() {
                println!("No decisions recorded for run {}.", args.run);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|d| {
                    let r = &d.record;
                    vec![
                        d.id.to_string(),
                        utc(r.recorded_at),
                        r.user.clone(),
                        r.action.code().into(),
                        r.as_of.to_string(),
                        r.recommendation.clone(),
                        r.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                crate::output::table(&["id", "recorded", "user", "action", "as of", "recommendation", "reason"], &rows)
            );
        }
    }
    Ok(())
}
