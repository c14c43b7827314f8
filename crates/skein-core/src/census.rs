//! Live tasks counted per prefix and state, for metrics scrapes: read from the per-prefix
//! counters (`prefix_states.rs`), so a scrape costs a pass over the prefixes, not the tasks.

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
        self.prefix_progress()
            .into_iter()
            .filter(|p| {
                p.by_state[..TaskState::Forgotten as usize]
                    .iter()
                    .any(|&n| n > 0)
            })
            .map(|p| {
                let mut by_state = [0usize; TaskState::COUNT];
                for (live, n) in by_state
                    .iter_mut()
                    .zip(p.by_state)
                    .take(TaskState::Forgotten as usize)
                {
                    *live = n as usize;
                }
                PrefixCensus {
                    prefix: p.prefix,
                    by_state,
                }
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

    fn count(s: &crate::Scheduler, prefix: &str, state: TaskState) -> usize {
        s.prefix_census()
            .iter()
            .find(|c| c.prefix == prefix)
            .map_or(0, |c| c.by_state[state as usize])
    }

    #[test]
    fn census_counts_live_tasks_per_prefix_and_state_and_transitions_match_the_stories() {
        let mut s = sched();
        let c = s.add_client();
        worker(&mut s, "w1", 1);
        let graph = vec![
            task("inc-1", &[]),
            task("inc-2", &[]),
            task("sum-1", &["inc-1", "inc-2"]),
        ];
        s.submit_graph(c, graph, &["sum-1"]).unwrap();
        assert_eq!(count(&s, "sum", TaskState::Waiting), 1);
        let inc_live: usize = s.prefix_census()[0].by_state.iter().sum();
        assert_eq!(inc_live, 2);
        for key in ["inc-1", "inc-2", "sum-1"] {
            finish(&mut s, key);
        }
        assert_eq!(count(&s, "sum", TaskState::Memory), 1);
        // inc results are released once sum has them: no longer needed by anyone.
        assert_eq!(count(&s, "inc", TaskState::Memory), 0);
        let told: usize = ["inc-1", "inc-2", "sum-1"]
            .iter()
            .map(|k| s.story(k).len())
            .sum();
        let forgotten_before = s.forgotten_total() as usize;
        assert!(told > 0);
        assert!(s.stats().transitions as usize >= told);
        s.release_keys(c, &["sum-1"]).unwrap();
        s.take_instructions();
        assert!(s.prefix_census().is_empty(), "{:?}", s.prefix_census());
        assert_eq!(s.forgotten_total(), 3);
        assert!(forgotten_before < 3);
    }
}
