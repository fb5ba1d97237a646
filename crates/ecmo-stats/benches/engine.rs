//! Engine benchmarks (divan): `cargo bench -p ecmo-stats --bench engine`.
//! Side-by-side timings against R are in bench/stats_vs_r.sh; these track the kernels alone.

use ecmo_stats::design::{Column, Design, Frame};
use ecmo_stats::htest::Alternative;
use ecmo_stats::logistic::{GlmControl, irls_logistic};
use ecmo_stats::rng::Rng;
use ecmo_stats::roc::{delong_paired, roc};
use ecmo_stats::survival::{ConfType, Ties, cox_ph, kaplan_meier};
use ecmo_stats::validate::{Selection, validate_logistic};

fn main() {
    divan::main();
}

fn normal(rng: &mut Rng) -> f64 {
    // Box-Muller
    let u1 = rng.uniform().max(1e-300);
    let u2 = rng.uniform();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// n rows, p standard-normal covariates (row-major), logistic outcome.
fn logistic_data(n: usize, p: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng::new(seed);
    let mut x = Vec::with_capacity(n * p);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let mut lp = -1.0;
        for j in 0..p {
            let v = normal(&mut rng);
            x.push(v);
            if j < 5 {
                lp += 0.3 * v;
            }
        }
        y.push(if rng.uniform() < 1.0 / (1.0 + (-lp).exp()) { 1.0 } else { 0.0 });
    }
    (x, y)
}

/// Two rounded (tied) markers and case status.
fn roc_data(n: usize) -> (Vec<f64>, Vec<f64>, Vec<bool>) {
    let mut rng = Rng::new(11);
    let mut a = Vec::with_capacity(n);
    let mut b = Vec::with_capacity(n);
    let mut case = Vec::with_capacity(n);
    for _ in 0..n {
        let c = rng.uniform() < 0.3;
        let s = if c { 1.0 } else { 0.0 };
        a.push(((s + normal(&mut rng)) * 100.0).round() / 100.0);
        b.push(((0.5 * s + normal(&mut rng)) * 100.0).round() / 100.0);
        case.push(c);
    }
    (a, b, case)
}

#[divan::bench(args = [1_000, 10_000, 100_000, 1_000_000], sample_count = 10)]
fn roc_delong(bencher: divan::Bencher, n: usize) {
    let (a, _, case) = roc_data(n);
    bencher.bench(|| roc(divan::black_box(&a), &case, None).map(|r| r.ci_low));
}

#[divan::bench(args = [1_000, 10_000, 100_000, 1_000_000], sample_count = 10)]
fn roc_paired_delong(bencher: divan::Bencher, n: usize) {
    let (a, b, case) = roc_data(n);
    bencher.bench(|| {
        let ra = roc(&a, &case, None).ok()?;
        let rb = roc(&b, &case, None).ok()?;
        delong_paired(&ra, &rb, Alternative::TwoSided).ok().map(|t| t.p)
    });
}

#[divan::bench(sample_count = 10)]
fn logistic_irls_n1e5_p10(bencher: divan::Bencher) {
    let (n, p) = (100_000, 10);
    let (x0, y) = logistic_data(n, p, 3);
    let mut x = Vec::with_capacity(n * (p + 1));
    for i in 0..n {
        x.push(1.0);
        x.extend_from_slice(&x0[i * p..(i + 1) * p]);
    }
    bencher.bench(|| irls_logistic(&x, n, p + 1, &y, None, None, &GlmControl::default()).map(|f| f.deviance));
}

#[divan::bench(sample_count = 5)]
fn validate_b200_n2000_stepaic(bencher: divan::Bencher) {
    let (n, p) = (2_000, 15);
    let (x, y) = logistic_data(n, p, 5);
    let mut f = Frame::new();
    let names: Vec<String> = (0..p).map(|j| format!("x{}", j + 1)).collect();
    for (j, name) in names.iter().enumerate() {
        let col: Vec<f64> = (0..n).map(|i| x[i * p + j]).collect();
        let _ = f.push(name, Column::Numeric(col));
    }
    let terms: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let rows: Vec<usize> = (0..n).collect();
    let Ok(d) = Design::build(&f, &terms, &rows, true) else { return };
    let sel = Selection::StepAic(ecmo_stats::stepwise::Direction::Backward);
    bencher.bench(|| validate_logistic(&d, &y, &terms, &sel, 200, 1).map(|v| v.successful));
}

fn surv_data(n: usize) -> (Vec<f64>, Vec<bool>, Vec<f64>) {
    let mut rng = Rng::new(7);
    let mut t = Vec::with_capacity(n);
    let mut e = Vec::with_capacity(n);
    let mut x = Vec::with_capacity(n * 4);
    for _ in 0..n {
        let z: Vec<f64> = (0..3).map(|_| normal(&mut rng)).collect();
        let g = if rng.uniform() < 0.5 { 1.0 } else { 0.0 };
        let rate = 0.01 * (0.5 * z[0] - 0.3 * z[1] + 0.2 * z[2] + 0.4 * g).exp();
        let te = -rng.uniform().max(1e-300).ln() / rate;
        let tc = 200.0 * rng.uniform();
        t.push((te.min(tc) * 10.0).round() / 10.0);
        e.push(te <= tc);
        x.extend_from_slice(&z);
        x.push(g);
    }
    (t, e, x)
}

#[divan::bench(sample_count = 10)]
fn kaplan_meier_n1e5(bencher: divan::Bencher) {
    let (t, e, _) = surv_data(100_000);
    bencher.bench(|| kaplan_meier("all", &t, &e, ConfType::Log, 0.95, None).map(|k| k.median));
}

#[divan::bench(sample_count = 10)]
fn cox_efron_n1e5_p4(bencher: divan::Bencher) {
    let (t, e, x) = surv_data(100_000);
    let names: Vec<String> = ["x1", "x2", "x3", "grp"].iter().map(|s| s.to_string()).collect();
    bencher.bench(|| cox_ph(&t, &e, &x, &names, Ties::Efron, 0.95).map(|m| m.loglik));
}
