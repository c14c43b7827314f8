//! Tasks counted per prefix and state, walked on demand for metrics scrapes: the hot paths
//! keep no per-prefix counters, so this costs one pass over the task slots per call and
//! nothing per task otherwise.

use crate::scheduler::Scheduler;
use crate::state::TaskState;

/// Live tasks of one prefix per state, indexed by `TaskState as usize` (forgotten is 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixCensus {
    pub prefix: String,
    pub by_state: [usize; TaskState::COUNT],
}

impl Scheduler {
    /// Live tasks per prefix and state, prefixes in the order they were first seen; prefixes
    /// with no live task are left out.
    pub fn prefix_census(&self) -> Vec<PrefixCensus> {
        let mut counts: Vec<[usize; TaskState::COUNT]> =
            vec![[0; TaskState::COUNT]; self.prefixes.count()];
        for task in &self.tasks.slots {
            if task.state == TaskState::Forgotten {
                continue;
            }
            if let Some(c) = counts.get_mut(task.prefix as usize) {
                c[task.state as usize] += 1;
            }
        }
        let names = self.prefixes.names_by_id();
        counts
            .into_iter()
            .zip(names)
            .filter(|(c, _)| c.iter().any(|&n| n > 0))
            .map(|(by_state, prefix)| PrefixCensus {
                prefix: prefix.to_string(),
                by_state,
            })
            .collect()
    }

    /// Tasks forgotten since the scheduler started.
    pub fn forgotten_total(&self) -> u64 {
        self.by_state[TaskState::Forgotten as usize] as u64
    }
}
