//! Criterion benchmarks of the engine, one group per family (STYLE.md E13):
//! - `elementwise`: add, mul, exp, sigmoid on 1e6 float32 elements, no graph recorded;
//! - `reduce`: `sum` of 1e6 float32 elements;
//! - `chain`: recording (forward), backward and drop of a scalar chain of 1e5 nodes;
//! - `matmul`: `a.matmul(b)` of float32 (n, n) matrices for n = 32, 128, 512, forward alone
//!   and forward + `sum` + backward (throughput in flops: 2n³ forward, 6n³ with backward);
//! - `softmax`: `softmax` and `log_softmax` over dim 1 of a float32 (256, 1000) tensor,
//!   forward alone and forward + backward with a fixed upstream gradient;
//! - `reductions`: `sum`, `amax` and `var` over dim 1 of the same (256, 1000) tensor.
//!
//! Run with `cargo bench --bench engine`; the whole run takes about three minutes.
//! `cargo bench --bench engine -- --quick` gives a rough number in a few seconds.

use std::hint::black_box;
use std::time::Duration;

use autodiff::optim::{sgd_step, SgdOptions};
use autodiff::{DType, GradModeGuard, Reduction, Tensor};
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput,
};

const ELEMENTS: usize = 1_000_000;
/// Steps of the chain; each records a `MulBackward0` and an `AddBackward0`.
const STEPS: usize = 50_000;
const NODES: u64 = 2 * STEPS as u64;

/// Rows and columns of the softmax and reduction benches: a batch of 256 rows of 1000 logits.
const ROWS: usize = 256;
const COLS: usize = 1000;

