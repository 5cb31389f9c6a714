//! Optimizer updates (PyTorch's `SGD`, `Adam` and `AdamW` steps): one call updates every
//! parameter of a group in place, outside autograd, one fused pass per parameter.
//!
//! The Python optimizers keep their state (momentum buffers, moments, step counts) and hand
//! it here; the arithmetic follows PyTorch's single-tensor algorithms operation by operation,
//! so trajectories match PyTorch's to rounding.

use crate::dtype::DType;
use crate::error::{runtime_err, Error, Result};
use crate::kernels::elementwise::READ_ONLY_MESSAGE;
use crate::storage::{Element, Float};
use crate::tensor::Tensor;

/// Hyper-parameters of one SGD step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdOptions {
    pub lr: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub nesterov: bool,
    pub maximize: bool,
}

/// Hyper-parameters of one Adam or AdamW step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamOptions {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub maximize: bool,
    /// AdamW: decay the parameter itself instead of adding `weight_decay * p` to the gradient.
    pub decoupled_weight_decay: bool,
}

/// One SGD step over `params`. `momentum_buffers[i]` is `None` before the first step with
/// momentum; the step fills it with a new buffer, as PyTorch's `state["momentum_buffer"]`.
///
/// ```
/// use autodiff::{optim::{sgd_step, SgdOptions}, Tensor};
/// let p = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
/// let g = Tensor::from_vec(vec![0.5f32, -1.0], &[2])?;
/// let options = SgdOptions { lr: 0.1, weight_decay: 0.0, momentum: 0.0, dampening: 0.0,
///                            nesterov: false, maximize: false };
/// sgd_step(std::slice::from_ref(&p), &[g], &mut [None], &options)?;
/// assert_eq!(p.to_vec::<f32>(), [0.95, 2.1]);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub fn sgd_step(
    params: &[Tensor],
    grads: &[Tensor],
    momentum_buffers: &mut [Option<Tensor>],
    options: &SgdOptions,
) -> Result<()> {
    check_lengths(params.len(), &[grads.len(), momentum_buffers.len()])?;
    let o = *options;
    for ((p, g), buffer) in params.iter().zip(grads).zip(momentum_buffers.iter_mut()) {
        check_pair(p, g)?;
        let first = o.momentum != 0.0 && buffer.is_none();
        if first {
            *buffer = Some(Tensor::zeros(p.shape(), p.dtype()));
        }
        let states: Vec<&Tensor> = if o.momentum != 0.0 {
            buffer.iter().collect()
        } else {
            Vec::new()
        };
        crate::dispatch_float!(p.dtype(), T => update::<T>(
            p,
            g,
            &states,
            #[inline(always)] |p, g, s| sgd_kernel(p, g, s, &o, first),
        )?, _ => unreachable!("checked float"));
    }
    Ok(())
}

// Inlined (as are the closures around it) so that its loop compiles inside
// `kernels::vectorized`, eight floats wide; a separate function would be compiled for
// baseline x86-64 (four wide), and Adam's update took 5x as long.
#[inline(always)]
fn sgd_kernel<T: Float + Element>(
    p: &mut [T],
    g: &[T],
    states: &mut [&mut [T]],
    o: &SgdOptions,
    first: bool,
) {
    // As in Adam, the options become coefficients so the loops have no branches and
    // vectorise: `sign` is maximize, `wd` is 0 without weight decay.
    let sign = T::from_f64(if o.maximize { -1.0 } else { 1.0 });
    let (lr, wd, momentum) = (
        T::from_f64(o.lr),
        T::from_f64(o.weight_decay),
        T::from_f64(o.momentum),
    );
    let n = p.len();
    let g = &g[..n];
    let Some(buffer) = states.first_mut() else {
        for i in 0..n {
            p[i] = p[i] - lr * (sign * g[i] + wd * p[i]);
        }
        return;
    };
    let buffer = &mut buffer[..n];
    // The first step copies the gradient into the buffer; dampening starts after.
    let (old, keep) = if first {
        (T::ZERO, T::ONE)
    } else {
        (momentum, T::from_f64(1.0 - o.dampening))
    };
    let ahead = T::from_f64(if o.nesterov { 1.0 } else { 0.0 });
    let behind = T::ONE - ahead;
    for i in 0..n {
        let d = sign * g[i] + wd * p[i];
        let b = old * buffer[i] + keep * d;
        buffer[i] = b;
        // nesterov: d + momentum * b; otherwise b
        p[i] = p[i] - lr * (ahead * (d + momentum * b) + behind * b);
    }
}

