//! ROC analysis as pROC 1.18 computes it: automatic direction from the medians, thresholds
//! at the midpoints of sorted unique values, all coordinates, Youden / closest-top-left
//! optimal thresholds (ties kept), DeLong variance with the fast O(n log n) placement
//! algorithm (Sun & Xu 2014), DeLong CIs, paired and unpaired DeLong tests, and stratified
//! bootstrap CIs (seeded, O(n) per replicate via pre-ranked values).

use crate::describe::{quantile_type7_by, quantile_type7_sorted};
use crate::dist::{p_two_sided_normal, p_two_sided_t, pnorm, pt, qnorm};
use crate::error::{Result, StatsError};
use crate::htest::Alternative;
use crate::rng::parallel_replicates;
use serde::Serialize;

/// Direction of the comparison (pROC's `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RocDirection {
    /// `<`: controls have lower values; positive if predictor >= threshold.
    #[serde(rename = "<")]
    ControlsLower,
    /// `>`: controls have higher values; positive if predictor <= threshold.
    #[serde(rename = ">")]
    ControlsHigher,
}

impl RocDirection {
    /// pROC's symbol.
    pub fn symbol(&self) -> &'static str {
        match self {
            RocDirection::ControlsLower => "<",
            RocDirection::ControlsHigher => ">",
        }
    }
}

/// One point of the ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coord {
    /// Threshold (may be -inf / +inf; serialised as null by serde_json).
    pub threshold: f64,
    /// Specificity.
    pub specificity: f64,
    /// Sensitivity.
    pub sensitivity: f64,
    /// True positives.
    pub tp: f64,
    /// False positives.
    pub fp: f64,
    /// True negatives.
    pub tn: f64,
    /// False negatives.
    pub fn_: f64,
    /// sensitivity + specificity (pROC's `youden` column, i.e. J + 1).
    pub youden: f64,
    /// (1 - sens)^2 + (1 - spec)^2.
    pub closest_topleft: f64,
}

/// A ROC curve with its DeLong statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Roc {
    /// Direction used.
    pub direction: RocDirection,
    /// Number of cases.
    pub n_cases: usize,
    /// Number of controls.
    pub n_controls: usize,
    /// Area under the curve.
    pub auc: f64,
    /// DeLong variance of the AUC.
    pub variance: f64,
    /// sqrt(variance).
    pub se: f64,
    /// DeLong 95% CI, lower (clipped to [0,1]).
    pub ci_low: f64,
    /// DeLong 95% CI, upper.
    pub ci_high: f64,
    /// All coordinates, in pROC's order.
    pub coords: Vec<Coord>,
    /// Youden-optimal points (all ties).
    pub best_youden: Vec<Coord>,
    /// Closest-to-top-left points (all ties).
    pub best_closest_topleft: Vec<Coord>,
    /// Case values (data order).
    #[serde(skip)]
    pub cases: Vec<f64>,
    /// Control values (data order).
    #[serde(skip)]
    pub controls: Vec<f64>,
    /// DeLong placements of the cases (V10), data order.
    #[serde(skip)]
    pub placements_cases: Vec<f64>,
    /// DeLong placements of the controls (V01), data order.
    #[serde(skip)]
    pub placements_controls: Vec<f64>,
}

/// The AUC of a curve with its DeLong variance and CI, without the coordinates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AucSummary {
    /// pROC direction.
    pub direction: RocDirection,
    /// Cases.
    pub n_cases: usize,
    /// Controls.
    pub n_controls: usize,
    /// AUC.
    pub auc: f64,
    /// DeLong variance.
    pub variance: f64,
    /// DeLong SE.
    pub se: f64,
    /// DeLong CI (clipped to [0, 1]).
    pub ci_low: f64,
    /// DeLong CI.
    pub ci_high: f64,
}

impl From<&Roc> for AucSummary {
    fn from(r: &Roc) -> Self {
        AucSummary {
            direction: r.direction,
            n_cases: r.n_cases,
            n_controls: r.n_controls,
            auc: r.auc,
            variance: r.variance,
            se: r.se,
            ci_low: r.ci_low,
            ci_high: r.ci_high,
        }
    }
}

/// Marker values at or above this many rows are tallied on two threads.
const PARALLEL_ROWS: usize = 100_000;
/// Distinct values counted in a hash table (markers rounded to a few decimals, scores); a
/// marker with more distinct values is sorted instead.
const MAX_HASHED: usize = 1 << 15;
/// A NaN bit pattern: never a key, since missing values are refused before tallying.
const EMPTY: u64 = u64::MAX;

