//! The tensor: a [`Layout`] over a shared [`Storage`], plus the autograd metadata PyTorch
//! keeps on a tensor (`requires_grad`, `grad`, `grad_fn`, retained gradients).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::autograd::tape::{NodeId, NodeRef};
use crate::dtype::DType;
use crate::error::{runtime_err, Error, Result};
use crate::layout::{Layout, Shape};
use crate::storage::{Buffer, Element, Storage};

/// A reference-counted handle to tensor data and its autograd state. Cloning is O(1) and
/// gives the *same* tensor (like binding a second Python name), not a copy.
///
/// ```
/// use autodiff::Tensor;
/// let x = Tensor::scalar(3.0f32).requires_grad_(true)?;
/// let y = x.pow_scalar(2.0)?;
/// y.backward(None, false, false)?;
/// assert_eq!(x.grad().unwrap().item()?, 6.0);
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<TensorImpl>);

/// The shared state behind a [`Tensor`].
pub struct TensorImpl {
    storage: Arc<Storage>,
    layout: Layout,
    dtype: DType,
    /// A Python number turned into a 0-d tensor: it yields to tensors in type promotion.
    wrapped_number: bool,
    /// A version counter of its own, for `Tensor.data` and its views: in-place changes through
    /// `.data` must not trip the checks on the original's saved tensors, as in PyTorch. `None`
    /// (nearly always) means the storage's counter.
    version: Option<Arc<AtomicU64>>,
    /// Mirrors `meta.grad_fn.is_some() || leaf flag`, readable without the lock on every op.
    requires_grad: AtomicBool,
    /// Set on the results of view ops: in-place changes through a view rewrite its base's
    /// history too.
    view: Option<ViewInfo>,
    /// Made in inference mode: autograd may never record it (see `grad_mode.rs`).
    inference: bool,
    meta: Mutex<AutogradMeta>,
}

/// What a view remembers of where it came from.
#[derive(Clone)]
pub(crate) struct ViewInfo {
    /// The tensor that owns the data: never itself a view.
    pub base: Tensor,
    /// Grad mode when the view was made: a view made under `no_grad` may not be modified in
    /// place with grad mode on.
    pub made_with_grad: bool,
    /// The op, for views from ops that return several views (`split`, `chunk`, `unbind`),
    /// which may not be modified in place.
    pub multi_output: Option<(&'static str, usize)>,
}

/// Autograd bookkeeping; see the lock order in `autograd/tape.rs`.
#[derive(Default)]
pub(crate) struct AutogradMeta {
    pub grad_fn: Option<NodeRef>,
    pub output_nr: u32,
    pub grad: Option<Tensor>,
    pub retains_grad: bool,
    /// The leaf's `AccumulateGrad` node, held weakly: the node owns the leaf, not the reverse.
    pub accumulator: Option<NodeId>,
    /// A leaf's hooks (a non-leaf's live on its `grad_fn` node).
    pub hooks: crate::autograd::hooks::LeafHooks,
}

impl TensorImpl {
    /// The autograd metadata if its lock is free right now.
    pub(crate) fn try_meta(&self) -> Option<MutexGuard<'_, AutogradMeta>> {
        self.meta.try_lock()
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tensor")
            .field("shape", &self.shape())
            .field("dtype", &self.dtype())
            .field("values", &self.to_vec::<f64>())
            .field("requires_grad", &self.requires_grad())
            .finish()
    }
}

impl Tensor {
    /// A tensor over `storage` viewed through `layout`, with no autograd state.
    pub fn from_parts(storage: Arc<Storage>, layout: Layout) -> Tensor {
        let dtype = storage.read().dtype();
        Self::from_parts_typed(storage, layout, dtype)
    }

    pub(crate) fn from_parts_typed(storage: Arc<Storage>, layout: Layout, dtype: DType) -> Tensor {
        Tensor(Arc::new(TensorImpl {
            storage,
            layout,
            dtype,
            wrapped_number: false,
            version: None,
            requires_grad: AtomicBool::new(false),
            view: None,
            inference: crate::grad_mode::is_inference_mode_enabled(),
            meta: Mutex::new(AutogradMeta::default()),
        }))
    }

    /// A contiguous tensor owning `buffer`, shaped `shape`.
    pub(crate) fn from_buffer(buffer: Buffer, shape: &[usize]) -> Tensor {
        let dtype = buffer.dtype();
        Self::from_parts_typed(
            Arc::new(Storage::new(buffer)),
            Layout::contiguous(shape),
            dtype,
        )
    }

