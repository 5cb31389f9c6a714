//! Loss functions, each one recorded op with PyTorch's `grad_fn` name (`MseLossBackward0`,
//! `BinaryCrossEntropyBackward0`, `BinaryCrossEntropyWithLogitsBackward0`, `NllLossBackward0`).
//!
//! The pointwise losses compute their forward with unrecorded engine ops and write their
//! backward in differentiable ops, so double backward works through them. `nll_loss` runs one
//! fused loop each way: it sits at the end of every classifier's training step.

use std::sync::Arc;

use smallvec::smallvec;

use super::reduce_grad;
use crate::autograd::{
    needs_grad, record, BackwardCtx, BackwardFn, Grads, SavedTensor, SavedValue,
};
use crate::dtype::DType;
use crate::error::{runtime_err, Error, Result};
use crate::grad_mode::GradModeGuard;
use crate::storage::{Element, Float};
use crate::tensor::Tensor;

/// How a loss combines its per-element values (PyTorch's `reduction=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// One loss per element.
    None,
    /// The mean over elements (or the weighted mean, for `nll_loss` with `weight`).
    Mean,
    /// The sum over elements.
    Sum,
}

impl Reduction {
    /// Parses PyTorch's spelling, with its error for anything else.
    ///
    /// ```
    /// use autodiff::Reduction;
    /// assert_eq!(Reduction::parse("sum").unwrap(), Reduction::Sum);
    /// assert!(Reduction::parse("average").is_err());
    /// ```
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "none" => Ok(Reduction::None),
            "mean" => Ok(Reduction::Mean),
            "sum" => Ok(Reduction::Sum),
            _ => Err(Error::Value(format!(
                "{name} is not a valid value for reduction"
            ))),
        }
    }

    /// PyTorch's name, for `_saved_reduction`-style introspection and reprs.
    pub fn name(self) -> &'static str {
        match self {
            Reduction::None => "none",
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        }
    }

    fn reduce(self, losses: Tensor) -> Result<Tensor> {
        match self {
            Reduction::None => Ok(losses),
            Reduction::Mean => losses.mean(None, false),
            Reduction::Sum => losses.sum(None, false),
        }
    }

    /// The gradient reaching each unreduced loss element, shaped like them.
    fn spread(self, grad: &Tensor, shape: &[usize]) -> Result<Tensor> {
        match self {
            Reduction::None => Ok(grad.clone()),
            Reduction::Sum => grad.expand(shape),
            Reduction::Mean => {
                let count = shape.iter().product::<usize>() as f64;
                grad.div_scalar(count)?.expand(shape)
            }
        }
    }
}

/// A loss computed element by element from `input` and `target` (broadcast together), then
/// reduced. `extra` holds the optional weights, saved with the node.
trait PointwiseLoss: Send + Sync + 'static {
    const GRAD_FN: &'static str;
    /// PyTorch's function name, for the error about differentiating through a weight.
    const FUNCTION: &'static str;
    /// The saved-slot names of `extra`, after `self` and `target`.
    const EXTRA_NAMES: &'static [&'static str];
    /// The unreduced losses; runs with grad mode off.
    fn losses(x: &Tensor, t: &Tensor, extra: &[Option<Tensor>]) -> Result<Tensor>;
    /// `g` times the derivatives of each element's loss with respect to `x` and `t`.
    fn derivatives(
        g: &Tensor,
        x: &Tensor,
        t: &Tensor,
        extra: &[Option<Tensor>],
        needs: [bool; 2],
    ) -> Result<[Option<Tensor>; 2]>;
}

struct PointwiseBackward<L> {
    reduction: Reduction,
    /// Which of the extra tensors were given; they are saved after input and target.
    has_extra: Vec<bool>,
    loss_shape: Vec<usize>,
    marker: std::marker::PhantomData<L>,
}

