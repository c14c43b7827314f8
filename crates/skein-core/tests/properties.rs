//! Property tests of the scheduling core, driven through [`SimCluster`].
//!
//! Each case builds a random DAG, replays a random interleaving of events
//! (workers joining, leaving and timing out, tasks finishing, erring and
//! missing inputs, data lost, clients wanting, releasing and cancelling,
//! further graphs, some of them invalid, rounds of work stealing and the
//! victims' answers in any order), checks the invariants after every
//! event, and then drives the cluster to quiescence and checks liveness:
//! every key a client still wants is in memory or erred, unless a task it
//! depends on can run on no worker of the pool.
//!
//! The simulator itself checks every instruction (see `skein_core::sim`):
//! each `Compute` names a task that is processing and whose inputs are in
//! memory, a task is never handed to a second worker while the first still
//! holds it, and a report is accepted only for the task's current run.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use skein_core::sim::{self, Outcome, SimCluster, SimConfig};
use skein_core::{
    ClientId, Config, CoreError, DeathCause, Failure, TaskSpec, TaskState, WorkerId, WorkerSpec,
};

// ---------------------------------------------------------------- the pool

/// The worker names a case may use, with what each declares. Fixed, so which
/// tasks can run somewhere is known from the task alone.
const POOL: [(&str, &[(&str, f64)]); 5] = [
    ("a", &[("gpu", 1.0)]),
    ("b", &[]),
    ("c", &[("gpu", 2.0), ("mem", 8.0)]),
    ("d", &[]),
    ("e", &[("mem", 4.0)]),
];

fn restriction(code: u8) -> Option<Vec<String>> {
    let names: &[&str] = match code % 20 {
        8 => &["a"],
        9 => &["b", "c"],
        10 => &["nowhere"],
        11 => &["a", "d"],
        _ => return None,
    };
    Some(names.iter().map(|n| n.to_string()).collect())
}

fn resources(code: u8) -> Vec<(String, f64)> {
    let needs: &[(&str, f64)] = match code % 20 {
        8 => &[("mem", 4.0)],
        9 => &[("gpu", 1.0)],
        10 => &[("gpu", 2.0)],
        11 => &[("tpu", 1.0)],
        _ => &[],
    };
    needs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Whether some worker of the pool may run a task with these needs.
fn satisfiable(restrictions: Option<&Vec<String>>, needs: &[(String, f64)]) -> bool {
    POOL.iter().any(|(name, has)| {
        restrictions.is_none_or(|r| r.iter().any(|n| n == name))
            && needs
                .iter()
                .all(|(k, need)| has.iter().any(|(hk, hv)| hk == k && hv >= need))
    })
}

const PREFIXES: [&str; 4] = ["", "load", "inc", "sum"];

// ---------------------------------------------------------------- plans

#[derive(Clone, Debug)]
struct TaskSeed {
    deps: Vec<u16>,
    prefix: u8,
    priority: i8,
    restrict: u8,
    resource: u8,
}

#[derive(Clone, Debug)]
enum Ev {
    AddWorker {
        name: u8,
        slots: u8,
    },
    RemoveWorker {
        w: u8,
    },
    Finish {
        w: u8,
        job: u8,
        nbytes: u64,
        duration: f64,
    },
    Fail {
        w: u8,
        job: u8,
    },
    Missing {
        w: u8,
        job: u8,
        dep: u8,
        holder: u8,
    },
    DataLost {
        key: u16,
        holder: u8,
    },
    Stale {
        pick: u8,
    },
    Impostor {
        w: u8,
        job: u8,
        other: u8,
    },
    Evict {
        key: u16,
        holder: u8,
    },
    Garbage {
        kind: u8,
    },
    Want {
        client: u8,
        key: u16,
    },
    Release {
        client: u8,
        key: u16,
    },
    Cancel {
        client: u8,
        key: u16,
    },
    /// A client asks for a key to run again if it erred (`retry_keys`).
    Retry {
        client: u8,
        key: u16,
    },
    AddClient,
    RemoveClient {
        client: u8,
    },
    Heartbeat {
        w: u8,
    },
    Tick {
        seconds: u8,
    },
    Step,
    /// A round of work stealing (a tick with no time passing).
    Balance,
    /// A victim answers one of its pending steal requests.
    StealAnswer {
        w: u8,
        pick: u8,
    },
    /// A steal answer for a job that already ended.
    StaleSteal {
        pick: u8,
        stolen: bool,
    },
    Submit {
        client: u8,
        graph: Vec<TaskSeed>,
        reuse: Vec<u16>,
        wanted: u32,
        reverse: bool,
    },
    SubmitInvalid {
        client: u8,
        graph: Vec<TaskSeed>,
        kind: u8,
    },
    /// A map of `width` tasks over a few shared inputs (root-ish once wider than twice the
    /// cluster's slots): existing keys, or a root of the same graph when there are none.
    SubmitFanOut {
        client: u8,
        width: u8,
        inputs: Vec<u16>,
        wanted: u32,
    },
    Scatter {
        client: u8,
        w: u8,
        existing: Option<u16>,
    },
    /// Copies of an existing key on `n` workers (None: all of them).
    Replicate {
        key: u16,
        n: Option<u8>,
    },
}

#[derive(Clone, Debug)]
struct Plan {
    workers: Vec<(u8, u8)>,
    graph: Vec<TaskSeed>,
    wanted: u32,
    events: Vec<Ev>,
}

fn task_seed() -> impl Strategy<Value = TaskSeed> {
    (
        prop::collection::vec(any::<u16>(), 0..4),
        0u8..4,
        -2i8..=2,
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(deps, prefix, priority, restrict, resource)| TaskSeed {
            deps,
            prefix,
            priority,
            restrict,
            resource,
        })
}

fn graph_seed(max: usize) -> impl Strategy<Value = Vec<TaskSeed>> {
    prop::collection::vec(task_seed(), 1..max)
}

/// Result sizes, including the extremes a confused worker might report.
fn nbytes() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..2_000_000, 1 => Just(0u64), 1 => Just(u64::MAX)]
}

/// Durations in seconds, including values a worker's clock can produce by mistake.
fn duration() -> impl Strategy<Value = f64> {
    prop_oneof![
        12 => (0u16..2000).prop_map(|d| f64::from(d) * 1e-4),
        1 => Just(0.0),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(1e300),
    ]
}

/// Weights of the event kinds, so each block can stress something else.
#[derive(Clone, Copy)]
struct Mix {
    churn: u32,
    work: u32,
    faults: u32,
    clients: u32,
    graphs: u32,
    invalid: u32,
    steals: u32,
}