/// One Adam (or, with `decoupled_weight_decay`, AdamW) step. `steps[i]` is parameter `i`'s
/// step count after this step, for the bias corrections; `max_exp_avg_sqs` is empty unless
/// `amsgrad`.
///
/// ```
/// use autodiff::{optim::{adam_step, AdamOptions}, Tensor};
/// let p = Tensor::from_vec(vec![1.0f64], &[1])?;
/// let g = Tensor::from_vec(vec![2.0f64], &[1])?;
/// let (m, v) = (Tensor::zeros(&[1], p.dtype()), Tensor::zeros(&[1], p.dtype()));
/// let options = AdamOptions { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0,
///                             amsgrad: false, maximize: false, decoupled_weight_decay: false };
/// adam_step(std::slice::from_ref(&p), &[g], &[m], &[v], &[], &[1.0], &options)?;
/// // The first step moves each parameter by lr against the sign of its gradient.
/// assert!((p.item()? - 0.9).abs() < 1e-7);
/// # Ok::<(), autodiff::Error>(())
/// ```
pub fn adam_step(
    params: &[Tensor],
    grads: &[Tensor],
    exp_avgs: &[Tensor],
    exp_avg_sqs: &[Tensor],
    max_exp_avg_sqs: &[Tensor],
    steps: &[f64],
    options: &AdamOptions,
) -> Result<()> {
    let expected_max = if options.amsgrad { params.len() } else { 0 };
    check_lengths(
        params.len(),
        &[grads.len(), exp_avgs.len(), exp_avg_sqs.len(), steps.len()],
    )?;
    if max_exp_avg_sqs.len() != expected_max {
        return Err(Error::Value(format!(
            "expected {expected_max} max_exp_avg_sqs, got {}",
            max_exp_avg_sqs.len()
        )));
    }
    let o = *options;
    for (i, (p, g)) in params.iter().zip(grads).enumerate() {
        check_pair(p, g)?;
        let mut states = vec![&exp_avgs[i], &exp_avg_sqs[i]];
        if o.amsgrad {
            states.push(&max_exp_avg_sqs[i]);
        }
        for s in &states {
            if s.shape() != p.shape() || s.dtype() != p.dtype() {
                return Err(runtime_err!(
                    "optimizer state of shape {:?} and dtype {} does not match its parameter \
                     of shape {:?} and dtype {}",
                    s.shape(),
                    s.dtype().scalar_type_name(),
                    p.shape(),
                    p.dtype().scalar_type_name()
                ));
            }
        }
        let step = steps[i];
        crate::dispatch_float!(p.dtype(), T => update::<T>(
            p,
            g,
            &states,
            #[inline(always)] |p, g, s| adam_kernel(p, g, s, &o, step),
        )?, _ => unreachable!("checked float"));
    }
    Ok(())
}

