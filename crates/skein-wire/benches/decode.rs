//! Decoding what the shell sends through the binding, outside the core: a submitted graph
//! and a frame of worker events, laid out as the TypeScript shell writes them. The core's
//! own work on them is measured by skein-core's `throughput` bench.
//!
//! - `graph/100k`: 100,000 tasks, keys like `inc-00001234`, a 16-byte payload, every task
//!   after the first depending on its predecessor.
//! - `worker_events/100k`: 100,000 `finished` events (task, run, nbytes, duration), runs
//!   in the 32-bit range as the shell sends them today.
//! - `submit/100k`: what `NativeCore.submitGraph` does with that graph: decode it and
//!   submit it to a fresh core (made outside the timed region), wanting the last key.
//!
//! `graph/100k` frees every decoded task each iteration, so it also measures glibc's
//! heap trimming: a change in the allocation pattern can make it return the heap to the
//! OS and fault it back in every iteration (run it under `perf stat -e page-faults`). The
//! binding never frees a decoded graph that way (the core keeps the keys), so
//! `submit/100k` is the figure for the real path.

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rmp::encode as enc;
use skein_core::{ClientId, Config, Scheduler};
use skein_wire::{decode_graph, decode_worker_events};

const N: usize = 100_000;

fn graph_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    enc::write_array_len(&mut out, n as u32).unwrap();
    for i in 0..n {
        enc::write_array_len(&mut out, 7).unwrap();
        enc::write_str(&mut out, &format!("inc-{i:08}")).unwrap();
        enc::write_str(&mut out, "inc").unwrap();
        enc::write_bin(&mut out, &[7u8; 16]).unwrap();
        if i == 0 {
            enc::write_array_len(&mut out, 0).unwrap();
        } else {
            enc::write_array_len(&mut out, 1).unwrap();
            enc::write_str(&mut out, &format!("inc-{:08}", i - 1)).unwrap();
        }
        enc::write_sint(&mut out, 0).unwrap();
        enc::write_nil(&mut out).unwrap();
        enc::write_nil(&mut out).unwrap();
    }
    out
}

fn events_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    enc::write_array_len(&mut out, n as u32).unwrap();
    for i in 0..n {
        enc::write_array_len(&mut out, 5).unwrap();
        enc::write_uint(&mut out, 0).unwrap();
        enc::write_uint(&mut out, i as u64).unwrap();
        enc::write_uint(&mut out, 3_000_000_000 + i as u64).unwrap();
        enc::write_uint(&mut out, 8).unwrap();
        enc::write_f64(&mut out, 0.0005).unwrap();
    }
    out
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(N as u64));
    let graph = graph_bytes(N);
    group.bench_function("graph/100k", |b| {
        b.iter(|| decode_graph(black_box(&graph)).expect("valid graph"))
    });
    let last = format!("inc-{:08}", N - 1);
    group.bench_function("submit/100k", |b| {
        b.iter_batched(
            || {
                let mut core = Scheduler::new(Config {
                    validate: false,
                    ..Config::default()
                });
                core.add_client();
                core
            },
            |mut core| {
                let tasks = decode_graph(black_box(&graph)).expect("valid graph");
                core.submit_graph(ClientId(0), tasks, &[last.as_str()])
                    .expect("valid graph");
                core
            },
            BatchSize::PerIteration,
        )
    });
    let events = events_bytes(N);
    group.bench_function("worker_events/100k", |b| {
        b.iter(|| decode_worker_events(black_box(&events)).expect("valid events"))
    });
    group.finish();
}

criterion_group!(decode, benches);
criterion_main!(decode);
