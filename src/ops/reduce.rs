//! Reductions: `sum mean prod var std norm logsumexp all any`, over everything or over
//! dimensions, and `sum_to`, the helper that sums a broadcast gradient back to an input's
//! shape. One backward struct serves them all (and the extrema in `extrema.rs`): each rule
//! expands the output gradient back over the reduced dimensions and scales it by the rule's
//! factor.

use std::sync::Arc;

use smallvec::smallvec;

use crate::autograd::{needs_grad, record, BackwardCtx, BackwardFn, Grads, SavedTensor};
use crate::dtype::DType;
use crate::error::{runtime_err, Error, Result};
use crate::kernels::reduce::{reduce_lanes, sum_dims, sum_f64};
use crate::layout::{normalize_dim, Layout, Shape};
use crate::storage::Element;
use crate::tensor::Tensor;

/// The dimensions a reduction removes and the shapes around it.
#[derive(Clone)]
pub(crate) struct Reduction {
    /// Reduced dimensions, sorted and unique.
    pub(super) dims: Vec<usize>,
    input_shape: Shape,
    /// The output shape with the reduced dimensions kept as size 1.
    keep_shape: Shape,
    out_shape: Shape,
}

impl Reduction {
    /// Checks `dims` (`None` or empty: all of them) against `t`, with PyTorch's messages.
    pub(super) fn new(t: &Tensor, dims: Option<&[i64]>, keepdim: bool) -> Result<Self> {
        let mut reduced = Vec::new();
        match dims.filter(|d| !d.is_empty()) {
            None => reduced.extend(0..t.ndim()),
            Some(dims) => {
                for &d in dims {
                    let d = normalize_dim(d, t.ndim())?;
                    if reduced.contains(&d) {
                        return Err(runtime_err!(
                            "dim {d} appears multiple times in the list of dims"
                        ));
                    }
                    reduced.push(d);
                }
            }
        }
        reduced.retain(|&d| d < t.ndim()); // a 0-d tensor accepts dim 0 and -1
        reduced.sort_unstable();
        let shape_with = |keep: bool| -> Shape {
            t.shape()
                .iter()
                .enumerate()
                .filter_map(|(d, &n)| match (reduced.contains(&d), keep) {
                    (false, _) => Some(n),
                    (true, true) => Some(1),
                    (true, false) => None,
                })
                .collect()
        };
        Ok(Reduction {
            keep_shape: shape_with(true),
            out_shape: shape_with(keepdim),
            input_shape: t.shape_vec(),
            dims: reduced,
        })
    }

    /// Elements per output value.
    fn lane_len(&self) -> usize {
        self.dims.iter().map(|&d| self.input_shape[d]).product()
    }

    /// A kernel's keepdim-shaped result in the requested output shape.
    pub(super) fn finish(&self, kept: Tensor) -> Tensor {
        kept.with_layout(Layout::contiguous(&self.out_shape))
    }

    /// An output-shaped tensor with the reduced dimensions back as size 1, so it broadcasts
    /// against the input (differentiable).
    fn kept(&self, t: &Tensor) -> Result<Tensor> {
        t.reshape(&self.keep_shape)
    }

    /// PyTorch's error for a reduction without identity over an empty lane.
    pub(super) fn check_nonempty(&self, op: &str, all: bool) -> Result<()> {
        if all && self.input_shape.iter().product::<usize>() == 0 {
            return Err(runtime_err!(
                "{op}(): Expected reduction dim to be specified for input.numel() == 0. \
                 Specify the reduction dim with the 'dim' argument."
            ));
        }
        if let Some(&d) = self.dims.iter().find(|&&d| self.input_shape[d] == 0) {
            return Err(Error::Index(format!(
                "{op}(): Expected reduction dim {d} to have non-zero size."
            )));
        }
        Ok(())
    }
}

