//! Two-group and contingency-table hypothesis tests, as R's `stats` computes them:
//! `t.test` (Student and Welch), `wilcox.test` (normal approximation with/without
//! continuity correction, exact when small and tie-free), `chisq.test` (Yates only for
//! 2x2), `fisher.test` (2x2 with conditional MLE odds ratio and exact CI; r x c p-value by
//! full enumeration), Kruskal-Wallis and one-way ANOVA for more than two groups.

use crate::describe::{mean, midranks, var};
use crate::dist::{lchoose, p_two_sided_t, pchisq_upper, pnorm, qt, zeroin};
use crate::error::{Result, StatsError};
use serde::Serialize;

/// Alternative hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Alternative {
    /// Two-sided.
    #[default]
    TwoSided,
    /// First > second.
    Greater,
    /// First < second.
    Less,
}

/// Result of a t-test (estimates refer to `mean(x) - mean(y)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TTest {
    /// "Welch Two Sample t-test" or " Two Sample t-test".
    pub method: String,
    /// t statistic.
    pub statistic: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Mean of x.
    pub mean_x: f64,
    /// Mean of y.
    pub mean_y: f64,
    /// Confidence interval of the difference.
    pub ci_low: f64,
    /// Upper CI limit.
    pub ci_high: f64,
}

/// Two-sample t-test (two-sided), R `t.test(x, y, var.equal = ...)`.
pub fn t_test(x: &[f64], y: &[f64], var_equal: bool, conf_level: f64) -> Result<TTest> {
    let (nx, ny) = (x.len() as f64, y.len() as f64);
    if x.len() < 2 || y.len() < 2 {
        return Err(StatsError::NotEnoughData("t-test needs at least 2 observations per group".into()));
    }
    let (mx, my) = (mean(x), mean(y));
    let (vx, vy) = (var(x), var(y));
    let (df, stderr) = if var_equal {
        let df = nx + ny - 2.0;
        let v = ((nx - 1.0) * vx + (ny - 1.0) * vy) / df;
        (df, (v * (1.0 / nx + 1.0 / ny)).sqrt())
    } else {
        let sx = vx / nx;
        let sy = vy / ny;
        let se = (sx + sy).sqrt();
        (se.powi(4) / (sx * sx / (nx - 1.0) + sy * sy / (ny - 1.0)), se)
    };
    if !(stderr > 0.0) {
        return Err(StatsError::InvalidInput("data are essentially constant".into()));
    }
    let t = (mx - my) / stderr;
    let p = p_two_sided_t(t, df);
    let alpha = 1.0 - conf_level;
    let c = qt(1.0 - alpha / 2.0, df);
    Ok(TTest {
        method: if var_equal { " Two Sample t-test".into() } else { "Welch Two Sample t-test".into() },
        statistic: t,
        df,
        p,
        mean_x: mx,
        mean_y: my,
        ci_low: (t - c) * stderr,
        ci_high: (t + c) * stderr,
    })
}

/// Result of the Wilcoxon rank-sum (Mann-Whitney) test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankSumTest {
    /// Method label as R prints it.
    pub method: String,
    /// W = rank sum of x minus nx(nx+1)/2.
    pub statistic: f64,
    /// p-value.
    pub p: f64,
    /// Whether the exact distribution was used.
    pub exact: bool,
    /// Whether the continuity correction was used.
    pub correct: bool,
    /// z statistic of the normal approximation (None when exact).
    pub z: Option<f64>,
}

