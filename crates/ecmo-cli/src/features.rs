//! `ecmo features`: one row per run with every study variable and outcome.

use crate::InvalidInput;
use crate::output::progress_bar;
use anyhow::{Context, Result, bail};
use ecmo_domain::RunRecord;
use ecmo_scores::features::{FeatureBuilder, FeatureConfig, FeatureRow};
use ecmo_store::stream::{RegistryStream, StreamError};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Registry database to read (default ./ecmo.db unless --from is given).
    #[arg(long, env = "ECMO_DB", value_name = "PATH|URL", conflicts_with = "from")]
    pub db: Option<String>,
    /// Read a registry directory of CSV files directly, without a database
    /// (record files grouped by run in the order of runs.csv).
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// Output CSV file (data dictionary: docs/features.md).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Use only what was recorded up to this many hours after ECMO flow start
    /// for the predictor columns (outcomes always use the complete record).
    #[arg(long, value_name = "HOURS")]
    pub as_of: Option<f64>,
}

/// Runs in flight between the reader and the deriving thread.
const QUEUE: usize = 512;

pub fn run(args: Args) -> Result<()> {
    if let Some(h) = args.as_of
        && !(h.is_finite() && h >= 0.0)
    {
        bail!(InvalidInput(format!("--as-of {h}: give hours after ECMO flow start (0 or more)")));
    }
    let cfg = FeatureConfig { as_of_hours: args.as_of, ..FeatureConfig::default() };
    let file = std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut header = FeatureRow::csv_header();
    if !header.ends_with('\n') {
        header.push('\n');
    }
    out.write_all(header.as_bytes())?;

    // The reader (CSV parsing or SQLite) and the derivation run on two threads.
    let (tx, rx) = sync_channel::<RunRecord>(QUEUE);
    let (source_label, total, reader): (String, u64, Box<dyn FnOnce() -> Result<()> + Send>) = match &args.from {
        Some(dir) => {
            let stream = RegistryStream::open(dir).map_err(|e| stream_error(e, dir))?;
            let total = stream.len() as u64;
            let dir = dir.clone();
            (
                dir.display().to_string(),
                total,
                Box::new(move || {
                    for rec in stream {
                        let rec = rec.map_err(|e| stream_error(e, &dir))?;
                        if tx.send(rec).is_err() {
                            break;
                        }
                    }
                    Ok(())
                }),
            )
        }
        None => {
            let db = crate::DbArg { db: args.db.clone().unwrap_or_else(|| "ecmo.db".into()) };
            if !db.exists() {
                bail!("no registry at {}; create one with `ecmo demo` or give --from DIR", db.label());
            }
            let total = db.open()?.counts()?.runs;
            let label = db.label();
            (
                label,
                total,
                Box::new(move || {
                    let store = db.open()?;
                    store.for_each_run(&mut |rec| {
                        // A closed receiver means the writer failed; it reports why.
                        let _ = tx.send(rec);
                        Ok(())
                    })?;
                    Ok(())
                }),
            )
        }
    };
    let bar = progress_bar(total, "deriving features");
    let started = std::time::Instant::now();
    let (rows, read_result) = std::thread::scope(|s| -> Result<(u64, Result<()>)> {
        let handle = s.spawn(reader);
        let mut builder = FeatureBuilder::new();
        let mut buf = Vec::with_capacity(1 << 16);
        let mut rows = 0u64;
        for rec in rx {
            let row = builder.row(&rec, &cfg);
            row.write_csv(&mut buf);
            rows += 1;
            if buf.len() > 1 << 16 {
                out.write_all(&buf)?;
                buf.clear();
            }
            if rows.is_multiple_of(1024) {
                bar.set_position(rows);
            }
        }
        out.write_all(&buf)?;
        let read_result = handle.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the reader thread failed")));
        Ok((rows, read_result))
    })?;
    bar.finish_and_clear();
    if let Err(e) = read_result {
        // Do not leave a partial table that looks complete.
        drop(out);
        let _ = std::fs::remove_file(&args.out);
        return Err(e);
    }
    out.flush()?;
    eprintln!(
        "Wrote {} rows ({} columns, dictionary in docs/features.md) from {} to {} in {:.2} s.",
        rows,
        ecmo_scores::features::N_COLUMNS,
        source_label,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn stream_error(e: StreamError, dir: &std::path::Path) -> anyhow::Error {
    match e {
        StreamError::Read(r) => anyhow::Error::new(InvalidInput(r.to_string())),
        StreamError::Csv { .. } | StreamError::Row(_) | StreamError::Header(_) => {
            anyhow::Error::new(InvalidInput(format!("{} (in {})", e, dir.display())))
        }
    }
}
