//! The thread team: every part runs exactly once, on more than one thread when there are
//! several, panics come back to the caller, and concurrent or nested callers are safe. The
//! kernels built on it give the same numbers at any thread count, to rounding.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use autodiff::parallel::{for_each_chunk_mut, for_each_mut, num_threads, run, set_num_threads};
use autodiff::{Result, Tensor};

/// The thread count is process-wide: tests that set it take turns.
static THREADS: Mutex<()> = Mutex::new(());

/// Runs `f` with the team at `threads`, restoring the previous count afterwards.
fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    let _turn = THREADS.lock().unwrap_or_else(|e| e.into_inner());
    let before = num_threads();
    set_num_threads(threads);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    set_num_threads(before);
    result.unwrap_or_else(|payload| std::panic::resume_unwind(payload))
}

#[test]
fn every_part_runs_exactly_once() {
    for threads in [1, 2, 4] {
        with_threads(threads, || {
            for parts in [0, 1, 2, 3, 7, 64, 1000] {
                let counts: Vec<AtomicUsize> = (0..parts).map(|_| AtomicUsize::new(0)).collect();
                run(parts, &|i| {
                    counts[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(
                    counts.iter().all(|c| c.load(Ordering::Relaxed) == 1),
                    "{parts} parts on {threads} threads"
                );
            }
        });
    }
}

#[test]
fn slow_parts_are_shared_between_threads() {
    // Four parts of 50 ms: the caller takes one, and a helper woken at the start has the
    // other 150 ms to claim at least one of the rest.
    let ids = with_threads(2, || {
        let ids = Mutex::new(HashSet::new());
        run(4, &|_| {
            ids.lock().unwrap().insert(std::thread::current().id());
            std::thread::sleep(Duration::from_millis(50));
        });
        ids.into_inner().unwrap()
    });
    assert_eq!(ids.len(), 2);
}

#[test]
fn one_thread_runs_every_part_on_the_caller() {
    let ids = with_threads(1, || {
        let ids = Mutex::new(HashSet::new());
        run(16, &|_| {
            ids.lock().unwrap().insert(std::thread::current().id());
        });
        ids.into_inner().unwrap()
    });
    assert_eq!(ids, HashSet::from([std::thread::current().id()]));
}

#[test]
fn zero_threads_means_one() {
    with_threads(0, || assert_eq!(num_threads(), 1));
}

#[test]
fn a_panicking_part_reaches_the_caller_after_the_others_finish() {
    with_threads(2, || {
        let finished = AtomicUsize::new(0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(8, &|i| {
                if i == 3 {
                    panic!("part three failed");
                }
                std::thread::sleep(Duration::from_millis(2));
                finished.fetch_add(1, Ordering::Relaxed);
            })
        }));
        let payload = caught.expect_err("the panic comes back");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"part three failed"));
        assert_eq!(finished.load(Ordering::Relaxed), 7);
        // The team is usable afterwards.
        let total = AtomicUsize::new(0);
        run(10, &|i| {
            total.fetch_add(i, Ordering::Relaxed);
        });
        assert_eq!(total.into_inner(), 45);
    });
}

#[test]
fn nested_and_concurrent_callers_get_every_part() {
    with_threads(2, || {
        let total = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        run(4, &|_| {
                            // A part that starts a job of its own runs it inline.
                            run(3, &|_| {
                                total.fetch_add(1, Ordering::Relaxed);
                            });
                        });
                    }
                });
            }
        });
        assert_eq!(total.into_inner(), 4 * 50 * 4 * 3);
    });
}

#[test]
fn chunks_cover_the_slice_once_with_their_start() {
    with_threads(2, || {
        for (len, chunk) in [(0, 3), (1, 3), (10, 3), (10, 10), (10, 0), (100_000, 4096)] {
            let mut data = vec![usize::MAX; len];
            for_each_chunk_mut(&mut data, chunk, |start, piece| {
                assert!(piece.len() <= chunk.max(1));
                for (i, x) in piece.iter_mut().enumerate() {
                    assert_eq!(*x, usize::MAX, "each element is written once");
                    *x = start + i;
                }
            });
            assert!(data.iter().enumerate().all(|(i, &x)| x == i));
        }
        let mut items: Vec<u64> = (0..37).collect();
        for_each_mut(&mut items, |x| *x *= 2);
        assert_eq!(items, (0..37).map(|x| 2 * x).collect::<Vec<_>>());
    });
}

/// Deterministic values in [-1, 1) with some structure in every row and column.
fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5) - 1.0)
        .collect()
}

#[test]
fn products_agree_at_one_and_two_threads() -> Result<()> {
    // Large enough to be split across the team; shapes of an MLP layer, its weight
    // gradient, a tall product and a batch.
    for (n, k, m, batch) in [
        (64, 784, 128, 1),
        (128, 64, 784, 1),
        (700, 96, 40, 1),
        (4, 96, 64, 8),
    ] {
        let a = Tensor::from_vec(values(batch * n * k, 1), &[batch, n, k])?;
        let w = Tensor::from_vec(values(batch * m * k, 2), &[batch, m, k])?;
        let b = w.transpose(1, 2)?;
        let bias = Tensor::from_vec(values(m, 3), &[m])?;
        let run_at = |threads| -> Result<(Vec<f32>, Vec<f32>)> {
            with_threads(threads, || {
                let product = a.matmul(&b)?.to_vec::<f32>();
                let a0 = a.select(0, 0)?;
                let b0 = b.select(0, 0)?;
                let addmm = bias.addmm(&a0, &b0, 0.5, 2.0)?.to_vec::<f32>();
                Ok((product, addmm))
            })
        };
        let (one, two) = (run_at(1)?, run_at(2)?);
        // gemm picks its blocking from the block's shape, so the two counts may sum in a
        // different order: equal to float32 rounding, not bit for bit (as in PyTorch).
        for (x, y) in one.0.iter().chain(&one.1).zip(two.0.iter().chain(&two.1)) {
            assert!(
                (x - y).abs() <= 1e-5 * x.abs().max(1.0),
                "({batch}, {n}, {k}) @ ({batch}, {k}, {m}): {x} at one thread, {y} at two"
            );
        }
        // And the addmm matches its definition, computed here in f64.
        let (a0, b0) = (a.select(0, 0)?.to_vec::<f32>(), b.select(0, 0)?);
        let b0 = b0.contiguous()?.to_vec::<f32>();
        let bias_values = bias.to_vec::<f32>();
        for (i, j) in [(0, 0), (n - 1, m - 1), (n / 2, m / 3)] {
            let dot: f64 = (0..k)
                .map(|p| f64::from(a0[i * k + p]) * f64::from(b0[p * m + j]))
                .sum();
            let expected = 0.5 * f64::from(bias_values[j]) + 2.0 * dot;
            let got = f64::from(one.1[i * m + j]);
            assert!(
                (got - expected).abs() < 1e-3,
                "addmm[{i}, {j}]: {got} vs {expected}"
            );
        }
    }
    Ok(())
}
