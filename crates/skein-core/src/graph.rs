//! Graph intake: validate the whole graph first (nothing changes on error), then create the
//! new tasks with their priorities, link them to their dependencies, and record the wants.
//! Scattered data enters here too.

use crate::bucket_order::{bucket_mask_for, sort_by_masked_key};
use crate::error::CoreError;
use crate::ids::{ClientId, TaskId, WorkerId};
use crate::order::{order_graph, LocalEdges};
use crate::scheduler::Scheduler;
use crate::spec::TaskSpec;
use crate::state::TaskState;
use crate::story::Stimulus;
use crate::task::{Extras, Priority, Task, FLAG_SCATTERED};
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

/// A dependency resolved during validation.
#[derive(Clone, Copy)]
enum DepRef {
    /// Index of a new task of this graph.
    Local(u32),
    /// A task already in the scheduler.
    Existing(TaskId),
}

/// The keys a submitting client wants: named, or as positions in the graph it submits.
#[derive(Clone, Copy)]
enum Wanted<'a> {
    Keys(&'a [&'a str]),
    Positions(&'a [u32]),
}

/// The validated plan for one graph.
struct Plan {
    hashes: Vec<u64>,
    /// Per spec: the existing task it reuses, if any.
    existing: Vec<Option<TaskId>>,
    new_count: usize,
    /// Reuses, depends on or wants a task that existed before.
    touches_existing: bool,
    dep_start: Vec<u32>,
    deps: Vec<DepRef>,
    rank: Vec<u32>,
    wanted: Vec<DepRef>,
}

impl Scheduler {
    /// Validates the whole graph (empty key, duplicate in graph, unknown dependency, cycle,
    /// bad resources, unknown wanted key); on error nothing changes. Keys already in the
    /// scheduler are reused as they are. Every key in `wanted` (of this graph or existing)
    /// becomes wanted by `c`. Returns the ids of the graph's tasks in input order.
    pub fn submit_graph(
        &mut self,
        c: ClientId,
        tasks: Vec<TaskSpec>,
        wanted: &[&str],
    ) -> Result<Vec<TaskId>, CoreError> {
        self.submit(c, tasks, Wanted::Keys(wanted))
    }

    /// Like `submit_graph`, with the wanted keys named by their position in `tasks` (no key
    /// is compared or copied for them). A position past the graph is an invalid graph.
    pub fn submit_graph_indexed(
        &mut self,
        c: ClientId,
        tasks: Vec<TaskSpec>,
        wanted: &[u32],
    ) -> Result<Vec<TaskId>, CoreError> {
        self.submit(c, tasks, Wanted::Positions(wanted))
    }

    fn submit(
        &mut self,
        c: ClientId,
        tasks: Vec<TaskSpec>,
        wanted: Wanted<'_>,
    ) -> Result<Vec<TaskId>, CoreError> {
        self.check_client(c)?;
        let plan = self.plan_graph(&tasks, wanted)?;
        self.stimulus = Stimulus::SubmitGraph;
        self.generation = self.generation.wrapping_add(1);
        let ids = self.create_tasks(tasks, &plan);
        let released_before = self.by_state[TaskState::Released as usize];
        self.clients.list[c.ix()].wants.reserve(plan.wanted.len());
        for w in &plan.wanted {
            let t = match *w {
                DepRef::Local(i) => ids[i as usize],
                DepRef::Existing(t) => t,
            };
            self.want(c, t);
            // One want at a time keeps the recommendation stack short.
            self.run_recommendations();
        }
        // Wanted tasks pulled in what they need; whatever new task is still unneeded is
        // forgotten.
        // (Wants only move tasks out of `Released`; if the graph touches no existing task and
        // as many left it as were created, the new ones all did.)
        let left = released_before - self.by_state[TaskState::Released as usize];
        if plan.touches_existing || left < plan.new_count {
            for (i, &t) in ids.iter().enumerate() {
                if plan.existing[i].is_none() && self.tasks[t].state == TaskState::Released {
                    self.recommend_settle(t);
                    self.run_recommendations();
                }
            }
        }
        self.end_event();
        Ok(ids)
    }

