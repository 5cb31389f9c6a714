//! Elementwise ops of one tensor.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::Arc;

use smallvec::smallvec;

use super::default_float_dtype;
use crate::autograd::{needs_grad, record, BackwardCtx, BackwardFn, Grads, SavedTensor};
use crate::dtype::DType;
use crate::error::Result;
use crate::kernels::elementwise::{map, map_chunks, zip};
use crate::storage::Float;
use crate::tensor::Tensor;

/// What backward needs from the forward pass.
#[derive(PartialEq, Eq)]
enum Saves {
    Nothing,
    Input,
    Output,
}

/// An elementwise op: its kernel, its derivative and its `grad_fn` name, together.
trait UnaryOp: Send + Sync + 'static {
    const GRAD_FN: &'static str;
    const SAVES: Saves;
    /// Integer inputs stay integer (`neg`, `abs`, ...) instead of promoting to float.
    const KEEPS_INT: bool = false;
    fn forward<T: Float>(x: T) -> T;
    /// [`UnaryOp::forward`] over a chunk, for ops with a faster whole-slice kernel. Inlined,
    /// here and in each op, so that its loop compiles inside `kernels::vectorized` (eight
    /// floats wide) rather than as a separate baseline x86-64 function.
    #[inline(always)]
    fn forward_chunk<T: Float>(src: &[T], dst: &mut [MaybeUninit<T>]) {
        for (d, &x) in dst.iter_mut().zip(src) {
            d.write(Self::forward(x));
        }
    }
    fn forward_int(x: i64) -> i64 {
        x
    }
    /// The input's gradient from the output's gradient `g` and the saved tensor `s`.
    fn backward(g: &Tensor, s: &Tensor) -> Result<Tensor>;
}

struct UnaryBackward<O>(PhantomData<O>);

impl<O: UnaryOp> BackwardFn for UnaryBackward<O> {
    fn name(&self) -> &'static str {
        O::GRAD_FN
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let saved = if O::SAVES == Saves::Nothing {
            ctx.grad().clone()
        } else {
            ctx.saved(0)?
        };
        Ok(smallvec![Some(O::backward(ctx.grad(), &saved)?)])
    }
}

fn unary<O: UnaryOp>(x: &Tensor) -> Result<Tensor> {
    let out = match x.dtype() {
        // Closures rather than the functions themselves: a function passed as a value is
        // called through a shim that is compiled on its own, outside the vectorised caller.
        DType::F32 => map_chunks::<f32, f32>(
            x,
            #[inline(always)]
            |s, d| O::forward_chunk(s, d),
        ),
        DType::F64 => map_chunks::<f64, f64>(
            x,
            #[inline(always)]
            |s, d| O::forward_chunk(s, d),
        ),
        DType::I64 if O::KEEPS_INT => map::<i64, i64>(x, O::forward_int),
        DType::Bool if O::KEEPS_INT => map::<bool, bool>(x, |b| O::forward_int(b as i64) != 0),
        _ => return unary::<O>(&x.cast(default_float_dtype())),
    };
    if needs_grad(&[x]) {
        let saved = match O::SAVES {
            Saves::Nothing => smallvec![],
            Saves::Input => smallvec![SavedTensor::input(x)],
            Saves::Output => smallvec![SavedTensor::output(&out)],
        };
        record(&[x], &out, Arc::new(UnaryBackward::<O>(PhantomData)), saved)?;
    }
    Ok(out)
}

/// Backward of relu's backward rule, with the rule's mask.
struct ThresholdBackwardBackward {
    mask: Tensor,
}

impl BackwardFn for ThresholdBackwardBackward {
    fn name(&self) -> &'static str {
        "ThresholdBackwardBackward0"
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad();
        let zero = Tensor::wrapped_scalar(0.0);
        let grad = if ctx.needs_input_grad(0) {
            Some(Tensor::where_(&self.mask, g, &zero)?)
        } else {
            None
        };
        let out = ctx.needs_input_grad(1).then(|| g.zeros_like());
        Ok(smallvec![grad, out])
    }
}

