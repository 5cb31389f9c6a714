//! Properties over random shapes: broadcasting, the gradient's reduction back to each input's
//! shape, and reductions over random dimensions, each against a naive reference loop.
//!
//! Own test binary (own process), so the graphs built here never disturb the `live_nodes()`
//! counts asserted in `tests/engine.rs`.

use autodiff::layout::broadcast_shapes;
use autodiff::{Error, Tensor};
use proptest::collection::vec;
use proptest::prelude::*;

/// 64 cases per property keeps `cargo test` quick in the debug profile; set
/// `PROPTEST_CASES=5000` for a longer search.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig::with_cases(cases)
}

/// NumPy's rule, read right to left: sizes match, or one of them is 1; a missing dimension
/// counts as 1. (A 0 meets only 0 or 1, and 0 wins over 1.)
fn reference_broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let x = a.len().checked_sub(k + 1).map_or(1, |i| a[i]);
        let y = b.len().checked_sub(k + 1).map_or(1, |i| b[i]);
        out.push(match (x, y) {
            _ if x == y => x,
            (1, _) => y,
            (_, 1) => x,
            _ => return None,
        });
    }
    out.reverse();
    Some(out)
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Every multi-index of `shape`, in row-major order.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let n: usize = shape.iter().product();
    (0..n)
        .map(|mut flat| {
            let mut idx = vec![0; shape.len()];
            for d in (0..shape.len()).rev() {
                idx[d] = flat % shape[d];
                flat /= shape[d];
            }
            idx
        })
        .collect()
}

/// The flat position in an operand of `shape` (right-aligned, broadcast) that the output
/// multi-index `out_idx` reads.
fn source_offset(shape: &[usize], out_idx: &[usize]) -> usize {
    let lead = out_idx.len() - shape.len();
    let st = strides(shape);
    shape
        .iter()
        .enumerate()
        .map(|(d, &n)| if n == 1 { 0 } else { out_idx[lead + d] * st[d] })
        .sum()
}

