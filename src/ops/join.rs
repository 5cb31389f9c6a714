//! Joining and splitting along a dimension: `cat`, `stack`, `split`, `chunk`, `unbind`,
//! `unflatten`. Pieces of a split are views; joins copy. Each backward is the inverse move.

use std::mem::MaybeUninit;
use std::sync::Arc;

use super::reduce_grad;
use crate::autograd::{needs_grad, record_unsaved, BackwardCtx, BackwardFn, Grads};
use crate::dtype::{result_type, DType, Priority};
use crate::error::{runtime_err, Error, Result};
use crate::layout::{normalize_dim, Shape};
use crate::storage::Element;
use crate::tensor::Tensor;

/// Backward of `cat` and `stack`: each input gets its own part of the gradient.
struct JoinBackward {
    stacked: bool,
    dim: usize,
    /// Per input: offset along `dim`, its shape and dtype.
    parts: Vec<(usize, Shape, DType)>,
}

impl BackwardFn for JoinBackward {
    fn name(&self) -> &'static str {
        if self.stacked {
            "StackBackward0"
        } else {
            "CatBackward0"
        }
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad();
        let dim = self.dim as i64;
        let mut grads = Grads::new();
        for (i, (start, shape, dtype)) in self.parts.iter().enumerate() {
            if !ctx.needs_input_grad(i) {
                grads.push(None);
                continue;
            }
            let part = if self.stacked {
                g.select(dim, *start as i64)?
            } else if shape.len() == 1 && shape[0] == 0 && g.ndim() != 1 {
                // A legacy empty 1-d input took no part in the join.
                Tensor::zeros(shape, *dtype)
            } else {
                g.narrow(dim, *start as i64, shape[self.dim] as i64)?
            };
            grads.push(Some(reduce_grad(part, shape, *dtype)?));
        }
        Ok(grads)
    }
}

/// Copies `inputs` (all of `dtype`, same shape but along `dim`) one after the other along
/// `dim` into a new tensor of `shape`. Output row `o` (of `shape[dim..]`) is block `o` of
/// each input in turn; large outputs are filled in ranges on the thread team (PyTorch
/// splits its copies too: one thread is bound by a single core's share of bandwidth).
fn concatenate<T: Element>(inputs: &[Tensor], dim: usize, shape: &[usize]) -> Tensor {
    const PARALLEL_MIN: usize = 1 << 16;
    let outer: usize = shape[..dim].iter().product();
    let inner: usize = shape[dim + 1..].iter().product();
    let row = shape[dim] * inner;
    let total = outer * row;
    let dense: Vec<Tensor> = inputs
        .iter()
        .map(|t| match t.layout().is_contiguous() {
            true => t.clone(),
            false => t.contiguous_copy(),
        })
        .collect();
    let guards: Vec<_> = dense.iter().map(|t| t.storage().read()).collect();
    // Each input's values and its block length within a row.
    let sources: Vec<(&[T], usize)> = dense
        .iter()
        .zip(&guards)
        .map(|(t, guard)| {
            let offset = t.layout().offset();
            (
                &T::slice(guard)[offset..offset + t.numel()],
                t.shape()[dim] * inner,
            )
        })
        .collect();
    // Writes output elements `start..start + dst.len()`, across row and block boundaries.
    let fill = |start: usize, dst: &mut [MaybeUninit<T>]| {
        let mut written = 0;
        while written < dst.len() {
            let (o, mut column) = ((start + written) / row, (start + written) % row);
            let mut block_start = 0;
            for &(values, block) in &sources {
                let block_end = block_start + block;
                if column < block_end && written < dst.len() {
                    let n = (block_end - column).min(dst.len() - written);
                    let from = o * block + (column - block_start);
                    for (slot, &value) in dst[written..written + n]
                        .iter_mut()
                        .zip(&values[from..from + n])
                    {
                        slot.write(value);
                    }
                    written += n;
                    column += n;
                }
                block_start = block_end;
            }
        }
    };
    let mut out: Vec<T> = crate::storage::vec_with_capacity(total);
    let slots = &mut out.spare_capacity_mut()[..total];
    if row > 0 && crate::parallel::worth_splitting(total, PARALLEL_MIN) {
        let per_part = total.div_ceil(crate::parallel::num_threads());
        crate::parallel::for_each_chunk_mut(slots, per_part, fill);
    } else if row > 0 {
        fill(0, slots);
    }
    // SAFETY: `fill` wrote every slot it was given, and the slots given cover `0..total`
    // (none when `row` is 0, as `total` is 0 then too).
    unsafe { out.set_len(total) };
    drop(sources);
    drop(guards);
    Tensor::from_buffer(T::into_buffer(out), shape)
}

