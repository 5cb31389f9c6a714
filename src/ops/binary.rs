//! Elementwise ops of two tensors, with NumPy broadcasting and PyTorch's type promotion,
//! and their forms with a Python number on either side.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use smallvec::{smallvec, SmallVec};

use super::{default_float_dtype, reduce_grad};
use crate::autograd::{
    needs_grad, record, BackwardCtx, BackwardFn, Grads, SavedTensor, SavedValue,
};
use crate::dtype::{result_type, DType, Priority};
use crate::error::{runtime_err, Result};
use crate::kernels::elementwise::{map, zip};
use crate::layout::Shape;
use crate::storage::{Element, Float};
use crate::tensor::Tensor;

/// The promotion priority of an operand (`torch.result_type`).
pub(crate) fn priority(t: &Tensor) -> Priority {
    if t.is_wrapped_number() {
        Priority::WrappedNumber
    } else if t.ndim() == 0 {
        Priority::ZeroDim
    } else {
        Priority::Dimensioned
    }
}

/// The dtype two operands compute in.
pub(crate) fn promote(a: &Tensor, b: &Tensor) -> DType {
    result_type(
        (a.dtype(), priority(a)),
        (b.dtype(), priority(b)),
        default_float_dtype(),
    )
}

/// Inputs as a backward rule sees them: `None` where the op did not save that input.
struct Operands {
    a: Option<Tensor>,
    b: Option<Tensor>,
    out: Option<Tensor>,
}

trait BinaryOp: Send + Sync + 'static {
    const GRAD_FN: &'static str;
    /// Which of (a, b, output) backward reads, given which of a and b require grad.
    fn saves(a_needs_grad: bool, b_needs_grad: bool) -> [bool; 3];
    /// Integer inputs compute in float (true division).
    const FLOAT_ONLY: bool = false;
    fn forward<T: Float>(a: T, b: T) -> T;
    fn forward_int(a: i64, b: i64) -> i64;
    /// Rejects operands the op is not defined for, before any work.
    fn validate(_a: &Tensor, _b: &Tensor) -> Result<()> {
        Ok(())
    }
    /// Gradients of (a, b) in the output's shape; the engine-side helper reduces them.
    fn backward(g: &Tensor, x: &Operands, needs: [bool; 2]) -> Result<[Option<Tensor>; 2]>;
}

/// The input shapes and dtypes, kept only when an input was broadcast or promoted.
type Reduction = Option<Box<[(Shape, DType); 2]>>;

struct BinaryBackward<O> {
    reduction: Reduction,
    /// Which of (a, b, output) were saved: an operand is kept only when the other one needs a
    /// gradient, as PyTorch does.
    saved: [bool; 3],
    op: PhantomData<O>,
}

impl<O: BinaryOp> BackwardFn for BinaryBackward<O> {
    fn name(&self) -> &'static str {
        O::GRAD_FN
    }
    fn saved_names(&self) -> Vec<&'static str> {
        ["self", "other", "result"]
            .into_iter()
            .zip(self.saved)
            .filter_map(|(name, kept)| kept.then_some(name))
            .collect()
    }
    fn saved_values(&self) -> Vec<(&'static str, SavedValue)> {
        // An operand not needed by the rule shows as `None`, as in PyTorch.
        ["self", "other"]
            .into_iter()
            .zip(self.saved)
            .filter(|(_, kept)| !kept)
            .map(|(name, _)| (name, SavedValue::None))
            .collect()
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let mut slots = 0..;
        let mut take = |wanted: bool| -> Result<Option<Tensor>> {
            if wanted {
                ctx.saved(slots.next().expect("unbounded")).map(Some)
            } else {
                Ok(None)
            }
        };
        let x = Operands {
            a: take(self.saved[0])?,
            b: take(self.saved[1])?,
            out: take(self.saved[2])?,
        };
        let needs = [ctx.needs_input_grad(0), ctx.needs_input_grad(1)];
        let grads = O::backward(ctx.grad(), &x, needs)?;
        let mut out: Grads = SmallVec::new();
        for (i, g) in grads.into_iter().enumerate() {
            out.push(match (g, &self.reduction) {
                (Some(g), Some(r)) if needs[i] => Some(reduce_grad(g, &r[i].0, r[i].1)?),
                (g, _) if needs[i] => g,
                _ => None,
            });
        }
        Ok(out)
    }
}

