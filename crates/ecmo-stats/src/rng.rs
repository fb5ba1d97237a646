//! A small, seeded, platform-independent random number generator (xoshiro256++ seeded
//! through SplitMix64). Used for bootstrap resampling so that a seed gives the same result
//! on every machine, any thread count and any version of external crates.

/// xoshiro256++ generator.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// New generator from a seed.
    pub fn new(seed: u64) -> Rng {
        let mut st = seed;
        Rng { s: [splitmix(&mut st), splitmix(&mut st), splitmix(&mut st), splitmix(&mut st)] }
    }
    /// Independent stream `k` of a seed (used per bootstrap replicate, so results do not
    /// depend on how replicates are spread over threads).
    pub fn stream(seed: u64, k: u64) -> Rng {
        let mut st = seed ^ 0x5851_F42D_4C95_7F2D;
        let a = splitmix(&mut st);
        Rng::new(a.wrapping_add(k.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = (s[0].wrapping_add(s[3])).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
    /// Uniform integer in `0..n` (n > 0), unbiased (Lemire's method).
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        if n == 0 {
            return 0;
        }
        loop {
            let x = self.next_u64();
            let m = (x as u128) * (n as u128);
            let l = m as u64;
            if l >= n.wrapping_neg() % n {
                return (m >> 64) as usize;
            }
        }
    }
    /// Uniform double in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Standard normal draw (Marsaglia's polar method; the spare value is discarded so that
    /// each call consumes a whole number of pairs).
    pub fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }
    /// Gamma(shape, 1) draw (Marsaglia & Tsang 2000; shape < 1 by the boost u^(1/shape)).
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = self.uniform().max(f64::MIN_POSITIVE);
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform();
            if u < 1.0 - 0.0331 * x.powi(4) || u.ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
                return d * v;
            }
        }
    }
    /// Chi-square draw with `df` degrees of freedom.
    pub fn chisq(&mut self, df: f64) -> f64 {
        2.0 * self.gamma(df / 2.0)
    }
}

thread_local! {
    static IN_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread is a [`parallel_replicates`] worker (nested code should then
/// stay single-threaded rather than oversubscribe the cores).
pub(crate) fn in_worker() -> bool {
    IN_WORKER.with(|c| c.get())
}

/// Run `f` on this thread as a worker: nested code stays single-threaded (for callers that
/// already keep every core busy with independent tasks).
pub(crate) fn as_worker<T>(f: impl FnOnce() -> T) -> T {
    /// Restores the flag even if `f` panics (a server thread caught and reused must not
    /// stay single-threaded for every later analysis).
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            IN_WORKER.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(IN_WORKER.with(|c| c.replace(true)));
    f()
}

/// Run `f(replicate_index, rng)` for `b` replicates on all available cores; results come
/// back in replicate order and do not depend on the number of threads.
pub fn parallel_replicates<T: Send, F: Fn(usize, &mut Rng) -> T + Sync>(b: usize, seed: u64, f: F) -> Vec<T> {
    let threads = std::thread::available_parallelism().map(|v| v.get()).unwrap_or(1).min(b.max(1));
    if threads <= 1 || b < 4 {
        return (0..b).map(|k| f(k, &mut Rng::stream(seed, k as u64))).collect();
    }
    let chunk = b.div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    IN_WORKER.with(|c| c.set(true));
                    let lo = (t * chunk).min(b);
                    let hi = ((t + 1) * chunk).min(b);
                    (lo..hi).map(|k| f(k, &mut Rng::stream(seed, k as u64))).collect::<Vec<T>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(b);
        for h in handles {
            if let Ok(v) = h.join() {
                out.extend(v);
            }
        }
        out
    })
}