fn event(mix: Mix) -> impl Strategy<Value = Ev> {
    prop_oneof![
        mix.churn * 2 => (any::<u8>(), 1u8..4).prop_map(|(name, slots)| Ev::AddWorker { name, slots }),
        mix.churn => any::<u8>().prop_map(|w| Ev::RemoveWorker { w }),
        mix.churn => any::<u8>().prop_map(|w| Ev::Heartbeat { w }),
        mix.churn => (0u8..40).prop_map(|seconds| Ev::Tick { seconds }),
        mix.work * 6 => (any::<u8>(), any::<u8>(), nbytes(), duration())
            .prop_map(|(w, job, nbytes, duration)| Ev::Finish { w, job, nbytes, duration }),
        mix.work * 3 => Just(Ev::Step),
        mix.faults => (any::<u8>(), any::<u8>()).prop_map(|(w, job)| Ev::Fail { w, job }),
        mix.faults => (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(w, job, dep, holder)| Ev::Missing { w, job, dep, holder }),
        mix.faults => (any::<u16>(), any::<u8>()).prop_map(|(key, holder)| Ev::DataLost { key, holder }),
        mix.faults => any::<u8>().prop_map(|pick| Ev::Stale { pick }),
        mix.faults => (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(w, job, other)| Ev::Impostor { w, job, other }),
        mix.faults => (any::<u16>(), any::<u8>()).prop_map(|(key, holder)| Ev::Evict { key, holder }),
        mix.faults => (0u8..6).prop_map(|kind| Ev::Garbage { kind }),
        mix.clients * 2 => (any::<u8>(), any::<u16>()).prop_map(|(client, key)| Ev::Want { client, key }),
        mix.clients => (any::<u8>(), any::<u16>()).prop_map(|(client, key)| Ev::Release { client, key }),
        mix.clients => (any::<u8>(), any::<u16>()).prop_map(|(client, key)| Ev::Cancel { client, key }),
        mix.clients => (any::<u8>(), any::<u16>()).prop_map(|(client, key)| Ev::Retry { client, key }),
        mix.clients => Just(Ev::AddClient),
        mix.clients => any::<u8>().prop_map(|client| Ev::RemoveClient { client }),
        mix.clients => (any::<u8>(), any::<u8>(), prop::option::of(any::<u16>()))
            .prop_map(|(client, w, existing)| Ev::Scatter { client, w, existing }),
        mix.clients => (any::<u16>(), prop::option::of(0u8..5)).prop_map(|(key, n)| Ev::Replicate { key, n }),
        mix.graphs => (any::<u8>(), graph_seed(8), prop::collection::vec(any::<u16>(), 0..3), any::<u32>(), any::<bool>())
            .prop_map(|(client, graph, reuse, wanted, reverse)| Ev::Submit { client, graph, reuse, wanted, reverse }),
        mix.graphs => (any::<u8>(), 4u8..40, prop::collection::vec(any::<u16>(), 1..6), any::<u32>())
            .prop_map(|(client, width, inputs, wanted)| Ev::SubmitFanOut { client, width, inputs, wanted }),
        mix.invalid => (any::<u8>(), graph_seed(5), 0u8..6)
            .prop_map(|(client, graph, kind)| Ev::SubmitInvalid { client, graph, kind }),
        mix.steals * 2 => Just(Ev::Balance),
        mix.steals * 3 => (any::<u8>(), any::<u8>()).prop_map(|(w, pick)| Ev::StealAnswer { w, pick }),
        mix.steals => (any::<u8>(), any::<bool>()).prop_map(|(pick, stolen)| Ev::StaleSteal { pick, stolen }),
    ]
}

fn plan(mix: Mix, max_tasks: usize, max_events: usize) -> impl Strategy<Value = Plan> {
    (
        prop::collection::vec((any::<u8>(), 1u8..4), 0..4),
        graph_seed(max_tasks),
        any::<u32>(),
        prop::collection::vec(event(mix), 0..max_events),
    )
        .prop_map(|(workers, graph, wanted, events)| Plan {
            workers,
            graph,
            wanted,
            events,
        })
}

// ---------------------------------------------------------------- harness

fn core_config() -> Config {
    Config {
        validate: true,
        // Simulated tasks take about a millisecond: let them be stolen.
        steal_min_duration: 0.0,
        ..Config::default()
    }
}

fn sim_config(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        tasks_per_slot_per_step: 2,
        check: true,
        replace_killed: false,
        // Some tasks secede from their slot (they wait for tasks they submitted).
        secede_one_in: 5,
        ..SimConfig::default()
    }
}

/// What the test knows besides the scheduler: who wants what, and which
/// tasks could run somewhere.
struct Harness {
    sim: SimCluster,
    /// Every worker ever added, with its pool index.
    workers: Vec<(WorkerId, usize)>,
    /// Every client ever added, and whether it is still there.
    clients: Vec<(ClientId, bool)>,
    wants: BTreeMap<u32, BTreeSet<String>>,
    /// Every key ever created, oldest first.
    keys: Vec<String>,
    /// What the current incarnation of each key asks of its worker.
    needs: BTreeMap<String, Needs>,
    next_key: u32,
}

type Check = Result<(), TestCaseError>;

#[derive(Clone, Debug, Default)]
struct Needs {
    restrictions: Option<Vec<String>>,
    resources: Vec<(String, f64)>,
    /// The restrictions are a preference (`allow_other_workers`): any equipped worker may
    /// run it (when one named is there is not followed here; core tests cover that).
    loose: bool,
}

impl Needs {
    fn names(&self) -> Option<&Vec<String>> {
        self.restrictions.as_ref().filter(|_| !self.loose)
    }
}

impl Harness {
    fn new(sim: SimConfig) -> Self {
        let sim = SimCluster::new(core_config(), sim);
        let c = sim.client();
        Self {
            sim,
            workers: Vec::new(),
            clients: vec![(c, true)],
            wants: BTreeMap::new(),
            keys: Vec::new(),
            needs: BTreeMap::new(),
            next_key: 0,
        }
    }

    fn fresh_key(&mut self) -> String {
        self.next_key += 1;
        format!("t{}", self.next_key)
    }

    fn exists(&self, key: &str) -> bool {
        let s = self.sim.scheduler();
        s.task_id(key)
            .is_some_and(|t| s.state(t) != TaskState::Forgotten)
    }

    fn counts(&self) -> String {
        format!("{:?}", self.sim.scheduler().counts())
    }

    fn worker(&self, pick: u8) -> Option<WorkerId> {
        if self.workers.is_empty() {
            None
        } else {
            Some(self.workers[pick as usize % self.workers.len()].0)
        }
    }

    fn client(&self, pick: u8) -> (ClientId, bool) {
        self.clients[pick as usize % self.clients.len()]
    }

    fn key(&self, pick: u16) -> Option<String> {
        if self.keys.is_empty() {
            None
        } else {
            Some(self.keys[pick as usize % self.keys.len()].clone())
        }
    }

    fn check(&self, after: &str) -> Check {
        if let Err(e) = self.sim.scheduler().validate() {
            return Err(TestCaseError::fail(format!(
                "validate() after {after}: {e}"
            )));
        }
        self.check_placement(after)?;
        self.check_stories(after)?;
        let anomalies = self.sim.anomalies();
        prop_assert!(
            anomalies.is_empty(),
            "after {}: simulator saw {:?}",
            after,
            anomalies
        );
        Ok(())
    }

    /// Every task a live worker holds for its current run may run there:
    /// the worker's name is allowed and it declares the resources.
    fn check_placement(&self, after: &str) -> Check {
        let s = self.sim.scheduler();
        for &(w, index) in &self.workers {
            if !self.sim.is_alive(w) {
                continue;
            }
            let (name, has) = POOL[index];
            for c in self.sim.queued(w) {
                if s.state(c.task) != TaskState::Processing {
                    continue;
                }
                let key = s.key(c.task);
                let Some(needs) = self.needs.get(key) else {
                    continue;
                };
                let allowed = needs.names().is_none_or(|r| r.iter().any(|n| n == name));
                let equipped = needs
                    .resources
                    .iter()
                    .all(|(k, need)| has.iter().any(|(hk, hv)| hk == k && hv >= need));
                prop_assert!(
                    allowed && equipped,
                    "after {}: {} ({:?}) runs on worker {}",
                    after,
                    key,
                    needs,
                    name
                );
            }
        }
        Ok(())
    }

    /// Each task's story is bounded and ends in the state the task is in.
    fn check_stories(&self, after: &str) -> Check {
        let s = self.sim.scheduler();
        let limit = core_config().story_len;
        for key in &self.keys {
            let Some(t) = s.task_id(key) else { continue };
            let story = s.story(key);
            prop_assert!(
                story.len() <= limit,
                "after {}: story of {} has {} records",
                after,
                key,
                story.len()
            );
            if let Some(last) = story.last() {
                prop_assert_eq!(
                    last.to,
                    s.state(t),
                    "after {}: story of {} ends elsewhere: {:?}",
                    after,
                    key,
                    story
                );
            }
        }
        Ok(())
    }

    /// An event that must fail left everything as it was.
    fn expect_refused(
        &mut self,
        what: &str,
        result: Result<impl std::fmt::Debug, CoreError>,
        code: Option<&str>,
        before: &str,
    ) -> Check {
        match result {
            Ok(v) => prop_assert!(false, "{} was accepted: {:?}", what, v),
            Err(e) => {
                if let Some(code) = code {
                    prop_assert_eq!(e.code(), code, "{} failed with {}", what, e);
                }
            }
        }
        let delivered = self.sim.pump();
        prop_assert_eq!(
            delivered,
            0,
            "{} was refused but produced instructions",
            what
        );
        prop_assert_eq!(
            self.counts(),
            before,
            "{} was refused but changed the counts",
            what
        );
        Ok(())
    }

