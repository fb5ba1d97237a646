//! Selection stability: how often each candidate term, and each whole model, is chosen when
//! the variable selection is rerun on bootstrap resamples (Austin & Tu 2004; Heinze et al.
//! 2018). Rows drawn with replacement, seeded, per-replicate random streams; resamples whose
//! selection fails (no events, singular design) are skipped and counted.
//!
//! R equivalent: a loop of `MASS::stepAIC` (or the p-value elimination) over
//! `sample(n, replace = TRUE)` resamples (what `bootStepAIC::boot.stepAIC` tabulates).

use crate::design::Design;
use crate::error::{Result, StatsError};
use crate::rng::parallel_replicates;
use crate::validate::{Selection, select};
use serde::Serialize;

/// Inclusion frequency of one candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TermFrequency {
    /// Term.
    pub term: String,
    /// Selected on the full data?
    pub selected_on_full_data: bool,
    /// Resamples that selected it.
    pub selected: usize,
    /// selected / successful resamples.
    pub proportion: f64,
}

/// One distinct selected model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelFrequency {
    /// Terms (in candidate order).
    pub terms: Vec<String>,
    /// Resamples that selected exactly this model.
    pub count: usize,
    /// count / successful resamples.
    pub proportion: f64,
}

/// Result of [`selection_stability`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectionStability {
    /// Resamples requested.
    pub replicates: usize,
    /// Resamples whose selection succeeded.
    pub successful: usize,
    /// Seed.
    pub seed: u64,
    /// Terms selected on the full data.
    pub selected_terms: Vec<String>,
    /// Per candidate, in candidate order.
    pub terms: Vec<TermFrequency>,
    /// Distinct models, most frequent first (ties: candidate order).
    pub models: Vec<ModelFrequency>,
    /// Mean number of selected terms.
    pub mean_model_size: f64,
}

/// Rerun `selection` on `replicates` bootstrap resamples of the rows of `full`.
pub fn selection_stability(
    full: &Design,
    y: &[f64],
    candidates: &[&str],
    selection: &Selection,
    replicates: usize,
    seed: u64,
) -> Result<SelectionStability> {
    if replicates == 0 {
        return Err(StatsError::InvalidInput("need at least one bootstrap replicate".into()));
    }
    let n = full.n;
    let on_full = select(full, y, candidates, selection)?;
    let reps: Vec<Option<Vec<bool>>> = parallel_replicates(replicates, seed, |_, rng| {
        let rows: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        let db = full.take_rows(&rows);
        let yb: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
        select(&db, &yb, candidates, selection)
            .ok()
            .map(|t| candidates.iter().map(|c| t.iter().any(|x| x == c)).collect())
    });
    let ok: Vec<&Vec<bool>> = reps.iter().flatten().collect();
    if ok.is_empty() {
        return Err(StatsError::NoConvergence("the selection failed on every resample".into()));
    }
    let k = ok.len() as f64;
    let terms = candidates
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let selected = ok.iter().filter(|r| r[j]).count();
            TermFrequency {
                term: c.to_string(),
                selected_on_full_data: on_full.iter().any(|t| t == c),
                selected,
                proportion: selected as f64 / k,
            }
        })
        .collect();
    let mut models: Vec<(Vec<bool>, usize)> = Vec::new();
    for r in &ok {
        match models.iter_mut().find(|(m, _)| m == *r) {
            Some(m) => m.1 += 1,
            None => models.push(((*r).clone(), 1)),
        }
    }
    models.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    let models = models
        .into_iter()
        .map(|(m, count)| ModelFrequency {
            terms: candidates.iter().zip(&m).filter(|(_, s)| **s).map(|(c, _)| c.to_string()).collect(),
            count,
            proportion: count as f64 / k,
        })
        .collect();
    let mean_model_size = ok.iter().map(|r| r.iter().filter(|s| **s).count() as f64).sum::<f64>() / k;
    Ok(SelectionStability {
        replicates,
        successful: ok.len(),
        seed,
        selected_terms: on_full,
        terms,
        models,
        mean_model_size,
    })
}