/// Exact null distribution counts of W for sample sizes m, n (length m*n+1), via the
/// q-binomial (Gaussian binomial) recursion, additions only.
fn wilcox_counts(m: usize, n: usize) -> Vec<f64> {
    // rows[k] = coefficients of [N choose k]_q as N increases
    let mut rows: Vec<Vec<f64>> = vec![vec![1.0]];
    for big_n in 1..=(m + n) {
        let kmax = big_n.min(m);
        let mut new_rows: Vec<Vec<f64>> = Vec::with_capacity(kmax + 1);
        for k in 0..=kmax {
            // [N,k] = [N-1,k-1] + q^k [N-1,k]
            let deg = k * (big_n - k);
            let mut c = vec![0.0; deg + 1];
            if k >= 1
                && let Some(a) = rows.get(k - 1)
            {
                for (i, v) in a.iter().enumerate() {
                    c[i] += v;
                }
            }
            if k < big_n
                && let Some(b) = rows.get(k)
                && k * (big_n - 1 - k) + 1 == b.len()
            {
                for (i, v) in b.iter().enumerate() {
                    c[i + k] += v;
                }
            }
            new_rows.push(c);
        }
        rows = new_rows;
    }
    rows.pop().unwrap_or_default()
}

/// Wilcoxon rank-sum test of x vs y, R `wilcox.test(x, y, exact = , correct = )`.
/// `exact = None` follows R: exact if both samples < 50 and there are no ties.
pub fn wilcoxon_rank_sum(x: &[f64], y: &[f64], correct: bool, exact: Option<bool>) -> Result<RankSumTest> {
    let (nx, ny) = (x.len(), y.len());
    if nx == 0 || ny == 0 {
        return Err(StatsError::NotEnoughData("Wilcoxon test needs both groups non-empty".into()));
    }
    let mut all = Vec::with_capacity(nx + ny);
    all.extend_from_slice(x);
    all.extend_from_slice(y);
    let (r, ties) = midranks(&all);
    let w: f64 = r[..nx].iter().sum::<f64>() - (nx * (nx + 1)) as f64 / 2.0;
    let has_ties = ties.iter().any(|&t| t > 1);
    let exact = exact.unwrap_or(nx < 50 && ny < 50) && !has_ties;
    let (fx, fy) = (nx as f64, ny as f64);
    if exact {
        let counts = wilcox_counts(nx, ny);
        let total = lchoose((nx + ny) as f64, nx as f64).exp();
        let cdf = |q: f64| -> f64 {
            let q = q.floor();
            if q < 0.0 {
                return 0.0;
            }
            let upto = (q as usize).min(counts.len().saturating_sub(1));
            counts[..=upto].iter().sum::<f64>() / total
        };
        let p = if w > fx * fy / 2.0 { 1.0 - cdf(w - 1.0) } else { cdf(w) };
        return Ok(RankSumTest {
            method: "Wilcoxon rank sum exact test".into(),
            statistic: w,
            p: (2.0 * p).min(1.0),
            exact: true,
            correct: false,
            z: None,
        });
    }
    let z0 = w - fx * fy / 2.0;
    let n = fx + fy;
    let tie_sum: f64 = ties.iter().map(|&t| (t as f64).powi(3) - t as f64).sum();
    let sigma = ((fx * fy / 12.0) * ((n + 1.0) - tie_sum / (n * (n - 1.0)))).sqrt();
    let corr = if correct { z0.signum() * 0.5 } else { 0.0 };
    let corr = if z0 == 0.0 { 0.0 } else { corr };
    let z = (z0 - corr) / sigma;
    let p = 2.0 * pnorm(z).min(pnorm(-z));
    Ok(RankSumTest {
        method: if correct {
            "Wilcoxon rank sum test with continuity correction".into()
        } else {
            "Wilcoxon rank sum test".into()
        },
        statistic: w,
        p: p.min(1.0),
        exact: false,
        correct,
        z: Some(z),
    })
}

/// A contingency table of counts, rows x columns, row-major.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// Number of rows.
    pub nrow: usize,
    /// Number of columns.
    pub ncol: usize,
    /// Counts, row-major.
    pub counts: Vec<f64>,
}

