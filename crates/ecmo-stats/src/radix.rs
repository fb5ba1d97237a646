//! Stable LSD radix sort of row indices by `f64` keys: the order `sort_by(f64::total_cmp)`
//! (a stable sort) gives, in O(n) passes instead of O(n log n) indirect comparisons. Written by
//! hand (no crate in the tree does it); used where one sort of 10^5-10^6 values dominates an
//! analysis (survival times, Cox risk scores).

/// Maps `v` to a `u64` whose unsigned order is `f64::total_cmp`'s order (sign bit flipped for
/// positives, all bits flipped for negatives).
#[inline]
pub(crate) fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

const BITS: usize = 11;
const BUCKETS: usize = 1 << BITS;
const PASSES: usize = 64usize.div_ceil(BITS);

/// Below this the comparison sort is as fast and needs no buffers.
const SMALL: usize = 256;

/// Rows from which the sort is split over two threads.
const PARALLEL: usize = 100_000;

/// Row indices `0..v.len()` in ascending `total_cmp` order of `v`; ties keep index order
/// (identical to a stable `sort_by(|&a, &b| v[a].total_cmp(&v[b]))`).
pub(crate) fn order_ascending(v: &[f64]) -> Vec<usize> {
    let n = v.len();
    if n < SMALL || u32::try_from(n).is_err() {
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        return idx;
    }
    // (key, row): row fits in u32 (checked above)
    let mut src: Vec<(u64, u32)> = v.iter().enumerate().map(|(i, &x)| (order_key(x), i as u32)).collect();
    sort_pairs(&mut src);
    src.into_iter().map(|(_, r)| r as usize).collect()
}

/// Stable LSD sort of (key, payload) pairs by key; passes whose digit is the same for every
/// key are skipped.
pub(crate) fn sort_pairs(v: &mut Vec<(u64, u32)>) {
    sort_pairs_threads(v, 1);
}

/// Stable sort of (key, payload) pairs by key, on up to `threads` threads: for large inputs
/// one stable pass by the top 16 bits splits the pairs at a bucket boundary near the middle,
/// and each part is radix-sorted on its own thread.
pub(crate) fn sort_pairs_threads(v: &mut Vec<(u64, u32)>, threads: usize) {
    sort_pairs_reusing(v, &mut Vec::new(), threads);
}

/// [`sort_pairs_threads`] with a caller's scratch buffer (grown to `v.len()` if needed), so
/// that several sorts of one analysis touch the same memory.
pub(crate) fn sort_pairs_reusing(v: &mut Vec<(u64, u32)>, scratch: &mut Vec<(u64, u32)>, threads: usize) {
    let n = v.len();
    scratch.resize(n, (0, 0));
    if threads < 2 || n < PARALLEL {
        lsd(v, scratch);
        return;
    }
    const TOP: usize = 16;
    let mut end = vec![0usize; 1 << TOP];
    for &(k, _) in v.iter() {
        end[(k >> (64 - TOP)) as usize] += 1;
    }
    let mut acc = 0;
    for e in end.iter_mut() {
        let c = *e;
        *e = acc;
        acc += c;
    }
    for &e in v.iter() {
        let b = (e.0 >> (64 - TOP)) as usize;
        scratch[end[b]] = e;
        end[b] += 1;
    }
    // `end` now holds each bucket's end: cut at the boundary nearest n/2
    let after = end.partition_point(|&e| e < n / 2);
    let hi = end.get(after).copied().unwrap_or(n);
    let lo = if after > 0 { end[after - 1] } else { 0 };
    let mid = if hi - n / 2 <= n / 2 - lo { hi } else { lo };
    let (a, b) = scratch.split_at_mut(mid);
    let (sa, sb) = v.split_at_mut(mid);
    std::thread::scope(|s| {
        s.spawn(|| lsd(b, sb));
        lsd(a, sa);
    });
    std::mem::swap(v, scratch);
}

/// Stable LSD radix sort of `data` by key (result in `data`); passes whose digit is the same
/// for every key are skipped.
fn lsd(data: &mut [(u64, u32)], scratch: &mut [(u64, u32)]) {
    let n = data.len();
    let mut hist = vec![[0u32; BUCKETS]; PASSES];
    for &(k, _) in data.iter() {
        for (p, h) in hist.iter_mut().enumerate() {
            h[((k >> (p * BITS)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    let (mut src, mut dst) = (data, scratch);
    let mut swapped = false;
    for (p, h) in hist.iter().enumerate() {
        if h.iter().any(|&c| c as usize == n) {
            continue;
        }
        let mut offset = [0usize; BUCKETS];
        let mut acc = 0;
        for (o, &c) in offset.iter_mut().zip(h.iter()) {
            *o = acc;
            acc += c as usize;
        }
        let shift = p * BITS;
        for &e in src.iter() {
            let b = ((e.0 >> shift) as usize) & (BUCKETS - 1);
            dst[offset[b]] = e;
            offset[b] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
        swapped = !swapped;
    }
    if swapped {
        // the sorted pairs are in the scratch buffer
        dst.copy_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(v: &[f64]) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        idx
    }

    #[test]
    fn key_order_is_total_cmp_order() {
        let vals = [f64::NEG_INFINITY, -1e300, -1.5, -0.0, 0.0, 1e-310, 2.5, f64::INFINITY, f64::NAN];
        for a in vals {
            for b in vals {
                assert_eq!(order_key(a).cmp(&order_key(b)), a.total_cmp(&b), "{a} vs {b}");
            }
        }
    }

    proptest! {
        // tied values (few distinct, as survival times with one decimal) and signed values
        #[test]
        fn same_order_as_stable_sort(raw in proptest::collection::vec(-60i32..60, 0..2000), scale in 0.1f64..10.0) {
            let v: Vec<f64> = raw.iter().map(|&r| r as f64 * scale).collect();
            prop_assert_eq!(order_ascending(&v), reference(&v));
        }

        #[test]
        fn same_order_on_arbitrary_doubles(v in proptest::collection::vec(proptest::num::f64::ANY, 0..1500)) {
            prop_assert_eq!(order_ascending(&v), reference(&v));
        }
    }

    #[test]
    fn two_threads_sort_as_one() {
        // past the parallel threshold: ties, both signs, and a lump in one top bucket
        let mut rng = crate::rng::Rng::new(3);
        let v: Vec<f64> = (0..PARALLEL + 1234)
            .map(|i| if i % 3 == 0 { 100.5 } else { ((rng.uniform() - 0.3) * 2000.0).round() / 10.0 })
            .collect();
        let mut pairs: Vec<(u64, u32)> = v.iter().enumerate().map(|(i, &x)| (order_key(x), i as u32)).collect();
        sort_pairs_threads(&mut pairs, 2);
        let rows: Vec<usize> = pairs.iter().map(|&(_, r)| r as usize).collect();
        assert_eq!(rows, reference(&v));
        // flipped keys: the stable descending order (ties in row order), as the Cox fit uses
        let mut pairs: Vec<(u64, u32)> = v.iter().enumerate().map(|(i, &x)| (!order_key(x), i as u32)).collect();
        sort_pairs_threads(&mut pairs, 2);
        let rows: Vec<usize> = pairs.iter().map(|&(_, r)| r as usize).collect();
        let mut desc: Vec<usize> = (0..v.len()).collect();
        desc.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
        assert_eq!(rows, desc);
    }
}
