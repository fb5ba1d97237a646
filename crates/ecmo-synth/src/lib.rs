//! A synthetic VA-ECMO registry for demos, tests and benchmarks.
//!
//! No real patient data can ship, so this generator produces a registry whose
//! cohort-level statistics reproduce the published figures of the four studies
//! in ../shared/seeds/ within sampling error (the calibration tests in
//! `tests/calibration.rs` check them). Every patient id starts with `SYN-` and
//! every run's cohort label with `synthetic:`; the registry manifest says
//! `synthetic: true`.
//!
//! Generation is deterministic: run `i` of seed `s` draws from its own ChaCha8
//! stream seeded from `(s, i)`, so runs can be generated in parallel and in any
//! order with identical output.
//!
//! The generator draws each run's outcome first and then the first-24 h values
//! from the outcome group's published distribution; the hour-level series are
//! built around those values. It knows the SOFA point bands so that it can
//! place a run's worst values in the band that gives its target SOFA; the
//! calibration tests score the series with the real score engine, never with
//! this module's own arithmetic.

mod profiles;
mod series;
mod write;

pub use write::{Written, write_registry};

pub use profiles::Profile;

use ecmo_domain::{Patient, RunRecord};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Proportions of each profile in a mixed registry.
#[derive(Debug, Clone)]
pub struct Mix(pub Vec<(Profile, f64)>);

impl Default for Mix {
    /// A centre-like mix: mostly cardiogenic shock, a fifth E-CPR, a tenth
    /// referred for VAD.
    fn default() -> Self {
        Mix(vec![
            (Profile::CsWeaning, 0.35),
            (Profile::CsVis, 0.35),
            (Profile::Ecpr, 0.20),
            (Profile::VadReferral, 0.10),
        ])
    }
}

impl Mix {
    /// Only one profile (calibration tests, study-sized cohorts).
    pub fn only(p: Profile) -> Self {
        Mix(vec![(p, 1.0)])
    }

    fn pick(&self, u: f64) -> Profile {
        let total: f64 = self.0.iter().map(|(_, w)| w).sum();
        let mut acc = 0.0;
        for (p, w) in &self.0 {
            acc += w / total;
            if u < acc {
                return *p;
            }
        }
        self.0.last().map(|(p, _)| *p).unwrap_or(Profile::CsWeaning)
    }
}

/// The random stream of run `index` under `seed`.
fn stream(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Streams 2^64 apart cannot overlap for any realistic run length.
    rng.set_stream(index);
    rng
}

/// Generate run number `index` (0-based) of a registry. Each synthetic patient
/// has one run.
pub fn generate(seed: u64, index: u64, mix: &Mix) -> RunRecord {
    let mut rng = stream(seed, index);
    let u: f64 = rand::Rng::random(&mut rng);
    let profile = mix.pick(u);
    profiles::generate_run(profile, index, &mut rng)
}

/// The patient of a generated run (for writers that need it separately).
pub fn patient(record: &RunRecord) -> &Patient {
    &record.patient
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_by_seed_and_index() {
        let mix = Mix::default();
        for i in 0..50 {
            assert_eq!(generate(7, i, &mix), generate(7, i, &mix));
        }
        assert_ne!(generate(7, 1, &mix), generate(8, 1, &mix));
    }

    #[test]
    fn every_record_passes_the_import_checks() {
        // The generator must never emit what the importer would refuse.
        let mix = Mix::default();
        for i in 0..3000 {
            let r = generate(11, i, &mix);
            for o in &r.observations {
                let checked = o.quantity.to_canonical(o.entered_value, Some(o.entered_unit));
                let c = checked.unwrap_or_else(|e| panic!("run {i}: {e}"));
                assert!((c.canonical - o.value).abs() < 1e-9, "{:?}", o);
            }
            for inf in &r.infusions {
                let d = ecmo_domain::ChartedDose {
                    drug: inf.drug,
                    rate: inf.entered_rate,
                    unit: inf.entered_unit,
                    salt: inf.salt,
                    concentration: inf.concentration,
                    weight_kg: Some(inf.weight_kg),
                };
                let n = d.normalise().unwrap_or_else(|e| panic!("run {i}: {e}"));
                assert!((n.canonical - inf.rate).abs() < 1e-12);
            }
            // Every record key is unique, as the importer requires.
            let mut keys = std::collections::HashSet::new();
            for o in &r.observations {
                assert!(
                    keys.insert(format!("o{}{}", o.quantity, o.time.0)),
                    "run {i}: repeated {} at {}",
                    o.quantity,
                    o.time
                );
            }
            for x in &r.infusions {
                assert!(keys.insert(format!("i{}{}", x.drug, x.time.0)), "run {i}: repeated {} at {}", x.drug, x.time);
                if let Some(d) = r.run.decannulation {
                    assert!(x.time <= d, "run {i}: {} changed after decannulation", x.drug);
                }
            }
            for e in &r.events {
                assert!(keys.insert(format!("e{}{}", e.kind, e.time.0)), "run {i}: repeated {} at {}", e.kind, e.time);
            }
            for s in &r.supports {
                assert!(keys.insert(format!("s{}{}", s.kind, s.start.0)), "run {i}: repeated {}", s.kind);
            }
            assert!(r.patient.id.starts_with("SYN-"));
            assert!(r.run.cohort.as_deref().is_some_and(|c| c.starts_with("synthetic:")));
            if let Some(d) = r.run.decannulation {
                assert!(d >= r.run.flow_start);
            }
        }
    }
}