// Inlined (as are the closures around it) so that its loop compiles inside
// `kernels::vectorized`, eight floats wide; a separate function would be compiled for
// baseline x86-64 (four wide), and Adam's update took 5x as long.
#[inline(always)]
fn adam_kernel<T: Float + Element>(
    p: &mut [T],
    g: &[T],
    states: &mut [&mut [T]],
    o: &AdamOptions,
    step: f64,
) {
    let [m, v, rest @ ..] = states else {
        unreachable!("adam_step passes both moments")
    };
    // Every option becomes a coefficient, so the loop has no branches and vectorises:
    // maximize flips the gradient's sign; weight decay adds `wd * p` to the gradient (Adam)
    // or scales the parameter by `1 - lr * wd` first (AdamW).
    let sign = T::from_f64(if o.maximize { -1.0 } else { 1.0 });
    let (coupled, decoupled) = match (o.weight_decay, o.decoupled_weight_decay) {
        (0.0, _) => (0.0, 1.0),
        (wd, false) => (wd, 1.0),
        (wd, true) => (0.0, 1.0 - o.lr * wd),
    };
    let k = AdamCoefficients {
        sign,
        coupled: T::from_f64(coupled),
        decoupled: T::from_f64(decoupled),
        beta1_rest: T::from_f64(1.0 - o.beta1),
        beta2: T::from_f64(o.beta2),
        beta2_rest: T::from_f64(1.0 - o.beta2),
        step_size: T::from_f64(o.lr / (1.0 - o.beta1.powf(step))),
        bias_correction2_sqrt: T::from_f64((1.0 - o.beta2.powf(step)).sqrt()),
        eps: T::from_f64(o.eps),
    };
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    match rest.first_mut() {
        None => {
            for i in 0..n {
                let decayed = k.moments(p[i], g[i], &mut m[i], &mut v[i]);
                p[i] = k.apply(decayed, m[i], v[i]);
            }
        }
        Some(v_max) => {
            let v_max = &mut v_max[..n];
            for i in 0..n {
                let decayed = k.moments(p[i], g[i], &mut m[i], &mut v[i]);
                // NaN wins either way, as in `torch.maximum`.
                let old_is_nan = v_max[i].partial_cmp(&v_max[i]).is_none();
                if !(old_is_nan || v_max[i] >= v[i]) {
                    v_max[i] = v[i];
                }
                p[i] = k.apply(decayed, m[i], v_max[i]);
            }
        }
    }
}

/// One Adam step's constants, in the parameter's float type.
struct AdamCoefficients<T> {
    sign: T,
    coupled: T,
    decoupled: T,
    beta1_rest: T,
    beta2: T,
    beta2_rest: T,
    step_size: T,
    bias_correction2_sqrt: T,
    eps: T,
}

impl<T: Float> AdamCoefficients<T> {
    /// Updates the moments from the gradient; returns the parameter after decoupled decay.
    #[inline(always)]
    fn moments(&self, p: T, g: T, m: &mut T, v: &mut T) -> T {
        let d = self.sign * g + self.coupled * p;
        *m = *m + self.beta1_rest * (d - *m);
        *v = *v * self.beta2 + self.beta2_rest * d * d;
        p * self.decoupled
    }

    /// The parameter after the step, from the first moment and the second moment in use.
    #[inline(always)]
    fn apply(&self, p: T, m: T, second: T) -> T {
        let denom = second.sqrt() / self.bias_correction2_sqrt + self.eps;
        p - self.step_size * m / denom
    }
}

fn check_lengths(params: usize, others: &[usize]) -> Result<()> {
    if others.iter().any(|&n| n != params) {
        return Err(Error::Value(format!(
            "expected one gradient and one state entry per parameter ({params} parameters), got \
             {others:?}"
        )));
    }
    Ok(())
}

fn check_pair(p: &Tensor, g: &Tensor) -> Result<()> {
    if !matches!(p.dtype(), DType::F32 | DType::F64) {
        return Err(runtime_err!(
            "optimizers update floating point parameters only, got a parameter of dtype {}",
            p.dtype().scalar_type_name()
        ));
    }
    if g.shape() != p.shape() {
        return Err(runtime_err!(
            "the gradient of shape {:?} does not match its parameter of shape {:?}",
            g.shape(),
            p.shape()
        ));
    }
    if !p.storage().is_writable() {
        return Err(runtime_err!("{READ_ONLY_MESSAGE}"));
    }
    Ok(())
}