impl<L: PointwiseLoss> BackwardFn for PointwiseBackward<L> {
    fn name(&self) -> &'static str {
        L::GRAD_FN
    }

    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let (x, t) = (ctx.saved(0)?, ctx.saved(1)?);
        let mut next = 2;
        let mut extra = Vec::with_capacity(self.has_extra.len());
        for &given in &self.has_extra {
            extra.push(if given {
                next += 1;
                Some(ctx.saved(next - 1)?)
            } else {
                None
            });
        }
        let g = self.reduction.spread(ctx.grad(), &self.loss_shape)?;
        let needs = [ctx.needs_input_grad(0), ctx.needs_input_grad(1)];
        let [dx, dt] = L::derivatives(&g, &x, &t, &extra, needs)?;
        let back = |d: Option<Tensor>, like: &Tensor| {
            d.map(|d| reduce_grad(d, like.shape(), like.dtype()))
                .transpose()
        };
        Ok(smallvec![back(dx, &x)?, back(dt, &t)?])
    }

    fn saved_names(&self) -> Vec<&'static str> {
        let mut names = vec!["self", "target"];
        names.extend(
            L::EXTRA_NAMES
                .iter()
                .zip(&self.has_extra)
                .filter(|(_, &given)| given)
                .map(|(name, _)| *name),
        );
        names
    }

    fn saved_values(&self) -> Vec<(&'static str, SavedValue)> {
        let mut values = vec![("reduction", SavedValue::Str(self.reduction.name()))];
        for (name, &given) in L::EXTRA_NAMES.iter().zip(&self.has_extra) {
            if !given {
                values.push((name, SavedValue::None));
            }
        }
        values
    }
}

fn pointwise<L: PointwiseLoss>(
    x: &Tensor,
    t: &Tensor,
    extra: &[Option<&Tensor>],
    reduction: Reduction,
) -> Result<Tensor> {
    for (name, e) in L::EXTRA_NAMES.iter().zip(extra) {
        check_not_differentiable(L::FUNCTION, name, *e)?;
    }
    let owned: Vec<Option<Tensor>> = extra.iter().map(|e| e.cloned()).collect();
    let (out, loss_shape) = {
        let _off = GradModeGuard::new(false);
        let losses = L::losses(x, t, &owned)?;
        let shape = losses.shape().to_vec();
        (reduction.reduce(losses)?, shape)
    };
    if needs_grad(&[x, t]) {
        let mut saved = smallvec![SavedTensor::input(x), SavedTensor::input(t)];
        saved.extend(extra.iter().flatten().map(|e| SavedTensor::input(e)));
        let backward = PointwiseBackward::<L> {
            reduction,
            has_extra: extra.iter().map(Option::is_some).collect(),
            loss_shape,
            marker: std::marker::PhantomData,
        };
        record(&[x, t], &out, Arc::new(backward), saved)?;
    }
    Ok(out)
}

/// PyTorch's refusal of a weight that requires grad: the losses have no gradient for it.
fn check_not_differentiable(function: &str, argument: &str, t: Option<&Tensor>) -> Result<()> {
    if t.is_some_and(|t| needs_grad(&[t])) {
        return Err(runtime_err!(
            "The function '{function}' is not differentiable with respect to argument \
             '{argument}'. This input cannot have requires_grad True."
        ));
    }
    Ok(())
}

fn weighted(losses: Tensor, weight: Option<&Tensor>) -> Result<Tensor> {
    match weight {
        Some(w) => losses.mul(w),
        None => Ok(losses),
    }
}

struct Mse;

impl PointwiseLoss for Mse {
    const GRAD_FN: &'static str = "MseLossBackward0";
    const FUNCTION: &'static str = "mse_loss";
    const EXTRA_NAMES: &'static [&'static str] = &[];

    fn losses(x: &Tensor, t: &Tensor, _: &[Option<Tensor>]) -> Result<Tensor> {
        let diff = x.sub(t)?;
        diff.mul(&diff)
    }

    // d/dx (x - t)^2 = 2 (x - t) = -d/dt
    fn derivatives(
        g: &Tensor,
        x: &Tensor,
        t: &Tensor,
        _: &[Option<Tensor>],
        needs: [bool; 2],
    ) -> Result<[Option<Tensor>; 2]> {
        let dx = x.sub(t)?.mul_scalar(2.0)?.mul(g)?;
        let dt = if needs[1] { Some(dx.neg()?) } else { None };
        Ok([needs[0].then_some(dx), dt])
    }
}

