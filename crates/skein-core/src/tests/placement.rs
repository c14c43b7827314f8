//! Worker choice and saturation.

use super::*;
use crate::TaskState::*;

#[test]
fn a_task_goes_where_its_big_input_is() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    let big = s.add_scattered(c, "big", w2, 1_000_000_000).unwrap();
    let small = s.add_scattered(c, "small", w1, 10).unwrap();
    s.submit_graph(c, vec![task("f", &["big", "small"])], &["f"])
        .unwrap();
    assert_eq!(processing_on(&s, "f"), Some(w2));
    assert_eq!(s.who_has(big), &[w2]);
    assert_eq!(s.who_has(small), &[w1]);
}

/// Teaches the core that prefix `slow` runs `seconds`: one `slow-learn` task finishes.
fn learn_duration(s: &mut Scheduler, c: ClientId, seconds: f64) {
    s.submit_graph(c, vec![task("slow-learn", &[])], &["slow-learn"])
        .unwrap();
    finish_with(s, "slow-learn", 8, seconds);
    s.release_keys(c, &["slow-learn"]).unwrap();
}

/// The issue's case (Dask's test_decide_worker_with_many_independent_leaves in spirit): 100
/// fast tasks, each reading the same 10 inputs held by one worker, all run there although
/// another worker is idle: a free slot elsewhere is not worth pulling 10 inputs across.
#[test]
fn fast_tasks_stay_with_their_inputs_while_another_worker_is_idle() {
    let mut s = sched();
    let c = s.add_client();
    let a = worker(&mut s, "a", 2);
    let b = worker(&mut s, "b", 2);
    let inputs: Vec<String> = (0..10).map(|i| format!("in-{i}")).collect();
    for k in &inputs {
        s.add_scattered(c, k, a, 1_000).unwrap();
    }
    let deps: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let keys: Vec<String> = (0..100).map(|i| format!("f-{i}")).collect();
    let graph = keys.iter().map(|k| task(k, &deps)).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, graph, &wanted).unwrap();
    let ins = s.take_instructions();
    assert_eq!(
        computes(&s, &ins, a).len(),
        100,
        "every task runs on the holder"
    );
    assert!(computes(&s, &ins, b).is_empty());
}

/// A slow task whose holder has no free slot goes where it starts sooner once its inputs
/// are moved (Dask leaves this to work stealing; skein decides it at placement too, with
/// the same bar on duration).
#[test]
fn a_slow_task_spills_from_a_saturated_holder_when_moving_is_cheap() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    learn_duration(&mut s, c, 1.0);
    s.add_scattered(c, "x", w1, 8).unwrap();
    s.add_scattered(c, "y", w1, 8).unwrap();
    let w2 = worker(&mut s, "w2", 1);
    s.submit_graph(c, vec![task("slow-1", &["x"])], &["slow-1"])
        .unwrap();
    assert_eq!(
        processing_on(&s, "slow-1"),
        Some(w1),
        "a free slot on the holder"
    );
    s.submit_graph(c, vec![task("slow-2", &["x", "y"])], &["slow-2"])
        .unwrap();
    assert_eq!(
        processing_on(&s, "slow-2"),
        Some(w2),
        "the holder is saturated: moving 16 bytes beats a second of waiting"
    );
}

/// The same saturated holder keeps a slow task whose inputs cost more to move than the
/// wait: 1 GB at 100 MB/s against a second of backlog.
#[test]
fn a_slow_task_waits_on_a_saturated_holder_when_moving_costs_more() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    learn_duration(&mut s, c, 1.0);
    s.add_scattered(c, "big", w1, 1_000_000_000).unwrap();
    worker(&mut s, "w2", 1);
    s.submit_graph(
        c,
        vec![task("slow-1", &["big"]), task("slow-2", &["big"])],
        &["slow-1", "slow-2"],
    )
    .unwrap();
    assert_eq!(processing_on(&s, "slow-1"), Some(w1));
    assert_eq!(processing_on(&s, "slow-2"), Some(w1));
}

/// A fast task stays on a saturated holder: moving it costs a round trip, more than its
/// turn in the holder's backlog is estimated to.
#[test]
fn a_fast_task_stays_on_a_saturated_holder() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    s.add_scattered(c, "x", w1, 8).unwrap();
    let mut busy = task("busy", &[]);
    busy.restrictions = Some(vec!["w1".into()]);
    s.submit_graph(c, vec![busy], &["busy"]).unwrap();
    worker(&mut s, "w2", 1);
    s.submit_graph(c, vec![task("f", &["x"])], &["f"]).unwrap();
    assert_eq!(processing_on(&s, "f"), Some(w1));
}

