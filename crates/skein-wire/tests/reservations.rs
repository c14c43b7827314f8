//! A frame makes the decoder reserve memory in proportion to the frame's own size,
//! whatever counts it declares: a frame of a few kilobytes that declares four billion
//! tasks must not reserve room for them (nor for as many tasks as it has bytes: a task
//! takes at least 9 bytes on the wire and about 150 in memory).
//!
//! Peak heap bytes are counted by a global allocator; one test, so nothing runs beside it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use skein_wire::{decode_graph, decode_worker_events, WireError};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated (beyond what was live before) while `f` runs.
fn peak_during(f: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed) - base
}

/// `head`, then `n` nils: a count that the rest of the frame cannot back.
fn declares_more_than_it_holds(head: &[u8], n: usize) -> Vec<u8> {
    let mut frame = head.to_vec();
    frame.resize(head.len() + n, 0xc0);
    frame
}

#[test]
fn decoders_reserve_in_proportion_to_the_bytes_received() {
    const BYTES: usize = 100_000;
    let graph = declares_more_than_it_holds(&[0xdd, 0xff, 0xff, 0xff, 0xff], BYTES);
    let peak =
        peak_during(|| assert!(matches!(decode_graph(&graph), Err(WireError::Malformed(_)))));
    assert!(
        peak <= 20 * BYTES,
        "graph: {peak} bytes reserved for a {BYTES}-byte frame"
    );

    // One task whose dependency list declares four billion keys.
    let mut head = vec![
        0x91, 0x97, 0xa1, b'k', 0xa0, 0xc4, 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff,
    ];
    head.push(0xa0);
    let deps = declares_more_than_it_holds(&head, BYTES);
    let peak = peak_during(|| assert!(matches!(decode_graph(&deps), Err(WireError::Malformed(_)))));
    assert!(
        peak <= 32 * BYTES,
        "dependencies: {peak} bytes reserved for a {BYTES}-byte frame"
    );

    let events = declares_more_than_it_holds(&[0xdd, 0xff, 0xff, 0xff, 0xff], BYTES);
    let peak = peak_during(|| {
        assert!(matches!(
            decode_worker_events(&events),
            Err(WireError::Malformed(_))
        ))
    });
    assert!(
        peak <= 20 * BYTES,
        "worker events: {peak} bytes reserved for a {BYTES}-byte frame"
    );
}
