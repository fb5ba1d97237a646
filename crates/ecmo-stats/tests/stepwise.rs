//! Stepwise selection against logistic_birthwt.json (MASS::stepAIC, manual p-value elimination).
mod common;
use common::birthwt::{TERMS, birthwt};
use common::*;
use ecmo_stats::design::Design;
use ecmo_stats::logistic::LogisticOptions;
use ecmo_stats::stepwise::{Direction, PCriterion, StepResult, backward_pvalue, step_aic};
use serde_json::Value;

fn full_design() -> (Design, Vec<f64>) {
    let (f, y) = birthwt();
    let rows = f.complete_rows(&TERMS).unwrap();
    (Design::build(&f, &TERMS, &rows, true).unwrap(), y)
}

fn opts() -> LogisticOptions {
    LogisticOptions { profile_ci: false, ..Default::default() }
}

fn check_path(r: &StepResult, g: &Value, w: &str) {
    let ap = &g["anova_path"];
    let steps = strs(&ap["step"]);
    assert_eq!(r.path.len(), steps.len(), "{w}: path length");
    for (i, row) in r.path.iter().enumerate() {
        assert_eq!(row.step, steps[i], "{w}: step {i}");
        close(row.df.unwrap_or(f64::NAN), nums(&ap["df"])[i], 0.0, &format!("{w}.df[{i}]"));
        close(row.deviance.unwrap_or(f64::NAN), nums(&ap["deviance"])[i], 1e-8, &format!("{w}.deviance[{i}]"));
        close(row.resid_df, nums(&ap["resid_df"])[i], 0.0, &format!("{w}.resid_df[{i}]"));
        close(row.resid_dev, nums(&ap["resid_dev"])[i], 1e-10, &format!("{w}.resid_dev[{i}]"));
        close(row.aic, nums(&ap["aic"])[i], 1e-10, &format!("{w}.aic[{i}]"));
    }
    assert_eq!(r.final_terms, strs(&g["final_terms"]), "{w}: final terms");
    close(r.final_aic, num(&g["final_aic"]), 1e-10, &format!("{w}.final_aic"));
    close(r.final_model.aic, num(&g["final_aic"]), 1e-10, &format!("{w}.final_model.aic"));
    if let Some(fc) = g.get("final_coefficients") {
        // (serde_json sorts object keys, so compare by name; R's raceblack -> race=black)
        let obj = fc.as_object().unwrap();
        assert_eq!(obj.len(), r.final_model.coefficients.len(), "{w}: number of coefficients");
        for (k, v) in obj {
            let name = k.replace("raceblack", "race=black").replace("raceother", "race=other");
            let c = r
                .final_model
                .coefficients
                .iter()
                .find(|c| c.term == name)
                .unwrap_or_else(|| panic!("{w}: no coefficient {name}"));
            close(c.coef, num(v), 1e-9, &format!("{w}.final_coefficients.{name}"));
        }
    }
}

fn check_tables(r: &StepResult, g: &Value, w: &str) {
    let tabs = g["candidate_tables"].as_array().unwrap();
    assert_eq!(r.tables.len(), tabs.len(), "{w}: number of steps");
    for (s, (mine, rt)) in r.tables.iter().zip(tabs).enumerate() {
        close(mine.current_aic, num(&rt["current_aic"]), 1e-10, &format!("{w}[{s}].current_aic"));
        assert_eq!(mine.action, rt["action"].as_str().unwrap(), "{w}[{s}].action");
        let c = &rt["candidates"];
        let terms = strs(&c["term"]);
        assert_eq!(mine.candidates.len(), terms.len(), "{w}[{s}] candidates");
        for (i, cand) in mine.candidates.iter().enumerate() {
            assert_eq!(cand.term, terms[i]);
            let ww = format!("{w}[{s}].{}", cand.term);
            close(cand.df.unwrap_or(f64::NAN), nums(&c["df"])[i], 0.0, &format!("{ww}.df"));
            close(cand.deviance, nums(&c["deviance"])[i], 1e-10, &format!("{ww}.deviance"));
            close(cand.aic, nums(&c["aic"])[i], 1e-10, &format!("{ww}.aic"));
            close(cand.lrt.unwrap_or(f64::NAN), nums(&c["lrt"])[i], 1e-7, &format!("{ww}.lrt"));
            close(cand.p.unwrap_or(f64::NAN), nums(&c["p_lrt"])[i], 1e-7, &format!("{ww}.p"));
        }
    }
}