/// PyTorch clamps each log at -100, so a probability of exactly 0 or 1 gives a finite loss.
const LOG_FLOOR: f64 = -100.0;
/// PyTorch's floor under `x (1 - x)` in the gradient of binary cross-entropy.
const BCE_GRAD_EPSILON: f64 = 1e-12;

struct BinaryCrossEntropy;

impl BinaryCrossEntropy {
    fn clamped_logs(x: &Tensor) -> Result<(Tensor, Tensor)> {
        let log_x = x.log()?.clamp(Some(LOG_FLOOR), None)?;
        let log_1mx = x.rsub_scalar(1.0)?.log()?.clamp(Some(LOG_FLOOR), None)?;
        Ok((log_x, log_1mx))
    }
}

impl PointwiseLoss for BinaryCrossEntropy {
    const GRAD_FN: &'static str = "BinaryCrossEntropyBackward0";
    const FUNCTION: &'static str = "binary_cross_entropy";
    const EXTRA_NAMES: &'static [&'static str] = &["weight"];

    // -w [t log x + (1 - t) log(1 - x)]
    fn losses(x: &Tensor, t: &Tensor, extra: &[Option<Tensor>]) -> Result<Tensor> {
        let in_range = crate::dispatch_float!(x.dtype(), T => x.with_values::<T, _>(|v| {
            v.iter().all(|p| (T::ZERO..=T::ONE).contains(p))
        }), _ => true);
        if !in_range {
            return Err(runtime_err!(
                "all elements of input should be between 0 and 1"
            ));
        }
        let (log_x, log_1mx) = Self::clamped_logs(x)?;
        let losses = t
            .mul(&log_x)?
            .add(&t.rsub_scalar(1.0)?.mul(&log_1mx)?)?
            .neg()?;
        weighted(losses, extra[0].as_ref())
    }

    // d/dx = w (x - t) / max(x (1 - x), eps);  d/dt = w [log(1 - x) - log x]
    fn derivatives(
        g: &Tensor,
        x: &Tensor,
        t: &Tensor,
        extra: &[Option<Tensor>],
        needs: [bool; 2],
    ) -> Result<[Option<Tensor>; 2]> {
        let g = weighted(g.clone(), extra[0].as_ref())?;
        let dx = if needs[0] {
            let denom = x
                .mul(&x.rsub_scalar(1.0)?)?
                .clamp(Some(BCE_GRAD_EPSILON), None)?;
            Some(x.sub(t)?.div(&denom)?.mul(&g)?)
        } else {
            None
        };
        let dt = if needs[1] {
            let (log_x, log_1mx) = Self::clamped_logs(x)?;
            Some(log_1mx.sub(&log_x)?.mul(&g)?)
        } else {
            None
        };
        Ok([dx, dt])
    }
}

struct BinaryCrossEntropyWithLogits;

impl BinaryCrossEntropyWithLogits {
    /// `log(1 + e^-x)`, computed without overflow for large `|x|`.
    fn softplus_of_negative(x: &Tensor) -> Result<Tensor> {
        let tail = x.abs()?.neg()?.exp()?.log1p()?;
        tail.add(&x.neg()?.relu()?)
    }

    /// `1 + (pos_weight - 1) t`: how much the positive term counts.
    fn log_weight(t: &Tensor, pos_weight: Option<&Tensor>) -> Result<Option<Tensor>> {
        pos_weight
            .map(|pw| pw.sub_scalar(1.0)?.mul(t)?.add_scalar(1.0))
            .transpose()
    }
}

