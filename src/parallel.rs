//! The thread team that runs the large kernels: the calling thread plus `num_threads() - 1`
//! helper threads.
//!
//! A job is a number of parts. The caller publishes it and starts on the parts itself;
//! helpers that are awake claim the others. Claiming means a late helper costs nothing: the
//! caller takes every part nobody has claimed and waits only for parts already running
//! elsewhere.
//!
//! After a job, helpers spin for [`SPIN_BEFORE_SLEEP`] before going to sleep. A training
//! step runs its matrix products some tens of microseconds apart, and waking a sleeping
//! thread costs about that much, so a team that slept between them would gain nothing on
//! the products that matter most (a (64, 784) @ (784, 128) layer takes 100 us on one core
//! and 60 us on two). OpenMP runtimes spin between parallel regions for the same reason.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//!
//! let total = AtomicUsize::new(0);
//! autodiff::parallel::run(4, &|part| {
//!     total.fetch_add(part + 1, Ordering::Relaxed);
//! });
//! assert_eq!(total.into_inner(), 1 + 2 + 3 + 4);
//!
//! let mut squares = vec![0u64; 10];
//! autodiff::parallel::for_each_chunk_mut(&mut squares, 3, |start, chunk| {
//!     for (i, x) in chunk.iter_mut().enumerate() {
//!         *x = ((start + i) * (start + i)) as u64;
//!     }
//! });
//! assert_eq!(squares[9], 81);
//! ```

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long a helper keeps looking for work after its last part before it sleeps.
pub const SPIN_BEFORE_SLEEP: Duration = Duration::from_millis(2);

/// The job being run: borrowed from the caller of [`run`] for as long as it waits.
struct Job<'a> {
    part: &'a (dyn Fn(usize) + Sync),
}

struct Team {
    /// `parts << 32 | next`: the current job's part count and its next unclaimed part.
    /// Everything a helper needs to claim a part sits in this one word, so a claim is a
    /// single compare-and-swap and cannot mix two jobs.
    claim: AtomicU64,
    /// Parts of the current job finished (by anyone).
    done: AtomicUsize,
    /// The current job; read only by a thread that holds a claimed part of it, so it is
    /// alive (its caller waits for every claimed part).
    job: AtomicPtr<Job<'static>>,
    /// A part panicked: its payload, re-raised on the caller's thread.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// One job at a time; a second caller (another thread, or a part calling `run`)
    /// runs its parts itself.
    busy: AtomicBool,
    /// Threads wanted, the caller included.
    threads: AtomicUsize,
    /// Helpers within the thread count asleep or about to be; a caller wakes them only when
    /// this is non-zero.
    sleepers: AtomicUsize,
    /// Helpers spawned so far, by index; those at `threads - 1` and beyond (after the count
    /// was lowered) sleep until it is raised again.
    helpers: Mutex<Vec<std::thread::Thread>>,
    /// `helpers.len()`, or the count wanted when spawning more failed, read without the lock.
    spawned: AtomicUsize,
    /// The process that spawned the helpers (0 before any).
    owner: AtomicU32,
}

static TEAM: Team = Team {
    claim: AtomicU64::new(0),
    done: AtomicUsize::new(0),
    job: AtomicPtr::new(std::ptr::null_mut()),
    panic: Mutex::new(None),
    busy: AtomicBool::new(false),
    threads: AtomicUsize::new(0),
    sleepers: AtomicUsize::new(0),
    helpers: Mutex::new(Vec::new()),
    spawned: AtomicUsize::new(0),
    owner: AtomicU32::new(0),
};

