//! An in-memory simulated cluster around a [`Scheduler`], for tests and benchmarks.
//!
//! [`SimCluster`] plays the shell and the workers: it takes the scheduler's
//! instructions, keeps each simulated worker's queue of `Compute` jobs in the
//! order they arrived, and on every [`SimCluster::step`] lets each worker finish
//! up to `tasks_per_slot_per_step * slots` of them, reporting a size and a
//! duration. Keys can be marked to fail (the worker reports an error) or to be
//! poison (the worker dies running them). It uses only the public API.
//!
//! It is deterministic: time is a simulated clock and the only randomness is a
//! seeded xorshift, so a run is a pure function of its inputs.
//!
//! With [`SimConfig::check`] on, the simulator also checks what a real worker
//! would notice, and records each surprise as an anomaly (see
//! [`SimCluster::anomalies`]): a `Compute` for a task that is not processing,
//! whose inputs are not in memory, or sent to a worker that is gone; two
//! `Compute`s for one task in one batch; a report accepted for a run the
//! scheduler had already replaced; a report for the current run refused.
//!
//! Steal requests queue up on their victim and are answered at the start of the next
//! [`SimCluster::step`], or earlier and in any order through [`SimCluster::answer_steal`].
//! A worker treats its first `slots` queued jobs as started: it refuses to give those
//! up, and drops any later one it is asked for. A confirmed steal the scheduler then
//! refuses (the task would be lost) is an anomaly.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::{
    ClientId, Compute, Config, CoreError, Failure, Instructions, Scheduler, TaskId, TaskSpec,
    TaskState, WorkerId, WorkerSpec,
};

/// A tiny xorshift64 generator: deterministic, no dependency.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        // xorshift must never hold zero.
        Self((seed ^ 0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How the simulated workers behave.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Jobs each slot of a worker finishes per step.
    pub tasks_per_slot_per_step: u32,
    /// Simulated seconds per step.
    pub step_seconds: f64,
    /// Mean reported duration in seconds (each report is jittered by +-50%).
    pub task_duration: f64,
    /// Mean reported result size in bytes (jittered by +-50%).
    pub task_nbytes: u64,
    /// Simulated seconds between rounds of heartbeats and `tick`.
    pub heartbeat_interval: f64,
    /// Check instructions and reports (costs time; benchmarks turn it off).
    pub check: bool,
    /// Start a new worker with the same slots when a poison task kills one.
    pub replace_killed: bool,
    /// One job in this many secedes from its slot once it starts (it waits for tasks it
    /// submitted: `task_long_running`), then ends as it would have; 0: none does.
    pub secede_one_in: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            tasks_per_slot_per_step: 4,
            step_seconds: 0.001,
            task_duration: 0.001,
            task_nbytes: 1000,
            heartbeat_interval: 1.0,
            check: true,
            replace_killed: true,
            secede_one_in: 0,
        }
    }
}

/// What a client last heard about a key (recorded only with `check`).
#[derive(Clone, Debug)]
pub enum Outcome {
    Memory,
    Erred {
        cause: String,
        failure: Arc<Failure>,
    },
    Cancelled,
}

/// Counters of what a client was told.
#[derive(Clone, Debug, Default)]
pub struct ClientLog {
    pub memory: u64,
    pub erred: u64,
    pub cancelled: u64,
    last: BTreeMap<String, Outcome>,
}

/// Counters of what happened in the simulation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    pub steps: u64,
    pub computes: u64,
    pub finished: u64,
    pub erred: u64,
    pub missing: u64,
    /// Reports the scheduler refused as stale (`Ok(false)`).
    pub stale_reports: u64,
    /// Queued jobs dropped because of a `free`.
    pub freed_jobs: u64,
    /// A new `Compute` for a task whose previous one was neither freed,
    /// reported nor lost with its worker: both workers would run it.
    pub reassigned_without_free: u64,
    pub killed_workers: u64,
    /// Jobs that ended their execution thread (the scheduler accepted the report).
    pub executors_died: u64,
    /// Steal answers the scheduler accepted: the worker gave the task up / kept it.
    pub steals_confirmed: u64,
    pub steals_refused: u64,
    /// Steal answers the scheduler found stale (`Ok(false)`).
    pub stale_steal_answers: u64,
    /// Jobs that seceded from their slot (the scheduler accepted the report).
    pub seceded: u64,
}

/// One `Compute` as a worker holds it; `gen` is unique per delivered `Compute`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Job {
    task: TaskId,
    run: u64,
    gen: u64,
}

/// The delivered `Compute` that is current for a task slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Assignment {
    worker: u32,
    gen: u64,
}

/// Deterministic hasher for sets of ids (std's default is randomly seeded).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517C_C1B7_2722_0A95);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x517C_C1B7_2722_0A95);
    }
}

type IdSet<T> = HashSet<T, BuildHasherDefault<IdHasher>>;

#[derive(Default)]
struct SimWorker {
    alive: bool,
    silent: bool,
    in_busy_list: bool,
    name: String,
    slots: u32,
    resources: Vec<(String, f64)>,
    queue: VecDeque<Job>,
    /// Steal requests (task, run) not answered yet, oldest first.
    steals: VecDeque<(TaskId, u64)>,
    in_steal_list: bool,
    /// Keys this worker holds (kept only with `check`).
    store: IdSet<TaskId>,
}

