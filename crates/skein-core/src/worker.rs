//! The worker table: per-worker processing set, held data (`has_what`), occupancy, and the
//! indexes placement uses (by name, by resource, by load level).

use crate::ids::{KeyHasher, NameMap, TaskId, WorkerId};
use crate::room::RoomIndex;
use crate::spec::Removal;

/// One worker. The fields placement reads for every candidate come first and share one
/// cache line (`repr(C, align(64))`), so large clusters cost a miss per candidate, not three.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct Worker {
    pub alive: bool,
    /// Placement scratch: bytes of a task's inputs held here, valid when `mark` is current.
    pub mark: u32,
    /// Bucket in the room index and position in it.
    pub level: u32,
    pub level_pos: u32,
    pub slots: u32,
    pub mark_bytes: u64,
    /// Sum of the estimates (µs) of the processing tasks.
    pub occupancy_us: u64,
    /// Tasks processing here that hold a slot; each task stores its position (`Task::set_pos`).
    pub processing: Vec<TaskId>,
    // --- colder
    pub name: Box<str>,
    /// (resource id, amount declared), sorted by id.
    pub resources: Box<[(u32, f64)]>,
    pub last_seen: f64,
    /// Data held here; each task stores its position among its holders.
    pub has_what: Vec<TaskId>,
    /// Tasks processing here that seceded from their slot (they wait for tasks they
    /// submitted): counted in no load level, occupancy, root-ish room or stealing; each stores
    /// its position here (`Task::set_pos`, with `FLAG_LONG_RUNNING`).
    pub long_running: Vec<TaskId>,
    /// Task reports from this worker so far (finished, erred, executing...), and the count
    /// `tick` last saw with the time since which it has not changed (see `Config::stall_timeout`).
    pub reports: u64,
    pub reports_seen: u64,
    pub quiet_since: f64,
    /// Why it was removed, once it is.
    pub removal: Option<Removal>,
    /// It asked for no new tasks (its memory is past its pause threshold): it is out of the
    /// room index and no placement picks it until it resumes.
    pub paused: bool,
}

impl Worker {
    /// Live and taking new tasks: in the room index, a candidate for placement.
    #[inline]
    pub fn open(&self) -> bool {
        self.alive && !self.paused
    }
}

impl Worker {
    /// Amount of resource `r` declared (0 if none).
    pub fn resource(&self, r: u32) -> f64 {
        self.resources
            .iter()
            .find(|(id, _)| *id == r)
            .map_or(0.0, |&(_, v)| v)
    }

    pub fn satisfies(&self, needs: &[(u32, f64)]) -> bool {
        needs.iter().all(|&(r, v)| self.resource(r) >= v)
    }

    /// Estimated seconds of queued work per slot.
    #[inline]
    pub fn occupancy_per_slot(&self) -> f64 {
        self.occupancy_us as f64 * 1e-6 / self.slots.max(1) as f64
    }
}

pub(crate) struct WorkerTable {
    pub list: Vec<Worker>,
    /// Live workers by name.
    pub by_name: NameMap<WorkerId>,
    pub room: RoomIndex,
    resource_ids: NameMap<u32>,
    /// Live workers declaring each resource.
    pub with_resource: Vec<Vec<WorkerId>>,
    pub alive: usize,
    /// Slots of the live workers (paused ones too: they come back), as Dask's `total_nthreads`.
    pub total_slots: u64,
    /// Tasks in the workers' long-running lists, all told.
    pub long_running: usize,
    /// Placement scratch epoch and candidate list (reused, so no allocation per decision).
    pub epoch: u32,
    pub candidates: Vec<WorkerId>,
}

impl WorkerTable {
    pub fn new(max_tasks_per_slot: u32, hasher: KeyHasher) -> Self {
        WorkerTable {
            list: Vec::new(),
            by_name: NameMap::with_hasher(hasher.clone()),
            room: RoomIndex::new(max_tasks_per_slot),
            resource_ids: NameMap::with_hasher(hasher),
            with_resource: Vec::new(),
            alive: 0,
            total_slots: 0,
            long_running: 0,
            epoch: 0,
            candidates: Vec::new(),
        }
    }

