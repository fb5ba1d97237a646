//! `ecmo`: decision support and outcomes research for VA-ECMO and E-CPR.
//!
//! This binary parses arguments and prints; the work is done by the library
//! crates. Exit codes: 0 success, 2 usage error, 3 invalid input, 1 anything else.

mod analyze;
mod assess;
mod demo;
mod features;
mod fhir;
mod import;
mod migrate;
mod output;
mod runs;
mod score;
mod scores;
mod serve;
mod study;
mod synth;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The allocator of the whole `ecmo` binary, chosen on `ecmo features --from`: with
/// glibc's, a fifth of `ecmo features --from` went into malloc/free (score results build
/// small strings for every run; rows are allocated on one thread and freed on another).
/// mimalloc cut CPU and wall time by about 20 % at 10k and 100k runs, same output. Built with
/// `no_thp`: with transparent huge pages its arenas added ~60 MB of resident memory and
/// page-fault time to every run of the binary, however small.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for input that was read but is not valid (bad rows, conflicts).
pub const EXIT_INVALID_INPUT: u8 = 3;

/// An error caused by the user's data, reported with exit code 3.
#[derive(Debug)]
pub struct InvalidInput(pub String);

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}

#[derive(Parser)]
#[command(
    name = "ecmo",
    version,
    about = "Decision support and outcomes research for VA-ECMO and E-CPR",
    long_about = "Decision support and outcomes research for patients on veno-arterial ECMO and after E-CPR.\n\n\
        Start with `ecmo demo`: it builds a synthetic registry in ./ecmo.db and tells you what to run next.",
    after_help = "Exit codes: 0 success, 1 unexpected failure, 2 usage error, 3 invalid input data."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a demonstration registry of synthetic patients in ./ecmo.db.
    Demo(demo::Args),
    /// Write a synthetic registry as CSV files (clearly labelled synthetic).
    Synth(synth::Args),
    /// Load a registry from CSV files into the database, checking every value.
    Import(import::Args),
    /// List the ECMO runs in the registry with their key facts.
    Runs(runs::Args),
    /// Bedside score calculator from direct inputs (VIS, SOFA, APACHE II, SAVE, ENCOURAGE, TiPS65, ...).
    Score(score::Args),
    /// Every score and study variable of one ECMO run, with components and the records behind them.
    Scores(scores::Args),
    /// Derive one row per run with every study variable and outcome (CSV).
    Features(features::Args),
    /// Statistics on any CSV table: Table 1, logistic, ROC, survival, calibration, validation.
    Analyze(analyze::Args),
    /// Bedside assessment of one run: VAD decision tree, weaning readiness, scores, model predictions.
    Assess(assess::Args),
    /// Prediction-model files: list a directory, show one.
    Model(assess::ModelArgs),
    /// Acknowledge or override the bedside recommendation; stores exactly what was shown.
    Ack(assess::AckArgs),
    /// The acknowledgements and overrides of a run, and what was shown for each.
    Decisions(assess::DecisionsArgs),
    /// FHIR R4: import a Bundle, export the registry or a run's derived scores.
    Fhir(fhir::Args),
    /// Bring the registry schema up to date, or copy a registry to another store (--from --to).
    Migrate(migrate::Args),
    /// Start the web application (bedside dashboard, cohort view, JSON API) on the registry.
    Serve(serve::ServeArgs),
    /// Accounts of the web application (the first administrator is created here).
    User(serve::UserArgs),
    /// Verify or export the audit log of access to patient data.
    Audit(serve::AuditArgs),
    /// Reproduce a published study (weaning, vis, ecpr, vad) or run a study file: HTML report and tables.
    Study(study::Args),
}

/// `--db` shared by every command that reads or writes the registry.
#[derive(clap::Args, Debug, Clone)]
pub struct DbArg {
    /// Registry: a SQLite file (created if missing) or a PostgreSQL URL,
    /// postgres://user@host:port/database[?schema=NAME] (docs/postgres.md).
    #[arg(long, env = "ECMO_DB", default_value = "ecmo.db", value_name = "PATH|URL")]
    pub db: String,
}

impl DbArg {
    /// The registry for messages (a URL without its password).
    pub fn label(&self) -> String {
        ecmo_store::postgres::redact(&self.db)
    }

    /// Whether the registry may already hold data: a SQLite file that exists, or any
    /// PostgreSQL URL (the server says whether it is reachable).
    pub fn exists(&self) -> bool {
        ecmo_store::is_postgres_url(&self.db) || std::path::Path::new(&self.db).exists()
    }

    /// Open (creating or migrating) the registry.
    pub fn open(&self) -> anyhow::Result<Box<dyn ecmo_store::Store + Send>> {
        use anyhow::Context;
        ecmo_store::open_store(&self.db).with_context(|| format!("opening {}", self.label()))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Import(a) => import::run(a),
        Command::Runs(a) => runs::run(a),
        Command::Score(a) => score::run(a),
        Command::Scores(a) => scores::run(a),
        Command::Features(a) => features::run(a),
        Command::Analyze(a) => analyze::run(a),
        Command::Assess(a) => assess::run(a),
        Command::Model(a) => assess::model(a),
        Command::Ack(a) => assess::ack(a),
        Command::Decisions(a) => assess::decisions(a),
        Command::Fhir(a) => fhir::run(a),
        Command::Migrate(a) => migrate::run(a),
        Command::Serve(a) => serve::serve(a),
        Command::User(a) => serve::user(a),
        Command::Audit(a) => serve::audit(a),
        Command::Study(a) => study::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(invalid) = e.downcast_ref::<InvalidInput>() {
                eprintln!("error: {invalid}");
                ExitCode::from(EXIT_INVALID_INPUT)
            } else {
                eprintln!("error: {e}");
                for cause in e.chain().skip(1) {
                    eprintln!("  because: {cause}");
                }
                ExitCode::FAILURE
            }
        }
    }
}