/// Among holders, the one where the task starts first: Dask's test_decide_worker_coschedule
/// in spirit (bytes held and backlog both count).
#[test]
fn among_holders_the_earliest_start_wins() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    learn_duration(&mut s, c, 1.0);
    s.add_scattered(c, "x", w1, 1_000).unwrap();
    s.add_scattered(c, "y", w2, 2_000).unwrap();
    s.submit_graph(c, vec![task("f", &["x", "y"])], &["f"])
        .unwrap();
    assert_eq!(processing_on(&s, "f"), Some(w2), "fewer bytes to move");
    s.submit_graph(c, vec![task("slow-1", &["x", "y"])], &["slow-1"])
        .unwrap();
    assert_eq!(
        processing_on(&s, "slow-1"),
        Some(w1),
        "w2 is a backlog behind; 2 KB move in microseconds"
    );
}

/// A paused holder is passed over; the task goes to the least loaded worker.
#[test]
fn no_open_holder_means_the_least_loaded_worker() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    s.add_scattered(c, "x", w1, 8).unwrap();
    s.set_paused(w1, true).unwrap();
    s.submit_graph(c, vec![task("f", &["x"])], &["f"]).unwrap();
    assert_eq!(processing_on(&s, "f"), Some(w2));
}

#[test]
fn restrictions_and_resources_are_respected() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 8);
    let gpu = s
        .add_worker(
            WorkerSpec {
                name: "gpu1".into(),
                slots: 1,
                resources: vec![("gpu".into(), 2.0)],
            },
            0.0,
        )
        .unwrap();
    let mut a = task("a", &[]);
    a.resources = vec![("gpu".into(), 2.0)];
    let mut b = task("b", &[]);
    b.resources = vec![("gpu".into(), 3.0)];
    let mut r = task("r", &[]);
    r.restrictions = Some(vec!["w1".into(), "ghost".into()]);
    s.submit_graph(c, vec![a, b, r], &["a", "b", "r"]).unwrap();
    assert_eq!(processing_on(&s, "a"), Some(gpu));
    assert_eq!(st(&s, "b"), NoWorker);
    assert_eq!(processing_on(&s, "r"), Some(w1));
    let big = s
        .add_worker(
            WorkerSpec {
                name: "gpu2".into(),
                slots: 1,
                resources: vec![("gpu".into(), 4.0)],
            },
            0.0,
        )
        .unwrap();
    assert_eq!(processing_on(&s, "b"), Some(big));
}

#[test]
fn root_tasks_wait_in_the_queue_until_a_worker_has_room() {
    let mut s = sched();
    let c = s.add_client();
    let n = 100;
    let g: Vec<TaskSpec> = (0..n).map(|i| task(&format!("slow-{i}"), &[])).collect();
    let wanted: Vec<String> = (0..n).map(|i| format!("slow-{i}")).collect();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    s.submit_graph(c, g, &wanted).unwrap();
    assert_eq!(s.counts().queued, n);
    let w = worker(&mut s, "w1", 2);
    // duration unknown: held back to the slots and a tenth more, rounded up (2 + 1)
    assert_eq!(s.processing_count(w), 3);
    assert_eq!(s.counts().queued, n - 3);
    // a slow finish keeps it held back: one out, one in
    finish_with(&mut s, "slow-0", 1, 10.0);
    assert_eq!(s.processing_count(w), 3);
    // the batch leaves out the compute of slow-0, which already finished
    let ins = s.take_instructions();
    assert_eq!(computes(&s, &ins, w), ["slow-1", "slow-2", "slow-3"]);
    // a fast prefix gets a deep buffer
    let g: Vec<TaskSpec> = (0..5000).map(|i| task(&format!("fast-{i}"), &[])).collect();
    let wanted: Vec<String> = (0..5000).map(|i| format!("fast-{i}")).collect();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let mut s2 = Scheduler::new(Config {
        validate: false,
        ..config()
    });
    let c2 = s2.add_client();
    let w2 = worker(&mut s2, "w", 2);
    s2.submit_graph(c2, g, &wanted).unwrap();
    assert_eq!(s2.processing_count(w2), 3);
    finish_with(&mut s2, "fast-0", 1, 0.000001);
    assert_eq!(s2.processing_count(w2), 2 * 1001);
}

