//! Matrix products: `mm`, `bmm`, `mv`, `dot`, `outer` and `matmul`, which reduces every
//! operand combination to one of them as PyTorch does (so its `grad_fn` names match).
//! Backward rules are products themselves, so they differentiate again.

use std::sync::Arc;

use smallvec::smallvec;

use crate::autograd::{
    needs_grad, record, BackwardCtx, BackwardFn, Grads, SavedTensor, SavedValue,
};
use crate::dtype::DType;
use crate::error::{runtime_err, Error, Result};
use crate::kernels::matmul::batched_matmul;
use crate::layout::{broadcast_shapes, Shape};
use crate::tensor::{c_type_name, Tensor};

/// Which product a node differentiates.
#[derive(Clone, Copy)]
enum Product {
    Mm,
    Bmm,
    Mv,
    Dot,
}

/// Backward of a product `a ⋅ b`: each input's gradient is the output gradient multiplied by
/// the other input (transposed).
struct ProductBackward(Product);

impl BackwardFn for ProductBackward {
    fn name(&self) -> &'static str {
        match self.0 {
            Product::Mm => "MmBackward0",
            Product::Bmm => "BmmBackward0",
            Product::Mv => "MvBackward0",
            Product::Dot => "DotBackward0",
        }
    }
    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad();
        let (a, b) = (ctx.saved(0)?, ctx.saved(1)?);
        let (grad_a, grad_b) = (ctx.needs_input_grad(0), ctx.needs_input_grad(1));
        let (ga, gb) = match self.0 {
            Product::Mm => (
                grad_a
                    .then(|| mm_like(a.layout(), g, &b.t()?))
                    .transpose()?,
                grad_b
                    .then(|| mm_like(b.layout(), &a.t()?, g))
                    .transpose()?,
            ),
            Product::Bmm => (
                grad_a.then(|| g.bmm(&b.transpose(1, 2)?)).transpose()?,
                grad_b.then(|| a.transpose(1, 2)?.bmm(g)).transpose()?,
            ),
            Product::Mv => (
                grad_a.then(|| g.outer(&b)).transpose()?,
                grad_b.then(|| a.t()?.mv(g)).transpose()?,
            ),
            Product::Dot => (
                grad_a.then(|| b.mul(g)).transpose()?,
                grad_b.then(|| a.mul(g)).transpose()?,
            ),
        };
        Ok(smallvec![ga, gb])
    }
    fn saved_names(&self) -> Vec<&'static str> {
        let second = match self.0 {
            Product::Mm | Product::Bmm => "mat2",
            Product::Mv => "vec",
            Product::Dot => "tensor",
        };
        vec!["self", second]
    }
}

/// `l @ r`, laid out like the operand it is the gradient of: for a transposed matrix (the
/// `weight.t()` of every linear layer) it is computed as `(r^T @ l^T)^T`, so that the
/// gradient that reaches the weight through `t()` is contiguous rather than a transposed
/// view each consumer (the optimizer, `.grad`) would have to gather.
fn mm_like(operand: &crate::Layout, l: &Tensor, r: &Tensor) -> Result<Tensor> {
    let strides = operand.strides();
    let column_major = operand.ndim() == 2 && strides[0] == 1 && operand.shape()[1] > 1;
    if column_major {
        r.t()?.mm(&l.t()?)?.t()
    } else {
        l.mm(r)
    }
}

/// PyTorch's error for products of bools.
fn check_not_bool(t: &Tensor, kernel: &str) -> Result<()> {
    if t.dtype() == DType::Bool {
        return Err(Error::NotImplemented(format!(
            "\"{kernel}\" not implemented for 'Bool'"
        )));
    }
    Ok(())
}

/// Runs the kernel on 3-d views and records the product.
fn product(
    a: &Tensor,
    b: &Tensor,
    kind: Product,
    a3: &Tensor,
    b3: &Tensor,
    shape: &[usize],
) -> Result<Tensor> {
    let out = crate::dispatch!(a.dtype(), T => batched_matmul::<T>(a3, b3));
    let out = out.with_layout(crate::Layout::contiguous(shape));
    if needs_grad(&[a, b]) {
        record(
            &[a, b],
            &out,
            Arc::new(ProductBackward(kind)),
            smallvec![SavedTensor::input(a), SavedTensor::input(b)],
        )?;
    }
    Ok(out)
}

