//! Threshold comparison with floating-point snapping (spec §1.3).
//!
//! A value converted between units can land a hair off a printed cut-off
//! (8 mcg/min ÷ 80 kg is exactly 0.1 on paper but not always in binary). Every
//! banding comparison in this crate goes through these helpers, which move a
//! value lying within a relative 1e-9 of the threshold onto the threshold
//! before comparing. Values are never rounded otherwise.

/// Relative tolerance for snapping onto a threshold.
pub const SNAP_REL: f64 = 1e-9;

/// `v`, moved onto `t` when it is within the snapping tolerance of `t`.
#[inline]
pub fn snap(v: f64, t: f64) -> f64 {
    let tol = SNAP_REL * t.abs().max(1e-12);
    if (v - t).abs() <= tol { t } else { v }
}

#[inline]
pub fn lt(v: f64, t: f64) -> bool {
    snap(v, t) < t
}

#[inline]
pub fn le(v: f64, t: f64) -> bool {
    snap(v, t) <= t
}

#[inline]
pub fn gt(v: f64, t: f64) -> bool {
    snap(v, t) > t
}

#[inline]
pub fn ge(v: f64, t: f64) -> bool {
    snap(v, t) >= t
}

/// A banding table of half-open intervals `[lo, next lo)`, written from the
/// highest lower bound down: the first row whose `lo` the value reaches gives
/// the points. The last row should have `f64::NEG_INFINITY` as its bound.
pub fn band(v: f64, rows: &[(f64, u8)]) -> u8 {
    for &(lo, pts) in rows {
        if ge(v, lo) {
            return pts;
        }
    }
    rows.last().map_or(0, |r| r.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_lands_on_threshold() {
        let v = 0.3 / 3.0;
        assert!(v < 0.1);
        assert!(le(v, 0.1));
        assert!(!gt(v, 0.1));
        assert!(le(8.0 / 80.0, 0.1));
    }

    #[test]
    fn real_differences_are_kept() {
        assert!(gt(0.1001, 0.1));
        assert!(lt(69.67, 70.0));
        assert!(lt(199.5, 200.0));
    }

    #[test]
    fn band_rows() {
        let rows = [(41.0, 4), (39.0, 3), (38.5, 1), (36.0, 0), (f64::NEG_INFINITY, 4)];
        assert_eq!(band(41.0, &rows), 4);
        assert_eq!(band(40.99, &rows), 3);
        assert_eq!(band(38.5, &rows), 1);
        assert_eq!(band(38.49, &rows), 0);
        assert_eq!(band(10.0, &rows), 4);
    }
}