#[test]
fn queued_work_spreads_over_workers_by_load() {
    let mut s = Scheduler::new(Config {
        validate: false,
        ..config()
    });
    let c = s.add_client();
    let ws: Vec<WorkerId> = (0..1000)
        .map(|i| worker(&mut s, &format!("w{i}"), 4))
        .collect();
    let g: Vec<TaskSpec> = (0..4000).map(|i| task(&format!("t-{i}"), &[])).collect();
    let wanted: Vec<String> = (0..4000).map(|i| format!("t-{i}")).collect();
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    s.submit_graph(c, g, &wanted).unwrap();
    for &w in &ws {
        assert_eq!(s.processing_count(w), 4);
    }
    s.validate().unwrap();
    // the worker whose task finished is the least loaded: it gets the next one
    let freed = processing_on(&s, "t-0").unwrap();
    finish(&mut s, "t-0");
    s.validate().unwrap();
    assert_eq!(s.counts().processing, 3999);
    s.submit_graph(c, vec![task("next", &[])], &["next"])
        .unwrap();
    assert_eq!(processing_on(&s, "next"), Some(freed));
}

#[test]
fn occupancy_is_the_sum_of_the_estimates() {
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w1", 1);
    s.submit_graph(c, vec![task("a", &[]), task("b", &[])], &["a", "b"])
        .unwrap();
    assert!((s.occupancy(w) - 0.001).abs() < 1e-9);
    finish_with(&mut s, "a", 1, 0.002);
    assert!(
        (s.occupancy(w) - 0.0005).abs() < 1e-9,
        "b keeps the estimate it started with"
    );
    assert_eq!(st(&s, "b"), Processing);
}

/// Dask's `test_saturation_factor`: roots of unknown duration go out a slot and a tenth
/// (rounded up) per worker at a time; the rest wait in the scheduler's queue.
#[test]
fn roots_of_unknown_duration_are_held_to_slots_plus_a_tenth() {
    let mut s = sched();
    let c = s.add_client();
    let ws: Vec<WorkerId> = (0..3)
        .map(|i| worker(&mut s, &format!("w{i}"), 1))
        .collect();
    let keys: Vec<String> = (0..10).map(|i| format!("slow-{i}")).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, keys.iter().map(|k| task(k, &[])).collect(), &wanted)
        .unwrap();
    for &w in &ws {
        assert_eq!(s.processing_count(w), 2);
    }
    assert_eq!(s.counts().queued, 4);
    // Dask's `test_graph_execution_width`: however many roots, a one-slot worker holds two.
    let mut s = sched();
    let c = s.add_client();
    let w = worker(&mut s, "w", 1);
    let keys: Vec<String> = (0..16).map(|i| format!("root-{i}")).collect();
    let wanted: Vec<&str> = keys.iter().map(String::as_str).collect();
    s.submit_graph(c, keys.iter().map(|k| task(k, &[])).collect(), &wanted)
        .unwrap();
    assert_eq!(s.processing_count(w), 2);
    // And 8 slots take 8 + 1.
    let big = worker(&mut s, "big", 8);
    assert_eq!(s.processing_count(big), 9);
}

/// 32 roots of unknown duration feeding pairwise combines on two one-slot workers: the
/// queue hands roots out in graph order, so combines consume them as they come and the
/// roots' results in memory stay within twice the slots.
#[test]
fn a_reduction_consumes_its_roots_before_new_ones_start() {
    let mut s = sched();
    let c = s.add_client();
    let ws = [worker(&mut s, "w0", 1), worker(&mut s, "w1", 1)];
    let mut graph: Vec<TaskSpec> = (0..32).map(|i| task(&format!("root-{i}"), &[])).collect();
    let mut level: Vec<String> = (0..32).map(|i| format!("root-{i}")).collect();
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        let next: Vec<String> = (0..level.len() / 2)
            .map(|i| format!("sum{depth}-{i}"))
            .collect();
        for (i, key) in next.iter().enumerate() {
            graph.push(task(key, &[&level[2 * i], &level[2 * i + 1]]));
        }
        level = next;
    }
    let total = level[0].clone();
    s.submit_graph(c, graph, &[&total]).unwrap();
    let roots_in_memory = |s: &Scheduler| {
        (0..32)
            .filter(|i| st(s, &format!("root-{i}")) == Memory)
            .count()
    };
    let mut peak = 0;
    let mut steps = 0;
    while st(&s, &total) != Memory {
        steps += 1;
        assert!(steps < 1000, "the reduction does not progress");
        for &w in &ws {
            // Each worker runs one task at a time, the first by graph priority (its ready queue).
            let first = s.workers.list[w.ix()]
                .processing
                .iter()
                .copied()
                .min_by_key(|&t| {
                    let (user, generation, order) = s.priority(t);
                    (std::cmp::Reverse(user), generation, order)
                });
            if let Some(t) = first {
                let key = s.key(t).to_string();
                finish_with(&mut s, &key, 10, 1.0);
            }
        }
        peak = peak.max(roots_in_memory(&s));
    }
    assert!(peak <= 4, "{peak} root results were in memory at once");
}