/// The elementwise kernel of `O` on `a` and `b` in dtype `dtype`.
fn compute<O: BinaryOp>(a: &Tensor, b: &Tensor, dtype: DType) -> Result<Tensor> {
    // Borrow operands that already have the dtype: no refcount traffic on the hot path.
    let (a, b) = (in_dtype(a, dtype), in_dtype(b, dtype));
    match dtype {
        DType::F32 => zip::<f32, f32>(&a, &b, O::forward),
        DType::F64 => zip::<f64, f64>(&a, &b, O::forward),
        DType::I64 => zip::<i64, i64>(&a, &b, O::forward_int),
        DType::Bool => {
            let r = zip::<bool, i64>(&a, &b, |x, y| O::forward_int(x as i64, y as i64))?;
            Ok(map::<i64, bool>(&r, |v| v != 0))
        }
    }
}

/// `t` in `dtype`, borrowed when it already has it (no refcount traffic on the hot path).
pub(crate) fn in_dtype(t: &Tensor, dtype: DType) -> Cow<'_, Tensor> {
    if t.dtype() == dtype {
        Cow::Borrowed(t)
    } else {
        Cow::Owned(t.cast(dtype))
    }
}

fn binary<O: BinaryOp>(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    O::validate(a, b)?;
    let mut dtype = promote(a, b);
    if O::FLOAT_ONLY && !dtype.is_float() {
        dtype = default_float_dtype();
    }
    let out = compute::<O>(a, b, dtype)?;
    if needs_grad(&[a, b]) {
        let keep = O::saves(a.requires_grad(), b.requires_grad());
        let mut saved: SmallVec<[SavedTensor; 2]> = SmallVec::new();
        if keep[0] {
            saved.push(SavedTensor::input(a));
        }
        if keep[1] {
            saved.push(SavedTensor::input(b));
        }
        if keep[2] {
            saved.push(SavedTensor::output(&out));
        }
        let reshaped = |t: &Tensor| t.shape() != out.shape() || t.dtype() != out.dtype();
        let reduction = (reshaped(a) || reshaped(b))
            .then(|| Box::new([(a.shape_vec(), a.dtype()), (b.shape_vec(), b.dtype())]));
        record(
            &[a, b],
            &out,
            Arc::new(BinaryBackward::<O> {
                reduction,
                saved: keep,
                op: PhantomData,
            }),
            saved,
        )?;
    }
    Ok(out)
}

