//! The task table: compact per-task slots in one array, keys interned once, slots recycled.

use crate::ids::{fixed_hasher, FixedMap, KeyHasher, TaskId, WorkerId, NO_WORKER};
use crate::spec::{DeathCause, Failure};
use crate::state::TaskState;
use crate::story::Story;
use hashbrown::HashTable;
use smallvec::SmallVec;
use std::cmp::Ordering;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Run order: user priority (higher first), then graph generation, then order in graph.
/// `Ord` puts the task that should run first first.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Priority {
    pub user: i32,
    /// Which graph (or scatter) made the task: 64 bits, so it never wraps and an old graph
    /// never overtakes a new one.
    pub generation: u64,
    pub order: u32,
}

impl Ord for Priority {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .user
            .cmp(&self.user)
            .then(self.generation.cmp(&other.generation))
            .then(self.order.cmp(&other.order))
    }
}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Rarely used per-task data, boxed so the common task pays 8 bytes for it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Extras {
    /// Allowed worker names; `None` = any.
    pub restrictions: Option<Box<[Box<str>]>>,
    /// (resource id, amount needed).
    pub resources: Box<[(u32, f64)]>,
    /// Set while erred: (the key whose failure caused it, the failure).
    pub failure: Option<(TaskId, Arc<Failure>)>,
    /// Workers lost while this task ran on them, and how.
    pub killed_on: Vec<(WorkerId, DeathCause)>,
    /// Holders that could not give this key to a worker that needed it, since it last got
    /// through (see `Failure::Unfetchable`).
    pub unfetched_from: Vec<WorkerId>,
    /// The last error a worker met fetching this key, when it said (see `Failure::Unfetchable`).
    pub unfetched_reason: Option<Box<str>>,
    /// Runs left after one raises before the task errs (`TaskSpec::retries`).
    pub retries_left: u32,
    /// Restrictions are a preference (`TaskSpec::allow_other_workers`).
    pub loose: bool,
}

/// The task has an entry in the ready queue (possibly stale: the entry is dropped lazily).
pub(crate) const FLAG_IN_QUEUE: u8 = 1;
/// Data placed by a client (no payload): cannot be recomputed.
pub(crate) const FLAG_SCATTERED: u8 = 2;
/// Exactly one holder, stored inline in `worker` / `set_pos`.
pub(crate) const FLAG_HELD: u8 = 4;
/// Two or more holders, stored in `TaskTable::more_holders`.
pub(crate) const FLAG_MANY_HOLDERS: u8 = 8;
/// A steal request for its current run is in flight (`stealing.rs` holds the record).
pub(crate) const FLAG_STEALING: u8 = 16;
/// While processing: its worker said the current run is executing (not just queued there).
pub(crate) const FLAG_EXECUTING: u8 = 32;
/// While processing: the task seceded from its slot (it waits for tasks it submitted), so it
/// sits in its worker's `long_running` list, not `processing`, and `set_pos` indexes that list.
pub(crate) const FLAG_LONG_RUNNING: u8 = 64;

/// One task slot. Kept compact: the per-task memory budget is 256 bytes all told.
#[derive(Debug)]
pub(crate) struct Task {
    /// Key bytes followed by payload bytes: one allocation for both.
    data: Box<[u8]>,
    /// `[dep0..depn, pos0..posn]`: dependencies in the order given, then this task's
    /// position in each dependency's `dependents` (for O(1) unlinking).
    deps: Box<[TaskId]>,
    /// (dependent, index of this task in the dependent's dependencies). One lives inline.
    pub dependents: SmallVec<[(TaskId, u32); 1]>,
    pub story: Story,
    pub extras: Option<Box<Extras>>,
    pub nbytes: u64,
    pub priority: Priority,
    /// Keys are at most `MAX_KEY_BYTES`, so 16 bits hold the length.
    key_len: u16,
    pub prefix: u32,
    /// While waiting: dependency edges whose task is not in memory.
    pub waiting_on: u32,
    /// Dependent edges whose dependent still needs this data (is waiting/queued/no-worker/processing).
    pub waiters: u32,
    /// Clients wanting this key.
    pub want_count: u32,
    /// While processing: the worker. With one holder (`FLAG_HELD`): the holder.
    /// Otherwise `NO_WORKER`.
    pub worker: WorkerId,
    /// Position in the index set that `worker`/state put it in: the worker's processing
    /// list, the holder's `has_what`, or the no-worker list.
    pub set_pos: u32,
    /// Run id of the current Compute (64 bits: never reused, so a report of an old run is
    /// never taken for the current one).
    pub run: u64,
    /// Duration estimate (µs) added to the worker's occupancy while processing.
    pub estimate_us: u32,
    pub state: TaskState,
    pub flags: u8,
}

