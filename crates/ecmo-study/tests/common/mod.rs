//! Synthetic cohorts of one ecmo-synth profile, and a study run on them with test options.
#![allow(dead_code)]

use ecmo_scores::features::{FeatureBuilder, FeatureConfig};
use ecmo_study::result::StudyResult;
use ecmo_study::{BUILTIN, RunOptions, StudyDef, StudyError, StudyRun, run_study};
use ecmo_synth::{Mix, Profile, generate};

pub fn runs(p: Profile, n: u64, seed: u64) -> Vec<StudyRun> {
    let mix = Mix::only(p);
    let cfg = FeatureConfig::default();
    let mut b = FeatureBuilder::new();
    let rules = ecmo_study::VadRules::published();
    (0..n).map(|i| StudyRun::from_record(&generate(seed, i, &mix), &mut b, &cfg, &rules)).collect()
}

pub fn builtin(name: &str) -> &'static str {
    BUILTIN.iter().find(|(n, _)| *n == name).unwrap().1
}

/// Run a study file (10 bootstrap resamples for every bootstrap, a fixed date).
pub fn run_text(text: &str, runs: &[StudyRun]) -> Result<StudyResult, StudyError> {
    let def = StudyDef::parse(text, "test.toml")?;
    let mut progress = |_: &str| {};
    let opts = RunOptions {
        software: "ecmo".into(),
        version: "test".into(),
        date: Some("2026-01-01".into()),
        data_source: "synthetic".into(),
        bootstrap: Some(10),
        progress: &mut progress,
    };
    run_study(&def, text, runs, opts)
}

/// A built-in study.
pub fn study(name: &str, runs: &[StudyRun]) -> StudyResult {
    run_text(builtin(name), runs).unwrap()
}