impl Table {
    /// Build from rows.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Table> {
        let nrow = rows.len();
        let ncol = rows.first().map(|r| r.len()).unwrap_or(0);
        if nrow == 0 || ncol == 0 || rows.iter().any(|r| r.len() != ncol) {
            return Err(StatsError::DimensionMismatch("ragged or empty table".into()));
        }
        let counts: Vec<f64> = rows.iter().flatten().copied().collect();
        if counts.iter().any(|c| !(*c >= 0.0) || c.fract() != 0.0) {
            return Err(StatsError::InvalidInput("table counts must be non-negative integers".into()));
        }
        Ok(Table { nrow, ncol, counts })
    }
    /// Count in cell (i, j).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.counts[i * self.ncol + j]
    }
    /// Row sums.
    pub fn row_sums(&self) -> Vec<f64> {
        (0..self.nrow).map(|i| (0..self.ncol).map(|j| self.get(i, j)).sum()).collect()
    }
    /// Column sums.
    pub fn col_sums(&self) -> Vec<f64> {
        (0..self.ncol).map(|j| (0..self.nrow).map(|i| self.get(i, j)).sum()).collect()
    }
}

/// Pearson chi-square test result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChisqTest {
    /// Method label as R prints it.
    pub method: String,
    /// X-squared.
    pub statistic: f64,
    /// (r-1)(c-1).
    pub df: f64,
    /// p-value.
    pub p: f64,
    /// Expected counts, row-major.
    pub expected: Vec<Vec<f64>>,
    /// Whether Yates' correction was applied (only ever for 2x2).
    pub yates: bool,
    /// R's warnings ("Chi-squared approximation may be incorrect" when any expected < 5).
    pub warnings: Vec<String>,
}

/// R `chisq.test(table, correct = )`: Yates' correction only for 2x2 tables, with
/// `min(0.5, |O - E|)`.
pub fn chisq_test(t: &Table, correct: bool) -> Result<ChisqTest> {
    let n: f64 = t.counts.iter().sum();
    if n <= 0.0 {
        return Err(StatsError::NotEnoughData("empty table".into()));
    }
    let sr = t.row_sums();
    let sc = t.col_sums();
    let mut expected = vec![vec![0.0; t.ncol]; t.nrow];
    for i in 0..t.nrow {
        for j in 0..t.ncol {
            expected[i][j] = sr[i] * sc[j] / n;
        }
    }
    let yates_on = correct && t.nrow == 2 && t.ncol == 2;
    let mut yates = 0.0;
    if yates_on {
        let mut m = f64::INFINITY;
        for i in 0..2 {
            for j in 0..2 {
                m = m.min((t.get(i, j) - expected[i][j]).abs());
            }
        }
        yates = m.min(0.5);
    }
    let mut stat = 0.0;
    // column-major summation order as R
    for j in 0..t.ncol {
        for (i, e) in expected.iter().enumerate() {
            let d = (t.get(i, j) - e[j]).abs() - yates;
            stat += d * d / e[j];
        }
    }
    let df = ((t.nrow - 1) * (t.ncol - 1)) as f64;
    let mut warnings = Vec::new();
    if expected.iter().flatten().any(|e| *e < 5.0) {
        warnings.push("Chi-squared approximation may be incorrect".to_string());
    }
    Ok(ChisqTest {
        method: if yates_on {
            "Pearson's Chi-squared test with Yates' continuity correction".into()
        } else {
            "Pearson's Chi-squared test".into()
        },
        statistic: stat,
        df,
        p: pchisq_upper(stat, df),
        expected,
        yates: yates_on,
        warnings,
    })
}

/// Fisher's exact test result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FisherTest {
    /// Two-sided p-value.
    pub p: f64,
    /// 2x2 only: conditional maximum-likelihood odds ratio.
    pub odds_ratio: Option<f64>,
    /// 2x2 only: exact conditional CI, lower.
    pub ci_low: Option<f64>,
    /// 2x2 only: exact conditional CI, upper.
    pub ci_high: Option<f64>,
}

