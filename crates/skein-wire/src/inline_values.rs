//! Small results that came with a worker's `finished` event, kept until the
//! next `takeMessages` so the `memory` message to each client that wants the
//! key carries the value itself: the client then resolves its future without
//! a round trip to the worker. The worker still holds (and serves) the result;
//! this is a copy in flight, dropped at the next take whatever happened.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use skein_core::TaskId;

#[derive(Default)]
pub struct InlineValues {
    bytes: Vec<u8>,
    spans: HashMap<TaskId, (usize, usize), RandomState>,
}

impl InlineValues {
    pub fn insert(&mut self, task: TaskId, value: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.spans.insert(task, (start, value.len()));
    }

    pub fn get(&self, task: TaskId) -> Option<&[u8]> {
        self.spans
            .get(&task)
            .map(|&(start, len)| &self.bytes[start..start + len])
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
        // A burst of large batches should not pin its peak capacity forever.
        if self.bytes.capacity() > 1 << 20 {
            self.bytes.shrink_to(1 << 16);
        }
    }
}
