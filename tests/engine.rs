//! Closed-form tests of the Rust engine, without Python: each test writes the maths next to
//! the numbers it expects (STYLE.md E11).
//!
//! `live_nodes()` counts the nodes of the one process-wide tape, and cargo runs these tests
//! on parallel threads. Every test that builds a graph therefore holds [`GRAPHS`]: shared by
//! the tests that only check gradients, exclusive for the tests that count live nodes, so a
//! count is never disturbed by a graph another test is building.

use std::sync::{Barrier, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use autodiff::{autograd, live_nodes, DType, Error, GradModeGuard, Result, Tensor};

static GRAPHS: RwLock<()> = RwLock::new(());

/// For tests that build graphs but do not count nodes.
fn shared() -> RwLockReadGuard<'static, ()> {
    GRAPHS.read().unwrap_or_else(PoisonError::into_inner)
}

/// For tests that assert on `live_nodes()`: no other test builds a graph meanwhile.
fn exclusive() -> RwLockWriteGuard<'static, ()> {
    GRAPHS.write().unwrap_or_else(PoisonError::into_inner)
}

/// A float64 leaf that requires grad.
fn leaf(values: &[f64], shape: &[usize]) -> Result<Tensor> {
    Tensor::from_vec(values.to_vec(), shape)?.requires_grad_(true)
}

fn values(t: &Tensor) -> Vec<f64> {
    t.to_vec::<f64>()
}

fn grad(t: &Tensor) -> Vec<f64> {
    values(&t.grad().expect("the tensor has a .grad"))
}

/// `torch.autograd.grad(y, x, retain_graph=create_graph, create_graph=create_graph)[0]` for a
/// one-element `y`.
fn grad_wrt(y: &Tensor, x: &Tensor, create_graph: bool) -> Result<Option<Tensor>> {
    let mut grads = autograd::grad(
        std::slice::from_ref(y),
        &[None],
        std::slice::from_ref(x),
        create_graph,
        create_graph,
    )?;
    Ok(grads.pop().flatten())
}

#[track_caller]
fn assert_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            (a - e).abs() <= 1e-12 * e.abs().max(1.0),
            "{actual:?} vs {expected:?}"
        );
    }
}

/// PyTorch's message for a backward through freed saved tensors.
const FREED: &str = "Trying to backward through the graph a second time (or directly access \
saved tensors after they have already been freed). Saved intermediate values of the graph are \
freed when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to \
backward through the graph a second time or if you need to access saved tensors after calling \
backward.";

// ---------------------------------------------------------------------------------------
// Closed-form gradients
// ---------------------------------------------------------------------------------------

#[test]
fn polynomial() -> Result<()> {
    let _g = shared();
    // y = x^3 - 2x^2 + 5x
    // dy/dx = 3x^2 - 4x + 5
    let x = leaf(&[-1.0, 0.5, 2.0], &[3])?;
    let y = x
        .pow_scalar(3.0)?
        .sub(&x.pow_scalar(2.0)?.mul_scalar(2.0)?)?
        .add(&x.mul_scalar(5.0)?)?;
    assert_close(&values(&y), &[-8.0, 2.125, 10.0]);
    y.sum(None, false)?.backward(None, false, false)?;
    assert_close(&grad(&x), &[12.0, 3.75, 9.0]);
    Ok(())
}

#[test]
fn binary_rules() -> Result<()> {
    let _g = shared();
    let a = leaf(&[2.0], &[])?;
    let b = leaf(&[3.0], &[])?;
    // y = a^b: dy/da = b a^(b-1) = 12, dy/db = a^b ln a = 8 ln 2
    a.pow(&b)?.backward(None, false, false)?;
    assert_close(&grad(&a), &[12.0]);
    assert_close(&grad(&b), &[8.0 * 2f64.ln()]);

    let a = leaf(&[3.0], &[])?;
    let b = leaf(&[2.0], &[])?;
    // y = a / b - a b: dy/da = 1/b - b = -1.5, dy/db = -a/b^2 - a = -3.75
    a.div(&b)?.sub(&a.mul(&b)?)?.backward(None, false, false)?;
    assert_close(&grad(&a), &[-1.5]);
    assert_close(&grad(&b), &[-3.75]);
    Ok(())
}