/// Fisher's exact test, R `fisher.test(table)` (two-sided). 2x2 tables also get the
/// conditional MLE of the odds ratio `counts[0][0]*counts[1][1]/(counts[0][1]*counts[1][0])`
/// and its exact CI, found with R's own root finder so they match R's `uniroot` results.
pub fn fisher_test(t: &Table, conf_level: f64) -> Result<FisherTest> {
    if t.nrow < 2 || t.ncol < 2 {
        return Err(StatsError::InvalidInput("Fisher's test needs at least a 2x2 table".into()));
    }
    if t.nrow == 2 && t.ncol == 2 {
        return fisher_2x2(t, conf_level);
    }
    Ok(FisherTest { p: fisher_rxc_p(t)?, odds_ratio: None, ci_low: None, ci_high: None })
}

fn fisher_2x2(t: &Table, conf_level: f64) -> Result<FisherTest> {
    let m = t.get(0, 0) + t.get(1, 0);
    let n = t.get(0, 1) + t.get(1, 1);
    let k = t.get(0, 0) + t.get(0, 1);
    let x = t.get(0, 0);
    let lo = (k - n).max(0.0);
    let hi = k.min(m);
    let support: Vec<f64> = (lo as i64..=hi as i64).map(|v| v as f64).collect();
    // log dhyper(support, m, n, k)
    let logdc: Vec<f64> = support.iter().map(|&s| lchoose(m, s) + lchoose(n, k - s) - lchoose(m + n, k)).collect();
    let dnhyper = |ncp: f64| -> Vec<f64> {
        let d: Vec<f64> = logdc.iter().zip(&support).map(|(l, s)| l + ncp.ln() * s).collect();
        let mx = d.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = d.iter().map(|v| (v - mx).exp()).collect();
        let s: f64 = e.iter().sum();
        e.into_iter().map(|v| v / s).collect()
    };
    let mnhyper = |ncp: f64| -> f64 {
        if ncp == 0.0 {
            return lo;
        }
        if ncp.is_infinite() {
            return hi;
        }
        dnhyper(ncp).iter().zip(&support).map(|(d, s)| d * s).sum()
    };
    let pnhyper = |q: f64, ncp: f64, upper: bool| -> f64 {
        if ncp == 0.0 {
            return if upper { (q <= lo) as i32 as f64 } else { (q >= lo) as i32 as f64 };
        }
        if ncp.is_infinite() {
            return if upper { (q <= hi) as i32 as f64 } else { (q >= hi) as i32 as f64 };
        }
        dnhyper(ncp).iter().zip(&support).filter(|(_, s)| if upper { **s >= q } else { **s <= q }).map(|(d, _)| d).sum()
    };
    // p-value
    let d = dnhyper(1.0);
    let xi = (x - lo) as usize;
    let dx = d.get(xi).copied().unwrap_or(0.0);
    let rel = 1.0 + 1e-7;
    let p: f64 = d.iter().filter(|&&v| v <= dx * rel).sum();
    let tol = f64::EPSILON.powf(0.25);
    let eps = f64::EPSILON;
    let uni = |f: &dyn Fn(f64) -> f64, a: f64, b: f64| zeroin(a, b, f, tol, 1000);
    let mle = if x == lo {
        0.0
    } else if x == hi {
        f64::INFINITY
    } else {
        let mu = mnhyper(1.0);
        if mu > x {
            uni(&|t| mnhyper(t) - x, 0.0, 1.0).unwrap_or(f64::NAN)
        } else if mu < x {
            1.0 / uni(&|t| mnhyper(1.0 / t) - x, eps, 1.0).unwrap_or(f64::NAN)
        } else {
            1.0
        }
    };
    let alpha = (1.0 - conf_level) / 2.0;
    let ncp_u = if x == hi {
        f64::INFINITY
    } else {
        let pp = pnhyper(x, 1.0, false);
        if pp < alpha {
            uni(&|t| pnhyper(x, t, false) - alpha, 0.0, 1.0).unwrap_or(f64::NAN)
        } else if pp > alpha {
            1.0 / uni(&|t| pnhyper(x, 1.0 / t, false) - alpha, eps, 1.0).unwrap_or(f64::NAN)
        } else {
            1.0
        }
    };
    let ncp_l = if x == lo {
        0.0
    } else {
        let pp = pnhyper(x, 1.0, true);
        if pp > alpha {
            uni(&|t| pnhyper(x, t, true) - alpha, 0.0, 1.0).unwrap_or(f64::NAN)
        } else if pp < alpha {
            1.0 / uni(&|t| pnhyper(x, 1.0 / t, true) - alpha, eps, 1.0).unwrap_or(f64::NAN)
        } else {
            1.0
        }
    };
    Ok(FisherTest { p: p.min(1.0), odds_ratio: Some(mle), ci_low: Some(ncp_l), ci_high: Some(ncp_u) })
}

