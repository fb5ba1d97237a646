//! The Cox fit (`coxph`), `cox.zph` and the baseline hazard on rows sorted once into
//! time-descending order and grouped by distinct time.
//!
//! One evaluation of the partial likelihood is one pass over the groups: the risk-set sums
//! (`s0 = sum r`, `s1 = sum r x`, `s2 = sum r x x'`, r = exp(x'b)) grow group by group, and a
//! group's deaths enter through five scalar sums over the Efron weights
//! (`A0 = sum 1/den_m`, `A1 = sum f_m/den_m`, `B0 = sum 1/den_m^2`, ...), so the information
//! contribution `sum_m [(s2 - f_m d2)/den_m - a_m a_m']` costs O(p^2) per group instead of per
//! death. The same group terms give `cox.zph`'s score test (its g(t) is constant within a
//! group) and the baseline hazard, so neither needs another pass over the rows. For large n
//! the rows are split at a group boundary between two threads: the first half's risk-set
//! totals are computed first, then both halves run their pass. Results equal coxph's up to
//! the order of floating-point summation.

use super::concordance::{concordance_coded, score_code};
use super::{CoxCoefficient, CoxModel, CoxZph, Ties, ZphTest, validate};
use crate::dist::{p_two_sided_normal, pchisq_upper, qnorm};
use crate::error::{Result, StatsError};
use crate::linalg::{Matrix, chol_inverse, chol_solve, cholesky, quad_form_inv};
use crate::logistic::TestStat;
use crate::radix::{order_key, sort_pairs_reusing};

/// Rows from which splitting the work over two threads pays.
const PARALLEL_ROWS: usize = 50_000;

/// How many parts the rows are split into. It depends on `n` alone, never on the
/// machine's core count: the split fixes the order in which risk-set sums are added, and
/// the same data must give the same last digits everywhere (as the chunked IRLS sums do).
/// Two scoped threads on a one-core machine still give the two-part result.
pub(super) fn threads_for(n: usize) -> usize {
    if n < PARALLEL_ROWS { 1 } else { 2 }
}

/// Cox data in time-descending order (contiguous rows), grouped by distinct time.
struct CoxData {
    p: usize,
    ties: Ties,
    /// Centred covariates, n x p.
    x: Vec<f64>,
    event: Vec<bool>,
    /// First row of each distinct time (descending), then n.
    starts: Vec<usize>,
    /// Deaths at each time: the group's first rows.
    ndead: Vec<usize>,
    /// The distinct times (descending).
    times: Vec<f64>,
    /// cox.zph's g(t) = 1 - KM(t-) of each group, centred over the events.
    zph_g: Vec<f64>,
    /// Group index where the second thread's rows start (= number of groups: one thread).
    split: usize,
    eta: Vec<f64>,
    risk: Vec<f64>,
    /// Per group, from the last evaluation: risk-set sum and the deaths' risk sum.
    s0: Vec<f64>,
    dead0: Vec<f64>,
    /// The time sort's buffers, kept for the concordance's sort by score.
    pairs: Vec<(u64, u32)>,
    scratch: Vec<(u64, u32)>,
}

/// Log partial likelihood, score and (upper-triangle) information, with cox.zph's score and
/// information for the added `x g(t)` terms.
struct Eval {
    ll: f64,
    u: Vec<f64>,
    imat: Vec<f64>,
    zph_u: Vec<f64>,
    /// V, g V and g^2 V summed over the deaths (the three blocks of cox.zph's information).
    zph_v: [Vec<f64>; 3],
}

impl Eval {
    fn new(p: usize) -> Eval {
        Eval {
            ll: 0.0,
            u: vec![0.0; p],
            imat: vec![0.0; p * p],
            zph_u: vec![0.0; p],
            zph_v: [vec![0.0; p * p], vec![0.0; p * p], vec![0.0; p * p]],
        }
    }
    fn add(&mut self, o: &Eval) {
        self.ll += o.ll;
        let add = |a: &mut [f64], b: &[f64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.u, &o.u);
        add(&mut self.imat, &o.imat);
        add(&mut self.zph_u, &o.zph_u);
        for (a, b) in self.zph_v.iter_mut().zip(&o.zph_v) {
            add(a, b);
        }
    }
}

