//! Work stealing: on each `tick`, queued tasks move from saturated workers to idle ones
//! when moving their inputs is cheap against running them.
//!
//! Each round is bounded and never scans every task: victims come from the top of the
//! room index (most tasks per slot), thieves from its bottom two levels, and only the last
//! few tasks of each victim's processing list are looked at (the ones it received last, so
//! the least likely to have started). Those are bucketed by cost ratio, transfer time over
//! compute time on a log2 scale as in Dask, and the cheapest buckets move first. Durations
//! are the current per-prefix estimates, so a prefix that turned out slow after its tasks
//! were placed is rebalanced.
//!
//! A steal is a request/confirm exchange, so a task never runs twice and is never lost.
//! The core asks the victim (`WorkerBatch::steal`, with the run id); the task stays
//! processing there until the victim answers (`Scheduler::steal_response`). `stolen: true`
//! means the victim dropped it unstarted: it gets a new run on the thief (or is placed
//! afresh if the thief is gone). `false` means it had started: nothing changes, and its
//! finish under the old run stays valid. Anything that takes the task off the victim
//! first (finished, erred, released, worker died) cancels the request, and the late answer
//! is stale (`Ok(false)`).

use crate::counters::SchedulerStats;
use crate::error::CoreError;
use crate::ids::{fixed_hasher, FixedMap, TaskId, WorkerId};
use crate::instructions::Outbox;
use crate::placement;
use crate::scheduler::Scheduler;
use crate::state::TaskState;
use crate::story::Stimulus;
use crate::task::{Task, TaskTable, FLAG_EXECUTING, FLAG_STEALING};
use crate::worker::{Worker, WorkerTable};

/// Cost-ratio buckets: level `l` holds tasks with transfer/compute near 2^(l - 6).
const LEVELS: usize = 15;
/// Victims and thieves considered per round, and tasks looked at per victim.
const MAX_VICTIMS: usize = 32;
const MAX_THIEVES: usize = 32;
const SCAN_PER_VICTIM: usize = 64;
/// Seconds a move costs besides the bytes (request, answer and a new compute message).
const LATENCY: f64 = 0.001;

/// One steal request in flight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Steal {
    pub victim: WorkerId,
    pub thief: WorkerId,
    /// The victim's run of the task the request names.
    pub run: u64,
    /// Estimate (µs) moved from the victim's backlog to the thief's while in flight.
    pub estimate_us: u64,
}

/// Work in flight to and from one worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flow {
    pub incoming_us: u64,
    pub outgoing_us: u64,
    pub outgoing: u32,
}

pub(crate) struct Stealing {
    pub(crate) in_flight: FixedMap<TaskId, Steal>,
    /// Indexed by worker id (grown on demand).
    flows: Vec<Flow>,
    // --- scratch reused by every round: (victim index, task) per level, thieves, victims
    levels: Vec<Vec<(u32, TaskId)>>,
    thieves: Vec<WorkerId>,
    /// (victim, its backlog in seconds per slot)
    victims: Vec<(WorkerId, f64)>,
}

