//! Bootstrap validation and Table-1 automatic test choice.
mod common;
use common::birthwt::{TERMS, birthwt};
use common::*;
use ecmo_stats::design::Design;
use ecmo_stats::stepwise::Direction;
use ecmo_stats::table1::{TestChoice, compare_categorical, compare_continuous};
use ecmo_stats::validate::{Selection, validate_logistic};

#[test]
fn bootstrap_validation_with_stepwise_inside() {
    let (f, y) = birthwt();
    let rows = f.complete_rows(&TERMS).unwrap();
    let d = Design::build(&f, &TERMS, &rows, true).unwrap();
    let v = validate_logistic(&d, &y, &TERMS, &Selection::StepAic(Direction::Backward), 40, 7).unwrap();
    let v2 = validate_logistic(&d, &y, &TERMS, &Selection::StepAic(Direction::Backward), 40, 7).unwrap();
    assert_eq!(v, v2, "seeded: identical");
    assert_eq!(v.selected_terms, vec!["lwt", "race", "smoke", "ptl", "ht", "ui"]);
    assert!(v.successful >= 38);
    let auc = v.indexes.iter().find(|i| i.name == "auc").unwrap();
    // apparent AUC of the stepAIC model; optimism positive; corrected below apparent
    assert!(auc.apparent > 0.7 && auc.apparent < 0.8, "{auc:?}");
    assert!(auc.optimism > 0.0 && auc.corrected < auc.apparent);
    let slope = v.indexes.iter().find(|i| i.name == "slope").unwrap();
    assert!((slope.apparent - 1.0).abs() < 1e-6);
    assert!(slope.corrected < 1.0);
    let brier = v.indexes.iter().find(|i| i.name == "brier").unwrap();
    assert!(brier.optimism < 0.0, "Brier is lower (better) on the training data");
}

#[test]
fn table1_auto_choice_uses_the_r_matching_tests() {
    let g = golden("table1_birthwt.json");
    let data = csv("birthwt.csv");
    let low: Vec<usize> = csv_col(&data, "low").iter().map(|v| *v as usize).collect();
    let names = vec!["0".to_string(), "1".to_string()];
    let lwt = csv_col(&data, "lwt");
    let r = compare_continuous("lwt", &lwt, &low, &names, TestChoice::Nonparametric).unwrap();
    close(r.test.p, num(&g["continuous"]["lwt"]["wilcoxon_cc"]["p_value"]), 1e-10, "wilcoxon");
    let r = compare_continuous("lwt", &lwt, &low, &names, TestChoice::Parametric).unwrap();
    close(r.test.p, num(&g["continuous"]["lwt"]["welch_t"]["p_value"]), 1e-10, "welch");
    let r = compare_continuous("bwt", &csv_col(&data, "bwt"), &low, &names, TestChoice::Auto).unwrap();
    assert!(r.test.reason.starts_with("auto"));
    close(r.groups[0].1.mean, num(&g["continuous"]["bwt"]["low0"]["mean"]), 1e-12, "mean");
    // ht: expected count 3.7 < 5 -> Fisher
    let ht: Vec<Option<usize>> = csv_col(&data, "ht").iter().map(|v| Some(*v as usize)).collect();
    let r = compare_categorical("ht", &ht, &names, &low, &names).unwrap();
    assert_eq!(r.test.test, "Fisher's exact test");
    close(r.test.p, num(&g["categorical"]["ht"]["fisher"]["p_value"]), 1e-9, "fisher");
    // race: all expected >= 5 -> chi-square
    let race: Vec<Option<usize>> = csv_col(&data, "race").iter().map(|v| Some(*v as usize - 1)).collect();
    let lv = vec!["white".to_string(), "black".to_string(), "other".to_string()];
    let r = compare_categorical("race", &race, &lv, &low, &names).unwrap();
    assert_eq!(r.test.test, "Pearson's Chi-squared test");
    close(r.test.p, num(&g["categorical"]["race"]["chisq_no_correction"]["p_value"]), 1e-10, "chisq");
    close(r.levels[0].percent[0], 56.15384615384615, 1e-12, "percent");
}
