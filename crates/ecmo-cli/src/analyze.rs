//! `ecmo analyze`: the statistics engine on any CSV table (a `features` export or a centre's
//! own spreadsheet). Loading, typing and outcome coding live in `ecmo-analysis`; this module
//! parses flags, reads the file and prints.

mod render;

use crate::InvalidInput;
use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use ecmo_analysis::calibration::CalibrationRequest;
use ecmo_analysis::logistic::LogisticRequest;
use ecmo_analysis::model::Terms;
use ecmo_analysis::roc::RocRequest;
use ecmo_analysis::stats::roc::RocDirection;
use ecmo_analysis::stats::stepwise::{Direction, PCriterion};
use ecmo_analysis::stats::survival::Ties;
use ecmo_analysis::stats::table1::TestChoice;
use ecmo_analysis::stats::validate::Selection;
use ecmo_analysis::subgroup::SubgroupRequest;
use ecmo_analysis::survival::SurvivalRequest;
use ecmo_analysis::table1::Table1Request;
use ecmo_analysis::validate::ValidateRequest;
use ecmo_analysis::{AnalysisError, Table};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `ecmo analyze`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Statistics on any CSV table: Table 1, logistic regression, ROC, survival, calibration, validation, subgroups, NRI/IDI, decision curves, competing risks, multiple imputation",
    after_help = "Missing values are empty cells and NA; rows missing a used column are dropped and counted.\n\
        Every subcommand prints R-like tables, or JSON with --json (schema: docs/json.md)."
)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Descriptives by group with an automatically chosen (and explained) test per variable.
    Table1(Table1Args),
    /// Logistic regression (as R glm), optional stepwise selection or Firth's method.
    Logistic(LogisticArgs),
    /// ROC curves: AUC with DeLong CI, optimal thresholds, paired DeLong tests.
    Roc(RocArgs),
    /// Kaplan-Meier curves, log-rank test and Cox proportional-hazards model.
    Survival(SurvivalArgs),
    /// Calibration of predicted probabilities: Brier, slope, Hosmer-Lemeshow, curve.
    Calibration(CalibrationArgs),
    /// Bootstrap optimism-corrected performance, repeating the selection in each resample.
    Validate(ValidateArgs),
    /// The same logistic model and ROC curve within each level of a grouping column, and the
    /// likelihood-ratio test of the predictor x subgroup interaction.
    Subgroup(SubgroupArgs),
    /// Net reclassification improvement (continuous, categorical) and IDI of a new model over an old one.
    Reclassification(ReclassificationArgs),
    /// Decision curves: net benefit over thresholds, treat all / none, bootstrap CI of a difference.
    Dca(DcaArgs),
    /// How often the stepwise selection picks each candidate across bootstrap resamples.
    Stability(StabilityArgs),
    /// Competing risks: cumulative incidence per cause, Gray's test, Fine-Gray regression.
    Competing(CompetingArgs),
    /// Logistic model after multiple imputation (chained equations), pooled with Rubin's rules.
    Impute(ImputeArgs),
}

/// Input file and output format, shared by every subcommand.
#[derive(clap::Args, Debug)]
struct Common {
    /// CSV file with a header line.
    #[arg(value_name = "FILE", required_unless_present = "data")]
    file: Option<PathBuf>,
    /// CSV file (same as the positional FILE).
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    data: Option<PathBuf>,
    /// Print JSON (schema in docs/json.md) instead of tables.
    #[arg(long)]
    json: bool,
    /// Print load and analysis times to stderr.
    #[arg(long)]
    timing: bool,
}

