//! Small dense linear algebra, hand-written: the models here have p of a few dozen at most,
//! so a row-major `Vec<f64>` with Cholesky factorisation is all that is needed (no BLAS,
//! no nalgebra). Matrices are `p x p`, row-major.

use crate::error::{Result, StatsError};

/// Symmetric positive-definite matrix stored row-major.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Matrix {
    /// Number of rows (= columns for square matrices).
    pub nrow: usize,
    /// Number of columns.
    pub ncol: usize,
    /// Row-major data.
    pub data: Vec<f64>,
}

impl Matrix {
    /// Zero matrix.
    pub fn zeros(nrow: usize, ncol: usize) -> Self {
        Matrix { nrow, ncol, data: vec![0.0; nrow * ncol] }
    }
    /// Element access.
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.ncol + j]
    }
    /// Element write.
    #[inline]
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[i * self.ncol + j] = v;
    }
    /// Rows as nested vectors (for JSON output).
    pub fn rows(&self) -> Vec<Vec<f64>> {
        self.data.chunks(self.ncol.max(1)).map(|r| r.to_vec()).collect()
    }
    /// Diagonal.
    pub fn diag(&self) -> Vec<f64> {
        (0..self.nrow.min(self.ncol)).map(|i| self.get(i, i)).collect()
    }
    /// Sub-matrix on the given rows/columns.
    pub fn select(&self, idx: &[usize]) -> Matrix {
        let k = idx.len();
        let mut m = Matrix::zeros(k, k);
        for (a, &i) in idx.iter().enumerate() {
            for (b, &j) in idx.iter().enumerate() {
                m.set(a, b, self.get(i, j));
            }
        }
        m
    }
}

/// In-place Cholesky factorisation `A = L L'` of a symmetric positive-definite `p x p`
/// row-major matrix; the lower triangle receives `L`. Fails if a pivot is not positive
/// relative to the original diagonal (tolerance `tol`, e.g. 1e-10).
pub fn cholesky(a: &mut [f64], p: usize, tol: f64) -> Result<()> {
    for j in 0..p {
        let orig = a[j * p + j];
        let mut d = orig;
        for k in 0..j {
            d -= a[j * p + k] * a[j * p + k];
        }
        if !(d > tol * orig.abs().max(f64::MIN_POSITIVE)) || !d.is_finite() {
            return Err(StatsError::Singular(format!(
                "matrix not positive definite at column {j} (collinear or constant predictors?)"
            )));
        }
        let l = d.sqrt();
        a[j * p + j] = l;
        for i in (j + 1)..p {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= a[i * p + k] * a[j * p + k];
            }
            a[i * p + j] = s / l;
        }
    }
    for i in 0..p {
        for j in (i + 1)..p {
            a[i * p + j] = 0.0;
        }
    }
    Ok(())
}

/// Solve `L L' x = b` given the Cholesky factor (lower triangle of `l`).
pub fn chol_solve(l: &[f64], p: usize, b: &mut [f64]) {
    for i in 0..p {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * p + k] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = b[i];
        for k in (i + 1)..p {
            s -= l[k * p + i] * b[k];
        }
        b[i] = s / l[i * p + i];
    }
}

/// Inverse of `A` from its Cholesky factor.
pub fn chol_inverse(l: &[f64], p: usize) -> Vec<f64> {
    let mut inv = vec![0.0; p * p];
    let mut e = vec![0.0; p];
    for j in 0..p {
        e.iter_mut().for_each(|v| *v = 0.0);
        e[j] = 1.0;
        chol_solve(l, p, &mut e);
        for i in 0..p {
            inv[i * p + j] = e[i];
        }
    }
    // symmetrise
    for i in 0..p {
        for j in (i + 1)..p {
            let v = 0.5 * (inv[i * p + j] + inv[j * p + i]);
            inv[i * p + j] = v;
            inv[j * p + i] = v;
        }
    }
    inv
}

/// Inverse of a symmetric positive-definite matrix.
pub fn spd_inverse(a: &[f64], p: usize) -> Result<Vec<f64>> {
    let mut l = a.to_vec();
    cholesky(&mut l, p, 1e-12)?;
    Ok(chol_inverse(&l, p))
}

/// Quadratic form `b' A^{-1} b` for symmetric positive-definite `A`.
pub fn quad_form_inv(a: &[f64], p: usize, b: &[f64]) -> Result<f64> {
    let mut l = a.to_vec();
    cholesky(&mut l, p, 1e-14)?;
    let mut x = b.to_vec();
    chol_solve(&l, p, &mut x);
    Ok(b.iter().zip(&x).map(|(u, v)| u * v).sum())
}

/// Log-determinant from a Cholesky factor.
pub fn chol_logdet(l: &[f64], p: usize) -> f64 {
    (0..p).map(|i| 2.0 * l[i * p + i].ln()).sum()
}

/// Rows per partial sum of the row-wise kernels below: sums over rows are formed per chunk
/// of this many rows and the chunk totals added in chunk order, so a result does not depend
/// on how many threads ran the chunks.
pub(crate) const CHUNK_ROWS: usize = 1 << 15;