/// Elements per thread below which one thread does the whole update.
const PARALLEL_MIN: usize = 1 << 17;

/// Runs `kernel(param, grad, states)` over a parameter's elements, writing the parameter and
/// the states in place (split across threads for large parameters), then bumps the versions.
/// A parameter or state that is not contiguous is updated through a contiguous copy.
fn update<T: Float + Element>(
    param: &Tensor,
    grad: &Tensor,
    states: &[&Tensor],
    kernel: impl Fn(&mut [T], &[T], &mut [&mut [T]]) + Sync,
) -> Result<()> {
    let all: Vec<&Tensor> = std::iter::once(param)
        .chain(states.iter().copied())
        .collect();
    if all.iter().any(|t| !t.layout().is_contiguous()) || shares_storage(&all) {
        let dense: Vec<Tensor> = all.iter().map(|t| t.contiguous_copy()).collect();
        let dense_states: Vec<&Tensor> = dense[1..].iter().collect();
        update(&dense[0], grad, &dense_states, kernel)?;
        for (t, d) in all.iter().zip(&dense) {
            crate::kernels::elementwise::update_in_place::<T>(t, d, |_, v| v)?;
        }
        return Ok(());
    }
    let n = param.numel();
    // Read the gradient in place unless it needs converting or shares a storage being written.
    let copy_grad = grad.dtype() != T::DTYPE
        || !grad.layout().is_contiguous()
        || all
            .iter()
            .any(|t| std::sync::Arc::ptr_eq(t.storage(), grad.storage()));
    let owned_grad: Vec<T> = if copy_grad {
        grad.to_vec::<T>()
    } else {
        Vec::new()
    };
    let grad_guard = (!copy_grad).then(|| grad.storage().read());
    let g: &[T] = match &grad_guard {
        Some(guard) => &T::slice(guard)[grad.layout().offset()..grad.layout().offset() + n],
        None => &owned_grad,
    };
    let mut guards: Vec<_> = all.iter().map(|t| t.storage().write()).collect();
    let mut slices: Vec<&mut [T]> = guards
        .iter_mut()
        .zip(&all)
        .map(|(guard, t)| {
            let offset = t.layout().offset();
            &mut T::slice_mut(guard)[offset..offset + n]
        })
        .collect();
    let (p, states) = slices.split_first_mut().expect("the parameter comes first");
    if !crate::parallel::worth_splitting(n, 2 * PARALLEL_MIN) {
        crate::kernels::vectorized(
            #[inline(always)]
            || kernel(p, g, states),
        );
    } else {
        let chunk = n.div_ceil(crate::parallel::num_threads()).max(PARALLEL_MIN);
        // One task per chunk: the parameter's piece, the gradient's and each state's.
        let mut tasks: Vec<_> = p
            .chunks_mut(chunk)
            .zip(g.chunks(chunk))
            .map(|(p, g)| (p, g, Vec::<&mut [T]>::new()))
            .collect();
        for state in states.iter_mut() {
            for (task, piece) in tasks.iter_mut().zip(state.chunks_mut(chunk)) {
                task.2.push(piece);
            }
        }
        crate::parallel::for_each_mut(&mut tasks, |(p, g, s)| {
            crate::kernels::vectorized(
                #[inline(always)]
                || kernel(p, g, s),
            )
        });
    }
    drop(slices);
    drop(guards);
    drop(grad_guard);
    for t in &all {
        t.bump_version();
    }
    Ok(())
}

/// Whether two of `tensors` share a storage (their write locks would deadlock).
fn shares_storage(tensors: &[&Tensor]) -> bool {
    tensors.iter().enumerate().any(|(i, a)| {
        tensors[i + 1..]
            .iter()
            .any(|b| std::sync::Arc::ptr_eq(a.storage(), b.storage()))
    })
}