/// The hash key of a value: its bits, with -0 folded into +0 (R compares them equal).
#[inline]
fn value_key(v: f64) -> u64 {
    (v + 0.0).to_bits()
}

/// Counts of cases and controls at each distinct value of a marker: everything a ROC curve
/// and its DeLong statistics depend on, in O(n) with ties (the common case: markers rounded
/// to two decimals have a few thousand distinct values among a million rows).
#[derive(Debug, Clone, PartialEq)]
struct Tally {
    /// Distinct values, ascending.
    values: Vec<f64>,
    /// Cases at each distinct value.
    cases_at: Vec<u64>,
    /// Controls at each distinct value.
    controls_at: Vec<u64>,
    n_cases: u64,
    n_controls: u64,
    /// Per row: index of its value in `values` (empty unless asked for).
    codes: Vec<u32>,
}

/// Open-addressing hash table of the distinct values met, with case/control counts per value
/// in order of first appearance.
pub(crate) struct Distinct {
    slots: Vec<u64>,
    slot_ids: Vec<u32>,
    /// Keys in order of first appearance (the id of a key is its index).
    pub(crate) keys: Vec<u64>,
    /// `[controls, cases]` per id (the caller counts).
    pub(crate) counts: Vec<[u64; 2]>,
    shift: u32,
}

impl Distinct {
    pub(crate) fn new() -> Self {
        let bits = 12;
        Distinct {
            slots: vec![EMPTY; 1 << bits],
            slot_ids: vec![0; 1 << bits],
            keys: Vec::new(),
            counts: Vec::new(),
            shift: 64 - bits,
        }
    }

    #[inline]
    fn slot(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The id of `key`, inserting it; `None` once more than `MAX_HASHED` values are met.
    #[inline]
    pub(crate) fn id(&mut self, key: u64) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut s = self.slot(key);
        loop {
            let k = self.slots[s];
            if k == key {
                return Some(self.slot_ids[s]);
            }
            if k == EMPTY {
                break;
            }
            s = (s + 1) & mask;
        }
        if self.keys.len() == MAX_HASHED {
            return None;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key);
        self.counts.push([0, 0]);
        self.slots[s] = key;
        self.slot_ids[s] = id;
        if self.keys.len() * 2 > self.slots.len() {
            self.grow();
        }
        Some(id)
    }

    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        self.slots = vec![EMPTY; cap];
        self.slot_ids = vec![0; cap];
        self.shift -= 1;
        for (id, &key) in self.keys.iter().enumerate() {
            let mut s = self.slot(key);
            while self.slots[s] != EMPTY {
                s = (s + 1) & (cap - 1);
            }
            self.slots[s] = key;
            self.slot_ids[s] = id as u32;
        }
    }
}

/// Hash one block of rows; writes each row's first-appearance id into `ids` when given.
fn hash_block(x: &[f64], is_case: &[bool], mut ids: Option<&mut [u32]>) -> Option<Distinct> {
    let mut d = Distinct::new();
    for (i, (&v, &c)) in x.iter().zip(is_case).enumerate() {
        let id = d.id(value_key(v))?;
        d.counts[id as usize][c as usize] += 1;
        if let Some(ids) = ids.as_deref_mut() {
            ids[i] = id;
        }
    }
    Some(d)
}

/// Run `f` on the two halves of `rows` (and of `codes`, when not empty) on two threads when
/// there are many rows, else on the whole.
fn on_halves<T: Send>(
    n: usize,
    codes: &mut [u32],
    f: impl Fn(std::ops::Range<usize>, &mut [u32]) -> T + Sync,
) -> Vec<T> {
    if n < PARALLEL_ROWS {
        return vec![f(0..n, codes)];
    }
    // Always two halves past the threshold, so the result does not depend on whether they
    // run on two threads; par_map keeps them on one inside a worker (subgroup levels, bootstraps).
    let mid = n / 2;
    let (c0, c1) = if codes.is_empty() { (&mut [][..], &mut [][..]) } else { codes.split_at_mut(mid) };
    crate::linalg::par_map(vec![(0..mid, c0), (mid..n, c1)], true, |(r, c)| f(r, c))
}

