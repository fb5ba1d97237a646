//! `ecmo fhir import|export`: FHIR R4 Bundles in and out of the registry (docs/fhir.md).

use crate::{DbArg, InvalidInput};
use anyhow::{Context, Result, bail};
use ecmo_fhir::export::{ExportError, ExportOptions, scores_bundle, write_registry_bundle};
use ecmo_fhir::{ImportError, import_bundle_from};
use ecmo_store::StoreError;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: FhirCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum FhirCommand {
    /// Import a FHIR R4 Bundle (JSON) of Patient, Encounter, Observation, MedicationAdministration
    /// and Procedure resources, checked like a CSV registry: all or nothing unless --skip-invalid.
    Import(ImportArgs),
    /// Export the registry (--all) or one run's derived scores (--run) as a FHIR R4 Bundle.
    Export(ExportArgs),
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The Bundle, a JSON file.
    pub bundle: PathBuf,
    #[command(flatten)]
    pub db: DbArg,
    /// Write the valid resources and report the others, instead of refusing the whole Bundle.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Print the import report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["run", "all"])))]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Export this run's derived scores as Observations with components.
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// With --run: the scores as known this many hours after ECMO flow start (default: complete record).
    #[arg(long, value_name = "HOURS", requires = "run")]
    pub at: Option<f64>,
    /// Export the whole registry (patients, runs and every record) as one Bundle.
    #[arg(long)]
    pub all: bool,
    /// The centre's UTC offset, written with every time (the registry keeps wall-clock times).
    #[arg(long, default_value = "+00:00", value_name = "+HH:MM")]
    pub utc_offset: String,
    /// Write the Bundle here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        FhirCommand::Import(a) => import(a),
        FhirCommand::Export(a) => export(a),
    }
}

fn import(args: ImportArgs) -> Result<()> {
    // Read as a stream: the Bundle's text is never held whole (docs/fhir.md, Memory).
    let file = std::fs::File::open(&args.bundle).with_context(|| format!("reading {}", args.bundle.display()))?;
    let mut store = args.db.open()?;
    let label = args.bundle.display().to_string();
    let out = match import_bundle_from(&mut *store, std::io::BufReader::new(file), &label, args.skip_invalid) {
        Ok(o) => o,
        Err(ImportError::Store(e)) => return Err(e.into()),
        Err(e) => bail!(InvalidInput(format!("{label}: {e}"))),
    };
    let refused = out.invalid.len() + out.conflicts.len();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        if refused > 0 {
            crate::import::print_refused(
                &format!("{refused} resource problem(s):"),
                out.invalid.iter().chain(&out.conflicts),
                refused,
            );
        }
        for w in out.warnings.iter().take(10) {
            eprintln!("  please confirm: {w}");
        }
        if out.committed {
            crate::import::print_inserted(&args.db, &out.inserted);
            if out.unchanged.total() > 0 {
                println!("{} record(s) were already in the registry with the same values.", out.unchanged.total());
            }
            if out.derived_skipped > 0 {
                println!("{} derived-score Observation(s) were skipped (results, not data).", out.derived_skipped);
            }
            if out.synthetic {
                println!("Note: this Bundle is tagged SYNTHETIC; do not use it for clinical decisions.");
            }
        }
    }
    if !out.committed {
        bail!(InvalidInput(format!(
            "nothing was imported: {refused} resource problem(s). Fix them, or re-run with --skip-invalid to import the valid resources."
        )));
    }
    Ok(())
}

fn export(args: ExportArgs) -> Result<()> {
    let off = args.utc_offset.as_bytes();
    let offset_ok = args.utc_offset == "Z"
        || (off.len() == 6
            && matches!(off[0], b'+' | b'-')
            && off[1..3].iter().chain(&off[4..6]).all(u8::is_ascii_digit)
            && off[3] == b':');
    if !offset_ok {
        bail!(InvalidInput(format!("--utc-offset {}: give it as +HH:MM, -HH:MM or Z", args.utc_offset)));
    }
    if !args.db.exists() {
        bail!(InvalidInput(format!("no registry at {}", args.db.label())));
    }
    let opts = ExportOptions { utc_offset: args.utc_offset.clone() };
    let store = args.db.open()?;
    let Some(id) = &args.run else {
        // The registry is streamed run by run to the file (or standard output), never built whole.
        return match &args.out {
            Some(path) => {
                let n = write_file(path, |w| write_registry_bundle(&*store, &opts, w).map(|s| s.resources))?;
                eprintln!("Wrote {} with {n} resources.", path.display());
                Ok(())
            }
            None => {
                let mut w = BufWriter::new(std::io::stdout().lock());
                write_registry_bundle(&*store, &opts, &mut w).map_err(export_error)?;
                writeln!(w).and_then(|_| w.flush()).context("writing the Bundle to standard output")
            }
        };
    };
    let rec = match store.load_run(id) {
        Ok(r) => r,
        Err(StoreError::NoSuchRun(id)) => {
            bail!(InvalidInput(format!("there is no run '{id}' in {}; `ecmo runs` lists them", args.db.label())))
        }
        Err(e) => return Err(e.into()),
    };
    let scores = ecmo_scores::run_scores::run_scores(&rec, args.at, &ecmo_scores::Options::default());
    let bundle = scores_bundle(&rec, &scores, &opts);
    let text = serde_json::to_string_pretty(&bundle)?;
    match &args.out {
        Some(path) => {
            let n = bundle["entry"].as_array().map_or(0, Vec::len);
            write_file(path, |w| {
                w.write_all(text.as_bytes()).map(|_| n).map_err(|e| ExportError::Write(serde_json::Error::io(e)))
            })?;
            eprintln!("Wrote {} with {n} resources.", path.display());
        }
        None => {
            writeln!(std::io::stdout().lock(), "{text}").context("writing the Bundle to standard output")?;
        }
    }
    Ok(())
}

fn export_error(e: ExportError) -> anyhow::Error {
    match e {
        ExportError::Store(e) => e.into(),
        e @ ExportError::Write(_) => anyhow::Error::new(e),
    }
}

/// Writes `path` through a temporary file beside it, renamed into place when complete: a
/// failed export leaves no half-written Bundle.
fn write_file<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<std::fs::File>) -> Result<T, ExportError>,
) -> Result<T> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.partial"));
    let result = (|| {
        let file = std::fs::File::create(&tmp).with_context(|| format!("writing {}", path.display()))?;
        let mut w = BufWriter::new(file);
        let value = write(&mut w).map_err(export_error)?;
        writeln!(w).and_then(|_| w.flush()).with_context(|| format!("writing {}", path.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