const HISTORY_LEN: usize = 256;

/// A scheduler with simulated workers around it. See the module docs.
pub struct SimCluster {
    scheduler: Scheduler,
    config: SimConfig,
    rng: XorShift,
    now: f64,
    next_heartbeat: f64,
    /// Indexed by `WorkerId.0`.
    workers: Vec<SimWorker>,
    /// Workers with queued jobs, in the order they became busy.
    busy: Vec<u32>,
    /// Workers with unanswered steal requests.
    stealers: Vec<u32>,
    /// Indexed by `TaskId.0`.
    current: Vec<Option<Assignment>>,
    /// Pump number in which a task slot last got a `Compute` (check mode).
    computed_in_pump: Vec<u64>,
    pumps: u64,
    next_gen: u64,
    /// Jobs that ended (reported, freed or lost), for stale re-reports.
    history: VecDeque<(u32, Job)>,
    clients: Vec<ClientLog>,
    default_client: ClientId,
    fail_keys: BTreeSet<String>,
    poison_keys: BTreeSet<String>,
    thread_poison_keys: BTreeSet<String>,
    killed: Vec<String>,
    replacements: u32,
    stats: SimStats,
    anomalies: Vec<String>,
}

/// How a worker ends a job.
enum Report {
    Finished {
        nbytes: u64,
        duration: f64,
    },
    Erred(Box<[u8]>),
    Missing {
        dep: TaskId,
        holder: WorkerId,
    },
    /// The job ended the execution thread it ran on; the worker lives on.
    ExecutorDied,
}

impl SimCluster {
    pub fn new(config: Config, sim: SimConfig) -> Self {
        let mut scheduler = Scheduler::new(config);
        let default_client = scheduler.add_client();
        let mut cluster = Self {
            scheduler,
            rng: XorShift::new(sim.seed),
            next_heartbeat: sim.heartbeat_interval,
            config: sim,
            now: 0.0,
            workers: Vec::new(),
            busy: Vec::new(),
            stealers: Vec::new(),
            current: Vec::new(),
            computed_in_pump: Vec::new(),
            pumps: 0,
            next_gen: 0,
            history: VecDeque::new(),
            clients: Vec::new(),
            default_client,
            fail_keys: BTreeSet::new(),
            poison_keys: BTreeSet::new(),
            thread_poison_keys: BTreeSet::new(),
            killed: Vec::new(),
            replacements: 0,
            stats: SimStats::default(),
            anomalies: Vec::new(),
        };
        cluster.client_log_mut(default_client);
        cluster
    }

    // ----- access

    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// Direct access for events the simulator has no method for. Call
    /// [`SimCluster::pump`] afterwards so the instructions reach the workers;
    /// add and remove workers through the simulator, not here.
    pub fn scheduler_mut(&mut self) -> &mut Scheduler {
        &mut self.scheduler
    }

    pub fn now(&self) -> f64 {
        self.now
    }

    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    pub fn anomalies(&self) -> &[String] {
        &self.anomalies
    }

    /// Names of the workers poison tasks killed, in order.
    pub fn killed_workers(&self) -> &[String] {
        &self.killed
    }

    pub fn client(&self) -> ClientId {
        self.default_client
    }

    pub fn client_log(&self, c: ClientId) -> Option<&ClientLog> {
        self.clients.get(c.0 as usize)
    }

    /// What client `c` last heard about `key` (check mode only).
    pub fn outcome(&self, c: ClientId, key: &str) -> Option<&Outcome> {
        self.clients.get(c.0 as usize)?.last.get(key)
    }

    /// Drops what client `c` heard about `key`, so the next message stands alone.
    pub fn forget_outcome(&mut self, c: ClientId, key: &str) {
        if let Some(log) = self.clients.get_mut(c.0 as usize) {
            log.last.remove(key);
        }
    }

    /// Live workers, by id.
    pub fn workers(&self) -> Vec<WorkerId> {
        (0..self.workers.len() as u32)
            .filter(|&i| self.workers[i as usize].alive)
            .map(WorkerId)
            .collect()
    }

    pub fn is_alive(&self, w: WorkerId) -> bool {
        self.workers.get(w.0 as usize).is_some_and(|sw| sw.alive)
    }

    /// The jobs worker `w` has queued, oldest first.
    pub fn queued(&self, w: WorkerId) -> Vec<Compute> {
        match self.workers.get(w.0 as usize) {
            Some(sw) => sw
                .queue
                .iter()
                .map(|j| Compute {
                    task: j.task,
                    run: j.run,
                })
                .collect(),
            None => Vec::new(),
        }
    }

    pub fn queue_len(&self, w: WorkerId) -> usize {
        self.workers
            .get(w.0 as usize)
            .map_or(0, |sw| sw.queue.len())
    }

    /// Whether some live worker has queued jobs or steal requests to answer (constant time).
    pub fn has_work(&self) -> bool {
        !self.busy.is_empty() || !self.stealers.is_empty()
    }

    /// The steal requests worker `w` has not answered yet, oldest first.
    pub fn pending_steals(&self, w: WorkerId) -> Vec<(TaskId, u64)> {
        self.workers
            .get(w.0 as usize)
            .map_or_else(Vec::new, |sw| sw.steals.iter().copied().collect())
    }

    /// Jobs queued on all workers.
    pub fn total_queued(&self) -> usize {
        self.workers.iter().map(|sw| sw.queue.len()).sum()
    }

