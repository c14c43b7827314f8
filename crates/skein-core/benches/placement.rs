//! Placement cost per task as the cluster grows: 10, 100, 1,000 and 10,000
//! workers (2 slots each). Read the growth across worker counts; a policy in
//! near-constant time per task shows flat lines.
//!
//! The scheduler is warm: workers joined, 20,000 pieces of scattered data (the
//! same for every N, so only the worker count changes) on random workers, and
//! every task prefix has a duration estimate. Each iteration submits a batch
//! of 1,000 tasks; after
//! it, untimed, the simulator finishes them and the client releases them so
//! the state returns to where it was.
//!
//! - `with_deps/N`: each task depends on 2 random scattered keys (held on
//!   random workers), so it is ready at once and placed by locality and
//!   occupancy inside `submit_graph`. Timed: submit + taking and delivering
//!   the instructions.
//! - `roots/N`: tasks without dependencies. Root tasks are placed as workers
//!   have room (the scheduler-side queue), so the timed region runs the batch
//!   to memory: submit, every placement, and the finished-reports that make
//!   room for the next. Includes the cost of reporting, which does not grow
//!   with N.
//!
//! Throughput is in tasks; ns/task = time per iteration / 1,000.

use std::time::{Duration, Instant};

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use skein_core::sim::{self, SimCluster, SimConfig, XorShift};
use skein_core::{Config, TaskSpec};

const BATCH: usize = 1000;
const DATA: usize = 20_000;
const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

struct Warm {
    sim: SimCluster,
    data: Vec<String>,
    rng: XorShift,
    next: u64,
}

impl Warm {
    fn new(workers: usize) -> Self {
        let config = Config {
            validate: false,
            ..Config::default()
        };
        let sim_config = SimConfig {
            seed: 3,
            tasks_per_slot_per_step: 8,
            check: false,
            ..SimConfig::default()
        };
        let mut sim = SimCluster::new(config, sim_config);
        let ids = sim
            .add_workers("w", workers, 2)
            .expect("fresh worker names");
        let mut rng = XorShift::new(11);
        let c = sim.client();
        let data: Vec<String> = (0..DATA).map(|i| format!("data-{i}")).collect();
        for key in &data {
            let w = ids[rng.below(ids.len() as u64) as usize];
            sim.scatter(c, key, w, 1_000_000).expect("live worker");
        }
        let mut warm = Warm {
            sim,
            data,
            rng,
            next: 0,
        };
        // Learn durations for both prefixes before timing anything.
        for _ in 0..3 {
            let (tasks, keys) = warm.batch(true);
            warm.submit(tasks, &keys);
            warm.drain_and_release(&keys);
            let (tasks, keys) = warm.batch(false);
            warm.submit(tasks, &keys);
            warm.drain_and_release(&keys);
        }
        warm
    }

    fn batch(&mut self, with_deps: bool) -> (Vec<TaskSpec>, Vec<String>) {
        let mut tasks = Vec::with_capacity(BATCH);
        let mut keys = Vec::with_capacity(BATCH);
        for _ in 0..BATCH {
            self.next += 1;
            let key = format!("t-{}", self.next);
            let deps = if with_deps {
                let n = self.data.len() as u64;
                let a = self.rng.below(n) as usize;
                let b = (a + 1 + self.rng.below(n - 1) as usize) % self.data.len();
                vec![self.data[a].clone(), self.data[b].clone()]
            } else {
                Vec::new()
            };
            tasks.push(sim::task(
                key.clone(),
                if with_deps { "use" } else { "root" },
                deps,
                b"",
            ));
            keys.push(key);
        }
        (tasks, keys)
    }

    fn submit(&mut self, tasks: Vec<TaskSpec>, keys: &[String]) {
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.sim.submit(tasks, &refs).expect("valid graph");
    }

    fn drain(&mut self) {
        while self.sim.has_work() {
            self.sim.step();
        }
    }

    fn drain_and_release(&mut self, keys: &[String]) {
        self.drain();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let c = self.sim.client();
        self.sim
            .scheduler_mut()
            .release_keys(c, &refs)
            .expect("live client");
        self.sim.pump();
    }
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("placement");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(BATCH as u64));
    for &n in &SIZES {
        let mut warm = Warm::new(n);
        group.bench_with_input(BenchmarkId::new("with_deps", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let (tasks, keys) = warm.batch(true);
                    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                    let computes = warm.sim.stats().computes;
                    let start = Instant::now();
                    warm.sim.submit(tasks, &refs).expect("valid graph");
                    timed += start.elapsed();
                    assert_eq!(
                        warm.sim.stats().computes - computes,
                        BATCH as u64,
                        "every task placed at submit"
                    );
                    drop(refs);
                    warm.drain_and_release(&keys);
                }
                timed
            })
        });
        group.bench_with_input(BenchmarkId::new("roots", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let (tasks, keys) = warm.batch(false);
                    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                    let finished = warm.sim.stats().finished;
                    let start = Instant::now();
                    warm.sim.submit(tasks, &refs).expect("valid graph");
                    warm.drain();
                    timed += start.elapsed();
                    assert_eq!(
                        warm.sim.stats().finished - finished,
                        BATCH as u64,
                        "every task ran"
                    );
                    drop(refs);
                    warm.drain_and_release(&keys);
                }
                timed
            })
        });
    }
    group.finish();
}

criterion_group!(placement, benches);
criterion_main!(placement);