/// Deterministic float32 values in [-1, 1) of the given shape.
fn uniform(shape: &[usize], seed: u32) -> Tensor {
    let len: usize = shape.iter().product();
    let values = (0..len as u32)
        .map(|i| {
            let h = i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8;
            h as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect();
    Tensor::from_vec(values, shape).expect("length matches shape")
}

fn tensor_1e6(seed: u32) -> Tensor {
    uniform(&[ELEMENTS], seed)
}

/// A float32 leaf that requires grad.
fn leaf(shape: &[usize], seed: u32) -> Tensor {
    uniform(shape, seed)
        .requires_grad_(true)
        .expect("float leaf")
}

fn elementwise(c: &mut Criterion) {
    let (a, b) = (tensor_1e6(1), tensor_1e6(2));
    let mut group = c.benchmark_group("elementwise_f32_1e6");
    group.throughput(Throughput::Elements(ELEMENTS as u64));
    group.bench_function("add", |bench| bench.iter(|| black_box(&a).add(&b)));
    group.bench_function("mul", |bench| bench.iter(|| black_box(&a).mul(&b)));
    group.bench_function("exp", |bench| bench.iter(|| black_box(&a).exp()));
    group.bench_function("sigmoid", |bench| bench.iter(|| black_box(&a).sigmoid()));
    group.finish();
}

fn reduce(c: &mut Criterion) {
    let a = tensor_1e6(3);
    let mut group = c.benchmark_group("reduce_f32_1e6");
    group.throughput(Throughput::Bytes((ELEMENTS * DType::F32.size_of()) as u64));
    group.bench_function("sum", |bench| bench.iter(|| black_box(&a).sum(None, false)));
    group.finish();
}

/// `y = y * c + d`, `STEPS` times from a leaf: a chain of `NODES` recorded nodes.
fn build_chain(x: &Tensor, c: &Tensor, d: &Tensor) -> Tensor {
    let mut y = x.clone();
    for _ in 0..STEPS {
        y = y.mul(c).and_then(|t| t.add(d)).expect("scalar ops");
    }
    y
}

fn chain(c: &mut Criterion) {
    let x = Tensor::scalar(0.5f32)
        .requires_grad_(true)
        .expect("float leaf");
    let (k, d) = (Tensor::scalar(1.0f32), Tensor::scalar(1e-3f32));
    let mut group = c.benchmark_group("chain_1e5_nodes");
    group.throughput(Throughput::Elements(NODES));
    // Tens of milliseconds per iteration: flat sampling (same count per sample) suits them.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    // Forward with recording; the graph is dropped outside the timing.
    group.bench_function("record", |bench| {
        bench.iter_with_large_drop(|| build_chain(&x, &k, &d))
    });
    // Backward only: a fresh graph per iteration, built and dropped outside the timing.
    group.bench_function("backward", |bench| {
        bench.iter_batched(
            || build_chain(&x, &k, &d),
            |y| {
                y.backward(None, false, false).expect("scalar root");
                y
            },
            BatchSize::PerIteration,
        )
    });
    // Freeing the graph, iteratively. Each iteration also pays an untimed build, so this
    // one measures for less time to keep the wall-clock time down.
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("drop", |bench| {
        bench.iter_batched(|| build_chain(&x, &k, &d), drop, BatchSize::PerIteration)
    });
    group.finish();
}

fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul_f32");
    for n in [32usize, 128, 512] {
        let (a, b) = (leaf(&[n, n], 4), leaf(&[n, n], 5));
        let (a_const, b_const) = (a.detach(), b.detach());
        let flops = 2 * (n as u64).pow(3);
        // Forward alone: operands that do not require grad, so no graph is recorded.
        group.throughput(Throughput::Elements(flops));
        group.bench_with_input(BenchmarkId::new("forward", n), &n, |bench, _| {
            bench.iter(|| {
                black_box(&a_const)
                    .matmul(&b_const)
                    .expect("square matrices")
            })
        });
        // (a @ b).sum().backward(): two more products, for the gradients of a and b.
        group.throughput(Throughput::Elements(3 * flops));
        group.bench_with_input(BenchmarkId::new("forward_backward", n), &n, |bench, _| {
            bench.iter(|| {
                let loss = black_box(&a)
                    .matmul(&b)
                    .and_then(|y| y.sum(None, false))
                    .expect("square matrices");
                loss.backward(None, false, false).expect("scalar root");
                a.set_grad(None).expect("clear grad");
                b.set_grad(None).expect("clear grad");
            })
        });
    }
    group.finish();
}

fn softmax(c: &mut Criterion) {
    let x = leaf(&[ROWS, COLS], 6);
    let x_const = x.detach();
    let grad = uniform(&[ROWS, COLS], 7);
    let mut group = c.benchmark_group("softmax_f32_256x1000");
    group.throughput(Throughput::Elements((ROWS * COLS) as u64));
    for (name, log) in [("softmax", false), ("log_softmax", true)] {
        let run = |t: &Tensor| if log { t.log_softmax(1) } else { t.softmax(1) };
        group.bench_function(format!("{name}/forward"), |bench| {
            bench.iter(|| run(black_box(&x_const)).expect("float input"))
        });
        // Backward from a fixed upstream gradient, then the leaf's grad is cleared.
        group.bench_function(format!("{name}/forward_backward"), |bench| {
            bench.iter(|| {
                let y = run(black_box(&x)).expect("float input");
                y.backward(Some(grad.clone()), false, false)
                    .expect("gradient of y's shape");
                x.set_grad(None).expect("clear grad");
            })
        });
    }
    group.finish();
}

fn reductions(c: &mut Criterion) {
    let x = uniform(&[ROWS, COLS], 8);
    let mut group = c.benchmark_group("reduce_f32_256x1000_dim1");
    group.throughput(Throughput::Bytes(
        (ROWS * COLS * DType::F32.size_of()) as u64,
    ));
    group.bench_function("sum", |bench| {
        bench.iter(|| black_box(&x).sum(Some(&[1]), false))
    });
    group.bench_function("amax", |bench| {
        bench.iter(|| black_box(&x).amax(&[1], false))
    });
    group.bench_function("var", |bench| {
        bench.iter(|| black_box(&x).var(Some(&[1]), 1.0, false))
    });
    group.finish();
}

/// One training step of the issue-5 MLP, 784-128-10 with tanh, batch 64, written with the
/// crate's ops: two `addmm` layers, cross-entropy as `log_softmax` + `nll_loss`, backward, and
/// an SGD update of the four parameters.
fn training_step(c: &mut Criterion) {
    let params = [
        leaf(&[128, 784], 9),
        leaf(&[128], 10),
        leaf(&[10, 128], 11),
        leaf(&[10], 12),
    ];
    let x = uniform(&[64, 784], 13);
    let target = Tensor::from_vec((0..64).map(|i| i % 10).collect::<Vec<i64>>(), &[64])
        .expect("length matches shape");
    let sgd = SgdOptions {
        lr: 0.01,
        weight_decay: 0.0,
        momentum: 0.0,
        dampening: 0.0,
        nesterov: false,
        maximize: false,
    };
    c.bench_function("mlp_784_128_10_sgd_step", |bench| {
        bench.iter(|| {
            let [w1, b1, w2, b2] = &params;
            let hidden = b1
                .addmm(&x, &w1.t().unwrap(), 1.0, 1.0)
                .unwrap()
                .tanh()
                .unwrap();
            let logits = b2.addmm(&hidden, &w2.t().unwrap(), 1.0, 1.0).unwrap();
            let loss = logits
                .log_softmax(1)
                .unwrap()
                .nll_loss(&target, None, -100, Reduction::Mean)
                .unwrap();
            loss.backward(None, false, false).expect("scalar loss");
            let grads: Vec<Tensor> = params.iter().map(|p| p.grad().unwrap()).collect();
            let _no_grad = GradModeGuard::new(false);
            sgd_step(&params, &grads, &mut [None, None, None, None], &sgd).unwrap();
            for p in &params {
                p.set_grad(None).expect("clear grad");
            }
        })
    });
}

criterion_group! {
    name = kernels;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = elementwise, reduce, softmax, reductions
}
criterion_group! {
    name = products;
    // The n = 512 products take milliseconds: fewer samples keep the group under a minute.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = matmul
}
criterion_group! {
    name = graphs;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = chain, training_step
}
criterion_main!(kernels, products, graphs);