    // ----- setup

    pub fn add_client(&mut self) -> ClientId {
        let c = self.scheduler.add_client();
        self.client_log_mut(c);
        c
    }

    /// Keys whose task errs with a payload when a worker runs it.
    pub fn fail_key(&mut self, key: &str) {
        self.fail_keys.insert(key.to_owned());
    }

    /// Keys whose task kills the worker that runs it.
    pub fn poison_key(&mut self, key: &str) {
        self.poison_keys.insert(key.to_owned());
    }

    /// Keys whose task ends the execution thread it runs on (the worker lives on).
    pub fn thread_poison_key(&mut self, key: &str) {
        self.thread_poison_keys.insert(key.to_owned());
    }

    pub fn add_worker(&mut self, name: &str, slots: u32) -> Result<WorkerId, CoreError> {
        self.add_worker_spec(WorkerSpec {
            name: name.to_owned(),
            slots,
            resources: Vec::new(),
        })
    }

    pub fn add_worker_spec(&mut self, spec: WorkerSpec) -> Result<WorkerId, CoreError> {
        let w = self.scheduler.add_worker(spec.clone(), self.now)?;
        let sw = self.worker_mut(w);
        *sw = SimWorker {
            alive: true,
            name: spec.name,
            slots: spec.slots,
            resources: spec.resources,
            ..SimWorker::default()
        };
        Ok(w)
    }

    /// Adds `count` workers named `{prefix}-{i}`.
    pub fn add_workers(
        &mut self,
        prefix: &str,
        count: usize,
        slots: u32,
    ) -> Result<Vec<WorkerId>, CoreError> {
        (0..count)
            .map(|i| self.add_worker(&format!("{prefix}-{i}"), slots))
            .collect()
    }

    /// The worker left (or was killed): tell the scheduler and drop its jobs and data.
    pub fn remove_worker(&mut self, w: WorkerId) -> Result<(), CoreError> {
        self.scheduler.remove_worker(w, self.now)?;
        self.bury(w);
        Ok(())
    }

    /// Stop (or resume) heartbeats from `w`, so `tick` eventually drops it.
    pub fn set_silent(&mut self, w: WorkerId, silent: bool) {
        if let Some(sw) = self.workers.get_mut(w.0 as usize) {
            sw.silent = silent;
        }
    }

    // ----- events

    pub fn submit(
        &mut self,
        tasks: Vec<TaskSpec>,
        wanted: &[&str],
    ) -> Result<Vec<TaskId>, CoreError> {
        self.submit_as(self.default_client, tasks, wanted)
    }

    pub fn submit_as(
        &mut self,
        c: ClientId,
        tasks: Vec<TaskSpec>,
        wanted: &[&str],
    ) -> Result<Vec<TaskId>, CoreError> {
        let ids = self.scheduler.submit_graph(c, tasks, wanted)?;
        self.pump();
        Ok(ids)
    }

    /// Client `c` placed `key` on worker `w` itself.
    pub fn scatter(
        &mut self,
        c: ClientId,
        key: &str,
        w: WorkerId,
        nbytes: u64,
    ) -> Result<TaskId, CoreError> {
        let t = self.scheduler.add_scattered(c, key, w, nbytes)?;
        if let Some(sw) = self.workers.get_mut(w.0 as usize) {
            sw.store.insert(t);
        }
        self.pump();
        Ok(t)
    }

    pub fn advance(&mut self, seconds: f64) {
        self.now += seconds;
    }

    pub fn heartbeat(&mut self, w: WorkerId) -> Result<(), CoreError> {
        self.scheduler.heartbeat(w, self.now)
    }

    /// Calls `tick(now)` and delivers what it produced (including removed workers).
    pub fn tick(&mut self) {
        self.scheduler.tick(self.now);
        self.pump();
    }

    /// Worker `w` finishes its `index`-th queued job. `None` if there is no such job.
    pub fn finish_job(
        &mut self,
        w: WorkerId,
        index: usize,
        nbytes: u64,
        duration: f64,
    ) -> Option<Result<bool, CoreError>> {
        let job = self.take_job(w, index)?;
        Some(self.report(w.0, job, Report::Finished { nbytes, duration }))
    }

    /// Worker `w` reports its `index`-th queued job as erred.
    pub fn fail_job(
        &mut self,
        w: WorkerId,
        index: usize,
        payload: &[u8],
    ) -> Option<Result<bool, CoreError>> {
        let job = self.take_job(w, index)?;
        Some(self.report(w.0, job, Report::Erred(payload.into())))
    }

    /// Worker `w` could not fetch `dep` from `holder` for its `index`-th queued job.
    pub fn missing_job(
        &mut self,
        w: WorkerId,
        index: usize,
        dep: TaskId,
        holder: WorkerId,
    ) -> Option<Result<bool, CoreError>> {
        let job = self.take_job(w, index)?;
        Some(self.report(w.0, job, Report::Missing { dep, holder }))
    }