/// How a reduction's gradient is spread over its input.
#[derive(Clone, Copy)]
pub(super) enum Rule {
    /// Every element gets the gradient.
    Sum,
    /// Every element gets the gradient over the lane length.
    Mean,
    /// The product of the other elements (zeros handled exactly).
    Prod,
    /// Split evenly among the elements equal to the result (ties of max, min, amax, amin);
    /// with `true`, a NaN result counts as equal to the NaN it came from (`max()`/`min()`,
    /// but not `amax`/`amin`, whose gradient is NaN then, as in PyTorch).
    Evenly(bool),
    /// `2 (x - mean) / (n - correction)`.
    Var(f64),
    /// `(x - mean) / ((n - correction) std)`.
    Std(f64),
    /// The vector p-norm's derivative.
    Norm(f64),
    /// `exp(x - logsumexp)`.
    LogSumExp,
    /// All to the element at the saved index along `dim` (max/min with a dim).
    Select(usize),
}

struct ReduceBackward {
    name: &'static str,
    rule: Rule,
    shape: Reduction,
}

/// `g * exp(x - lse)` in one pass over the last dimension's lanes (the usual
/// `logsumexp(x, -1)`), when nothing needs its graph; `None` otherwise.
fn fused_logsumexp_backward(
    g: &Tensor,
    x: &Tensor,
    lse: &Tensor,
    r: &Reduction,
) -> Result<Option<Tensor>> {
    let last = r.input_shape.len().saturating_sub(1);
    let fits = r.dims == [last]
        && !needs_grad(&[g, x, lse])
        && g.dtype() == x.dtype()
        && lse.dtype() == x.dtype()
        && x.dtype().is_float();
    if !fits {
        return Ok(None);
    }
    let lane = r.input_shape[last];
    let grad = crate::dispatch_float!(x.dtype(), T => {
        x.with_values::<T, _>(|xs| {
            g.with_values::<T, _>(|gs| {
                lse.with_values::<T, _>(|ls| {
                    let mut out: Vec<T> = crate::storage::vec_with_capacity(xs.len());
                    if lane > 0 {
                        let spare = &mut out.spare_capacity_mut()[..xs.len()];
                        crate::kernels::vectorized(|| {
                            for (((dst, src), &gi), &li) in
                                spare.chunks_mut(lane).zip(xs.chunks(lane)).zip(gs).zip(ls)
                            {
                                crate::kernels::vector_math::exp_shifted_into(src, li, dst);
                                for d in dst.iter_mut() {
                                    // SAFETY: `exp_shifted_into` wrote every slot.
                                    let e = unsafe { d.assume_init() };
                                    d.write(e * gi);
                                }
                            }
                        });
                    }
                    // SAFETY: every lane was written above (none exist when `lane` is 0).
                    unsafe { out.set_len(xs.len()) };
                    Tensor::from_buffer(T::into_buffer(out), &r.input_shape)
                })
            })
        })
    }, _ => unreachable!());
    Ok(Some(grad))
}