    /// An event about a removed client or worker (a race the shell cannot
    /// avoid): `Ok(())`, and nothing changes.
    fn expect_no_effect(
        &mut self,
        what: &str,
        result: Result<(), CoreError>,
        before: &str,
    ) -> Check {
        prop_assert!(result.is_ok(), "{} failed: {:?}", what, result);
        let delivered = self.sim.pump();
        prop_assert_eq!(delivered, 0, "{} produced instructions", what);
        prop_assert_eq!(self.counts(), before, "{} changed the counts", what);
        Ok(())
    }

    fn add_worker(&mut self, name: u8, slots: u8) -> Check {
        let index = name as usize % POOL.len();
        let (name, has) = POOL[index];
        let spec = WorkerSpec {
            name: name.to_owned(),
            slots: u32::from(slots.max(1)),
            resources: has.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        };
        let taken = self
            .workers
            .iter()
            .any(|&(w, i)| i == index && self.sim.is_alive(w));
        let before = self.counts();
        let result = self.sim.add_worker_spec(spec);
        if taken {
            return self.expect_refused(
                "adding a worker under a live name",
                result,
                Some("SKEIN_DUPLICATE_WORKER"),
                &before,
            );
        }
        match result {
            Ok(w) => self.workers.push((w, index)),
            Err(e) => prop_assert!(false, "adding worker {} failed: {}", name, e),
        }
        self.sim.pump();
        Ok(())
    }

    /// Builds a valid graph from seeds; dependencies point at keys that exist
    /// or at earlier tasks of the graph.
    fn build_graph(
        &mut self,
        seeds: &[TaskSeed],
        reuse: &[u16],
    ) -> (Vec<TaskSpec>, Vec<(String, Needs)>) {
        let mut specs = Vec::new();
        let mut created = Vec::new();
        let mut pool: Vec<String> = self
            .keys
            .iter()
            .rev()
            .filter(|k| self.exists(k))
            .take(16)
            .cloned()
            .collect();
        for &r in reuse {
            let Some(key) = self.key(r) else { continue };
            if specs.iter().any(|s: &TaskSpec| s.key == key) {
                continue;
            }
            if !self.exists(&key) {
                created.push((key.clone(), Needs::default()));
                pool.push(key.clone());
            }
            // An existing key keeps its spec; this one is ignored.
            specs.push(sim::task(key, "again", Vec::new(), b"x"));
        }
        for seed in seeds {
            let key = self.fresh_key();
            let mut deps: Vec<String> = Vec::new();
            if !pool.is_empty() {
                for &d in &seed.deps {
                    let dep = pool[d as usize % pool.len()].clone();
                    if !deps.contains(&dep) {
                        deps.push(dep);
                    }
                }
            }
            let restrictions = restriction(seed.restrict);
            let needs = resources(seed.resource);
            let loose = restrictions.is_some() && seed.priority % 4 == 1;
            created.push((
                key.clone(),
                Needs {
                    restrictions: restrictions.clone(),
                    resources: needs.clone(),
                    loose,
                },
            ));
            specs.push(TaskSpec {
                key: key.clone(),
                prefix: PREFIXES[seed.prefix as usize % PREFIXES.len()].to_owned(),
                payload: key.as_bytes().into(),
                dependencies: deps,
                priority: i32::from(seed.priority),
                restrictions,
                resources: needs,
                retries: u32::from(seed.priority % 3 == 0),
                allow_other_workers: loose,
            });
            pool.push(key);
        }
        (specs, created)
    }

    /// Submits a valid graph; `reverse` lists dependents before their dependencies.
    fn submit(
        &mut self,
        client: u8,
        seeds: &[TaskSeed],
        reuse: &[u16],
        mask: u32,
        reverse: bool,
    ) -> Check {
        let (mut specs, created) = self.build_graph(seeds, reuse);
        if reverse {
            specs.reverse();
        }
        self.submit_specs(client, specs, created, mask)
    }

    /// Submits `width` tasks of one prefix sharing the inputs `inputs` picks (distinct
    /// existing keys, or one new root when none exist).
    fn submit_fan_out(&mut self, client: u8, width: u8, inputs: &[u16], mask: u32) -> Check {
        let mut specs = Vec::new();
        let mut created = Vec::new();
        let mut deps: Vec<String> = Vec::new();
        for &i in inputs {
            if let Some(key) = self.key(i).filter(|k| self.exists(k)) {
                if !deps.contains(&key) {
                    deps.push(key);
                }
            }
        }
        if deps.is_empty() {
            let key = self.fresh_key();
            specs.push(sim::task(key.clone(), "load", Vec::new(), key.as_bytes()));
            created.push((key.clone(), Needs::default()));
            deps.push(key);
        }
        for _ in 0..width {
            let key = self.fresh_key();
            specs.push(sim::task(key.clone(), "map", deps.clone(), key.as_bytes()));
            created.push((key, Needs::default()));
        }
        self.submit_specs(client, specs, created, mask)
    }

