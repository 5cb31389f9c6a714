//! Shapes, strides and broadcasting. A [`Layout`] maps a multi-index to a position in a
//! storage, so views (`expand`, `reshape` of contiguous data, `detach`) cost O(1).

use smallvec::SmallVec;

use crate::error::{Error, Result};

/// A tensor shape. Four dimensions live inline; more spill to the heap.
pub type Shape = SmallVec<[usize; 4]>;

/// Where a tensor's elements sit in its storage, in elements (not bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    shape: Shape,
    strides: Shape,
    offset: usize,
}

impl Layout {
    /// A row-major contiguous layout for `shape`, starting at offset 0.
    ///
    /// ```
    /// use autodiff::Layout;
    /// let l = Layout::contiguous(&[2, 3]);
    /// assert_eq!(l.strides(), &[3, 1]);
    /// assert_eq!(l.numel(), 6);
    /// ```
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout {
            shape: shape.into(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    /// A layout from explicit parts.
    pub fn new(shape: Shape, strides: Shape, offset: usize) -> Self {
        Layout {
            shape,
            strides,
            offset,
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn strides(&self) -> &[usize] {
        &self.strides
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Moves the layout to start at `offset` (shape and strides unchanged).
    pub fn set_offset(&mut self, offset: usize) {
        self.offset = offset;
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the elements are packed row-major, so `storage[offset..offset + numel]`
    /// holds them in order. Size-1 dimensions may have any stride.
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&size, &stride) in self.shape.iter().zip(&self.strides).rev() {
            if size != 1 && stride != expected {
                return false;
            }
            expected *= size;
        }
        true
    }

    /// The layout of `self` broadcast to `shape` (stride 0 along broadcast dimensions).
    /// `shape` must be a valid broadcast target, as produced by [`broadcast_shapes`].
    pub fn broadcast_to(&self, shape: &[usize]) -> Layout {
        let lead = shape.len() - self.ndim();
        let mut strides = Shape::from_elem(0, shape.len());
        for (i, (&size, &stride)) in self.shape.iter().zip(&self.strides).enumerate() {
            strides[lead + i] = if size == 1 && shape[lead + i] != 1 {
                0
            } else {
                stride
            };
        }
        Layout {
            shape: shape.into(),
            strides,
            offset: self.offset,
        }
    }

    /// Storage offsets of every element in row-major order.
    pub fn offsets(&self) -> StridedOffsets<'_> {
        StridedOffsets::new(self)
    }
}

/// Row-major strides of a contiguous tensor of `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Shape {
    let mut strides = Shape::from_elem(1, shape.len());
    let mut acc = 1;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i].max(1);
    }
    strides
}

/// The shape two operands broadcast to, with PyTorch's message when they do not.
///
/// ```
/// use autodiff::layout::broadcast_shapes;
/// assert_eq!(broadcast_shapes(&[3, 1], &[4]).unwrap().as_slice(), &[3, 4]);
/// assert!(broadcast_shapes(&[3], &[4]).is_err());
/// ```
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Shape> {
    if a == b {
        return Ok(a.into());
    }
    let ndim = a.len().max(b.len());
    let mut out = Shape::from_elem(0, ndim);
    for i in 0..ndim {
        let da = if i + a.len() >= ndim {
            a[i + a.len() - ndim]
        } else {
            1
        };
        let db = if i + b.len() >= ndim {
            b[i + b.len() - ndim]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::Runtime(format!(
                "The size of tensor a ({da}) must match the size of tensor b ({db}) at \
                 non-singleton dimension {i}"
            )));
        };
    }
    checked_numel(&out, 8)?;
    Ok(out)
}

/// The element count of `shape`, or PyTorch's error when it, or its size in bytes at
/// `itemsize` bytes per element, does not fit in memory addresses.
pub fn checked_numel(shape: &[usize], itemsize: usize) -> Result<usize> {
    let overflow = || {
        Error::Runtime(format!(
            "Storage size calculation overflowed with sizes={shape:?}"
        ))
    };
    let numel = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(overflow)?;
    // Strides multiply the non-zero sizes, so they must fit as well.
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)))
        .filter(|&n| {
            n.checked_mul(itemsize)
                .is_some_and(|b| b <= isize::MAX as usize)
        })
        .ok_or_else(overflow)?;
    Ok(numel)
}

/// Iterates storage offsets of a strided layout with an odometer, no recursion.
pub struct StridedOffsets<'a> {
    shape: &'a [usize],
    strides: &'a [usize],
    index: Shape,
    next: usize,
    remaining: usize,
}

