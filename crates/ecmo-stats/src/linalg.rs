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
