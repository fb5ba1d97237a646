//! Competing risks against tests/golden/competing_risks.json (cmprsk 2.2 cuminc / crr on
//! survival::mgus2: cause 1 = progression to PCM, 2 = death, 0 = censored).
mod common;
use common::*;
use ecmo_stats::competing::{CumulativeIncidence, cumulative_incidence, fine_gray};
use serde_json::Value;

struct Mgus {
    time: Vec<f64>,
    cause: Vec<u32>,
    sex: Vec<String>,
    agegrp: Vec<String>,
    age: Vec<f64>,
    male: Vec<f64>,
}

fn mgus() -> Mgus {
    let d = local_csv("mgus2.csv");
    Mgus {
        time: csv_col(&d, "etime"),
        cause: csv_col(&d, "cause").iter().map(|c| *c as u32).collect(),
        sex: csv_str(&d, "sex"),
        agegrp: csv_str(&d, "agegrp"),
        age: csv_col(&d, "age"),
        male: csv_col(&d, "male"),
    }
}

fn names() -> Vec<String> {
    vec!["pcm".into(), "death".into()]
}

/// cuminc's corners: after-jump values at indices 2, 4, ..., len - 2.
fn jumps(v: &Value) -> Vec<f64> {
    let a = nums(v);
    (1..a.len() / 2).map(|k| a[2 * k]).collect()
}

fn check_curves(r: &CumulativeIncidence, g: &Value, group_labels: &[&str]) {
    let curves = &g["curves"];
    let mut i = 0;
    for gl in group_labels {
        for cause in [1, 2] {
            let key = format!("{gl} {cause}");
            let want = &curves[&key];
            let got = &r.curves[i];
            i += 1;
            assert_eq!(got.cause, cause);
            let t: Vec<f64> = got.points.iter().map(|p| p.time).collect();
            let est: Vec<f64> = got.points.iter().map(|p| p.estimate).collect();
            let var: Vec<f64> = got.points.iter().map(|p| p.variance).collect();
            close_vec(&t, &jumps(&want["time"]), 0.0, &format!("{key} times"));
            close_vec(&est, &jumps(&want["est"]), 1e-12, &format!("{key} estimate"));
            close_vec(&var, &jumps(&want["var"]), 1e-10, &format!("{key} variance"));
        }
    }
}

#[test]
fn cumulative_incidence_matches_cuminc() {
    let g = local_golden("competing_risks.json");
    let d = mgus();
    let r = cumulative_incidence(&d.time, &d.cause, &names(), None, 0.0, 0.95).unwrap();
    check_curves(&r, &g["cif_overall"], &["1"]);
    assert!(r.tests.is_empty());
}

fn coded(v: &[String], labels: &[&str]) -> (Vec<usize>, Vec<String>) {
    (
        v.iter().map(|s| labels.iter().position(|l| l == s).unwrap()).collect(),
        labels.iter().map(|s| s.to_string()).collect(),
    )
}

#[test]
fn grays_test_two_and_three_groups() {
    let g = local_golden("competing_risks.json");
    let d = mgus();
    for (col, labels, key) in
        [(&d.sex, vec!["F", "M"], "cif_by_sex"), (&d.agegrp, vec!["<60", "60-75", ">75"], "cif_by_agegrp")]
    {
        let (codes, l) = coded(col, &labels);
        let r = cumulative_incidence(&d.time, &d.cause, &names(), Some((&codes, &l)), 0.0, 0.95).unwrap();
        check_curves(&r, &g[key], &labels);
        let t = &g[key]["tests"];
        let stat = nums(&t["stat"]);
        let p = nums(&t["p"]);
        for (k, test) in r.tests.iter().enumerate() {
            close(test.statistic, stat[k], 1e-9, &format!("{key} Gray statistic cause {}", k + 1));
            assert_eq!(test.df, nums(&t["df"])[k]);
            // R computes 1 - pchisq(), which is 0 below 1e-16
            if p[k] > 1e-12 {
                close(test.p, p[k], 1e-8, &format!("{key} Gray p cause {}", k + 1));
            } else {
                assert!(test.p < 1e-12);
            }
        }
    }
    // timepoints(): the step function read at given times
    let (codes, l) = coded(&d.sex, &["F", "M"]);
    let r = cumulative_incidence(&d.time, &d.cause, &names(), Some((&codes, &l)), 0.0, 0.95).unwrap();
    let tp = &g["timepoints_by_sex"];
    let times = nums(&tp["times"]);
    let est = matrix_rows(&tp["est"]);
    let var = matrix_rows(&tp["var"]);
    // rows: F 1, M 1, F 2, M 2 (cuminc's order: cause outer)
    for (row, (gi, cause)) in [(0usize, 1u32), (1, 1), (0, 2), (1, 2)].iter().enumerate() {
        let c = r.curves.iter().find(|c| c.group == l[*gi] && c.cause == *cause).unwrap();
        for (k, &t) in times.iter().enumerate() {
            let (e, v) = c.at(t);
            close(e, est[row][k], 1e-12, "timepoints est");
            close(v, var[row][k], 1e-10, "timepoints var");
        }
    }
}

#[test]
fn fine_gray_matches_crr() {
    let g = local_golden("competing_risks.json");
    let d = mgus();
    let x: Vec<f64> = d.age.iter().zip(&d.male).flat_map(|(a, m)| [*a, *m]).collect();
    let names = vec!["age".to_string(), "male".to_string()];
    for (cause, key) in [(1, "finegray_pcm"), (2, "finegray_death")] {
        let f = fine_gray(&d.time, &d.cause, cause, &x, &names, 0.95).unwrap();
        let w = &g[key];
        assert!(f.converged);
        let coef: Vec<f64> = f.coefficients.iter().map(|c| c.coef).collect();
        let se: Vec<f64> = f.coefficients.iter().map(|c| c.se).collect();
        let z: Vec<f64> = f.coefficients.iter().map(|c| c.z).collect();
        let p: Vec<f64> = f.coefficients.iter().map(|c| c.p).collect();
        close_vec(&coef, &nums(&w["coef"]), 1e-9, &format!("{key} coef"));
        close_vec(&se, &nums(&w["se"]), 1e-8, &format!("{key} se"));
        close_vec(&z, &nums(&w["z"]), 1e-8, &format!("{key} z"));
        close_vec(&p, &nums(&w["p"]), 1e-7, &format!("{key} p"));
        close(f.loglik, num(&w["loglik"]), 1e-11, &format!("{key} loglik"));
        close(f.loglik_null, num(&w["loglik_null"]), 1e-12, &format!("{key} loglik null"));
        // the whole sandwich covariance (crr's $var), off-diagonal included
        close_vec(&f.vcov.data, &matrix_rows(&w["var"]).concat(), 1e-8, &format!("{key} var"));
    }
}
