//! Task groups, as Dask's `TaskGroup` for keys named `prefix-token`: the live tasks of one
//! prefix (the function's name), across graphs, with the two counts the root-ish rule reads.
//!
//! A task is root-ish when it has no restrictions or resources, its group has more than
//! twice the cluster's slots live tasks, and the group depends on fewer than
//! `MAX_GROUP_DEPS + 1` distinct tasks: many tasks fanning out of a few shared inputs (a
//! map over a scattered value). Such tasks are queued like roots when ready.
//!
//! The group is the prefix rather than the prefix within one graph because the client
//! sends a loop of `submit` calls as many one-task graphs, and streams a large graph in
//! several parts: per graph, neither would ever look root-ish. A group's dependencies, as
//! in Dask, only grow while it lives; it starts over once its last task is forgotten.
//!
//! Every count is kept as tasks are created and forgotten: O(1) per task and per edge, and
//! the edge cost ends once a group is known to be wide. No decision scans a group.

use crate::ids::TaskId;

/// Distinct dependency tasks a group may have and still be root-ish. Dask: fewer than 5.
pub(crate) const MAX_GROUP_DEPS: usize = 4;

/// `dep_count` of a group with more than `MAX_GROUP_DEPS` distinct dependencies.
const WIDE: u8 = u8::MAX;

#[derive(Clone, Copy, Debug)]
struct Group {
    /// Tasks of the prefix not yet forgotten (scattered data aside: it is never computed).
    live: u32,
    /// Distinct dependencies of those tasks since the group started (first `dep_count`),
    /// unless wide. A dependency forgotten meanwhile stays listed; if its slot is reused
    /// by a new dependency, that one is not counted again (an undercount, never a new
    /// false "wide").
    deps: [TaskId; MAX_GROUP_DEPS],
    dep_count: u8,
}

impl Group {
    /// Counts the distinct dependencies among `deps` not seen yet, up to wide.
    fn note_deps(&mut self, deps: &[TaskId]) {
        for &d in deps {
            let n = self.dep_count as usize;
            if self.deps[..n].contains(&d) {
                continue;
            }
            if n == MAX_GROUP_DEPS {
                self.dep_count = WIDE;
                return;
            }
            self.deps[n] = d;
            self.dep_count += 1;
        }
    }
}

const EMPTY: Group = Group {
    live: 0,
    deps: [TaskId(0); MAX_GROUP_DEPS],
    dep_count: 0,
};

/// One group per interned prefix (`prefix.rs`), indexed by prefix id.
#[derive(Default)]
pub(crate) struct Groups {
    list: Vec<Group>,
}

impl Groups {
    /// A task of `prefix` with dependencies `deps` was created.
    #[inline]
    pub fn add_member(&mut self, prefix: u32, deps: &[TaskId]) {
        let Some(group) = self.list.get_mut(prefix as usize) else {
            return self.add_first_of(prefix, deps);
        };
        group.live += 1;
        if !deps.is_empty() && group.dep_count != WIDE {
            group.note_deps(deps);
        }
    }

    #[cold]
    fn add_first_of(&mut self, prefix: u32, deps: &[TaskId]) {
        self.list.resize(prefix as usize + 1, EMPTY);
        self.add_member(prefix, deps);
    }

    /// A task of `prefix` was forgotten; with the last one the group starts over.
    #[inline]
    pub fn remove_member(&mut self, prefix: u32) {
        let Some(group) = self.list.get_mut(prefix as usize) else {
            return;
        };
        group.live = group.live.saturating_sub(1);
        if group.live == 0 {
            *group = EMPTY;
        }
    }

    /// The group's dependencies are few enough for its tasks to be root-ish.
    #[cfg(test)]
    pub fn narrow(&self, prefix: u32) -> bool {
        self.list
            .get(prefix as usize)
            .is_none_or(|x| x.dep_count != WIDE)
    }

    /// Tasks of `prefix` are root-ish on a cluster of `total_slots` slots (restrictions aside).
    #[inline]
    pub fn rootish(&self, prefix: u32, total_slots: u64) -> bool {
        self.list
            .get(prefix as usize)
            .is_some_and(|x| x.dep_count != WIDE && u64::from(x.live) > 2 * total_slots)
    }

    /// Live tasks of `prefix`'s group.
    pub fn live(&self, prefix: u32) -> u32 {
        self.list.get(prefix as usize).map_or(0, |x| x.live)
    }

    /// Prefix ids with a group entry (the rest have no live task).
    pub fn len(&self) -> usize {
        self.list.len()
    }
}