/// Running sums of r, r x and r x x' (full p x p).
#[derive(Clone)]
struct RiskSums {
    r0: f64,
    r1: Vec<f64>,
    r2: Vec<f64>,
}

impl RiskSums {
    fn new(p: usize) -> RiskSums {
        RiskSums { r0: 0.0, r1: vec![0.0; p], r2: vec![0.0; p * p] }
    }
    fn add_to(&self, s: &mut RiskSums) {
        s.r0 += self.r0;
        s.r1.iter_mut().zip(&self.r1).for_each(|(a, b)| *a += b);
        s.r2.iter_mut().zip(&self.r2).for_each(|(a, b)| *a += b);
    }
    fn clear(&mut self) {
        self.r0 = 0.0;
        self.r1.iter_mut().for_each(|v| *v = 0.0);
        self.r2.iter_mut().for_each(|v| *v = 0.0);
    }
    /// Adds one row; `P` is the number of covariates when known at compile time (0 = take it
    /// from `xr`), which lets the compiler unroll and vectorise the p x p update.
    #[inline(always)]
    fn add_row<const P: usize>(&mut self, r: f64, xr: &[f64]) {
        let p = if P == 0 { xr.len() } else { P };
        let xr = &xr[..p];
        let r1 = &mut self.r1[..p];
        let r2 = &mut self.r2[..p * p];
        self.r0 += r;
        for k in 0..p {
            let rx = r * xr[k];
            r1[k] += rx;
            for (s, &xl) in r2[k * p..k * p + p].iter_mut().zip(xr) {
                *s += rx * xl;
            }
        }
    }
}

/// Sums of r, r x and r x x' over a block of rows with a compile-time number of covariates
/// (`P` of at most [`MAXP`]), kept in registers while the block is read.
struct GroupSums<const P: usize> {
    r0: f64,
    r1: [f64; MAXP],
    r2: [f64; MAXP * MAXP],
}

/// Largest p with a compiled row kernel.
const MAXP: usize = 8;

impl<const P: usize> GroupSums<P> {
    #[inline(always)]
    fn of(x: &[f64], risk: &[f64]) -> Self {
        let mut g = GroupSums { r0: 0.0, r1: [0.0; MAXP], r2: [0.0; MAXP * MAXP] };
        for (xr, &r) in x.chunks_exact(P).zip(risk) {
            g.r0 += r;
            for k in 0..P {
                let rx = r * xr[k];
                g.r1[k] += rx;
                for l in 0..P {
                    g.r2[k * P + l] += rx * xr[l];
                }
            }
        }
        g
    }

    #[inline(always)]
    fn add_to(&self, s: &mut RiskSums) {
        s.r0 += self.r0;
        for k in 0..P {
            s.r1[k] += self.r1[k];
        }
        for (t, v) in s.r2[..P * P].iter_mut().zip(&self.r2[..P * P]) {
            *t += v;
        }
    }
}

/// Sum of log den_m and the sums A0, A1, B0, B1, B2 over the `nd` deaths of a group
/// (den_m = s0 - f_m dead0; Efron f_m = m/nd, Breslow f_m = 0).
fn tie_weights(s0: f64, dead0: f64, nd: usize, efron: bool) -> (f64, [f64; 5]) {
    if !efron || nd == 1 {
        let d = nd as f64;
        let inv = 1.0 / s0;
        return (d * s0.ln(), [d * inv, 0.0, d * inv * inv, 0.0, 0.0]);
    }
    let dd = nd as f64;
    let (mut lsum, mut prod, mut w) = (0.0, 1.0f64, [0.0; 5]);
    for m in 0..nd {
        let f = m as f64 / dd;
        let den = s0 - f * dead0;
        // one log per run of factors instead of per death (kept well inside the f64 range)
        prod *= den;
        if !(1e-150..=1e150).contains(&prod) {
            lsum += prod.ln();
            prod = 1.0;
        }
        let inv = 1.0 / den;
        let inv2 = inv * inv;
        w[0] += inv;
        w[1] += f * inv;
        w[2] += inv2;
        w[3] += f * inv2;
        w[4] += f * f * inv2;
    }
    (lsum + prod.ln(), w)
}

