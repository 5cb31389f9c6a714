//! The random number generator behind `rand`, `randn` and `randint`: xoshiro256++ seeded
//! through SplitMix64. Integer arithmetic only (plus IEEE `ln`/`sqrt`/`cos` for normals), so
//! a seed gives the same numbers on every platform.

use parking_lot::Mutex;

use crate::dtype::DType;
use crate::error::{runtime_err, Result};
use crate::storage::{vec_with_capacity, Buffer};
use crate::tensor::Tensor;

/// PyTorch's default seed, so a fresh process starts from the same `initial_seed()`.
pub const DEFAULT_SEED: u64 = 67280421310721;

/// A seeded stream of random bits.
#[derive(Clone, Debug)]
pub struct Generator {
    state: [u64; 4],
    seed: u64,
}

impl Generator {
    /// A generator started from `seed`.
    ///
    /// ```
    /// let mut a = autodiff::random::Generator::new(7);
    /// let mut b = autodiff::random::Generator::new(7);
    /// assert_eq!(a.next_u64(), b.next_u64());
    /// ```
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut splitmix = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Generator {
            state: [splitmix(), splitmix(), splitmix(), splitmix()],
            seed,
        }
    }

    /// The seed this generator started from.
    pub fn initial_seed(&self) -> u64 {
        self.seed
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[0, 1)` with 24 random bits (every float32 value it can give is exact).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    /// Uniform in `[0, n)` without modulo bias (rejection sampling).
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX - n + 1) % n;
        loop {
            let v = self.next_u64();
            if v <= zone {
                return v % n;
            }
        }
    }

    /// Standard normal samples, two at a time (Box-Muller).
    fn fill_normal(&mut self, out: &mut [f64]) {
        for pair in out.chunks_mut(2) {
            // 1 - u is in (0, 1], so the log is finite.
            let radius = (-2.0 * (1.0 - self.next_f64()).ln()).sqrt();
            let angle = std::f64::consts::TAU * self.next_f64();
            pair[0] = radius * angle.cos();
            if let Some(second) = pair.get_mut(1) {
                *second = radius * angle.sin();
            }
        }
    }
}

/// The process-wide default generator, as `torch.default_generator`.
static DEFAULT: Mutex<Option<Generator>> = Mutex::new(None);

fn with_default<R>(f: impl FnOnce(&mut Generator) -> R) -> R {
    let mut guard = DEFAULT.lock();
    f(guard.get_or_insert_with(|| Generator::new(DEFAULT_SEED)))
}

/// Restarts the default generator from `seed` (`torch.manual_seed`).
pub fn manual_seed(seed: u64) {
    *DEFAULT.lock() = Some(Generator::new(seed));
}

/// The seed the default generator started from.
pub fn initial_seed() -> u64 {
    with_default(|g| g.initial_seed())
}

fn require_float(dtype: DType, op: &str) -> Result<()> {
    if dtype.is_float() {
        Ok(())
    } else {
        Err(crate::Error::NotImplemented(format!(
            "\"{op}\" not implemented for '{}'",
            dtype.scalar_type_name()
        )))
    }
}

impl Tensor {
    /// Uniform samples in `[0, 1)` from the default generator.
    ///
    /// ```
    /// autodiff::random::manual_seed(0);
    /// let a = autodiff::Tensor::rand(&[3], autodiff::DType::F64)?;
    /// autodiff::random::manual_seed(0);
    /// let b = autodiff::Tensor::rand(&[3], autodiff::DType::F64)?;
    /// assert_eq!(a.to_vec::<f64>(), b.to_vec::<f64>());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn rand(shape: &[usize], dtype: DType) -> Result<Tensor> {
        require_float(dtype, "check_uniform_bounds")?;
        let n = crate::layout::checked_numel(shape, 8)?;
        let buffer = with_default(|g| match dtype {
            DType::F32 => {
                let mut v = vec_with_capacity(n);
                v.extend((0..n).map(|_| g.next_f32()));
                Buffer::F32(v.into())
            }
            _ => {
                let mut v = vec_with_capacity(n);
                v.extend((0..n).map(|_| g.next_f64()));
                Buffer::F64(v.into())
            }
        });
        Ok(Tensor::from_buffer(buffer, shape))
    }

    /// Standard normal samples from the default generator.
    pub fn randn(shape: &[usize], dtype: DType) -> Result<Tensor> {
        require_float(dtype, "normal_kernel_cpu")?;
        let n = crate::layout::checked_numel(shape, 8)?;
        let mut values: Vec<f64> = vec_with_capacity(n);
        values.resize(n, 0.0);
        with_default(|g| g.fill_normal(&mut values));
        Ok(Tensor::from_buffer(Buffer::F64(values.into()), shape).cast(dtype))
    }

    /// Integers uniform in `[low, high)` from the default generator.
    pub fn randint(low: i64, high: i64, shape: &[usize], dtype: DType) -> Result<Tensor> {
        if low >= high {
            return Err(runtime_err!(
                "random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
            ));
        }
        let n = crate::layout::checked_numel(shape, 8)?;
        let span = high.wrapping_sub(low) as u64;
        let mut values: Vec<i64> = vec_with_capacity(n);
        with_default(|g| values.extend((0..n).map(|_| low.wrapping_add(g.below(span) as i64))));
        Ok(Tensor::from_buffer(Buffer::I64(values.into()), shape).cast(dtype))
    }

    /// A random permutation of `0..n` from the default generator (`torch.randperm`).
    ///
    /// ```
    /// let p = autodiff::Tensor::randperm(5, autodiff::DType::I64)?;
    /// let mut seen = p.to_vec::<i64>();
    /// seen.sort();
    /// assert_eq!(seen, [0, 1, 2, 3, 4]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn randperm(n: usize, dtype: DType) -> Result<Tensor> {
        crate::layout::checked_numel(&[n], 8)?;
        let mut values: Vec<i64> = vec_with_capacity(n);
        values.extend(0..n as i64);
        // Fisher-Yates: each position takes a uniform pick among those not yet placed.
        with_default(|g| {
            for i in (1..n).rev() {
                let j = g.below(i as u64 + 1) as usize;
                values.swap(i, j);
            }
        });
        Ok(Tensor::from_buffer(Buffer::I64(values.into()), &[n]).cast(dtype))
    }
}