    /// Reports a job that already ended (picked from recent history) as finished
    /// again; the scheduler must ignore it. `None` if there is no history yet.
    pub fn report_stale(&mut self, pick: usize) -> Option<Result<bool, CoreError>> {
        if self.history.is_empty() {
            return None;
        }
        let (w, job) = self.history[pick % self.history.len()];
        let result = self
            .scheduler
            .task_finished(WorkerId(w), job.task, job.run, 1, 0.0);
        if let Ok(true) = result {
            let key = self.key_of(job.task);
            self.anomaly(format!(
                "stale report of {key} (run {}) on worker {w} was accepted",
                job.run
            ));
        }
        match &result {
            Ok(false) => self.stats.stale_reports += 1,
            Err(e) => self.anomaly(format!(
                "stale report of task {} from worker {w} failed: {e}",
                job.task.0
            )),
            Ok(true) => {}
        }
        Some(result)
    }

    /// A client's `replicate`: the planned copies are fetched at once (each target stores
    /// the key and reports it), extra copies are freed as the instructions say.
    pub fn replicate(
        &mut self,
        keys: &[&str],
        n: Option<u32>,
        pool: Option<&[&str]>,
    ) -> Result<crate::ReplicationPlan, CoreError> {
        let plan = self.scheduler.replicate(keys, n, pool)?;
        for copy in &plan.copies {
            if let Some(sw) = self.workers.get_mut(copy.worker.0 as usize) {
                sw.store.insert(copy.task);
            }
            let key = self.scheduler.key(copy.task).to_string();
            if self.scheduler.replica_added(copy.worker, &key) != Ok(true) {
                self.anomaly(format!(
                    "the copy of {key} on worker {} was refused",
                    copy.worker.0
                ));
            }
        }
        self.pump();
        Ok(plan)
    }

    /// Worker `w` reports it lost its copy of `t`.
    pub fn data_lost(&mut self, w: WorkerId, t: TaskId) -> Result<bool, CoreError> {
        if let Some(sw) = self.workers.get_mut(w.0 as usize) {
            sw.store.remove(&t);
        }
        self.scheduler.data_lost(w, t)
    }

    /// Worker `w` drops `t` without telling anyone; a dependent that needs it
    /// will report missing data (check mode only: the store is not kept otherwise).
    pub fn evict_silently(&mut self, w: WorkerId, t: TaskId) {
        if let Some(sw) = self.workers.get_mut(w.0 as usize) {
            sw.store.remove(&t);
        }
    }

    /// Worker `w` answers its `index`-th pending steal request now: it gives the job up
    /// if it has not started it (see the module docs). `None` if there is no such request.
    pub fn answer_steal(&mut self, w: WorkerId, index: usize) -> Option<Result<bool, CoreError>> {
        let sw = self.workers.get_mut(w.0 as usize)?;
        if !sw.alive {
            return None;
        }
        let (t, run) = sw.steals.remove(index)?;
        Some(self.answer(w.0, t, run))
    }

    /// Answers a steal of a job that already ended (picked from recent history), as
    /// `stolen`; the scheduler must ignore it. `None` if there is no history yet.
    pub fn answer_stale_steal(
        &mut self,
        pick: usize,
        stolen: bool,
    ) -> Option<Result<bool, CoreError>> {
        if self.history.is_empty() {
            return None;
        }
        let (w, job) = self.history[pick % self.history.len()];
        let result = self
            .scheduler
            .steal_response(WorkerId(w), job.task, job.run, stolen);
        match &result {
            Ok(true) => {
                let key = self.key_of(job.task);
                self.anomaly(format!(
                    "stale steal answer for {key} (run {}) from worker {w} was accepted",
                    job.run
                ));
            }
            Ok(false) => self.stats.stale_steal_answers += 1,
            Err(e) => self.anomaly(format!(
                "stale steal answer for task {} from worker {w} failed: {e}",
                job.task.0
            )),
        }
        Some(result)
    }

    // ----- driving

    /// Takes the scheduler's instructions and delivers them. Returns how many
    /// there were: computes, frees, client messages and removed workers.
    pub fn pump(&mut self) -> usize {
        let instructions = self.scheduler.take_instructions();
        self.deliver(instructions)
    }

    /// One round: deliver instructions, let every busy worker finish a batch,
    /// advance the clock, heartbeat and tick when due, deliver again.
    pub fn step(&mut self) {
        self.pump();
        self.stats.steps += 1;
        self.answer_all_steals();
        let busy = std::mem::take(&mut self.busy);
        for &w in &busy {
            let wi = w as usize;
            self.workers[wi].in_busy_list = false;
            let budget = self.workers[wi].slots.max(1) as usize
                * self.config.tasks_per_slot_per_step.max(1) as usize;
            for _ in 0..budget {
                if !self.workers[wi].alive {
                    break;
                }
                let Some(job) = self.workers[wi].queue.pop_front() else {
                    break;
                };
                self.execute(w, job);
            }
            let sw = &mut self.workers[wi];
            if sw.alive && !sw.queue.is_empty() && !sw.in_busy_list {
                sw.in_busy_list = true;
                self.busy.push(w);
            }
        }
        self.now += self.config.step_seconds;
        if self.now >= self.next_heartbeat {
            self.next_heartbeat = self.now + self.config.heartbeat_interval;
            self.heartbeat_all();
            self.scheduler.tick(self.now);
        }
        self.pump();
    }

    /// Steps until no worker has queued work and a tick changes nothing.
    /// Returns the steps taken, or `Err(steps)` if `max_steps` ran out first.
    pub fn run_until_idle(&mut self, max_steps: u64) -> Result<u64, u64> {
        let mut steps = 0;
        loop {
            self.pump();
            if !self.has_work() {
                self.heartbeat_all();
                self.scheduler.tick(self.now);
                if self.pump() == 0 && !self.has_work() {
                    return Ok(steps);
                }
            }
            if steps >= max_steps {
                return Err(steps);
            }
            self.step();
            steps += 1;
        }
    }

