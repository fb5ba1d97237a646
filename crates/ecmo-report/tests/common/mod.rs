//! A small synthetic cohort run through a built-in study.

use ecmo_scores::features::{FeatureBuilder, FeatureConfig};
use ecmo_study::{BUILTIN, RunOptions, StudyDef, StudyResult, StudyRun, VadRules, run_study};
use ecmo_synth::{Mix, Profile, generate};

pub fn runs(p: Profile, n: u64, seed: u64) -> Vec<StudyRun> {
    let mix = Mix::only(p);
    let cfg = FeatureConfig::default();
    let rules = VadRules::published();
    let mut b = FeatureBuilder::new();
    (0..n).map(|i| StudyRun::from_record(&generate(seed, i, &mix), &mut b, &cfg, &rules)).collect()
}

pub fn study(name: &str, runs: &[StudyRun]) -> StudyResult {
    let def = StudyDef::builtin(name).unwrap();
    let text = BUILTIN.iter().find(|(n, _)| *n == name).unwrap().1;
    let mut progress = |_: &str| {};
    let opts = RunOptions {
        software: "ecmo-cds (ecmo)".into(),
        version: "test".into(),
        date: None,
        data_source: "synthetic test cohort".into(),
        bootstrap: Some(10),
        progress: &mut progress,
    };
    run_study(&def, text, runs, opts).unwrap()
}
