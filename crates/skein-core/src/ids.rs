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

/// Deterministic hasher for the maps keyed by ids the core hands out itself (some are
/// iterated): same inputs, same iteration order.
pub(crate) type FixedHasher = foldhash::fast::FixedState;

pub(crate) fn fixed_hasher() -> FixedHasher {
    foldhash::fast::FixedState::with_seed(0x5ce1_0c0d_e000_0001)
}

pub(crate) type FixedMap<K, V> = hashbrown::HashMap<K, V, FixedHasher>;
pub(crate) type FixedSet<K> = hashbrown::HashSet<K, FixedHasher>;

/// Hasher of client-chosen strings (task keys, prefixes, worker and resource names), keyed
/// with `Config::hash_seed`: the shell draws it at random, so nobody can precompute a set of
/// keys that collide and turn each lookup into a scan. Tables hashed with it are only
/// looked up, never iterated, so the seed changes where keys sit, not what the core does.
#[derive(Clone, Debug)]
pub(crate) struct KeyHasher {
    per_hasher_seed: u64,
    shared: foldhash::SharedSeed,
}

impl KeyHasher {
    pub fn new(seed: u64) -> Self {
        KeyHasher {
            per_hasher_seed: seed,
            shared: foldhash::SharedSeed::from_u64(seed.rotate_left(32)),
        }
    }
}

impl std::hash::BuildHasher for KeyHasher {
    type Hasher = foldhash::fast::FoldHasher;

    #[inline]
    fn build_hasher(&self) -> Self::Hasher {
        foldhash::fast::FoldHasher::with_seed(self.per_hasher_seed, &self.shared)
    }
}

/// A table keyed by client-chosen names.
pub(crate) type NameMap<V> = hashbrown::HashMap<Box<str>, V, KeyHasher>;
