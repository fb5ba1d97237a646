//! `ecmo import`: load a registry directory into the database.

use crate::{DbArg, InvalidInput};
use anyhow::{Context, Result, bail};
use ecmo_store::{DirImport, Store, import_dir, write_rejects};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory holding the registry CSV files (patients.csv, runs.csv, ...).
    pub dir: PathBuf,
    #[command(flatten)]
    pub db: DbArg,
    /// Write the valid rows and list the others in a rejects file, instead of
    /// refusing the whole import.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Where to write refused rows with their reasons (with --skip-invalid).
    #[arg(long, default_value = "rejects.csv", value_name = "PATH")]
    pub rejects: PathBuf,
    /// Print the import report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Most errors a terminal shows before pointing to --json for the rest.
const SHOWN_ERRORS: usize = 50;

/// The first refused rows or resources on stderr under `header`, then how many more
/// (CSV and FHIR imports report alike).
pub fn print_refused<T: std::fmt::Display>(header: &str, items: impl Iterator<Item = T>, total: usize) {
    eprintln!("{header}");
    for e in items.take(SHOWN_ERRORS) {
        eprintln!("  {e}");
    }
    if total > SHOWN_ERRORS {
        eprintln!("  ... and {} more (use --json for the full list)", total - SHOWN_ERRORS);
    }
}

/// What an import wrote, one line.
pub fn print_inserted(db: &DbArg, i: &ecmo_store::Counts) {
    println!(
        "Imported into {}: {} patients, {} runs, {} observations, {} infusion changes, {} support periods, {} events.",
        db.label(),
        i.patients,
        i.runs,
        i.observations,
        i.infusions,
        i.supports,
        i.events
    );
}

pub fn run(args: Args) -> Result<()> {
    let mut store = args.db.open()?;
    let outcome = import(&mut *store, &args.dir, args.skip_invalid)?;
    report(&outcome, &args)
}

pub fn import(store: &mut dyn Store, dir: &Path, skip_invalid: bool) -> Result<DirImport> {
    import_dir(store, dir, skip_invalid).map_err(|e| match e {
        ecmo_store::ImportDirError::Read(r) => anyhow::Error::new(InvalidInput(r.to_string())),
        ecmo_store::ImportDirError::Store(s) => anyhow::Error::new(s),
    })
}

fn report(o: &DirImport, args: &Args) -> Result<()> {
    let refused = o.invalid.len() + o.conflicts.len();
    if args.skip_invalid && refused > 0 {
        write_rejects(&args.rejects, o.rejects())
            .with_context(|| format!("writing the rejects file {}", args.rejects.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(o)?);
    } else {
        if !o.invalid.is_empty() || !o.conflicts.is_empty() {
            print_refused(&format!("{refused} row(s) refused:"), o.rejects(), refused);
        }
        if !o.warnings.is_empty() {
            eprintln!("{} unusual value(s) accepted; please confirm:", o.warnings.len());
            for w in o.warnings.iter().take(10) {
                eprintln!("  {w}");
            }
            if o.warnings.len() > 10 {
                eprintln!("  ... and {} more (use --json for the full list)", o.warnings.len() - 10);
            }
        }
        if o.committed {
            print_inserted(&args.db, &o.inserted);
            if o.unchanged.total() > 0 {
                println!(
                    "{} record(s) were already in the registry with the same values and were left as they are.",
                    o.unchanged.total()
                );
            }
            if o.repeated_rows > 0 {
                println!(
                    "{} row(s) repeated an earlier row of the same file exactly and were skipped.",
                    o.repeated_rows
                );
            }
            if o.synthetic {
                println!(
                    "Note: this registry is SYNTHETIC (its manifest says so); do not use it for clinical decisions."
                );
            }
            if args.skip_invalid && refused > 0 {
                println!("Refused rows and their reasons are in {}.", args.rejects.display());
            }
        }
    }
    if !o.committed {
        bail!(InvalidInput(format!(
            "nothing was imported: {refused} row(s) are invalid or conflict with the registry. Fix them, or re-run with --skip-invalid to import the valid rows and list the others in a rejects file."
        )));
    }
    Ok(())
}
