//! `ecmo demo`: a synthetic registry in ./ecmo.db, and what to run next.

use crate::DbArg;
use anyhow::{Context, Result};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArg,
    /// Number of synthetic patients.
    #[arg(long, default_value_t = 300)]
    pub patients: u64,
    /// Random seed (the same seed gives the same registry).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub fn run(args: Args) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("ecmo-demo-{}", std::process::id()));
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("Generating {} synthetic patients (seed {})...", args.patients, args.seed);
    ecmo_synth::write_registry(&dir, args.patients, args.seed, &ecmo_synth::Mix::default(), threads, &|_| {})
        .with_context(|| format!("writing the synthetic registry to {}", dir.display()))?;
    let mut store = args.db.open()?;
    // The demo goes through the same validated import as a centre's own files.
    let outcome = crate::import::import(&mut *store, &dir, false);
    let _ = std::fs::remove_dir_all(&dir);
    let outcome = outcome?;
    if !outcome.committed {
        anyhow::bail!(
            "the synthetic registry did not pass validation ({} problems); please report this",
            outcome.invalid.len() + outcome.conflicts.len()
        );
    }
    let counts = store.counts()?;
    let runs = store.run_summaries()?;
    let mut by_status = std::collections::BTreeMap::<&str, usize>::new();
    let mut by_cohort = std::collections::BTreeMap::<&str, usize>::new();
    for r in &runs {
        *by_status.entry(r.status.as_str()).or_default() += 1;
        *by_cohort.entry(r.cohort.as_deref().unwrap_or("-")).or_default() += 1;
    }
    println!();
    println!("Created {} with a SYNTHETIC registry (not real patients):", args.db.label());
    println!(
        "  {} patients, {} ECMO runs, {} observations, {} infusion rate changes, {} support periods, {} events",
        counts.patients, counts.runs, counts.observations, counts.infusions, counts.supports, counts.events
    );
    println!("  cohorts: {}", by_cohort.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "));
    println!("  outcomes: {}", by_status.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "));
    if outcome.unchanged.total() > 0 {
        println!("  ({} records were already there from an earlier demo and were kept.)", outcome.unchanged.total());
    }
    println!();
    println!("Next:");
    println!("  ecmo runs --db {}                 list the runs with their key facts", args.db.label());
    println!("  ecmo synth --patients 1000 --out registry/   write a synthetic registry as CSV files to inspect");
    println!(
        "  ecmo import registry/ --db my.db             load a centre's own CSV export (format: docs/data-format.md)"
    );
    Ok(())
}
