//! Bytes the scheduler keeps per task, measured with a counting global
//! allocator (not a Criterion bench: it prints its results).
//!
//! For 1,000,000 independent tasks (keys `noop-0` .. `noop-999999`, all
//! wanted), with an empty and with an 8-byte payload:
//! - `after submit`: live bytes the scheduler holds once `submit_graph` has
//!   returned (the specs are consumed; the caller's key list is excluded);
//! - `peak during run`: the highest live bytes while simulated workers
//!   (8 x 4 slots) run everything to memory, including the simulator's own
//!   table of one assignment per task (16 B/task) and the instruction batches;
//! - `after run`: live bytes with every result in memory on some worker.
//!
//! Run: `cargo bench -p skein-core --bench memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use skein_core::sim::{self, SimCluster, SimConfig};
use skein_core::{Config, TaskSpec};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn measure(label: &str, n: usize, payload: &[u8]) {
    let config = Config {
        validate: false,
        ..Config::default()
    };
    let sim_config = SimConfig {
        check: false,
        tasks_per_slot_per_step: 8,
        ..SimConfig::default()
    };
    let mut sim = SimCluster::new(config, sim_config);
    sim.add_workers("w", 8, 4).expect("fresh worker names");

    // The caller's key list stays outside the measurement; the specs built
    // after `before` move into the core, so what survives of them is the core's.
    let keys: Vec<String> = (0..n).map(|i| format!("noop-{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let before = live();
    let tasks: Vec<TaskSpec> = keys
        .iter()
        .map(|k| sim::task(k.clone(), "noop", Vec::new(), payload))
        .collect();
    let client = sim.client();
    let ids = sim
        .scheduler_mut()
        .submit_graph(client, tasks, &refs)
        .expect("valid graph");
    drop(ids);
    let after_submit = live();

    PEAK.store(after_submit, Ordering::Relaxed);
    sim.run_until_idle(u64::MAX).expect("no step limit");
    let peak = PEAK.load(Ordering::Relaxed);
    let after_run = live();
    assert_eq!(sim.stats().finished, n as u64);

    let per = |bytes: usize| bytes.saturating_sub(before) as f64 / n as f64;
    println!(
        "memory/{label}: after submit {:.1} B/task, peak during run {:.1} B/task, after run {:.1} B/task ({n} tasks)",
        per(after_submit),
        per(peak),
        per(after_run),
    );
    drop(sim);
    drop(refs);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not: keep that a quick smoke run.
    let n = if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        10_000
    };
    measure("independent_empty_payload", n, b"");
    measure("independent_8B_payload", n, b"12345678");
}