#[test]
fn step_aic_backward() {
    let g = golden("logistic_birthwt.json");
    let (d, y) = full_design();
    let r = step_aic(&d, &y, &TERMS, &[], &[], Direction::Backward, 2.0, &opts()).unwrap();
    check_path(&r, &g["stepAIC"]["backward"], "backward");
    check_tables(&r, &g["stepAIC"]["backward"], "backward");
}

#[test]
fn step_aic_forward() {
    let g = golden("logistic_birthwt.json");
    let (d, y) = full_design();
    let r = step_aic(&d, &y, &[], &[], &TERMS, Direction::Forward, 2.0, &opts()).unwrap();
    check_path(&r, &g["stepAIC"]["forward"], "forward");
    check_tables(&r, &g["stepAIC"]["forward"], "forward");
}

#[test]
fn step_aic_both() {
    let g = golden("logistic_birthwt.json");
    let (d, y) = full_design();
    let r = step_aic(&d, &y, &TERMS, &[], &[], Direction::Both, 2.0, &opts()).unwrap();
    check_path(&r, &g["stepAIC"]["both_from_full"], "both");
}

#[test]
fn pvalue_backward_wald_and_lrt() {
    let g = golden("logistic_birthwt.json");
    let (d, y) = full_design();
    for (key, crit, stat) in [("wald", PCriterion::Wald, "wald_chisq"), ("lrt", PCriterion::Lrt, "lrt_chisq")] {
        let gb = &g["pvalue_backward"][key];
        let r = backward_pvalue(&d, &y, &TERMS, &[], 0.05, crit, &opts()).unwrap();
        assert_eq!(r.removal_order, strs(&gb["removal_order"]), "{key} removal order");
        close(r.final_model.aic, num(&gb["final_aic"]), 1e-10, "final aic");
        let fc = &gb["final_coefficients"];
        close_vec(
            &r.final_model.coefficients.iter().map(|c| c.coef).collect::<Vec<_>>(),
            &nums(&fc["estimate"]),
            1e-9,
            "est",
        );
        close_vec(
            &r.final_model.coefficients.iter().map(|c| c.se).collect::<Vec<_>>(),
            &nums(&fc["std_error"]),
            1e-9,
            "se",
        );
        close_vec(
            &r.final_model.coefficients.iter().map(|c| c.z).collect::<Vec<_>>(),
            &nums(&fc["z_value"]),
            1e-9,
            "z",
        );
        close_vec(
            &r.final_model.coefficients.iter().map(|c| c.p).collect::<Vec<_>>(),
            &nums(&fc["p_value"]),
            1e-9,
            "p",
        );
        let steps = gb["steps"].as_array().unwrap();
        assert_eq!(r.steps.len(), steps.len());
        for (s, (mine, rs)) in r.steps.iter().zip(steps).enumerate() {
            let t = &rs["table"];
            assert_eq!(mine.table.iter().map(|x| x.term.clone()).collect::<Vec<_>>(), strs(&t["term"]));
            let tol = if key == "wald" { 1e-8 } else { 1e-7 };
            close_vec(
                &mine.table.iter().map(|x| x.statistic).collect::<Vec<_>>(),
                &nums(&t[stat]),
                tol,
                &format!("{key}[{s}] stat"),
            );
            close_vec(
                &mine.table.iter().map(|x| x.p).collect::<Vec<_>>(),
                &nums(&t["p_value"]),
                tol,
                &format!("{key}[{s}] p"),
            );
            close_vec(&mine.table.iter().map(|x| x.df).collect::<Vec<_>>(), &nums(&t["df"]), 0.0, "df");
            let ra = rs["action"].as_str().unwrap();
            assert_eq!(mine.action.split(' ').take(2).collect::<Vec<_>>(), ra.split(' ').take(2).collect::<Vec<_>>());
        }
    }
}