    // ----- internals

    fn answer_all_steals(&mut self) {
        let stealers = std::mem::take(&mut self.stealers);
        for w in stealers {
            self.workers[w as usize].in_steal_list = false;
            while let Some((t, run)) = self.workers[w as usize].steals.pop_front() {
                let _ = self.answer(w, t, run);
            }
        }
    }

    /// Victim `w` answers a steal of (t, run): it gives up the job unless started.
    fn answer(&mut self, w: u32, t: TaskId, run: u64) -> Result<bool, CoreError> {
        let sw = &mut self.workers[w as usize];
        let started = sw.slots.max(1) as usize;
        let pos = sw.queue.iter().position(|j| j.task == t && j.run == run);
        let given = pos
            .filter(|&p| p >= started)
            .and_then(|p| sw.queue.remove(p));
        let current = given.is_some_and(|job| self.current(t).is_some_and(|a| a.gen == job.gen));
        if let Some(job) = given {
            self.end(job);
            self.remember(w, job);
        }
        let stolen = given.is_some();
        let result = self.scheduler.steal_response(WorkerId(w), t, run, stolen);
        match &result {
            Ok(true) if stolen => self.stats.steals_confirmed += 1,
            Ok(true) => self.stats.steals_refused += 1,
            Ok(false) => {
                self.stats.stale_steal_answers += 1;
                if current {
                    let key = self.key_of(t);
                    self.anomaly(format!("worker {w} gave up {key} (run {run}) for a steal the scheduler then refused: the task is lost"));
                }
            }
            Err(e) => {
                let key = self.key_of(t);
                self.anomaly(format!(
                    "steal answer for {key} from worker {w} failed: {e}"
                ));
            }
        }
        result
    }

    fn heartbeat_all(&mut self) {
        for i in 0..self.workers.len() {
            let sw = &self.workers[i];
            if sw.alive && !sw.silent {
                if let Err(e) = self.scheduler.heartbeat(WorkerId(i as u32), self.now) {
                    self.anomaly(format!("heartbeat of live worker {i} refused: {e}"));
                }
            }
        }
    }

    fn worker_mut(&mut self, w: WorkerId) -> &mut SimWorker {
        let i = w.0 as usize;
        if self.workers.len() <= i {
            self.workers.resize_with(i + 1, SimWorker::default);
        }
        &mut self.workers[i]
    }

    fn client_log_mut(&mut self, c: ClientId) -> &mut ClientLog {
        let i = c.0 as usize;
        if self.clients.len() <= i {
            self.clients.resize_with(i + 1, ClientLog::default);
        }
        &mut self.clients[i]
    }

    fn current_mut(&mut self, t: TaskId) -> &mut Option<Assignment> {
        let i = t.0 as usize;
        if self.current.len() <= i {
            self.current.resize(i + 1, None);
        }
        &mut self.current[i]
    }

    fn current(&self, t: TaskId) -> Option<Assignment> {
        self.current.get(t.0 as usize).copied().flatten()
    }

    fn anomaly(&mut self, what: String) {
        if self.anomalies.len() < 1000 {
            self.anomalies.push(what);
        }
    }

    fn key_of(&self, t: TaskId) -> String {
        if self.config.check {
            self.scheduler.key(t).to_owned()
        } else {
            format!("task {}", t.0)
        }
    }

    fn remember(&mut self, w: u32, job: Job) {
        if self.config.check {
            if self.history.len() == HISTORY_LEN {
                self.history.pop_front();
            }
            self.history.push_back((w, job));
        }
    }

    /// Ends the assignment `job` stands for, if it is still the current one.
    fn end(&mut self, job: Job) {
        let slot = self.current_mut(job.task);
        if slot.is_some_and(|a| a.gen == job.gen) {
            *slot = None;
        }
    }

    fn take_job(&mut self, w: WorkerId, index: usize) -> Option<Job> {
        let sw = self.workers.get_mut(w.0 as usize)?;
        if !sw.alive {
            return None;
        }
        sw.queue.remove(index)
    }

    fn bury(&mut self, w: WorkerId) {
        let Some(sw) = self.workers.get_mut(w.0 as usize) else {
            return;
        };
        if !sw.alive {
            return;
        }
        sw.alive = false;
        sw.store.clear();
        sw.steals.clear();
        let jobs: Vec<Job> = sw.queue.drain(..).collect();
        for job in jobs {
            self.end(job);
            self.remember(w.0, job);
        }
    }

