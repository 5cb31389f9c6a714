//! Reference-counted, versioned buffers. A tensor is a [`Layout`](crate::Layout) over a
//! shared [`Storage`]; views and `detach()` clone the `Arc`, never the data.

use std::fmt::Debug;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::dtype::DType;

/// The elements of a storage: a vector the storage owns, or memory that another library owns
/// (a NumPy array, a DLPack tensor) and lends for as long as its `owner` lives.
///
/// Both kinds are held as a raw pointer and a length, so every access, from Rust or through a
/// pointer handed to another library, derives from the same pointer; and since `Data` never
/// grows, that pointer is stable for the storage's lifetime, which is what makes sharing the
/// memory with NumPy or DLPack consumers possible.
pub struct Data<T> {
    ptr: NonNull<T>,
    len: usize,
    origin: Origin,
}

enum Origin {
    /// From a `Vec` of this capacity, rebuilt on drop to free it.
    Owned { capacity: usize },
    /// Lent by `owner`, whose drop releases the memory (a reference to a NumPy array, a
    /// DLPack deleter). `writable` is false for memory the lender marked read-only.
    Foreign {
        writable: bool,
        _owner: Box<dyn Send + Sync>,
    },
}

// SAFETY: `Data<T>` is a `Vec<T>` or a slice lent by an owner that is itself `Send + Sync`;
// access goes through `&self`/`&mut self` (the storage's lock), as for a `Vec<T>`.
unsafe impl<T: Send> Send for Data<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Data<T> {}

impl<T> Data<T> {
    /// Memory lent by another library, released by dropping `owner`.
    ///
    /// # Safety
    /// Unless `len` is 0, `ptr` must point to `len` initialised, valid values of `T`, suitably
    /// aligned, that stay allocated until `owner` is dropped. Rust code must be the only one
    /// writing to them while it holds a reference obtained from this `Data`; if `writable`,
    /// it may write to them.
    pub unsafe fn from_foreign(
        ptr: *mut T,
        len: usize,
        writable: bool,
        owner: Box<dyn Send + Sync>,
    ) -> Self {
        // An empty array may come with a null or unaligned pointer, which a slice must not have.
        let ptr = if len == 0 {
            NonNull::dangling()
        } else {
            let ptr = NonNull::new(ptr).expect("foreign memory with a null data pointer");
            assert!(ptr.is_aligned(), "foreign memory not aligned for its type");
            ptr
        };
        Data {
            ptr,
            len,
            origin: Origin::Foreign {
                writable,
                _owner: owner,
            },
        }
    }

    /// Whether the elements may be modified; false only for read-only lent memory.
    pub fn is_writable(&self) -> bool {
        match self.origin {
            Origin::Owned { .. } => true,
            Origin::Foreign { writable, .. } => writable,
        }
    }

    /// Whether the memory is lent by another library, which can see and change it.
    pub fn is_foreign(&self) -> bool {
        matches!(self.origin, Origin::Foreign { .. })
    }

