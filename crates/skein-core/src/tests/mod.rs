//! Unit tests through the public API, one file per area.

mod clients;
mod failures;
mod graphs;
mod placement;
mod replication;
mod rootish;
mod secede;
mod stealing;
mod transitions;
mod workers;

use crate::*;

pub(crate) fn config() -> Config {
    Config {
        validate: true,
        ..Config::default()
    }
}

pub(crate) fn sched() -> Scheduler {
    Scheduler::new(config())
}

pub(crate) fn task(key: &str, deps: &[&str]) -> TaskSpec {
    TaskSpec {
        key: key.into(),
        prefix: key.split('-').next().unwrap_or("").into(),
        payload: key.as_bytes().into(),
        dependencies: deps.iter().map(|d| d.to_string()).collect(),
        ..TaskSpec::default()
    }
}

pub(crate) fn worker(s: &mut Scheduler, name: &str, slots: u32) -> WorkerId {
    s.add_worker(
        WorkerSpec {
            name: name.into(),
            slots,
            resources: vec![],
        },
        0.0,
    )
    .expect("add worker")
}

pub(crate) fn id(s: &Scheduler, key: &str) -> TaskId {
    s.task_id(key).unwrap_or_else(|| panic!("no key {key}"))
}

pub(crate) fn st(s: &Scheduler, key: &str) -> TaskState {
    s.task_id(key).map_or(TaskState::Forgotten, |t| s.state(t))
}

/// Keys to compute on `w` in this batch, in order.
pub(crate) fn computes(s: &Scheduler, ins: &Instructions, w: WorkerId) -> Vec<String> {
    ins.workers
        .iter()
        .filter(|(x, _)| *x == w)
        .flat_map(|(_, b)| b.compute.iter().map(|c| s.key(c.task).to_string()))
        .collect()
}

pub(crate) fn frees(s: &Scheduler, ins: &Instructions, w: WorkerId) -> Vec<String> {
    ins.workers
        .iter()
        .filter(|(x, _)| *x == w)
        .flat_map(|(_, b)| b.free.iter().map(|&t| s.key(t).to_string()))
        .collect()
}

pub(crate) fn client_batch(ins: &Instructions, c: ClientId) -> ClientBatch {
    ins.clients
        .iter()
        .find(|(x, _)| *x == c)
        .map(|(_, b)| b.clone())
        .unwrap_or_default()
}

pub(crate) fn keys(s: &Scheduler, ids: &[TaskId]) -> Vec<String> {
    ids.iter().map(|&t| s.key(t).to_string()).collect()
}

/// Finishes `key` on the worker it is processing on (nbytes 10, 1 ms).
pub(crate) fn finish(s: &mut Scheduler, key: &str) {
    finish_with(s, key, 10, 0.001);
}

pub(crate) fn finish_with(s: &mut Scheduler, key: &str, nbytes: u64, duration: f64) {
    let t = id(s, key);
    let w = processing_on(s, key).unwrap_or_else(|| panic!("{key} is not processing"));
    let run = s.run_id(t);
    assert_eq!(
        s.task_finished(w, t, run, nbytes, duration),
        Ok(true),
        "finish {key}"
    );
}

pub(crate) fn processing_on(s: &Scheduler, key: &str) -> Option<WorkerId> {
    let t = s.task_id(key)?;
    (s.state(t) == TaskState::Processing).then(|| s.tasks[t].worker)
}

#[test]
fn per_task_struct_is_compact() {
    let task = std::mem::size_of::<crate::task::Task>();
    println!("size_of::<Task>() = {task} bytes");

    println!(
        "size_of::<Story>() = {}",
        std::mem::size_of::<crate::story::Story>()
    );
    println!(
        "size_of::<TransitionRecord>() = {}",
        std::mem::size_of::<TransitionRecord>()
    );
    assert!(task <= 152, "Task grew to {task} bytes");
}

#[test]
fn errors_have_stable_codes() {
    assert_eq!(CoreError::Cycle { key: "a".into() }.code(), "SKEIN_CYCLE");
    assert_eq!(
        CoreError::DuplicateWorkerName { name: "a".into() }.code(),
        "SKEIN_DUPLICATE_WORKER"
    );
    assert!(CoreError::UnknownDependency {
        key: "b".into(),
        dependency: "a".into()
    }
    .to_string()
    .contains("\"a\""));
}

#[test]
fn default_config_validates_in_debug_only() {
    assert_eq!(Config::default().validate, cfg!(debug_assertions));
    assert_eq!(Config::default().allowed_failures, 3);
}