impl Stealing {
    pub fn new() -> Self {
        Stealing {
            in_flight: FixedMap::with_hasher(fixed_hasher()),
            flows: Vec::new(),
            levels: (0..LEVELS).map(|_| Vec::new()).collect(),
            thieves: Vec::new(),
            victims: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.in_flight.len()
    }

    fn flow(&self, w: WorkerId) -> Flow {
        self.flows.get(w.ix()).copied().unwrap_or_default()
    }

    fn flow_mut(&mut self, w: WorkerId) -> &mut Flow {
        if self.flows.len() <= w.ix() {
            self.flows.resize(w.ix() + 1, Flow::default());
        }
        &mut self.flows[w.ix()]
    }

    /// Whether a steal of `t` under `run` is pending with victim `w`.
    pub fn requested(&self, tasks: &TaskTable, t: TaskId, w: WorkerId, run: u64) -> bool {
        tasks[t].flags & FLAG_STEALING != 0
            && self
                .in_flight
                .get(&t)
                .is_some_and(|s| s.victim == w && s.run == run)
    }

    fn record(&mut self, t: TaskId, steal: Steal) {
        let v = self.flow_mut(steal.victim);
        v.outgoing += 1;
        v.outgoing_us += steal.estimate_us;
        self.flow_mut(steal.thief).incoming_us += steal.estimate_us;
        self.in_flight.insert(t, steal);
    }

    fn take(&mut self, t: TaskId) -> Option<Steal> {
        let steal = self.in_flight.remove(&t)?;
        let v = self.flow_mut(steal.victim);
        v.outgoing -= 1;
        v.outgoing_us -= steal.estimate_us;
        self.flow_mut(steal.thief).incoming_us -= steal.estimate_us;
        Some(steal)
    }
}

/// The bucket of a transfer/compute ratio; `None` when moving costs far more than running.
fn cost_level(ratio: f64) -> Option<usize> {
    if ratio.is_nan() {
        return None;
    }
    let level = (ratio.log2() + 6.0).round().max(0.0);
    (level < LEVELS as f64).then_some(level as usize)
}

/// Whether `wk` may run `task` (its name allowed, its resources declared). Loose
/// restrictions bind only while a named worker could run it, as in placement (and Dask,
/// which lets any thief take a loose task no named worker can).
fn may_run(task: &Task, wk: &Worker, workers: &WorkerTable) -> bool {
    placement::allowed_names(task, workers)
        .is_none_or(|names| names.iter().any(|n| **n == *wk.name))
        && wk.satisfies(task.resources())
}

/// Seconds per slot of work queued on a worker, taking `d` as the duration of the tasks
/// it holds when that is more than their estimates at placement said.
fn backlog(wk: &Worker, flow: Flow, d: f64) -> f64 {
    let slots = wk.slots.max(1) as f64;
    let counted = wk.processing.len() as f64 * d / slots;
    wk.occupancy_per_slot().max(counted)
        + (flow.incoming_us as f64 - flow.outgoing_us as f64) * 1e-6 / slots
}

impl Scheduler {
    /// One round of stealing (called from `tick`). Sends steal requests; moves nothing yet.
    pub(crate) fn balance(&mut self) {
        if !self.config.work_stealing || self.workers.alive < 2 {
            return;
        }
        let Scheduler {
            stealing,
            tasks,
            workers,
            prefixes,
            config,
            outbox,
            counters,
            ..
        } = self;
        let room = &workers.room;
        stealing.thieves.clear();
        for level in 0..room.levels_len().min(2) {
            for &w in room.level(level) {
                if stealing.thieves.len() < MAX_THIEVES {
                    stealing.thieves.push(w);
                }
            }
        }
        // A paused worker (memory) takes nothing new and may not start its queue for a while:
        // what it has not started goes to others, whatever it costs to move.
        if !stealing.thieves.is_empty() {
            for (i, wk) in workers.list.iter().enumerate() {
                if !(wk.alive && wk.paused) {
                    continue;
                }
                let v = WorkerId(i as u32);
                for &t in wk.processing.iter().rev().take(SCAN_PER_VICTIM) {
                    let task = &tasks[t];
                    if task.flags & (FLAG_STEALING | FLAG_EXECUTING) != 0 {
                        continue;
                    }
                    let d = prefixes.estimate(task.prefix);
                    let thief = stealing
                        .thieves
                        .iter()
                        .copied()
                        .filter(|&th| may_run(task, &workers.list[th.ix()], workers))
                        .min_by(|&a, &b| {
                            let (ba, bb) = (
                                backlog(&workers.list[a.ix()], stealing.flow(a), d),
                                backlog(&workers.list[b.ix()], stealing.flow(b), d),
                            );
                            ba.partial_cmp(&bb).unwrap_or(std::cmp::Ordering::Equal)
                        });
                    let Some(thief) = thief else { continue };
                    let estimate_us = u64::from(prefixes.estimate_us(task.prefix));
                    ask_victim(stealing, tasks, outbox, counters, t, v, thief, estimate_us);
                }
            }
        }
        stealing.victims.clear();
        'top: for level in (1..room.levels_len()).rev() {
            for &w in room.level(level) {
                let wk = &workers.list[w.ix()];
                if wk.processing.len() > wk.slots as usize + stealing.flow(w).outgoing as usize {
                    stealing.victims.push((w, 0.0));
                    if stealing.victims.len() == MAX_VICTIMS {
                        break 'top;
                    }
                }
            }
        }
        if stealing.thieves.is_empty() || stealing.victims.is_empty() {
            return;
        }
        let bandwidth = config.bandwidth.max(f64::MIN_POSITIVE);
        let min_duration = config.steal_min_duration;