impl CoxData {
    /// Sorts, centres and groups the rows; `means` are the column means used for centring.
    fn new(time: &[f64], event: &[bool], x: &[f64], p: usize, means: &[f64], ties: Ties, threads: usize) -> CoxData {
        let n = time.len();
        // descending stable order by time: keys flipped; + 0.0 makes -0.0 and 0.0 one time
        // events enter before censored rows, so the stable sort puts each time's deaths first
        // (within a time the order only changes the order of summation)
        let key = |r: usize| (!order_key(time[r] + 0.0), r as u32);
        let mut by_time: Vec<(u64, u32)> = (0..n).filter(|&r| event[r]).map(key).collect();
        by_time.extend((0..n).filter(|&r| !event[r]).map(key));
        let mut scratch = Vec::new();
        sort_pairs_reusing(&mut by_time, &mut scratch, threads);
        let mut starts = Vec::new();
        for j in 0..n {
            if j == 0 || by_time[j].0 != by_time[j - 1].0 {
                starts.push(j);
            }
        }
        let times = starts.iter().map(|&j| time[by_time[j].1 as usize]).collect();
        starts.push(n);
        let mut xs = vec![0.0; n * p];
        let centre = |rows: &[(u64, u32)], out: &mut [f64]| {
            for (&(_, r), o) in rows.iter().zip(out.chunks_exact_mut(p)) {
                let r = r as usize;
                for ((o, &v), m) in o.iter_mut().zip(&x[r * p..(r + 1) * p]).zip(means) {
                    *o = v - m;
                }
            }
        };
        if threads > 1 {
            let half = n / 2;
            let (o0, o1) = by_time.split_at(half);
            let (x0, x1) = xs.split_at_mut(half * p);
            std::thread::scope(|s| {
                s.spawn(|| centre(o1, x1));
                centre(o0, x0);
            });
        } else {
            centre(&by_time, &mut xs);
        }
        let ev: Vec<bool> = by_time.iter().map(|&(_, r)| event[r as usize]).collect();
        let ngroups = starts.len() - 1;
        // g(t) = 1 - KM(t-) (KM from the earliest time on), centred over the events
        let mut zph_g = vec![0.0; ngroups];
        let mut ndead = vec![0usize; ngroups];
        let mut surv = 1.0;
        let (mut gsum, mut nev) = (0.0, 0usize);
        for g in (0..ngroups).rev() {
            let (a, b) = (starts[g], starts[g + 1]);
            let d = ev[a..b].iter().take_while(|e| **e).count();
            ndead[g] = d;
            zph_g[g] = 1.0 - surv;
            gsum += d as f64 * zph_g[g];
            nev += d;
            surv *= 1.0 - d as f64 / b as f64;
        }
        let gbar = gsum / nev as f64;
        zph_g.iter_mut().for_each(|g| *g -= gbar);
        let split = if threads > 1 { starts.partition_point(|&s| s < n / 2).min(ngroups) } else { ngroups };
        CoxData {
            p,
            ties,
            x: xs,
            event: ev,
            starts,
            ndead,
            times,
            zph_g,
            split,
            eta: vec![0.0; n],
            risk: vec![0.0; n],
            s0: vec![0.0; ngroups],
            dead0: vec![0.0; ngroups],
            pairs: by_time,
            scratch,
        }
    }

    fn ngroups(&self) -> usize {
        self.starts.len() - 1
    }

    /// Log partial likelihood, score and information at `beta`.
    fn eval(&mut self, beta: &[f64]) -> Eval {
        // the row loops compiled for each small p
        match self.p {
            1 => self.eval_p::<1>(beta),
            2 => self.eval_p::<2>(beta),
            3 => self.eval_p::<3>(beta),
            4 => self.eval_p::<4>(beta),
            5 => self.eval_p::<5>(beta),
            6 => self.eval_p::<6>(beta),
            7 => self.eval_p::<7>(beta),
            8 => self.eval_p::<8>(beta),
            _ => self.eval_p::<0>(beta),
        }
    }

