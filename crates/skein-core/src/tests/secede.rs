//! Tasks that secede from their slot while they wait for tasks they submitted (Dask's
//! `long-running`): they stay processing on their worker but stop counting against its slots.

use super::*;
use TaskState::*;

fn long_running(s: &mut Scheduler, key: &str) -> Result<bool, CoreError> {
    let t = id(s, key);
    let w = processing_on(s, key).unwrap_or_else(|| panic!("{key} is not processing"));
    let run = s.run_id(t);
    s.task_long_running(w, t, run)
}

/// One one-slot worker takes two roots (its root-ish room), the rest queue; the parent
/// seceding gives its slot to the next queued task at once, and its estimate leaves the
/// worker's occupancy. It still finishes normally.
#[test]
fn a_seceded_task_gives_its_slot_to_a_queued_task() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    s.observe_duration("t", 0.5);
    s.submit_graph(
        c,
        (0..4).map(|i| task(&format!("t-{i}"), &[])).collect(),
        &["t-0", "t-1", "t-2", "t-3"],
    )
    .unwrap();
    s.take_instructions();
    assert_eq!(s.processing_count(w), 2);
    assert_eq!(s.counts().queued, 2);
    let before = s.occupancy(w);
    assert_eq!(long_running(&mut s, "t-0"), Ok(true));
    assert_eq!(
        s.processing_count(w),
        2,
        "the next queued task took the slot"
    );
    assert_eq!(s.long_running_count(w), 1);
    assert_eq!(s.long_running_total(), 1);
    assert_eq!(s.counts().queued, 1);
    assert_eq!(
        s.counts().processing,
        3,
        "the seceded task is still processing"
    );
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w), ["t-2"]);
    assert!(
        (s.occupancy(w) - before).abs() < 1e-9,
        "t-0 left, t-2 came: occupancy {before} -> {}",
        s.occupancy(w)
    );
    // A second report of the same run (it seceded again after rejoining) changes nothing.
    assert_eq!(long_running(&mut s, "t-0"), Ok(false));
    assert_eq!(s.long_running_count(w), 1);
    finish(&mut s, "t-0");
    assert_eq!(st(&s, "t-0"), Memory);
    assert_eq!(s.long_running_count(w), 0);
    assert_eq!(s.long_running_total(), 0);
}

#[test]
fn the_story_shows_the_secession() {
    let mut s = sched();
    let c = s.add_client();
    worker(&mut s, "w", 1);
    s.submit_graph(c, vec![task("p", &[])], &["p"]).unwrap();
    long_running(&mut s, "p").unwrap();
    let last = *s.story("p").last().unwrap();
    assert_eq!(
        (last.from, last.to, last.stimulus),
        (Processing, Processing, Stimulus::LongRunning)
    );
    assert_eq!(Stimulus::LongRunning.name(), "long-running");
}

/// Stale reports (another run, another worker, a task no longer processing) are ignored;
/// unknown ids are errors, as for every worker report.
#[test]
fn stale_and_unknown_reports_are_refused() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    s.submit_graph(c, vec![task("p", &[])], &["p"]).unwrap();
    let p = id(&s, "p");
    let on = processing_on(&s, "p").unwrap();
    let other = if on == w1 { w2 } else { w1 };
    let run = s.run_id(p);
    assert_eq!(s.task_long_running(on, p, run + 1), Ok(false));
    assert_eq!(s.task_long_running(other, p, run), Ok(false));
    assert_eq!(
        s.task_long_running(WorkerId(99), p, run),
        Err(CoreError::UnknownWorker { worker: 99 })
    );
    assert_eq!(
        s.task_long_running(on, TaskId(99), run),
        Err(CoreError::UnknownTask { task: 99 })
    );
    finish(&mut s, "p");
    assert_eq!(s.task_long_running(on, p, run), Ok(false));
    assert_eq!(s.long_running_total(), 0);
}

/// A seceded task is executing: its worker's death counts against it (and only it, when the
/// worker said nothing else runs), and it runs again elsewhere.
#[test]
fn a_death_blames_the_seceded_task_and_reschedules_it() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("p", &[]), task("q", &[])], &["p", "q"])
        .unwrap();
    long_running(&mut s, "p").unwrap();
    assert_eq!(processing_on(&s, "q"), Some(w1));
    s.remove_worker(w1, 1.0).unwrap();
    assert_eq!(s.tasks[id(&s, "p")].suspicious(), 1);
    assert_eq!(
        s.tasks[id(&s, "q")].suspicious(),
        0,
        "q was only queued there"
    );
    assert_eq!(s.long_running_total(), 0);
    let w2 = worker(&mut s, "w2", 1);
    assert_eq!(processing_on(&s, "p"), Some(w2));
    assert_eq!(s.long_running_count(w2), 0, "a new run holds a slot again");
}

/// Released by its client while seceded: it leaves the long-running list and its worker is
/// told to drop it.
#[test]
fn a_seceded_task_released_by_its_client_leaves_its_worker() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    s.submit_graph(c, vec![task("p", &[])], &["p"]).unwrap();
    long_running(&mut s, "p").unwrap();
    s.take_instructions();
    s.release_keys(c, &["p"]).unwrap();
    assert_eq!(st(&s, "p"), Forgotten);
    assert_eq!(s.long_running_count(w), 0);
    let ins = s.take_instructions();
    assert_eq!(frees(&s, &ins, w), ["p"]);
}

/// The simulator with one task in three seceding once it starts: a tree reduction and a map
/// still finish whole, with every invariant checked after each event, and the long-running
/// lists end empty.
#[test]
fn a_simulated_cluster_where_tasks_secede_finishes_everything() {
    use crate::sim::{self, SimCluster, SimConfig};
    let mut sim = SimCluster::new(
        config(),
        SimConfig {
            seed: 7,
            secede_one_in: 3,
            ..SimConfig::default()
        },
    );
    sim.add_workers("w", 3, 2).unwrap();
    let (tasks, root) = sim::tree_reduction(300);
    sim.submit(tasks, &[root.as_str()]).unwrap();
    let (tasks, keys) = sim::independent("inc", 200, b"");
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    sim.submit(tasks, &keys).unwrap();
    sim.run_until_idle(1_000_000).unwrap();
    assert!(sim.anomalies().is_empty(), "{:?}", sim.anomalies());
    assert!(sim.stats().seceded > 100, "{:?}", sim.stats());
    // What is wanted is in memory: the root of the reduction and the 200 of the map.
    assert_eq!(sim.scheduler().counts().memory, 1 + 200);
    assert_eq!(sim.scheduler().long_running_total(), 0);
}
