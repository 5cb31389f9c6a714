//! Indexing: `x[...]` with ints, slices, `None`, `...`, bool masks and int64 index tensors
//! (NumPy's rules, as PyTorch applies them), `__setitem__`, `gather`, `index_select` and
//! `masked_fill`.
//!
//! Basic indices become views (`select`, `slice`, `unsqueeze`). Index tensors are turned
//! into *positions*: offsets into the row-major order of the indexed view. Two ops on
//! positions carry every advanced index: `take` reads them, `put_add` adds into them, and
//! each is the other's backward, so gradients of any order exist.

use std::sync::Arc;

use smallvec::smallvec;

use super::reduce_grad;
use crate::autograd::{
    needs_grad, record, record_unsaved, BackwardCtx, BackwardFn, Grads, SavedTensor,
};
use crate::dtype::DType;
use crate::error::{runtime_err, Error, Result};
use crate::layout::{broadcast_shapes, contiguous_strides, normalize_dim, Layout, Shape};
use crate::storage::{collect_exact, Element};
use crate::tensor::{c_type_name, Tensor};

/// One entry of an index expression.
#[derive(Clone)]
pub enum IndexItem {
    /// An integer: selects and removes a dimension.
    Int(i64),
    /// `start:stop:step`.
    Slice {
        start: Option<i64>,
        stop: Option<i64>,
        step: i64,
    },
    /// `None`: a new size-1 dimension.
    NewAxis,
    /// `...`: as many full slices as needed.
    Ellipsis,
    /// An int64 tensor of indices, or a bool mask over one or more dimensions.
    Tensor(Tensor),
}

/// Backward of `take`: the gradient added into zeros of the input's shape.
struct TakeBackward {
    name: &'static str,
    positions: Tensor,
    input_shape: Shape,
}

impl BackwardFn for TakeBackward {
    fn name(&self) -> &'static str {
        self.name
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad().put_add(&self.positions, &self.input_shape)?;
        Ok(smallvec![Some(g)])
    }
}

/// Backward of `put_add`: the gradient read back at the same positions.
struct PutAddBackward {
    positions: Tensor,
}

impl BackwardFn for PutAddBackward {
    fn name(&self) -> &'static str {
        "IndexPutBackward0"
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad().take(&self.positions, "IndexBackward0")?;
        Ok(smallvec![Some(g)])
    }
}

/// Backward of `masked_fill`: the gradient passes where the mask is false; a value tensor
/// gets the sum where it is true.
struct MaskedFillBackward {
    /// A tensor value (`MaskedFillBackward1`) rather than a Python number.
    value_is_tensor: bool,
    input_shape: Shape,
    value_dtype: DType,
}

impl BackwardFn for MaskedFillBackward {
    fn name(&self) -> &'static str {
        if self.value_is_tensor {
            "MaskedFillBackward1"
        } else {
            "MaskedFillBackward0"
        }
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let (g, mask) = (ctx.grad(), ctx.saved(0)?);
        let zero = Tensor::wrapped_scalar(0.0);
        let grad_input = ctx
            .needs_input_grad(0)
            .then(|| {
                reduce_grad(
                    Tensor::where_(&mask, &zero, g)?,
                    &self.input_shape,
                    g.dtype(),
                )
            })
            .transpose()?;
        let grad_value = ctx
            .needs_input_grad(1)
            .then(|| {
                Tensor::where_(&mask, g, &zero)?
                    .sum(None, false)?
                    .to_dtype(self.value_dtype)
            })
            .transpose()?;
        Ok(smallvec![grad_input, grad_value])
    }
}

/// What an index expression resolves to: a view, and for advanced indices the positions in
/// that view and the result's shape.
struct Resolved {
    view: Tensor,
    advanced: Option<(Vec<i64>, Shape)>,
}

/// The values of an int64 tensor broadcast to `shape`.
fn broadcast_values(t: &Tensor, shape: &[usize]) -> Vec<i64> {
    let layout = t.layout().broadcast_to(shape);
    let buffer = t.storage().read();
    let data = i64::slice(&buffer);
    collect_exact(layout.offsets().map(|i| data[i]))
}