/// Two-sided Fisher p-value for an r x c table by enumerating every table with the same
/// margins (sum of probabilities <= the observed one times 1 + 1e-7, as R).
fn fisher_rxc_p(t: &Table) -> Result<f64> {
    // Put the smaller dimension as columns to enumerate.
    type Getter<'a> = Box<dyn Fn(usize, usize) -> f64 + 'a>;
    let (nr, nc, get): (usize, usize, Getter) = if t.ncol <= t.nrow {
        (t.nrow, t.ncol, Box::new(|i, j| t.get(i, j)))
    } else {
        (t.ncol, t.nrow, Box::new(|i, j| t.get(j, i)))
    };
    let rows: Vec<u64> = (0..nr).map(|i| (0..nc).map(|j| get(i, j)).sum::<f64>() as u64).collect();
    let cols: Vec<u64> = (0..nc).map(|j| (0..nr).map(|i| get(i, j)).sum::<f64>() as u64).collect();
    let total: u64 = rows.iter().sum();
    use statrs::function::factorial::ln_factorial;
    let const_part: f64 = rows.iter().map(|&r| ln_factorial(r)).sum::<f64>()
        + cols.iter().map(|&c| ln_factorial(c)).sum::<f64>()
        - ln_factorial(total);
    let mut obs_lp = const_part;
    for i in 0..nr {
        for j in 0..nc {
            obs_lp -= ln_factorial(get(i, j) as u64);
        }
    }
    let threshold = obs_lp + (1.0f64 + 1e-7).ln();
    // enumerate column by column; within a column, row by row.
    struct Ctx {
        nr: usize,
        nc: usize,
        cols: Vec<u64>,
        threshold: f64,
        p: f64,
        nodes: u64,
    }
    fn rec(ctx: &mut Ctx, rem_rows: &mut [u64], j: usize, i: usize, col_left: u64, lp: f64) -> Result<()> {
        ctx.nodes += 1;
        if ctx.nodes > 200_000_000 {
            return Err(StatsError::TooLarge("Fisher's exact test: table too large to enumerate".into()));
        }
        if j == ctx.nc - 1 {
            // last column is determined by remaining rows
            let mut l = lp;
            for &r in rem_rows.iter() {
                l -= statrs::function::factorial::ln_factorial(r);
            }
            if l <= ctx.threshold {
                ctx.p += l.exp();
            }
            return Ok(());
        }
        if i == ctx.nr - 1 {
            // last row of this column takes the remainder
            let v = col_left;
            if v > rem_rows[i] {
                return Ok(());
            }
            rem_rows[i] -= v;
            let l = lp - statrs::function::factorial::ln_factorial(v);
            let next_col = if j + 1 < ctx.nc { ctx.cols[j + 1] } else { 0 };
            rec(ctx, rem_rows, j + 1, 0, next_col, l)?;
            rem_rows[i] += v;
            return Ok(());
        }
        // capacity of rows below
        let below: u64 = rem_rows[i + 1..].iter().sum();
        let vmin = col_left.saturating_sub(below);
        let vmax = col_left.min(rem_rows[i]);
        for v in vmin..=vmax {
            rem_rows[i] -= v;
            let l = lp - statrs::function::factorial::ln_factorial(v);
            rec(ctx, rem_rows, j, i + 1, col_left - v, l)?;
            rem_rows[i] += v;
        }
        Ok(())
    }
    let mut ctx = Ctx { nr, nc, cols: cols.clone(), threshold, p: 0.0, nodes: 0 };
    let mut rem = rows.clone();
    if nc == 1 {
        return Ok(1.0);
    }
    rec(&mut ctx, &mut rem, 0, 0, cols[0], const_part)?;
    Ok(ctx.p.min(1.0))
}