#[derive(clap::Args, Debug)]
struct Table1Args {
    #[command(flatten)]
    common: Common,
    /// Grouping column.
    #[arg(long, visible_alias = "by", value_name = "COL")]
    group: String,
    /// Variables to describe (default: every other column).
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    vars: Vec<String>,
    /// Numeric columns to treat as categorical (text and 0/1 columns always are).
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    categorical: Vec<String>,
    /// Test for continuous variables.
    #[arg(long, value_enum, default_value_t = TestArg::Auto)]
    test: TestArg,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum TestArg {
    /// Welch t / ANOVA if every group has n >= 3 and |skewness| <= 1, else rank tests.
    Auto,
    /// Welch t-test / one-way ANOVA.
    Parametric,
    /// Wilcoxon rank-sum / Kruskal-Wallis.
    Nonparametric,
}

/// Outcome, predictors and their coding.
#[derive(clap::Args, Debug)]
struct ModelArgs {
    /// Binary outcome column (0/1, or two labels).
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Outcome value counted as positive (default: 1, or the second label in sorted order).
    #[arg(long, value_name = "LEVEL")]
    positive: Option<String>,
    /// Predictor columns.
    #[arg(long, value_delimiter = ',', required = true, value_name = "A,B,..")]
    predictors: Vec<String>,
    /// Numeric predictors to treat as categorical (text columns always are).
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    categorical: Vec<String>,
    /// Reference level of a categorical predictor, COLUMN=LEVEL (repeatable).
    #[arg(long, value_name = "COL=LEVEL")]
    reference: Vec<String>,
}

/// Variable selection flags.
#[derive(clap::Args, Debug)]
struct SelectArgs {
    /// Variable selection.
    #[arg(long, value_enum, default_value_t = SelectArg::None)]
    select: SelectArg,
    /// Stepwise direction (with --criterion; alternative spelling of --select).
    #[arg(long, value_enum, conflicts_with = "select")]
    stepwise: Option<StepwiseArg>,
    /// Stepwise criterion for --stepwise: aic or p (p: backward only).
    #[arg(long, value_enum, default_value_t = CriterionArg::Aic, requires = "stepwise")]
    criterion: CriterionArg,
    /// Significance level to stay in the model for backward-p.
    #[arg(long, default_value_t = 0.05, value_name = "P")]
    alpha: f64,
    /// Test for backward-p: term-level Wald or likelihood-ratio.
    #[arg(long, value_enum, default_value_t = PTestArg::Wald)]
    p_test: PTestArg,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
enum SelectArg {
    /// Fit every predictor.
    None,
    /// MASS::stepAIC, direction both, from the full model.
    StepaicBoth,
    /// MASS::stepAIC backward.
    StepaicBackward,
    /// MASS::stepAIC forward from the intercept-only model.
    StepaicForward,
    /// Backward elimination by p-value (see --alpha, --p-test).
    BackwardP,
    /// rms::fastbw (approximate Wald deletion, rule aic): what rms::validate(bw = TRUE) uses.
    Fastbw,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum StepwiseArg {
    Backward,
    Forward,
    Both,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum CriterionArg {
    Aic,
    P,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum PTestArg {
    Wald,
    Lr,
}

impl SelectArgs {
    fn selection(&self) -> Result<Selection> {
        let criterion = match self.p_test {
            PTestArg::Wald => PCriterion::Wald,
            PTestArg::Lr => PCriterion::Lrt,
        };
        let p = Selection::BackwardP { alpha: self.alpha, criterion };
        Ok(match (self.stepwise, self.criterion) {
            (Some(StepwiseArg::Backward), CriterionArg::Aic) => Selection::StepAic(Direction::Backward),
            (Some(StepwiseArg::Forward), CriterionArg::Aic) => Selection::StepAic(Direction::Forward),
            (Some(StepwiseArg::Both), CriterionArg::Aic) => Selection::StepAic(Direction::Both),
            (Some(StepwiseArg::Backward), CriterionArg::P) => p,
            (Some(_), CriterionArg::P) => anyhow::bail!("--criterion p supports only --stepwise backward"),
            (None, _) => match self.select {
                SelectArg::None => Selection::None,
                SelectArg::StepaicBoth => Selection::StepAic(Direction::Both),
                SelectArg::StepaicBackward => Selection::StepAic(Direction::Backward),
                SelectArg::StepaicForward => Selection::StepAic(Direction::Forward),
                SelectArg::BackwardP => p,
                SelectArg::Fastbw => Selection::FastBw,
            },
        })
    }
}

#[derive(clap::Args, Debug)]
struct LogisticArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Firth's penalised likelihood (for separation; Wald CIs only).
    #[arg(long)]
    firth: bool,
    /// Skip the profile-likelihood CIs (faster on large data).
    #[arg(long)]
    no_profile: bool,
}

#[derive(clap::Args, Debug)]
struct RocArgs {
    #[command(flatten)]
    common: Common,
    /// Binary outcome column (cases = positive value).
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Outcome value counted as case (default: 1, or the second label in sorted order).
    #[arg(long, value_name = "LEVEL")]
    positive: Option<String>,
    /// Predictor columns (numeric).
    #[arg(long, value_delimiter = ',', required = true, value_name = "A,B,..")]
    predictors: Vec<String>,
    /// Direction: auto (pROC's rule), "<" (controls lower) or ">".
    #[arg(long, default_value = "auto", value_parser = ["auto", "<", ">"])]
    direction: String,
    /// Paired DeLong test for every pair of predictors (on by default with 2+ predictors).
    #[arg(long)]
    compare: bool,
    /// Do not compare the predictors.
    #[arg(long, conflicts_with = "compare")]
    no_compare: bool,
    /// Stratified bootstrap replicates for a percentile CI of the AUC.
    #[arg(long, default_value_t = 0, value_name = "N")]
    bootstrap: usize,
    /// Bootstrap seed.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
    /// Leave the coordinates of every threshold out of the output.
    #[arg(long)]
    no_coords: bool,
    /// Stratified bootstrap replicates for a CI of the Youden-optimal cut-off (uses --seed).
    #[arg(long, default_value_t = 0, value_name = "N")]
    youden_bootstrap: usize,
}

#[derive(clap::Args, Debug)]
struct SurvivalArgs {
    #[command(flatten)]
    common: Common,
    /// Follow-up time column.
    #[arg(long, value_name = "COL")]
    time: String,
    /// Event column: 0/1, 1/2 (2 = event, as R's Surv) or two labels.
    #[arg(long, value_name = "COL")]
    event: String,
    /// Value of the event column that means an event.
    #[arg(long, value_name = "LEVEL")]
    event_value: Option<String>,
    /// Group column: one curve per level and a log-rank test.
    #[arg(long, visible_alias = "by", value_name = "COL")]
    group: Option<String>,
    /// Cox model covariates.
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    cox: Vec<String>,
    /// Cox covariates to treat as categorical.
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    categorical: Vec<String>,
    /// Reference level of a categorical covariate, COLUMN=LEVEL (repeatable).
    #[arg(long, value_name = "COL=LEVEL")]
    reference: Vec<String>,
    /// Handling of tied event times in the Cox model.
    #[arg(long, value_enum, default_value_t = TiesArg::Efron)]
    ties: TiesArg,
    /// Print every row of the Kaplan-Meier tables (default: at most 30 per group).
    #[arg(long)]
    full_table: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum TiesArg {
    Efron,
    Breslow,
    /// Exact partial likelihood (slow with many tied deaths).
    Exact,
}

#[derive(clap::Args, Debug)]
struct CalibrationArgs {
    #[command(flatten)]
    common: Common,
    /// Binary outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Outcome value counted as positive.
    #[arg(long, value_name = "LEVEL")]
    positive: Option<String>,
    /// Column of predicted probabilities.
    #[arg(long, value_name = "COL")]
    predicted: String,
    /// Hosmer-Lemeshow groups (and calibration-curve bins).
    #[arg(long, default_value_t = 10, value_name = "G")]
    groups: usize,
}

#[derive(clap::Args, Debug)]
struct ValidateArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 200, value_name = "B")]
    bootstrap: usize,
    /// Seed.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
}

#[derive(clap::Args, Debug)]
struct SubgroupArgs {
    #[command(flatten)]
    common: Common,
    /// Binary outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Outcome value counted as positive (default: 1, or the second label in sorted order).
    #[arg(long, value_name = "LEVEL")]
    positive: Option<String>,
    /// Predictor column whose odds ratio and AUC are compared across subgroups.
    #[arg(long, value_name = "COL")]
    predictor: String,
    /// Grouping column (always categorical).
    #[arg(long, visible_alias = "by", value_name = "COL")]
    subgroup: String,
    /// Adjustment columns, the same model in every subgroup.
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    adjust: Vec<String>,
    /// Numeric predictor/adjustment columns to treat as categorical.
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    categorical: Vec<String>,
    /// Reference level of a categorical column (the subgroup too), COLUMN=LEVEL (repeatable).
    #[arg(long, value_name = "COL=LEVEL")]
    reference: Vec<String>,
    /// ROC direction: auto (pROC's rule, per subgroup), "<" (controls lower) or ">".
    #[arg(long, default_value = "auto", value_parser = ["auto", "<", ">"])]
    direction: String,
    /// Skip the profile-likelihood CIs.
    #[arg(long)]
    no_profile: bool,
}

#[derive(clap::Args, Debug)]
struct ReclassificationArgs {
    #[command(flatten)]
    common: Common,
    /// Binary outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Outcome value counted as positive.
    #[arg(long, value_name = "LEVEL")]
    positive: Option<String>,
    /// Column of the old model's predicted probabilities.
    #[arg(long, value_name = "COL")]
    old: String,
    /// Column of the new model's predicted probabilities.
    #[arg(long, value_name = "COL")]
    new: String,
    /// Risk cut-offs for the categorical NRI, e.g. 0.2,0.4 (category = number of cut-offs <= p).
    #[arg(long, value_delimiter = ',', value_name = "P,..")]
    cutoffs: Vec<f64>,
}

#[derive(clap::Args, Debug)]
struct DcaArgs {
    #[command(flatten)]
    common: Common,
    /// Binary outcome column.
    #[arg(long, value_name = "COL")]
    outcome: String,
    /// Outcome value counted as positive.
    #[arg(long, value_name = "LEVEL")]
    positive: Option<String>,
    /// Columns of predicted probabilities, one per model.
    #[arg(long, value_delimiter = ',', required = true, value_name = "A,B,..")]
    models: Vec<String>,
    /// Thresholds as FROM:TO:BY (inclusive) or a list P1,P2,...
    #[arg(long, default_value = "0.01:0.99:0.01", value_name = "SPEC")]
    thresholds: String,
    /// Bootstrap replicates for the CI of NB(first model) - NB(second model).
    #[arg(long, default_value_t = 0, value_name = "N")]
    bootstrap: usize,
    /// Bootstrap seed.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
}

#[derive(clap::Args, Debug)]
struct StabilityArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Bootstrap resamples.
    #[arg(long, default_value_t = 200, value_name = "B")]
    bootstrap: usize,
    /// Seed.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
}

#[derive(clap::Args, Debug)]
struct CompetingArgs {
    #[command(flatten)]
    common: Common,
    /// Follow-up time column.
    #[arg(long, value_name = "COL")]
    time: String,
    /// Status column: the censoring value, or the cause of the event (numbers or labels).
    #[arg(long, value_name = "COL")]
    status: String,
    /// Value of the status column that means censored.
    #[arg(long, default_value = "0", value_name = "VALUE")]
    censored: String,
    /// Group column: curves per group and Gray's test per cause.
    #[arg(long, visible_alias = "by", value_name = "COL")]
    group: Option<String>,
    /// Fine-Gray covariates.
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    finegray: Vec<String>,
    /// Cause modelled by Fine-Gray (default: the first cause in sorted order).
    #[arg(long, value_name = "CAUSE")]
    failcode: Option<String>,
    /// Fine-Gray covariates to treat as categorical.
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    categorical: Vec<String>,
    /// Reference level of a categorical covariate, COLUMN=LEVEL (repeatable).
    #[arg(long, value_name = "COL=LEVEL")]
    reference: Vec<String>,
    /// Print every step of the curves (default: at most 30 per curve).
    #[arg(long)]
    full_table: bool,
}

#[derive(clap::Args, Debug)]
struct ImputeArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    model: ModelArgs,
    /// Columns used only to impute the others (not model terms).
    #[arg(long, value_delimiter = ',', value_name = "A,B,..")]
    auxiliary: Vec<String>,
    /// Number of imputations.
    #[arg(long, default_value_t = 20, value_name = "M")]
    m: usize,
    /// Iterations of the chained equations.
    #[arg(long, default_value_t = 10, value_name = "N")]
    maxit: usize,
    /// Seed (same seed, same imputations).
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
    /// Bootstrap resamples for optimism correction with the imputation inside each resample.
    #[arg(long, default_value_t = 0, value_name = "B")]
    validate: usize,
}

