//! The synthetic registry reproduces the published figures of the four studies.
//!
//! Method: generate a large cohort of each profile (so that the generator's own
//! sampling noise is small), derive every study variable with the real score
//! engine (`ecmo_scores::features`, never the generator's arithmetic), and
//! check that each published figure lies within two standard errors *at the
//! published sample size* of the generated value: a study of that size drawn
//! from this registry would be consistent with what was published.

use ecmo_scores::features::{FeatureBuilder, FeatureConfig, FeatureRow};
use ecmo_synth::{Mix, Profile, generate};

const N: u64 = 3000;

fn cohort(p: Profile, seed: u64) -> Vec<FeatureRow> {
    let mix = Mix::only(p);
    let cfg = FeatureConfig::default();
    let mut b = FeatureBuilder::new();
    (0..N).map(|i| b.row(&generate(seed, i, &mix), &cfg)).collect()
}

fn col(rows: &[&FeatureRow], name: &str) -> Vec<f64> {
    rows.iter().filter_map(|r| r.by_name(name)).collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn median(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// |generated − published| ≤ 2 SE at the published size.
fn check(what: &str, generated: f64, published: f64, se: f64, failures: &mut Vec<String>) {
    let ok = (generated - published).abs() <= 2.0 * se;
    println!(
        "{what:55} generated {generated:8.3}  published {published:8.3}  2SE {:.3} {}",
        2.0 * se,
        if ok { "ok" } else { "FAIL" }
    );
    if !ok {
        failures.push(format!("{what}: generated {generated:.3}, published {published:.3} ± {:.3}", 2.0 * se));
    }
}

fn prop_se(p: f64, n: f64) -> f64 {
    (p * (1.0 - p) / n).sqrt()
}

#[test]
fn weaning_cohort_matches_000() {
    let rows = cohort(Profile::CsWeaning, 1);
    let all: Vec<&FeatureRow> = rows.iter().collect();
    let weaned: Vec<&FeatureRow> = rows.iter().filter(|r| r.by_name("weaned") == Some(1.0)).collect();
    let not: Vec<&FeatureRow> = rows.iter().filter(|r| r.by_name("weaned") == Some(0.0)).collect();
    let mut f = Vec::new();
    let share = |rows: &[&FeatureRow], c: &str| mean(&col(rows, c));
    check("weaned (31 %)", weaned.len() as f64 / all.len() as f64, 0.31, prop_se(0.31, 100.0), &mut f);
    check("female (26 %)", share(&all, "female"), 0.26, prop_se(0.26, 100.0), &mut f);
    check("age (52.6 ± 12.6)", mean(&col(&all, "age_years")), 52.6, 12.6 / 10.0, &mut f);
    check("cardiac arrest (79 %)", share(&all, "cardiac_arrest"), 0.79, prop_se(0.79, 100.0), &mut f);
    let ami = all.iter().filter(|r| r.etiology == "ami_cs").count() as f64 / all.len() as f64;
    check("AMI (48 %)", ami, 0.48, prop_se(0.48, 100.0), &mut f);
    let surv30 = col(&all, "survival_30d");
    check("30-day mortality (47 %)", 1.0 - mean(&surv30), 0.47, prop_se(0.47, 100.0), &mut f);
    check(
        "MAP first 24 h, weaned (75.3 ± 18.2)",
        mean(&col(&weaned, "map_twa_24h")),
        75.3,
        18.2 / 31f64.sqrt(),
        &mut f,
    );
    check(
        "MAP first 24 h, not weaned (61.4 ± 18.3)",
        mean(&col(&not, "map_twa_24h")),
        61.4,
        18.3 / 69f64.sqrt(),
        &mut f,
    );
    check("lactate, weaned (8.8 ± 5.2)", mean(&col(&weaned, "lactate_max_24h")), 8.8, 5.2 / 31f64.sqrt(), &mut f);
    check("lactate, not weaned (11.3 ± 5.0)", mean(&col(&not, "lactate_max_24h")), 11.3, 5.0 / 69f64.sqrt(), &mut f);
    check("SOFA, weaned (11.2 ± 2.6)", mean(&col(&weaned, "sofa_24h")), 11.2, 2.6 / 31f64.sqrt(), &mut f);
    check("SOFA, not weaned (13.2 ± 3.4)", mean(&col(&not, "sofa_24h")), 13.2, 3.4 / 69f64.sqrt(), &mut f);
    check(
        "max norepinephrine, weaned (0.27 ± 0.17)",
        mean(&col(&weaned, "max_norepinephrine_24h")),
        0.27,
        0.17 / 31f64.sqrt(),
        &mut f,
    );
    check(
        "max norepinephrine, not weaned (0.44 ± 0.25)",
        mean(&col(&not, "max_norepinephrine_24h")),
        0.44,
        0.25 / 69f64.sqrt(),
        &mut f,
    );
    // Medians [IQR] in L/day; SE of a median ≈ 1.2533 · (IQR / 1.349) / √n.
    let fb = |rows: &[&FeatureRow]| col(rows, "fluid_balance_24h").iter().map(|ml| ml / 1000.0).collect::<Vec<_>>();
    check(
        "fluid balance median, weaned (+2.3 [0.5-5.5] L)",
        median(&fb(&weaned)),
        2.3,
        1.2533 * (5.0 / 1.349) / 31f64.sqrt(),
        &mut f,
    );
    check(
        "fluid balance median, not weaned (+4.1 [1.7-8.3] L)",
        median(&fb(&not)),
        4.1,
        1.2533 * (6.6 / 1.349) / 69f64.sqrt(),
        &mut f,
    );
    // Cardiac arrest patients were less likely to be weaned (20.3 % of CA patients).
    let ca: Vec<&FeatureRow> = all.iter().copied().filter(|r| r.by_name("cardiac_arrest") == Some(1.0)).collect();
    check("weaned among cardiac arrest (20.3 %)", share(&ca, "weaned"), 0.203, prop_se(0.203, 79.0), &mut f);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn vis_cohort_matches_001() {
    let rows = cohort(Profile::CsVis, 2);
    let mut f = Vec::new();
    let all: Vec<&FeatureRow> = rows.iter().collect();
    check("weaned (56 %)", mean(&col(&all, "weaned")), 0.56, prop_se(0.56, 150.0), &mut f);
    let usable: Vec<&FeatureRow> =
        rows.iter().filter(|r| r.by_name("vis_reduction_24h").is_some() && r.by_name("weaned").is_some()).collect();
    let x = col(&usable, "vis_reduction_24h");
    let y: Vec<bool> = usable.iter().map(|r| r.by_name("weaned") == Some(1.0)).collect();
    let roc = ecmo_stats::roc::roc(&x, &y, None).unwrap();
    // AUC SE at n = 150 with 84/66 split ≈ 0.037 (Hanley-McNeil at AUC 0.78).
    check("AUC of the 24 h VIS reduction rate (0.780)", roc.auc, 0.78, 0.037, &mut f);
    let weaned: Vec<&FeatureRow> = all.iter().copied().filter(|r| r.by_name("weaned") == Some(1.0)).collect();
    let failed: Vec<&FeatureRow> = all.iter().copied().filter(|r| r.by_name("weaned") == Some(0.0)).collect();
    assert!(mean(&col(&failed, "crrt_any")) > mean(&col(&weaned, "crrt_any")), "CRRT more frequent in failure");
    assert!(mean(&col(&failed, "apache2_24h")) > mean(&col(&weaned, "apache2_24h")), "APACHE II higher in failure");
    let share =
        |rows: &[&FeatureRow], e: &str| rows.iter().filter(|r| r.etiology == e).count() as f64 / rows.len() as f64;
    assert!(share(&failed, "ami_cs") > share(&weaned, "ami_cs"), "AMI more frequent in failure");
    assert!(share(&weaned, "myocarditis") > share(&failed, "myocarditis"), "myocarditis more frequent in success");
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn ecpr_cohort_matches_002() {
    let rows = cohort(Profile::Ecpr, 3);
    let mut f = Vec::new();
    let all: Vec<&FeatureRow> = rows.iter().collect();
    // Survival to ICU discharge 10.2 % of 39; 2-year survival stands in for it here.
    let alive: Vec<&FeatureRow> = all.iter().copied().filter(|r| r.by_name("death") == Some(0.0)).collect();
    let dead: Vec<&FeatureRow> = all.iter().copied().filter(|r| r.by_name("death") == Some(1.0)).collect();
    check("survival (10.2 %)", alive.len() as f64 / all.len() as f64, 0.102, prop_se(0.102, 39.0), &mut f);
    check(
        "shockable first rhythm (59 %)",
        mean(&col(&all, "shockable_first_rhythm")),
        0.59,
        prop_se(0.59, 39.0),
        &mut f,
    );
    check("NSE at 24 h, survivors (53.8 ± 17.9)", mean(&col(&alive, "nse_at_24h")), 53.8, 17.9 / 4f64.sqrt(), &mut f);
    check(
        "NSE at 24 h, non-survivors (104.8 ± 44.2)",
        mean(&col(&dead, "nse_at_24h")),
        104.8,
        44.2 / 35f64.sqrt(),
        &mut f,
    );
    assert!(mean(&col(&dead, "lactate_admission")) > mean(&col(&alive, "lactate_admission")) + 3.0);
    assert!(mean(&col(&dead, "low_flow_min")) > mean(&col(&alive, "low_flow_min")) + 15.0);
    assert!(
        mean(&col(&alive, "lactate_clearance_admission_48h"))
            > mean(&col(&dead, "lactate_clearance_admission_48h")) + 20.0
    );
    // All survivors with CPC 1-2 had a shockable rhythm.
    for r in &alive {
        if r.by_name("cpc_favourable") == Some(1.0) {
            assert_eq!(r.by_name("shockable_first_rhythm"), Some(1.0), "{}", r.run_id);
        }
    }
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn vad_cohort_matches_003() {
    let rows = cohort(Profile::VadReferral, 4);
    let mut f = Vec::new();
    let implanted: Vec<&FeatureRow> = rows.iter().filter(|r| r.by_name("bridged") == Some(1.0)).collect();
    let eod = |r: &&FeatureRow| {
        r.by_name("rrt_before_decision") == Some(1.0) || r.by_name("bilirubin_gt4_decision") == Some(1.0)
    };
    let with: Vec<&FeatureRow> = implanted.iter().copied().filter(eod).collect();
    let without: Vec<&FeatureRow> = implanted.iter().copied().filter(|r| !eod(r)).collect();
    check(
        "2-year survival with end-organ dysfunction (23.1 %)",
        mean(&col(&with, "survival_2y")),
        0.231,
        prop_se(0.231, 13.0),
        &mut f,
    );
    check("2-year survival without (83.3 %)", mean(&col(&without, "survival_2y")), 0.833, prop_se(0.833, 24.0), &mut f);
    let all: Vec<&FeatureRow> = rows.iter().collect();
    check(
        "stroke (4 of 37)",
        mean(&col(&all, "stroke_before_decision")),
        4.0 / 37.0,
        prop_se(4.0 / 37.0, 37.0),
        &mut f,
    );
    check(
        "VAD implanted (25 of 37)",
        implanted.len() as f64 / all.len() as f64,
        25.0 / 37.0,
        prop_se(25.0 / 37.0, 37.0),
        &mut f,
    );
    assert!(f.is_empty(), "{f:#?}");
}

/// The published scores a bedside team would look up (SAVE, ENCOURAGE) can be
/// computed for nearly every synthetic VA-ECMO run: the generator records every
/// pre-ECMO input they need, so the demo shows them rather than "missing input".
#[test]
fn save_and_encourage_are_computable_on_synthetic_runs() {
    let mix = Mix::default();
    let cfg = FeatureConfig::default();
    let mut b = FeatureBuilder::new();
    let rows: Vec<FeatureRow> = (0..400).map(|i| b.row(&generate(7, i, &mix), &cfg)).collect();
    let all: Vec<&FeatureRow> = rows.iter().collect();
    for score in ["save_score", "encourage_score"] {
        let n = col(&all, score).len();
        assert!(n as f64 >= 0.95 * rows.len() as f64, "{score} computable for only {n} of {} runs", rows.len());
    }
}
