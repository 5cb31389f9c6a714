//! Closed-form tests of the losses and optimizer updates, from Rust (the Python suite checks
//! them further against finite differences, NumPy references and PyTorch).

use autodiff::optim::{adam_step, sgd_step, AdamOptions, SgdOptions};
use autodiff::{Reduction, Result, Tensor};

fn leaf(values: &[f64], shape: &[usize]) -> Result<Tensor> {
    Tensor::from_vec(values.to_vec(), shape)?.requires_grad_(true)
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
}

#[test]
fn nll_loss_picks_the_target_log_probabilities() -> Result<()> {
    // rows [-1, -2, -3] and [-4, -5, -6], targets 2 and 0:
    // loss = (3 + 4) / 2; d loss / d x[i, t_i] = -1/2, zero elsewhere
    let x = leaf(&[-1.0, -2.0, -3.0, -4.0, -5.0, -6.0], &[2, 3])?;
    let target = Tensor::from_vec(vec![2i64, 0], &[2])?;
    let loss = x.nll_loss(&target, None, -100, Reduction::Mean)?;
    assert_eq!(loss.item()?, 3.5);
    loss.backward(None, false, false)?;
    let grad = x.grad().unwrap().to_vec::<f64>();
    assert!(close(&grad, &[0.0, 0.0, -0.5, -0.5, 0.0, 0.0]));
    Ok(())
}

#[test]
fn nll_loss_weights_and_ignores_rows() -> Result<()> {
    // weights [1, 2, 3]; targets 2, 1 and an ignored row:
    // loss = (3 * 3 + 2 * 5) / (3 + 2) = 19 / 5
    let x = leaf(
        &[-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0],
        &[3, 3],
    )?;
    let target = Tensor::from_vec(vec![2i64, 1, 7], &[3])?;
    let weight = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3])?;
    let loss = x.nll_loss(&target, Some(&weight), 7, Reduction::Mean)?;
    assert!((loss.item()? - 3.8).abs() < 1e-12);
    loss.backward(None, false, false)?;
    let grad = x.grad().unwrap().to_vec::<f64>();
    assert!(close(
        &grad,
        &[0.0, 0.0, -0.6, 0.0, -0.4, 0.0, 0.0, 0.0, 0.0]
    ));
    Ok(())
}

#[test]
fn nll_loss_rejects_out_of_range_targets() -> Result<()> {
    let x = Tensor::zeros(&[2, 3], autodiff::DType::F32);
    let target = Tensor::from_vec(vec![0i64, 3], &[2])?;
    let err = x.nll_loss(&target, None, -100, Reduction::Sum).unwrap_err();
    assert_eq!(err.to_string(), "Target 3 is out of bounds.");
    Ok(())
}

#[test]
fn mse_loss_gradient_is_twice_the_difference() -> Result<()> {
    // loss = sum (x - t)^2; d/dx = 2 (x - t), d/dt = -2 (x - t)
    let x = leaf(&[1.0, 4.0], &[2])?;
    let t = leaf(&[0.5, 5.0], &[2])?;
    let loss = x.mse_loss(&t, Reduction::Sum)?;
    assert_eq!(loss.item()?, 1.25);
    loss.backward(None, false, false)?;
    assert!(close(&x.grad().unwrap().to_vec::<f64>(), &[1.0, -2.0]));
    assert!(close(&t.grad().unwrap().to_vec::<f64>(), &[-1.0, 2.0]));
    Ok(())
}

#[test]
fn bce_with_logits_gradient_is_sigmoid_minus_target() -> Result<()> {
    let z = leaf(&[-2.0, 0.0, 3.0], &[3])?;
    let t = Tensor::from_vec(vec![0.0f64, 1.0, 1.0], &[3])?;
    let loss = z.binary_cross_entropy_with_logits(&t, None, None, Reduction::Sum)?;
    loss.backward(None, false, false)?;
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let expected = [sigmoid(-2.0), sigmoid(0.0) - 1.0, sigmoid(3.0) - 1.0];
    assert!(close(&z.grad().unwrap().to_vec::<f64>(), &expected));
    Ok(())
}

#[test]
fn sgd_with_momentum_follows_the_recurrence() -> Result<()> {
    // Constant gradient g = 1, momentum 0.9, lr 0.1: buffers 1, 1.9, 2.71, so
    // p = 0 - 0.1 (1 + 1.9 + 2.71) = -0.561 after three steps.
    let p = Tensor::from_vec(vec![0.0f64], &[1])?;
    let g = Tensor::from_vec(vec![1.0f64], &[1])?;
    let options = SgdOptions {
        lr: 0.1,
        weight_decay: 0.0,
        momentum: 0.9,
        dampening: 0.0,
        nesterov: false,
        maximize: false,
    };
    let mut buffers = [None];
    for _ in 0..3 {
        sgd_step(
            std::slice::from_ref(&p),
            std::slice::from_ref(&g),
            &mut buffers,
            &options,
        )?;
    }
    assert!((p.item()? + 0.561).abs() < 1e-12);
    assert!((buffers[0].as_ref().unwrap().item()? - 2.71).abs() < 1e-12);
    Ok(())
}

#[test]
fn adam_bias_correction_makes_early_steps_lr_sized() -> Result<()> {
    // With a constant gradient the bias-corrected moments equal g and g^2, so each step
    // moves the parameter by lr * g / (|g| + eps) ~ lr.
    let p = Tensor::from_vec(vec![1.0f64, 1.0], &[2])?;
    let g = Tensor::from_vec(vec![3.0f64, -0.5], &[2])?;
    let (m, v) = (
        Tensor::zeros(&[2], p.dtype()),
        Tensor::zeros(&[2], p.dtype()),
    );
    let options = AdamOptions {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 0.0,
        weight_decay: 0.0,
        amsgrad: false,
        maximize: false,
        decoupled_weight_decay: false,
    };
    for step in 1..=3 {
        adam_step(
            std::slice::from_ref(&p),
            std::slice::from_ref(&g),
            std::slice::from_ref(&m),
            std::slice::from_ref(&v),
            &[],
            &[step as f64],
            &options,
        )?;
    }
    assert!(close(&p.to_vec::<f64>(), &[0.97, 1.03]));
    Ok(())
}

#[test]
fn updates_bump_the_version_of_what_they_write() -> Result<()> {
    let p = Tensor::from_vec(vec![0.0f32; 4], &[4])?;
    let g = Tensor::from_vec(vec![1.0f32; 4], &[4])?;
    let before = p.version();
    let options = SgdOptions {
        lr: 1.0,
        weight_decay: 0.0,
        momentum: 0.0,
        dampening: 0.0,
        nesterov: false,
        maximize: false,
    };
    sgd_step(std::slice::from_ref(&p), &[g], &mut [None], &options)?;
    assert_eq!(p.version(), before + 1);
    assert_eq!(p.to_vec::<f32>(), [-1.0; 4]);
    Ok(())
}