/// Indices of the true elements of a bool tensor, one int64 tensor per dimension.
fn nonzero_columns(mask: &Tensor) -> Vec<Tensor> {
    let shape = mask.shape().to_vec();
    let strides = contiguous_strides(&shape);
    let flat: Vec<usize> = mask.with_values::<bool, _>(|v| {
        v.iter()
            .enumerate()
            .filter(|(_, &b)| b)
            .map(|(i, _)| i)
            .collect()
    });
    (0..shape.len())
        .map(|d| {
            let column: Vec<i64> = flat
                .iter()
                .map(|&i| ((i / strides[d]) % shape[d]) as i64)
                .collect();
            Tensor::from_buffer(i64::into_buffer(column), &[flat.len()])
        })
        .collect()
}

/// Backward of writing `value` at advanced indices: the gradient at the written positions
/// goes to `value` (summed to its shape), the rest to the old tensor.
struct IndexPutBackward {
    items: Vec<IndexItem>,
    /// Ones, with zeros at the written positions.
    kept: Tensor,
    value_shape: Shape,
    value_dtype: DType,
}

impl BackwardFn for IndexPutBackward {
    fn name(&self) -> &'static str {
        "IndexPutBackward0"
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad();
        let old = if ctx.needs_input_grad(0) {
            Some(g.mul(&self.kept)?)
        } else {
            None
        };
        let value = if ctx.needs_input_grad(1) {
            let written = g.index(&self.items)?;
            Some(
                written
                    .sum_to(&self.value_shape)?
                    .to_dtype(self.value_dtype)?,
            )
        } else {
            None
        };
        Ok(smallvec![old, value])
    }
}

impl Tensor {
    /// `self` with `value` written at `items` (advanced indices), out of place and recorded
    /// (`IndexPutBackward0`); `__setitem__` writes it back in place.
    fn index_put_recorded(&self, items: &[IndexItem], value: &Tensor) -> Result<Tensor> {
        let (out, kept) = {
            let _off = crate::grad_mode::GradModeGuard::new(false);
            let out = self.detach().contiguous_copy();
            out.index_put_(items, value)?;
            let kept = Tensor::ones(self.shape(), self.dtype());
            kept.index_put_(items, &Tensor::wrapped_scalar(0.0))?;
            (out, kept)
        };
        if needs_grad(&[self, value]) {
            let node = IndexPutBackward {
                items: items.to_vec(),
                kept,
                value_shape: value.shape_vec(),
                value_dtype: value.dtype(),
            };
            crate::autograd::record_unsaved(&[self, value], &out, Arc::new(node));
        }
        Ok(out)
    }

    /// `self[items]`, as PyTorch evaluates it.
    pub fn index(&self, items: &[IndexItem]) -> Result<Tensor> {
        let resolved = self.resolve_index(items)?;
        match resolved.advanced {
            None if resolved.view.ptr_eq(self) => {
                let out = self.view_of(self.layout().clone());
                super::shape::record_shape_op(self, &out, "AliasBackward0");
                Ok(out)
            }
            None => Ok(resolved.view),
            Some((positions, shape)) => {
                let positions = Tensor::from_buffer(i64::into_buffer(positions), &shape);
                resolved.view.take(&positions, "IndexBackward0")
            }
        }
    }

