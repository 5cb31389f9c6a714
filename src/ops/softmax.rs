//! `softmax` and `log_softmax` along one dimension, computed stably (the lane's maximum is
//! subtracted before exponentiating). Both backward rules reuse the output.

use std::sync::Arc;

use smallvec::smallvec;

use crate::autograd::{needs_grad, record, BackwardCtx, BackwardFn, Grads, SavedTensor};
use crate::error::{Error, Result};
use crate::layout::normalize_dim;
use crate::storage::{Element, Float};
use crate::tensor::Tensor;

struct SoftmaxBackward {
    dim: i64,
    log: bool,
}

impl BackwardFn for SoftmaxBackward {
    fn name(&self) -> &'static str {
        if self.log {
            "LogSoftmaxBackward0"
        } else {
            "SoftmaxBackward0"
        }
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let (g, y) = (ctx.grad(), ctx.saved(0)?);
        let dim = [self.dim];
        let grad = if self.log {
            // d log_softmax: g - softmax * sum(g)
            g.sub(&y.exp()?.mul(&g.sum(Some(&dim), true)?)?)?
        } else {
            // d softmax: y * (g - sum(g * y))
            let gy = g.mul(&y)?;
            gy.sub(&y.mul(&gy.sum(Some(&dim), true)?)?)?
        };
        Ok(smallvec![Some(grad)])
    }
}

/// The largest element of a lane, ignoring NaN (a NaN still poisons the lane's result
/// through the sum of exponentials, as in PyTorch); -inf for an empty lane.
#[inline(always)]
pub(crate) fn lane_max<T: Float>(lane: &[T]) -> T {
    crate::kernels::vector_math::max_ignoring_nan(lane)
}

/// Block length for exponentials written to a scratch buffer: a plain map over a slice
/// vectorises, an exponential inside a sum does not.
const BLOCK: usize = 256;

/// `sum(exp(x - shift))` over a lane, accumulated in f64.
#[inline(always)]
pub(crate) fn exp_sum<T: Float>(lane: &[T], shift: T) -> f64 {
    let mut scratch = [T::ZERO; BLOCK];
    lane.chunks(BLOCK)
        .map(|block| {
            let exps = &mut scratch[..block.len()];
            for (e, &x) in exps.iter_mut().zip(block) {
                *e = (x - shift).exp();
            }
            crate::kernels::vector_math::sum_as_f64(exps)
        })
        .sum()
}

/// Softmax (or log-softmax) of one contiguous lane into `out`.
#[inline(always)]
fn softmax_lane<T: Float>(lane: &[T], out: &mut [T], log: bool) {
    let max = lane_max(lane);
    // An all -inf lane (or an inf maximum) gives inf - inf = NaN, as in PyTorch.
    for (o, &x) in out.iter_mut().zip(lane) {
        *o = (x - max).exp();
    }
    let sum = crate::kernels::vector_math::sum_as_f64(out);
    if log {
        let log_sum = T::from_f64(sum.ln());
        for (o, &x) in out.iter_mut().zip(lane) {
            *o = (x - max) - log_sum;
        }
    } else {
        let inv = T::from_f64(1.0 / sum);
        out.iter_mut().for_each(|o| *o = *o * inv);
    }
}

impl Tensor {
    /// `exp(x) / sum(exp(x))` along `dim` (`SoftmaxBackward0`).
    ///
    /// ```
    /// let x = autodiff::Tensor::from_vec(vec![1.0f64, 1.0], &[2])?;
    /// assert_eq!(x.softmax(0)?.to_vec::<f64>(), vec![0.5, 0.5]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn softmax(&self, dim: i64) -> Result<Tensor> {
        self.softmax_impl(dim, false)
    }

    /// `x - log(sum(exp(x)))` along `dim` (`LogSoftmaxBackward0`).
    pub fn log_softmax(&self, dim: i64) -> Result<Tensor> {
        self.softmax_impl(dim, true)
    }

    fn softmax_impl(&self, dim: i64, log: bool) -> Result<Tensor> {
        if !self.dtype().is_float() {
            // PyTorch names the kernel by whether `dim` is the last dimension.
            let is_last = normalize_dim(dim, self.ndim())? + 1 >= self.ndim();
            let kernel = match (log, is_last) {
                (false, true) => "softmax_lastdim_kernel_impl",
                (false, false) => "softmax_kernel_impl",
                (true, true) => "log_softmax_lastdim_kernel_impl",
                (true, false) => "log_softmax_kernel_impl",
            };
            return Err(Error::NotImplemented(format!(
                "\"{kernel}\" not implemented for '{}'",
                self.dtype().scalar_type_name()
            )));
        }
        let d = normalize_dim(dim, self.ndim())?;
        let last = self.ndim().saturating_sub(1);
        // Put `dim` last and make the lanes contiguous; the result is moved back after.
        let moved = if d == last {
            self.detach()
        } else {
            self.detach().transpose(d as i64, last as i64)?
        };
        // `with_values` below borrows contiguous data and copies anything else.
        let input = moved;
        let lane = input.shape().last().copied().unwrap_or(1);
        let out = crate::dispatch_float!(self.dtype(), T => {
            input.with_values::<T, _>(|values| {
                let mut out: Vec<T> = crate::storage::vec_with_capacity(values.len());
                out.resize(values.len(), T::ZERO);
                if lane > 0 {
                    use rayon::prelude::*;
                    let work = |(src, dst): (&[T], &mut [T])| {
                        crate::kernels::vectorized(|| softmax_lane(src, dst, log))
                    };
                    if values.len() >= 1 << 15 {
                        values.par_chunks(lane).zip(out.par_chunks_mut(lane)).for_each(work);
                    } else {
                        values.chunks(lane).zip(out.chunks_mut(lane)).for_each(work);
                    }
                }
                Tensor::from_buffer(T::into_buffer(out), input.shape())
            })
        }, _ => unreachable!());
        let out = if d == last {
            out
        } else {
            out.transpose(d as i64, last as i64)?.contiguous_copy()
        };
        if needs_grad(&[self]) {
            record(
                &[self],
                &out,
                Arc::new(SoftmaxBackward { dim, log }),
                smallvec![SavedTensor::output(&out)],
            );
        }
        Ok(out)
    }
}