impl Tensor {
    /// Fills this tensor in place with samples uniform in `[low, high)` (`Tensor.uniform_`).
    /// Like any in-place op, it refuses a leaf that requires grad unless grad mode is off.
    ///
    /// ```
    /// let t = autodiff::Tensor::zeros(&[1000], autodiff::DType::F32);
    /// t.uniform_(-2.0, 2.0)?;
    /// assert!(t.to_vec::<f32>().iter().all(|v| (-2.0..2.0).contains(v)));
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn uniform_(&self, low: f64, high: f64) -> Result<()> {
        let samples = {
            let _off = crate::GradModeGuard::new(false);
            Tensor::rand(self.shape(), self.dtype())?
                .mul_scalar(high - low)?
                .add_scalar(low)?
        };
        self.copy_(&samples)
    }

    /// Fills this tensor in place with normal samples of mean `mean` and standard deviation
    /// `std` (`Tensor.normal_`).
    ///
    /// ```
    /// let t = autodiff::Tensor::zeros(&[10000], autodiff::DType::F64);
    /// t.normal_(3.0, 0.5)?;
    /// let mean = t.to_vec::<f64>().iter().sum::<f64>() / 10000.0;
    /// assert!((mean - 3.0).abs() < 0.05);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn normal_(&self, mean: f64, std: f64) -> Result<()> {
        if std < 0.0 {
            return Err(runtime_err!(
                "normal expects std >= 0.0, but found std {std}"
            ));
        }
        let samples = {
            let _off = crate::GradModeGuard::new(false);
            Tensor::randn(self.shape(), self.dtype())?
                .mul_scalar(std)?
                .add_scalar(mean)?
        };
        self.copy_(&samples)
    }
}