    fn deliver(&mut self, ins: Instructions) -> usize {
        self.pumps += 1;
        let mut delivered = 0;
        for &w in &ins.removed_workers {
            self.bury(w);
            delivered += 1;
        }
        for (w, batch) in ins.workers {
            delivered += batch.free.len();
            for t in batch.free {
                self.free(w, t);
            }
            for c in batch.compute {
                self.assign(w, c);
                delivered += 1;
            }
            delivered += batch.steal.len();
            if let Some(sw) = self.workers.get_mut(w.0 as usize).filter(|sw| sw.alive) {
                sw.steals.extend(batch.steal.iter().copied());
                if !sw.steals.is_empty() && !sw.in_steal_list {
                    sw.in_steal_list = true;
                    self.stealers.push(w.0);
                }
            }
        }
        for (c, batch) in ins.clients {
            delivered += batch.memory.len()
                + batch.erred.len()
                + batch.cancelled.len()
                + batch.retried.len();
            let check = self.config.check;
            // A retry's news comes first: the client forgets the failure, then hears the rest.
            if check && !batch.retried.is_empty() {
                let retried: Vec<String> = batch
                    .retried
                    .iter()
                    .map(|&t| self.scheduler.key(t).to_owned())
                    .collect();
                let log = self.client_log_mut(c);
                for key in retried {
                    log.last.remove(&key);
                }
            }
            let keys: Vec<(String, Outcome)> = if check {
                let s = &self.scheduler;
                batch
                    .memory
                    .iter()
                    .map(|&t| (s.key(t).to_owned(), Outcome::Memory))
                    .chain(batch.erred.iter().map(|(t, cause, failure)| {
                        let outcome = Outcome::Erred {
                            cause: s.key(*cause).to_owned(),
                            failure: Arc::clone(failure),
                        };
                        (s.key(*t).to_owned(), outcome)
                    }))
                    .chain(
                        batch
                            .cancelled
                            .iter()
                            .map(|&t| (s.key(t).to_owned(), Outcome::Cancelled)),
                    )
                    .collect()
            } else {
                Vec::new()
            };
            let log = self.client_log_mut(c);
            log.memory += batch.memory.len() as u64;
            log.erred += batch.erred.len() as u64;
            log.cancelled += batch.cancelled.len() as u64;
            for (key, outcome) in keys {
                log.last.insert(key, outcome);
            }
        }
        delivered
    }

    fn free(&mut self, w: WorkerId, t: TaskId) {
        let Some(sw) = self.workers.get_mut(w.0 as usize) else {
            return;
        };
        sw.store.remove(&t);
        if self.current(t).is_some_and(|a| a.worker == w.0) {
            *self.current_mut(t) = None;
            let sw = &mut self.workers[w.0 as usize];
            let mut dropped = Vec::new();
            sw.queue.retain(|j| {
                let keep = j.task != t;
                if !keep {
                    dropped.push(*j);
                }
                keep
            });
            for job in dropped {
                self.stats.freed_jobs += 1;
                self.remember(w.0, job);
            }
        }
    }

    fn assign(&mut self, w: WorkerId, c: Compute) {
        self.stats.computes += 1;
        if self.config.check {
            self.check_compute(w, c);
        }
        let alive = self.workers.get(w.0 as usize).is_some_and(|sw| sw.alive);
        if let Some(prev) = self.current(c.task) {
            if self
                .workers
                .get(prev.worker as usize)
                .is_some_and(|sw| sw.alive)
            {
                self.stats.reassigned_without_free += 1;
                if self.config.check {
                    let key = self.scheduler.key(c.task).to_owned();
                    self.anomaly(format!(
                        "Compute {key} (run {}) for worker {} while worker {} still holds an earlier Compute it was never told to drop",
                        c.run, w.0, prev.worker
                    ));
                }
            }
        }
        if !alive {
            return;
        }
        let gen = self.next_gen;
        self.next_gen += 1;
        *self.current_mut(c.task) = Some(Assignment { worker: w.0, gen });
        let sw = &mut self.workers[w.0 as usize];
        sw.queue.push_back(Job {
            task: c.task,
            run: c.run,
            gen,
        });
        if !sw.in_busy_list {
            sw.in_busy_list = true;
            self.busy.push(w.0);
        }
    }

    fn check_compute(&mut self, w: WorkerId, c: Compute) {
        let key = self.scheduler.key(c.task).to_owned();
        if !self.workers.get(w.0 as usize).is_some_and(|sw| sw.alive) {
            self.anomaly(format!(
                "Compute {key} sent to worker {} which is gone",
                w.0
            ));
        }
        let i = c.task.0 as usize;
        if self.computed_in_pump.len() <= i {
            self.computed_in_pump.resize(i + 1, 0);
        }
        if self.computed_in_pump[i] == self.pumps {
            self.anomaly(format!("two Computes for {key} in one batch"));
        }
        self.computed_in_pump[i] = self.pumps;
        let state = self.scheduler.state(c.task);
        if state != TaskState::Processing {
            self.anomaly(format!(
                "Compute {key} on worker {} while it is {state:?}",
                w.0
            ));
        }
        let s = &self.scheduler;
        let unready: Vec<String> = s
            .dependencies(c.task)
            .iter()
            .filter(|&&d| s.state(d) != TaskState::Memory || s.who_has(d).is_empty())
            .map(|&d| {
                format!(
                    "Compute {key} while its input {} is {:?} with {} holders",
                    s.key(d),
                    s.state(d),
                    s.who_has(d).len()
                )
            })
            .collect();
        for what in unready {
            self.anomaly(what);
        }
    }