    fn eval_p<const P: usize>(&mut self, beta: &[f64]) -> Eval {
        let p = if P == 0 { self.p } else { P };
        let ngroups = self.ngroups();
        let null = beta.iter().all(|&b| b == 0.0);
        let fill = |x: &[f64], eta: &mut [f64], risk: &mut [f64]| {
            if null {
                // the null model (first evaluation): exp(0) = 1 without n calls to exp
                eta.fill(0.0);
                risk.fill(1.0);
                return;
            }
            for ((xr, e), r) in x.chunks_exact(p).zip(eta.iter_mut()).zip(risk.iter_mut()) {
                let v: f64 = xr.iter().zip(beta).map(|(a, b)| a * b).sum();
                *e = v;
                *r = v.exp();
            }
        };
        let (mut ev, s0, dead0) = if self.split == ngroups {
            fill(&self.x, &mut self.eta, &mut self.risk);
            self.pass::<P>(0..ngroups, RiskSums::new(p))
        } else {
            // the linear predictor of all rows, and the risk-set totals of the first half (where
            // the second half's risk sets start); the first thread fills rows 0..m and sums
            // them, the second fills m..n and sums m..row_split (m balances the two)
            let row_split = self.starts[self.split];
            let m = row_split * 3 / 4;
            let totals = |x: &[f64], risk: &[f64]| {
                let mut tot = RiskSums::new(p);
                if P > 0 {
                    GroupSums::<P>::of(x, risk).add_to(&mut tot);
                } else {
                    for (xr, &r) in x.chunks_exact(p).zip(risk) {
                        tot.add_row::<P>(r, xr);
                    }
                }
                tot
            };
            let (x0, x1) = self.x.split_at(m * p);
            let (e0, e1) = self.eta.split_at_mut(m);
            let (r0, r1) = self.risk.split_at_mut(m);
            let first = std::thread::scope(|s| {
                let h = s.spawn(|| {
                    fill(x1, e1, r1);
                    totals(&x1[..(row_split - m) * p], &r1[..row_split - m])
                });
                fill(x0, e0, r0);
                let mut tot = totals(x0, r0);
                let later = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                later.add_to(&mut tot);
                tot
            });
            let this = &*self;
            let (mut a, b) = std::thread::scope(|s| {
                let h = s.spawn(move || this.pass::<P>(this.split..ngroups, first));
                let a = this.pass::<P>(0..this.split, RiskSums::new(p));
                (a, h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            });
            a.0.add(&b.0);
            a.1.extend_from_slice(&b.1);
            a.2.extend_from_slice(&b.2);
            a
        };
        self.s0 = s0;
        self.dead0 = dead0;
        for k in 0..p {
            for l in 0..k {
                ev.imat[k * p + l] = ev.imat[l * p + k];
            }
        }
        ev
    }

    /// One pass over the groups `range`, whose risk sets start from `sums` (the rows of the
    /// later times, before the range). Returns the terms and each group's s0 and deaths' risk.
    fn pass<const P: usize>(&self, range: std::ops::Range<usize>, mut sums: RiskSums) -> (Eval, Vec<f64>, Vec<f64>) {
        let p = if P == 0 { self.p } else { P };
        let mut ev = Eval::new(p);
        let mut dead = RiskSums::new(p);
        let mut xdead = vec![0.0; p];
        let mut asum = vec![0.0; p];
        let mut v = vec![0.0; p * p];
        let mut s0_out = Vec::with_capacity(range.len());
        let mut dead0_out = Vec::with_capacity(range.len());
        let efron = self.ties == Ties::Efron;
        for g in range {
            let (a, b) = (self.starts[g], self.starts[g + 1]);
            let nd = self.ndead[g];
            let c = a + nd;
            if nd > 0 {
                dead.clear();
            }
            if P > 0 {
                // group sums in registers, then added to the risk set
                let (d, cens) = (
                    GroupSums::<P>::of(&self.x[a * p..c * p], &self.risk[a..c]),
                    GroupSums::<P>::of(&self.x[c * p..b * p], &self.risk[c..b]),
                );
                d.add_to(&mut sums);
                cens.add_to(&mut sums);
                if nd > 0 {
                    d.add_to(&mut dead);
                }
            } else {
                for j in a..b {
                    sums.add_row::<P>(self.risk[j], &self.x[j * p..(j + 1) * p]);
                }
                for j in a..c {
                    dead.add_row::<P>(self.risk[j], &self.x[j * p..(j + 1) * p]);
                }
            }
            if nd > 0 {
                xdead.iter_mut().for_each(|v| *v = 0.0);
                for xr in self.x[a * p..c * p].chunks_exact(p) {
                    for (s, &xk) in xdead.iter_mut().zip(xr) {
                        *s += xk;
                    }
                }
                ev.ll += self.eta[a..c].iter().sum::<f64>();
            }
            s0_out.push(sums.r0);
            dead0_out.push(if nd > 0 { dead.r0 } else { 0.0 });
            if nd == 0 {
                continue;
            }
            // cox.zph weights Efron fits the Efron way and every other fit as Breslow
            let (lsum, [a0, a1, b0, b1, b2]) = tie_weights(sums.r0, dead.r0, nd, efron);
            let (s1, s2, d1, d2) = (&sums.r1, &sums.r2, &dead.r1, &dead.r2);
            for k in 0..p {
                asum[k] = s1[k] * a0 - d1[k] * a1;
                for l in 0..p {
                    v[k * p + l] = s2[k * p + l] * a0
                        - d2[k * p + l] * a1
                        - (s1[k] * s1[l] * b0 - (s1[k] * d1[l] + d1[k] * s1[l]) * b1 + d1[k] * d1[l] * b2);
                }
            }
            let gt = self.zph_g[g];
            for k in 0..p {
                ev.zph_u[k] += gt * (xdead[k] - asum[k]);
            }
            let [z0, z1, z2] = &mut ev.zph_v;
            for (((z0, z1), z2), &vv) in z0.iter_mut().zip(z1.iter_mut()).zip(z2.iter_mut()).zip(&v) {
                *z0 += vv;
                *z1 += gt * vv;
                *z2 += gt * gt * vv;
            }
            for k in 0..p {
                ev.u[k] += xdead[k];
            }
            if nd > 1 && self.ties == Ties::Exact {
                // risk set = rows 0..b (time-descending order)
                ev.ll -= exact_tie_term(&self.x[..b * p], &self.risk[..b], p, nd, &mut ev.u, &mut ev.imat);
            } else {
                ev.ll -= lsum;
                for k in 0..p {
                    ev.u[k] -= asum[k];
                    for l in k..p {
                        ev.imat[k * p + l] += v[k * p + l];
                    }
                }
            }
        }
        (ev, s0_out, dead0_out)
    }
}

/// The exact-ties term of one death time with `d` tied deaths: `log D` where
/// `D = sum over d-subsets S of the risk set of prod_{i in S} r_i` (r = exp(eta)), by the
/// recursion `B(k, j) = B(k, j-1) + r_j B(k-1, j-1)` (Gail et al. 1981) carried with its first
/// and second derivatives; adds `-D1/D` to the score and `D2/D - (D1/D)(D1/D)'` to the
/// information (the deaths' own `x` are already in the score). O(m d p^2) for a risk set of m.
fn exact_tie_term(x: &[f64], risk: &[f64], p: usize, d: usize, u: &mut [f64], imat: &mut [f64]) -> f64 {
    let mut b = vec![0.0; d + 1];
    let mut b1 = vec![0.0; (d + 1) * p];
    let mut b2 = vec![0.0; (d + 1) * p * p];
    b[0] = 1.0;
    for (j, &r) in risk.iter().enumerate() {
        let xr = &x[j * p..(j + 1) * p];
        for k in (1..=d.min(j + 1)).rev() {
            for a in 0..p {
                for c in 0..p {
                    b2[(k * p + a) * p + c] += r
                        * (b2[((k - 1) * p + a) * p + c]
                            + xr[a] * b1[(k - 1) * p + c]
                            + b1[(k - 1) * p + a] * xr[c]
                            + xr[a] * xr[c] * b[k - 1]);
                }
            }
            for a in 0..p {
                b1[k * p + a] += r * (b1[(k - 1) * p + a] + xr[a] * b[k - 1]);
            }
            b[k] += r * b[k - 1];
        }
    }
    let den = b[d];
    for a in 0..p {
        let ma = b1[d * p + a] / den;
        u[a] -= ma;
        for c in a..p {
            imat[a * p + c] += b2[(d * p + a) * p + c] / den - ma * b1[d * p + c] / den;
        }
    }
    den.ln()
}

fn singular(e: StatsError) -> StatsError {
    StatsError::Singular(format!("Cox information matrix: {e}"))
}

/// Newton step: beta + I^{-1} u.
fn newton_step(beta: &[f64], imat: &[f64], u: &[f64], p: usize) -> Result<Vec<f64>> {
    let mut l = imat.to_vec();
    cholesky(&mut l, p, 1e-12).map_err(singular)?;
    let mut st = u.to_vec();
    chol_solve(&l, p, &mut st);
    Ok(beta.iter().zip(&st).map(|(b, s)| b + s).collect())
}

/// Fit a Cox proportional-hazards model. `x` is n x p row-major (no intercept),
/// `names` the p column names.
pub fn cox_ph(
    time: &[f64],
    event: &[bool],
    x: &[f64],
    names: &[String],
    ties: Ties,
    conf_level: f64,
) -> Result<CoxModel> {
    cox_fit(time, event, x, names, ties, conf_level, threads_for(time.len()))
}

/// [`cox_ph`] with the rows split over `threads` (1 or 2) threads.
fn cox_fit(
    time: &[f64],
    event: &[bool],
    x: &[f64],
    names: &[String],
    ties: Ties,
    conf_level: f64,
    threads: usize,
) -> Result<CoxModel> {
    validate(time, event)?;
    let n = time.len();
    let p = names.len();
    if x.len() != n * p {
        return Err(StatsError::DimensionMismatch("x must be n x p".into()));
    }
    if p == 0 {
        return Err(StatsError::InvalidInput("Cox model needs at least one covariate".into()));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::InvalidInput(format!("missing covariate at row {}", i / p + 1)));
    }
    let events = event.iter().filter(|e| **e).count();
    if events == 0 {
        return Err(StatsError::NotEnoughData("no events".into()));
    }
    if n >= 1 << 31 {
        return Err(StatsError::InvalidInput(format!("{n} rows: the Cox fit takes fewer than 2^31")));
    }
    // column means in row order (coxph centres for numerical stability)
    let mut means = vec![0.0; p];
    for xr in x.chunks_exact(p) {
        for (m, v) in means.iter_mut().zip(xr) {
            *m += v;
        }
    }
    means.iter_mut().for_each(|m| *m /= n as f64);
    let mut data = CoxData::new(time, event, x, p, &means, ties, threads);
    let mut beta = vec![0.0; p];
    let e0 = data.eval(&beta);
    let ll0 = e0.ll;
    // score test at beta = 0
    let score = quad_form_inv(&e0.imat, p, &e0.u).unwrap_or(f64::NAN);
    let mut ll = ll0;
    let mut converged = false;
    let mut iterations = 0;
    let mut newbeta = newton_step(&beta, &e0.imat, &e0.u, p)?;
    let mut last = e0;
    let mut halving = 0;
    let maxiter = 20;
    for it in 1..=maxiter {
        iterations = it;
        let e = data.eval(&newbeta);
        let newlk = e.ll;
        if (1.0 - ll / newlk).abs() <= 1e-9 && halving == 0 {
            ll = newlk;
            beta = newbeta.clone();
            last = e;
            converged = true;
            break;
        }
        if it == maxiter {
            break;
        }
        if newlk < ll || !newlk.is_finite() {
            halving += 1;
            for k in 0..p {
                newbeta[k] = (newbeta[k] + beta[k]) / 2.0;
            }
            continue;
        }
        halving = 0;
        ll = newlk;
        beta = newbeta.clone();
        newbeta = newton_step(&beta, &e.imat, &e.u, p)?;
        last = e;
    }
    if !converged {
        last = data.eval(&beta);
        ll = last.ll;
    }
    // from here on `data` holds the fit at `beta`: eta, risk and the group sums
    let imat = &last.imat;
    let mut l = imat.clone();
    cholesky(&mut l, p, 1e-12).map_err(singular)?;
    let vcov = chol_inverse(&l, p);
    let zc = qnorm(1.0 - (1.0 - conf_level) / 2.0);
    let coefficients: Vec<CoxCoefficient> = (0..p)
        .map(|k| {
            let b = beta[k];
            let se = vcov[k * p + k].sqrt();
            let z = b / se;
            CoxCoefficient {
                term: names[k].clone(),
                coef: b,
                hazard_ratio: b.exp(),
                se,
                z,
                p: p_two_sided_normal(z),
                ci_low: (b - zc * se).exp(),
                ci_high: (b + zc * se).exp(),
            }
        })
        .collect();
    // Wald = b' V^{-1} b = b' I b
    let wald: f64 = (0..p).map(|k| (0..p).map(|l| beta[k] * imat[k * p + l] * beta[l]).sum::<f64>()).sum();
    let ngroups = data.ngroups();
    // time rank 0 = earliest; the data are in descending time
    let mut by_score = std::mem::take(&mut data.pairs);
    by_score.clear();
    for g in 0..ngroups {
        let rank = (ngroups - 1 - g) as u32;
        for j in data.starts[g]..data.starts[g + 1] {
            by_score.push(score_code(data.eta[j], rank, data.event[j]));
        }
    }
    // the covariates are spent: their buffer holds the concordance's per-row counts
    let concordance = concordance_coded(&mut by_score, &mut data.scratch, &mut data.x, ngroups, threads);
    let base = baseline_cumhaz(&data, &means, &beta);
    let proportional_hazards = zph_tests(&last, p, names)?;
    let pf = p as f64;
    Ok(CoxModel {
        ties,
        n,
        events,
        iterations,
        converged,
        coefficients,
        vcov: Matrix { nrow: p, ncol: p, data: vcov },
        loglik_null: ll0,
        loglik: ll,
        lr_test: TestStat::chisq(2.0 * (ll - ll0), pf),
        wald_test: TestStat::chisq(wald, pf),
        score_test: TestStat::chisq(score, pf),
        concordance,
        means,
        baseline_cumhaz: base,
        proportional_hazards,
    })
}