fn loose(key: &str, deps: &[&str], names: &[&str]) -> TaskSpec {
    let mut t = task(key, deps);
    t.restrictions = Some(names.iter().map(|n| n.to_string()).collect());
    t.allow_other_workers = true;
    t
}

/// Dask's test_allow_restrictions / test_no_valid_workers_loose_restrictions: a loose task
/// runs on its named worker when it is there (even with another idle and holding its input),
/// and on any worker when no named one is; a strict one waits.
#[test]
fn loose_restrictions_prefer_the_named_worker_and_give_way_when_it_is_absent() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    s.add_scattered(c, "x", w2, 1_000_000).unwrap();
    let mut strict = task("strict", &[]);
    strict.restrictions = Some(vec!["ghost".into()]);
    s.submit_graph(
        c,
        vec![
            loose("named", &["x"], &["w1"]),
            loose("anywhere", &["x"], &["ghost"]),
            strict,
        ],
        &["named", "anywhere", "strict"],
    )
    .unwrap();
    assert_eq!(processing_on(&s, "named"), Some(w1));
    assert_eq!(
        processing_on(&s, "anywhere"),
        Some(w2),
        "unrestricted: it goes where its input is"
    );
    assert_eq!(st(&s, "strict"), NoWorker);
}

/// With no worker at all a loose task waits like any other, and the first worker to join
/// runs it, named or not. One placed elsewhere stays there when its named worker joins.
#[test]
fn a_loose_task_runs_on_the_first_worker_to_join() {
    let mut s = sched();
    let c = s.add_client();
    s.submit_graph(c, vec![loose("a", &[], &["w-named"])], &["a"])
        .unwrap();
    assert_eq!(st(&s, "a"), NoWorker);
    let other = worker(&mut s, "w-other", 1);
    assert_eq!(processing_on(&s, "a"), Some(other));
    let named = worker(&mut s, "w-named", 1);
    assert_eq!(processing_on(&s, "a"), Some(other), "not moved");
    s.submit_graph(c, vec![loose("b", &[], &["w-named"])], &["b"])
        .unwrap();
    assert_eq!(processing_on(&s, "b"), Some(named), "now preferred");
}

/// The named worker leaves (or pauses) with the task on it: a loose task is placed again on
/// another worker, a strict one waits for its worker.
#[test]
fn a_loose_task_moves_on_when_its_named_worker_leaves_or_pauses() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let w2 = worker(&mut s, "w2", 1);
    let mut strict = task("strict", &[]);
    strict.restrictions = Some(vec!["w1".into()]);
    s.submit_graph(c, vec![loose("a", &[], &["w1"]), strict], &["a", "strict"])
        .unwrap();
    assert_eq!(processing_on(&s, "a"), Some(w1));
    assert_eq!(processing_on(&s, "strict"), Some(w1));
    s.remove_worker(w1, 1.0).unwrap();
    assert_eq!(processing_on(&s, "a"), Some(w2));
    assert_eq!(st(&s, "strict"), NoWorker);

    let w3 = worker(&mut s, "w3", 1);
    s.set_paused(w3, true).unwrap();
    s.submit_graph(c, vec![loose("b", &[], &["w3"])], &["b"])
        .unwrap();
    assert_eq!(
        processing_on(&s, "b"),
        Some(w2),
        "its named worker is paused"
    );
}

/// Without restrictions, allow_other_workers changes nothing (the client refuses it alone).
#[test]
fn allow_other_workers_without_restrictions_is_plain() {
    let mut s = sched();
    let c = s.add_client();
    let w1 = worker(&mut s, "w1", 1);
    let mut t = task("a", &[]);
    t.allow_other_workers = true;
    s.submit_graph(c, vec![t], &["a"]).unwrap();
    assert_eq!(processing_on(&s, "a"), Some(w1));
    assert!(!s.tasks[id(&s, "a")].loose_restrictions());
}

/// Resources still hold: a loose task whose named worker lacks them runs on one declaring
/// them (Dask drops resources too when it falls back; skein keeps them).
#[test]
fn loose_restrictions_keep_the_resources() {
    let mut s = sched();
    let c = s.add_client();
    worker(&mut s, "plain", 1);
    let gpu = s
        .add_worker(
            WorkerSpec {
                name: "gpu".into(),
                slots: 1,
                resources: vec![("gpu".into(), 1.0)],
            },
            0.0,
        )
        .unwrap();
    let mut t = loose("a", &[], &["plain"]);
    t.resources = vec![("gpu".into(), 1.0)];
    s.submit_graph(c, vec![t], &["a"]).unwrap();
    assert_eq!(processing_on(&s, "a"), Some(gpu));
}