/// `mm`'s checks, with PyTorch's messages; the product's shape.
fn check_mm(a: &Tensor, b: &Tensor) -> Result<[usize; 2]> {
    for (t, what) in [(a, "self"), (b, "mat2")] {
        if t.ndim() != 2 {
            return Err(runtime_err!(
                "mm: {what} must be a matrix, got {}-D tensor",
                t.ndim()
            ));
        }
    }
    let (sa, sb) = (a.shape(), b.shape());
    if sa[1] != sb[0] {
        return Err(runtime_err!(
            "mm: mat1 and mat2 shapes cannot be multiplied ({}x{} and {}x{})",
            sa[0],
            sa[1],
            sb[0],
            sb[1]
        ));
    }
    if a.dtype() != b.dtype() {
        return Err(runtime_err!(
            "expected m1 and m2 to have the same dtype, but got: {} != {}",
            c_type_name(a.dtype()),
            c_type_name(b.dtype())
        ));
    }
    check_not_bool(a, "addmm_impl_cpu_")?;
    Ok([sa[0], sb[1]])
}

/// A 3-d view `(1, rows, cols)` of a matrix, or `(1, n, 1)` of a vector (no autograd).
fn as_batch_of_one(t: &Tensor) -> Tensor {
    let l = t.layout();
    let (shape, strides): (Shape, Shape) = match l.ndim() {
        1 => (
            smallvec![1, l.shape()[0], 1],
            smallvec![0, l.strides()[0], 1],
        ),
        _ => (
            smallvec![1, l.shape()[0], l.shape()[1]],
            smallvec![0, l.strides()[0], l.strides()[1]],
        ),
    };
    t.with_layout(crate::Layout::new(shape, strides, l.offset()))
}