    /// A tensor from row-major values.
    ///
    /// ```
    /// let t = autodiff::Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(t.shape(), &[2, 2]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn from_vec<T: Element>(values: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        let numel: usize = shape.iter().product();
        if numel != values.len() {
            return Err(Error::Value(format!(
                "shape {shape:?} is invalid for input of size {}",
                values.len()
            )));
        }
        Ok(Self::from_buffer(T::into_buffer(values), shape))
    }

    /// A 0-d tensor.
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Self::from_buffer(T::into_buffer(vec![value]), &[])
    }

    /// A Python float as an operand: a 0-d float64 tensor that takes the other operand's
    /// float dtype in promotion (`x * 2.0` stays float32).
    pub fn wrapped_scalar(value: f64) -> Tensor {
        Self::scalar(value).into_wrapped()
    }

    /// A Python int as an operand (see [`Tensor::wrapped_scalar`]).
    pub fn wrapped_int(value: i64) -> Tensor {
        Self::scalar(value).into_wrapped()
    }

    /// A Python bool as an operand (see [`Tensor::wrapped_scalar`]).
    pub fn wrapped_bool(value: bool) -> Tensor {
        Self::scalar(value).into_wrapped()
    }

    fn into_wrapped(mut self) -> Tensor {
        Arc::get_mut(&mut self.0)
            .expect("a fresh tensor is unshared")
            .wrapped_number = true;
        self
    }

    /// Whether this tensor stands for a Python number.
    pub fn is_wrapped_number(&self) -> bool {
        self.0.wrapped_number
    }

    /// A tensor filled with `value` (converted to `dtype`).
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Tensor {
        fn filled<T: Element>(n: usize, value: T) -> Vec<T> {
            let mut v = crate::storage::vec_with_capacity(n);
            v.resize(n, value);
            v
        }
        let n: usize = shape.iter().product();
        let buffer = match dtype {
            DType::F32 => Buffer::F32(filled(n, value as f32).into()),
            DType::F64 => Buffer::F64(filled(n, value).into()),
            DType::I64 => Buffer::I64(filled(n, value as i64).into()),
            DType::Bool => Buffer::Bool(filled(n, value != 0.0).into()),
        };
        Self::from_buffer(buffer, shape)
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize], dtype: DType) -> Tensor {
        Self::full(shape, 0.0, dtype)
    }

    /// A tensor of ones.
    pub fn ones(shape: &[usize], dtype: DType) -> Tensor {
        Self::full(shape, 1.0, dtype)
    }

    /// Zeros with this tensor's shape and dtype.
    pub fn zeros_like(&self) -> Tensor {
        Self::zeros(self.shape(), self.dtype())
    }

    /// Ones with this tensor's shape and dtype.
    pub fn ones_like(&self) -> Tensor {
        Self::ones(self.shape(), self.dtype())
    }

    pub fn shape(&self) -> &[usize] {
        self.0.layout.shape()
    }

    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    pub fn ndim(&self) -> usize {
        self.0.layout.ndim()
    }

    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }

    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.0.storage
    }

    /// True when `self` and `other` are the same tensor object.
    pub fn ptr_eq(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The storage's version counter (PyTorch's `_version`).
    pub fn version(&self) -> u64 {
        match &self.0.version {
            Some(own) => own.load(Ordering::Relaxed),
            None => self.0.storage.version(),
        }
    }

    /// Records one in-place modification of this tensor's data.
    pub(crate) fn bump_version(&self) {
        match &self.0.version {
            Some(own) => {
                own.fetch_add(1, Ordering::Relaxed);
            }
            None => self.0.storage.bump_version(),
        }
    }

    /// The same data outside autograd with a fresh version counter (`Tensor.data`).
    pub fn data(&self) -> Tensor {
        self.sharing_data(self.0.layout.clone(), Some(Arc::new(AtomicU64::new(0))))
    }

    /// A tensor over the same storage and `layout`, with `version` as its counter.
    fn sharing_data(&self, layout: Layout, version: Option<Arc<AtomicU64>>) -> Tensor {
        let mut t = Self::from_parts_typed(self.0.storage.clone(), layout, self.0.dtype);
        Arc::get_mut(&mut t.0)
            .expect("a fresh tensor is unshared")
            .version = version;
        t
    }

    /// Runs `f` on the elements in row-major order: a borrowed slice when the layout is
    /// contiguous, a gathered copy otherwise.
    pub fn with_values<T: Element, R>(&self, f: impl FnOnce(&[T]) -> R) -> R {
        let buffer = self.0.storage.read();
        let data = T::slice(&buffer);
        let layout = &self.0.layout;
        if layout.numel() == 0 {
            f(&[])
        } else if layout.is_contiguous() {
            f(&data[layout.offset()..layout.offset() + layout.numel()])
        } else {
            let gathered = crate::kernels::elementwise::gather(data, layout);
            f(&gathered)
        }
    }

    /// The elements in row-major order, converted to `T`.
    pub fn to_vec<T: Element>(&self) -> Vec<T> {
        crate::dispatch!(self.dtype(), S => self.with_values::<S, _>(|v| {
            crate::storage::collect_exact(v.iter().map(|&x| x.convert::<T>()))
        }))
    }

    /// The first element in row-major order, converted to `T` (for one-element tensors).
    pub(crate) fn first_value<T: Element>(&self) -> T {
        let offset = self.layout().offset();
        let buffer = self.storage().read();
        crate::dispatch!(self.dtype(), S => S::slice(&buffer)[offset].convert::<T>())
    }

    /// The value of a one-element tensor.
    pub fn item(&self) -> Result<f64> {
        if self.numel() != 1 {
            return Err(runtime_err!(
                "a Tensor with {} elements cannot be converted to Scalar",
                self.numel()
            ));
        }
        Ok(self.to_vec::<f64>()[0])
    }

    pub(crate) fn meta(&self) -> MutexGuard<'_, AutogradMeta> {
        self.0.meta.lock()
    }

    /// Whether gradients flow to or through this tensor.
    #[inline]
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }

    /// A tensor is a leaf unless an op recorded it (it has a `grad_fn`).
    pub fn is_leaf(&self) -> bool {
        self.meta().grad_fn.is_none()
    }

    /// The node that produced this tensor, if any.
    pub fn grad_fn(&self) -> Option<NodeRef> {
        // Tape lock first, then meta (the order of `autograd/tape.rs`): cloning a NodeRef
        // under the meta lock alone would take the tape lock in the wrong order.
        crate::autograd::tape::with_tape(|tape| {
            let meta = self.meta();
            meta.grad_fn.as_ref().map(|node| {
                tape.retain(node.id());
                NodeRef::from_retained(node.id())
            })
        })
    }

    /// Which output of its `grad_fn` this tensor is.
    pub fn output_nr(&self) -> u32 {
        self.meta().output_nr
    }

    /// Sets `requires_grad` on a leaf, as `Tensor.requires_grad_` does in PyTorch.
    pub fn set_requires_grad(&self, requires_grad: bool) -> Result<()> {
        if !self.is_leaf() {
            if requires_grad {
                return Ok(());
            }
            return Err(runtime_err!(
                "you can only change requires_grad flags of leaf variables. If you want to use \
                 a computed variable in a subgraph that doesn't require differentiation use \
                 var_no_grad = var.detach()."
            ));
        }
        if requires_grad && self.is_inference() && !crate::grad_mode::is_inference_mode_enabled() {
            return Err(runtime_err!(
                "Setting requires_grad=True on inference tensor outside InferenceMode is not \
                 allowed."
            ));
        }
        if requires_grad && !self.dtype().is_float() {
            return Err(runtime_err!(
                "only Tensors of floating point dtype can require gradients"
            ));
        }
        self.0.requires_grad.store(requires_grad, Ordering::Relaxed);
        Ok(())
    }

    /// Builder form of [`Tensor::set_requires_grad`].
    pub fn requires_grad_(self, requires_grad: bool) -> Result<Tensor> {
        self.set_requires_grad(requires_grad)?;
        Ok(self)
    }

    /// The accumulated gradient (for leaves and tensors that retain their grad).
    pub fn grad(&self) -> Option<Tensor> {
        self.meta().grad.clone()
    }

    /// Replaces `.grad`, with PyTorch's shape and dtype checks.
    pub fn set_grad(&self, grad: Option<Tensor>) -> Result<()> {
        if let Some(g) = &grad {
            if g.shape() != self.shape() {
                return Err(runtime_err!(
                    "attempting to assign a gradient of size '{:?}' to a tensor of size '{:?}'. \
                     Please ensure that the gradient and the tensor are the same size",
                    g.shape(),
                    self.shape()
                ));
            }
            if g.dtype() != self.dtype() {
                return Err(runtime_err!(
                    "attempting to assign a gradient with dtype '{}' to a tensor with grad_dtype \
                     '{}'. The gradient must match the tensor's grad_dtype (defaults to the \
                     tensor's dtype). You can set the tensor's grad_dtype attribute with a \
                     specific dtype, or None to allow any dtype. Set grad_dtype with caution. \
                     Diverging the dtypes of a tensor and its gradient may break downstream \
                     systems that assume they match.",
                    c_type_name(g.dtype()),
                    self.dtype().scalar_type_name()
                ));
            }
        }
        let old = std::mem::replace(&mut self.meta().grad, grad);
        drop(old);
        Ok(())
    }

    /// Whether `.grad` is kept for this non-leaf.
    pub fn retains_grad(&self) -> bool {
        self.meta().retains_grad
    }

    /// Keeps `.grad` for a non-leaf after backward (a no-op on leaves).
    pub fn retain_grad(&self) -> Result<()> {
        if !self.requires_grad() {
            return Err(runtime_err!(
                "can't retain_grad on Tensor that has requires_grad=False"
            ));
        }
        crate::autograd::engine::retain_grad(self);
        Ok(())
    }

    /// A new leaf sharing this tensor's storage (and version counter), outside the graph.
    pub fn detach(&self) -> Tensor {
        self.sharing_data(self.0.layout.clone(), self.0.version.clone())
    }

    /// Detaches this tensor from the graph in place, making it a leaf. Views refuse, with
    /// PyTorch's message: their data is their base's.
    pub fn detach_(&self) -> Result<()> {
        if self.view_info().is_some() {
            return Err(runtime_err!(
                "Can't detach views in-place. Use detach() instead. If you are using \
                 DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set \
                 as True, gradients are views of DDP buckets, and hence detach_() cannot be \
                 called on these gradients. To fix this error, please refer to the \
                 Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."
            ));
        }
        let old = {
            let mut meta = self.meta();
            meta.output_nr = 0;
            meta.grad_fn.take()
        };
        self.0.requires_grad.store(false, Ordering::Relaxed);
        drop(old);
        Ok(())
    }

    /// Attaches a freshly recorded node as this tensor's `grad_fn`.
    pub(crate) fn set_grad_fn(&self, node: NodeRef, output_nr: u32) {
        let old = {
            let mut meta = self.meta();
            meta.output_nr = output_nr;
            meta.grad_fn.replace(node)
        };
        self.0.requires_grad.store(true, Ordering::Relaxed);
        drop(old);
    }

    /// A tensor sharing this one's data, viewed through `layout`.
    pub(crate) fn with_layout(&self, layout: Layout) -> Tensor {
        self.sharing_data(layout, self.0.version.clone())
    }

    /// [`Tensor::with_layout`] for the result of a view op: the result remembers its base.
    pub(crate) fn view_of(&self, layout: Layout) -> Tensor {
        let mut t = self.with_layout(layout);
        let base = self.view_base().unwrap_or_else(|| self.clone());
        Arc::get_mut(&mut t.0)
            .expect("a fresh tensor is unshared")
            .view = Some(ViewInfo {
            base,
            made_with_grad: crate::grad_mode::is_grad_enabled(),
            multi_output: None,
        });
        t
    }

    /// Marks fresh views as the outputs of `op`, which returns several views.
    pub(crate) fn mark_multi_output_views(pieces: Vec<Tensor>, op: &'static str) -> Vec<Tensor> {
        let mut pieces = pieces;
        for (i, piece) in pieces.iter_mut().enumerate() {
            if let Some(view) = Arc::get_mut(&mut piece.0).and_then(|t| t.view.as_mut()) {
                view.multi_output = Some((op, i));
            }
        }
        pieces
    }

    /// Whether this tensor was made in inference mode (`Tensor.is_inference()`).
    pub fn is_inference(&self) -> bool {
        self.0.inference
    }

    /// The tensor this view shares its data with (`Tensor._base`); `None` if not a view.
    pub fn view_base(&self) -> Option<Tensor> {
        self.0.view.as_ref().map(|v| v.base.clone())
    }

    pub(crate) fn view_info(&self) -> Option<&ViewInfo> {
        self.0.view.as_ref()
    }

    /// A shape as `SmallVec`, for building layouts.
    pub(crate) fn shape_vec(&self) -> Shape {
        self.shape().into()
    }
}

/// The lower-case C type name PyTorch uses for the gradient's dtype in `.grad` errors.
pub(crate) fn c_type_name(dtype: DType) -> &'static str {
    match dtype {
        DType::Bool => "bool",
        DType::I64 => "long int",
        DType::F32 => "float",
        DType::F64 => "double",
    }
}

/// Calls a generic body with `$T` bound to the Rust element type of `$dtype`.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
        }
    };
}

/// Like [`dispatch!`] for float dtypes only; other dtypes evaluate `$other`.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_float {
    ($dtype:expr, $T:ident => $body:expr, _ => $other:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            _ => $other,
        }
    };
}
