//! Element types and PyTorch's type-promotion rules.

use std::fmt;

/// The element type of a tensor.
///
/// ```
/// use autodiff::DType;
/// assert!(DType::F64.is_float());
/// assert_eq!(DType::promote(DType::F32, DType::F64), DType::F64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    I64,
    F32,
    F64,
}

/// Kinds of value, ordered as PyTorch's promotion categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Bool,
    Integer,
    Float,
}

impl DType {
    /// True for `F32` and `F64`, the only dtypes that can require grad.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// The promotion category of this dtype.
    pub fn category(self) -> Category {
        match self {
            DType::Bool => Category::Bool,
            DType::I64 => Category::Integer,
            DType::F32 | DType::F64 => Category::Float,
        }
    }

    /// The smallest dtype that holds both (`torch.promote_types`).
    pub fn promote(a: DType, b: DType) -> DType {
        a.max(b)
    }

    /// Bytes per element.
    pub fn size_of(self) -> usize {
        match self {
            DType::Bool => 1,
            DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    /// PyTorch's short name, as used in `torch.float32` and in messages.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I64 => "int64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// The legacy type name PyTorch prints in messages (`[torch.FloatTensor [2]]`).
    pub fn legacy_type_name(self) -> &'static str {
        match self {
            DType::Bool => "torch.BoolTensor",
            DType::I64 => "torch.LongTensor",
            DType::F32 => "torch.FloatTensor",
            DType::F64 => "torch.DoubleTensor",
        }
    }

    /// The C++ scalar-type name PyTorch uses in some messages (`'Float'`, `'double'`).
    pub fn scalar_type_name(self) -> &'static str {
        match self {
            DType::Bool => "Bool",
            DType::I64 => "Long",
            DType::F32 => "Float",
            DType::F64 => "Double",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an operand takes part in type promotion (`torch.result_type`): tensors with dimensions
/// outrank 0-d tensors, which outrank Python numbers, within the same category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Dimensioned,
    ZeroDim,
    WrappedNumber,
}

/// The result dtype of a binary op, following PyTorch's three-tier rule.
pub fn result_type(a: (DType, Priority), b: (DType, Priority), default_float: DType) -> DType {
    let tier = |p: Priority| -> Option<DType> {
        [a, b]
            .iter()
            .filter(|(_, q)| *q == p)
            .map(|(d, _)| *d)
            .reduce(DType::promote)
    };
    let mut result: Option<DType> = tier(Priority::Dimensioned);
    for p in [Priority::ZeroDim, Priority::WrappedNumber] {
        if let Some(d) = tier(p) {
            result = Some(match result {
                // Only Python numbers: floats take the default dtype (`where(c, 1., 0.)`).
                None if p == Priority::WrappedNumber && d.is_float() => default_float,
                None => d,
                Some(r) if d.category() > r.category() => {
                    if p == Priority::WrappedNumber {
                        match d.category() {
                            Category::Float => default_float,
                            Category::Integer => DType::I64,
                            Category::Bool => DType::Bool,
                        }
                    } else {
                        d
                    }
                }
                Some(r) => r,
            });
        }
    }
    result.unwrap_or(default_float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_tiers() {
        use Priority::*;
        let f = DType::F32;
        assert_eq!(
            result_type((DType::F32, Dimensioned), (DType::F64, ZeroDim), f),
            DType::F32
        );
        assert_eq!(
            result_type((DType::I64, Dimensioned), (DType::F64, ZeroDim), f),
            DType::F64
        );
        assert_eq!(
            result_type((DType::I64, Dimensioned), (DType::F64, WrappedNumber), f),
            f
        );
        assert_eq!(
            result_type((DType::F64, Dimensioned), (DType::F32, WrappedNumber), f),
            DType::F64
        );
        assert_eq!(
            result_type((DType::F32, Dimensioned), (DType::F64, Dimensioned), f),
            DType::F64
        );
    }
}