fn impute(a: ImputeArgs) -> Result<()> {
    let mut only = vec![a.model.outcome.as_str()];
    only.extend(a.model.predictors.iter().map(|s| s.as_str()));
    only.extend(a.auxiliary.iter().map(|s| s.as_str()));
    let (table, tl) = load(&a.common, &only)?;
    let req = ecmo_analysis::impute::ImputeRequest {
        outcome: a.model.outcome.clone(),
        positive: a.model.positive.clone(),
        terms: terms(&a.model)?,
        auxiliary: a.auxiliary.clone(),
        options: ecmo_analysis::stats::mice::MiceOptions { m: a.m, maxit: a.maxit, seed: a.seed, donors: 5 },
        validate: a.validate,
    };
    let (rep, ta) = timed(|| ecmo_analysis::impute::run(&table, &req))?;
    emit(&a.common, &rep, (tl, ta), render::impute)
}

/// Parse FROM:TO:BY (inclusive, rounded to 12 decimals) or a comma list.
fn thresholds(spec: &str) -> Result<Vec<f64>> {
    let bad = || anyhow::anyhow!("--thresholds must be FROM:TO:BY or P1,P2,..., got '{spec}'");
    if let Some((a, rest)) = spec.split_once(':') {
        let (b, c) = rest.split_once(':').ok_or_else(bad)?;
        let (from, to, by): (f64, f64, f64) =
            (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?, c.parse().map_err(|_| bad())?);
        if by.is_nan() || by <= 0.0 || to < from {
            return Err(bad());
        }
        let k = ((to - from) / by + 1e-9).floor() as usize;
        return Ok((0..=k).map(|i| ((from + i as f64 * by) * 1e12).round() / 1e12).collect());
    }
    spec.split(',').map(|p| p.trim().parse::<f64>().map_err(|_| bad())).collect()
}