macro_rules! binary_op {
    ($(#[$doc:meta])* $method:ident, $op:ident, $grad_fn:literal,
     saves: |$ra:ident, $rb:ident| $saves:expr,
     float_only: $float_only:literal, |$a:ident, $b:ident| $fwd:expr, int: |$ai:ident, $bi:ident| $int:expr,
     |$g:ident, $x:ident, $needs:ident| $bwd:expr $(, validate: $validate:path)?) => {
        struct $op;
        impl BinaryOp for $op {
            const GRAD_FN: &'static str = $grad_fn;
            #[allow(unused_variables)]
            fn saves($ra: bool, $rb: bool) -> [bool; 3] {
                $saves
            }
            const FLOAT_ONLY: bool = $float_only;
            fn forward<T: Float>($a: T, $b: T) -> T {
                $fwd
            }
            fn forward_int($ai: i64, $bi: i64) -> i64 {
                $int
            }
            $(fn validate(a: &Tensor, b: &Tensor) -> Result<()> {
                $validate(a, b)
            })?
            #[allow(unused_variables)]
            fn backward($g: &Tensor, $x: &Operands, $needs: [bool; 2]) -> Result<[Option<Tensor>; 2]> {
                $bwd
            }
        }
        impl Tensor {
            $(#[$doc])*
            pub fn $method(&self, other: &Tensor) -> Result<Tensor> {
                binary::<$op>(self, other)
            }
        }
    };
}

/// The saved operand, present by construction of `SAVES`.
fn saved(t: &Option<Tensor>) -> &Tensor {
    t.as_ref().expect("the op saved this operand")
}

/// Runs `f` only for gradients that are wanted.
fn when(need: bool, f: impl FnOnce() -> Result<Tensor>) -> Result<Option<Tensor>> {
    if need {
        f().map(Some)
    } else {
        Ok(None)
    }
}

binary_op!(
    /// `a + b`. Backward: `g` to both, summed to each input's shape.
    add, Add, "AddBackward0", saves: |ra, rb| [false, false, false], float_only: false,
    |a, b| a + b, int: |a, b| a.wrapping_add(b),
    |g, x, needs| Ok([Some(g.clone()), Some(g.clone())])
);
binary_op!(
    /// `a - b`. Backward: `g` and `-g`.
    sub, Sub, "SubBackward0", saves: |ra, rb| [false, false, false], float_only: false,
    |a, b| a - b, int: |a, b| a.wrapping_sub(b),
    |g, x, needs| Ok([Some(g.clone()), when(needs[1], || g.neg())?])
);
binary_op!(
    /// `a * b`. Backward: `g b` and `g a`.
    mul, Mul, "MulBackward0", saves: |ra, rb| [rb, ra, false], float_only: false,
    |a, b| a * b, int: |a, b| a.wrapping_mul(b),
    |g, x, needs| Ok([
        when(needs[0], || g.mul(saved(&x.b)))?,
        when(needs[1], || g.mul(saved(&x.a)))?,
    ])
);
binary_op!(
    /// True division `a / b`. Backward: `g / b` and `-g (a / b) / b`.
    div, Div, "DivBackward0", saves: |ra, rb| [rb, true, false], float_only: true,
    |a, b| a / b, int: |a, b| a / b,
    |g, x, needs| {
        let b = saved(&x.b);
        Ok([
            when(needs[0], || g.div(b))?,
            when(needs[1], || g.neg()?.mul(&saved(&x.a).div(b)?.div(b)?))?,
        ])
    }
);
binary_op!(
    /// `a ** b` for two tensors. Backward: `g b a^(b-1)` (0 where b = 0) and
    /// `g a^b ln a` (0 where a = 0 and b >= 0).
    pow, Pow, "PowBackward1", saves: |ra, rb| [true, true, true], float_only: false,
    |a, b| a.powf(b), int: |a, b| int_pow(a, b),
    |g, x, needs| {
        let (a, b, out) = (saved(&x.a), saved(&x.b), saved(&x.out));
        let zero = Tensor::wrapped_scalar(0.0);
        Ok([
            when(needs[0], || {
                let d = g.mul(&b.mul(&a.pow(&b.sub_scalar(1.0)?)?)?)?;
                Tensor::where_(&b.eq(&zero)?, &zero, &d)
            })?,
            when(needs[1], || {
                let cond = a.eq(&zero)?.logical_and(&b.ge(&zero)?)?;
                g.mul(&Tensor::where_(&cond, &zero, &out.mul(&a.log()?)?)?)
            })?,
        ])
    },
    validate: check_int_pow
);
binary_op!(
    /// Elementwise maximum; ties split the gradient evenly, as in PyTorch.
    maximum, Maximum, "MaximumBackward0", saves: |ra, rb| [true, true, false], float_only: false,
    |a, b| if a.is_nan() || a > b { a } else if b.is_nan() || b > a { b } else { a },
    int: |a, b| a.max(b),
    |g, x, needs| tie_split(g, saved(&x.a), saved(&x.b), needs, true)
);
binary_op!(
    /// Elementwise minimum; ties split the gradient evenly, as in PyTorch.
    minimum, Minimum, "MinimumBackward0", saves: |ra, rb| [true, true, false], float_only: false,
    |a, b| if a.is_nan() || a < b { a } else if b.is_nan() || b < a { b } else { a },
    int: |a, b| a.min(b),
    |g, x, needs| tie_split(g, saved(&x.a), saved(&x.b), needs, false)
);

/// `base ** exp` for integers by squaring, wrapping on overflow like PyTorch's int64.
/// Negative exponents are rejected before any kernel runs (see `check_int_pow`).
fn int_pow(mut base: i64, mut exp: i64) -> i64 {
    let mut acc: i64 = 1;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        exp >>= 1;
    }
    acc
}

/// PyTorch's error for integer tensors raised to negative integer powers.
fn check_int_pow(base: &Tensor, exponent: &Tensor) -> Result<()> {
    if base.dtype().is_float() || exponent.dtype() != DType::I64 {
        return Ok(());
    }
    if exponent.to_vec::<i64>().iter().any(|&e| e < 0) {
        return Err(runtime_err!(
            "Integers to negative integer powers are not allowed."
        ));
    }
    Ok(())
}

/// Gradient weights of maximum/minimum: 1 for the winner, 1/2 each on a tie, 0 otherwise.
fn tie_split(
    g: &Tensor,
    a: &Tensor,
    b: &Tensor,
    needs: [bool; 2],
    is_max: bool,
) -> Result<[Option<Tensor>; 2]> {
    let weight = |x: &Tensor, y: &Tensor| -> Result<Tensor> {
        let dtype = promote(x, y);
        let (x, y) = (x.detach().cast(dtype), y.detach().cast(dtype));
        let w = crate::dispatch_float!(dtype, T => zip::<T, T>(&x, &y, |p, q| {
            let wins = if is_max { p > q } else { p < q };
            if wins { T::ONE } else if p == q { T::from_f64(0.5) } else { T::ZERO }
        })?, _ => zip::<i64, i64>(&x, &y, |p, q| ((if is_max { p > q } else { p < q }) || p == q) as i64)?);
        // The losing side gets an exact +0, as PyTorch's masked fill gives (g * 0 could be -0).
        let loses = w.eq(&Tensor::wrapped_scalar(0.0))?;
        Tensor::where_(&loses, &Tensor::wrapped_scalar(0.0), &g.mul(&w)?)
    };
    Ok([
        when(needs[0], || weight(a, b))?,
        when(needs[1], || weight(b, a))?,
    ])
}

/// `x ** exponent` with a Python-number exponent (`PowBackward0`).
struct PowScalarBackward {
    exponent: f64,
}

impl BackwardFn for PowScalarBackward {
    fn name(&self) -> &'static str {
        "PowBackward0"
    }
    fn saved_values(&self) -> Vec<(&'static str, SavedValue)> {
        // PyTorch shows the exponent as the Python number it was given; an integral value
        // most often came from an int.
        let e = self.exponent;
        let value = if e.fract() == 0.0 && e.abs() < 2f64.powi(53) {
            SavedValue::Int(e as i64)
        } else {
            SavedValue::Float(e)
        };
        vec![("exponent", value)]
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let x = ctx.saved(0)?;
        let g = ctx.grad();
        if self.exponent == 0.0 {
            return Ok(smallvec![Some(g.zeros_like())]);
        }
        // d/dx x^p = p x^(p-1)
        let local = x
            .pow_scalar(self.exponent - 1.0)?
            .mul_scalar(self.exponent)?;
        Ok(smallvec![Some(reduce_grad(
            g.mul(&local)?,
            x.shape(),
            x.dtype()
        )?)])
    }
}