        // Bucket the last tasks of each victim by cost ratio.
        for vi in 0..stealing.victims.len() {
            let v = stealing.victims[vi].0;
            let wk = &workers.list[v.ix()];
            let flow = stealing.flow(v);
            let spare = wk.processing.len() - wk.slots as usize - flow.outgoing as usize;
            let (mut taken, mut d_sum, mut seen) = (0, 0.0, 0);
            for &t in wk.processing.iter().rev().take(SCAN_PER_VICTIM) {
                if taken == spare {
                    break;
                }
                let task = &tasks[t];
                if task.flags & FLAG_STEALING != 0 {
                    continue;
                }
                let d = prefixes.estimate(task.prefix);
                d_sum += d;
                seen += 1;
                if !(d > 0.0 && d >= min_duration) {
                    continue;
                }
                let bytes = task
                    .deps()
                    .iter()
                    .fold(0u64, |a, &x| a.saturating_add(tasks[x].nbytes));
                let Some(level) = cost_level((bytes as f64 / bandwidth + LATENCY) / d) else {
                    continue;
                };
                stealing.levels[level].push((vi as u32, t));
                taken += 1;
            }
            let d_mean = if seen > 0 { d_sum / seen as f64 } else { 0.0 };
            stealing.victims[vi].1 = backlog(wk, flow, d_mean);
        }

        // Cheapest moves first; each must finish the task sooner on the thief.
        for level in 0..LEVELS {
            let multiplier = 1.0 + 2f64.powi(level as i32 - 6);
            let mut bucket = std::mem::take(&mut stealing.levels[level]);
            for &(vi, t) in &bucket {
                let (v, victim_backlog) = stealing.victims[vi as usize];
                let vw = &workers.list[v.ix()];
                if vw.processing.len() <= vw.slots as usize + stealing.flow(v).outgoing as usize {
                    continue;
                }
                let task = &tasks[t];
                let d = prefixes.estimate(task.prefix);
                let mut best: Option<(f64, WorkerId)> = None;
                for &th in &stealing.thieves {
                    let tw = &workers.list[th.ix()];
                    if th == v || !may_run(task, tw, workers) {
                        continue;
                    }
                    let b = backlog(tw, stealing.flow(th), d);
                    if best.is_none_or(|(bb, _)| b < bb) {
                        best = Some((b, th));
                    }
                }
                let Some((thief_backlog, thief)) = best else {
                    continue;
                };
                // A NaN (from absurd reported durations) compares as None: no steal.
                let worth_it = matches!(
                    (thief_backlog + multiplier * d).partial_cmp(&(victim_backlog - d / 2.0)),
                    Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                );
                if !worth_it {
                    continue;
                }
                let estimate_us = u64::from(prefixes.estimate_us(task.prefix));
                stealing.victims[vi as usize].1 -= d / vw.slots.max(1) as f64;
                ask_victim(stealing, tasks, outbox, counters, t, v, thief, estimate_us);
            }
            bucket.clear();
            stealing.levels[level] = bucket;
        }
    }

    /// `t` left its victim before the answer (finished, erred, released, worker died).
    #[inline]
    pub(crate) fn cancel_steal(&mut self, t: TaskId) {
        self.tasks[t].flags &= !FLAG_STEALING;
        self.stealing.take(t);
    }