impl Tally {
    /// Count cases and controls per distinct value of `x` (no NaN); with `keep_codes`, also
    /// record each row's value index.
    fn new(x: &[f64], is_case: &[bool], keep_codes: bool) -> Tally {
        let n = x.len();
        let mut codes = if keep_codes { vec![0u32; n] } else { Vec::new() };
        let blocks = on_halves(n, &mut codes, |r, ids| {
            hash_block(&x[r.clone()], &is_case[r], if keep_codes { Some(ids) } else { None })
        });
        if blocks.iter().any(|b| b.is_none()) {
            return Tally::by_sorting(x, is_case, keep_codes);
        }
        let blocks: Vec<Distinct> = blocks.into_iter().flatten().collect();
        let mut keys: Vec<u64> = blocks.iter().flat_map(|b| b.keys.iter().copied()).collect();
        keys.sort_unstable_by(|a, b| f64::from_bits(*a).total_cmp(&f64::from_bits(*b)));
        keys.dedup();
        let k = keys.len();
        let rank_of = |key: u64| keys.partition_point(|&q| f64::from_bits(q).total_cmp(&f64::from_bits(key)).is_lt());
        let (mut cases_at, mut controls_at) = (vec![0u64; k], vec![0u64; k]);
        let remaps: Vec<Vec<u32>> = blocks
            .iter()
            .map(|b| {
                b.keys
                    .iter()
                    .zip(&b.counts)
                    .map(|(&key, c)| {
                        let r = rank_of(key);
                        controls_at[r] += c[0];
                        cases_at[r] += c[1];
                        r as u32
                    })
                    .collect()
            })
            .collect();
        if keep_codes {
            let remaps = &remaps;
            on_halves(n, &mut codes, |r, ids| {
                let remap = &remaps[if r.start == 0 { 0 } else { 1 }];
                for c in ids.iter_mut() {
                    *c = remap[*c as usize];
                }
            });
        }
        let n_cases = cases_at.iter().sum();
        Tally {
            values: keys.into_iter().map(f64::from_bits).collect(),
            cases_at,
            controls_at,
            n_cases,
            n_controls: n as u64 - n_cases,
            codes,
        }
    }

    /// As [`Tally::new`] for markers with too many distinct values to hash: one radix sort.
    fn by_sorting(x: &[f64], is_case: &[bool], keep_codes: bool) -> Tally {
        let mut order: Vec<(u64, u32)> =
            x.iter().enumerate().map(|(i, &v)| (crate::radix::order_key(v + 0.0), i as u32)).collect();
        crate::radix::sort_pairs(&mut order);
        let mut codes = if keep_codes { vec![0u32; x.len()] } else { Vec::new() };
        let (mut values, mut cases_at, mut controls_at) = (Vec::new(), Vec::new(), Vec::new());
        let mut last = None;
        for &(key, row) in &order {
            let row = row as usize;
            if last != Some(key) {
                last = Some(key);
                values.push(x[row] + 0.0);
                cases_at.push(0);
                controls_at.push(0);
            }
            let r = values.len() - 1;
            if is_case[row] {
                cases_at[r] += 1;
            } else {
                controls_at[r] += 1;
            }
            if keep_codes {
                codes[row] = r as u32;
            }
        }
        let n_cases = cases_at.iter().sum();
        Tally { values, cases_at, controls_at, n_cases, n_controls: x.len() as u64 - n_cases, codes }
    }

    /// Type 7 median of one group (`cases` true: the cases).
    fn median(&self, cases: bool) -> f64 {
        let (counts, n) = if cases { (&self.cases_at, self.n_cases) } else { (&self.controls_at, self.n_controls) };
        // the i-th smallest (0-based) value of the group
        let at = |i: usize| {
            let mut seen = 0u64;
            for (v, &c) in self.values.iter().zip(counts) {
                seen += c;
                if seen > i as u64 {
                    return *v;
                }
            }
            f64::NAN
        };
        quantile_type7_by(n as usize, 0.5, at)
    }
}

/// A ROC curve with its DeLong statistics, held as counts per distinct value: coordinates
/// and per-row placements are only built when asked for ([`RankedRoc::coords`],
/// [`RankedRoc::into_roc`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RankedRoc {
    /// AUC, DeLong variance and CI.
    pub summary: AucSummary,
    /// Youden-optimal points (all ties, in pROC's order).
    pub best_youden: Vec<Coord>,
    /// Closest-to-top-left points (all ties).
    pub best_closest_topleft: Vec<Coord>,
    tally: Tally,
    /// DeLong placement of a case at each distinct value (V10).
    case_placement: Vec<f64>,
    /// DeLong placement of a control at each distinct value (V01).
    control_placement: Vec<f64>,
}

