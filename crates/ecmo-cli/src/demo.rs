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
    /// Then fit the weaning and VIS models into ./models, create three demonstration
    /// accounts (admin, clinician, researcher; one generated password, printed) and start
    /// the web application on the registry.
    #[arg(long)]
    pub serve: bool,
    /// Address of the web application with --serve.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT", requires = "serve")]
    pub addr: std::net::SocketAddr,
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
    if args.serve {
        return serve_demo(&args);
    }
    println!();
    println!("Next:");
    println!("  ecmo runs --db {}                 list the runs with their key facts", args.db.label());
    println!("  ecmo synth --patients 1000 --out registry/   write a synthetic registry as CSV files to inspect");
    println!(
        "  ecmo import registry/ --db my.db             load a centre's own CSV export (format: docs/data-format.md)"
    );
    println!("  ecmo demo --serve                            the same, then the web application on it");
    Ok(())
}

/// The demonstration accounts, one per role.
const DEMO_ACCOUNTS: [(&str, &str); 3] =
    [("demo-admin", "admin"), ("demo-clinician", "clinician"), ("demo-researcher", "researcher")];

/// `--serve`: models, accounts, then the web application (until Ctrl-C).
fn serve_demo(args: &Args) -> Result<()> {
    let models = std::path::PathBuf::from("models");
    std::fs::create_dir_all(&models).with_context(|| format!("creating {}", models.display()))?;
    for study in ["weaning", "vis"] {
        let out = models.join(format!("{study}.json"));
        println!();
        println!("Fitting the {study} model on the registry -> {}", out.display());
        crate::study::model_fit(crate::study::FitArgs {
            study: study.into(),
            db: args.db.clone(),
            out,
            id: None,
            version: "1".into(),
            run: crate::study::RunArgs { date: None, cohort: None, bootstrap: Some(50) },
        })?;
    }
    // One password for the three synthetic-data accounts, generated here and shown once.
    let mut raw = [0u8; 9];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness for the demo password: {e}"))?;
    let password: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let hash = ecmo_server::auth::hash_password(&password).map_err(|e| anyhow::anyhow!(e))?;
    let mut store = ecmo_server::state::open_web_store(&args.db.db)?;
    let existing: Vec<String> = store.accounts()?.into_iter().map(|a| a.name).collect();
    for (name, role) in DEMO_ACCOUNTS {
        if existing.iter().any(|e| e == name) {
            store.set_password_hash(name, &hash)?;
        } else {
            let role: ecmo_store::accounts::Role = role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            store.add_account(name, role, &hash, ecmo_server::auth::now())?;
        }
    }
    drop(store);
    println!();
    if args.addr.port() == 0 {
        println!("Web application on the SYNTHETIC registry: open the address printed below and sign in as");
    } else {
        println!("Web application on the SYNTHETIC registry: open http://{}/ and sign in as", args.addr);
    }
    for (name, role) in DEMO_ACCOUNTS {
        println!("  {name:<16} ({role})");
    }
    println!("with the password {password}  (demonstration accounts; `ecmo user add` makes real ones)");
    println!();
    crate::serve::serve(crate::serve::ServeArgs { db: args.db.clone(), addr: args.addr, models: Some(models) })
}
