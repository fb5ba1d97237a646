//! Descriptive statistics: n, missing, mean, SD (n-1), median and quartiles by R's default
//! quantile type 7, IQR, min, max. Missing values are `NaN` and are counted, never used.

use serde::Serialize;

/// R `quantile(x, p, type = 7)` on an already **sorted** slice without missing values.
/// `h = (n-1) p + 1`, linear interpolation between `x[floor(h)]` and `x[ceil(h)]`.
pub fn quantile_type7_sorted(sorted: &[f64], p: f64) -> f64 {
    quantile_type7_by(sorted.len(), p, |i| sorted[i])
}

/// [`quantile_type7_sorted`] of `n` sorted values given by `at(i)` (0-based), for data held
/// in another form (e.g. counts per distinct value).
pub fn quantile_type7_by(n: usize, p: f64, at: impl Fn(usize) -> f64) -> f64 {
    if n == 0 || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    let index = 1.0 + (n as f64 - 1.0) * p;
    let lo = index.floor();
    let hi = index.ceil();
    let qs = at(lo as usize - 1);
    let xh = at((hi as usize - 1).min(n - 1));
    let h = index - lo;
    if index > lo && xh != qs { (1.0 - h) * qs + h * xh } else { qs }
}

/// R `quantile(x, p)` (type 7) of unsorted data; `NaN`s are ignored.
pub fn quantile_type7(x: &[f64], p: f64) -> f64 {
    let mut v: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    quantile_type7_sorted(&v, p)
}

/// Mean (NaN for empty input). Two-pass with correction, like R's `mean`.
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let n = x.len() as f64;
    let m: f64 = x.iter().sum::<f64>() / n;
    if !m.is_finite() {
        return m;
    }
    let corr: f64 = x.iter().map(|v| v - m).sum::<f64>() / n;
    m + corr
}

/// Sample variance with denominator n-1 (NaN if n < 2).
pub fn var(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0)
}

/// Sample standard deviation (n-1).
pub fn sd(x: &[f64]) -> f64 {
    var(x).sqrt()
}

/// Sample skewness (g1, moment estimator).
pub fn skewness(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    if x.len() < 3 {
        return f64::NAN;
    }
    let m = mean(x);
    let m2 = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
    let m3 = x.iter().map(|v| (v - m).powi(3)).sum::<f64>() / n;
    if m2 == 0.0 { 0.0 } else { m3 / m2.powf(1.5) }
}

/// Summary of one numeric sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Non-missing observations.
    pub n: usize,
    /// Missing (NaN) observations.
    pub missing: usize,
    /// Mean.
    pub mean: f64,
    /// Standard deviation (n-1).
    pub sd: f64,
    /// Median (type 7).
    pub median: f64,
    /// First quartile (type 7).
    pub q1: f64,
    /// Third quartile (type 7).
    pub q3: f64,
    /// q3 - q1.
    pub iqr: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

/// Describe a sample; `NaN` = missing.
pub fn summarize(x: &[f64]) -> Summary {
    let mut v: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    let missing = x.len() - v.len();
    v.sort_by(f64::total_cmp);
    let q1 = quantile_type7_sorted(&v, 0.25);
    let q3 = quantile_type7_sorted(&v, 0.75);
    Summary {
        n: v.len(),
        missing,
        mean: mean(&v),
        sd: sd(&v),
        median: quantile_type7_sorted(&v, 0.5),
        q1,
        q3,
        iqr: q3 - q1,
        min: v.first().copied().unwrap_or(f64::NAN),
        max: v.last().copied().unwrap_or(f64::NAN),
    }
}

/// Mid-ranks (1-based, ties get the average rank) and the tie group sizes.
pub fn midranks(x: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let n = x.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; n];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && x[idx[j]] == x[idx[i]] {
            j += 1;
        }
        let r = (i + 1 + j) as f64 / 2.0;
        for &k in &idx[i..j] {
            ranks[k] = r;
        }
        ties.push(j - i);
        i = j;
    }
    (ranks, ties)
}