/// Build a ROC curve without materialising its coordinates. `keep_rows`: keep each row's
/// value index, needed by [`delong_paired_ranked`] and [`RankedRoc::into_roc`].
/// `direction = None` chooses it as pROC: `<` if median(controls) <= median(cases), else `>`.
pub fn roc_ranked(
    predictor: &[f64],
    is_case: &[bool],
    direction: Option<RocDirection>,
    keep_rows: bool,
) -> Result<RankedRoc> {
    if predictor.len() != is_case.len() {
        return Err(StatsError::DimensionMismatch("predictor and outcome lengths differ".into()));
    }
    if let Some(i) = predictor.iter().position(|v| v.is_nan()) {
        return Err(StatsError::InvalidInput(format!("missing predictor value at row {}", i + 1)));
    }
    if predictor.len() > u32::MAX as usize {
        return Err(StatsError::InvalidInput("more than 2^32 rows".into()));
    }
    let t = Tally::new(predictor, is_case, keep_rows);
    if t.n_cases == 0 || t.n_controls == 0 {
        return Err(StatsError::NotEnoughData("ROC needs at least one case and one control".into()));
    }
    let dir = direction.unwrap_or_else(|| {
        if t.median(false) <= t.median(true) { RocDirection::ControlsLower } else { RocDirection::ControlsHigher }
    });
    let k = t.values.len();
    let (n, m) = (t.n_cases as f64, t.n_controls as f64);
    // placements: (wins + ties / 2) / size of the other group; a case wins over a lower
    // control for `<`, over a higher one for `>`
    let (mut case_placement, mut control_placement) = (vec![0.0; k], vec![0.0; k]);
    let (mut cases_below, mut controls_below) = (0u64, 0u64);
    // 2 x the Mann-Whitney count, exact in integers
    let mut twice_wins: u128 = 0;
    for r in 0..k {
        let (ca, co) = (t.cases_at[r], t.controls_at[r]);
        let cases_above = t.n_cases - cases_below - ca;
        let controls_above = t.n_controls - controls_below - co;
        let (case_wins, control_wins) = match dir {
            RocDirection::ControlsLower => (controls_below, cases_above),
            RocDirection::ControlsHigher => (controls_above, cases_below),
        };
        case_placement[r] = (case_wins as f64 + 0.5 * co as f64) / m;
        control_placement[r] = (control_wins as f64 + 0.5 * ca as f64) / n;
        twice_wins += ca as u128 * (2 * case_wins + co) as u128;
        cases_below += ca;
        controls_below += co;
    }
    let auc = twice_wins as f64 / (2.0 * n * m);
    // sample variances of the placements (mean = AUC for both)
    let spread = |counts: &[u64], p: &[f64], size: u64| -> f64 {
        if size < 2 {
            return f64::NAN;
        }
        counts.iter().zip(p).map(|(&c, &v)| c as f64 * (v - auc) * (v - auc)).sum::<f64>() / (size as f64 - 1.0)
    };
    let variance = spread(&t.cases_at, &case_placement, t.n_cases) / n
        + spread(&t.controls_at, &control_placement, t.n_controls) / m;
    let se = variance.sqrt();
    let (ci_low, ci_high) = delong_ci(auc, se, 0.95);
    let mut r = RankedRoc {
        summary: AucSummary {
            direction: dir,
            n_cases: t.n_cases as usize,
            n_controls: t.n_controls as usize,
            auc,
            variance,
            se,
            ci_low,
            ci_high,
        },
        best_youden: Vec::new(),
        best_closest_topleft: Vec::new(),
        tally: t,
        case_placement,
        control_placement,
    };
    let (mut best_j, mut best_d) = (f64::NEG_INFINITY, f64::INFINITY);
    let (mut youden, mut topleft) = (Vec::new(), Vec::new());
    r.for_each_point(|c| {
        if c.youden > best_j {
            best_j = c.youden;
            youden.clear();
        }
        if c.youden == best_j {
            youden.push(c);
        }
        if c.closest_topleft < best_d {
            best_d = c.closest_topleft;
            topleft.clear();
        }
        if c.closest_topleft == best_d {
            topleft.push(c);
        }
    });
    r.best_youden = youden;
    r.best_closest_topleft = topleft;
    Ok(r)
}

