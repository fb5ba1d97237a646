//! `ecmo runs`: list the ECMO runs with their key facts.

use crate::DbArg;
use crate::output::table;
use anyhow::Result;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArg,
    /// Print JSON (an array of runs; schema in docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// Show at most this many runs (0 = all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
}

pub fn run(args: Args) -> Result<()> {
    if !args.db.exists() {
        anyhow::bail!(
            "no registry at {}; create one with `ecmo demo` or `ecmo import DIR --db {}`",
            args.db.label(),
            args.db.label()
        );
    }
    let store = args.db.open()?;
    let mut runs = store.run_summaries()?;
    if args.limit > 0 {
        runs.truncate(args.limit);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.run_id.clone(),
                r.patient_id.clone(),
                format!("{} {}", r.sex, r.age_years.map(|a| format!("{a:.0} y")).unwrap_or_else(|| "age ?".into())),
                r.mode.to_uppercase(),
                r.etiology.clone(),
                match (r.arrest.as_str(), r.ecpr) {
                    ("none", _) => "no arrest".into(),
                    (loc, true) => format!("{} E-CPR", loc.to_uppercase()),
                    (loc, false) => format!("{} arrest", loc.to_uppercase()),
                },
                r.flow_start.to_string(),
                r.hours_on_ecmo.map(|h| format!("{h:.0} h")).unwrap_or_else(|| "-".into()),
                r.status.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "run",
                "patient",
                "sex/age",
                "mode",
                "etiology",
                "cardiac arrest",
                "ECMO flow start",
                "on ECMO",
                "status"
            ],
            &rows
        )
    );
    println!("{} run(s).", runs.len());
    Ok(())
}