impl Tensor {
    /// The matrix product of two 2-d tensors (`torch.mm`).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// let b = Tensor::from_vec(vec![1.0f32, 0.0, 0.0, 1.0], &[2, 2])?;
    /// assert_eq!(a.mm(&b)?.to_vec::<f32>(), vec![1.0, 2.0, 3.0, 4.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn mm(&self, other: &Tensor) -> Result<Tensor> {
        let shape = check_mm(self, other)?;
        product(
            self,
            other,
            Product::Mm,
            &as_batch_of_one(self),
            &as_batch_of_one(other),
            &shape,
        )
    }

    /// Batched matrix product of two 3-d tensors with the same batch size (`torch.bmm`).
    pub fn bmm(&self, other: &Tensor) -> Result<Tensor> {
        for (t, what) in [(self, "batch1"), (other, "batch2")] {
            if t.ndim() != 3 {
                return Err(runtime_err!("{what} must be a 3D tensor"));
            }
        }
        let (sa, sb) = (self.shape(), other.shape());
        if sb[0] != sa[0] || sb[1] != sa[2] {
            return Err(runtime_err!(
                "Expected size for first two dimensions of batch2 tensor to be: [{}, {}] but \
                 got: [{}, {}].",
                sa[0],
                sa[2],
                sb[0],
                sb[1]
            ));
        }
        if self.dtype() != other.dtype() {
            return Err(runtime_err!(
                "expected scalar type {} but found {}",
                self.dtype().scalar_type_name(),
                other.dtype().scalar_type_name()
            ));
        }
        check_not_bool(self, "bmm")?;
        let shape = [sa[0], sa[1], sb[2]];
        product(self, other, Product::Bmm, self, other, &shape)
    }

    /// Matrix-vector product (`torch.mv`).
    pub fn mv(&self, vec: &Tensor) -> Result<Tensor> {
        if self.ndim() != 2 || vec.ndim() != 1 {
            return Err(runtime_err!(
                "vector + matrix @ vector expected, got 1, {}, {}",
                self.ndim(),
                vec.ndim()
            ));
        }
        let (rows, cols) = (self.shape()[0], self.shape()[1]);
        if cols != vec.shape()[0] {
            return Err(runtime_err!(
                "size mismatch, got input ({rows}), mat ({rows}x{cols}), vec ({})",
                vec.shape()[0]
            ));
        }
        if self.dtype() != vec.dtype() {
            let (m, v) = (
                self.dtype().scalar_type_name(),
                vec.dtype().scalar_type_name(),
            );
            return Err(runtime_err!(
                "addmv input tensors must have the same dtype, but got {v}, {m}, and {v}"
            ));
        }
        check_not_bool(self, "addmv_impl_cpu")?;
        product(
            self,
            vec,
            Product::Mv,
            &as_batch_of_one(self),
            &as_batch_of_one(vec),
            &[rows],
        )
    }

    /// Inner product of two 1-d tensors of the same size, as a 0-d tensor (`torch.dot`).
    pub fn dot(&self, other: &Tensor) -> Result<Tensor> {
        if self.ndim() != 1 || other.ndim() != 1 {
            return Err(runtime_err!(
                "1D tensors expected, but got {}D and {}D tensors",
                self.ndim(),
                other.ndim()
            ));
        }
        if self.dtype() != other.dtype() {
            return Err(runtime_err!(
                "dot : expected both vectors to have same dtype, but found {} and {}",
                self.dtype().scalar_type_name(),
                other.dtype().scalar_type_name()
            ));
        }
        let (n, m) = (self.numel(), other.numel());
        if n != m {
            return Err(runtime_err!(
                "inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same \
                 number of elements, but got {n} and {m} elements respectively"
            ));
        }
        check_not_bool(self, "dot")?;
        // A (1, 1, n) row times an (1, n, 1) column.
        let row = self.with_layout(crate::Layout::new(
            smallvec![1, 1, n],
            smallvec![0, 0, self.layout().strides()[0]],
            self.layout().offset(),
        ));
        product(
            self,
            other,
            Product::Dot,
            &row,
            &as_batch_of_one(other),
            &[],
        )
    }

    /// The outer product of two 1-d tensors (`torch.outer`; a broadcast `mul`).
    pub fn outer(&self, vec2: &Tensor) -> Result<Tensor> {
        for (t, what) in [(self, "self"), (vec2, "vec2")] {
            if t.ndim() != 1 {
                return Err(runtime_err!(
                    "outer: Expected 1-D argument {what}, but got {}-D",
                    t.ndim()
                ));
            }
        }
        self.unsqueeze(1)?.mul(vec2)
    }

    /// The matrix product with NumPy's rules (`torch.matmul`, `@`): 1-d operands are
    /// vectors, and dimensions before the last two are batch dimensions that broadcast.
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let a = Tensor::ones(&[5, 2, 3], autodiff::DType::F32);
    /// let b = Tensor::ones(&[3, 4], autodiff::DType::F32);
    /// assert_eq!(a.matmul(&b)?.shape(), &[5, 2, 4]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        let (da, db) = (self.ndim(), other.ndim());
        match (da, db) {
            (0, _) | (_, 0) => Err(runtime_err!(
                "both arguments to matmul need to be at least 1D, but they are {da}D and {db}D"
            )),
            (1, 1) => self.dot(other),
            (2, 1) => self.mv(other),
            (1, 2) => self
                .unsqueeze(0)?
                .mm(other)?
                .squeeze_as(Some(&[0]), "SqueezeBackward4"),
            (2, 2) => self.mm(other),
            (2, _) if self.requires_grad() => {
                // PyTorch folds this case through the transposes, and copies the result back
                // to row-major order (`CloneBackward0`).
                let folded = other.transpose(-2, -1)?.matmul(&self.t()?)?;
                folded.transpose(-2, -1)?.clone_data()
            }
            (_, 1 | 2) => {
                // Fold the batch dimensions into the rows: one large product instead of many.
                let rows = self.shape()[..da - 1].iter().product();
                let folded = self.reshape(&[rows, self.shape()[da - 1]])?;
                let mut shape: Shape = self.shape()[..da - 1].into();
                let out = if db == 1 {
                    folded.mv(other)?
                } else {
                    shape.push(other.shape()[1]);
                    folded.mm(other)?
                };
                out.reshape_as(&shape, "UnsafeViewBackward0")
            }
            _ => self.batched_matmul(other),
        }
    }

    /// `matmul` when one operand has batch dimensions that cannot be folded: both are
    /// broadcast to common batch dimensions and multiplied with `bmm`.
    fn batched_matmul(&self, other: &Tensor) -> Result<Tensor> {
        let (da, db) = (self.ndim(), other.ndim());
        let a = if da == 1 {
            self.unsqueeze(0)?
        } else {
            self.clone()
        };
        let b = if db == 1 {
            other.unsqueeze(1)?
        } else {
            other.clone()
        };
        let (sa, sb) = (a.shape(), b.shape());
        let (n, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
        let (k2, m) = (sb[sb.len() - 2], sb[sb.len() - 1]);
        let batch = broadcast_shapes(&sa[..sa.len() - 2], &sb[..sb.len() - 2])?;
        let count: usize = batch.iter().product();
        let mut full_a = batch.clone();
        full_a.extend([n, k]);
        let mut full_b = batch.clone();
        full_b.extend([k2, m]);
        let a3 = a.expand(&full_a)?.reshape(&[count, n, k])?;
        let b3 = b.expand(&full_b)?.reshape(&[count, k2, m])?;
        let mut shape = batch;
        if da > 1 {
            shape.push(n);
        }
        if db > 1 {
            shape.push(m);
        }
        a3.bmm(&b3)?.reshape_as(&shape, "UnsafeViewBackward0")
    }
}