fn reclassification(a: ReclassificationArgs) -> Result<()> {
    let (table, tl) = load(&a.common, &[a.outcome.as_str(), a.old.as_str(), a.new.as_str()])?;
    let req = ecmo_analysis::added_value::ReclassificationRequest {
        outcome: a.outcome.clone(),
        positive: a.positive.clone(),
        old: a.old.clone(),
        new: a.new.clone(),
        cutoffs: a.cutoffs.clone(),
    };
    let (rep, ta) = timed(|| ecmo_analysis::added_value::reclassification_run(&table, &req))?;
    emit(&a.common, &rep, (tl, ta), render::reclassification)
}

fn dca(a: DcaArgs) -> Result<()> {
    let mut only = vec![a.outcome.as_str()];
    only.extend(a.models.iter().map(|s| s.as_str()));
    let (table, tl) = load(&a.common, &only)?;
    let req = ecmo_analysis::added_value::DecisionRequest {
        outcome: a.outcome.clone(),
        positive: a.positive.clone(),
        models: a.models.clone(),
        thresholds: thresholds(&a.thresholds)?,
        bootstrap: a.bootstrap,
        seed: a.seed,
    };
    let (rep, ta) = timed(|| ecmo_analysis::added_value::decision_run(&table, &req))?;
    emit(&a.common, &rep, (tl, ta), render::dca)
}