#[test]
fn chain_rule_through_exp_log_sigmoid_tanh() -> Result<()> {
    let _g = shared();
    let xs = [-2.0, 0.0, 3.0];
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());

    // y = log(sigmoid(x)): dy/dx = sigmoid'(x) / sigmoid(x) = 1 - sigmoid(x)
    let x = leaf(&xs, &[3])?;
    x.sigmoid()?
        .log()?
        .sum(None, false)?
        .backward(None, false, false)?;
    assert_close(&grad(&x), &xs.map(|v| 1.0 - sigmoid(v)));

    // y = tanh(e^x): dy/dx = (1 - tanh(e^x)^2) e^x
    let x = leaf(&xs, &[3])?;
    x.exp()?
        .tanh()?
        .sum(None, false)?
        .backward(None, false, false)?;
    assert_close(
        &grad(&x),
        &xs.map(|v| (1.0 - v.exp().tanh().powi(2)) * v.exp()),
    );

    // softplus y = log(1 + e^x): dy/dx = e^x / (1 + e^x) = sigmoid(x)
    let x = leaf(&xs, &[3])?;
    x.exp()?
        .log1p()?
        .sum(None, false)?
        .backward(None, false, false)?;
    assert_close(&grad(&x), &xs.map(sigmoid));

    // y = exp(2 log x) = x^2 for x > 0: dy/dx = 2x
    let x = leaf(&[0.5, 1.0, 4.0], &[3])?;
    x.log()?
        .mul_scalar(2.0)?
        .exp()?
        .sum(None, false)?
        .backward(None, false, false)?;
    assert_close(&grad(&x), &[1.0, 2.0, 8.0]);
    Ok(())
}

#[test]
fn broadcasting_reduces_gradients_to_input_shapes() -> Result<()> {
    let _g = shared();
    // out[i, j] = a[i] b[j], a: [3, 1], b: [1, 4]; L = sum(out)
    // dL/da[i] = sum_j b[j] = 100, dL/db[j] = sum_i a[i] = 6
    let a = leaf(&[1.0, 2.0, 3.0], &[3, 1])?;
    let b = leaf(&[10.0, 20.0, 30.0, 40.0], &[1, 4])?;
    let out = a.mul(&b)?;
    assert_eq!(out.shape(), &[3, 4]);
    out.sum(None, false)?.backward(None, false, false)?;
    assert_eq!(a.grad().unwrap().shape(), &[3, 1]);
    assert_eq!(b.grad().unwrap().shape(), &[1, 4]);
    assert_close(&grad(&a), &[100.0; 3]);
    assert_close(&grad(&b), &[6.0; 4]);

    // With an explicit gradient G[i, j] = i + 1 (rows 1, 2, 3):
    // dL/da[i] = sum_j G[i, j] b[j] = 100 (i + 1), dL/db[j] = sum_i G[i, j] a[i] = 1 + 4 + 9
    let a = leaf(&[1.0, 2.0, 3.0], &[3, 1])?;
    let b = leaf(&[10.0, 20.0, 30.0, 40.0], &[1, 4])?;
    let g = Tensor::from_vec(
        [1.0; 4]
            .into_iter()
            .chain([2.0; 4])
            .chain([3.0; 4])
            .collect(),
        &[3, 4],
    )?;
    a.mul(&b)?.backward(Some(g), false, false)?;
    assert_close(&grad(&a), &[100.0, 200.0, 300.0]);
    assert_close(&grad(&b), &[14.0; 4]);

    // Leading dimensions: c[3] + m[2, 3], L = sum: dL/dc = 2 (two rows), dL/dm = 1
    let c = leaf(&[1.0, 2.0, 3.0], &[3])?;
    let m = leaf(&[0.0; 6], &[2, 3])?;
    c.add(&m)?.sum(None, false)?.backward(None, false, false)?;
    assert_eq!(c.grad().unwrap().shape(), &[3]);
    assert_close(&grad(&c), &[2.0; 3]);
    assert_close(&grad(&m), &[1.0; 6]);
    Ok(())
}

