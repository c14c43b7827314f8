//! Workers bucketed by load level (processing tasks per slot), so "the least loaded worker"
//! and "does anyone have room" are O(1) however many workers there are.

use crate::ids::WorkerId;
use crate::worker::Worker;

pub(crate) struct RoomIndex {
    levels: Vec<Vec<WorkerId>>,
    /// Lowest non-empty level (== levels.len() when empty).
    min: usize,
    /// Levels at or above this are all "full for any prefix".
    max_level: u32,
}

impl RoomIndex {
    pub fn new(max_tasks_per_slot: u32) -> Self {
        RoomIndex {
            levels: Vec::new(),
            min: 0,
            max_level: max_tasks_per_slot.saturating_add(1),
        }
    }

    /// floor(processing / slots), capped.
    #[inline]
    pub fn level_of(&self, w: &Worker) -> u32 {
        ((w.processing.len() as u64 / w.slots.max(1) as u64).min(self.max_level as u64)) as u32
    }

    pub fn insert(&mut self, workers: &mut [Worker], w: WorkerId) {
        let level = self.level_of(&workers[w.ix()]);
        self.put(workers, w, level);
    }

    fn put(&mut self, workers: &mut [Worker], w: WorkerId, level: u32) {
        let l = level as usize;
        let was_empty = self.min >= self.levels.len();
        if self.levels.len() <= l {
            self.levels.resize_with(l + 1, Vec::new);
        }
        let wk = &mut workers[w.ix()];
        wk.level = level;
        wk.level_pos = self.levels[l].len() as u32;
        self.levels[l].push(w);
        if was_empty || l < self.min {
            self.min = l;
        }
    }

    pub fn remove(&mut self, workers: &mut [Worker], w: WorkerId) {
        let (l, p) = {
            let wk = &workers[w.ix()];
            (wk.level as usize, wk.level_pos as usize)
        };
        let bucket = &mut self.levels[l];
        bucket.swap_remove(p);
        if let Some(&moved) = bucket.get(p) {
            workers[moved.ix()].level_pos = p as u32;
        }
        if l == self.min {
            while self.min < self.levels.len() && self.levels[self.min].is_empty() {
                self.min += 1;
            }
        }
    }

    /// Re-buckets a live worker after its processing count changed.
    #[inline]
    pub fn update(&mut self, workers: &mut [Worker], w: WorkerId) {
        let level = self.level_of(&workers[w.ix()]);
        if level != workers[w.ix()].level {
            self.remove(workers, w);
            self.put(workers, w, level);
        }
    }

    /// A worker with the fewest processing tasks per slot.
    #[inline]
    pub fn least_loaded(&self) -> Option<WorkerId> {
        self.levels.get(self.min).and_then(|b| b.last().copied())
    }

    /// Workers at load level `level` (empty past the top).
    pub fn level(&self, level: usize) -> &[WorkerId] {
        self.levels.get(level).map_or(&[], |b| &b[..])
    }

    /// One past the highest level that may hold workers.
    pub fn levels_len(&self) -> usize {
        self.levels.len()
    }

    /// Number of workers indexed (for validation).
    pub fn len(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }

    pub fn at(&self, level: u32, pos: u32) -> Option<WorkerId> {
        self.levels
            .get(level as usize)
            .and_then(|b| b.get(pos as usize))
            .copied()
    }

    pub fn min_level_consistent(&self) -> bool {
        let first = self
            .levels
            .iter()
            .position(|b| !b.is_empty())
            .unwrap_or(self.levels.len());
        first == self.min
    }
}
