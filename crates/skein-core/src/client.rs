//! Clients and what they want: a set of keys per client and a want count per task.

use crate::error::CoreError;
use crate::ids::{fixed_hasher, ClientId, FixedSet, TaskId};
use crate::scheduler::Scheduler;
use crate::state::TaskState;
use crate::story::Stimulus;

pub(crate) struct Client {
    pub alive: bool,
    pub wants: WantSet,
}

/// The keys one client wants: a hash set while small, a bitmap over task slots once large
/// (a client wanting a million keys then pays an eighth of a byte per slot, and membership
/// tests on the hot path touch memory in task order instead of at random).
pub(crate) enum WantSet {
    Sparse(FixedSet<TaskId>),
    Dense { bits: Vec<u64>, len: usize },
}

const DENSE_FROM: usize = 1024;

impl Default for WantSet {
    fn default() -> Self {
        WantSet::Sparse(FixedSet::with_hasher(fixed_hasher()))
    }
}

impl WantSet {
    pub fn len(&self) -> usize {
        match self {
            WantSet::Sparse(s) => s.len(),
            WantSet::Dense { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn contains(&self, t: TaskId) -> bool {
        match self {
            WantSet::Sparse(s) => s.contains(&t),
            WantSet::Dense { bits, .. } => bits
                .get(t.ix() / 64)
                .is_some_and(|w| w & (1 << (t.ix() % 64)) != 0),
        }
    }

    /// Makes room for `n` more keys (switching to the bitmap if that makes it large).
    pub fn reserve(&mut self, n: usize) {
        match self {
            WantSet::Sparse(s) if s.len() + n >= DENSE_FROM => self.densify(),
            WantSet::Sparse(s) => s.reserve(n),
            WantSet::Dense { .. } => {}
        }
    }

    fn densify(&mut self) {
        if let WantSet::Sparse(s) = self {
            let mut bits = Vec::new();
            for t in s.iter() {
                set_bit(&mut bits, *t);
            }
            *self = WantSet::Dense { bits, len: s.len() };
        }
    }

    #[inline]
    pub fn insert(&mut self, t: TaskId) -> bool {
        match self {
            WantSet::Sparse(s) => {
                let new = s.insert(t);
                if s.len() >= DENSE_FROM {
                    self.densify();
                }
                new
            }
            WantSet::Dense { bits, len } => {
                let new = set_bit(bits, t);
                *len += usize::from(new);
                new
            }
        }
    }

    #[inline]
    pub fn remove(&mut self, t: TaskId) -> bool {
        match self {
            WantSet::Sparse(s) => s.remove(&t),
            WantSet::Dense { bits, len } => {
                let Some(w) = bits.get_mut(t.ix() / 64) else {
                    return false;
                };
                let mask = 1u64 << (t.ix() % 64);
                let had = *w & mask != 0;
                *w &= !mask;
                *len -= usize::from(had);
                had
            }
        }
    }

    /// The keys, in id order.
    pub fn to_sorted_vec(&self) -> Vec<TaskId> {
        match self {
            WantSet::Sparse(s) => {
                let mut v: Vec<TaskId> = s.iter().copied().collect();
                v.sort_unstable();
                v
            }
            WantSet::Dense { bits, .. } => bits
                .iter()
                .enumerate()
                .flat_map(|(i, &w)| {
                    (0..64)
                        .filter(move |b| w & (1 << b) != 0)
                        .map(move |b| TaskId((i * 64 + b) as u32))
                })
                .collect(),
        }
    }
}

fn set_bit(bits: &mut Vec<u64>, t: TaskId) -> bool {
    let i = t.ix() / 64;
    if bits.len() <= i {
        bits.resize(i + 1, 0);
    }
    let mask = 1u64 << (t.ix() % 64);
    let new = bits[i] & mask == 0;
    bits[i] |= mask;
    new
}

#[derive(Default)]
pub(crate) struct ClientTable {
    pub list: Vec<Client>,
    /// Live clients, for notifying a task's wanters.
    pub live: Vec<ClientId>,
}

impl ClientTable {
    pub fn live(&self, c: ClientId) -> Option<&Client> {
        self.list.get(c.ix()).filter(|cl| cl.alive)
    }
}

impl Scheduler {
    pub fn add_client(&mut self) -> ClientId {
        let c = ClientId(self.clients.list.len() as u32);
        self.clients.list.push(Client {
            alive: true,
            wants: WantSet::default(),
        });
        self.clients.live.push(c);
        self.outbox.add_client();
        self.end_event();
        c
    }

    /// Releases everything the client wanted. Removing a removed client is a no-op.
    pub fn remove_client(&mut self, c: ClientId) -> Result<(), CoreError> {
        let Some(client) = self.clients.list.get_mut(c.ix()) else {
            return Err(CoreError::UnknownClient { client: c.0 });
        };
        if !client.alive {
            return Ok(());
        }
        self.stimulus = Stimulus::RemoveClient;
        client.alive = false;
        let wanted = std::mem::take(&mut client.wants).to_sorted_vec();
        self.clients.live.retain(|&x| x != c);
        self.outbox.drop_client(c);
        for t in wanted {
            self.tasks[t].want_count -= 1;
            self.recommend_settle(t);
            self.run_recommendations();
        }
        self.end_event();
        Ok(())
    }

    /// Client `c` wants these keys (idempotent per client). Keys already in memory or erred
    /// are reported to `c` in the next batch.
    pub fn want_keys(&mut self, c: ClientId, keys: &[&str]) -> Result<(), CoreError> {
        self.check_client(c)?;
        let mut ids = Vec::with_capacity(keys.len());
        for &k in keys {
            ids.push(
                self.tasks
                    .find(k)
                    .ok_or_else(|| CoreError::unknown_key(k))?,
            );
        }
        self.stimulus = Stimulus::WantKeys;
        for t in ids {
            self.want(c, t);
            self.run_recommendations();
        }
        self.end_event();
        Ok(())
    }

    /// Drops the client's want of these keys; unknown keys are ignored (releases race with
    /// forgetting), keys longer than `MAX_KEY_BYTES` refused.
    pub fn release_keys(&mut self, c: ClientId, keys: &[&str]) -> Result<(), CoreError> {
        if self.clients.list.get(c.ix()).is_none() {
            return Err(CoreError::UnknownClient { client: c.0 });
        }
        check_keys(keys)?;
        self.stimulus = Stimulus::ReleaseKeys;
        for &k in keys {
            if let Some(t) = self.tasks.find(k) {
                self.unwant(c, t);
                self.run_recommendations();
            }
        }
        self.end_event();
        Ok(())
    }

    /// Like `release_keys`, with the tasks named by id (as `submit_graph_indexed` returned
    /// them): no key is looked up. An id `c` does not want (any more) is ignored, so a
    /// recycled slot is never released by mistake.
    pub fn release_tasks(&mut self, c: ClientId, tasks: &[TaskId]) -> Result<(), CoreError> {
        if self.clients.list.get(c.ix()).is_none() {
            return Err(CoreError::UnknownClient { client: c.0 });
        }
        self.stimulus = Stimulus::ReleaseKeys;
        for &t in tasks {
            if self.wants(c, t) {
                self.unwant(c, t);
                self.run_recommendations();
            }
        }
        self.end_event();
        Ok(())
    }

    /// Release, plus a `cancelled` report to `c` for every key it wanted; as Dask's
    /// `cancel_key`, a key nobody else wants takes downstream with it every task only `c`
    /// wants (see `cancel_downstream`). A task stops only if nobody else needs it.
    pub fn cancel_keys(&mut self, c: ClientId, keys: &[&str]) -> Result<(), CoreError> {
        if self.clients.list.get(c.ix()).is_none() {
            return Err(CoreError::UnknownClient { client: c.0 });
        }
        check_keys(keys)?;
        self.stimulus = Stimulus::CancelKeys;
        for &k in keys {
            if let Some(t) = self.tasks.find(k) {
                if self.unwant(c, t) {
                    self.outbox.cancelled(c, t);
                    if self.tasks[t].want_count == 0 {
                        self.cancel_downstream(c, t);
                    }
                    self.run_recommendations();
                }
            }
        }
        self.end_event();
        Ok(())
    }

    /// `c` asks for erred keys to run again (Dask's `retry`). From each erred key named, the
    /// walk follows erred inputs down to the tasks whose own inputs did not err (the first to
    /// fail); those go back to released and are computed again, and every erred task
    /// downstream of them follows (so the keys named, and any other client's, run again too).
    /// Keys that did not err, or that the scheduler does not know, are passed over. Returns
    /// the tasks taken back from erred, for the client to wait on them anew.
    pub fn retry_keys(&mut self, c: ClientId, keys: &[&str]) -> Result<Vec<TaskId>, CoreError> {
        self.check_client(c)?;
        check_keys(keys)?;
        self.stimulus = Stimulus::Retry;
        let mut stack: Vec<TaskId> = keys
            .iter()
            .filter_map(|k| self.tasks.find(k))
            .filter(|&t| self.tasks[t].state == TaskState::Erred)
            .collect();
        let mut seen: FixedSet<TaskId> = FixedSet::with_hasher(fixed_hasher());
        while let Some(t) = stack.pop() {
            if !seen.insert(t) {
                continue;
            }
            let before = stack.len();
            for &d in self.tasks[t].deps() {
                if self.tasks[d].state == TaskState::Erred {
                    stack.push(d);
                }
            }
            if stack.len() == before {
                self.recommend(t, TaskState::Released);
            }
        }
        self.run_recommendations();
        let retried = std::mem::take(&mut self.retried);
        self.end_event();
        Ok(retried)
    }

    /// `c` cancelled `t`, which nobody else wants: every task downstream of it that `c` wants
    /// and nobody else does is cancelled for `c` too (reported `cancelled`), through tasks
    /// nobody wants; a task another client wants stops the walk there (it still needs `t`,
    /// which then keeps running for it). Without this, a dependent `c` still wants would keep
    /// `t` needed and running after `c` cancelled it.
    fn cancel_downstream(&mut self, c: ClientId, t: TaskId) {
        let mut seen: FixedSet<TaskId> = FixedSet::with_hasher(fixed_hasher());
        seen.insert(t);
        let mut stack: Vec<TaskId> = self.tasks[t].dependents.iter().map(|&(d, _)| d).collect();
        while let Some(u) = stack.pop() {
            if !seen.insert(u) {
                continue;
            }
            let by_c = self.clients.list[c.ix()].wants.contains(u);
            if self.tasks[u].want_count > u32::from(by_c) {
                continue;
            }
            if by_c && self.unwant(c, u) {
                self.outbox.cancelled(c, u);
            }
            stack.extend(self.tasks[u].dependents.iter().map(|&(d, _)| d));
        }
    }

    pub(crate) fn check_client(&self, c: ClientId) -> Result<(), CoreError> {
        match self.clients.live(c) {
            Some(_) => Ok(()),
            None => Err(CoreError::UnknownClient { client: c.0 }),
        }
    }

    /// Adds c's want of t (once per client) and reports finished keys.
    pub(crate) fn want(&mut self, c: ClientId, t: TaskId) {
        if self.clients.list[c.ix()].wants.insert(t) {
            self.tasks[t].want_count += 1;
            self.recommend_settle(t);
        }
        let task = &self.tasks[t];
        match task.state {
            TaskState::Memory => self.outbox.memory(c, t),
            TaskState::Erred => {
                if let Some((cause, f)) = task.failure() {
                    let (cause, f) = (*cause, f.clone());
                    self.outbox.erred(c, t, cause, f);
                }
            }
            _ => {}
        }
    }

    /// Drops c's want of t; true if c wanted it.
    pub(crate) fn unwant(&mut self, c: ClientId, t: TaskId) -> bool {
        let Some(client) = self.clients.list.get_mut(c.ix()) else {
            return false;
        };
        if !client.wants.remove(t) {
            return false;
        }
        self.tasks[t].want_count -= 1;
        self.recommend_settle(t);
        true
    }

    /// Clients wanting `t`, in client order (stops once all `want_count` are found).
    #[inline]
    pub(crate) fn for_each_wanter(
        &mut self,
        t: TaskId,
        mut f: impl FnMut(&mut crate::instructions::Outbox, ClientId),
    ) {
        let mut left = self.tasks[t].want_count;
        if left == 0 {
            return;
        }
        // Only live clients hold wants: if every one of them does, no need to look.
        let all = left as usize == self.clients.live.len();
        for &c in &self.clients.live {
            if all || self.clients.list[c.ix()].wants.contains(t) {
                f(&mut self.outbox, c);
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
    }
}

/// Every key within `MAX_KEY_BYTES`, checked before anything changes.
fn check_keys(keys: &[&str]) -> Result<(), CoreError> {
    keys.iter().try_for_each(|k| CoreError::check_key(k))
}
