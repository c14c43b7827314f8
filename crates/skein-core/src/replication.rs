//! Copies of data in memory on more workers (Dask's `replicate`): the core decides which
//! workers fetch which keys, and learns each copy when its worker reports it. Copies beyond
//! the number asked for are dropped, as Dask does. Nothing here changes a task's state:
//! only its holders (`who_has`) and the workers' `has_what`.

use crate::error::CoreError;
use crate::ids::{TaskId, WorkerId};
use crate::scheduler::Scheduler;
use crate::state::TaskState;
use crate::story::Stimulus;

/// Worker `worker` should fetch `task`'s data from one of its holders (`Scheduler::who_has`)
/// and report it with [`Scheduler::replica_added`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplicaCopy {
    pub worker: WorkerId,
    pub task: TaskId,
}

/// What `replicate` decided: the copies to make (the caller sends them to their workers)
/// and how many extra copies it dropped (their holders were told to free them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationPlan {
    pub copies: Vec<ReplicaCopy>,
    pub dropped: usize,
}

impl Scheduler {
    /// Plans for each key in `keys` to be held by `n` workers of `pool` (default: every live
    /// worker, or every worker of `pool`). Keys held by fewer get copies on the pool's workers
    /// holding the fewest keys; keys held by more lose the copies of the pool's workers
    /// holding the most (outside the pool, copies are left alone). Every key must be in
    /// memory and every worker of `pool` live; `n` is at least 1. A refused call changes nothing.
    pub fn replicate(
        &mut self,
        keys: &[&str],
        n: Option<u32>,
        pool: Option<&[&str]>,
    ) -> Result<ReplicationPlan, CoreError> {
        let tasks = self.in_memory(keys)?;
        let pool = self.replica_pool(pool)?;
        let want = match n {
            Some(0) => {
                return Err(CoreError::InvalidReplication {
                    reason: "n must be at least 1".into(),
                })
            }
            Some(n) => (n as usize).min(pool.len()),
            None => pool.len(),
        }
        .max(1);
        self.stimulus = Stimulus::Replicate;
        let mut plan = ReplicationPlan::default();
        for t in tasks {
            let held: Vec<WorkerId> = pool
                .iter()
                .copied()
                .filter(|&w| self.tasks.holder_index(t, w).is_some())
                .collect();
            if held.len() < want {
                let mut free: Vec<WorkerId> = pool
                    .iter()
                    .copied()
                    .filter(|&w| self.tasks.holder_index(t, w).is_none())
                    .collect();
                free.sort_by_key(|&w| (self.workers.list[w.ix()].has_what.len(), w.0));
                for &worker in free.iter().take(want - held.len()) {
                    plan.copies.push(ReplicaCopy { worker, task: t });
                }
            } else if held.len() > want {
                let mut extra = held;
                extra.sort_by_key(|&w| {
                    (
                        std::cmp::Reverse(self.workers.list[w.ix()].has_what.len()),
                        w.0,
                    )
                });
                for &w in extra.iter().take(extra.len() - want) {
                    self.remove_holder(t, w);
                    self.outbox.free(w, t);
                    plan.dropped += 1;
                }
            }
        }
        self.end_event();
        Ok(plan)
    }

    /// Worker `w` now holds a copy of `key` (fetched for `replicate`): it becomes one of the
    /// key's holders. False when the copy is of no use (the key is no longer in memory, or
    /// `w` left): the caller tells `w` to free it.
    pub fn replica_added(&mut self, w: WorkerId, key: &str) -> Result<bool, CoreError> {
        if w.ix() >= self.workers.list.len() {
            return Err(CoreError::UnknownWorker { worker: w.0 });
        }
        CoreError::check_key(key)?;
        let Some(t) = self.tasks.find(key) else {
            return Ok(false);
        };
        if self.tasks[t].state != TaskState::Memory || self.workers.live(w).is_none() {
            return Ok(false);
        }
        self.stimulus = Stimulus::ReplicaAdded;
        self.add_holder(t, w);
        self.end_event();
        Ok(true)
    }

    /// The tasks of `keys`, each in memory.
    fn in_memory(&self, keys: &[&str]) -> Result<Vec<TaskId>, CoreError> {
        let mut tasks = Vec::with_capacity(keys.len());
        for &key in keys {
            let t = self
                .tasks
                .find(key)
                .ok_or_else(|| CoreError::unknown_key(key))?;
            let state = self.tasks[t].state;
            if state != TaskState::Memory {
                return Err(CoreError::InvalidReplication {
                    reason: format!(
                        "key {key:?} is {}, not in memory: only computed data can be copied",
                        state.name()
                    ),
                });
            }
            tasks.push(t);
        }
        tasks.sort_unstable_by_key(|t| t.0);
        tasks.dedup();
        Ok(tasks)
    }

    /// The live workers named in `names` (each once), or every live worker.
    fn replica_pool(&self, names: Option<&[&str]>) -> Result<Vec<WorkerId>, CoreError> {
        let Some(names) = names else {
            return Ok((0..self.workers.list.len() as u32)
                .map(WorkerId)
                .filter(|&w| self.workers.live(w).is_some())
                .collect());
        };
        let mut pool = Vec::with_capacity(names.len());
        for &name in names {
            let w =
                *self
                    .workers
                    .by_name
                    .get(name)
                    .ok_or_else(|| CoreError::InvalidReplication {
                        reason: format!("no live worker is named {name:?}"),
                    })?;
            pool.push(w);
        }
        pool.sort_unstable_by_key(|w| w.0);
        pool.dedup();
        if pool.is_empty() {
            return Err(CoreError::InvalidReplication {
                reason: "the list of workers is empty".into(),
            });
        }
        Ok(pool)
    }
}
