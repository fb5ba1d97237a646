//! Harrell's concordance with survival 3's pair counts and infinitesimal-jackknife SE, in one
//! sweep over the rows in risk-score order with two Fenwick trees indexed by time rank (few
//! distinct times in clinical data, so the trees stay in cache).

use super::Concordance;
use crate::radix::{order_key, sort_pairs};

/// Fenwick tree of counts.
struct Fenwick {
    t: Vec<u64>,
    total: u64,
}

impl Fenwick {
    fn new(n: usize) -> Self {
        Fenwick { t: vec![0; n + 1], total: 0 }
    }
    fn add(&mut self, i: usize) {
        self.total += 1;
        let mut i = i + 1;
        while i < self.t.len() {
            self.t[i] += 1;
            i += i & i.wrapping_neg();
        }
    }
    /// Count of entries 0..i (exclusive).
    fn prefix(&self, i: usize) -> u64 {
        let mut s = 0;
        let mut i = i;
        while i > 0 {
            s += self.t[i];
            i -= i & i.wrapping_neg();
        }
        s
    }
}

/// Harrell's C of a risk score (higher score = earlier event), O(n log n). A pair is
/// comparable when the shorter time is an event; an observation censored at the same time
/// as an event counts as surviving longer; two events at the same time are `tied_y`.
/// `trank[r]` is the rank of row r's time among the `ntimes` distinct times (0 = earliest).
/// Scores are compared by value (-0.0 ties 0.0; a score must not be NaN).
///
/// Rows are visited in ascending score. Tree `all` holds the rows already visited (lower
/// score) keyed `2 rank + censored`, so an event's comparable partners are the keys above
/// `2 rank`; tree `events` holds the visited events keyed by rank, the earlier events a row
/// outlives. Each row's own concordant / discordant / tied counts (both as the shorter and as
/// the longer member of a pair) are complete when it is visited, which gives the SE of
/// survival 3's `concordancefit`: `dfbeta_i = (C_i - D_i)/N - (somers/N)(C_i + D_i + T_i)`,
/// N = C + D + T, somers = (C - D)/N, `var(C) = sum dfbeta_i^2 / 4`.
pub(super) fn concordance_ranked(trank: &[u32], ntimes: usize, event: &[bool], score: &[f64]) -> Concordance {
    let n = score.len();
    // (score, 2 rank + censored): the sweep needs nothing else of a row, so it reads no other
    // array in score order; + 0.0 turns -0.0 into 0.0 (equal scores, equal keys)
    let mut by_score: Vec<(u64, u32)> =
        (0..n).map(|r| (order_key(score[r] + 0.0), 2 * trank[r] + u32::from(!event[r]))).collect();
    sort_pairs(&mut by_score);
    let is_event = |code: u32| code & 1 == 0;
    // rows with a key above k; events with a rank below t
    let mut above = vec![0u64; 2 * ntimes + 1];
    let mut events_at = vec![0u64; ntimes];
    for &(_, code) in &by_score {
        above[code as usize] += 1;
        if is_event(code) {
            events_at[(code >> 1) as usize] += 1;
        }
    }
    let mut acc = 0;
    for k in (0..2 * ntimes).rev() {
        let c = above[k];
        above[k] = acc;
        acc += c;
    }
    let mut events_below = vec![0u64; ntimes + 1];
    for t in 0..ntimes {
        events_below[t + 1] = events_below[t] + events_at[t];
    }
    // events a row outlives (as the longer member of a pair) have a rank below this: earlier
    // events, and events at the same time when the row is censored
    let outlived = |code: u32| ((code >> 1) + (code & 1)) as usize;
    let mut all = Fenwick::new(2 * ntimes);
    let mut evs = Fenwick::new(ntimes);
    let (mut conc, mut disc, mut tx, mut txy) = (0u64, 0u64, 0u64, 0u64);
    // per row: C_i - D_i and C_i + D_i + T_i (integers, exact in f64)
    let mut diff = Vec::with_capacity(n);
    let mut sum = Vec::with_capacity(n);
    let mut before: Vec<(u64, u64)> = Vec::new();
    let mut tied_ranks: Vec<u32> = Vec::new();
    let mut a = 0;
    while a < n {
        let s = by_score[a].0;
        let mut b = a + 1;
        while b < n && by_score[b].0 == s {
            b += 1;
        }
        let group = &by_score[a..b];
        before.clear();
        for &(_, code) in group {
            let lower_shorter = if is_event(code) { all.total - all.prefix(code as usize + 1) } else { 0 };
            before.push((lower_shorter, evs.prefix(outlived(code))));
        }
        for &(_, code) in group {
            all.add(code as usize);
            if is_event(code) {
                evs.add((code >> 1) as usize);
            }
        }
        for (&(_, code), &(below, ev_below)) in group.iter().zip(&before) {
            let (mut c, mut d, mut t) = (0u64, 0u64, 0u64);
            if is_event(code) {
                // as the shorter member: partners with a lower score are concordant
                let le = all.total - all.prefix(code as usize + 1);
                let eq = le - below;
                let dis = above[code as usize] - le;
                conc += below;
                tx += eq;
                disc += dis;
                c += below;
                t += eq;
                d += dis;
            }
            // as the longer member: earlier events with a higher score are concordant
            let le = evs.prefix(outlived(code));
            let total = events_below[outlived(code)];
            c += total - le;
            d += ev_below;
            t += le - ev_below;
            diff.push(c as f64 - d as f64);
            sum.push((c + d + t) as f64);
        }
        if group.len() > 1 {
            // events tied on both time and score
            tied_ranks.clear();
            tied_ranks.extend(group.iter().filter(|&&(_, code)| is_event(code)).map(|&(_, code)| code >> 1));
            tied_ranks.sort_unstable();
            let mut i = 0;
            while i < tied_ranks.len() {
                let mut j = i + 1;
                while j < tied_ranks.len() && tied_ranks[j] == tied_ranks[i] {
                    j += 1;
                }
                let m = (j - i) as u64;
                txy += m * (m - 1) / 2;
                i = j;
            }
        }
        a = b;
    }
    let pairs_same_time: u64 = events_at.iter().map(|&d| d * d.saturating_sub(1) / 2).sum();
    let (conc, disc, tx) = (conc as f64, disc as f64, tx as f64);
    let npair = conc + disc + tx;
    let somers = (conc - disc) / npair;
    let var: f64 =
        diff.iter().zip(&sum).map(|(&cd, &all)| (cd / npair - somers / npair * all).powi(2)).sum::<f64>() / 4.0;
    Concordance {
        c_index: (conc + tx / 2.0) / npair,
        concordant: conc,
        discordant: disc,
        tied_x: tx,
        tied_y: (pairs_same_time - txy) as f64,
        tied_xy: txy as f64,
        se: var.sqrt(),
    }
}

