//! End-to-end throughput of the state machine with simulated workers: from
//! `submit_graph` until every wanted key is in memory. The simulated workers
//! (8 workers x 4 slots) take each batch of instructions and finish up to 8
//! queued tasks per slot per step, so the scheduler sees the batched
//! finished-reports a real cluster produces. Graphs are built outside the timed
//! region; submit, placement, reports and frees are inside it. The simulator's
//! own bookkeeping (a queue per worker, one table entry per task) is included
//! and is small next to the scheduler's work.
//!
//! Shapes:
//! - (a) `independent/1M`: 1,000,000 tasks without dependencies, all wanted.
//! - (b) `tree_reduction/1M_leaves`: 1,000,000 leaves reduced pairwise to one
//!   root (1,999,999 tasks); only the root is wanted, so every inner result is
//!   freed once its parent has run.
//! - (c) `shuffle/1000x1000`: 1,000 input tasks and 1,000 output tasks, each
//!   output depending on every input (1,000,000 dependency edges); all
//!   outputs wanted. Throughput is counted in edges.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use skein_core::sim::{self, SimCluster, SimConfig};
use skein_core::{Config, TaskSpec};

const WORKERS: usize = 8;
const SLOTS: u32 = 4;

fn cluster() -> SimCluster {
    let config = Config {
        validate: false,
        ..Config::default()
    };
    let sim = SimConfig {
        seed: 7,
        tasks_per_slot_per_step: 8,
        check: false,
        replace_killed: false,
        ..SimConfig::default()
    };
    let mut cluster = SimCluster::new(config, sim);
    cluster
        .add_workers("w", WORKERS, SLOTS)
        .expect("fresh worker names");
    cluster
}

/// Submits and runs to quiescence; returns the cluster so it is dropped untimed.
fn submit_to_memory(
    mut sim: SimCluster,
    tasks: Vec<TaskSpec>,
    wanted: Vec<String>,
    expect_finished: u64,
) -> SimCluster {
    let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
    sim.submit(tasks, &refs).expect("valid graph");
    sim.run_until_idle(u64::MAX).expect("no step limit");
    assert_eq!(sim.stats().finished, expect_finished, "every task ran once");
    sim
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("throughput");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500));

    const N: usize = 1_000_000;
    group
        .throughput(Throughput::Elements(N as u64))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("independent/1M", |b| {
        b.iter_batched(
            || (cluster(), sim::independent("noop", N, b"")),
            |(sim, (tasks, keys))| submit_to_memory(sim, tasks, keys, N as u64),
            BatchSize::PerIteration,
        )
    });

    let tree_tasks = 2 * N - 1;
    group
        .throughput(Throughput::Elements(tree_tasks as u64))
        .measurement_time(Duration::from_secs(25));
    group.bench_function("tree_reduction/1M_leaves", |b| {
        b.iter_batched(
            || (cluster(), sim::tree_reduction(N)),
            |(sim, (tasks, root))| submit_to_memory(sim, tasks, vec![root], tree_tasks as u64),
            BatchSize::PerIteration,
        )
    });

    const SIDE: usize = 1000;
    group
        .throughput(Throughput::Elements((SIDE * SIDE) as u64))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("shuffle/1000x1000_edges", |b| {
        b.iter_batched(
            || (cluster(), sim::shuffle(SIDE, SIDE)),
            |(sim, (tasks, outs))| submit_to_memory(sim, tasks, outs, (2 * SIDE) as u64),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(throughput, benches);
criterion_main!(throughput);
