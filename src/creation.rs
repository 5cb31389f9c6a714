//! Tensors made from a rule rather than data: `arange`, `linspace`, `eye`.

use crate::dtype::DType;
use crate::error::{runtime_err, Result};
use crate::storage::{collect_exact, Buffer};
use crate::tensor::Tensor;

impl Tensor {
    /// `start, start + step, ...` below `end` (above it for a negative step).
    ///
    /// ```
    /// let t = autodiff::Tensor::arange(0.0, 5.0, 2.0, autodiff::DType::I64)?;
    /// assert_eq!(t.to_vec::<i64>(), vec![0, 2, 4]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 {
            return Err(runtime_err!("step must be nonzero"));
        }
        if !(start.is_finite() && end.is_finite()) {
            return Err(runtime_err!("unsupported range: {start} -> {end}"));
        }
        if (step > 0.0 && start > end) || (step < 0.0 && start < end) {
            return Err(runtime_err!(
                "upper bound and lower bound inconsistent with step sign"
            ));
        }
        let len = ((end - start) / step).ceil().max(0.0) as usize;
        crate::layout::checked_numel(&[len], 8)?;
        let buffer = match dtype {
            DType::I64 => {
                let (start, step) = (start as i64, step as i64);
                Buffer::I64(collect_exact((0..len).map(|i| start + i as i64 * step)).into())
            }
            _ => Buffer::F64(collect_exact((0..len).map(|i| start + i as f64 * step)).into()),
        };
        Ok(Tensor::from_buffer(buffer, &[len]).cast(dtype))
    }

    /// `steps` evenly spaced values from `start` to `end` inclusive.
    pub fn linspace(start: f64, end: f64, steps: i64, dtype: DType) -> Result<Tensor> {
        if steps < 0 {
            return Err(runtime_err!("number of steps must be non-negative"));
        }
        let n = steps as usize;
        let step = if n > 1 {
            (end - start) / (n - 1) as f64
        } else {
            0.0
        };
        // Both halves count from their own end, so the last value is exactly `end`.
        let half = n / 2;
        let values = collect_exact((0..n).map(|i| {
            if i < half || n == 1 {
                start + step * i as f64
            } else {
                end - step * (n - 1 - i) as f64
            }
        }));
        Ok(Tensor::from_buffer(Buffer::F64(values.into()), &[n]).cast(dtype))
    }

    /// The `n x m` identity matrix (ones on the diagonal).
    pub fn eye(n: usize, m: usize, dtype: DType) -> Result<Tensor> {
        crate::layout::checked_numel(&[n, m], 8)?;
        let values = collect_exact((0..n * m).map(|i| {
            if i / m.max(1) == i % m.max(1) {
                1.0
            } else {
                0.0
            }
        }));
        Ok(Tensor::from_buffer(Buffer::F64(values.into()), &[n, m]).cast(dtype))
    }
}