impl RankedRoc {
    /// Every point of the curve in pROC's order (increasing thresholds for `<`, decreasing
    /// for `>`): -Inf, the midpoints between consecutive distinct values, +Inf.
    fn for_each_point(&self, mut f: impl FnMut(Coord)) {
        let t = &self.tally;
        let k = t.values.len();
        let (np, nn) = (t.n_cases as f64, t.n_controls as f64);
        let threshold = |j: usize| match j {
            0 => f64::NEG_INFINITY,
            j if j == k => f64::INFINITY,
            j => (t.values[j - 1] + t.values[j]) / 2.0,
        };
        let point = |threshold: f64, tp: u64, fp: u64| {
            let (tp, fp) = (tp as f64, fp as f64);
            let tn = nn - fp;
            let fn_ = np - tp;
            let sensitivity = tp / np;
            let specificity = tn / nn;
            Coord {
                threshold,
                specificity,
                sensitivity,
                tp,
                fp,
                tn,
                fn_,
                youden: sensitivity + specificity,
                closest_topleft: (1.0 - sensitivity).powi(2) + (1.0 - specificity).powi(2),
            }
        };
        match self.summary.direction {
            // positive if x >= threshold: rows at or above value j
            RocDirection::ControlsLower => {
                let (mut cases_below, mut controls_below) = (0, 0);
                for j in 0..=k {
                    f(point(threshold(j), t.n_cases - cases_below, t.n_controls - controls_below));
                    if j < k {
                        cases_below += t.cases_at[j];
                        controls_below += t.controls_at[j];
                    }
                }
            }
            // positive if x <= threshold: rows below value j
            RocDirection::ControlsHigher => {
                let (mut cases_below, mut controls_below) = (t.n_cases, t.n_controls);
                for j in (0..=k).rev() {
                    f(point(threshold(j), cases_below, controls_below));
                    if j > 0 {
                        cases_below -= t.cases_at[j - 1];
                        controls_below -= t.controls_at[j - 1];
                    }
                }
            }
        }
    }

    /// All coordinates, in pROC's order.
    pub fn coords(&self) -> Vec<Coord> {
        let mut out = Vec::with_capacity(self.tally.values.len() + 1);
        self.for_each_point(|c| out.push(c));
        out
    }

    /// The full curve (coordinates, group values and per-row placements). `predictor` and
    /// `is_case` must be the ones this curve was built from, with `keep_rows`.
    pub fn into_roc(self, predictor: &[f64], is_case: &[bool]) -> Result<Roc> {
        if self.tally.codes.len() != predictor.len() || predictor.len() != is_case.len() {
            return Err(StatsError::DimensionMismatch("the curve was built from other rows".into()));
        }
        let coords = self.coords();
        let rows = || predictor.iter().zip(is_case).zip(&self.tally.codes);
        let cases = rows().filter(|((_, c), _)| **c).map(|((v, _), _)| *v).collect();
        let controls = rows().filter(|((_, c), _)| !**c).map(|((v, _), _)| *v).collect();
        let placements_cases =
            rows().filter(|((_, c), _)| **c).map(|(_, &r)| self.case_placement[r as usize]).collect();
        let placements_controls =
            rows().filter(|((_, c), _)| !**c).map(|(_, &r)| self.control_placement[r as usize]).collect();
        let s = self.summary;
        Ok(Roc {
            direction: s.direction,
            n_cases: s.n_cases,
            n_controls: s.n_controls,
            auc: s.auc,
            variance: s.variance,
            se: s.se,
            ci_low: s.ci_low,
            ci_high: s.ci_high,
            coords,
            best_youden: self.best_youden,
            best_closest_topleft: self.best_closest_topleft,
            cases,
            controls,
            placements_cases,
            placements_controls,
        })
    }
}

/// Paired DeLong test of two curves built with `keep_rows` from the same rows and `is_case`
/// (as [`delong_paired`], without per-row placement vectors: one pass over the rows).
pub fn delong_paired_ranked(
    a: &RankedRoc,
    b: &RankedRoc,
    is_case: &[bool],
    alternative: Alternative,
) -> Result<PairedDelong> {
    let n = is_case.len();
    if a.tally.codes.len() != n || b.tally.codes.len() != n {
        return Err(StatsError::DimensionMismatch("paired DeLong needs both curves on the same rows".into()));
    }
    // centred placement per (value, group): index 2 * value + is_case
    let centred = |r: &RankedRoc| -> Vec<f64> {
        r.control_placement
            .iter()
            .zip(&r.case_placement)
            .flat_map(|(&v01, &v10)| [v01 - r.summary.auc, v10 - r.summary.auc])
            .collect()
    };
    let (ta, tb) = (centred(a), centred(b));
    let (ca, cb) = (&a.tally.codes, &b.tally.codes);
    // (sum over controls, sum over cases) of the products
    let sums = on_halves(n, &mut [], |rows, _| {
        let (mut s0, mut s1) = (0.0f64, 0.0f64);
        for i in rows {
            let c = is_case[i] as usize;
            let p = ta[2 * ca[i] as usize + c] * tb[2 * cb[i] as usize + c];
            let w = c as f64;
            s1 += p * w;
            s0 += p - p * w;
        }
        (s0, s1)
    });
    let (s0, s1) = sums.iter().fold((0.0, 0.0), |acc, s| (acc.0 + s.0, acc.1 + s.1));
    let (nc, nn) = (a.summary.n_cases as f64, a.summary.n_controls as f64);
    let cov = s1 / (nc - 1.0) / nc + s0 / (nn - 1.0) / nn;
    Ok(paired_test(a.summary.auc, a.summary.variance, b.summary.auc, b.summary.variance, cov, alternative))
}

