//! Dense integer ids. Keys are strings only at the edge; inside the core every
//! task, worker and client is an index into an array.

/// A task slot. Slots of forgotten tasks are reused (see `Scheduler::take_instructions`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TaskId(pub u32);

/// A worker; never reused, so a stale id can always be recognised.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct WorkerId(pub u32);

/// A client; never reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ClientId(pub u32);

/// Marks "no worker" in compact u32 fields.
pub(crate) const NO_WORKER: u32 = u32::MAX;

impl TaskId {
    #[inline]
    pub(crate) fn ix(self) -> usize {
        self.0 as usize
    }
}

impl WorkerId {
    #[inline]
    pub(crate) fn ix(self) -> usize {
        self.0 as usize
    }
}

impl ClientId {
    #[inline]
    pub(crate) fn ix(self) -> usize {
        self.0 as usize
    }
}

/// Deterministic hasher for every map in the core: same inputs, same iteration order.
pub(crate) type FixedHasher = foldhash::fast::FixedState;

pub(crate) fn fixed_hasher() -> FixedHasher {
    foldhash::fast::FixedState::with_seed(0x5ce1_0c0d_e000_0001)
}

pub(crate) type FixedMap<K, V> = hashbrown::HashMap<K, V, FixedHasher>;
pub(crate) type FixedSet<K> = hashbrown::HashSet<K, FixedHasher>;