impl Task {
    pub fn new(
        key: &str,
        payload: &[u8],
        deps: &[TaskId],
        prefix: u32,
        priority: Priority,
    ) -> Task {
        Task::from_key(key.to_string(), payload, deps, prefix, priority)
    }

    /// Like `new`, reusing the key's allocation for key + payload.
    pub fn from_key(
        key: String,
        payload: &[u8],
        deps: &[TaskId],
        prefix: u32,
        priority: Priority,
    ) -> Task {
        let key_len = u16::try_from(key.len())
            .expect("a key is checked against MAX_KEY_BYTES before its task is made");
        let mut data = key.into_bytes();
        data.extend_from_slice(payload);
        let mut d = Vec::with_capacity(deps.len() * 2);
        d.extend_from_slice(deps);
        d.resize(deps.len() * 2, TaskId(0));
        Task {
            data: data.into_boxed_slice(),
            deps: d.into_boxed_slice(),
            dependents: SmallVec::new(),
            story: Story::default(),
            extras: None,
            nbytes: 0,
            priority,
            key_len,
            prefix,
            waiting_on: 0,
            waiters: 0,
            want_count: 0,
            worker: WorkerId(NO_WORKER),
            set_pos: 0,
            run: 0,
            estimate_us: 0,
            state: TaskState::Released,
            flags: 0,
        }
    }

    #[inline]
    pub fn key_bytes(&self) -> &[u8] {
        &self.data[..self.key_len as usize]
    }
    #[inline]
    pub fn key(&self) -> &str {
        // Built from a `&str`, so this cannot fail; "" keeps it panic-free regardless.
        std::str::from_utf8(self.key_bytes()).unwrap_or("")
    }
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.data[self.key_len as usize..]
    }
    #[inline]
    pub fn deps(&self) -> &[TaskId] {
        &self.deps[..self.deps.len() / 2]
    }
    #[inline]
    pub fn dep_count(&self) -> usize {
        self.deps.len() / 2
    }
    #[inline]
    pub fn dep(&self, i: usize) -> TaskId {
        self.deps[i]
    }
    #[inline]
    pub fn dep_pos(&self, i: usize) -> u32 {
        self.deps[self.deps.len() / 2 + i].0
    }
    #[inline]
    pub fn set_dep_pos(&mut self, i: usize, p: u32) {
        let n = self.deps.len() / 2;
        self.deps[n + i] = TaskId(p);
    }
    #[inline]
    pub fn needed(&self) -> bool {
        self.want_count > 0 || self.waiters > 0
    }
    #[inline]
    pub fn scattered(&self) -> bool {
        self.flags & FLAG_SCATTERED != 0
    }
    #[inline]
    pub fn processing_worker(&self) -> Option<WorkerId> {
        (self.state == TaskState::Processing && self.worker.0 != NO_WORKER).then_some(self.worker)
    }
    #[inline]
    pub fn has_holders(&self) -> bool {
        self.flags & (FLAG_HELD | FLAG_MANY_HOLDERS) != 0
    }
    pub fn restrictions(&self) -> Option<&[Box<str>]> {
        self.extras.as_ref().and_then(|e| e.restrictions.as_deref())
    }
    /// Whether its restrictions give way when no named worker is there.
    pub fn loose_restrictions(&self) -> bool {
        self.extras.as_ref().is_some_and(|e| e.loose)
    }
    pub fn resources(&self) -> &[(u32, f64)] {
        self.extras
            .as_ref()
            .map(|e| &e.resources[..])
            .unwrap_or(&[])
    }
    pub fn failure(&self) -> Option<&(TaskId, Arc<Failure>)> {
        self.extras.as_ref().and_then(|e| e.failure.as_ref())
    }
    /// Any worker may run it: no restrictions, no resources. Only such tasks are queued.
    #[inline]
    pub fn unrestricted(&self) -> bool {
        self.extras
            .as_ref()
            .is_none_or(|e| e.restrictions.is_none() && e.resources.is_empty())
    }
    /// How many times a worker (or its execution thread) died while running it.
    pub fn suspicious(&self) -> usize {
        self.extras.as_ref().map_or(0, |e| e.killed_on.len())
    }
    pub fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Default::default)
    }
}

