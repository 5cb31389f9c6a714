//! Storages over memory lent by another library (`Data::from_foreign`), without Python: the
//! memory is shared, released with its owner, copied on clone, and never written when lent
//! read-only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use autodiff::storage::{Buffer, Data, Storage};
use autodiff::{Error, Layout, Result, Tensor};

/// Lends its vector's memory and records when it is dropped.
struct Lender {
    _memory: Vec<f64>,
    dropped: Arc<AtomicBool>,
}

impl Drop for Lender {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// A tensor over `values` lent by a [`Lender`], with the lender's address and drop flag.
fn lent(values: Vec<f64>, writable: bool) -> (Tensor, *mut f64, Arc<AtomicBool>) {
    let mut memory = values;
    let ptr = memory.as_mut_ptr();
    let len = memory.len();
    let dropped = Arc::new(AtomicBool::new(false));
    let owner = Lender {
        _memory: memory,
        dropped: dropped.clone(),
    };
    // SAFETY: `ptr` is the lender's vector, which moving into the box does not reallocate.
    let data = unsafe { Data::from_foreign(ptr, len, writable, Box::new(owner)) };
    let storage = Arc::new(Storage::new(Buffer::F64(data)));
    let t = Tensor::from_parts(storage, Layout::contiguous(&[len]));
    (t, ptr, dropped)
}

#[test]
fn lent_memory_is_shared_and_released_with_the_last_tensor() -> Result<()> {
    let (t, ptr, dropped) = lent(vec![1.0, 2.0, 3.0], true);
    assert_eq!(t.to_vec::<f64>(), [1.0, 2.0, 3.0]);
    // SAFETY: the tensor keeps the lender, so the memory, alive.
    unsafe { *ptr.add(1) = 20.0 };
    assert_eq!(t.to_vec::<f64>(), [1.0, 20.0, 3.0]);
    t.fill_(5.0)?;
    // SAFETY: as above.
    assert_eq!(
        unsafe { std::slice::from_raw_parts(ptr, 3) },
        [5.0, 5.0, 5.0]
    );
    assert!(t.storage().read().is_foreign());
    let view = t.detach();
    drop(t);
    assert!(!dropped.load(Ordering::SeqCst));
    drop(view);
    assert!(dropped.load(Ordering::SeqCst));
    Ok(())
}

#[test]
fn read_only_lent_memory_refuses_in_place_ops() -> Result<()> {
    let (t, _, _) = lent(vec![1.0, 2.0], false);
    assert!(!t.storage().is_writable());
    match t.fill_(0.0) {
        Err(Error::Runtime(msg)) => assert!(msg.starts_with("cannot modify a tensor whose memory")),
        other => panic!("expected the read-only error, got {other:?}"),
    }
    assert_eq!(t.to_vec::<f64>(), [1.0, 2.0]);
    assert_eq!(t.mul_scalar(2.0)?.to_vec::<f64>(), [2.0, 4.0]);
    Ok(())
}

#[test]
fn cloning_a_lent_buffer_copies_into_owned_memory() {
    let (t, ptr, _) = lent(vec![1.0, 2.0], false);
    let copy = t.storage().read().clone();
    assert!(!copy.is_foreign() && copy.is_writable());
    assert_ne!(copy.as_mut_ptr(), ptr.cast::<u8>());
    match copy {
        Buffer::F64(values) => assert_eq!(&values[..], [1.0, 2.0]),
        other => panic!("expected a float64 buffer, got {other:?}"),
    }
}

#[test]
fn empty_lent_memory_may_have_a_null_pointer() {
    // SAFETY: nothing is read from an empty buffer.
    let data = unsafe { Data::<i64>::from_foreign(std::ptr::null_mut(), 0, true, Box::new(())) };
    assert!(data.is_empty() && data.is_foreign());
    let t = Tensor::from_parts(
        Arc::new(Storage::new(Buffer::I64(data))),
        Layout::contiguous(&[0, 2]),
    );
    assert_eq!(t.to_vec::<i64>(), Vec::<i64>::new());
}