    fn plan_graph(&self, specs: &[TaskSpec], wanted: Wanted<'_>) -> Result<Plan, CoreError> {
        let n = specs.len();
        let no_keys: &[&str] = &[];
        let wanted_keys = match wanted {
            Wanted::Keys(keys) => keys,
            Wanted::Positions(_) => no_keys,
        };
        let mut hashes = Vec::with_capacity(n);
        let mut local: HashTable<u32> = HashTable::with_capacity(n);
        let mut existing = Vec::with_capacity(n);
        let any_existing = self.tasks.indexed_len() > 0;
        // Wanted keys that name the graph key at the same position (the usual case) are
        // matched here, while the key is in cache.
        let mut same_position = vec![false; wanted_keys.len().min(n)];
        for (i, s) in specs.iter().enumerate() {
            if let Some(m) = same_position.get_mut(i) {
                *m = wanted_keys[i] == s.key;
            }
            if s.key.is_empty() {
                return Err(CoreError::InvalidGraph {
                    key: String::new(),
                    reason: "empty key".into(),
                });
            }
            CoreError::check_key(&s.key)?;
            for (name, v) in &s.resources {
                if !(v.is_finite() && *v >= 0.0) {
                    return Err(CoreError::InvalidGraph {
                        key: s.key.clone(),
                        reason: format!(
                            "resource {name:?} needs {v}, not a finite non-negative amount"
                        ),
                    });
                }
            }
            hashes.push(self.tasks.hash_key(&s.key));
        }
        // Filled in bucket order, the table is swept once instead of hit at random.
        let order = sort_by_masked_key(
            &hashes,
            bucket_mask_for(local.capacity()),
            (0..n as u32).collect(),
        );
        // Equal keys meet in graph order (the sort is stable), so the lowest position found
        // occupied is the first key in the graph that repeats an earlier one, whatever order
        // the hash seed put the keys in.
        let mut first_repeat: Option<u32> = None;
        for &i in &order {
            let (h, key) = (hashes[i as usize], &specs[i as usize].key);
            match local.entry(
                h,
                |&j| specs[j as usize].key == *key,
                |&j| hashes[j as usize],
            ) {
                Entry::Occupied(_) => first_repeat = Some(first_repeat.map_or(i, |f| f.min(i))),
                Entry::Vacant(v) => {
                    v.insert(i);
                }
            }
        }
        if let Some(i) = first_repeat {
            return Err(CoreError::DuplicateKey {
                key: specs[i as usize].key.clone(),
            });
        }
        drop(order);
        for (s, &h) in specs.iter().zip(&hashes) {
            existing.push(if any_existing {
                self.tasks.find_hashed(h, &s.key)
            } else {
                None
            });
        }
        let resolve = |key: &str| -> Option<DepRef> {
            let h = self.tasks.hash_key(key);
            match local.find(h, |&j| specs[j as usize].key == key) {
                Some(&j) => Some(match existing[j as usize] {
                    Some(t) => DepRef::Existing(t),
                    None => DepRef::Local(j),
                }),
                None => self.tasks.find_hashed(h, key).map(DepRef::Existing),
            }
        };
        let mut dep_start = Vec::with_capacity(n + 1);
        let mut deps = Vec::new();
        let mut local_start = Vec::with_capacity(n + 1);
        let mut local_deps = Vec::new();
        dep_start.push(0);
        local_start.push(0);
        for (i, s) in specs.iter().enumerate() {
            if existing[i].is_none() {
                for dk in &s.dependencies {
                    let d = resolve(dk).ok_or_else(|| {
                        CoreError::check_key(dk).err().unwrap_or_else(|| {
                            CoreError::UnknownDependency {
                                key: s.key.clone(),
                                dependency: dk.clone(),
                            }
                        })
                    })?;
                    if let DepRef::Local(j) = d {
                        local_deps.push(j);
                    }
                    deps.push(d);
                }
            }
            dep_start.push(deps.len() as u32);
            local_start.push(local_deps.len() as u32);
        }
        let local_ref = |j: usize| match existing[j] {
            Some(t) => DepRef::Existing(t),
            None => DepRef::Local(j as u32),
        };
        let wanted_refs = if let Wanted::Positions(positions) = wanted {
            let mut refs = Vec::with_capacity(positions.len());
            for &j in positions {
                if j as usize >= n {
                    return Err(CoreError::InvalidGraph {
                        key: String::new(),
                        reason: format!("wanted position {j} is not in the graph of {n} tasks"),
                    });
                }
                refs.push(local_ref(j as usize));
            }
            refs
        } else {
            // Wanted keys usually list graph keys in graph order: try the next position first.
            let mut guess = 0usize;
            let mut refs = Vec::with_capacity(wanted_keys.len());
            for (pos, &k) in wanted_keys.iter().enumerate() {
                let by_position = if same_position.get(pos) == Some(&true) {
                    Some(pos)
                } else {
                    specs.get(guess).filter(|s| s.key == k).map(|_| guess)
                };
                let r = match by_position {
                    Some(j) => local_ref(j),
                    None => resolve(k).ok_or_else(|| CoreError::unknown_key(k))?,
                };
                guess = match r {
                    DepRef::Local(j) => j as usize + 1,
                    DepRef::Existing(_) => by_position.map_or(guess, |j| j + 1),
                };
                refs.push(r);
            }
            refs
        };
        self.finish_plan(
            specs,
            hashes,
            existing,
            dep_start,
            deps,
            local_start,
            local_deps,
            wanted_refs,
        )
    }