fn sample_cov(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / (n - 1.0)
}

/// Build a ROC curve with every coordinate and the per-row placements. `direction = None`
/// chooses it as pROC: `<` if median(controls) <= median(cases), else `>`.
pub fn roc(predictor: &[f64], is_case: &[bool], direction: Option<RocDirection>) -> Result<Roc> {
    roc_ranked(predictor, is_case, direction, true)?.into_roc(predictor, is_case)
}

/// Build a ROC curve from case and control values.
pub fn roc_from_groups(cases: &[f64], controls: &[f64], direction: Option<RocDirection>) -> Result<Roc> {
    if cases.is_empty() || controls.is_empty() {
        return Err(StatsError::NotEnoughData("ROC needs at least one case and one control".into()));
    }
    if cases.iter().chain(controls).any(|v| v.is_nan()) {
        return Err(StatsError::InvalidInput("missing predictor values".into()));
    }
    let predictor: Vec<f64> = cases.iter().chain(controls).copied().collect();
    let is_case: Vec<bool> = (0..predictor.len()).map(|i| i < cases.len()).collect();
    roc(&predictor, &is_case, direction)
}

/// DeLong CI: `qnorm(c(a/2, 1-a/2), auc, se)` clipped to [0, 1].
pub fn delong_ci(auc: f64, se: f64, level: f64) -> (f64, f64) {
    let z = qnorm((1.0 - level) / 2.0);
    ((auc + z * se).max(0.0), (auc - z * se).min(1.0))
}

/// DeLong CI at another level.
pub fn ci_delong(r: &Roc, level: f64) -> (f64, f64) {
    delong_ci(r.auc, r.se, level)
}

/// Paired DeLong test result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairedDelong {
    /// Z statistic.
    pub z: f64,
    /// p-value for the chosen alternative.
    pub p: f64,
    /// AUC of the first curve.
    pub auc1: f64,
    /// AUC of the second curve.
    pub auc2: f64,
    /// DeLong covariance of the two AUCs.
    pub covariance: f64,
    /// 95% CI of auc1 - auc2, lower.
    pub diff_ci_low: f64,
    /// Upper.
    pub diff_ci_high: f64,
}

/// Paired DeLong test (pROC `roc.test(method = "delong", paired = TRUE)`): both curves
/// must come from the same cases and controls in the same order.
pub fn delong_paired(a: &Roc, b: &Roc, alternative: Alternative) -> Result<PairedDelong> {
    if a.n_cases != b.n_cases || a.n_controls != b.n_controls {
        return Err(StatsError::DimensionMismatch("paired DeLong needs the same cases and controls".into()));
    }
    let cov = sample_cov(&a.placements_cases, &b.placements_cases) / a.n_cases as f64
        + sample_cov(&a.placements_controls, &b.placements_controls) / a.n_controls as f64;
    Ok(paired_test(a.auc, a.variance, b.auc, b.variance, cov, alternative))
}

/// Z test of two correlated AUCs given their DeLong variances and covariance.
fn paired_test(auc1: f64, var1: f64, auc2: f64, var2: f64, cov: f64, alternative: Alternative) -> PairedDelong {
    let sd = (var1 + var2 - 2.0 * cov).sqrt();
    let d = auc1 - auc2;
    let z = d / sd;
    let p = match alternative {
        Alternative::TwoSided => p_two_sided_normal(z),
        Alternative::Greater => pnorm(-z),
        Alternative::Less => pnorm(z),
    };
    let q = qnorm(0.975);
    PairedDelong { z, p, auc1, auc2, covariance: cov, diff_ci_low: d - q * sd, diff_ci_high: d + q * sd }
}

