use super::*;
use crate::testutil::*;
use ecmo_domain::{Mode, Unit};

fn decide(r: &RunRecord, hours: f64) -> VadDecision {
    evaluate(&r.as_of(at(hours)), &VadRules::published())
}

fn status(d: &VadDecision) -> Vec<Status> {
    d.steps.iter().map(|s| s.status).collect()
}

/// A run with nothing against VAD: bilirubin normal, aortic valve opening on a fresh echo.
fn clean(day_hours: f64) -> RunRecord {
    let mut r = record();
    obs(&mut r, day_hours - 6.0, Quantity::Bilirubin, 1.2, Unit::MgPerDl);
    event(&mut r, day_hours - 2.0, EventKind::EchoAorticValve, Some("opens"));
    obs(&mut r, day_hours - 2.0, Quantity::Lvef, 15.0, Unit::Percent);
    r
}

use Status::{Met, NotMet, Unknown};

#[test]
fn published_rules_load() {
    let r = VadRules::published();
    assert_eq!(r.steps.len(), 4);
    assert_eq!(r.steps[1].bilirubin_above_mg_dl, Some(4.0));
}

#[test]
fn step1_stroke_or_sepsis() {
    for kind in [EventKind::Stroke, EventKind::Sepsis] {
        let mut r = clean(48.0);
        event(&mut r, 30.0, kind, None);
        let d = decide(&r, 48.0);
        assert_eq!(d.recommendation, Recommendation::VadNotAdvisedNow);
        assert_eq!(d.deciding_step, Some(1));
        assert_eq!(d.steps[0].status, Met);
        assert_eq!(d.steps[0].records.len(), 1);
        assert!((d.steps[0].records[0].hours - 30.0).abs() < 1e-9);
    }
}

#[test]
fn step2_renal_replacement() {
    let mut r = clean(48.0);
    support(&mut r, SupportKind::Crrt, 20.0, None);
    let d = decide(&r, 48.0);
    assert_eq!(d.recommendation, Recommendation::TreatEndOrganFirst);
    assert_eq!(status(&d)[..2], [NotMet, Met]);
    assert!(d.steps[1].finding.contains("running"), "{}", d.steps[1].finding);
}

#[test]
fn step2_rrt_that_ended_long_ago_no_longer_counts() {
    let mut r = clean(120.0);
    support(&mut r, SupportKind::IntermittentDialysis, 10.0, Some(40.0));
    let d = decide(&r, 120.0);
    assert_eq!(d.steps[1].status, NotMet);
    // Within 48 h of its end it still counts.
    let mut r = clean(80.0);
    support(&mut r, SupportKind::IntermittentDialysis, 10.0, Some(40.0));
    assert_eq!(decide(&r, 80.0).steps[1].status, Met);
}

#[test]
fn step2_bilirubin_strictly_above_4() {
    let mut r = clean(48.0);
    obs(&mut r, 40.0, Quantity::Bilirubin, 4.5, Unit::MgPerDl);
    let d = decide(&r, 48.0);
    assert_eq!(d.recommendation, Recommendation::TreatEndOrganFirst);
    assert!(d.steps[1].finding.contains("4.5"));
    // Exactly 4.0 mg/dL, and 68.416 umol/L (= 4.0 mg/dL through the conversion), is not above 4.0.
    for (v, u) in [(4.0, Unit::MgPerDl), (68.416, Unit::UmolPerL)] {
        let mut r = clean(48.0);
        obs(&mut r, 40.0, Quantity::Bilirubin, v, u);
        assert_eq!(decide(&r, 48.0).steps[1].status, NotMet, "{v} {u}");
    }
    let mut r = clean(48.0);
    obs(&mut r, 40.0, Quantity::Bilirubin, 70.0, Unit::UmolPerL);
    assert_eq!(decide(&r, 48.0).steps[1].status, Met);
}