/// Rank of each row's time among the distinct times (0 = earliest) and their count.
pub(super) fn time_ranks(time: &[f64]) -> (Vec<u32>, usize) {
    let asc = crate::radix::order_ascending(time);
    let mut rank = vec![0u32; time.len()];
    let mut k = 0u32;
    for (i, &r) in asc.iter().enumerate() {
        if i > 0 && time[r] != time[asc[i - 1]] {
            k += 1;
        }
        rank[r] = k;
    }
    (rank, if time.is_empty() { 0 } else { k as usize + 1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The O(n^2) definition, for the property test.
    fn brute(time: &[f64], event: &[bool], score: &[f64]) -> Concordance {
        let n = time.len();
        let (mut c, mut d, mut t, mut ty, mut txy) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let mut ci = vec![0.0f64; n];
        let mut di = vec![0.0; n];
        let mut ti = vec![0.0; n];
        for i in 0..n {
            for j in 0..n {
                if i == j || !event[i] {
                    continue;
                }
                // i the shorter: j outlives i
                if time[j] > time[i] || (time[j] == time[i] && !event[j]) {
                    if score[i] > score[j] {
                        c += 1.0;
                        ci[i] += 1.0;
                        ci[j] += 1.0;
                    } else if score[i] < score[j] {
                        d += 1.0;
                        di[i] += 1.0;
                        di[j] += 1.0;
                    } else {
                        t += 1.0;
                        ti[i] += 1.0;
                        ti[j] += 1.0;
                    }
                } else if time[j] == time[i] && event[j] && i < j {
                    if score[i] == score[j] {
                        txy += 1.0;
                    } else {
                        ty += 1.0;
                    }
                }
            }
        }
        let npair = c + d + t;
        let somers = (c - d) / npair;
        let var: f64 =
            (0..n).map(|r| ((ci[r] - di[r]) / npair - somers / npair * (ci[r] + di[r] + ti[r])).powi(2)).sum::<f64>();
        Concordance {
            c_index: (c + t / 2.0) / npair,
            concordant: c,
            discordant: d,
            tied_x: t,
            tied_y: ty,
            tied_xy: txy,
            se: (var / 4.0).sqrt(),
        }
    }

    proptest! {
        #[test]
        fn matches_pair_by_pair_counts(rows in proptest::collection::vec((0u8..12, any::<bool>(), 0u8..8), 2..120)) {
            let time: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
            let event: Vec<bool> = rows.iter().map(|r| r.1).collect();
            // 7 stands for -0.0, tied with 0.0
            let score: Vec<f64> = rows.iter().map(|r| if r.2 == 7 { -0.0 } else { r.2 as f64 / 2.0 }).collect();
            prop_assume!(event.iter().any(|&e| e));
            let (rank, k) = time_ranks(&time);
            let got = concordance_ranked(&rank, k, &event, &score);
            let want = brute(&time, &event, &score);
            prop_assert_eq!(got.concordant, want.concordant);
            prop_assert_eq!(got.discordant, want.discordant);
            prop_assert_eq!(got.tied_x, want.tied_x);
            prop_assert_eq!(got.tied_y, want.tied_y);
            prop_assert_eq!(got.tied_xy, want.tied_xy);
            if want.concordant + want.discordant + want.tied_x > 0.0 {
                prop_assert!((got.c_index - want.c_index).abs() <= 1e-15 * want.c_index.abs().max(1.0));
                prop_assert!((got.se - want.se).abs() <= 1e-12 * want.se.max(1e-300), "se {} vs {}", got.se, want.se);
            }
        }
    }
}
