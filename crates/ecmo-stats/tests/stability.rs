//! Selection stability against tests/golden/stability.json (MASS::stepAIC backward rerun on
//! 500 bootstrap resamples of birthwt in R): inclusion frequencies within Monte-Carlo error.
mod common;
use common::*;
use ecmo_stats::design::Design;
use ecmo_stats::stability::selection_stability;
use ecmo_stats::stepwise::Direction;
use ecmo_stats::validate::Selection;

#[test]
fn stepaic_inclusion_frequencies_agree_with_r() {
    let g = local_golden("stability.json");
    let (f, y) = birthwt::birthwt();
    let rows: Vec<usize> = (0..f.nrows()).collect();
    let full = Design::build(&f, &birthwt::TERMS, &rows, true).unwrap();
    let b = 60;
    let s = selection_stability(&full, &y, &birthwt::TERMS, &Selection::StepAic(Direction::Backward), b, 9).unwrap();
    assert_eq!(s.successful, b);
    let r_b = num(&g["replicates"]);
    for (t, p_r) in s.terms.iter().zip(nums(&g["proportion"])) {
        // SE of the difference of two independent binomial proportions; allow 4 of them
        let se = (p_r * (1.0 - p_r) * (1.0 / b as f64 + 1.0 / r_b)).sqrt();
        assert!((t.proportion - p_r).abs() < 4.0 * se, "{}: {} vs R {p_r} (4 SE = {})", t.term, t.proportion, 4.0 * se);
    }
    assert!((s.mean_model_size - num(&g["mean_model_size"])).abs() < 0.4);
    // final model of stepAIC backward on all rows (logistic_birthwt.json): drops ftv and age
    assert_eq!(s.selected_terms, vec!["lwt", "race", "smoke", "ptl", "ht", "ui"]);
    assert_eq!(s.models.iter().map(|m| m.count).sum::<usize>(), b);
    assert_eq!(
        s,
        selection_stability(&full, &y, &birthwt::TERMS, &Selection::StepAic(Direction::Backward), b, 9).unwrap()
    );
}