/// Backward of `beta * input + alpha * (mat1 @ mat2)`.
struct AddmmBackward {
    input: (Vec<usize>, DType),
    beta: f64,
    alpha: f64,
}

impl BackwardFn for AddmmBackward {
    fn name(&self) -> &'static str {
        "AddmmBackward0"
    }

    fn backward(&self, ctx: &BackwardCtx<'_>) -> Result<Grads> {
        let g = ctx.grad();
        let scaled = |t: Tensor, by: f64| if by == 1.0 { Ok(t) } else { t.mul_scalar(by) };
        let grad_input = if ctx.needs_input_grad(0) {
            let (shape, dtype) = &self.input;
            Some(super::reduce_grad(
                scaled(g.clone(), self.beta)?,
                shape,
                *dtype,
            )?)
        } else {
            None
        };
        let (mat1, mat2) = (ctx.saved(0)?, ctx.saved(1)?);
        let grad_mat1 = ctx
            .needs_input_grad(1)
            .then(|| scaled(mm_like(mat1.layout(), g, &mat2.t()?)?, self.alpha))
            .transpose()?;
        let grad_mat2 = ctx
            .needs_input_grad(2)
            .then(|| scaled(mm_like(mat2.layout(), &mat1.t()?, g)?, self.alpha))
            .transpose()?;
        Ok(smallvec![grad_input, grad_mat1, grad_mat2])
    }

    fn saved_names(&self) -> Vec<&'static str> {
        vec!["mat1", "mat2"]
    }

    fn saved_values(&self) -> Vec<(&'static str, SavedValue)> {
        vec![
            ("alpha", SavedValue::Float(self.alpha)),
            ("beta", SavedValue::Float(self.beta)),
        ]
    }
}

impl Tensor {
    /// `beta * self + alpha * (mat1 @ mat2)` (PyTorch's `torch.addmm`): one `AddmmBackward0`
    /// node, with `self` broadcast to the product's shape and added onto the product in place
    /// (how `nn.Linear` applies its bias).
    ///
    /// ```
    /// use autodiff::Tensor;
    /// let bias = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// let x = Tensor::from_vec(vec![1.0f32, 1.0], &[1, 2])?;
    /// let w = Tensor::from_vec(vec![1.0f32, 0.0, 0.0, 1.0], &[2, 2])?;
    /// assert_eq!(bias.addmm(&x, &w, 1.0, 1.0)?.to_vec::<f32>(), [2.0, 3.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    pub fn addmm(&self, mat1: &Tensor, mat2: &Tensor, beta: f64, alpha: f64) -> Result<Tensor> {
        let shape = check_mm(mat1, mat2)?.to_vec();
        if !mat1.dtype().is_float() || self.dtype() != mat1.dtype() {
            // Integer (or mixed) operands: no gemm to fuse into, and no gradients either.
            let _off = crate::GradModeGuard::new(false);
            let out = self
                .mul_scalar(beta)?
                .add(&mat1.mm(mat2)?.mul_scalar(alpha)?)?;
            if out.shape() != shape.as_slice() {
                return Err(runtime_err!(
                    "The expanded size of the tensor ({}) must match the existing size",
                    shape[1]
                ));
            }
            return Ok(out);
        }
        let bias = self.expand(&shape)?;
        // As in PyTorch, a zero beta ignores `self`: its NaNs and infinities do not spread.
        let bias = (beta != 0.0).then_some((&bias, beta));
        let out = crate::kernels::matmul::matmul_scaled(mat1, mat2, alpha, bias);
        if needs_grad(&[self, mat1, mat2]) {
            let backward = AddmmBackward {
                input: (self.shape().to_vec(), self.dtype()),
                beta,
                alpha,
            };
            record(
                &[self, mat1, mat2],
                &out,
                Arc::new(backward),
                smallvec![SavedTensor::input(mat1), SavedTensor::input(mat2)],
            )?;
        }
        Ok(out)
    }
}