#[test]
fn sum_and_mean_over_dims() -> Result<()> {
    let _g = shared();
    // x: [2, 3]; L = sum(mean(x, dim 1) * w) with w = [1, 2]
    // dL/dx[i, j] = w[i] / 3
    let x = leaf(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    let m = x.mean(Some(&[1]), false)?;
    assert_close(&values(&m), &[2.0, 5.0]);
    let w = Tensor::from_vec(vec![1.0, 2.0], &[2])?;
    m.mul(&w)?.sum(None, false)?.backward(None, false, false)?;
    let third = 1.0 / 3.0;
    assert_close(
        &grad(&x),
        &[third, third, third, 2.0 * third, 2.0 * third, 2.0 * third],
    );

    // keepdim keeps the reduced dimension as size 1; s = sum(x, dim -2) = [5, 7, 9]
    // L = sum(s^2): dL/dx[i, j] = 2 s[j]
    let x = leaf(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
    let s = x.sum(Some(&[-2]), true)?;
    assert_eq!(s.shape(), &[1, 3]);
    s.pow_scalar(2.0)?
        .sum(None, false)?
        .backward(None, false, false)?;
    assert_close(&grad(&x), &[10.0, 14.0, 18.0, 10.0, 14.0, 18.0]);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Semantic rules: accumulation, retain_grad, detach, no-grad, threads
// ---------------------------------------------------------------------------------------

#[test]
fn gradients_accumulate_across_backward_calls() -> Result<()> {
    let _g = shared();
    // L = sum(x^2): dL/dx = 2x = [2, 4], twice: [4, 8]
    let x = leaf(&[1.0, 2.0], &[2])?;
    x.mul(&x)?.sum(None, false)?.backward(None, false, false)?;
    let first = x.grad().unwrap();
    assert_close(&values(&first), &[2.0, 4.0]);
    x.mul(&x)?.sum(None, false)?.backward(None, false, false)?;
    assert_close(&grad(&x), &[4.0, 8.0]);
    // Accumulation is in place: `.grad` stays the same tensor, as in PyTorch.
    assert!(x.grad().unwrap().ptr_eq(&first));
    assert_close(&values(&first), &[4.0, 8.0]);

    // retain_graph allows a second pass through the same graph: 2 * 3 = 6
    let x = leaf(&[2.0], &[])?;
    let y = x.mul_scalar(3.0)?.exp()?.log()?;
    y.backward(None, true, false)?;
    y.backward(None, false, false)?;
    assert_close(&grad(&x), &[6.0]);

    // zero_ resets the accumulator in place
    x.grad().unwrap().zero_()?;
    assert_close(&grad(&x), &[0.0]);
    Ok(())
}

#[test]
fn retain_grad_keeps_non_leaf_gradients() -> Result<()> {
    let _g = shared();
    // y = 2x, z = sum(y^2): dz/dy = 2y = 4x, dz/dx = 8x
    let x = leaf(&[1.0, -3.0], &[2])?;
    let y = x.mul_scalar(2.0)?;
    let other = x.mul_scalar(2.0)?;
    y.retain_grad()?;
    y.retain_grad()?; // a second call is a no-op
    assert!(y.retains_grad() && !other.retains_grad());
    y.pow_scalar(2.0)?
        .add(&other)?
        .sum(None, false)?
        .backward(None, false, false)?;
    assert_close(&grad(&y), &[4.0, -12.0]);
    // dz/dx = 8x + 2 (the `other` branch)
    assert_close(&grad(&x), &[10.0, -22.0]);
    // Non-leaves that did not ask keep no gradient.
    assert!(other.grad().is_none());
    // retain_grad on a leaf is a no-op; on a tensor without grad it is an error.
    x.retain_grad()?;
    let plain = Tensor::scalar(1.0f64);
    assert_eq!(
        plain.retain_grad(),
        Err(Error::Runtime(
            "can't retain_grad on Tensor that has requires_grad=False".into()
        ))
    );
    Ok(())
}

#[test]
fn detach_shares_storage_and_leaves_the_graph() -> Result<()> {
    let _g = shared();
    let x = leaf(&[1.0, 2.0], &[2])?;
    let y = x.mul_scalar(2.0)?;
    let d = y.detach();
    assert!(std::sync::Arc::ptr_eq(d.storage(), y.storage()));
    assert!(d.is_leaf() && !d.requires_grad() && d.grad_fn().is_none());
    assert_eq!(d.version(), y.version());

    // An in-place change through the detached tensor is seen by y and bumps the shared
    // version counter, so backward through a graph that saved y refuses to run.
    let z = y.mul(&y)?.sum(None, false)?;
    d.fill_(5.0)?;
    assert_close(&values(&y), &[5.0, 5.0]);
    assert_eq!(y.version(), 1);
    assert_eq!(
        z.backward(None, false, false),
        Err(Error::Runtime(
            "one of the variables needed for gradient computation has been modified by an \
             inplace operation: [torch.DoubleTensor [2]], which is output 0 of Mul, is at \
             version 1; expected version 0 instead. Hint: enable anomaly detection to find the \
             operation that failed to compute its gradient, with \
             torch.autograd.set_detect_anomaly(True, check_nan=False)."
                .into()
        ))
    );

    // detach_ turns a non-leaf into a leaf in place.
    let w = x.mul_scalar(3.0)?;
    w.detach_()?;
    assert!(w.is_leaf() && !w.requires_grad());
    Ok(())
}

/// PyTorch prints no comma when the modified saved tensor is a leaf (PYTORCH_SEMANTICS.md
/// §2.9: "[torch.FloatTensor [2]] is at version 1").
#[test]
fn modified_saved_leaf_message() -> Result<()> {
    let _g = shared();
    let x = leaf(&[1.0, 2.0], &[2])?;
    let z = x.mul(&x)?.sum(None, false)?;
    x.detach().fill_(3.0)?;
    assert_eq!(
        z.backward(None, false, false),
        Err(Error::Runtime(
            "one of the variables needed for gradient computation has been modified by an \
             inplace operation: [torch.DoubleTensor [2]] is at version 1; expected version 0 \
             instead. Hint: enable anomaly detection to find the operation that failed to \
             compute its gradient, with torch.autograd.set_detect_anomaly(True, \
             check_nan=False)."
                .into()
        ))
    );
    Ok(())
}

#[test]
fn no_grad_guard_makes_leaves() -> Result<()> {
    let _g = shared();
    let x = leaf(&[1.0, 2.0], &[2])?;
    let y = {
        let _no_grad = GradModeGuard::new(false);
        assert!(!autodiff::is_grad_enabled());
        let inner = {
            let _enabled = GradModeGuard::new(true);
            x.mul_scalar(2.0)?
        };
        assert!(inner.grad_fn().is_some(), "nested enable_grad records");
        x.mul_scalar(2.0)?
    };
    assert!(autodiff::is_grad_enabled());
    assert!(y.is_leaf() && !y.requires_grad() && y.grad_fn().is_none());

    // The result is an ordinary leaf: it can require grad itself.
    // L = sum(y x): dL/dy = x, dL/dx = y
    let y = y.requires_grad_(true)?;
    y.mul(&x)?.sum(None, false)?.backward(None, false, false)?;
    assert_close(&grad(&y), &[1.0, 2.0]);
    assert_close(&grad(&x), &[2.0, 4.0]);
    Ok(())
}

#[test]
fn grad_mode_is_per_thread() -> Result<()> {
    let _g = shared();
    let x = leaf(&[3.0], &[])?;
    // Both threads run their op while the other is inside its own mode.
    let barrier = Barrier::new(2);
    let (off, on) = std::thread::scope(|s| {
        let off = s.spawn(|| {
            let _no_grad = GradModeGuard::new(false);
            barrier.wait();
            let y = x.mul(&x);
            barrier.wait();
            y
        });
        let on = s.spawn(|| {
            barrier.wait();
            assert!(autodiff::is_grad_enabled());
            let y = x.mul(&x);
            barrier.wait();
            y
        });
        (off.join().unwrap(), on.join().unwrap())
    });
    let (off, on) = (off?, on?);
    assert!(off.grad_fn().is_none());
    assert_eq!(on.grad_fn().map(|n| n.name()), Some("MulBackward0"));
    // d(x^2)/dx = 2x = 6
    on.backward(None, false, false)?;
    assert_close(&grad(&x), &[6.0]);
    Ok(())
}

#[test]
fn graphs_cross_threads() -> Result<()> {
    let _g = shared();
    // Built on one thread, differentiated on another, dropped on a third.
    // y = sum(e^x): dy/dx = e^x
    let x = leaf(&[0.0, 1.0], &[2])?;
    let y = std::thread::scope(|s| s.spawn(|| x.exp()?.sum(None, false)).join().unwrap())?;
    let y = std::thread::spawn(move || y.backward(None, false, false).map(|()| y))
        .join()
        .unwrap()?;
    std::thread::spawn(move || drop(y)).join().unwrap();
    assert_close(&grad(&x), &[1.0, 1f64.exp()]);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Higher order
// ---------------------------------------------------------------------------------------

#[test]
fn second_derivative_through_backward_create_graph() -> Result<()> {
    let _g = shared();
    // y = x^3 at x = 2: dy/dx = 3x^2 = 12, d2y/dx2 = 6x = 12
    let x = leaf(&[2.0], &[])?;
    let y = x.pow_scalar(3.0)?;
    y.backward(None, true, true)?;
    let dx = x.grad().unwrap();
    assert_close(&values(&dx), &[12.0]);
    assert!(dx.requires_grad());
    assert_eq!(dx.grad_fn().map(|n| n.name()), Some("CopyBackwards"));
    let d2 = grad_wrt(&dx, &x, false)?.unwrap();
    assert_close(&values(&d2), &[12.0]);
    // `.grad` with a graph refers back to x: clear it to break the cycle, as in PyTorch.
    x.set_grad(None)?;

    // The same through x * x * x, whose backward reads saved non-leaf tensors.
    let x = leaf(&[2.0], &[])?;
    x.mul(&x)?.mul(&x)?.backward(None, true, true)?;
    let dx = x.grad().unwrap();
    assert_close(&values(&dx), &[12.0]);
    x.set_grad(None)?;
    dx.backward(None, false, false)?;
    assert_close(&grad(&x), &[12.0]);
    Ok(())
}

#[test]
fn higher_derivatives_through_autograd_grad() -> Result<()> {
    let _g = shared();
    // y = x^3 at 2: y' = 3x^2 = 12, y'' = 6x = 12, y''' = 6
    let x = leaf(&[2.0], &[])?;
    let y = x.pow_scalar(3.0)?;
    let d1 = grad_wrt(&y, &x, true)?.unwrap();
    assert_close(&values(&d1), &[12.0]);
    assert!(d1.requires_grad());
    let d2 = grad_wrt(&d1, &x, true)?.unwrap();
    assert_close(&values(&d2), &[12.0]);
    let d3 = grad_wrt(&d2, &x, false)?.unwrap();
    assert_close(&values(&d3), &[6.0]);
    assert!(!d3.requires_grad());
    // autograd.grad leaves `.grad` alone.
    assert!(x.grad().is_none());

    // An input the output does not depend on gets None.
    let a = leaf(&[1.0], &[])?;
    let b = leaf(&[1.0], &[])?;
    let grads = autograd::grad(&[a.exp()?], &[None], &[a.clone(), b], false, false)?;
    assert_close(&values(grads[0].as_ref().unwrap()), &[1f64.exp()]);
    assert!(grads[1].is_none());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Error messages (PyTorch's text)
// ---------------------------------------------------------------------------------------

#[test]
fn second_backward_through_freed_buffers() -> Result<()> {
    let _g = shared();
    let x = leaf(&[1.0, 2.0], &[2])?;
    let y = x.mul(&x)?.sum(None, false)?;
    y.backward(None, false, false)?;
    assert_eq!(
        y.backward(None, false, false),
        Err(Error::Runtime(FREED.into()))
    );
    // The same through autograd.grad.
    let y = x.exp()?.sum(None, false)?;
    grad_wrt(&y, &x, false)?;
    assert_eq!(
        grad_wrt(&y, &x, false).err(),
        Some(Error::Runtime(FREED.into()))
    );
    // Only the first call accumulated: 2x = [2, 4].
    assert_close(&grad(&x), &[2.0, 4.0]);
    Ok(())
}

#[test]
fn gradient_argument_errors() -> Result<()> {
    let _g = shared();
    let x = leaf(&[1.0; 6], &[2, 3])?;
    let y = x.mul_scalar(2.0)?;
    assert_eq!(
        y.backward(None, false, false),
        Err(Error::Runtime(
            "grad can be implicitly created only for scalar outputs".into()
        ))
    );
    let wrong = Tensor::ones(&[3], DType::F64);
    assert_eq!(
        y.backward(Some(wrong), false, false),
        Err(Error::Runtime(
            "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has \
             a shape of torch.Size([2, 3])."
                .into()
        ))
    );
    let constant = Tensor::scalar(1.0f64);
    assert_eq!(
        constant.backward(None, false, false),
        Err(Error::Runtime(
            "element 0 of tensors does not require grad and does not have a grad_fn".into()
        ))
    );
    assert_eq!(
        autograd::grad(&[y.sum(None, false)?], &[None], &[constant], false, false).err(),
        Some(Error::Runtime(
            "One of the differentiated Tensors does not require grad".into()
        ))
    );
    // After the failed calls the graph still works: d(sum 2x)/dx = 2.
    y.sum(None, false)?.backward(None, false, false)?;
    assert_close(&grad(&x), &[2.0; 6]);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Memory: live nodes, slot reuse, deep graphs
// ---------------------------------------------------------------------------------------

#[test]
fn live_nodes_return_to_baseline() -> Result<()> {
    let _g = exclusive();
    let base = live_nodes();
    let x = leaf(&[1.0, 2.0], &[2])?;
    assert_eq!(live_nodes(), base, "a leaf alone has no node");

    // AccumulateGrad(x), MulBackward0, ExpBackward0, SumBackward0
    let y = x.mul_scalar(2.0)?.exp()?.sum(None, false)?;
    assert_eq!(live_nodes(), base + 4);
    drop(y);
    assert_eq!(
        live_nodes(),
        base,
        "dropping the root frees the whole graph"
    );

    // After backward the graph lives as long as its root; `.grad` holds none of it.
    let y = x.mul_scalar(2.0)?.exp()?.sum(None, false)?;
    y.backward(None, false, false)?;
    assert_eq!(live_nodes(), base + 4);
    assert!(x.grad().unwrap().grad_fn().is_none());
    drop(y);
    assert_eq!(live_nodes(), base);

    // After the "second time" error.
    let y = x.mul(&x)?.sum(None, false)?;
    y.backward(None, false, false)?;
    assert!(y.backward(None, false, false).is_err());
    drop(y);
    assert_eq!(live_nodes(), base);

    // With retain_grad (held weakly by the node).
    let h = x.mul_scalar(3.0)?;
    h.retain_grad()?;
    let y = h.sum(None, false)?;
    y.backward(None, false, false)?;
    drop((h, y));
    assert_eq!(live_nodes(), base);

    // With create_graph, x.grad has a graph that saves x: a cycle until .grad is cleared.
    let y = x.pow_scalar(3.0)?.sum(None, false)?;
    y.backward(None, true, true)?;
    drop(y);
    assert!(live_nodes() > base);
    x.set_grad(None)?;
    assert_eq!(live_nodes(), base);

    // Graphs built on other threads.
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| s.spawn(|| x.exp()?.sum(None, false)?.backward(None, false, false)))
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("worker panicked"))
    })?;
    assert_eq!(live_nodes(), base);
    drop(x);
    assert_eq!(live_nodes(), base);
    Ok(())
}

#[test]
fn arena_slots_are_reused() -> Result<()> {
    let _g = exclusive();
    let base = live_nodes();
    let x = leaf(&[0.5, 1.5, 2.5], &[3])?;
    let mut peak = base;
    let mut ids = std::collections::HashSet::new();
    for i in 0..2_000 {
        // sigmoid(x * i) summed: AccumulateGrad, Mul, Sigmoid, Sum
        let y = x.mul_scalar(i as f64)?.sigmoid()?.sum(None, false)?;
        peak = peak.max(live_nodes());
        // Handles of freed nodes are never handed out again (the slot generation moves on).
        assert!(ids.insert(y.grad_fn().unwrap().id()));
        y.backward(None, false, false)?;
        drop(y);
        assert_eq!(live_nodes(), base);
    }
    assert_eq!(peak, base + 4, "live nodes stay bounded by one graph");
    Ok(())
}

#[test]
fn deep_chain_builds_backprops_and_drops_without_recursion() -> Result<()> {
    let _g = exclusive();
    const N: usize = 100_000;
    let base = live_nodes();
    // y_0 = x, y_{k+1} = c y_k + d, so y_N = c^N x + d (c^N - 1) / (c - 1) and
    // dy_N/dx = c^N, here (1 + 1e-5)^(1e5) ≈ e.
    let (c, d) = (1.0 + 1e-5, 1e-3);
    let x = leaf(&[0.5], &[])?;
    let (ct, dt) = (Tensor::scalar(c), Tensor::scalar(d));
    let mut y = x.clone();
    for _ in 0..N {
        y = y.mul(&ct)?.add(&dt)?;
    }
    // N multiplications, N additions and x's AccumulateGrad
    assert_eq!(live_nodes(), base + 2 * N + 1);
    let c_n = (0..N).fold(1.0f64, |acc, _| acc * c);
    let expected = c_n * 0.5 + d * (c_n - 1.0) / (c - 1.0);
    assert!((y.item()? - expected).abs() < 1e-9 * expected);

    y.backward(None, false, false)?;
    assert!((x.grad().unwrap().item()? - c_n).abs() < 1e-12 * c_n);
    assert!((c_n - std::f64::consts::E).abs() < 1e-4);
    drop(y);
    assert_eq!(live_nodes(), base);
    Ok(())
}