/// `cox.zph` (survival 3, transform "km"): score tests for adding `x g(t)` at the fit, from the
/// terms the last evaluation accumulated.
fn zph_tests(e: &Eval, p: usize, names: &[String]) -> Result<CoxZph> {
    let q = 2 * p;
    let mut imat = vec![0.0; q * q];
    for k in 0..p {
        for l in 0..p {
            imat[k * q + l] = e.zph_v[0][k * p + l];
            imat[k * q + p + l] = e.zph_v[1][k * p + l];
            imat[(p + k) * q + l] = e.zph_v[1][k * p + l];
            imat[(p + k) * q + p + l] = e.zph_v[2][k * p + l];
        }
    }
    let test = |cols: &[usize]| -> Result<f64> {
        let idx: Vec<usize> = (0..p).chain(cols.iter().map(|c| p + c)).collect();
        let k = idx.len();
        let sub: Vec<f64> =
            idx.iter().flat_map(|&r| idx.iter().map(move |&c| (r, c))).map(|(r, c)| imat[r * q + c]).collect();
        let uu: Vec<f64> = (0..p).map(|_| 0.0).chain(cols.iter().map(|&c| e.zph_u[c])).collect();
        quad_form_inv(&sub, k, &uu)
    };
    let mut terms = Vec::with_capacity(p);
    for c in 0..p {
        let chisq = test(&[c])?;
        terms.push(ZphTest { term: names[c].clone(), chisq, df: 1.0, p: pchisq_upper(chisq, 1.0) });
    }
    let all: Vec<usize> = (0..p).collect();
    let chisq = test(&all)?;
    Ok(CoxZph {
        transform: "km".into(),
        terms,
        global: ZphTest { term: "GLOBAL".into(), chisq, df: p as f64, p: pchisq_upper(chisq, p as f64) },
    })
}