impl BackwardFn for ReduceBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let r = &self.shape;
        let g = r.kept(ctx.grad())?;
        let n = r.lane_len() as f64;
        let dims: Vec<i64> = r.dims.iter().map(|&d| d as i64).collect();
        let zero = Tensor::wrapped_scalar(0.0);
        let grad = match self.rule {
            Rule::Sum => g.expand(&r.input_shape)?,
            Rule::Mean => g.div_scalar(n)?.expand(&r.input_shape)?,
            Rule::Prod => prod_backward(&g, &ctx.saved(0)?, &r.kept(&ctx.saved(1)?)?, r)?,
            Rule::Evenly(nan_aware) => {
                let x = ctx.saved(0)?;
                let out = r.kept(&ctx.saved(1)?)?;
                let hits = if nan_aware {
                    equal_or_both_nan(&x, &out)?
                } else {
                    x.eq(&out)?
                };
                let hits = hits.cast(x.dtype());
                let count = hits.sum(Some(&dims), true)?;
                g.div(&count)?.mul(&hits)?
            }
            Rule::Var(correction) => {
                let x = ctx.saved(0)?;
                let centered = x.sub(&x.mean(Some(&dims), true)?)?;
                centered.mul(&g.mul_scalar(2.0 / (n - correction))?)?
            }
            Rule::Std(correction) => {
                let x = ctx.saved(0)?;
                let centered = x.sub(&x.mean(Some(&dims), true)?)?;
                let std = r.kept(&ctx.saved(1)?)?;
                let scaled = centered.mul(&g.div(&std.mul_scalar(n - correction)?)?)?;
                // A constant lane (std 0) gets a zero gradient, as in PyTorch.
                Tensor::where_(&std.eq(&zero)?, &zero, &scaled)?
            }
            // The 0-"norm" counts non-zeros: PyTorch leaves its gradient undefined.
            Rule::Norm(0.0) => return Ok(smallvec![None]),
            Rule::Norm(p) => norm_backward(&g, &ctx.saved(0)?, &r.kept(&ctx.saved(1)?)?, p, &dims)?,
            Rule::LogSumExp => {
                let (x, lse) = (ctx.saved(0)?, r.kept(&ctx.saved(1)?)?);
                match fused_logsumexp_backward(&g, &x, &lse, r)? {
                    Some(grad) => grad,
                    None => g.mul(&x.sub(&lse)?.exp()?)?,
                }
            }
            Rule::Select(dim) => {
                let indices = r.kept(&ctx.saved(0)?)?;
                let mut shape = Shape::from_elem(1, r.input_shape.len());
                shape[dim] = r.input_shape[dim];
                let positions = Tensor::arange_i64(r.input_shape[dim]).reshape(&shape)?;
                let hit = positions.eq(&indices)?.expand(&r.input_shape)?;
                Tensor::where_(&hit, &g, &zero)?
            }
        };
        Ok(smallvec![Some(grad)])
    }
}

/// The gradient of a product: `out / x`, with zeros handled exactly. At a zero, the
/// gradient is the product of the other elements: the non-zeros' product times the other
/// zeros, which is 1 with no other zero, the other zero itself with one (kept as a
/// differentiable `sum of zeros - x`, so second derivatives come out right), and 0 beyond.
fn prod_backward(g: &Tensor, x: &Tensor, out: &Tensor, r: &Reduction) -> Result<Tensor> {
    let zero = Tensor::wrapped_scalar(0.0);
    let is_zero = x.eq(&zero)?;
    let any_zero = is_zero.with_values::<bool, _>(|v| v.iter().any(|&z| z));
    if !any_zero {
        return g.mul(&out.div(x)?);
    }
    let one = Tensor::wrapped_scalar(1.0);
    let dims: Vec<i64> = r.dims.iter().map(|&d| d as i64).collect();
    let x_safe = Tensor::where_(&is_zero, &one, x)?;
    let nonzero_product = x_safe
        .prod_over(r.clone(), "ProdBackward1")?
        .reshape(&r.keep_shape)?;
    let zeros = is_zero.sum(Some(&dims), true)?;
    let zero_sum = Tensor::where_(&is_zero, x, &zero)?.sum(Some(&dims), true)?;
    let other_zeros = Tensor::where_(
        &zeros.eq(&Tensor::wrapped_int(1))?,
        &one,
        &Tensor::where_(
            &zeros.eq(&Tensor::wrapped_int(2))?,
            &zero_sum.sub(x)?,
            &zero,
        )?,
    )?;
    let at_zero = nonzero_product.mul(&other_zeros)?;
    let factor = Tensor::where_(&is_zero, &at_zero, &out.div(&x_safe)?)?;
    g.mul(&factor)
}

/// The gradient of the p-norm, 0 where the norm is 0.
fn norm_backward(g: &Tensor, x: &Tensor, norm: &Tensor, p: f64, dims: &[i64]) -> Result<Tensor> {
    let zero = Tensor::wrapped_scalar(0.0);
    if p == 1.0 {
        return x.sign()?.mul(g);
    }
    if p.is_infinite() {
        let hits = x.abs()?.eq(norm)?.cast(x.dtype());
        let count = hits.sum(Some(dims), true)?;
        return x.sign()?.mul(&hits)?.mul(&g.div(&count)?);
    }
    let norm_is_zero = norm.eq(&zero)?;
    let scale = if p == 2.0 {
        g.div(norm)?
    } else {
        g.div(&norm.pow_scalar(p - 1.0)?)?
    };
    let scale = Tensor::where_(&norm_is_zero, &zero, &scale)?;
    if p == 2.0 {
        return x.mul(&scale);
    }
    // x |x|^(p-2) is 0 * inf at x = 0 for p < 2; its limit (and PyTorch's value) is 0.
    let direction = x.mul(&x.abs()?.pow_scalar(p - 2.0)?)?;
    Tensor::where_(&x.eq(&zero)?, &zero, &direction.mul(&scale)?)
}