    /// Victim `w` answers the steal request for `t` under `run`: `stolen` if it dropped the
    /// task unstarted (the task then gets a new run on the thief), not if it had started
    /// (nothing changes). Answers to requests that are no longer pending are stale and
    /// return `Ok(false)`; unknown ids are errors.
    pub fn steal_response(
        &mut self,
        w: WorkerId,
        t: TaskId,
        run: u64,
        stolen: bool,
    ) -> Result<bool, CoreError> {
        if w.ix() >= self.workers.list.len() {
            return Err(CoreError::UnknownWorker { worker: w.0 });
        }
        if !self.tasks.contains(t) {
            return Err(CoreError::UnknownTask { task: t.0 });
        }
        let task = &self.tasks[t];
        let current = task.state == TaskState::Processing && task.worker == w && task.run == run;
        if !current
            || !self.workers.list[w.ix()].alive
            || !self.stealing.requested(&self.tasks, t, w, run)
        {
            return Ok(false);
        }
        self.workers.note_report(w);
        self.stimulus = Stimulus::StealResponse;
        let thief = self.stealing.in_flight.get(&t).map(|s| s.thief);
        self.cancel_steal(t);
        if stolen {
            self.counters.stolen += 1;
            // The victim dropped it: no free for it.
            self.stop_processing(t, false);
            let thief = thief.filter(|&th| {
                self.workers
                    .live(th)
                    .is_some_and(|wk| may_run(&self.tasks[t], wk, &self.workers))
            });
            match thief {
                Some(th) => self.start_processing(t, th),
                None => self.apply(t, TaskState::Waiting),
            }
        } else {
            self.counters.steal_refused += 1;
        }
        self.end_event();
        Ok(true)
    }

    /// Steal requests in flight.
    pub fn steals_in_flight(&self) -> usize {
        self.stealing.len()
    }

    /// Every in-flight steal names a task processing on its live victim under that run,
    /// every flagged task has one, and the per-worker flows add up.
    pub(crate) fn validate_steals(&self) -> Result<(), String> {
        let mut flows = vec![Flow::default(); self.workers.list.len()];
        for (&t, s) in self.stealing.in_flight.iter() {
            let task = self
                .tasks
                .slots
                .get(t.ix())
                .ok_or(format!("steal in flight for unknown slot {}", t.0))?;
            let key = task.key();
            if task.flags & FLAG_STEALING == 0 {
                return Err(format!(
                    "key {key:?}: steal in flight but the task is not flagged"
                ));
            }
            if !(task.state == TaskState::Processing
                && task.worker == s.victim
                && task.run == s.run)
            {
                return Err(format!(
                    "key {key:?}: steal of run {} from worker {} in flight, but the task is {} on worker {} run {}",
                    s.run,
                    s.victim.0,
                    task.state.name(),
                    task.worker.0,
                    task.run
                ));
            }
            if !self
                .workers
                .list
                .get(s.victim.ix())
                .is_some_and(|wk| wk.alive)
            {
                return Err(format!(
                    "key {key:?}: steal in flight from removed worker {}",
                    s.victim.0
                ));
            }
            let thief = flows.get_mut(s.thief.ix()).ok_or(format!(
                "key {key:?}: steal to unknown worker {}",
                s.thief.0
            ))?;
            if s.thief == s.victim {
                return Err(format!(
                    "key {key:?}: worker {} steals from itself",
                    s.thief.0
                ));
            }
            thief.incoming_us += s.estimate_us;
            let victim = &mut flows[s.victim.ix()];
            victim.outgoing += 1;
            victim.outgoing_us += s.estimate_us;
        }
        let flagged = self
            .tasks
            .slots
            .iter()
            .filter(|task| task.flags & FLAG_STEALING != 0)
            .count();
        if flagged != self.stealing.len() {
            return Err(format!(
                "{flagged} tasks flagged as being stolen but {} steals in flight",
                self.stealing.len()
            ));
        }
        for (i, f) in flows.iter().enumerate() {
            let kept = self.stealing.flow(WorkerId(i as u32));
            if kept != *f {
                return Err(format!(
                    "worker {i}: steal flow {kept:?} but the requests in flight add up to {f:?}"
                ));
            }
        }
        Ok(())
    }
}

/// Records a steal of `t` from `victim` to `thief` and asks the victim to give it up.
#[allow(clippy::too_many_arguments)]
fn ask_victim(
    stealing: &mut Stealing,
    tasks: &mut TaskTable,
    outbox: &mut Outbox,
    counters: &mut SchedulerStats,
    t: TaskId,
    victim: WorkerId,
    thief: WorkerId,
    estimate_us: u64,
) {
    let run = tasks[t].run;
    stealing.record(
        t,
        Steal {
            victim,
            thief,
            run,
            estimate_us,
        },
    );
    tasks[t].flags |= FLAG_STEALING;
    outbox.steal(victim, t, run);
    counters.steal_requests += 1;
}