    /// `self[items] = value` in place; recorded (as a copy into the view `self[items]`) when
    /// grad mode is on and either side requires grad.
    pub fn index_put_(&self, items: &[IndexItem], value: &Tensor) -> Result<()> {
        let resolved = self.detach().resolve_index(items)?;
        // PyTorch writes through a view unless the index selects the whole tensor as it is,
        // and names the view in its error.
        let whole = resolved.view.layout() == self.layout();
        let true_mask = items
            .iter()
            .any(|i| matches!(i, IndexItem::Tensor(t) if t.ndim() == 0));
        let through_view = (resolved.advanced.is_none() && !whole) || true_mask;
        if through_view && self.requires_grad() && self.is_leaf() && crate::is_grad_enabled() {
            // Basic indices write through a view, and PyTorch names it so.
            return Err(runtime_err!(
                "a view of a leaf Variable that requires grad is being used in an in-place \
                 operation."
            ));
        }
        self.check_in_place()?;
        if crate::is_grad_enabled() && (self.requires_grad() || value.requires_grad()) {
            if resolved.advanced.is_none() {
                // Recorded: a copy into the view, which rewrites this tensor's history.
                return self.index(items)?.copy_(value);
            }
            let items = items.to_vec();
            let value = value.clone();
            return self
                .update_in_place_with(&[&value], false, |x| x.index_put_recorded(&items, &value));
        }
        if resolved.advanced.is_some()
            && !value.is_wrapped_number()
            && value.dtype() != self.dtype()
        {
            return Err(runtime_err!(
                "Index put requires the source and destination dtypes match, got {} for the \
                 destination and {} for the source.",
                self.dtype().scalar_type_name(),
                value.dtype().scalar_type_name()
            ));
        }
        let value = value.cast(self.dtype());
        let view = &resolved.view;
        match resolved.advanced {
            None => {
                // PyTorch's `copy_` broadcasts the value with `expand` and its message.
                let value = value.detach().expand(view.shape())?;
                crate::dispatch!(self.dtype(), T => {
                    crate::kernels::elementwise::update_in_place::<T>(view, &value, |_, v| v)
                })
            }
            Some((positions, shape)) => {
                if broadcast_shapes(&shape, value.shape()).ok().as_deref() != Some(&shape[..]) {
                    return Err(runtime_err!(
                        "shape mismatch: value tensor of shape {:?} cannot be broadcast to \
                         indexing result of shape {:?}",
                        value.shape(),
                        shape.as_slice()
                    ));
                }
                if !self.storage().is_writable() {
                    return Err(Error::Runtime(
                        crate::kernels::elementwise::READ_ONLY_MESSAGE.into(),
                    ));
                }
                let offsets: Vec<usize> = collect_exact(view.layout().offsets());
                crate::dispatch!(self.dtype(), T => {
                    let values: Vec<T> = {
                        let layout = value.layout().broadcast_to(&shape);
                        let buffer = value.storage().read();
                        let data = T::slice(&buffer);
                        collect_exact(layout.offsets().map(|i| data[i]))
                    };
                    let mut buffer = self.storage().write();
                    let data = T::slice_mut(&mut buffer);
                    for (&p, v) in positions.iter().zip(values) {
                        data[offsets[p as usize]] = v;
                    }
                });
                self.bump_version();
                Ok(())
            }
        }
    }

