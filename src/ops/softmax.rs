//! `softmax` and `log_softmax` along one dimension, computed stably (the lane's maximum is
//! subtracted before exponentiating). Both backward rules reuse the output.

use std::mem::MaybeUninit;
use std::sync::Arc;

use smallvec::smallvec;

use crate::autograd::{needs_grad, record, BackwardCtx, BackwardFn, Grads, SavedTensor};
use crate::error::{Error, Result};
use crate::kernels::vector_math;
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
        if !needs_grad(&[g, &y]) && g.dtype() == y.dtype() && g.shape() == y.shape() {
            // First order: one fused pass instead of four ops.
            return Ok(smallvec![Some(fused_backward(g, &y, self.dim, self.log)?)]);
        }
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

/// The input gradient of softmax (or log-softmax) in one pass over contiguous lanes.
fn fused_backward(g: &Tensor, y: &Tensor, dim: i64, log: bool) -> Result<Tensor> {
    let d = normalize_dim(dim, y.ndim())?;
    let last = y.ndim().saturating_sub(1);
    let lanes_last = |t: &Tensor| {
        if d == last {
            Ok(t.detach())
        } else {
            t.detach().transpose(d as i64, last as i64)
        }
    };
    let (g_moved, y_moved) = (lanes_last(g)?, lanes_last(y)?);
    let lane = y_moved.shape().last().copied().unwrap_or(1);
    let grad = crate::dispatch_float!(y.dtype(), T => {
        g_moved.with_values::<T, _>(|gv| {
            y_moved.with_values::<T, _>(|yv| {
                let out = map_lanes(yv.len(), lane, |start, dst| {
                    let end = start + dst.len();
                    softmax_backward_lane(&gv[start..end], &yv[start..end], dst, log)
                });
                Tensor::from_buffer(T::into_buffer(out), y_moved.shape())
            })
        })
    }, _ => unreachable!());
    if d == last {
        Ok(grad)
    } else {
        Ok(grad.transpose(d as i64, last as i64)?.contiguous_copy())
    }
}

/// The largest element of a lane, ignoring NaN (a NaN still poisons the lane's result
/// through the sum of exponentials, as in PyTorch); -inf for an empty lane.
#[inline(always)]
pub(crate) fn lane_max<T: Float>(lane: &[T]) -> T {
    crate::kernels::vector_math::max_ignoring_nan(lane)
}

/// Block length for exponentials written to a scratch buffer before they are summed.
const BLOCK: usize = 256;

/// `sum(exp(x - shift))` over a lane, accumulated in f64.
#[inline(always)]
pub(crate) fn exp_sum<T: Float>(lane: &[T], shift: T) -> f64 {
    let mut scratch = [MaybeUninit::<T>::uninit(); BLOCK];
    lane.chunks(BLOCK)
        .map(|block| {
            let exps = &mut scratch[..block.len()];
            vector_math::exp_shifted_into(block, shift, exps);
            // SAFETY: `exp_shifted_into` wrote every slot.
            vector_math::sum_as_f64(unsafe { assume_init(exps) })
        })
        .sum()
}

/// The initialised view of slots that have all been written.
///
/// # Safety
/// Every element of `slots` must have been written.
#[inline(always)]
unsafe fn assume_init<T>(slots: &mut [MaybeUninit<T>]) -> &mut [T] {
    std::slice::from_raw_parts_mut(slots.as_mut_ptr().cast::<T>(), slots.len())
}

/// Softmax (or log-softmax) of one contiguous lane into `out`, which may be uninitialised.
#[inline(always)]
fn softmax_lane<T: Float>(lane: &[T], out: &mut [MaybeUninit<T>], log: bool) {
    let max = lane_max(lane);
    // An all -inf lane (or an inf maximum) gives inf - inf = NaN, as in PyTorch.
    vector_math::exp_shifted_into(lane, max, out);
    // SAFETY: `exp_shifted_into` wrote every slot.
    let out = unsafe { assume_init(out) };
    let sum = vector_math::sum_as_f64(out);
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

/// The input gradient of one lane from the output `y` and its gradient `g`, into `out`:
/// `g - exp(y) * sum(g)` for log-softmax, `y * (g - sum(g * y))` for softmax.
#[inline(always)]
fn softmax_backward_lane<T: Float>(g: &[T], y: &[T], out: &mut [MaybeUninit<T>], log: bool) {
    if log {
        let sum = T::from_f64(vector_math::sum_as_f64(g));
        vector_math::exp_shifted_into(y, T::ZERO, out);
        // SAFETY: `exp_shifted_into` wrote every slot.
        let out = unsafe { assume_init(out) };
        for (o, &g) in out.iter_mut().zip(g) {
            *o = g - *o * sum;
        }
    } else {
        let dot = T::from_f64(vector_math::dot_as_f64(g, y));
        for ((o, &g), &y) in out.iter_mut().zip(g).zip(y) {
            o.write(y * (g - dot));
        }
    }
}

/// Applies `per_lane(inputs, out)` to every lane (of length `lane`) of contiguous inputs of
/// `len` elements, on several threads for large inputs.
fn map_lanes<T: Float>(
    len: usize,
    lane: usize,
    per_lane: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    let mut out: Vec<T> = crate::storage::vec_with_capacity(len);
    if let Some(lanes) = len.checked_div(lane) {
        let spare = &mut out.spare_capacity_mut()[..len];
        let work = |start: usize, dst: &mut [MaybeUninit<T>]| {
            crate::kernels::vectorized(|| per_lane(start, dst))
        };
        if crate::parallel::worth_splitting(len, 1 << 15) {
            // A few runs of whole lanes per thread: a hand-off per lane would cost more
            // than a short lane.
            let per_run = lanes.div_ceil(4 * crate::parallel::num_threads());
            crate::parallel::for_each_chunk_mut(spare, per_run * lane, |start, run| {
                for (j, dst) in run.chunks_mut(lane).enumerate() {
                    work(start + j * lane, dst);
                }
            });
        } else {
            spare
                .chunks_mut(lane)
                .enumerate()
                .for_each(|(i, dst)| work(i * lane, dst));
        }
    }
    // SAFETY: `per_lane` wrote every slot of every lane (there are none when `lane` is 0,
    // as then `len` is 0 too).
    unsafe { out.set_len(len) };
    out
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
                let out = map_lanes(values.len(), lane, |start, dst| {
                    softmax_lane(&values[start..start + dst.len()], dst, log)
                });
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
            )?;
        }
        Ok(out)
    }
}
