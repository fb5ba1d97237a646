//! Calibration against calibration_birthwt.json (HL as ResourceSelection, glm recalibration, rms::val.prob).
mod common;
use common::*;
use ecmo_stats::calibration::{calibration, hosmer_lemeshow, net_benefit, val_prob};
use ecmo_stats::roc::roc;

#[test]
fn apparent_and_split_sample_match_r() {
    let g = golden("calibration_birthwt.json");
    for block in ["apparent", "split_sample"] {
        let b = &g[block];
        let y = nums(&b["y"]);
        let p = nums(&b["p"]);
        for (key, groups) in [("hosmer_lemeshow_g10", 10), ("hosmer_lemeshow_g5", 5)] {
            let h = hosmer_lemeshow(&y, &p, groups).unwrap();
            let r = &b[key];
            let w = format!("{block}.{key}");
            close(h.chisq, num(&r["chisq"]), 1e-12, &format!("{w}.chisq"));
            close(h.df, num(&r["df"]), 0.0, &format!("{w}.df"));
            close(h.p, num(&r["p_value"]), 1e-10, &format!("{w}.p"));
            close_vec(&h.breaks, &nums(&r["breaks"]), 1e-15, &format!("{w}.breaks"));
            let gr = &r["groups"];
            assert_eq!(
                h.groups.iter().map(|g| g.interval.clone()).collect::<Vec<_>>(),
                strs(&gr["interval"]),
                "{w} labels"
            );
            close_vec(
                &h.groups.iter().map(|g| g.n as f64).collect::<Vec<_>>(),
                &nums(&gr["n"]),
                0.0,
                &format!("{w}.n"),
            );
            close_vec(
                &h.groups.iter().map(|g| g.obs1).collect::<Vec<_>>(),
                &nums(&gr["obs1"]),
                0.0,
                &format!("{w}.obs1"),
            );
            close_vec(
                &h.groups.iter().map(|g| g.obs0).collect::<Vec<_>>(),
                &nums(&gr["obs0"]),
                0.0,
                &format!("{w}.obs0"),
            );
            close_vec(
                &h.groups.iter().map(|g| g.exp1).collect::<Vec<_>>(),
                &nums(&gr["exp1"]),
                1e-12,
                &format!("{w}.exp1"),
            );
            close_vec(
                &h.groups.iter().map(|g| g.exp0).collect::<Vec<_>>(),
                &nums(&gr["exp0"]),
                1e-12,
                &format!("{w}.exp0"),
            );
            close_vec(
                &h.group_of_each_obs.iter().map(|v| *v as f64).collect::<Vec<_>>(),
                &nums(&r["group_of_each_obs"]),
                0.0,
                &format!("{w}.groups"),
            );
        }
        let c = calibration(&y, &p).unwrap();
        let r = &b["calibration"];
        let w = format!("{block}.calibration");
        close(c.brier, num(&r["brier"]), 1e-12, &format!("{w}.brier"));
        close(c.brier_scaled, num(&r["brier_scaled"]), 1e-12, &format!("{w}.brier_scaled"));
        close(c.mean_observed, num(&r["mean_observed"]), 1e-12, "mean_observed");
        close(c.mean_predicted, num(&r["mean_predicted"]), 1e-12, "mean_predicted");
        let cs = &r["calibration_slope"];
        let ci = &r["calibration_in_the_large"];
        if block == "apparent" {
            // on the model's own data these are 1 and 0 up to the score equations (~1e-9)
            assert!((c.slope - 1.0).abs() < 1e-7 && (num(&cs["estimate"]) - 1.0).abs() < 1e-7);
            assert!(c.slope_model_intercept.abs() < 1e-7 && c.citl.abs() < 1e-7);
        } else {
            close(c.slope, num(&cs["estimate"]), 1e-9, &format!("{w}.slope"));
            close(c.slope_model_intercept, num(&cs["intercept_in_same_model"]), 1e-9, &format!("{w}.int"));
            close(c.citl, num(&ci["estimate"]), 1e-9, &format!("{w}.citl"));
        }
        close(c.slope_se, num(&cs["std_error"]), 1e-9, &format!("{w}.slope_se"));
        close(c.slope_model_intercept_se, num(&cs["intercept_se"]), 1e-9, &format!("{w}.int_se"));
        close(c.citl_se, num(&ci["std_error"]), 1e-9, &format!("{w}.citl_se"));
        // rms::val.prob
        let v = val_prob(&y, &p).unwrap();
        let r = &b["val_prob"];
        let w = format!("{block}.val_prob");
        close(v.dxy, num(&r["Dxy"]), 1e-12, &format!("{w}.Dxy"));
        close(v.c, num(&r["C (ROC)"]), 1e-12, &format!("{w}.C"));
        close(v.r2, num(&r["R2"]), 1e-10, &format!("{w}.R2"));
        close(v.d, num(&r["D"]), 1e-10, &format!("{w}.D"));
        close(v.d_chisq, num(&r["D:Chi-sq"]), 1e-10, &format!("{w}.D:Chi-sq"));
        close(v.q, num(&r["Q"]), 1e-9, &format!("{w}.Q"));
        close(v.brier, num(&r["Brier"]), 1e-12, &format!("{w}.Brier"));
        close(v.s_z, num(&r["S:z"]), 1e-10, &format!("{w}.S:z"));
        close(v.s_p, num(&r["S:p"]), 1e-10, &format!("{w}.S:p"));
        if block == "apparent" {
            assert!(v.u_chisq.abs() < 1e-6 && num(&r["U:Chi-sq"]) == 0.0);
            close(v.u, num(&r["U"]), 1e-8, &format!("{w}.U"));
            assert!(v.intercept.abs() < 1e-7 && (v.slope - 1.0).abs() < 1e-7);
        } else {
            close(v.u, num(&r["U"]), 1e-8, &format!("{w}.U"));
            close(v.u_chisq, num(&r["U:Chi-sq"]), 1e-9, &format!("{w}.U:Chi-sq"));
            close(v.u_p, num(&r["U:p"]), 1e-9, &format!("{w}.U:p"));
            close(v.intercept, num(&r["Intercept"]), 1e-9, &format!("{w}.Intercept"));
            close(v.slope, num(&r["Slope"]), 1e-9, &format!("{w}.Slope"));
        }
        // AUC with DeLong CI (pROC, direction '<')
        let cases: Vec<bool> = y.iter().map(|v| *v == 1.0).collect();
        let rr = roc(&p, &cases, Some(ecmo_stats::roc::RocDirection::ControlsLower)).unwrap();
        let a = &b["auc"];
        close(rr.auc, num(&a["auc"]), 1e-12, &format!("{block}.auc"));
        close(rr.variance, num(&a["var_delong"]), 1e-9, &format!("{block}.var"));
        let ci = nums(&a["ci_delong_95"]);
        close(rr.ci_low, ci[0], 1e-9, "ci0");
        close(rr.ci_high, ci[1], 1e-9, "ci1");
    }
}

#[test]
fn net_benefit_basics() {
    let y = [1.0, 0.0, 1.0, 0.0, 0.0];
    let p = [0.9, 0.6, 0.4, 0.2, 0.1];
    let nb = net_benefit(&y, &p, &[0.3]).unwrap();
    // positives at pt=0.3: 0.9 (TP), 0.6 (FP), 0.4 (TP): NB = 2/5 - 1/5 * 0.3/0.7
    assert!((nb[0].model - (0.4 - 0.2 * 0.3 / 0.7)).abs() < 1e-15);
    assert!((nb[0].treat_all - (0.4 - 0.6 * 0.3 / 0.7)).abs() < 1e-15);
}
