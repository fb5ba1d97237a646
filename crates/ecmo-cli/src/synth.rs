//! `ecmo synth`: write a synthetic registry as CSV files.

use crate::output::progress_bar;
use anyhow::{Context, Result, bail};
use ecmo_synth::{Mix, Profile};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of synthetic patients (one ECMO run each).
    #[arg(long, default_value_t = 300)]
    pub patients: u64,
    /// Random seed; the same seed always gives the same registry.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory for the CSV files (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Cohort profile: `mixed` (default: 35 % cs_weaning, 35 % cs_vis, 20 % ecpr,
    /// 10 % vad_referral) or one of cs_weaning, cs_vis, ecpr, vad_referral.
    #[arg(long, default_value = "mixed")]
    pub profile: String,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn mix_from(profile: &str) -> Result<Mix> {
    if profile == "mixed" {
        return Ok(Mix::default());
    }
    match Profile::from_code(profile) {
        Some(p) => Ok(Mix::only(p)),
        None => bail!(crate::InvalidInput(format!(
            "unknown profile '{profile}'; use mixed, cs_weaning, cs_vis, ecpr or vad_referral"
        ))),
    }
}

pub fn run(args: Args) -> Result<()> {
    let mix = mix_from(&args.profile)?;
    if args.patients == 0 {
        bail!(crate::InvalidInput("--patients must be at least 1".into()));
    }
    let started = Instant::now();
    let bar = progress_bar(args.patients, "generating synthetic runs");
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let written =
        ecmo_synth::write_registry(&args.out, args.patients, args.seed, &mix, threads, &|n| bar.set_position(n))
            .with_context(|| format!("writing the registry to {}", args.out.display()))?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "out": args.out, "patients": written.patients, "runs": written.patients,
                "rows": written.rows, "seed": args.seed, "profile": args.profile,
                "synthetic": true, "seconds": secs,
            })
        );
    } else {
        println!(
            "Wrote a SYNTHETIC registry of {} patients ({} runs, {} rows) to {} in {:.1} s (seed {}, profile {}).",
            written.patients,
            written.patients,
            written.rows,
            args.out.display(),
            secs,
            args.seed,
            args.profile
        );
        println!("These are not real patients. Load them with: ecmo import {} --db ecmo.db", args.out.display());
    }
    Ok(())
}