/// `out` with some leading dimensions dropped and some sizes replaced by 1: a shape that
/// broadcasts to `out`.
fn broadcastable(out: &[usize], ones: &[bool], drop: usize) -> Vec<usize> {
    let drop = drop.min(out.len());
    out[drop..]
        .iter()
        .zip(&ones[drop..])
        .map(|(&n, &one)| if one { 1 } else { n })
        .collect()
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Two shapes that broadcast together, with values for each.
#[allow(clippy::type_complexity)]
fn operands() -> impl Strategy<Value = (Vec<usize>, Vec<f64>, Vec<usize>, Vec<f64>)> {
    (
        vec(0usize..=3, 0..=4),
        vec(any::<bool>(), 4),
        0usize..=4,
        vec(any::<bool>(), 4),
        0usize..=4,
    )
        .prop_flat_map(|(out, ones_a, drop_a, ones_b, drop_b)| {
            let a = broadcastable(&out, &ones_a, drop_a);
            let b = broadcastable(&out, &ones_b, drop_b);
            let (na, nb) = (numel(&a), numel(&b));
            (
                Just(a),
                vec(-4.0f64..4.0, na),
                Just(b),
                vec(-4.0f64..4.0, nb),
            )
        })
}

/// `sum over the output of (other broadcast)`, reduced to `shape`: the gradient of
/// `sum(a * b)` with respect to the operand of shape `shape`, by a naive loop.
fn reduce_to(shape: &[usize], other_shape: &[usize], other: &[f64], out: &[usize]) -> Vec<f64> {
    let mut acc = vec![0.0; numel(shape)];
    for idx in indices(out) {
        acc[source_offset(shape, &idx)] += other[source_offset(other_shape, &idx)];
    }
    acc
}

fn close(actual: &[f64], expected: &[f64]) -> bool {
    actual.len() == expected.len()
        && actual
            .iter()
            .zip(expected)
            .all(|(a, e)| (a - e).abs() <= 1e-9 * e.abs().max(1.0))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn broadcast_shapes_follows_the_reference_rule(
        a in vec(0usize..=3, 0..=4),
        b in vec(0usize..=3, 0..=4),
    ) {
        let ours = broadcast_shapes(&a, &b);
        match reference_broadcast(&a, &b) {
            Some(expected) => prop_assert_eq!(ours.unwrap().to_vec(), expected),
            None => prop_assert!(
                matches!(&ours, Err(Error::Runtime(m)) if m.contains("must match the size")),
                "{:?}", ours
            ),
        }
        // Symmetric: same shape either way round, or an error either way round.
        let swapped = broadcast_shapes(&b, &a);
        match (broadcast_shapes(&a, &b), swapped) {
            (Ok(x), Ok(y)) => prop_assert_eq!(x, y),
            (Err(_), Err(_)) => {}
            (x, y) => prop_assert!(false, "asymmetric: {:?} vs {:?}", x, y),
        }
    }

    #[test]
    fn grad_of_sum_of_product_is_the_other_operand_reduced(
        (sa, va, sb, vb) in operands(),
    ) {
        let out = reference_broadcast(&sa, &sb).expect("operands() broadcast by construction");
        let a = Tensor::from_vec(va.clone(), &sa).unwrap().requires_grad_(true).unwrap();
        let b = Tensor::from_vec(vb.clone(), &sb).unwrap().requires_grad_(true).unwrap();
        // L = sum(a * b): dL/da = sum over the broadcast of b, reduced to a's shape.
        let product = a.mul(&b).unwrap();
        prop_assert_eq!(product.shape(), out.as_slice());
        product.sum(None, false).unwrap().backward(None, false, false).unwrap();
        let (ga, gb) = (a.grad().unwrap(), b.grad().unwrap());
        prop_assert_eq!(ga.shape(), sa.as_slice());
        prop_assert_eq!(gb.shape(), sb.as_slice());
        let expected_a = reduce_to(&sa, &sb, &vb, &out);
        let expected_b = reduce_to(&sb, &sa, &va, &out);
        prop_assert!(close(&ga.to_vec(), &expected_a), "{:?} vs {:?}", ga, expected_a);
        prop_assert!(close(&gb.to_vec(), &expected_b), "{:?} vs {:?}", gb, expected_b);
        // The same through the public helpers: expand to the output, sum_to back.
        let via_sum_to = b.detach().expand(&out).unwrap().sum_to(&sa).unwrap();
        prop_assert_eq!(via_sum_to.shape(), sa.as_slice());
        prop_assert!(close(&via_sum_to.to_vec(), &expected_a));
    }

    #[test]
    fn sum_over_dims_matches_a_naive_loop(
        (shape, base_ones, picks, negate, values) in vec(1usize..=4, 1..=4).prop_flat_map(|s| {
            let n = s.len();
            (Just(s.clone()), vec(any::<bool>(), n), vec(any::<bool>(), n),
             vec(any::<bool>(), n), vec(-4.0f64..4.0, numel(&s)))
        }),
        keepdim in any::<bool>(),
        expanded in any::<bool>(),
        order in any::<u64>(),
    ) {
        // Optionally a non-contiguous input: a base with size-1 dims expanded to `shape`.
        let (x, dense) = if expanded {
            let base_shape: Vec<usize> = shape.iter().zip(&base_ones)
                .map(|(&n, &one)| if one { 1 } else { n }).collect();
            let base_values = values[..numel(&base_shape)].to_vec();
            let dense: Vec<f64> = indices(&shape).iter()
                .map(|idx| base_values[source_offset(&base_shape, idx)]).collect();
            let base = Tensor::from_vec(base_values, &base_shape).unwrap();
            (base.expand(&shape).unwrap(), dense)
        } else {
            (Tensor::from_vec(values.clone(), &shape).unwrap(), values.clone())
        };
        // At least one dim, in a shuffled order, some written negatively.
        let mut reduced: Vec<usize> = (0..shape.len()).filter(|&d| picks[d]).collect();
        if reduced.is_empty() {
            reduced.push((order as usize) % shape.len());
        }
        let k = reduced.len();
        reduced.rotate_left((order as usize) % k);
        let dims: Vec<i64> = reduced.iter()
            .map(|&d| if negate[d] { d as i64 - shape.len() as i64 } else { d as i64 })
            .collect();

        let mut out_shape = Vec::new();
        for (d, &n) in shape.iter().enumerate() {
            match (reduced.contains(&d), keepdim) {
                (false, _) => out_shape.push(n),
                (true, true) => out_shape.push(1),
                (true, false) => {}
            }
        }
        let kept: Vec<usize> = shape.iter().enumerate()
            .map(|(d, &n)| if reduced.contains(&d) { 1 } else { n }).collect();
        let kept_strides = strides(&kept);
        let mut expected = vec![0.0; numel(&kept)];
        for (flat, idx) in indices(&shape).iter().enumerate() {
            let o: usize = idx.iter().zip(&kept_strides).enumerate()
                .map(|(d, (&i, &s))| if reduced.contains(&d) { 0 } else { i * s }).sum();
            expected[o] += dense[flat];
        }

        let s = x.sum(Some(&dims), keepdim).unwrap();
        prop_assert_eq!(s.shape(), out_shape.as_slice());
        prop_assert!(close(&s.to_vec(), &expected), "{:?} vs {:?}", s, expected);
    }
}