/// `f` over `items`, on all available cores when `parallel` (and not inside a bootstrap
/// worker); results in item order. Threads take the next item as they become free (not a
/// fixed share each), so a thread the system deschedules does not hold the others up; which
/// thread ran an item does not change any result.
pub(crate) fn par_map<I: Send, T: Send>(items: Vec<I>, parallel: bool, f: impl Fn(I) -> T + Sync) -> Vec<T> {
    let threads = if parallel && items.len() > 1 && !crate::rng::in_worker() {
        std::thread::available_parallelism().map(|v| v.get()).unwrap_or(1).min(items.len()).min(8)
    } else {
        1
    };
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let count = items.len();
    let queue = std::sync::Mutex::new(items.into_iter().enumerate());
    let take = || queue.lock().unwrap_or_else(|e| e.into_inner()).next();
    let (f, take) = (&f, &take);
    let work = move || {
        let mut done = Vec::new();
        while let Some((k, item)) = take() {
            done.push((k, f(item)));
        }
        done
    };
    let mut parts: Vec<(usize, T)> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for h in handles {
            // a panic in a worker is a bug in this crate: re-raise it rather than return partial sums
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    });
    debug_assert_eq!(parts.len(), count);
    parts.sort_unstable_by_key(|(k, _)| *k);
    parts.into_iter().map(|(_, t)| t).collect()
}

/// `f(lo, hi)` for every chunk of [`CHUNK_ROWS`] rows of `0..n` (see [`par_map`]).
pub(crate) fn map_row_chunks<T: Send>(n: usize, parallel: bool, f: impl Fn(usize, usize) -> T + Sync) -> Vec<T> {
    let chunks: Vec<usize> = (0..n.div_ceil(CHUNK_ROWS).max(1)).collect();
    par_map(chunks, parallel, |c| f(c * CHUNK_ROWS, ((c + 1) * CHUNK_ROWS).min(n)))
}

/// Weighted cross-products of the rows of a row-major `n x p` matrix: `X'WX` (p x p,
/// symmetric, full) and `X'Wz` (length p), where `wz(i)` gives `(w_i, z_i)`; rows with
/// `w_i = 0` are skipped. This is the O(n p^2) step of IRLS.
///
/// Rows are taken four at a time so that each accumulator of the upper triangle is loaded
/// and stored once per four rows (the inner loop over columns vectorises); each entry adds
/// its row terms one by one in row order within a chunk of [`CHUNK_ROWS`] rows, and the
/// chunk totals are added in chunk order, so the result does not depend on the number of
/// threads.
pub(crate) fn weighted_gram(
    x: &[f64],
    n: usize,
    p: usize,
    wz: impl Fn(usize) -> (f64, f64) + Sync,
) -> (Vec<f64>, Vec<f64>) {
    // a chunk of rows costs tens of microseconds or more even at p = 2: worth a thread
    let parallel = n * (p + 2) * (p + 2) > 1_000_000;
    let parts = map_row_chunks(n, parallel, |lo, hi| gram_chunk(x, p, lo, hi, &wz));
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p];
    for (pa, pb) in parts {
        a.iter_mut().zip(pa).for_each(|(u, v)| *u += v);
        b.iter_mut().zip(pb).for_each(|(u, v)| *u += v);
    }
    for j in 0..p {
        for k in 0..j {
            a[j * p + k] = a[k * p + j];
        }
    }
    (a, b)
}

fn gram_chunk(x: &[f64], p: usize, lo: usize, hi: usize, wz: &impl Fn(usize) -> (f64, f64)) -> (Vec<f64>, Vec<f64>) {
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p];
    let mut blk = [(0usize, 0.0f64, 0.0f64); 4];
    let mut nb = 0;
    for i in lo..hi {
        let (w, z) = wz(i);
        if w == 0.0 {
            continue;
        }
        blk[nb] = (i, w, z);
        nb += 1;
        if nb == 4 {
            gram_rows(x, p, &blk, &mut a, &mut b);
            nb = 0;
        }
    }
    for &(i, wi, zi) in &blk[..nb] {
        let row = &x[i * p..(i + 1) * p];
        let wz = wi * zi;
        for j in 0..p {
            let wxj = wi * row[j];
            b[j] += wz * row[j];
            let arow = &mut a[j * p..(j + 1) * p];
            for k in j..p {
                arow[k] += wxj * row[k];
            }
        }
    }
    (a, b)
}

/// Add four rows to the upper triangle `a` and to `b`: each accumulator is loaded and
/// stored once per four rows, and still adds the rows one after the other.
#[inline(always)]
fn gram_rows(x: &[f64], p: usize, blk: &[(usize, f64, f64); 4], a: &mut [f64], b: &mut [f64]) {
    let [(i0, w0, z0), (i1, w1, z1), (i2, w2, z2), (i3, w3, z3)] = *blk;
    let (r0, r1, r2, r3) =
        (&x[i0 * p..(i0 + 1) * p], &x[i1 * p..(i1 + 1) * p], &x[i2 * p..(i2 + 1) * p], &x[i3 * p..(i3 + 1) * p]);
    let (wz0, wz1, wz2, wz3) = (w0 * z0, w1 * z1, w2 * z2, w3 * z3);
    for j in 0..p {
        let mut bj = b[j];
        bj += wz0 * r0[j];
        bj += wz1 * r1[j];
        bj += wz2 * r2[j];
        bj += wz3 * r3[j];
        b[j] = bj;
        let (x0, x1, x2, x3) = (w0 * r0[j], w1 * r1[j], w2 * r2[j], w3 * r3[j]);
        let arow = &mut a[j * p + j..(j + 1) * p];
        let it = arow.iter_mut().zip(&r0[j..]).zip(&r1[j..]).zip(&r2[j..]).zip(&r3[j..]);
        for ((((t, &v0), &v1), &v2), &v3) in it {
            let mut s = *t;
            s += x0 * v0;
            s += x1 * v1;
            s += x2 * v2;
            s += x3 * v3;
            *t = s;
        }
    }
}
