//! Task groups: the tasks of one prefix created by one graph (Dask's `TaskGroup`: one `map`
//! call, one level of a reduction), with the two counts the root-ish rule reads.
//!
//! A task is root-ish when it has no restrictions or resources, its group has more than
//! twice the cluster's slots live tasks, and the group as a whole depends on fewer than
//! `MAX_GROUP_DEPS + 1` distinct tasks: many tasks fanning out of a few shared inputs (a
//! map over a scattered value). Such tasks are queued like roots when ready. A group is
//! per graph, not per prefix for all time, so a map submitted today is not made root-ish
//! by the tasks of the same function that earlier graphs left behind, and a group's
//! dependencies are all known when its graph arrives: they are counted once, at creation.
//!
//! Every count is kept as tasks are created and forgotten (O(1) per task and per edge,
//! the edge cost ending once a group is known to be wide); no decision scans a group.

use crate::ids::TaskId;

/// Distinct dependency tasks a group may have and still be root-ish. Dask: fewer than 5.
pub(crate) const MAX_GROUP_DEPS: usize = 4;

/// `dep_count` of a group with more than `MAX_GROUP_DEPS` distinct dependencies.
const WIDE: u8 = u8::MAX;

#[derive(Clone, Copy, Debug)]
struct Group {
    /// Tasks of the group not yet forgotten.
    live: u32,
    /// Interned prefix (`prefix.rs`) of its tasks.
    prefix: u32,
    /// Distinct dependencies seen while the group was created (first `dep_count`), unless wide.
    deps: [TaskId; MAX_GROUP_DEPS],
    dep_count: u8,
}

#[derive(Default)]
pub(crate) struct Groups {
    list: Vec<Group>,
    free: Vec<u32>,
}

impl Groups {
    /// A new empty group of `prefix` (a freed id is reused).
    pub fn open(&mut self, prefix: u32) -> u32 {
        let g = Group {
            live: 0,
            prefix,
            deps: [TaskId(0); MAX_GROUP_DEPS],
            dep_count: 0,
        };
        match self.free.pop() {
            Some(id) => {
                self.list[id as usize] = g;
                id
            }
            None => {
                self.list.push(g);
                (self.list.len() - 1) as u32
            }
        }
    }

    /// A task with dependencies `deps` joins group `g` (at creation).
    #[inline]
    pub fn add_member(&mut self, g: u32, deps: &[TaskId]) {
        let Some(group) = self.list.get_mut(g as usize) else {
            return;
        };
        group.live += 1;
        for &d in deps {
            if group.dep_count == WIDE {
                return;
            }
            let n = group.dep_count as usize;
            if group.deps[..n].contains(&d) {
                continue;
            }
            if n == MAX_GROUP_DEPS {
                group.dep_count = WIDE;
            } else {
                group.deps[n] = d;
                group.dep_count += 1;
            }
        }
    }

    /// A task of group `g` was forgotten; the group's id is freed with its last task.
    #[inline]
    pub fn remove_member(&mut self, g: u32) {
        let Some(group) = self.list.get_mut(g as usize) else {
            return;
        };
        group.live -= 1;
        if group.live == 0 {
            self.free.push(g);
        }
    }

    /// The interned prefix of `g`'s tasks.
    #[inline]
    pub fn prefix(&self, g: u32) -> u32 {
        self.list.get(g as usize).map_or(0, |x| x.prefix)
    }

    /// The group's dependencies are few enough for its tasks to be root-ish.
    #[inline]
    pub fn narrow(&self, g: u32) -> bool {
        self.list
            .get(g as usize)
            .is_some_and(|x| x.dep_count != WIDE)
    }

    /// Tasks of `g` are root-ish on a cluster of `total_slots` slots (restrictions aside).
    #[inline]
    pub fn rootish(&self, g: u32, total_slots: u64) -> bool {
        self.list
            .get(g as usize)
            .is_some_and(|x| x.dep_count != WIDE && u64::from(x.live) > 2 * total_slots)
    }

    /// Live tasks of `g` (0 for a freed or unknown id).
    pub fn live(&self, g: u32) -> u32 {
        self.list.get(g as usize).map_or(0, |x| x.live)
    }

    /// Ids freed for reuse.
    pub fn freed(&self) -> &[u32] {
        &self.free
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }
}