/// Where `a == b`, counting NaN as equal to NaN (which element a NaN maximum came from).
fn equal_or_both_nan(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    #[allow(clippy::eq_op)] // x != x is the generic NaN test
    let same = |x: f64, y: f64| x == y || (x != x && y != y);
    crate::kernels::elementwise::zip::<f64, bool>(&a.cast(DType::F64), &b.cast(DType::F64), same)
}

/// Whether a tensor's dtype is float, with PyTorch's error otherwise.
fn require_float(t: &Tensor, message: &str) -> Result<()> {
    if t.dtype().is_float() {
        Ok(())
    } else {
        Err(Error::NotImplemented(format!(
            "{message}{}",
            t.dtype().scalar_type_name()
        )))
    }
}

impl Tensor {
    /// Records `out` as a reduction of `self` under `rule`.
    pub(super) fn record_reduction(
        &self,
        out: &Tensor,
        name: &'static str,
        rule: Rule,
        shape: Reduction,
        saved: &[SavedTensor],
    ) -> Result<()> {
        if needs_grad(&[self]) {
            let backward = ReduceBackward { name, rule, shape };
            record(
                &[self],
                out,
                Arc::new(backward),
                saved.iter().cloned().collect(),
            )?;
        }
        Ok(())
    }

    /// Sums over `dims` (all when `None`), keeping them as size 1 when `keepdim`.
    /// Integers and bools sum to int64, as in PyTorch.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(t.sum(Some(&[0]), false)?.to_vec::<f32>(), vec![4.0, 6.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn sum(&self, dims: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        let r = Reduction::new(self, dims, keepdim)?;
        let out = r.finish(self.summed(&r.dims));
        let name = if dims.is_none() {
            "SumBackward0"
        } else {
            "SumBackward1"
        };
        self.record_reduction(&out, name, Rule::Sum, r, &[])?;
        Ok(out)
    }

    /// The sum over `dims` as a keepdim-shaped tensor, without autograd.
    fn summed(&self, dims: &[usize]) -> Tensor {
        crate::dispatch!(self.dtype(), T => match self.dtype() {
            DType::F32 => sum_dims::<T, f32>(self, dims),
            DType::F64 => sum_dims::<T, f64>(self, dims),
            _ => sum_dims::<T, i64>(self, dims),
        })
    }

    /// The mean over `dims` (all when `None`); float tensors only, as in PyTorch.
    pub fn mean(&self, dims: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        require_float(
            self,
            "mean(): could not infer output dtype. Input dtype must be either a floating \
             point or complex dtype. Got: ",
        )?;
        let r = Reduction::new(self, dims, keepdim)?;
        let n = r.lane_len() as f64;
        let out = crate::dispatch_float!(self.dtype(), T => {
            let sums = sum_dims::<T, f64>(self, &r.dims);
            crate::kernels::elementwise::map::<f64, T>(&sums, |s| T::from_f64(s / n))
        }, _ => unreachable!());
        let out = r.finish(out);
        let name = if dims.is_none() {
            "MeanBackward0"
        } else {
            "MeanBackward1"
        };
        self.record_reduction(&out, name, Rule::Mean, r, &[])?;
        Ok(out)
    }

    /// The product of all elements, or along `dim`. Integers and bools give int64.
    pub fn prod(&self, dim: Option<i64>, keepdim: bool) -> Result<Tensor> {
        let dims = dim.map(|d| [d]);
        let r = Reduction::new(self, dims.as_ref().map(|d| &d[..]), keepdim)?;
        let name = if dim.is_none() {
            "ProdBackward0"
        } else {
            "ProdBackward1"
        };
        self.prod_over(r, name)
    }

    fn prod_over(&self, r: Reduction, name: &'static str) -> Result<Tensor> {
        let out = crate::dispatch!(self.dtype(), T => match self.dtype() {
            DType::F32 | DType::F64 => reduce_lanes::<T, T>(self, &r.dims, |lane| {
                T::from_f64(lane.iter().fold(1.0, |acc, x| acc * x.to_f64()))
            }),
            _ => reduce_lanes::<T, i64>(self, &r.dims, |lane| {
                lane.iter().fold(1i64, |acc, x| acc.wrapping_mul(x.to_i64()))
            }),
        });
        let out = r.finish(out);
        let saved = [SavedTensor::input(self), SavedTensor::output(&out)];
        self.record_reduction(&out, name, Rule::Prod, r, &saved)?;
        Ok(out)
    }

    /// The variance over `dims` with `correction` (1: Bessel's, the default).
    pub fn var(&self, dims: Option<&[i64]>, correction: f64, keepdim: bool) -> Result<Tensor> {
        self.moment(dims, correction, keepdim, false)
    }

    /// The standard deviation over `dims` with `correction`.
    pub fn std(&self, dims: Option<&[i64]>, correction: f64, keepdim: bool) -> Result<Tensor> {
        self.moment(dims, correction, keepdim, true)
    }

    fn moment(
        &self,
        dims: Option<&[i64]>,
        correction: f64,
        keepdim: bool,
        root: bool,
    ) -> Result<Tensor> {
        if !self.dtype().is_float() {
            return Err(Error::NotImplemented(
                "std and var only support floating point and complex dtypes".into(),
            ));
        }
        let r = Reduction::new(self, dims, keepdim)?;
        let dof = (r.lane_len() as f64 - correction).max(0.0);
        let out = crate::dispatch_float!(self.dtype(), T => reduce_lanes::<T, T>(self, &r.dims, |lane| {
            let mean = sum_f64(lane) / lane.len() as f64;
            let squares = lane.iter().map(|x| (x.to_f64() - mean).powi(2)).sum::<f64>();
            let var = squares / dof;
            T::from_f64(if root { var.sqrt() } else { var })
        }), _ => unreachable!());
        let out = r.finish(out);
        let (name, rule) = if root {
            ("StdBackward0", Rule::Std(correction))
        } else {
            ("VarBackward0", Rule::Var(correction))
        };
        let saved = [SavedTensor::input(self), SavedTensor::output(&out)];
        self.record_reduction(&out, name, rule, r, &saved)?;
        Ok(out)
    }

    /// The vector p-norm over `dims` (all when `None`): `p = 2` is the Euclidean norm,
    /// `inf`/`-inf` the largest/smallest magnitude, `0` the count of non-zeros.
    pub fn norm(&self, p: f64, dims: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        require_float(
            self,
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got ",
        )?;
        let r = Reduction::new(self, dims, keepdim)?;
        if p.is_infinite() && self.numel() == 0 {
            if dims.is_none() {
                return Err(runtime_err!(
                    "linalg.vector_norm cannot compute the {p} norm on an empty tensor because \
                     the operation does not have an identity"
                ));
            }
            if let Some(&d) = r.dims.iter().find(|&&d| self.shape()[d] == 0) {
                // PyTorch's message, missing space included.
                return Err(runtime_err!(
                    "linalg.vector_norm cannot compute the {p} norm on the dimension {d}because \
                     this dimension is empty and the operation does not have an identity"
                ));
            }
        }
        let out = crate::dispatch_float!(self.dtype(), T => reduce_lanes::<T, T>(self, &r.dims, |lane| {
            let abs = lane.iter().map(|x| x.to_f64().abs());
            // Folds start from +0.0: `Sum` for floats starts at -0.0.
            let value = if p == 2.0 {
                abs.map(|a| a * a).fold(0.0, |s, v| s + v).sqrt()
            } else if p == 1.0 {
                abs.fold(0.0, |s, v| s + v)
            } else if p == f64::INFINITY {
                abs.fold(0.0, f64::max)
            } else if p == f64::NEG_INFINITY {
                abs.fold(f64::INFINITY, f64::min)
            } else if p == 0.0 {
                abs.filter(|&a| a != 0.0).count() as f64
            } else {
                abs.map(|a| a.powf(p)).fold(0.0, |s, v| s + v).powf(1.0 / p)
            };
            T::from_f64(value)
        }), _ => unreachable!());
        let out = r.finish(out);
        let saved = [SavedTensor::input(self), SavedTensor::output(&out)];
        self.record_reduction(&out, "LinalgVectorNormBackward0", Rule::Norm(p), r, &saved)?;
        Ok(out)
    }

    /// `log(sum(exp(x)))` over `dims`, computed stably. Integers are promoted to the
    /// default float dtype.
    pub fn logsumexp(&self, dims: &[i64], keepdim: bool) -> Result<Tensor> {
        if !self.dtype().is_float() {
            return self
                .to_dtype(crate::default_float_dtype())?
                .logsumexp(dims, keepdim);
        }
        let r = Reduction::new(self, Some(dims), keepdim)?;
        let out = crate::dispatch_float!(self.dtype(), T => reduce_lanes::<T, T>(self, &r.dims, |lane| {
            let max = crate::ops::softmax::lane_max(lane);
            if max.to_f64().is_infinite() {
                return max;
            }
            let sum = crate::ops::softmax::exp_sum(lane, max);
            T::from_f64(max.to_f64() + sum.ln())
        }), _ => unreachable!());
        let out = r.finish(out);
        let saved = [SavedTensor::input(self), SavedTensor::output(&out)];
        self.record_reduction(&out, "LogsumexpBackward0", Rule::LogSumExp, r, &saved)?;
        Ok(out)
    }

    /// Whether every element is non-zero, over `dims` (all when `None`); a bool tensor.
    pub fn all(&self, dims: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        if dims.is_some_and(|d| d.is_empty()) {
            // `dim=()` reduces nothing here, unlike `sum` (PyTorch's rule).
            return Ok(self.cast(DType::Bool).contiguous_copy());
        }
        let r = Reduction::new(self, dims, keepdim)?;
        let out = crate::dispatch!(self.dtype(), T => reduce_lanes::<T, bool>(self, &r.dims, |lane| {
            lane.iter().all(|&x| x != T::default())
        }));
        Ok(r.finish(out))
    }

    /// Whether any element is non-zero, over `dims` (all when `None`); a bool tensor.
    pub fn any(&self, dims: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        if dims.is_some_and(|d| d.is_empty()) {
            return Ok(self.cast(DType::Bool).contiguous_copy());
        }
        let r = Reduction::new(self, dims, keepdim)?;
        let out = crate::dispatch!(self.dtype(), T => reduce_lanes::<T, bool>(self, &r.dims, |lane| {
            lane.iter().any(|&x| x != T::default())
        }));
        Ok(r.finish(out))
    }

    /// `0, 1, ..., n - 1` as int64 (no autograd).
    pub(crate) fn arange_i64(n: usize) -> Tensor {
        Tensor::from_buffer(i64::into_buffer((0..n as i64).collect()), &[n])
    }

    /// Sums a tensor broadcast from `shape` back to `shape`: over the leading extra
    /// dimensions and over every dimension where `shape` has size 1. Differentiable (its
    /// backward is `expand`), so broadcasting works under `create_graph`.
    pub fn sum_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let lead = self.ndim().checked_sub(shape.len()).ok_or_else(|| {
            runtime_err!(
                "cannot sum a tensor of shape {:?} to shape {shape:?}",
                self.shape()
            )
        })?;
        let dims: Vec<i64> = (0..self.ndim())
            .filter(|&d| d < lead || (shape[d - lead] == 1 && self.shape()[d] != 1))
            .map(|d| d as i64)
            .collect();
        let summed = if dims.is_empty() {
            self.clone()
        } else {
            self.sum(Some(&dims), true)?
        };
        if summed.shape() == shape {
            Ok(summed)
        } else {
            summed.reshape(shape)
        }
    }
}