fn stability(a: StabilityArgs) -> Result<()> {
    let mut only = vec![a.model.outcome.as_str()];
    only.extend(a.model.predictors.iter().map(|s| s.as_str()));
    let (table, tl) = load(&a.common, &only)?;
    let req = ecmo_analysis::added_value::StabilityRequest {
        outcome: a.model.outcome.clone(),
        positive: a.model.positive.clone(),
        terms: terms(&a.model)?,
        selection: a.select.selection()?,
        bootstrap: a.bootstrap,
        seed: a.seed,
    };
    let (rep, ta) = timed(|| ecmo_analysis::added_value::stability_run(&table, &req))?;
    emit(&a.common, &rep, (tl, ta), render::stability)
}

fn competing(a: CompetingArgs) -> Result<()> {
    let mut only = vec![a.time.as_str(), a.status.as_str()];
    if let Some(g) = &a.group {
        only.push(g);
    }
    only.extend(a.finegray.iter().map(|s| s.as_str()));
    let (table, tl) = load(&a.common, &only)?;
    let req = ecmo_analysis::competing::CompetingRequest {
        time: a.time.clone(),
        status: a.status.clone(),
        censored: a.censored.clone(),
        group: a.group.clone(),
        finegray: Terms {
            predictors: a.finegray.clone(),
            categorical: a.categorical.clone(),
            references: parse_references(&a.reference)?,
        },
        failcode: a.failcode.clone(),
    };
    let (rep, ta) = timed(|| ecmo_analysis::competing::run(&table, &req))?;
    let full = a.full_table;
    emit(&a.common, &rep, (tl, ta), |r| render::competing(r, full))
}

