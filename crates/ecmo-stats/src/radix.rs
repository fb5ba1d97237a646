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

/// Row indices `0..v.len()` in ascending `total_cmp` order of `v`; ties keep index order
/// (identical to a stable `sort_by(|&a, &b| v[a].total_cmp(&v[b]))`).
pub(crate) fn order_ascending(v: &[f64]) -> Vec<usize> {
    sort_rows(v, false)
}

/// Row indices in descending `total_cmp` order of `v`; ties keep index order (identical to a
/// stable `sort_by(|&a, &b| v[b].total_cmp(&v[a]))`).
pub(crate) fn order_descending(v: &[f64]) -> Vec<usize> {
    sort_rows(v, true)
}

fn sort_rows(v: &[f64], descending: bool) -> Vec<usize> {
    let n = v.len();
    if n < SMALL || u32::try_from(n).is_err() {
        let mut idx: Vec<usize> = (0..n).collect();
        if descending {
            idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
        } else {
            idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        }
        return idx;
    }
    let flip = if descending { u64::MAX } else { 0 };
    // (key, row): row fits in u32 (checked above)
    let mut src: Vec<(u64, u32)> = v.iter().enumerate().map(|(i, &x)| (order_key(x) ^ flip, i as u32)).collect();
    sort_pairs(&mut src);
    src.into_iter().map(|(_, r)| r as usize).collect()
}

/// Stable LSD sort of (key, payload) pairs by key; passes whose digit is the same for every
/// key are skipped.
pub(crate) fn sort_pairs(src: &mut Vec<(u64, u32)>) {
    let n = src.len();
    let mut hist = vec![[0u32; BUCKETS]; PASSES];
    for &(k, _) in src.iter() {
        for (p, h) in hist.iter_mut().enumerate() {
            h[((k >> (p * BITS)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    let mut dst: Vec<(u64, u32)> = vec![(0, 0); n];
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
        std::mem::swap(src, &mut dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(v: &[f64], descending: bool) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        if descending {
            idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
        } else {
            idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        }
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
            prop_assert_eq!(order_ascending(&v), reference(&v, false));
            prop_assert_eq!(order_descending(&v), reference(&v, true));
        }

        #[test]
        fn same_order_on_arbitrary_doubles(v in proptest::collection::vec(proptest::num::f64::ANY, 0..1500)) {
            prop_assert_eq!(order_ascending(&v), reference(&v, false));
            prop_assert_eq!(order_descending(&v), reference(&v, true));
        }
    }
}