    /// A worker runs one of its queued jobs and reports how it ended.
    fn execute(&mut self, w: u32, job: Job) {
        let live = self.current(job.task).is_some_and(|a| a.gen == job.gen)
            && self.scheduler.state(job.task) == TaskState::Processing;
        if live && self.config.check {
            if let Some((dep, holder)) = self.unreachable_input(job.task) {
                // The simulator's own checks record anything surprising in the answer.
                let _ = self.report(w, job, Report::Missing { dep, holder });
                return;
            }
        }
        if live {
            // As a real worker does when it hands the task to an execution thread.
            if let Err(e) = self
                .scheduler
                .task_executing(WorkerId(w), job.task, job.run)
            {
                self.anomaly(format!("task_executing refused: {e}"));
            }
            let secede = self.config.secede_one_in;
            if secede > 0 && self.rng.below(u64::from(secede)) == 0 {
                match self
                    .scheduler
                    .task_long_running(WorkerId(w), job.task, job.run)
                {
                    Ok(true) => self.stats.seceded += 1,
                    Ok(false) => {}
                    Err(e) => self.anomaly(format!("task_long_running refused: {e}")),
                }
            }
        }
        if live
            && (!self.poison_keys.is_empty()
                || !self.fail_keys.is_empty()
                || !self.thread_poison_keys.is_empty())
        {
            let key = self.scheduler.key(job.task);
            if self.thread_poison_keys.contains(key) {
                let _ = self.report(w, job, Report::ExecutorDied);
                return;
            }
            if self.poison_keys.contains(key) {
                self.kill(w, job);
                return;
            }
            if self.fail_keys.contains(key) {
                let _ = self.report(w, job, Report::Erred(Box::from(&b"sim: task failed"[..])));
                return;
            }
        }
        let nbytes = self.jitter_nbytes();
        let duration = self.config.task_duration * (0.5 + self.rng.unit());
        let _ = self.report(w, job, Report::Finished { nbytes, duration });
    }

    fn jitter_nbytes(&mut self) -> u64 {
        let n = self.config.task_nbytes;
        n / 2 + self.rng.below(n + 1)
    }

    /// An input of `t` that none of its listed holders really has.
    fn unreachable_input(&self, t: TaskId) -> Option<(TaskId, WorkerId)> {
        for &dep in self.scheduler.dependencies(t) {
            let holders = self.scheduler.who_has(dep);
            let reachable = holders.iter().any(|h| {
                self.workers
                    .get(h.0 as usize)
                    .is_some_and(|sw| sw.alive && sw.store.contains(&dep))
            });
            if !reachable {
                if let Some(&holder) = holders.first() {
                    return Some((dep, holder));
                }
            }
        }
        None
    }

    fn kill(&mut self, w: u32, job: Job) {
        let name = self.workers[w as usize].name.clone();
        let slots = self.workers[w as usize].slots;
        let resources = self.workers[w as usize].resources.clone();
        self.stats.killed_workers += 1;
        self.killed.push(name.clone());
        // The job died with the worker: back on the queue so bury() records it.
        self.workers[w as usize].queue.push_front(job);
        if let Err(e) = self.remove_worker(WorkerId(w)) {
            self.anomaly(format!("removing killed worker {name} failed: {e}"));
            self.bury(WorkerId(w));
        }
        if self.config.replace_killed {
            self.replacements += 1;
            let spec = WorkerSpec {
                name: format!("{name}~{}", self.replacements),
                slots,
                resources,
            };
            if let Err(e) = self.add_worker_spec(spec) {
                self.anomaly(format!("replacement worker refused: {e}"));
            }
        }
    }

    fn report(&mut self, w: u32, job: Job, report: Report) -> Result<bool, CoreError> {
        let current = self.current(job.task).is_some_and(|a| a.gen == job.gen);
        let processing = self.scheduler.state(job.task) == TaskState::Processing;
        let wid = WorkerId(w);
        let kind = match report {
            Report::Finished { .. } => "finished",
            Report::Erred(_) => "erred",
            Report::Missing { .. } => "missing-data",
            Report::ExecutorDied => "executor-died",
        };
        let result = match report {
            Report::Finished { nbytes, duration } => self
                .scheduler
                .task_finished(wid, job.task, job.run, nbytes, duration),
            Report::Erred(payload) => self.scheduler.task_erred(wid, job.task, job.run, payload),
            Report::Missing { dep, holder } => self
                .scheduler
                .missing_data(wid, job.task, job.run, dep, holder),
            Report::ExecutorDied => self.scheduler.executor_died(wid, job.task, job.run),
        };
        match &result {
            Ok(true) => {
                if !current {
                    let key = self.key_of(job.task);
                    self.anomaly(format!("{kind} report of {key} (run {}) from worker {w} accepted though a newer Compute replaced it", job.run));
                }
                match kind {
                    "finished" => {
                        self.stats.finished += 1;
                        if self.config.check {
                            self.workers[w as usize].store.insert(job.task);
                        }
                    }
                    "erred" => self.stats.erred += 1,
                    "executor-died" => self.stats.executors_died += 1,
                    _ => self.stats.missing += 1,
                }
            }
            Ok(false) => {
                self.stats.stale_reports += 1;
                if current && processing {
                    let key = self.key_of(job.task);
                    self.anomaly(format!("{kind} report of {key} (run {}) from worker {w} refused though it is the current run", job.run));
                }
            }
            Err(e) => {
                // Reports about known ids never fail; from a removed worker they are stale.
                let key = self.key_of(job.task);
                self.anomaly(format!(
                    "{kind} report of {key} from worker {w} failed: {e}"
                ));
            }
        }
        self.end(job);
        self.remember(w, job);
        result
    }
}

// ----- graph builders shared by tests and benchmarks