/// Unpaired DeLong test result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnpairedDelong {
    /// D statistic.
    pub d: f64,
    /// Welch-type degrees of freedom.
    pub df: f64,
    /// p-value.
    pub p: f64,
    /// AUC 1.
    pub auc1: f64,
    /// AUC 2.
    pub auc2: f64,
}

/// Unpaired DeLong test (pROC `roc.test(paired = FALSE)`): t-distribution with
/// `df = (S1+S2)^2 / (S1^2/(N1-1) + S2^2/(N2-1))`.
pub fn delong_unpaired(a: &Roc, b: &Roc, alternative: Alternative) -> UnpairedDelong {
    let (s1, s2) = (a.variance, b.variance);
    let d = (a.auc - b.auc) / (s1 + s2).sqrt();
    let n1 = (a.n_cases + a.n_controls) as f64;
    let n2 = (b.n_cases + b.n_controls) as f64;
    let df = (s1 + s2).powi(2) / (s1 * s1 / (n1 - 1.0) + s2 * s2 / (n2 - 1.0));
    let p = match alternative {
        Alternative::TwoSided => p_two_sided_t(d, df),
        Alternative::Greater => pt(-d, df),
        Alternative::Less => pt(d, df),
    };
    UnpairedDelong { d, df, p, auc1: a.auc, auc2: b.auc }
}

/// Stratified bootstrap CI of the AUC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapCi {
    /// Replicates.
    pub replicates: usize,
    /// Seed.
    pub seed: u64,
    /// Lower percentile limit.
    pub ci_low: f64,
    /// Median of the bootstrap AUCs.
    pub median: f64,
    /// Upper percentile limit.
    pub ci_high: f64,
    /// Bootstrap standard error (SD of the replicates).
    pub se: f64,
}