/// All task slots plus the key index. Forgotten slots are recycled two `take_instructions`
/// calls later, so ids in the batch the caller just took still resolve to their key.
pub(crate) struct TaskTable {
    pub slots: Vec<Task>,
    index: HashTable<TaskId>,
    hasher: KeyHasher,
    free: Vec<TaskId>,
    reported: Vec<TaskId>,
    pending: Vec<TaskId>,
    /// Holders of tasks held by two or more workers: (workers, their `has_what` positions).
    more_holders: FixedMap<TaskId, (Vec<WorkerId>, Vec<u32>)>,
}

impl TaskTable {
    pub fn new(hasher: KeyHasher) -> Self {
        TaskTable {
            slots: Vec::new(),
            index: HashTable::new(),
            hasher,
            free: Vec::new(),
            reported: Vec::new(),
            pending: Vec::new(),
            more_holders: FixedMap::with_hasher(fixed_hasher()),
        }
    }

    // --- holders: one inline in the task (the usual case), more in a side map

    /// Workers holding `t`'s data.
    #[inline]
    pub fn who_has(&self, t: TaskId) -> &[WorkerId] {
        let task = &self.slots[t.ix()];
        if task.flags & FLAG_HELD != 0 {
            std::slice::from_ref(&task.worker)
        } else if task.flags & FLAG_MANY_HOLDERS != 0 {
            self.more_holders.get(&t).map_or(&[], |m| &m.0[..])
        } else {
            &[]
        }
    }

    /// Index of `w` among `t`'s holders.
    #[inline]
    pub fn holder_index(&self, t: TaskId, w: WorkerId) -> Option<usize> {
        self.who_has(t).iter().position(|&x| x == w)
    }

    /// Position of holder `i` in its `has_what`.
    pub fn holder_pos(&self, t: TaskId, i: usize) -> u32 {
        let task = &self.slots[t.ix()];
        if task.flags & FLAG_MANY_HOLDERS != 0 {
            self.more_holders.get(&t).map_or(u32::MAX, |m| m.1[i])
        } else {
            task.set_pos
        }
    }

    pub fn set_holder_pos(&mut self, t: TaskId, i: usize, p: u32) {
        let task = &mut self.slots[t.ix()];
        if task.flags & FLAG_MANY_HOLDERS != 0 {
            if let Some(m) = self.more_holders.get_mut(&t) {
                m.1[i] = p;
            }
        } else {
            task.set_pos = p;
        }
    }

    pub fn push_holder(&mut self, t: TaskId, w: WorkerId, p: u32) {
        let task = &mut self.slots[t.ix()];
        if task.flags & FLAG_MANY_HOLDERS != 0 {
            if let Some(m) = self.more_holders.get_mut(&t) {
                m.0.push(w);
                m.1.push(p);
            }
        } else if task.flags & FLAG_HELD != 0 {
            let first = (task.worker, task.set_pos);
            task.flags = (task.flags & !FLAG_HELD) | FLAG_MANY_HOLDERS;
            task.worker = WorkerId(NO_WORKER);
            self.more_holders
                .insert(t, (vec![first.0, w], vec![first.1, p]));
        } else {
            task.worker = w;
            task.set_pos = p;
            task.flags |= FLAG_HELD;
        }
    }

    /// Removes holder `i`; returns it and its `has_what` position.
    pub fn remove_holder_at(&mut self, t: TaskId, i: usize) -> (WorkerId, u32) {
        let task = &mut self.slots[t.ix()];
        if task.flags & FLAG_HELD != 0 {
            let out = (task.worker, task.set_pos);
            task.worker = WorkerId(NO_WORKER);
            task.flags &= !FLAG_HELD;
            return out;
        }
        let Some(m) = self.more_holders.get_mut(&t) else {
            return (WorkerId(NO_WORKER), u32::MAX);
        };
        let out = (m.0.remove(i), m.1.remove(i));
        if m.0.len() == 1 {
            let (w, p) = (m.0[0], m.1[0]);
            self.more_holders.remove(&t);
            task.flags = (task.flags & !FLAG_MANY_HOLDERS) | FLAG_HELD;
            task.worker = w;
            task.set_pos = p;
        }
        out
    }