/// Kruskal-Wallis rank-sum test for k groups (R `kruskal.test`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KruskalTest {
    /// Tie-corrected H statistic.
    pub statistic: f64,
    /// k - 1.
    pub df: f64,
    /// Chi-square p-value.
    pub p: f64,
}

/// R `kruskal.test(list(g1, g2, ...))`.
pub fn kruskal_test(groups: &[&[f64]]) -> Result<KruskalTest> {
    let k = groups.iter().filter(|g| !g.is_empty()).count();
    if k < 2 {
        return Err(StatsError::NotEnoughData("Kruskal-Wallis needs at least 2 non-empty groups".into()));
    }
    let all: Vec<f64> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    let n = all.len() as f64;
    let (r, ties) = midranks(&all);
    let mut off = 0;
    let mut stat = 0.0;
    for g in groups {
        let s: f64 = r[off..off + g.len()].iter().sum();
        if !g.is_empty() {
            stat += s * s / g.len() as f64;
        }
        off += g.len();
    }
    stat = 12.0 * stat / (n * (n + 1.0)) - 3.0 * (n + 1.0);
    let tie: f64 = ties.iter().map(|&t| (t as f64).powi(3) - t as f64).sum();
    stat /= 1.0 - tie / (n * n * n - n);
    let df = (k - 1) as f64;
    Ok(KruskalTest { statistic: stat, df, p: pchisq_upper(stat, df) })
}

/// One-way ANOVA F test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnovaTest {
    /// F statistic.
    pub statistic: f64,
    /// Numerator df.
    pub df1: f64,
    /// Denominator df.
    pub df2: f64,
    /// p-value.
    pub p: f64,
}

/// One-way ANOVA (R `oneway.test(var.equal = TRUE)` / `anova(lm(y ~ g))`).
pub fn anova_oneway(groups: &[&[f64]]) -> Result<AnovaTest> {
    let gs: Vec<&&[f64]> = groups.iter().filter(|g| !g.is_empty()).collect();
    let k = gs.len();
    let n: usize = gs.iter().map(|g| g.len()).sum();
    if k < 2 || n <= k {
        return Err(StatsError::NotEnoughData("ANOVA needs >= 2 groups and n > k".into()));
    }
    let all: Vec<f64> = gs.iter().flat_map(|g| g.iter().copied()).collect();
    let gm = mean(&all);
    let mut ssb = 0.0;
    let mut ssw = 0.0;
    for g in &gs {
        let m = mean(g);
        ssb += g.len() as f64 * (m - gm).powi(2);
        ssw += g.iter().map(|v| (v - m).powi(2)).sum::<f64>();
    }
    let df1 = (k - 1) as f64;
    let df2 = (n - k) as f64;
    let f = (ssb / df1) / (ssw / df2);
    let p =
        if f.is_finite() { statrs::function::beta::beta_reg(df2 / 2.0, df1 / 2.0, df2 / (df2 + df1 * f)) } else { 0.0 };
    Ok(AnovaTest { statistic: f, df1, df2, p })
}