/// The thread count the team starts with: `OMP_NUM_THREADS` (the variable PyTorch reads),
/// else the number of CPUs this process may use.
fn default_threads() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        std::env::var("OMP_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// Threads the kernels use, the calling thread included (`torch.get_num_threads()`).
///
/// ```
/// assert!(autodiff::parallel::num_threads() >= 1);
/// ```
pub fn num_threads() -> usize {
    match TEAM.threads.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

/// Sets the threads the kernels use, the calling thread included (`torch.set_num_threads`).
/// `0` is treated as `1`.
///
/// ```
/// let before = autodiff::parallel::num_threads();
/// autodiff::parallel::set_num_threads(1);
/// assert_eq!(autodiff::parallel::num_threads(), 1);
/// autodiff::parallel::set_num_threads(before);
/// ```
pub fn set_num_threads(threads: usize) {
    TEAM.threads.store(threads.max(1), Ordering::Relaxed);
    // Helpers beyond the new count notice it at their next look for work and sleep; those
    // within it that slept as surplus wake up. (A fork has no helpers to wake.)
    if !forked() {
        for helper in TEAM.helpers.lock().iter() {
            helper.unpark();
        }
    }
}

/// Whether work of `size` units is worth handing to the team: more than one thread, and at
/// least `min` units (below that, the hand-off costs more than it saves).
#[inline]
pub fn worth_splitting(size: usize, min: usize) -> bool {
    size >= min && num_threads() > 1
}

/// Runs `part(i)` once for every `i` in `0..parts`, on the team, and returns when all have
/// run. Parts run in no particular order and may run concurrently, so they must not depend
/// on each other. A panic in a part is re-raised here once every part has finished.
pub fn run(parts: usize, part: &(dyn Fn(usize) + Sync)) {
    let threads = num_threads();
    if parts <= 1
        || threads <= 1
        || parts > u32::MAX as usize
        || forked()
        || TEAM.busy.swap(true, Ordering::Acquire)
    {
        (0..parts).for_each(part);
        return;
    }
    ensure_helpers(threads - 1);
    let job = Job { part };
    // SAFETY of the lifetime erasure: helpers dereference `job` only while holding a claimed
    // part, and this function does not return before every claimed part is done.
    TEAM.job.store(
        (&job as *const Job<'_>).cast::<Job<'static>>().cast_mut(),
        Ordering::Relaxed,
    );
    TEAM.done.store(0, Ordering::Relaxed);
    TEAM.claim.store((parts as u64) << 32, Ordering::SeqCst);
    wake_sleepers();
    while claim_and_run_part() {}
    let mut spins = 0u32;
    while TEAM.done.load(Ordering::Acquire) < parts {
        spins += 1;
        if spins < 1 << 12 {
            std::hint::spin_loop();
        } else {
            // A helper was descheduled mid-part: let it have this core.
            std::thread::yield_now();
        }
    }
    TEAM.job.store(std::ptr::null_mut(), Ordering::Relaxed);
    let panic = TEAM.panic.lock().take();
    TEAM.busy.store(false, Ordering::Release);
    if let Some(payload) = panic {
        resume_unwind(payload);
    }
}

/// Runs `f(start, chunk)` over `data` cut into chunks of `chunk_len` elements (the last may
/// be shorter), on the team; `start` is the chunk's first index in `data`.
pub fn for_each_chunk_mut<T: Send>(
    data: &mut [T],
    chunk_len: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let len = data.len();
    let chunk_len = chunk_len.max(1);
    let base = SharedMut(data.as_mut_ptr());
    run(len.div_ceil(chunk_len), &|i| {
        let start = i * chunk_len;
        let end = len.min(start + chunk_len);
        // SAFETY: `run` calls each part index exactly once, so the chunks are disjoint,
        // and `data` stays mutably borrowed until every part has finished.
        let chunk = unsafe { std::slice::from_raw_parts_mut(base.get().add(start), end - start) };
        f(start, chunk);
    });
}

/// Runs `f` on every item of `items`, one part per item, on the team.
pub fn for_each_mut<T: Send>(items: &mut [T], f: impl Fn(&mut T) + Sync) {
    for_each_chunk_mut(items, 1, |_, item| f(&mut item[0]));
}

/// A pointer to data that the parts of one job write at disjoint places.
pub(crate) struct SharedMut<T>(*mut T);

impl<T> Clone for SharedMut<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SharedMut<T> {}

impl<T> SharedMut<T> {
    pub(crate) fn new(ptr: *mut T) -> Self {
        SharedMut(ptr)
    }

    /// A method rather than field access, so closures capture the whole (`Sync`) wrapper.
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

// SAFETY: the users of `SharedMut` write through it only at places no other part touches.
unsafe impl<T: Send> Send for SharedMut<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedMut<T> {}

/// Claims the next part of the current job and runs it; `false` when none is left.
fn claim_and_run_part() -> bool {
    let mut word = TEAM.claim.load(Ordering::Acquire);
    loop {
        let (parts, next) = (word >> 32, word & u64::from(u32::MAX));
        if next >= parts {
            return false;
        }
        match TEAM
            .claim
            .compare_exchange_weak(word, word + 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                // SAFETY: holding an unfinished part of the job keeps its caller waiting,
                // so the job published with this claim word is alive.
                let job = unsafe { &*TEAM.job.load(Ordering::Relaxed) };
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| (job.part)(next as usize))) {
                    TEAM.panic.lock().get_or_insert(payload);
                }
                TEAM.done.fetch_add(1, Ordering::Release);
                return true;
            }
            Err(current) => word = current,
        }
    }
}

/// Whether the current job has a part nobody has claimed.
fn work_waiting() -> bool {
    let word = TEAM.claim.load(Ordering::SeqCst);
    word & u64::from(u32::MAX) < word >> 32
}

/// Wakes the sleeping helpers within the thread count.
fn wake_sleepers() {
    if TEAM.sleepers.load(Ordering::SeqCst) > 0 {
        let active = num_threads() - 1;
        for helper in TEAM.helpers.lock().iter().take(active) {
            helper.unpark();
        }
    }
}

/// Whether this process is a fork of the one that spawned the helpers. A fork has none of
/// them (only the forking thread survives) and may have copied the team's locks held, so it
/// runs every job on the calling thread.
fn forked() -> bool {
    match TEAM.owner.load(Ordering::Relaxed) {
        0 => false,
        owner => owner != std::process::id(),
    }
}

/// Spawns helpers until there are `wanted`. A helper that cannot be spawned (the system
/// is out of threads) is simply not there: its parts run on the other threads.
fn ensure_helpers(wanted: usize) {
    if TEAM.spawned.load(Ordering::Relaxed) >= wanted {
        return;
    }
    let mut helpers = TEAM.helpers.lock();
    TEAM.owner.store(std::process::id(), Ordering::Relaxed);
    while helpers.len() < wanted {
        let index = helpers.len();
        let spawned = std::thread::Builder::new()
            .name(format!("autodiff-helper-{index}"))
            .spawn(move || helper_loop(index));
        match spawned {
            Ok(handle) => helpers.push(handle.thread().clone()),
            Err(_) => break,
        }
    }
    // Even when spawning failed: the team carries on with the helpers it has.
    TEAM.spawned.store(wanted, Ordering::Relaxed);
}

fn helper_loop(index: usize) {
    let mut last_work = Instant::now();
    let mut idle_spins = 0u32;
    loop {
        // A helper beyond the thread count takes no parts: checked first, so that a count
        // lowered while it spins takes effect at its next part.
        let surplus = index + 1 >= num_threads();
        if !surplus && claim_and_run_part() {
            last_work = Instant::now();
            idle_spins = 0;
            continue;
        }
        idle_spins = idle_spins.wrapping_add(1);
        // Reading the clock costs about as much as a few dozen spins: check it rarely.
        if !surplus && !idle_spins.is_multiple_of(64) {
            std::hint::spin_loop();
            continue;
        }
        if surplus {
            // Woken by `set_num_threads` (a park token set in between makes this return at
            // once, so a raised count is never missed).
            std::thread::park();
        } else if last_work.elapsed() >= SPIN_BEFORE_SLEEP {
            // Announce the sleep before the last look for work: a caller publishes its job
            // before reading `sleepers`, so either it sees this helper asleep and wakes it,
            // or this helper sees the job.
            TEAM.sleepers.fetch_add(1, Ordering::SeqCst);
            if !work_waiting() {
                std::thread::park();
            }
            TEAM.sleepers.fetch_sub(1, Ordering::SeqCst);
            last_work = Instant::now();
        }
    }
}