    pub fn many_holders_len(&self) -> usize {
        self.more_holders.len()
    }

    #[inline]
    pub fn hash_key(&self, key: &str) -> u64 {
        self.hasher.hash_one(key.as_bytes())
    }

    pub fn find(&self, key: &str) -> Option<TaskId> {
        self.find_hashed(self.hash_key(key), key)
    }

    #[inline]
    pub fn find_hashed(&self, hash: u64, key: &str) -> Option<TaskId> {
        let slots = &self.slots;
        self.index
            .find(hash, |&t| slots[t.ix()].key_bytes() == key.as_bytes())
            .copied()
    }

    #[inline]
    pub fn contains(&self, t: TaskId) -> bool {
        t.ix() < self.slots.len()
    }

    pub fn reserve(&mut self, additional: usize) {
        let fresh = additional.saturating_sub(self.free.len());
        self.slots.reserve(fresh);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .reserve(additional, |&t| hasher.hash_one(slots[t.ix()].key_bytes()));
    }

    /// Stores a new task (key not yet present, `hash` = `hash_key(key)`) and indexes its key.
    pub fn insert(&mut self, hash: u64, task: Task) -> TaskId {
        let t = self.store(task);
        self.index_key(hash, t);
        t
    }

    /// Stores a new task without indexing its key yet (see `index_key`).
    pub fn store(&mut self, task: Task) -> TaskId {
        match self.free.pop() {
            Some(t) => {
                self.slots[t.ix()] = task;
                t
            }
            None => {
                self.slots.push(task);
                TaskId((self.slots.len() - 1) as u32)
            }
        }
    }

    /// Indexes a stored task's key (not yet present; `hash` = `hash_key(key)`).
    #[inline]
    pub fn index_key(&mut self, hash: u64, t: TaskId) {
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .insert_unique(hash, t, |&x| hasher.hash_one(slots[x.ix()].key_bytes()));
    }

    /// Mask of the key index's bucket positions: keys inserted in order of `hash & mask`
    /// sweep the table once instead of hitting it at random.
    pub fn index_bucket_mask(&self) -> u64 {
        crate::bucket_order::bucket_mask_for(self.index.capacity())
    }

    /// Drops the key from the index; the slot keeps key and payload until recycled. A slot
    /// with a ready-queue entry is recycled once the entry is dropped (`recycle_later`).
    pub fn forget(&mut self, t: TaskId) {
        let hash = self.hasher.hash_one(self.slots[t.ix()].key_bytes());
        if let Ok(entry) = self.index.find_entry(hash, |&x| x == t) {
            entry.remove();
        }
        if self.slots[t.ix()].flags & FLAG_IN_QUEUE == 0 {
            self.pending.push(t);
        }
    }

    /// A forgotten slot whose queue entry was just dropped.
    pub fn recycle_later(&mut self, t: TaskId) {
        self.pending.push(t);
    }

    /// Called by `take_instructions`: slots reported in the previous batch become reusable;
    /// slots forgotten since then are reported now.
    pub fn rotate_recycling(&mut self) {
        self.free.append(&mut self.reported);
        std::mem::swap(&mut self.reported, &mut self.pending);
    }

    pub fn indexed_len(&self) -> usize {
        self.index.len()
    }

    /// Forgotten slots on their way to reuse.
    pub fn recycling(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.free
            .iter()
            .chain(&self.reported)
            .chain(&self.pending)
            .copied()
    }
}

impl std::ops::Index<TaskId> for TaskTable {
    type Output = Task;
    #[inline]
    fn index(&self, t: TaskId) -> &Task {
        &self.slots[t.ix()]
    }
}

impl std::ops::IndexMut<TaskId> for TaskTable {
    #[inline]
    fn index_mut(&mut self, t: TaskId) -> &mut Task {
        &mut self.slots[t.ix()]
    }
}
