//! Harrell's concordance with survival 3's pair counts and infinitesimal-jackknife SE, in one
//! sweep over the rows in risk-score order with two Fenwick trees indexed by time rank (few
//! distinct times in clinical data, so the trees stay in cache).

use super::Concordance;
use crate::radix::{order_key, sort_pairs_reusing};

/// Fenwick tree of counts (u32: fewer than 2^31 rows; half the cache footprint of u64 when
/// every time is distinct).
struct Fenwick {
    t: Vec<u32>,
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
        let mut s = 0u64;
        let mut i = i;
        while i > 0 {
            s += u64::from(self.t[i]);
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
/// Two sweeps over the rows in ascending score (one per thread), one per role of a row in a
/// pair: as the shorter member (an event against the rows that outlive it) and as the longer
/// one (a row against the earlier events). Each row's concordant / discordant / tied counts
/// give the SE of survival 3's `concordancefit`:
/// `dfbeta_i = (C_i - D_i)/N - (somers/N)(C_i + D_i + T_i)`, N = C + D + T,
/// somers = (C - D)/N, `var(C) = sum dfbeta_i^2 / 4`. Fewer than 2^31 rows.
pub(super) fn concordance_ranked(
    trank: &[u32],
    ntimes: usize,
    event: &[bool],
    score: &[f64],
    threads: usize,
) -> Concordance {
    let mut by_score: Vec<(u64, u32)> = (0..score.len()).map(|r| score_code(score[r], trank[r], event[r])).collect();
    concordance_coded(&mut by_score, &mut Vec::new(), &mut Vec::new(), ntimes, threads)
}

/// A row as the sweeps see it: (score key, 2 rank + censored). + 0.0 turns -0.0 into 0.0
/// (equal scores, equal keys).
#[inline]
pub(super) fn score_code(score: f64, trank: u32, event: bool) -> (u64, u32) {
    (order_key(score + 0.0), 2 * trank + u32::from(!event))
}

/// [`concordance_ranked`] from the rows' [`score_code`]s (any order; sorted here, with
/// `scratch` as the sort's buffer). The sweeps need nothing else of a row, so they read no
/// other array in score order. `work` (resized to 4 n) holds the per-row counts: a caller's
/// spent buffer saves fresh pages.
pub(super) fn concordance_coded(
    by_score: &mut Vec<(u64, u32)>,
    scratch: &mut Vec<(u64, u32)>,
    work: &mut Vec<f64>,
    ntimes: usize,
    threads: usize,
) -> Concordance {
    sort_pairs_reusing(by_score, scratch, threads);
    let by_score = &by_score[..];
    // rows with a key above k; events with a rank below t
    let mut above = vec![0u64; 2 * ntimes + 1];
    let mut events_at = vec![0u64; ntimes];
    for &(_, code) in by_score {
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
    // the two roles of a row are independent sweeps: one per thread; per row in score order
    // each writes (C_i - D_i, C_i + D_i + T_i) of its pairs (integers, exact in f64)
    let n = by_score.len();
    work.clear();
    work.resize(4 * n, 0.0);
    let (short_rows, long_rows) = work.split_at_mut(2 * n);
    let shorter = if threads > 1 {
        std::thread::scope(|s| {
            s.spawn(|| as_longer(by_score, &events_below, ntimes, long_rows));
            as_shorter(by_score, &above, ntimes, short_rows)
        })
    } else {
        as_longer(by_score, &events_below, ntimes, long_rows);
        as_shorter(by_score, &above, ntimes, short_rows)
    };
    let pairs_same_time: u64 = events_at.iter().map(|&d| d * d.saturating_sub(1) / 2).sum();
    let (conc, disc, tx) = (shorter.conc as f64, shorter.disc as f64, shorter.tx as f64);
    let npair = conc + disc + tx;
    let somers = (conc - disc) / npair;
    let var: f64 = short_rows
        .chunks_exact(2)
        .zip(long_rows.chunks_exact(2))
        .map(|(a, b)| ((a[0] + b[0]) / npair - somers / npair * (a[1] + b[1])).powi(2))
        .sum::<f64>()
        / 4.0;
    Concordance {
        c_index: (conc + tx / 2.0) / npair,
        concordant: conc,
        discordant: disc,
        tied_x: tx,
        tied_y: (pairs_same_time - shorter.txy) as f64,
        tied_xy: shorter.txy as f64,
        se: var.sqrt(),
    }
}

fn is_event(code: u32) -> bool {
    code & 1 == 0
}

/// The pairs in which a row of this code is the longer member have events of a rank below
/// this: earlier events, and events at the same time when the row is censored.
fn outlived(code: u32) -> usize {
    ((code >> 1) + (code & 1)) as usize
}

/// Calls `f` with each run of equal keys in `by_score` (rows tied on the score).
fn for_each_tie(by_score: &[(u64, u32)], mut f: impl FnMut(&[(u64, u32)])) {
    let mut a = 0;
    while a < by_score.len() {
        let s = by_score[a].0;
        let mut b = a + 1;
        while b < by_score.len() && by_score[b].0 == s {
            b += 1;
        }
        f(&by_score[a..b]);
        a = b;
    }
}

/// Pair counts of the sweep over the pairs in which a row is the shorter member.
struct Shorter {
    conc: u64,
    disc: u64,
    tx: u64,
    txy: u64,
}

/// Events against the rows that outlive them: tree keyed `2 rank + censored` of the rows with
/// a lower score; the comparable partners of an event have keys above `2 rank`. Writes each
/// row's (C_i - D_i, C_i + D_i + T_i) of these pairs to `rows` (2 per row, score order).
fn as_shorter(by_score: &[(u64, u32)], above: &[u64], ntimes: usize, rows: &mut [f64]) -> Shorter {
    let mut all = Fenwick::new(2 * ntimes);
    let mut out = Shorter { conc: 0, disc: 0, tx: 0, txy: 0 };
    let mut rows = rows.chunks_exact_mut(2);
    let mut put = |d: f64, s: f64| {
        if let Some(r) = rows.next() {
            r[0] = d;
            r[1] = s;
        }
    };
    let mut before: Vec<u64> = Vec::new();
    let mut tied_ranks: Vec<u32> = Vec::new();
    for_each_tie(by_score, |group| {
        if let [(_, code)] = *group {
            // a score of its own: nothing tied, one count
            if is_event(code) {
                let below = all.total - all.prefix(code as usize + 1);
                let dis = above[code as usize] - below;
                out.conc += below;
                out.disc += dis;
                put(below as f64 - dis as f64, (below + dis) as f64);
            } else {
                put(0.0, 0.0);
            }
            all.add(code as usize);
            return;
        }
        before.clear();
        for &(_, code) in group {
            before.push(if is_event(code) { all.total - all.prefix(code as usize + 1) } else { 0 });
        }
        for &(_, code) in group {
            all.add(code as usize);
        }
        for (&(_, code), &below) in group.iter().zip(&before) {
            if !is_event(code) {
                put(0.0, 0.0);
                continue;
            }
            // partners with a lower score are concordant, with a higher one discordant
            let le = all.total - all.prefix(code as usize + 1);
            let eq = le - below;
            let dis = above[code as usize] - le;
            out.conc += below;
            out.tx += eq;
            out.disc += dis;
            put(below as f64 - dis as f64, (below + eq + dis) as f64);
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
                out.txy += m * (m - 1) / 2;
                i = j;
            }
        }
    });
    out
}

/// Rows against the earlier events they outlive: tree of the events with a lower score keyed
/// by rank; an earlier event with a higher score is a concordant pair. Writes each row's
/// (C_i - D_i, C_i + D_i + T_i) of these pairs to `rows` (2 per row, score order).
fn as_longer(by_score: &[(u64, u32)], events_below: &[u64], ntimes: usize, rows: &mut [f64]) {
    let mut evs = Fenwick::new(ntimes);
    let mut rows = rows.chunks_exact_mut(2);
    let mut put = |d: f64, s: f64| {
        if let Some(r) = rows.next() {
            r[0] = d;
            r[1] = s;
        }
    };
    let mut before: Vec<u64> = Vec::new();
    for_each_tie(by_score, |group| {
        if let [(_, code)] = *group {
            let below = evs.prefix(outlived(code));
            let conc = events_below[outlived(code)] - below;
            put(conc as f64 - below as f64, (conc + below) as f64);
            if is_event(code) {
                evs.add((code >> 1) as usize);
            }
            return;
        }
        before.clear();
        for &(_, code) in group {
            before.push(evs.prefix(outlived(code)));
        }
        for &(_, code) in group {
            if is_event(code) {
                evs.add((code >> 1) as usize);
            }
        }
        for (&(_, code), &below) in group.iter().zip(&before) {
            let le = evs.prefix(outlived(code));
            let conc = events_below[outlived(code)] - le;
            put(conc as f64 - below as f64, (conc + le) as f64);
        }
    });
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
            let got = concordance_ranked(&rank, k, &event, &score, 1);
            let two = concordance_ranked(&rank, k, &event, &score, 2);
            prop_assert_eq!(format!("{got:?}"), format!("{two:?}"));
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