    /// Applies the basic indices as views and turns the tensor indices into positions.
    fn resolve_index(&self, items: &[IndexItem]) -> Result<Resolved> {
        let consumed: usize = items
            .iter()
            .map(|item| match item {
                IndexItem::Int(_) | IndexItem::Slice { .. } => 1,
                IndexItem::Tensor(t) if t.dtype() == DType::Bool => t.ndim(),
                IndexItem::Tensor(_) => 1,
                IndexItem::NewAxis | IndexItem::Ellipsis => 0,
            })
            .sum();
        if consumed > 0 && self.ndim() == 0 {
            return Err(Error::Index(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or \
                 `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
                    .into(),
            ));
        }
        if consumed > self.ndim() {
            return Err(Error::Index(format!(
                "too many indices for tensor of dimension {}",
                self.ndim()
            )));
        }
        if items
            .iter()
            .filter(|i| matches!(i, IndexItem::Ellipsis))
            .count()
            > 1
        {
            return Err(Error::Index(
                "an index can only have a single ellipsis ('...')".into(),
            ));
        }
        let mut view = self.clone();
        let mut dim = 0usize;
        // The dimension of `self` the next entry indexes (ints remove theirs from `view`).
        let mut source_dim = 0usize;
        let mut advanced: Vec<(usize, Tensor)> = Vec::new();
        for item in items {
            match item {
                IndexItem::Int(i) => {
                    let size = view.shape()[dim] as i64;
                    if *i < -size || *i >= size {
                        return Err(Error::Index(format!(
                            "index {i} is out of bounds for dimension {source_dim} with size {size}"
                        )));
                    }
                    view = view.select(dim as i64, *i)?;
                    source_dim += 1;
                }
                IndexItem::Slice { start, stop, step } => {
                    if *step == 0 {
                        return Err(Error::Value("slice step cannot be zero".into()));
                    }
                    // A bare `:` among several entries is no op at all in PyTorch.
                    let bare = start.is_none() && stop.is_none() && *step == 1;
                    if !(bare && items.len() > 1) {
                        view = view.slice(dim as i64, *start, *stop, *step)?;
                    }
                    dim += 1;
                    source_dim += 1;
                }
                IndexItem::NewAxis => {
                    view = view.unsqueeze(dim as i64)?;
                    dim += 1;
                }
                IndexItem::Ellipsis => {
                    dim += self.ndim() - consumed;
                    source_dim += self.ndim() - consumed;
                }
                IndexItem::Tensor(mask) if mask.dtype() == DType::Bool => {
                    if mask.ndim() == 0 {
                        // `x[True]` adds a dimension of size 1 (0 for `x[False]`).
                        view = view.unsqueeze(dim as i64)?;
                        let keep = mask.first_value::<bool>() as usize;
                        let index = Tensor::zeros(&[keep], DType::I64);
                        advanced.push((dim, index));
                        dim += 1;
                        continue;
                    }
                    for (j, &n) in mask.shape().iter().enumerate() {
                        if view.shape().get(dim + j) != Some(&n) {
                            return Err(Error::Index(format!(
                                "The shape of the mask {:?} at index {j} does not match the \
                                 shape of the indexed tensor {:?} at index {}",
                                mask.shape(),
                                view.shape(),
                                dim + j
                            )));
                        }
                    }
                    for (j, column) in nonzero_columns(mask).into_iter().enumerate() {
                        advanced.push((dim + j, column));
                    }
                    dim += mask.ndim();
                    source_dim += mask.ndim();
                }
                IndexItem::Tensor(index) if index.dtype() == DType::I64 => {
                    advanced.push((dim, index.clone()));
                    dim += 1;
                    source_dim += 1;
                }
                IndexItem::Tensor(_) => {
                    return Err(Error::Index(
                        "tensors used as indices must be long, int, byte or bool tensors".into(),
                    ))
                }
            }
        }
        if advanced.is_empty() {
            return Ok(Resolved {
                view,
                advanced: None,
            });
        }
        let positions = positions_of(&view, &advanced)?;
        Ok(Resolved {
            view,
            advanced: Some(positions),
        })
    }

    /// The elements at `positions` (offsets into this tensor's row-major order), shaped
    /// like `positions`. Its backward adds the gradient back at the same positions.
    pub(crate) fn take(&self, positions: &Tensor, name: &'static str) -> Result<Tensor> {
        let out = crate::dispatch!(self.dtype(), T => {
            let picked: Vec<T> = self.with_values::<T, _>(|values| {
                positions.with_values::<i64, _>(|p| {
                    collect_exact(p.iter().map(|&i| values[i as usize]))
                })
            });
            Tensor::from_buffer(T::into_buffer(picked), positions.shape())
        });
        if needs_grad(&[self]) {
            let backward = TakeBackward {
                name,
                positions: positions.clone(),
                input_shape: self.shape_vec(),
            };
            record_unsaved(&[self], &out, Arc::new(backward));
        }
        Ok(out)
    }

    /// Zeros of `shape` with this tensor's elements added at `positions` (repeated positions
    /// accumulate). The backward of [`Tensor::take`].
    pub(crate) fn put_add(&self, positions: &Tensor, shape: &[usize]) -> Result<Tensor> {
        let out = crate::dispatch!(self.dtype(), T => {
            let n: usize = shape.iter().product();
            let mut sums = vec![0.0f64; n];
            self.with_values::<T, _>(|values| {
                positions.with_values::<i64, _>(|p| {
                    for (&i, v) in p.iter().zip(values) {
                        sums[i as usize] += v.to_f64();
                    }
                })
            });
            Tensor::from_buffer(T::into_buffer(sums.into_iter().map(T::from_f64).collect()), shape)
        });
        if needs_grad(&[self]) {
            let backward = PutAddBackward {
                positions: positions.clone(),
            };
            record_unsaved(&[self], &out, Arc::new(backward));
        }
        Ok(out)
    }

    /// Values along `dim` picked by `index` (same number of dimensions as `self`).
    pub fn gather(&self, dim: i64, index: &Tensor) -> Result<Tensor> {
        let d = normalize_dim(dim, self.ndim())?;
        if index.dtype() != DType::I64 {
            return Err(runtime_err!(
                "gather(): Expected dtype int32/int64 for index"
            ));
        }
        if index.ndim() != self.ndim() && !(index.ndim() <= 1 && self.ndim() <= 1) {
            return Err(runtime_err!(
                "Index tensor must have the same number of dimensions as input tensor"
            ));
        }
        for k in 0..index.ndim() {
            if k != d && index.shape()[k] > self.shape()[k] {
                return Err(runtime_err!(
                    "Size does not match at dimension {k} expected index {:?} to be no larger \
                     than self {:?} apart from dimension {d}",
                    index.shape(),
                    self.shape()
                ));
            }
        }
        let strides = contiguous_strides(self.shape());
        let size = self.shape().get(d).copied().unwrap_or(1) as i64;
        let index_layout = Layout::contiguous(index.shape());
        let idx = index.contiguous_copy();
        let positions: Vec<i64> = idx.with_values::<i64, _>(|values| {
            let mut out = Vec::with_capacity(values.len());
            for (flat, &v) in values.iter().enumerate() {
                if v < 0 || v >= size {
                    return Err(runtime_err!(
                        "index {v} is out of bounds for dimension {d} with size {size}"
                    ));
                }
                let mut rest = flat;
                let mut pos = 0;
                for k in 0..index_layout.ndim() {
                    let coord = rest / index_layout.strides()[k];
                    rest %= index_layout.strides()[k];
                    pos += if k == d { v as usize } else { coord } * strides[k];
                }
                out.push(pos as i64);
            }
            Ok(out)
        })?;
        let positions = Tensor::from_buffer(i64::into_buffer(positions), index.shape());
        self.take(&positions, "GatherBackward0")
    }

    /// The slices at `index` (a vector of int64) along `dim`.
    pub fn index_select(&self, dim: i64, index: &Tensor) -> Result<Tensor> {
        let d = normalize_dim(dim, self.ndim())?;
        if index.dtype() != DType::I64 {
            return Err(runtime_err!(
                "index_select(): Expected dtype int32 or int64 for index"
            ));
        }
        if index.ndim() > 1 {
            return Err(Error::Index(
                "index_select(): Index is supposed to be a vector".into(),
            ));
        }
        let size = self.shape().get(d).copied().unwrap_or(1) as i64;
        let index = index.reshape(&[index.numel()])?;
        if index.with_values::<i64, _>(|v| v.iter().any(|&i| i < -size || i >= size)) {
            return Err(Error::Index("index out of range in self".into()));
        }
        let (positions, shape) = positions_of(self, &[(d, index)])?;
        let positions = Tensor::from_buffer(i64::into_buffer(positions), &shape);
        self.take(&positions, "IndexSelectBackward0")
    }

    /// `value` where `mask` is true, else `self` (`MaskedFillBackward0`).
    pub fn masked_fill(&self, mask: &Tensor, value: &Tensor) -> Result<Tensor> {
        if mask.dtype() != DType::Bool {
            return Err(runtime_err!(
                "masked_fill_ only supports boolean masks, but got mask with dtype {}",
                c_type_name(mask.dtype())
            ));
        }
        if value.ndim() != 0 {
            return Err(runtime_err!(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {} \
                 dimension(s).",
                value.ndim()
            ));
        }
        let fill = value.cast(self.dtype());
        let out = crate::dispatch!(self.dtype(), T => crate::kernels::elementwise::zip3::<bool, T>(
            mask, &fill, self, |c, v, x| if c { v } else { x })?);
        let inputs = [self, value];
        if needs_grad(&inputs) {
            let backward = MaskedFillBackward {
                value_is_tensor: !value.is_wrapped_number(),
                input_shape: self.shape_vec(),
                value_dtype: value.dtype(),
            };
            record(
                &inputs,
                &out,
                Arc::new(backward),
                smallvec![SavedTensor::input(mask)],
            )?;
        }
        Ok(out)
    }
}

/// Positions (in `view`'s row-major order) and result shape for index tensors at the given
/// dimensions, with NumPy's placement rule: adjacent indexed dimensions are replaced in
/// place by the broadcast index shape; otherwise that shape goes first.
fn positions_of(view: &Tensor, advanced: &[(usize, Tensor)]) -> Result<(Vec<i64>, Shape)> {
    let mut index_shape: Shape = Shape::new();
    for (_, t) in advanced {
        index_shape = broadcast_shapes(&index_shape, t.shape()).map_err(|_| {
            let shapes: Vec<String> = advanced
                .iter()
                .map(|(_, t)| format!("{:?}", t.shape()))
                .collect();
            Error::Index(format!(
                "shape mismatch: indexing tensors could not be broadcast together with shapes {}",
                shapes.join(", ")
            ))
        })?;
    }
    let strides = contiguous_strides(view.shape());
    let count: usize = index_shape.iter().product();
    let mut offsets = vec![0i64; count];
    for (d, t) in advanced {
        let size = view.shape()[*d] as i64;
        for (o, v) in offsets.iter_mut().zip(broadcast_values(t, &index_shape)) {
            if v < -size || v >= size {
                return Err(Error::Index(format!(
                    "index {v} is out of bounds for dimension {d} with size {size}"
                )));
            }
            *o += (if v < 0 { v + size } else { v }) * strides[*d] as i64;
        }
    }
    let indexed: Vec<usize> = advanced.iter().map(|(d, _)| *d).collect();
    let first = indexed[0];
    let adjacent =
        indexed.windows(2).all(|w| w[1] == w[0] + 1) || indexed.iter().all(|&d| d == first);
    let rest_layout = |dims: &mut dyn Iterator<Item = usize>| {
        let (shape, strides): (Shape, Shape) = dims
            .filter(|d| !indexed.contains(d))
            .map(|d| (view.shape()[d], strides[d]))
            .unzip();
        Layout::new(shape, strides, 0)
    };
    let last = *indexed.iter().max().expect("at least one index");
    let (before, after) = if adjacent {
        (
            rest_layout(&mut (0..first)),
            rest_layout(&mut (last + 1..view.ndim())),
        )
    } else {
        (Layout::contiguous(&[]), rest_layout(&mut (0..view.ndim())))
    };
    let mut shape: Shape = before.shape().into();
    shape.extend_from_slice(&index_shape);
    shape.extend_from_slice(after.shape());
    let after_offsets: Vec<usize> = collect_exact(after.offsets());
    let total = crate::layout::checked_numel(&shape, 1)?;
    let mut positions = crate::storage::vec_with_capacity(total);
    for pre in before.offsets() {
        for &a in &offsets {
            let start = pre as i64 + a;
            // `extend` over a slice: one capacity check per row rather than per element.
            positions.extend(after_offsets.iter().map(|&post| start + post as i64));
        }
    }
    Ok((positions, shape))
}