#[test]
fn step2_unknown_without_bilirubin_and_mentions_a_later_met_step() {
    let mut r = record();
    event(&mut r, 46.0, EventKind::EchoAorticValve, Some("closed"));
    let d = decide(&r, 48.0);
    assert_eq!(status(&d)[..3], [NotMet, Unknown, Met]);
    assert_eq!(d.recommendation, Recommendation::NeedData);
    assert_eq!(d.deciding_step, Some(2));
    assert!(d.summary.contains("step 3 would advise"), "{}", d.summary);
    // An old bilirubin (outside 48 h) does not count.
    let mut r = record();
    obs(&mut r, 2.0, Quantity::Bilirubin, 1.0, Unit::MgPerDl);
    assert_eq!(decide(&r, 72.0).steps[1].status, Unknown);
}

#[test]
fn step3_aortic_valve_closed_is_urgent() {
    let mut r = clean(48.0);
    event(&mut r, 47.0, EventKind::EchoAorticValve, Some("closed"));
    let d = decide(&r, 48.0);
    assert_eq!(d.recommendation, Recommendation::UrgentVad);
    assert_eq!(d.deciding_step, Some(3));
    // Intermittent opening is not "no opening" in the published rules.
    let mut r = clean(48.0);
    event(&mut r, 47.0, EventKind::EchoAorticValve, Some("intermittent"));
    assert_eq!(decide(&r, 48.0).steps[2].status, NotMet);
}

#[test]
fn step3_unknown_without_a_recent_echo() {
    let mut r = record();
    obs(&mut r, 40.0, Quantity::Bilirubin, 1.0, Unit::MgPerDl);
    let d = decide(&r, 48.0);
    assert_eq!(d.steps[2].status, Unknown);
    assert_eq!(d.recommendation, Recommendation::NeedData);
    event(&mut r, 10.0, EventKind::EchoAorticValve, Some("closed"));
    let d = decide(&r, 48.0);
    assert_eq!(d.steps[2].status, Unknown, "38 h old");
    assert!(d.steps[2].finding.contains("38.0 h old"), "{}", d.steps[2].finding);
    let mut r = clean(48.0);
    event(&mut r, 47.0, EventKind::EchoAorticValve, None);
    assert_eq!(decide(&r, 48.0).steps[2].status, Unknown);
}

#[test]
fn step4_too_early_then_vad_from_day_5() {
    let d = decide(&clean(72.0), 72.0);
    assert_eq!(status(&d), [NotMet, NotMet, NotMet, NotMet]);
    assert_eq!(d.recommendation, Recommendation::ContinueEcmo);
    assert!(d.steps[3].finding.contains("too early"));
    let d = decide(&clean(130.0), 130.0);
    assert_eq!(d.steps[3].status, Met);
    assert_eq!(d.recommendation, Recommendation::Vad);
    assert_eq!(d.deciding_step, Some(4));
    assert!(!d.steps[3].records.is_empty());
}

#[test]
fn step4_recovery_recorded() {
    let mut r = clean(130.0);
    event(&mut r, 100.0, EventKind::CardiacRecovery, Some("LVEF 30 %, VTI 12 cm at 1.5 L/min"));
    let d = decide(&r, 130.0);
    assert_eq!(d.steps[3].status, NotMet);
    assert_eq!(d.recommendation, Recommendation::ContinueEcmo);
}

#[test]
fn step4_unknown_without_echo() {
    // A centre's tree without step 3: step 4 needs some echo in the last 48 h.
    let mut rules = VadRules::published();
    rules.steps.remove(2);
    let mut r = record();
    obs(&mut r, 125.0, Quantity::Bilirubin, 1.0, Unit::MgPerDl);
    let d = evaluate(&r.as_of(at(130.0)), &rules);
    assert_eq!(d.steps[2].kind, StepKind::NoCardiacRecovery);
    assert_eq!(d.steps[2].status, Unknown);
    assert_eq!(d.recommendation, Recommendation::NeedData);
}

