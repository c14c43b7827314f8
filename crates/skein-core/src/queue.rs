//! The scheduler-side queue of ready root and root-ish tasks (`groups.rs`), in priority order.
//!
//! Graphs arrive with their roots already in (or in exactly reverse) priority order, so a
//! sorted deque of bare ids (4 bytes each) takes them at O(1); anything out of order goes to
//! a heap. An entry always names the task it was pushed for: a task that leaves the queued
//! state keeps its entry (dropped lazily when it reaches the head), and a forgotten task's
//! slot is not reused while it still has one.

use crate::ids::TaskId;
use crate::task::{Priority, TaskTable};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

#[derive(Default)]
pub(crate) struct ReadyQueue {
    sorted: VecDeque<TaskId>,
    heap: BinaryHeap<Reverse<(Priority, TaskId)>>,
}

impl ReadyQueue {
    pub fn push(&mut self, t: TaskId, tasks: &TaskTable) {
        let e = (tasks[t].priority, t);
        let key = |x: &TaskId| (tasks[*x].priority, *x);
        match (self.sorted.front(), self.sorted.back()) {
            (Some(front), Some(back)) => {
                if e >= key(back) {
                    self.sorted.push_back(t)
                } else if e <= key(front) {
                    self.sorted.push_front(t)
                } else {
                    self.heap.push(Reverse(e))
                }
            }
            _ => self.sorted.push_back(t),
        }
    }

    /// The first entry (its task may have left the queued state since).
    #[inline]
    pub fn peek(&self, tasks: &TaskTable) -> Option<TaskId> {
        match (self.sorted.front(), self.heap.peek()) {
            (Some(&a), Some(Reverse(b))) => {
                Some(if (tasks[a].priority, a) <= *b { a } else { b.1 })
            }
            (Some(&a), None) => Some(a),
            (None, Some(Reverse(b))) => Some(b.1),
            (None, None) => None,
        }
    }

    /// Removes the first entry (the one `peek` returned).
    #[inline]
    pub fn pop(&mut self, tasks: &TaskTable) -> Option<TaskId> {
        let from_sorted = match (self.sorted.front(), self.heap.peek()) {
            (Some(&a), Some(Reverse(b))) => (tasks[a].priority, a) <= *b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        let t = if from_sorted {
            self.sorted.pop_front()
        } else {
            self.heap.pop().map(|Reverse(e)| e.1)
        };
        if self.sorted.is_empty() && self.sorted.capacity() > 4096 {
            self.sorted = VecDeque::new();
        }
        t
    }

    pub fn iter(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.sorted
            .iter()
            .copied()
            .chain(self.heap.iter().map(|Reverse(e)| e.1))
    }
}