impl Tensor {
    /// Joins tensors along an existing dimension `dim` (`torch.cat`), promoting dtypes.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2])?;
    /// assert_eq!(Tensor::cat(&[a.clone(), a], 0)?.shape(), &[2, 2]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn cat(tensors: &[Tensor], dim: i64) -> Result<Tensor> {
        if tensors.is_empty() {
            return Err(Error::Value(
                "torch.cat(): expected a non-empty list of Tensors".into(),
            ));
        }
        if let Some(i) = tensors.iter().position(|t| t.ndim() == 0) {
            return Err(runtime_err!(
                "zero-dimensional tensor (at position {i}) cannot be concatenated"
            ));
        }
        // Legacy behaviour kept by PyTorch: 1-d empty tensors are skipped.
        let is_skipped = |t: &Tensor| t.ndim() == 1 && t.numel() == 0;
        let reference = tensors
            .iter()
            .find(|t| !is_skipped(t))
            .unwrap_or(&tensors[0]);
        let d = normalize_dim(dim, reference.ndim())?;
        let mut shape: Shape = reference.shape().into();
        shape[d] = 0;
        for (i, t) in tensors.iter().enumerate() {
            if is_skipped(t) && !t.ptr_eq(reference) {
                continue;
            }
            if t.ndim() != reference.ndim() {
                return Err(runtime_err!(
                    "Tensors must have same number of dimensions: got {} and {}",
                    reference.ndim(),
                    t.ndim()
                ));
            }
            for (k, (&a, &b)) in reference.shape().iter().zip(t.shape()).enumerate() {
                if k != d && a != b {
                    return Err(runtime_err!(
                        "Sizes of tensors must match except in dimension {d}. Expected size {a} \
                         but got size {b} for tensor number {i} in the list."
                    ));
                }
            }
            shape[d] += t.shape()[d];
        }
        let dtype = tensors.iter().skip(1).fold(tensors[0].dtype(), |acc, t| {
            result_type(
                (acc, Priority::Dimensioned),
                (t.dtype(), Priority::Dimensioned),
                crate::default_float_dtype(),
            )
        });
        let joined: Vec<Tensor> = tensors
            .iter()
            .filter(|t| !is_skipped(t) || t.ptr_eq(reference))
            .map(|t| t.cast(dtype))
            .collect();
        let out = crate::dispatch!(dtype, T => concatenate::<T>(&joined, d, &shape));
        Self::record_join(tensors, &out, d, false, |t, start| {
            (start, if is_skipped(t) { 0 } else { t.shape()[d] })
        });
        Ok(out)
    }

    /// Joins same-shaped tensors along a new dimension `dim` (`torch.stack`).
    pub fn stack(tensors: &[Tensor], dim: i64) -> Result<Tensor> {
        let Some(first) = tensors.first() else {
            return Err(runtime_err!("stack expects a non-empty TensorList"));
        };
        for (i, t) in tensors.iter().enumerate().skip(1) {
            if t.shape() != first.shape() {
                return Err(runtime_err!(
                    "stack expects each tensor to be equal size, but got {:?} at entry 0 and \
                     {:?} at entry {i}",
                    first.shape(),
                    t.shape()
                ));
            }
        }
        let d = normalize_dim(dim, first.ndim() + 1)?;
        let pieces: Vec<Tensor> = tensors
            .iter()
            .map(|t| t.detach().unsqueeze(d as i64))
            .collect::<Result<_>>()?;
        // The pieces are detached, so this `cat` records nothing; `stack` records itself below.
        let out = Tensor::cat(&pieces, d as i64)?;
        Self::record_join(tensors, &out, d, true, |_, i| (i, 1));
        Ok(out)
    }

    /// Records a join; `part(t, running)` gives the input's (start, extent) along `dim`
    /// given the running total (or, for `stack`, its position).
    fn record_join(
        tensors: &[Tensor],
        out: &Tensor,
        dim: usize,
        stacked: bool,
        part: impl Fn(&Tensor, usize) -> (usize, usize),
    ) {
        let inputs: Vec<&Tensor> = tensors.iter().collect();
        if !needs_grad(&inputs) {
            return;
        }
        let mut running = 0;
        let parts = tensors
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let (start, extent) = part(t, if stacked { i } else { running });
                running += extent;
                (start, t.shape_vec(), t.dtype())
            })
            .collect();
        let backward = JoinBackward {
            stacked,
            dim,
            parts,
        };
        record_unsaved(&inputs, out, Arc::new(backward));
    }

    /// Views of `split_size` elements along `dim` (the last may be shorter).
    pub fn split(&self, split_size: i64, dim: i64) -> Result<Vec<Tensor>> {
        let d = normalize_dim(dim, self.ndim())?;
        let size = self.shape().get(d).copied().unwrap_or(1);
        if split_size < 0 {
            return Err(runtime_err!(
                "split expects split_size be non-negative, but got split_size={split_size}"
            ));
        }
        if split_size == 0 && size != 0 {
            return Err(runtime_err!(
                "split_size can only be 0 if dimension size is 0, but got dimension size of {size}"
            ));
        }
        let step = (split_size as usize).max(1);
        let count = size.div_ceil(step).max(1);
        let pieces = (0..count)
            .map(|i| {
                let start = i * step;
                self.slice_parts(d, start, step.min(size - start), 1, "SplitBackward0")
            })
            .collect::<Result<_>>()?;
        Ok(Tensor::mark_multi_output_views(pieces, "Split"))
    }

    /// Views of the given sizes along `dim`, which must add up to its size.
    pub fn split_with_sizes(&self, sizes: &[i64], dim: i64) -> Result<Vec<Tensor>> {
        let d = normalize_dim(dim, self.ndim())?;
        let size = self.shape()[d];
        if sizes.iter().any(|&s| s < 0) || sizes.iter().sum::<i64>() != size as i64 {
            return Err(runtime_err!(
                "split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's \
                 size at dimension {d}), but got split_sizes={sizes:?}"
            ));
        }
        let mut start = 0;
        let pieces = sizes
            .iter()
            .map(|&s| {
                let piece = self.slice_parts(d, start, s as usize, 1, "SplitWithSizesBackward0");
                start += s as usize;
                piece
            })
            .collect::<Result<_>>()?;
        Ok(Tensor::mark_multi_output_views(pieces, "SplitWithSizes"))
    }

    /// `chunks` views along `dim` of (nearly) equal size (`torch.chunk`).
    pub fn chunk(&self, chunks: i64, dim: i64) -> Result<Vec<Tensor>> {
        if chunks <= 0 {
            return Err(runtime_err!(
                "chunk expects `chunks` to be greater than 0, got: {chunks}"
            ));
        }
        let d = normalize_dim(dim, self.ndim())?;
        let size = self.shape().get(d).copied().unwrap_or(1) as i64;
        if size == 0 {
            // PyTorch gives as many empty pieces as asked for.
            let pieces = (0..chunks)
                .map(|_| self.slice_parts(d, 0, 0, 1, "SplitBackward0"))
                .collect::<Result<_>>()?;
            return Ok(Tensor::mark_multi_output_views(pieces, "Split"));
        }
        self.split((size + chunks - 1) / chunks, dim)
    }

    /// The slices along `dim`, each without that dimension (`UnbindBackward0`).
    pub fn unbind(&self, dim: i64) -> Result<Vec<Tensor>> {
        if self.ndim() == 0 {
            return Err(Error::Index(
                "Dimension specified as 0 but tensor has no dimensions".into(),
            ));
        }
        let d = normalize_dim(dim, self.ndim())?;
        let pieces = (0..self.shape()[d] as i64)
            .map(|i| self.select_as(d as i64, i, "UnbindBackward0"))
            .collect::<Result<_>>()?;
        Ok(Tensor::mark_multi_output_views(pieces, "Unbind"))
    }

    /// Dimension `dim` split into `sizes` (one entry may be -1).
    pub fn unflatten(&self, dim: i64, sizes: &[i64]) -> Result<Tensor> {
        let d = normalize_dim(dim, self.ndim())?;
        let size = self.shape()[d];
        let known: i64 = sizes.iter().filter(|&&s| s != -1).product();
        let inferred = sizes.iter().filter(|&&s| s == -1).count();
        let fits = match inferred {
            0 => known == size as i64,
            1 => known != 0 && size as i64 % known == 0,
            _ => false,
        };
        if sizes.is_empty() {
            return Err(runtime_err!("unflatten: sizes must be non-empty"));
        }
        if !fits {
            return Err(runtime_err!(
                "unflatten: Provided sizes {sizes:?} don't multiply up to the size of dim {dim} \
                 ({size}) in the input tensor"
            ));
        }
        let mut shape: Vec<i64> = self.shape()[..d].iter().map(|&s| s as i64).collect();
        shape.extend(
            sizes
                .iter()
                .map(|&s| if s == -1 { size as i64 / known } else { s }),
        );
        shape.extend(self.shape()[d + 1..].iter().map(|&s| s as i64));
        let shape: Shape = shape.iter().map(|&s| s as usize).collect();
        self.reshape(&shape)
    }
}