impl PointwiseLoss for BinaryCrossEntropyWithLogits {
    const GRAD_FN: &'static str = "BinaryCrossEntropyWithLogitsBackward0";
    const FUNCTION: &'static str = "binary_cross_entropy_with_logits";
    const EXTRA_NAMES: &'static [&'static str] = &["weight", "pos_weight"];

    // w [(1 - t) x + l softplus(-x)], l = 1 + (pos_weight - 1) t
    fn losses(x: &Tensor, t: &Tensor, extra: &[Option<Tensor>]) -> Result<Tensor> {
        let softplus = Self::softplus_of_negative(x)?;
        let softplus = match Self::log_weight(t, extra[1].as_ref())? {
            Some(l) => softplus.mul(&l)?,
            None => softplus,
        };
        let losses = t.rsub_scalar(1.0)?.mul(x)?.add(&softplus)?;
        weighted(losses, extra[0].as_ref())
    }

    // d/dx = w [l sigmoid(x) - pos_weight t];  d/dt = w [(pos_weight - 1) softplus(-x) - x]
    fn derivatives(
        g: &Tensor,
        x: &Tensor,
        t: &Tensor,
        extra: &[Option<Tensor>],
        needs: [bool; 2],
    ) -> Result<[Option<Tensor>; 2]> {
        let g = weighted(g.clone(), extra[0].as_ref())?;
        let pos_weight = extra[1].as_ref();
        let dx = if needs[0] {
            let sigmoid = x.sigmoid()?;
            let d = match (Self::log_weight(t, pos_weight)?, pos_weight) {
                (Some(l), Some(pw)) => sigmoid.mul(&l)?.sub(&pw.mul(t)?)?,
                _ => sigmoid.sub(t)?,
            };
            Some(d.mul(&g)?)
        } else {
            None
        };
        let dt = if needs[1] {
            let d = match pos_weight {
                Some(pw) => pw
                    .sub_scalar(1.0)?
                    .mul(&Self::softplus_of_negative(x)?)?
                    .sub(x)?,
                None => x.neg()?,
            };
            Some(d.mul(&g)?)
        } else {
            None
        };
        Ok([dx, dt])
    }
}

impl Tensor {
    /// Mean squared error between `self` and `target` (PyTorch's `F.mse_loss`).
    ///
    /// ```
    /// use autodiff::{Reduction, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    /// let t = Tensor::from_vec(vec![0.0f32, 0.0], &[2]).unwrap();
    /// assert_eq!(x.mse_loss(&t, Reduction::Mean).unwrap().item().unwrap(), 2.5);
    /// ```
    pub fn mse_loss(&self, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
        pointwise::<Mse>(self, target, &[], reduction)
    }

    /// Binary cross-entropy of probabilities `self` against `target` (PyTorch's
    /// `F.binary_cross_entropy`); each log is clamped at -100 as in PyTorch.
    ///
    /// ```
    /// use autodiff::{Reduction, Tensor};
    /// let p = Tensor::from_vec(vec![0.5f64], &[1]).unwrap();
    /// let t = Tensor::from_vec(vec![1.0f64], &[1]).unwrap();
    /// let loss = p.binary_cross_entropy(&t, None, Reduction::Sum).unwrap();
    /// assert!((loss.item().unwrap() - std::f64::consts::LN_2).abs() < 1e-12);
    /// ```
    pub fn binary_cross_entropy(
        &self,
        target: &Tensor,
        weight: Option<&Tensor>,
        reduction: Reduction,
    ) -> Result<Tensor> {
        pointwise::<BinaryCrossEntropy>(self, target, &[weight], reduction)
    }

    /// Binary cross-entropy on logits `self` (PyTorch's
    /// `F.binary_cross_entropy_with_logits`), stable for logits of any size.
    ///
    /// ```
    /// use autodiff::{Reduction, Tensor};
    /// let z = Tensor::from_vec(vec![0.0f64], &[1]).unwrap();
    /// let t = Tensor::from_vec(vec![1.0f64], &[1]).unwrap();
    /// let loss = z.binary_cross_entropy_with_logits(&t, None, None, Reduction::Mean).unwrap();
    /// assert!((loss.item().unwrap() - std::f64::consts::LN_2).abs() < 1e-12);
    /// ```
    pub fn binary_cross_entropy_with_logits(
        &self,
        target: &Tensor,
        weight: Option<&Tensor>,
        pos_weight: Option<&Tensor>,
        reduction: Reduction,
    ) -> Result<Tensor> {
        pointwise::<BinaryCrossEntropyWithLogits>(self, target, &[weight, pos_weight], reduction)
    }