/// Declares an op type and the `Tensor` method that applies it.
macro_rules! unary_op {
    ($(#[$doc:meta])* $method:ident, $op:ident, $grad_fn:literal, $saves:ident,
     keeps_int: $keeps:literal, |$x:ident| $fwd:expr, int: |$xi:ident| $fwd_int:expr,
     |$g:ident, $s:ident| $bwd:expr $(, chunk: $chunk:path)?) => {
        struct $op;
        impl UnaryOp for $op {
            const GRAD_FN: &'static str = $grad_fn;
            const SAVES: Saves = Saves::$saves;
            const KEEPS_INT: bool = $keeps;
            fn forward<T: Float>($x: T) -> T {
                $fwd
            }
            fn forward_int($xi: i64) -> i64 {
                $fwd_int
            }
            $(#[inline(always)]
            fn forward_chunk<T: Float>(src: &[T], dst: &mut [MaybeUninit<T>]) {
                $chunk(src, dst)
            })?
            #[allow(unused_variables)]
            fn backward($g: &Tensor, $s: &Tensor) -> Result<Tensor> {
                $bwd
            }
        }
        impl Tensor {
            $(#[$doc])*
            pub fn $method(&self) -> Result<Tensor> {
                unary::<$op>(self)
            }
        }
    };
    ($(#[$doc:meta])* $method:ident, $op:ident, $grad_fn:literal, $saves:ident,
     |$x:ident| $fwd:expr, |$g:ident, $s:ident| $bwd:expr $(, chunk: $chunk:path)?) => {
        unary_op!($(#[$doc])* $method, $op, $grad_fn, $saves, keeps_int: false, |$x| $fwd,
                  int: |v| v, |$g, $s| $bwd $(, chunk: $chunk)?);
    };
}

fn sign<T: Float>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else if x.is_nan() {
        x
    } else {
        T::ZERO // -0 too: PyTorch's sign is (0 < x) - (x < 0)
    }
}

unary_op!(
    /// `-x`. Backward: `-g`.
    neg, Neg, "NegBackward0", Nothing, keeps_int: true, |x| -x, int: |x| x.wrapping_neg(),
    |g, s| g.neg()
);
unary_op!(
    /// `|x|`. Backward: `g * sign(x)`, so the subgradient at 0 is 0.
    abs, Abs, "AbsBackward0", Input, keeps_int: true, |x| x.abs(), int: |x| x.wrapping_abs(),
    |g, x| g.mul(&x.sign()?)
);
unary_op!(
    /// `e^x`. Backward reuses the output: `g * e^x`.
    exp, Exp, "ExpBackward0", Output, |x| x.exp(), |g, out| g.mul(out), chunk: exp_chunk
);

fn exp_chunk<T: Float>(src: &[T], dst: &mut [MaybeUninit<T>]) {
    crate::kernels::vector_math::exp_shifted_into(src, T::ZERO, dst)
}
unary_op!(
    /// Natural log. Backward: `g / x`.
    log, Log, "LogBackward0", Input, |x| x.ln(), |g, x| g.div(x)
);
unary_op!(
    /// `ln(1 + x)`, accurate near 0. Backward: `g / (x + 1)`.
    log1p, Log1p, "Log1PBackward0", Input, |x| x.ln_1p(), |g, x| g.div(&x.add_scalar(1.0)?)
);
unary_op!(
    /// Square root. Backward: `g / (2 sqrt(x))`, infinite at 0 as in PyTorch.
    sqrt, Sqrt, "SqrtBackward0", Output, |x| x.sqrt(), |g, out| g.div(&out.mul_scalar(2.0)?)
);
unary_op!(
    /// `1 / sqrt(x)`. Backward: `-0.5 g out^3`.
    rsqrt, Rsqrt, "RsqrtBackward0", Output, |x| T::ONE / x.sqrt(),
    |g, out| g.mul_scalar(-0.5)?.mul(&out.pow_scalar(3.0)?)
);
unary_op!(
    /// Sine. Backward: `g cos(x)`.
    sin, Sin, "SinBackward0", Input, |x| x.sin(), |g, x| g.mul(&x.cos()?)
);
unary_op!(
    /// Cosine. Backward: `g * -sin(x)`.
    cos, Cos, "CosBackward0", Input, |x| x.cos(), |g, x| g.mul(&x.sin()?.neg()?)
);
unary_op!(
    /// Tangent. Backward: `g (1 + tan^2 x)`.
    tan, Tan, "TanBackward0", Output, |x| x.tan(),
    |g, out| g.mul(&out.pow_scalar(2.0)?.add_scalar(1.0)?)
);
unary_op!(
    /// Hyperbolic tangent. Backward: `g (1 - out^2)`.
    tanh, Tanh, "TanhBackward0", Output, |x| x.tanh(),
    |g, out| fused_backward(g, out, TanhGrad, || {
        g.mul(&out.mul(out)?.rsub_scalar(1.0)?)
    }), chunk: tanh_chunk
);

/// Below this magnitude tanh comes from its Taylor series, where `(1 - e) / (1 + e)` would
/// lose digits to cancellation.
const TANH_SERIES_BOUND: f64 = 0.5;

/// Taylor coefficients of `tanh(x) / x` in powers of `x^2`, through `x^18`: at `|x| = 0.5`
/// the first omitted term is below 1e-9 of the value.
const TANH_SERIES: [f64; 10] = [
    1.0,
    -1.0 / 3.0,
    2.0 / 15.0,
    -17.0 / 315.0,
    62.0 / 2835.0,
    -1382.0 / 155925.0,
    21844.0 / 6081075.0,
    -929569.0 / 638512875.0,
    6404582.0 / 10854718875.0,
    -443861162.0 / 1856156927625.0,
];

/// `tanh` over a float32 chunk: `(1 - e) / (1 + e)` with `e = exp(-2|x|)` from the
/// vectorised exp kernel (libm's scalar `tanhf` was 10x slower), the sign put back, and the
/// series near 0. Within 2.2 ulp of the exact value.
#[inline(always)]
fn tanh_chunk<T: Float>(src: &[T], dst: &mut [MaybeUninit<T>]) {
    const BLOCK: usize = 256;
    if T::DTYPE == DType::F64 {
        // float64 keeps libm's correctly rounded tanh: gradcheck and users rely on its digits.
        for (slot, &x) in dst.iter_mut().zip(src) {
            slot.write(x.tanh());
        }
        return;
    }
    let bound = T::from_f64(TANH_SERIES_BOUND);
    let coefficients = TANH_SERIES.map(T::from_f64);
    let mut exponents = [T::ZERO; BLOCK];
    for (xs, out) in src.chunks(BLOCK).zip(dst.chunks_mut(BLOCK)) {
        for (e, &x) in exponents.iter_mut().zip(xs) {
            *e = -(x.abs() + x.abs());
        }
        crate::kernels::vector_math::exp_shifted_into(&exponents[..xs.len()], T::ZERO, out);
        for (slot, &x) in out.iter_mut().zip(xs) {
            // SAFETY: `exp_shifted_into` initialised every slot of `out`.
            let e = unsafe { slot.assume_init_read() };
            // Both branches are computed and one is picked, so the loop vectorises: with
            // inputs on both sides of the bound, a branch per element mispredicted often
            // enough to make tanh 10x slower than exp.
            // The series in x^2 as five pairs `c[2i] + c[2i+1] x^2` summed in powers of x^4
            // (Estrin's scheme): half the chain of dependent multiply-adds of Horner's.
            let x2 = x * x;
            let x4 = x2 * x2;
            let series = x * coefficients
                .chunks_exact(2)
                .rev()
                .fold(T::ZERO, |acc, pair| acc * x4 + (pair[0] + pair[1] * x2));
            let magnitude = (T::ONE - e) / (T::ONE + e);
            let far = if x < T::ZERO { -magnitude } else { magnitude };
            slot.write(if x.abs() < bound { series } else { far });
        }
    }
}
unary_op!(
    /// Logistic sigmoid `1 / (1 + e^-x)`. Backward: `(g (1 - out)) out`, PyTorch's order of
    /// rounding.
    sigmoid, Sigmoid, "SigmoidBackward0", Output, |x| T::ONE / (T::ONE + (-x).exp()),
    |g, out| fused_backward(g, out, SigmoidGrad, || {
        g.mul(&out.rsub_scalar(1.0)?)?.mul(out)
    })
);

/// A backward rule `rule(g, saved)` run as one elementwise pass when no graph is being built
/// (the common case: a training step's backward); `graph` builds the same value from
/// differentiable ops otherwise, for double backward.
fn fused_backward<R: FloatRule>(
    g: &Tensor,
    saved: &Tensor,
    rule: R,
    graph: impl FnOnce() -> Result<Tensor>,
) -> Result<Tensor> {
    let plain = !g.requires_grad() && !saved.requires_grad();
    if plain && g.dtype() == saved.dtype() && g.shape() == saved.shape() {
        match g.dtype() {
            DType::F32 => return zip::<f32, f32>(g, saved, |a, b| rule.apply(a, b)),
            DType::F64 => return zip::<f64, f64>(g, saved, |a, b| rule.apply(a, b)),
            _ => {}
        }
    }
    graph()
}

/// A closure generic over the float type, for [`fused_backward`].
trait FloatRule: Copy + Sync {
    fn apply<T: Float>(self, g: T, saved: T) -> T;
}

/// `g (1 - tanh^2)`.
#[derive(Clone, Copy)]
struct TanhGrad;

impl FloatRule for TanhGrad {
    fn apply<T: Float>(self, g: T, out: T) -> T {
        g * (T::ONE - out * out)
    }
}

/// `g` where relu's output is positive, else 0.
#[derive(Clone, Copy)]
struct ReluGrad;

impl FloatRule for ReluGrad {
    fn apply<T: Float>(self, g: T, out: T) -> T {
        if out > T::ZERO {
            g
        } else {
            T::ZERO
        }
    }
}

/// `(g (1 - s)) s`, in PyTorch's order of rounding.
#[derive(Clone, Copy)]
struct SigmoidGrad;

impl FloatRule for SigmoidGrad {
    fn apply<T: Float>(self, g: T, out: T) -> T {
        g * (T::ONE - out) * out
    }
}
unary_op!(
    /// `max(x, 0)`. Backward passes `g` where the output is positive, so relu'(0) = 0.
    relu, Relu, "ReluBackward0", Output, keeps_int: true,
    |x| if x > T::ZERO || x.is_nan() { x } else { T::ZERO }, int: |x| x.max(0),
    |g, out| g.where_positive(out)
);
unary_op!(
    /// `1 / x`. Backward: `-g out^2`.
    reciprocal, Reciprocal, "ReciprocalBackward0", Output, |x| T::ONE / x,
    |g, out| g.neg()?.mul(&out.mul(out)?)
);
unary_op!(
    /// -1, 0 or 1 by the sign of `x`. Its gradient is zero.
    sign, Sign, "SignBackward0", Nothing, keeps_int: true, |x| sign(x), int: |x| x.signum(),
    |g, s| Ok(g.zeros_like())
);
unary_op!(
    /// Rounds down. Its gradient is zero.
    floor, Floor, "FloorBackward0", Nothing, keeps_int: true, |x| x.floor(), int: |x| x,
    |g, s| Ok(g.zeros_like())
);
unary_op!(
    /// Rounds up. Its gradient is zero.
    ceil, Ceil, "CeilBackward0", Nothing, keeps_int: true, |x| x.ceil(), int: |x| x,
    |g, s| Ok(g.zeros_like())
);
unary_op!(
    /// Rounds half to even, as PyTorch does. Its gradient is zero.
    round, Round, "RoundBackward0", Nothing, keeps_int: true, |x| x.round_ties_even(),
    int: |x| x, |g, s| Ok(g.zeros_like())
);

impl Tensor {
    /// `x * x`, recorded as PyTorch records it: `pow(x, 2)` (`PowBackward0`).
    pub fn square(&self) -> Result<Tensor> {
        // An int exponent keeps integer tensors integer, as `torch.square` does.
        self.pow_wrapped(&Tensor::wrapped_int(2))
    }

    /// `g` where `out > 0`, else 0: the backward of relu (`ThresholdBackwardBackward0`
    /// when recorded). Its derivative is the same mask for `g` and zero for `out`, which
    /// still takes part in the graph, as in PyTorch: a Hessian through relu is zeros, not
    /// an error.
    fn where_positive(&self, out: &Tensor) -> Result<Tensor> {
        if !needs_grad(&[self, out]) {
            return fused_backward(self, out, ReluGrad, || self.where_positive_recorded(out));
        }
        self.where_positive_recorded(out)
    }

    fn where_positive_recorded(&self, out: &Tensor) -> Result<Tensor> {
        let zero = Tensor::wrapped_scalar(0.0);
        let mask = out.detach().gt(&zero)?;
        let value = {
            let _off = crate::grad_mode::GradModeGuard::new(false);
            Tensor::where_(&mask, self, &zero)?
        };
        if needs_grad(&[self, out]) {
            let node = ThresholdBackwardBackward { mask };
            crate::autograd::record_unsaved(&[self, out], &value, Arc::new(node));
        }
        Ok(value)
    }
}