#[test]
fn first_met_step_wins() {
    let mut r = clean(130.0);
    event(&mut r, 100.0, EventKind::Sepsis, None);
    support(&mut r, SupportKind::Crrt, 100.0, None);
    event(&mut r, 129.0, EventKind::EchoAorticValve, Some("closed"));
    let d = decide(&r, 130.0);
    assert_eq!(status(&d), [Met, Met, Met, Met]);
    assert_eq!(d.recommendation, Recommendation::VadNotAdvisedNow);
}

#[test]
fn records_after_the_instant_are_not_seen() {
    let mut r = clean(48.0);
    event(&mut r, 49.0, EventKind::Stroke, None);
    support(&mut r, SupportKind::Crrt, 50.0, None);
    event(&mut r, 50.0, EventKind::EchoAorticValve, Some("closed"));
    let d = decide(&r, 48.0);
    assert_eq!(d.recommendation, Recommendation::ContinueEcmo);
    assert_eq!(decide(&r, 51.0).recommendation, Recommendation::VadNotAdvisedNow);
}

#[test]
fn decannulated_runs_say_so() {
    let mut r = clean(48.0);
    r.run.decannulation = Some(at(40.0));
    assert!(decide(&r, 48.0).summary.starts_with("Decannulated"));
    assert!(!decide(&r, 39.0).summary.starts_with("Decannulated"));
}

#[test]
fn mode_is_irrelevant_to_the_tree_but_the_population_is_stated() {
    let mut r = clean(48.0);
    r.run.mode = Mode::Vv;
    assert!(decide(&r, 48.0).population.contains("VA-ECMO"));
}

fn err(text: &str) -> String {
    VadRules::from_toml(text, "centre.toml").unwrap_err().to_string()
}

#[test]
fn rules_file_errors_are_clear() {
    let good = PUBLISHED_RULES;
    assert!(err("format = 1").contains("centre.toml"));
    let e = err(&good.replace("format = \"ecmo-cds-rules\"", "format = \"other\""));
    assert!(e.contains("`format`"), "{e}");
    let e = err(&good.replace("events = [\"stroke\", \"sepsis\"]", "events = [\"stroke\", \"fever\"]"));
    assert!(e.contains("step[1].events") && e.contains("fever"), "{e}");
    let e = err(&good.replace("bilirubin_above_mg_dl = 4.0", ""));
    assert!(e.contains("step[2].bilirubin_above_mg_dl"), "{e}");
    let e = err(&good.replace("max_age_hours = 24.0", "max_age_hours = 24.0\nfrom_day = 3.0"));
    assert!(e.contains("step[3].from_day"), "{e}");
    let e = err(&good.replace("closed_findings = [\"closed\"]", "closed_findings = [\"shut\"]"));
    assert!(e.contains("closed_findings"), "{e}");
    let e = err(&good.replace("from_day = 5.0", "form_day = 5.0"));
    assert!(e.contains("form_day"), "{e}");
    let e = err(&good.replace("recommendation = \"vad\"", "recommendation = \"maybe\""));
    assert!(e.contains("maybe"), "{e}");
}

#[test]
fn a_centre_can_change_thresholds() {
    let text = PUBLISHED_RULES
        .replace("bilirubin_above_mg_dl = 4.0", "bilirubin_above_mg_dl = 3.0")
        .replace("version = \"published-2018.1\"", "version = \"centre-x-1\"");
    let rules = VadRules::from_toml(&text, "centre.toml").unwrap();
    let mut r = clean(48.0);
    obs(&mut r, 40.0, Quantity::Bilirubin, 3.5, Unit::MgPerDl);
    let d = evaluate(&r.as_of(at(48.0)), &rules);
    assert_eq!(d.recommendation, Recommendation::TreatEndOrganFirst);
    assert_eq!(d.rules_version, "centre-x-1");
    assert_eq!(decide(&r, 48.0).steps[1].status, NotMet);
}