/// `base ** x` with a Python-number base (`PowBackward2`).
struct RpowScalarBackward {
    base: f64,
}

impl BackwardFn for RpowScalarBackward {
    fn name(&self) -> &'static str {
        "PowBackward2"
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let out = ctx.saved(0)?;
        // d/dx b^x = b^x ln b; for b = 0 PyTorch defines it as 0 (no -inf or NaN).
        let local = if self.base == 0.0 {
            out.zeros_like()
        } else {
            out.mul_scalar(self.base.ln())?
        };
        Ok(smallvec![Some(ctx.grad().mul(&local)?)])
    }
}

/// `scalar - x` (`RsubBackward1`).
struct RsubBackward;

impl BackwardFn for RsubBackward {
    fn name(&self) -> &'static str {
        "RsubBackward1"
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        Ok(smallvec![Some(ctx.grad().neg()?)])
    }
}

/// `clamp(x, min, max)` with Python-number bounds (`ClampBackward1`).
struct ClampBackward {
    min: Option<f64>,
    max: Option<f64>,
}

impl BackwardFn for ClampBackward {
    fn name(&self) -> &'static str {
        "ClampBackward1"
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let x = ctx.saved(0)?;
        let (lo, hi) = (
            self.min.unwrap_or(f64::NEG_INFINITY),
            self.max.unwrap_or(f64::INFINITY),
        );
        // The gradient passes where the input lies within the bounds, boundaries included.
        let inside = map_to_bool(&x, |v| v >= lo && v <= hi);
        Ok(smallvec![Some(Tensor::where_(
            &inside,
            ctx.grad(),
            &Tensor::wrapped_scalar(0.0)
        )?)])
    }
}

/// A bool mask of `pred` over the values of `x` (read as f64).
fn map_to_bool(x: &Tensor, pred: impl Fn(f64) -> bool + Sync) -> Tensor {
    crate::dispatch!(x.dtype(), T => map::<T, bool>(x, |v| pred(crate::storage::Element::to_f64(v))))
}