    /// The address of the first element, for lending the memory on (NumPy, DLPack). It stays
    /// valid while this `Data` lives; whoever writes through it must not race with Rust code
    /// holding a reference from this `Data`.
    pub fn as_mut_ptr(&self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl<T> From<Vec<T>> for Data<T> {
    fn from(values: Vec<T>) -> Self {
        let mut values = std::mem::ManuallyDrop::new(values);
        Data {
            // `Vec::as_mut_ptr` is never null (dangling when nothing is allocated).
            ptr: NonNull::new(values.as_mut_ptr()).expect("Vec pointers are non-null"),
            len: values.len(),
            origin: Origin::Owned {
                capacity: values.capacity(),
            },
        }
    }
}

impl<T> Drop for Data<T> {
    fn drop(&mut self) {
        if let Origin::Owned { capacity } = self.origin {
            // SAFETY: pointer, length and capacity are those of the vector taken apart in
            // `from`, which nothing else frees.
            drop(unsafe { Vec::from_raw_parts(self.ptr.as_ptr(), self.len, capacity) });
        }
        // Foreign memory is released by dropping the owner, which follows.
    }
}

impl<T> Deref for Data<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // SAFETY: `ptr` is valid for `len` elements while `self` lives (see `from_foreign`).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<T> DerefMut for Data<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // In-place ops check `is_writable` first and report an error; reaching this with
        // read-only memory is a bug, and writing would be undefined behaviour.
        assert!(self.is_writable(), "write to read-only foreign memory");
        // SAFETY: as in `deref`, and `&mut self` excludes every other Rust reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

/// Copies into a vector this storage owns, whatever the origin: a clone must not tie two
/// storages to one lender.
impl<T: Clone> Clone for Data<T> {
    fn clone(&self) -> Self {
        let mut values = vec_with_capacity(self.len);
        values.extend_from_slice(self);
        Data::from(values)
    }
}

impl<T: Debug> Debug for Data<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The typed contents of a storage.
#[derive(Debug, Clone)]
pub enum Buffer {
    Bool(Data<bool>),
    I64(Data<i64>),
    F32(Data<f32>),
    F64(Data<f64>),
}

impl Buffer {
    /// The element type held.
    pub fn dtype(&self) -> DType {
        match self {
            Buffer::Bool(_) => DType::Bool,
            Buffer::I64(_) => DType::I64,
            Buffer::F32(_) => DType::F32,
            Buffer::F64(_) => DType::F64,
        }
    }

    /// Number of elements held.
    pub fn len(&self) -> usize {
        match self {
            Buffer::Bool(v) => v.len(),
            Buffer::I64(v) => v.len(),
            Buffer::F32(v) => v.len(),
            Buffer::F64(v) => v.len(),
        }
    }

    /// True when the buffer holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the elements may be modified (see [`Data::is_writable`]).
    pub fn is_writable(&self) -> bool {
        match self {
            Buffer::Bool(v) => v.is_writable(),
            Buffer::I64(v) => v.is_writable(),
            Buffer::F32(v) => v.is_writable(),
            Buffer::F64(v) => v.is_writable(),
        }
    }

    /// Whether the memory is lent by another library (see [`Data::is_foreign`]).
    pub fn is_foreign(&self) -> bool {
        match self {
            Buffer::Bool(v) => v.is_foreign(),
            Buffer::I64(v) => v.is_foreign(),
            Buffer::F32(v) => v.is_foreign(),
            Buffer::F64(v) => v.is_foreign(),
        }
    }

    /// The address of the first element (see [`Data::as_mut_ptr`]).
    pub fn as_mut_ptr(&self) -> *mut u8 {
        match self {
            Buffer::Bool(v) => v.as_mut_ptr().cast(),
            Buffer::I64(v) => v.as_mut_ptr().cast(),
            Buffer::F32(v) => v.as_mut_ptr().cast(),
            Buffer::F64(v) => v.as_mut_ptr().cast(),
        }
    }
}

/// A buffer shared by every tensor that views it, with the version counter PyTorch uses to
/// detect in-place changes to tensors saved for backward.
///
/// The lock is a `RwLock` rather than an `UnsafeCell` because data races are undefined
/// behaviour in Rust, and Python threads may share tensors freely.
#[derive(Debug)]
pub struct Storage {
    data: RwLock<Buffer>,
    version: AtomicU64,
}

impl Storage {
    /// Wraps a buffer.
    pub fn new(buffer: Buffer) -> Self {
        Storage {
            data: RwLock::new(buffer),
            version: AtomicU64::new(0),
        }
    }

    /// Shared read access. Recursive so that `a op a` never waits on itself.
    pub fn read(&self) -> RwLockReadGuard<'_, Buffer> {
        self.data.read_recursive()
    }

    /// Exclusive write access. Callers must not hold a read guard of the same storage.
    pub fn write(&self) -> RwLockWriteGuard<'_, Buffer> {
        self.data.write()
    }

    /// Whether in-place ops may write to the data; false for read-only lent memory.
    pub fn is_writable(&self) -> bool {
        self.read().is_writable()
    }

    /// The number of in-place modifications so far.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }

    /// Records one in-place modification.
    pub fn bump_version(&self) {
        self.version.fetch_add(1, Ordering::Relaxed);
    }
}

/// The panic payload of a failed allocation; the Python bindings report it as PyTorch's
/// out-of-memory `RuntimeError` rather than aborting the process.
#[derive(Debug, Clone, Copy)]
pub struct AllocError {
    pub bytes: usize,
}

/// An empty vector with room for `n` elements. Failing to get the memory unwinds with
/// [`AllocError`] instead of aborting, as the standard allocation would.
pub fn vec_with_capacity<T>(n: usize) -> Vec<T> {
    let bytes = n.saturating_mul(std::mem::size_of::<T>());
    let mut v = Vec::new();
    if bytes > memory_limit() || v.try_reserve_exact(n).is_err() {
        std::panic::panic_any(AllocError { bytes });
    }
    v
}