    /// Negative log-likelihood of class indices `target` under log-probabilities `self` of
    /// shape `(N, C)` or `(C,)` (PyTorch's `F.nll_loss`). Rows whose target is
    /// `ignore_index` count for nothing; `Mean` divides by the summed weights of the rest.
    ///
    /// ```
    /// use autodiff::{Reduction, Tensor};
    /// let logp = Tensor::from_vec(vec![-0.1f32, -2.0, -3.0, -0.2], &[2, 2]).unwrap();
    /// let target = Tensor::from_vec(vec![0i64, 1], &[2]).unwrap();
    /// let loss = logp.nll_loss(&target, None, -100, Reduction::Mean).unwrap();
    /// assert!((loss.item().unwrap() - 0.15).abs() < 1e-6);
    /// ```
    pub fn nll_loss(
        &self,
        target: &Tensor,
        weight: Option<&Tensor>,
        ignore_index: i64,
        reduction: Reduction,
    ) -> Result<Tensor> {
        let plan = NllPlan::new(self, target, weight)?;
        check_not_differentiable("nll_loss_forward", "weight", weight)?;
        if !self.dtype().is_float() {
            return Err(Error::NotImplemented(format!(
                "\"nll_loss_out_frame\" not implemented for '{}'",
                self.dtype().scalar_type_name()
            )));
        }
        let weights = weight.map(|w| w.to_vec::<f64>());
        let rows = plan.rows(&target.to_vec::<i64>(), weights.as_deref(), ignore_index)?;
        let total_weight: f64 = rows.iter().map(|r| r.weight).sum();
        let picked = crate::dispatch_float!(self.dtype(), T => self.with_values::<T, _>(|v| {
            rows.iter().map(|r| match r.class {
                Some(c) => -r.weight * v[r.index * plan.classes + c].to_f64(),
                None => 0.0,
            }).collect::<Vec<f64>>()
        }), _ => unreachable!("checked above"));
        let out = match reduction {
            Reduction::None => Tensor::from_vec(picked, target.shape())?.cast(self.dtype()),
            Reduction::Sum => Tensor::full(&[], picked.iter().sum(), self.dtype()),
            Reduction::Mean => {
                Tensor::full(&[], picked.iter().sum::<f64>() / total_weight, self.dtype())
            }
        };
        if needs_grad(&[self]) {
            let mut saved = smallvec![SavedTensor::input(self), SavedTensor::input(target)];
            if let Some(w) = weight {
                saved.push(SavedTensor::input(w));
            }
            let backward = NllLossBackward {
                rows,
                classes: plan.classes,
                input_shape: self.shape().to_vec(),
                dtype: self.dtype(),
                total_weight,
                reduction,
                ignore_index,
                has_weight: weight.is_some(),
            };
            record(&[self], &out, Arc::new(backward), saved)?;
        }
        Ok(out)
    }
}

/// The checked shapes of an `nll_loss` call.
struct NllPlan {
    batch: usize,
    classes: usize,
}

/// One target row: its class (`None` when ignored) and the weight it carries.
#[derive(Clone, Copy)]
struct NllRow {
    index: usize,
    class: Option<usize>,
    weight: f64,
}

impl NllPlan {
    fn new(x: &Tensor, target: &Tensor, weight: Option<&Tensor>) -> Result<Self> {
        if target.dtype() != DType::I64 {
            return Err(runtime_err!(
                "expected target dtype to be Long or Byte, but got {}",
                target.dtype().scalar_type_name()
            ));
        }
        let (batch, classes) = match x.shape() {
            [c] => (1, *c),
            [n, c] => (*n, *c),
            _ => return Err(runtime_err!("input tensor should be 1D or 2D")),
        };
        if target.ndim() > 1 {
            return Err(runtime_err!(
                "0D or 1D target tensor expected, multi-target not supported"
            ));
        }
        if x.ndim() == 2 && (target.ndim() != 1 || target.numel() != batch) {
            return Err(Error::Value(format!(
                "Expected input batch_size ({batch}) to match target batch_size ({}).",
                target.numel()
            )));
        }
        if x.ndim() == 1 && target.numel() != 1 {
            return Err(Error::Value(format!(
                "Expected input batch_size (1) to match target batch_size ({}).",
                target.numel()
            )));
        }
        if let Some(w) = weight {
            if w.numel() != classes {
                return Err(runtime_err!(
                    "weight tensor should be defined either for all {classes} classes or no \
                     classes but got weight tensor of shape: {:?}",
                    w.shape()
                ));
            }
        }
        Ok(NllPlan { batch, classes })
    }