/// Records a one-input node for the scalar forms.
fn record_unary(
    x: &Tensor,
    out: &Tensor,
    f: Arc<dyn BackwardFn>,
    save: Option<SavedTensor>,
) -> Result<()> {
    if needs_grad(&[x]) {
        record(&[x], out, f, save.into_iter().collect())?;
    }
    Ok(())
}

impl Tensor {
    /// `self + value` for a Python number.
    pub fn add_scalar(&self, value: f64) -> Result<Tensor> {
        self.add(&Tensor::wrapped_scalar(value))
    }

    /// `self - value` for a Python number.
    pub fn sub_scalar(&self, value: f64) -> Result<Tensor> {
        self.sub(&Tensor::wrapped_scalar(value))
    }

    /// `self * value` for a Python number.
    pub fn mul_scalar(&self, value: f64) -> Result<Tensor> {
        self.mul(&Tensor::wrapped_scalar(value))
    }

    /// `self / value` for a Python number.
    pub fn div_scalar(&self, value: f64) -> Result<Tensor> {
        self.div(&Tensor::wrapped_scalar(value))
    }

    /// `value - self` (`RsubBackward1`).
    pub fn rsub_scalar(&self, value: f64) -> Result<Tensor> {
        self.rsub_wrapped(&Tensor::wrapped_scalar(value))
    }

    /// `value - self` for a wrapped Python number of any kind.
    pub fn rsub_wrapped(&self, value: &Tensor) -> Result<Tensor> {
        let out = compute::<Sub>(value, self, promote(self, value))?;
        record_unary(self, &out, Arc::new(RsubBackward), None)?;
        Ok(out)
    }

    /// `self ** exponent` for a Python number (`PowBackward0`).
    pub fn pow_scalar(&self, exponent: f64) -> Result<Tensor> {
        self.pow_wrapped(&Tensor::wrapped_scalar(exponent))
    }

    /// `self ** exponent` for a wrapped Python number of any kind.
    pub fn pow_wrapped(&self, exponent: &Tensor) -> Result<Tensor> {
        check_int_pow(self, exponent)?;
        let value = exponent.item()?;
        let out = compute::<Pow>(self, exponent, promote(self, exponent))?;
        record_unary(
            self,
            &out,
            Arc::new(PowScalarBackward { exponent: value }),
            Some(SavedTensor::input(self)),
        )?;
        Ok(out)
    }

    /// `base ** self` for a Python-number base (`PowBackward2`).
    pub fn rpow_wrapped(&self, base: &Tensor) -> Result<Tensor> {
        check_int_pow(base, self)?;
        let out = compute::<Pow>(base, self, promote(self, base))?;
        let base = base.item()?;
        record_unary(
            self,
            &out,
            Arc::new(RpowScalarBackward { base }),
            Some(SavedTensor::output(&out)),
        )?;
        Ok(out)
    }

    /// Limits values to `[min, max]` (either bound optional), as `torch.clamp` with numbers.
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Result<Tensor> {
        if min.is_none() && max.is_none() {
            return Err(runtime_err!(
                "torch.clamp: At least one of 'min' or 'max' must not be None"
            ));
        }
        let integral = |v: Option<f64>| v.is_none_or(|v| v.fract() == 0.0);
        let x = if self.dtype().is_float() || (integral(min) && integral(max)) {
            self.clone()
        } else {
            self.cast(default_float_dtype())
        };
        let out = crate::dispatch!(x.dtype(), T => {
            let lo = min.map(<T as crate::storage::Element>::from_f64);
            let hi = max.map(<T as crate::storage::Element>::from_f64);
            map::<T, T>(&x, |v| {
                use std::cmp::Ordering::{Greater, Less};
                // min(max(v, lo), hi); a NaN bound (unordered even with itself) gives NaN.
                let is_nan = |b: T| b.partial_cmp(&b).is_none();
                let mut r = v;
                if let Some(lo) = lo {
                    if is_nan(lo) || r.partial_cmp(&lo) == Some(Less) {
                        r = lo;
                    }
                }
                if let Some(hi) = hi {
                    if is_nan(hi) || r.partial_cmp(&hi) == Some(Greater) {
                        r = hi;
                    }
                }
                r
            })
        });
        record_unary(
            self,
            &out,
            Arc::new(ClampBackward { min, max }),
            Some(SavedTensor::input(self)),
        )?;
        Ok(out)
    }
}