impl<'a> StridedOffsets<'a> {
    fn new(layout: &'a Layout) -> Self {
        StridedOffsets {
            shape: &layout.shape,
            strides: &layout.strides,
            index: Shape::from_elem(0, layout.ndim()),
            next: layout.offset,
            remaining: layout.numel(),
        }
    }
}

impl Iterator for StridedOffsets<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let current = self.next;
        for d in (0..self.shape.len()).rev() {
            self.index[d] += 1;
            self.next += self.strides[d];
            if self.index[d] < self.shape[d] {
                break;
            }
            self.next -= self.strides[d] * self.shape[d];
            self.index[d] = 0;
        }
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for StridedOffsets<'_> {}

/// Rows of `N` strided operands that share one shape: dimensions that are laid out alike in
/// every operand are merged, and the last merged dimension becomes the *row*, walked with a
/// fixed stride per operand. Kernels loop over rows instead of calling an iterator per
/// element, and a row with stride 1 (or 0) is a slice (or one repeated value).
pub struct Rows<const N: usize> {
    outer_shape: Shape,
    outer_strides: [Shape; N],
    offsets: [usize; N],
    /// Elements per row.
    pub len: usize,
    /// Each operand's stride along the row.
    pub strides: [usize; N],
}

impl<const N: usize> Rows<N> {
    /// The rows of `layouts`, which must all have the same shape.
    pub fn new(layouts: [&Layout; N]) -> Self {
        let shape = layouts[0].shape();
        // (size, strides) per dimension, size-1 dimensions dropped, merged from the back.
        let mut dims: Vec<(usize, [usize; N])> = Vec::with_capacity(shape.len());
        for d in (0..shape.len()).rev() {
            if shape[d] == 1 {
                continue;
            }
            let strides: [usize; N] = std::array::from_fn(|k| layouts[k].strides()[d]);
            match dims.last_mut() {
                Some((size, inner)) if (0..N).all(|k| strides[k] == inner[k] * *size) => {
                    *size *= shape[d];
                }
                _ => dims.push((shape[d], strides)),
            }
        }
        let (len, strides) = match dims.first() {
            Some(&(size, strides)) => (size, strides),
            None => (usize::from(shape.iter().all(|&n| n != 0)), [0; N]),
        };
        let outer = dims.get(1..).unwrap_or(&[]);
        Rows {
            outer_shape: outer.iter().rev().map(|(size, _)| *size).collect(),
            outer_strides: std::array::from_fn(|k| outer.iter().rev().map(|(_, s)| s[k]).collect()),
            offsets: std::array::from_fn(|k| layouts[k].offset()),
            len: if shape.contains(&0) { 0 } else { len },
            strides,
        }
    }

    /// Number of rows.
    pub fn count(&self) -> usize {
        if self.len == 0 {
            0
        } else {
            self.outer_shape.iter().product()
        }
    }

    /// Calls `f` with each row's starting offsets, in row-major order.
    pub fn for_each(&self, mut f: impl FnMut([usize; N])) {
        let count = self.count();
        if count == 0 {
            return;
        }
        let mut index = Shape::from_elem(0, self.outer_shape.len());
        let mut base = self.offsets;
        for _ in 0..count {
            f(base);
            for d in (0..index.len()).rev() {
                index[d] += 1;
                for (b, s) in base.iter_mut().zip(&self.outer_strides) {
                    *b += s[d];
                }
                if index[d] < self.outer_shape[d] {
                    break;
                }
                for (b, s) in base.iter_mut().zip(&self.outer_strides) {
                    *b -= s[d] * self.outer_shape[d];
                }
                index[d] = 0;
            }
        }
    }
}

/// Normalises a possibly negative dimension index, with PyTorch's `IndexError` text.
pub fn normalize_dim(dim: i64, ndim: usize) -> Result<usize> {
    let n = ndim.max(1) as i64;
    if dim < -n || dim >= n {
        return Err(Error::Index(format!(
            "Dimension out of range (expected to be in range of [{}, {}], but got {dim})",
            -n,
            n - 1
        )));
    }
    Ok(if dim < 0 {
        (dim + n) as usize
    } else {
        dim as usize
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_of_broadcast_view() {
        let l = Layout::contiguous(&[3, 1]).broadcast_to(&[3, 2]);
        assert_eq!(l.offsets().collect::<Vec<_>>(), vec![0, 0, 1, 1, 2, 2]);
        assert!(!l.is_contiguous());
    }

    #[test]
    fn broadcast_error_message() {
        let e = broadcast_shapes(&[2, 3], &[2, 4]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"
        );
    }
}