/// A task with no restrictions, no resources and priority 0.
pub fn task(
    key: impl Into<String>,
    prefix: &str,
    dependencies: Vec<String>,
    payload: &[u8],
) -> TaskSpec {
    TaskSpec {
        key: key.into(),
        prefix: prefix.to_owned(),
        payload: payload.into(),
        dependencies,
        priority: 0,
        restrictions: None,
        resources: Vec::new(),
        retries: 0,
        allow_other_workers: false,
    }
}

/// `n` independent tasks `{prefix}-{i}`; returns the tasks and their keys.
pub fn independent(prefix: &str, n: usize, payload: &[u8]) -> (Vec<TaskSpec>, Vec<String>) {
    let keys: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    let tasks = keys
        .iter()
        .map(|k| task(k.clone(), prefix, Vec::new(), payload))
        .collect();
    (tasks, keys)
}

/// A binary tree reduction over `leaves` leaves (`leaves - 1` inner tasks,
/// named `sum-{level}-{i}`); returns the tasks and the root key.
pub fn tree_reduction(leaves: usize) -> (Vec<TaskSpec>, String) {
    let mut tasks = Vec::with_capacity(leaves.max(1) * 2);
    let mut level: Vec<String> = (0..leaves.max(1)).map(|i| format!("leaf-{i}")).collect();
    for k in &level {
        tasks.push(task(k.clone(), "leaf", Vec::new(), b""));
    }
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        let next: Vec<String> = level
            .chunks(2)
            .enumerate()
            .map(|(i, pair)| {
                if pair.len() == 1 {
                    // An odd one out moves up a level as it is.
                    return pair[0].clone();
                }
                let key = format!("sum-{depth}-{i}");
                tasks.push(task(key.clone(), "sum", pair.to_vec(), b""));
                key
            })
            .collect();
        level = next;
    }
    let root = level.pop().expect("a reduction has at least one task");
    (tasks, root)
}

/// A full shuffle: `inputs` tasks `in-{i}`, and `outputs` tasks `out-{j}` that
/// each depend on every input (`inputs * outputs` edges). Returns the tasks and
/// the output keys.
pub fn shuffle(inputs: usize, outputs: usize) -> (Vec<TaskSpec>, Vec<String>) {
    let input_keys: Vec<String> = (0..inputs).map(|i| format!("in-{i}")).collect();
    let output_keys: Vec<String> = (0..outputs).map(|j| format!("out-{j}")).collect();
    let mut tasks: Vec<TaskSpec> = input_keys
        .iter()
        .map(|k| task(k.clone(), "split", Vec::new(), b""))
        .collect();
    tasks.extend(
        output_keys
            .iter()
            .map(|k| task(k.clone(), "combine", input_keys.clone(), b"")),
    );
    (tasks, output_keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift_is_deterministic_and_spread() {
        let mut a = XorShift::new(7);
        let mut b = XorShift::new(7);
        let xs: Vec<u64> = (0..100).map(|_| a.below(10)).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.below(10)).collect();
        assert_eq!(xs, ys);
        assert!((0..10).all(|d| xs.contains(&d)));
        assert!((0..1000).map(|_| a.unit()).all(|u| (0.0..1.0).contains(&u)));
    }

    #[test]
    fn builders_have_the_documented_shape() {
        let (tasks, root) = tree_reduction(5);
        assert_eq!(tasks.len(), 9);
        assert_eq!(tasks.last().map(|t| t.key.as_str()), Some(root.as_str()));
        let (tasks, outs) = shuffle(3, 4);
        assert_eq!(tasks.len(), 7);
        assert_eq!(outs.len(), 4);
        assert!(tasks[3..].iter().all(|t| t.dependencies.len() == 3));
    }

    #[test]
    fn a_task_handed_to_a_second_worker_is_noticed() {
        let mut sim = SimCluster::new(
            Config {
                validate: true,
                ..Config::default()
            },
            SimConfig::default(),
        );
        let workers = sim.add_workers("w", 2, 1).expect("fresh names");
        sim.submit(vec![task("x", "f", Vec::new(), b"")], &["x"])
            .expect("valid graph");
        let first = workers
            .iter()
            .copied()
            .find(|&w| sim.queue_len(w) > 0)
            .expect("x was placed");
        // The worker leaves behind the simulator's back, so it still runs x.
        sim.scheduler_mut()
            .remove_worker(first, 0.0)
            .expect("live worker");
        sim.pump();
        assert!(
            sim.anomalies()
                .iter()
                .any(|a| a.contains("never told to drop")),
            "{:?}",
            sim.anomalies()
        );
    }

    #[test]
    fn independent_tasks_finish() {
        let mut sim = SimCluster::new(
            Config {
                validate: true,
                ..Config::default()
            },
            SimConfig::default(),
        );
        sim.add_workers("w", 2, 2).expect("fresh names");
        let (tasks, keys) = independent("noop", 50, b"");
        let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
        sim.submit(tasks, &wanted).expect("valid graph");
        sim.run_until_idle(10_000).expect("finishes");
        assert!(sim.anomalies().is_empty(), "{:?}", sim.anomalies());
        for k in &keys {
            let t = sim.scheduler().task_id(k).expect("wanted keys stay");
            assert_eq!(sim.scheduler().state(t), TaskState::Memory);
        }
        assert_eq!(sim.client_log(sim.client()).map(|l| l.memory), Some(50));
    }
}