    pub fn resource_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.resource_ids.get(name) {
            return id;
        }
        let id = self.with_resource.len() as u32;
        self.with_resource.push(Vec::new());
        self.resource_ids.insert(name.into(), id);
        id
    }

    /// A live worker by id.
    #[inline]
    pub fn live(&self, w: WorkerId) -> Option<&Worker> {
        self.list.get(w.ix()).filter(|wk| wk.alive)
    }

    pub fn add(
        &mut self,
        name: &str,
        slots: u32,
        resources: Box<[(u32, f64)]>,
        now: f64,
    ) -> WorkerId {
        let w = WorkerId(self.list.len() as u32);
        for &(r, _) in resources.iter() {
            self.with_resource[r as usize].push(w);
        }
        self.list.push(Worker {
            name: name.into(),
            slots,
            resources,
            alive: true,
            last_seen: now,
            processing: Vec::new(),
            has_what: Vec::new(),
            long_running: Vec::new(),
            occupancy_us: 0,
            level: 0,
            level_pos: 0,
            mark: 0,
            mark_bytes: 0,
            reports: 0,
            reports_seen: 0,
            quiet_since: now,
            removal: None,
            paused: false,
        });
        self.by_name.insert(name.into(), w);
        self.room.insert(&mut self.list, w);
        self.alive += 1;
        self.total_slots += u64::from(slots);
        w
    }

    /// Takes a worker out of every index; its processing/has_what are left for the caller.
    pub fn retire(&mut self, w: WorkerId) {
        if !self.list[w.ix()].paused {
            self.room.remove(&mut self.list, w);
        }
        let wk = &mut self.list[w.ix()];
        wk.alive = false;
        let name = wk.name.clone();
        let resources = wk.resources.clone();
        if self.by_name.get(&name) == Some(&w) {
            self.by_name.remove(&name);
        }
        for &(r, _) in resources.iter() {
            self.with_resource[r as usize].retain(|&x| x != w);
        }
        self.alive -= 1;
        self.total_slots -= u64::from(self.list[w.ix()].slots);
    }

    /// Pauses or resumes live worker `w`; false when that changes nothing.
    pub fn set_paused(&mut self, w: WorkerId, paused: bool) -> bool {
        let wk = &self.list[w.ix()];
        if !wk.alive || wk.paused == paused {
            return false;
        }
        if paused {
            self.room.remove(&mut self.list, w);
            self.list[w.ix()].paused = true;
        } else {
            self.list[w.ix()].paused = false;
            self.room.insert(&mut self.list, w);
        }
        true
    }

    /// `w` reported on one of its tasks: it is not sitting on them (see `Config::stall_timeout`).
    #[inline]
    pub fn note_report(&mut self, w: WorkerId) {
        self.list[w.ix()].reports += 1;
    }

    /// Adds `t` to `w`'s processing set; returns its position.
    #[inline]
    pub fn push_processing(&mut self, w: WorkerId, t: TaskId, estimate_us: u32) -> u32 {
        let wk = &mut self.list[w.ix()];
        let pos = wk.processing.len() as u32;
        wk.processing.push(t);
        wk.occupancy_us += estimate_us as u64;
        if wk.open() {
            self.room.update(&mut self.list, w);
        }
        pos
    }

    /// Removes the entry at `pos` from `w`'s processing set; returns the task moved into
    /// `pos` (whose stored position the caller must update).
    #[inline]
    pub fn remove_processing(&mut self, w: WorkerId, pos: u32, estimate_us: u32) -> Option<TaskId> {
        let wk = &mut self.list[w.ix()];
        wk.processing.swap_remove(pos as usize);
        wk.occupancy_us -= estimate_us as u64;
        let moved = wk.processing.get(pos as usize).copied();
        if wk.open() {
            self.room.update(&mut self.list, w);
        }
        moved
    }

    /// Moves the entry at `pos` of `w`'s processing set to its long-running list (its estimate
    /// leaves the occupancy). Returns its position there and the task moved into `pos`.
    pub fn secede(&mut self, w: WorkerId, pos: u32, estimate_us: u32) -> (u32, Option<TaskId>) {
        let wk = &mut self.list[w.ix()];
        let t = wk.processing[pos as usize];
        let moved = self.remove_processing(w, pos, estimate_us);
        let wk = &mut self.list[w.ix()];
        let at = wk.long_running.len() as u32;
        wk.long_running.push(t);
        self.long_running += 1;
        (at, moved)
    }

    /// Removes the entry at `pos` from `w`'s long-running list; returns the task moved into
    /// `pos` (whose stored position the caller must update).
    pub fn remove_long_running(&mut self, w: WorkerId, pos: u32) -> Option<TaskId> {
        let wk = &mut self.list[w.ix()];
        wk.long_running.swap_remove(pos as usize);
        self.long_running -= 1;
        wk.long_running.get(pos as usize).copied()
    }

    pub fn next_epoch(&mut self) -> u32 {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            for wk in &mut self.list {
                wk.mark = 0;
            }
            self.epoch = 1;
        }
        self.epoch
    }
}