    fn rows(&self, targets: &[i64], weights: Option<&[f64]>, ignore: i64) -> Result<Vec<NllRow>> {
        let mut rows = Vec::with_capacity(self.batch);
        for (index, &t) in targets.iter().enumerate() {
            if t == ignore {
                rows.push(NllRow {
                    index,
                    class: None,
                    weight: 0.0,
                });
                continue;
            }
            if t < 0 || t as usize >= self.classes {
                return Err(Error::Index(format!("Target {t} is out of bounds.")));
            }
            let class = t as usize;
            rows.push(NllRow {
                index,
                class: Some(class),
                weight: weights.map_or(1.0, |w| w[class]),
            });
        }
        Ok(rows)
    }
}

struct NllLossBackward {
    rows: Vec<NllRow>,
    classes: usize,
    input_shape: Vec<usize>,
    dtype: DType,
    total_weight: f64,
    reduction: Reduction,
    ignore_index: i64,
    has_weight: bool,
}

impl NllLossBackward {
    /// The gradient with respect to the input: `-weight * scale` at each row's target class
    /// and zero elsewhere, where `scale(row)` is the gradient reaching that row's loss.
    fn sparse_grad(&self, scale: impl Fn(usize) -> f64) -> Result<Tensor> {
        crate::dispatch_float!(self.dtype, T => {
            let mut values = vec![T::ZERO; self.rows.len() * self.classes];
            for row in &self.rows {
                if let Some(c) = row.class {
                    values[row.index * self.classes + c] = T::from_f64(-row.weight * scale(row.index));
                }
            }
            Tensor::from_vec(values, &self.input_shape)
        }, _ => unreachable!("nll_loss only records float inputs"))
    }
}

impl BackwardFn for NllLossBackward {
    fn name(&self) -> &'static str {
        "NllLossBackward0"
    }

    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad();
        let mean_scale = 1.0 / self.total_weight;
        if ctx.create_graph && g.requires_grad() {
            // The gradient is linear in `g`: a fixed sparse matrix times `g`, so the same
            // product recorded through `mul` gives double backward for free.
            let unit = self.sparse_grad(|_| 1.0)?;
            let g = match self.reduction {
                Reduction::None if self.input_shape.len() == 2 => g.unsqueeze(1)?,
                Reduction::Mean => g.mul_scalar(mean_scale)?,
                _ => g.clone(),
            };
            return Ok(smallvec![Some(unit.mul(&g)?)]);
        }
        let grad = match self.reduction {
            Reduction::None => {
                let per_row = g.to_vec::<f64>();
                self.sparse_grad(|i| per_row[i])?
            }
            Reduction::Sum => {
                let g = g.item()?;
                self.sparse_grad(|_| g)?
            }
            Reduction::Mean => {
                let g = g.item()? * mean_scale;
                self.sparse_grad(|_| g)?
            }
        };
        Ok(smallvec![Some(grad)])
    }

    fn saved_names(&self) -> Vec<&'static str> {
        let mut names = vec!["self", "target"];
        if self.has_weight {
            names.push("weight");
        }
        names
    }

    fn saved_values(&self) -> Vec<(&'static str, SavedValue)> {
        let mut values = vec![
            ("reduction", SavedValue::Str(self.reduction.name())),
            ("ignore_index", SavedValue::Int(self.ignore_index)),
            ("total_weight", SavedValue::Float(self.total_weight)),
        ];
        if !self.has_weight {
            values.push(("weight", SavedValue::None));
        }
        values
    }
}
