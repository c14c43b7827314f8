//! Tasks per prefix and state, kept up to date by the one place that changes a task's state
//! (`set_state`) and the two that create tasks, so the dashboard and metrics read them in time
//! proportional to the number of prefixes, not of tasks: a 1M-task graph costs a read nothing.

use crate::scheduler::Scheduler;
use crate::state::TaskState;

/// Per prefix id: tasks in each state; the `Forgotten` entry counts every task of the prefix
/// forgotten since start (the others are live tasks now).
#[derive(Default)]
pub(crate) struct PrefixStates {
    counts: Vec<[u64; TaskState::COUNT]>,
}

impl PrefixStates {
    /// A new task of `prefix`, in `Released`.
    #[inline]
    pub(crate) fn created(&mut self, prefix: u32) {
        let p = prefix as usize;
        if p >= self.counts.len() {
            self.counts.resize(p + 1, [0; TaskState::COUNT]);
        }
        self.counts[p][TaskState::Released as usize] += 1;
    }

    #[inline]
    pub(crate) fn moved(&mut self, prefix: u32, from: TaskState, to: TaskState) {
        if let Some(c) = self.counts.get_mut(prefix as usize) {
            c[from as usize] -= 1;
            c[to as usize] += 1;
        }
    }

    pub(crate) fn get(&self, prefix: u32) -> [u64; TaskState::COUNT] {
        self.counts
            .get(prefix as usize)
            .copied()
            .unwrap_or([0; TaskState::COUNT])
    }

    pub(crate) fn len(&self) -> usize {
        self.counts.len()
    }
}

/// One prefix's tasks per state, indexed by `TaskState as usize`; `Forgotten` is the total
/// forgotten since start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixProgress {
    pub prefix: String,
    pub by_state: [u64; TaskState::COUNT],
}

impl Scheduler {
    /// Every prefix that ever had a task, in the order first seen, with its live tasks per
    /// state and its forgotten total. Reads the counters: no walk over the tasks.
    pub fn prefix_progress(&self) -> Vec<PrefixProgress> {
        let names = self.prefixes.names_by_id();
        (0..self.prefixes.count())
            .map(|p| PrefixProgress {
                prefix: names.get(p).copied().unwrap_or("").to_string(),
                by_state: self.prefix_states.get(p as u32),
            })
            .collect()
    }

    /// Tasks forgotten since the scheduler started.
    pub fn forgotten_total(&self) -> u64 {
        self.by_state[TaskState::Forgotten as usize] as u64
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::{finish, sched, task, worker};
    use crate::TaskState;

    fn progress(s: &crate::Scheduler, prefix: &str) -> [u64; 8] {
        s.prefix_progress()
            .into_iter()
            .find(|p| p.prefix == prefix)
            .map_or([0; 8], |p| p.by_state)
    }

    #[test]
    fn counters_follow_every_transition_and_count_the_forgotten() {
        let mut s = sched();
        let c = s.add_client();
        worker(&mut s, "w1", 1);
        let graph = vec![
            task("inc-1", &[]),
            task("inc-2", &[]),
            task("sum-1", &["inc-1", "inc-2"]),
        ];
        s.submit_graph(c, graph, &["sum-1"]).unwrap();
        s.validate().unwrap();
        assert_eq!(progress(&s, "sum")[TaskState::Waiting as usize], 1);
        for key in ["inc-1", "inc-2", "sum-1"] {
            finish(&mut s, key);
            s.validate().unwrap();
        }
        assert_eq!(progress(&s, "sum")[TaskState::Memory as usize], 1);
        assert_eq!(progress(&s, "inc")[TaskState::Forgotten as usize], 0);
        s.release_keys(c, &["sum-1"]).unwrap();
        s.take_instructions();
        s.validate().unwrap();
        let inc = progress(&s, "inc");
        assert_eq!(inc[TaskState::Forgotten as usize], 2);
        assert_eq!(inc[..TaskState::Forgotten as usize].iter().sum::<u64>(), 0);
        assert_eq!(progress(&s, "sum")[TaskState::Forgotten as usize], 1);
        assert_eq!(s.forgotten_total(), 3);
    }
}