/// Run `ecmo analyze`.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        Cmd::Table1(a) => table1(a),
        Cmd::Logistic(a) => logistic(a),
        Cmd::Roc(a) => roc(a),
        Cmd::Survival(a) => survival(a),
        Cmd::Calibration(a) => calibration(a),
        Cmd::Validate(a) => validate(a),
        Cmd::Subgroup(a) => subgroup(a),
        Cmd::Reclassification(a) => reclassification(a),
        Cmd::Dca(a) => dca(a),
        Cmd::Stability(a) => stability(a),
        Cmd::Competing(a) => competing(a),
        Cmd::Impute(a) => impute(a),
    }
}

/// Data errors become `InvalidInput` (exit code 3).
fn invalid(e: AnalysisError) -> anyhow::Error {
    anyhow::Error::new(InvalidInput(e.to_string()))
}

/// Read the file and parse the named columns (all when `only` is empty).
fn load(common: &Common, only: &[&str]) -> Result<(Table, f64)> {
    let path: &Path = match (&common.data, &common.file) {
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => anyhow::bail!("give the CSV file (FILE or --data FILE)"),
    };
    let t0 = Instant::now();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let name = path.display().to_string();
    let table = Table::parse_csv(&text, &name, if only.is_empty() { None } else { Some(only) }).map_err(invalid)?;
    Ok((table, t0.elapsed().as_secs_f64()))
}

fn parse_references(refs: &[String]) -> Result<Vec<(String, String)>> {
    refs.iter()
        .map(|r| match r.split_once('=') {
            Some((c, l)) if !c.is_empty() && !l.is_empty() => Ok((c.to_string(), l.to_string())),
            _ => anyhow::bail!("--reference must be COLUMN=LEVEL, got '{r}'"),
        })
        .collect()
}

fn terms(m: &ModelArgs) -> Result<Terms> {
    Ok(Terms {
        predictors: m.predictors.clone(),
        categorical: m.categorical.clone(),
        references: parse_references(&m.reference)?,
    })
}

/// Print JSON or text, and the timing line.
fn emit<T: Serialize>(common: &Common, report: &T, times: (f64, f64), text: impl FnOnce(&T) -> String) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if common.json {
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", text(report))?;
    }
    out.flush()?;
    if common.timing {
        eprintln!("timing: load {:.3} s, analysis {:.3} s", times.0, times.1);
    }
    Ok(())
}

fn timed<T>(f: impl FnOnce() -> std::result::Result<T, AnalysisError>) -> Result<(T, f64)> {
    let t0 = Instant::now();
    let r = f().map_err(invalid)?;
    Ok((r, t0.elapsed().as_secs_f64()))
}

fn table1(a: Table1Args) -> Result<()> {
    let mut only: Vec<&str> = vec![a.group.as_str()];
    only.extend(a.vars.iter().map(|s| s.as_str()));
    if a.vars.is_empty() {
        only.clear();
    }
    let (table, tl) = load(&a.common, &only)?;
    let req = Table1Request {
        group: a.group.clone(),
        vars: a.vars.clone(),
        categorical: a.categorical.clone(),
        choice: match a.test {
            TestArg::Auto => TestChoice::Auto,
            TestArg::Parametric => TestChoice::Parametric,
            TestArg::Nonparametric => TestChoice::Nonparametric,
        },
    };
    let (rep, ta) = timed(|| ecmo_analysis::table1::run(&table, &req))?;
    emit(&a.common, &rep, (tl, ta), render::table1)
}

fn logistic(a: LogisticArgs) -> Result<()> {
    let mut only = vec![a.model.outcome.as_str()];
    only.extend(a.model.predictors.iter().map(|s| s.as_str()));
    let (table, tl) = load(&a.common, &only)?;
    let req = LogisticRequest {
        outcome: a.model.outcome.clone(),
        positive: a.model.positive.clone(),
        terms: terms(&a.model)?,
        selection: a.select.selection()?,
        firth: a.firth,
        profile_ci: !a.no_profile,
    };
    let (rep, ta) = timed(|| ecmo_analysis::logistic::run(&table, &req))?;
    emit(&a.common, &rep, (tl, ta), render::logistic)
}