/// Stratified bootstrap percentile CI (as pROC `ci.auc(method = "bootstrap")`: cases and
/// controls resampled separately, quantiles type 7). The direction stays fixed. Each
/// replicate is O(n + k) (k distinct values) thanks to pre-ranking; replicates run in
/// parallel with per-replicate random streams, so the result only depends on the seed.
pub fn bootstrap_auc_ci(r: &Roc, replicates: usize, level: f64, seed: u64) -> Result<BootstrapCi> {
    if replicates < 2 {
        return Err(StatsError::InvalidInput("need at least 2 bootstrap replicates".into()));
    }
    let mut all: Vec<f64> = r.cases.iter().chain(&r.controls).copied().collect();
    all.sort_by(f64::total_cmp);
    all.dedup();
    let k = all.len();
    let rank = |v: f64| all.partition_point(|x| *x < v);
    let mut case_rank: Vec<usize> = r.cases.iter().map(|&v| rank(v)).collect();
    let mut ctrl_rank: Vec<usize> = r.controls.iter().map(|&v| rank(v)).collect();
    if r.direction == RocDirection::ControlsHigher {
        case_rank.iter_mut().for_each(|x| *x = k - 1 - *x);
        ctrl_rank.iter_mut().for_each(|x| *x = k - 1 - *x);
    }
    let (n, m) = (case_rank.len(), ctrl_rank.len());
    let aucs = parallel_replicates(replicates, seed, |_, rng| {
        let mut hist = vec![0u32; k];
        for _ in 0..m {
            hist[ctrl_rank[rng.below(m)]] += 1;
        }
        // below[i] = number of sampled controls with rank < i
        let mut below = vec![0u64; k + 1];
        for i in 0..k {
            below[i + 1] = below[i] + hist[i] as u64;
        }
        let mut s = 0.0f64;
        for _ in 0..n {
            let c = case_rank[rng.below(n)];
            s += below[c] as f64 + 0.5 * hist[c] as f64;
        }
        s / (n as f64 * m as f64)
    });
    let mut sorted = aucs.clone();
    sorted.sort_by(f64::total_cmp);
    let a = (1.0 - level) / 2.0;
    Ok(BootstrapCi {
        replicates,
        seed,
        ci_low: quantile_type7_sorted(&sorted, a),
        median: quantile_type7_sorted(&sorted, 0.5),
        ci_high: quantile_type7_sorted(&sorted, 1.0 - a),
        se: crate::describe::sd(&aucs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// pROC's definitions written out by brute force: AUC = P(case > control) + P(tie) / 2
    /// (for `<`), placements per row, points at every midpoint threshold by comparison.
    fn brute_auc(x: &[f64], is_case: &[bool], dir: RocDirection) -> f64 {
        let (mut s, mut pairs) = (0.0, 0.0);
        let group = |case: bool| x.iter().zip(is_case).filter(move |(_, c)| **c == case).map(|(v, _)| *v);
        for a in group(true) {
            for b in group(false) {
                let win = match dir {
                    RocDirection::ControlsLower => a > b,
                    RocDirection::ControlsHigher => a < b,
                };
                s += if a == b {
                    0.5
                } else if win {
                    1.0
                } else {
                    0.0
                };
                pairs += 1.0;
            }
        }
        s / pairs
    }

    fn sample(n: usize, seed: u64, levels: u64) -> (Vec<f64>, Vec<bool>) {
        let mut rng = crate::rng::Rng::new(seed);
        let x: Vec<f64> = (0..n).map(|_| rng.below(levels as usize) as f64 / 100.0 - 1.0).collect();
        let y: Vec<bool> = x.iter().map(|&v| v + rng.below(100) as f64 / 50.0 > 0.5).collect();
        (x, y)
    }

    #[test]
    fn hashed_tally_on_two_threads_equals_the_sorted_tally() {
        let (x, y) = sample(150_000, 7, 700);
        let hashed = Tally::new(&x, &y, true);
        assert_eq!(hashed, Tally::by_sorting(&x, &y, true));
        assert_eq!(hashed.values.len(), 700);
    }

    #[test]
    fn many_distinct_values_fall_back_to_sorting() {
        let (x, y) = sample(MAX_HASHED * 3, 11, 1 << 40);
        let t = Tally::new(&x, &y, true);
        assert!(t.values.len() > MAX_HASHED);
        assert_eq!(t, Tally::by_sorting(&x, &y, true));
    }

    #[test]
    fn minus_zero_and_zero_are_one_value() {
        let x = [-0.0, 0.0, 1.0, -0.0, 2.0];
        let y = [false, true, true, false, true];
        let r = roc_ranked(&x, &y, None, false).unwrap();
        assert_eq!(r.tally.values, vec![0.0, 1.0, 2.0]);
        assert_eq!(r.coords().len(), 4);
    }

    proptest! {
        #[test]
        fn curve_matches_the_definitions(raw in proptest::collection::vec((0u8..12, any::<bool>()), 2..60),
                                         raw2 in proptest::collection::vec(0u8..9, 60)) {
            let x: Vec<f64> = raw.iter().map(|r| r.0 as f64 * 0.25).collect();
            let x2: Vec<f64> = raw2[..x.len()].iter().map(|&r| r as f64).collect();
            let y: Vec<bool> = raw.iter().map(|r| r.1).collect();
            prop_assume!(y.iter().any(|c| *c) && y.iter().any(|c| !*c));
            let r = roc(&x, &y, None).unwrap();
            prop_assert!((r.auc - brute_auc(&x, &y, r.direction)).abs() < 1e-14);
            // the AUC is the mean of either group's placements
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            prop_assert!((mean(&r.placements_cases) - r.auc).abs() < 1e-14);
            prop_assert!((mean(&r.placements_controls) - r.auc).abs() < 1e-14);
            // every point counts the rows on the positive side of its threshold
            for c in &r.coords {
                let pos = |v: f64| match r.direction {
                    RocDirection::ControlsLower => v >= c.threshold,
                    RocDirection::ControlsHigher => v <= c.threshold,
                };
                let tp = x.iter().zip(&y).filter(|(v, k)| **k && pos(**v)).count() as f64;
                let fp = x.iter().zip(&y).filter(|(v, k)| !**k && pos(**v)).count() as f64;
                prop_assert_eq!((c.tp, c.fp), (tp, fp));
            }
            // the one-pass paired test equals the per-row one
            let (a, b) = (roc_ranked(&x, &y, None, true).unwrap(), roc_ranked(&x2, &y, None, true).unwrap());
            let (fa, fb) = (a.clone().into_roc(&x, &y).unwrap(), b.clone().into_roc(&x2, &y).unwrap());
            let fast = delong_paired_ranked(&a, &b, &y, Alternative::TwoSided).unwrap();
            let rows = delong_paired(&fa, &fb, Alternative::TwoSided).unwrap();
            let (f, g) = (fast.covariance, rows.covariance);
            prop_assert!((f.is_nan() && g.is_nan()) || (f - g).abs() <= 1e-12 * g.abs().max(1e-3), "{} vs {}", f, g);
        }
    }
}