/// The most one buffer may take: physical memory plus swap, where the system says (Linux).
/// Allocators that reserve address space lazily (mimalloc, which the Python extension uses)
/// grant any size and leave the process to be killed when the pages are touched; this
/// restores the refusal that glibc's overcommit heuristic gives for impossible sizes.
fn memory_limit() -> usize {
    static LIMIT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        let Ok(info) = std::fs::read_to_string("/proc/meminfo") else {
            return usize::MAX;
        };
        let kib = |key: &str| -> Option<usize> {
            let line = info.lines().find(|l| l.starts_with(key))?;
            line.split_whitespace().nth(1)?.parse().ok()
        };
        match (kib("MemTotal:"), kib("SwapTotal:")) {
            (Some(mem), swap) => (mem + swap.unwrap_or(0)).saturating_mul(1024),
            _ => usize::MAX,
        }
    })
}

/// Collects an iterator of known length with [`vec_with_capacity`], so a tensor too large
/// for memory fails with [`AllocError`] instead of aborting.
pub fn collect_exact<T>(items: impl ExactSizeIterator<Item = T>) -> Vec<T> {
    let mut v = vec_with_capacity(items.len());
    v.extend(items);
    v
}

/// A Rust type that can be a tensor element.
pub trait Element: Copy + Send + Sync + Debug + PartialOrd + Default + 'static {
    const DTYPE: DType;
    fn slice(buffer: &Buffer) -> &[Self];
    fn slice_mut(buffer: &mut Buffer) -> &mut [Self];
    fn into_buffer(values: Vec<Self>) -> Buffer {
        Self::data_buffer(values.into())
    }
    fn data_buffer(data: Data<Self>) -> Buffer;
    fn to_f64(self) -> f64;
    fn from_f64(value: f64) -> Self;
    /// Exact for integers beyond 2^53, where going through `f64` would round.
    fn to_i64(self) -> i64 {
        self.to_f64() as i64
    }
    fn from_i64(value: i64) -> Self {
        Self::from_f64(value as f64)
    }
    /// Converts between element types; integer to integer stays exact.
    fn convert<T: Element>(self) -> T {
        if Self::DTYPE == DType::I64 && T::DTYPE == DType::I64 {
            T::from_i64(self.to_i64())
        } else {
            T::from_f64(self.to_f64())
        }
    }
}

macro_rules! impl_element {
    ($t:ty, $variant:ident, $to:expr, $from:expr, exact_int) => {
        impl_element!($t, $variant, $to, $from, fn to_i64(self) -> i64 { self }
            fn from_i64(value: i64) -> Self { value });
    };
    ($t:ty, $variant:ident, $to:expr, $from:expr $(, $($extra:tt)*)?) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn slice(buffer: &Buffer) -> &[Self] {
                match buffer {
                    Buffer::$variant(v) => v,
                    other => unreachable!(
                        "expected {:?} buffer, found {:?}",
                        DType::$variant,
                        other.dtype()
                    ),
                }
            }
            fn slice_mut(buffer: &mut Buffer) -> &mut [Self] {
                match buffer {
                    Buffer::$variant(v) => v,
                    other => unreachable!(
                        "expected {:?} buffer, found {:?}",
                        DType::$variant,
                        other.dtype()
                    ),
                }
            }
            fn data_buffer(data: Data<Self>) -> Buffer {
                Buffer::$variant(data)
            }
            fn to_f64(self) -> f64 {
                ($to)(self)
            }
            fn from_f64(value: f64) -> Self {
                ($from)(value)
            }
            $($($extra)*)?
        }
    };
}

impl_element!(f32, F32, |x: f32| x as f64, |x: f64| x as f32);
impl_element!(f64, F64, |x: f64| x, |x: f64| x);
impl_element!(i64, I64, |x: i64| x as f64, |x: f64| x as i64, exact_int);
impl_element!(bool, Bool, |x: bool| if x { 1.0 } else { 0.0 }, |x: f64| x
    != 0.0);

/// Floating-point elements: the maths of the differentiable kernels.
pub trait Float:
    Element
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn sqrt(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tan(self) -> Self;
    fn tanh(self) -> Self;
    fn abs(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn round_ties_even(self) -> Self;
    fn powf(self, e: Self) -> Self;
    fn is_nan(self) -> bool;
}

macro_rules! impl_float {
    ($t:ty, $exp:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            fn tan(self) -> Self {
                <$t>::tan(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            fn round_ties_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            fn powf(self, e: Self) -> Self {
                <$t>::powf(self, e)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}
// float32 `exp` is the vectorisable one (see `kernels::vector_math`); float64 keeps libm's.
impl_float!(f32, crate::kernels::vector_math::exp_f32);
impl_float!(f64, f64::exp);
