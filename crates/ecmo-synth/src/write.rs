//! Writing a synthetic registry to CSV files, in parallel and in bounded memory.

use crate::{Mix, generate};
use ecmo_store::csv_format::{FORMAT_VERSION, Manifest};
use ecmo_store::csv_write::{RegistryWriter, RowBuffers};
use std::path::Path;

/// Runs generated per work unit; bounds memory to a few chunks per thread.
const CHUNK: u64 = 256;

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub patients: u64,
    pub rows: u64,
}

/// Generate `patients` runs (one per patient) under `seed` and write them to
/// `dir`. `progress` is called with the number of runs written so far.
pub fn write_registry(
    dir: &Path,
    patients: u64,
    seed: u64,
    mix: &Mix,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> std::io::Result<Written> {
    let manifest = Manifest {
        format: Manifest::FORMAT.to_string(),
        version: FORMAT_VERSION,
        synthetic: true,
        generator: Some(format!("ecmo synth {}", env!("CARGO_PKG_VERSION"))),
        seed: Some(seed),
        patients: Some(patients),
    };
    let mut writer = RegistryWriter::create(dir, &manifest)?;
    let threads = threads.max(1) as u64;
    let chunks = patients.div_ceil(CHUNK);
    // Rounds of `threads` chunks: each worker formats one chunk, then the
    // chunks are appended in order, so the files do not depend on scheduling.
    let mut next = 0u64;
    while next < chunks {
        let round: Vec<u64> = (next..(next + threads).min(chunks)).collect();
        let buffers: std::io::Result<Vec<RowBuffers>> = std::thread::scope(|s| {
            let handles: Vec<_> = round
                .iter()
                .map(|&c| {
                    s.spawn(move || {
                        let mut rows = RowBuffers::default();
                        let end = ((c + 1) * CHUNK).min(patients);
                        for i in c * CHUNK..end {
                            let rec = generate(seed, i, mix);
                            rows.push_patient(&rec.patient);
                            rows.push_run(&rec);
                        }
                        rows
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| std::io::Error::other("a generator thread failed")))
                .collect()
        });
        for b in &buffers? {
            writer.append(b)?;
        }
        next += round.len() as u64;
        progress((next * CHUNK).min(patients));
    }
    let rows = writer.finish()?;
    Ok(Written { patients, rows })
}
