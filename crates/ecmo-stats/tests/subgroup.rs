//! Subgroup analysis against tests/golden/subgroup.json (R glm + anova(test = "LRT"), pROC).
mod common;
use common::*;
use ecmo_stats::design::{Column, Frame};
use ecmo_stats::logistic::LogisticOptions;
use ecmo_stats::subgroup::{SubgroupAnalysis, SubgroupFit, SubgroupSpec, subgroup_logistic};
use serde_json::Value;

fn spec<'a>(predictor: &'a str, adjust: &'a [&'a str], subgroup: &'a str) -> SubgroupSpec<'a> {
    SubgroupSpec { predictor, adjust, subgroup, logistic: LogisticOptions::default(), roc_direction: None }
}

fn check_fit(f: &SubgroupFit, r: &Value, what: &str) {
    assert_eq!(f.n as f64, num(&r["n"]), "{what} n");
    assert_eq!(f.events as f64, num(&r["events"]), "{what} events");
    close(f.deviance.unwrap(), num(&r["deviance"]), 1e-10, &format!("{what} deviance"));
    let rows = r["coefficients"].as_array().unwrap();
    assert_eq!(f.predictor.len(), rows.len(), "{what} coefficient rows");
    for (c, e) in f.predictor.iter().zip(rows) {
        let w = format!("{what} {}", c.term);
        close(c.coef, num(&e["coef"]), 1e-9, &w);
        close(c.se, num(&e["se"]), 1e-9, &w);
        close(c.z, num(&e["z"]), 1e-9, &w);
        close(c.p, num(&e["p"]), 1e-8, &w);
        close(c.odds_ratio, num(&e["or"]), 1e-9, &w);
        let wald = nums(&e["wald_ci"]);
        close(c.ci_low, wald[0], 1e-9, &w);
        close(c.ci_high, wald[1], 1e-9, &w);
        // exact profile roots (uniroot, tol 1e-13); MASS's confint() spline-interpolates the
        // same profile (see docs/stats.md), so it is only checked to 1e-3 relative (5e-4 off for a wide CI)
        let exact = nums(&e["profile_exact_ci"]);
        close(c.profile_ci_low.unwrap(), exact[0], 1e-7, &w);
        close(c.profile_ci_high.unwrap(), exact[1], 1e-7, &w);
        let mass = nums(&e["profile_ci"]);
        close(c.profile_ci_low.unwrap(), mass[0], 1e-3, &w);
        close(c.profile_ci_high.unwrap(), mass[1], 1e-3, &w);
    }
    if let Some(roc) = r.get("roc") {
        let got = f.roc.as_ref().unwrap();
        assert_eq!(got.direction.symbol(), roc["direction"].as_str().unwrap(), "{what} direction");
        assert_eq!(got.n_cases as f64, num(&roc["n_cases"]));
        assert_eq!(got.n_controls as f64, num(&roc["n_controls"]));
        close(got.auc, num(&roc["auc"]), 1e-12, &format!("{what} auc"));
        close(got.variance, num(&roc["var"]), 1e-9, &format!("{what} var"));
        let ci = nums(&roc["ci"]);
        close(got.ci_low, ci[0], 1e-9, &format!("{what} ci"));
        close(got.ci_high, ci[1], 1e-9, &format!("{what} ci"));
    }
}

fn check(a: &SubgroupAnalysis, g: &Value) {
    if g.get("overall").is_some() {
        check_fit(&a.overall, &g["overall"], "overall");
    }
    let levels = g["levels"].as_array().unwrap();
    assert_eq!(a.levels.len(), levels.len());
    for (f, r) in a.levels.iter().zip(levels) {
        assert_eq!(f.level, r["level"].as_str().unwrap());
        check_fit(f, r, &f.level);
    }
    let i = &g["interaction"];
    close(a.interaction.deviance_main, num(&i["deviance_main"]), 1e-10, "deviance main");
    close(a.interaction.deviance_interaction, num(&i["deviance_interaction"]), 1e-10, "deviance interaction");
    close(a.interaction.test.statistic, num(&i["statistic"]), 1e-7, "LR statistic");
    assert_eq!(a.interaction.test.df, num(&i["df"]));
    close(a.interaction.test.p, num(&i["p"]), 1e-7, "LR p");
    assert!(a.interaction.method.contains("likelihood-ratio"));
}

#[test]
fn age_by_race_adjusted_for_smoke() {
    let g = local_golden("subgroup.json");
    let (f, y) = birthwt::birthwt();
    let a = subgroup_logistic(&f, &y, &spec("age", &["smoke"], "race")).unwrap();
    check(&a, &g["age_by_race"]);
    // three levels: the k-level inverse-variance chi-square, 2 df
    assert_eq!(a.auc_heterogeneity.as_ref().unwrap().df, 2.0);
}

#[test]
fn s100b_by_gender_with_unpaired_auc_test() {
    let g = local_golden("subgroup.json");
    let d = local_csv("asah.csv");
    let mut f = Frame::new();
    f.push("s100b", Column::Numeric(csv_col(&d, "s100b"))).unwrap();
    let gender = csv_str(&d, "gender");
    let gv: Vec<Option<&str>> = gender.iter().map(|s| Some(s.as_str())).collect();
    f.push("gender", Column::categorical(&gv, None, None).unwrap()).unwrap();
    let y: Vec<f64> = csv_str(&d, "outcome").iter().map(|o| (o == "Poor") as i32 as f64).collect();
    let a = subgroup_logistic(&f, &y, &spec("s100b", &[], "gender")).unwrap();
    check(&a, &g["s100b_by_gender"]);
    let t = &g["s100b_by_gender"]["auc_unpaired_test"];
    let h = a.auc_heterogeneity.unwrap();
    close(h.statistic, num(&t["statistic"]), 1e-9, "D");
    close(h.df, num(&t["df"]), 1e-9, "df");
    close(h.p, num(&t["p"]), 1e-9, "p");
}

#[test]
fn categorical_predictor_two_df_interaction() {
    let g = local_golden("subgroup.json");
    let (mut f, y) = birthwt::birthwt();
    let smoke: Vec<String> = match f.column("smoke").unwrap() {
        Column::Numeric(v) => v.iter().map(|x| format!("{x}")).collect(),
        _ => unreachable!(),
    };
    let sv: Vec<Option<&str>> = smoke.iter().map(|s| Some(s.as_str())).collect();
    f.push("smoke_f", Column::categorical(&sv, None, None).unwrap()).unwrap();
    let a = subgroup_logistic(&f, &y, &spec("race", &["lwt"], "smoke_f")).unwrap();
    let mut gg = g["race_by_smoke"].clone();
    gg.as_object_mut().unwrap().remove("overall");
    check(&a, &gg);
    assert_eq!(a.interaction.terms, vec!["race=black:smoke_f=1", "race=other:smoke_f=1"]);
    assert!(a.levels[0].roc.is_none(), "no ROC for a categorical predictor");
}