fn direction(s: &str) -> Option<RocDirection> {
    match s {
        "<" => Some(RocDirection::ControlsLower),
        ">" => Some(RocDirection::ControlsHigher),
        _ => None,
    }
}

fn subgroup(a: SubgroupArgs) -> Result<()> {
    let mut only = vec![a.outcome.as_str(), a.predictor.as_str(), a.subgroup.as_str()];
    only.extend(a.adjust.iter().map(|s| s.as_str()));
    let (table, tl) = load(&a.common, &only)?;
    let req = SubgroupRequest {
        outcome: a.outcome.clone(),
        positive: a.positive.clone(),
        predictor: a.predictor.clone(),
        adjust: a.adjust.clone(),
        subgroup: a.subgroup.clone(),
        categorical: a.categorical.clone(),
        references: parse_references(&a.reference)?,
        direction: direction(&a.direction),
        profile_ci: !a.no_profile,
    };
    let (rep, ta) = timed(|| ecmo_analysis::subgroup::run(&table, &req))?;
    emit(&a.common, &rep, (tl, ta), render::subgroup)
}

fn roc(a: RocArgs) -> Result<()> {
    let mut only = vec![a.outcome.as_str()];
    only.extend(a.predictors.iter().map(|s| s.as_str()));
    let (table, tl) = load(&a.common, &only)?;
    let req = RocRequest {
        outcome: a.outcome.clone(),
        positive: a.positive.clone(),
        predictors: a.predictors.clone(),
        direction: direction(&a.direction),
        compare: !a.no_compare && (a.compare || a.predictors.len() >= 2),
        bootstrap: a.bootstrap,
        seed: a.seed,
        coords: !a.no_coords,
        youden_bootstrap: a.youden_bootstrap,
    };
    let (rep, ta) = timed(|| ecmo_analysis::roc::run(&table, &req))?;
    emit(&a.common, &rep, (tl, ta), render::roc)
}

fn survival(a: SurvivalArgs) -> Result<()> {
    let mut only = vec![a.time.as_str(), a.event.as_str()];
    if let Some(g) = &a.group {
        only.push(g);
    }
    only.extend(a.cox.iter().map(|s| s.as_str()));
    let (table, tl) = load(&a.common, &only)?;
    let req = SurvivalRequest {
        time: a.time.clone(),
        event: a.event.clone(),
        event_value: a.event_value.clone(),
        group: a.group.clone(),
        cox: Terms {
            predictors: a.cox.clone(),
            categorical: a.categorical.clone(),
            references: parse_references(&a.reference)?,
        },
        ties: match a.ties {
            TiesArg::Efron => Ties::Efron,
            TiesArg::Breslow => Ties::Breslow,
            TiesArg::Exact => Ties::Exact,
        },
    };
    let (rep, ta) = timed(|| ecmo_analysis::survival::run(&table, &req))?;
    let full = a.full_table;
    emit(&a.common, &rep, (tl, ta), |r| render::survival(r, full))
}

fn calibration(a: CalibrationArgs) -> Result<()> {
    let (table, tl) = load(&a.common, &[a.outcome.as_str(), a.predicted.as_str()])?;
    let req = CalibrationRequest {
        outcome: a.outcome.clone(),
        positive: a.positive.clone(),
        predicted: a.predicted.clone(),
        groups: a.groups,
    };
    let (rep, ta) = timed(|| ecmo_analysis::calibration::run(&table, &req))?;
    emit(&a.common, &rep, (tl, ta), render::calibration)
}

fn validate(a: ValidateArgs) -> Result<()> {
    let mut only = vec![a.model.outcome.as_str()];
    only.extend(a.model.predictors.iter().map(|s| s.as_str()));
    let (table, tl) = load(&a.common, &only)?;
    let req = ValidateRequest {
        outcome: a.model.outcome.clone(),
        positive: a.model.positive.clone(),
        terms: terms(&a.model)?,
        selection: a.select.selection()?,
        bootstrap: a.bootstrap,
        seed: a.seed,
    };
    let (rep, ta) = timed(|| ecmo_analysis::validate::run(&table, &req))?;
    emit(&a.common, &rep, (tl, ta), render::validate)
}