    /// Orders the graph's new tasks (refusing a cycle) and completes the plan.
    #[allow(clippy::too_many_arguments)]
    fn finish_plan(
        &self,
        specs: &[TaskSpec],
        hashes: Vec<u64>,
        existing: Vec<Option<TaskId>>,
        dep_start: Vec<u32>,
        deps: Vec<DepRef>,
        local_start: Vec<u32>,
        local_deps: Vec<u32>,
        wanted: Vec<DepRef>,
    ) -> Result<Plan, CoreError> {
        let n = specs.len();
        let active: Vec<bool> = existing.iter().map(Option::is_none).collect();
        let rank = order_graph(
            &active,
            &LocalEdges {
                start: &local_start,
                deps: &local_deps,
            },
        )
        .map_err(|i| CoreError::Cycle {
            key: specs[i].key.clone(),
        })?;
        let new_count = active.iter().filter(|&&a| a).count();
        let is_existing = |d: &DepRef| matches!(d, DepRef::Existing(_));
        let touches_existing =
            new_count < n || deps.iter().any(is_existing) || wanted.iter().any(is_existing);
        Ok(Plan {
            hashes,
            existing,
            new_count,
            touches_existing,
            dep_start,
            deps,
            rank,
            wanted,
        })
    }

    /// Creates the new tasks in run order (so every dependency exists before its dependents).
    fn create_tasks(&mut self, mut specs: Vec<TaskSpec>, plan: &Plan) -> Vec<TaskId> {
        let n = specs.len();
        let mut ids: Vec<TaskId> = plan
            .existing
            .iter()
            .map(|e| e.unwrap_or(TaskId(u32::MAX)))
            .collect();
        // Ranks of the new tasks are a permutation of 0..new_count.
        let mut by_rank: Vec<u32> = vec![0; plan.new_count];
        for i in 0..n {
            if plan.existing[i].is_none() {
                by_rank[plan.rank[i] as usize] = i as u32;
            }
        }
        self.tasks.reserve(by_rank.len());
        let mut dep_ids: Vec<TaskId> = Vec::new();
        for &i in &by_rank {
            let i = i as usize;
            let s = &mut specs[i];
            dep_ids.clear();
            for d in &plan.deps[plan.dep_start[i] as usize..plan.dep_start[i + 1] as usize] {
                dep_ids.push(match *d {
                    DepRef::Local(j) => ids[j as usize],
                    DepRef::Existing(t) => t,
                });
            }
            let prefix = self.prefixes.intern(&s.prefix, &self.config);
            let priority = Priority {
                user: s.priority,
                generation: self.generation,
                order: plan.rank[i],
            };
            let key = std::mem::take(&mut s.key);
            self.groups.add_member(prefix, &dep_ids);
            let mut task = Task::from_key(key, &s.payload, &dep_ids, prefix, priority);
            if s.restrictions.is_some() || !s.resources.is_empty() {
                let mut resources: Vec<(u32, f64)> = s
                    .resources
                    .iter()
                    .map(|(name, v)| (self.workers.resource_id(name), *v))
                    .collect();
                resources.sort_by_key(|r| r.0);
                task.extras = Some(Box::new(Extras {
                    restrictions: s
                        .restrictions
                        .as_ref()
                        .map(|r| r.iter().map(|x| x.as_str().into()).collect()),
                    resources: resources.into_boxed_slice(),
                    loose: s.allow_other_workers && s.restrictions.is_some(),
                    ..Extras::default()
                }));
            }
            if s.retries > 0 {
                task.extras_mut().retries_left = s.retries;
            }
            let t = self.tasks.store(task);
            self.by_state[TaskState::Released as usize] += 1;
            self.prefix_states.created(self.tasks[t].prefix);
            for (k, &d) in dep_ids.iter().enumerate() {
                let dep = &mut self.tasks[d];
                let pos = dep.dependents.len() as u32;
                dep.dependents.push((t, k as u32));
                self.tasks[t].set_dep_pos(k, pos);
            }
            ids[i] = t;
        }
        // Index the new keys in bucket order (one sweep of the table, not a miss per key).
        let order = sort_by_masked_key(&plan.hashes, self.tasks.index_bucket_mask(), by_rank);
        for &i in &order {
            self.tasks
                .index_key(plan.hashes[i as usize], ids[i as usize]);
        }
        ids
    }

