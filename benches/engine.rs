//! Criterion benchmarks of the engine, one group per family (STYLE.md E13):
//! - `elementwise`: add, mul, exp, sigmoid on 1e6 float32 elements, no graph recorded;
//! - `reduce`: `sum` of 1e6 float32 elements;
//! - `chain`: recording (forward), backward and drop of a scalar chain of 1e5 nodes.
//!
//! Run with `cargo bench --bench engine`; the whole run takes about a minute and a half.
//! `cargo bench --bench engine -- --quick` gives a rough number in a few seconds.

use std::hint::black_box;
use std::time::Duration;

use autodiff::{DType, Tensor};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};

const ELEMENTS: usize = 1_000_000;
/// Steps of the chain; each records a `MulBackward0` and an `AddBackward0`.
const STEPS: usize = 50_000;
const NODES: u64 = 2 * STEPS as u64;

/// Deterministic float32 values in [-1, 1).
fn tensor_1e6(seed: u32) -> Tensor {
    let values = (0..ELEMENTS as u32)
        .map(|i| {
            let h = i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8;
            h as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect();
    Tensor::from_vec(values, &[ELEMENTS]).expect("length matches shape")
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

criterion_group! {
    name = kernels;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = elementwise, reduce
}
criterion_group! {
    name = graphs;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = chain
}
criterion_main!(kernels, graphs);