    fn submit_specs(
        &mut self,
        client: u8,
        specs: Vec<TaskSpec>,
        created: Vec<(String, Needs)>,
        mask: u32,
    ) -> Check {
        let (c, live) = self.client(client);
        let order: Vec<String> = specs.iter().map(|s| s.key.clone()).collect();
        let wanted: Vec<String> = specs
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << (i % 32)) != 0)
            .map(|(_, s)| s.key.clone())
            .collect();
        let wanted_refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let before = self.counts();
        let n = specs.len();
        if live {
            for key in &wanted {
                if !self.wants.get(&c.0).is_some_and(|w| w.contains(key)) {
                    self.sim.forget_outcome(c, key);
                }
            }
        }
        let result = self.sim.submit_as(c, specs, &wanted_refs);
        if !live {
            return self.expect_refused(
                "a graph from a removed client",
                result,
                Some("SKEIN_UNKNOWN_CLIENT"),
                &before,
            );
        }
        match result {
            Ok(ids) => {
                prop_assert_eq!(ids.len(), n);
                let s = self.sim.scheduler();
                for (id, key) in ids.iter().zip(&order) {
                    // Unwanted new tasks may be forgotten at once; the rest keep their ids.
                    if s.state(*id) != TaskState::Forgotten {
                        prop_assert_eq!(s.key(*id), key.as_str(), "ids come back in input order");
                    }
                }
            }
            Err(e) => prop_assert!(false, "valid graph refused: {}", e),
        }
        for (key, needs) in created {
            self.needs.insert(key.clone(), needs);
            self.keys.push(key);
        }
        self.wants.entry(c.0).or_default().extend(wanted);
        Ok(())
    }

    fn submit_invalid(&mut self, client: u8, seeds: &[TaskSeed], kind: u8) -> Check {
        let (c, live) = self.client(client);
        let (mut specs, _) = self.build_graph(seeds, &[]);
        let code = match kind {
            0 => {
                let first = specs[0].clone();
                specs.push(first);
                "SKEIN_DUPLICATE_KEY"
            }
            1 => {
                let ghost = format!("ghost-{}", self.next_key);
                specs
                    .last_mut()
                    .expect("graphs have a task")
                    .dependencies
                    .push(ghost);
                "SKEIN_UNKNOWN_DEPENDENCY"
            }
            2 => {
                let (x, y, z) = (self.fresh_key(), self.fresh_key(), self.fresh_key());
                specs.push(sim::task(x.clone(), "loop", vec![z.clone()], b""));
                specs.push(sim::task(y.clone(), "loop", vec![x], b""));
                specs.push(sim::task(z, "loop", vec![y], b""));
                "SKEIN_CYCLE"
            }
            3 => {
                let x = self.fresh_key();
                specs.push(sim::task(x.clone(), "loop", vec![x], b""));
                "SKEIN_CYCLE"
            }
            4 => {
                specs.push(sim::task("", "empty", Vec::new(), b""));
                "SKEIN_INVALID_GRAPH"
            }
            _ => {
                let x = self.fresh_key();
                let mut bad = sim::task(x, "neg", Vec::new(), b"");
                bad.resources = vec![("gpu".to_owned(), -1.0)];
                specs.push(bad);
                "SKEIN_INVALID_GRAPH"
            }
        };
        let wanted: Vec<String> = specs
            .iter()
            .map(|s| s.key.clone())
            .filter(|k| !k.is_empty())
            .take(3)
            .collect();
        let wanted_refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let before = self.counts();
        let result = self.sim.submit_as(c, specs, &wanted_refs);
        let code = if live { code } else { "SKEIN_UNKNOWN_CLIENT" };
        self.expect_refused("an invalid graph", result, Some(code), &before)
    }

    fn want(&mut self, client: u8, key: u16) -> Check {
        let (c, live) = self.client(client);
        let Some(key) = self.key(key) else {
            return Ok(());
        };
        let exists = self.exists(&key);
        let newly = !self.wants.get(&c.0).is_some_and(|w| w.contains(&key));
        if live && exists && newly {
            self.sim.forget_outcome(c, &key);
        }
        let before = self.counts();
        let result = self.sim.scheduler_mut().want_keys(c, &[key.as_str()]);
        if !live {
            return self.expect_refused(
                "want from a removed client",
                result,
                Some("SKEIN_UNKNOWN_CLIENT"),
                &before,
            );
        }
        if !exists {
            return self.expect_refused(
                "want of a forgotten key",
                result,
                Some("SKEIN_UNKNOWN_KEY"),
                &before,
            );
        }
        prop_assert!(result.is_ok(), "want_keys({}) failed: {:?}", key, result);
        self.wants.entry(c.0).or_default().insert(key);
        self.sim.pump();
        Ok(())
    }

    /// Retries `key`: refused for a removed client; a key that did not err takes nothing
    /// back; the client forgets what it heard of the keys taken back (as the real one does),
    /// and the final checks hold it to what it hears of their new runs.
    fn retry(&mut self, client: u8, key: u16) -> Check {
        let (c, live) = self.client(client);
        let Some(key) = self.key(key) else {
            return Ok(());
        };
        let before = self.counts();
        let was_erred = self
            .sim
            .scheduler()
            .task_id(&key)
            .is_some_and(|t| self.sim.scheduler().state(t) == TaskState::Erred);
        let result = self.sim.scheduler_mut().retry_keys(c, &[key.as_str()]);
        if !live {
            return self.expect_refused(
                "retry from a removed client",
                result.map(|_| ()),
                Some("SKEIN_UNKNOWN_CLIENT"),
                &before,
            );
        }
        let retried = match result {
            Ok(r) => r,
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "retry_keys({key}) failed: {e:?}"
                )))
            }
        };
        let s = self.sim.scheduler();
        if !was_erred {
            prop_assert!(
                retried.is_empty(),
                "retry of {} (not erred) took back {:?}",
                key,
                retried
            );
        }
        // A key taken back may err again at once: another of its inputs erred from lost
        // scattered data, which no retry brings back.
        let keys: Vec<String> = retried.iter().map(|&t| s.key(t).to_owned()).collect();
        for k in &keys {
            self.sim.forget_outcome(c, k);
        }
        self.sim.pump();
        Ok(())
    }

    fn release(&mut self, client: u8, key: u16, cancel: bool) -> Check {
        let (c, live) = self.client(client);
        let Some(key) = self.key(key) else {
            return Ok(());
        };
        let wanted = self.wants.get(&c.0).is_some_and(|w| w.contains(&key)) && self.exists(&key);
        self.sim.forget_outcome(c, &key);
        let before = self.counts();
        let keys = [key.as_str()];
        let result = if cancel {
            self.sim.scheduler_mut().cancel_keys(c, &keys)
        } else {
            self.sim.scheduler_mut().release_keys(c, &keys)
        };
        if !live {
            return self.expect_no_effect("release from a removed client", result, &before);
        }
        prop_assert!(
            result.is_ok(),
            "release/cancel of {} failed: {:?}",
            key,
            result
        );
        if let Some(w) = self.wants.get_mut(&c.0) {
            w.remove(&key);
        }
        self.sim.pump();
        if cancel && wanted {
            let heard = self.sim.outcome(c, &key);
            prop_assert!(
                matches!(heard, Some(Outcome::Cancelled)),
                "cancel of {} answered {:?}",
                key,
                heard
            );
            // The cancel cascades (Dask's cancel_key): keys downstream that only c wanted
            // are no longer wanted, and c heard they were cancelled.
            let s = self.sim.scheduler();
            let dropped: Vec<String> = self
                .wants
                .get(&c.0)
                .map(|w| {
                    w.iter()
                        .filter(|k| !s.task_id(k).is_some_and(|t| s.wants(c, t)))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            for k in dropped {
                let heard = self.sim.outcome(c, &k);
                prop_assert!(
                    matches!(heard, Some(Outcome::Cancelled)),
                    "{} was dropped by the cancel of {} but {:?} was heard",
                    k,
                    key,
                    heard
                );
                if let Some(w) = self.wants.get_mut(&c.0) {
                    w.remove(&k);
                }
            }
        }
        Ok(())
    }

    fn remove_client(&mut self, client: u8) -> Check {
        let (c, live) = self.client(client);
        let before = self.counts();
        let result = self.sim.scheduler_mut().remove_client(c);
        if !live {
            return self.expect_no_effect("removing a removed client", result, &before);
        }
        prop_assert!(result.is_ok(), "remove_client failed: {:?}", result);
        self.wants.remove(&c.0);
        for entry in &mut self.clients {
            if entry.0 == c {
                entry.1 = false;
            }
        }
        self.sim.pump();
        Ok(())
    }

    /// Copies of a key on more (or fewer) workers: refused for a key not in memory or n = 0,
    /// else the key ends held by exactly min(n, live workers) of them (all without n).
    fn replicate(&mut self, key: u16, n: Option<u8>) -> Check {
        let Some(key) = self.key(key) else {
            return Ok(());
        };
        let s = self.sim.scheduler();
        let state = s.task_id(&key).map(|t| s.state(t));
        let live = s.counts().workers;
        let before = self.counts();
        let result = self.sim.replicate(&[&key], n.map(u32::from), None);
        if state.is_none() {
            return self.expect_refused(
                "replicate of a forgotten key",
                result.map(drop),
                Some("SKEIN_UNKNOWN_KEY"),
                &before,
            );
        }
        if state != Some(TaskState::Memory) || n == Some(0) {
            return self.expect_refused(
                "replicate of a key not in memory, or to no copies",
                result.map(drop),
                Some("SKEIN_INVALID_REPLICATION"),
                &before,
            );
        }
        if let Err(e) = result {
            return Err(TestCaseError::fail(format!(
                "replicate of {key} failed: {e}"
            )));
        }
        let s = self.sim.scheduler();
        let t = s.task_id(&key).expect("a key in memory stays");
        let want = n.map_or(live, |n| (n as usize).min(live)).max(1);
        prop_assert_eq!(
            s.who_has(t).len(),
            want,
            "holders of {} after replicate",
            key
        );
        Ok(())
    }

    /// Client data placed on a worker: a fresh key, or another copy of an
    /// existing key (allowed only while that key is in memory).
    fn scatter(&mut self, client: u8, w: u8, existing: Option<u16>) -> Check {
        let (c, live) = self.client(client);
        let Some(w) = self.worker(w) else {
            return Ok(());
        };
        let key = match existing
            .and_then(|k| self.key(k))
            .filter(|k| self.exists(k))
        {
            Some(key) => key,
            None => {
                self.next_key += 1;
                format!("s{}", self.next_key)
            }
        };
        let fresh = !self.exists(&key);
        let state = self
            .sim
            .scheduler()
            .task_id(&key)
            .map(|t| self.sim.scheduler().state(t));
        let before = self.counts();
        if live && self.sim.is_alive(w) && !self.wants.get(&c.0).is_some_and(|k| k.contains(&key)) {
            self.sim.forget_outcome(c, &key);
        }
        let result = self.sim.scatter(c, &key, w, 64);
        if !live {
            return self.expect_refused(
                "scatter from a removed client",
                result,
                Some("SKEIN_UNKNOWN_CLIENT"),
                &before,
            );
        }
        if !self.sim.is_alive(w) {
            return self.expect_refused(
                "scatter to a removed worker",
                result,
                Some("SKEIN_UNKNOWN_WORKER"),
                &before,
            );
        }
        if !fresh && state != Some(TaskState::Memory) {
            return self.expect_refused(
                "scatter onto a key not in memory",
                result,
                Some("SKEIN_INVALID_GRAPH"),
                &before,
            );
        }
        let t = match result {
            Ok(t) => t,
            Err(e) => return Err(TestCaseError::fail(format!("scatter of {key} failed: {e}"))),
        };
        let s = self.sim.scheduler();
        prop_assert_eq!(s.state(t), TaskState::Memory);
        prop_assert!(
            s.who_has(t).contains(&w),
            "scatter of {} did not add the holder",
            key
        );
        if fresh {
            prop_assert_eq!(s.who_has(t), &[w][..]);
            self.needs.insert(key.clone(), Needs::default());
            self.keys.push(key.clone());
        }
        self.wants.entry(c.0).or_default().insert(key);
        Ok(())
    }

    fn missing(&mut self, w: u8, job: u8, dep: u8, holder: u8) -> Check {
        let Some(w) = self.worker(w) else {
            return Ok(());
        };
        let queued = self.sim.queued(w);
        if queued.is_empty() {
            return Ok(());
        }
        let index = job as usize % queued.len();
        let s = self.sim.scheduler();
        let t = queued[index].task;
        let deps = s.dependencies(t);
        if deps.is_empty() {
            return Ok(());
        }
        let d = deps[dep as usize % deps.len()];
        let holders = s.who_has(d);
        if holders.is_empty() {
            return Ok(());
        }
        let h = holders[holder as usize % holders.len()];
        let result = self.sim.missing_job(w, index, d, h);
        if let Some(Ok(true)) = result {
            let s = self.sim.scheduler();
            prop_assert!(
                !s.who_has(d).contains(&h),
                "missing data kept {:?} as a holder of {}",
                h,
                s.key(d)
            );
        }
        self.sim.pump();
        Ok(())
    }

    fn data_lost(&mut self, key: u16, holder: u8) -> Check {
        let Some(key) = self.key(key) else {
            return Ok(());
        };
        let s = self.sim.scheduler();
        let Some(t) = s.task_id(&key) else {
            return Ok(());
        };
        let holders = s.who_has(t).to_vec();
        if holders.is_empty() {
            return Ok(());
        }
        let h = holders[holder as usize % holders.len()];
        let result = self.sim.data_lost(h, t);
        prop_assert!(
            result.is_ok(),
            "data_lost({}) from holder failed: {:?}",
            key,
            result
        );
        let s = self.sim.scheduler();
        prop_assert!(
            !s.who_has(t).contains(&h),
            "data_lost kept the holder of {}",
            key
        );
        self.sim.pump();
        Ok(())
    }

    /// Another worker reports a job it was never given, with the right run id.
    fn impostor(&mut self, w: u8, job: u8, other: u8) -> Check {
        let (Some(w), Some(o)) = (self.worker(w), self.worker(other)) else {
            return Ok(());
        };
        let queued = self.sim.queued(w);
        if w == o || queued.is_empty() {
            return Ok(());
        }
        let c = queued[job as usize % queued.len()];
        let before = self.counts();
        let result = self
            .sim
            .scheduler_mut()
            .task_finished(o, c.task, c.run, 1, 0.001);
        prop_assert!(
            matches!(result, Ok(false)),
            "worker {:?} finished a task of {:?}: {:?}",
            o,
            w,
            result
        );
        prop_assert_eq!(self.sim.pump(), 0);
        prop_assert_eq!(self.counts(), before);
        Ok(())
    }

    /// A holder drops data without telling the scheduler; a dependent that
    /// needs it will report missing data.
    fn evict(&mut self, key: u16, holder: u8) {
        let Some(key) = self.key(key) else { return };
        let s = self.sim.scheduler();
        let Some(t) = s.task_id(&key) else { return };
        let holders = s.who_has(t);
        if let Some(&h) = holders.get(holder as usize % holders.len().max(1)) {
            self.sim.evict_silently(h, t);
        }
    }

    /// Ids that never existed are refused and change nothing.
    fn garbage(&mut self, kind: u8) -> Check {
        let before = self.counts();
        let (no_task, no_worker, no_client) = (
            skein_core::TaskId(u32::MAX - 1),
            WorkerId(u32::MAX - 1),
            ClientId(u32::MAX - 1),
        );
        let live = self
            .workers
            .iter()
            .map(|&(w, _)| w)
            .find(|&w| self.sim.is_alive(w));
        let s = self.sim.scheduler_mut();
        let (what, code, result): (&str, &str, Result<(), CoreError>) = match kind {
            0 => match live {
                Some(w) => (
                    "a report of an unknown task",
                    "SKEIN_UNKNOWN_TASK",
                    s.task_finished(w, no_task, 0, 1, 0.1).map(drop),
                ),
                None => return Ok(()),
            },
            1 => (
                "a report from an unknown worker",
                "SKEIN_UNKNOWN_WORKER",
                s.task_erred(no_worker, skein_core::TaskId(0), 0, Box::default())
                    .map(drop),
            ),
            2 => (
                "a heartbeat of an unknown worker",
                "SKEIN_UNKNOWN_WORKER",
                s.heartbeat(no_worker, 0.0),
            ),
            3 => (
                "want from an unknown client",
                "SKEIN_UNKNOWN_CLIENT",
                s.want_keys(no_client, &[]),
            ),
            4 => (
                "removing an unknown worker",
                "SKEIN_UNKNOWN_WORKER",
                s.remove_worker(no_worker, 0.0),
            ),
            _ => (
                "an invalid worker",
                "SKEIN_INVALID_WORKER",
                s.add_worker(
                    WorkerSpec {
                        name: "zero".into(),
                        slots: 0,
                        resources: Vec::new(),
                    },
                    0.0,
                )
                .map(drop),
            ),
        };
        self.expect_refused(what, result, Some(code), &before)
    }

    fn apply(&mut self, ev: &Ev) -> Check {
        match ev {
            Ev::AddWorker { name, slots } => self.add_worker(*name, *slots)?,
            Ev::RemoveWorker { w } => {
                let Some(w) = self.worker(*w) else {
                    return Ok(());
                };
                let before = self.counts();
                let alive = self.sim.is_alive(w);
                let result = self.sim.remove_worker(w);
                if !alive {
                    return self.expect_no_effect("removing a removed worker", result, &before);
                }
                prop_assert!(result.is_ok(), "remove_worker failed: {:?}", result);
                self.sim.pump();
            }
            Ev::Heartbeat { w } => {
                let Some(w) = self.worker(*w) else {
                    return Ok(());
                };
                let alive = self.sim.is_alive(w);
                let before = self.counts();
                let result = self.sim.heartbeat(w);
                if !alive {
                    return self.expect_no_effect("heartbeat of a removed worker", result, &before);
                }
                prop_assert!(result.is_ok(), "heartbeat failed: {:?}", result);
            }
            Ev::Tick { seconds } => {
                self.sim.advance(f64::from(*seconds));
                self.sim.tick();
            }
            Ev::Step => self.sim.step(),
            Ev::Balance => self.sim.tick(),
            Ev::StealAnswer { w, pick } => self.steal_answer(*w, *pick)?,
            Ev::StaleSteal { pick, stolen } => {
                let before = self.counts();
                if let Some(result) = self.sim.answer_stale_steal(*pick as usize, *stolen) {
                    prop_assert!(
                        matches!(result, Ok(false)),
                        "a stale steal answer gave {:?}",
                        result
                    );
                    prop_assert_eq!(self.sim.pump(), 0);
                    prop_assert_eq!(self.counts(), before);
                }
            }
            Ev::Finish {
                w,
                job,
                nbytes,
                duration,
            } => {
                let Some(w) = self.worker(*w) else {
                    return Ok(());
                };
                let n = self.sim.queue_len(w);
                if n > 0 {
                    self.sim
                        .finish_job(w, *job as usize % n, *nbytes, *duration);
                    self.sim.pump();
                }
            }
            Ev::Fail { w, job } => {
                let Some(w) = self.worker(*w) else {
                    return Ok(());
                };
                let n = self.sim.queue_len(w);
                if n > 0 {
                    self.sim.fail_job(w, *job as usize % n, b"boom");
                    self.sim.pump();
                }
            }
            Ev::Missing {
                w,
                job,
                dep,
                holder,
            } => self.missing(*w, *job, *dep, *holder)?,
            Ev::DataLost { key, holder } => self.data_lost(*key, *holder)?,
            Ev::Stale { pick } => {
                self.sim.report_stale(*pick as usize);
                self.sim.pump();
            }
            Ev::Impostor { w, job, other } => self.impostor(*w, *job, *other)?,
            Ev::Evict { key, holder } => self.evict(*key, *holder),
            Ev::Garbage { kind } => self.garbage(*kind)?,
            Ev::Want { client, key } => self.want(*client, *key)?,
            Ev::Release { client, key } => self.release(*client, *key, false)?,
            Ev::Cancel { client, key } => self.release(*client, *key, true)?,
            Ev::Retry { client, key } => self.retry(*client, *key)?,
            Ev::AddClient => {
                let c = self.sim.add_client();
                self.clients.push((c, true));
            }
            Ev::RemoveClient { client } => self.remove_client(*client)?,
            Ev::Scatter {
                client,
                w,
                existing,
            } => self.scatter(*client, *w, *existing)?,
            Ev::Replicate { key, n } => self.replicate(*key, *n)?,
            Ev::Submit {
                client,
                graph,
                reuse,
                wanted,
                reverse,
            } => self.submit(*client, graph, reuse, *wanted, *reverse)?,
            Ev::SubmitFanOut {
                client,
                width,
                inputs,
                wanted,
            } => self.submit_fan_out(*client, *width, inputs, *wanted)?,
            Ev::SubmitInvalid {
                client,
                graph,
                kind,
            } => self.submit_invalid(*client, graph, *kind)?,
        }
        Ok(())
    }

    /// A victim answers one of its steal requests; a confirmed steal moves the task to
    /// another worker under a new run, a refused one leaves it where it was.
    fn steal_answer(&mut self, w: u8, pick: u8) -> Check {
        let Some(w) = self.worker(w) else {
            return Ok(());
        };
        let pending = self.sim.pending_steals(w);
        if pending.is_empty() {
            return Ok(());
        }
        let index = pick as usize % pending.len();
        let (t, run) = pending[index];
        let confirmed_before = self.sim.stats().steals_confirmed;
        let result = self.sim.answer_steal(w, index);
        prop_assert!(
            matches!(result, Some(Ok(_))),
            "steal answer failed: {:?}",
            result
        );
        if self.sim.stats().steals_confirmed > confirmed_before {
            let s = self.sim.scheduler();
            prop_assert!(
                s.state(t) != TaskState::Processing || s.run_id(t) != run,
                "{} was stolen but still runs under run {}",
                s.key(t),
                run
            );
        }
        self.sim.pump();
        Ok(())
    }

    /// Whether `key` or anything it depends on can run on no pool worker.
    fn blocked(&self, key: &str) -> bool {
        let s = self.sim.scheduler();
        let Some(start) = s.task_id(key) else {
            return false;
        };
        let mut stack = vec![start];
        let mut seen = BTreeSet::new();
        while let Some(t) = stack.pop() {
            if !seen.insert(t) {
                continue;
            }
            if self
                .needs
                .get(s.key(t))
                .is_some_and(|n| !satisfiable(n.names(), &n.resources))
            {
                return true;
            }
            stack.extend_from_slice(s.dependencies(t));
        }
        false
    }

    /// Every pool worker alive, all work finished: what is wanted is done.
    fn settle_and_check_liveness(&mut self) -> Check {
        for index in 0..POOL.len() {
            let live = self
                .workers
                .iter()
                .any(|&(w, i)| i == index && self.sim.is_alive(w));
            if !live {
                self.add_worker(index as u8, 2)?;
            }
        }
        let idle = self.sim.run_until_idle(200_000);
        prop_assert!(idle.is_ok(), "no quiescence after {:?} steps", idle);
        self.check("settling")?;
        let s = self.sim.scheduler();
        let mut needed: BTreeSet<String> = BTreeSet::new();
        for (&c, keys) in &self.wants {
            let c = ClientId(c);
            for key in keys {
                let t = s.task_id(key);
                prop_assert!(
                    t.is_some_and(|t| s.state(t) != TaskState::Forgotten),
                    "wanted key {} was forgotten",
                    key
                );
                let t = t.expect("checked above");
                let mut ancestors: BTreeSet<String> = BTreeSet::new();
                let mut stack = vec![t];
                while let Some(x) = stack.pop() {
                    if ancestors.insert(s.key(x).to_owned()) {
                        stack.extend_from_slice(s.dependencies(x));
                    }
                }
                needed.extend(ancestors.iter().cloned());
                if self.blocked(key) {
                    continue;
                }
                let state = s.state(t);
                let heard = self.sim.outcome(c, key);
                match state {
                    TaskState::Memory => {
                        prop_assert!(!s.who_has(t).is_empty(), "{} in memory nowhere", key);
                        prop_assert!(
                            matches!(heard, Some(Outcome::Memory)),
                            "{} in memory but client heard {:?}",
                            key,
                            heard
                        );
                    }
                    TaskState::Erred => {
                        let Some(Outcome::Erred { cause, failure }) = heard else {
                            return Err(TestCaseError::fail(format!(
                                "{key} erred but client heard {heard:?}"
                            )));
                        };
                        let cause_id = s.task_id(cause);
                        prop_assert!(
                            cause_id.is_some_and(|c| s.state(c) == TaskState::Erred),
                            "{} erred because of {}, which is not erred",
                            key,
                            cause
                        );
                        prop_assert!(
                            ancestors.contains(cause.as_str()),
                            "{} erred because of {}, which it does not depend on",
                            key,
                            cause
                        );
                        match &**failure {
                            Failure::KilledWorker {
                                key: k, workers, ..
                            } => {
                                prop_assert_eq!(k, cause);
                                prop_assert_eq!(
                                    workers.len(),
                                    Config::default().allowed_failures as usize
                                );
                            }
                            Failure::Lost { key: k } => prop_assert_eq!(k, cause),
                            // The task that could not get its input errs on its own account
                            // (it is the cause), naming that input: an ancestor too.
                            Failure::Unfetchable { key: input, .. } => prop_assert!(
                                ancestors.contains(input.as_str()),
                                "{} erred for input {}, which it does not depend on",
                                key,
                                input
                            ),
                            Failure::Raised { .. } => {}
                        }
                    }
                    other => {
                        let story = s.story(key);
                        prop_assert!(
                            false,
                            "wanted key {} ended {:?}; story {:?}",
                            key,
                            other,
                            story
                        );
                    }
                }
            }
        }
        for key in &self.keys {
            let Some(t) = s.task_id(key) else { continue };
            let state = s.state(t);
            if state == TaskState::Forgotten {
                continue;
            }
            prop_assert!(
                state != TaskState::Processing,
                "{} still processing at quiescence",
                key
            );
            if !self.blocked(key) {
                prop_assert!(
                    state != TaskState::Queued,
                    "{} still queued at quiescence",
                    key
                );
            }
            prop_assert!(
                needed.contains(key),
                "{} ({:?}) is kept though nobody needs it",
                key,
                state
            );
        }
        Ok(())
    }
}

/// Replays a plan, checking after every event and at the end; returns a
/// fingerprint of the final state.
fn run_plan(plan: &Plan, seed: u64) -> Result<String, TestCaseError> {
    run_plan_with(plan, sim_config(seed))
}

fn run_plan_with(plan: &Plan, sim: SimConfig) -> Result<String, TestCaseError> {
    let mut h = Harness::new(sim);
    for &(name, slots) in &plan.workers {
        h.add_worker(name, slots)?;
    }
    h.submit(0, &plan.graph, &[], plan.wanted | 1, false)?;
    h.check("the first graph")?;
    for (i, ev) in plan.events.iter().enumerate() {
        h.apply(ev)?;
        h.check(&format!("event {i} {ev:?}"))?;
    }
    h.settle_and_check_liveness()?;
    if std::env::var_os("SKEIN_PROP_STATS").is_some() {
        eprintln!("{:?} {:?}", h.sim.stats(), h.sim.scheduler().stats());
    }
    let s = h.sim.scheduler();
    let states: Vec<String> = h
        .keys
        .iter()
        .map(|k| {
            format!(
                "{k}:{:?}:{:?}",
                s.task_id(k).map(|t| s.state(t)),
                s.task_id(k).map(|t| s.who_has(t).to_vec())
            )
        })
        .collect();
    Ok(format!(
        "{:?} {:?} {} {:?}",
        h.sim.stats(),
        s.counts(),
        h.sim.now(),
        states
    ))
}

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const EVERYTHING: Mix = Mix {
    churn: 2,
    work: 3,
    faults: 2,
    clients: 2,
    graphs: 2,
    invalid: 1,
    steals: 2,
};
const CHURN: Mix = Mix {
    churn: 6,
    work: 3,
    faults: 1,
    clients: 1,
    graphs: 1,
    invalid: 1,
    steals: 1,
};
const FAULTS: Mix = Mix {
    churn: 1,
    work: 3,
    faults: 5,
    clients: 1,
    graphs: 1,
    invalid: 1,
    steals: 1,
};
const CLIENTS: Mix = Mix {
    churn: 1,
    work: 2,
    faults: 1,
    clients: 6,
    graphs: 3,
    invalid: 2,
    steals: 1,
};

proptest! {
    #![proptest_config(cases(4000))]
    #[test]
    fn random_histories_keep_invariants_and_finish(plan in plan(EVERYTHING, 20, 60), seed in any::<u64>()) {
        run_plan(&plan, seed)?;
    }
}

proptest! {
    #![proptest_config(cases(2000))]
    #[test]
    fn worker_churn_loses_no_task(plan in plan(CHURN, 25, 60), seed in any::<u64>()) {
        run_plan(&plan, seed)?;
    }
}

proptest! {
    #![proptest_config(cases(2000))]
    #[test]
    fn failures_and_lost_data_recover(plan in plan(FAULTS, 25, 60), seed in any::<u64>()) {
        run_plan(&plan, seed)?;
    }
}

proptest! {
    #![proptest_config(cases(1500))]
    #[test]
    fn client_traffic_and_invalid_graphs(plan in plan(CLIENTS, 15, 60), seed in any::<u64>()) {
        run_plan(&plan, seed)?;
    }
}

proptest! {
    #![proptest_config(cases(500))]
    #[test]
    fn long_histories(plan in plan(EVERYTHING, 30, 200), seed in any::<u64>()) {
        run_plan(&plan, seed)?;
    }
}

/// Everything starts on one worker; the others join later and find it saturated.
fn one_worker_first(plan: impl Strategy<Value = Plan>) -> impl Strategy<Value = Plan> {
    (plan, any::<u8>(), 1u8..4).prop_map(|(mut plan, name, slots)| {
        plan.workers = vec![(name, slots)];
        plan
    })
}

const STEALS: Mix = Mix {
    churn: 4,
    work: 2,
    faults: 2,
    clients: 1,
    graphs: 2,
    invalid: 1,
    steals: 8,
};

proptest! {
    #![proptest_config(cases(2000))]
    #[test]
    fn steals_interleaved_with_finishes_errors_and_worker_loss(plan in one_worker_first(plan(STEALS, 40, 80)), seed in any::<u64>()) {
        // Tasks long against the cost of a move, so that imbalance makes steals.
        run_plan_with(&plan, SimConfig { task_duration: 0.05, tasks_per_slot_per_step: 1, ..sim_config(seed) })?;
    }
}

const BIG: Mix = Mix {
    churn: 2,
    work: 4,
    faults: 1,
    clients: 1,
    graphs: 1,
    invalid: 1,
    steals: 1,
};

proptest! {
    #![proptest_config(cases(400))]
    #[test]
    fn big_graphs_under_saturation(plan in plan(BIG, 200, 40), seed in any::<u64>()) {
        run_plan(&plan, seed)?;
    }
}

proptest! {
    #![proptest_config(cases(300))]
    #[test]
    fn the_same_events_give_the_same_state(plan in plan(EVERYTHING, 20, 60), seed in any::<u64>()) {
        let first = run_plan(&plan, seed)?;
        let second = run_plan(&plan, seed)?;
        prop_assert_eq!(first, second);
    }
}

// ---------------------------------------------------------------- scenarios

fn cluster(workers: usize, slots: u32) -> SimCluster {
    let mut sim = SimCluster::new(
        core_config(),
        SimConfig {
            seed: 42,
            ..SimConfig::default()
        },
    );
    sim.add_workers("w", workers, slots).expect("fresh names");
    sim
}

fn state_of(sim: &SimCluster, key: &str) -> Option<TaskState> {
    let s = sim.scheduler();
    s.task_id(key)
        .map(|t| s.state(t))
        .filter(|&st| st != TaskState::Forgotten)
}

/// Intermediate results are dropped once their dependents have run (the task
/// itself may stay `Released`, to be recomputed if a result is lost).
fn assert_released(sim: &SimCluster, key: &str) {
    let state = state_of(sim, key);
    assert!(
        matches!(state, None | Some(TaskState::Released)),
        "{key} is {state:?}"
    );
    if let Some(t) = sim.scheduler().task_id(key) {
        assert!(sim.scheduler().who_has(t).is_empty(), "{key} still held");
    }
}

fn assert_clean(sim: &SimCluster) {
    assert!(
        sim.anomalies().is_empty(),
        "simulator saw {:?}",
        sim.anomalies()
    );
    if let Err(e) = sim.scheduler().validate() {
        panic!("validate(): {e}");
    }
}

#[test]
fn tree_reduction_completes_and_frees_intermediates() {
    let mut sim = cluster(4, 2);
    let (tasks, root) = sim::tree_reduction(1000);
    sim.submit(tasks, &[root.as_str()]).expect("valid graph");
    sim.run_until_idle(100_000).expect("finishes");
    assert_clean(&sim);
    assert_eq!(state_of(&sim, &root), Some(TaskState::Memory));
    assert!(matches!(
        sim.outcome(sim.client(), &root),
        Some(Outcome::Memory)
    ));
    for key in ["leaf-0", "leaf-999", "sum-1-0", "sum-5-3"] {
        assert_released(&sim, key);
    }
    assert_eq!(sim.stats().finished, 1999);
}

#[test]
fn shuffle_completes() {
    let mut sim = cluster(4, 2);
    let (tasks, outs) = sim::shuffle(40, 30);
    let wanted: Vec<&str> = outs.iter().map(String::as_str).collect();
    sim.submit(tasks, &wanted).expect("valid graph");
    sim.run_until_idle(100_000).expect("finishes");
    assert_clean(&sim);
    for k in &outs {
        assert_eq!(state_of(&sim, k), Some(TaskState::Memory), "{k}");
    }
    assert_released(&sim, "in-0");
    assert_eq!(sim.client_log(sim.client()).map(|l| l.memory), Some(30));
}

#[test]
fn killing_a_worker_mid_run_still_completes() {
    let mut sim = cluster(4, 2);
    let (tasks, root) = sim::tree_reduction(2000);
    sim.submit(tasks, &[root.as_str()]).expect("valid graph");
    for _ in 0..30 {
        sim.step();
    }
    let victim = sim.workers()[1];
    assert!(sim.queue_len(victim) > 0, "the victim is busy when it dies");
    sim.remove_worker(victim).expect("live worker");
    for _ in 0..30 {
        sim.step();
    }
    sim.add_worker("late", 2).expect("fresh name");
    sim.run_until_idle(100_000).expect("finishes");
    assert_clean(&sim);
    assert_eq!(state_of(&sim, &root), Some(TaskState::Memory));
}

#[test]
fn a_silent_worker_times_out_and_its_work_moves() {
    let mut sim = cluster(3, 1);
    let (tasks, keys) = sim::independent("noop", 300, b"");
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    sim.submit(tasks, &wanted).expect("valid graph");
    let quiet = sim.workers()[0];
    sim.set_silent(quiet, true);
    sim.step();
    sim.advance(Config::default().heartbeat_timeout + 1.0);
    for w in sim.workers() {
        if w != quiet {
            sim.heartbeat(w).expect("live worker");
        }
    }
    sim.tick();
    assert!(!sim.is_alive(quiet), "tick removed the silent worker");
    sim.run_until_idle(100_000).expect("finishes");
    assert_clean(&sim);
    assert!(keys
        .iter()
        .all(|k| state_of(&sim, k) == Some(TaskState::Memory)));
}

#[test]
fn a_poison_task_errs_with_killed_worker_and_the_rest_completes() {
    let mut sim = cluster(4, 1);
    let (mut tasks, keys) = sim::independent("ok", 100, b"");
    let mut poison = sim::task("poison", "poison", Vec::new(), b"");
    poison.priority = -10; // runs last, after the innocent tasks queued beside it
    tasks.push(poison);
    sim.poison_key("poison");
    let mut wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    wanted.push("poison");
    sim.submit(tasks, &wanted).expect("valid graph");
    sim.run_until_idle(100_000).expect("finishes");
    assert_clean(&sim);
    assert_eq!(
        sim.killed_workers().len(),
        3,
        "killed {:?}",
        sim.killed_workers()
    );
    assert_eq!(state_of(&sim, "poison"), Some(TaskState::Erred));
    match sim.outcome(sim.client(), "poison") {
        Some(Outcome::Erred { cause, failure }) => {
            assert_eq!(cause, "poison");
            match &**failure {
                Failure::KilledWorker { key, workers, .. } => {
                    assert_eq!(key, "poison");
                    assert_eq!(workers, sim.killed_workers());
                }
                other => panic!("poison erred with {other:?}"),
            }
        }
        other => panic!("client heard {other:?} about poison"),
    }
    for k in &keys {
        assert_eq!(state_of(&sim, k), Some(TaskState::Memory), "{k}");
    }
}

#[test]
fn a_task_that_ends_its_thread_errs_alone_and_no_worker_is_lost() {
    let mut sim = cluster(2, 2);
    let (mut tasks, keys) = sim::independent("ok", 100, b"");
    tasks.push(sim::task("poison", "poison", Vec::new(), b""));
    tasks.push(sim::task("after", "after", vec!["poison".into()], b""));
    sim.thread_poison_key("poison");
    let mut wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    wanted.push("after");
    sim.submit(tasks, &wanted).expect("valid graph");
    sim.run_until_idle(100_000).expect("finishes");
    assert_clean(&sim);
    assert!(sim.killed_workers().is_empty());
    assert_eq!(sim.stats().executors_died, 3);
    assert_eq!(sim.scheduler().stats().workers_removed, 0);
    match sim.outcome(sim.client(), "after") {
        Some(Outcome::Erred { cause, failure }) => {
            assert_eq!(cause, "poison");
            match &**failure {
                Failure::KilledWorker {
                    key,
                    workers,
                    causes,
                } => {
                    assert_eq!(key, "poison");
                    assert_eq!(workers.len(), 3);
                    assert!(
                        causes.iter().all(|&c| c == DeathCause::ExecutorDied),
                        "{causes:?}"
                    );
                }
                other => panic!("poison erred with {other:?}"),
            }
        }
        other => panic!("client heard {other:?} about after"),
    }
    for k in &keys {
        assert_eq!(state_of(&sim, k), Some(TaskState::Memory), "{k}");
    }
}

#[test]
fn an_error_reaches_dependents_with_its_cause() {
    let mut sim = cluster(2, 1);
    let tasks = vec![
        sim::task("bad", "f", Vec::new(), b""),
        sim::task("after", "g", vec!["bad".into()], b""),
        sim::task("fine", "f", Vec::new(), b""),
    ];
    sim.fail_key("bad");
    sim.submit(tasks, &["after", "fine"]).expect("valid graph");
    sim.run_until_idle(10_000).expect("finishes");
    assert_clean(&sim);
    assert_eq!(state_of(&sim, "fine"), Some(TaskState::Memory));
    assert_eq!(state_of(&sim, "after"), Some(TaskState::Erred));
    match sim.outcome(sim.client(), "after") {
        Some(Outcome::Erred { cause, failure }) => {
            assert_eq!(cause, "bad");
            assert!(
                matches!(&**failure, Failure::Raised { payload } if &payload[..] == b"sim: task failed")
            );
        }
        other => panic!("client heard {other:?} about after"),
    }
}

#[test]
fn scattered_data_whose_holder_leaves_is_lost() {
    let mut sim = cluster(2, 1);
    let c = sim.client();
    let holder = sim.workers()[0];
    sim.scatter(c, "data", holder, 100).expect("live worker");
    sim.remove_worker(holder).expect("live worker");
    sim.submit(
        vec![sim::task("use", "f", vec!["data".into()], b"")],
        &["use"],
    )
    .expect("data is known, though lost");
    sim.run_until_idle(10_000).expect("finishes");
    assert_clean(&sim);
    assert_eq!(state_of(&sim, "data"), Some(TaskState::Erred));
    assert!(matches!(
        sim.outcome(c, "data"),
        Some(Outcome::Erred { failure, .. }) if matches!(&**failure, Failure::Lost { key } if key == "data")
    ));
}

#[test]
fn a_silently_evicted_input_is_recomputed() {
    let mut sim = cluster(2, 1);
    let tasks = vec![
        sim::task("x", "f", Vec::new(), b""),
        sim::task("y", "g", vec!["x".into()], b""),
    ];
    sim.submit(tasks, &["x", "y"]).expect("valid graph");
    // Run until x is in memory, then drop it behind the scheduler's back.
    while state_of(&sim, "x") != Some(TaskState::Memory) {
        sim.step();
    }
    let x = sim.scheduler().task_id("x").expect("x exists");
    for w in sim.scheduler().who_has(x).to_vec() {
        sim.evict_silently(w, x);
    }
    sim.run_until_idle(10_000).expect("finishes");
    assert_clean(&sim);
    assert_eq!(state_of(&sim, "y"), Some(TaskState::Memory));
}

#[test]
fn input_sizes_past_u64_max_do_not_overflow() {
    let mut sim = cluster(1, 2);
    let w = sim.workers()[0];
    let c = sim.client();
    sim.scatter(c, "a", w, u64::MAX).expect("live worker");
    sim.scatter(c, "b", w, u64::MAX).expect("live worker");
    sim.submit(
        vec![sim::task("c", "g", vec!["a".into(), "b".into()], b"")],
        &["c"],
    )
    .expect("valid graph");
    sim.run_until_idle(1000).expect("finishes");
    assert_clean(&sim);
    assert_eq!(state_of(&sim, "c"), Some(TaskState::Memory));
}

#[test]
fn the_simulation_is_deterministic() {
    let run = || {
        let mut sim = cluster(3, 2);
        let (tasks, root) = sim::tree_reduction(300);
        sim.submit(tasks, &[root.as_str()]).expect("valid graph");
        for _ in 0..10 {
            sim.step();
        }
        let victim = sim.workers()[0];
        sim.remove_worker(victim).expect("live worker");
        sim.run_until_idle(100_000).expect("finishes");
        (
            sim.stats().clone(),
            sim.now(),
            format!("{:?}", sim.scheduler().counts()),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn a_worker_that_joins_late_steals_queued_work() {
    let mut sim = SimCluster::new(
        Config {
            steal_min_duration: 0.0,
            ..core_config()
        },
        SimConfig {
            seed: 7,
            task_duration: 0.05,
            tasks_per_slot_per_step: 1,
            ..SimConfig::default()
        },
    );
    let first = sim.add_worker("first", 1).expect("fresh name");
    let c = sim.client();
    sim.scatter(c, "data", first, 1000).expect("live worker");
    // A small input of each task's own keeps the map from being root-ish (queued).
    for i in 0..40 {
        sim.scatter(c, &format!("part-{i}"), first, 10)
            .expect("live worker");
    }
    let tasks: Vec<TaskSpec> = (0..40)
        .map(|i| {
            let deps = vec!["data".into(), format!("part-{i}")];
            sim::task(format!("use-{i}"), "use", deps, b"")
        })
        .collect();
    let keys: Vec<String> = tasks.iter().map(|t| t.key.clone()).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    sim.submit(tasks, &wanted).expect("valid graph");
    sim.step();
    let late = sim.add_worker("late", 1).expect("fresh name");
    sim.tick();
    assert!(
        !sim.pending_steals(first).is_empty(),
        "the busy worker is asked to give work up"
    );
    sim.run_until_idle(100_000).expect("finishes");
    assert_clean(&sim);
    let stats = sim.stats();
    eprintln!("{stats:?} {:?}", sim.scheduler().stats());
    assert!(stats.steals_confirmed > 0, "{stats:?}");
    assert_eq!(sim.scheduler().steals_in_flight(), 0);
    assert!(keys
        .iter()
        .all(|k| state_of(&sim, k) == Some(TaskState::Memory)));
    let _ = late;
}