/// Baseline cumulative hazard at x = 0 (uncentred risk scores) at every distinct time, from
/// the group sums of the fit (the uncentred risk is the centred one times exp(means'beta)).
fn baseline_cumhaz(data: &CoxData, means: &[f64], beta: &[f64]) -> Vec<(f64, f64)> {
    let scale = means.iter().zip(beta).map(|(m, b)| m * b).sum::<f64>().exp();
    let ngroups = data.ngroups();
    let mut base = Vec::with_capacity(ngroups);
    let mut cum = 0.0;
    for g in (0..ngroups).rev() {
        let (a, b) = (data.starts[g], data.starts[g + 1]);
        let d = data.event[a..b].iter().filter(|e| **e).count();
        if d > 0 {
            let s0 = data.s0[g] * scale;
            match data.ties {
                // survfit.coxph: Breslow increments for exact fits (only Efron fits get the
                // Efron-adjusted baseline)
                Ties::Breslow | Ties::Exact => cum += d as f64 / s0,
                Ties::Efron => {
                    let dr = data.dead0[g] * scale;
                    for m in 0..d {
                        cum += 1.0 / (s0 - m as f64 / d as f64 * dr);
                    }
                }
            }
        }
        base.push((data.times[g], cum));
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Times with one decimal (many ties), three covariates, about 60 % events.
    fn data(n: usize) -> (Vec<f64>, Vec<bool>, Vec<f64>) {
        let mut rng = Rng::new(7);
        let mut x = Vec::with_capacity(3 * n);
        let mut time = Vec::with_capacity(n);
        let mut event = Vec::with_capacity(n);
        for _ in 0..n {
            let v = [rng.uniform() - 0.5, rng.uniform() * 2.0, f64::from(rng.uniform() < 0.4)];
            let lp = 0.8 * v[0] - 0.3 * v[1] + 0.5 * v[2];
            let t = -rng.uniform().max(1e-12).ln() / lp.exp() * 20.0;
            time.push((t * 10.0).round() / 10.0);
            event.push(rng.uniform() < 0.6);
            x.extend_from_slice(&v);
        }
        (time, event, x)
    }

    #[test]
    fn compiled_and_generic_row_kernels_agree() {
        let (time, event, x) = data(500);
        let means = [0.0; 3];
        for threads in [1, 2] {
            let mut d = CoxData::new(&time, &event, &x, 3, &means, Ties::Efron, threads);
            let beta = [0.3, -0.2, 0.4];
            let a = d.eval_p::<3>(&beta);
            let b = d.eval_p::<0>(&beta);
            assert!((a.ll - b.ll).abs() <= 1e-12 * b.ll.abs());
            for (x, y) in a.imat.iter().chain(&a.u).zip(b.imat.iter().chain(&b.u)) {
                assert!((x - y).abs() <= 1e-11 * y.abs().max(1.0), "{x} vs {y}");
            }
        }
    }

    #[test]
    fn two_threads_fit_what_one_thread_fits() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        // exact ties cost O(risk set x deaths) per time: fewer rows
        for (ties, n) in [(Ties::Efron, 3000), (Ties::Breslow, 3000), (Ties::Exact, 300)] {
            let (time, event, x) = data(n);
            let one = cox_fit(&time, &event, &x, &names, ties, 0.95, 1).unwrap();
            let two = cox_fit(&time, &event, &x, &names, ties, 0.95, 2).unwrap();
            let near =
                |a: f64, b: f64, tol: f64| assert!((a - b).abs() <= tol * b.abs().max(1e-300), "{ties:?}: {a} vs {b}");
            assert_eq!(one.iterations, two.iterations);
            for (a, b) in one.coefficients.iter().zip(&two.coefficients) {
                near(a.coef, b.coef, 1e-12);
                near(a.se, b.se, 1e-12);
            }
            near(one.loglik, two.loglik, 1e-13);
            near(one.loglik_null, two.loglik_null, 1e-13);
            near(one.score_test.statistic, two.score_test.statistic, 1e-12);
            near(one.proportional_hazards.global.chisq, two.proportional_hazards.global.chisq, 1e-10);
            assert_eq!(one.concordance.concordant, two.concordance.concordant);
            assert_eq!(one.concordance.discordant, two.concordance.discordant);
            for (a, b) in one.baseline_cumhaz.iter().zip(&two.baseline_cumhaz) {
                assert_eq!(a.0, b.0);
                near(a.1, b.1, 1e-12);
            }
        }
    }
}