    /// Data the client placed on a worker itself: the key becomes a task in memory on `w`
    /// with no payload, wanted by `c`. An existing key in memory gains `w` as a holder.
    pub fn add_scattered(
        &mut self,
        c: ClientId,
        key: &str,
        w: WorkerId,
        nbytes: u64,
    ) -> Result<TaskId, CoreError> {
        self.check_client(c)?;
        if self.workers.live(w).is_none() {
            return Err(CoreError::UnknownWorker { worker: w.0 });
        }
        if key.is_empty() {
            return Err(CoreError::InvalidGraph {
                key: String::new(),
                reason: "empty key".into(),
            });
        }
        CoreError::check_key(key)?;
        self.stimulus = Stimulus::Scatter;
        let h = self.tasks.hash_key(key);
        let t = match self.tasks.find_hashed(h, key) {
            Some(t) if self.tasks[t].state == TaskState::Memory => {
                self.add_holder(t, w);
                t
            }
            Some(t) => {
                return Err(CoreError::InvalidGraph {
                    key: key.to_string(),
                    reason: format!(
                        "key exists in state {}; scatter only to new keys or keys in memory",
                        self.tasks[t].state.name()
                    ),
                })
            }
            None => {
                self.generation = self.generation.wrapping_add(1);
                let prefix = self.prefixes.intern("", &self.config);
                let priority = Priority {
                    user: 0,
                    generation: self.generation,
                    order: 0,
                };
                let mut task = Task::new(key, &[], &[], prefix, priority);
                task.flags |= FLAG_SCATTERED;
                task.nbytes = nbytes;
                let t = self.tasks.insert(h, task);
                self.by_state[TaskState::Released as usize] += 1;
                self.prefix_states.created(prefix);
                self.add_holder(t, w);
                self.apply(t, TaskState::Memory);
                t
            }
        };
        self.want(c, t);
        self.end_event();
        Ok(t)
    }
}
