//! Raw loops over tensor data. Kernels know layouts and dtypes but nothing of autograd;
//! the ops in `crate::ops` wrap them with their backward rules.

pub mod elementwise;
pub mod matmul;
pub mod reduce;
pub mod vector_math;

/// Runs `f` compiled for AVX2 and FMA when the CPU has them, so the loops inside vectorise
/// eight floats wide; the wheel itself targets baseline x86-64, where they are four wide.
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features `with_avx2` is compiled for.
            return unsafe { with_avx2(f) };
        }
    }
    f()
}
