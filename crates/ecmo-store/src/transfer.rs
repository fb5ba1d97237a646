//! Copying a registry between stores (SQLite to PostgreSQL and back) and the fingerprint
//! that shows two registries hold the same records.

use crate::csv_format::{Batch, Located, Origin};
use crate::{ConflictPolicy, Counts, ImportReport, Store, StoreError};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// A SHA-256 over every run with everything recorded for it, in run-id order. Two stores
/// with the same fingerprint hold the same patients, runs and records, values exact to the
/// bit and provenance included (the digest covers the records' debug form, so it is
/// comparable between stores read by one build of ecmo, not a stable archive identifier).
pub fn fingerprint(store: &dyn Store) -> Result<String, StoreError> {
    let mut h = Sha256::new();
    store.for_each_run(&mut |rec| {
        h.update(format!("{rec:?}\n").as_bytes());
        Ok(())
    })?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Everything in `from` as one import batch (each patient once; records keep their provenance).
pub fn registry_batch(from: &dyn Store, label: &str) -> Result<Batch, StoreError> {
    let mut batch = Batch { source: label.to_string(), ..Batch::default() };
    let mut patients = HashSet::new();
    let mut all_synthetic = true;
    let origin = |kind: &str, n: usize| Origin { file: kind.to_string(), line: n as u64 + 1 };
    from.for_each_run(&mut |rec| {
        all_synthetic &= rec.run.cohort.as_deref().is_some_and(|c| c.starts_with("synthetic:"));
        if patients.insert(rec.patient.id.clone()) {
            let n = batch.patients.len();
            batch.patients.push(Located {
                origin: origin("patients", n),
                raw: rec.patient.id.clone(),
                item: rec.patient,
            });
        }
        let id = rec.run.id.clone();
        let n = batch.runs.len();
        batch.runs.push(Located { origin: origin("runs", n), raw: id.clone(), item: rec.run });
        for o in rec.observations {
            let n = batch.observations.len();
            batch.observations.push(Located {
                origin: origin("observations", n),
                raw: id.clone(),
                item: (id.clone(), o),
            });
        }
        for i in rec.infusions {
            let n = batch.infusions.len();
            batch.infusions.push(Located { origin: origin("infusions", n), raw: id.clone(), item: (id.clone(), i) });
        }
        for s in rec.supports {
            let n = batch.supports.len();
            batch.supports.push(Located { origin: origin("supports", n), raw: id.clone(), item: (id.clone(), s) });
        }
        for e in rec.events {
            let n = batch.events.len();
            batch.events.push(Located { origin: origin("events", n), raw: id.clone(), item: (id.clone(), e) });
        }
        Ok(())
    })?;
    batch.synthetic = !batch.runs.is_empty() && all_synthetic;
    Ok(batch)
}

/// The outcome of a copy.
#[derive(Debug)]
pub struct Transfer {
    pub report: ImportReport,
    pub source: Counts,
    pub target: Counts,
    pub source_fingerprint: String,
    pub target_fingerprint: String,
}

impl Transfer {
    /// The copy holds exactly what the source holds.
    pub fn verified(&self) -> bool {
        self.report.committed && self.source == self.target && self.source_fingerprint == self.target_fingerprint
    }
}

/// Copy every record of `from` into `to` in one transaction (all or nothing), then compare
/// counts and fingerprints. A record `to` already holds with other values is a conflict
/// and nothing is written.
pub fn copy_registry(from: &dyn Store, to: &mut dyn Store, label: &str) -> Result<Transfer, StoreError> {
    let batch = registry_batch(from, label)?;
    let report = to.import(&batch, ConflictPolicy::RejectAll)?;
    Ok(Transfer {
        report,
        source: from.counts()?,
        target: to.counts()?,
        source_fingerprint: fingerprint(from)?,
        target_fingerprint: fingerprint(&*to)?,
    })
}
