//! `ecmo migrate`: bring a registry's schema up to date, or copy a registry to another
//! store (SQLite to PostgreSQL) and verify the copy (docs/postgres.md).

use crate::{DbArg, InvalidInput};
use anyhow::{Result, bail};
use ecmo_store::transfer::copy_registry;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArg,
    /// Copy the registry at this path or URL ...
    #[arg(long, value_name = "PATH|URL", requires = "to")]
    pub from: Option<String>,
    /// ... into this (empty or partly copied) registry, in one transaction, then compare counts and fingerprints.
    #[arg(long, value_name = "PATH|URL", requires = "from")]
    pub to: Option<String>,
}

fn version(spec: &str) -> Result<i64> {
    Ok(if ecmo_store::is_postgres_url(spec) {
        ecmo_store::postgres::PgStore::open(spec)?.schema_version()?
    } else {
        ecmo_store::sqlite::SqliteStore::open(std::path::Path::new(spec))?.schema_version()?
    })
}

pub fn run(args: Args) -> Result<()> {
    let (Some(from), Some(to)) = (&args.from, &args.to) else {
        // Opening a store applies every pending migration in one transaction per version.
        let v = version(&args.db.db)?;
        println!("{} is at schema version {v} (up to date).", args.db.label());
        return Ok(());
    };
    let source = DbArg { db: from.clone() };
    let target = DbArg { db: to.clone() };
    if !source.exists() {
        bail!(InvalidInput(format!("no registry at {}", source.label())));
    }
    let from_store = source.open()?;
    let mut to_store = target.open()?;
    let before = to_store.counts()?;
    let t = copy_registry(&*from_store, &mut *to_store, &format!("ecmo migrate --from {}", source.label()))?;
    if !t.report.committed {
        for c in t.report.conflicts.iter().take(20) {
            eprintln!("  {c}");
        }
        bail!(InvalidInput(format!(
            "nothing was copied: {} record(s) of {} are already in {} with other values",
            t.report.conflicts.len(),
            source.label(),
            target.label()
        )));
    }
    let c = t.target;
    println!(
        "Copied {} to {}: {} new and {} already present records; it now holds {} patients, {} runs, {} observations, {} infusion changes, {} support periods, {} events.",
        source.label(),
        target.label(),
        t.report.inserted.total(),
        t.report.unchanged.total(),
        c.patients,
        c.runs,
        c.observations,
        c.infusions,
        c.supports,
        c.events
    );
    if before.total() == 0 && !t.verified() {
        bail!(
            "the copy does not match the source (counts {:?} vs {:?}, fingerprints {} vs {})",
            t.source,
            t.target,
            t.source_fingerprint,
            t.target_fingerprint
        );
    }
    if t.verified() {
        println!("Verified: same counts and the same fingerprint {}.", t.source_fingerprint);
    } else {
        println!(
            "The target held other records before the copy, so it is a superset of the source; counts and fingerprint are not expected to match."
        );
    }
    Ok(())
}
